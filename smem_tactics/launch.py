"""Launch options of a grouped GEMM: what sets its fixed time at decode without changing a byte of shared memory.

A :class:`~smem_tactics.config.KernelConfig` names everything that decides ``sizeof(SharedStorage)``. These
options name what does not: the persistent tile scheduler's arguments and programmatic dependent launch (PDL).
They are facts of the launch, read from CUTLASS's headers (4.5.0 quoted; the release history is in
:data:`PDL_WAIT` and :data:`PDL_TRIGGER`)::

    // gemm/kernel/sm90_tile_scheduler_group.hpp -- PersistentTileSchedulerSm90Group (SM90 and SM120 grouped)
    struct Arguments {
      int max_swizzle_size = 1;
      // Not applying Heuristics for Grouped problems, since largest dimension can change per group
      RasterOrderOptions raster_order = RasterOrderOptions::AlongM;
    };
    // gemm/kernel/static_tile_scheduler.hpp -- the ptr-array (PersistentTileSchedulerSm90) scheduler
    struct Arguments { int max_swizzle_size = 1; RasterOrderOptions raster_order = RasterOrderOptions::Heuristic; };
    // gemm/kernel/tile_scheduler_detail.hpp
    enum class RasterOrderOptions { Heuristic, AlongM, AlongN };
    // gemm/device/gemm_universal_adapter.h
    Status run(cudaStream_t stream = nullptr, CudaHostAdapter *cuda_adapter = nullptr, bool launch_with_pdl = false);
    // arch/grid_dependency_control.h: griddepcontrol.{wait,launch_dependents} are compiled in only under
    //   CUTLASS_ENABLE_GDC_FOR_SM90 (sm_90a) or CUTLASS_ENABLE_GDC_FOR_SM100 (sm_100a ... sm_120a, sm_121a)

None of them is a type parameter of ``GemmKernel``, so none changes ``SharedStorage``: :func:`footprint_delta`
is 0 by construction, and the benchmark checks the compiled ``SharedStorageSize`` of PDL-enabled kernels against
the model on the device. ``max_swizzle_size`` only matters where a group's tile grid is at least 2 tiles wide in
both directions (``get_log_swizzle_size``): a swap-AB decode tile with all of an expert's tokens in one column
never swizzles.

PDL needs the kernel to execute ``griddepcontrol.wait`` before its first global access, or a dependent kernel
could read its predecessor's output early. CUTLASS's SM90 array kernels (which SM120 grouped GEMMs run too) do so
from 4.3.0 and trigger their dependents early from 4.3.3; the SM100 array kernel does so in every modelled release.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .config import Arch, KernelConfig, Mode
from .errors import ConfigError
from .versions import CutlassVersion


class RasterOrder(enum.Enum):
    """``RasterOrderOptions`` of the persistent tile schedulers; ``DEFAULT`` leaves the scheduler's own."""

    DEFAULT = "default"
    HEURISTIC = "heuristic"
    ALONG_M = "along_m"
    ALONG_N = "along_n"

    @property
    def cpp(self) -> Optional[str]:
        if self is RasterOrder.DEFAULT:
            return None
        name = {"heuristic": "Heuristic", "along_m": "AlongM", "along_n": "AlongN"}[self.value]
        return f"cutlass::gemm::kernel::detail::RasterOrderOptions::{name}"


#: ``max_swizzle_size`` values the schedulers distinguish (``get_log_swizzle_size``: 1, 2, 4, 8).
SWIZZLES = (1, 2, 4, 8)


@dataclass(frozen=True)
class GdcRelease:
    """Since which CUTLASS release an array kernel family issues one grid-dependency-control instruction."""

    instruction: str
    since: Mapping[str, CutlassVersion]  # arch family -> first release
    source: str


#: ``griddepcontrol.wait`` before the first global access: without it a PDL launch is unsafe.
PDL_WAIT = GdcRelease(
    "griddepcontrol.wait (cutlass::arch::wait_on_dependent_grids)",
    {"sm90": CutlassVersion(4, 3, 0), "sm120": CutlassVersion(4, 3, 0), "sm100": CutlassVersion(4, 2, 0)},
    "NVIDIA/cutlass: sm90_gemm_array_tma_warpspecialized_{cooperative,pingpong}.hpp call it from v4.3.0 (commit "
    "8cd5bef43, 'v4.3 tag release update', #2789), not in v4.2.0-v4.2.2; sm100_gemm_array_tma_warpspecialized.hpp "
    "calls it in v4.2.0",
)
#: ``griddepcontrol.launch_dependents`` once a CTA has no next tile: the dependent grid may start early.
PDL_TRIGGER = GdcRelease(
    "griddepcontrol.launch_dependents (cutlass::arch::launch_dependent_grids)",
    {"sm90": CutlassVersion(4, 3, 3), "sm120": CutlassVersion(4, 3, 3), "sm100": CutlassVersion(4, 2, 0)},
    "NVIDIA/cutlass: the SM90 array kernels call it when fetch_next_work finds no tile from v4.3.3 (commit "
    "5873443bb, 'v4.3.3 update', #2869); before, a dependent grid starts only when this one has finished",
)

#: The define that compiles the grid-dependency-control instructions in, per arch family.
GDC_DEFINES = {"sm90": "CUTLASS_ENABLE_GDC_FOR_SM90", "sm100": "CUTLASS_ENABLE_GDC_FOR_SM100",
               "sm120": "CUTLASS_ENABLE_GDC_FOR_SM100"}


@dataclass(frozen=True)
class LaunchOptions:
    """How a grouped GEMM is launched (see the module docstring); the default is CUTLASS's own launch."""

    pdl: bool = False  # GemmUniversalAdapter::run(..., launch_with_pdl)
    raster_order: RasterOrder = RasterOrder.DEFAULT  # Arguments::scheduler.raster_order
    max_swizzle: Optional[int] = None  # Arguments::scheduler.max_swizzle_size; None = the scheduler's default

    @classmethod
    def create(cls, pdl: Any = False, raster_order: Any = "default", max_swizzle: Any = None) -> "LaunchOptions":
        if not isinstance(pdl, bool):
            raise ConfigError("pdl", pdl, "true or false")
        if isinstance(raster_order, RasterOrder):
            ro = raster_order
        else:
            ro = next((r for r in RasterOrder if isinstance(raster_order, str)
                       and raster_order.strip().lower() == r.value), None)
            if ro is None:
                raise ConfigError("raster_order", raster_order, [r.value for r in RasterOrder])
        if max_swizzle is not None and (isinstance(max_swizzle, bool) or max_swizzle not in SWIZZLES):
            raise ConfigError("max_swizzle", max_swizzle, ", ".join(map(str, SWIZZLES)) + " or null (default)")
        return cls(pdl, ro, max_swizzle)

    @classmethod
    def from_dict(cls, data: Any) -> "LaunchOptions":
        if not isinstance(data, Mapping):
            raise ConfigError("launch", f"<{type(data).__name__}>", "an object with pdl, raster_order, max_swizzle")
        unknown = sorted(set(data) - {"pdl", "raster_order", "max_swizzle"})
        if unknown:
            raise ConfigError("launch", unknown[0], "pdl, raster_order, max_swizzle")
        return cls.create(data.get("pdl", False), data.get("raster_order", "default"), data.get("max_swizzle"))

    def to_dict(self) -> dict:
        return {"pdl": self.pdl, "raster_order": self.raster_order.value, "max_swizzle": self.max_swizzle}

    @property
    def is_default(self) -> bool:
        return self == LaunchOptions()

    def suffix(self) -> str:
        """A name suffix (``""`` for the default launch): ``_pdl``, ``_rn`` / ``_rm`` / ``_rh``, ``_sw4``."""
        parts = []
        if self.pdl:
            parts.append("pdl")
        if self.raster_order is not RasterOrder.DEFAULT:
            parts.append({"heuristic": "rh", "along_m": "rm", "along_n": "rn"}[self.raster_order.value])
        if self.max_swizzle is not None:
            parts.append(f"sw{self.max_swizzle}")
        return "".join("_" + p for p in parts)

    def check(self, cfg: KernelConfig) -> None:
        """Raise :class:`ConfigError` if ``cfg``'s CUTLASS release cannot launch this way (PDL without the wait)."""
        if self.pdl:
            family = cfg.arch.family.value
            since = PDL_WAIT.since[family]
            if cfg.cutlass < since:
                raise ConfigError("launch.pdl", True, f"a CUTLASS release >= {since} for {family} grouped GEMMs",
                                  f"CUTLASS {cfg.cutlass}'s array kernel issues no griddepcontrol.wait, so a "
                                  f"programmatic dependent launch could read its predecessor's output early")

    def early_trigger(self, cfg: KernelConfig) -> bool:
        """Whether the kernel lets its dependent grid start before it ends (``launch_dependents``)."""
        return self.pdl and cfg.cutlass >= PDL_TRIGGER.since[cfg.arch.family.value]

    def gdc_define(self, cfg: KernelConfig) -> Optional[str]:
        """The define the translation unit needs (None unless PDL)."""
        return GDC_DEFINES[cfg.arch.family.value] if self.pdl else None

    def scheduler_lines(self, args: str = "args") -> list:
        """C++ statements that set the scheduler arguments of ``args`` (a ``Gemm::Arguments``)."""
        out = []
        if self.raster_order.cpp is not None:
            out.append(f"{args}.scheduler.raster_order = {self.raster_order.cpp};")
        if self.max_swizzle is not None:
            out.append(f"{args}.scheduler.max_swizzle_size = {self.max_swizzle};")
        return out


#: ``--pdl`` choices of the CLI: which PDL settings to offer.
PDL_CHOICES = {"no": (False,), "yes": (True,), "both": (False, True)}


def launch_variants(pdl: str = "no", raster_order: Any = "default", max_swizzle: Any = None) -> tuple:
    """The LaunchOptions a CLI request names: one per PDL setting of ``pdl`` (no | yes | both)."""
    if pdl not in PDL_CHOICES:
        raise ConfigError("pdl", pdl, tuple(PDL_CHOICES))
    return tuple(LaunchOptions.create(p, raster_order, max_swizzle) for p in PDL_CHOICES[pdl])


def footprint_delta(cfg: KernelConfig, options: LaunchOptions) -> int:
    """Bytes of ``SharedStorage`` the launch options add: always 0 (they are no template parameter of the kernel;
    see the module docstring). Validates the options against the config."""
    options.check(cfg)
    return 0


def scheduler_default(cfg: KernelConfig) -> RasterOrder:
    """The raster order the kernel's scheduler uses when none is given."""
    if cfg.arch.family is Arch.SM100:
        return RasterOrder.HEURISTIC
    return RasterOrder.ALONG_M if cfg.mode is Mode.GROUPED else RasterOrder.HEURISTIC


__all__ = ["RasterOrder", "SWIZZLES", "GdcRelease", "PDL_WAIT", "PDL_TRIGGER", "GDC_DEFINES", "LaunchOptions",
           "PDL_CHOICES", "launch_variants", "footprint_delta", "scheduler_default"]
