"""``smem-tactics table``: the ranked configs that fit a GPU for an MoE model and dtype, per token bucket, with their
shared memory, pinned stage count, predicted time and why the top one wins; writes a PNG of every candidate's
shared memory by part against the device limit.

The SM12x tables (gb10, rtx-pro-6000, rtx-5090) ship in the package and load in well under a second; other GPUs
(h100, h200, b200) or non-default options are computed on the spot (a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

from ..contract import MAX_LIMIT_BYTES, MAX_ROWS, int_arg, refuse_conflicts, str_arg
from ..errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("table", help="ranked configs that fit a GPU for an MoE model, dtype and token buckets",
                       description=__doc__)
    p.add_argument("--gpu", required=True, type=str_arg("a GPU name"), help="gb10, rtx-pro-6000, rtx-5090, h100, h200, b200")
    p.add_argument("--model", required=True, type=str_arg("a model name"), help="qwen3-30b-a3b, qwen3-next-80b-a3b, gpt-oss-20b, gpt-oss-120b, "
                                                  "deepseek-v3, mixtral-8x7b, llama-4-scout")
    p.add_argument("--dtype", required=True, type=str_arg("a dtype"), help="nvfp4, mxfp8xmxfp4 (SM12x/SM100); fp8, bf16 (SM90/SM100)")
    p.add_argument("--bucket", action="append", metavar="NAME", type=str_arg("a bucket name or token count"),
                   help="token bucket (repeatable): decode-1, decode-8, decode-64, prefill-512, prefill-4096, "
                        "prefill-16384, or decode-N / prefill-N; default: all")
    p.add_argument("--gemm", choices=("1", "2", "both"), default="both", help="GEMM1 (gate+up), GEMM2 (down)")
    p.add_argument("--routing", default="uniform", type=str_arg("uniform or skewed"), help="uniform | skewed (computed on the spot)")
    p.add_argument("--top", type=int_arg(1, MAX_ROWS, "a number of rows"), help="rows per bucket to print (default: all kept, 8)")
    p.add_argument("--limit", type=int_arg(1, MAX_LIMIT_BYTES, "bytes per block"), metavar="BYTES", help="a limit other than the GPU's (computed on the spot)")
    p.add_argument("--cutlass", metavar="VERSION", type=str_arg("a CUTLASS release, e.g. 4.5.0"),
                   help="the CUTLASS release you build against: a table for another release is refused "
                        "(default: check against the installed CUTLASS trees)")
    p.add_argument("--recompute", action="store_true", help="synthesize and rank now even if a table ships")
    p.add_argument("--png", metavar="PATH", type=str_arg("a file path"), help="where to write the PNG (default out/tables/<gpu>__<model>__<dtype>.png)")
    p.add_argument("--no-png", action="store_true", help="do not write the PNG")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..devices import gpu_facts
    from ..problems import model_shape, parse_bucket, routing_names
    from ..tables import (build_table, check_metadata, load_table, shipped_table_path, table_key, text,
                          write_png)

    refuse_conflicts(args, ("png", "no_png"))
    g = gpu_facts(args.gpu)
    shape = model_shape(args.model)
    from ..config import Arch
    from ..synthesis import dtype_recipe

    recipe = dtype_recipe(args.dtype, Arch.parse(g.arch))
    routing = args.routing.strip().lower()
    if routing not in routing_names():
        raise ConfigError("routing", args.routing, routing_names())
    buckets = [parse_bucket(b)[0] for b in args.bucket] if args.bucket else None
    gemms = (1, 2) if args.gemm == "both" else (int(args.gemm),)
    shipped = shipped_table_path(g.key, shape.key, recipe.name)
    default_options = routing == "uniform" and args.limit is None
    if shipped.is_file() and default_options and not args.recompute:
        table = load_table(shipped, cutlass=args.cutlass)
        known = set(table["metadata"]["buckets"])
        missing = [b for b in (buckets or []) if b not in known]
        if missing:
            table = build_table(g.key, shape.key, recipe.name, buckets=buckets, routing=routing, cutlass=args.cutlass)
            how = "computed now (bucket not in the shipped table)"
        else:
            how = f"shipped table {shipped.name}"
    else:
        table = build_table(g.key, shape.key, recipe.name, buckets=buckets, routing=routing,
                            limit_bytes=args.limit, cutlass=args.cutlass)
        note = check_metadata(table, args.cutlass, "computed table")
        table["_note"] = note
        how = "computed now"
    if args.json:
        print(json.dumps({k: v for k, v in table.items() if not k.startswith("_")}, indent=1))
    else:
        print(text(table, buckets=buckets, gemms=gemms, top=args.top))
        print(f"\nsource: {how}")
        if table.get("_note"):
            print(table["_note"])
    if not args.no_png:
        png = Path(args.png) if args.png else Path("out") / "tables" / f"{table_key(g.key, shape.key, recipe.name)}.png"
        if png.is_dir():
            raise ConfigError("--png", str(png), "a file path (not a folder)", "a folder")
        path, made = write_png(table, png)
        if not args.json:
            print(f"PNG: {path} ({made})")
    return 0
