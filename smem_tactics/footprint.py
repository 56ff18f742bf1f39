"""``footprint(config)``: the exact ``sizeof(GemmKernel::SharedStorage)`` of a CUTLASS grouped GEMM.

The result carries the resolved stage count (explicit, or what the builder's automatic formula picks
under the config's carve-out convention), the epilogue tile and stages, and a breakdown by
:class:`~smem_tactics.layout.struct.Part` that sums to the total -- alignment padding included.

Nothing here imports torch, CUDA or a compiler; results are cached per config.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

from .config import Arch, KernelConfig, StageConvention
from .errors import UnsupportedConfigError
from .layout.epilogue import EpilogueLayout, epilogue_layout
from .layout.kernel import sm90_array_kernel
from .layout.mainloop import auto_stages, mainloop_shape, mainloop_storage
from .layout.primitives import SM100_CAPACITY
from .layout.struct import Part, breakdown, layout
from .legality import ensure_supported
from .versions import SM100_CAPACITY_ASSERT_IN_BODY

#: Order in which parts are reported.
PART_ORDER = tuple(Part)

_MIN_STAGES_MESSAGE = "Specialization requires Stages set to value 2 or more."


@dataclass(frozen=True)
class Footprint:
    """Shared memory of one kernel configuration, as CUTLASS lays it out."""

    config: KernelConfig
    total_bytes: int
    alignment: int
    stages: int
    epilogue_tile: tuple
    epilogue_stages_c: int
    epilogue_stages_d: int
    breakdown: tuple  # ((Part, bytes), ...) in PART_ORDER, zero parts omitted
    carveout_bytes: Optional[int]  # the carve-out the builder subtracted (auto stage counts only)
    epilogue_shared_bytes: int  # sizeof(CollectiveEpilogue::SharedStorage)

    @property
    def parts(self) -> dict:
        """``{part name: bytes}``; sums to :attr:`total_bytes`."""
        return {p.value: b for p, b in self.breakdown}

    @property
    def stage_bytes(self) -> int:
        """Operand, scale-factor and pipeline bytes that one more stage adds (before alignment)."""
        s = mainloop_shape(self.config)
        return s.a_stage + s.b_stage + s.sfa_stage + s.sfb_stage + 16

    def to_dict(self) -> dict:
        return {
            "total_bytes": self.total_bytes,
            "alignment": self.alignment,
            "stages": self.stages,
            "epilogue_tile": list(self.epilogue_tile),
            "epilogue_stages": {"c": self.epilogue_stages_c, "d": self.epilogue_stages_d},
            "carveout_bytes": self.carveout_bytes,
            "epilogue_shared_bytes": self.epilogue_shared_bytes,
            "breakdown": self.parts,
        }


def carveout(cfg: KernelConfig, epi: EpilogueLayout) -> int:
    """The bytes ``StageCountAutoCarveout`` is given under the config's convention."""
    if cfg.stages is StageConvention.AUTO:
        return epi.shared_storage_bytes
    if cfg.stages is StageConvention.AUTO_EPI:
        return epi.carveout_epi_bytes
    return 0


def resolve_stages(cfg: KernelConfig) -> tuple:
    """(stage count, carve-out or None) for ``cfg``; raises if CUTLASS would reject the count."""
    epi = epilogue_layout(cfg)
    if isinstance(cfg.stages, int):
        stages, carve = cfg.stages, None
    else:
        carve = carveout(cfg, epi)
        stages = auto_stages(cfg, carve)
    if cfg.arch.family is Arch.SM100:
        from .layout.sm100 import min_stages

        if stages <= 0:  # the SM100 builders' static_assert(PipelineStages > 0)
            raise UnsupportedConfigError(
                "stages", f"no stage of A/B/SFA/SFB fits beside the {carve} B carve-out",
                "Smem usage is too high. Can't create any SMEM buffers for A, B, SFA, and SFB.")
        if stages < min_stages(cfg):  # sm100_mma_array_warpspecialized.hpp: static_assert(Stages >= 2)
            what = "explicit" if carve is None else f"automatic (carve-out {carve} B)"
            raise UnsupportedConfigError("stages", f"the {what} stage count is {stages}; the SM100 dense mainloop "
                                                   "needs at least 2", "Specialization requires Stages set to value 1 "
                                                                       "or more.")
        return stages, carve
    if stages < 2 and cfg.arch.family is not Arch.SM100 or stages < 1:
        what = "explicit" if carve is None else f"automatic (carve-out {carve} B)"
        raise UnsupportedConfigError("stages", f"the {what} stage count is {stages}; the mainloop needs at least 2",
                                     _MIN_STAGES_MESSAGE)
    return stages, carve


def _kernel_struct(cfg: KernelConfig, stages: int, epi: EpilogueLayout):
    if cfg.arch.family is Arch.SM100:
        from .layout.sm100 import sm100_array_kernel

        return sm100_array_kernel(cfg, stages, epi)
    tensors, tmaps, pipe = mainloop_storage(cfg, stages)
    return sm90_array_kernel(cfg, tensors, tmaps, pipe, epi)


@functools.lru_cache(maxsize=65536)
def footprint(cfg: KernelConfig) -> Footprint:
    """Exact shared memory of ``cfg`` (== ``sizeof(GemmKernel::SharedStorage)``).

    Raises :class:`~smem_tactics.errors.UnsupportedConfigError` for combinations CUTLASS rejects.
    """
    ensure_supported(cfg)
    epi = epilogue_layout(cfg)
    stages, carve = resolve_stages(cfg)
    lay = layout(_kernel_struct(cfg, stages, epi))
    if cfg.arch.family is Arch.SM100 and lay.size > SM100_CAPACITY and not cfg.cutlass.has(SM100_CAPACITY_ASSERT_IN_BODY):
        # sm100_gemm_array_tma_warpspecialized.hpp (4.2.x): class-scope static_assert on SharedStorageSize
        raise UnsupportedConfigError("stages", f"the kernel needs {lay.size} B of shared memory, more than the "
                                               f"{SM100_CAPACITY} B of an SM100 SM", "SMEM usage exceeded capacity.")
    parts = breakdown(lay)
    ordered = tuple((p, parts[p]) for p in PART_ORDER if parts.get(p))
    return Footprint(cfg, lay.size, lay.align, stages, epi.tile, epi.stages_c, epi.stages_d, ordered, carve,
                     epi.shared_storage_bytes)


def footprint_bytes(cfg: KernelConfig) -> int:
    return footprint(cfg).total_bytes


__all__ = ["Footprint", "footprint", "footprint_bytes", "resolve_stages", "carveout", "PART_ORDER"]
