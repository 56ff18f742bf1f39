"""FlashInfer plug-in: the CUTLASS fused-MoE runner's tactics that cannot fit the device are never profiled.

    from smem_tactics.integrations import flashinfer as smem_flashinfer
    smem_flashinfer.install()            # or install(gpu="gb10") to name the device
    ...                                  # flashinfer.fused_moe.cutlass_fused_moe under autotune()
    smem_flashinfer.uninstall()

FlashInfer defines its CUTLASS ``MoERunner`` inside ``get_cutlass_fused_moe_module()`` (one class per backend),
so the plug-in wraps ``flashinfer.autotuner.AutoTuner.choose_one``: on the first ``trtllm::fused_moe::gemm1`` /
``gemm2`` call it wraps that runner class's ``get_valid_tactics`` (class level, once). Tactic values follow
FlashInfer's combined vector (GEMM2 values start after GEMM1's), as in the catalog.
"""

from __future__ import annotations

import functools
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

_state: dict = {"pruner": None, "choose_one": None, "tuner_cls": None, "wrapped": []}

#: FlashInfer's answer to "nothing to profile": its own MoERunner.get_valid_tactics returns ``[-1]`` for an empty
#: stage "so the autotuner contract is never violated with an empty list" (fused_moe/core.py, 0.6.9 and later
#: wheels); the tuner then runs the fallback tactic -1.
EMPTY = (-1,)
EMPTY_CONVENTION = "FlashInfer: [-1], the fallback tactic, as its own MoERunner returns for an empty stage"


def installed_version() -> Optional[str]:
    """The installed flashinfer-python version (from package metadata; nothing is imported)."""
    return package_version("flashinfer-python", "flashinfer")


def is_cutlass_moe_runner(runner: Any) -> bool:
    """FlashInfer's CUTLASS fused-MoE runner (or a stand-in with the same surface)."""
    inner = getattr(runner, "fused_moe_runner", None)
    return (inner is not None and hasattr(runner, "x_dtype") and hasattr(runner, "weight_dtype")
            and (hasattr(inner, "get_gemm1_tactic_count") or hasattr(inner, "get_tactic_num")))


def _gemm_of(runner: Any, kwargs: dict) -> Optional[int]:
    stage = getattr(runner, "gemm_idx_for_tuning", None)
    return stage if stage in (1, 2) else kwargs.get("gemm_idx")


def runner_facts(runner: Any, kwargs: dict) -> RunnerFacts:
    gemm = _gemm_of(runner, kwargs)
    count = None
    inner = runner.fused_moe_runner
    if gemm in (1, 2) and hasattr(inner, "get_gemm1_tactic_count"):
        count = int(inner.get_gemm1_tactic_count() if gemm == 1 else inner.get_gemm2_tactic_count())
    return RunnerFacts(
        dtype=dtype_path(runner.x_dtype, runner.weight_dtype,
                         mxfp8_act_scaling=bool(getattr(runner, "use_mxfp8_act_scaling", False)),
                         w4_group_scaling=bool(getattr(runner, "use_w4_group_scaling", False)),
                         deepseek_fp8_block_scale=bool(getattr(runner, "use_deepseek_fp8_block_scale", False)),
                         packed_weights=bool(getattr(runner, "use_packed_weights", False))),
        gemm=gemm,
        finalize=bool(getattr(runner, "use_fused_finalize", True)),  # 0.6.4 has no switch: always on
        output=output_name(getattr(runner, "output_dtype", None)),
        activation=getattr(runner, "activation_type", None),
        runner_count=count,
    )


def _op_of(runner: Any, kwargs: dict) -> str:
    gemm = _gemm_of(runner, kwargs)
    return MOE_OPS[gemm - 1] if gemm in (1, 2) else "trtllm::fused_moe"


def _wrap_runner_class(cls: type) -> None:
    if wrap_get_valid_tactics(cls, _op_of, runner_facts, lambda: _state["pruner"]):
        _state["wrapped"].append(cls)


def install(gpu: Optional[str] = None, arch: Optional[str] = None, limit: Optional[int] = None,
            cutlass: Sequence[str] = (), version: Optional[str] = None, runner_classes: Sequence[type] = (),
            logger: Optional[logging.Logger] = None) -> Pruner:
    """Start pruning FlashInfer's CUTLASS MoE tactics. Idempotent; returns the active :class:`Pruner`.

    ``gpu`` / ``arch`` / ``limit`` name the device (default: the local GPU); ``cutlass`` overrides the CUTLASS
    releases verdicts use (default: the one the FlashInfer version ships); ``version`` overrides the detected
    FlashInfer version; ``runner_classes`` are wrapped right away (otherwise on their first tuning call).
    """
    from flashinfer.autotuner import AutoTuner  # lazy: only install() imports the framework

    pruner = Pruner("flashinfer", version or installed_version(), resolve_device(gpu, arch, limit), cutlass,
                    logger or LOG, empty=EMPTY, empty_convention=EMPTY_CONVENTION)
    _state["pruner"] = pruner
    if _state["choose_one"] is None:
        original = AutoTuner.choose_one

        @functools.wraps(original)
        def choose_one(self, custom_op, runners, *args, **kwargs):
            if custom_op in MOE_OPS and _state["pruner"] is not None:
                for r in runners:
                    try:
                        if is_cutlass_moe_runner(r):
                            _wrap_runner_class(type(r))
                    except Exception as e:  # noqa: BLE001 -- never break the tuner
                        pruner_now = _state["pruner"]
                        if pruner_now is not None:
                            pruner_now._once(logging.WARNING, ("wrap", type(r).__name__),
                                             f"smem_tactics: could not wrap {type(r).__name__} ({e}); its tactics "
                                             f"pass through")
            return original(self, custom_op, runners, *args, **kwargs)

        _state["choose_one"], _state["tuner_cls"] = original, AutoTuner
        AutoTuner.choose_one = choose_one
    for cls in runner_classes:
        _wrap_runner_class(cls)
    return pruner


def uninstall() -> None:
    """Restore FlashInfer's ``choose_one`` and every wrapped ``get_valid_tactics``."""
    if _state["choose_one"] is not None:
        _state["tuner_cls"].choose_one = _state["choose_one"]
    for cls in _state["wrapped"]:
        unwrap_get_valid_tactics(cls)
    _state.update(pruner=None, choose_one=None, tuner_cls=None, wrapped=[])


def is_installed() -> bool:
    return _state["pruner"] is not None


def installed(**kwargs: Any):
    """``with installed(gpu="gb10"):`` -- install for the block, then restore what was there."""
    return temporarily_installed(sys.modules[__name__], **kwargs)


__all__ = ["install", "uninstall", "installed", "is_installed", "installed_version", "runner_facts",
           "is_cutlass_moe_runner"]
