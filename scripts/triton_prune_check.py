"""The pruner against the compiler on vLLM's full tuning space (``benchmark_moe.py``'s 1,920 configs) for one
target and limit, per dtype: every distinct launch is compiled on the CPU by the installed Triton, and the
configs the pruner keeps must be exactly those whose compiled shared memory fits. Prints, per dtype, the kept
count, how many fitting configs the usual estimate would have dropped, and the disagreements (exit 1 if any).

    PYTHONPATH=. python scripts/triton_prune_check.py --target sm120 --limit 101376 [--dtypes bf16,...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smem_tactics.cli import run_reporting_errors  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", default="sm120")
    p.add_argument("--limit", type=int, default=101376)
    p.add_argument("--dtypes", help="comma list (default: every variant)")
    p.add_argument("--sample", type=int, help="compile a seeded sample of the distinct launches only")
    return run_reporting_errors(_run, p.parse_args(argv))


def _run(args) -> int:
    from cpp_bindings.triton_oracle import installed_release, prune_check

    from smem_tactics.triton import VARIANTS
    from smem_tactics.triton.prune import vllm_search_space

    dtypes = args.dtypes.split(",") if args.dtypes else list(VARIANTS)
    bad = 0
    print(f"Triton {installed_release()}, {args.target}, limit {args.limit} B, vLLM space")
    for dtype in dtypes:
        start = time.monotonic()
        r = prune_check(dtype, args.target, args.limit, vllm_search_space(), sample=args.sample)
        bad += len(r.disagree)
        print(f"{dtype:18s} kept {r.kept:5d} of {r.configs}; usual estimate drops {r.classic_would_drop:4d} that fit; "
              f"{r.compiled} launches compiled, {r.compiled_fit} fit; {len(r.disagree)} disagreements "
              f"({time.monotonic() - start:.0f} s)", flush=True)
        for meta, kept, shared in r.disagree[:5]:
            print(f"  DISAGREE {meta}: pruner {'kept' if kept else 'dropped'}, compiled {shared} B")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
