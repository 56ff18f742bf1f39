"""``smem-tactics synthesize``: every legal config of an arch and dtype that fits a limit, each pinned to the largest
``StageCount<S>`` that fits; optionally ranked for an MoE problem (model, GEMM, tokens) on a GPU."""

from __future__ import annotations

import json

from ..contract import MAX_LIMIT_BYTES, MAX_ROWS, csv_values, int_arg, require_together, str_arg
from ..errors import ConfigError
from ..launch import PDL_CHOICES, RasterOrder
from ._common import swizzle_arg, table as fmt

#: Largest tile extent (M, N) or tile-K byte count a narrowing list may name.
MAX_TILE_EXTENT = 1024


def register(sub) -> None:
    p = sub.add_parser("synthesize", help="configs that fit a limit, with the most stages that fit (and a ranking)",
                       description=__doc__)
    p.add_argument("--arch", required=True, type=str_arg("an arch"), help="sm90 | sm100 | sm120 | sm121")
    p.add_argument("--dtype", required=True, type=str_arg("a dtype"), help="nvfp4, mxfp8xmxfp4, fp8, bf16 (per arch)")
    p.add_argument("--limit", type=int_arg(1, MAX_LIMIT_BYTES, "bytes per block"), help="bytes per block (default: the arch's opt-in limit)")
    p.add_argument("--cutlass", type=str_arg("a CUTLASS release"), help="CUTLASS version the kernels target (default 4.5.0)")
    p.add_argument("--schedules", type=str_arg("a comma list"), help="comma list: cooperative,pingpong (SM90/SM12x) or 1sm,2sm (SM100)")
    p.add_argument("--swap-ab", choices=("both", "yes", "no"), default="both")
    p.add_argument("--epilogues", type=str_arg("a comma list"),
                   help="comma list of epilogue variants: void_c, c_eq_d, no_smem (SM90); default: the arch's")
    p.add_argument("--tiles-m", type=str_arg("a comma list"), help="comma list of tile M values")
    p.add_argument("--tiles-n", type=str_arg("a comma list"), help="comma list of tile N values")
    p.add_argument("--tile-k-bytes", type=str_arg("a comma list"), help="comma list of tile K values in bytes")
    p.add_argument("--modes", type=str_arg("a comma list"), help="comma list: grouped (default), ptr_array (one "
                                                                      "problem shape for every group)")
    p.add_argument("--stage-counts", type=str_arg("a comma list"),
                   help="comma list of explicit stage counts to add below each config's maximum (fewer stages for "
                        "short K), e.g. 2,3")
    p.add_argument("--pdl", choices=tuple(PDL_CHOICES), default="no",
                   help="programmatic dependent launch: no (default), yes, or both (each config twice)")
    p.add_argument("--raster", choices=tuple(r.value for r in RasterOrder), default="default",
                   help="the tile scheduler's raster order (default: the scheduler's own)")
    p.add_argument("--swizzle", type=swizzle_arg, help="the tile scheduler's max swizzle size: 1, 2, 4 or 8")
    p.add_argument("--show-rejected", action="store_true", help="also list the dropped points and why")
    g = p.add_argument_group("rank for a problem (optional)")
    g.add_argument("--gpu", type=str_arg("a GPU name"), help="rank on this GPU (gb10, rtx-5090, h100, ...)")
    g.add_argument("--model", type=str_arg("a model name"), help="MoE model (see smem-tactics table --help)")
    g.add_argument("--gemm", type=str_arg("1 or 2"), help="1 (gate+up) or 2 (down)")
    g.add_argument("--tokens", type=str_arg("a token count or bucket"), help="token count or bucket name (default decode-8)")
    g.add_argument("--routing", type=str_arg("uniform or skewed"), help="uniform | skewed")
    p.add_argument("--top", type=int_arg(1, MAX_ROWS, "a number of rows"), default=20, help="rows to print (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per candidate")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import Arch
    from ..devices import arch_limit
    from ..launch import launch_variants
    from ..synthesis import explore
    from ..synthesis.candidates import MAX_STAGE_COUNT

    arch = Arch.parse(args.arch)
    limit = args.limit if args.limit is not None else arch_limit(arch.value).smem_per_block_optin
    require_together(args, "gpu", "model")
    if args.model is None:
        given = [f for f in ("gemm", "tokens", "routing") if getattr(args, f) is not None]
        if given:  # a problem option without a problem to rank would be silently ignored
            flag = "--" + given[0]
            raise ConfigError(flag, getattr(args, given[0]), "only with --gpu and --model (ranking)",
                              "nothing to rank without --model")
    problem = None
    if args.model:
        from ..problems import moe_problem

        problem = moe_problem(args.model, args.gemm or "1", args.tokens or "decode-8", args.routing or "uniform")
    swap = {"both": (False, True), "yes": (True,), "no": (False,)}[args.swap_ab]
    cands, rejected = explore(arch, args.dtype, limit, args.cutlass, problem, swap_ab=swap,
                              schedules=csv_values("--schedules", args.schedules),
                              epilogues=csv_values("--epilogues", args.epilogues),
                              tiles_m=csv_values("--tiles-m", args.tiles_m, int, 1, MAX_TILE_EXTENT),
                              tiles_n=csv_values("--tiles-n", args.tiles_n, int, 1, MAX_TILE_EXTENT),
                              tile_k_bytes=csv_values("--tile-k-bytes", args.tile_k_bytes, int, 1, MAX_TILE_EXTENT),
                              modes=csv_values("--modes", args.modes),
                              stage_counts=csv_values("--stage-counts", args.stage_counts, int, 2,
                                                      MAX_STAGE_COUNT) or (),
                              launch=launch_variants(args.pdl, args.raster, args.swizzle))
    if not cands:
        from ..synthesis import smallest_footprint

        smallest = smallest_footprint(arch, args.dtype, args.cutlass)
        raise ConfigError("limit", limit, f"at least {smallest} B (the smallest legal {args.dtype} config at 2 stages)",
                          f"no {args.dtype} config for {arch.value} fits")
    if problem is not None:
        from ..cost import rank

        ranked = rank(problem, args.gpu, cands)
        if args.json:
            for r in ranked[: args.top]:
                print(json.dumps(dict(r.to_dict(), config=r.candidate.config.to_dict())))
            return 0
        print(f"{len(cands)} configs fit {limit} B ({arch.value} {args.dtype}); ranked for {problem.describe()} on "
              f"{args.gpu}:")
        rows = [(r.rank, r.candidate.short(), r.candidate.total_bytes, r.candidate.stages, f"{r.predicted_us:.1f}")
                for r in ranked[: args.top]]
        print(fmt(rows, ("#", "config", "smem B", "stages", "pred. us"), "rlrrr"))
        print(f"why #1: {ranked[0].reason}")
    else:
        cands = sorted(cands, key=lambda c: (c.tile, c.schedule, c.swap_ab, c.epilogue))
        if args.json:
            for c in cands[: args.top]:
                print(json.dumps(c.to_dict()))
            return 0
        print(f"{len(cands)} configs fit {limit} B ({arch.value} {args.dtype}); {len(rejected)} points dropped")
        rows = [(c.short(), c.total_bytes, c.stages, c.name) for c in cands[: args.top]]
        print(fmt(rows, ("config", "smem B", "stages", "name"), "lrrl"))
    if args.show_rejected:
        print(f"\ndropped ({len(rejected)}):")
        for r in rejected:
            print(f"  {r.name}{' swapAB' if r.swap_ab else ''}: {r.reason}")
    return 0
