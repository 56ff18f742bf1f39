"""``footprint(config)``: the exact ``sizeof(GemmKernel::SharedStorage)`` of a CUTLASS grouped GEMM.

The result carries the resolved stage count (explicit, or what the builder's automatic formula picks
under the config's carve-out convention), the epilogue tile and stages, and a breakdown by
:class:`~smem_tactics.layout.struct.Part` that sums to the total -- alignment padding included.

Nothing here imports torch, CUDA or a compiler; results are cached per config.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from dataclasses import dataclass
from typing import Iterable, Optional

from .config import Arch, KernelConfig, StageConvention
from .contract import require_config
from .errors import ConfigError, UnsupportedConfigError
from .layout.epilogue import EpilogueLayout, epilogue_layout
from .layout.kernel import sm90_array_kernel
from .layout.mainloop import auto_stages, mainloop_shape, mainloop_storage
from .layout.primitives import SM100_CAPACITY
from .layout.cute_slice import sm90_slice_error
from .layout.struct import Part, evaluate, layout
from .legality import _first_broken, ensure_supported
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
    part_bytes: tuple  # bytes per Part, in PART_ORDER (zeros included)
    carveout_bytes: Optional[int]  # the carve-out the builder subtracted (auto stage counts only)
    epilogue_shared_bytes: int  # sizeof(CollectiveEpilogue::SharedStorage)

    @property
    def breakdown(self) -> tuple:
        """``((Part, bytes), ...)`` in report order, parts of zero bytes omitted; sums to :attr:`total_bytes`."""
        return tuple((p, n) for p, n in zip(PART_ORDER, self.part_bytes) if n)

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


@dataclass(frozen=True)
class StageRejection:
    """Why CUTLASS rejects a config at some explicit stage counts and not at others: the same reason for every
    count it applies to (:func:`stage_count_rejection`), so rejected counts can be reported as ranges."""

    field: str
    why: str  # without the stage count
    cutlass_message: str

    def error(self, stages: int, carve: Optional[int]) -> UnsupportedConfigError:
        """The error ``footprint`` raises for this rejection at ``stages`` (carve-out ``carve``, None: explicit)."""
        what = "explicit" if carve is None else f"automatic (carve-out {carve} B)"
        return UnsupportedConfigError(self.field, self.why.format(what=what, stages=stages), self.cutlass_message)

    @property
    def reason(self) -> str:
        """The reason without a stage count, CUTLASS's message quoted."""
        why = self.why.format(what="", stages="S").replace("  ", " ")
        return f"{why} [CUTLASS: \"{self.cutlass_message}\"]"


_TOO_FEW = StageRejection("stages", "the {what} stage count is {stages}; the mainloop needs at least 2",
                          _MIN_STAGES_MESSAGE)
_TOO_FEW_SM100 = StageRejection("stages", "the {what} stage count is {stages}; the SM100 dense mainloop needs at "
                                          "least 2", "Specialization requires Stages set to value 1 or more.")
_NO_SLICE = "CuTe cannot slice one stage off this tile's A/B shared-memory layout at the {what} stage count {stages}"


def stage_count_rejection(cfg: KernelConfig, stages: int) -> Optional[StageRejection]:
    """Why CUTLASS rejects ``cfg``'s A/B mainloop at ``stages`` stages for a reason that depends on the count
    itself (too few stages; a stage CuTe cannot slice), or None.

    Rules that hold for every count are :mod:`smem_tactics.legality`'s; the SM100 capacity assert depends on
    the total (:func:`sm100_capacity_exceeded`). One source for :func:`resolve_stages` and the stage search.
    """
    if cfg.arch.family is Arch.SM100:
        from .layout.sm100 import min_stages, tma_slice_error

        if stages < min_stages(cfg):  # sm100_mma_array_warpspecialized.hpp: static_assert(Stages >= 2)
            return _TOO_FEW_SM100
        sliced = tma_slice_error(cfg, stages)
    else:
        if stages < 2:
            return _TOO_FEW
        sliced = sm90_slice_error(cfg, stages) if cfg.arch is Arch.SM90 else None
    if sliced:
        return StageRejection("tile", _NO_SLICE, sliced)
    return None


def sm100_capacity_exceeded(cfg: KernelConfig, total: int) -> Optional[StageRejection]:
    """The SM100 kernels' class-scope capacity assert (CUTLASS 4.2.x), if a total of ``total`` B trips it."""
    if cfg.arch.family is Arch.SM100 and total > SM100_CAPACITY and not cfg.cutlass.has(SM100_CAPACITY_ASSERT_IN_BODY):
        # sm100_gemm_array_tma_warpspecialized.hpp (4.2.x): class-scope static_assert on SharedStorageSize
        return StageRejection("stages", f"the kernel needs more than the {SM100_CAPACITY} B of an SM100 SM",
                              "SMEM usage exceeded capacity.")
    return None


def resolve_stages(cfg: KernelConfig) -> tuple:
    """(stage count, carve-out or None) for ``cfg``; raises if CUTLASS would reject the count."""
    epi = epilogue_layout(cfg)
    if isinstance(cfg.stages, int):
        stages, carve = cfg.stages, None
    else:
        carve = carveout(cfg, epi)
        stages = auto_stages(cfg, carve)
    if cfg.arch.family is Arch.SM100 and stages <= 0:  # the SM100 builders' static_assert(PipelineStages > 0)
        raise UnsupportedConfigError(
            "stages", f"no stage of A/B/SFA/SFB fits beside the {carve} B carve-out",
            "Smem usage is too high. Can't create any SMEM buffers for A, B, SFA, and SFB.")
    rejection = stage_count_rejection(cfg, stages)
    if rejection is not None:
        raise rejection.error(stages, carve)
    return stages, carve


def stage_total(cfg: KernelConfig, stages: int) -> int:
    """``sizeof(SharedStorage)`` of ``cfg``'s layout at ``stages`` stages, whether or not CUTLASS accepts that
    count (it grows with ``stages``: the stage search bisects it). ``cfg`` must pass the stage-free rules."""
    if cfg.arch.family is Arch.SM100:
        return evaluate(_kernel_struct(cfg, stages, None), stages)[0]
    return evaluate(_sm90_family_plan(cfg.stage_free)[2], stages)[0]


def _kernel_struct(cfg: KernelConfig, stages: int, epi: EpilogueLayout):
    """The kernel's SharedStorage declaration: stage-parametric, one per stage-free config (cached)."""
    if cfg.arch.family is Arch.SM100:
        from .layout.sm100 import sm100_array_kernel

        return sm100_array_kernel(cfg, stages, epi)
    return _sm90_array_kernel_template(cfg.stage_free)


@functools.lru_cache(maxsize=16384)
def _sm90_array_kernel_template(cfg: KernelConfig):
    tensors, tmaps, pipe = mainloop_storage(cfg)
    return sm90_array_kernel(cfg, tensors, tmaps, pipe, epilogue_layout(cfg))


def kernel_layout(cfg: KernelConfig):
    """Placed members of ``cfg``'s SharedStorage (offsets and sizes), for inspection."""
    stages, _ = resolve_stages(cfg)
    return layout(_kernel_struct(cfg, stages, epilogue_layout(cfg)), stages)


@functools.lru_cache(maxsize=16384)
def _sm90_family_plan(sf: KernelConfig) -> tuple:
    """Everything about an SM90/SM120 config that does not depend on an explicit stage count, computed once:
    the legality verdicts (automatic / explicit stages), the epilogue, the stage-parametric kernel struct, the
    stage count each automatic convention resolves to, and the Footprint fields that do not vary with stages."""
    rules = (_first_broken(sf, False), _first_broken(sf, True))
    if rules[0] is not None and rules[1] is not None:
        return rules, None, None, None, None
    epi = epilogue_layout(sf)
    auto = {}
    for conv in StageConvention:
        c = sf.with_stages(conv)
        carve = carveout(c, epi)
        auto[conv] = (auto_stages(c, carve), carve)
    struct = _sm90_array_kernel_template(sf)
    return rules, epi, struct, auto, _constant_fields(struct, epi)


def _constant_fields(struct, epi: EpilogueLayout) -> dict:
    return {"alignment": struct.alignment, "epilogue_tile": epi.tile, "epilogue_stages_c": epi.stages_c,
            "epilogue_stages_d": epi.stages_d, "epilogue_shared_bytes": epi.shared_storage_bytes}


def footprint(cfg: KernelConfig) -> Footprint:
    """Exact shared memory of ``cfg`` (== ``sizeof(GemmKernel::SharedStorage)``).

    Raises :class:`~smem_tactics.errors.UnsupportedConfigError` for combinations CUTLASS rejects.

    Everything independent of the stage count is cached per stage-free config (:func:`_sm90_family_plan`);
    the answer itself is kept on the config object (not in a global cache, which in a large search costs the
    garbage collector more than replaying the layout does).
    """
    if cfg.__class__ is not KernelConfig:
        require_config("config", cfg)
    memo = cfg.__dict__
    fp = memo.get("_footprint")
    if fp is not None:
        return fp
    if cfg.arch is not Arch.SM100:
        # fast path: one cached plan per stage-free config, then the layout replayed at this stage count
        asked = cfg.stages
        explicit = asked.__class__ is int
        rules, epi, struct, auto, fixed = _sm90_family_plan(cfg.stage_free)
        rule = rules[explicit]
        if rule is not None:
            raise UnsupportedConfigError(rule.field, rule.reason, rule.cutlass_message, device_only=rule.device_only)
        stages, carve = (asked, None) if explicit else auto[asked]
        if stages < 2 or cfg.arch is Arch.SM90 and (cfg.a.bits == 32 or cfg.b.bits == 32):
            rejection = stage_count_rejection(cfg, stages)
            if rejection is not None:
                raise rejection.error(stages, carve)
        total, sums = evaluate(struct, stages)
    else:
        ensure_supported(cfg)
        epi = epilogue_layout(cfg)
        stages, carve = resolve_stages(cfg)
        struct = _kernel_struct(cfg, stages, epi)
        total, sums = evaluate(struct, stages)
        if sm100_capacity_exceeded(cfg, total):
            raise UnsupportedConfigError("stages", f"the kernel needs {total} B of shared memory, more than the "
                                                   f"{SM100_CAPACITY} B of an SM100 SM", "SMEM usage exceeded capacity.")
        fixed = _constant_fields(struct, epi)
    # Built without the dataclass __init__ (its frozen setattr per field costs more than the layout itself).
    fp = object.__new__(Footprint)
    fields = fp.__dict__
    fields.update(fixed)
    fields["config"] = cfg
    fields["total_bytes"] = total
    fields["stages"] = stages
    fields["part_bytes"] = tuple(sums)
    fields["carveout_bytes"] = carve
    memo["_footprint"] = fp  # a cache slot on the frozen config (what object.__setattr__ would do, faster)
    return fp


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for a batch of evaluations (restored afterwards, also on error).

    A batch allocates a few small objects per config (the Footprint, its part tuple); with a large live heap
    (100,000 configs) the collector's periodic full passes then cost as much as the evaluations themselves.
    Nothing here creates garbage that only the cyclic collector could free during the batch.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def footprints(configs: Iterable[KernelConfig], errors: str = "raise") -> list:
    """:func:`footprint` of every config, in order, with the garbage collector paused for the batch (see
    :func:`gc_paused`): the way to evaluate many configs at once.

    ``errors="raise"`` raises the first :class:`~smem_tactics.errors.UnsupportedConfigError`; ``errors="keep"``
    puts the error object in that config's place and goes on.
    """
    if errors not in ("raise", "keep") or not isinstance(errors, str):
        raise ConfigError("errors", errors, ("raise", "keep"))
    if isinstance(configs, (str, bytes, KernelConfig)) or not hasattr(configs, "__iter__"):
        raise ConfigError("configs", f"<{type(configs).__name__}>", "an iterable of KernelConfig")
    out = []
    append = out.append
    with gc_paused():
        if errors == "raise":
            for cfg in configs:
                append(footprint(cfg))
        else:
            for cfg in configs:
                try:
                    append(footprint(cfg))
                except UnsupportedConfigError as e:
                    append(e)
    return out


def footprint_bytes(cfg: KernelConfig) -> int:
    return footprint(cfg).total_bytes


__all__ = ["Footprint", "footprint", "footprints", "gc_paused", "footprint_bytes", "resolve_stages", "carveout", "PART_ORDER"]
