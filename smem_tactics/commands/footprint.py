"""``smem-tactics footprint``: breakdown and verdict of one config (flags, TensorRT-LLM tile name, JSON) or of
a file of JSON lines (answered one JSON object per line, in order)."""

from __future__ import annotations

import json

from ..config import KernelConfig
from ..contract import EXIT_NEGATIVE, EXIT_OK
from ..errors import ConfigError, SmemTacticsError
from ..verdict import verdict
from ._common import (add_config_flags, add_limit_flags, config_from_flags, config_from_json_arg, config_source,
                      configs_from_file, limit_from_args, table)


def register(sub) -> None:
    p = sub.add_parser("footprint", help="shared memory of a kernel config, with a breakdown and a verdict",
                       description=__doc__)
    add_config_flags(p)
    p.add_argument("--config", metavar="JSON", help="one config as a JSON object (keys as in the README)")
    p.add_argument("--configs", metavar="FILE", help="one JSON config per line ('-' for stdin); prints one JSON "
                                                     "answer per line, a bad line its own error object")
    add_limit_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _answer(cfg_or_error, limit) -> dict:
    if isinstance(cfg_or_error, Exception):
        return {"total_bytes": None, "stages": None, "fits": False, "limit_bytes": limit.smem_per_block_optin,
                "breakdown": None, "error": str(cfg_or_error)}
    v = verdict(cfg_or_error, limit)
    out = v.to_dict()
    out["name"] = cfg_or_error.name()
    _add_facts(out, cfg_or_error)
    out["cutlass"] = cfg_or_error.cutlass.describe()
    return out


def _add_facts(answer: dict, cfg: KernelConfig) -> None:
    """SM12x: the kernel's compile facts (registers, spills) where they are recorded, else registers unknown."""
    if cfg.arch.is_sm12x:
        from ..compile_facts import facts_summary

        answer["compile_facts"] = facts_summary(cfg, cfg.cutlass)


def run(args) -> int:
    """Exit 0: answered, the config fits (or the limit is unknown: an unknown limit is not a limit); 1: a negative
    verdict -- CUTLASS rejects the config or it does not fit the limit (with --configs: any line rejected, not
    fitting or bad); 2: bad input."""
    source = config_source(args)
    if args.assume_cutlass is not None and source != "flags":
        raise ConfigError("--assume-cutlass", args.assume_cutlass, "--assume-cutlass with the config flags (--cutlass "
                          "X.Y.Z or a tree path); in JSON write \"cutlass\": \"X.Y.Z as A.B.C\"",
                          "conflicting options")
    if source == "configs":
        items = configs_from_file(args.configs)
        limit = limit_from_args(args)
        bad = 0
        for item in items:
            try:
                ans = _answer(item, limit)
            except SmemTacticsError as e:  # a line the model cannot answer still gets its own error object
                ans = _answer(e, limit)
            bad += ans["error"] is not None or ans["fits"] is False
            print(json.dumps(ans))
        return EXIT_NEGATIVE if bad else EXIT_OK
    cfg = config_from_json_arg(args.config) if source == "config" else config_from_flags(args)
    limit = limit_from_args(args, fallback_arch=cfg.arch.value if source == "flags" else None)
    v = verdict(cfg, limit)
    if args.json:
        ans = v.to_dict()
        ans["name"] = cfg.name()
        _add_facts(ans, cfg)
        ans["cutlass"] = cfg.cutlass.describe()
        print(json.dumps(ans, indent=2))
        return EXIT_OK if v.error is None and v.fits else EXIT_NEGATIVE
    print(describe(cfg))
    if v.footprint is None:
        print(f"\n{v.reason}")
        return EXIT_NEGATIVE
    fp = v.footprint
    how = f"StageCount<{fp.stages}>" if fp.carveout_bytes is None else (
        f"{cfg.stages.value}: StageCountAutoCarveout<{fp.carveout_bytes}> -> {fp.stages}")
    epi = "none (no-smem epilogue)" if fp.epilogue_tile == (0, 0) else (
        f"{fp.epilogue_tile[0]}x{fp.epilogue_tile[1]}, stages C={fp.epilogue_stages_c} D={fp.epilogue_stages_d}")
    print(f"stages: {how}\nepilogue tile: {epi}\n")
    rows = [(name, nbytes, f"{100.0 * nbytes / fp.total_bytes:.1f}") for name, nbytes in fp.parts.items()]
    rows.append(("total = sizeof(GemmKernel::SharedStorage)", fp.total_bytes, "100.0"))
    print(table(rows, ("part", "bytes", "%"), "lrr"))
    print(f"\nlimit: {limit.describe()}\nverdict: {v.reason}")
    if cfg.arch.is_sm12x:
        from ..compile_facts import facts_line

        print(facts_line(cfg, cfg.cutlass))
    return EXIT_OK if v.fits else EXIT_NEGATIVE


def describe(cfg: KernelConfig) -> str:
    ab = cfg.a.value if cfg.a is cfg.b else f"{cfg.a.value} x {cfg.b.value}"
    c = cfg.c.value if cfg.c else "void"
    extra = f", fusion {cfg.fusion.describe()}" if cfg.fusion.op.value != "LinearCombination" else ""
    if cfg.scale_granularity:
        extra += f", scale granularity {'x'.join(map(str, cfg.scale_granularity))}"
    return (f"{cfg.arch.value} {cfg.kind.value} {cfg.mode.value} GEMM: {ab} -> D {cfg.d.value} (C {c}, "
            f"{cfg.layout_cd.value}-major){extra}\n"
            f"tile {'x'.join(map(str, cfg.tile))}, cluster {'x'.join(map(str, cfg.cluster))}, "
            f"{cfg.kernel_schedule.value} / {cfg.epilogue_schedule.value}, CUTLASS {cfg.cutlass.describe()}")

