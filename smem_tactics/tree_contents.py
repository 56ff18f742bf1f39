"""What a CUTLASS tree contains: each delta of :mod:`smem_tactics.versions` read from the headers that carry it.

A framework's pinned CUTLASS is often not a tagged release (FlashInfer 0.7.2.post1 ships the commit of
cutlass#3176, between v4.4.2 and v4.5.0, whose ``version.h`` already says 4.5.0), so a tree is modelled by what
its headers contain: ``version.h`` names the release, and one :class:`Detector` per delta looks in the files
that carry it for the code the delta introduced (*new*) and for the code it replaced (*old*). A delta is
present when every probe finds its new form, absent when every probe finds its old form; anything else (a file
missing, neither form found, probes disagreeing) is an unknown state and an error naming what was looked for --
the tree is then neither guessed nor silently modelled as its release.

Headers are compared after :func:`canonical`: comments removed, whitespace collapsed and dropped next to
punctuation, so reformatting, re-indentation and comment edits do not change a detection.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from . import versions as V
from .errors import CutlassTreeError
from .versions import CutlassVersion, Delta

#: Largest header read (the largest CUTLASS header is ~0.3 MB; this bounds a hostile tree).
MAX_HEADER_BYTES = 8 << 20

_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?\*/|\s+|.', re.S)
_PUNCT_SPACE = re.compile(r" ?([^\w\s]) ?")


def canonical(text: str) -> str:
    """C++ text with comments removed, runs of whitespace made one space and spaces next to punctuation
    dropped (string literals kept as written, their whitespace collapsed too)."""
    out = []
    for m in _TOKENS.finditer(text):
        tok = m.group(0)
        if tok.startswith("//") or tok.startswith("/*"):
            out.append(" ")
        elif tok[0].isspace():
            out.append(" ")
        else:
            out.append(tok)
    joined = re.sub(r"\s+", " ", "".join(out))
    return _PUNCT_SPACE.sub(r"\1", joined).strip()


@dataclass(frozen=True)
class Probe:
    """Evidence in one header (``path`` under ``include/``): the delta is there if every snippet of ``new`` (the
    delta's code) is; it is not if every snippet of ``old`` is instead (the code it replaced, or for an addition an
    anchor next to where it goes); neither is an unknown state. ``absent_means``: what a missing file says
    (``None``: unknown)."""

    path: str
    new: tuple
    old: tuple
    absent_means: Optional[bool] = None
    #: a custom reading of the canonical text (True / False / None) instead of snippets
    reader: Optional[Callable[[str], Optional[bool]]] = None

    def read(self, include: Path) -> Optional[bool]:
        text = _header(include, self.path)
        if text is None:
            return self.absent_means
        if self.reader is not None:
            return self.reader(text)
        if all(_canon_snippet(s) in text for s in self.new):
            return True
        if all(_canon_snippet(s) in text for s in self.old):
            return False
        return None

    def looked_for(self) -> str:
        if self.reader is not None:
            return f"{self.path}: {self.reader.__doc__.strip()}"
        show = lambda snippets: " ... ".join(_canon_snippet(s) for s in snippets)  # noqa: E731
        return f"{self.path}: new form `{show(self.new)}`, old form `{show(self.old)}`"


@dataclass(frozen=True)
class Detector:
    delta: Delta
    probes: tuple

    def detect(self, include: Path) -> Optional[bool]:
        states = {p.read(include) for p in self.probes}
        return states.pop() if len(states) == 1 else None


@functools.lru_cache(maxsize=256)
def _canon_snippet(snippet: str) -> str:
    return canonical(snippet)


_HEADER_CACHE: dict = {}


def _header(include: Path, rel: str) -> Optional[str]:
    path = include / rel
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _HEADER_CACHE:
        if stat.st_size > MAX_HEADER_BYTES:
            raise CutlassTreeError(f"cutlass: {path} is {stat.st_size} bytes, larger than any CUTLASS header "
                                   f"({MAX_HEADER_BYTES} B read at most)")
        try:
            _HEADER_CACHE[key] = canonical(path.read_text(errors="replace"))
        except OSError as e:
            raise CutlassTreeError(f"cutlass: {path} cannot be read ({e.strerror or e})") from None
    return _HEADER_CACHE[key]


def _after(first: str, then: str, instead: str) -> Callable[[str], Optional[bool]]:
    """A reader: True if ``then`` occurs after ``first``; False if ``instead`` occurs (the old arrangement)."""
    first_c, then_c, instead_c = (_canon_snippet(s) for s in (first, then, instead))

    def read(text: str) -> Optional[bool]:
        old = instead_c in text
        i = text.find(first_c)
        new = i >= 0 and text.find(then_c, i) >= 0 and not old
        return True if new else (False if old else None)

    read.__doc__ = f"`{then_c}` after `{first_c}` (new) or `{instead_c}` (old)"
    return read


def _small_m_reader(text: str) -> Optional[bool]:
    """`NumSplitsM = cute::conditional_t<... < _128{}, _1, ...>` (new), `NumSplitsM = cute::C<... / 128>` (old), or no
    NumSplitsM at all (before sm90_blockwise_split_m: nothing to lift, absent)"""
    new = _canon_snippet("using NumSplitsM = cute::conditional_t<get<0>(TileShape_{}) < _128{}, _1, "
                         "cute::C<get<0>(TileShape_{}) / 128>>;")
    old = _canon_snippet("using NumSplitsM = cute::C<get<0>(TileShape_{}) / 128>;")
    if new in text:
        return True
    if old in text or "NumSplitsM" not in text:
        return False
    return None


def _is_collective(text: str) -> Optional[bool]:
    """a header defining a CollectiveMma specialization (absent before the delta)"""
    return True if "struct CollectiveMma<" in text or "class CollectiveMma<" in text else None


_GEMM = "cutlass/gemm/"
_SM100_KERNEL = _GEMM + "kernel/sm100_gemm_array_tma_warpspecialized.hpp"
_SM100_BS_BUILDER = _GEMM + "collective/builders/sm100_blockscaled_umma_builder.inl"
_SM120_BS_BUILDER = _GEMM + "collective/builders/sm120_blockscaled_mma_builder.inl"
_SM120_BS_MAINLOOP = _GEMM + "collective/sm120_blockscaled_mma_array_tma.hpp"
_SM90_BW_MAINLOOP = _GEMM + "collective/sm90_mma_array_tma_gmma_ss_warpspecialized_fp8_blockwise_scaling.hpp"
_SM100_EPI_BUILDER = "cutlass/epilogue/collective/builders/sm100_builder.inl"
_SM120_EPI_BUILDER = "cutlass/epilogue/collective/builders/sm120_builder.inl"
_SFB_TMA_OLD = "make_shape(shape<1>(TileShape{}), shape<2>(TileShape{})), _1{}));"
_SFB_TMA_NEW = "using TileShapeSFB = cute::conditional_t<size<1>(TileShape{}) < 128,"

#: One detector per delta (the same order as :data:`smem_tactics.versions.DELTAS`; a test keeps them in step).
DETECTORS: tuple = (
    Detector(V.SM100_ASYNC_TENSORMAP, (
        Probe(_SM100_KERNEL, ("TensorMapReadyPipelineStorage tensor_map_ready;",),
              ("alignas(16) typename TileScheduler::CLCResponse clc_response[SchedulerPipelineStageCount];",)),
        Probe(_GEMM + "collective/builders/sm100_pipeline_carveout.inl",
              ("sizeof(cute::TmaDescriptor) * NumTensorMaps * 5", "TensorMapReadyPipelineStorage"),
              ("IsArrayOfPointersGemm ? sizeof(cute::TmaDescriptor) * NumTensorMaps :",)),
    )),
    Detector(V.SM100_EPI_TILE_N_FALLBACK, (
        Probe(_SM100_EPI_BUILDER, ("constexpr int N = CtaN % N_tmp == 0 ? N_tmp : CtaN;",),
              ("constexpr int N = cute::min(CtaN, cute::max(N_perf, N_min_C, N_min_D));",)),
    )),
    Detector(V.SM100_CAPACITY_ASSERT_IN_BODY, (
        Probe(_SM100_KERNEL, (), (), reader=_after(
            "operator()(Params const& params, char* smem_buf) {",
            "static_assert(SharedStorageSize <=",  # 4.7.0 compares with ArchTag::kSharedMemoryCapacityBytes
            "static constexpr int SharedStorageSize = sizeof(SharedStorage); static_assert(SharedStorageSize <=")),
    )),
    Detector(V.SM90_BLOCKWISE_SPLIT_M, (
        Probe(_SM90_BW_MAINLOOP, ("static_assert(NumSplitsM{} == 1 || NumSplitsM{} == 2);",),
              ('"ElementAccumulator and ElementBlockScale should be same datatype"); struct SharedStorage {',)),
    )),
    Detector(V.SM90_BLOCKWISE_SMALL_M, (
        Probe(_SM90_BW_MAINLOOP, (), (), reader=_small_m_reader),
    )),
    Detector(V.BLOCKSCALED_STAGE_PIPELINE_128, (
        Probe(_SM100_BS_BUILDER,
              ("mainloop_pipeline_bytes = cutlass::round_up(sizeof(typename cutlass::PipelineTmaUmmaAsync<1>"
               "::SharedStorage), 128)",),
              ("mainloop_pipeline_bytes = sizeof(typename cutlass::PipelineTmaUmmaAsync<1>::SharedStorage);",)),
    )),
    Detector(V.SM120_REDUCED_CAPACITY, (
        Probe(_SM120_BS_BUILDER,
              ("static constexpr int ReducedSmemCapacityBytes = detail::sm120_smem_capacity_bytes - "
               "SchedulerPipelineStorage - TensorMapStorage - TensorMapReadyPipelineStorage - CLCResponseStorage;",
               "sm100_compute_stage_count_or_override_blockscaled< ReducedSmemCapacityBytes,",
               "IsGroupedGemmKernel ? sizeof(cutlass::PipelineDetail::PipelineAsyncSharedStorage<8>)",
               "IsGroupedGemmKernel ? sizeof(cute::TmaDescriptor) * 2",
               "IsGroupedGemmKernel ? sizeof(typename cutlass::PipelineAsync<SchedulerPipelineStageCount>"
               "::SharedStorage)"),
              ("sm100_compute_stage_count_or_override_blockscaled< detail::sm120_smem_capacity_bytes,",)),
    )),
    Detector(V.SM120_MXF8F6F4_PTRARRAY_SCHEDULE, (
        Probe(_GEMM + "collective/builders/sm1xx_common.inl",
              ("(SfVectorSize == 32 && cute::is_base_of_v<KernelPtrArrayTmaWarpSpecializedCooperative, "
               "BuilderScheduleTag>)",
               "(SfVectorSize == 32 && cute::is_base_of_v<KernelPtrArrayTmaWarpSpecializedPingpong, "
               "BuilderScheduleTag>)"),
              ("(SfVectorSize == 32 && cute::is_base_of_v<KernelTmaWarpSpecializedPingpong, BuilderScheduleTag>)",)),
    )),
    Detector(V.SM120_SFB_PADDED, (
        Probe(_SM120_BS_BUILDER, ("using sSFBTileShape_N = Int<cute::max(size<1>(TileShape_MNK{}), 128)>;",),
              ("using sSFB_shapeN = decltype(prepend(size<1>(TileShape_MNK{}) / Blk_MN{}, mnBasicBlockShape{}));",)),
    )),
    # Both rejections below come from the 4.5.0 SM120 mainloop's SFB tiling (TileShapeSFB, the SFB TMA box and
    # the broadcast over N), not from the builder's padding: a 4.4.2 tree with only the 4.5.0 mainloop rejects
    # K < 4 x VS and N = 192, one with only the 4.5.0 builder does not (host probes, docs/verification.md).
    Detector(V.SM120_SF_K_ATOM, (
        Probe(_SM120_BS_MAINLOOP, (_SFB_TMA_NEW,), (_SFB_TMA_OLD,)),
    )),
    Detector(V.SM120_N_DIVISIBILITY, (
        Probe(_SM120_BS_MAINLOOP, (_SFB_TMA_NEW,), (_SFB_TMA_OLD,)),
    )),
    Detector(V.SM100_2SM_EPI_N64, (
        Probe(_SM100_EPI_BUILDER,
              ("EpiSmemMaxBits_ != 16 || size<1>(CtaTileShape_MNK{}) <= 128 || size<1>(CtaTileShape_MNK{}) % 64 == 0",),
              ("using TmemWarpShape_MN = decltype(detail::sm100_tmem_warps<Is2SmMma, MmaTileShape_MNK>()); "
               "static constexpr auto epilogue_tile() {",)),
    )),
    Detector(V.CUTE_SWIZZLED_SMEM_SLICE, (
        Probe("cute/pointer_flagged.hpp",
              ("slice_and_offset(Coord const& coord, ComposedLayout<Swizzle<B,M,S>,smem_ptr_flag_bits<Bits>,Layout> "
               "const& layout)",),
              ("return composition(layout.layout_a(), smem_ptr_flag_bits<B/N>{}, downcast<N>(layout.layout_b()));",),
              ),
    )),
    Detector(V.SM120_SMALL_N, (
        Probe(_SM120_BS_BUILDER, ('static_assert(size<1>(TileShape_MNK{}) >= 8, "Invalid tile shape N.");',),
              ('static_assert(size<1>(TileShape_MNK{}) >= 32, "Invalid tile shape N.");',)),
        Probe(_SM120_EPI_BUILDER, ("constexpr int EpiN = CTA_N < 32 ? CTA_N : 32;",), ("return Shape<_64, _32>{};",)),
    )),
    Detector(V.SM120_DENSE_PTR_ARRAY, (
        Probe(_GEMM + "collective/sm120_mma_array_tma.hpp", (), (), absent_means=False, reader=_is_collective),
        Probe(_GEMM + "collective/collective_builder.hpp",
              ('#include "cutlass/gemm/collective/builders/sm120_array_mma_builder.inl"',),
              ('#include "cutlass/gemm/collective/builders/sm120_blockscaled_mma_builder.inl"',)),
        Probe(_GEMM + "collective/collective_mma.hpp", ('#include "cutlass/gemm/collective/sm120_mma_array_tma.hpp"',),
              ('#include "cutlass/gemm/collective/sm120_blockscaled_mma_array_tma.hpp"',)),
    )),
)


@dataclass(frozen=True)
class TreeContents:
    """The release a tree's ``version.h`` names and the deltas its headers were found to have."""

    include: Path
    version_text: str  # as version.h says, e.g. "4.5.0"
    present: frozenset  # names of the deltas found
    unknown: tuple  # (delta name, what was looked for) for each delta whose state could not be told

    def differences(self, release: CutlassVersion) -> tuple:
        """(added, removed): deltas the tree has that ``release`` lacks, and the other way round."""
        added = sorted(d.name for d in V.DELTAS if d.name in self.present and not d.in_release(release))
        removed = sorted(d.name for d in V.DELTAS if d.name not in self.present and d.in_release(release))
        return added, removed


def read_version_text(include: Path) -> str:
    """``MAJOR.MINOR.PATCH`` from ``include/cutlass/version.h``; a clear error when it cannot be read."""
    path = include / "cutlass" / "version.h"
    try:
        if path.stat().st_size > MAX_HEADER_BYTES:
            raise CutlassTreeError(f"cutlass: {path} is larger than any version.h ({MAX_HEADER_BYTES} B read at most)")
        text = path.read_text(errors="replace")
    except OSError as e:
        raise CutlassTreeError(f"cutlass: {path} cannot be read ({e.strerror or e}); give a CUTLASS tree "
                               f"(the folder holding include/cutlass/version.h)") from None
    parts = []
    for key in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"#\s*define\s+CUTLASS_{key}\s+(\d{{1,4}})\b", text)
        if not m:
            raise CutlassTreeError(f"cutlass: {path} does not define CUTLASS_{key} (looked for "
                                   f"'#define CUTLASS_{key} <number>'); is this a CUTLASS tree?")
        parts.append(m.group(1))
    return ".".join(parts)


def detect(include: Union[str, Path]) -> TreeContents:
    """Read ``version.h`` and run every detector on the tree whose ``include/`` folder is ``include``."""
    include = Path(include)
    version_text = read_version_text(include)
    present, unknown = set(), []
    for det in DETECTORS:
        state = det.detect(include)
        if state is None:
            unknown.append((det.delta.name, "; ".join(p.looked_for() for p in det.probes)))
        elif state:
            present.add(det.delta.name)
    return TreeContents(include, version_text, frozenset(present), tuple(unknown))


def modelled_version(contents: TreeContents, assume: Optional[str] = None, source: str = "") -> CutlassVersion:
    """The :class:`CutlassVersion` a tree is modelled as: its ``version.h`` release with the deltas its headers
    differ in; with ``assume`` (a modelled release), an unmodelled newer release answered with ``assume``'s
    rules plus the deltas found. An unknown delta state is an error naming what was looked for."""
    where = f" (tree {contents.include}{', ' + source if source else ''})"
    if contents.unknown:
        name, looked = contents.unknown[0]
        more = f"; {len(contents.unknown) - 1} more deltas undecided" if len(contents.unknown) > 1 else ""
        raise CutlassTreeError(f"cutlass: cannot tell whether the tree has delta {name}{where}: looked for "
                               f"{looked}{more}")
    try:
        if assume is not None:
            base = V.assume(contents.version_text, assume)
        else:
            base = V.release(contents.version_text)
    except V.VersionError as e:
        raise type(e)(f"{e}{where}") from None
    added, removed = contents.differences(base.release)
    return base.with_deltas(added, removed)


__all__ = ["canonical", "Probe", "Detector", "DETECTORS", "TreeContents", "detect", "modelled_version",
           "read_version_text"]
