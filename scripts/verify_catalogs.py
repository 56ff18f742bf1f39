#!/usr/bin/env python3
"""Run the catalog oracle (cpp_bindings.catalog_oracle) over CUTLASS trees and print a report.

    python scripts/verify_catalogs.py --tree /path/to/cutlass-4.4.1 [--tree ...] [--archs sm120 sm90]
                                      [--output bf16] [--json results.json]

Every cataloged tactic of TensorRT-LLM 1.2 / main and FlashInfer 0.6.4 / 0.6.9 / 0.7.2.post1 / 0.7.4 on the chosen
archs is composed the way the framework's launcher composes it and compiled host-only (g++ and the CUDA
headers; TensorRT-LLM's cutlass_extensions come from the installed flashinfer-python or
SMEM_TACTICS_CUTLASS_EXTENSIONS). Results: docs/catalog_verification.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpp_bindings.catalog_oracle import AGREE, verify  # noqa: E402
from cpp_bindings.trees import tree_from_path  # noqa: E402
from smem_tactics.catalogs import known_versions, resolve_version, tactics  # noqa: E402
from smem_tactics.errors import VersionError  # noqa: E402


def listings(archs, dtypes):
    for fw in ("trtllm", "flashinfer"):
        for version in known_versions(fw):
            fv = resolve_version(fw, version)
            for arch in archs:
                for dtype in dtypes:
                    for gemm in (1, 2):
                        try:
                            yield tactics(fw, fv.key, arch, dtype, gemm)
                        except VersionError:
                            continue


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", action="append", required=True, help="a CUTLASS root or include folder (repeatable)")
    p.add_argument("--archs", nargs="+", default=["sm120", "sm90"])
    p.add_argument("--dtypes", nargs="+", default=["nvfp4", "mxfp8_mxfp4", "fp8", "bf16"])
    p.add_argument("--output", default="bf16", choices=["bf16", "f16"])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", help="write every row here")
    args = p.parse_args()
    all_rows = []
    for path in args.tree:
        tree = tree_from_path(path)
        start = time.time()
        rows, skipped = verify(list(listings(args.archs, args.dtypes)), tree, output=args.output, jobs=args.jobs)
        agree = sum(r.status == AGREE for r in rows)
        n_tactics = sum(len(r.tactics) for r in rows)
        print(f"CUTLASS {tree.version}: {agree}/{len(rows)} distinct kernels agree ({n_tactics} tactic entries); "
              f"{len(skipped)} tactic entries skipped; {time.time() - start:.0f} s")
        for r in rows:
            if r.status != AGREE:
                print(f"  MISMATCH {r.key.name()}: {r.detail}")
        reasons: dict = {}
        for t, why in skipped:
            reasons[why] = reasons.get(why, 0) + 1
        for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            print(f"  skipped {n}: {why}")
        for r in rows:
            all_rows.append({"cutlass": tree.version, "kernel": r.key.name(), "status": r.status, "detail": r.detail,
                             "predicted": r.predicted, "measured": r.measured,
                             "tactics": [f"{t.framework} {t.version} {t.arch} {t.dtype} gemm{t.gemm} #{t.index}"
                                         for t in r.tactics]})
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1))
    return 0 if all(r["status"] == AGREE for r in all_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
