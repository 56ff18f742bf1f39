"""CUTLASS releases and the layout / legality deltas between them, keyed by the release lines that carry them.

CUTLASS history is not a line. Patch releases continue older lines (4.2.2 and 4.3.6 were tagged in June 2026,
months after 4.4.0) and carry backports, so a delta is listed by *where it arrived on each line*: the
128-byte per-stage pipeline term of the block-scaled stage count arrived in 4.4.0 and was backported to 4.2.2
and 4.3.6, written ``"4.2.2, 4.3.6, 4.4.0"``. The newest line listed is where it reached the main line; every
later line carries it; an older line carries it only from the patch listed for that line (a line not listed
never got it). Layout and legality code asks ``cfg.cutlass.has(DELTA)``; it never compares version numbers,
so "what changed when" is readable in this one table (``python -m smem_tactics.versions`` prints it).

A :class:`CutlassVersion` is a tagged release (:data:`RELEASES`: every tag from v4.2.0 to v4.7.0), optionally
with deltas added or removed when a CUTLASS tree is modelled by what its headers contain (a framework's pinned
commit between tags, see ``cpp_bindings/tree_contents.py``), and optionally *assumed*: a release newer than the
newest modelled one, answered with the rules of a modelled release because the user asked for it
(``--assume-cutlass``). Its text form round-trips through :meth:`CutlassVersion.parse`:
``"4.5.0"``, ``"4.4.2+sm120_sfb_padded-sm120_reduced_capacity"``, ``"4.8.0 as 4.7.0"``.

Every release in :data:`RELEASES` was compiled against (docs/verification.md has the counts per release).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .errors import VersionError


@functools.total_ordering
@dataclass(frozen=True)
class CutlassVersion:
    """A CUTLASS release, e.g. ``CutlassVersion.parse("4.3.6")``, possibly modelled from a tree's contents.

    ``major.minor.patch`` name the release whose rules apply; ``added`` / ``removed`` name deltas a tree's headers
    have (or lack) unlike that release; ``assumed`` is the version of an unmodelled release the user chose to
    answer with this release's rules (every answer then says "assumed")."""

    major: int
    minor: int
    patch: int
    added: frozenset = field(default=frozenset())
    removed: frozenset = field(default=frozenset())
    assumed: str = ""

    # -- parsing -------------------------------------------------------------------------------------------
    @staticmethod
    @functools.lru_cache(maxsize=None)
    def parse(text: "str | CutlassVersion") -> "CutlassVersion":
        """A release number (``4.3.6``, ``v4.3.6``, ``4.2.0.0``), optionally with ``+delta``/``-delta`` suffixes
        or as ``"X.Y.Z as A.B.C"`` (an unmodelled X.Y.Z answered with A.B.C's rules). Unknown releases are
        refused with the known ones named."""
        if isinstance(text, CutlassVersion):
            return text
        if not isinstance(text, str):
            raise VersionError(f"cutlass: {text!r} is not a version number; expected MAJOR.MINOR.PATCH such as "
                               f"{_examples()}")
        m = re.fullmatch(r"\s*(\S+)\s+as\s+(\S+)\s*", text)
        if m:
            return assume(m.group(1), m.group(2))
        m = re.fullmatch(r"\s*([^+\-\s]+)((?:\s*[+\-]\s*\w+)*)\s*", text)
        if not m:
            raise VersionError(f"cutlass: {text!r} is not a version number; expected MAJOR.MINOR.PATCH such as "
                               f"{_examples()}")
        base = release(m.group(1))
        added, removed = set(), set()
        for sign, name in re.findall(r"([+\-])\s*(\w+)", m.group(2)):
            delta = delta_named(name)
            (added if sign == "+" else removed).add(delta.name)
        return base.with_deltas(added, removed)

    def with_deltas(self, added: Iterable[str] = (), removed: Iterable[str] = ()) -> "CutlassVersion":
        """This release with deltas present (``added``) or absent (``removed``) whatever the release has; deltas
        the release already agrees with are dropped, so a tree identical to a tag is that tag."""
        added, removed = frozenset(added), frozenset(removed)
        both = added & removed
        if both:
            raise VersionError(f"cutlass: {', '.join(sorted(both))}: both added (+) and removed (-)")
        base = CutlassVersion(self.major, self.minor, self.patch)
        by_name = {d.name: d for d in DELTAS}
        add = frozenset(n for n in added if not by_name[n].in_release(base))
        rem = frozenset(n for n in removed if by_name[n].in_release(base))
        return CutlassVersion(self.major, self.minor, self.patch, add, rem, self.assumed)

    # -- the question layout code asks -----------------------------------------------------------------------
    def has(self, delta: "Delta") -> bool:
        """True if this release (or modelled tree) contains ``delta``."""
        if self.added and delta.name in self.added:
            return True
        if self.removed and delta.name in self.removed:
            return False
        return delta.in_release(self)

    @property
    def release(self) -> "CutlassVersion":
        """The tagged release whose rules apply, without tree differences or assumption."""
        return CutlassVersion(self.major, self.minor, self.patch)

    @property
    def line(self) -> tuple:
        return (self.major, self.minor)

    def deltas(self) -> tuple:
        """Every delta this version has, in table order."""
        return tuple(d for d in DELTAS if self.has(d))

    def describe(self) -> str:
        """How answers name this version: the release, the tree's differences, and the assumption if any."""
        text = str(self.release)
        diff = [f"+{n}" for n in sorted(self.added)] + [f"-{n}" for n in sorted(self.removed)]
        if diff:
            text += f" (modelled from its headers: {' '.join(diff)})"
        if self.assumed:
            text = f"{self.assumed}, assumed to behave as {text} (newer than the newest modelled release " \
                   f"{NEWEST_MODELLED}; not verified)"
        return text

    def __lt__(self, other: "CutlassVersion") -> bool:
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        text += "".join(f"+{n}" for n in sorted(self.added)) + "".join(f"-{n}" for n in sorted(self.removed))
        return f"{self.assumed} as {text}" if self.assumed else text


def _numbers(text: str) -> Optional[tuple]:
    m = re.fullmatch(r"\s*v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:\.\d{1,4})?\s*", str(text))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)) if m else None


#: Every tagged CUTLASS release the model knows, oldest first (git tags v4.2.0 .. v4.7.0 of NVIDIA/cutlass;
#: patch releases of older lines were tagged after newer lines: v4.2.2 on 2026-06-21, after v4.4.0).
RELEASES: tuple = tuple(
    CutlassVersion(*v) for v in (
        (4, 2, 0), (4, 2, 1), (4, 2, 2),
        (4, 3, 0), (4, 3, 1), (4, 3, 2), (4, 3, 3), (4, 3, 4), (4, 3, 5), (4, 3, 6),
        (4, 4, 0), (4, 4, 1), (4, 4, 2), (4, 4, 3),
        (4, 5, 0), (4, 5, 1), (4, 5, 2), (4, 5, 3),
        (4, 6, 0), (4, 6, 1), (4, 6, 2),
        (4, 7, 0),
    )
)
_RELEASE_SET = frozenset((v.major, v.minor, v.patch) for v in RELEASES)
OLDEST_MODELLED = RELEASES[0]
NEWEST_MODELLED = RELEASES[-1]
DEFAULT_VERSION = CutlassVersion(4, 2, 0)
#: Releases whose headers were compiled against the model (all of them; docs/verification.md has the counts).
VERIFIED_VERSIONS = RELEASES


def _examples() -> str:
    return f"{OLDEST_MODELLED} .. {NEWEST_MODELLED} (e.g. 4.3.6, 4.5.0)"


def _line_releases(major: int, minor: int) -> list:
    return [str(v) for v in RELEASES if (v.major, v.minor) == (major, minor)]


def release(text: str) -> CutlassVersion:
    """The tagged release ``text`` names; a clear :class:`VersionError` for anything else."""
    nums = _numbers(text)
    if nums is None:
        raise VersionError(f"cutlass: {text!r} is not a version number; expected MAJOR.MINOR.PATCH such as "
                           f"{_examples()}")
    if nums in _RELEASE_SET:
        return CutlassVersion(*nums)
    v = CutlassVersion(*nums)
    if v > NEWEST_MODELLED:
        raise VersionError(
            f"cutlass: {v} is newer than the newest modelled release {NEWEST_MODELLED}: its layout has not been "
            f"checked; to answer with a modelled release's rules anyway pass --assume-cutlass {NEWEST_MODELLED} "
            f"(Python: CutlassVersion.parse('{v} as {NEWEST_MODELLED}')); every answer then says 'assumed'")
    if v < OLDEST_MODELLED:
        raise VersionError(f"cutlass: {v} is older than the oldest modelled release {OLDEST_MODELLED}; modelled: "
                           f"{_examples()}")
    line = _line_releases(v.major, v.minor)
    raise VersionError(f"cutlass: {v} is not a CUTLASS release; the {v.major}.{v.minor} line has "
                       f"{', '.join(line)}" if line else f"cutlass: {v} is not a CUTLASS release; modelled: "
                                                         f"{_examples()}")


def assume(actual: str, as_release: str) -> CutlassVersion:
    """An unmodelled release ``actual`` (newer than :data:`NEWEST_MODELLED`) answered with the rules of the
    modelled release ``as_release``. Refused for a release the model knows (nothing to assume) or older ones."""
    nums = _numbers(actual)
    if nums is None:
        raise VersionError(f"cutlass: {actual!r} is not a version number; expected MAJOR.MINOR.PATCH")
    if nums in _RELEASE_SET:
        raise VersionError(f"cutlass: {actual} is a modelled release; nothing to assume (drop --assume-cutlass)")
    if CutlassVersion(*nums) < NEWEST_MODELLED:
        release(actual)  # raises the precise reason (older than modelled, or not a release of its line)
    base = CutlassVersion.parse(as_release)
    if base.assumed:
        raise VersionError(f"cutlass: {as_release!r}: assume a tagged release, not an assumption")
    return CutlassVersion(base.major, base.minor, base.patch, base.added, base.removed,
                          "{}.{}.{}".format(*nums))


@dataclass(frozen=True)
class Delta:
    """One change of a SharedStorage layout, a builder's stage-count formula or a compile-time rule.

    ``arrivals`` holds, per release line that carries it, the first release of that line with it (oldest line
    first); the last one is where it reached the main line, and every later line has it."""

    name: str
    arrivals: tuple
    what: str

    @property
    def since(self) -> CutlassVersion:
        """The main-line arrival (the newest line listed)."""
        return self.arrivals[-1]

    @property
    def backports(self) -> tuple:
        """Arrivals on lines older than the main-line arrival."""
        return self.arrivals[:-1]

    def in_release(self, v: CutlassVersion) -> bool:
        """Whether the tagged release ``v`` carries this delta (per line, see the module doc)."""
        for a in self.arrivals:
            if (a.major, a.minor) == (v.major, v.minor):
                return v.patch >= a.patch
        return (v.major, v.minor) > (self.since.major, self.since.minor)

    def arrivals_text(self) -> str:
        return ", ".join(str(a) for a in self.arrivals)


def _delta(name: str, arrivals: str, what: str) -> Delta:
    """``arrivals``: one release per line that carries the delta, e.g. ``"4.2.2, 4.3.6, 4.4.0"``."""
    versions = tuple(CutlassVersion(*_numbers(a)) for a in arrivals.split(","))
    lines = [v.line for v in versions]
    if list(versions) != sorted(versions) or len(set(lines)) != len(lines):
        raise AssertionError(f"delta {name}: one arrival per line, oldest line first: {arrivals}")
    unknown = [str(v) for v in versions if (v.major, v.minor, v.patch) not in _RELEASE_SET]
    if unknown:
        raise AssertionError(f"delta {name}: {unknown} are not releases")
    return Delta(name, versions, what)


# -- the table: what changed when --------------------------------------------------------------------------
# Arrivals were found by diffing the headers of every tag (builders, collectives, kernels, cute/) and checked by
# compiling random configs against every tag (docs/verification.md). The detector of each delta, which reads a
# tree's headers, is in cpp_bindings/tree_contents.py.

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
SM90_BLOCKWISE_SPLIT_M = _delta(
    "sm90_blockwise_split_m", "4.3.0",
    "The SM90 FP8 blockwise array mainloop splits the tile's M into NumSplitsM = M / 128 parts and "
    "static_asserts NumSplitsM is 1 or 2: tiles with M = 64 no longer compile (until sm90_blockwise_small_m).",
)
SM90_BLOCKWISE_SMALL_M = _delta(
    "sm90_blockwise_small_m", "4.4.1",
    "NumSplitsM is 1 for tile M < 128 in the SM90 FP8 blockwise array mainloop: M = 64 tiles compile again.",
)
BLOCKSCALED_STAGE_PIPELINE_128 = _delta(
    "blockscaled_stage_pipeline_128", "4.2.2, 4.3.6, 4.4.0",
    "sm100_compute_stage_count_or_override_blockscaled (used by the SM100 and the SM120 block-scaled builders) "
    "rounds the per-stage pipeline term up to 128 B; backported to 4.2.2 and 4.3.6.",
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
SM100_2SM_EPI_N64 = _delta(
    "sm100_2sm_epi_n64", "4.5.2, 4.6.0",
    "SM100 2-SM TMA epilogues with 16-bit C/D and EpilogueTileAuto static_assert CtaN % 64 == 0 when CtaN > 128 "
    "(N = 160, 224 no longer compile); backported to 4.5.2.",
)
CUTE_SWIZZLED_SMEM_SLICE = _delta(
    "cute_swizzled_smem_slice", "4.6.0",
    "cute/pointer_flagged.hpp slices a Swizzle o smem_ptr_flag o Layout by slicing the inner layout alone; before, "
    "slice_and_offset composed the swizzle's projections with the sliced modes, whose divisibility static_asserts "
    "reject some SM100 A/B smem layouts (16/32-bit operands with N = 24, 40, ...; some stage counts with N = 8).",
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

DELTAS: tuple = (
    SM100_ASYNC_TENSORMAP,
    SM100_EPI_TILE_N_FALLBACK,
    SM100_CAPACITY_ASSERT_IN_BODY,
    SM90_BLOCKWISE_SPLIT_M,
    SM90_BLOCKWISE_SMALL_M,
    BLOCKSCALED_STAGE_PIPELINE_128,
    SM120_REDUCED_CAPACITY,
    SM120_MXF8F6F4_PTRARRAY_SCHEDULE,
    SM120_SFB_PADDED,
    SM120_SF_K_ATOM,
    SM120_N_DIVISIBILITY,
    SM100_2SM_EPI_N64,
    CUTE_SWIZZLED_SMEM_SLICE,
    SM120_SMALL_N,
    SM120_DENSE_PTR_ARRAY,
)


def delta_named(name: str) -> Delta:
    """The delta called ``name``; a :class:`VersionError` naming every delta otherwise."""
    for d in DELTAS:
        if d.name == name:
            return d
    raise VersionError(f"cutlass: {name!r} is not a known delta; known: {', '.join(d.name for d in DELTAS)}")


def what_changed_when() -> str:
    """The delta table as text: per delta, the release of each line that brought it."""
    lines = [f"{'delta':34s} arrived (per release line)", f"{'-' * 34} {'-' * 26}"]
    for d in DELTAS:
        back = f" (backports: {', '.join(map(str, d.backports))})" if d.backports else ""
        lines.append(f"{d.name:34s} {d.since}{back}")
    lines.append("")
    lines.append("releases: " + ", ".join(str(v) for v in RELEASES))
    return "\n".join(lines)


__all__ = ["CutlassVersion", "Delta", "DELTAS", "RELEASES", "VERIFIED_VERSIONS", "DEFAULT_VERSION",
           "OLDEST_MODELLED", "NEWEST_MODELLED", "release", "assume", "delta_named", "what_changed_when"]

if __name__ == "__main__":
    print(what_changed_when())
