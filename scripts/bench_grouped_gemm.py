#!/usr/bin/env python3
"""Build, check and time MoE grouped GEMMs on an H100/H200 under SM12x's shared-memory budget (one call).

    SMEM_TACTICS_CUTLASS=.carry/nvidia_cutlass/cutlass_library/source python3 scripts/bench_grouped_gemm.py --out $OUT

Per scenario (model x GEMM x dtype x tokens), side by side in one run: (a) the best unconstrained CUTLASS config
(H100's 227 KiB), (b) TensorRT-LLM's stock SM90 MoE tiles with the most stages that fit 101376 B, (c) configs from
smem_tactics.synthesis ranked by smem_tactics.cost, (d) a Triton fused-MoE grouped GEMM autotuned over configs
whose compiled shared memory is <= 101376 B, (e) torch._grouped_mm / torch._scaled_grouped_mm, (f) the roofline
from measured copy bandwidth and matmul rate. (b)-(d) run with the SM's shared-memory carve-out at 100 KiB, so
at most 102400 B per SM as on SM12x. Every kernel is checked against an fp32 reference (output poisoned first)
and its real SharedStorageSize against smem_tactics.footprint. Writes benchmarks.json, benchmarks.md (tables),
benchmarks.png and the logs under --out; prints a short table last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from smem_tactics import footprint  # noqa: E402
from smem_tactics.bench import contenders as C  # noqa: E402
from smem_tactics.bench import report, selection, stats  # noqa: E402
from smem_tactics.bench.scenarios import DECODE_TOKENS, GEMMS, MODELS, SEED, TOKENS, all_scenarios  # noqa: E402
from cpp_bindings.grouped_gemm.build import NVCC_FLAGS  # noqa: E402
from smem_tactics.devices import match_device_name  # noqa: E402

T0 = time.time()


def log(msg: str) -> None:
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.environ.get("OUT", "out/bench"), help="folder for results (default $OUT)")
    p.add_argument("--smoke", action="store_true", help="few kernels, Qwen3-30B-A3B GEMM1 at 8 and 4096 tokens")
    p.add_argument("--models", nargs="*", default=list(MODELS))
    p.add_argument("--gemms", nargs="*", default=list(GEMMS))
    p.add_argument("--dtypes", nargs="*", default=["e4m3", "bf16"])
    p.add_argument("--tokens", nargs="*", type=int, default=list(TOKENS))
    p.add_argument("--synth-top", type=int, default=3, help="cost-model top picks per scenario to build for (c)")
    p.add_argument("--epilogue-twins", choices=selection.TWIN_MODES, default="none",
                   help="also build each (c) pick's twin with the other C = void epilogue (TMA-staged <-> no-smem) "
                        "for these scenarios; measured and ranked as set 't', not part of (c)")
    p.add_argument("--jobs", type=int, default=14, help="parallel nvcc jobs")
    p.add_argument("--reps-decode", type=int, default=40)
    p.add_argument("--reps-prefill", type=int, default=20)
    p.add_argument("--triton-keep", type=int, default=3, help="Triton configs fully timed after the quick pass")
    p.add_argument("--triton-max", type=int, default=0, help="compile at most this many Triton configs per dtype "
                                                                 "(evenly spread; 0 = all)")
    p.add_argument("--build-root", default=str(REPO / "build" / "grouped_gemm"))
    p.add_argument("--cutlass", default=None, help="CUTLASS tree (default: SMEM_TACTICS_CUTLASS or the wheel)")
    p.add_argument("--deadline", type=float, default=0.0, help="seconds after start after which no new scenario "
                                                               "starts (results so far are written; 0 = none)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------------------------
# configs and build

def choose_kernels(scenarios, args, gpu) -> dict:
    sel = selection.select(scenarios, top=args.synth_top, gpu=gpu, twins=args.epilogue_twins)
    if args.smoke:
        for d in sel.values():
            d["a"] = [c for c in d["a"] if C.short_name(c).endswith(("_pp_64x256x128_auto", "_pp_64x256x64_auto",
                                                                      "_sw_co_128x16x128_auto",
                                                                      "_sw_co_128x16x64_auto"))]
            d["b"] = [c for c in d["b"] if "_sw_co_128x16x" in C.short_name(c) or "_co_128x128x" in C.short_name(c)]
            tops = {names[0] for names in d["c_top"].values()}
            d["c"] = [c for c in d["c"] if C.short_name(c) in tops]
            d["t"] = []  # the smoke run builds no epilogue twins
    return sel


def start_build(configs, args, out: Path):
    cfg_file = out / "kernels.json"
    cfg_file.write_text(json.dumps([c.to_dict() for c in configs], indent=1))
    result_file = out / "build_result.json"
    cmd = [sys.executable, "-m", "cpp_bindings.grouped_gemm", "build", "--configs", str(cfg_file), "--jobs",
           str(args.jobs), "--build-root", args.build_root, "--drop-failed", "--result", str(result_file)]
    if args.cutlass:
        cmd += ["--cutlass", args.cutlass]
    logf = open(out / "build.log", "w")
    log(f"building {len(configs)} CUTLASS kernels in the background ({args.jobs} jobs)")
    return subprocess.Popen(cmd, cwd=str(REPO), stdout=logf, stderr=subprocess.STDOUT), result_file, logf


# ----------------------------------------------------------------------------------------------------------------
# Triton

def triton_compile_all(dtypes, budget: int, limit: int = 0) -> dict:
    """Compile every candidate config per dtype and read its real shared memory."""
    from cpp_bindings import triton_moe as T

    out = {}
    for dt in dtypes:
        cands = T.candidate_configs(dt)
        if limit and len(cands) > limit:
            cands = [cands[round(i * (len(cands) - 1) / (limit - 1))] for i in range(limit)] if limit > 1 else cands[:1]
        facts = T.compile_space(dt, cands, budget)
        ok = sum(1 for r in facts.values() if r.get("within_budget"))
        log(f"triton {dt}: {len(facts)} configs compiled, {ok} within {budget} B")
        out[dt] = facts
    return out


# ----------------------------------------------------------------------------------------------------------------
# per-scenario measurement

class Entry:
    def __init__(self, name, kind, sets, fn, out, setup=None, meta=None):
        self.name, self.kind, self.sets, self.fn, self.out = name, kind, sets, fn, out
        self.setup = setup or (lambda: None)  # called before timing (carve-out)
        self.meta = meta or {}
        self.check = None
        self.post_check = None
        self.passes = []
        self.enqueue_ms = []  # host time to enqueue each timed batch (the GPU sleeps 10 ms ahead of it)


def run_scenario(s, w, lib, kernel_sets, triton_facts, timer, ceilings, args, budget):
    import torch

    from cpp_bindings import triton_moe as T
    from smem_tactics.bench import gpu as G

    reps = args.reps_decode if s.tokens in DECODE_TOKENS else args.reps_prefill
    a = G.random_activations(s.rows, s.k, s.dtype, SEED + s.tokens)
    out = torch.empty((s.rows, s.n), dtype=torch.bfloat16, device="cuda")
    ref = G.reference(a, w, s.counts)
    entries = []
    attrs = {}
    prepare_errors = {}
    for name, (cfg, sets) in kernel_sets.items():
        capped = "a" not in sets
        carve = C.SM12X_CARVEOUT_PERCENT if capped else -1
        try:
            plan = lib.plan(a, w, s.offsets, out, cfg)
            if name not in attrs:
                plan.runner.set_carveout(-1)
                attrs[name] = {"default_carveout": dict(plan.runner.attributes())}
            plan.runner.set_carveout(carve)
        except Exception as ex:  # noqa: BLE001 -- e.g. can_implement refuses: reported for this kernel only
            prepare_errors[name] = {"kind": "cutlass", "sets": list(sets), "ok": False, "median_us": None,
                                    "check": {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}}
            continue
        entries.append(Entry(name, "cutlass", sets, plan.run, out, (lambda p=plan, c=carve: p.runner.set_carveout(c)),
                             {"grid_ctas": plan.grid_ctas, "carveout": carve}))
        if "run_carveout" not in attrs[name]:
            attrs[name]["run_carveout"] = dict(plan.runner.attributes())
    # Triton: every config within the budget is checked and quick-timed; the best few are timed fully.
    tm = T.TritonMoe(s.counts, a.device)
    tr_entries = []
    for cfg, rec in triton_facts.items():
        if not rec.get("within_budget"):
            continue
        ck = T.compile_config(a, w, out, s.counts, cfg)  # the kernel this launch will use (cache hit)
        shared = T.compiled_facts(ck)["shared"]
        if shared > budget:
            continue
        err = T.set_carveout(ck, C.SM12X_CARVEOUT_PERCENT)
        e = Entry(cfg.name, "triton", ("d",), tm.launcher(a, w, out, cfg), out,
                  (lambda k=ck: T.set_carveout(k, C.SM12X_CARVEOUT_PERCENT)),
                  {"shared": shared, "carveout": C.SM12X_CARVEOUT_PERCENT, "carveout_error": err})
        e.compiled = ck
        tr_entries.append(e)
    tfn = G.torch_grouped(a, w, s.counts, s.dtype)
    if tfn is not None:
        entries.append(Entry("torch_scaled_grouped_mm" if s.dtype == "e4m3" else "torch_grouped_mm", "torch", ("e",),
                             tfn, None))
    # correctness of everything, output poisoned first
    for e in entries + tr_entries:
        try:
            e.check = G.checked_run(e.fn, e.out, ref, s.dtype)
        except Exception as ex:  # noqa: BLE001 -- a failing contender is reported, the run goes on
            e.check = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
    # quick Triton autotune among the correct configs
    quick = []
    for e in tr_entries:
        if e.check.get("ok"):
            e.setup()
            quick.append((stats.median(timer.times_us(e.fn, 5, warmup=1)), e))
    quick.sort(key=lambda x: x[0])
    triton_quick = {e.name: t for t, e in quick}
    keep = [e for _, e in quick[:args.triton_keep]]
    entries += keep
    # timing: two passes, forward then reverse
    timed = [e for e in entries if e.check and e.check.get("ok")]
    for order in (timed, list(reversed(timed))):
        for e in order:
            e.setup()
            e.passes.append(timer.times_us(e.fn, reps))
            e.enqueue_ms.append(timer.last_enqueue_s * 1e3)
            if e.out is not None and e.post_check is None:
                torch.cuda.synchronize()
                e.post_check = G.compare(e.out, ref)
    # H100 without the SM12x per-SM cap, for the best Triton config (non-persistent: more CTAs may share an SM)
    h100_extra = {}
    if keep:
        best_tr = min(keep, key=lambda e: stats.median(sum(e.passes, [])))
        T.set_carveout(best_tr.compiled, -1)
        h100_extra["triton_default_carveout"] = {"name": best_tr.name,
                                                 **timer.measure(best_tr.fn, reps)}
        T.set_carveout(best_tr.compiled, C.SM12X_CARVEOUT_PERCENT)
        h100_extra["triton_capped"] = {"name": best_tr.name, "median": stats.median(sum(best_tr.passes, []))}
    # the same best capped CUTLASS kernel timed after a flush that writes (dirty L2), for the method note
    capped = [e for e in timed if e.kind == "cutlass" and "a" not in e.sets and e.passes]
    if capped:
        bc = min(capped, key=lambda e: stats.median(sum(e.passes, [])))
        bc.setup()
        h100_extra["write_flush"] = {"name": bc.name, **G.Timer(flush="write").measure(bc.fn, reps),
                                     "read_flush_median": stats.median(sum(bc.passes, []))}
    floors = s.floor_us(ceilings["copy"]["bytes_per_s"], ceilings[s.dtype]["flops_per_s"])
    h100_extra["max_host_enqueue_ms"] = timer.max_enqueue_s * 1e3
    timer.max_enqueue_s = 0.0
    results = dict(prepare_errors)
    for e in entries + [x for x in tr_entries if x not in keep]:
        r = {"kind": e.kind, "sets": list(e.sets), "check": e.check, **e.meta}
        if e.passes:
            allt = sum(e.passes, [])
            sp = stats.spread(allt)
            r.update({"median_us": sp["median"], "p10_us": sp["p10"], "p90_us": sp["p90"],
                      "pass_medians_us": [stats.median(p) for p in e.passes], "reps": len(allt),
                      "host_enqueue_ms": e.enqueue_ms,
                      "post_check": e.post_check})
            r["ok"] = bool(e.check.get("ok")) and (e.post_check is None or (
                e.post_check["nonfinite"] == 0 and e.post_check["rel_err"] <= G.REL_ERR_BOUND[s.dtype]))
        else:
            r["median_us"] = None
            r["ok"] = False
            if e.kind == "triton" and e.name in triton_quick:
                r["quick_median_us"] = triton_quick[e.name]
        results[e.name] = r
    del a, out, ref
    return {**s.summary(), "floors": floors, "results": results, "h100_extra": h100_extra, "attributes": attrs}


def cost_model_eval(scenario_rec, s, configs_by_name, c_top, gpu) -> dict:
    """Spearman of the model's order vs the measured order over the capped CUTLASS kernels measured correct, and
    whether the model's first choice over the whole synthesized space is within 5 % of the measured best."""
    measured = {n: r["median_us"] for n, r in scenario_rec["results"].items()
                if r["kind"] == "cutlass" and "a" not in r["sets"] and r.get("ok") and r.get("median_us")}
    if len(measured) < 2:
        return {"error": "fewer than 2 capped kernels measured"}
    pred = selection.predictions(s, [configs_by_name[n] for n in measured], gpu=gpu)
    ev = stats.model_vs_measured(pred, measured)
    shipped = c_top[0] if c_top else None
    best_name, best_t = stats.best(measured)
    out = {"predicted_us": pred, "spearman": ev["spearman"], "n": ev["n"], "measured_best": best_name,
           "model_top_among_measured": ev["model_top"], "model_top_among_measured_over_best": ev["top_over_best"]}
    if shipped in measured:
        out.update({"model_top": shipped, "top_over_best": measured[shipped] / best_t,
                    "top_within_5pct": measured[shipped] / best_t <= 1.05})
    else:
        out.update({"model_top": shipped, "top_over_best": None, "top_within_5pct": None})
    return out


# ----------------------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from smem_tactics.bench import gpu as G

    dev, why = G.sm90_device()
    if dev is None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    import torch
    card = dev["name"]
    log(f"device: {card}, {dev['sms']} SMs, torch {dev['torch']}, triton {dev['triton']}")
    if args.smoke:
        args.models, args.gemms, args.tokens = ["qwen3-30b-a3b"], ["gemm1"], [8, 4096]
        args.triton_max = args.triton_max or 10
    scenarios = all_scenarios(args.models, args.gemms, args.dtypes, args.tokens)
    budget = C.SM12X_BLOCK_LIMIT
    # the cost model sees this card's facts (bandwidth, SMs, clock) with SM12x's shared memory
    model_gpu = selection.proxy_gpu(match_device_name(card) or "h100")
    sel = choose_kernels(scenarios, args, model_gpu)
    configs = selection.build_list(sel)
    sets_of: dict = {}
    for dt, d in sel.items():
        for which in ("a", "b", "c", "t"):
            for c in d[which]:
                sets_of.setdefault(C.short_name(c), [c, []])[1].append(which)
    proc, result_file, logf = start_build(configs, args, out)

    timer = G.Timer()
    ceilings = {"copy": G.copy_bandwidth(timer)}
    for dt in args.dtypes:
        ceilings[dt] = G.matmul_rate(timer, dt)
    log(f"ceilings on {card}: copy {ceilings['copy']['bytes_per_s'] / 1e12:.3f} TB/s; "
        + ", ".join(f"{dt} {ceilings[dt]['flops_per_s'] / 1e12:.0f} TFLOP/s" for dt in args.dtypes))
    try:
        triton_facts = triton_compile_all(args.dtypes, budget, args.triton_max)
    except Exception as ex:  # noqa: BLE001
        log(f"triton unavailable: {ex}")
        traceback.print_exc()
        triton_facts = {dt: {} for dt in args.dtypes}

    rc = proc.wait()
    logf.close()
    if rc != 0 or not result_file.exists():
        print((out / "build.log").read_text()[-6000:])
        print(f"error: the CUTLASS build failed (exit {rc}); see build.log", file=sys.stderr)
        return 1
    built = json.loads(result_file.read_text())
    log(f"built {len(built['names'])} kernels in {built['seconds']:.0f} s; failed: {len(built['failed'])}")
    from cpp_bindings.grouped_gemm import load

    lib = load([sets_of[n][0] for n in built["names"]], build_root=args.build_root, cutlass=args.cutlass)

    kernels = {}
    footprint_ok = True
    for name, cfg in lib.configs.items():
        info = lib.info(cfg)
        fp = footprint(cfg)
        dt = C.dtype_of(cfg)
        want_bits = 8 if dt == "e4m3" else 16
        checks = {"shared_storage_size_equals_model": info["shared_storage_size"] == fp.total_bytes,
                  "sizeof_equals_model": info["sizeof_shared_storage"] == fp.total_bytes,
                  "stages_equal_model": info["stages"] == fp.stages,
                  "types": info["a_bits"] == want_bits and info["b_bits"] == want_bits and info["d_bits"] == 16
                  and info["c_is_void"] and info["d_col_major"] == C.is_swap_ab(cfg)
                  and tuple(info["tile"]) == tuple(cfg.tile)}
        footprint_ok &= all(checks.values())
        kernels[name] = {"config": cfg.to_dict(), "sets": sets_of[name][1], "model_bytes": fp.total_bytes,
                         "model_stages": fp.stages, "info": info, "checks": checks}
    log(f"footprint/type checks: {'all equal' if footprint_ok else 'MISMATCH'} over {len(kernels)} kernels")

    probe = []
    for smem, carve in ((40 * 1024, -1), (40 * 1024, C.SM12X_CARVEOUT_PERCENT), (60 * 1024, -1),
                        (60 * 1024, C.SM12X_CARVEOUT_PERCENT), (100 * 1024, C.SM12X_CARVEOUT_PERCENT)):
        recs = lib.module.residency_probe(dev["sms"] * 8, 128, smem, carve, 20000).cpu().tolist()
        per_sm = stats.max_overlap_per_sm(recs)
        probe.append({"smem_bytes": smem, "carveout": carve, "max_blocks_per_sm": max(per_sm.values()),
                      "min_blocks_per_sm": min(per_sm.values()), "sms_seen": len(per_sm),
                      "occupancy_api": lib.module.residency_probe_occupancy(128, smem)})
    log("residency probe: " + "; ".join(f"{p['smem_bytes'] // 1024} KiB carve {p['carveout']}: "
                                        f"{p['max_blocks_per_sm']}/SM" for p in probe))

    scen_recs = []
    failures = []
    skipped = []
    groups: dict = {}
    for s in scenarios:
        groups.setdefault((s.model.key, s.gemm, s.dtype), []).append(s)
    for (mk, gemm, dt), ss in groups.items():
        s0 = ss[0]
        w = G.random_weights(s0.model.experts, s0.n, s0.k, dt, SEED)
        kernel_sets = {n: (c, sets_of[n][1]) for n, c in lib.configs.items() if C.dtype_of(c) == dt}
        for s in ss:
            if args.deadline and time.time() - T0 > args.deadline:
                skipped.append(s.key)
                continue
            try:
                rec = run_scenario(s, w, lib, kernel_sets, triton_facts.get(dt, {}), timer, ceilings, args, budget)
            except Exception as ex:  # noqa: BLE001 -- record it and go on with the other scenarios
                log(f"{s.key}: FAILED {type(ex).__name__}: {ex}")
                traceback.print_exc()
                failures.append({"key": s.key, "error": f"{type(ex).__name__}: {ex}",
                                 "traceback": traceback.format_exc()[-3000:]})
                continue
            c_top = [n for n in sel[dt]["c_top"].get(s.key, []) if n in lib.configs]
            rec["c_top"] = c_top
            try:
                rec["cost_model"] = cost_model_eval(rec, s, lib.configs, c_top, model_gpu)
            except Exception as ex:  # noqa: BLE001
                rec["cost_model"] = {"error": f"{type(ex).__name__}: {ex}"}
            scen_recs.append(rec)
            row = report.summary_row(rec)
            log(f"{s.key}: a {row['a']} b {row['b']} c {row['c']} d {row['d']} e {row['e']} floor "
                f"{row['roofline_us']:.1f} spearman {row['spearman']}")
        del w
        torch.cuda.empty_cache()

    import hashlib

    from smem_tactics import cost as cost_model

    model_files = {f: hashlib.sha256((REPO / f).read_bytes()).hexdigest()[:16]
                   for f in ("smem_tactics/cost.py", "smem_tactics/data/cost_model.json", "smem_tactics/data/gpus.json",
                             "smem_tactics/synthesis/candidates.py", "smem_tactics/data/synthesis.json")}
    results = {
        "meta": {"device": dev, "card": card,
                 "cost_model": {"version": cost_model.cost_model_version(),
                                "sm90_parameters": cost_model.cost_parameters("sm90").to_dict(),
                                "proxy_gpu": vars(model_gpu), "file_sha256_16": model_files},
                 "seed": SEED, "budget_per_cta": budget, "budget_per_sm": C.SM12X_SM_LIMIT,
                 "carveout_percent": C.SM12X_CARVEOUT_PERCENT, "smoke": args.smoke, "cutlass": selection.BUILD_CUTLASS,
                 "nvcc_flags": list(NVCC_FLAGS),
                 "reps": {"decode": args.reps_decode, "prefill": args.reps_prefill, "passes": 2},
                 "timing": "batches of repetitions enqueued behind a 10 ms GPU sleep; per repetition: read a 256 MiB "
                           "buffer (L2 flush, clean lines), CUDA events around one launch; median over 2 passes",
                 "build_seconds": built["seconds"], "build_failed": built["failed"],
                 "build_warnings": built.get("warnings"), "wall_seconds": time.time() - T0},
        "ceilings": ceilings,
        "residency_probe": probe,
        "kernels": kernels,
        "footprint_checks_all_equal": footprint_ok,
        "dropped_b": {dt: [vars(x) for x in d["dropped_b"]] for dt, d in sel.items()},
        "trtllm_stock_fit_count": {dt: [sum(C.fits(c) for c in C.trtllm_sm90_stock(dt)),
                                        len(C.trtllm_sm90_stock(dt))] for dt in args.dtypes},
        "triton": {dt: {cfg.name: rec for cfg, rec in f.items()} for dt, f in triton_facts.items()},
        "scenarios": scen_recs,
        "scenario_failures": failures,
        "scenarios_skipped_by_deadline": skipped,
    }
    rows = report.summary_rows(results)
    results["goals"] = stats.goal_report(rows, [r["spearman"] for r in rows])
    (out / "benchmarks.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "benchmarks_tables.md").write_text(report.markdown_table(rows, card) + "\n" + report.winners_table(rows)
                                              + "\n" + report.goals_table(results["goals"]))
    try:
        report.plot(results, str(out / "benchmarks.png"))
    except Exception as ex:  # noqa: BLE001
        log(f"plot failed: {ex}")
    log("done")
    print(report.goals_table(results["goals"]))
    print(f"card: {card}")
    for r in rows:
        def f(x):
            return "-" if x is None else f"{x:.1f}"
        print(f"{r['key']:38s} a {f(r['a']):>7} b {f(r['b']):>7} c {f(r['c']):>7} d {f(r['d']):>7} "
              f"e {f(r['e']):>7} roof {r['roofline_us']:7.1f}")
    if failures:
        print(f"{len(failures)} scenario(s) failed: " + ", ".join(f["key"] for f in failures))
    if skipped:
        print(f"{len(skipped)} scenario(s) not run (deadline): " + ", ".join(skipped))
    return 0 if footprint_ok and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
