"""Measure the tcgen05 block-scale conversion term of the Triton fused-MoE model for releases whose rule is not
derived (``smem_tactics/data/triton_block_scale_tcgen05.json``; see ``RELEASE_FACTS`` in
``smem_tactics/triton/model.py``).

With 128x128 block scales on sm100 (tcgen05, M a multiple of 64) the loop converts the A- and B-scale vectors to
the layout the accumulator leaves tensor memory in. Under Triton 3.9.0 that scratch depends on the tile and warps
in a way no rule read so far explains (0 to 4 * max(BM, BN) bytes), so it is compiled: for every (BM, BN, warps) the
config with BLOCK_SIZE_K 64 and 2 stages, minus its operand buffers and mbarriers. The term does not depend on
BLOCK_SIZE_K or num_stages (checked on the 3.9.0 grid runs, docs/triton.md).

    PYTHONPATH=/path/to/triton-X:. python scripts/triton_block_scale_table.py
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smem_tactics.cli import run_reporting_errors  # noqa: E402
from smem_tactics.progress import ProgressBar  # noqa: E402
from smem_tactics.triton.config import TritonConfig  # noqa: E402
from smem_tactics.triton.model import (BLOCK_SCALE_FILE, TCGEN05_BARRIER_BYTES, epilogue_key,  # noqa: E402
                                       tcgen05_copies)

BLOCK_M = (64, 128, 256)
BLOCK_N = (16, 32, 64, 128, 256)
WARPS = (4, 8)
BLOCK_K, STAGES = 64, 2


def main(argv=None) -> int:
    return run_reporting_errors(_run, None)


def _run(_args) -> int:
    from cpp_bindings.triton_oracle import compile_shared, installed_release

    release = installed_release()
    table = json.loads(BLOCK_SCALE_FILE.read_text()) if BLOCK_SCALE_FILE.exists() else {}
    table["_about"] = __doc__.split("\n\n")[1].replace("\n", " ")
    rel = table[release] = {}
    jobs = list(itertools.product(BLOCK_M, BLOCK_N, WARPS))
    bar = ProgressBar(len(jobs), f"Triton {release} tcgen05 block scales")
    for bm, bn, w in jobs:
        cfg = TritonConfig.create("fp8_w8a8_block", "sm100", release, block_m=bm, block_n=bn, block_k=BLOCK_K,
                                  num_warps=w, num_stages=STAGES)
        loop = STAGES * (bm + bn) * BLOCK_K + TCGEN05_BARRIER_BYTES * tcgen05_copies(cfg)
        rel[epilogue_key(bm, bn, w)] = compile_shared(cfg) - loop
        bar.advance()
    BLOCK_SCALE_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BLOCK_SCALE_FILE} ({release}: {len(jobs)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
