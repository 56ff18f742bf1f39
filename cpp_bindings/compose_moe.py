"""C++ compositions of the kernels TensorRT-LLM's fused-MoE runner builds (FlashInfer vendors the same code),
written from the launchers' source so the oracle measures what the framework compiles.

* :class:`MoeLauncherKernel` / :func:`compose_moe_tma_ws`: ``INSTANTIATE_TMA_WARP_SPECIALIZED_MOE_GEMM`` in
  ``moe_gemm/launchers/moe_gemm_tma_ws_launcher.inl`` for SM90 and SM120/SM121 -- element and alignment
  choices (``AlignmentC`` from the *activation* type, C = D type on SM120, ``TmaWarpSpecialized`` epilogue on
  SM120, ``PtrArrayTmaWarpSpecializedCooperative`` on SM90), swap-AB (weights become A, C/D transposed), the
  FINALIZE epilogue (D = void, ``ScaledAcc...Scatter`` fusion from ``cutlass_extensions``) and
  ``StageCountAutoCarveout<sizeof(CollectiveEpilogue::SharedStorage)>``.
* :func:`compose_sm80_grouped`: ``genericMoeGemmKernelLauncher`` in ``moe_gemm/moe_gemm_template_dispatch.h``
  (``DefaultGemmGrouped`` + ``MoeFCGemm``) and, for 16-bit GEMM1 with a gated activation,
  ``sm80_generic_fused_moe_gemm_kernelLauncher`` (``Fused_Moe_Kernel_sm80::kSmemSize``).

This text is independent of :mod:`smem_tactics.catalogs.kernels` (which maps the same tactics onto the
footprint model's configs): the catalog oracle compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from smem_tactics.config import DType
from smem_tactics.layout.sm80_grouped import GroupedSm80Config

from .probe import ProbeRecipe

_CPP = {
    "nvfp4": "cutlass::float_e2m1_t", "e4m3": "cutlass::float_e4m3_t", "bf16": "cutlass::bfloat16_t",
    "f16": "cutlass::half_t",
}
_BITS = {"nvfp4": 4, "e4m3": 8, "bf16": 16, "f16": 16}

SCATTER_INCLUDE = "cutlass_extensions/epilogue/fusion/sm90_visitor_scatter.hpp"
SM80_INCLUDES = (
    "probe_prelude_sm80.hpp",
    "cutlass/gemm/kernel/default_gemm_grouped.h",
    "cutlass_extensions/epilogue_helpers.h",
    "cutlass_extensions/gemm/kernel/default_fpA_intB_traits.h",
    "cutlass_extensions/gemm/kernel/moe_cutlass_kernel.h",
    "cutlass_extensions/gemm/threadblock/default_mma.h",
    "cutlass_extensions/gemm/kernel/fused_moe_kernel.cuh",
)


@dataclass(frozen=True)
class MoeLauncherKernel:
    """The template arguments of one TMA warp-specialized MoE launcher instantiation.

    ``arch`` is sm90 or sm120 (SM121 runs the Sm120 kernels); ``act`` / ``weight`` are the runner's T and
    WeightType (nvfp4, e4m3, bf16, f16); ``out`` the GEMM output type; ``tile`` the dispatched CTA tile in
    elements (K already converted from the tile enum's bytes); ``mxfpx`` the MXFP8 x MXFP4 scaling mode."""

    arch: str
    act: str
    weight: str
    out: str
    tile: tuple
    cluster: tuple = (1, 1, 1)
    finalize: bool = False
    swap_ab: bool = False
    mxfpx: bool = False

    def name(self) -> str:
        return (f"{self.arch}_{self.act}x{self.weight}_{'x'.join(map(str, self.tile))}_c"
                f"{'x'.join(map(str, self.cluster))}_{'fin' if self.finalize else 'none'}"
                f"{'_swap' if self.swap_ab else ''}_{self.out}")


def _shape(values) -> str:
    return "cute::Shape<" + ",".join(f"cute::_{v}" for v in values) + ">"


def compose_moe_tma_ws(k: MoeLauncherKernel) -> str:
    """Namespace body defining ``CollectiveEpilogue``, ``CollectiveMainloop`` and ``GemmKernel`` as the launcher does."""
    if k.arch not in ("sm90", "sm120"):
        raise ValueError(f"arch: {k.arch!r} is not composed here; allowed: sm90, sm120")
    sm120 = k.arch == "sm120"
    arch_tag = "cutlass::arch::Sm120" if sm120 else "cutlass::arch::Sm90"
    act, weight, out = _CPP[k.act], _CPP[k.weight], _CPP[k.out]
    wfp4afp8 = k.act == "e4m3" and k.weight == "nvfp4"
    block_scaled = k.act == "nvfp4" or wfp4afp8
    op_class = "cutlass::arch::OpClassBlockScaledTensorOp" if block_scaled else "cutlass::arch::OpClassTensorOp"
    if sm120 and block_scaled:
        main_act = f"cutlass::mx_float8_t<{act}>" if k.mxfpx else f"cutlass::nv_float4_t<{act}>"
        main_weight = f"cutlass::mx_float4_t<{weight}>" if k.mxfpx else f"cutlass::nv_float4_t<{weight}>"
    else:
        main_act, main_weight = act, weight
    align_act = 128 // _BITS[k.act]
    align_weight = 128 if wfp4afp8 else 128 // _BITS[k.weight]
    align_c = 128 // _BITS[k.act]  # the launcher deliberately uses the activation type for C
    align_d = 128 // _BITS[k.out]
    layout_cd = "cutlass::layout::ColumnMajor" if k.swap_ab else "cutlass::layout::RowMajor"
    epilogue_schedule = "cutlass::epilogue::TmaWarpSpecialized" if sm120 else \
        "cutlass::epilogue::PtrArrayTmaWarpSpecializedCooperative"
    element_c = out if sm120 else "void"
    if k.finalize:
        op = "ScaledAccPerRowBiasPerColScaleScatter" if k.swap_ab else "ScaledAccPerColBiasPerRowScaleScatter"
        element_d = "void"
        fusion = f",\n    cutlass::epilogue::fusion::{op}<{layout_cd}, {out}, float, {out}, float>"
    else:
        element_d, fusion = out, ""
    if sm120:
        kernel_schedule = "cutlass::gemm::collective::KernelScheduleAuto"
    elif k.act == "e4m3":
        kernel_schedule = "cutlass::gemm::KernelPtrArrayTmaWarpSpecializedCooperativeFP8FastAccum"
    else:
        kernel_schedule = "cutlass::gemm::KernelPtrArrayTmaWarpSpecializedCooperative"
    a, b = (main_weight, main_act) if k.swap_ab else (main_act, main_weight)
    align_a, align_b = (align_weight, align_act) if k.swap_ab else (align_act, align_weight)
    tile, cluster = _shape(k.tile), _shape(k.cluster)
    return "\n".join([
        "using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<\n"
        f"    {arch_tag}, {op_class}, {tile}, {cluster}, cutlass::epilogue::collective::EpilogueTileAuto,\n"
        f"    float, float, {element_c}, {layout_cd} *, {align_c}, {element_d}, {layout_cd} *, {align_d},\n"
        f"    {epilogue_schedule}{fusion}>::CollectiveOp;",
        "using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<\n"
        f"    {arch_tag}, {op_class}, {a}, cutlass::layout::RowMajor *, {align_a},\n"
        f"    {b}, cutlass::layout::ColumnMajor *, {align_b}, float, {tile}, {cluster},\n"
        "    cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename "
        "CollectiveEpilogue::SharedStorage))>,\n"
        f"    {kernel_schedule}>::CollectiveOp;",
        "using GemmKernel = cutlass::gemm::kernel::GemmUniversal<cutlass::gemm::GroupProblemShape<"
        "cute::Shape<int64_t,int64_t,int64_t>>, CollectiveMainloop, CollectiveEpilogue, void, void>;",
    ])


def includes_moe_tma_ws(k: MoeLauncherKernel) -> tuple:
    return (SCATTER_INCLUDE,) if k.finalize else ()


def compose_sm80_grouped(cfg: GroupedSm80Config) -> str:
    """Namespace body for the CUTLASS 2.x MoE kernels (``GemmKernel::SharedStorage`` is what is measured)."""
    t = _CPP[cfg.a.value]
    out = _CPP[cfg.d.value]
    m, n, kk = cfg.tile
    if cfg.kernel == "fused_gated":
        # EpilogueOpDefaultSilu routes to Activation_Type::Swiglu for the gate kernel (EpilogueRouting(true))
        return "\n".join([
            f"using Fused = fused_moe::Fused_Moe_Kernel_sm80<{t}, {t}, {t}, {m}, {n}, {kk}, {cfg.stages}, "
            "fused_moe::Activation_Type::Swiglu>;",
            "struct GemmKernel { struct alignas(128) SharedStorage { char bytes[Fused::kSmemSize]; }; };",
            "struct CollectiveMainloop {};",
            "struct CollectiveEpilogue {};",
        ])
    arch = "cutlass::arch::Sm89" if cfg.arch_tag == "sm89" else "cutlass::arch::Sm80"
    wm, wn, wk = cfg.warp
    return "\n".join([
        f"using Traits = cutlass::gemm::kernel::MixedGemmArchTraits<{t}, {t}, {arch}>;",
        f"using EpilogueOp = typename tensorrt_llm::cutlass_extensions::Epilogue<{out}, Traits::ElementsPerAccessC, "
        "typename Traits::AccType, tensorrt_llm::cutlass_extensions::EpilogueOpDefault>::Op;",
        "using TaggedOperator = typename cutlass::arch::TagOperator<typename Traits::Operator, "
        "cutlass::WeightOnlyQuantOp::UNDEFINED>::TaggedOperator;",
        "using GemmKernel_ = typename cutlass::gemm::kernel::DefaultGemmGrouped<\n"
        f"    {t}, cutlass::layout::RowMajor, cutlass::ComplexTransform::kNone, Traits::ElementsPerAccessA,\n"
        f"    {t}, typename Traits::LayoutB, cutlass::ComplexTransform::kNone, Traits::ElementsPerAccessB,\n"
        f"    {out}, cutlass::layout::RowMajor, typename Traits::AccType, typename Traits::OperatorClass, {arch},\n"
        f"    cutlass::gemm::GemmShape<{m},{n},{kk}>, cutlass::gemm::GemmShape<{wm},{wn},{wk}>, "
        "typename Traits::InstructionShape,\n"
        f"    EpilogueOp, cutlass::gemm::threadblock::GemmBatchedIdentityThreadblockSwizzle, {cfg.stages},\n"
        "    cutlass::gemm::kernel::GroupScheduleMode::kDeviceOnly, TaggedOperator>::GemmKernel;",
        f"using GemmKernel = cutlass::gemm::kernel::MoeFCGemm<typename GemmKernel_::Mma, typename "
        f"GemmKernel_::Epilogue, typename GemmKernel_::ThreadblockSwizzle, {arch}, GemmKernel_::kGroupScheduleMode>;",
        "using CollectiveMainloop = typename GemmKernel::Mma;",
        "using CollectiveEpilogue = typename GemmKernel::Epilogue;",
    ])


def moe_tma_ws_recipe() -> ProbeRecipe:
    """Probe recipe for :class:`MoeLauncherKernel` (the cutlass_extensions folder is found on demand)."""
    return ProbeRecipe(compose_moe_tma_ws, includes_moe_tma_ws)


def sm80_recipe() -> ProbeRecipe:
    """Probe recipe for :class:`GroupedSm80Config` (needs FlashInfer's vendored TensorRT-LLM headers)."""
    from .extensions import trtllm_include_dirs

    return ProbeRecipe(compose_sm80_grouped, lambda cfg: SM80_INCLUDES,
                       tuple(str(d) for d in trtllm_include_dirs()))


__all__ = ["MoeLauncherKernel", "compose_moe_tma_ws", "compose_sm80_grouped", "moe_tma_ws_recipe", "sm80_recipe",
           "SM80_INCLUDES"]

_ = DType
