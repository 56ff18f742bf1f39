#!/usr/bin/env python3
"""Decode (1-32 tokens) MoE layers on an H100/H200: where a capped CUTLASS grouped GEMM's fixed time goes (issue 14).

    python3 scripts/bench_decode.py --out $OUT --jobs 16 --budget 530            # on the GPU machine
    python3 scripts/bench_decode.py --dry-run                                    # anywhere: the plan, no GPU

One call builds a CUTLASS kernel set (smem_tactics.bench.decode.decode_kernels: 6 per dtype against CUTLASS 4.5.0
with CUTLASS_ENABLE_GDC_FOR_SM90, plus the base kernel without it and against CUTLASS 4.2.0), compiles a Triton
fused-MoE config space, checks every kernel against an fp32 reference (output poisoned first) and its
SharedStorageSize against the footprint model, then times on the card as it is found:

* the launch floor (an empty kernel; two back to back, plain, with PDL, in a CUDA graph);
* sweeps that separate fixed from proportional time (K in k-blocks; groups through one persistent CTA);
* every layer (model x dtype x tokens): each kernel on GEMM1 and GEMM2 alone, scheduler variants of the best
  one, and GEMM1 -> GEMM2 chained (stream, PDL, CUDA graph, graph + PDL) for CUTLASS and for Triton; for bf16 a
  dependency check (GEMM2 reads GEMM1's output under PDL, poisoned first);
* Nsight Compute (--clock-control none) on the 1-16 token launches of one model, CUTLASS and Triton side by side.

Everything is written under --out: decode.json, decode.md, run logs and Nsight Compute reports in two tarballs;
a short table is printed last. --budget bounds the whole run (layers stop early so the profile and the report fit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from smem_tactics.bench import decode as D  # noqa: E402
from smem_tactics.bench import ncu as N  # noqa: E402
from smem_tactics.bench import stats  # noqa: E402
from smem_tactics.bench.contenders import SM12X_BLOCK_LIMIT, SM12X_CARVEOUT_PERCENT, elements_per_byte_k  # noqa: E402
from smem_tactics.errors import SmemTacticsError  # noqa: E402
from smem_tactics.bench.scenarios import DTYPES, SEED  # noqa: E402

T0 = time.time()


def now() -> float:
    return time.time() - T0


def log(msg: str) -> None:
    print(f"[{now():7.1f}s] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.environ.get("OUT", "out/decode"), help="folder for results (default $OUT)")
    p.add_argument("--cutlass", default=None,
                   help="CUTLASS 4.5.0 tree for the main build (default: .cutlass/4.5.0, else SMEM_TACTICS_CUTLASS)")
    p.add_argument("--bridge-cutlass", default=None,
                   help="CUTLASS 4.2.0 tree (a folder, or a .tar.xz/.tar.gz of one) for the c420 bridge kernel "
                        "(default: .carry/nvidia_cutlass or .carry/cutlass-4.2.0.tar.xz if present; 'none' skips it)")
    p.add_argument("--models", nargs="+", default=list(D.DEFAULT_MODELS))
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    p.add_argument("--tokens", nargs="+", type=int, default=list(D.DECODE_TOKENS))
    p.add_argument("--seed", type=int, default=SEED, help="routing seed (another seed = a held-out run)")
    p.add_argument("--jobs", type=int, default=16, help="parallel nvcc jobs of the main build")
    p.add_argument("--budget", type=float, default=530.0, help="seconds for the whole run (<= 600)")
    p.add_argument("--ncu-budget", type=float, default=110.0, help="seconds kept for Nsight Compute (0 = none)")
    p.add_argument("--build-timeout", type=float, default=330.0, help="seconds the builds may take")
    p.add_argument("--reps", type=int, default=40, help="timed repetitions per batch (2 passes)")
    p.add_argument("--triton-keep", type=int, default=2, help="Triton configs fully timed per GEMM after the quick pass")
    p.add_argument("--no-bridges", action="store_true", help="build neither bridge kernel (nogdc, c420)")
    p.add_argument("--ncu-model", default="qwen3-next-80b-a3b", help="model whose layers Nsight Compute profiles")
    p.add_argument("--build-root", default=str(REPO / "build" / "decode"))
    p.add_argument("--dry-run", action="store_true", help="print the plan (kernels, layers, builds, commands) and exit")
    p.add_argument("--ncu-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ncu-select", default="all", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not 60 <= args.budget <= 600:
        p.error("--budget must be 60..600 seconds")
    if args.reps < 5 or args.reps > 400:
        p.error("--reps must be 5..400")
    if args.jobs < 1 or args.jobs > 128:
        p.error("--jobs must be 1..128")
    return args


# ------------------------------------------------------------------------------------------------------ plan

def default_tree(path):
    if path:
        return path
    local = REPO / ".cutlass" / D.BUILD_CUTLASS
    if local.is_dir():
        return str(local)
    env = os.environ.get("SMEM_TACTICS_CUTLASS", "").split(os.pathsep)[0]
    return env or None


def default_bridge(path):
    if path:
        return None if path == "none" else path
    for cand in (REPO / ".carry" / "nvidia_cutlass" / "cutlass_library" / "source", REPO / ".carry" / "nvidia_cutlass",
                 REPO / ".carry" / "cutlass-4.2.0.tar.xz", REPO / ".carry" / "cutlass-4.2.0.tar.gz"):
        if cand.exists():
            return str(cand)
    return None


def make_plan(args) -> dict:
    bridges = () if args.no_bridges else ("nogdc", "c420")
    kernels = []
    for dt in args.dtypes:
        # the bridges are built for e4m3 only (the worst one-token cases are e4m3); bf16 keeps the build short
        kernels += D.decode_kernels(dt, bridges if dt == "e4m3" else ())
    bridge_tree = default_bridge(args.bridge_cutlass)
    if bridge_tree is None:
        kernels = [k for k in kernels if k.build != "c420"]
    specs = D.build_specs(kernels)
    layers = D.layer_scenarios(args.models, args.dtypes, args.tokens, args.seed)
    ncu_model = args.ncu_model if args.ncu_model in args.models else args.models[0]
    return {"kernels": kernels, "specs": specs, "layers": layers, "bridge_tree": bridge_tree,
            "main_tree": default_tree(args.cutlass), "ncu_model": ncu_model,
            "budget": D.Budget(args.budget, args.ncu_budget)}


def build_command(spec, args, cfg_file: Path, result_file: Path, tree: str, jobs: int) -> list:
    cmd = [sys.executable, "-m", "cpp_bindings.grouped_gemm", "build", "--configs", str(cfg_file), "--jobs", str(jobs),
           "--build-root", str(Path(args.build_root) / spec.name), "--drop-failed", "--result", str(result_file),
           "--module-name", spec.module_name, "--cutlass", tree, "--hidden-symbols"]
    for d in spec.defines:
        cmd += ["--define", d]
    return cmd


def dry_run(args, plan) -> int:
    from smem_tactics import footprint

    print(f"main CUTLASS tree: {plan['main_tree']}; bridge (4.2.0): {plan['bridge_tree']}")
    for k in plan["kernels"]:
        fp = footprint(k.config)
        print(f"  {k.label:34s} {k.role:7s} {fp.total_bytes:6d} B  {fp.stages} stages  {D.ROLES[k.role][:70]}")
    for s in plan["specs"]:
        tree = plan["bridge_tree"] if s.tree == "bridge" else plan["main_tree"]
        cmd = build_command(s, args, Path("<out>/kernels_" + s.name + ".json"), Path("<out>/build_" + s.name + ".json"),
                            str(tree), args.jobs if s.name == "main" else 2)
        print("build: " + " ".join(cmd))
    print(f"{len(plan['layers'])} layers, first: {', '.join(L.key for L in plan['layers'][:6])} ...")
    n_tr = sum(len(tri_space(dt)) for dt in args.dtypes)
    est = D.estimate_seconds(len(plan["kernels"]), len(plan["layers"]), args.jobs, n_tr)
    b = plan["budget"]
    print(f"estimate (prediction): build {est['build_s']:.0f} s, Triton compile {est['triton_compile_s']:.0f} s, "
          f"layers {est['layers_s']:.0f} s; layers stop at {b.layers_end:.0f} s, Nsight Compute <= {b.ncu:.0f} s, "
          f"total <= {b.total:.0f} s")
    child = [sys.executable, "scripts/bench_decode.py", "--ncu-child", "<out>/ncu_manifest.json"]
    print("ncu: " + " ".join(N.profile_command("ncu", "<out>/decode_ncu", child)))
    return 0


# ------------------------------------------------------------------------------------------------------ Triton

def tri_space(dtype: str) -> list:
    """Decode-sized Triton configs: BLOCK_M 16 (the earlier runs' decode winners all had it), BLOCK_N 32-128, both
    BLOCK_K choices, 3-5 stages."""
    from cpp_bindings import triton_moe as T

    return [c for c in T.candidate_configs(dtype) if c.block_m == 16 and c.block_n <= 128]


def triton_compile(dtypes, budget: int) -> dict:
    from cpp_bindings import triton_moe as T

    out = {}
    for dt in dtypes:
        facts = T.compile_space(dt, tri_space(dt), budget)
        log(f"triton {dt}: {len(facts)} configs, {sum(r['within_budget'] for r in facts.values())} within {budget} B")
        out[dt] = facts
    return out


class TritonKernels:
    """The compiled Triton kernel a launch with these arguments will use (Triton specializes on the argument values,
    so it is looked up for every problem: a cache hit after the first compile), with the SM12x carve-out set."""

    def get(self, a, w, out, counts, cfg, pdl=False, gdc=None):
        from cpp_bindings import triton_moe as T

        ck = T.compile_config(a, w, out, counts, cfg, pdl=pdl, gdc=gdc)
        err = T.set_carveout(ck, SM12X_CARVEOUT_PERCENT)
        return ck, T.compiled_facts(ck)["shared"], err


# ------------------------------------------------------------------------------------------------------ timing

class Entry:
    def __init__(self, label, kind, fn, out, meta=None, plan=None):
        self.label, self.kind, self.fn, self.out = label, kind, fn, out
        self.meta = meta or {}
        self.plan = plan
        self.check = None
        self.post_check = None
        self.passes = []
        self.enqueue_ms = []


def time_entries(entries, timer, reps, ref=None):
    """Two passes (forward, reverse) of ``reps`` cold-L2 repetitions each; output re-checked after the first."""
    import torch

    from smem_tactics.bench import gpu as G

    for order in (entries, list(reversed(entries))):
        for e in order:
            e.passes.append(timer.times_us(e.fn, reps))
            e.enqueue_ms.append(round(timer.last_enqueue_s * 1e3, 3))
            if ref is not None and e.out is not None and e.post_check is None:
                torch.cuda.synchronize()
                e.post_check = G.compare(e.out, ref)


def entry_record(e, dtype=None) -> dict:
    from smem_tactics.bench import gpu as G

    r = {"kind": e.kind, **e.meta, "check": e.check}
    if e.passes:
        allt = sum(e.passes, [])
        sp = stats.spread(allt)
        r.update({"median_us": sp["median"], "p10_us": sp["p10"], "p90_us": sp["p90"], "reps": len(allt),
                  "pass_medians_us": [stats.median(p) for p in e.passes], "host_enqueue_ms": e.enqueue_ms,
                  "post_check": e.post_check})
        ok = bool(e.check and e.check.get("ok"))
        if e.post_check is not None and dtype is not None:
            ok = ok and e.post_check["nonfinite"] == 0 and e.post_check["rel_err"] <= G.REL_ERR_BOUND[dtype]
        r["ok"] = ok
    else:
        r.update({"median_us": None, "ok": False})
    return r


def capture_graph(fn):
    import torch

    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
        fn()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g


# ------------------------------------------------------------------------------------------------------ phases

def launch_floor(lib, timer, reps) -> dict:
    """An empty kernel: alone, two in a row (plain, the second with PDL waiting in griddepcontrol.wait), and two in
    a CUDA graph."""
    m = lib.module
    fns = {"noop": lambda: m.noop(1, 32, False, False),
           "noop_pair_stream": lambda: (m.noop(1, 32, False, False), m.noop(1, 32, False, True)),
           "noop_pair_pdl": lambda: (m.noop(1, 32, False, False), m.noop(1, 32, True, True))}
    out = {}
    for name, fn in fns.items():
        try:
            out[name] = timer.measure(fn, reps)
        except Exception as ex:  # noqa: BLE001
            out[name] = {"error": f"{type(ex).__name__}: {ex}"}
    for name, base in (("noop_pair_graph", "noop_pair_stream"), ("noop_pair_graph_pdl", "noop_pair_pdl")):
        try:
            g = capture_graph(fns[base])
            out[name] = timer.measure(g.replay, reps)
            del g
        except Exception as ex:  # noqa: BLE001
            out[name] = {"error": f"{type(ex).__name__}: {str(ex)[:300]}"}
    return out


def run_sweeps(dtypes, kernels, libs, tri_facts, trk, timer, reps, sms) -> list:
    import torch

    rows = []
    for dt in dtypes:
        pts = D.sweep_points(dt)
        ks = [k for k in kernels if k.dtype == dt and libs.get(k.build) is not None]
        tri_cfgs = [c for c, r in tri_facts.get(dt, {}).items() if r.get("within_budget")]
        best_tr = None
        for p in pts:
            try:
                best_tr = sweep_point(p, dt, ks, libs, tri_cfgs, best_tr, trk, timer, reps, sms, rows)
            except Exception as ex:  # noqa: BLE001 -- one point's failure is recorded, the sweep goes on
                traceback.print_exc()
                rows.append({**p.to_dict(), "kind": "point", "ok": False, "error": f"{type(ex).__name__}: {ex}"})
        torch.cuda.empty_cache()
    return rows


def sweep_point(p, dt, ks, libs, tri_cfgs, best_tr, trk, timer, reps, sms, rows):
    """One sweep point: every CUTLASS kernel of the dtype (and the sweep's Triton config on the K sweep), checked and
    timed; rows appended; returns the Triton config of the sweep (chosen at its first point)."""
    import torch

    from cpp_bindings import triton_moe as T
    from smem_tactics.bench import gpu as G

    w = G.random_weights(p.groups, p.n, p.k, dt, SEED + p.k + p.groups)
    a = G.random_activations(p.groups * p.rows, p.k, dt, SEED + 1)
    out = torch.empty((p.groups * p.rows, p.n), dtype=torch.bfloat16, device="cuda")
    ref = G.reference(a, w, p.counts)
    offsets = [i * p.rows for i in range(p.groups + 1)]
    entries = []
    for k in ks:
        tile_k = k.config.tile[2]
        meta = {"sweep": p.sweep, "label": p.label, "dtype": dt, "kernel": k.label, "role": k.role, "n": p.n,
                "k": p.k, "groups": p.groups, "rows": p.rows, "sm_count": p.sm_count, "k_blocks": p.k_blocks(tile_k)}
        try:
            plan = libs[k.build].plan(a, w, offsets, out, k.config, sm_count=p.sm_count or sms)
            entries.append(Entry(k.label, "cutlass", plan.run, out, meta, plan))
        except Exception as ex:  # noqa: BLE001
            rows.append({**meta, "kind": "cutlass", "ok": False, "error": f"{type(ex).__name__}: {ex}"})
    if p.sweep in ("k", "anatomy") and tri_cfgs:  # (anatomy: the K sweep's config on the same one-tile problems)
        tm = T.TritonMoe(p.counts, a.device)
        if best_tr is None:  # the best Triton config at the first K point, then kept for the sweep
            quick = []
            for cfg in tri_cfgs:
                try:
                    trk.get(a, w, out, p.counts, cfg)
                    fn = tm.launcher(a, w, out, cfg)
                    if G.checked_run(fn, out, ref, dt)["ok"]:
                        quick.append((stats.median(timer.times_us(fn, 5, warmup=1)), cfg.name, cfg))
                except Exception:  # noqa: BLE001 -- a config that fails here is not the sweep's
                    continue
            best_tr = min(quick)[2] if quick else None
        if best_tr is not None:
            trk.get(a, w, out, p.counts, best_tr)
            meta = {"sweep": p.sweep, "label": p.label, "dtype": dt, "kernel": best_tr.name, "role": "triton",
                    "n": p.n, "k": p.k, "groups": p.groups, "rows": p.rows, "sm_count": 0,
                    "k_blocks": p.k_blocks(elements_per_byte_k(dt, 128)), "config": best_tr.to_dict()}
            entries.append(Entry(best_tr.name, "triton", tm.launcher(a, w, out, best_tr), out, meta))
    for e in entries:
        try:
            e.check = G.checked_run(e.fn, e.out, ref, dt)
        except Exception as ex:  # noqa: BLE001
            e.check = {"ok": False, "error": f"{type(ex).__name__}: {ex}"}
    good = [e for e in entries if e.check.get("ok")]
    time_entries(good, timer, reps, ref)
    for e in entries:
        rows.append(entry_record(e, dt))
    return best_tr


def run_layer(L, weights, kernels, libs, tri_facts, trk, timer, args, sms) -> dict:
    import torch

    from cpp_bindings import triton_moe as T
    from smem_tactics.bench import gpu as G

    dt = L.dtype
    rec = {"key": L.key, "model": L.model, "dtype": dt, "tokens": L.tokens, "seed": L.seed,
           "equal_rows": L.equal_rows, "gemms": {}, "chains": {}}
    ctx = {}
    for gi, g in enumerate(("gemm1", "gemm2")):
        s = L.gemm(g)
        w = weights[g]
        a = G.random_activations(s.rows, s.k, dt, L.seed + 97 * L.tokens + gi)
        out = torch.empty((s.rows, s.n), dtype=torch.bfloat16, device="cuda")
        ref = G.reference(a, w, s.counts)
        results = {}
        entries = []
        for k in kernels:
            if k.dtype != dt or libs.get(k.build) is None:
                continue
            meta = {"role": k.role, "build": k.build}
            if k.config.mode.value == "ptr_array" and not L.equal_rows:
                results[k.label] = {"kind": "cutlass", **meta, "ok": False, "median_us": None,
                                    "not_applicable": "ptr-array needs every active expert to have the same rows"}
                continue
            try:
                plan = libs[k.build].plan(a, w, s.offsets, out, k.config)
                meta["grid_ctas"] = plan.grid_ctas
                entries.append(Entry(k.label, "cutlass", plan.run, out, meta, plan))
            except Exception as ex:  # noqa: BLE001 -- e.g. can_implement refuses: reported for this kernel only
                results[k.label] = {"kind": "cutlass", **meta, "ok": False, "median_us": None,
                                    "check": {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}}
        tm = T.TritonMoe(s.counts, a.device)
        tr_entries = []
        for cfg, frec in tri_facts.get(dt, {}).items():
            if not frec.get("within_budget"):
                continue
            try:
                ck, shared, err = trk.get(a, w, out, s.counts, cfg)
            except Exception as ex:  # noqa: BLE001
                results[cfg.name] = {"kind": "triton", "ok": False, "median_us": None, "error": str(ex)[:300]}
                continue
            if shared > SM12X_BLOCK_LIMIT:
                continue
            e = Entry(cfg.name, "triton", tm.launcher(a, w, out, cfg), out,
                      {"config": cfg.to_dict(), "shared": shared, "carveout_error": err})
            e.cfg = cfg
            tr_entries.append(e)
        for e in entries + tr_entries:
            try:
                e.check = G.checked_run(e.fn, e.out, ref, dt)
            except Exception as ex:  # noqa: BLE001 -- a failing contender is reported, the run goes on
                e.check = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
        quick = []
        for e in tr_entries:
            if e.check.get("ok"):
                quick.append((stats.median(timer.times_us(e.fn, 5, warmup=1)), e.label, e))
        quick.sort(key=lambda x: (x[0], x[1]))
        keep = [e for _, _, e in quick[:args.triton_keep]]
        timed = [e for e in entries if e.check.get("ok")] + keep
        time_entries(timed, timer, args.reps, ref)
        for e in entries + tr_entries:
            r = entry_record(e, dt)
            if e.kind == "triton" and not e.passes:
                r["quick_median_us"] = next((t for t, lbl, _ in quick if lbl == e.label), None)
            results[e.label] = r
        gm = {**s.summary(), "floors": {"memory_us": s.min_bytes() / args.copy_bw * 1e6,
                                        "copy_bytes_per_s": args.copy_bw}, "results": results}
        gm["best_cutlass"], _ = D.best_of(results, "cutlass", D.CONTENDER_ROLES)
        gm["best_triton"], _ = D.best_of(results, "triton")
        # scheduler options of the best CUTLASS kernel (no rebuild): raster order and swizzle
        gm["variants"] = {}
        best = next((e for e in entries if e.label == gm["best_cutlass"]), None)
        if best is not None and best.meta.get("build") == "main":
            cfg = next(k.config for k in kernels if k.label == best.label)
            lib = libs["main"]
            vents = []
            for name, kw in (("raster_along_n", {"raster_order": "along_n"}),
                             ("raster_heuristic", {"raster_order": "heuristic"}),
                             ("swizzle_2", {"max_swizzle": 2})):
                try:
                    plan = lib.plan(a, w, s.offsets, out, cfg, **kw)
                    ve = Entry(name, "cutlass", plan.run, out, {"of": best.label, **kw}, plan)
                    ve.check = G.checked_run(ve.fn, out, ref, dt)
                    if ve.check["ok"]:
                        vents.append(ve)
                    else:
                        gm["variants"][name] = entry_record(ve, dt)
                except Exception as ex:  # noqa: BLE001
                    gm["variants"][name] = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
            if vents:
                base_again = Entry(best.label, "cutlass", best.fn, out, {})
                time_entries([base_again] + vents, timer, args.reps, ref)
                bmed = stats.median(sum(base_again.passes, []))
                for ve in vents:
                    gm["variants"][ve.label] = {**entry_record(ve, dt), "base_median_us": bmed}
        rec["gemms"][g] = gm
        ctx[g] = {"a": a, "out": out, "ref": ref, "s": s, "w": w, "entries": {e.label: e for e in entries + tr_entries},
                  "tm": tm, "best": {"cutlass": gm["best_cutlass"], "triton": gm["best_triton"]}}
    rec["chains"]["cutlass"] = chain(L, ctx, "cutlass", kernels, libs, trk, timer, args)
    rec["chains"]["triton"] = chain(L, ctx, "triton", kernels, libs, trk, timer, args)
    if dt == "bf16":
        rec["dependency_check"] = dependency_check(L, ctx, kernels, libs, trk, rec)
    for g in ctx.values():
        g["entries"].clear()
    ctx.clear()
    return rec


def chain(L, ctx, kind, kernels, libs, trk, timer, args) -> dict:
    """GEMM1 -> GEMM2 of the layer with each side's best single kernel, in every launch mode."""
    import torch

    from smem_tactics.bench import gpu as G

    g1, g2 = ctx["gemm1"], ctx["gemm2"]
    n1, n2 = g1["best"][kind], g2["best"][kind]
    if n1 is None or n2 is None:
        return {"kernels": [n1, n2], "error": "no correct kernel for one of the GEMMs"}
    e1, e2 = g1["entries"][n1], g2["entries"][n2]
    out = {"kernels": [n1, n2], "modes": {}}
    if kind == "cutlass":
        p1, p2 = e1.plan, e2.plan
        fns = {"stream": lambda: (p1.run(), p2.run()), "pdl": lambda: (p1.run(), p2.run(True))}
    else:
        # PDL as CUTLASS's GDC kernels do it: GEMM1 (the grid-dependency-control variant) lets GEMM2 launch after
        # its main loop, GEMM2 is launched with PDL and waits before its first load; plain kernels otherwise
        s1, s2 = g1["s"], g2["s"]
        try:
            trk.get(g1["a"], g1["w"], g1["out"], s1.counts, e1.cfg, gdc=True)
            trk.get(g2["a"], g2["w"], g2["out"], s2.counts, e2.cfg, pdl=True)
            f1gdc = g1["tm"].launcher(g1["a"], g1["w"], g1["out"], e1.cfg, gdc=True)
            f2pdl = g2["tm"].launcher(g2["a"], g2["w"], g2["out"], e2.cfg, pdl=True)
        except Exception as ex:  # noqa: BLE001
            f1gdc = f2pdl = None
            out["pdl_error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
        fns = {"stream": lambda: (e1.fn(), e2.fn())}
        if f2pdl is not None:
            fns["pdl"] = lambda: (f1gdc(), f2pdl())
    graphs = {}
    for base, gname in (("stream", "graph"), ("pdl", "graph_pdl")):
        if base in fns:
            try:
                graphs[gname] = capture_graph(fns[base])
                fns[gname] = graphs[gname].replay
            except Exception as ex:  # noqa: BLE001
                out["modes"][gname] = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
    entries = []
    for mode in D.CHAIN_MODES:
        if mode not in fns:
            continue
        e = Entry(mode, kind, fns[mode], None, {"mode": mode})
        try:  # both outputs poisoned, the chain run once, both compared
            g1["out"].fill_(float("nan"))
            g2["out"].fill_(float("nan"))
            fns[mode]()
            torch.cuda.synchronize()
            c1, c2 = G.compare(g1["out"], g1["ref"]), G.compare(g2["out"], g2["ref"])
            bound = G.REL_ERR_BOUND[L.dtype]
            e.check = {"gemm1": c1, "gemm2": c2, "ok": all(c["nonfinite"] == 0 and c["rel_err"] <= bound
                                                           for c in (c1, c2))}
        except Exception as ex:  # noqa: BLE001
            e.check = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
        entries.append(e)
    good = [e for e in entries if e.check.get("ok")]
    time_entries(good, timer, args.reps)
    for e in entries:
        out["modes"][e.label] = entry_record(e)
    torch.cuda.synchronize()
    graphs.clear()
    return out


def dependency_check(L, ctx, kernels, libs, trk, rec, rounds: int = 20) -> dict:
    """bf16: GEMM2 reads GEMM1's output (its first rows x I elements as the activations) and is launched with PDL.
    GEMM1's output is poisoned before every round; a GEMM2 that ran ahead of GEMM1's writes reads NaN."""
    import torch

    from smem_tactics.bench import gpu as G

    out = {}
    g1, g2 = ctx["gemm1"], ctx["gemm2"]
    s2 = g2["s"]
    a2 = g1["out"].view(-1)[: s2.rows * s2.k].view(s2.rows, s2.k)
    out2 = torch.empty((s2.rows, s2.n), dtype=torch.bfloat16, device="cuda")
    for kind in ("cutlass", "triton"):
        names = (rec["chains"].get(kind) or {}).get("kernels") or [None, None]
        if None in names:
            out[kind] = {"ok": False, "error": "no chain"}
            continue
        e1 = g1["entries"][names[0]]
        first = e1.fn
        try:
            if kind == "cutlass":
                cfg2 = next(k.config for k in kernels if k.label == names[1])
                build = next(k.build for k in kernels if k.label == names[1])
                p2 = libs[build].plan(a2, g2["w"], s2.offsets, out2, cfg2)
                second = lambda: p2.run(True)  # noqa: E731
            else:
                from cpp_bindings import triton_moe as T

                cfg2 = g2["entries"][names[1]].cfg
                trk.get(a2, g2["w"], out2, s2.counts, cfg2, pdl=True)
                second = T.TritonMoe(s2.counts, a2.device).launcher(a2, g2["w"], out2, cfg2, pdl=True)
                # GEMM1 lets GEMM2 launch before its stores (gdc_launch_dependents after the main loop): the case a
                # missing wait would get wrong
                trk.get(g1["a"], g1["w"], g1["out"], g1["s"].counts, e1.cfg, gdc=True)
                first = g1["tm"].launcher(g1["a"], g1["w"], g1["out"], e1.cfg, gdc=True)
            first()  # GEMM1 alone first: its output (deterministic) gives the reference of the dependent GEMM2
            torch.cuda.synchronize()
            ref2 = G.reference(a2, g2["w"], s2.counts)
            worst = {"nonfinite": 0, "rel_err": 0.0}
            for _ in range(rounds):
                g1["out"].fill_(float("nan"))
                out2.fill_(float("nan"))
                first()
                second()
                torch.cuda.synchronize()
                c = G.compare(out2, ref2)
                worst = {"nonfinite": max(worst["nonfinite"], c["nonfinite"]),
                         "rel_err": max(worst["rel_err"], c["rel_err"])}
            out[kind] = {"rounds": rounds, **worst, "kernels": names,
                         "ok": worst["nonfinite"] == 0 and worst["rel_err"] <= G.REL_ERR_BOUND["bf16"]}
        except Exception as ex:  # noqa: BLE001
            out[kind] = {"ok": False, "error": f"{type(ex).__name__}: {str(ex)[:300]}"}
    return out


# ------------------------------------------------------------------------------------------------------ Nsight Compute

#: Anatomy launches Nsight Compute profiles (e4m3 only: the GPU duration of the one-tile points, to split the event
#: time of each into launch path and time on the GPU).
NCU_ANATOMY = {"dtype": "e4m3", "points": ("tile1_cta1", "tile1_grid"),
               "roles": ("base", "nosmem", "pa", "pa_nosmem", "triton")}


def ncu_anatomy_launches(sweeps) -> list:
    out = []
    for r in sweeps or []:
        if r.get("sweep") != "anatomy" or not r.get("ok") or r.get("dtype") != NCU_ANATOMY["dtype"] \
                or r.get("label") not in NCU_ANATOMY["points"] or r.get("role") not in NCU_ANATOMY["roles"] \
                or r.get("build", "main") != "main":
            continue
        item = {"label": f"anatomy/{r['dtype']}/{r['label']}/{r['kernel']}", "kind": r["kind"], "pick": "anatomy",
                "point": r["label"], "dtype": r["dtype"], "kernel": r["kernel"], "event_median_us": r["median_us"],
                "problem": {k: r[k] for k in ("n", "k", "groups", "rows", "sm_count")}}
        if r["kind"] == "triton":
            item["triton"] = r.get("config")
        out.append(item)
    return out


def ncu_manifest(plan, layers_done, out_dir: Path, built_names, sweeps=None) -> dict:
    """Which launches to profile: for the ncu model, each dtype, 1-16 tokens, both GEMMs: the best CUTLASS kernel and
    the best Triton config of that layer; at 1 token GEMM2 also the other CUTLASS roles; and the anatomy points of
    :data:`NCU_ANATOMY`."""
    launches = []
    for layer in layers_done:
        if layer["model"] != plan["ncu_model"] or layer["tokens"] not in D.NCU_TOKENS:
            continue
        for g in ("gemm1", "gemm2"):
            gm = layer["gemms"].get(g) or {}
            picks = [("cutlass", gm.get("best_cutlass"), "best"), ("triton", gm.get("best_triton"), "best")]
            if layer["tokens"] == 1 and g == "gemm2":
                for k in plan["kernels"]:
                    if k.dtype == layer["dtype"] and k.build == "main" and k.label != gm.get("best_cutlass") \
                            and (gm.get("results", {}).get(k.label) or {}).get("ok"):
                        picks.append(("cutlass", k.label, "variant"))
            for kind, name, pick in picks:
                if name is None:
                    continue
                r = gm["results"].get(name) or {}
                item = {"label": f"{layer['key']}/{g}/{name}", "kind": kind, "model": layer["model"],
                        "dtype": layer["dtype"], "tokens": layer["tokens"], "gemm": g, "kernel": name,
                        "seed": layer["seed"], "pick": pick, "event_median_us": r.get("median_us")}
                if kind == "cutlass":
                    k = next(k for k in plan["kernels"] if k.label == name)
                    if k.build != "main":
                        continue
                    item["config"] = k.config.to_dict()
                else:
                    item["triton"] = r.get("config")
                launches.append(item)
    for item in ncu_anatomy_launches(sweeps):
        if item["kind"] == "cutlass":
            k = next((k for k in plan["kernels"] if k.label == item["kernel"] and k.build == "main"), None)
            if k is None:
                continue
            item["config"] = k.config.to_dict()
        elif not item.get("triton"):
            continue
        launches.append(item)
    main = next(s for s in plan["specs"] if s.name == "main")
    return {"launches": launches, "build_root": str(Path(plan["build_root"]) / "main"),
            "module_name": main.module_name, "names": built_names,
            "configs": [k.config.to_dict() for k in main.kernels], "out_dir": str(out_dir)}


def ncu_child(manifest_path: str, select: str) -> int:
    """Run under Nsight Compute: prepare every launch of the manifest, then launch each once, in order."""
    import torch

    from cpp_bindings import triton_moe as T
    from cpp_bindings.grouped_gemm import load_built
    from smem_tactics.bench import gpu as G
    from smem_tactics.bench.decode import layer_scenario
    from smem_tactics.config import KernelConfig

    man = json.loads(Path(manifest_path).read_text())
    launches = man["launches"]
    if select == "t1":  # the deep pass: the 1-token GEMM2 of each dtype (best CUTLASS, best Triton), and the
        # one-tile-on-one-CTA anatomy launches (where the fixed time is all there is)
        launches = [x for x in launches if x.get("tokens") == 1 and x.get("gemm") == "gemm2"
                    and x["pick"] == "best"][:8] + [x for x in launches if x.get("point") == "tile1_cta1"]
    configs = [KernelConfig.from_dict(c) for c in man["configs"]]
    lib = load_built(configs, man["names"], man["build_root"], man["module_name"])
    for name in lib.configs:
        lib.runner(lib.configs[name]).set_carveout(SM12X_CARVEOUT_PERCENT)
    weights, prepared = {}, []
    for x in launches:
        if x.get("pick") == "anatomy":  # the sweep point's own problem (same seeds as sweep_point)
            pr = x["problem"]
            w = G.random_weights(pr["groups"], pr["n"], pr["k"], x["dtype"], SEED + pr["k"] + pr["groups"])
            a = G.random_activations(pr["groups"] * pr["rows"], pr["k"], x["dtype"], SEED + 1)
            out = torch.empty((pr["groups"] * pr["rows"], pr["n"]), dtype=torch.bfloat16, device="cuda")
            counts = [pr["rows"]] * pr["groups"]
            if x["kind"] == "cutlass":
                plan = lib.plan(a, w, [i * pr["rows"] for i in range(pr["groups"] + 1)], out,
                                KernelConfig.from_dict(x["config"]), sm_count=pr["sm_count"] or None)
                prepared.append((x, plan.run, (plan, a, out)))
            else:
                tc = T.TritonConfig.from_dict(x["triton"])
                ck = T.compile_config(a, w, out, counts, tc)
                T.set_carveout(ck, SM12X_CARVEOUT_PERCENT)
                prepared.append((x, T.TritonMoe(counts, a.device).launcher(a, w, out, tc), (ck, a, out)))
            continue
        L = layer_scenario(x["model"], x["dtype"], x["tokens"], x["seed"])
        s = L.gemm(x["gemm"])
        wk = (x["model"], x["dtype"], x["gemm"])
        if wk not in weights:
            weights[wk] = G.random_weights(s.model.experts, s.n, s.k, x["dtype"], SEED + (0 if x["gemm"] == "gemm1" else 1))
        w = weights[wk]
        a = G.random_activations(s.rows, s.k, x["dtype"], x["seed"] + 97 * x["tokens"] + (x["gemm"] == "gemm2"))
        out = torch.empty((s.rows, s.n), dtype=torch.bfloat16, device="cuda")
        if x["kind"] == "cutlass":
            cfg = KernelConfig.from_dict(x["config"])
            plan = lib.plan(a, w, s.offsets, out, cfg)
            prepared.append((x, plan.run, (plan, a, out)))
        else:
            tc = T.TritonConfig.from_dict(x["triton"])
            ck = T.compile_config(a, w, out, s.counts, tc)
            T.set_carveout(ck, SM12X_CARVEOUT_PERCENT)
            prepared.append((x, T.TritonMoe(s.counts, a.device).launcher(a, w, out, tc), (ck, a, out)))
    torch.cuda.synchronize()
    done = []
    for x, fn, _keep in prepared:
        fn()
        torch.cuda.synchronize()
        done.append({k: v for k, v in x.items() if k not in ("config", "triton", "problem")})
    Path(man["out_dir"], f"ncu_launches_{select}.json").write_text(json.dumps(done, indent=1))
    print(f"ncu child: {len(done)} launches", flush=True)
    return 0


def _raw_rows(txt: str) -> list:
    try:
        return N.parse_raw_csv(txt)
    except ValueError:
        return []


def run_ncu(plan, layers_done, out_dir: Path, logs: Path, built_names, budget: float, sweeps=None) -> dict:
    ncu = shutil.which("ncu")
    if ncu is None and Path("/opt/nvidia").is_dir():
        found = sorted(Path("/opt/nvidia").glob("nsight-compute/*/ncu"))
        ncu = str(found[-1]) if found else None
    res = {"launches": [], "files": [], "errors": []}
    if not ncu:
        res["error"] = "ncu not found on PATH or under /opt/nvidia/nsight-compute"
        return res
    man = ncu_manifest(plan, layers_done, logs, built_names, sweeps)
    if not man["launches"]:
        res["error"] = "no launch to profile (no layer of the ncu model at 1-16 tokens was measured)"
        return res
    mpath = logs / "ncu_manifest.json"
    mpath.write_text(json.dumps(man, indent=1))
    t_start = now()
    try:
        res["version"] = subprocess.run([ncu, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()[-200:]
    except Exception as ex:  # noqa: BLE001
        res["errors"].append(f"ncu --version: {ex}")
    passes = [("main", N.SECTIONS, N.METRICS, "all"), ("deep", N.DEEP_SECTIONS, (), "t1")]
    for name, sections, metrics, select in passes:  # (a failed main pass is retried once without named metrics)
        left = budget - (now() - t_start)
        if left < 25:
            res["errors"].append(f"pass {name}: skipped, {left:.0f} s left of the Nsight Compute budget")
            continue
        report = logs / f"decode_ncu_{name}"
        child = [sys.executable, str(REPO / "scripts" / "bench_decode.py"), "--ncu-child", str(mpath),
                 "--ncu-select", select]
        cmd = N.profile_command(ncu, str(report), child, sections, metrics)
        log(f"ncu pass {name}: {len(man['launches']) if select == 'all' else 'the 1-token GEMM2'} launches, "
            f"timeout {left - 10:.0f} s")
        try:
            with open(logs / f"ncu_{name}.log", "w") as f:
                p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=max(10.0, left - 10), cwd=str(REPO))
            res[f"{name}_rc"] = p.returncode
        except subprocess.TimeoutExpired:
            res["errors"].append(f"pass {name}: timed out")
        rep = Path(str(report) + ".ncu-rep")
        if not rep.is_file():
            res["errors"].append(f"pass {name}: no report written (see ncu_{name}.log)")
            if name == "main":
                passes.insert(passes.index(("deep", N.DEEP_SECTIONS, (), "t1")),
                              ("main_sections", N.SECTIONS, (), "all"))
            continue
        res["files"].append(rep.name)
        for page, icmd in N.import_commands(ncu, str(rep)).items():
            main_pass = name.startswith("main")
            if main_pass and page == "source":
                continue
            try:
                txt = subprocess.run(icmd, capture_output=True, text=True, timeout=60).stdout
                if page == "raw" and not _raw_rows(txt):  # an ncu that refuses --print-units: its own units
                    txt = subprocess.run([a for a in icmd if a not in ("--print-units", "base")], capture_output=True,
                                         text=True, timeout=60).stdout
                (logs / f"ncu_{name}_{page}.csv").write_text(txt)
                if page == "source" and not main_pass:  # and one page per profiled launch, in launch order
                    for i in range(40):
                        one = subprocess.run(icmd + ["--launch-skip", str(i), "--launch-count", "1"],
                                             capture_output=True, text=True, timeout=60)
                        if one.returncode != 0 or not one.stdout.strip():
                            if i == 0:
                                res["errors"].append(f"pass {name}: per-launch source page: rc {one.returncode} "
                                                     f"{one.stderr.strip()[:200]}")
                            break
                        (logs / f"ncu_{name}_source_{i:02d}.csv").write_text(one.stdout)
                if main_pass and page == "raw":
                    rows = N.parse_raw_csv(txt)
                    done_path = logs / "ncu_launches_all.json"
                    done = json.loads(done_path.read_text()) if done_path.is_file() else []
                    att = N.attach(rows, done)
                    res["launches"] = att["launches"]
                    res["attach_ok"] = att["ok"]
                    res["attach_note"] = att["note"]
            except Exception as ex:  # noqa: BLE001
                res["errors"].append(f"pass {name} page {page}: {type(ex).__name__}: {str(ex)[:200]}")
    if not res["launches"] and "error" not in res:
        res["error"] = "; ".join(res["errors"]) or "no profiled launch parsed"
    return res


# ------------------------------------------------------------------------------------------------------ main

def sass_counts(so_path: Path) -> dict:
    """griddepcontrol in the SASS of a built extension: ACQBULK (wait) and PREEXIT (launch_dependents)."""
    cu = shutil.which("cuobjdump")
    if not cu or not so_path.is_file():
        return {"error": "cuobjdump or the built module not found"}
    try:
        txt = subprocess.run([cu, "-sass", str(so_path)], capture_output=True, text=True, timeout=90).stdout
    except Exception as ex:  # noqa: BLE001
        return {"error": f"{type(ex).__name__}: {ex}"}
    return {"functions": txt.count("Function :"), "ACQBULK": txt.count("ACQBULK"), "PREEXIT": txt.count("PREEXIT")}


def resolve_trees(plan) -> tuple:
    from cpp_bindings.trees import tree_from_path

    main = tree_from_path(plan["main_tree"]) if plan["main_tree"] else None
    bridge = None
    note = ""
    path = plan["bridge_tree"]
    if path:
        p = Path(path)
        if p.is_file() and (p.name.endswith(".tar.xz") or p.name.endswith(".tar.gz")):
            dest = Path("/tmp/decode_cutlass_420")
            if not dest.is_dir():
                with tarfile.open(p) as tf:
                    tf.extractall(dest)  # noqa: S202 -- our own carried archive
            cands = [d for d in [dest, *dest.iterdir()] if d.is_dir()]
            for d in cands:
                try:
                    bridge = tree_from_path(d)
                    break
                except Exception:  # noqa: BLE001
                    continue
        else:
            try:
                bridge = tree_from_path(p)
            except Exception as ex:  # noqa: BLE001
                note = f"bridge tree {path}: {ex}"
        if bridge is not None and bridge.version != D.BRIDGE_CUTLASS:
            note = f"bridge tree {path} is CUTLASS {bridge.version}, not {D.BRIDGE_CUTLASS}: bridge skipped"
            bridge = None
    return main, bridge, note


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.ncu_child:
        return ncu_child(args.ncu_child, args.ncu_select)
    try:
        plan = make_plan(args)
    except SmemTacticsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    plan["build_root"] = args.build_root
    if args.dry_run:
        return dry_run(args, plan)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    state = {"results": {"meta": {"budget_s": args.budget}, "layers": [], "failures": []}, "written": False}
    rc = 3
    try:
        rc = run_all(args, plan, out, logs, state)
    except Exception as ex:  # noqa: BLE001 -- whatever was measured is still written
        traceback.print_exc()
        state["results"].setdefault("failures", []).append(
            {"key": "run", "error": f"{type(ex).__name__}: {ex}", "traceback": traceback.format_exc()[-4000:]})
    finally:
        if not state["written"]:
            try:
                state["results"].setdefault("meta", {})["wall_seconds"] = now()
                write_outputs(out, logs, state["results"])
            except Exception:  # noqa: BLE001
                traceback.print_exc()
    return rc


def run_all(args, plan, out: Path, logs: Path, state: dict) -> int:
    from smem_tactics import footprint
    from smem_tactics.bench import gpu as G

    dev, why = G.sm90_device()
    if dev is None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    import torch
    try:
        main_tree, bridge_tree, bridge_note = resolve_trees(plan)
    except SmemTacticsError as e:
        print(f"error: --cutlass: {e}", file=sys.stderr)
        return 2
    if main_tree is None or main_tree.version != D.BUILD_CUTLASS:
        print(f"error: --cutlass: the main build needs a CUTLASS {D.BUILD_CUTLASS} tree (the kernels' footprints are "
              f"modelled for it); found {main_tree.version if main_tree else 'none'} at {plan['main_tree']}",
              file=sys.stderr)
        return 2
    if bridge_tree is None:
        plan["kernels"] = [k for k in plan["kernels"] if k.build != "c420"]
        plan["specs"] = D.build_specs(plan["kernels"])
    budget = plan["budget"]
    log(f"device: {dev['name']}, {dev['sms']} SMs, torch {dev['torch']}, triton {dev['triton']}; CUTLASS "
        f"{main_tree.version} ({main_tree.include}); bridge {bridge_tree.version if bridge_tree else bridge_note or 'none'}")

    # builds in the background, one process per extension
    procs = {}
    for spec in plan["specs"]:
        tree = bridge_tree if spec.tree == "bridge" else main_tree
        cfg_file = logs / f"kernels_{spec.name}.json"
        cfg_file.write_text(json.dumps([c.to_dict() for c in spec.configs], indent=1))
        res_file = logs / f"build_{spec.name}.json"
        jobs = args.jobs if spec.name == "main" else 2
        cmd = build_command(spec, args, cfg_file, res_file, str(tree.include.parent), jobs)
        f = open(logs / f"build_{spec.name}.log", "w")
        procs[spec.name] = (subprocess.Popen(cmd, cwd=str(REPO), stdout=f, stderr=subprocess.STDOUT), f, res_file)
    log(f"building {sum(len(s.kernels) for s in plan['specs'])} CUTLASS kernels in {len(procs)} extensions")

    timer = G.Timer()
    ceilings = {"copy": G.copy_bandwidth(timer)}
    args.copy_bw = ceilings["copy"]["bytes_per_s"]
    log(f"copy bandwidth {args.copy_bw / 1e12:.3f} TB/s")
    try:
        tri_facts = triton_compile(args.dtypes, SM12X_BLOCK_LIMIT)
    except Exception as ex:  # noqa: BLE001
        log(f"triton unavailable: {ex}")
        traceback.print_exc()
        tri_facts = {dt: {} for dt in args.dtypes}

    builds, libs = {}, {}
    from cpp_bindings.grouped_gemm import load_built

    for name, (p, f, res_file) in procs.items():
        try:
            rc = p.wait(timeout=max(5.0, args.build_timeout - now()))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        f.close()
        spec = next(s for s in plan["specs"] if s.name == name)
        info = json.loads(res_file.read_text()) if res_file.is_file() else {}
        builds[name] = {"rc": rc, "seconds": info.get("seconds"), "failed": info.get("failed"),
                        "warnings": info.get("warnings"), "names": info.get("names", []),
                        "module": spec.module_name, "defines": list(spec.defines),
                        "cutlass": (bridge_tree if spec.tree == "bridge" else main_tree).version}
        if rc == 0 and info.get("names"):
            try:
                libs[name] = load_built(spec.configs, info["names"], Path(args.build_root) / name, spec.module_name)
            except Exception as ex:  # noqa: BLE001
                builds[name]["load_error"] = f"{type(ex).__name__}: {ex}"
        builds[name]["sass"] = sass_counts(Path(args.build_root) / name / "ext" / f"{spec.module_name}.so")
        log(f"build {name}: rc {rc}, {len(info.get('names', []))} kernels, {info.get('seconds') or 0:.0f} s, "
            f"failed {list((info.get('failed') or {}))}; SASS {builds[name]['sass']}")
    if "main" not in libs:
        print(open(logs / "build_main.log").read()[-6000:])
        print("error: the main CUTLASS build failed; see logs/build_main.log", file=sys.stderr)
        state["results"] = {"meta": {"card": dev["name"], "device": dev, "builds": builds}, "layers": [],
                            "failures": [{"key": "build", "error": "the main CUTLASS build failed"}]}
        return 1

    kernels = [k for k in plan["kernels"] if k.build in libs and k.name in libs[k.build].configs]
    kinfo, fp_ok = {}, True
    for k in kernels:
        lib = libs[k.build]
        info = lib.info(k.config)
        fp = footprint(k.config)
        runner = lib.runner(k.config)
        runner.set_carveout(SM12X_CARVEOUT_PERCENT)
        checks = {"shared_storage_size_equals_model": info["shared_storage_size"] == fp.total_bytes,
                  "sizeof_equals_model": info["sizeof_shared_storage"] == fp.total_bytes,
                  "stages_equal_model": info["stages"] == fp.stages,
                  "cutlass_version": info["cutlass_version"] == str(k.config.cutlass),
                  "gdc_as_built": info["gdc_compiled"] == (k.build == "main"),
                  "mode": info["grouped"] == (k.config.mode.value == "grouped")}
        fp_ok &= all(checks.values())
        kinfo[k.label] = {"role": k.role, "build": k.build, "why": D.ROLES[k.role], "config": k.config.to_dict(),
                          "model_bytes": fp.total_bytes, "model_stages": fp.stages, "info": info,
                          "attributes": dict(runner.attributes()), "checks": checks}
    log(f"footprint/build checks: {'all equal' if fp_ok else 'MISMATCH'} over {len(kinfo)} kernels")

    results = {"meta": {"card": dev["name"], "date": time.strftime("%Y-%m-%d", time.gmtime()), "device": dev,
                        "builds": builds, "bridge_note": bridge_note,
                        "cutlass_main": main_tree.version, "cutlass_bridge": bridge_tree.version if bridge_tree else None,
                        "seed": args.seed, "models": args.models, "dtypes": args.dtypes, "tokens": args.tokens,
                        "reps": {"timed": args.reps, "passes": 2, "triton_quick": 5},
                        "budget_s": args.budget, "carveout_percent": SM12X_CARVEOUT_PERCENT,
                        "budget_per_cta": SM12X_BLOCK_LIMIT,
                        "timing": "batches enqueued behind a 10 ms GPU sleep; per repetition a 256 MiB read flushes "
                                  "L2, CUDA events bracket the launch(es); median of 2 passes (forward, reverse)"},
               "ceilings": ceilings, "kernels": kinfo, "footprint_checks_all_equal": fp_ok,
               "triton": {dt: {c.name: r for c, r in f.items()} for dt, f in tri_facts.items()},
               "layers": [], "failures": [], "skipped": []}
    state["results"] = results
    trk = TritonKernels()
    sms = dev["sms"]
    try:
        results["launch_floor"] = launch_floor(libs["main"], timer, args.reps)
        log("launch floor: " + ", ".join(f"{k} {v.get('median', float('nan')):.2f}" for k, v in
                                         results["launch_floor"].items() if "median" in v))
    except Exception as ex:  # noqa: BLE001
        results["launch_floor"] = {"error": f"{type(ex).__name__}: {ex}"}
    try:
        results["sweeps"] = run_sweeps(args.dtypes, kernels, libs, tri_facts, trk, timer, args.reps, sms)
        for f in D.sweep_fits(results["sweeps"]):
            log(f"sweep {f['sweep']} {f['dtype']} {f['kernel']}: intercept {f['intercept'] or 0:.2f} us, "
                f"slope {f['slope'] or 0:.3f} us, r2 {f['r2'] or 0:.3f}")
    except Exception as ex:  # noqa: BLE001
        traceback.print_exc()
        results["sweeps"] = []
        results["failures"].append({"key": "sweeps", "error": f"{type(ex).__name__}: {ex}"})

    weights = {}
    for L in plan["layers"]:
        if now() > budget.layers_end:
            results["skipped"].append(L.key)
            continue
        wk = (L.model, L.dtype)
        if wk not in weights:
            s1, s2 = L.gemm1, L.gemm2
            weights[wk] = {"gemm1": G.random_weights(s1.model.experts, s1.n, s1.k, L.dtype, SEED),
                           "gemm2": G.random_weights(s2.model.experts, s2.n, s2.k, L.dtype, SEED + 1)}
        try:
            rec = run_layer(L, weights[wk], kernels, libs, tri_facts, trk, timer, args, sms)
        except Exception as ex:  # noqa: BLE001 -- record and go on
            log(f"{L.key}: FAILED {type(ex).__name__}: {ex}")
            traceback.print_exc()
            results["failures"].append({"key": L.key, "error": f"{type(ex).__name__}: {ex}",
                                        "traceback": traceback.format_exc()[-3000:]})
            continue
        results["layers"].append(rec)
        r = D.layer_row(rec)
        log(f"{L.key}: C {r['gemm1_cutlass'] or 0:.1f}/{r['gemm2_cutlass'] or 0:.1f} T {r['gemm1_triton'] or 0:.1f}/"
            f"{r['gemm2_triton'] or 0:.1f}; chain C stream {r['chain_cutlass_stream'] or 0:.1f} pdl "
            f"{r['chain_cutlass_pdl'] or 0:.1f} graph {r['chain_cutlass_graph'] or 0:.1f}; T stream "
            f"{r['chain_triton_stream'] or 0:.1f} best {r['chain_triton_best'] or 0:.1f}")
        torch.cuda.empty_cache()
    weights.clear()
    torch.cuda.empty_cache()

    if args.ncu_budget > 0:
        left = min(budget.ncu_timeout(now()), args.budget - budget.report - now())
        try:
            results["ncu"] = run_ncu(plan, results["layers"], out, logs, builds["main"]["names"], left,
                                     results.get("sweeps"))
        except Exception as ex:  # noqa: BLE001
            traceback.print_exc()
            results["ncu"] = {"error": f"{type(ex).__name__}: {ex}", "launches": []}
        log(f"ncu: {len(results['ncu'].get('launches', []))} launches parsed; errors: {results['ncu'].get('errors')}")
    results["meta"]["wall_seconds"] = now()
    results["attribution"] = D.attribution(results)
    results["goals"] = D.goals(D.layer_rows(results))
    write_outputs(out, logs, results)
    state["written"] = True
    log("done")
    print(D.short_table(results))
    print(f"card: {dev['name']}; footprints {'equal' if fp_ok else 'MISMATCH'}; {len(results['layers'])} layers, "
          f"{len(results['failures'])} failed, {len(results['skipped'])} skipped by the deadline")
    return 0 if fp_ok and not results["failures"] else 1


def write_outputs(out: Path, logs: Path, results: dict) -> None:
    """decode.json, decode.md, logs.tar.gz (text logs, CSVs) and ncu_reports.tar (Nsight Compute reports)."""
    (out / "decode.json").write_text(json.dumps(results, indent=1, default=str))
    try:
        (out / "decode.md").write_text(D.markdown(results))
    except Exception as ex:  # noqa: BLE001 -- the JSON is the record; the tables can be rebuilt from it
        (out / "decode.md").write_text(f"report failed: {type(ex).__name__}: {ex}\n")
    with tarfile.open(out / "logs.tar.gz", "w:gz") as tf:
        for p in sorted(logs.iterdir()):
            if p.suffix != ".ncu-rep":
                tf.add(p, arcname=f"logs/{p.name}")
    reps = sorted(logs.glob("*.ncu-rep"))
    if reps:
        with tarfile.open(out / "ncu_reports.tar", "w") as tf:
            total = 0
            for p in reps:
                total += p.stat().st_size
                if total > 15 << 20:  # one returned file may be at most 16 MiB
                    break
                tf.add(p, arcname=p.name)
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
