"""SM100 (Blackwell B200) grouped / ptr-array GEMM: mainloop storage, builder stage counts, kernel layout.

Headers (under ``cutlass/``), by what they decide:

* kernel ``gemm/kernel/sm100_gemm_array_tma_warpspecialized.hpp``::

    struct SharedStorage {
      struct PipelineStorage : aligned_struct<16> {      // every member alignas(16)
        mainloop (PipelineTmaUmmaAsync<S>);  epi_load (PipelineTransactionAsync<StagesC>);
        load_order (OrderedSequenceBarrier<1,2>);  clc;  accumulator (PipelineUmmaAsync<AccStages>);
        clc_throttle;  tmem_dealloc (ClusterBarrier);
        tensor_map_ready (PipelineAsync<SchedStages>)   // >= 4.3.0, grouped only
      } pipelines;
      alignas(16) CLCResponse clc_response[R][SchedStages];  // R = 2 with async tensormap update, else 1
      uint32_t tmem_base_ptr;
      struct TensorMapStorage : aligned_struct<128> {
        alignas(128) Epilogue::TensorMapStorage epilogue; alignas(128) Mainloop::TensorMapStorage mainloop;
      } tensormaps[T];                                      // T = 5 with async tensormap update, else 1
      struct TensorStorage : aligned_struct<128> { Epilogue::TensorStorage epilogue; Mainloop::TensorStorage mainloop; } tensors;
    };

  The grouped kernel (pointer strides) runs the SM90-style static ``GroupScheduler``: not dynamic-persistent,
  so ``clc`` is ``PipelineAsync<8>``, ``clc_throttle`` is ``PipelineEmpty`` (1 byte) and a response is a
  ``WorkTileInfo`` (16 B; 20 B once it carries the tensormap-update fields). The ptr-array kernel (plain
  strides) runs the CLC ``PersistentTileSchedulerSm100``: ``PipelineCLCFetchAsync<2>``, a ``PipelineAsync<2>``
  throttle and 16-byte responses; it never updates tensormaps asynchronously.

* mainloops ``gemm/collective/sm100_mma_array_warpspecialized.hpp`` (dense) and
  ``sm100_blockscaled_mma_array_warpspecialized.hpp``::

    struct TensorStorage : aligned_struct<128> { ArrayEngine<A> smem_A; ArrayEngine<B> smem_B; [ArrayEngine<SF> smem_SFA, smem_SFB;] };
    struct TensorMapStorage : aligned_struct<128> { TmaDescriptor A, B [, SFA, SFB]; };
    PipelineStorage = PipelineTmaUmmaAsync<Stages>::SharedStorage;

  A holds (MMA M / atom threads) x K per stage and B (MMA N / atom threads) x K: a 2-SM MMA splits both
  across the CTA pair. Operand bytes per element follow ``SmemAllocType``: sub-byte operands take a byte
  each, except 4-bit operands of the MXF4/NVF4 block-scaled instruction, kept packed (``array_subbyte``,
  alignment 1). Scale factors (``cutlass/detail/sm100_blockscaled_layout.hpp``, ``deduce_smem_layoutSF{A,B}``)
  are one byte each, ``floor(MMA_M/128) * 512 * floor(K / (4 * vector))`` per stage for SFA (per-CTA MMA M)
  and the same with ``ceil(N/128)`` for SFB (the full MMA N, padded to 128 columns).

* builders ``gemm/collective/builders/sm100_umma_builder.inl`` (dense: accumulator stages
  ``min(4, 128*512 / (CtaM*CtaN))``, or ``min(4, 1024 / CtaN)`` for a 1-SM MMA with M = 64) and
  ``sm100_blockscaled_umma_builder.inl`` (accumulator stages 1 if MMA N is 256, else 2); both subtract the
  kernel carve-out ``Sm100DenseGemmTmaUmmaCarveout`` (``sm100_pipeline_carveout.inl``) from 232448 and divide
  by the per-stage bytes.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from ..config import KernelConfig, KernelSchedule, Kind, Mode
from ..versions import BLOCKSCALED_STAGE_PIPELINE_128, CUTE_SWIZZLED_SMEM_SLICE, SM100_ASYNC_TENSORMAP
from .cute_slice import kmajor_slice_error
from .mainloop import MainloopShape
from .primitives import (
    BARRIER,
    PIPE_STAGE,
    SM100_CAPACITY,
    TMA_DESCRIPTOR,
    pipeline,
    stage_array,
    stage_pipeline,
    tensormaps,
)
from .resolve import resolve_schedules
from .struct import Field, Part, Struct, align_up, layout

KS = KernelSchedule

#: ``sizeof(PersistentTileSchedulerSm100<...>::CLCResponse)`` (``uint32_t data[4]``), the builders'
#: ``detail::CLCResponseSize``; the grouped scheduler's ``WorkTileInfo`` has the same size.
CLC_RESPONSE_BYTES = 16
#: ``WithTensorMapUpdateInfo<WorkTileInfo>`` adds ``uint16_t batch_changed, TMA_stage`` (>= 4.3.0).
ASYNC_RESPONSE_BYTES = 20
#: Tensormap copies and CLC response sets of a kernel that updates tensormaps asynchronously:
#: ``NumTensorMapUpdaterThreads / 32 + 1`` = 4 updater warps + 1, and 2 response sets.
ASYNC_TENSORMAP_COPIES = 5
ASYNC_RESPONSE_SETS = 2
#: TMEM of one SM: 128 lanes x 512 columns (``TotalTmem`` in ``sm100_umma_builder.inl``).
TMEM_COLUMNS = 512
TMEM_CELLS = 128 * TMEM_COLUMNS

#: Block-scaled schedules that pick the MMA instruction themselves (``select_instr``); the others name it.
_MXF8F6F4_SCHEDULES = (KS.PTR_ARRAY_1SM_MXF8F6F4_SM100, KS.PTR_ARRAY_2SM_MXF8F6F4_SM100)
_MXF4NVF4_SCHEDULES = (KS.PTR_ARRAY_1SM_NVF4_SM100, KS.PTR_ARRAY_2SM_NVF4_SM100,
                       KS.PTR_ARRAY_1SM_MXF4_SM100, KS.PTR_ARRAY_2SM_MXF4_SM100)


@dataclass(frozen=True)
class Sm100Facts:
    """What the SM100 builders derive from a config before any storage is laid out."""

    two_sm: bool
    mxf8f6f4: bool  # block-scaled MMA.MXF8F6F4 (bytes in smem) rather than MXF4/NVF4 (packed fp4)
    cta_m: int  # A rows per CTA (MMA M / atom threads)
    cta_n: int  # B columns per CTA (MMA N / atom threads)
    a_bits: int  # smem bits per element (SmemAllocType)
    b_bits: int
    acc_stages: int  # AccumulatorPipelineStageCount
    sched_stages: int  # SchedulerPipelineStageCount: 8 grouped, 2 ptr-array
    async_tensormaps: bool  # IsTensorMapUpdateAsync (grouped kernels, >= 4.3.0)
    tensormap_count: int  # mainloop descriptors: A, B (+ SFA, SFB)


def _mxf8f6f4(cfg: KernelConfig, ks: KernelSchedule) -> bool:
    """``select_instr`` (``builders/sm1xx_common.inl``): the Mxf8f6f4 schedules force MXF8F6F4, the
    Nvf4/Mxf4 schedules force MXF4/NVF4; the generic block-scaled schedules take MXF4/NVF4 only when both
    operands are 4-bit (A K-major, B K-major, as here)."""
    if ks in _MXF8F6F4_SCHEDULES:
        return True
    if ks in _MXF4NVF4_SCHEDULES:
        return False
    return not (cfg.a.bits == 4 and cfg.b.bits == 4)


def _smem_bits(bits: int, packed_fp4: bool) -> int:
    """``SmemAllocType``: sub-byte elements take a byte, unless packed for the MXF4/NVF4 instruction."""
    if bits < 8 and not packed_fp4:
        return 8
    return bits


def sm100_facts(cfg: KernelConfig) -> Sm100Facts:
    """Builder facts of ``cfg`` (independent of the stage count)."""
    return _facts(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _facts(cfg: KernelConfig) -> Sm100Facts:
    ks, _ = resolve_schedules(cfg)
    two_sm = ks.info.two_sm
    m, n, _k = cfg.tile
    atom = 2 if two_sm else 1
    cta_m, cta_n = m // atom, n // atom
    grouped = cfg.mode is Mode.GROUPED
    if cfg.kind is Kind.BLOCK_SCALED:
        mxf8f6f4 = _mxf8f6f4(cfg, ks)
        a_bits = _smem_bits(cfg.a.bits, not mxf8f6f4)
        b_bits = _smem_bits(cfg.b.bits, not mxf8f6f4)
        acc = 1 if n == 256 else 2  # sm100_blockscaled_umma_builder.inl: (MMA_N == 256) ? 1 : 2
        tmaps = 4
    else:
        mxf8f6f4 = False
        a_bits = _smem_bits(cfg.a.bits, False)  # f32 runs as tf32: still 4 bytes
        b_bits = _smem_bits(cfg.b.bits, False)
        # sm100_umma_builder.inl: TotalTmem / (CtaM * CtaN), or (512 / CtaN) * 2 for a 1-SM MMA with M = 64;
        # at most 4.
        if two_sm or m > 64:
            acc = TMEM_CELLS // (cta_m * n)
        else:
            acc = (TMEM_COLUMNS // n) * 2
        acc = min(4, acc)
        tmaps = 2
    return Sm100Facts(
        two_sm=two_sm, mxf8f6f4=mxf8f6f4, cta_m=cta_m, cta_n=cta_n, a_bits=a_bits, b_bits=b_bits,
        acc_stages=acc, sched_stages=8 if grouped else 2,
        async_tensormaps=grouped and cfg.cutlass.has(SM100_ASYNC_TENSORMAP), tensormap_count=tmaps,
    )


def _sf_stage_bytes(mn: int, k: int, vector: int) -> int:
    """``size(filter_zeros(SmemLayoutAtomSF))``: ``MN/128`` blocks of 128 rows x 4 SF columns, K/(4 x vector)
    times (integer divisions, as in the static shapes of ``deduce_smem_layoutSF*``)."""
    return (mn // 128) * 128 * 4 * (k // vector // 4)


def sm100_mainloop_shape(cfg: KernelConfig) -> MainloopShape:
    """Per-stage bytes (cached by ``mainloop.mainloop_shape``, the dispatcher)."""
    f = sm100_facts(cfg)
    _, n, k = cfg.tile
    a_stage = f.cta_m * k * f.a_bits // 8
    b_stage = f.cta_n * k * f.b_bits // 8
    if cfg.kind is Kind.BLOCK_SCALED:
        vs = cfg.a.sf_vector
        sfa = _sf_stage_bytes(f.cta_m, k, vs)  # MMA_M = tile M / size<0>(ThrLayoutVMNK)
        sfb = _sf_stage_bytes(align_up(n, 128), k, vs)  # MMA_N_SFB = ceil(N / 128) * 128, full MMA N
        return MainloopShape(a_stage, b_stage, sfa, sfb, 8, 1, f.tensormap_count)
    return MainloopShape(a_stage, b_stage, 0, 0, 0, 1, f.tensormap_count)


def _operand_array(name: str, bytes_per_stage: int, bits: int, part: Part) -> Field:
    """``ArrayEngine<T, stages x per-stage elements>``: ``array_aligned`` (align 16, whole 16-byte multiples) for
    byte-sized T, packed ``array_subbyte`` (align 1) for the 4-bit operands of MXF4/NVF4."""
    if bits % 8:
        return Field(name, 0, 1, part, per_stage=bytes_per_stage, granule=1)
    return stage_array(name, bytes_per_stage, part)


def sm100_mainloop_storage(cfg: KernelConfig, shape: MainloopShape, stages: int = 0) -> tuple:
    """(TensorStorage, TensorMapStorage, PipelineStorage) of the SM100 mainloop, stage-parametric like the
    SM90/SM120 ones (``stages`` is ignored: lay them out with ``layout(struct, S)`` / ``evaluate``)."""
    return _stage_parametric_storage(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _stage_parametric_storage(cfg: KernelConfig) -> tuple:
    from .mainloop import mainloop_shape

    f = sm100_facts(cfg)
    shape = mainloop_shape(cfg)
    members = [
        _operand_array("smem_A", shape.a_stage, f.a_bits, Part.A),
        _operand_array("smem_B", shape.b_stage, f.b_bits, Part.B),
    ]
    if cfg.kind is Kind.BLOCK_SCALED:
        members.append(stage_array("smem_SFA", shape.sfa_stage, Part.SFA))
        members.append(stage_array("smem_SFB", shape.sfb_stage, Part.SFB))
    tensors = Struct("mainloop", tuple(members), align=128)  # aligned_struct<128>
    tmaps = Struct("mainloop", (tensormaps("tensormap", shape.tensormap_count),), align=128)
    return tensors, tmaps, stage_pipeline("mainloop", Part.MAINLOOP_PIPELINE)  # PipelineTmaUmmaAsync<Stages>


# --------------------------------------------------------------------------------------------------
# Builder stage count


def kernel_carveout(cfg: KernelConfig) -> int:
    return _kernel_carveout(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _kernel_carveout(cfg: KernelConfig) -> int:
    """``Sm100DenseGemmTmaUmmaCarveout<...>::KernelSmemCarveout`` (``builders/sm100_pipeline_carveout.inl``) for
    an array kernel (``IsArrayOfPointersGemm``): accumulator, CLC and throttle pipelines, load order, TMEM
    dealloc barrier, CLC responses, TMEM pointers and tensormaps. From 4.3.0 it counts two CLC pipelines and
    response sets, five tensormap copies and the TensorMapReady pipeline -- for ptr-array kernels too, which
    have none of them."""
    f = sm100_facts(cfg)
    s = f.sched_stages
    copies = ASYNC_RESPONSE_SETS if cfg.cutlass.has(SM100_ASYNC_TENSORMAP) else 1
    tmap_copies = ASYNC_TENSORMAP_COPIES if cfg.cutlass.has(SM100_ASYNC_TENSORMAP) else 1
    carve = (
        PIPE_STAGE * f.acc_stages  # AccumulatorPipeline
        + PIPE_STAGE * s * copies  # CLCPipeline (PipelineCLCFetchAsync<S>)
        + 2 * BARRIER  # LoadOrderBarrier
        + BARRIER  # tmem dealloc
        + PIPE_STAGE * s  # CLC throttle (PipelineAsync<S>)
        + CLC_RESPONSE_BYTES * s * copies  # CLC responses
        + 4 * s  # TMEM base pointers
        + TMA_DESCRIPTOR * f.tensormap_count * tmap_copies
    )
    if cfg.cutlass.has(SM100_ASYNC_TENSORMAP):
        carve += PIPE_STAGE * s  # TensorMapReady pipeline
    return carve


def sm100_auto_stages(cfg: KernelConfig, carveout: int) -> int:
    """``sm100_compute_stage_count_or_override(_blockscaled)``: ``(232448 - KernelSmemCarveout - carveout) /
    stage_bytes``, a stage being A + B + one mainloop pipeline stage (+ SFA + SFB). The block-scaled builder
    rounds the pipeline term up to 128 from 4.4.0; the dense one keeps 16."""
    shape = sm100_mainloop_shape(cfg)
    stage = shape.a_stage + shape.b_stage
    if cfg.kind is Kind.BLOCK_SCALED:
        pipe = 128 if cfg.cutlass.has(BLOCKSCALED_STAGE_PIPELINE_128) else PIPE_STAGE
        stage += pipe + shape.sfa_stage + shape.sfb_stage
    else:
        stage += PIPE_STAGE
    return (SM100_CAPACITY - kernel_carveout(cfg) - carveout) // stage


def min_stages(cfg: KernelConfig) -> int:
    """The dense mainloop static_asserts ``Stages >= 2``; the block-scaled one accepts a single stage."""
    return 1 if cfg.kind is Kind.BLOCK_SCALED else 2


# --------------------------------------------------------------------------------------------------
# A and B smem layouts that CuTe cannot slice: see cute_slice.py (shared with SM90).


def mma_k(cfg: KernelConfig) -> int:
    """K (elements) of one SM100 UMMA instruction: 32 bytes of a dense operand (16 bf16/f16, 8 tf32, 32 FP8);
    32 for MMA.MXF8F6F4 and 64 for MXF4/NVF4."""
    if cfg.kind is Kind.BLOCK_SCALED:
        return 32 if sm100_facts(cfg).mxf8f6f4 else 64
    return 256 // sm100_facts(cfg).a_bits


def tma_slice_error(cfg: KernelConfig, stages: int):
    """CuTe's static_assert message if the A or B smem layout of ``cfg`` at ``stages`` cannot be sliced, else None."""
    if cfg.cutlass.has(CUTE_SWIZZLED_SMEM_SLICE):
        return None
    return _tma_slice_error(cfg.stage_free, stages)


@functools.lru_cache(maxsize=16384)
def _tma_slice_error(cfg: KernelConfig, stages: int):
    f = sm100_facts(cfg)
    k = cfg.tile[2]
    ki = mma_k(cfg)
    return (kmajor_slice_error(f.cta_m, k, f.a_bits, ki, stages)
            or kmajor_slice_error(f.cta_n, k, f.b_bits, ki, stages))


# --------------------------------------------------------------------------------------------------
# Kernel SharedStorage


def _with_alignas(node, alignment: int):
    """The same member declared with ``alignas(alignment)``."""
    if isinstance(node, Field):
        return dataclasses.replace(node, align=max(node.align, alignment))
    return Struct(node.name, node.members, node.align, max(node.member_align, alignment))


def sm100_array_kernel(cfg: KernelConfig, stages: int = 0, epi=None) -> Struct:
    """The SM100 array kernel's ``SharedStorage``, stage-parametric: one declaration per stage-free config,
    laid out at any stage count with ``layout(struct, S)`` / ``evaluate`` (``stages`` and ``epi`` are ignored)."""
    return _kernel_template(cfg.stage_free)


@functools.lru_cache(maxsize=16384)
def _kernel_template(cfg: KernelConfig) -> Struct:
    from .epilogue import epilogue_layout  # epilogue imports the resolver; keep module imports acyclic

    f = sm100_facts(cfg)
    epi = epilogue_layout(cfg)
    ml_tensors, ml_tmaps, ml_pipe = _stage_parametric_storage(cfg)
    s = f.sched_stages
    grouped = cfg.mode is Mode.GROUPED
    pipes = [
        ml_pipe,
        epi.pipeline,
        Field("load_order", 2 * BARRIER, BARRIER, Part.ORDER_BARRIERS),
        pipeline("clc", s, Part.SCHEDULER),  # grouped: PipelineAsync<8>; ptr-array: PipelineCLCFetchAsync<2>
        pipeline("accumulator", f.acc_stages, Part.ACCUMULATOR_PIPELINE),
        # grouped: PipelineEmpty (an empty struct); ptr-array: PipelineAsync<2>
        Field("clc_throttle", 1, 1, Part.SCHEDULER) if grouped else pipeline("clc_throttle", s, Part.SCHEDULER),
        Field("tmem_dealloc", BARRIER, BARRIER, Part.TMEM),
    ]
    if f.async_tensormaps:
        pipes.append(pipeline("tensor_map_ready", s, Part.SCHEDULER))
    sets = ASYNC_RESPONSE_SETS if f.async_tensormaps else 1
    response = ASYNC_RESPONSE_BYTES if f.async_tensormaps else CLC_RESPONSE_BYTES
    one = layout(Struct("tensormaps", (_with_alignas(epi.tensormaps, 128), _with_alignas(ml_tmaps, 128)), align=128))
    copies = ASYNC_TENSORMAP_COPIES if f.async_tensormaps else 1
    return Struct("SharedStorage", (
        Struct("pipelines", tuple(_with_alignas(p, 16) for p in pipes), align=16),
        Field("clc_response", response * sets * s, 16, Part.SCHEDULER),  # alignas(16) CLCResponse[R][S]
        Field("tmem_base_ptr", 4, 4, Part.TMEM),
        Field("tensormaps", one.size * copies, one.align, Part.TENSORMAPS),  # TensorMapStorage[T]
        Struct("tensors", (epi.tensors, ml_tensors), align=128),
    ))


__all__ = [
    "Sm100Facts", "sm100_facts", "sm100_mainloop_shape", "sm100_mainloop_storage", "sm100_auto_stages",
    "sm100_array_kernel", "kernel_carveout", "min_stages", "mma_k", "tma_slice_error",
]
