"""C++ composition of a :class:`~smem_tactics.config.KernelConfig`.

One function, :func:`compose`, writes the type aliases that build a CUTLASS grouped / ptr-array GEMM
kernel from a config -- ``CollectiveEpilogue`` (epilogue CollectiveBuilder), ``CollectiveMainloop``
(mainloop CollectiveBuilder with the requested stage-count convention) and ``GemmKernel``
(``GemmUniversal``) -- the way CUTLASS's grouped examples (57, 68, 75, 79d, 87c) and TensorRT-LLM's MoE
launcher compose them. The oracle probe, the emitted standalone kernels and the GPU extension all use
this text, so what is measured is what is shipped.
"""

from __future__ import annotations

from smem_tactics.config import (
    Arch,
    DType,
    EpilogueSchedule,
    FusionOp,
    KernelConfig,
    KernelSchedule,
    Kind,
    Layout,
    Mode,
    StageConvention,
)
from smem_tactics.layout.resolve import resolve_schedules

#: Headers every composition needs.
INCLUDES = (
    "cutlass/cutlass.h",
    "cute/tensor.hpp",
    "cutlass/gemm/dispatch_policy.hpp",
    "cutlass/gemm/group_array_problem_shape.hpp",
    "cutlass/gemm/collective/collective_builder.hpp",
    "cutlass/epilogue/collective/collective_builder.hpp",
    "cutlass/epilogue/fusion/operations.hpp",
    "cutlass/gemm/kernel/gemm_universal.hpp",
    "cutlass/detail/blockwise_scale_layout.hpp",
)

#: TensorRT-LLM's epilogue extensions (``cutlass_extensions/include``, vendored in FlashInfer's wheel under
#: ``data/csrc/nv_internal/tensorrt_llm``): needed by the finalize scatter fusions only.
SCATTER_INCLUDE = "cutlass_extensions/epilogue/fusion/sm90_visitor_scatter.hpp"


def includes_for(cfg: KernelConfig) -> tuple:
    """Headers beyond :data:`INCLUDES` that ``compose(cfg)`` needs."""
    return (SCATTER_INCLUDE,) if cfg.fusion.op.is_scatter else ()


_SM100_MXF8F6F4_SCHEDULES = (KernelSchedule.PTR_ARRAY_1SM_MXF8F6F4_SM100, KernelSchedule.PTR_ARRAY_2SM_MXF8F6F4_SM100)


def _shape(values) -> str:
    return "cute::Shape<" + ",".join(f"cute::_{v}" for v in values) + ">"


def operand_alignment(t: DType, other: DType) -> int:
    """Alignment (elements) of a mainloop operand: 16 bytes, except sub-byte operands of the
    MXF8F6F4 instruction (6-bit types, or 4-bit next to a 6/8-bit operand) which need 128 elements."""
    if t.bits == 6 or (t.bits == 4 and other.bits != 4):
        return 128
    return 128 // t.bits


def output_alignment(t: DType) -> int:
    return 128 // (8 if t.bits == 6 else t.bits)


def _layout_tag(layout: Layout, pointer: bool) -> str:
    return layout.cpp + (" *" if pointer else "")


def fusion_cpp(cfg: KernelConfig) -> str:
    f = cfg.fusion
    d = cfg.d.cpp
    c = cfg.c.cpp if cfg.c else "void"
    ns = "cutlass::epilogue::fusion::"
    act = f"cutlass::epilogue::thread::{f.activation}" if f.activation else ""
    if f.op is FusionOp.LINEAR_COMBINATION:
        return f"{ns}LinearCombination<{d}, float, {c}, float>"
    if f.op.is_scatter:
        # template arguments as TensorRT-LLM's MoE launcher gives them: <LayoutD, ElementFinalOutput,
        # ElementAccumulator, ElementBias, ElementRouterScales>, bias in the output type
        return f"{ns}{f.op.value}<{cfg.layout_cd.cpp}, {d}, float, {d}, float>"
    if f.op is FusionOp.LIN_COMB_ELT_ACT:
        return f"{ns}LinCombEltAct<{act}, {d}, float, {c}, float>"
    sf_layout = f.sf_layout.cpp
    if f.op is FusionOp.LIN_COMB_BLOCK_SCALE_FACTOR:
        return f"{ns}LinCombBlockScaleFactor<{f.sf_vector}, {d}, float, {f.sf_cpp}, {sf_layout}, {c}>"
    return f"{ns}LinCombEltActBlockScaleFactor<{act}, {f.sf_vector}, {d}, float, {f.sf_cpp}, {sf_layout}, {c}>"


def stage_count_cpp(cfg: KernelConfig) -> str:
    ns = "cutlass::gemm::collective::"
    if isinstance(cfg.stages, int):
        return f"{ns}StageCount<{cfg.stages}>"
    if cfg.stages is StageConvention.AUTO:
        return f"{ns}StageCountAutoCarveout<static_cast<int>(sizeof(typename CollectiveEpilogue::SharedStorage))>"
    if cfg.stages is StageConvention.AUTO_EPI:
        return f"{ns}StageCountAutoCarveoutEpi<CollectiveEpilogue>"
    return f"{ns}StageCountAuto"


def compose(cfg: KernelConfig) -> str:
    """C++ type aliases (to be placed inside a namespace) that define ``CollectiveEpilogue``,
    ``CollectiveMainloop``, ``GemmKernel`` and ``ProblemShape`` for ``cfg``."""
    kernel_schedule, epilogue_schedule = resolve_schedules(cfg)
    grouped = cfg.mode is Mode.GROUPED
    arch = cfg.arch.family
    block_scaled = cfg.kind is Kind.BLOCK_SCALED
    op_class = "cutlass::arch::OpClassBlockScaledTensorOp" if block_scaled else "cutlass::arch::OpClassTensorOp"
    tile = _shape(cfg.tile)
    cluster = _shape(cfg.cluster)
    epi_tile = (
        "cutlass::epilogue::collective::EpilogueTileAuto" if cfg.epilogue_tile is None else _shape(cfg.epilogue_tile)
    )
    c_type = cfg.c.cpp if cfg.c else "void"
    d_type = "void" if cfg.fusion.op.is_scatter else cfg.d.cpp  # the scatter fusion stores D itself
    align_d = output_alignment(cfg.d)
    align_c = output_alignment(cfg.c) if cfg.c else align_d
    layout_cd = _layout_tag(cfg.layout_cd, grouped)
    lines = []
    if grouped:
        lines.append("using ProblemShape = cutlass::gemm::GroupProblemShape<cute::Shape<int,int,int>>;")
    else:
        lines.append("using ProblemShape = cutlass::gemm::ArrayProblemShape<cute::Shape<int,int,int,int>>;")
    lines.append(
        "using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<\n"
        f"    {cfg.arch.cpp}, {op_class}, {tile}, {cluster}, {epi_tile}, float, float,\n"
        f"    {c_type}, {layout_cd}, {align_c}, {d_type}, {layout_cd}, {align_d},\n"
        f"    {epilogue_schedule.cpp}, {fusion_cpp(cfg)}>::CollectiveOp;"
    )
    layout_a = _layout_tag(Layout.ROW, grouped)
    layout_b = _layout_tag(Layout.COL, grouped)
    if cfg.kind is Kind.BLOCKWISE:
        gm, gn, gk = cfg.scale_granularity
        scale_config = "Sm120BlockwiseScaleConfig" if arch is Arch.SM120 else (
            "Sm100BlockwiseScaleConfig" if arch is Arch.SM100 else "Sm90BlockwiseScaleConfig")
        lines.append(f"using ScaleConfig = cutlass::detail::{scale_config}<{gm}, {gn}, {gk}>;")
        lines.append("using LayoutSFA = decltype(ScaleConfig::deduce_layoutSFA());")
        lines.append("using LayoutSFB = decltype(ScaleConfig::deduce_layoutSFB());")
        ptr = " *" if grouped else ""
        layout_a = f"cute::tuple<{layout_a}, LayoutSFA{ptr}>"
        layout_b = f"cute::tuple<{layout_b}, LayoutSFB{ptr}>"
    align_a = operand_alignment(cfg.a, cfg.b)
    align_b = operand_alignment(cfg.b, cfg.a)
    if arch is Arch.SM100 and kernel_schedule in _SM100_MXF8F6F4_SCHEDULES:
        # the SM100 Mxf8f6f4 schedules run even fp4 x fp4 on MMA.MXF8F6F4, whose sub-byte operands need
        # 128-element alignment (sm1xx_blockscaled_gemm_is_aligned)
        align_a = 128 if cfg.a.bits < 8 else align_a
        align_b = 128 if cfg.b.bits < 8 else align_b
    lines.append(
        "using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<\n"
        f"    {cfg.arch.cpp}, {op_class},\n"
        f"    {cfg.a.operand_cpp}, {layout_a}, {align_a},\n"
        f"    {cfg.b.operand_cpp}, {layout_b}, {align_b},\n"
        f"    float, {tile}, {cluster},\n"
        f"    {stage_count_cpp(cfg)},\n"
        f"    {kernel_schedule.cpp}>::CollectiveOp;"
    )
    lines.append(
        "using GemmKernel = cutlass::gemm::kernel::GemmUniversal<ProblemShape, CollectiveMainloop, "
        "CollectiveEpilogue>;"
    )
    return "\n".join(lines)


__all__ = ["compose", "INCLUDES", "SCATTER_INCLUDE", "includes_for", "fusion_cpp", "stage_count_cpp", "operand_alignment",
           "output_alignment"]

_ = (EpilogueSchedule, KernelSchedule)
