"""``smem-tactics triton``: Triton fused-MoE kernels (vLLM's and SGLang's ``fused_moe_kernel`` family).

* ``triton footprint --configs FILE``: one JSON object per line in, one answer per line out, in order
  (``{"shared_bytes", "fits", "limit_bytes", "breakdown", "error"}``); ``--config JSON`` for one. In:
  ``kernel`` ("fused_moe"), ``dtype`` (bf16 f16 fp8_w8a8 fp8_w8a8_channel fp8_w8a8_block int8_w8a8 int8_w8a16
  int4_w4a16), ``target`` (sm80 .. sm121), ``triton`` (3.6.0, 3.9.0), ``BLOCK_SIZE_M/N/K``, ``GROUP_SIZE_M``,
  ``num_warps``, ``num_stages``; optional ``K``, ``aligned`` (default true), ``limit``, and for the weight-only
  dtypes ``group_size`` (32, 64, 128; default 128) and ``zero_points`` (AWQ; default false).
* ``triton prune``: which configs of vLLM's tuning space fit a GPU, and how many the usual estimate would drop.
"""

from __future__ import annotations

import json

from ..contract import (EXIT_NEGATIVE, EXIT_OK, MAX_LIMIT_BYTES, int_arg, json_document, json_lines, read_bytes,
                        refuse_conflicts, require_limit_bytes, str_arg)
from ..devices import resolve_limit
from ..errors import ConfigError, SmemTacticsError


def register(sub) -> None:
    p = sub.add_parser("triton", help="Triton fused-MoE: exact shared memory, pruning of tuning spaces",
                       description=__doc__)
    tsub = p.add_subparsers(dest="triton_command", metavar="SUBCOMMAND")
    f = tsub.add_parser("footprint", help="shared memory of fused-MoE configs (JSON lines in and out)")
    src = f.add_mutually_exclusive_group(required=True)
    src.add_argument("--configs", metavar="FILE", type=str_arg("a file path or -"),
                     help="one JSON object per line ('-' for stdin); each line is answered")
    src.add_argument("--config", metavar="JSON", type=str_arg("a JSON object"), help="one config")
    f.add_argument("--gpu", type=str_arg("a GPU name"), help="judge against a GPU's limit")
    f.add_argument("--limit", type=int_arg(1, MAX_LIMIT_BYTES, "bytes per block"), metavar="BYTES")
    f.add_argument("--json", action="store_true", help="JSON output (the default for --configs)")
    f.set_defaults(func=run_footprint)
    r = tsub.add_parser("prune", help="prune vLLM's 1,920-config tuning space to the configs that fit")
    r.add_argument("--dtype", required=True, type=str_arg("a variant"),
                   help="bf16 f16 fp8_w8a8 fp8_w8a8_channel fp8_w8a8_block int8_w8a8 int8_w8a16 int4_w4a16")
    r.add_argument("--gpu", type=str_arg("a GPU name"), help="GPU (limit and target)")
    r.add_argument("--limit", type=int_arg(1, MAX_LIMIT_BYTES, "bytes per block"), metavar="BYTES")
    r.add_argument("--target", type=str_arg("a target"), help="sm80 .. sm121 (default: the GPU's)")
    r.add_argument("--triton", type=str_arg("a Triton release"), help="default: the installed release")
    r.add_argument("--json", action="store_true", help="the kept configs and the dropped ones with reasons")
    r.set_defaults(func=run_prune)
    p.set_defaults(func=lambda args: _missing_subcommand())


def _missing_subcommand() -> int:
    raise ConfigError("triton", None, "footprint, prune", "no subcommand given")


def _answer(value: dict, default_limit):
    from ..triton import TritonConfig, footprint

    limit = default_limit
    if "limit" in value:
        limit = require_limit_bytes("limit", value["limit"])
    cfg = TritonConfig.from_dict(value)
    fp = footprint(cfg)
    return {"shared_bytes": fp.shared_bytes, "fits": None if limit is None else fp.shared_bytes <= limit,
            "limit_bytes": limit, "breakdown": fp.breakdown, "mma": fp.mma, "buffers": fp.buffers, "error": None}


def _error_answer(e: Exception) -> dict:
    return {"shared_bytes": None, "fits": None, "limit_bytes": None, "breakdown": None, "error": str(e)}


def run_footprint(args) -> int:
    refuse_conflicts(args, ("gpu", "limit"))
    limit = resolve_limit(gpu=args.gpu, limit=args.limit, detect=False).smem_per_block_optin if (args.gpu or args.limit) else None
    negative = False
    if args.config:
        value = json_document("--config", args.config, expect=dict)
        answer = _answer(value, limit)
        negative = answer["fits"] is False
        if args.json:
            print(json.dumps(answer))
        else:
            verdict = "" if answer["fits"] is None else (" fits" if answer["fits"] else " does not fit") + \
                f" {answer['limit_bytes']} B"
            print(f"{answer['shared_bytes']} B ({answer['mma']}, {answer['buffers']} buffers per operand){verdict}")
            for part, nbytes in answer["breakdown"].items():
                print(f"  {part:18s} {nbytes:>9d}")
        return EXIT_NEGATIVE if negative else EXIT_OK
    data = read_bytes("--configs", args.configs)
    for line in json_lines("--configs", data, lambda v: v):
        if not line.ok:
            print(json.dumps(_error_answer(line.error)))
            continue
        try:
            answer = _answer(line.value, limit)
        except SmemTacticsError as e:
            answer = _error_answer(e)
        negative |= answer["fits"] is False or answer["error"] is not None
        print(json.dumps(answer))
    return EXIT_NEGATIVE if negative else EXIT_OK


def run_prune(args) -> int:
    from ..triton.prune import prune, vllm_search_space

    refuse_conflicts(args, ("gpu", "limit"))
    result = prune(vllm_search_space(), dtype=args.dtype, gpu=args.gpu, limit=args.limit, target=args.target,
                   triton=args.triton)
    if args.json:
        print(json.dumps({"summary": result.summary(), "kept": list(result.kept),
                          "dropped": [{"config": d.config, "reason": d.reason, "shared_bytes": d.shared_bytes}
                                      for d in result.dropped]}))
    else:
        print(result.summary())
    return EXIT_OK
