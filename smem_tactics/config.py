"""What a tactic is: one CUTLASS grouped / ptr-array GEMM kernel configuration.

A :class:`KernelConfig` names everything that decides ``sizeof(GemmKernel::SharedStorage)``: the arch,
operand and output types, tile, cluster, kernel and epilogue schedules (by CUTLASS's own names),
epilogue tile and fusion, the stage-count convention, grouped vs ptr-array, and the CUTLASS version.

Enums carry their CUTLASS C++ spelling (``.cpp``) the way ``cutlass_library`` tables do, so the same
object drives the footprint model, the compiled oracle and code emission.

Build configs with :meth:`KernelConfig.create` (accepts strings, lists, TensorRT-LLM tile names) or
:meth:`KernelConfig.from_dict` (the JSON schema of the CLI). Both raise :class:`ConfigError` naming
the field and the allowed values.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Union

from .errors import ConfigError, UnsupportedConfigError
from .versions import DEFAULT_VERSION, CutlassVersion


def _parse_enum(cls, field: str, value: Any):
    """Look up an enum member by value, name or CUTLASS spelling (case-insensitive)."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        for member in cls:
            names = {member.value.lower(), member.name.lower()}
            names.update(a.lower() for a in getattr(member, "aliases", ()))
            if key in names:
                return member
    raise ConfigError(field, value, [m.value for m in cls])


def _attach_info(enum_cls: type, table: dict) -> None:
    """Store each member's facts on the member itself: Enum members hash in Python code, so a dict lookup per
    property access is what the footprint's hot path would otherwise spend its time on."""
    missing = [m for m in enum_cls if m not in table]
    if missing:
        raise AssertionError(f"{enum_cls.__name__}: no facts for {missing}")
    for member, info in table.items():
        object.__setattr__(member, "_info", info)


class Arch(enum.Enum):
    """Target architecture. SM121 (GB10) builds the same ``cutlass::arch::Sm120`` kernels as SM120."""

    SM90 = "sm90"
    SM100 = "sm100"
    SM120 = "sm120"
    SM121 = "sm121"

    @property
    def family(self) -> "Arch":
        """The CUTLASS arch tag the kernel is instantiated with."""
        return self._family

    @property
    def cpp(self) -> str:
        return {Arch.SM90: "cutlass::arch::Sm90", Arch.SM100: "cutlass::arch::Sm100"}.get(
            self, "cutlass::arch::Sm120"
        )

    @property
    def compute_capability(self) -> int:
        return int(self.value[2:])

    @property
    def is_sm12x(self) -> bool:
        return self.family is Arch.SM120

    @classmethod
    def parse(cls, value: Any, field: str = "arch") -> "Arch":
        if isinstance(value, int):
            value = f"sm{value}"
        return _parse_enum(cls, field, value)


for _arch in Arch:
    object.__setattr__(_arch, "_family", Arch.SM120 if _arch is Arch.SM121 else _arch)
del _arch


class Kind(enum.Enum):
    """Kernel family: plain TMA warp-specialized, block-scaled (MX/NV FP4/6/8), or FP8 blockwise scaling."""

    DENSE = "dense"
    BLOCK_SCALED = "block_scaled"
    BLOCKWISE = "blockwise"

    @classmethod
    def parse(cls, value: Any, field: str = "kind") -> "Kind":
        return _parse_enum(cls, field, value)


@dataclass(frozen=True)
class _DTypeInfo:
    bits: int
    cpp: str  # C++ element type (for block-scaled operands: the data element)
    block_scaled: Optional[str] = None  # C++ wrapper type for block-scaled operands, e.g. nv_float4_t
    sf_vector: int = 0
    sf_type: str = ""
    operand: bool = True  # usable as A/B
    output: bool = True  # usable as C/D


class DType(enum.Enum):
    """Element types, named as in the issue tracker / CLI; ``.cpp`` gives the CUTLASS type."""

    BF16 = "bf16"
    F16 = "f16"
    F32 = "f32"
    E4M3 = "e4m3"
    E5M2 = "e5m2"
    NVFP4 = "nvfp4"
    MXFP4 = "mxfp4"
    MXFP6_E2M3 = "mxfp6_e2m3"
    MXFP6_E3M2 = "mxfp6_e3m2"
    MXFP8_E4M3 = "mxfp8_e4m3"
    MXFP8_E5M2 = "mxfp8_e5m2"
    E2M1 = "e2m1"
    E2M3 = "e2m3"
    E3M2 = "e3m2"

    @property
    def info(self) -> _DTypeInfo:
        return self._info

    @property
    def bits(self) -> int:
        return self._info.bits

    @property
    def cpp(self) -> str:
        """The C++ element type (the data element for block-scaled types)."""
        return self._info.cpp

    @property
    def operand_cpp(self) -> str:
        """The type handed to the mainloop CollectiveBuilder (the wrapper for block-scaled types)."""
        info = self._info
        return info.block_scaled or info.cpp

    @property
    def is_block_scaled(self) -> bool:
        return self._info.block_scaled is not None

    @property
    def is_fp8(self) -> bool:
        return self in (DType.E4M3, DType.E5M2)

    @property
    def sf_vector(self) -> int:
        return self._info.sf_vector

    @classmethod
    def parse(cls, value: Any, field: str) -> "DType":
        aliases = {
            "bfloat16": "bf16", "fp16": "f16", "half": "f16", "float16": "f16", "fp32": "f32",
            "float": "f32", "float32": "f32", "fp8": "e4m3", "fp8_e4m3": "e4m3", "float_e4m3": "e4m3",
            "fp8_e5m2": "e5m2", "fp4": "nvfp4", "mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e3m2",
            "float_e2m1": "e2m1",
        }
        if isinstance(value, str):
            value = aliases.get(value.strip().lower(), value)
        return _parse_enum(cls, field, value)


_DTYPE_INFO = {
    DType.BF16: _DTypeInfo(16, "cutlass::bfloat16_t"),
    DType.F16: _DTypeInfo(16, "cutlass::half_t"),
    DType.F32: _DTypeInfo(32, "float"),
    DType.E4M3: _DTypeInfo(8, "cutlass::float_e4m3_t"),
    DType.E5M2: _DTypeInfo(8, "cutlass::float_e5m2_t"),
    DType.NVFP4: _DTypeInfo(4, "cutlass::float_e2m1_t", "cutlass::nv_float4_t<cutlass::float_e2m1_t>", 16,
                            "cutlass::float_ue4m3_t", output=False),
    DType.MXFP4: _DTypeInfo(4, "cutlass::float_e2m1_t", "cutlass::mx_float4_t<cutlass::float_e2m1_t>", 32,
                            "cutlass::float_ue8m0_t", output=False),
    DType.MXFP6_E2M3: _DTypeInfo(6, "cutlass::float_e2m3_t", "cutlass::mx_float6_t<cutlass::float_e2m3_t>", 32,
                                 "cutlass::float_ue8m0_t", output=False),
    DType.MXFP6_E3M2: _DTypeInfo(6, "cutlass::float_e3m2_t", "cutlass::mx_float6_t<cutlass::float_e3m2_t>", 32,
                                 "cutlass::float_ue8m0_t", output=False),
    DType.MXFP8_E4M3: _DTypeInfo(8, "cutlass::float_e4m3_t", "cutlass::mx_float8_t<cutlass::float_e4m3_t>", 32,
                                 "cutlass::float_ue8m0_t", output=False),
    DType.MXFP8_E5M2: _DTypeInfo(8, "cutlass::float_e5m2_t", "cutlass::mx_float8_t<cutlass::float_e5m2_t>", 32,
                                 "cutlass::float_ue8m0_t", output=False),
    DType.E2M1: _DTypeInfo(4, "cutlass::float_e2m1_t", operand=False),
    DType.E2M3: _DTypeInfo(6, "cutlass::float_e2m3_t", operand=False),
    DType.E3M2: _DTypeInfo(6, "cutlass::float_e3m2_t", operand=False),
}
_attach_info(DType, _DTYPE_INFO)

OPERAND_TYPES = tuple(t for t in DType if t.info.operand)
OUTPUT_TYPES = tuple(t for t in DType if t.info.output)


class Layout(enum.Enum):
    """Layout of C and D (A is always K-major row-major and B K-major column-major: TN, as in MoE)."""

    ROW = "row"
    COL = "col"

    @property
    def cpp(self) -> str:
        return "cutlass::layout::RowMajor" if self is Layout.ROW else "cutlass::layout::ColumnMajor"

    @classmethod
    def parse(cls, value: Any, field: str = "layout_cd") -> "Layout":
        if isinstance(value, str) and value.lower() in ("rowmajor", "r", "n"):
            value = "row"
        if isinstance(value, str) and value.lower() in ("colmajor", "columnmajor", "column", "c", "t"):
            value = "col"
        return _parse_enum(cls, field, value)


class Mode(enum.Enum):
    """Grouped GEMM (per-group problem shapes, pointer-to-stride layouts) or ptr-array batched GEMM."""

    GROUPED = "grouped"
    PTR_ARRAY = "ptr_array"

    @classmethod
    def parse(cls, value: Any, field: str = "mode") -> "Mode":
        return _parse_enum(cls, field, value)


class StageConvention(enum.Enum):
    """How an automatic stage count is asked for.

    * ``auto``: ``StageCountAutoCarveout<sizeof(CollectiveEpilogue::SharedStorage)>`` -- the CUTLASS
      examples' and TensorRT-LLM's convention.
    * ``auto_epi``: ``StageCountAutoCarveoutEpi<CollectiveEpilogue>`` (epilogue tensors + pipeline,
      no tensormaps).
    * ``auto_zero``: ``StageCountAuto`` (no carve-out at all).
    """

    AUTO = "auto"
    AUTO_EPI = "auto_epi"
    AUTO_ZERO = "auto_zero"


Stages = Union[int, StageConvention]


def parse_stages(value: Any, field: str = "stages") -> Stages:
    allowed = "an integer >= 1, or one of auto, auto_epi, auto_zero"
    if isinstance(value, StageConvention):
        return value
    if isinstance(value, bool):
        raise ConfigError(field, value, allowed)
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(field, value, allowed)
        return value
    if isinstance(value, str):
        text = value.strip().lower().replace("-", "_")
        text = {"autoepi": "auto_epi", "auto0": "auto_zero", "autozero": "auto_zero"}.get(text, text)
        if text.isdigit():
            return parse_stages(int(text), field)
        for conv in StageConvention:
            if conv.value == text:
                return conv
    raise ConfigError(field, value, allowed)


@dataclass(frozen=True)
class _ScheduleInfo:
    archs: tuple  # arch families that accept it
    kinds: tuple  # kernel kinds it applies to
    cooperative: bool = True  # False: pingpong
    two_sm: bool = False  # SM100 2-SM MMA
    template: str = ""  # C++ suffix for templated schedules, e.g. "<3>"


class KernelSchedule(enum.Enum):
    """Mainloop/kernel schedules by CUTLASS's own names (``cutlass::gemm::``)."""

    AUTO = "auto"
    PTR_ARRAY_COOPERATIVE = "KernelPtrArrayTmaWarpSpecializedCooperative"
    PTR_ARRAY_PINGPONG = "KernelPtrArrayTmaWarpSpecializedPingpong"
    PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM = "KernelPtrArrayTmaWarpSpecializedCooperativeFP8FastAccum"
    PTR_ARRAY_PINGPONG_FP8_FAST_ACCUM = "KernelPtrArrayTmaWarpSpecializedPingpongFP8FastAccum"
    PTR_ARRAY_COOPERATIVE_FP8_BLOCKWISE = "KernelPtrArrayTmaWarpSpecializedCooperativeFP8Blockwise"
    PTR_ARRAY_PINGPONG_FP8_BLOCKWISE = "KernelPtrArrayTmaWarpSpecializedPingpongFP8Blockwise"
    PTR_ARRAY_COOPERATIVE_BLOCK_SCALED_SM120 = "KernelPtrArrayTmaWarpSpecializedCooperativeBlockScaledSm120"
    PTR_ARRAY_PINGPONG_BLOCK_SCALED_SM120 = "KernelPtrArrayTmaWarpSpecializedPingpongBlockScaledSm120"
    PTR_ARRAY_COOPERATIVE_BLOCKWISE_SM120 = "KernelPtrArrayTmaWarpSpecializedCooperativeBlockwiseScalingSm120"
    PTR_ARRAY_PINGPONG_BLOCKWISE_SM120 = "KernelPtrArrayTmaWarpSpecializedPingpongBlockwiseScalingSm120"
    SM120_BLOCKWISE = "KernelScheduleSm120Blockwise"
    PTR_ARRAY_COOPERATIVE_SM120 = "KernelPtrArrayTmaWarpSpecializedCooperativeSm120"
    PTR_ARRAY_PINGPONG_SM120 = "KernelPtrArrayTmaWarpSpecializedPingpongSm120"
    PTR_ARRAY_1SM_SM100 = "KernelPtrArrayTmaWarpSpecialized1SmSm100"
    PTR_ARRAY_2SM_SM100 = "KernelPtrArrayTmaWarpSpecialized2SmSm100"
    PTR_ARRAY_1SM_BLOCK_SCALED_SM100 = "KernelPtrArrayTmaWarpSpecialized1SmBlockScaledSm100"
    PTR_ARRAY_2SM_BLOCK_SCALED_SM100 = "KernelPtrArrayTmaWarpSpecialized2SmBlockScaledSm100"
    PTR_ARRAY_1SM_NVF4_SM100 = "KernelPtrArrayTmaWarpSpecialized1SmNvf4Sm100"
    PTR_ARRAY_2SM_NVF4_SM100 = "KernelPtrArrayTmaWarpSpecialized2SmNvf4Sm100"
    PTR_ARRAY_1SM_MXF4_SM100 = "KernelPtrArrayTmaWarpSpecialized1SmMxf4Sm100"
    PTR_ARRAY_2SM_MXF4_SM100 = "KernelPtrArrayTmaWarpSpecialized2SmMxf4Sm100"
    PTR_ARRAY_1SM_MXF8F6F4_SM100 = "KernelPtrArrayTmaWarpSpecialized1SmMxf8f6f4Sm100"
    PTR_ARRAY_2SM_MXF8F6F4_SM100 = "KernelPtrArrayTmaWarpSpecialized2SmMxf8f6f4Sm100"

    @property
    def info(self) -> _ScheduleInfo:
        return self._info

    @property
    def cpp(self) -> str:
        if self is KernelSchedule.AUTO:
            return "cutlass::gemm::collective::KernelScheduleAuto"
        return f"cutlass::gemm::{self.value}{self.info.template}"

    @property
    def is_pingpong(self) -> bool:
        return not self.info.cooperative

    @classmethod
    def parse(cls, value: Any, field: str = "kernel_schedule") -> "KernelSchedule":
        if isinstance(value, str):
            value = value.strip().split("::")[-1].split("<")[0]
            if value.lower() in ("kernelscheduleauto", "auto"):
                return cls.AUTO
        return _parse_enum(cls, field, value)


_S90, _S100, _S120 = (Arch.SM90,), (Arch.SM100,), (Arch.SM120,)
_D, _BS, _BW = (Kind.DENSE,), (Kind.BLOCK_SCALED,), (Kind.BLOCKWISE,)
_KERNEL_SCHEDULE_INFO = {
    KernelSchedule.AUTO: _ScheduleInfo((Arch.SM90, Arch.SM100, Arch.SM120), tuple(Kind)),
    KernelSchedule.PTR_ARRAY_COOPERATIVE: _ScheduleInfo((Arch.SM90, Arch.SM120), _D + _BS),
    KernelSchedule.PTR_ARRAY_PINGPONG: _ScheduleInfo((Arch.SM90, Arch.SM120), _D + _BS, cooperative=False),
    KernelSchedule.PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM: _ScheduleInfo(_S90, _D),
    KernelSchedule.PTR_ARRAY_PINGPONG_FP8_FAST_ACCUM: _ScheduleInfo(_S90, _D, cooperative=False),
    KernelSchedule.PTR_ARRAY_COOPERATIVE_FP8_BLOCKWISE: _ScheduleInfo(_S90, _BW),
    KernelSchedule.PTR_ARRAY_PINGPONG_FP8_BLOCKWISE: _ScheduleInfo(_S90, _BW, cooperative=False),
    KernelSchedule.PTR_ARRAY_COOPERATIVE_BLOCK_SCALED_SM120: _ScheduleInfo(_S120, _BS, template="<3>"),
    KernelSchedule.PTR_ARRAY_PINGPONG_BLOCK_SCALED_SM120: _ScheduleInfo(_S120, _BS, cooperative=False,
                                                                        template="<3>"),
    KernelSchedule.PTR_ARRAY_COOPERATIVE_BLOCKWISE_SM120: _ScheduleInfo(_S120, _BW),
    KernelSchedule.PTR_ARRAY_PINGPONG_BLOCKWISE_SM120: _ScheduleInfo(_S120, _BW, cooperative=False),
    KernelSchedule.SM120_BLOCKWISE: _ScheduleInfo(_S120, _BW),
    # CUTLASS >= 4.6 SM120 dense FP8 ptr-array; the template argument is the scheduler pipeline depth the
    # non-array SM120 builder uses (the grouped kernel's own scheduler pipeline is fixed at 8 stages)
    KernelSchedule.PTR_ARRAY_COOPERATIVE_SM120: _ScheduleInfo(_S120, _D, template="<2>"),
    KernelSchedule.PTR_ARRAY_PINGPONG_SM120: _ScheduleInfo(_S120, _D, cooperative=False, template="<2>"),
    KernelSchedule.PTR_ARRAY_1SM_SM100: _ScheduleInfo(_S100, _D),
    KernelSchedule.PTR_ARRAY_2SM_SM100: _ScheduleInfo(_S100, _D, two_sm=True),
    KernelSchedule.PTR_ARRAY_1SM_BLOCK_SCALED_SM100: _ScheduleInfo(_S100, _BS),
    KernelSchedule.PTR_ARRAY_2SM_BLOCK_SCALED_SM100: _ScheduleInfo(_S100, _BS, two_sm=True),
    KernelSchedule.PTR_ARRAY_1SM_NVF4_SM100: _ScheduleInfo(_S100, _BS),
    KernelSchedule.PTR_ARRAY_2SM_NVF4_SM100: _ScheduleInfo(_S100, _BS, two_sm=True),
    KernelSchedule.PTR_ARRAY_1SM_MXF4_SM100: _ScheduleInfo(_S100, _BS),
    KernelSchedule.PTR_ARRAY_2SM_MXF4_SM100: _ScheduleInfo(_S100, _BS, two_sm=True),
    KernelSchedule.PTR_ARRAY_1SM_MXF8F6F4_SM100: _ScheduleInfo(_S100, _BS),
    KernelSchedule.PTR_ARRAY_2SM_MXF8F6F4_SM100: _ScheduleInfo(_S100, _BS, two_sm=True),
}
_attach_info(KernelSchedule, _KERNEL_SCHEDULE_INFO)


@dataclass(frozen=True)
class _EpiScheduleInfo:
    archs: tuple
    no_smem: bool = False
    warp_groups: int = 2  # NumEpilogueWarpGroups (TMA D descriptors kept in smem)
    two_sm: bool = False
    pingpong_tile: bool = False  # SM90 epilogue-tile rule of the pingpong / plain schedules


class EpilogueSchedule(enum.Enum):
    """Epilogue schedules by CUTLASS's own names (``cutlass::epilogue::``)."""

    AUTO = "auto"
    PTR_ARRAY_TMA = "PtrArrayTmaWarpSpecialized"
    PTR_ARRAY_TMA_COOPERATIVE = "PtrArrayTmaWarpSpecializedCooperative"
    PTR_ARRAY_TMA_PINGPONG = "PtrArrayTmaWarpSpecializedPingpong"
    PTR_ARRAY_NO_SMEM = "PtrArrayNoSmemWarpSpecialized"
    TMA = "TmaWarpSpecialized"
    TMA_COOPERATIVE = "TmaWarpSpecializedCooperative"
    PTR_ARRAY_TMA_1SM = "PtrArrayTmaWarpSpecialized1Sm"
    PTR_ARRAY_TMA_2SM = "PtrArrayTmaWarpSpecialized2Sm"
    PTR_ARRAY_NO_SMEM_1SM = "PtrArrayNoSmemWarpSpecialized1Sm"
    PTR_ARRAY_NO_SMEM_2SM = "PtrArrayNoSmemWarpSpecialized2Sm"

    @property
    def info(self) -> _EpiScheduleInfo:
        return self._info

    @property
    def cpp(self) -> str:
        if self is EpilogueSchedule.AUTO:
            return "cutlass::epilogue::collective::EpilogueScheduleAuto"
        return f"cutlass::epilogue::{self.value}"

    @property
    def no_smem(self) -> bool:
        return self.info.no_smem

    @classmethod
    def parse(cls, value: Any, field: str = "epilogue_schedule") -> "EpilogueSchedule":
        if isinstance(value, str):
            value = value.strip().split("::")[-1]
            if value.lower() in ("epiloguescheduleauto", "auto"):
                return cls.AUTO
        return _parse_enum(cls, field, value)


_EPI_SCHEDULE_INFO = {
    EpilogueSchedule.AUTO: _EpiScheduleInfo((Arch.SM90, Arch.SM100, Arch.SM120)),
    EpilogueSchedule.PTR_ARRAY_TMA: _EpiScheduleInfo(_S90, warp_groups=1, pingpong_tile=True),
    EpilogueSchedule.PTR_ARRAY_TMA_COOPERATIVE: _EpiScheduleInfo((Arch.SM90, Arch.SM120)),
    EpilogueSchedule.PTR_ARRAY_TMA_PINGPONG: _EpiScheduleInfo((Arch.SM90, Arch.SM120), pingpong_tile=True),
    EpilogueSchedule.PTR_ARRAY_NO_SMEM: _EpiScheduleInfo(_S90, no_smem=True),
    EpilogueSchedule.TMA: _EpiScheduleInfo(_S120),
    EpilogueSchedule.TMA_COOPERATIVE: _EpiScheduleInfo(_S120),
    EpilogueSchedule.PTR_ARRAY_TMA_1SM: _EpiScheduleInfo(_S100),
    EpilogueSchedule.PTR_ARRAY_TMA_2SM: _EpiScheduleInfo(_S100, two_sm=True),
    EpilogueSchedule.PTR_ARRAY_NO_SMEM_1SM: _EpiScheduleInfo(_S100, no_smem=True),
    EpilogueSchedule.PTR_ARRAY_NO_SMEM_2SM: _EpiScheduleInfo(_S100, no_smem=True, two_sm=True),
}
_attach_info(EpilogueSchedule, _EPI_SCHEDULE_INFO)


class FusionOp(enum.Enum):
    """Epilogue fusion operations (``cutlass::epilogue::fusion::``)."""

    LINEAR_COMBINATION = "LinearCombination"
    LIN_COMB_ELT_ACT = "LinCombEltAct"
    LIN_COMB_BLOCK_SCALE_FACTOR = "LinCombBlockScaleFactor"
    LIN_COMB_ELT_ACT_BLOCK_SCALE_FACTOR = "LinCombEltActBlockScaleFactor"
    # TensorRT-LLM's fused MoE finalize (``cutlass_extensions/epilogue/fusion/sm90_visitor_scatter.hpp``, vendored in
    # FlashInfer under ``data/csrc/nv_internal``): scale * (alpha * acc + bias) scattered into the final output rows.
    # D is void; ``d`` names the final-output element (also the bias element). The non-swapped GEMM keeps the
    # per-column bias in shared memory, the swap-AB GEMM the per-column router scale (float).
    SCATTER_PER_COL_BIAS = "ScaledAccPerColBiasPerRowScaleScatter"
    SCATTER_PER_ROW_BIAS = "ScaledAccPerRowBiasPerColScaleScatter"

    @property
    def is_scatter(self) -> bool:
        """The finalize scatter: the epilogue has no D tensor (D is void) and stores through the fusion."""
        return self in (FusionOp.SCATTER_PER_COL_BIAS, FusionOp.SCATTER_PER_ROW_BIAS)

    @property
    def has_activation(self) -> bool:
        return self in (FusionOp.LIN_COMB_ELT_ACT, FusionOp.LIN_COMB_ELT_ACT_BLOCK_SCALE_FACTOR)

    @property
    def has_block_scale_factor(self) -> bool:
        return self in (FusionOp.LIN_COMB_BLOCK_SCALE_FACTOR, FusionOp.LIN_COMB_ELT_ACT_BLOCK_SCALE_FACTOR)


#: Activation functors accepted by LinCombEltAct (``cutlass::epilogue::thread::``).
ACTIVATIONS = ("Identity", "ReLu", "SiLu", "GELU", "GELU_taylor", "Sigmoid", "HardSwish", "Clamp")


@dataclass(frozen=True)
class Fusion:
    """An epilogue fusion. Block-scale-factor fusions also produce scale factors for D."""

    op: FusionOp = FusionOp.LINEAR_COMBINATION
    activation: Optional[str] = None
    sf_vector: int = 0
    sf_layout: Layout = Layout.ROW
    sf_type: str = ""  # "ue4m3" | "ue8m0"

    def __post_init__(self):
        if self.op.has_activation and self.activation not in ACTIVATIONS:
            raise ConfigError("fusion.activation", self.activation, ACTIVATIONS)
        if not self.op.has_activation and self.activation is not None:
            raise ConfigError("fusion.activation", self.activation, "none for " + self.op.value)
        if self.op.has_block_scale_factor:
            if self.sf_vector not in (16, 32):
                raise ConfigError("fusion.sf_vector", self.sf_vector, (16, 32))
            if self.sf_type not in ("ue4m3", "ue8m0"):
                raise ConfigError("fusion.sf_type", self.sf_type, ("ue4m3", "ue8m0"))

    @property
    def sf_cpp(self) -> str:
        return {"ue4m3": "cutlass::float_ue4m3_t", "ue8m0": "cutlass::float_ue8m0_t"}[self.sf_type]

    def describe(self) -> str:
        if self.op.has_block_scale_factor:
            act = f"<{self.activation}>" if self.activation else ""
            return f"{self.op.value}{act}(vs={self.sf_vector},{self.sf_layout.value},{self.sf_type})"
        if self.activation:
            return f"{self.op.value}<{self.activation}>"
        return self.op.value

    def to_json(self) -> Any:
        if self.op.has_block_scale_factor:
            out = {"op": self.op.value, "sf_vector": self.sf_vector, "sf_layout": self.sf_layout.value,
                   "sf_type": self.sf_type}
            if self.activation:
                out["activation"] = self.activation
            return out
        return self.describe()

    @staticmethod
    def parse(value: Any, field: str = "fusion") -> "Fusion":
        if value is None:
            return Fusion()
        if isinstance(value, Fusion):
            return value
        allowed = ("LinearCombination", "LinCombEltAct<ACT> with ACT in " + "|".join(ACTIVATIONS),
                   '{"op": "LinCombBlockScaleFactor", "sf_vector": 16|32, "sf_layout": "row"|"col", '
                   '"sf_type": "ue4m3"|"ue8m0"}')
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(?:cutlass::epilogue::fusion::)?(\w+)\s*(?:<\s*(\w+)\s*>)?\s*", value)
            if not m:
                raise ConfigError(field, value, allowed)
            op = _parse_enum(FusionOp, field, m.group(1))
            if op.has_block_scale_factor:
                raise ConfigError(field, value, allowed, "block-scale-factor fusions need sf_vector, sf_layout "
                                                         "and sf_type: give an object")
            return Fusion(op, m.group(2))
        if isinstance(value, Mapping):
            unknown = set(value) - {"op", "activation", "sf_vector", "sf_layout", "sf_type"}
            if unknown:
                raise ConfigError(field, sorted(unknown)[0], "op, activation, sf_vector, sf_layout, sf_type",
                                  "unknown key")
            if "op" not in value:
                raise ConfigError(field + ".op", None, [f.value for f in FusionOp], "missing")
            op_text = value["op"]
            act = value.get("activation")
            if isinstance(op_text, str) and "<" in op_text:
                m = re.fullmatch(r"\s*(\w+)\s*<\s*(\w+)\s*>\s*", op_text)
                if m:
                    op_text, act = m.group(1), m.group(2)
            op = _parse_enum(FusionOp, field + ".op", op_text)
            sf_vector = value.get("sf_vector", 0)
            if not isinstance(sf_vector, int) or isinstance(sf_vector, bool):
                raise ConfigError(field + ".sf_vector", sf_vector, (16, 32))
            sf_layout = Layout.parse(value.get("sf_layout", "row"), field + ".sf_layout")
            return Fusion(op, act, sf_vector, sf_layout, str(value.get("sf_type", "")))
        raise ConfigError(field, value, allowed)


_TRTLLM_TILE = re.compile(r"\s*(?:CtaShape)?(\d+)x(\d+)x(\d+)(B?)\s*", re.IGNORECASE)


def parse_tile(value: Any, a: Optional[DType] = None, b: Optional[DType] = None, field: str = "tile"):
    """Parse a CTA tile: ``[M, N, K]`` in elements, ``"MxNxK"``, or a TensorRT-LLM name such as
    ``CtaShape128x256x64B`` whose K is in bytes (converted with the widest operand, as TensorRT-LLM's
    ``SHAPE_CASE`` does with the activation type)."""
    allowed = "[M, N, K] in elements, 'MxNxK', or a TensorRT-LLM tile name like 'CtaShape128x256x64B'"
    if isinstance(value, str):
        m = _TRTLLM_TILE.fullmatch(value)
        if not m:
            raise ConfigError(field, value, allowed)
        tm, tn, tk = (int(m.group(i)) for i in (1, 2, 3))
        if m.group(4):
            widest = max(t.bits for t in (a, b) if t is not None) if (a or b) else 8
            if (tk * 8) % widest:
                raise ConfigError(field, value, allowed, f"{tk} bytes is not a whole number of {widest}-bit elements")
            tk = tk * 8 // widest
        value = (tm, tn, tk)
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
        isinstance(x, int) and not isinstance(x, bool) for x in value
    ):
        if any(x <= 0 for x in value):
            raise ConfigError(field, list(value), allowed, "dimensions must be positive")
        return tuple(value)
    raise ConfigError(field, value, allowed)


def _parse_int_tuple(value: Any, n: int, field: str, allowed: str) -> tuple:
    if isinstance(value, str):
        parts = re.split(r"[x,\s]+", value.strip())
        try:
            value = [int(p) for p in parts if p]
        except ValueError:
            raise ConfigError(field, value, allowed) from None
    if isinstance(value, (list, tuple)) and len(value) == n and all(
        isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value
    ):
        return tuple(value)
    raise ConfigError(field, value, allowed)


CONFIG_KEYS = (
    "arch", "a", "b", "c", "d", "layout_cd", "tile", "cluster", "kernel_schedule", "epilogue_schedule",
    "epilogue_tile", "fusion", "stages", "mode", "kind", "scale_granularity", "cutlass",
)


@dataclass(frozen=True, eq=True)
class KernelConfig:
    """One CUTLASS grouped / ptr-array GEMM kernel configuration.

    Fields (the CLI's JSON keys are the same names):

    * ``arch``: sm90 | sm100 | sm120 | sm121.
    * ``kind``: dense | block_scaled | blockwise; inferred from the operand types when omitted.
    * ``a``, ``b``: operand types (bf16, f16, f32, e4m3, e5m2, nvfp4, mxfp4, mxfp6_e2m3, mxfp6_e3m2,
      mxfp8_e4m3, mxfp8_e5m2). A is K-major (row-major), B is K-major (column-major).
    * ``c``: source type or ``None`` (void); ``d``: output type (may be e2m1 with a block-scale-factor
      fusion); ``layout_cd``: row | col.
    * ``tile``: CTA tile (M, N, K) in elements; ``cluster``: (m, n, k).
    * ``kernel_schedule`` / ``epilogue_schedule``: CUTLASS names or ``auto``.
    * ``epilogue_tile``: ``None`` for EpilogueTileAuto, or (m, n).
    * ``fusion``: :class:`Fusion`.
    * ``stages``: an explicit ``StageCount<S>`` or a :class:`StageConvention`.
    * ``mode``: grouped | ptr_array.
    * ``scale_granularity``: (gM, gN, gK) for FP8 blockwise scaling.
    * ``cutlass``: the CUTLASS release whose headers the kernel is compiled against.
    """

    arch: Arch
    a: DType
    b: DType
    c: Optional[DType]
    d: DType
    tile: tuple
    kind: Kind = Kind.DENSE
    layout_cd: Layout = Layout.ROW
    cluster: tuple = (1, 1, 1)
    kernel_schedule: KernelSchedule = KernelSchedule.AUTO
    epilogue_schedule: EpilogueSchedule = EpilogueSchedule.AUTO
    epilogue_tile: Optional[tuple] = None
    fusion: Fusion = Fusion()
    stages: Stages = StageConvention.AUTO
    mode: Mode = Mode.GROUPED
    scale_granularity: Optional[tuple] = None
    cutlass: CutlassVersion = DEFAULT_VERSION

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        arch: Any,
        a: Any,
        b: Any = None,
        c: Any = None,
        d: Any = "bf16",
        tile: Any = (128, 128, 128),
        *,
        kind: Any = None,
        layout_cd: Any = "row",
        cluster: Any = (1, 1, 1),
        kernel_schedule: Any = "auto",
        epilogue_schedule: Any = "auto",
        epilogue_tile: Any = "auto",
        fusion: Any = None,
        stages: Any = "auto",
        mode: Any = "grouped",
        scale_granularity: Any = None,
        cutlass: Any = None,
    ) -> "KernelConfig":
        """Build a config from loose values (strings, lists, TensorRT-LLM tile names).

        ``b`` defaults to ``a``; ``c=None`` means a void source.
        """
        arch_v = Arch.parse(arch)
        a_v = DType.parse(a, "a")
        b_v = DType.parse(b if b is not None else a, "b")
        for name, t in (("a", a_v), ("b", b_v)):
            if not t.info.operand:
                raise ConfigError(name, t.value, [x.value for x in OPERAND_TYPES], "not an operand type")
        c_v = None if c in (None, "void", "none", "null") else DType.parse(c, "c")
        d_v = DType.parse(d, "d")
        for name, t in (("c", c_v), ("d", d_v)):
            if t is not None and not t.info.output:
                raise ConfigError(name, t.value, [x.value for x in OUTPUT_TYPES], "not an output type")
        if c_v is not None and c_v in (DType.E2M1, DType.E2M3, DType.E3M2):
            raise ConfigError("c", c_v.value, "bf16, f16, f32, e4m3, e5m2, or null (void)",
                              "sub-byte C is not supported")
        tile_v = parse_tile(tile, a_v, b_v)
        if kind is None:
            if a_v.is_block_scaled or b_v.is_block_scaled:
                kind_v = Kind.BLOCK_SCALED
            elif scale_granularity is not None or (
                isinstance(kernel_schedule, str) and ("Blockwise" in kernel_schedule)
            ):
                kind_v = Kind.BLOCKWISE
            else:
                kind_v = Kind.DENSE
        else:
            kind_v = Kind.parse(kind)
        if epilogue_tile in (None, "auto", "Auto", "EpilogueTileAuto"):
            epi_tile_v = None
        else:
            epi_tile_v = _parse_int_tuple(epilogue_tile, 2, "epilogue_tile", '"auto" or [m, n]')
        sg = None
        if scale_granularity is not None:
            sg = _parse_int_tuple(scale_granularity, 3, "scale_granularity", "[gM, gN, gK] of positive integers")
        from .contract import require_cutlass

        version = require_cutlass("cutlass", cutlass, DEFAULT_VERSION)
        return cls(
            arch=arch_v,
            a=a_v,
            b=b_v,
            c=c_v,
            d=d_v,
            tile=tile_v,
            kind=kind_v,
            layout_cd=Layout.parse(layout_cd),
            cluster=_parse_int_tuple(cluster, 3, "cluster", "[m, n, k] of positive integers"),
            kernel_schedule=KernelSchedule.parse(kernel_schedule),
            epilogue_schedule=EpilogueSchedule.parse(epilogue_schedule),
            epilogue_tile=epi_tile_v,
            fusion=Fusion.parse(fusion),
            stages=parse_stages(stages),
            mode=Mode.parse(mode),
            scale_granularity=sg,
            cutlass=version,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "KernelConfig":
        """Build a config from the CLI's JSON object (keys: :data:`CONFIG_KEYS`)."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", data, "a JSON object with keys " + ", ".join(CONFIG_KEYS))
        unknown = [k for k in data if k not in CONFIG_KEYS]
        if unknown:
            raise ConfigError(unknown[0], data[unknown[0]], CONFIG_KEYS, "unknown key")
        for required in ("arch", "a"):
            if required not in data:
                raise ConfigError(required, None, "a value (required key)")
        kwargs = {k: v for k, v in data.items() if k not in ("arch", "a")}
        return cls.create(data["arch"], data["a"], **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "KernelConfig":
        """Build a config from a JSON object's text (bounded in size, depth and integer length)."""
        from .contract import json_document

        return cls.from_dict(json_document("config", text, expect=dict))

    def to_dict(self) -> dict:
        """The JSON form; ``KernelConfig.from_dict(cfg.to_dict()) == cfg``."""
        return {
            "arch": self.arch.value,
            "kind": self.kind.value,
            "a": self.a.value,
            "b": self.b.value,
            "c": self.c.value if self.c else None,
            "d": self.d.value,
            "layout_cd": self.layout_cd.value,
            "tile": list(self.tile),
            "cluster": list(self.cluster),
            "kernel_schedule": self.kernel_schedule.value,
            "epilogue_schedule": self.epilogue_schedule.value,
            "epilogue_tile": list(self.epilogue_tile) if self.epilogue_tile else "auto",
            "fusion": self.fusion.to_json(),
            "stages": self.stages if isinstance(self.stages, int) else self.stages.value,
            "mode": self.mode.value,
            "scale_granularity": list(self.scale_granularity) if self.scale_granularity else None,
            "cutlass": str(self.cutlass),
        }

    def replace(self, **changes: Any) -> "KernelConfig":
        """A copy with some fields changed (values may be loose, as for :meth:`create`)."""
        data = self.to_dict()
        for k, v in changes.items():
            if isinstance(v, enum.Enum):
                v = v.value
            elif isinstance(v, Fusion):
                v = v.to_json()
            elif isinstance(v, CutlassVersion):
                v = str(v)
            data[k] = v
        if "kind" not in changes and ("a" in changes or "b" in changes):
            data.pop("kind")
        return KernelConfig.from_dict(data)

    def __hash__(self) -> int:
        # cached: configs are hashed by every memoized layout function (enum hashing is slow in Python)
        d = self.__dict__
        h = d.get("_hash")
        if h is None:
            sfh = d.get("_sf_hash")
            if sfh is None:
                # Enum members hash by name in Python code (slow); their string values hash natively and equal
                # configs have equal values, so the hash stays consistent with __eq__. Everything but the stage
                # count is hashed once and shared by with_stages() copies.
                f, v = d["fusion"], d["cutlass"]
                sfh = hash((d["arch"].value, d["a"].value, d["b"].value, d["c"].value if d["c"] else None,
                            d["d"].value, d["tile"], d["kind"].value, d["layout_cd"].value, d["cluster"],
                            d["kernel_schedule"].value, d["epilogue_schedule"].value, d["epilogue_tile"],
                            (f.op.value, f.activation, f.sf_vector, f.sf_layout.value, f.sf_type),
                            d["mode"].value, d["scale_granularity"], (v.major, v.minor, v.patch)))
                object.__setattr__(self, "_sf_hash", sfh)
            st = d["stages"]
            h = hash((sfh, st if isinstance(st, int) else st.value))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        # cached hashes depend on the process's string-hash seed; caches are rebuilt on demand
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def stage_free(self) -> "KernelConfig":
        """This config with ``stages='auto'``: the key of everything that does not depend on the stage count."""
        sf = self.__dict__.get("_stage_free")
        if sf is None:
            if self.stages is StageConvention.AUTO:
                sf = self
            else:
                sf = self._copy_with_stages(StageConvention.AUTO)
            object.__setattr__(self, "_stage_free", sf)
        return sf

    def with_stages(self, stages: Stages) -> "KernelConfig":
        """The same config with another stage count or convention (fast path for searches)."""
        return self._copy_with_stages(parse_stages(stages))

    def _copy_with_stages(self, stages: Stages) -> "KernelConfig":
        # Every other field is already validated: copy them instead of re-running the dataclass __init__
        # (dataclasses.replace costs ~20 us, which dominated stage searches).
        new = object.__new__(KernelConfig)
        d = new.__dict__
        d.update(self.__dict__)  # keeps _sf_hash and _stage_free: neither depends on the stage count
        d.pop("_hash", None)
        d.pop("_footprint", None)
        d["stages"] = stages
        if stages is StageConvention.AUTO:
            d["_stage_free"] = new
        return new

    # -- derived facts ------------------------------------------------------------------------
    @property
    def tile_m(self) -> int:
        return self.tile[0]

    @property
    def tile_n(self) -> int:
        return self.tile[1]

    @property
    def tile_k(self) -> int:
        return self.tile[2]

    @property
    def stage_convention(self) -> Optional[StageConvention]:
        return self.stages if isinstance(self.stages, StageConvention) else None

    def name(self) -> str:
        """A short procedural name, e.g. ``sm120_nvfp4_128x128x128_c1x1x1_coop_tma_auto_bf16``."""
        sched = self.kernel_schedule
        sched_txt = "auto" if sched is KernelSchedule.AUTO else ("pp" if sched.is_pingpong else "co")
        if "BlockScaled" in sched.value or "Blockwise" in sched.value or "FastAccum" in sched.value:
            sched_txt += {"B": "bs", "F": "fa"}["BlockScaled" in sched.value and "B" or
                                                  "Blockwise" in sched.value and "B" or "F"]
        if sched.info.two_sm:
            sched_txt += "2sm"
        epi = self.epilogue_schedule
        epi_txt = "auto" if epi is EpilogueSchedule.AUTO else ("nosmem" if epi.no_smem else "tma")
        ab = self.a.value if self.a is self.b else f"{self.a.value}x{self.b.value}"
        stages = self.stages if isinstance(self.stages, int) else self.stages.value
        st = f"s{stages}" if isinstance(stages, int) else stages
        c = self.c.value if self.c else "void"
        parts = [
            self.arch.value, ab, "x".join(map(str, self.tile)), "c" + "x".join(map(str, self.cluster)),
            sched_txt, epi_txt, st, f"{c}_{self.d.value}{'' if self.layout_cd is Layout.ROW else 'col'}",
        ]
        if self.fusion.op is not FusionOp.LINEAR_COMBINATION:
            parts.append(self.fusion.describe().replace("<", "_").replace(">", "").replace(",", "_")
                         .replace("(", "_").replace(")", "").replace("=", ""))
        if self.mode is Mode.PTR_ARRAY:
            parts.append("ptrarray")
        if self.scale_granularity:
            parts.append("g" + "x".join(map(str, self.scale_granularity)))
        if self.epilogue_tile:
            parts.append("e" + "x".join(map(str, self.epilogue_tile)))
        parts.append("v" + str(self.cutlass).replace(".", ""))
        return "_".join(parts)


def configs_from_jsonl(data: "bytes | str | Iterable[str]", field: str = "configs") -> list:
    """Parse one JSON object per line; a ``KernelConfig`` or the line's error per non-blank line, in order
    (lines starting with ``#`` are skipped). A bad line -- not UTF-8, not JSON, too deep, a huge integer, a
    bad field -- gets its own error; it never stops the others."""
    from .contract import json_lines

    if not isinstance(data, (bytes, str)):
        data = "\n".join(line.rstrip("\n") for line in data)
    return [a.value if a.ok else a.error for a in json_lines(field, data, KernelConfig.from_dict)]


__all__ = [
    "Arch", "Kind", "DType", "Layout", "Mode", "StageConvention", "KernelSchedule", "EpilogueSchedule",
    "FusionOp", "Fusion", "KernelConfig", "parse_tile", "parse_stages", "configs_from_jsonl", "CONFIG_KEYS",
    "ACTIVATIONS", "OPERAND_TYPES", "OUTPUT_TYPES",
]
