#!/usr/bin/env python3
"""Generate tactic tables: GPUs x models x dtypes, each ranked per token bucket (JSON + Markdown + PNG).

    python3 scripts/generate_tactic_table.py                    # the shipped SM12x tables -> smem_tactics/data/tables
    python3 scripts/generate_tactic_table.py --oracle           # ... and verify every candidate with the oracle
    python3 scripts/generate_tactic_table.py --gpus h100,h200,b200 --out out/tables
    python3 scripts/generate_tactic_table.py --gpus gb10 --models qwen3-30b-a3b --dtypes nvfp4 --out /tmp/t
    python3 scripts/generate_tactic_table.py --reseal           # re-seal the tables in --out, nothing regenerated
    python3 scripts/generate_tactic_table.py --reseal a.json b.json

Every table is written with an integrity seal (metadata.integrity: the sha256 of its content), which
``load_table`` checks: a table whose numbers were edited by hand is refused. --reseal writes the seal of tables
as they are (for tables you trust, e.g. written before seals existed); their content is left byte for byte.

With --oracle, every distinct candidate (and, for SM12x, its C = D TensorRT-LLM twin) is compiled in the
host-only probe against the CUTLASS release the tables target; each table records how many footprints the
compiler reproduced, and the run fails if any differs. Results are cached in out/oracle_cache_<version>.json.
Also writes <out>/README.md (an index) and, for SM12x, docs/trtllm_sm120_additions.txt (the TensorRT-LLM
patch-ready file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DTYPES = {"sm120": ("nvfp4", "mxfp8xmxfp4"), "sm121": ("nvfp4", "mxfp8xmxfp4"), "sm90": ("fp8", "bf16"),
                  "sm100": ("nvfp4", "fp8", "bf16")}


def main(argv=None) -> int:
    from smem_tactics.devices import gpu_facts
    from smem_tactics.problems import model_names
    from smem_tactics.progress import ProgressBar
    from smem_tactics.tables import SHIPPED_GPUS, build_table, save_table, shipped_dir, verify_with_oracle

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpus", default=",".join(SHIPPED_GPUS), help="comma list (default: the shipped SM12x GPUs)")
    ap.add_argument("--models", default=",".join(model_names()), help="comma list (default: all)")
    ap.add_argument("--dtypes", default="", help="comma list (default: per arch, nvfp4,mxfp8xmxfp4 on SM12x)")
    ap.add_argument("--cutlass", default=None, help="CUTLASS version the kernels target (default 4.5.0)")
    ap.add_argument("--out", default=str(shipped_dir()), help="output folder (default: the package's data/tables)")
    ap.add_argument("--oracle", action="store_true", help="verify every candidate's footprint with the g++ oracle")
    ap.add_argument("--jobs", type=int, default=None, help="oracle compiles at once (default: CPU count)")
    ap.add_argument("--no-png", action="store_true", help="skip the PNGs")
    ap.add_argument("--trtllm", default=str(ROOT / "docs" / "trtllm_sm120_additions.txt"),
                    help="where to write the TensorRT-LLM patch-ready file for SM12x tables ('' for none)")
    ap.add_argument("--reseal", nargs="*", metavar="TABLE", default=None,
                    help="re-seal existing tables (default: every *.json in --out) without regenerating them")
    args = ap.parse_args(argv)
    if args.reseal is not None:
        return _reseal([Path(p) for p in args.reseal] or sorted(Path(args.out).glob("*.json")))

    gpus = [g for g in args.gpus.split(",") if g]
    models = [m for m in args.models.split(",") if m]
    jobs = []
    for gpu in gpus:
        arch = gpu_facts(gpu).arch
        dtypes = [d for d in args.dtypes.split(",") if d] or DEFAULT_DTYPES[arch]
        jobs += [(gpu, m, d) for m in models for d in dtypes]
    bar = ProgressBar(len(jobs), "tables")
    tables = []
    start = time.monotonic()
    for gpu, model, dtype in jobs:
        tables.append(build_table(gpu, model, dtype, cutlass=args.cutlass))
        bar.advance()
    sm12x = [t for t in tables if t["metadata"]["arch"].startswith("sm12")]
    twins = _trtllm_twins(sm12x)
    if args.oracle:
        version = tables[0]["metadata"]["cutlass_version"]
        cache_path = ROOT / "out" / f"oracle_cache_{version}.json"
        cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
        extra = {"metadata": dict(tables[0]["metadata"]), "candidates": {c.name: c.to_dict() for c in twins}}
        distinct = len({n for t in tables + [extra] for n in t["candidates"]} - set(cache))
        print(f"oracle: {distinct} new candidates to compile", file=sys.stderr)
        obar = ProgressBar(max(distinct, 1), "oracle")
        verify_with_oracle(tables + [extra], jobs=args.jobs, progress=obar.advance, cache=cache)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache, indent=1))
        bad = sorted(n for n, r in cache.items() if not r.get("match"))
        for n in bad:
            print(f"oracle MISMATCH {n}: {cache[n]}", file=sys.stderr)
        twin_note = f"{sum(bool(cache[c.name].get('match')) for c in twins)}/{len(twins)} twins' footprints reproduced"
    else:
        bad, twin_note = [], "oracle not run"
    out = Path(args.out)
    written = []
    for t in tables:
        written += save_table(t, out, png=not args.no_png)
    _index(tables, out)
    if sm12x and args.trtllm:
        from smem_tactics.emit.trtllm import trtllm_patch

        Path(args.trtllm).write_text(trtllm_patch(
            twins, provenance=[f"picked from the emitted configs of {len(sm12x)} SM12x tactic tables "
                               f"(smem_tactics/data/tables); oracle: {twin_note}"]))
        written.append(Path(args.trtllm))
    print(f"{len(tables)} tables, {len(written)} files in {time.monotonic() - start:.0f} s -> {out}", file=sys.stderr)
    return 1 if bad else 0


def _reseal(paths) -> int:
    """Write the integrity seal of each table as it is (its shape checked first; nothing else changes)."""
    from smem_tactics.tables import _compact_json, check_shape, read_table_file, seal

    for path in paths:
        p, table = read_table_file(path)
        check_shape(table, p.name)
        p.write_text(_compact_json(seal(table)))
    print(f"{len(paths)} tables sealed", file=sys.stderr)
    return 0


def _trtllm_twins(tables) -> list:
    """C = D twins (TensorRT-LLM's launcher) of every emitted SM12x candidate, both swap-AB directions."""
    from smem_tactics.commands.emit import _swapped
    from smem_tactics.emit.trtllm import trtllm_twin
    from smem_tactics.synthesis import Candidate

    twins: dict = {}
    for t in tables:
        for s in t["sections"]:
            for e in s["ranked"]:
                if not e["emit"]:
                    continue
                c = Candidate.from_dict(t["candidates"][e["candidate"]])
                for base in (c, _swapped(c)):
                    tw = trtllm_twin(base) if base is not None else None
                    if tw is not None:
                        twins[tw.name] = tw
    return [twins[k] for k in sorted(twins)]


def _index(tables, out: Path) -> None:
    lines = ["# Tactic tables", "", "Generated by `scripts/generate_tactic_table.py`; each table has a JSON (loaded by "
             "`smem-tactics table`), a Markdown summary and a PNG.", "",
             "| GPU | model | dtype | CUTLASS | configs ranked | oracle | #1 at decode-8 GEMM1 | #1 at prefill-4096 GEMM1 |",
             "|---|---|---|---|---|---|---|---|"]
    for t in tables:
        m = t["metadata"]
        o = m.get("oracle")
        oracle = f"{o['matched']}/{o['candidates']}" if o else "-"
        tops = {}
        for s in t["sections"]:
            if s["gemm"] == 1 and s["bucket"] in ("decode-8", "prefill-4096"):
                c = t["candidates"][s["ranked"][0]["candidate"]]
                tops[s["bucket"]] = f"`{c['short']}` {s['ranked'][0]['predicted_us']:.0f} us"
        key = f"{m['gpu']['key']}__{m['model']['key']}__{m['dtype']['name']}"
        lines.append(f"| {m['gpu']['key']} | [{m['model']['key']}]({key}.md) | {m['dtype']['name']} | "
                     f"{m['cutlass_version']} | {m['search_space_size']} | {oracle} | {tops.get('decode-8', '-')} | "
                     f"{tops.get('prefill-4096', '-')} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    from smem_tactics.cli import run_reporting_errors

    sys.exit(run_reporting_errors(main))
