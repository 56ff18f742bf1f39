"""``smem-tactics emit``: C++ for the configs a tactic table picks -- one standalone CUTLASS grouped GEMM translation
unit per config (static_asserts tie its SharedStorage and stage count to the model) -- and, for SM12x, the
TensorRT-LLM-ready additions (generate_kernels.py entries, the cutlass_heuristic.cpp candidate list) as a
patch-ready file. With --all: every shipped SM12x table."""

from __future__ import annotations

from pathlib import Path

from ..contract import require_out_dir, str_arg, write_text
from ..errors import ConfigError
from ..launch import RasterOrder
from ._common import swizzle_arg


def register(sub) -> None:
    p = sub.add_parser("emit", help="CUTLASS translation units and TensorRT-LLM additions for a table's configs",
                       description=__doc__)
    p.add_argument("--gpu", type=str_arg(), help="GPU of the table (gb10, rtx-pro-6000, rtx-5090, h100, h200, b200)")
    p.add_argument("--model", type=str_arg(), help="MoE model of the table")
    p.add_argument("--dtype", type=str_arg(), help="dtype of the table")
    p.add_argument("--all", action="store_true", help="every shipped SM12x table instead of one")
    p.add_argument("--out", default="out/emitted", type=str_arg("a folder path"), help="folder for the .cu files (default out/emitted)")
    p.add_argument("--trtllm", metavar="FILE", type=str_arg("a file path"), help="also write the TensorRT-LLM patch-ready file here (SM12x)")
    p.add_argument("--cutlass", metavar="VERSION", type=str_arg("a CUTLASS release"), help="the CUTLASS release you build against (checked)")
    p.add_argument("--pdl", action="store_true", help="launch every unit with programmatic dependent launch (defines "
                                                     "CUTLASS's grid-dependency-control switch; CUTLASS >= 4.3.0)")
    p.add_argument("--raster", choices=tuple(r.value for r in RasterOrder), default="default",
                   help="the tile scheduler's raster order each unit sets (default: the scheduler's own)")
    p.add_argument("--swizzle", type=swizzle_arg, help="the tile scheduler's max swizzle size: 1, 2, 4 or 8")
    p.set_defaults(func=run)


def _table_candidates(args):
    from ..synthesis import Candidate
    from ..tables import build_table, emitted_candidates, load_table, shipped_table_path

    if args.all:
        given = [f"--{f}" for f in ("gpu", "model", "dtype", "cutlass") if getattr(args, f) is not None]
        if given:
            raise ConfigError(" / ".join(["--all"] + given), "--all with " + ", ".join(given),
                              "--all (every shipped SM12x table) or --gpu/--model/--dtype (one table)",
                              "conflicting options")
        cands, version, count = emitted_candidates()
        return cands, f"{count} shipped SM12x tables (CUTLASS {version})"
    if not (args.gpu and args.model and args.dtype):
        raise ConfigError("gpu/model/dtype", None, "--gpu, --model and --dtype (one table), or --all")
    from ..devices import gpu_facts
    from ..problems import model_shape
    from ..config import Arch
    from ..synthesis import dtype_recipe

    g = gpu_facts(args.gpu)
    recipe = dtype_recipe(args.dtype, Arch.parse(g.arch))
    shape = model_shape(args.model)
    path = shipped_table_path(g.key, shape.key, recipe.name)
    table = load_table(path, args.cutlass) if path.is_file() else build_table(g.key, shape.key, recipe.name,
                                                                              cutlass=args.cutlass)
    found = {}
    for s in table["sections"]:
        for e in s["ranked"]:
            if e["emit"]:
                found[e["candidate"]] = Candidate.from_dict(table["candidates"][e["candidate"]])
    return [found[k] for k in sorted(found)], f"table {g.key} x {shape.key} x {recipe.name}"


def run(args) -> int:
    from ..emit.cutlass_tu import write_units
    from ..emit.trtllm import trtllm_patch, trtllm_twin

    cands, source = _table_candidates(args)
    if args.pdl or args.raster != "default" or args.swizzle is not None:
        import dataclasses

        from ..launch import LaunchOptions

        opts = LaunchOptions.create(bool(args.pdl), args.raster, args.swizzle)
        for c in cands:
            opts.check(c.config)
        cands = [dataclasses.replace(c, launch=opts) for c in cands]
    require_out_dir("--out", args.out)
    paths = write_units(cands, args.out, generator=f"smem-tactics emit, {source}")
    print(f"{len(paths)} translation units ({source}) in {args.out}/")
    for c, p in zip(cands, paths):
        print(f"  {p.name}: {c.total_bytes} B, StageCount<{c.stages}>")
    if args.trtllm:
        sm12x = [c for c in cands if c.config.arch.is_sm12x]
        if not sm12x:
            raise ConfigError("trtllm", args.trtllm, "a table for an SM12x GPU (gb10, rtx-pro-6000, rtx-5090)",
                              "TensorRT-LLM additions are written for SM120/SM121 only")
        twins = []
        for c in sm12x:
            for swap in (False, True):  # TensorRT-LLM builds every tile both ways
                base = c if c.swap_ab == swap else _swapped(c)
                t = trtllm_twin(base) if base is not None else None
                if t is not None and t not in twins:
                    twins.append(t)
        write_text("--trtllm", args.trtllm, trtllm_patch(twins, provenance=[f"picked from: {source}"]))
        print(f"TensorRT-LLM additions ({len(twins)} kernels): {args.trtllm}")
    return 0


def _swapped(c):
    """The same tile and schedule with swap-AB flipped (operands exchanged, D layout flipped)."""
    from ..footprint import footprint
    from ..synthesis import Candidate
    from ..verdict import max_fitting_stages

    cfg = c.config
    flipped = cfg.replace(a=cfg.b.value, b=cfg.a.value, layout_cd="row" if c.swap_ab else "col", stages=2)
    stages = max_fitting_stages(flipped, c.limit_bytes)
    if stages is None:
        return None
    flipped = flipped.with_stages(stages)
    return Candidate(flipped, not c.swap_ab, c.dtype, c.epilogue, c.schedule, c.limit_bytes, c.ctas_per_sm,
                     footprint(flipped))
