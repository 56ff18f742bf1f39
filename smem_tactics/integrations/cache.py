"""Write a framework's own autotuner cache from our verdicts, so inference never explores an unfit tactic.

The chosen tactic per GEMM is the first one in the framework's own order that fits the device (the C++
heuristic lists its preferred tiles first, and entry 0 is what the runner falls back to untuned). It is
**chosen without timing**: the cache makes every tuning bucket hit a fitting tactic; profiling on the device
(with the plug-in installed) is still how to find the fastest one.

* :func:`choose_tactics`: the choice, framework-independent (no framework import).
* :func:`write_flashinfer_cache`: FlashInfer 0.7.x's file cache (``autotune(cache=path)``); keys exclude the
  runner hash, so the file works in any later process.
* :func:`write_trtllm_cache`: TensorRT-LLM's JSON cache (read through ``TLLM_AUTOTUNER_CACHE_PATH``). 1.2.x keys
  contain ``hash(runner)``, so this runs in the process that owns the runner, through TensorRT-LLM's own
  ``AutoTuner`` (key computation and ``save_cache``), and writes ``<path stem>.rank<rank>.json`` (what
  ``autotune(cache_path=..., rank=...)`` loads) plus ``path`` itself (whose existence turns tuning off).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from . import MOE_OPS, NoFittingTacticError, resolve_device


@dataclass(frozen=True)
class CacheChoice:
    gemm: int
    op: str
    tactic: Any  # the value the tuner stores (FlashInfer: combined index)
    description: str
    total_bytes: Optional[int]


def choose_tactics(framework: str, version: str, dtype: str, *, gpu: Optional[str] = None, arch: Optional[str] = None,
                   limit: Optional[int] = None, finalize: Optional[bool] = None, output: str = "bf16",
                   activation: str = "swiglu", cutlass: Sequence[str] = ()) -> list:
    """One :class:`CacheChoice` per MoE GEMM: the first tactic (framework order) that fits under every CUTLASS
    release considered. Raises :class:`NoFittingTacticError` if a GEMM has none, and
    :class:`~smem_tactics.errors.SmemTacticsError` subclasses for an unknown framework/version/device/dtype."""
    from ..catalogs import judge_all, resolve_version, tactics
    from ..errors import DeviceError

    fv = resolve_version(framework, version)
    device = resolve_device(gpu, arch, limit)
    if not device.known:
        raise DeviceError("device: no GPU found and none named; give gpu=, arch= or limit= to choose tactics for")
    versions = tuple(cutlass) or fv.default_cutlass
    out = []
    for gemm in (1, 2):
        listing = tactics(fv.framework, fv.key, device.arch, dtype, gemm, finalize)
        per_version = [judge_all(listing, device.limit_bytes, v, output, activation) for v in versions]
        chosen = next((i for i in range(len(listing)) if all(vs[i].fits and vs[i].total_bytes is not None
                                                             for vs in per_version)), None)
        if chosen is None:
            raise NoFittingTacticError(f"{MOE_OPS[gemm - 1]}: no {fv.label} {dtype} tactic has a modelled size that "
                                       f"fits {device.name} ({device.limit_bytes} B)")
        t, v = listing[chosen], per_version[0][chosen]
        out.append(CacheChoice(gemm, MOE_OPS[gemm - 1], t.value, t.short(), v.total_bytes))
    return out


def write_flashinfer_cache(path: "str | os.PathLike", runner: Any, inputs: Sequence[Any], choices: Sequence[CacheChoice],
                           tuning_config: Any = None) -> int:
    """Add one entry per tuning bucket and MoE GEMM to FlashInfer's JSON cache at ``path`` (other entries are
    kept). ``runner`` is the CUTLASS ``MoERunner`` instance (or any runner with the same class name and
    ``get_cache_key_extras``), ``inputs`` the tensors FlashInfer passes to ``choose_one`` ([x, fc1_w, fc1_b,
    fc2_w, fc2_b]). Returns the number of entries written. Uses FlashInfer's own profile generation and key
    format (``ProfilingCacheKey.file_key``)."""
    from flashinfer.autotuner import AutoTuner, _collect_metadata, _tactic_to_json  # lazy

    tuner = AutoTuner.get()
    config = tuning_config if tuning_config is not None else type(runner).tuning_config
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("_metadata", _collect_metadata())
    extras = runner.get_cache_key_extras(list(inputs))
    written = 0
    for choice in choices:
        for profile in tuner._generate_optimization_profiles(config, list(inputs)):
            key = AutoTuner._get_cache_key(choice.op, runner, profile.get_opt_shapes(), config, extras)
            data[key.file_key] = [type(runner).__name__, _tactic_to_json(choice.tactic)]
            written += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return written


def write_trtllm_cache(path: "str | os.PathLike", runner: Any, inputs: Sequence[Any], choices: Sequence[CacheChoice],
                       tuning_config: Any = None, rank: int = 0, tuner: Any = None) -> list:
    """Seed TensorRT-LLM's profiling cache with ``choices`` for every tuning bucket of ``runner`` and save it
    with TensorRT-LLM's own ``save_cache``; returns the files written (the rank file and ``path``)."""
    if tuner is None:
        from tensorrt_llm._torch.autotuner import AutoTuner  # lazy; needs the GPU driver

        tuner = AutoTuner.get()
    config = tuning_config if tuning_config is not None else type(runner).tuning_config
    cache = tuner.profiling_cache
    for choice in choices:
        for profile in tuner._optimization_profiles(config, list(inputs)):
            key = cache.get_cache_key(choice.op, runner, profile.get_opt_shapes(), config)
            cache[key] = (0, choice.tactic, float("inf"))
    path = Path(path)
    rank_file = path.with_name(path.stem + f".rank{rank}.json")
    cache.save_cache(rank_file)
    cache.save_cache(path)
    return [rank_file, path]


__all__ = ["CacheChoice", "choose_tactics", "write_flashinfer_cache", "write_trtllm_cache"]
