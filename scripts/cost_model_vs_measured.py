#!/usr/bin/env python3
"""Judge smem_tactics.cost against measured grouped-GEMM times (the JSON scripts/bench_grouped_gemm.py writes).

    python3 scripts/cost_model_vs_measured.py docs/benchmarks.json [--gpu h200] [--set k_block_overhead_ns=60 ...]
    python3 scripts/cost_model_vs_measured.py docs/benchmarks_h100.json docs/benchmarks.json --fit

Per scenario: Spearman between the model's order and the measured order of the capped CUTLASS kernels measured
correct ((b) and (c)), and whether the model's first choice among them is within 5 % of the measured best.
``--set`` evaluates parameter overrides (``cost_parameters`` names); ``--fit`` grid-searches a few parameters on
the first file and reports every file with the best values (the first file is the fit, the others are held out).
Entries whose two timing passes differ by more than ``--max-pass-spread`` are left out (noisy measurements).
Pure Python: runs anywhere smem_tactics imports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smem_tactics.bench import selection, stats  # noqa: E402
from smem_tactics.bench.scenarios import make_scenario, parse_scenario_key  # noqa: E402
from smem_tactics.config import KernelConfig  # noqa: E402
from smem_tactics.devices import match_device_name  # noqa: E402

#: The grid --fit searches (parameters of data/cost_model.json).
FIT_GRID = {
    "k_block_overhead_ns": (15.0, 30.0, 50.0, 80.0, 120.0),
    "epilogue_fixed_ns": (0.0, 250.0, 500.0, 1000.0, 2000.0),
    "loaded_latency_factor": (1.5, 2.0, 2.7),
}


def measured_sets(results: dict, max_pass_spread: float, exclude_sets: tuple = ()) -> list:
    """[(scenario key, {kernel: median us})] of the capped CUTLASS kernels measured correct and stable (less
    kernels that are only in ``exclude_sets``, e.g. the epilogue twins ``t``)."""
    out = []
    for s in results["scenarios"]:
        meas = {}
        for name, r in s["results"].items():
            if r["kind"] != "cutlass" or "a" in r["sets"] or not r.get("ok") or not r.get("median_us"):
                continue
            if exclude_sets and set(r["sets"]) <= set(exclude_sets):
                continue
            pm = r.get("pass_medians_us") or []
            if pm and (max(pm) - min(pm)) / min(pm) > max_pass_spread:
                continue
            meas[name] = r["median_us"]
        if len(meas) >= 2:
            out.append((s["key"], meas))
    return out


def evaluate(results: dict, gpu, params=None, max_pass_spread: float = 0.10, exclude_sets: tuple = ()) -> dict:
    configs = {n: KernelConfig.from_dict(k["config"]) for n, k in results["kernels"].items()}
    rows = []
    for key, meas in measured_sets(results, max_pass_spread, exclude_sets):
        s = make_scenario(*parse_scenario_key(key))
        pred = selection.predictions(s, [configs[n] for n in meas], gpu=gpu, params=params)
        ev = stats.model_vs_measured(pred, meas)
        logres = [math.log(meas[n] / pred[n]) for n in meas]
        mid = stats.median(logres)
        ev["key"] = key
        ev["rms_log_residual"] = math.sqrt(sum((x - mid) ** 2 for x in logres) / len(logres))
        ev["log_errors"] = logres  # log(measured / predicted) per kernel: the absolute error, not only the order
        rows.append(ev)
    rhos = [r["spearman"] for r in rows if math.isfinite(r["spearman"])]
    return {"rows": rows, "median_spearman": stats.median(rhos), "spearman_ge_0_8": sum(r >= 0.8 for r in rhos),
            "top_within_5pct": sum(r["top_within"] for r in rows), "n": len(rows),
            "mean_rms_log_residual": sum(r["rms_log_residual"] for r in rows) / len(rows)}


def gpu_for(results: dict, name: str = ""):
    key = name or match_device_name(results["meta"]["device"]["name"]) or "h100"
    return selection.proxy_gpu(key)


def summary(label: str, ev: dict) -> str:
    return (f"{label}: median Spearman {ev['median_spearman']:.3f}; >= 0.8 in {ev['spearman_ge_0_8']}/{ev['n']}; "
            f"top choice within 5 % in {ev['top_within_5pct']}/{ev['n']}; mean rms log residual "
            f"{ev['mean_rms_log_residual']:.3f}")


def parse_set(items) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise SystemExit(f"error: --set {item!r}: expected name=value")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise SystemExit(f"error: --set {item!r}: {v!r} is not a number") from None
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", help="benchmarks JSON file(s)")
    p.add_argument("--gpu", default="", help="GPU facts to rank with (default: the card in each file)")
    p.add_argument("--set", nargs="*", default=[], help="cost-model parameter overrides, name=value")
    p.add_argument("--fit", action="store_true", help="grid-search FIT_GRID on the first file")
    p.add_argument("--max-pass-spread", type=float, default=0.10)
    p.add_argument("--exclude-sets", default="", help="comma list of contender sets to leave out (e.g. t: the "
                                                       "epilogue twins); a kernel also in another set stays")
    p.add_argument("--json", default="", help="write the evaluations here")
    args = p.parse_args(argv)
    files = []
    for f in args.results:
        try:
            files.append((f, json.loads(Path(f).read_text())))
        except (OSError, json.JSONDecodeError) as e:
            print(f"error: {f}: {e}", file=sys.stderr)
            return 2
    overrides = parse_set(args.set)
    excl = tuple(x.strip() for x in args.exclude_sets.split(",") if x.strip())
    report = {}
    for f, res in files:
        card = res["meta"]["device"]["name"]
        base = evaluate(res, gpu_for(res, args.gpu), None, args.max_pass_spread, excl)
        print(summary(f"{f} ({card}) model as shipped", base))
        report[f] = {"card": card, "as_shipped": base}
        if overrides:
            ev = evaluate(res, gpu_for(res, args.gpu), overrides, args.max_pass_spread, excl)
            print(summary(f"{f} ({card}) with {overrides}", ev))
            report[f]["overrides"] = {"params": overrides, **ev}
    if args.fit:
        f0, res0 = files[0]
        best = None
        for values in itertools.product(*FIT_GRID.values()):
            params = dict(zip(FIT_GRID, values))
            ev = evaluate(res0, gpu_for(res0, args.gpu), params, args.max_pass_spread, excl)
            score = (ev["mean_rms_log_residual"], -ev["median_spearman"])
            if best is None or score < best[0]:
                best = (score, params)
        params = best[1]
        print(f"fit on {f0}: {params}")
        for f, res in files:
            ev = evaluate(res, gpu_for(res, args.gpu), params, args.max_pass_spread, excl)
            print(summary(f"{f} ({res['meta']['device']['name']}) fitted{' (held out)' if f != f0 else ''}", ev))
            report[f]["fitted"] = {"params": params, "fit_on": f0, **ev}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
