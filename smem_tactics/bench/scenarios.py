"""MoE GEMM scenarios of the grouped-GEMM benchmark, and the arithmetic on them (pure Python).

A scenario is one expert GEMM of one MoE layer at one token count and one input dtype:

* GEMM1 (gate+up, fused): per expert ``(M_e, N = 2 x intermediate, K = hidden)``;
* GEMM2 (down):           per expert ``(M_e, N = hidden, K = intermediate)``;

where ``M_e`` is the number of (token, slot) rows the router sent to expert ``e``. Routing is uniform random
top-k without replacement per token, from a fixed seed, so every run (and the CPU tests) sees the same
``M_e``. Activations are sorted by expert (rows ``offsets[e] .. offsets[e+1]`` belong to expert ``e``), one
``N x K`` weight matrix per expert, bf16 output.

The floor ("roofline") of a scenario is ``max(bytes / bandwidth, flops / rate)`` with the fewest bytes the
GEMM must move: the active experts' weights, the activations and the output, each once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ..errors import SmemTacticsError

#: The fixed routing seed (the H100 anchor used the same number).
SEED = 20251125

#: Token counts: decode batches and one prefill.
DECODE_TOKENS = (1, 8, 64)
PREFILL_TOKENS = (4096,)
TOKENS = DECODE_TOKENS + PREFILL_TOKENS

DTYPES = ("e4m3", "bf16")
GEMMS = ("gemm1", "gemm2")

#: bytes per element of the GEMM inputs, by dtype name; the output is bf16.
INPUT_BYTES = {"e4m3": 1, "bf16": 2}
OUTPUT_BYTES = 2


class ScenarioError(SmemTacticsError, ValueError):
    """A scenario, model or routing input that the benchmark does not accept."""


@dataclass(frozen=True)
class MoeModel:
    """The MoE layer shape of a model, as the benchmark uses it (from ``data/moe.json``, see :func:`bench_model`)."""

    key: str
    experts: int
    topk: int
    hidden: int
    intermediate: int  # per-expert intermediate size (moe_intermediate_size)

    def gemm_nk(self, gemm: str) -> tuple:
        """(N, K) of ``gemm1`` (gate+up fused) or ``gemm2`` (down)."""
        if gemm == "gemm1":
            return 2 * self.intermediate, self.hidden
        if gemm == "gemm2":
            return self.hidden, self.intermediate
        raise ScenarioError(f"gemm: {gemm!r} is not known; allowed: {', '.join(GEMMS)}")


#: The models the benchmark runs (the H100/H200 runs in docs/benchmarks*.json used these three).
BENCH_MODELS = ("qwen3-30b-a3b", "qwen3-next-80b-a3b", "gpt-oss-120b")


def bench_model(key: str) -> MoeModel:
    """A model's shape from ``data/moe.json`` (the one table of model shapes, via
    :func:`smem_tactics.problems.model_shape`) in the benchmark's terms."""
    from ..problems import model_shape

    shape = model_shape(key)
    if not shape.gated:  # GEMM1 here is the fused gate+up projection, N = 2 x intermediate
        raise ScenarioError(f"model: {key!r} has no gated MLP; the benchmark's GEMM1 is a fused gate+up projection")
    return MoeModel(shape.key, experts=shape.experts, topk=shape.top_k, hidden=shape.hidden,
                    intermediate=shape.intermediate)


MODELS = {key: bench_model(key) for key in BENCH_MODELS}


def model(key: str) -> MoeModel:
    """A benchmark model: one of :data:`MODELS` (the committed runs'), or any gated model of ``data/moe.json`` by
    its key (held-out shapes such as llama-4-scout or deepseek-v3)."""
    if key in MODELS:
        return MODELS[key]
    from ..errors import ConfigError
    from ..problems import model_names, model_shape

    try:
        shape = model_shape(key) if isinstance(key, str) and key.strip() == key else None
    except ConfigError:
        shape = None
    if shape is None or shape.key != key or not shape.gated:
        raise ScenarioError(f"model: {key!r} is not known; allowed: {', '.join(dict.fromkeys((*MODELS, *model_names())))}")
    return MoeModel(shape.key, experts=shape.experts, topk=shape.top_k, hidden=shape.hidden,
                    intermediate=shape.intermediate)


def route(tokens: int, experts: int, topk: int, seed: int = SEED, tag: str = "") -> list:
    """Uniform random top-k routing: for each token, ``topk`` distinct experts.

    Deterministic for a given (tokens, experts, topk, seed, tag) in every Python process.
    """
    for name, v in (("tokens", tokens), ("experts", experts), ("topk", topk)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ScenarioError(f"{name}: {v!r} is not a positive integer")
    if topk > experts:
        raise ScenarioError(f"topk: {topk} is larger than the number of experts ({experts})")
    rng = random.Random(f"{seed}:{tag}:{tokens}:{experts}:{topk}")
    return [rng.sample(range(experts), topk) for _ in range(tokens)]


def expert_counts(routing: Sequence[Sequence[int]], experts: int) -> list:
    counts = [0] * experts
    for row in routing:
        for e in row:
            if not 0 <= e < experts:
                raise ScenarioError(f"routing: expert {e} is outside 0..{experts - 1}")
            counts[e] += 1
    return counts


def offsets_from_counts(counts: Sequence[int]) -> list:
    """``E + 1`` row offsets (``offsets[0] == 0``, ``offsets[E] == rows``) of expert-sorted activations."""
    out = [0]
    for c in counts:
        if c < 0:
            raise ScenarioError(f"counts: {c} is negative")
        out.append(out[-1] + c)
    return out


def check_offsets(offsets: Sequence[int], rows: Optional[int] = None, experts: Optional[int] = None) -> None:
    """Raise :class:`ScenarioError` unless ``offsets`` are E+1 non-decreasing row offsets from 0 to ``rows``."""
    if len(offsets) < 2:
        raise ScenarioError(f"expert_offsets: needs E + 1 >= 2 entries, got {len(offsets)}")
    if experts is not None and len(offsets) != experts + 1:
        raise ScenarioError(f"expert_offsets: has {len(offsets)} entries; E + 1 = {experts + 1} expected "
                            f"(one weight matrix per expert)")
    if offsets[0] != 0:
        raise ScenarioError(f"expert_offsets: must start at 0, starts at {offsets[0]}")
    for i in range(1, len(offsets)):
        if offsets[i] < offsets[i - 1]:
            raise ScenarioError(f"expert_offsets: decreases at index {i} ({offsets[i - 1]} -> {offsets[i]})")
    if rows is not None and offsets[-1] != rows:
        raise ScenarioError(f"expert_offsets: ends at {offsets[-1]} but the activations have {rows} rows")


@dataclass(frozen=True)
class Scenario:
    model: MoeModel
    gemm: str
    dtype: str
    tokens: int
    counts: tuple  # rows per expert (length E)

    @property
    def key(self) -> str:
        return f"{self.model.key}/{self.gemm}/{self.dtype}/t{self.tokens}"

    @property
    def phase(self) -> str:
        return "decode" if self.tokens in DECODE_TOKENS else "prefill"

    @property
    def n(self) -> int:
        return self.model.gemm_nk(self.gemm)[0]

    @property
    def k(self) -> int:
        return self.model.gemm_nk(self.gemm)[1]

    @property
    def rows(self) -> int:
        return sum(self.counts)

    @property
    def offsets(self) -> list:
        return offsets_from_counts(self.counts)

    @property
    def active_experts(self) -> int:
        return sum(1 for c in self.counts if c)

    @property
    def groups(self) -> list:
        """(expert, first row, rows) of every active expert, in expert order."""
        out, off = [], 0
        for e, c in enumerate(self.counts):
            if c:
                out.append((e, off, c))
            off += c
        return out

    def min_bytes(self) -> int:
        """Fewest bytes through device memory: active weights + activations + output, once each."""
        ib = INPUT_BYTES[self.dtype]
        return (self.active_experts * self.n * self.k * ib + self.rows * self.k * ib
                + self.rows * self.n * OUTPUT_BYTES)

    def flops(self) -> int:
        return 2 * self.rows * self.n * self.k

    def floor_us(self, bandwidth_bytes_per_s: float, flops_per_s: float) -> dict:
        """The two time floors and the roofline (their max), in microseconds."""
        if bandwidth_bytes_per_s <= 0 or flops_per_s <= 0:
            raise ScenarioError("floor: bandwidth and rate must be positive")
        t_mem = self.min_bytes() / bandwidth_bytes_per_s * 1e6
        t_math = self.flops() / flops_per_s * 1e6
        return {"memory_us": t_mem, "math_us": t_math, "roofline_us": max(t_mem, t_math),
                "bound": "memory" if t_mem >= t_math else "math"}

    def summary(self) -> dict:
        nz = [c for c in self.counts if c]
        return {"key": self.key, "model": self.model.key, "gemm": self.gemm, "dtype": self.dtype,
                "tokens": self.tokens, "phase": self.phase, "n": self.n, "k": self.k, "rows": self.rows,
                "experts": self.model.experts, "topk": self.model.topk, "active_experts": self.active_experts,
                "m_e_min": min(nz), "m_e_max": max(nz), "m_e_mean": self.rows / len(nz),
                "min_bytes": self.min_bytes(), "flops": self.flops()}


def make_scenario(model_key: str, gemm: str, dtype: str, tokens: int, seed: int = SEED) -> Scenario:
    m = model(model_key)
    m.gemm_nk(gemm)
    if dtype not in DTYPES:
        raise ScenarioError(f"dtype: {dtype!r} is not benchmarked; allowed: {', '.join(DTYPES)}")
    # GEMM1 and GEMM2 of a layer, and both dtypes, see the same routing.
    routing = route(tokens, m.experts, m.topk, seed, tag=m.key)
    return Scenario(m, gemm, dtype, tokens, tuple(expert_counts(routing, m.experts)))


def all_scenarios(models: Iterable[str] = tuple(MODELS), gemms: Iterable[str] = GEMMS,
                  dtypes: Iterable[str] = DTYPES, tokens: Iterable[int] = TOKENS, seed: int = SEED) -> list:
    return [make_scenario(mk, g, d, t, seed) for mk in models for g in gemms for d in dtypes for t in tokens]


def parse_scenario_key(key: str) -> tuple:
    """``model/gemm/dtype/tN`` -> (model, gemm, dtype, tokens)."""
    parts = key.split("/")
    if len(parts) != 4 or not parts[3].startswith("t") or not parts[3][1:].isdigit():
        raise ScenarioError(f"scenario: {key!r} is not of the form model/gemm/dtype/tTOKENS "
                            f"(e.g. qwen3-30b-a3b/gemm1/e4m3/t8)")
    return parts[0], parts[1], parts[2], int(parts[3][1:])


__all__ = ["SEED", "TOKENS", "DECODE_TOKENS", "PREFILL_TOKENS", "DTYPES", "GEMMS", "MODELS", "BENCH_MODELS",
           "bench_model", "MoeModel", "Scenario",
           "ScenarioError", "model", "route", "expert_counts", "offsets_from_counts", "check_offsets",
           "make_scenario", "all_scenarios", "parse_scenario_key", "INPUT_BYTES", "OUTPUT_BYTES"]
