"""MoE grouped-GEMM problems: what one launch of an expert GEMM has to compute.

A :class:`Problem` is one grouped GEMM launch in the weight-stationary view: groups (experts) with
``m`` routed rows each, every group computing ``D[m, n] = A[m, k] @ W[n, k]^T``. The rows per group are a
histogram of *expected* group counts, so a routing distribution and an explicit list of group sizes are
the same object to the cost model.

Build problems from the model table (``data/moe.json``) or by hand::

    from smem_tactics.problems import moe_problem, Problem
    p = moe_problem("qwen3-30b-a3b", gemm=1, tokens=8)          # decode batch 8, uniform routing
    p = moe_problem("gpt-oss-120b", gemm=2, tokens="prefill-4096", routing="skewed")
    p = Problem.explicit(n=1536, k=2048, group_rows=[1] * 38 + [2] * 10 + [3] * 2)   # measured routing

GEMM1 is the fused gate+up projection (``n = 2 * intermediate`` for gated MLPs, ``k = hidden``), GEMM2 the
down projection (``n = hidden``, ``k = intermediate``). Tensor parallelism divides GEMM1's ``n`` and
GEMM2's ``k`` by ``tp``. Every bad input raises :class:`~smem_tactics.errors.ConfigError` naming the
allowed values.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional, Sequence, Union

from .contract import MAX_EXPERTS, MAX_GEMM_DIM, MAX_TOKENS, MAX_TOP_K, _shown, require_int
from .errors import ConfigError

#: Expected group counts below this are dropped from routing histograms (they change no cost term).
_NEGLIGIBLE_GROUPS = 1e-7


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(resources.files("smem_tactics").joinpath("data/moe.json").read_text())


@dataclass(frozen=True)
class MoeShape:
    """One model's routed-expert shape (``data/moe.json``)."""

    key: str
    full_name: str
    hidden: int
    intermediate: int
    experts: int
    top_k: int
    gated: bool
    moe_layers: int
    shared_experts: int
    source: str = ""

    def gemm_nk(self, gemm: int, tp: int = 1) -> tuple:
        """(n, k) of GEMM1 (gate+up) or GEMM2 (down) under tensor parallelism ``tp``."""
        gemm = parse_gemm(gemm)
        tp = _positive_int(tp, "tp")
        if gemm == 1:
            n = (2 if self.gated else 1) * self.intermediate
            if n % tp:
                raise ConfigError("tp", tp, f"a divisor of GEMM1's N = {n}")
            return n // tp, self.hidden
        if self.intermediate % tp:
            raise ConfigError("tp", tp, f"a divisor of GEMM2's K = {self.intermediate}")
        return self.hidden, self.intermediate // tp

    def to_dict(self) -> dict:
        return {"key": self.key, "full_name": self.full_name, "hidden": self.hidden,
                "intermediate": self.intermediate, "experts": self.experts, "top_k": self.top_k,
                "gated": self.gated, "moe_layers": self.moe_layers, "shared_experts": self.shared_experts,
                "source": self.source}


def model_names() -> tuple:
    return tuple(_table()["models"])


def model_shape(name: str) -> MoeShape:
    """A model from ``data/moe.json`` by key or alias (case-insensitive)."""
    table = _table()
    if not isinstance(name, str):
        raise ConfigError("model", _shown(name), model_names())
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = table["aliases"].get(key, key)
    if key not in table["models"]:
        raise ConfigError("model", name, model_names())
    m = table["models"][key]
    return MoeShape(key, m["full_name"], m["hidden"], m["intermediate"], m["experts"], m["top_k"], m["gated"],
                    m["moe_layers"], m["shared_experts"], m.get("source", ""))


def bucket_names() -> tuple:
    return tuple(k for k in _table()["buckets"] if not k.startswith("_"))


def routing_names() -> tuple:
    return tuple(k for k in _table()["routing"] if not k.startswith("_"))


def parse_bucket(value: Union[str, int]) -> tuple:
    """(bucket name, tokens) from a bucket name (``decode-8``), ``decode-N`` / ``prefill-N`` for any N, or a
    bare token count."""
    allowed = (f"{', '.join(bucket_names())}, decode-N, prefill-N, or a token count N, with N from 1 to "
               f"{MAX_TOKENS}")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError("bucket", value, allowed)
    if isinstance(value, int):
        count = require_int("tokens", value, 1, MAX_TOKENS, "a token count")
        return f"tokens-{count}", count
    text = value.strip().lower()
    buckets = _table()["buckets"]
    if text in buckets and not text.startswith("_"):
        return text, buckets[text]
    for prefix in ("decode-", "prefill-", "tokens-", ""):
        digits = text[len(prefix):]
        if text.startswith(prefix) and digits.isdigit():
            try:
                count = require_int("tokens", digits, 1, MAX_TOKENS, "a token count")
            except ConfigError as e:
                raise ConfigError("bucket", _shown(value), allowed, e.detail) from None
            return (text if prefix else f"tokens-{count}"), count
    raise ConfigError("bucket", _shown(value), allowed)


def parse_gemm(value) -> int:
    text = str(value).strip().lower() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    aliases = {"1": 1, "gemm1": 1, "g1": 1, "fc1": 1, "gate_up": 1, "up": 1,
               "2": 2, "gemm2": 2, "g2": 2, "fc2": 2, "down": 2}
    if text not in aliases:
        raise ConfigError("gemm", value, "1 (gemm1, gate+up) or 2 (gemm2, down)")
    return aliases[text]


def _positive_int(value, name: str) -> int:
    return require_int(name, value, 1, MAX_GEMM_DIM, "a positive integer")


@dataclass(frozen=True)
class Problem:
    """One grouped GEMM launch: ``D_g[m_g, n] = A_g[m_g, k] @ W_g[n, k]^T`` for every group g.

    ``group_rows`` is a histogram ``((m, expected number of groups with m rows), ...)`` over m >= 1; groups
    with no rows are not launched. Everything else describes where the problem came from.
    """

    n: int
    k: int
    group_rows: tuple
    label: str = ""
    model: Optional[str] = None
    gemm: Optional[int] = None
    tokens: Optional[int] = None
    routing: Optional[str] = None
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def explicit(cls, n: int, k: int, group_rows: Sequence[int], label: str = "") -> "Problem":
        """A problem with known rows per group (zeros are dropped: such groups are not launched)."""
        n, k = _positive_int(n, "n"), _positive_int(k, "k")
        if isinstance(group_rows, (str, bytes)) or not isinstance(group_rows, Sequence):
            raise ConfigError("group_rows", _shown(group_rows), "a list of non-negative integers (rows of each group)")
        if len(group_rows) > MAX_EXPERTS:
            raise ConfigError("group_rows", _shown(group_rows), f"at most {MAX_EXPERTS} groups")
        counts: dict = {}
        for m in group_rows:
            if isinstance(m, bool) or not isinstance(m, int) or m < 0 or m > MAX_TOKENS * MAX_TOP_K:
                raise ConfigError("group_rows", m, "non-negative integers (rows of each group)")
            if m:
                counts[m] = counts.get(m, 0) + 1
        if not counts:
            raise ConfigError("group_rows", list(group_rows), "at least one group with rows")
        hist = tuple(sorted((m, float(c)) for m, c in counts.items()))
        return cls(n, k, hist, label or f"explicit {len(group_rows)} groups, n={n}, k={k}")

    @property
    def active_groups(self) -> float:
        """Expected number of groups launched (experts with at least one row)."""
        return sum(c for _, c in self.group_rows)

    @property
    def rows(self) -> float:
        """Expected rows over all groups (tokens x top_k for an MoE layer)."""
        return sum(m * c for m, c in self.group_rows)

    def tiles_along_rows(self, tile: int) -> float:
        """Expected sum over groups of ceil(m / tile): the row-tiles a grouped GEMM launches."""
        key = ("rows", tile)
        if key not in self._cache:
            self._cache[key] = sum(c * -(-m // tile) for m, c in self.group_rows)
        return self._cache[key]

    def describe(self) -> str:
        return self.label or f"n={self.n}, k={self.k}, {self.active_groups:.1f} groups, {self.rows:.0f} rows"

    def to_dict(self) -> dict:
        return {"n": self.n, "k": self.k, "label": self.label, "model": self.model, "gemm": self.gemm,
                "tokens": self.tokens, "routing": self.routing, "active_groups": round(self.active_groups, 3),
                "rows": round(self.rows, 3)}


# -- routing -------------------------------------------------------------------------------------


def _binomial_pmf_terms(trials: int, p: float):
    """(m, pmf) for m >= 1 where the pmf is not negligible (computed in logs, windowed around the mean)."""
    if p <= 0.0:
        return []
    if p >= 1.0:
        return [(trials, 1.0)]
    mean = trials * p
    sd = math.sqrt(trials * p * (1 - p))
    lo = max(1, int(mean - 12 * sd) - 2)
    hi = min(trials, int(mean + 12 * sd) + 3)
    log_p, log_q = math.log(p), math.log1p(-p)
    lg_n = math.lgamma(trials + 1)
    out = []
    for m in range(lo, hi + 1):
        log_pmf = lg_n - math.lgamma(m + 1) - math.lgamma(trials - m + 1) + m * log_p + (trials - m) * log_q
        out.append((m, math.exp(log_pmf)))
    return out


def _zipf_pick_probabilities(experts: int, top_k: int, s: float) -> list:
    """Per-expert probabilities that a token picks it, proportional to 1/(i+1)^s, summing to top_k, each
    at most 1 (the excess of a capped expert is spread over the others)."""
    weights = [1.0 / (i + 1) ** s for i in range(experts)]
    probs = [0.0] * experts
    free = list(range(experts))
    budget = float(top_k)
    while free:
        total = sum(weights[i] for i in free)
        capped = [i for i in free if budget * weights[i] / total >= 1.0]
        if not capped:
            for i in free:
                probs[i] = budget * weights[i] / total
            break
        for i in capped:
            probs[i] = 1.0
            budget -= 1.0
            free.remove(i)
    return probs


@functools.lru_cache(maxsize=256)
def routing_histogram(experts: int, top_k: int, tokens: int, routing: str = "uniform") -> tuple:
    """Expected number of experts with m routed rows, for m >= 1, under a routing scenario."""
    scenarios = _table()["routing"]
    if routing not in scenarios or routing.startswith("_"):
        raise ConfigError("routing", routing, routing_names())
    if top_k > experts:
        raise ConfigError("top_k", top_k, f"at most the number of experts ({experts})")
    if routing == "uniform":
        probs = [top_k / experts] * experts
    else:
        probs = _zipf_pick_probabilities(experts, top_k, float(scenarios[routing]["zipf_s"]))
    hist: dict = {}
    by_p: dict = {}
    for p in probs:  # experts sharing a probability share a pmf
        by_p[p] = by_p.get(p, 0) + 1
    for p, count in by_p.items():
        for m, pmf in _binomial_pmf_terms(tokens, p):
            hist[m] = hist.get(m, 0.0) + count * pmf
    return tuple((m, c) for m, c in sorted(hist.items()) if c >= _NEGLIGIBLE_GROUPS)


def moe_problem(model: Union[str, MoeShape], gemm, tokens: Union[int, str], routing: str = "uniform",
                tp: int = 1) -> Problem:
    """The grouped GEMM of one MoE layer: ``gemm`` 1 (gate+up) or 2 (down), ``tokens`` a count or a bucket
    name (``decode-8``, ``prefill-4096``), ``routing`` uniform or skewed."""
    shape = model if isinstance(model, MoeShape) else model_shape(model)
    if not isinstance(routing, str):
        raise ConfigError("routing", _shown(routing), routing_names())
    g = parse_gemm(gemm)
    bucket, count = parse_bucket(tokens)
    n, k = shape.gemm_nk(g, tp)
    hist = routing_histogram(shape.experts, shape.top_k, count, str(routing).strip().lower())
    label = f"{shape.full_name} GEMM{g} ({'gate+up' if g == 1 else 'down'}) n={n} k={k}, {bucket} " \
            f"({count} tokens, {routing} routing{f', tp={tp}' if tp > 1 else ''})"
    return Problem(n, k, hist, label, shape.key, g, count, str(routing).strip().lower())


__all__ = [
    "MoeShape", "Problem", "model_names", "model_shape", "bucket_names", "routing_names", "parse_bucket",
    "parse_gemm", "routing_histogram", "moe_problem",
]
