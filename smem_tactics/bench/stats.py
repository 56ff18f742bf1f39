"""Arithmetic of the benchmark's results: medians, spreads, rank correlation, contender ratios, goals.

Pure Python, so the CPU tests cover exactly what turns raw timings into the report.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Optional, Sequence


def median(values: Sequence[float]) -> float:
    vals = sorted(float(v) for v in values)
    if not vals:
        raise ValueError("median of no values")
    n = len(vals)
    mid = n // 2
    return vals[mid] if n % 2 else 0.5 * (vals[mid - 1] + vals[mid])


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (``q`` in [0, 1])."""
    vals = sorted(float(v) for v in values)
    if not vals:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile: q={q} is outside [0, 1]")
    pos = q * (len(vals) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def spread(values: Sequence[float]) -> dict:
    """median, p10, p90 and the relative inter-decile spread of a list of timings."""
    med = median(values)
    p10, p90 = quantile(values, 0.1), quantile(values, 0.9)
    return {"median": med, "p10": p10, "p90": p90, "rel_spread": (p90 - p10) / med if med else float("nan"),
            "n": len(values)}


def ranks(values: Sequence[float]) -> list:
    """1-based ranks, ties given their average rank (as scipy.stats.rankdata)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2.0 + 1.0
        for t in range(i, j + 1):
            out[order[t]] = avg
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) != len(y):
        raise ValueError("pearson: the two lists differ in length")
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return float("nan")
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / math.sqrt(sxx * syy)


def spearman(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN when fewer than 2 items or a constant list."""
    return pearson(ranks(predicted), ranks(measured))


def model_vs_measured(predicted_us: Mapping[str, float], measured_us: Mapping[str, float],
                      within: float = 0.05) -> dict:
    """How a cost model's ranking of one scenario's candidates compares with the measured times.

    Only names present in both maps count. Returns the Spearman correlation, the model's top choice, the
    measured best, and whether the top choice is within ``within`` (5 %) of the measured best. Equal predictions
    are broken by the order of ``predicted_us`` (give it in :func:`smem_tactics.cost.rank` order, whose ties go
    to less shared memory, so the top choice here is the one the model would ship).
    """
    order = {n: i for i, n in enumerate(predicted_us)}
    names = sorted(set(predicted_us) & set(measured_us))
    if not names:
        raise ValueError("model_vs_measured: no candidate was both predicted and measured")
    pred = [float(predicted_us[n]) for n in names]
    meas = [float(measured_us[n]) for n in names]
    top = names[min(range(len(names)), key=lambda i: (round(pred[i], 6), order[names[i]]))]
    best = names[min(range(len(names)), key=lambda i: (meas[i], names[i]))]
    ratio = measured_us[top] / measured_us[best]
    return {"n": len(names), "spearman": spearman(pred, meas), "model_top": top, "measured_best": best,
            "top_over_best": ratio, "top_within": ratio <= 1.0 + within}


def best(times: Mapping[str, Optional[float]]) -> tuple:
    """(name, time) of the fastest entry with a time; (None, None) if none has one."""
    items = [(t, n) for n, t in times.items() if t is not None and math.isfinite(t)]
    if not items:
        return None, None
    t, n = min(items)
    return n, t


def geomean(values: Iterable[float]) -> float:
    vals = [float(v) for v in values]
    if not vals or any(v <= 0 for v in vals):
        return float("nan")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


#: The issue's goals: (name, description, threshold, which scenarios).
GOALS = (
    ("c_over_a", "(c) best capped synthesized config / (a) best unconstrained: a_time / c_time >= 0.95", 0.95, "all"),
    ("c_vs_b", "(c) vs (b) TRT-LLM stock tiles under the cap: b_time / c_time >= 1.10", 1.10, "decode"),
    ("c_vs_d", "(c) vs (d) Triton fused-MoE under the cap: d_time / c_time >= 1.2", 1.20, "all"),
    ("c_bw_roofline", "decode: bandwidth floor / c_time >= 0.80", 0.80, "decode"),
)


def scenario_ratios(c: Optional[float], a: Optional[float], b: Optional[float], d: Optional[float],
                    memory_floor_us: float) -> dict:
    """The goal ratios of one scenario (larger is better for (c) in every one); None where a side is missing."""
    def ratio(num, den):
        return None if num is None or den is None or den <= 0 else num / den
    return {"c_over_a": ratio(a, c), "c_vs_b": ratio(b, c), "c_vs_d": ratio(d, c),
            "c_bw_roofline": ratio(memory_floor_us, c)}


def goal_report(rows: Sequence[Mapping], spearmans: Sequence[float], spearman_goal: float = 0.8) -> list:
    """One line per goal: how many scenarios meet it, the worst value, and whether all meet it.

    ``rows`` are dicts with ``phase`` and the keys of :func:`scenario_ratios`.
    """
    out = []
    for key, text, threshold, which in GOALS:
        vals = [(r[key], r) for r in rows if r.get(key) is not None and (which == "all" or r["phase"] == which)]
        if not vals:
            out.append({"goal": key, "text": text, "met": None, "count": 0})
            continue
        met = sum(1 for v, _ in vals if v >= threshold)
        worst_v, worst_r = min(vals, key=lambda vr: vr[0])
        out.append({"goal": key, "text": text, "threshold": threshold, "count": len(vals), "met_count": met,
                    "met": met == len(vals), "worst": worst_v, "worst_scenario": worst_r.get("key"),
                    "geomean": geomean(v for v, _ in vals)})
    finite = [s for s in spearmans if s is not None and math.isfinite(s)]
    if finite:
        met = sum(1 for s in finite if s >= spearman_goal)
        out.append({"goal": "spearman", "text": f"cost-model Spearman >= {spearman_goal} per scenario",
                    "threshold": spearman_goal, "count": len(finite), "met_count": met, "met": met == len(finite),
                    "worst": min(finite), "median": median(finite)})
    else:
        out.append({"goal": "spearman", "text": f"cost-model Spearman >= {spearman_goal} per scenario", "met": None,
                    "count": 0})
    return out


def max_overlap_per_sm(records: Sequence[Sequence[int]]) -> dict:
    """Residency probe arithmetic: from (sm id, start, end) per block, the most blocks that were running at the same
    time on each SM. An end equal to another block's start does not overlap it."""
    events: dict = {}
    for sm, start, end in records:
        if end < start:
            raise ValueError(f"residency record ends before it starts: {(sm, start, end)}")
        events.setdefault(int(sm), []).extend(((int(start), 1), (int(end), -1)))
    out = {}
    for sm, evs in events.items():
        evs.sort(key=lambda e: (e[0], e[1]))  # at equal times the end (-1) comes first
        cur = peak = 0
        for _, d in evs:
            cur += d
            peak = max(peak, cur)
        out[sm] = peak
    return out


__all__ = ["max_overlap_per_sm", "median", "quantile", "spread", "ranks", "pearson", "spearman", "model_vs_measured", "best", "geomean",
           "GOALS", "scenario_ratios", "goal_report"]
