"""``smem-tactics blocklist``: FlashInfer's offline tactic blocklist (``FLASHINFER_TACTICS_BLOCKLIST``) for one CUTLASS
fused-MoE runner configuration on one GPU, written from the tactic catalog -- no GPU, no probing. Every listed tactic
is explained (kind and bytes) in the file's ``_smem_tactics`` block, which FlashInfer ignores. The tactic numbers
belong to one dtype path and fused-finalize setting: load the file only in a process that runs that configuration.

    smem-tactics blocklist --framework flashinfer --gpu gb10 --dtype nvfp4 --out gb10_nvfp4.json
    FLASHINFER_TACTICS_BLOCKLIST=gb10_nvfp4.json python serve.py
"""

from __future__ import annotations

import json

from ..catalogs import ACTIVATIONS, DTYPE_PATHS, OUTPUTS
from ..contract import EXIT_OK, bad, refuse_conflicts, require_choice, str_arg
from ..integrations import package_version
from ..integrations.blocklist import CUDA_DEVICE_NAMES, flashinfer_blocklist, write_flashinfer_blocklist
from ._common import add_limit_flags


def register(sub) -> None:
    p = sub.add_parser("blocklist", help="write FlashInfer's tactic blocklist for a GPU from the catalog (no GPU needed)",
                       description=__doc__)
    p.add_argument("--framework", required=True, type=str_arg("a framework"),
                   help="flashinfer (the only framework with a tactic blocklist)")
    p.add_argument("--version", type=str_arg("a FlashInfer version"),
                   help="FlashInfer version the file is for (default: the installed flashinfer-python); it must read "
                        "blocklists (0.7.2.post1, 0.7.4)")
    p.add_argument("--dtype", required=True, type=str_arg("a dtype path"),
                   help="the runner's dtype path: " + ", ".join(DTYPE_PATHS))
    p.add_argument("--out", required=True, type=str_arg("a file path"), help="the JSON file to write")
    p.add_argument("--device-name", type=str_arg("a device name"),
                   help="what torch.cuda.get_device_name() reports on the target (known: "
                        + ", ".join(f"{k}: {v}" for k, v in CUDA_DEVICE_NAMES.items()) + ")")
    p.add_argument("--no-finalize", action="store_true", help="the runner was built with use_fused_finalize=False")
    p.add_argument("--output", default="bf16", choices=OUTPUTS, help="GEMM output type (default bf16)")
    p.add_argument("--activation", choices=ACTIVATIONS,
                   help="the MoE activation (16-bit GEMM1 runs a fused gate kernel for swiglu/geglu); default: "
                        "unknown, so a tactic is listed only if it fails with either kernel")
    add_limit_flags(p)
    p.add_argument("--json", action="store_true", help="also print the document")
    p.set_defaults(func=run)


def run(args) -> int:
    require_choice("--framework", args.framework, ("flashinfer",),
                   {"fi": "flashinfer", "flashinfer-python": "flashinfer"})
    refuse_conflicts(args, ("gpu", "limit"), ("gpu", "limit_arch"))
    if args.limit is not None and not args.limit_arch:
        raise bad("--limit", args.limit, "--limit together with --limit-arch (the arch picks the tactic list)")
    version = args.version or package_version("flashinfer-python", "flashinfer")
    doc = flashinfer_blocklist(args.dtype, version=version, gpu=args.gpu, arch=args.limit_arch, limit=args.limit,
                               device_name=args.device_name, finalize=False if args.no_finalize else None,
                               output=args.output, activation=args.activation)
    write_flashinfer_blocklist(args.out, doc)
    info = doc["_smem_tactics"]
    if args.json:
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    print(f"{info['catalog']} on {info['arch']} ({info['limit_bytes']} B per block), dtype {info['dtype']}, "
          f"finalize {'on' if info['finalize'] else 'off'}, gpu {doc['_metadata']['gpu']!r}")
    for key, values in doc["invalid_tactics"].items():
        print(f"{key}: {len(values)} blocked" + (f" ({', '.join(map(str, values))})" if values else ""))
    for value, why in info["invalid"].items():
        print(f"  {value}: GEMM{why['gemm']} #{why['index']} {why['tactic']}: {why['why']}")
    if info["not_judged"]:
        print(f"  {len(info['not_judged'])} tactic(s) not judged (kept): " + ", ".join(info["not_judged"]))
    print(f"wrote {args.out}; use it with FLASHINFER_TACTICS_BLOCKLIST={args.out} (only in a process running this "
          f"dtype path and finalize setting)")
    return EXIT_OK
