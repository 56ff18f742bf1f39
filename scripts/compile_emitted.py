#!/usr/bin/env python3
"""Compile every emitted kernel with nvcc (device code for each target) and write a summary.

Default set: every SM120/SM121 kernel the shipped tactic tables emit (smem_tactics/data/tables), built for
sm_120a and sm_121a against the CUTLASS release the tables target. Each kernel must compile, pass its
SharedStorage / stage static_asserts and contain MMA instructions in the SASS of every target.

    python3 scripts/compile_emitted.py                        # the shipped set, summary to docs/
    python3 scripts/compile_emitted.py --jobs 16 --limit 3     # the first 3 (as CI does)
    python3 scripts/compile_emitted.py --space sm120:nvfp4,mxfp8xmxfp4 --one-per-shape   # legality sweep

Prints a progress bar and a summary; exits 1 if any kernel failed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from cpp_bindings.trees import resolve_tree
    from smem_tactics.compile_driver import make_executor
    from smem_tactics.emit.build import build_all, sample_evenly, space_candidates, write_summary
    from smem_tactics.progress import ProgressBar

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", help="compile synthesized configs instead of the tables' set: ARCH:DTYPE[,DTYPE]")
    ap.add_argument("--one-per-shape", action="store_true", help="with --space: one kernel per tile x schedule")
    ap.add_argument("--limit-bytes", type=int, default=101376, help="with --space: the limit (default 101376)")
    ap.add_argument("--cutlass", metavar="PATH", help="CUTLASS tree (default: the installed tree of the tables' "
                                                      "CUTLASS version)")
    ap.add_argument("--targets", default="", help="comma-separated, e.g. 120a,121a (default: per arch)")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)), help="nvcc processes at once")
    ap.add_argument("--ray-address", metavar="ADDR", help="run the compiles as tasks of this Ray cluster (the build "
                                                          "folder, nvcc and the CUTLASS tree at the same paths on "
                                                          "every node); needs pip install 'smem_tactics[ray]'")
    ap.add_argument("--limit", type=int, help="compile only the first N kernels")
    ap.add_argument("--sample", type=int, help="compile N kernels evenly spaced over the list (a legality sweep)")
    ap.add_argument("--shard", default="", metavar="I/N", help="compile only the I-th of N equal parts (1-based)")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="write one summary from the --json files of shards")
    ap.add_argument("--from-facts", nargs="+", metavar="FACTS",
                    help="write the summary of the shipped emitted set from compile-facts files (smem-tactics "
                         "compile-facts --emitted --targets 120a,121a compiles the same unit, one target per nvcc "
                         "run, and records the same checks); compiles nothing")
    ap.add_argument("--build-dir", default=str(ROOT / "out" / "emitted"), help="where .cu files are written")
    ap.add_argument("--summary", default=str(ROOT / "docs" / "emitted_compile_summary.md"),
                    help="Markdown summary path ('' for none)")
    ap.add_argument("--json", default="", help="also write the results as JSON here")
    args = ap.parse_args(argv)

    if args.merge:
        return _merge(args.merge, args.summary)
    if args.from_facts:
        return _from_facts(args.from_facts, args.summary, args.targets)
    tree = resolve_tree(args.cutlass, None) if args.cutlass else None
    if args.space:
        # the synthesized space of the release being compiled against (the tables' 4.5.0 by default)
        version = tree.version if tree else "4.5.0"
        cands = space_candidates(args.space, args.limit_bytes, version, args.one_per_shape)
        source = f"synthesized space {args.space} under {args.limit_bytes} B"
    else:
        from smem_tactics.tables import emitted_candidates

        cands, version, tables = emitted_candidates()
        source = f"the SM12x kernels of {tables} shipped tactic tables"
    if args.sample and len(cands) > args.sample:
        cands = sample_evenly(cands, args.sample)
        source += f", {args.sample} evenly spaced"
    if args.limit:
        cands = cands[: args.limit]
    if args.shard:
        i, n = (int(x) for x in args.shard.split("/"))
        if not 1 <= i <= n:
            raise SystemExit(f"error: --shard {args.shard}: I must be between 1 and N")
        cands = cands[i - 1::n]
        source += f", shard {i}/{n}"
    tree = tree or resolve_tree(None, version)
    targets = [t for t in args.targets.split(",") if t]
    print(f"{len(cands)} kernels ({source}); CUTLASS {tree.version} from {tree.source}; {args.jobs} jobs",
          file=sys.stderr)
    bar = ProgressBar(len(cands), "nvcc")
    failed = []

    def progress(r):
        if not r.ok:
            failed.append(r)
            print(f"\nFAILED {r.name}: {r.error}", file=sys.stderr)
        bar.advance()

    start = time.monotonic()
    executor = make_executor(args.jobs, args.ray_address)
    results = build_all(cands, tree, args.build_dir, jobs=args.jobs, targets=targets, progress=progress,
                        executor=executor)
    wall = time.monotonic() - start
    nvcc_version = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    meta = {
        "command": "python3 scripts/compile_emitted.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs)",
        "nvcc": nvcc_version[-1] if nvcc_version else "?",
        "cutlass": f"{tree.version} ({tree.source})",
        "targets": ", ".join(targets) or "per arch: sm_120a + sm_121a for SM12x",
        "flags": " ".join(__import__("smem_tactics.emit.cutlass_tu", fromlist=["NVCC_FLAGS"]).NVCC_FLAGS),
        "tables": source,
        "jobs": args.jobs if args.ray_address is None else executor.describe(),
        "wall_seconds": round(wall),
    }
    if args.summary:
        write_summary(results, meta, args.summary, args.json or None)
    elif args.json:
        write_summary(results, meta, Path(args.build_dir) / "summary.md", args.json)
    return _report(results, f"{wall:.0f} s wall")


def _report(results, how: str) -> int:
    """The closing lines (counts, each failure with its reason) and the exit code: 1 if any kernel failed."""
    ok = sum(r.ok for r in results)
    print(f"\n{ok} compiled, {len(results) - ok} failed, {how}", file=sys.stderr)
    for r in results:
        if not r.ok:
            print(f"  {r.name}: {r.error}", file=sys.stderr)
    return 0 if ok == len(results) else 1


def _merge(paths, summary: str) -> int:
    """One summary from shard JSON files (the kernels of all shards, the metadata of the first)."""
    import json

    from smem_tactics.emit.build import BuildResult, write_summary

    results, metas = [], []
    for p in paths:
        data = json.loads(Path(p).read_text())
        metas.append(data["meta"])
        for r in data["results"]:
            r["targets"] = tuple(r["targets"])
            results.append(BuildResult(**r))
    results.sort(key=lambda r: r.name)
    meta = dict(metas[0])
    meta["command"] = " + ".join(m["command"] for m in metas)
    meta["wall_seconds"] = " + ".join(str(m["wall_seconds"]) for m in metas)
    meta["tables"] = metas[0]["tables"].split(", shard")[0] + f" ({len(paths)} shards merged)"
    write_summary(results, meta, summary)
    ok = sum(r.ok for r in results)
    print(f"{ok} compiled, {len(results) - ok} failed (merged {len(paths)} shards) -> {summary}", file=sys.stderr)
    return 0 if ok == len(results) else 1


def _from_facts(paths, summary: str, targets_text: str) -> int:
    """The emitted set's summary from compile-facts records: a kernel is ``ok`` when every target compiled there
    (registers read, static_asserts passed, MMA instructions in the SASS); a target without a record fails it."""
    from smem_tactics.compile_facts import load_facts
    from smem_tactics.contract import bad
    from smem_tactics.emit.build import BuildResult, write_summary
    from smem_tactics.tables import emitted_candidates

    cands, version, tables = emitted_candidates()
    files = [load_facts(p) for p in paths]
    for f in files:
        if f.cutlass != version:
            raise bad("--from-facts", f.path, f"facts of CUTLASS {version} (the tables' release)",
                      f"CUTLASS {f.cutlass}")
    if len({f.nvcc for f in files}) != 1 or len({f.flags for f in files}) != 1:
        raise bad("--from-facts", " ".join(paths), "files of one nvcc release and one set of flags",
                  "they differ")
    targets = tuple(f"sm_{t.strip().removeprefix('sm_')}" for t in (targets_text or "120a,121a").split(",") if t)
    records = {}
    for f in files:
        records.update(f.by_kernel)
    results = []
    for c in cands:
        r = BuildResult(c.name, c.total_bytes, c.stages, tuple(t.removeprefix("sm_") for t in targets))
        errors = []
        for t in targets:
            rec = records.get((c.name, t))
            if rec is None:
                errors.append(f"{t}: no compile facts")
                continue
            r.seconds += rec.compile_seconds
            if not rec.ok:
                errors.append(f"{t}: {rec.error}")
                continue
            r.registers[t] = rec.registers
            r.mma_instructions[t] = rec.mma_instructions
            if rec.total_bytes != c.total_bytes or rec.stages != c.stages:
                errors.append(f"{t}: the facts were compiled for {rec.total_bytes} B / {rec.stages} stages")
        r.ok = not errors
        r.error = "; ".join(errors)
        results.append(r)
    machines = sorted({rec.machine for rec in records.values()})
    builds = sorted({rec.nvcc_version for rec in records.values()})
    meta = {
        "command": "python3 scripts/compile_emitted.py --from-facts " + " ".join(paths),
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") +
                " (this summary, written from the facts; the compiles ran before, by smem-tactics compile-facts)",
        "machine": "; ".join(machines),
        "nvcc": ", ".join(builds),
        "cutlass": version,
        "targets": ", ".join(targets),
        "flags": files[0].flags,
        "tables": f"the SM12x kernels of {tables} shipped tactic tables",
        "jobs": "as recorded per facts run",
        "wall_seconds": f"{sum(r.seconds for r in results):.0f} (sum of nvcc seconds)",
    }
    write_summary(results, meta, summary)
    return _report(results, f"from compile facts -> {summary}")


if __name__ == "__main__":
    from smem_tactics.cli import run_reporting_errors

    sys.exit(run_reporting_errors(main))
