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
from .primitives import array_engine, pipeline, swizzle_alignment, tensormaps
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
    return 64, 32


def _sm100_tile(cfg: KernelConfig, two_sm: bool) -> tuple:
    mma_m, n, _ = cfg.tile
    cta_m = mma_m // 2 if two_sm else mma_m
    warp_m, warp_n = (2, 2) if (two_sm and mma_m == 128) else (4, 1)
    if cfg.epilogue_tile is not None:
        em, en = cfg.epilogue_tile
        if en % 8:
            raise UnsupportedConfigError("epilogue_tile", f"SM100 epilogue tile N must be a multiple of 8, got {en}",
                                         "Unsupported tile shape")
        return em, en
    c = cfg.c if cfg.c is not None else cfg.d
    if cfg.kind is Kind.BLOCK_SCALED and n == 256:
        return min(cta_m, 32 * warp_m), 128
    em = min(cta_m, 32 * warp_m)
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
        if not present or cfg.layout_cd is Layout.COL:
            return 8 * warp_n
        if t.bits == 6:
            return 128 * warp_n
        return 128 // t.bits * warp_n

    n_min_c = n_min(c, cfg.c is not None)
    n_min_d = n_min(cfg.d, True)
    if n < n_min_c or n < n_min_d:
        raise UnsupportedConfigError("tile", f"SM100 CTA tile N = {n} is below the epilogue's minimum "
                                             f"{max(n_min_c, n_min_d)}", "CTA tile too small")
    n_tmp = min(n, max(n_perf, n_min_c, n_min_d))
    return em, (n_tmp if n % n_tmp == 0 else n)


def _fusion_storage(cfg: KernelConfig) -> Field:
    """``FusionCallbacks::SharedStorage``: empty (1 byte) for the linear combinations; the SM120 block
    scale factor stores keep a cross-warp reduction buffer (``sm120_visitor_store_tma_warpspecialized.hpp``:
    row store 2 warp groups x 4 warps x 8 quads floats, column store 8 warps x 4 threads floats)."""
    if cfg.fusion.op.has_block_scale_factor and cfg.arch.family is Arch.SM120:
        floats = 64 if cfg.fusion.sf_layout is Layout.ROW else 32
        return Field("thread", 4 * floats, 16, Part.FUSION)
    return Field("thread", 1, 1, Part.FUSION)


def _epi_stages(cfg: KernelConfig, tile: tuple, arch: Arch) -> tuple:
    m, n, _ = cfg.tile
    if arch is Arch.SM100:
        _, es = resolve_schedules(cfg)
        m = m // 2 if es.info.two_sm else m
    epi_tiles = (m // tile[0]) * (n // tile[1])
    bits_c = cfg.c.bits if cfg.c else 0
    bits_d = cfg.d.bits
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


def _collective(cfg: KernelConfig, tile: tuple, stages_c: int, stages_d: int, reuse: bool) -> Field:
    em, en = tile
    contiguous = en if cfg.layout_cd is Layout.ROW else em
    c_elem = cfg.c if cfg.c is not None else cfg.d
    bits_c, bits_d = _bits_unpacked(c_elem), _bits_unpacked(cfg.d)
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
    2-byte pipeline of two empty arrays); SM100 ``sm100_epilogue_array_nosmem.hpp`` keeps a fusion
    storage byte and an empty aligned array.
    """
    if cfg.arch.family is Arch.SM100:
        tensors = Struct("epilogue", (Field("thread", 1, 1, Part.FUSION), Field("smem", 1, 16, Part.EPILOGUE_CD)))
        tmaps = Struct("epilogue", (Field("thread", 1, 1, Part.FUSION), Field("smem", 1, 16, Part.TENSORMAPS)))
    else:
        tensors = Struct("epilogue", (Field("empty", 1, 1, Part.EPILOGUE_CD),))
        tmaps = Struct("epilogue", (Field("empty", 1, 1, Part.TENSORMAPS),))
    pipe = Field("epi_load", 2, 1, Part.EPILOGUE_PIPELINE)
    if cfg.arch.family is Arch.SM100:
        shared_size = layout(Struct("SharedStorage", (tensors, tmaps, pipe))).size
    else:
        shared_size = 1  # the adapter's SharedStorage is an empty struct
    t = layout(tensors)
    carve_epi = align_up(t.size, max(128, t.align)) + align_up(pipe.size, 16)
    return EpilogueLayout((0, 0), 0, 0, False, tensors, tmaps, pipe, shared_size, carve_epi)


@functools.lru_cache(maxsize=8192)
def epilogue_layout(cfg: KernelConfig) -> EpilogueLayout:
    """Tile, stages and storage of ``cfg``'s epilogue collective."""
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
        tile = _sm100_tile(cfg, es.info.two_sm)
        warp_groups = 1  # SM100 keeps one D descriptor
    stages_c, stages_d, reuse = _epi_stages(cfg, tile, arch)
    tensors = Struct("epilogue", (_collective(cfg, tile, stages_c, stages_d, reuse), _fusion_storage(cfg)))
    tmaps = Struct("epilogue", (tensormaps("tensormap_C", 1), tensormaps("tensormap_D", warp_groups)), align=128)
    pipe = pipeline("epi_load", stages_c, Part.EPILOGUE_PIPELINE)
    shared = layout(Struct("SharedStorage", (tensors, tmaps, pipe)))
    t = layout(tensors)
    carve_epi = align_up(t.size, max(128, t.align)) + align_up(pipe.size, 16)
    return EpilogueLayout(tile, stages_c, stages_d, reuse, tensors, tmaps, pipe, shared.size, carve_epi)


__all__ = ["EpilogueLayout", "epilogue_layout"]

_ = (ES, FusionOp)
