"""Turn the benchmark's raw results (the JSON ``scripts/bench_grouped_gemm.py`` writes) into summary rows, Markdown
tables and the plot. Pure Python except :func:`plot` (matplotlib, imported when called)."""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

from . import stats

#: Contender sets in report order, with their column titles.
SETS = (("a", "(a) best unconstrained"), ("b", "(b) TRT-LLM tiles <= 99 KiB"), ("c", "(c) synthesized <= 99 KiB"),
        ("d", "(d) Triton <= 99 KiB"), ("e", "(e) torch grouped mm"))


def best_of_set(scenario: Mapping, which: str) -> tuple:
    """(name, median us) of the fastest correct entry of contender set ``which`` in one scenario's results."""
    times = {name: r["median_us"] for name, r in scenario["results"].items()
             if which in r.get("sets", ()) and r.get("ok") and r.get("median_us") is not None}
    return stats.best(times)


def summary_row(scenario: Mapping) -> dict:
    """One scenario's row: best time per set, floors, goal ratios, cost-model verdict."""
    row = {"key": scenario["key"], "phase": scenario["phase"], "model": scenario["model"], "gemm": scenario["gemm"],
           "dtype": scenario["dtype"], "tokens": scenario["tokens"]}
    for which, _ in SETS:
        name, t = best_of_set(scenario, which)
        row[which] = t
        row[which + "_name"] = name
    floors = scenario["floors"]
    row.update({"roofline_us": floors["roofline_us"], "memory_us": floors["memory_us"], "math_us": floors["math_us"],
                "bound": floors["bound"]})
    row.update(stats.scenario_ratios(row["c"], row["a"], row["b"], row["d"], floors["memory_us"]))
    cm = scenario.get("cost_model") or {}
    row["spearman"] = cm.get("spearman")
    row["model_top"] = cm.get("model_top")
    row["model_top_over_best"] = cm.get("top_over_best")
    return row


def summary_rows(results: Mapping) -> list:
    return [summary_row(s) for s in results["scenarios"]]


def _fmt(x: Optional[float], nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{nd}f}"


def markdown_table(rows: Sequence[Mapping], card: str) -> str:
    """Scenario table: best time per contender set (us), the floor, and the goal ratios."""
    head = ("| scenario | " + " | ".join(t for _, t in SETS) + " | (f) roofline | bound | a/c | b/c | d/c | "
            "floor_mem/c | model top / best | Spearman |")
    lines = [f"All times in microseconds on one {card} (median of the repetitions; cold L2).", "", head,
             "|" + "---|" * (len(SETS) + 9)]
    for r in rows:
        cells = [r["key"]] + [_fmt(r[w]) for w, _ in SETS] + [
            _fmt(r["roofline_us"]), r["bound"], _fmt(r["c_over_a"], 3), _fmt(r["c_vs_b"], 3), _fmt(r["c_vs_d"], 3),
            _fmt(r["c_bw_roofline"], 3), _fmt(r["model_top_over_best"], 3), _fmt(r["spearman"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def winners_table(rows: Sequence[Mapping]) -> str:
    lines = ["| scenario | (a) | (b) | (c) | (d) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([r["key"]] + [str(r.get(w + "_name") or "-") for w in "abcd"]) + " |")
    return "\n".join(lines) + "\n"


def goals_table(goals: Sequence[Mapping]) -> str:
    lines = ["| goal | scenarios | met | worst (scenario) | geomean / median |", "|---|---|---|---|---|"]
    for g in goals:
        if not g.get("count"):
            lines.append(f"| {g['text']} | 0 | - | - | - |")
            continue
        extra = g.get("geomean", g.get("median"))
        worst = f"{_fmt(g['worst'], 3)} ({g.get('worst_scenario', '-')})" if "worst" in g else "-"
        lines.append(f"| {g['text']} | {g['count']} | {g['met_count']}/{g['count']} | {worst} | {_fmt(extra, 3)} |")
    return "\n".join(lines) + "\n"


def plot(results: Mapping, path: str) -> None:
    """% of the roofline per scenario and contender set, one panel per (dtype, model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(results)
    card = results["meta"]["device"]["name"]
    dtypes = sorted({r["dtype"] for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(len(dtypes), len(models), figsize=(6 * len(models), 3.8 * len(dtypes)), squeeze=False)
    colors = {"a": "#7f7f7f", "b": "#d62728", "c": "#2ca02c", "d": "#1f77b4", "e": "#ff7f0e"}
    for i, dt in enumerate(dtypes):
        for j, mk in enumerate(models):
            ax = axes[i][j]
            sub = [r for r in rows if r["dtype"] == dt and r["model"] == mk]
            labels = [f"{r['gemm'][-1]}:t{r['tokens']}" for r in sub]
            width = 0.16
            for k, (w, title) in enumerate(SETS):
                vals = [100.0 * r["roofline_us"] / r[w] if r[w] else 0.0 for r in sub]
                ax.bar([x + (k - 2) * width for x in range(len(sub))], vals, width, label=title, color=colors[w])
            ax.set_xticks(range(len(sub)))
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_ylim(0, 105)
            ax.axhline(80, color="k", lw=0.6, ls="--")
            ax.set_title(f"{mk} {dt}", fontsize=10)
            if j == 0:
                ax.set_ylabel("% of roofline (higher is better)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"MoE grouped GEMM vs roofline, one {card}; x = gemm:tokens (1 = gate+up, 2 = down)\n"
                 f"(b)-(d) capped at 101376 B per CTA / 102400 B per SM (SM12x); dashed line: 80 %", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def merge(runs: Sequence[Mapping]) -> dict:
    """One results dict from several runs of the benchmark on the same card with the same cost model and synthesis
    (e.g. decode and prefill as two device calls): scenarios and kernels are concatenated, the goals recomputed.
    Every ratio still compares contenders of one scenario, which one run measured. Raises ``ValueError`` if the
    runs differ in card or model files, or repeat a scenario."""
    if not runs:
        raise ValueError("merge: no runs given")
    first = runs[0]["meta"]
    seen: dict = {}
    out = {k: v for k, v in runs[0].items() if k not in ("scenarios", "kernels", "goals")}
    out["meta"] = dict(first, merged_runs=[])
    out["scenarios"], out["kernels"] = [], {}
    for i, run in enumerate(runs):
        meta = run["meta"]
        if meta["device"]["name"] != first["device"]["name"]:
            raise ValueError(f"merge: run {i} is on {meta['device']['name']}, run 0 on {first['device']['name']}")
        if meta["cost_model"]["file_sha256_16"] != first["cost_model"]["file_sha256_16"]:
            raise ValueError(f"merge: run {i} used other cost-model/synthesis files than run 0")
        for s in run["scenarios"]:
            if s["key"] in seen:
                raise ValueError(f"merge: scenario {s['key']} is in runs {seen[s['key']]} and {i}")
            seen[s["key"]] = i
            out["scenarios"].append(s)
        out["kernels"].update(run["kernels"])
        out["meta"]["merged_runs"].append({"scenarios": len(run["scenarios"]), "kernels": len(run["kernels"]),
                                           "wall_seconds": meta.get("wall_seconds"),
                                           "build_seconds": meta.get("build_seconds")})
    rows = summary_rows(out)
    out["goals"] = stats.goal_report(rows, [r["spearman"] for r in rows])
    return out


def render(results: Mapping) -> str:
    """All tables of one results file (what ``python -m smem_tactics.bench.report FILE`` prints)."""
    rows = summary_rows(results)
    card = results["meta"]["device"]["name"]
    goals = stats.goal_report(rows, [r["spearman"] for r in rows])
    return (markdown_table(rows, card) + "\nFastest kernel per contender set:\n\n" + winners_table(rows)
            + f"\nGoals ({card}):\n\n" + goals_table(goals))


def main(argv=None) -> int:
    import json
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    out_json = None
    if "--merge-into" in args:
        i = args.index("--merge-into")
        if i + 1 >= len(args):
            print("error: --merge-into needs a file name", file=sys.stderr)
            return 2
        out_json = args[i + 1]
        del args[i:i + 2]
    if not args or (len(args) > 1 and out_json is None):
        print("usage: python -m smem_tactics.bench.report RESULTS.json\n"
              "       python -m smem_tactics.bench.report RUN1.json RUN2.json ... --merge-into MERGED.json",
              file=sys.stderr)
        return 2
    runs = []
    for name in args:
        try:
            with open(name) as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            return 2
    try:
        results = merge(runs) if out_json else runs[0]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if out_json:
        with open(out_json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    print(render(results))
    return 0


__all__ = ["SETS", "best_of_set", "summary_row", "summary_rows", "markdown_table", "winners_table", "goals_table",
           "plot", "merge", "render", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
