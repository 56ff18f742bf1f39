"""Predict and rank the time of grouped-GEMM configs for an MoE problem on a GPU.

Public API::

    from smem_tactics.cost import rank, predict, cost_parameters
    from smem_tactics.problems import moe_problem
    from smem_tactics.synthesis import synthesize
    problem = moe_problem("qwen3-30b-a3b", gemm=1, tokens=8)
    ranked = rank(problem, "gb10", synthesize("sm121", "nvfp4", 101376, problem=problem))
    best = ranked[0]
    best.candidate, best.predicted_us, best.reason, best.terms     # terms: every quantity below

``rank(problem, gpu, candidates, params=None) -> list[Ranked]`` sorts by predicted time (ties: less shared
memory, then name); ``gpu`` is a name from ``data/gpus.json`` or a :class:`~smem_tactics.devices.GpuFacts`
(``dataclasses.replace(gpu_facts("h100"), smem_per_sm=102400)`` models an H100 run as an SM12x proxy).
``predict`` returns one :class:`Ranked` without sorting.

The model, per launch (all parameters in ``data/cost_model.json`` and ``data/gpus.json``):

* **Tiles and waves.** A group (expert) with m rows launches ``ceil(m / tile_rows) * ceil(n / tile_cols)`` CTA
  tiles, with swap-AB exchanging which tile side runs along the rows; routing gives the expected count. The
  persistent scheduler deals tiles round-robin to ``SMs x CTAs per SM`` slots: ``waves = ceil(tiles / slots)``.
* **Bytes against bandwidth.** Every active expert's weights, the routed activations and the outputs cross
  DRAM once: ``dram_us = bytes / (bandwidth x dram_efficiency)``. At decode this term dominates.
* **Per tile.** Operand loads (all k-blocks, packed as in global memory) move at
  ``min(in-flight bytes / loaded latency, L2 bandwidth / active CTAs)`` -- Little's law with ``S - 1`` stages in
  flight is where pipeline depth meets memory latency; MMA time is the padded tile's flops at the SM's share of
  the tensor throughput, derated for narrow N; a pipeline hides all but ``overlap_loss`` of the shorter of the
  two; each k-block costs ``k_block_overhead_ns``; the epilogue stores the tile and costs ``epilogue_fixed_ns``,
  serial for cooperative kernels and hidden behind the other warp group's mainloop for pingpong; a no-smem
  epilogue storing into a row-major D takes ``register_store_row_major_factor`` times as long for its bytes.
* **Group switches.** Each time a persistent CTA's next tile belongs to another expert, the array kernel rewrites
  and fences its tensormaps: ``min(waves, active experts) x group_switch_ns``.
* **Occupancy.** CTAs per SM = min(smem_per_sm // (smem + 1 KiB), registers, threads) -- 1 for CUTLASS's
  384-thread warp-specialized kernels, whose launch bounds let ptxas take 168 registers per thread.
* ``time = softmax_p(dram_us, waves x tile_us + latency) x (1 + cluster penalty) + launch overhead``, where
  ``softmax_p(a, b) = (a^p + b^p)^(1/p)`` (``bound_sharpness`` p) is the larger limit, raised where both bind.

Every term is non-decreasing in the work it counts, so a config that does more work in every term never
ranks above its twin.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any, Optional, Sequence, Union

from .config import Arch, KernelConfig, Kind, Layout, Mode
from .devices import GpuFacts, gpu_facts
from .layout.resolve import resolve_schedules
from .errors import ConfigError
from .problems import Problem
from .synthesis import Candidate
from .synthesis.candidates import RESERVED_SMEM_PER_BLOCK


@functools.lru_cache(maxsize=1)
def _raw_parameters() -> dict:
    return json.loads(resources.files("smem_tactics").joinpath("data/cost_model.json").read_text())


@dataclass(frozen=True)
class CostParameters:
    """The model's parameters for one arch family (values only; sources are in data/cost_model.json)."""

    dram_efficiency: float
    loaded_latency_factor: float
    overlap_loss: float
    k_block_overhead_ns: float
    epilogue_fixed_ns: float
    register_store_row_major_factor: float
    launch_overhead_us: float
    cluster_penalty_per_extra_cta: float
    bound_sharpness: float
    group_switch_ns: float
    spill_bytes_per_clk: float
    finalize_elements_per_clk: float
    accumulator_register_budget: float
    starved_mma_slowdown: float
    overlap_stage_exponent: float
    mma_efficiency: float
    mma_saturating_n: int
    l2_bytes_per_clk_per_sm: float
    max_threads_per_sm: int
    regs_per_sm: int
    regs_per_thread: int
    threads_per_cta: int
    tma_epilogue_fixed_us: float
    grouped_mode_fixed_us: float
    pdl_overlap_us: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def cost_parameters(arch: Union[str, Arch], overrides: Optional[dict] = None) -> CostParameters:
    """Parameters for ``arch`` (sm90/sm100/sm120/sm121) from ``data/cost_model.json``, with optional overrides.

    An arch section may override a global parameter (the SM120 family's fitted values do).
    """
    raw = _raw_parameters()
    family = Arch.parse(arch).family.value
    if family not in raw["arch"]:
        raise ConfigError("arch", arch, list(raw["arch"]))
    values = {k: v["value"] for k, v in raw["global"].items()}
    values.update({k: v["value"] for k, v in raw["arch"][family].items()})
    if overrides is not None and not isinstance(overrides, dict):
        raise ConfigError("params", f"<{type(overrides).__name__}>", "a dict of parameter overrides")
    for k, v in (overrides or {}).items():
        if k not in values:
            raise ConfigError("cost parameter", k, sorted(values))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"cost parameter {k}", v, "a finite number >= 0")
        values[k] = v
    return CostParameters(**values)


def cost_model_version() -> int:
    return int(_raw_parameters()["version"])


def grounding_for(gpu_key: str) -> Optional[dict]:
    """The evidence behind the model on an SM12x GPU (``data/cost_model.json`` 'grounding', written by
    scripts/validate_sm12x.py): ``{"sources", "expected_error", "basis"}``; ``None`` for other GPUs."""
    entry = _raw_parameters().get("grounding", {}).get(gpu_key)
    return dict(entry) if entry else None


@dataclass(frozen=True)
class CostTerms:
    """Every quantity the prediction is built from (times in microseconds, sizes in bytes)."""

    tiles: float
    slots: int
    waves: int
    ctas_per_sm: int
    k_blocks: int
    dram_bytes: float
    dram_us: float
    tile_load_bytes: float
    inflight_bytes: float
    needed_inflight_bytes: float
    load_us: float
    mma_us: float
    mainloop_us: float
    epilogue_us: float
    tile_us: float
    sm_us: float
    cluster_factor: float
    padded_mma_fraction: float  # share of MMA work spent on padding (rows or columns beyond the problem)
    spill_us: float  # per tile: local-memory traffic of register spills (compile facts), 0 when none or unknown
    accumulator_registers: float  # fp32 accumulators per MMA thread (exact from tile and schedule)
    registers: Optional[int]  # per thread, from the kernel's compile facts; None = unknown (never guessed)
    spill_bytes: Optional[int]  # spill stores + loads per thread (ptxas); None = unknown
    predicted_us: float
    fixed_us: float = 0.0  # the launch's fixed time: launch overhead + epilogue/mode terms - PDL overlap

    @property
    def bound(self) -> str:
        return "memory" if self.dram_us >= self.sm_us else "SM"

    def to_dict(self) -> dict:
        out = {}
        for k, v in self.__dict__.items():
            out[k] = round(v, 4) if isinstance(v, float) else v
        out["bound"] = self.bound
        return out


@dataclass(frozen=True)
class Ranked:
    """A candidate with its predicted time, the terms behind it and a one-line reason."""

    candidate: Candidate
    predicted_us: float
    terms: CostTerms
    reason: str = ""
    rank: int = 0

    def to_dict(self) -> dict:
        return {"rank": self.rank, "candidate": self.candidate.name, "short": self.candidate.short(),
                "predicted_us": round(self.predicted_us, 3), "total_bytes": self.candidate.total_bytes,
                "stages": self.candidate.stages, "reason": self.reason, "terms": self.terms.to_dict()}


def _gpu(gpu: Union[str, GpuFacts]) -> GpuFacts:
    return gpu if isinstance(gpu, GpuFacts) else gpu_facts(gpu)


def _gmem_bits(cfg: KernelConfig, which: str) -> float:
    """Bits per element an operand occupies in global memory, scale factors included."""
    t = cfg.a if which == "a" else cfg.b
    bits = float(t.bits)
    if cfg.kind is Kind.BLOCK_SCALED:
        bits += 8.0 / t.sf_vector
    elif cfg.kind is Kind.BLOCKWISE and cfg.scale_granularity:
        gm, gn, gk = cfg.scale_granularity
        g_rows = gm if which == "a" else gn
        bits += 32.0 / (g_rows * gk)
    return bits


def ctas_per_sm(candidate: Candidate, gpu: GpuFacts, params: CostParameters) -> int:
    """Resident CTAs per SM: shared memory (1 KiB reserved per block), registers and threads."""
    by_smem = gpu.smem_per_sm // (candidate.total_bytes + RESERVED_SMEM_PER_BLOCK)
    by_regs = params.regs_per_sm // (params.regs_per_thread * params.threads_per_cta)
    by_threads = params.max_threads_per_sm // params.threads_per_cta
    return max(1, min(by_smem, by_regs, by_threads))


def _tflops(candidate: Candidate, gpu: GpuFacts) -> float:
    from .synthesis import dtype_recipe

    key = dtype_recipe(candidate.dtype, candidate.config.arch).tflops_key
    value = gpu.tflops_for(key)
    if value is None:
        raise ConfigError("gpu", gpu.key, f"a GPU with a '{key}' tensor throughput in data/gpus.json",
                          f"{gpu.full_name} lists none for {candidate.dtype}")
    return float(value)


def _compile_facts(candidate: Candidate):
    """The candidate's compile facts (registers, spills) if the shipped data has them, else None."""
    try:
        from .compile_facts import facts_for
    except ImportError:  # pragma: no cover -- the data module ships with the package
        return None
    return facts_for(candidate)


#: Threads that issue MMAs in a CUTLASS warp-specialized kernel (two consumer warp groups).
MMA_THREADS = 256


def predict(problem: Problem, gpu: Union[str, GpuFacts], candidate: Candidate,
            params: Optional[CostParameters] = None, facts: Any = None) -> Ranked:
    """Predicted time of one launch of ``candidate`` on ``problem`` (see the module docstring).

    ``facts``: the kernel's compile facts (registers, spill bytes per thread); looked up in the shipped data when
    omitted. A kernel with no known facts is charged no spill time and its terms say ``registers=None``.
    """
    if not isinstance(problem, Problem):
        raise ConfigError("problem", f"<{type(problem).__name__}>", "a Problem (smem_tactics.problems.moe_problem)")
    if not isinstance(candidate, Candidate):
        raise ConfigError("candidate", f"<{type(candidate).__name__}>", "a Candidate (smem_tactics.synthesis)")
    if params is not None and not isinstance(params, CostParameters):
        raise ConfigError("params", f"<{type(params).__name__}>", "a CostParameters (smem_tactics.cost.cost_parameters)")
    g = _gpu(gpu)
    p = params or cost_parameters(candidate.config.arch)
    if facts is None:
        facts = _compile_facts(candidate)
    cfg = candidate.config
    tm, tn, tk = cfg.tile
    row_tile, col_tile = (tn, tm) if candidate.swap_ab else (tm, tn)
    weight, act = ("a", "b") if candidate.swap_ab else ("b", "a")
    w_bits, a_bits, d_bits = _gmem_bits(cfg, weight), _gmem_bits(cfg, act), float(cfg.d.bits)

    # tiles and waves
    col_tiles = -(-problem.n // col_tile)
    if cfg.mode is Mode.PTR_ARRAY:
        # one problem shape for every group: each group is launched at the largest group's rows
        max_rows = max(m for m, _ in problem.group_rows)
        tiles = problem.active_groups * -(-max_rows // row_tile) * col_tiles
    else:
        tiles = problem.tiles_along_rows(row_tile) * col_tiles
    k_blocks = -(-problem.k // tk)
    cluster = cfg.cluster[0] * cfg.cluster[1]
    occupancy = ctas_per_sm(candidate, g, p)
    # an SM100 2-SM MMA tile is worked by a CTA pair: half the slots, half of each tile's work per CTA
    pair = 2 if resolve_schedules(cfg)[0].info.two_sm else 1
    slots = (g.sms // cluster) * cluster * occupancy // pair
    waves = max(1, math.ceil(tiles / slots - 1e-9))
    active = max(1.0, min(tiles, float(slots)))

    # DRAM: every active expert's weights, the routed activations, the outputs, once
    # (a FINALIZE epilogue reduces the top-k rows of a token in L2: DRAM sees each token's output row once)
    out_rows = problem.tokens if candidate.epilogue == "finalize" and problem.tokens else problem.rows
    dram_bytes = (problem.active_groups * problem.n * problem.k * w_bits
                  + problem.rows * problem.k * a_bits + out_rows * problem.n * d_bits) / 8.0
    dram_bw = g.mem_bw_gbps * 1e9 * p.dram_efficiency
    dram_us = dram_bytes / dram_bw * 1e6

    # one tile: operand loads vs MMA, then the epilogue
    bits_a = _gmem_bits(cfg, "a")
    bits_b = _gmem_bits(cfg, "b")
    stage_bytes = tk * (tm * bits_a + tn * bits_b) / 8.0 / pair
    tile_load_bytes = stage_bytes * k_blocks
    latency_s = g.mem_latency_ns * 1e-9 * p.loaded_latency_factor
    inflight = stage_bytes * (candidate.stages - 1)
    clock_hz = (g.sm_clock_mhz or 0) * 1e6
    if clock_hz <= 0:
        raise ConfigError("gpu", g.key, "a GPU with sm_clock_mhz in data/gpus.json")
    l2_bw = p.l2_bytes_per_clk_per_sm * g.sms * clock_hz
    bw_per_cta = min(inflight / latency_s, l2_bw / active)
    load_s = tile_load_bytes / bw_per_cta
    flops = 2.0 * tm * tn * tk * k_blocks / pair
    narrow = min(1.0, tn / p.mma_saturating_n)
    per_cta_flops = _tflops(candidate, g) * 1e12 / g.sms / occupancy * p.mma_efficiency * narrow
    mma_s = flops / per_cta_flops
    # Warp-level MMA (SM120's mma.sync) keeps the whole accumulator tile in the MMA threads' registers: a pingpong
    # warp group holds a full tile (128 threads), a cooperative pair half each (256). A pingpong mainloop runs one
    # warp group at a time -- one MMA warp per SM sub-partition, nothing to hide its latency -- so once its
    # accumulators pass a budget and the compiler can no longer keep operand fragments in flight beside them, its
    # MMAs serialise (``accumulator_register_budget``; 0 = no such limit, as for SM90's asynchronous wgmma).
    # Cooperative kernels run both warp groups at once and are not charged (FlashInfer's cooperative 256x128 tile
    # measured level with the others on a GB10; no SM12x measurement of it alone exists).
    acc_regs = tm * tn / (128.0 if candidate.pingpong else 256.0) / pair
    if candidate.pingpong and p.accumulator_register_budget > 0 and acc_regs > p.accumulator_register_budget:
        mma_s *= p.starved_mma_slowdown
    # the part of the shorter of (loads, MMAs) a pipeline fails to hide; with few stages the producer cannot run
    # ahead of the consumers, so less is hidden: overlap_loss x (3 / S)^overlap_stage_exponent (0: v2's constant)
    overlap = p.overlap_loss * (3.0 / max(candidate.stages, 2)) ** p.overlap_stage_exponent
    main_s = max(load_s, mma_s) + min(1.0, overlap) * min(load_s, mma_s) + k_blocks * p.k_block_overhead_ns * 1e-9
    # Register spills (exact, from the kernel's compile facts): the spilled accumulator/fragment registers cross
    # local memory (L1) once per k-block for every MMA thread, serialised with the MMAs that need them.
    spill_bytes = None
    registers = None
    spill_s = 0.0
    if facts is not None and getattr(facts, "ok", True):
        registers = getattr(facts, "registers", None)
        spill_bytes = getattr(facts, "spill_bytes", None)
        if spill_bytes and p.spill_bytes_per_clk > 0:
            spill_s = k_blocks * spill_bytes * MMA_THREADS / (p.spill_bytes_per_clk * clock_hz) / pair
            main_s += spill_s
    # A no-smem epilogue stores the accumulator fragments straight from registers; into a row-major D (the
    # tile's N contiguous) those stores are narrow and scattered, which the TMA epilogue's staging avoids.
    store_factor = (p.register_store_row_major_factor
                    if cfg.epilogue_schedule.no_smem and cfg.layout_cd is Layout.ROW else 1.0)
    epi_s = (tm * tn * d_bits / 8.0 / pair / min(bw_per_cta, l2_bw / active) * store_factor
             + p.epilogue_fixed_ns * 1e-9)
    if candidate.epilogue == "finalize" and p.finalize_elements_per_clk > 0:
        # FINALIZE (TensorRT-LLM/FlashInfer GEMM2): every valid output element is scaled by its router weight and
        # reduced into its token's row with a global atomic add, one element per lane.
        valid_rows = min(float(row_tile), problem.rows / max(problem.tiles_along_rows(row_tile), 1e-9))
        epi_s += valid_rows * col_tile / (p.finalize_elements_per_clk * clock_hz)
    tile_s = max(main_s, epi_s) if candidate.pingpong else main_s + epi_s
    sm_s = waves * tile_s + latency_s
    # A persistent CTA walks the tiles with the grid's stride; each time its next tile belongs to another group
    # (expert) the array kernel rewrites and fences its A/B/D tensormaps before the next TMA load.
    switches = min(waves, max(1, math.ceil(problem.active_groups - 1e-9)))
    sm_s += switches * p.group_switch_ns * 1e-9
    cluster_factor = 1.0 + p.cluster_penalty_per_extra_cta * (cluster - 1)
    # Fixed time per launch. Besides the launch overhead, the H200 decode run (docs/decode.md) measured, kernel
    # against its twin: the TMA-store epilogue costs ~1 us per launch over the no-smem one (the store drains before
    # the CTA exits), grouped mode ~1.3 us over ptr-array (per-group shapes read before the first tile), and a PDL
    # launch behind its producer overlaps ~2 us of the producer's tail. Where a family has no such measurement the
    # term is 0: an unmeasured term is not charged (data/cost_model.json says which are measured where).
    fixed = p.launch_overhead_us
    if not cfg.epilogue_schedule.no_smem:
        fixed += p.tma_epilogue_fixed_us
    if cfg.mode is Mode.GROUPED:
        fixed += p.grouped_mode_fixed_us
    if candidate.launch.pdl:
        fixed = max(0.0, fixed - p.pdl_overlap_us)
    predicted = _soft_max(dram_us, sm_s * 1e6, p.bound_sharpness) * cluster_factor + fixed

    needed = dram_bw / active * latency_s  # bytes in flight per CTA for its share of DRAM bandwidth
    useful = problem.rows * problem.n * problem.k * 2.0
    launched = tiles * flops * pair
    padded = max(0.0, 1.0 - useful / launched) if launched else 0.0
    terms = CostTerms(
        tiles=tiles, slots=slots, waves=waves, ctas_per_sm=occupancy, k_blocks=k_blocks, dram_bytes=dram_bytes,
        dram_us=dram_us, tile_load_bytes=tile_load_bytes, inflight_bytes=inflight, needed_inflight_bytes=needed,
        load_us=load_s * 1e6, mma_us=mma_s * 1e6, mainloop_us=main_s * 1e6, epilogue_us=epi_s * 1e6,
        tile_us=tile_s * 1e6, sm_us=sm_s * 1e6, cluster_factor=cluster_factor, padded_mma_fraction=padded,
        spill_us=spill_s * 1e6, accumulator_registers=acc_regs, registers=registers, spill_bytes=spill_bytes,
        predicted_us=predicted, fixed_us=fixed)
    return Ranked(candidate, predicted, terms)


def _soft_max(a: float, b: float, sharpness: float) -> float:
    """``(a^p + b^p)^(1/p)``: the larger of two limits, raised where both bind at once (non-decreasing in each)."""
    hi = max(a, b)
    if hi <= 0:
        return 0.0
    return hi * ((a / hi) ** sharpness + (b / hi) ** sharpness) ** (1.0 / sharpness)


def _kib(n: float) -> str:
    return f"{n / 1024:.0f} KiB"


def explain(r: Ranked, problem: Problem, gpu: GpuFacts, runner_up: Optional[Ranked] = None) -> str:
    """One line: what bounds the winner and which of its choices matter."""
    t, c = r.terms, r.candidate
    m, n, k = c.config.tile
    rows = problem.rows / max(problem.active_groups, 1e-9)
    if t.bound == "memory":
        head = (f"memory-bound: {t.dram_bytes / 1e6:.1f} MB over {gpu.mem_bw_gbps:g} GB/s = {t.dram_us:.1f} us "
                f">= SM time {t.sm_us:.1f} us")
    else:
        limiter = "MMA" if t.mma_us >= t.load_us else "operand loads"
        head = (f"SM-bound: {t.tiles:.0f} tiles = {t.waves} wave{'s' if t.waves > 1 else ''} on {t.slots} CTA slots "
                f"x {t.tile_us:.2f} us/tile ({limiter} {max(t.mma_us, t.load_us):.2f} us"
                f"{', pingpong hides the epilogue' if c.pingpong else ''})")
    parts = [head]
    if c.swap_ab:
        parts.append(f"swap-AB puts ~{rows:.1f} rows/expert on the {n}-wide N side ({t.padded_mma_fraction:.0%} "
                     f"padded MMA)")
    else:
        parts.append(f"{m}x{n} tile over ~{rows:.1f} rows/expert ({t.padded_mma_fraction:.0%} padded MMA)")
    ok = "covers" if t.inflight_bytes >= t.needed_inflight_bytes else "short of"
    parts.append(f"{c.stages} stages keep {_kib(t.inflight_bytes)} in flight ({ok} the {_kib(t.needed_inflight_bytes)} "
                 f"its DRAM share needs)")
    if runner_up is not None and runner_up.terms.fixed_us - t.fixed_us >= 0.05:
        why = []
        if c.launch.pdl and not runner_up.candidate.launch.pdl:
            why.append("PDL overlaps its producer's tail")
        if c.config.epilogue_schedule.no_smem and not runner_up.candidate.config.epilogue_schedule.no_smem:
            why.append("no TMA-store epilogue to drain")
        if c.config.mode is Mode.PTR_ARRAY and runner_up.candidate.config.mode is Mode.GROUPED:
            why.append("ptr-array mode reads no per-group shapes")
        parts.append(f"fixed time {t.fixed_us:.2f} us per launch against {runner_up.terms.fixed_us:.2f} us"
                     + (f" ({', '.join(why)})" if why else ""))
    if runner_up is not None and runner_up.predicted_us > 0:
        gain = runner_up.predicted_us / r.predicted_us - 1.0
        if gain < 0.001:
            if round(runner_up.predicted_us, 6) == round(r.predicted_us, 6) and \
                    runner_up.candidate.total_bytes != c.total_bytes:
                why = "the tie goes to less shared memory"
            else:
                why = "an order no measurement could confirm"
            parts.append(f"level with {runner_up.candidate.short()} (within 0.1 %; {why})")
        else:
            parts.append(f"{gain:.1%} ahead of {runner_up.candidate.short()}")
    return "; ".join(parts)


def rank(problem: Problem, gpu: Union[str, GpuFacts], candidates: Sequence[Candidate],
         params: Optional[Any] = None) -> list:
    """Candidates sorted by predicted time, each with its rank (1-based), terms and a one-line reason.

    ``params``: a :class:`CostParameters` (applies to every candidate) or a dict of overrides.
    """
    g = _gpu(gpu)
    if not candidates:
        raise ConfigError("candidates", [], "at least one candidate (see smem_tactics.synthesis.synthesize)")
    cache: dict = {}

    def params_for(c: Candidate) -> CostParameters:
        if isinstance(params, CostParameters):
            return params
        arch = c.config.arch.family
        if arch not in cache:
            cache[arch] = cost_parameters(arch, params if isinstance(params, dict) else None)
        return cache[arch]

    out = [predict(problem, g, c, params_for(c)) for c in candidates]
    out.sort(key=lambda r: (round(r.predicted_us, 6), r.candidate.total_bytes, r.candidate.name))
    ranked = []
    for i, r in enumerate(out):
        runner = out[1] if i == 0 and len(out) > 1 else None
        ranked.append(Ranked(r.candidate, r.predicted_us, r.terms, explain(r, problem, g, runner), i + 1))
    return ranked


__all__ = ["CostParameters", "CostTerms", "Ranked", "cost_parameters", "cost_model_version", "grounding_for",
           "ctas_per_sm",
           "predict", "rank", "explain"]
