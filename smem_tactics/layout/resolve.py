"""Resolve ``auto`` schedules to what the kernel really is.

``auto`` means what CUTLASS's builders choose where they support an automatic schedule for
grouped / ptr-array kernels (SM120: ``KernelScheduleAuto`` resolves to the cooperative block-scaled
kernel; ``EpilogueScheduleAuto`` is handled by the SM100/SM120 epilogue builders). On SM90 the builders
have no automatic ptr-array schedule, so ``auto`` follows TensorRT-LLM's MoE launcher: cooperative
(``...FP8FastAccum`` for FP8 inputs) with the matching ``PtrArrayTmaWarpSpecialized*`` epilogue.

The returned pair is what is spelled in C++; :func:`effective_kernel_schedule` additionally says
which kernel CUTLASS instantiates for an ``auto`` that is passed through.
"""

from __future__ import annotations

import functools

from ..config import Arch, EpilogueSchedule, KernelConfig, KernelSchedule, Kind

KS, ES = KernelSchedule, EpilogueSchedule


def resolve_schedules(cfg: KernelConfig) -> tuple:
    """(kernel schedule, epilogue schedule) as written in the C++ composition."""
    return _resolve(cfg.stage_free)


@functools.lru_cache(maxsize=8192)
def _resolve(cfg: KernelConfig) -> tuple:
    arch = cfg.arch.family
    ks, es = cfg.kernel_schedule, cfg.epilogue_schedule
    if arch is Arch.SM90:
        if ks is KS.AUTO:
            if cfg.kind is Kind.BLOCKWISE:
                ks = KS.PTR_ARRAY_COOPERATIVE_FP8_BLOCKWISE
            elif cfg.a.is_fp8 or cfg.b.is_fp8:
                ks = KS.PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM
            else:
                ks = KS.PTR_ARRAY_COOPERATIVE
        if es is ES.AUTO:
            es = ES.PTR_ARRAY_TMA_PINGPONG if ks.is_pingpong else ES.PTR_ARRAY_TMA_COOPERATIVE
    elif arch is Arch.SM120:
        if ks is KS.AUTO and cfg.kind is Kind.BLOCKWISE:
            ks = KS.SM120_BLOCKWISE
        elif ks is KS.AUTO and cfg.kind is Kind.DENSE:
            ks = KS.PTR_ARRAY_COOPERATIVE_SM120  # the dense array builder has no automatic schedule
    elif arch is Arch.SM100:
        # KernelScheduleAuto / EpilogueScheduleAuto build non-array kernels on SM100, so ``auto`` is spelled as
        # the PtrArray schedule CUTLASS's own auto rules would pick: a 2-SM MMA when the cluster M is even and
        # the MMA tile M allows it (dense: M % 128 == 0, ``sm100_make_trivial_tiled_mma``; block-scaled:
        # M == 256, ``blockscaled::is_2sm``), with the matching PtrArray TMA epilogue.
        if ks is KS.AUTO:
            even = cfg.cluster[0] % 2 == 0
            if cfg.kind is Kind.BLOCK_SCALED:
                two_sm = even and cfg.tile[0] == 256
                ks = KS.PTR_ARRAY_2SM_BLOCK_SCALED_SM100 if two_sm else KS.PTR_ARRAY_1SM_BLOCK_SCALED_SM100
            else:
                two_sm = even and cfg.tile[0] % 128 == 0
                ks = KS.PTR_ARRAY_2SM_SM100 if two_sm else KS.PTR_ARRAY_1SM_SM100
        if es is ES.AUTO:
            es = ES.PTR_ARRAY_TMA_2SM if ks.info.two_sm else ES.PTR_ARRAY_TMA_1SM
    return ks, es


def is_pingpong(cfg: KernelConfig) -> bool:
    """Whether the kernel that runs is the pingpong variant (``auto`` resolves to cooperative)."""
    ks, _ = resolve_schedules(cfg)
    return ks.is_pingpong
