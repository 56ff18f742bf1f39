"""TensorRT-LLM plug-in: the CUTLASS fused-MoE runner's tactics that cannot fit the device are never profiled.

    from smem_tactics.integrations import tensorrt_llm as smem_trtllm
    smem_trtllm.install()                # before the LLM warms up / autotunes
    smem_trtllm.uninstall()

It wraps ``get_valid_tactics`` of ``MoERunner`` in ``tensorrt_llm._torch.custom_ops.torch_custom_ops`` (the
runner behind ``trtllm::fused_moe::gemm1`` / ``gemm2``; 1.2.x and main line: ``get_valid_tactics(inputs, profile,
**kwargs)`` returns ``range(fused_moe_runner.get_tactic_num(kwargs["gemm_idx"]))``). The installed version picks
its catalog (1.2.x, 1.3.x, main line; newer versions runtime-checked) and its activation enum (main line: the int
of ``tensorrt_llm._torch.utils.ActivationType``, Swiglu 5 / Geglu 6; a 1.2 runner carries none). ``forward`` (and the
tuner's ``do_preparation`` call) is untouched and no attribute is added to runners, so ``hash(runner)`` --
part of TensorRT-LLM 1.2's cache key -- and ``unique_id()`` of newer versions stay what they were.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional, Sequence

from . import (
    LOG,
    MOE_OPS,
    Pruner,
    RunnerFacts,
    dtype_path,
    output_name,
    package_version,
    resolve_device,
    temporarily_installed,
    unwrap_get_valid_tactics,
    wrap_get_valid_tactics,
)

RUNNER_MODULE = "tensorrt_llm._torch.custom_ops.torch_custom_ops"
_state: dict = {"pruner": None, "wrapped": []}

#: TensorRT-LLM's answer to an empty list (autotuner.py, 1.2.0rc2 and main line): nothing is profiled, choose_one
#: warns "No valid runner/tactic was found ..." and falls back to tactic -1.
EMPTY = ()
EMPTY_CONVENTION = "TensorRT-LLM: [], on which its tuner warns and runs the fallback tactic -1"


def installed_version() -> Optional[str]:
    """The installed tensorrt_llm version from package metadata (importing tensorrt_llm needs a GPU driver)."""
    return package_version("tensorrt_llm", "tensorrt-llm")


def runner_facts(runner: Any, kwargs: dict) -> RunnerFacts:
    gemm = kwargs.get("gemm_idx")
    count = None
    inner = getattr(runner, "fused_moe_runner", None)
    if gemm in (1, 2) and inner is not None and hasattr(inner, "get_tactic_num"):
        count = int(inner.get_tactic_num(gemm))
    return RunnerFacts(
        dtype=dtype_path(runner.x_dtype, runner.weight_dtype,
                         mxfp8_act_scaling=bool(getattr(runner, "use_mxfp8_act_scaling", False)),
                         w4_group_scaling=bool(getattr(runner, "use_w4_group_scaling", False)),
                         deepseek_fp8_block_scale=bool(getattr(runner, "use_deepseek_fp8_block_scale", False))),
        gemm=gemm,
        finalize=bool(getattr(runner, "use_fused_finalize", True)),
        output=output_name(getattr(runner, "output_dtype", None)),
        activation=getattr(runner, "activation_type", None),
        runner_count=count,
    )


def _op_of(runner: Any, kwargs: dict) -> str:
    gemm = kwargs.get("gemm_idx")
    return MOE_OPS[gemm - 1] if gemm in (1, 2) else "trtllm::fused_moe"


def _default_runner_class() -> type:
    import importlib

    return importlib.import_module(RUNNER_MODULE).MoERunner  # lazy: only install() imports the framework


def install(gpu: Optional[str] = None, arch: Optional[str] = None, limit: Optional[int] = None,
            cutlass: Sequence[str] = (), version: Optional[str] = None, runner_class: Optional[type] = None,
            logger: Optional[logging.Logger] = None) -> Pruner:
    """Start pruning TensorRT-LLM's CUTLASS MoE tactics. Idempotent; returns the active :class:`Pruner`.

    ``gpu`` / ``arch`` / ``limit`` name the device (default: the local GPU); ``cutlass`` names the CUTLASS
    release(s) the wheel was built with (default: both 4.4.1-era and 4.4.2+ rules for 1.2.x; a tactic is pruned
    only if it fails under all); ``version`` overrides the detected TensorRT-LLM version; ``runner_class``
    replaces ``MoERunner`` (tests, forks).
    """
    cls = runner_class or _default_runner_class()
    pruner = Pruner("trtllm", version or installed_version(), resolve_device(gpu, arch, limit), cutlass,
                    logger or LOG, empty=EMPTY, empty_convention=EMPTY_CONVENTION)
    _state["pruner"] = pruner
    if wrap_get_valid_tactics(cls, _op_of, runner_facts, lambda: _state["pruner"]):
        _state["wrapped"].append(cls)
    return pruner


def uninstall() -> None:
    """Restore every wrapped ``get_valid_tactics``."""
    for cls in _state["wrapped"]:
        unwrap_get_valid_tactics(cls)
    _state.update(pruner=None, wrapped=[])


def is_installed() -> bool:
    return _state["pruner"] is not None


def installed(**kwargs: Any):
    """``with installed(gpu="gb10"):`` -- install for the block, then restore what was there."""
    return temporarily_installed(sys.modules[__name__], **kwargs)


__all__ = ["install", "uninstall", "installed", "is_installed", "installed_version", "runner_facts", "RUNNER_MODULE"]
