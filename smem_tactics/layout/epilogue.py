"""Epilogue collectives: tile, stages and ``SharedStorage``.

SM90 and SM120 grouped kernels use ``sm90_epilogue_array_tma_warpspecialized.hpp`` (SM120 reaches it
through ``Sm120PtrArrayTmaWarpSpecialized``); SM100 uses ``sm100_epilogue_array_tma_warpspecialized.hpp``.
Their storage is the same shape::

    struct SharedStorage {
      struct TensorStorage { CollectiveStorage collective; FusionCallbacks::SharedStorage thread; } tensors;
      struct TensorMapStorage : aligned_struct<128> { TmaDescriptor C; TmaDescriptor D[...]; } tensormaps;
      PipelineTransactionAsync<StagesC>::SharedStorage pipeline;
    };

``CollectiveStorage`` is, for a void C, ``union { array<C,0>; alignas(AD) D[Em*En*StagesD]; }``; when C
reuses D's buffer, ``union { alignas(max) C[Em*En*StagesC]; alignas(max) D[Em*En*StagesC]; }``; else
``struct { alignas(AC) C[Em*En*StagesC]; alignas(AD) D[Em*En*StagesD]; }``. AC/AD are the swizzle
alignments of the smem atoms chosen on the contiguous extent of the epilogue tile.

Tile and stage rules per builder: ``sm90_builder.inl`` (``sm90_compute_tile_shape_or_override``,
``sm90_get_tma_dispatch_policy``), ``sm120_builder.inl``, ``sm100_builder.inl``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional

from ..config import Arch, DType, EpilogueSchedule, FusionOp, KernelConfig, Kind, Layout
from ..errors import UnsupportedConfigError
from ..versions import SM100_EPI_TILE_N_FALLBACK, SM120_SMALL_N
from .primitives import array_aligned, array_engine, pipeline, swizzle_alignment, tensormaps
from .resolve import resolve_schedules
from .struct import Field, Part, Struct, align_up, layout, union

ES = EpilogueSchedule


@dataclass(frozen=True)
class EpilogueLayout:
    """What the epilogue contributes: its tile and stages, and the three storage pieces the kernel
    places (``tensors``, ``tensormaps``, ``pipeline``), plus the two carve-outs builders use."""

    tile: tuple  # (Em, En)
    stages_c: int
    stages_d: int
    reuse_smem_c: bool
    tensors: Struct
    tensormaps: Struct
    pipeline: Field
    shared_storage_bytes: int  # sizeof(CollectiveEpilogue::SharedStorage): the examples' carve-out
    carveout_epi_bytes: int  # StageCountAutoCarveoutEpi<CollectiveEpilogue>


def _bits_unpacked(t: Optional[DType]) -> int:
    """Bits of an element as stored in epilogue smem: FP6 is kept unpacked in a byte."""
    if t is None:
        return 0
    return 8 if t.bits == 6 else t.bits


def _sm90_tile(cfg: KernelConfig, epi: EpilogueSchedule) -> tuple:
    m, n, _ = cfg.tile
    cooperative = not epi.info.pingpong_tile
    if cfg.epilogue_tile is not None:
        em, en = cfg.epilogue_tile
        if not ((em == 64 and not cooperative) or (em == 128 and cooperative)) or en % 16:
            raise UnsupportedConfigError(
                "epilogue_tile", f"SM90 explicit epilogue tiles need M = 128 with a cooperative epilogue schedule or "
                f"M = 64 otherwise, and N % 16 == 0; got {em}x{en}", "Unsupported tile shape")
        return em, en
    if cooperative:
        return min(128, m), math.gcd(min(32, n), n)
    n_perf = 64 if (cfg.d.bits == 8 and n % 64 == 0) else 32
    return min(64, m), math.gcd(min(n_perf, n), n)


def _sm120_tile(cfg: KernelConfig) -> tuple:
    m, n, _ = cfg.tile
    fp6 = cfg.d in (DType.E2M3, DType.E3M2)
    row = cfg.layout_cd is Layout.ROW
    if fp6 and not ((m % 128 == 0 and not row) or (n % 128 == 0 and row)):
        raise UnsupportedConfigError(
            "tile", "an FP6 D needs a CTA tile whose contiguous extent (N for row-major D, M for column-major) is a "
            "multiple of 128", "CTA tile for FP6 ElementD must have a contiguous extent that is a multiple of 128.")
    if cfg.epilogue_tile is not None:
        em, en = cfg.epilogue_tile
        if m % em or n % en:
            raise UnsupportedConfigError("epilogue_tile", f"{em}x{en} does not divide the CTA tile {m}x{n}",
                                         "EpilogueTile must evenly divide CTA tile")
        return em, en
    if fp6:
        return (64, 128) if row else (128, 32)
    if cfg.cutlass.has(SM120_SMALL_N) and n < 32:
        # sm120_compute_tile_shape_or_override (4.6+): EpiN = min(CTA_N, 32), EpiM = 128 when CTA_N < 16
        return (128 if n < 16 else 64), n
    return 64, 32


@dataclass(frozen=True)
class _Sm100Tile:
    """An SM100 epilogue tile and the contiguous extent its smem swizzle atom is chosen on."""

    em: int
    en: int
    tma_m: int  # unit-stride extents of the two modes (what the smem atom selector sees)
    tma_n: int


def _sm100_tile(cfg: KernelConfig, two_sm: bool) -> _Sm100Tile:
    """``sm100_dense_compute_tile_shape_or_override`` (``epilogue/collective/builders/sm100_builder.inl``).

    The CTA tile is the MMA tile with M halved for a 2-SM MMA; TMEM is read by a 4x1 warp grid, or 2x2 for a
    2-SM MMA of M = 128. The automatic N tile is a by-mode tiler ``(N/WarpN, WarpN):(1, CtaN/WarpN)``: its
    contiguous extent (what ``sm100_get_epilogue_smem_swizzle_layout_atom`` sees) is N/WarpN unless the tile
    spans the whole CTA N, where it coalesces to N.
    """
    mma_m, n, _ = cfg.tile
    cta_m = mma_m // 2 if two_sm else mma_m
    warp_m, warp_n = (2, 2) if (two_sm and mma_m == 128) else (4, 1)
    row = cfg.layout_cd is Layout.ROW
    if cfg.epilogue_tile is not None:
        em, en = cfg.epilogue_tile
        if en % 8:
            raise UnsupportedConfigError("epilogue_tile", f"SM100 epilogue tile N must be a multiple of 8, got {en}",
                                         "Unsupported tile shape")
        return _Sm100Tile(em, en, em, en)
    em = min(cta_m, 32 * warp_m)
    if cfg.kind is Kind.BLOCK_SCALED and n == 256:
        return _Sm100Tile(em, 128, em, 128)  # a fixed 128-wide tile for the widest block-scaled MMA
    c = cfg.c if cfg.c is not None else cfg.d
    max_bits = max(c.bits, cfg.d.bits)
    if cfg.c is None:
        n_perf = (8192 if max_bits == 4 else 4096) // em
    elif max_bits == 32:
        n_perf = 16 if (cta_m > 64 and n <= 128) else 32
    elif max_bits == 16:
        n_perf = 32 if n <= 128 else 64
    else:
        n_perf = 64

    def n_min(t: DType, present: bool) -> int:
        if not present or not row:
            return 8 * warp_n
        if t.bits == 6:
            return 128 * warp_n  # TMA store only supports SW128B for FP6
        return 128 // t.bits * warp_n

    n_min_c = n_min(c, cfg.c is not None)
    n_min_d = n_min(cfg.d, True)
    if n < n_min_c or n < n_min_d:
        raise UnsupportedConfigError("tile", f"SM100 CTA tile N = {n} is below the epilogue's minimum "
                                             f"{max(n_min_c, n_min_d)}", "CTA tile too small")
    en = min(n, max(n_perf, n_min_c, n_min_d))
    if n % en:
        if not cfg.cutlass.has(SM100_EPI_TILE_N_FALLBACK):
            raise UnsupportedConfigError(
                "tile", f"the automatic SM100 epilogue tile N = {en} does not divide the CTA tile N = {n} (from "
                "CUTLASS 4.3 the epilogue tile falls back to the whole CTA N)", "Divisibility Condition")
        en = n
    return _Sm100Tile(em, en, em, en if en == n else en // warp_n)


def _sm100_smem_alignment(cfg: KernelConfig, t: DType, tile: _Sm100Tile) -> int:
    """Alignment of the SM100 epilogue smem atom (``sm100_smem_selector`` via
    ``sm100_get_epilogue_smem_swizzle_layout_atom``): the widest K-major (row-major C/D) or MN-major
    (column-major) swizzle atom that divides the contiguous extent; a 32-bit column-major operand always takes
    ``Layout_MN_SW128_32B`` (``Swizzle<2,5,2>``: 512 B) and needs M % 32 == 0."""
    bits = _bits_unpacked(t)
    row = cfg.layout_cd is Layout.ROW
    contiguous, other = (tile.tma_n, tile.tma_m) if row else (tile.tma_m, tile.tma_n)
    if not row and bits == 32:
        if contiguous % 32:
            raise UnsupportedConfigError(
                "epilogue_tile", f"a column-major 32-bit C/D needs an epilogue tile M divisible by 32, got "
                f"{contiguous}", "for mn-major tf32 operands, SW128_32B is the only available smem layout")
        return 512
    align = swizzle_alignment(contiguous, bits)
    if not align or other % 8 or contiguous % 8:
        raise UnsupportedConfigError(
            "epilogue_tile", f"the epilogue tile {tile.em}x{tile.en} does not fit an SM100 smem swizzle atom "
            f"(contiguous extent {contiguous} of {bits}-bit elements, other extent {other})",
            "BLK_K0 must be a multiple of size<1>(UMMA::Layout_K_INTER_Atom<ElementType>{})")
    return align


def _fusion_storage(cfg: KernelConfig) -> Field:
    """``FusionCallbacks::SharedStorage``: empty (1 byte) for the linear combinations; the SM120 block
    scale factor stores keep a cross-warp reduction buffer (``sm120_visitor_store_tma_warpspecialized.hpp``:
    row store 2 warp groups x 4 warps x 8 quads floats, column store 8 warps x 4 threads floats)."""
    if cfg.fusion.op.has_block_scale_factor and cfg.arch.family is Arch.SM120:
        floats = 64 if cfg.fusion.sf_layout is Layout.ROW else 32
        return Field("thread", 4 * floats, 16, Part.FUSION)
    if cfg.fusion.op.is_scatter:
        # TensorRT-LLM's finalize visitor tree keeps one Sm90RowBroadcast: array_aligned<T, CTA_N> holding the
        # per-column bias (T = d) or, for the swap-AB variant, the per-column router scale (T = float)
        bits = cfg.d.bits if cfg.fusion.op is FusionOp.SCATTER_PER_COL_BIAS else 32
        return array_aligned("thread", cfg.tile[1], bits, Part.FUSION)
    return Field("thread", 1, 1, Part.FUSION)


def _epi_stages(cfg: KernelConfig, tile: tuple, arch: Arch) -> tuple:
    m, n, _ = cfg.tile
    if arch is Arch.SM100:
        _, es = resolve_schedules(cfg)
        m, n = _sm100_cta_mn(cfg, es.info.two_sm)
        epi_tiles = _shape_div(m, tile[0], "epilogue tile M") * _shape_div(n, tile[1], "epilogue tile N")
    else:
        epi_tiles = _shape_div(m, tile[0], "epilogue tile M") * _shape_div(n, tile[1], "epilogue tile N")
    bits_c = cfg.c.bits if cfg.c else 0
    # a void D (finalize scatter): the SM120 builder sizes its stages from void (0 bits); the SM90 builder
    # substitutes the fusion's aux element first, so there d stands in for D
    bits_d = 0 if (cfg.fusion.op.is_scatter and arch is Arch.SM120) else cfg.d.bits
    if arch is Arch.SM100:
        reuse = bits_c > 8
        stages_d = min(epi_tiles, 2)
        stages_c = max(min(epi_tiles, 4), stages_d + 1) if reuse else min(epi_tiles, 4)
    elif arch is Arch.SM120:
        reuse = bits_c == bits_d and bits_d > 8
        fp6_row = cfg.d in (DType.E2M3, DType.E3M2) and cfg.layout_cd is Layout.ROW
        stages_d = 1 if fp6_row else min(epi_tiles, 2)
        stages_c = max(min(epi_tiles, 2), stages_d + 1) if reuse else stages_d
    else:
        reuse = bits_c == bits_d and bits_d > 8
        stages_d = min(epi_tiles, 2)
        stages_c = max(min(epi_tiles, 4), stages_d + 1) if reuse else min(epi_tiles, 4)
    return stages_c, stages_d, reuse


def _collective(cfg: KernelConfig, tile: tuple, stages_c: int, stages_d: int, reuse: bool,
                aligns: Optional[tuple] = None) -> Field:
    """``CollectiveStorage``; ``aligns`` = (AC, AD) when the caller chose the smem atoms (SM100)."""
    em, en = tile
    contiguous = en if cfg.layout_cd is Layout.ROW else em
    c_elem = cfg.c if cfg.c is not None else cfg.d
    bits_c, bits_d = _bits_unpacked(c_elem), _bits_unpacked(cfg.d)
    if aligns is not None:
        align_c, align_d = aligns
    else:
        align_c = swizzle_alignment(contiguous, bits_c)
        align_d = swizzle_alignment(contiguous, bits_d)
    if not align_c or not align_d:
        raise UnsupportedConfigError(
            "epilogue_tile", f"the epilogue tile's contiguous extent ({contiguous} elements) is not a multiple of the "
            "smallest shared-memory swizzle atom", "BLK_MN0 must be a multiple of size<0>(GMMA::Layout_MN_INTER_Atom")
    if cfg.c is None:
        d = array_engine("smem_D", em * en * stages_d, bits_d, Part.EPILOGUE_CD, align_d)
        return union("collective", (Field("smem_C", 1, 1, Part.EPILOGUE_CD), d))
    if reuse:
        both = max(align_c, align_d)
        c = array_engine("smem_C", em * en * stages_c, bits_c, Part.EPILOGUE_CD, both)
        d = array_engine("smem_D", em * en * stages_c, bits_d, Part.EPILOGUE_CD, both)
        return union("collective", (c, d))
    c = array_engine("smem_C", em * en * stages_c, bits_c, Part.EPILOGUE_CD, align_c)
    d = array_engine("smem_D", em * en * stages_d, bits_d, Part.EPILOGUE_CD, align_d)
    s = Struct("collective", (c, d))
    lay = layout(s)
    return Field("collective", lay.size, lay.align, Part.EPILOGUE_CD)


def _no_smem(cfg: KernelConfig) -> EpilogueLayout:
    """``PtrArrayNoSmemWarpSpecialized*``: no C/D staging; empty tensor and tensormap storage.

    SM90/SM120 wrap ``DefaultEpilogueArray`` in ``Sm90TmaWarpSpecializedAdapter`` (empty structs, a
    2-byte pipeline of two empty arrays). SM100 wraps an ``Sm100PtrArrayNoSmem`` collective in
    ``Sm100TmaWarpSpecializedAdapter`` (``epilogue/collective/detail.hpp``), whose TensorStorage and
    TensorMapStorage are both the collective's ``SharedStorage`` (``sm100_epilogue_array_nosmem.hpp``):
    an empty struct for the legacy ``thread::LinearCombination`` path (``sm100_builder.inl`` takes it for a
    default fusion on a non-block-scaled kernel), else ``{ FusionCallbacks::SharedStorage thread;
    array_aligned<uint8_t, 0> buffer; }`` (1 + 15 padding + 16 bytes).
    """
    if cfg.arch.family is Arch.SM100:
        legacy = cfg.fusion.op is FusionOp.LINEAR_COMBINATION and cfg.kind is not Kind.BLOCK_SCALED
        if legacy:
            tensors = Struct("epilogue", (Field("empty", 1, 1, Part.EPILOGUE_CD),))
            tmaps = Struct("epilogue", (Field("empty", 1, 1, Part.TENSORMAPS),))
        else:
            tensors = Struct("epilogue", (Field("thread", 1, 1, Part.FUSION), Field("buffer", 16, 16, Part.EPILOGUE_CD)))
            tmaps = Struct("epilogue", (Field("thread", 1, 1, Part.FUSION), Field("buffer", 16, 16, Part.TENSORMAPS)))
    else:
        tensors = Struct("epilogue", (Field("empty", 1, 1, Part.EPILOGUE_CD),))
        tmaps = Struct("epilogue", (Field("empty", 1, 1, Part.TENSORMAPS),))
    pipe = Field("epi_load", 2, 1, Part.EPILOGUE_PIPELINE)
    tile, stages = (0, 0), 0
    if cfg.arch.family is Arch.SM100:
        shared_size = layout(tensors).size  # the adapter exposes the collective's SharedStorage
        tile, stages = _sm100_no_smem_tile(cfg), 1  # Sm100PtrArrayNoSmemWarpSpecialized: StagesC = StagesD = 1
    else:
        shared_size = 1  # the adapter's SharedStorage is an empty struct
    t = layout(tensors)
    carve_epi = align_up(t.size, max(128, t.align)) + align_up(pipe.size, 16)
    return EpilogueLayout(tile, stages, stages, False, tensors, tmaps, pipe, shared_size, carve_epi)


def _shape_div(a: int, b: int, what: str) -> int:
    """``cute::shape_div`` of static extents: a/b, or 1 when b is a multiple of a; anything else fails its
    ``static_assert(... "Divisibility Condition")``."""
    if a % b == 0:
        return a // b
    if b % a == 0:
        return 1
    raise UnsupportedConfigError("tile", f"{what}: {b} does not divide {a} (nor the reverse)", "Divisibility Condition")


def _sm100_cta_mn(cfg: KernelConfig, two_sm: bool) -> tuple:
    """``sm100_cta_tile_shape``: the MMA tile with M halved for a 2-SM MMA."""
    m, n, _ = cfg.tile
    return (m // 2 if two_sm else m), n


def _sm100_no_smem_tile(cfg: KernelConfig) -> tuple:
    """The no-smem builder's epilogue tile (``sm100_builder.inl``): the user's, else (CtaM, min(64, CtaN)); the
    CTA tile must split into whole epilogue tiles (``EpiTiles = size(shape_div(CtaTile, EpiTile))``)."""
    _, es = resolve_schedules(cfg)
    cta_m, cta_n = _sm100_cta_mn(cfg, es.info.two_sm)
    em, en = cfg.epilogue_tile if cfg.epilogue_tile is not None else (cta_m, min(64, cta_n))
    _shape_div(cta_m, em, "epilogue tile M")
    _shape_div(cta_n, en, "epilogue tile N")
    return em, en


def epilogue_layout(cfg: KernelConfig) -> EpilogueLayout:
    """Tile, stages and storage of ``cfg``'s epilogue collective (independent of the mainloop stages)."""
    return _epilogue_layout(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _epilogue_layout(cfg: KernelConfig) -> EpilogueLayout:
    arch = cfg.arch.family
    _, es = resolve_schedules(cfg)
    if es.no_smem:
        return _no_smem(cfg)
    if arch is Arch.SM90:
        tile = _sm90_tile(cfg, es)
        warp_groups = es.info.warp_groups
    elif arch is Arch.SM120:
        tile = _sm120_tile(cfg)
        warp_groups = es.info.warp_groups  # schedules without the member default to 2 (GetNumEpilogueWarpGroups)
    else:
        t100 = _sm100_tile(cfg, es.info.two_sm)
        tile = (t100.em, t100.en)
        warp_groups = 1  # SM100 keeps one D descriptor
    stages_c, stages_d, reuse = _epi_stages(cfg, tile, arch)
    aligns = None
    if arch is Arch.SM100:
        aligns = (_sm100_smem_alignment(cfg, cfg.c if cfg.c is not None else cfg.d, t100),
                  _sm100_smem_alignment(cfg, cfg.d, t100))
    tensors = Struct("epilogue", (_collective(cfg, tile, stages_c, stages_d, reuse, aligns), _fusion_storage(cfg)))
    tmaps = Struct("epilogue", (tensormaps("tensormap_C", 1), tensormaps("tensormap_D", warp_groups)), align=128)
    pipe = pipeline("epi_load", stages_c, Part.EPILOGUE_PIPELINE)
    shared = layout(Struct("SharedStorage", (tensors, tmaps, pipe)))
    t = layout(tensors)
    carve_epi = align_up(t.size, max(128, t.align)) + align_up(pipe.size, 16)
    return EpilogueLayout(tile, stages_c, stages_d, reuse, tensors, tmaps, pipe, shared.size, carve_epi)


__all__ = ["EpilogueLayout", "epilogue_layout"]

_ = (ES, FusionOp)
