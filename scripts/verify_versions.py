#!/usr/bin/env python3
"""Verify the footprint model against several CUTLASS trees and write docs/verification.md.

For each tree: draw N random configurations per arch that the model accepts under that tree's CUTLASS
version (fixed seed), compile them in a host-only probe with g++ and compare total bytes, stage counts,
epilogue tile/stages and sub-storage sizes. Also draws configurations *before* the model's filter, to
check that the model rejects exactly what CUTLASS rejects, and, per delta of smem_tactics/versions.py,
configurations whose answer changes if that delta is toggled (so each release's compile decides whether it
carries each delta: the arrivals per release line).

    python scripts/verify_versions.py --cutlass /path/to/cutlass-4.2.0 --cutlass /path/to/cutlass-4.7.0 \
        --per-arch 40 --out docs/verification.md

Trees default to the installed ones (nvidia-cutlass, flashinfer-python, SMEM_TACTICS_CUTLASS).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cpp_bindings.oracle import AGREE, BOTH_REJECT, DEVICE_REJECT, MISMATCH, verify  # noqa: E402
from cpp_bindings.trees import installed_trees, tree_from_path  # noqa: E402
from smem_tactics.progress import ProgressBar  # noqa: E402
from smem_tactics.sampling import delta_sensitive_configs, random_configs, raw_configs  # noqa: E402
from smem_tactics.versions import CutlassVersion  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cutlass", action="append", help="CUTLASS tree (repeatable); default: installed trees")
    ap.add_argument("--label", action="append", default=[],
                    help="how to name each --cutlass tree in the report, in the same order (default: its path)")
    ap.add_argument("--per-arch", type=int, default=40, help="accepted configs per arch and tree (default 40)")
    ap.add_argument("--raw", type=int, default=30, help="unfiltered draws per tree for the legality check")
    ap.add_argument("--per-delta", type=int, default=2,
                    help="configs per delta whose answer changes if the delta is toggled (default 2)")
    ap.add_argument("--only-deltas", help="comma-separated delta names the delta-sensitive draws look at (default all)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the releases already in --json-out that this run does not re-verify")
    ap.add_argument("--archs", default="sm90,sm100,sm120")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="docs/verification.md")
    ap.add_argument("--json-out", default="docs/verification.json")
    args = ap.parse_args()
    if args.label and len(args.label) != len(args.cutlass or []):
        ap.error(f"--label: give one label per --cutlass tree ({len(args.cutlass or [])} trees, "
                 f"{len(args.label)} labels)")
    labels = args.label or [""] * len(args.cutlass or [])
    trees = ([tree_from_path(p, source=lab) for p, lab in zip(args.cutlass, labels)] if args.cutlass
             else installed_trees())
    archs = tuple(args.archs.split(","))
    report = []
    for tree in trees:
        version = str(tree.modelled_version())  # the release, with the deltas a tree between tags differs in
        configs = []
        for i, arch in enumerate(archs):
            configs += random_configs(args.per_arch, seed=args.seed * 100 + i, archs=(arch,), cutlass=version)
        raw = list(dict.fromkeys(raw_configs(args.raw, seed=args.seed + 7, archs=archs, cutlass=version)))
        sensitive = delta_sensitive_configs(version, args.per_delta, seed=args.seed + 11, archs=archs,
                                            only=args.only_deltas.split(",") if args.only_deltas else None)
        targeted = [(name, c) for name, cs in sensitive.items() for c in cs]
        n_acc, n_raw = len(configs), len(raw)
        bar = ProgressBar(n_acc + n_raw + len(targeted), f"CUTLASS {version}")
        t0 = time.time()
        results = verify(configs + raw + [c for _, c in targeted], tree, progress=bar.advance,
                         version=CutlassVersion.parse(version))
        counts = collections.Counter((r.config.arch.family.value, r.status) for r in results[:n_acc])
        raw_counts = collections.Counter(r.status for r in results[n_acc:n_acc + n_raw])
        per_delta: dict = {}
        for (name, _), r in zip(targeted, results[n_acc + n_raw:]):
            per_delta.setdefault(name, collections.Counter())[r.status] += 1
        mismatches = [r.to_dict() for r in results if r.status == MISMATCH]
        v = CutlassVersion.parse(version)
        report.append({"version": version, "version_h": tree.version, "line": f"{v.major}.{v.minor}", "source": tree.source,
                       "include": str(tree.include), "seconds": round(time.time() - t0),
                       "deltas": [d.name for d in v.deltas()],
                       "accepted": {f"{a}/{s}": n for (a, s), n in counts.items()},
                       "raw": dict(raw_counts), "delta_sensitive": {k: dict(c) for k, c in per_delta.items()},
                       "mismatches": mismatches})
        print(f"CUTLASS {version}: {sum(counts.values())} accepted configs, "
              f"{sum(n for (a, s), n in counts.items() if s == AGREE)} agree; raw draws {dict(raw_counts)}; "
              f"delta-sensitive {sum(sum(c.values()) for c in per_delta.values())}; "
              f"{len(mismatches)} mismatches", flush=True)
        _write(args, archs, report)
    return 1 if any(r["mismatches"] for r in report) else 0


def _write(args, archs, report: list) -> None:
    """Write the JSON and the Markdown table (after every tree, so a long sweep leaves its results behind)."""
    if args.merge and os.path.exists(args.json_out):
        with open(args.json_out) as fh:
            old = [r for r in json.load(fh) if r["version"] not in {x["version"] for x in report}]
        report = old + report
    report = sorted(report, key=lambda r: CutlassVersion.parse(r["version"]))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.json_out, "w") as fh:
        json.dump(report, fh, indent=1)
    lines = [
        "# Model vs CUTLASS: verification runs", "",
        "Generated by `python scripts/verify_versions.py` (host-only probes compiled with g++ against each tree; "
        "see `cpp_bindings/oracle.py`). *Accepted* configs are random draws the model accepts under that "
        "version: CUTLASS must build each and match total bytes, stage count, epilogue tile/stages and "
        "sub-storage sizes. *Raw* draws are taken before the model's filter: the model must reject exactly "
        "what CUTLASS rejects; *device-only* rejects are configs the host-only probe builds but the model refuses "
        "because of a rule CUTLASS enforces only in device code (e.g. a `static_assert` inside a device-side "
        "function), counted as agreement.", "",
        "| CUTLASS | tree | " + " | ".join(f"{a} agree" for a in archs) +
        " | raw: agree / both reject / device-only reject | delta-sensitive agree | mismatches | seconds |",
        "|---|---|" + "---|" * len(archs) + "---|---|---|---|",
    ]
    for r in report:
        per_arch = []
        for a in archs:
            ok = r["accepted"].get(f"{a}/{AGREE}", 0)
            tot = sum(v for k, v in r["accepted"].items() if k.startswith(a + "/"))
            per_arch.append(f"{ok}/{tot}")
        raw = f"{r['raw'].get(AGREE, 0)} / {r['raw'].get(BOTH_REJECT, 0)} / {r['raw'].get(DEVICE_REJECT, 0)}"
        ds = r.get("delta_sensitive")
        ds_txt = "-" if ds is None else (f"{sum(c.get(AGREE, 0) + c.get(BOTH_REJECT, 0) + c.get(DEVICE_REJECT, 0) for c in ds.values())}"
                                         f"/{sum(sum(c.values()) for c in ds.values())}")
        lines.append(f"| {r['version']} | {r['source']} | " + " | ".join(per_arch) +
                     f" | {raw} | {ds_txt} | {len(r['mismatches'])} | {r['seconds']} |")
    lines += ["", "Mismatches, if any, are listed in `docs/verification.json`."]
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    from smem_tactics.cli import run_reporting_errors

    sys.exit(run_reporting_errors(main))
