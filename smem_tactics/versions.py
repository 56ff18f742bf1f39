"""CUTLASS versions and the layout deltas between them.

Every place where a CUTLASS release changed a byte of ``SharedStorage`` or a stage-count formula is
one :class:`Delta` in :data:`DELTAS`. Layout code asks ``version.has(SM120_REDUCED_CAPACITY)``; it
never compares version numbers itself, so "what changed when" is readable in this one table.

Versions are modelled by these cut-offs. The ones in :data:`VERIFIED_VERSIONS` were compiled against
(see docs/verification.md); versions strictly between them are modelled, not compiled.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import VersionError


@functools.total_ordering
@dataclass(frozen=True)
class CutlassVersion:
    """A CUTLASS release number, e.g. ``CutlassVersion.parse("4.5.0")``."""

    major: int
    minor: int
    patch: int

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def parse(text: "str | CutlassVersion") -> "CutlassVersion":
        if isinstance(text, CutlassVersion):
            return text
        m = re.fullmatch(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.\d+)?\s*", str(text))
        if not m:
            raise VersionError(
                f"cutlass: {text!r} is not a version number; expected MAJOR.MINOR.PATCH such as "
                f"{', '.join(str(v) for v in VERIFIED_VERSIONS)}"
            )
        version = CutlassVersion(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        if version < OLDEST_MODELLED or version > NEWEST_MODELLED:
            raise VersionError(
                f"cutlass: {version} is outside the modelled range {OLDEST_MODELLED} .. {NEWEST_MODELLED}; "
                f"the layout of other releases has not been checked"
            )
        return version

    def has(self, delta: "Delta") -> bool:
        """True if this release contains ``delta``."""
        return self >= delta.since

    def __lt__(self, other: "CutlassVersion") -> bool:
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


OLDEST_MODELLED = CutlassVersion(4, 2, 0)
NEWEST_MODELLED = CutlassVersion(4, 7, 0)
DEFAULT_VERSION = CutlassVersion(4, 2, 0)

#: Releases whose headers were compiled against the model (docs/verification.md has the counts).
VERIFIED_VERSIONS = tuple(
    CutlassVersion(*v)
    for v in ((4, 2, 0), (4, 2, 1), (4, 3, 0), (4, 4, 0), (4, 4, 1), (4, 4, 2), (4, 5, 0), (4, 6, 0), (4, 7, 0))
)


@dataclass(frozen=True)
class Delta:
    """One change of the SharedStorage layout or of a builder's stage-count formula."""

    name: str
    since: CutlassVersion
    what: str


def _delta(name: str, since: str, what: str) -> Delta:
    major, minor, patch = (int(x) for x in since.split("."))
    return Delta(name, CutlassVersion(major, minor, patch), what)


SM100_ASYNC_TENSORMAP = _delta(
    "sm100_async_tensormap", "4.3.0",
    "SM100 grouped kernels update tensormaps asynchronously: a TensorMapReady pipeline, two sets of "
    "CLC responses and 5 copies of the tensormaps in the kernel SharedStorage; the builder carve-out counts them.",
)
SM100_EPI_TILE_N_FALLBACK = _delta(
    "sm100_epi_tile_n_fallback", "4.3.0",
    "SM100 automatic epilogue tile: when the preferred N does not divide the CTA tile N, the tile takes the whole "
    "CTA N (sm100_dense_compute_tile_shape_or_override); before, such tiles failed to compile.",
)
SM100_CAPACITY_ASSERT_IN_BODY = _delta(
    "sm100_capacity_assert_in_body", "4.3.0",
    "The SM100 array kernel's static_assert(SharedStorageSize <= capacity) moved from class scope into "
    "operator(): a SharedStorage over 232448 B is still a complete type and only fails once device code is "
    "compiled (4.2.x rejects it as soon as the kernel type is named).",
)
SM100_2SM_EPI_N64 = _delta(
    "sm100_2sm_epi_n64", "4.6.0",
    "SM100 2-SM TMA epilogues with 16-bit C/D and EpilogueTileAuto static_assert CtaN % 64 == 0 when CtaN > 128 "
    "(N = 160, 224 no longer compile).",
)
CUTE_SWIZZLED_SMEM_SLICE = _delta(
    "cute_swizzled_smem_slice", "4.6.0",
    "cute/pointer_flagged.hpp slices a Swizzle o smem_ptr_flag o Layout by slicing the inner layout alone; before, "
    "slice_and_offset composed the swizzle's projections with the sliced modes, whose divisibility static_asserts "
    "reject some SM100 A/B smem layouts (16/32-bit operands with N = 24, 40, ...; some stage counts with N = 8).",
)
BLOCKSCALED_STAGE_PIPELINE_128 = _delta(
    "blockscaled_stage_pipeline_128", "4.4.0",
    "sm100_compute_stage_count_or_override_blockscaled rounds the per-stage pipeline term up to 128 B.",
)
SM120_REDUCED_CAPACITY = _delta(
    "sm120_reduced_capacity", "4.4.2",
    "SM120 block-scaled builder subtracts the scheduler pipeline, tensormaps and the tensormap-ready "
    "pipeline from the 101376 B capacity before computing auto stages (CUTLASS 4.4.2, cutlass#3144).",
)
SM120_MXF8F6F4_PTRARRAY_SCHEDULE = _delta(
    "sm120_mxf8f6f4_ptrarray_schedule", "4.4.2",
    "SM120 select_instr accepts explicit PtrArray cooperative/pingpong schedules with SF vector 32 "
    "(MXF8F6F4 with two 6/8-bit operands).",
)
SM120_SFB_PADDED = _delta(
    "sm120_sfb_padded", "4.5.0",
    "SM120 block-scaled SFB shared memory is laid out for max(N, 128) columns.",
)

SM120_SF_K_ATOM = _delta(
    "sm120_sf_k_atom", "4.5.0",
    "SM120 block-scaled tiles need K >= 4 x the SF vector size (a whole scale-factor atom); smaller K no longer "
    "compiles instead of silently getting degenerate scale-factor smem.",
)
SM120_N_DIVISIBILITY = _delta(
    "sm120_n_divisibility", "4.5.0",
    "SM120 block-scaled tiles with N > 128 need N to be a multiple of 128 (SFB is tiled in 128-column atoms).",
)
SM120_SMALL_N = _delta(
    "sm120_small_n", "4.6.0",
    "SM120 block-scaled tiles may have N down to 8, with epilogue tiles narrowed to match.",
)

SM120_DENSE_PTR_ARRAY = _delta(
    "sm120_dense_ptr_array", "4.6.0",
    "SM120 gets a non-scaled (F8F6F4: FP8) ptr-array / grouped mainloop (sm120_mma_array_tma.hpp, "
    "sm120_array_mma_builder.inl) with the KernelPtrArrayTmaWarpSpecialized{Cooperative,Pingpong}Sm120 schedules.",
)

DELTAS: tuple[Delta, ...] = (
    SM100_ASYNC_TENSORMAP,
    SM100_EPI_TILE_N_FALLBACK,
    SM100_CAPACITY_ASSERT_IN_BODY,
    SM100_2SM_EPI_N64,
    CUTE_SWIZZLED_SMEM_SLICE,
    BLOCKSCALED_STAGE_PIPELINE_128,
    SM120_REDUCED_CAPACITY,
    SM120_MXF8F6F4_PTRARRAY_SCHEDULE,
    SM120_SFB_PADDED,
    SM120_SF_K_ATOM,
    SM120_N_DIVISIBILITY,
    SM120_SMALL_N,
    SM120_DENSE_PTR_ARRAY,
)
