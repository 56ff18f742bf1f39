"""Prune a fused-MoE tuning space to the configs whose compiled shared memory fits, before anything compiles.

vLLM's ``benchmarks/kernels/benchmark_moe.py`` and SGLang's tuner compile every config of their space and catch
``OutOfResources``; the usual estimate ``num_stages * (BM*BK + BK*BN) * bytes`` over-counts by one stage on the
mma.sync targets (the pipeliner keeps ``num_stages - 1`` buffers there) and so throws away configs that fit.
:func:`prune` uses the exact model instead and says why each dropped config was dropped.

Hooks:

* vLLM / SGLang tuning scripts -- filter the search space before the tuning loop::

      from smem_tactics.triton import prune
      search_space = prune(search_space, gpu="rtx-5090", dtype="fp8_w8a8_block").kept

* a Triton ``@triton.autotune`` -- ``prune_configs_by={"early_config_prune": autotune_pruner(dtype="bf16")}``.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from ..devices import DeviceLimit, gpu_facts, resolve_limit
from ..errors import ConfigError, SmemTacticsError, VersionError
from .config import DEFAULT_GROUP_SIZE, RELEASES, TritonConfig, parse_release, parse_target
from .model import BLOCK_SCALE_K, classic_estimate, footprint

META_KEYS = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps", "num_stages")


def installed_release() -> str:
    """The installed Triton's release from its package metadata (no ``import triton``)."""
    try:
        return parse_release(importlib.metadata.version("triton"), "installed Triton")
    except importlib.metadata.PackageNotFoundError:
        raise VersionError(f"triton: not installed and no release given; pass triton= one of {', '.join(RELEASES)}")


@dataclass(frozen=True)
class Dropped:
    config: Any
    reason: str
    shared_bytes: Optional[int] = None


@dataclass(frozen=True)
class PruneResult:
    """``kept`` (the given objects, in order), ``dropped`` (with reasons), and what the usual estimate would say."""

    kept: Tuple[Any, ...]
    dropped: Tuple[Dropped, ...]
    limit_bytes: int
    target: str
    triton: str
    #: configs that fit but that ``num_stages * (BM + BN) * BK * bytes <= limit`` would have dropped
    classic_would_drop: int
    #: configs the usual estimate keeps that do not fit (it under-counts wgmma's extra buffer on Hopper)
    classic_would_keep: int

    def summary(self) -> str:
        return (f"{len(self.kept)} of {len(self.kept) + len(self.dropped)} configs fit {self.limit_bytes} B "
                f"({self.target}, Triton {self.triton}); the usual estimate would drop {self.classic_would_drop} "
                f"that fit and keep {self.classic_would_keep} that do not")


def _meta(item: Any, index: int) -> dict:
    """The launch parameters of a config: a dict (framework spelling), a ``triton.Config`` or a TritonConfig."""
    if isinstance(item, TritonConfig):
        return item.meta()
    if isinstance(item, Mapping):
        meta = dict(item)
    elif hasattr(item, "kwargs") and hasattr(item, "num_warps"):  # triton.Config
        meta = dict(item.kwargs)
        meta["num_warps"] = item.num_warps
        meta["num_stages"] = item.num_stages
    else:
        raise ConfigError(f"configs[{index}]", f"<{type(item).__name__}>",
                          "a dict of BLOCK_SIZE_M/N/K, GROUP_SIZE_M, num_warps, num_stages, or a triton.Config")
    return meta


def prune(configs: Iterable[Any], *, dtype: str, gpu: Optional[str] = None, limit: Optional[int] = None,
          target: Optional[str] = None, triton: Optional[str] = None, k: Optional[int] = None,
          aligned: bool = True, group_size: int = DEFAULT_GROUP_SIZE, zero_points: bool = False) -> PruneResult:
    """Keep the configs whose shared memory fits the limit; the reason for each one dropped.

    The limit comes from ``limit`` (bytes), else ``gpu`` (the offline table), else the local GPU; the target from
    ``target``, else the GPU's arch. ``triton`` defaults to the installed release. A config the model cannot
    answer is dropped with that reason (never kept on a guess). ``k`` and ``aligned`` are the specialization
    facts (K % 16, 16-byte aligned pointers); ``group_size`` and ``zero_points`` describe the weight-only
    (int8_w8a16 / int4_w4a16) quantization.
    """
    if limit is None and gpu is None and target is None:
        raise ConfigError("gpu / limit / target", None, "at least one of gpu=, limit=, target=",
                          "nothing says what to fit")
    lim: DeviceLimit = resolve_limit(gpu=gpu, limit=limit, arch=target)
    if not lim.known:
        raise ConfigError("gpu / limit", None, "a GPU name, a limit in bytes, or a visible GPU", "limit unknown")
    tgt = parse_target(target) if target else parse_target(lim.arch or (gpu_facts(gpu).arch if gpu else ""))
    release = parse_release(triton) if triton else installed_release()
    # the arguments shared by every config are checked once: a bad one is an error, not 1,920 dropped configs
    TritonConfig.create(dtype, tgt, release, block_m=16, block_n=16, block_k=16, k=k, aligned=aligned,
                        group_size=group_size, zero_points=zero_points)
    kept: List[Any] = []
    dropped: List[Dropped] = []
    classic_drop = classic_keep = 0
    for i, item in enumerate(configs):
        meta = _meta(item, i)
        block_k = meta.get("BLOCK_SIZE_K")
        if dtype == "fp8_w8a8_block" and isinstance(block_k, int) and block_k > BLOCK_SCALE_K:
            block_k = BLOCK_SCALE_K  # what vLLM/SGLang launch: BLOCK_SIZE_K = min(BLOCK_SIZE_K, block_shape)
        try:
            cfg = TritonConfig.create(dtype, tgt, release, block_m=meta.get("BLOCK_SIZE_M"),
                                      block_n=meta.get("BLOCK_SIZE_N"), block_k=block_k,
                                      group_m=meta.get("GROUP_SIZE_M", 1), num_warps=meta.get("num_warps", 4),
                                      num_stages=meta.get("num_stages", 2), k=k, aligned=aligned,
                                      group_size=group_size, zero_points=zero_points)
            shared = footprint(cfg).shared_bytes
        except SmemTacticsError as e:
            dropped.append(Dropped(item, f"not answered: {e}"))
            continue
        classic_fits = classic_estimate(cfg) <= lim.smem_per_block_optin
        if shared <= lim.smem_per_block_optin:
            kept.append(item)
            classic_drop += not classic_fits
        else:
            dropped.append(Dropped(item, f"needs {shared} B > {lim.smem_per_block_optin} B by {shared - lim.smem_per_block_optin} B", shared))
            classic_keep += classic_fits
    return PruneResult(tuple(kept), tuple(dropped), lim.smem_per_block_optin, tgt, release, classic_drop, classic_keep)


def autotune_pruner(*, dtype: str, gpu: Optional[str] = None, limit: Optional[int] = None,
                    target: Optional[str] = None, triton: Optional[str] = None):
    """A Triton autotuner ``early_config_prune`` hook: ``(configs, named_args, **kwargs) -> configs that fit``."""

    def early_config_prune(configs, named_args=None, **kwargs):
        return list(prune(configs, dtype=dtype, gpu=gpu, limit=limit, target=target, triton=triton).kept)

    return early_config_prune


def vllm_search_space() -> List[dict]:
    """vLLM's ``benchmark_moe.py`` ``get_configs_compute_bound`` space (1,920 configs; vllm-project/vllm at
    13cb3e44): BLOCK_SIZE_M 16..256, BLOCK_SIZE_N 32..256, BLOCK_SIZE_K 64..256, GROUP_SIZE_M 1/16/32/64,
    num_warps 4/8, num_stages 2..5."""
    out = []
    for stages in (2, 3, 4, 5):
        for bm in (16, 32, 64, 128, 256):
            for bk in (64, 128, 256):
                for bn in (32, 64, 128, 256):
                    for warps in (4, 8):
                        for gm in (1, 16, 32, 64):
                            out.append({"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk,
                                        "GROUP_SIZE_M": gm, "num_warps": warps, "num_stages": stages})
    return out


__all__ = ["prune", "PruneResult", "Dropped", "autotune_pruner", "vllm_search_space", "installed_release",
           "META_KEYS"]
