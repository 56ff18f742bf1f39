"""Which kernels the grouped-GEMM benchmark builds and races, per input dtype (pure Python).

Contenders (the issue's letters):

* (a) ``unconstrained``: SM90 configs with CUTLASS's automatic stage count, which fills H100's 227 KiB;
  the best of them per scenario is "the best unconstrained config".
* (b) ``trtllm``: TensorRT-LLM's stock SM90 MoE candidates under the 101376 B cap. Stock TensorRT-LLM
  compiles every SM90 MoE tile with ``StageCountAutoCarveout``, which on SM90 sizes the pipeline for
  232448 B: read literally, *none* of its candidates is <= 101376 B (:func:`trtllm_sm90_stock` +
  :func:`fits` show it). What a TensorRT-LLM build for a 99 KiB part would get is the same tiles with the
  largest stage count that fits; that is contender (b), and tiles where fewer than 2 stages fit are dropped
  with the reason.
* (c) ``synthesized``: configs from :mod:`smem_tactics.synthesis` under the same cap.

Everything (b) and (c) run with a 1x1x1 cluster: SM12x has no thread-block clusters, so a proxy for it must
not use them. Swap-AB is written as ``layout_cd = col``: the kernel computes ``D^T = W x A^T`` with a
column-major D, which is the same memory as the row-major ``tokens x N`` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from ..config import KernelConfig, KernelSchedule, Layout, StageConvention
from ..errors import ConfigError, UnsupportedConfigError
from ..footprint import footprint
from ..verdict import max_fitting_stages

#: SM12x shared memory: the most one block may use, and what one SM has in all (1 KiB of it reserved per block).
SM12X_BLOCK_LIMIT = 101376
SM12X_SM_LIMIT = 102400
#: H100's per-block opt-in limit (the unconstrained contender).
H100_BLOCK_LIMIT = 232448

#: The shared-memory carve-out preference (percent of the SM's 228 KiB) that makes an H100 SM configure
#: 100 KiB of shared memory, as an SM12x SM has: 43 % of 228 KiB = 98 KiB, rounded up by the driver to the
#: next supported size (100 KiB). The benchmark checks the effect with a residency probe.
SM12X_CARVEOUT_PERCENT = 43

DTYPE_PREFIX = {"e4m3": "f8", "bf16": "bf"}

#: TensorRT-LLM's SM90 grouped MoE tiles (``get_candidate_tiles_sm90``, GROUPED, not weight-only):
#: (M, N, K in bytes).
TRTLLM_SM90_TILES = ((128, 16, 128), (128, 32, 128), (128, 64, 128), (128, 128, 128), (128, 256, 128),
                     (256, 128, 128))


def elements_per_byte_k(dtype: str, k_bytes: int) -> int:
    return k_bytes if dtype == "e4m3" else k_bytes // 2


def sm90_config(dtype: str, tile: Sequence[int], schedule: str = "coop", stages="auto", swap_ab: bool = False,
                cluster: Sequence[int] = (1, 1, 1)) -> KernelConfig:
    """An SM90 MoE grouped GEMM config as this project composes it: A/B ``dtype``, C void, D bf16, fp32
    accumulate; ``schedule`` coop | pingpong (FP8 uses the FP8FastAccum variants, as TensorRT-LLM does)."""
    if dtype not in DTYPE_PREFIX:
        raise ConfigError("dtype", dtype, tuple(DTYPE_PREFIX))
    if schedule not in ("coop", "pingpong"):
        raise ConfigError("schedule", schedule, ("coop", "pingpong"))
    fp8 = dtype == "e4m3"
    ks = {("coop", True): KernelSchedule.PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM,
          ("coop", False): KernelSchedule.PTR_ARRAY_COOPERATIVE,
          ("pingpong", True): KernelSchedule.PTR_ARRAY_PINGPONG_FP8_FAST_ACCUM,
          ("pingpong", False): KernelSchedule.PTR_ARRAY_PINGPONG}[(schedule, fp8)]
    # epilogue "auto" resolves to PtrArrayTmaWarpSpecialized{Cooperative,Pingpong} (smem_tactics.layout.resolve),
    # TensorRT-LLM's SM90 epilogue; it is also how smem_tactics.synthesis spells it, so equal configs compare equal.
    return KernelConfig.create("sm90", dtype, dtype, c=None, d="bf16", tile=list(tile), kernel_schedule=ks.value,
                               epilogue_schedule="auto", stages=stages, cluster=list(cluster),
                               layout_cd="col" if swap_ab else "row")


def is_swap_ab(cfg: KernelConfig) -> bool:
    return cfg.layout_cd is Layout.COL


def dtype_of(cfg: KernelConfig) -> str:
    if cfg.a.value != cfg.b.value or cfg.a.value not in DTYPE_PREFIX:
        raise ConfigError("a", cfg.a.value, tuple(DTYPE_PREFIX), "the benchmark runs e4m3 x e4m3 and bf16 x bf16")
    return cfg.a.value


def short_name(cfg: KernelConfig) -> str:
    """``f8_sw_co_128x16x128_s5`` style names (the H100 anchor's): dtype, swap-AB, schedule, tile, stages, cluster,
    then ``nosmem`` for the no-smem epilogue and ``pa`` for ptr-array mode."""
    parts = [DTYPE_PREFIX.get(cfg.a.value, cfg.a.value)]
    if is_swap_ab(cfg):
        parts.append("sw")
    ks = cfg.kernel_schedule
    parts.append("auto" if ks is KernelSchedule.AUTO else ("pp" if ks.is_pingpong else "co"))
    parts.append("x".join(str(v) for v in cfg.tile))
    st = cfg.stages
    parts.append(f"s{st}" if isinstance(st, int) else {StageConvention.AUTO: "auto"}.get(st, st.value))
    if tuple(cfg.cluster) != (1, 1, 1):
        parts.append(f"c{cfg.cluster[0]}x{cfg.cluster[1]}")
    if cfg.epilogue_schedule.no_smem:
        parts.append("nosmem")
    if cfg.mode.value == "ptr_array":
        parts.append("pa")
    return "_".join(parts)


def fits(cfg: KernelConfig, limit: int = SM12X_BLOCK_LIMIT) -> bool:
    try:
        return footprint(cfg).total_bytes <= limit
    except UnsupportedConfigError:
        return False


def trtllm_sm90_stock(dtype: str) -> list:
    """TensorRT-LLM's stock SM90 grouped MoE candidates as it compiles them: the six tiles (K = 128 bytes),
    cooperative, ``StageCountAutoCarveout``, clusters 1x1 always, 2x1 for M >= 128, 1x2 for N >= 128, 2x2 for
    both, and a swap-AB copy of every one."""
    out = []
    for m, n, kb in TRTLLM_SM90_TILES:
        clusters = [(1, 1, 1)]
        if m >= 128:
            clusters.append((2, 1, 1))
        if n >= 128:
            clusters.append((1, 2, 1))
        if m >= 128 and n >= 128:
            clusters.append((2, 2, 1))
        for swap in (False, True):
            for cl in clusters:
                out.append(sm90_config(dtype, (m, n, elements_per_byte_k(dtype, kb)), "coop", "auto", swap, cl))
    return out


@dataclass(frozen=True)
class Dropped:
    name: str
    reason: str


def trtllm_capped(dtype: str, limit: int = SM12X_BLOCK_LIMIT) -> tuple:
    """Contender (b): the stock tiles (cluster 1x1, both swap-AB settings) with the largest ``StageCount<S>``
    whose footprint is <= ``limit``. Returns (configs, dropped)."""
    kept, dropped = [], []
    for m, n, kb in TRTLLM_SM90_TILES:
        for swap in (False, True):
            base = sm90_config(dtype, (m, n, elements_per_byte_k(dtype, kb)), "coop", 2, swap)
            s = max_fitting_stages(base, limit)
            if s is None:
                two = footprint(base).total_bytes
                dropped.append(Dropped(short_name(base.with_stages("auto")),
                                       f"even 2 stages need {two} B > {limit} B (CUTLASS requires >= 2 stages)"))
                continue
            kept.append(base.with_stages(s))
    return kept, dropped


def unconstrained(dtype: str) -> list:
    """Contender (a): automatic stage counts (H100's full 227 KiB): the kernels that won somewhere in the H100
    anchor's 52-kernel sweep (``shared/reference/h100_anchor.md``): TensorRT-LLM's swap-AB 128x16 and 128x32 tiles
    (decode), its cooperative 128x256 and the pingpong 64x256 (prefill), all with K = 128 bytes."""
    kb = elements_per_byte_k(dtype, 128)
    return [
        sm90_config(dtype, (128, 16, kb), "coop", "auto", True),
        sm90_config(dtype, (128, 32, kb), "coop", "auto", True),
        sm90_config(dtype, (128, 256, kb), "coop", "auto", False),
        sm90_config(dtype, (64, 256, kb), "pingpong", "auto", False),
    ]


def dedupe(configs: Iterable[KernelConfig]) -> list:
    seen, out = set(), []
    for c in configs:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def check_buildable(cfg: KernelConfig) -> None:
    """Raise :class:`ConfigError` unless the grouped-GEMM extension can build ``cfg``: SM90, dense, A and B both
    e4m3 or both bf16, C void, D bf16, linear combination, grouped or ptr-array mode (a ptr-array kernel runs only
    problems whose groups all have one shape)."""
    if cfg.arch.value != "sm90":
        raise ConfigError("arch", cfg.arch.value, "sm90", "the GPU benchmark builds SM90 kernels (H100/H200)")
    if cfg.kind.value != "dense":
        raise ConfigError("kind", cfg.kind.value, "dense")
    dtype_of(cfg)
    if cfg.c is not None:
        raise ConfigError("c", cfg.c.value, "null (void)", "the MoE composition has no source C")
    if cfg.d.value != "bf16":
        raise ConfigError("d", cfg.d.value, "bf16")
    if cfg.mode.value not in ("grouped", "ptr_array"):
        raise ConfigError("mode", cfg.mode.value, ("grouped", "ptr_array"))
    if cfg.fusion.op.value != "LinearCombination":
        raise ConfigError("fusion", cfg.fusion.describe(), "LinearCombination")


__all__ = ["SM12X_BLOCK_LIMIT", "SM12X_SM_LIMIT", "H100_BLOCK_LIMIT", "SM12X_CARVEOUT_PERCENT", "TRTLLM_SM90_TILES",
           "sm90_config", "is_swap_ab", "dtype_of", "short_name", "fits", "trtllm_sm90_stock", "trtllm_capped",
           "unconstrained", "dedupe", "check_buildable", "Dropped"]
