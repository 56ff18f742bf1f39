"""Mainloop collectives: per-stage bytes, ``TensorStorage`` / ``TensorMapStorage`` / pipeline, and the
builders' automatic stage-count formulas.

Families (headers under ``cutlass/gemm/collective/``):

* SM90 ``sm90_mma_array_tma_gmma_ss_warpspecialized(_fp8).hpp``: ``array_aligned`` A, B.
* SM90 ``..._fp8_blockwise_scaling.hpp``: plus float SFA/SFB per stage.
* SM120 ``sm120_blockscaled_mma_array_tma.hpp``: ``alignas(1024)`` A, B (packed FP4 for the MXF4/NVF4
  instruction, one byte per element for MXF8F6F4), byte scale factors, 4 tensormaps.
* SM120 ``sm120_mma_array_tma_blockwise_scaling.hpp``: ``alignas(1024)`` A, B, float scales.
* SM100 ``sm100_mma_array_warpspecialized.hpp`` / ``sm100_blockscaled_mma_array_warpspecialized.hpp``.

Stage counts (``builders/``): ``sm90_gmma_builder.inl`` (``compute_stage_count_or_override`` and the
blockwise variant), ``sm100_blockscaled_umma_builder.inl`` (``sm100_compute_stage_count_or_override_blockscaled``,
also used by SM120 block-scaled), ``sm120_blockwise_mma_builder.inl``, ``sm100_umma_builder.inl``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..config import Arch, DType, KernelConfig, Kind, Mode
from ..versions import BLOCKSCALED_STAGE_PIPELINE_128, SM120_REDUCED_CAPACITY, SM120_SFB_PADDED
from .primitives import (
    GROUPED_SCHEDULER_STAGES,
    PIPE_STAGE,
    SM100_CAPACITY,
    SM120_CAPACITY,
    SM90_CAPACITY,
    TMA_DESCRIPTOR,
    stage_array,
    stage_pipeline,
    tensormaps,
)
from .struct import Field, Part, Struct, align_up


def uses_mxf8f6f4(cfg: KernelConfig) -> bool:
    """SM1xx block-scaled instruction choice (``sm1xx_common.inl::select_instr``): the MXF8F6F4 MMA
    (one byte per element in smem, FP4 included) unless both operands are 4-bit."""
    return not (cfg.a.bits == 4 and cfg.b.bits == 4)


def smem_bits(cfg: KernelConfig, t: DType) -> int:
    """Bits per element of an operand in shared memory."""
    if cfg.arch.family is Arch.SM90:
        return 32 if t is DType.F32 else t.bits  # f32 runs as tf32, still 4 bytes
    if cfg.kind is Kind.BLOCK_SCALED:
        return 8 if uses_mxf8f6f4(cfg) else 4
    return 8 if t.bits < 8 else t.bits


def sf_bytes_per_stage(mn: int, k: int, sf_vector: int) -> int:
    """Bytes of one stage of a block-scaled operand's scale factors: the builders' SF smem atom holds
    ``floor(MN/128)`` blocks of 128 rows x 4 SF columns, ``floor(K / (4 * vector))`` times
    (``size(filter_zeros(SmemLayoutAtomSF))``); 0 when MN < 128 or K < 4 x vector size."""
    return (mn // 128) * 128 * 4 * (k // (4 * sf_vector))


def sm100_sf_bytes_per_stage(mn: int, k: int, sf_vector: int, mma_mn: int) -> int:
    """SM100 SF smem atoms are sized by the MMA tile rounded up to the SF atom of 128 rows."""
    return align_up(mma_mn, 128) * (k // sf_vector)


@dataclass(frozen=True)
class MainloopShape:
    """Per-stage operand bytes and the fixed pieces of the mainloop storage for one config."""

    a_stage: int  # bytes of A per stage
    b_stage: int
    sfa_stage: int  # SF (or blockwise scale) bytes per stage
    sfb_stage: int
    sf_bits: int  # element bits of the scale arrays (8 for block-scaled SFs, 32 for blockwise)
    ab_align: int  # alignas on smem_A/smem_B (1024 on SM120, 16 otherwise)
    tensormap_count: int
    sfb_extra_elements: int = 0  # elements SFB's smem layout spans beyond stages x sfb_stage (see below)


def mainloop_shape(cfg: KernelConfig) -> MainloopShape:
    """Per-stage bytes of ``cfg``'s mainloop (independent of the stage count)."""
    return _mainloop_shape(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _mainloop_shape(cfg: KernelConfig) -> MainloopShape:
    m, n, k = cfg.tile
    arch = cfg.arch.family
    a_bits, b_bits = smem_bits(cfg, cfg.a), smem_bits(cfg, cfg.b)
    a_stage = m * k * a_bits // 8
    if arch is Arch.SM100:
        from .sm100 import sm100_mainloop_shape

        return sm100_mainloop_shape(cfg)
    b_stage = n * k * b_bits // 8
    if cfg.kind is Kind.BLOCK_SCALED:
        vs = cfg.a.sf_vector
        sfa = sf_bytes_per_stage(m, k, vs)
        n_sf = max(n, 128) if cfg.cutlass.has(SM120_SFB_PADDED) else n
        sfb = sf_bytes_per_stage(n_sf, k, vs)
        # From 4.5 an N < 128 tile views the 128-column SFB atom through logical_divide(SFB, N); when N does
        # not divide 128 (N = 96) the divided layout's cosize reaches one element past the padded atoms,
        # which array_aligned rounds up to 16 more bytes (measured: +16 B at 2 and 3 stages, K 128 and 256).
        extra = 1 if cfg.cutlass.has(SM120_SFB_PADDED) and n < 128 and 128 % n else 0
        return MainloopShape(a_stage, b_stage, sfa, sfb, 8, 1024, 4, extra)
    if cfg.kind is Kind.BLOCKWISE:
        gm, gn, gk = cfg.scale_granularity
        if arch is Arch.SM120:
            return MainloopShape(a_stage, b_stage, 4 * (m // gm), 4 * (n // gn), 32, 1024, 2)
        k_blocks = -(-k // gk)
        return MainloopShape(a_stage, b_stage, 4 * -(-m // gm) * k_blocks, 4 * -(-n // gn) * k_blocks, 32, 16, 2)
    return MainloopShape(a_stage, b_stage, 0, 0, 0, 1024 if arch is Arch.SM120 else 16, 2)


def mainloop_storage(cfg: KernelConfig, stages: int = 0) -> tuple:
    """(TensorStorage, TensorMapStorage, PipelineStorage) of the mainloop collective.

    Stage-parametric declarations (``stages`` is ignored: lay them out with ``layout(struct, S)`` /
    ``evaluate``); SM100's come from :mod:`.sm100`.
    """
    shape = mainloop_shape(cfg)
    if cfg.arch.family is Arch.SM100:
        from .sm100 import sm100_mainloop_storage

        return sm100_mainloop_storage(cfg, shape, stages)
    return _stage_parametric_storage(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _stage_parametric_storage(cfg: KernelConfig) -> tuple:
    shape = mainloop_shape(cfg)
    # A/B: byte arrays (array_aligned) or packed FP4 (array_subbyte) -- whole 16-byte multiples for every legal
    # tile -- placed at alignas(1024) on SM120.
    members = [
        stage_array("smem_A", shape.a_stage, Part.A, shape.ab_align),
        stage_array("smem_B", shape.b_stage, Part.B, shape.ab_align),
    ]
    if cfg.kind is not Kind.DENSE:
        members.append(stage_array("smem_SFA", shape.sfa_stage, Part.SFA))
        members.append(stage_array("smem_SFB", shape.sfb_stage, Part.SFB, extra_bytes=shape.sfb_extra_elements))
    tensors = Struct("mainloop", tuple(members), align=128)
    tmaps = Struct("mainloop", (tensormaps("tensormap_AB", shape.tensormap_count),), align=128)
    return tensors, tmaps, stage_pipeline("mainloop", Part.MAINLOOP_PIPELINE)


# --------------------------------------------------------------------------------------------------
# Automatic stage counts: each builder's inequality, solved for the largest S.


def _sm90_auto_stages(cfg: KernelConfig, carveout: int) -> int:
    """``compute_stage_count_or_override`` (and ``..._with_blockwise_scale``) in ``sm90_gmma_builder.inl``:
    capacity reduced by the ptr-array tensormaps (2 x 128) and, for grouped (pointer) strides, the
    scheduler pipeline (``PipelineAsync<8>``); every term rounded to 128."""
    shape = mainloop_shape(cfg)
    capacity = SM90_CAPACITY - 2 * TMA_DESCRIPTOR
    if cfg.mode is Mode.GROUPED:
        capacity -= PIPE_STAGE * GROUPED_SCHEDULER_STAGES
    stage_raw = shape.a_stage + shape.b_stage
    if cfg.kind is Kind.BLOCKWISE:
        gm, gn, _ = cfg.scale_granularity
        stage_raw += 4 * (cfg.tile[0] // gm) + 4 * (cfg.tile[1] // gn)
    stage = align_up(stage_raw, 128) + PIPE_STAGE
    return (capacity // 128 * 128 - align_up(carveout, 128)) // stage


def sm120_blockscaled_capacity(cfg: KernelConfig) -> int:
    """Capacity the SM120 block-scaled builder divides among stages. Before CUTLASS 4.4.2 it is the
    whole 101376 B; from 4.4.2 the grouped kernel's scheduler pipeline (``PipelineAsync<8>``), two
    tensormaps and the tensormap-ready pipeline (``PipelineAsync<3>``) come off first; a non-grouped
    (ptr-array) kernel instead loses its CLC fetch pipeline and responses."""
    if not cfg.cutlass.has(SM120_REDUCED_CAPACITY):
        return SM120_CAPACITY
    if cfg.mode is Mode.GROUPED:
        return SM120_CAPACITY - PIPE_STAGE * GROUPED_SCHEDULER_STAGES - 2 * TMA_DESCRIPTOR - PIPE_STAGE * 3
    return SM120_CAPACITY - PIPE_STAGE * 3 - 3 * 16


def blockscaled_stage_pipeline_bytes(cfg: KernelConfig) -> int:
    """The per-stage pipeline term of ``sm100_compute_stage_count_or_override_blockscaled``: 16 B,
    rounded up to 128 from CUTLASS 4.4.0."""
    return 128 if cfg.cutlass.has(BLOCKSCALED_STAGE_PIPELINE_128) else PIPE_STAGE


def _sm120_auto_stages(cfg: KernelConfig, carveout: int) -> int:
    shape = mainloop_shape(cfg)
    if cfg.kind is not Kind.BLOCK_SCALED:
        # sm120_blockwise_mma_builder.inl, and (>= 4.6) sm120_array_mma_builder.inl via
        # sm100_compute_stage_count_or_override: the whole 101376 B, a 16-byte pipeline term, no rounding
        stage = shape.a_stage + shape.b_stage + shape.sfa_stage + shape.sfb_stage + PIPE_STAGE
        return (SM120_CAPACITY - carveout) // stage
    stage = shape.a_stage + shape.b_stage + blockscaled_stage_pipeline_bytes(cfg) + shape.sfa_stage + shape.sfb_stage
    return (sm120_blockscaled_capacity(cfg) - carveout) // stage


def auto_stages(cfg: KernelConfig, carveout: int) -> int:
    """The stage count the builder picks for ``StageCountAutoCarveout<carveout>``."""
    arch = cfg.arch.family
    if arch is Arch.SM90:
        return _sm90_auto_stages(cfg, carveout)
    if arch is Arch.SM120:
        return _sm120_auto_stages(cfg, carveout)
    from .sm100 import sm100_auto_stages

    return sm100_auto_stages(cfg, carveout)


__all__ = [
    "MainloopShape", "mainloop_shape", "mainloop_storage", "auto_stages", "uses_mxf8f6f4", "sf_bytes_per_stage",
    "sm120_blockscaled_capacity", "blockscaled_stage_pipeline_bytes", "smem_bits",
]

_ = (SM100_CAPACITY, Field)
