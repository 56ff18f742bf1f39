"""Measure the Triton fused-MoE epilogue term of the model (``smem_tactics/data/triton_epilogue.json``).

After the K loop the pipeline buffers are dead, and the accumulator's ``convert_layout`` (MMA layout -> the
store's blocked layout) and the prologue's index conversions reuse offset 0. Their scratch (Triton's swizzled
conversion, ``getNumScratchElemsSwizzledCvt`` in ``lib/Analysis/Allocation.cpp``) depends on the accumulator
layout (target, M, N, warps) and is not derived here: it is compiled. For every (target, BLOCK_SIZE_M,
BLOCK_SIZE_N, num_warps 1-32) and accumulator kind (mma.sync; for M % 64 == 0 wgmma on sm90 at a multiple of 4
warps and tcgen05 on sm100 at 4 or 8)
and alignment (ALIGNMENTS below: aligned; misaligned pointers; aligned pointers with K % 16 != 0; one stage)
this compiles the config with the smallest loop the model's domain allows (num_stages 2 or 1, BLOCK_SIZE_K 32,
one-byte operands: int8, which every target has, and FP8 for tcgen05, which does not take int8) and records its
``metadata.shared`` ``E``. Every config of the domain has a loop at least that large, so its shared memory is
``max(loop buffers, E)`` -- exact whether ``E`` is the epilogue's scratch or the minimal loop itself.

Usage (one Triton release per run; the release is read from the installed Triton):

    PYTHONPATH=/path/to/triton-X python scripts/triton_epilogue_table.py [--targets sm80,sm90,...] [--warps 1,32]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smem_tactics.cli import run_reporting_errors  # noqa: E402
from smem_tactics.progress import ProgressBar  # noqa: E402
from smem_tactics.triton.config import WARPS, TritonConfig  # noqa: E402
from smem_tactics.triton.model import (EPILOGUE_FILE, VERIFIED, epilogue_alignment, epilogue_key,  # noqa: E402
                                       epilogue_kind, mma_kind)

BLOCKS = (16, 32, 64, 128, 256)
#: The specialization facts that key the table: 16-byte aligned pointers and K % 16 == 0; pointers 2 bytes off
#: 16 (the C store's layout changes); aligned pointers with K % 16 != 0 (only the A/B strides lose divisibility,
#: so the operands stage once while the store keeps its aligned layout).
#: One stage (16-divisible pointers and K): every operand staged once but in 16-byte vectors, and tcgen05 keeps one
#: copy and one barrier, so its smallest loop is measured at one stage (``epilogue_alignment``); with a misaligned
#: pointer only tcgen05's differs from ``unaligned``.
ALIGNMENTS = {"aligned": {}, "unaligned": {"aligned": False}, "k_unaligned": {"k": 1000},
              "single_stage": {"num_stages": 1}, "single_stage_unaligned": {"num_stages": 1, "aligned": False}}
#: Kinds measured per target (others: mma.sync only; sm90 picks wgmma itself for M % 64 == 0). ``mma.sync+upcast``:
#: FP8 dots that mma.sync runs in f16 (sm90/sm100 below M = 64; sm121 under 3.6.0), whose staged operands reuse one
#: buffer, so their smallest loop is smaller than int8's (measured with fp8_w8a8).
KINDS = {"sm90": ("mma.sync", "wgmma", "mma.sync+upcast"), "sm100": ("mma.sync", "tcgen05", "mma.sync+upcast"),
         "sm121": ("mma.sync", "mma.sync+upcast")}


def _config(release: str, target: str, kind: str, alignment: str, bm: int, bn: int, w: int) -> TritonConfig:
    # int8: one-byte operands on every target; fp8 for tcgen05 (3.6.0 has no int8 tcgen05) and the FP8 upcast
    dtype = "fp8_w8a8" if kind in ("tcgen05", "mma.sync+upcast") else "int8_w8a8"
    facts = dict({"num_stages": 2}, **ALIGNMENTS[alignment])
    return TritonConfig.create(dtype, target, release, block_m=bm, block_n=bn, block_k=32, group_m=1,
                               num_warps=w, **facts)


def _measured_kind(release: str, target: str, kind: str, alignment: str, bm: int, bn: int, w: int) -> bool:
    """Whether the model takes ``kind`` and ``alignment`` for this (release, target, M): the table holds only
    those (``single_stage_unaligned``: tcgen05 only)."""
    cfg = _config(release, target, kind, alignment, bm, bn, w)
    return epilogue_kind(cfg, mma_kind(cfg)) == kind and epilogue_alignment(cfg) == alignment


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", help="comma list (default: the release's verified targets)")
    p.add_argument("--out", default=str(EPILOGUE_FILE), help="the JSON table to update")
    p.add_argument("--kinds", help="comma list of kinds to (re)measure (default: all of each target's)")
    p.add_argument("--alignments", help="comma list of " + ", ".join(ALIGNMENTS) + " (default: all)")
    p.add_argument("--warps", help="comma list of num_warps to (re)measure (default: all, "
                   + ", ".join(map(str, WARPS)) + ")")
    args = p.parse_args(argv)
    return run_reporting_errors(_run, args)


def _run(args) -> int:
    from cpp_bindings.triton_oracle import compile_shared, installed_release

    release = installed_release()
    targets = args.targets.split(",") if args.targets else list(VERIFIED[release]["targets"])
    path = Path(args.out)
    table = json.loads(path.read_text()) if path.exists() else {}
    table.setdefault("_about", __doc__.split("\n\n")[1].replace("\n", " "))
    rel = table.setdefault(release, {})
    kinds = args.kinds.split(",") if args.kinds else None
    alignments = args.alignments.split(",") if args.alignments else None
    warps = [int(w) for w in args.warps.split(",")] if args.warps else list(WARPS)
    for target in targets:  # re-measured whole (or what was asked): target -> kind -> alignment -> M x N _w warps
        for kind in KINDS.get(target, ("mma.sync",)):
            if kinds is None or kind in kinds:
                for alignment in ALIGNMENTS:
                    if alignments is None or alignment in alignments:
                        entries = rel.get(target, {}).get(kind, {}).get(alignment, {})
                        for key in [k for k in entries if int(k.rsplit("_w", 1)[1]) in warps]:
                            del entries[key]
    jobs = [(target, kind, alignment, bm, bn, w) for target in targets for kind in KINDS.get(target, ("mma.sync",))
            if kinds is None or kind in kinds
            for alignment in ALIGNMENTS if alignments is None or alignment in alignments
            for bm, bn, w in itertools.product(BLOCKS, BLOCKS, warps)
            if _measured_kind(release, target, kind, alignment, bm, bn, w)]
    bar = ProgressBar(len(jobs), f"Triton {release} epilogue")
    start = time.monotonic()
    for target, kind, alignment, bm, bn, w in jobs:
        cfg = _config(release, target, kind, alignment, bm, bn, w)
        assert epilogue_alignment(cfg) == alignment
        rel.setdefault(target, {}).setdefault(kind, {}).setdefault(alignment, {})[epilogue_key(bm, bn, w)] = \
            compile_shared(cfg)
        bar.advance()
    table["_measured"] = table.get("_measured", {})
    run = (release + (f" {args.kinds}" if kinds else "") + (f" {args.alignments}" if alignments else "")
           + (f" warps {args.warps}" if args.warps else ""))
    table["_measured"][run] = f"{len(jobs)} compiles, {time.monotonic() - start:.0f} s, CPU, this script"
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path} ({release}: {len(jobs)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
