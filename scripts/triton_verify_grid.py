"""Verify the Triton fused-MoE model on every (dtype, target) cell of a release: ``--per-cell`` random configs of
the model's domain each (``smem-tactics verify --triton``'s sampler, specialization facts included), compiled
on the CPU by the installed Triton and compared byte for byte. One process for all cells (the CLI would import
Triton once per cell). Writes one JSON line per config (``--out``) and prints the counts per cell.

    PYTHONPATH=/path/to/triton-X:. python scripts/triton_verify_grid.py --per-cell 12 --seed 1 --out FILE [--warps 2]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smem_tactics.cli import run_reporting_errors  # noqa: E402
from smem_tactics.progress import ProgressBar  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-cell", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    p.add_argument("--warps", help="comma list of num_warps to draw from (default: the sampler's)")
    p.add_argument("--targets", help="comma list of targets (default: the release's verified targets)")
    return run_reporting_errors(_run, p.parse_args(argv))


def _run(args) -> int:
    from cpp_bindings.triton_oracle import compile_shared, installed_release

    from smem_tactics.commands.verify_triton import random_triton_configs
    from smem_tactics.triton import footprint
    from smem_tactics.triton.model import VERIFIED

    release = installed_release()
    facts = VERIFIED[release]
    targets = args.targets.split(",") if args.targets else facts["targets"]
    warps = tuple(int(w) for w in args.warps.split(",")) if args.warps else None
    cells = [(v.value, t) for v in facts["variants"] for t in targets]
    configs = [c for i, (d, t) in enumerate(cells)
               for c in random_triton_configs(args.per_cell, args.seed * 1000 + i, release, [t], [d], warps)]
    counts: dict = collections.defaultdict(collections.Counter)
    bar = ProgressBar(len(configs), f"Triton {release} grid")
    with open(args.out, "w") as out:
        for cfg in configs:
            predicted = footprint(cfg).shared_bytes
            try:
                measured, detail = compile_shared(cfg), None
            except Exception as e:  # noqa: BLE001 -- the compiler's rejection, recorded as a mismatch
                measured, detail = None, f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200]}"
            status = "agree" if predicted == measured else "MISMATCH"
            counts[(cfg.dtype.value, cfg.target)][status] += 1
            out.write(json.dumps({"config": cfg.to_dict(), "model_bytes": predicted, "triton_bytes": measured,
                                  "status": status, "detail": detail}) + "\n")
            bar.advance()
    total = collections.Counter()
    for (d, t), c in sorted(counts.items()):
        total.update(c)
        print(f"{d:18s} {t:6s} {c['agree']:4d} agree {c['MISMATCH']:3d} mismatches")
    empty = [f"{d}/{t}" for d, t in cells if (d, t) not in counts]
    print(f"Triton {release}: {total['agree']} agree, {total['MISMATCH']} mismatches over {len(counts)} cells"
          + (f"; no config in the domain: {', '.join(empty)}" if empty else ""))
    return 1 if total["MISMATCH"] else 0


if __name__ == "__main__":
    sys.exit(main())
