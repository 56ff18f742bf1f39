"""``python -m cpp_bindings.grouped_gemm build --configs configs.json [--jobs N] [--build-root DIR] [--module-name M]
[--define CUTLASS_ENABLE_GDC_FOR_SM90]``

Builds the extension for a JSON list of ``KernelConfig.to_dict()`` objects (what the benchmark starts in the
background while it compiles its Triton kernels), printing the kernel names and the build time.
"""

from __future__ import annotations

import argparse
import json
import sys

from smem_tactics.config import KernelConfig
from smem_tactics.errors import SmemTacticsError

from .build import build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cpp_bindings.grouped_gemm")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the extension for a list of configs")
    b.add_argument("--configs", required=True, help="JSON file: a list of KernelConfig objects")
    b.add_argument("--jobs", type=int, default=None, help="parallel compiles (MAX_JOBS)")
    b.add_argument("--build-root", default=None)
    b.add_argument("--cutlass", default=None, help="CUTLASS tree (default: the installed nvidia-cutlass wheel or "
                                                   "SMEM_TACTICS_CUTLASS)")
    b.add_argument("--result", default=None, help="write {names, failed, seconds} as JSON here")
    b.add_argument("--drop-failed", action="store_true", help="leave out kernels that fail to compile (and say why)")
    b.add_argument("--module-name", default=None, help="extension module name (default smem_grouped_gemm); give each "
                                                       "extension loaded into one process its own")
    b.add_argument("--define", action="append", default=[], help="a preprocessor define for every kernel (only "
                                                                  "CUTLASS_ENABLE_GDC_FOR_SM90)")
    b.add_argument("--hidden-symbols", action="store_true", help="build the kernel units with hidden host symbols "
                                                                 "(several extensions with equal kernels per process)")
    args = parser.parse_args(argv)
    try:
        with open(args.configs) as f:
            data = json.load(f)
        if not isinstance(data, list):
            raise SmemTacticsError(f"{args.configs}: expected a JSON list of config objects")
        configs = [KernelConfig.from_dict(d) for d in data]
        extra = {"module_name": args.module_name} if args.module_name else {}
        _, names, seconds, failed, warnings = build(configs, build_root=args.build_root, jobs=args.jobs,
                                                    cutlass=args.cutlass, drop_failed=args.drop_failed,
                                                    defines=args.define, hidden=args.hidden_symbols, **extra)
    except (SmemTacticsError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"built {len(names)} kernels in {seconds:.1f} s: {', '.join(names)}")
    if args.result:
        with open(args.result, "w") as f:
            json.dump({"names": names, "failed": failed, "seconds": seconds, "warnings": warnings}, f, indent=1)
    for name, err in failed.items():
        print(f"FAILED {name}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
