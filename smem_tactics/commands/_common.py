"""Helpers shared by CLI commands: limit flags, config flags, output formatting."""

from __future__ import annotations

import argparse
import json
from typing import Optional

from ..config import CONFIG_KEYS, KernelConfig, configs_from_jsonl
from ..contract import MAX_LIMIT_BYTES, int_arg, json_document, read_bytes, refuse_conflicts, str_arg
from ..devices import DeviceLimit, resolve_limit
from ..errors import ConfigError


def add_limit_flags(p: argparse.ArgumentParser, arch_flag: bool = True) -> None:
    g = p.add_argument_group("device limit (default: the local GPU, else unknown)")
    g.add_argument("--gpu", type=str_arg("a GPU name"),
                   help="judge against a GPU from the table (gb10, rtx-pro-6000, rtx-5090, h100, h200, b200, a100, l40s)")
    g.add_argument("--limit", type=int_arg(1, MAX_LIMIT_BYTES, "bytes per block"), metavar="BYTES",
                   help="judge against this many bytes per block")
    if arch_flag:
        g.add_argument("--limit-arch", type=str_arg("an arch"), metavar="ARCH",
                       help="judge against an arch's limit (sm80 .. sm121)")


def limit_from_args(args, fallback_arch: Optional[str] = None) -> DeviceLimit:
    """The limit the flags name: at most one of --gpu, --limit, --limit-arch (else the local GPU, else the
    config's arch where the caller passes one, else unknown)."""
    refuse_conflicts(args, ("gpu", "limit", "limit_arch"))
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
    g.add_argument("--arch", type=str_arg("an arch"), help="sm90 | sm100 | sm120 | sm121")
    g.add_argument("--a", "-a", dest="a", type=str_arg(), help="A type: bf16 f16 f32 e4m3 e5m2 nvfp4 mxfp4 mxfp6_e2m3 mxfp6_e3m2 "
                                               "mxfp8_e4m3 mxfp8_e5m2")
    g.add_argument("--b", "-b", dest="b", type=str_arg(), help="B type (default: same as A)")
    g.add_argument("--c", "-c", dest="c", type=str_arg(), help="C type or void (default void)")
    g.add_argument("--d", "-d", dest="d", type=str_arg(), help="D type (default bf16)")
    g.add_argument("--layout-cd", type=str_arg(), help="row | col")
    g.add_argument("--tile", type=str_arg(), help="MxNxK in elements, or a TensorRT-LLM name like CtaShape128x256x64B")
    g.add_argument("--cluster", type=str_arg(), help="MxNxK, e.g. 1x1x1")
    g.add_argument("--kernel-schedule", type=str_arg(), help="CUTLASS kernel schedule name or auto")
    g.add_argument("--epilogue-schedule", type=str_arg(), help="CUTLASS epilogue schedule name or auto")
    g.add_argument("--epilogue-tile", type=str_arg(), help="auto or MxN")
    g.add_argument("--fusion", type=str_arg(), help='LinearCombination, LinCombEltAct<SiLu>, or a JSON object for '
                                    'LinCombBlockScaleFactor')
    g.add_argument("--stages", type=str_arg(), help="an integer, auto, auto_epi or auto_zero")
    g.add_argument("--mode", type=str_arg(), help="grouped | ptr_array")
    g.add_argument("--kind", type=str_arg(), help="dense | block_scaled | blockwise (inferred when omitted)")
    g.add_argument("--scale-granularity", type=str_arg(), help="gMxgNxgK for FP8 blockwise")
    g.add_argument("--cutlass", type=str_arg("a CUTLASS release or tree path"),
                   help="CUTLASS release (4.2.0 .. 4.7.0, patch releases included, e.g. 4.3.6), or the path of a "
                        "CUTLASS tree (modelled by the deltas its headers carry)")
    add_assume_flag(g)


def add_assume_flag(p) -> None:
    p.add_argument("--assume-cutlass", metavar="X.Y.Z", type=str_arg("a modelled CUTLASS release"),
                   help="answer for a CUTLASS release newer than the newest modelled one (given by --cutlass) with "
                        "the rules of this modelled release; every answer then says 'assumed'")


def looks_like_path(value: str) -> bool:
    """A --cutlass value naming a folder rather than a release number."""
    import os

    return os.sep in value or value.startswith(("~", ".")) or (not value[:1].isdigit() and not
                                                                value.lower().startswith("v"))


def cutlass_version_text(value: str, assume: Optional[str], field: str = "--cutlass") -> str:
    """What ``--cutlass`` (with ``--assume-cutlass``) makes the config's ``cutlass``: a release, a tree modelled by
    its contents (``4.5.0-sm120_sfb_padded``), or an assumed release (``4.8.0 as 4.7.0``)."""
    from ..errors import VersionError
    from ..versions import NEWEST_MODELLED, OLDEST_MODELLED, CutlassVersion, assume as assume_release

    if looks_like_path(value):
        from cpp_bindings.trees import tree_from_path

        return str(tree_from_path(value).modelled_version(assume=assume))
    try:
        if assume is not None:
            return str(assume_release(value, assume))
        return str(CutlassVersion.parse(value))
    except VersionError as e:
        why = str(e).removeprefix("cutlass: ")
        raise ConfigError(field if assume is None else f"{field} / --assume-cutlass", value,
                          f"a CUTLASS release {OLDEST_MODELLED} .. {NEWEST_MODELLED} (every tag, e.g. 4.3.6) or a "
                          f"CUTLASS tree path", why) from None


#: The attribute names of the config flags (a config given by --config/--configs conflicts with any of them).
CONFIG_FLAG_NAMES = tuple(CONFIG_KEYS)


def config_source(args) -> str:
    """Which way the command was given its config(s): 'config', 'configs' or 'flags' -- exactly one of them."""
    flags = [k for k in CONFIG_FLAG_NAMES if getattr(args, k, None) is not None]
    given = [name for name, on in (("config", args.config is not None), ("configs", args.configs is not None),
                                   ("flags", bool(flags))) if on]
    if len(given) > 1:
        spelled = {"config": "--config", "configs": "--configs",
                   "flags": "config flags (" + ", ".join("--" + f.replace("_", "-") for f in flags) + ")"}
        raise ConfigError(" / ".join(spelled[g] for g in given), " and ".join(spelled[g] for g in given),
                          "one of --config JSON, --configs FILE, or config flags", "conflicting options")
    return given[0] if given else "flags"


def config_from_json_arg(text: str) -> KernelConfig:
    return KernelConfig.from_dict(json_document("--config", text, expect=dict))


def configs_from_file(path: str) -> list:
    """Every line of a --configs file: a KernelConfig or that line's own error, in order."""
    return configs_from_jsonl(read_bytes("--configs", path), field="configs")


def config_from_flags(args) -> KernelConfig:
    if not args.arch or not args.a:
        raise ConfigError("arch/a", None, "--arch and --a (or --config JSON / --configs FILE)", "missing")
    assume = getattr(args, "assume_cutlass", None)
    if assume is not None and args.cutlass is None:
        raise ConfigError("--assume-cutlass", assume, "--assume-cutlass together with --cutlass (the newer release or "
                                                      "the tree it stands in for)", "nothing to assume")
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
        if key == "cutlass":
            value = cutlass_version_text(value, assume)
        data[key] = value
    return KernelConfig.from_dict(data)


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


def swizzle_arg(text: str) -> int:
    """argparse ``type=`` for ``--swizzle``: a max swizzle size the tile schedulers distinguish."""
    import argparse

    from ..launch import SWIZZLES

    if text.strip() not in tuple(str(v) for v in SWIZZLES):
        raise argparse.ArgumentTypeError(f"{text!r} is not accepted; allowed: {', '.join(map(str, SWIZZLES))}")
    return int(text)
