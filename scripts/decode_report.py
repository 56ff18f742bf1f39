#!/usr/bin/env python3
"""The markdown report of a decode run (scripts/bench_decode.py's decode.json), made again from the JSON.

    python3 scripts/decode_report.py decode.json [--ncu-raw logs/ncu_main_raw.csv[.gz]] [--date YYYY-MM-DD]
                                     [--out decode.md]

``--ncu-raw``: the run's Nsight Compute raw page (in its logs.tar.gz); the ``ncu`` launches are parsed again from it
with today's parser (smem_tactics.bench.ncu.reparse), for a run whose parser missed metrics the page holds.
``--date``: the run's date, for a decode.json written before bench_decode.py recorded it (the meta's own date wins).
Pure Python, no GPU. docs/decode_h200.md is this script's output for the committed H200 run.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smem_tactics.bench import decode as D  # noqa: E402
from smem_tactics.bench import ncu as N  # noqa: E402
from smem_tactics.contract import read_json_file  # noqa: E402
from smem_tactics.errors import SmemTacticsError  # noqa: E402


def report(results: dict, ncu_raw_text: str = "", ncu_raw_name: str = "", date: str = "") -> str:
    """``D.markdown`` of ``results``, with the ncu launches parsed again from ``ncu_raw_text`` where given."""
    res = dict(results)
    if ncu_raw_text:
        res["ncu"] = N.reparse(res.get("ncu") or {}, ncu_raw_text, ncu_raw_name)
    if date and not (res.get("meta") or {}).get("date"):
        res["meta"] = {**(res.get("meta") or {}), "date": date}
    return D.markdown(res)


def read_text(path: str) -> str:
    """A text file, gunzipped when its name ends in .gz."""
    p = Path(path)
    return gzip.decompress(p.read_bytes()).decode() if p.suffix == ".gz" else p.read_text()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="decode.json of scripts/bench_decode.py")
    p.add_argument("--ncu-raw", default="", help="the run's ncu_main_raw.csv (or .csv.gz)")
    p.add_argument("--date", default="", help="the run's date (YYYY-MM-DD) where its meta has none")
    p.add_argument("--out", default="", help="write here (default: stdout)")
    args = p.parse_args(argv)
    if args.date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        print(f"error: --date: given {args.date!r}; allowed: YYYY-MM-DD", file=sys.stderr)
        return 2
    try:
        results = read_json_file("results", args.results)
        if not isinstance(results, dict) or not isinstance(results.get("layers"), list):
            print(f"error: results: {args.results} is not accepted (no 'layers' list); allowed: the decode.json "
                  "scripts/bench_decode.py writes", file=sys.stderr)
            return 2
        raw = ""
        if args.ncu_raw:
            try:
                raw = read_text(args.ncu_raw)
            except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as e:
                print(f"error: --ncu-raw: {args.ncu_raw} cannot be read ({e}); allowed: a --page raw --csv export, "
                      "plain or .gz", file=sys.stderr)
                return 2
        md = report(results, raw, Path(args.ncu_raw).name if args.ncu_raw else "", args.date)
    except (SmemTacticsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(md)
    else:
        sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
