"""``triton-configs --measure``: time the best-predicted fitting configs on the local CUDA GPU and write the fastest
measured one per token count.

What is timed: the project's vLLM-shaped fused-MoE Triton kernel (``cpp_bindings/triton_moe.py``,
``fused_moe_kernels()``: ``fused_moe`` for bf16/f16/fp8/int8_w8a8, ``fused_moe_wna16`` for the weight-only
variants), launched as vLLM's ``invoke_fused_moe_kernel`` launches it (vllm-project/vllm at 13cb3e44; the launch
arguments are built by :func:`cpp_bindings.triton_oracle.launch_arguments`, the same code the CPU oracle binds):

* per token count, random top-k routing (``smem_tactics.bench.scenarios.route``: ``top_k`` distinct experts per
  token, seeded), and the routing metadata of ``moe_align_block_size`` per BLOCK_SIZE_M (:func:`align_block_size`);
* both GEMMs of a layer, since vLLM runs both with the file's entry: GEMM1 (gate+up, ``N = 2 I``, ``K = H``, the
  model's top-k) and GEMM2 (down, ``N = H``, ``K = I``, A a row per routed row, ``top_k = 1``, routed weights
  multiplied); the measured time of a config is the sum of the two GEMMs' medians;
* each GEMM on its own: cold L2 (a 256 MiB read before every repetition), CUDA events around one launch, the
  median of the repetitions, after a warm-up (``smem_tactics.bench.gpu.Timer``, the timing of the H200 runs the
  time model was fitted on);
* only the top ``--measure-top`` distinct launches of the prediction (GROUP_SIZE_M, which the time model does
  not see, keeps the value the predicted file would use), within a time budget; a token count the budget does not
  reach keeps its predicted entry, and the note and sidecar say so.

Every timed kernel's compiled ``metadata.shared`` is compared with the model's footprint for that GEMM (K set):
a difference is an oracle failure, reported, and that config is not used.

The pure part (routing metadata, candidate selection, the run's bookkeeping, the sidecar, the note, the Markdown
table) runs on any machine; torch and Triton are imported only by :func:`check_environment` and
:class:`CudaLayerTimer`, and the timer is injectable (:func:`measure_run` takes any ``timer(config, tokens)``).
"""

from __future__ import annotations

import datetime
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from cpp_bindings.triton_oracle import GemmLaunch

from ..bench.scenarios import SEED, route
from ..bench.stats import median
from ..contract import MAX_TOKENS, bad
from ..errors import ConfigError, ProbeError, SmemTacticsError
from ..problems import MoeShape
from . import files
from .config import TritonConfig, Variant, parse_release
from .model import footprint

#: Defaults of the options.
DEFAULT_TOP = 8
MAX_TOP = 64
DEFAULT_SEED = SEED
DEFAULT_BUDGET_S = 600.0
MAX_BUDGET_S = 86400.0
#: Repetitions per GEMM (median taken) and warm-up launches before them.
REPS = 15
WARMUP = 3
#: "Close to the best": the predicted #1 measures within this share of the measured best.
WITHIN = 0.05
#: vLLM (13cb3e44, ``should_moe_wna16_use_cuda``) runs its CUDA ``moe_wna16_gemm`` instead of the Triton kernel
#: for 4-bit weights with these group sizes when ``tokens x top_k / experts`` is at most this.
WNA16_CUDA_GROUPS = (32, 64, 128)
WNA16_CUDA_ROWS_PER_EXPERT = 6


# ---------------------------------------------------------------------------------------------- routing metadata

def align_block_size(topk_ids: Sequence[Sequence[int]], block_m: int, experts: int) -> Tuple[List[int], List[int],
                                                                                             int]:
    """vLLM's ``moe_align_block_size`` semantics, in plain Python: ``(sorted_token_ids, expert_ids,
    num_tokens_post_padded)`` for routing ``topk_ids`` (a list of each token's experts).

    The routed rows are numbered ``token * top_k + slot``. Experts in order, each expert's rows (in that order)
    are padded to a multiple of ``block_m`` with the sentinel ``numel`` (the number of routed rows, which fails
    the kernel's ``token < num_valid_tokens``); ``sorted_token_ids`` has ``numel + experts * (block_m - 1)``
    entries (sentinel beyond the used ones), ``expert_ids`` one per ``block_m`` block of it (0 beyond the used
    blocks, as vLLM zero-fills it), and ``num_tokens_post_padded`` is the padded total. (Read from
    vllm-project/vllm's ``moe_align_block_size.py`` at 05be9924 and its golden test
    ``tests/kernels/moe/test_moe_align_block_size.py`` at 00e6fb6d; 13cb3e44 calls it the same way.)"""
    if block_m <= 0:
        raise bad("BLOCK_SIZE_M", block_m, "a positive integer")
    flat = [e for row in topk_ids for e in row]
    for e in flat:
        if not 0 <= e < experts:
            raise bad("topk_ids", e, f"expert ids 0..{experts - 1}")
    numel = len(flat)
    rows_of: List[List[int]] = [[] for _ in range(experts)]
    for i, e in enumerate(flat):
        rows_of[e].append(i)
    sorted_ids = [numel] * (numel + experts * (block_m - 1))
    expert_ids = [0] * -(-len(sorted_ids) // block_m)
    pos = 0
    for e, rows in enumerate(rows_of):
        if not rows:
            continue
        sorted_ids[pos:pos + len(rows)] = rows
        blocks = -(-len(rows) // block_m)
        expert_ids[pos // block_m:pos // block_m + blocks] = [e] * blocks
        pos += blocks * block_m
    return sorted_ids, expert_ids, pos


def layer_launches(shape: MoeShape, tokens: int, block_m: int, tp: int = 1) -> Tuple[GemmLaunch, GemmLaunch]:
    """The two GEMM launches of one layer at ``tokens`` (vLLM's ``fused_experts_impl``): GEMM1 on the tokens with
    the model's top-k; GEMM2 on a row per routed row, ``top_k = 1``, routed weights multiplied."""
    routed = tokens * shape.top_k
    sorted_len = routed + shape.experts * (block_m - 1)
    n1, k1 = shape.gemm_nk(1, tp)
    n2, k2 = shape.gemm_nk(2, tp)
    return (GemmLaunch(a_rows=tokens, n=n1, k=k1, experts=shape.experts, top_k=shape.top_k, sorted_len=sorted_len),
            GemmLaunch(a_rows=routed, n=n2, k=k2, experts=shape.experts, top_k=1, sorted_len=sorted_len,
                       mul_routed_weight=True))


def gemm_configs(cfg: TritonConfig, shape: MoeShape, tp: int = 1) -> Tuple[TritonConfig, TritonConfig]:
    """``cfg`` with each GEMM's K set (the model's footprint of that launch; K decides the 16-divisibility)."""
    return tuple(replace(cfg, k=shape.gemm_nk(gemm, tp)[1]) for gemm in (1, 2))  # type: ignore[return-value]


def vllm_runs_cuda_wna16(variant: Variant, group_size: int, shape: MoeShape, tokens: int) -> bool:
    """Whether vLLM at 13cb3e44 runs its CUDA weight-only kernel instead of the Triton one for this token count
    (``should_moe_wna16_use_cuda``: 4-bit, group 32/64/128, ``tokens x top_k / experts <= 6``)."""
    return (variant is Variant.INT4_W4A16 and group_size in WNA16_CUDA_GROUPS
            and tokens * shape.top_k / shape.experts <= WNA16_CUDA_ROWS_PER_EXPERT)


# ---------------------------------------------------------------------------------------------- selection

def launch_key(cfg: TritonConfig) -> tuple:
    return cfg.block_m, cfg.block_n, cfg.block_k, cfg.num_warps, cfg.num_stages


def select_candidates(ranked: Sequence[files.Ranked], top: int) -> List[files.Ranked]:
    """The first ``top`` distinct launches of the prediction (configs that differ only in GROUP_SIZE_M have the
    same predicted time; the first of them, the predicted file's choice, stands for the launch)."""
    out, seen = [], set()
    for r in ranked:
        key = launch_key(r.config)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
        if len(out) == top:
            break
    return out


# ---------------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class LayerTiming:
    """One config timed at one token count: each GEMM's median (us), repetitions, and each GEMM's compiled
    ``metadata.shared``."""

    gemm_us: Tuple[float, float]
    shared: Tuple[int, int]
    reps: int = REPS

    @property
    def total_us(self) -> float:
        return self.gemm_us[0] + self.gemm_us[1]


#: A timer: ``timer(config, tokens) -> LayerTiming`` (the GPU's is :class:`CudaLayerTimer`; tests pass fakes).
LayerTimer = Callable[[TritonConfig, int], LayerTiming]

MEASURED, MISMATCH, FAILED, REFUSED, NOT_REACHED = "measured", "shared mismatch", "failed", "model refuses", \
    "not reached"


@dataclass
class CandidateResult:
    ranked: files.Ranked
    status: str
    model_bytes: Optional[Tuple[int, int]] = None
    timing: Optional[LayerTiming] = None
    detail: str = ""

    @property
    def measured_us(self) -> Optional[float]:
        return self.timing.total_us if self.status == MEASURED and self.timing else None

    def to_dict(self) -> dict:
        d = {"config": self.ranked.config.meta(), "predicted_rank": self.ranked.rank,
             "predicted_us": round(self.ranked.predicted_us, 3), "status": self.status,
             "measured_us": None if self.measured_us is None else round(self.measured_us, 3)}
        if self.timing is not None:
            d["gemm_us"] = [round(t, 3) for t in self.timing.gemm_us]
            d["compiled_shared_bytes"] = list(self.timing.shared)
            d["reps"] = self.timing.reps
        if self.model_bytes is not None:
            d["model_shared_bytes"] = list(self.model_bytes)
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass
class TokenResult:
    tokens: int
    predicted_first: files.Ranked
    candidates: List[CandidateResult]
    vllm_cuda_wna16: bool = False

    @property
    def measured(self) -> List[CandidateResult]:
        return sorted((c for c in self.candidates if c.measured_us is not None), key=lambda c: c.measured_us)

    @property
    def source(self) -> str:
        return "measured" if self.measured else "predicted"

    @property
    def entry(self) -> TritonConfig:
        measured = self.measured
        return measured[0].ranked.config if measured else self.predicted_first.config

    @property
    def best_us(self) -> Optional[float]:
        measured = self.measured
        return measured[0].measured_us if measured else None

    def _first(self) -> Optional[CandidateResult]:
        for c in self.candidates:
            if c.ranked.rank == self.predicted_first.rank and c.measured_us is not None:
                return c
        return None

    @property
    def first_measured_us(self) -> Optional[float]:
        first = self._first()
        return None if first is None else first.measured_us

    @property
    def first_measured_rank(self) -> Optional[int]:
        """1-based place of the predicted #1 among the measured candidates (None: it was not measured)."""
        first = self._first()
        return None if first is None else 1 + [c.ranked.rank for c in self.measured].index(first.ranked.rank)

    @property
    def first_over_best(self) -> Optional[float]:
        t, best = self.first_measured_us, self.best_us
        return None if t is None or not best else t / best

    def to_dict(self) -> dict:
        return {"source": self.source, "entry": self.entry.meta(),
                "predicted_first": {"config": self.predicted_first.config.meta(),
                                    "predicted_us": round(self.predicted_first.predicted_us, 3)},
                "measured_best_us": None if self.best_us is None else round(self.best_us, 3),
                "predicted_first_measured_us": (None if self.first_measured_us is None
                                                else round(self.first_measured_us, 3)),
                "predicted_first_measured_rank": self.first_measured_rank,
                "predicted_first_over_best": (None if self.first_over_best is None
                                              else round(self.first_over_best, 4)),
                "vllm_runs_cuda_wna16_instead": self.vllm_cuda_wna16,
                "candidates": [c.to_dict() for c in self.candidates]}


@dataclass
class MeasuredRun:
    """A ``--measure`` run: the plan, the device, and the results per token count, in order."""

    plan: files.TuningPlan
    framework: str
    model: str
    device: dict
    seed: int
    top: int
    budget_s: float
    results: List[TokenResult] = field(default_factory=list)
    elapsed_s: float = 0.0

    def entries(self) -> Dict[str, dict]:
        return {str(r.tokens): r.entry.meta() for r in self.results}

    @property
    def oracle_failures(self) -> List[Tuple[int, CandidateResult]]:
        return [(r.tokens, c) for r in self.results for c in r.candidates if c.status == MISMATCH]

    @property
    def failures(self) -> List[Tuple[int, CandidateResult]]:
        return [(r.tokens, c) for r in self.results for c in r.candidates if c.status == FAILED]

    def summary(self) -> dict:
        measured = [r for r in self.results if r.source == "measured"]
        compared = [r for r in measured if r.first_over_best is not None]
        ratios = [r.first_over_best for r in compared]
        return {"token_counts": len(self.results), "measured": len(measured),
                "predicted_first_fastest": sum(1 for r in compared if r.first_measured_rank == 1),
                "predicted_first_within_5_percent": sum(1 for x in ratios if x <= 1.0 + WITHIN),
                "compared": len(compared),
                "median_predicted_first_over_best": round(median(ratios), 4) if ratios else None,
                "worst_predicted_first_over_best": round(max(ratios), 4) if ratios else None,
                "kernels_checked": 2 * sum(1 for r in self.results for c in r.candidates if c.timing is not None),
                "oracle_failures": len(self.oracle_failures), "failures": len(self.failures)}

    def sidecar(self, file_name: str) -> dict:
        plan = self.plan
        return {"file": file_name, "framework": self.framework, "gpu": plan.gpu.key, "model": self.model,
                "dtype": plan.variant.value, "tp": plan.tp, "triton": plan.release, "device": self.device,
                "seed": self.seed, "measure_top": self.top, "budget_s": self.budget_s,
                "elapsed_s": round(self.elapsed_s, 1),
                "method": {"kernel": "cpp_bindings/triton_moe.py fused_moe_kernels() "
                                     + ("fused_moe_wna16" if plan.variant.weight_only else "fused_moe")
                                     + ", launched as vLLM 13cb3e44 invoke_fused_moe_kernel",
                           "layer": "GEMM1 (gate+up) + GEMM2 (down, routed weights multiplied), one config",
                           "timing": f"each GEMM: cold L2 (256 MiB read), CUDA events around one launch, median of "
                                     f"{REPS} after {WARMUP} warm-up launches",
                           "routing": "uniform random top-k, distinct experts per token (bench.scenarios.route)",
                           "candidates": f"the first {self.top} distinct launches of the predicted ranking"},
                "summary": self.summary(),
                "tokens": {str(r.tokens): r.to_dict() for r in self.results}}

    def note_lines(self, sidecar_name: str) -> List[str]:
        dev = self.device
        s = self.summary()
        measured = [str(r.tokens) for r in self.results if r.source == "measured"]
        unreached = [str(r.tokens) for r in self.results
                     if r.source != "measured" and all(c.status == NOT_REACHED for c in r.candidates)]
        untimed = [str(r.tokens) for r in self.results if r.source != "measured" and str(r.tokens) not in unreached]
        where = (f"{dev.get('name')} (torch {dev.get('torch')}, Triton {dev.get('triton')}, CUDA {dev.get('cuda')}), "
                 f"{dev.get('date')}")
        lines = [f"* measured entries ({len(measured)} of {len(self.results)} token counts: "
                 f"{', '.join(measured) or 'none'}): the fastest of the first {self.top} distinct predicted "
                 f"fitting launches, timed on {where} -- GEMM1 + GEMM2 of one layer, each the median of {REPS} "
                 f"cold-L2 CUDA-event repetitions, random top-k routing (seed {self.seed})"]
        if unreached:
            lines.append(f"* predicted entries (the {self.budget_s:g} s measurement budget ran out before them): "
                         f"token counts {', '.join(unreached)}")
        if untimed:
            lines.append(f"* predicted entries (no candidate could be timed, the sidecar says why): token counts "
                         f"{', '.join(untimed)}")
        if s["compared"]:
            lines.append(f"* prediction vs measurement: the predicted #1 measured fastest in "
                         f"{s['predicted_first_fastest']} of {s['compared']} token counts and within "
                         f"{WITHIN:.0%} of the measured best in {s['predicted_first_within_5_percent']}; its time "
                         f"over the best: median {s['median_predicted_first_over_best']}, worst "
                         f"{s['worst_predicted_first_over_best']} (every timing: {sidecar_name})")
        if s["oracle_failures"]:
            lines.append(f"* ORACLE FAILURES: {s['oracle_failures']} timed configs compiled to a shared memory other "
                         f"than the model's; they were not used (the sidecar lists them)")
        else:
            lines.append(f"* oracle: each of the {s['kernels_checked']} timed kernels compiled to exactly the "
                         f"model's shared memory")
        if s["failures"]:
            lines.append(f"* {s['failures']} candidate timings failed (the sidecar says why); they were not used")
        cuda = [str(r.tokens) for r in self.results if r.vllm_cuda_wna16]
        if cuda:
            lines.append(f"* note: for token counts {', '.join(cuda)} vLLM (13cb3e44, should_moe_wna16_use_cuda) "
                         f"runs its CUDA moe_wna16_gemm with these block sizes instead of the Triton kernel timed "
                         f"here")
        return lines


# ---------------------------------------------------------------------------------------------- the run

def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _short(cfg: TritonConfig) -> str:
    return _meta_text(cfg.meta())


def measure_run(plan: files.TuningPlan, framework: str, model: str, tokens: Sequence[int], timer: LayerTimer,
                device: dict, top: int = DEFAULT_TOP, seed: int = DEFAULT_SEED, budget_s: float = DEFAULT_BUDGET_S,
                clock: Callable[[], float] = time.monotonic,
                progress: Optional[Callable[[str], None]] = _say) -> MeasuredRun:
    """Time the first ``top`` distinct predicted launches per token count with ``timer`` and keep the fastest
    whose compiled shared memory equals the model's. Once ``budget_s`` is spent no further timing starts; the
    token counts left keep their predicted entry."""
    say = progress or (lambda _text: None)
    run = MeasuredRun(plan, framework, model, device, seed, top, budget_s)
    start = clock()
    for t in tokens:
        ranked = files.ranked_candidates(plan, t)
        picks = select_candidates(ranked, top)
        result = TokenResult(t, ranked[0], [], vllm_runs_cuda_wna16(plan.variant, picks[0].config.group_size,
                                                                     plan.shape, t))
        t0 = clock()
        for r in picks:
            if clock() - start > budget_s:
                result.candidates.append(CandidateResult(r, NOT_REACHED, detail="measurement budget spent"))
                continue
            result.candidates.append(_time_candidate(r, plan, t, timer))
        run.results.append(result)
        best = result.best_us
        first = result.first_measured_rank
        say(f"[{clock() - start:7.1f} s] tokens {t}: {len(result.measured)} of {len(picks)} candidates measured "
            f"in {clock() - t0:.1f} s; "
            + (f"best {best:.1f} us ({_short(result.entry)}), predicted #1 "
               + (f"measured rank {first}, {result.first_over_best:.3f} x best" if first else "not measured")
               if best is not None else "entry stays predicted"))
        for c in result.candidates:
            if c.status in (MISMATCH, FAILED):
                say(f"  {c.status.upper()} tokens {t} {_short(c.ranked.config)}: {c.detail}")
    run.elapsed_s = clock() - start
    return run


def _time_candidate(r: files.Ranked, plan: files.TuningPlan, tokens: int, timer: LayerTimer) -> CandidateResult:
    try:
        model_bytes = tuple(footprint(c).shared_bytes for c in gemm_configs(r.config, plan.shape, plan.tp))
    except SmemTacticsError as e:
        return CandidateResult(r, REFUSED, detail=str(e))
    try:
        timing = timer(r.config, tokens)
    except SmemTacticsError:
        raise  # the environment (no GPU, no Triton): not this config's failure
    except Exception as e:  # noqa: BLE001 -- a config that fails to compile or launch is reported and skipped
        return CandidateResult(r, FAILED, model_bytes, detail=f"{type(e).__name__}: {str(e).strip()[:300]}")
    if tuple(timing.shared) != model_bytes:
        return CandidateResult(r, MISMATCH, model_bytes, timing,
                               detail=f"compiled {list(timing.shared)} B, model {list(model_bytes)} B (GEMM1, GEMM2)")
    return CandidateResult(r, MEASURED, model_bytes, timing)


# ---------------------------------------------------------------------------------------------- options

def parse_tokens(text: Optional[str]) -> Tuple[int, ...]:
    """``--tokens 1,16,256``: distinct positive token counts, sorted (default: vLLM's tuning token counts)."""
    if text is None:
        return files.TOKEN_COUNTS
    from ..contract import csv_values

    values = csv_values("--tokens", text, int, 1, MAX_TOKENS)
    if len(set(values)) != len(values):
        raise bad("--tokens", text, "distinct token counts", "a count given twice")
    return tuple(sorted(values))


# ---------------------------------------------------------------------------------------------- the GPU

def check_environment(gpu: str, given_release: Optional[str]) -> dict:
    """The measuring machine's facts, or the one-line reason it cannot measure for ``--gpu``: torch or Triton
    missing, no CUDA GPU, another GPU than the file is named for, ``--triton`` other than the installed one."""
    try:
        import torch
    except ImportError:
        raise ProbeError("--measure: torch is not installed; install a CUDA build of torch (pip install torch) "
                         "on the GPU machine") from None
    from cpp_bindings.triton_oracle import triton_version

    installed = triton_version()  # a ProbeError naming the install command when Triton is missing
    release = parse_release(installed, "installed Triton")
    if given_release is not None and parse_release(given_release, "--triton") != release:
        raise ConfigError("--triton", given_release, f"{release} (the installed Triton) or leave it out",
                          "--measure times the installed Triton")
    wanted = files.device_file_name(gpu)
    if not torch.cuda.is_available():
        raise ProbeError(f"--measure: no CUDA GPU is visible (torch {torch.__version__}: torch.cuda.is_available() "
                         f"is False); run it on the GPU the file is named for ({wanted})")
    name = torch.cuda.get_device_name(0)
    if files.file_device_name(name) != wanted:
        visible = [k for k, v in files.TORCH_DEVICE_NAMES.items() if files.file_device_name(v) ==
                   files.file_device_name(name)]
        raise ConfigError("--gpu", gpu, ", ".join(visible) or f"a GPU named like {name!r} (none in the table)",
                          f"the file is named for {wanted}, the visible GPU is {name}")
    return {"name": name, "torch": torch.__version__, "triton": installed, "release": release,
            "cuda": torch.version.cuda,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


class LayerInputs:
    """The tensors of one layer's two launches on ``device``, for the GPU timer (and, on the CPU, for the tests
    that bind them to the kernel): weights made once, activations and routing per token count, routing metadata
    (:func:`align_block_size`) per BLOCK_SIZE_M; random values from ``seed``. torch is imported here."""

    def __init__(self, plan: files.TuningPlan, seed: int, device):
        import torch

        self.torch = torch
        self.plan, self.seed = plan, seed
        self.device = torch.device(device)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)
        self._weights: Dict[Tuple[int, str], object] = {}
        self._acts: Dict[Tuple[int, str], object] = {}
        self._meta: Dict[int, dict] = {}
        self._tokens: Optional[int] = None
        self._routing: list = []

    def _dtype(self, key: str):
        from cpp_bindings.triton_oracle import torch_dtypes

        return torch_dtypes()[key]

    def _random(self, key: str, shape: tuple):
        """N(0, 1) in the element type (integers: uniform over the type), large weights a few experts at a time."""
        torch = self.torch
        out = torch.empty(shape, dtype=self._dtype(key), device=self.device)
        step = shape[0] if len(shape) < 3 else max(1, (1 << 26) // max(1, shape[1] * shape[2]))
        for e0 in range(0, shape[0], step):
            e1 = min(shape[0], e0 + step)
            part = (e1 - e0,) + tuple(shape[1:])
            if key in ("i8", "u8"):
                lo, hi = (-127, 128) if key == "i8" else (0, 256)
                out[e0:e1] = torch.randint(lo, hi, part, generator=self.gen, device=self.device, dtype=torch.int32)
            else:
                out[e0:e1] = torch.randn(part, generator=self.gen, device=self.device).to(out.dtype)
        return out

    def _scale(self, key: str, shape: tuple):
        """Positive scales around 0.01 (their values do not change the kernel's work)."""
        torch = self.torch
        return (torch.rand(shape, generator=self.gen, device=self.device) * 0.01 + 0.005).to(self._dtype(key))

    def set_tokens(self, tokens: int) -> None:
        if tokens != self._tokens:
            shape = self.plan.shape
            self._tokens = tokens
            self._routing = route(tokens, shape.experts, shape.top_k, self.seed, tag=shape.key)
            self._acts.clear()
            self._meta.clear()

    def routing_metadata(self, block_m: int) -> dict:
        if block_m not in self._meta:
            torch = self.torch
            sorted_ids, expert_ids, post = align_block_size(self._routing, block_m, self.plan.shape.experts)
            self._meta[block_m] = {
                "sorted_token_ids": torch.tensor(sorted_ids, dtype=torch.int32, device=self.device),
                "expert_ids": torch.tensor(expert_ids, dtype=torch.int32, device=self.device),
                "num_tokens_post_padded": torch.tensor([post], dtype=torch.int32, device=self.device)}
        return self._meta[block_m]

    def tensor(self, gemm: int, block_m: int, spec):
        """The tensor for ``spec`` (a :class:`cpp_bindings.triton_oracle.TensorSpec`) of GEMM ``gemm``."""
        if spec.role in ("sorted_token_ids", "expert_ids", "num_tokens_post_padded"):
            made = self.routing_metadata(block_m)[spec.role]
        else:
            weights = spec.role in ("b", "b_scale", "b_zp")
            store = self._weights if weights else self._acts
            key = (0 if spec.role == "topk_weights" else gemm, spec.role)  # both GEMMs read one routed weight each
            if key not in store:
                if spec.role in ("a_scale", "b_scale"):
                    store[key] = self._scale(spec.dtype, spec.shape)
                elif spec.role == "topk_weights":
                    store[key] = self.torch.rand(spec.shape, generator=self.gen, device=self.device)
                elif spec.role == "c":
                    store[key] = self.torch.empty(spec.shape, dtype=self._dtype(spec.dtype), device=self.device)
                else:
                    store[key] = self._random(spec.dtype, spec.shape)
            made = store[key]
        if tuple(made.shape) != tuple(spec.shape) or made.dtype != self._dtype(spec.dtype):
            raise ProbeError(f"--measure: the {spec.role} tensor is {tuple(made.shape)} {made.dtype}, the launch "
                             f"needs {spec.shape} {spec.dtype} (a bug in smem_tactics.triton.measure)")
        return made

    def launches(self, cfg: TritonConfig, tokens: int, source) -> list:
        """``[(kernel, args, kwargs, grid), ...]`` of GEMM1 and GEMM2 of ``cfg`` at ``tokens``, as vLLM launches
        them."""
        from cpp_bindings.triton_oracle import launch_arguments

        self.set_tokens(tokens)
        out = []
        for gemm, launch in enumerate(layer_launches(self.plan.shape, tokens, cfg.block_m, self.plan.tp), start=1):
            fn, args, kwargs = launch_arguments(cfg, source, launch,
                                                lambda spec, g=gemm: self.tensor(g, cfg.block_m, spec))
            out.append((fn, args, kwargs, launch.grid(cfg.block_m, cfg.block_n)))
        return out


class CudaLayerTimer:
    """Times one config's two GEMMs at a token count on GPU 0 (see the module docstring); ``__call__`` is a
    :data:`LayerTimer`. torch and Triton are imported here."""

    def __init__(self, plan: files.TuningPlan, seed: int = DEFAULT_SEED, reps: int = REPS, warmup: int = WARMUP):
        from cpp_bindings.triton_oracle import project_kernels

        from ..bench.gpu import Timer

        self.reps, self.warmup = reps, warmup
        self.source = project_kernels()
        self.inputs = LayerInputs(plan, seed, "cuda:0")
        self.timer = Timer()

    def __call__(self, cfg: TritonConfig, tokens: int) -> LayerTiming:
        from cpp_bindings.triton_moe import compiled_facts

        times, shared = [], []
        for fn, args, kwargs, grid in self.inputs.launches(cfg, tokens, self.source):
            compiled = fn.warmup(*args, grid=grid, **kwargs)
            shared.append(compiled_facts(compiled)["shared"])

            def once(fn=fn, args=args, kwargs=kwargs, grid=grid):
                fn[grid](*args, **kwargs)

            times.append(median(self.timer.times_us(once, self.reps, self.warmup)))
        return LayerTiming((times[0], times[1]), (shared[0], shared[1]), self.reps)


# ---------------------------------------------------------------------------------------------- docs table

def _meta_text(c: dict) -> str:
    return (f"{c['BLOCK_SIZE_M']}x{c['BLOCK_SIZE_N']}x{c['BLOCK_SIZE_K']} g{c['GROUP_SIZE_M']} w{c['num_warps']} "
            f"s{c['num_stages']}")


def _num(x: Optional[float], digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def markdown_table(sidecars: Sequence[dict]) -> str:
    """For docs/triton.md: per sidecar a summary row, then per token count the predicted #1 against the measured
    best (configs as ``BMxBNxBK gGROUP wWARPS sSTAGES``, times in us for GEMM1 + GEMM2)."""
    lines = ["| file | dtype | token counts measured | predicted #1 fastest | within 5 % | median #1 / best | "
             "worst #1 / best | kernels checked | oracle failures |", "|" + "---|" * 9]
    for sc in sidecars:
        s = sc["summary"]
        lines.append(f"| {sc['framework']} | {sc['dtype']} | {s['measured']} of {s['token_counts']} | "
                     f"{s['predicted_first_fastest']} of {s['compared']} | "
                     f"{s['predicted_first_within_5_percent']} of {s['compared']} | "
                     f"{_num(s['median_predicted_first_over_best'], 3)} | "
                     f"{_num(s['worst_predicted_first_over_best'], 3)} | {s['kernels_checked']} | "
                     f"{s['oracle_failures']} |")
    lines += ["", "| file | dtype | tokens | predicted #1 | its measured us | measured best | best us | #1's measured "
              "rank | #1 / best |", "|" + "---|" * 9]
    for sc in sidecars:
        for tokens, r in sc["tokens"].items():
            best = _meta_text(r["entry"]) if r["source"] == "measured" else "(not measured)"
            first = _meta_text(r["predicted_first"]["config"])
            lines.append(f"| {sc['framework']} | {sc['dtype']} | {tokens} | {first} | "
                         f"{_num(r['predicted_first_measured_us'])} | {best} | {_num(r['measured_best_us'])} | "
                         f"{r['predicted_first_measured_rank'] or '-'} | {_num(r['predicted_first_over_best'], 3)} |")
    devices = sorted({f"{sc['device'].get('name')}, torch {sc['device'].get('torch')}, Triton "
                      f"{sc['device'].get('triton')}, CUDA {sc['device'].get('cuda')}, {sc['device'].get('date')}"
                      for sc in sidecars})
    return "\n".join(lines) + "\n\nMeasured on: " + "; ".join(devices) + "\n"


__all__ = ["DEFAULT_TOP", "MAX_TOP", "DEFAULT_SEED", "DEFAULT_BUDGET_S", "MAX_BUDGET_S", "REPS", "WARMUP", "WITHIN",
           "align_block_size", "layer_launches", "gemm_configs", "vllm_runs_cuda_wna16", "select_candidates",
           "LayerTiming", "LayerTimer", "CandidateResult", "TokenResult", "MeasuredRun", "measure_run",
           "parse_tokens", "check_environment", "LayerInputs", "CudaLayerTimer", "markdown_table"]
