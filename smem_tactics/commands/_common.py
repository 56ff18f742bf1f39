"""Helpers shared by CLI commands: limit flags, config flags, output formatting."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from ..config import CONFIG_KEYS, KernelConfig
from ..devices import DeviceLimit, resolve_limit
from ..errors import ConfigError


def add_limit_flags(p: argparse.ArgumentParser, arch_flag: bool = True) -> None:
    g = p.add_argument_group("device limit (default: the local GPU, else unknown)")
    g.add_argument("--gpu", help="judge against a GPU from the table (gb10, rtx-pro-6000, rtx-5090, h100, h200, "
                                 "b200, a100, l40s)")
    g.add_argument("--limit", type=int, metavar="BYTES", help="judge against this many bytes per block")
    if arch_flag:
        g.add_argument("--limit-arch", metavar="ARCH", help="judge against an arch's limit (sm80 .. sm121)")


def limit_from_args(args, fallback_arch: Optional[str] = None) -> DeviceLimit:
    arch = getattr(args, "limit_arch", None) or fallback_arch
    if args.limit is not None or args.gpu:
        return resolve_limit(gpu=args.gpu, limit=args.limit)
    if getattr(args, "limit_arch", None):
        return resolve_limit(arch=args.limit_arch)
    local = resolve_limit()
    if local.known or not arch:
        return local
    return resolve_limit(arch=arch)


def add_config_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration from flags (or use --config / --configs)")
    g.add_argument("--arch", help="sm90 | sm100 | sm120 | sm121")
    g.add_argument("--a", "-a", dest="a", help="A type: bf16 f16 f32 e4m3 e5m2 nvfp4 mxfp4 mxfp6_e2m3 mxfp6_e3m2 "
                                               "mxfp8_e4m3 mxfp8_e5m2")
    g.add_argument("--b", "-b", dest="b", help="B type (default: same as A)")
    g.add_argument("--c", "-c", dest="c", help="C type or void (default void)")
    g.add_argument("--d", "-d", dest="d", help="D type (default bf16)")
    g.add_argument("--layout-cd", help="row | col")
    g.add_argument("--tile", help="MxNxK in elements, or a TensorRT-LLM name like CtaShape128x256x64B")
    g.add_argument("--cluster", help="MxNxK, e.g. 1x1x1")
    g.add_argument("--kernel-schedule", help="CUTLASS kernel schedule name or auto")
    g.add_argument("--epilogue-schedule", help="CUTLASS epilogue schedule name or auto")
    g.add_argument("--epilogue-tile", help="auto or MxN")
    g.add_argument("--fusion", help='LinearCombination, LinCombEltAct<SiLu>, or a JSON object for '
                                    'LinCombBlockScaleFactor')
    g.add_argument("--stages", help="an integer, auto, auto_epi or auto_zero")
    g.add_argument("--mode", help="grouped | ptr_array")
    g.add_argument("--kind", help="dense | block_scaled | blockwise (inferred when omitted)")
    g.add_argument("--scale-granularity", help="gMxgNxgK for FP8 blockwise")
    g.add_argument("--cutlass", help="CUTLASS version, e.g. 4.2.0 or 4.5.0")


def config_from_flags(args) -> KernelConfig:
    if not args.arch or not args.a:
        raise ConfigError("arch/a", None, "--arch and --a (or --config JSON / --configs FILE)", "missing")
    data = {"arch": args.arch, "a": args.a}
    for key in CONFIG_KEYS:
        if key in ("arch", "a"):
            continue
        value = getattr(args, key, None)
        if value is None:
            continue
        if key == "c" and value.lower() in ("void", "none", "null"):
            value = None
        if key == "fusion" and value.strip().startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ConfigError("fusion", value, "a fusion name or a JSON object", f"malformed JSON: {e.msg}")
        if key == "stages" and value.isdigit():
            value = int(value)
        data[key] = value
    return KernelConfig.from_dict(data)


def open_input(path: str):
    if path == "-":
        return sys.stdin
    try:
        return open(path)
    except OSError as e:
        raise ConfigError("configs", path, "a readable file of JSON lines, or - for stdin", e.strerror or str(e))


def table(rows, headers, align=None) -> str:
    """A plain-text table; ``align`` is a string of 'l'/'r' per column."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    align = align or "l" * len(headers)

    def fmt(cells):
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)
