"""A Triton fused-MoE kernel config: which kernel variant, which Triton release and target, and the launch
meta-parameters the tuning scripts of vLLM and SGLang search (``BLOCK_SIZE_M/N/K``, ``GROUP_SIZE_M``,
``num_warps``, ``num_stages``).

The variants are the ``dtype`` strings of vLLM's tuned config files (``_get_config_dtype_str``:
``fp8_w8a8``, ``int8_w8a8``, ``int8_w8a16``, ``int4_w4a16``, none for bf16/f16) with the FP8 scale granularity
spelled out, because it changes the kernel (per-tensor, per-channel, 128x128 block scales):

* ``bf16`` / ``f16``: ``fused_moe_kernel`` with 16-bit A and B;
* ``fp8_w8a8``, ``fp8_w8a8_channel``, ``fp8_w8a8_block``: e4m3 A and B, per-tensor / per-token-and-channel /
  ``block_shape=[128, 128]`` scales (the block variant loads one A and one B scale vector per K step);
* ``int8_w8a8``: int8 A and B, per-tensor scales;
* ``int8_w8a16``, ``int4_w4a16``: the weight-only ``fused_moe_kernel_gptq_awq`` (B dequantized in the loop).

Every field is checked through :mod:`smem_tactics.contract` and a bad one names itself and what is allowed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..contract import bad, require_choice, require_instance, require_int, require_str
from ..errors import ConfigError, VersionError


class Variant(enum.Enum):
    BF16 = "bf16"
    F16 = "f16"
    FP8_W8A8 = "fp8_w8a8"
    FP8_W8A8_CHANNEL = "fp8_w8a8_channel"
    FP8_W8A8_BLOCK = "fp8_w8a8_block"
    INT8_W8A8 = "int8_w8a8"
    INT8_W8A16 = "int8_w8a16"
    INT4_W4A16 = "int4_w4a16"

    @property
    def a_bytes(self) -> int:
        """Bytes of one A element (the activation as the kernel loads it)."""
        return 1 if self in (Variant.FP8_W8A8, Variant.FP8_W8A8_CHANNEL, Variant.FP8_W8A8_BLOCK,
                             Variant.INT8_W8A8) else 2

    @property
    def weight_only(self) -> bool:
        return self in (Variant.INT8_W8A16, Variant.INT4_W4A16)

    @property
    def fp8(self) -> bool:
        return self.value.startswith("fp8")

    @property
    def framework_dtype(self) -> Optional[str]:
        """The ``dtype=`` of vLLM's/SGLang's config file names (``None``: no dtype in the name)."""
        return None if self in (Variant.BF16, Variant.F16) else self.value.replace("_channel", "").replace(
            "_block", "")


VARIANTS = tuple(v.value for v in Variant)

#: Targets: compute capability of each ``target`` name (``GPUTarget("cuda", cc, 32)``).
TARGETS = {"sm80": 80, "sm86": 86, "sm89": 89, "sm90": 90, "sm100": 100, "sm120": 120, "sm121": 121}

#: Triton releases the model knows (each compiled against: docs/triton.md has the counts per target).
RELEASES = ("3.6.0", "3.9.0")

KERNELS = ("fused_moe",)

#: Bounds of the launch parameters (powers of two; larger tiles exceed every GPU's shared memory).
BLOCK_RANGE = (16, 256)
MAX_GROUP_M = 256
WARPS = (1, 2, 4, 8, 16, 32)
MAX_STAGES = 16
#: Weight-only quantization groups along K (GPTQ/AWQ ``group_size``; vLLM's ``moe_wna16`` accepts these).
GROUP_SIZES = (32, 64, 128)
DEFAULT_GROUP_SIZE = 128


def parse_release(value: Any, field: str = "triton") -> str:
    """A Triton release as ``MAJOR.MINOR.PATCH`` (``3.6`` and ``v3.6.0`` accepted); unknown ones are refused."""
    text = require_str(field, value, ", ".join(RELEASES))
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:\+.*)?", text)
    if not m:
        raise VersionError(f"{field}: {value!r} is not a Triton release number; allowed: {', '.join(RELEASES)}")
    release = f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}"
    if release not in RELEASES:
        raise VersionError(f"{field}: {value!r} is not a Triton release the model was compiled against; allowed: "
                           f"{', '.join(RELEASES)}")
    return release


def parse_target(value: Any, field: str = "target") -> str:
    """``sm120``, ``sm_120``, ``120`` or ``12.0`` -> ``sm120``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"sm{value}"
    text = require_str(field, value, ", ".join(TARGETS)).lower().replace("_", "").replace("cc", "sm")
    if re.fullmatch(r"\d+\.\d", text):
        text = "sm" + text.replace(".", "")
    elif text.isdigit():
        text = "sm" + text
    if text not in TARGETS:
        raise bad(field, value, list(TARGETS))
    return text


def _power_of_two(field: str, value: Any, lo: int, hi: int) -> int:
    n = require_int(field, value, lo, hi, "a power of two")
    if n & (n - 1):
        raise bad(field, value, f"a power of two from {lo} to {hi}", "not a power of two")
    return n


@dataclass(frozen=True)
class TritonConfig:
    """One launch of the fused-MoE kernel: variant, release, target and meta-parameters.

    ``aligned`` is the specialization fact Triton keys on: every pointer 16-byte aligned and every stride and
    extent it divides by (K, N) a multiple of 16 (Triton marks such arguments ``tt.divisibility = 16``).
    ``k`` (the GEMM's K, optional) makes ``aligned`` false when ``k % 16 != 0``.
    """

    dtype: Variant
    target: str
    triton: str
    block_m: int
    block_n: int
    block_k: int
    group_m: int
    num_warps: int
    num_stages: int
    kernel: str = "fused_moe"
    k: Optional[int] = None
    aligned: bool = True
    #: weight-only variants: the quantization group along K (``block_shape[1]``) and AWQ zero points
    group_size: int = DEFAULT_GROUP_SIZE
    zero_points: bool = False

    @property
    def cc(self) -> int:
        return TARGETS[self.target]

    @property
    def specialized_aligned(self) -> bool:
        """Whether Triton sees 16-divisible pointers/strides (``aligned`` and, when given, ``K % 16 == 0``)."""
        return self.aligned and (self.k is None or self.k % 16 == 0)

    @classmethod
    def create(cls, dtype: Any, target: Any, triton: Any = RELEASES[0], *, block_m: Any, block_n: Any, block_k: Any,
               group_m: Any = 1, num_warps: Any = 4, num_stages: Any = 2, kernel: Any = "fused_moe",
               k: Any = None, aligned: Any = True, group_size: Any = DEFAULT_GROUP_SIZE,
               zero_points: Any = False) -> "TritonConfig":
        if isinstance(dtype, Variant):
            variant = dtype
        else:
            variant = Variant(require_choice("dtype", dtype, VARIANTS))
        kern = require_choice("kernel", kernel, KERNELS)
        if not isinstance(aligned, bool):
            raise bad("aligned", aligned, "true or false")
        if not isinstance(zero_points, bool):
            raise bad("zero_points", zero_points, "true or false")
        group = require_int("group_size", group_size, GROUP_SIZES[0], GROUP_SIZES[-1], "32, 64, 128")
        if group not in GROUP_SIZES:
            raise bad("group_size", group_size, list(GROUP_SIZES))
        if not variant.weight_only and (zero_points or group != DEFAULT_GROUP_SIZE):
            raise bad("zero_points" if zero_points else "group_size", zero_points if zero_points else group_size,
                      "only with int8_w8a16 / int4_w4a16 (the weight-only kernel)")
        return cls(
            dtype=variant,
            target=parse_target(target),
            triton=parse_release(triton),
            block_m=_power_of_two("BLOCK_SIZE_M", block_m, *BLOCK_RANGE),
            block_n=_power_of_two("BLOCK_SIZE_N", block_n, *BLOCK_RANGE),
            block_k=_power_of_two("BLOCK_SIZE_K", block_k, *BLOCK_RANGE),
            group_m=require_int("GROUP_SIZE_M", group_m, 1, MAX_GROUP_M),
            num_warps=_power_of_two("num_warps", num_warps, WARPS[0], WARPS[-1]),
            num_stages=require_int("num_stages", num_stages, 1, MAX_STAGES),
            kernel=kern,
            k=None if k is None else require_int("K", k, 1, 1 << 20),
            aligned=aligned,
            group_size=group,
            zero_points=zero_points,
        )

    #: JSON keys (the framework's own spelling for the meta-parameters).
    KEYS = ("kernel", "dtype", "target", "triton", "BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M",
            "num_warps", "num_stages", "K", "aligned", "group_size", "zero_points", "limit")

    @classmethod
    def from_dict(cls, d: Any, defaults: Optional[Mapping[str, Any]] = None) -> "TritonConfig":
        """From a JSON object of the CLI schema (``limit`` is read by the caller, ignored here)."""
        require_instance("config", d, dict, "a JSON object")
        merged = dict(defaults or {})
        merged.update(d)
        unknown = sorted(set(merged) - set(cls.KEYS))
        if unknown:
            raise ConfigError(unknown[0], merged[unknown[0]], ", ".join(cls.KEYS), "unknown key")
        for key in ("dtype", "target", "BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps", "num_stages"):
            if key not in merged:
                raise ConfigError(key, None, "required", "missing")
        return cls.create(merged["dtype"], merged["target"], merged.get("triton", RELEASES[0]),
                          block_m=merged["BLOCK_SIZE_M"], block_n=merged["BLOCK_SIZE_N"],
                          block_k=merged["BLOCK_SIZE_K"], group_m=merged.get("GROUP_SIZE_M", 1),
                          num_warps=merged["num_warps"], num_stages=merged["num_stages"],
                          kernel=merged.get("kernel", "fused_moe"), k=merged.get("K"),
                          aligned=merged.get("aligned", True),
                          group_size=merged.get("group_size", DEFAULT_GROUP_SIZE),
                          zero_points=merged.get("zero_points", False))

    def meta(self) -> dict:
        """The framework's config entry (vLLM/SGLang JSON values)."""
        return {"BLOCK_SIZE_M": self.block_m, "BLOCK_SIZE_N": self.block_n, "BLOCK_SIZE_K": self.block_k,
                "GROUP_SIZE_M": self.group_m, "num_warps": self.num_warps, "num_stages": self.num_stages}

    def to_dict(self) -> dict:
        d = {"kernel": self.kernel, "dtype": self.dtype.value, "target": self.target, "triton": self.triton}
        d.update(self.meta())
        if self.k is not None:
            d["K"] = self.k
        d["aligned"] = self.aligned
        if self.dtype.weight_only:
            d["group_size"] = self.group_size
            d["zero_points"] = self.zero_points
        return d

    def name(self) -> str:
        return (f"{self.target}_{self.dtype.value}_{self.block_m}x{self.block_n}x{self.block_k}_g{self.group_m}"
                f"_w{self.num_warps}_s{self.num_stages}" + ("" if self.specialized_aligned else "_unaligned")
                + (f"_gs{self.group_size}" + ("_zp" if self.zero_points else "") if self.dtype.weight_only else ""))


__all__ = ["Variant", "VARIANTS", "TARGETS", "RELEASES", "KERNELS", "TritonConfig", "parse_release", "parse_target"]
