"""Write a framework's own autotuner cache from our verdicts, so inference never explores an unfit tactic.

The chosen tactic per GEMM is the first one in the framework's own order that fits the device (the C++
heuristic lists its preferred tiles first, and entry 0 is what the runner falls back to untuned). It is
**chosen without timing**: the cache makes every tuning bucket hit a fitting tactic; profiling on the device
(with the plug-in installed) is still how to find the fastest one.

* :func:`choose_tactics`: the choice, framework-independent (no framework import).
* :func:`write_flashinfer_cache`: FlashInfer's file cache (``autotune(cache=path)``; 0.6.9 and 0.7.x -- 0.6.4 has
  none); keys exclude the runner hash, so the file works in any later process.
* :func:`write_trtllm_cache`: TensorRT-LLM's JSON cache (read through ``TLLM_AUTOTUNER_CACHE_PATH``), main line
  only: its keys hold ``str(runner.unique_id())``, stable across processes, and one file holds every rank.
  TensorRT-LLM 1.2.x is refused with the reason (per-process ``hash(runner)`` keys).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import VersionError
from . import MOE_OPS, NoFittingTacticError, package_version, resolve_device


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


def _writable(framework: str, version: Optional[str]):
    """The catalog entry of ``version`` if its tuner reads a file that a later process can match, else
    :class:`~smem_tactics.errors.VersionError` saying why not (read in that version's source)."""
    from ..catalogs import catalog_for

    fv, how = catalog_for(framework, version)
    if fv is None:
        raise VersionError(f"version: {framework} {version or '(not installed)'} has no catalog ({how}); its cache "
                           f"format is not known, so none is written")
    if not fv.cache.get("writable"):
        raise VersionError(f"version: no cache is written for {fv.label}: {fv.cache.get('reason', 'not known')}")
    return fv


def write_flashinfer_cache(path: "str | os.PathLike", runner: Any, inputs: Sequence[Any], choices: Sequence[CacheChoice],
                           tuning_config: Any = None, version: Optional[str] = None) -> int:
    """Add one entry per tuning bucket and MoE GEMM to FlashInfer's JSON cache at ``path`` (other entries are
    kept). ``runner`` is the CUTLASS ``MoERunner`` instance (or any runner with the same class name and
    ``get_cache_key_extras``), ``inputs`` the tensors FlashInfer passes to ``choose_one`` ([x, fc1_w, fc1_b,
    fc2_w, fc2_b]). Returns the number of entries written. Uses the installed FlashInfer's own profile generation
    and key (0.7.x: ``ProfilingCacheKey.file_key``; 0.6.9: ``str((op, runner class, profile))``, read in its
    ``save_configs``); ``version`` (default: installed) must be one whose tuner has a file cache (not 0.6.4)."""
    from flashinfer.autotuner import AutoTuner, _collect_metadata, _tactic_to_json  # lazy

    _writable("flashinfer", version or package_version("flashinfer-python", "flashinfer"))
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
            file_key = getattr(key, "file_key", None) or str((key[0], key[1], key[3]))
            data[file_key] = [type(runner).__name__, _tactic_to_json(choice.tactic)]
            written += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return written


def write_trtllm_cache(path: "str | os.PathLike", runner: Any, inputs: Sequence[Any], choices: Sequence[CacheChoice],
                       tuning_config: Any = None, rank: int = 0, tuner: Any = None,
                       version: Optional[str] = None) -> list:
    """Seed TensorRT-LLM's profiling cache with ``choices`` for every tuning bucket of ``runner`` and save it with
    TensorRT-LLM's own ``save_cache``; returns the files written.

    Main line (``save_cache(file_path, rank)``; keys ``(op, class, str(runner.unique_id()), profile)``, stable
    across processes): one file with a ``rank_<rank>`` section, which ``autotune(cache_path=path)`` loads in a later
    process. TensorRT-LLM 1.2.x is refused with :class:`~smem_tactics.errors.VersionError`: its keys hold
    ``hash(runner)``, which differs in every process, and its ``autotune()`` turns tuning off whenever
    ``cache_path`` exists -- a file written for it would leave every bucket on the untuned fallback tactic."""
    import inspect

    fv = _writable("trtllm", version or package_version("tensorrt_llm", "tensorrt-llm"))
    if tuner is None:
        from tensorrt_llm._torch.autotuner import AutoTuner  # lazy; needs the GPU driver

        tuner = AutoTuner.get()
    config = tuning_config if tuning_config is not None else type(runner).tuning_config
    cache = tuner.profiling_cache
    save_params = inspect.signature(cache.save_cache).parameters
    if "rank" not in save_params:
        raise VersionError(f"version: {fv.label} expects save_cache(file_path, rank) but this tuner's save_cache takes "
                           f"({', '.join(save_params)}): not the cache format of that version")
    key_params = inspect.signature(cache.get_cache_key).parameters
    for choice in choices:
        for profile in tuner._optimization_profiles(config, list(inputs)):
            # tuning stores raw bucket shapes (apply_map_to_tuning_buckets=False, main-line _profile_runners)
            extra = {"apply_map_to_tuning_buckets": False} if "apply_map_to_tuning_buckets" in key_params else {}
            key = cache.get_cache_key(choice.op, runner, profile.get_opt_shapes(), config, **extra)
            cache[key] = (0, choice.tactic, float("inf"))  # chosen without timing: no time is claimed
    path = Path(path)
    cache.save_cache(path, rank)
    return [path]


__all__ = ["CacheChoice", "choose_tactics", "write_flashinfer_cache", "write_trtllm_cache"]
