#!/usr/bin/env python3
"""What the decode kernels execute: the per-instruction pages of a decode run's deep Nsight Compute pass, summed.

    python3 scripts/decode_sass_report.py PAGES [--json out.json]

``PAGES``: a folder or a .tar.gz holding ``ncu_deep_source_NN.csv`` (one launch each, in launch order; written by
scripts/bench_decode.py's deep pass) and ``ncu_launches_t1.json`` (the launches, same order). Prints a Markdown table:
per launch, static SASS instructions, executed warp-instructions in total and per opcode family
(smem_tactics.bench.ncu.SASS_FAMILIES), and the stall samples. The executed counts are exact (instruction-level
counters); the samples are a statistical sample and, for a few-microsecond kernel, too few to place its time.
docs/decode_h200_run3_sass.tar.gz is the committed input (NVIDIA H200, 2026-12-03).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smem_tactics.bench import ncu as N  # noqa: E402

PAGE = "ncu_deep_source_{:02d}.csv"
LAUNCHES = "ncu_launches_t1.json"


def read_pages(path: str) -> tuple:
    """(launches, [page text, ...]) from a folder or a .tar.gz."""
    p = Path(path)
    if p.is_dir():
        files = {f.name: f.read_text() for f in p.iterdir() if f.is_file()}
    elif p.is_file() and p.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(p, "r:gz") as tf:
            files = {Path(m.name).name: tf.extractfile(m).read().decode() for m in tf.getmembers() if m.isfile()}
    else:
        raise ValueError(f"{path}: not a folder or a .tar.gz")
    if LAUNCHES not in files:
        raise ValueError(f"{path}: no {LAUNCHES}")
    launches = json.loads(files[LAUNCHES])
    pages = [files.get(PAGE.format(i)) for i in range(len(launches))]
    missing = [PAGE.format(i) for i, t in enumerate(pages) if t is None]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return launches, pages


def summarise(launches: list, pages: list) -> list:
    out = []
    for launch, text in zip(launches, pages):
        page = N.parse_source_csv(text)
        want = "device_kernel" if launch.get("kind") == "cutlass" else "moe_grouped_gemm"
        if want not in page["kernel"]:
            raise ValueError(f"{launch.get('label')}: the page is of {page['kernel'][:60]!r}, not a {want}")
        out.append({"label": launch["label"], "kind": launch.get("kind"), **page})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    try:
        rows = summarise(*read_pages(args.pages))
    except (OSError, ValueError, KeyError, tarfile.TarError) as e:
        print(f"error: pages: {e}", file=sys.stderr)
        return 2
    print(N.sass_table(rows, [r["label"] for r in rows]), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
