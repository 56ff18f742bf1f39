#!/usr/bin/env python3
"""Fit the cost model's fixed terms (SM90) to a decode run of scripts/bench_decode.py, and say what they change.

    python3 scripts/fit_decode_terms.py decode.json [--also docs/benchmarks_h100.json docs/benchmarks.json]
                                        [--json fit.json] [--grid fine|coarse] [--params NAME ...]

1. **Measured terms** (no model): the launch floor (empty kernel), the K-sweep intercept and slope per kernel (the
   fixed time of a launch and the time per k-block), the time per group switch (group sweep through one CTA, grouped
   vs ptr-array), the PDL and CUDA-graph gains of the chained layers.
2. **Model fit**: the SM90 parameters of smem_tactics/data/cost_model.json that carry fixed time --
   ``launch_overhead_us``, ``group_switch_ns``, ``k_block_overhead_ns``, ``epilogue_fixed_ns`` -- fitted by
   coordinate descent to the absolute times (rms of log(measured / predicted)) of every grouped CUTLASS kernel of
   the run: each layer's GEMMs and the sweep points (the one-CTA sweep on a GPU of one SM).
3. **Before / after**: per GEMM of the run, Spearman of the model's order against the measured order, whether the
   model's first choice is within 5 % of the best, the residuals; and the same on every ``--also`` file (issue 5's
   runs, decode and prefill) so a fit that buys decode with prefill shows; any drop of median Spearman, of the count
   >= 0.8 or of the first choices within 5 % on any file is listed as a regression (then the overrides are not for
   data/cost_model.json). ``--params`` fits a subset (the rest stay at their shipped values).

Prints the overrides (``--set`` form for scripts/cost_model_vs_measured.py and a JSON fragment for the lead to put in
data/cost_model.json), the option terms measured between twin kernels (TMA-store vs no-smem epilogue, grouped vs
ptr-array mode, PDL; cost.py's tma_epilogue_fixed_us, grouped_mode_fixed_us, pdl_overlap_us) with what the shipped
values change on the run and the --also files, and the term the model has no parameter for (pipeline fill).
Nothing is written into the package. Pure Python: runs anywhere smem_tactics imports.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smem_tactics.bench import decode as D  # noqa: E402
from smem_tactics.bench import selection, stats  # noqa: E402
from smem_tactics.config import KernelConfig  # noqa: E402
from smem_tactics.contract import read_json_file  # noqa: E402
from smem_tactics.devices import match_device_name  # noqa: E402
from smem_tactics.errors import SmemTacticsError  # noqa: E402

#: The parameters fitted, with the grids coordinate descent walks (fine) or a quick look (coarse).
GRIDS = {
    "fine": {"launch_overhead_us": [x * 0.5 for x in range(0, 41)],
             "group_switch_ns": [x * 50.0 for x in range(0, 61)],
             "k_block_overhead_ns": [x * 10.0 for x in range(0, 31)],
             "epilogue_fixed_ns": [x * 250.0 for x in range(0, 21)]},
    "coarse": {"launch_overhead_us": [0.0, 2.0, 3.0, 5.0, 8.0, 12.0],
               "group_switch_ns": [0.0, 250.0, 500.0, 1000.0, 2000.0],
               "k_block_overhead_ns": [15.0, 50.0, 100.0],
               "epilogue_fixed_ns": [0.0, 500.0, 2000.0]},
}
#: Roles whose kernels the model can rank: main build (the model knows no build flags); ptr-array mode since the
#: model has its per-launch term (grouped_mode_fixed_us) and pads every group to the largest.
FIT_ROLES = ("base", "s2", "nosmem", "coop", "m64", "pa", "pa_nosmem")
#: The per-launch option terms, each measured as the median difference between twin kernels of the same GEMM
#: (cost.py charges them; data/cost_model.json holds the values): (parameter, slower role, faster role) pairs.
OPTION_TWINS = {
    "tma_epilogue_fixed_us": (("base", "nosmem"), ("pa", "pa_nosmem")),
    "grouped_mode_fixed_us": (("base", "pa"), ("nosmem", "pa_nosmem")),
}
#: Entries whose two timing passes differ by more than this are left out (noisy).
MAX_PASS_SPREAD = 0.10

SM12X_TRANSFER = (
    ("launch_overhead_us", "transfers in part: the host and driver launch path (the empty-kernel launch floor) is the "
                           "same code on SM12x (CUDA 13 driver, cudaLaunchKernelEx); the fitted value also holds the "
                           "kernel's on-GPU prologue, pipeline fill and tail on the H200's 132-SM persistent grid, which "
                           "scale with SM count, clocks and memory latency: so the fit is an SM90 override, and the SM12x "
                           "families keep their own value; not measured there"),
    ("group_switch_ns", "assumed to transfer in kind, not in value: SM120 grouped GEMMs run the same SM90 array kernel "
                        "(tensormap rewrite + fence per group switch, smem_tactics/layout/kernel.py); the time per "
                        "switch scales with SM120's clock and memory latency, which no SM12x measurement here gives"),
    ("k_block_overhead_ns", "not transferred: SM120's mainloop issues warp-level mma.sync, not wgmma; the per-k-block "
                            "barrier/issue cost is a different code path (the SM120 family keeps its own fitted value)"),
    ("epilogue_fixed_ns", "assumed to transfer: the TMA store epilogue and its tensormap update are the SM90 collective "
                          "on SM120 too"),
    ("tma_epilogue_fixed_us", "not transferred: the SM12x synthesis space offers no no-smem epilogue, and the drain of "
                              "a TMA store at CTA exit is unmeasured there (0 outside SM90)"),
    ("grouped_mode_fixed_us", "not applicable: SM120 builders build no ptr-array kernel (0 outside SM90)"),
    ("pdl_overlap_us", "CUTLASS's array kernels issue griddepcontrol on sm_120a/121a as well (CUTLASS_ENABLE_GDC_FOR_SM100 "
                    "covers __CUDA_ARCH__ 1200/1210); the gain is assumed similar, unmeasured here"),
)


def gpu_of(results: dict, name: str = ""):
    key = name or match_device_name((results.get("meta") or {}).get("card", "")) or "h100"
    return selection.proxy_gpu(key)


def _stable(r: dict) -> bool:
    pm = r.get("pass_medians_us") or []
    return not pm or min(pm) <= 0 or (max(pm) - min(pm)) / min(pm) <= MAX_PASS_SPREAD


def layer_points(results: dict) -> list:
    """[(scenario, {label: (config, median us)})] for each GEMM of each layer: the grouped CUTLASS kernels the model
    can rank, measured correct and stable."""
    from smem_tactics.bench.scenarios import make_scenario

    kernels = results.get("kernels") or {}
    out = []
    for layer in results.get("layers", []):
        for g in ("gemm1", "gemm2"):
            res = (layer.get("gemms") or {}).get(g, {}).get("results", {})
            meas = {}
            for label, r in res.items():
                if r.get("kind") != "cutlass" or r.get("role") not in FIT_ROLES or r.get("build", "main") != "main":
                    continue
                if not r.get("ok") or r.get("median_us") is None or not _stable(r) or label not in kernels:
                    continue
                meas[label] = (KernelConfig.from_dict(kernels[label]["config"]), r["median_us"])
            if meas:
                s = make_scenario(layer["model"], g, layer["dtype"], layer["tokens"], layer.get("seed", D.SEED))
                out.append((s, meas))
    return out


def sweep_points(results: dict) -> list:
    """[(problem, sm_count, config, median us)] of the sweeps' grouped CUTLASS kernels."""
    from smem_tactics.problems import Problem

    kernels = results.get("kernels") or {}
    out = []
    for r in results.get("sweeps", []):
        if r.get("kind") != "cutlass" or r.get("role") not in FIT_ROLES or not r.get("ok") \
                or r.get("median_us") is None or r.get("kernel") not in kernels or not _stable(r):
            continue
        p = Problem.explicit(n=r["n"], k=r["k"], group_rows=[r["rows"]] * r["groups"])
        out.append((p, r.get("sm_count") or 0, KernelConfig.from_dict(kernels[r["kernel"]]["config"]),
                    r["median_us"]))
    return out


class Model:
    """Predictions of smem_tactics.cost for the run's points under parameter overrides (cached candidates)."""

    def __init__(self, results: dict, gpu=None):
        self.gpu = gpu or gpu_of(results)
        self.layers = layer_points(results)
        self.sweeps = sweep_points(results)
        self._cands: dict = {}

    def cand(self, cfg: KernelConfig):
        if cfg not in self._cands:
            self._cands[cfg] = selection.candidate_of(cfg)
        return self._cands[cfg]

    def predict_all(self, overrides: dict) -> dict:
        from smem_tactics.cost import cost_parameters, predict

        params = cost_parameters("sm90", overrides or None)
        lay = []
        for s, meas in self.layers:
            prob = selection.problem_of(s)
            pred = {lbl: predict(prob, self.gpu, self.cand(cfg), params).predicted_us for lbl, (cfg, _) in meas.items()}
            lay.append((s.key, pred, {lbl: t for lbl, (_, t) in meas.items()}))
        sw = []
        for prob, sm_count, cfg, t in self.sweeps:
            gpu = dataclasses.replace(self.gpu, sms=sm_count) if sm_count else self.gpu
            sw.append((predict(prob, gpu, self.cand(cfg), params).predicted_us, t))
        return {"layers": lay, "sweeps": sw}

    def objective(self, overrides: dict) -> float:
        p = self.predict_all(overrides)
        logs = [math.log(t / pr) for _, pred, meas in p["layers"] for lbl, pr in pred.items() for t in [meas[lbl]]]
        logs += [math.log(t / pr) for pr, t in p["sweeps"]]
        return math.sqrt(sum(x * x for x in logs) / len(logs)) if logs else float("nan")


def rank_metrics(pred_layers: list) -> dict:
    """Spearman, first choice within 5 %, residuals over the run's GEMMs (at least 2 kernels each)."""
    rows = []
    abs_logs = []
    for key, pred, meas in pred_layers:
        abs_logs += [math.log(meas[n] / pred[n]) for n in meas]
        if len(meas) < 2:
            continue
        order = dict(sorted(pred.items(), key=lambda kv: kv[1]))
        ev = stats.model_vs_measured(order, meas)
        logres = [math.log(meas[n] / pred[n]) for n in meas]
        mid = stats.median(logres)
        ev["rms_log_residual"] = math.sqrt(sum((x - mid) ** 2 for x in logres) / len(logres))
        ev["key"] = key
        rows.append(ev)
    rhos = [r["spearman"] for r in rows if math.isfinite(r["spearman"])]
    return {"n": len(rows), "median_spearman": stats.median(rhos) if rhos else None,
            "spearman_ge_0_8": sum(r >= 0.8 for r in rhos), "top_within_5pct": sum(r["top_within"] for r in rows),
            "worst_top_over_best": max((r["top_over_best"] for r in rows), default=None),
            "mean_rms_log_residual": sum(r["rms_log_residual"] for r in rows) / len(rows) if rows else None,
            "abs_rms_log_error": math.sqrt(sum(x * x for x in abs_logs) / len(abs_logs)) if abs_logs else None,
            "mean_log_error": sum(abs_logs) / len(abs_logs) if abs_logs else None}


def fit(model: Model, grid: dict, rounds: int = 6, refine: bool = True) -> tuple:
    """Coordinate descent from the shipped values over ``grid`` (until a round moves nothing), then, with
    ``refine``, a compass search from there (steps start at each grid's spacing, halve when no move helps, stop
    below a sixteenth of it; values stay >= 0): coordinate descent alone stalls where two terms trade off.
    Returns (overrides, objective)."""
    from smem_tactics.cost import cost_parameters

    shipped = cost_parameters("sm90").to_dict()
    cur = {k: float(shipped[k]) for k in grid}
    best = model.objective(cur)
    for _ in range(rounds):
        moved = False
        for name, values in grid.items():
            for v in values:
                trial = dict(cur, **{name: v})
                obj = model.objective(trial)
                if obj < best - 1e-12:
                    best, cur, moved = obj, trial, True
        if not moved:
            break
    if refine:
        steps = {k: (max(v) - min(v)) / max(1, len(v) - 1) for k, v in grid.items()}
        floor = {k: s / 16.0 for k, s in steps.items()}
        while any(steps[k] >= floor[k] for k in steps):
            moved = False
            for name in grid:
                if steps[name] < floor[name]:
                    continue
                for sign in (1.0, -1.0):
                    v = cur[name] + sign * steps[name]
                    if v < 0:
                        continue
                    trial = dict(cur, **{name: v})
                    obj = model.objective(trial)
                    if obj < best - 1e-12:
                        best, cur, moved = obj, trial, True
                        break
            if not moved:
                steps = {k: s / 2.0 for k, s in steps.items()}
    return {k: round(v, 6) for k, v in cur.items()}, best


def measured_terms(results: dict) -> dict:
    """The fixed terms as measured, before any model: see the module docstring."""
    att = D.attribution(results)
    fits = att["sweep_fits"]
    lf = results.get("launch_floor") or {}
    noop = (lf.get("noop") or {}).get("median")
    out = {"launch_floor_us": noop, "launch_floor": lf, "sweep_fits": fits,
           "pdl_gain_us": att["pdl_gain_us"], "graph_gain_us": att["graph_gain_us"],
           "role_minus_base_us": att["role_minus_base_us"]}
    per_switch = {}
    for f in fits:
        if f["sweep"] == "groups" and f["slope"] is not None:
            per_switch[f"{f['dtype']}/{f['kernel']}"] = f["slope"] * 1e3  # ns per group through one CTA
    out["group_switch_ns_measured"] = per_switch
    fill = {}
    for f in fits:
        if f["sweep"] == "k" and f["intercept"] is not None:
            fill[f"{f['dtype']}/{f['kernel']}"] = {
                "fixed_us": f["intercept"], "per_k_block_us": f["slope"],
                "fixed_minus_launch_floor_us": f["intercept"] - noop if noop is not None else None}
    out["k_sweep"] = fill
    return out


def option_terms(results: dict) -> dict:
    """The option terms as measured (no model): per parameter of :data:`OPTION_TWINS`, the median over every GEMM of
    every layer (both dtypes pooled) of the slower twin's time minus the faster one's; ``pdl_overlap_us`` is the
    median PDL gain per chained CUTLASS layer (GEMM2 launched with PDL behind GEMM1)."""
    out = {}
    for name, twins in OPTION_TWINS.items():
        diffs = []
        for layer in results.get("layers", []):
            for g in ("gemm1", "gemm2"):
                res = (layer.get("gemms") or {}).get(g, {}).get("results", {})
                by_role = {r.get("role"): r for r in res.values() if r.get("kind") == "cutlass" and r.get("ok")
                           and r.get("median_us") is not None and r.get("build", "main") == "main" and _stable(r)}
                for slow, fast in twins:
                    if slow in by_role and fast in by_role:
                        diffs.append(by_role[slow]["median_us"] - by_role[fast]["median_us"])
        out[name] = {"n": len(diffs), "median_us": stats.median(diffs) if diffs else None,
                     "min_us": min(diffs) if diffs else None, "max_us": max(diffs) if diffs else None,
                     "twins": [list(t) for t in twins]}
    pdl = D.attribution(results)["pdl_gain_us"]
    out["pdl_overlap_us"] = {"n": pdl["n"], "median_us": pdl["median"], "min_us": pdl["min"], "max_us": pdl["max"],
                             "twins": [["chain stream", "chain pdl"]]}
    return out


def also_metrics(path: str, params) -> dict:
    """scripts/cost_model_vs_measured.evaluate on an issue-5 benchmark file, all scenarios and prefill alone."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cost_model_vs_measured as cm

    res = read_json_file(path, path)
    ev = cm.evaluate(res, cm.gpu_for(res), params)
    pre = [r for r in ev["rows"] if int(r["key"].rsplit("/t", 1)[1]) >= 1024]
    out = {"all": {k: ev[k] for k in ("n", "median_spearman", "spearman_ge_0_8", "top_within_5pct",
                                      "mean_rms_log_residual")}}
    out["all"].update(_abs_errors(ev["rows"]))
    if pre:
        rhos = [r["spearman"] for r in pre if math.isfinite(r["spearman"])]
        out["prefill"] = {"n": len(pre), "median_spearman": stats.median(rhos) if rhos else None,
                          "spearman_ge_0_8": sum(r >= 0.8 for r in rhos),
                          "top_within_5pct": sum(r["top_within"] for r in pre),
                          "mean_rms_log_residual": sum(r["rms_log_residual"] for r in pre) / len(pre),
                          **_abs_errors(pre)}
    return out


def _abs_errors(rows: list) -> dict:
    """rms and mean of log(measured / predicted) over every kernel of ``rows`` (the model's absolute time)."""
    logs = [x for r in rows for x in r.get("log_errors", [])]
    if not logs:
        return {}
    return {"abs_rms_log_error": math.sqrt(sum(x * x for x in logs) / len(logs)),
            "mean_log_error": sum(logs) / len(logs)}


#: What the --also check compares (higher is better for each): a fit that lowers any of them on any file or part
#: (all scenarios, prefill) is a ranking regression.
RANK_KEYS = ("median_spearman", "spearman_ge_0_8", "top_within_5pct")


def regressions(also: dict) -> list:
    """``also``: {path: {"before": {part: metrics}, "after": ...}}; one line per metric that got worse."""
    out = []
    for path, ba in also.items():
        for part, before in ba["before"].items():
            after = ba["after"].get(part) or {}
            for key in RANK_KEYS:
                b, a = before.get(key), after.get(key)
                if b is not None and a is not None and a < b - 1e-9:
                    out.append(f"{Path(path).name} [{part}] {key} {b:g} -> {a:g}")
    return out


def _fmt(m: dict) -> str:
    def f(x, nd=3):
        return "-" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))
    return (f"n {m['n']}, median Spearman {f(m.get('median_spearman'))}, >= 0.8 {m.get('spearman_ge_0_8')}, "
            f"first choice within 5 % {m.get('top_within_5pct')}/{m['n']}, rms log residual "
            f"{f(m.get('mean_rms_log_residual'))}" + (f", absolute rms log error {f(m.get('abs_rms_log_error'))}, "
                                                       f"mean log error {f(m.get('mean_log_error'))}"
                                                       if "abs_rms_log_error" in m else ""))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="decode.json of scripts/bench_decode.py")
    p.add_argument("--also", nargs="*", default=[], help="issue-5 benchmark JSON files to check for regressions")
    p.add_argument("--gpu", default="", help="GPU facts to predict with (default: the run's card)")
    p.add_argument("--grid", choices=tuple(GRIDS), default="fine")
    p.add_argument("--params", nargs="+", default=list(GRIDS["fine"]), metavar="NAME",
                   help=f"the parameters to fit, the others kept at their shipped values (default: all of "
                        f"{', '.join(GRIDS['fine'])})")
    p.add_argument("--json", default="", help="write everything here")
    args = p.parse_args(argv)
    for name in args.params:
        if name not in GRIDS["fine"]:
            print(f"error: --params: given {name!r}; allowed: {', '.join(GRIDS['fine'])}", file=sys.stderr)
            return 2
    try:
        results = read_json_file("results", args.results)
        if not isinstance(results.get("layers"), list) or "kernels" not in results:
            print(f"error: results: {args.results} is not accepted (no 'layers'/'kernels'); allowed: the decode.json "
                  f"scripts/bench_decode.py writes", file=sys.stderr)
            return 2
        model = Model(results, gpu_of(results, args.gpu))
    except SmemTacticsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not model.layers and not model.sweeps:
        print("error: results: no grouped CUTLASS kernel measured correct in the run; allowed: a run with layers or "
              "sweeps", file=sys.stderr)
        return 2
    card = (results.get("meta") or {}).get("card", "?")
    terms = measured_terms(results)
    print(f"run: {args.results} ({card}); {len(model.layers)} GEMMs with {sum(len(m) for _, m in model.layers)} "
          f"kernel times, {len(model.sweeps)} sweep points")
    print(f"measured: launch floor (empty kernel) {terms['launch_floor_us']} us; PDL gain per layer "
          f"{terms['pdl_gain_us']}; CUDA-graph gain {terms['graph_gain_us']}")
    for k, v in terms["k_sweep"].items():
        print(f"  K sweep {k}: fixed {v['fixed_us']:.2f} us, {v['per_k_block_us']:.3f} us per k-block")
    for k, v in terms["group_switch_ns_measured"].items():
        print(f"  group sweep (one CTA) {k}: {v:.0f} ns per group")
    opts = option_terms(results)
    for k, v in opts.items():
        if v["median_us"] is not None:
            print(f"  option term {k}: median {v['median_us']:.3f} us (min {v['min_us']:.2f}, max {v['max_us']:.2f}) "
                  f"over {v['n']} twin pairs")

    before_pred = model.predict_all({})
    before = rank_metrics(before_pred["layers"])
    overrides, obj = fit(model, {k: v for k, v in GRIDS[args.grid].items() if k in args.params})
    after_pred = model.predict_all(overrides)
    after = rank_metrics(after_pred["layers"])
    print(f"objective (absolute rms log error over layers + sweeps): shipped {model.objective({}):.4f} -> fitted "
          f"{obj:.4f}")
    print(f"decode run, before: {_fmt(before)}")
    print(f"decode run, after:  {_fmt(after)}")
    from smem_tactics.cost import cost_parameters

    shipped = cost_parameters("sm90").to_dict()
    changed = {k: v for k, v in overrides.items() if v != shipped[k]}
    report = {"run": args.results, "card": card, "measured": terms, "option_terms": opts, "shipped": {k: shipped[k] for k in overrides},
              "fitted": overrides, "objective": {"shipped": model.objective({}), "fitted": obj},
              "decode_before": before, "decode_after": after, "also": {}}
    for path in args.also:
        try:
            b, a = also_metrics(path, None), also_metrics(path, changed or None)
        except (SmemTacticsError, KeyError, ValueError) as e:
            print(f"error: --also {path}: {e}", file=sys.stderr)
            return 2
        report["also"][path] = {"before": b, "after": a}
        for part in b:
            print(f"{path} [{part}] before: {_fmt(b[part])}")
            print(f"{path} [{part}] after:  {_fmt(a[part])}")
    report["regressions"] = regressions(report["also"])
    if args.also:
        print("ranking on the --also files: " + ("; ".join(report["regressions"]) + " (do not apply)"
                                                  if report["regressions"] else "no regression (Spearman, >= 0.8, "
                                                  "first choice within 5 %)"))
    date = (results.get("meta") or {}).get("date")
    print("overrides (fitted; apply by hand to data/cost_model.json, arch sm90):")
    print("  --set " + " ".join(f"{k}={v:g}" for k, v in changed.items()) if changed else "  none: the shipped "
          "values fit best on this grid")
    print("  " + json.dumps({k: {"value": v, "status": "fitted",
                                 "source": f"scripts/fit_decode_terms.py --params {' '.join(args.params)} on "
                                           f"{Path(args.results).name} ({card}{', ' + date if date else ''})"}
                             for k, v in changed.items()}))
    print("proposal (no parameter in cost.py): pipeline fill = K-sweep intercept minus the launch floor, per kernel "
          "above")
    shipped_opts = {k: shipped.get(k) for k in opts}
    zero = {k: 0.0 for k in opts}
    print("option terms: shipped (arch sm90) " + ", ".join(f"{k}={v:g}" for k, v in shipped_opts.items())
          + "; measured medians " + ", ".join(f"{k}={v['median_us']:.3f}" for k, v in opts.items()
                                             if v["median_us"] is not None))
    opt_before, opt_after = model.predict_all(zero), model.predict_all({})
    report["option_terms_check"] = {"run": {"without": rank_metrics(opt_before["layers"]),
                                            "shipped": rank_metrics(opt_after["layers"])}, "also": {}}
    print(f"decode run, option terms at 0: {_fmt(report['option_terms_check']['run']['without'])}")
    print(f"decode run, option terms shipped: {_fmt(report['option_terms_check']['run']['shipped'])}")
    for path in args.also:
        b, a = also_metrics(path, zero), also_metrics(path, None)
        report["option_terms_check"]["also"][path] = {"before": b, "after": a}
        for part in b:
            print(f"{path} [{part}] option terms at 0: {_fmt(b[part])}")
            print(f"{path} [{part}] option terms shipped: {_fmt(a[part])}")
    report["option_terms_check"]["regressions"] = regressions(report["option_terms_check"]["also"])
    if args.also:
        print("option terms on the --also files: " + ("; ".join(report["option_terms_check"]["regressions"])
                                                       or "no regression"))
    print("SM12x: which terms transfer")
    for name, why in SM12X_TRANSFER:
        print(f"  {name}: {why}")
    report["sm12x_transfer"] = dict(SM12X_TRANSFER)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
