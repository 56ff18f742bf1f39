"""Tactic -> the kernel the framework compiles for it, as a footprint-model config.

Read from TensorRT-LLM's MoE launchers (FlashInfer vendors them under ``data/csrc/nv_internal``):

* ``moe_gemm_tma_ws_launcher.inl`` (``INSTANTIATE_TMA_WARP_SPECIALIZED_MOE_GEMM``):

  * SM120/SM121: ``EpilogueSchedule = TmaWarpSpecialized``; C is allocated as the output type
    (``EpilogueElementC = IsSM120 ? ElementCSafe : void``, a workaround kept in both frameworks);
    ``KernelScheduleAuto`` (resolves to the cooperative block-scaled kernel); NVFP4 operands are
    ``nv_float4_t``, MXFP8 x MXFP4 ``mx_float8_t`` x ``mx_float4_t``;
  * SM90: ``PtrArrayTmaWarpSpecializedCooperative`` epilogue, C void, cooperative kernel (``...FP8FastAccum`` for
    FP8);
  * SM100: C void, ``PtrArrayTmaWarpSpecialized{1,2}Sm`` or ``PtrArrayNoSmemWarpSpecialized{1,2}Sm``, 2-SM when
    the cluster's M is 2 (MMA tile M doubled), ``...Nvf4Sm100`` / ``...Mxf8f6f4Sm100`` / plain kernel schedules,
    epilogue tile 128x64 for FP4 with N = 256;
  * swap-AB: weights become A and activations B; C and D are column-major;
  * FINALIZE: D is void and the fusion is ``ScaledAccPerColBiasPerRowScaleScatter`` (or, swapped,
    ``ScaledAccPerRowBiasPerColScaleScatter``) from ``cutlass_extensions``;
  * stages: ``StageCountAutoCarveout<sizeof(CollectiveEpilogue::SharedStorage)>``.

* ``moe_gemm_template_dispatch.h`` (``genericMoeGemmKernelLauncher``): the CUTLASS 2.x kernels with explicit
  stages, Sm89 for FP8 and Sm80 for 16-bit operands, and the fused gate kernel for 16-bit GEMM1 with a gated
  activation (:mod:`smem_tactics.layout.sm80_grouped`).

Not modelled (said so in every verdict): SM103 kernels (the model has no SM103 arch), SM90 W4A8 / W4A16 (the
mixed-input launcher), and whatever the SM100 footprint model does not cover yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from ..config import DType, KernelConfig
from ..errors import SmemTacticsError
from ..contract import bad, require_cutlass, require_instance
from ..layout.sm80_grouped import GroupedSm80Config
from .tactics import Tactic

#: GEMM output types the CUTLASS MoE runners build (FP8/FP4 outputs are rejected by the runners).
OUTPUTS = ("bf16", "f16")
#: Activations; the gated ones make 16-bit GEMM1 use the fused gate kernel on the CUTLASS 2.x path.
ACTIVATIONS = ("swiglu", "geglu", "gelu", "relu", "silu", "identity", "relu2")
GATED = ("swiglu", "geglu")


@dataclass(frozen=True)
class TacticKernel:
    """The kernel behind a tactic, or why it is not modelled."""

    tactic: Tactic
    config: Union[KernelConfig, GroupedSm80Config, None]
    not_modelled: Optional[str] = None
    note: str = ""  # how far the composition is verified, when not fully

    @property
    def modelled(self) -> bool:
        return self.config is not None


def _tma_operands(t: Tactic) -> tuple:
    if t.dtype == "nvfp4":
        return DType.NVFP4, DType.NVFP4
    if t.dtype == "mxfp8_mxfp4":
        act, weight = DType.MXFP8_E4M3, DType.MXFP4
        return (weight, act) if t.swap_ab else (act, weight)
    if t.dtype == "fp8":
        return DType.E4M3, DType.E4M3
    return (DType.parse(t.dtype, "dtype"),) * 2


def _scatter(t: Tactic) -> str:
    return "ScaledAccPerRowBiasPerColScaleScatter" if t.swap_ab else "ScaledAccPerColBiasPerRowScaleScatter"


def _sm120(t: Tactic, out: str, cutlass: str) -> KernelConfig:
    a, b = _tma_operands(t)
    return KernelConfig.create(
        t.arch, a, b, c=out, d=out, tile=t.tile, layout_cd="col" if t.swap_ab else "row",
        epilogue_schedule="TmaWarpSpecialized", kernel_schedule="auto",
        fusion=_scatter(t) if t.finalize else None, stages="auto", cutlass=cutlass)


def _sm90(t: Tactic, out: str, cutlass: str) -> KernelConfig:
    a, b = _tma_operands(t)
    kernel = ("KernelPtrArrayTmaWarpSpecializedCooperativeFP8FastAccum" if t.dtype == "fp8"
              else "KernelPtrArrayTmaWarpSpecializedCooperative")
    return KernelConfig.create(
        "sm90", a, b, c=None, d=out, tile=t.tile, cluster=t.cluster, layout_cd="col" if t.swap_ab else "row",
        kernel_schedule=kernel, epilogue_schedule="PtrArrayTmaWarpSpecializedCooperative",
        fusion=_scatter(t) if t.finalize else None, stages="auto", cutlass=cutlass)


def _sm100(t: Tactic, out: str, cutlass: str) -> KernelConfig:
    a, b = _tma_operands(t)
    two = "2Sm" if t.mma_tile[0] != t.tile[0] else "1Sm"
    if t.dtype == "nvfp4":
        kernel = f"KernelPtrArrayTmaWarpSpecialized{two}Nvf4Sm100"
    elif t.dtype == "mxfp8_mxfp4":
        kernel = f"KernelPtrArrayTmaWarpSpecialized{two}Mxf8f6f4Sm100"
    else:
        kernel = f"KernelPtrArrayTmaWarpSpecialized{two}Sm100"
    epilogue = f"PtrArrayNoSmemWarpSpecialized{two}" if t.epilogue == "NO_SMEM" else f"PtrArrayTmaWarpSpecialized{two}"
    epi_tile = (128, 64) if (t.dtype == "nvfp4" and t.tile[1] == 256) else "auto"
    return KernelConfig.create(
        "sm100", a, b, c=None, d=out, tile=t.mma_tile, cluster=t.cluster, layout_cd="col" if t.swap_ab else "row",
        kernel_schedule=kernel, epilogue_schedule=epilogue, epilogue_tile=epi_tile,
        fusion=_scatter(t) if t.finalize else None, stages="auto", cutlass=cutlass)


def _sm80(t: Tactic, out: str, cutlass: str, activation: str) -> GroupedSm80Config:
    a = "e4m3" if t.dtype == "fp8" else t.dtype
    fused = t.gemm == 1 and t.dtype in ("bf16", "f16") and activation in GATED
    return GroupedSm80Config.create(t.sm80_arch, a, out, t.tile, t.warp, t.stages,
                                    kernel="fused_gated" if fused else "moe_fc_gemm", cutlass=cutlass)


def kernel_arguments(cutlass: Any, output: Any, activation: Any) -> tuple:
    """(cutlass, output, activation) of :func:`kernel_for` and the verdicts, checked: a modelled CUTLASS release
    (as its string), a 16-bit output type, a known activation."""
    version = str(require_cutlass("cutlass", cutlass))
    if not isinstance(output, str) or output not in OUTPUTS:
        raise bad("output", output if isinstance(output, str) else f"<{type(output).__name__}>", OUTPUTS,
                  "the CUTLASS MoE runners write 16-bit GEMM outputs")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise bad("activation", activation if isinstance(activation, str) else f"<{type(activation).__name__}>",
                  ACTIVATIONS)
    return version, output, activation


def kernel_for(t: Tactic, output: str = "bf16", cutlass: str = "4.4.1", activation: str = "swiglu") -> TacticKernel:
    """The model config of the kernel ``t`` runs, for GEMM output type ``output`` (bf16 / f16) compiled against
    CUTLASS ``cutlass``; ``activation`` decides the 16-bit GEMM1 kernel on the CUTLASS 2.x path."""
    require_instance("tactic", t, Tactic, "a catalog Tactic (from tactics())")
    cutlass, output, activation = kernel_arguments(cutlass, output, activation)
    if t.family == "sm80":
        return TacticKernel(t, _sm80(t, output, cutlass, activation))
    if t.dtype in ("w4a8", "w4a16"):
        return TacticKernel(t, None, "the SM90 W4 group-wise kernels come from the mixed-input launcher "
                                     "(moe_gemm_tma_ws_mixed_input_launcher.inl), which is not modelled")
    if t.arch == "sm103" or t.sm_version == 103:
        return TacticKernel(t, None, "SM103 kernels (and SM100 kernels run on SM103) are not in the footprint model")
    builders = {"sm120": _sm120, "sm121": _sm120, "sm90": _sm90, "sm100": _sm100}
    note = ("SM100 composition read from the launcher but not compiled by the catalog oracle (dynamic clusters "
            "composed as static)" if t.arch == "sm100" else "")
    try:
        return TacticKernel(t, builders[t.arch](t, output, cutlass), note=note)
    except SmemTacticsError as e:
        return TacticKernel(t, None, f"the model cannot express this kernel: {e}")


__all__ = ["TacticKernel", "kernel_for", "OUTPUTS", "ACTIVATIONS", "GATED"]
