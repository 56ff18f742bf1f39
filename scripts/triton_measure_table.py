"""The Markdown tables of ``triton-configs --measure`` runs for docs/triton.md: per run, how often the predicted #1
measured fastest (or within 5 %), and per token count the predicted #1 against the measured best.

    python scripts/triton_measure_table.py OUT_DIR [MORE_DIRS_OR_SIDECARS ...] > table.md

Reads every ``*.smem_tactics.measured.json`` sidecar under the folders given (or the sidecar files themselves).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smem_tactics.cli import run_reporting_errors  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="folders written by triton-configs --measure, or sidecar files")
    return run_reporting_errors(_run, p.parse_args(argv))


def _run(args) -> int:
    from smem_tactics.contract import bad, read_json_file
    from smem_tactics.triton.files import MEASURED_SUFFIX
    from smem_tactics.triton.measure import markdown_table

    found = []
    for given in args.paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(path.rglob("*" + MEASURED_SUFFIX))
        elif path.is_file():
            found.append(path)
        else:
            raise bad("paths", given, "folders or sidecar files", "no such file or folder")
    if not found:
        raise bad("paths", " ".join(args.paths), f"folders holding *{MEASURED_SUFFIX} files", "no sidecar found")
    sidecars = []
    for path in found:
        data = read_json_file(str(path), path)
        missing = [k for k in ("framework", "dtype", "device", "summary", "tokens") if k not in data]
        if missing:
            raise bad(str(path), missing[0], "a triton-configs --measure sidecar", "missing key")
        sidecars.append(data)
    print(markdown_table(sidecars), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
