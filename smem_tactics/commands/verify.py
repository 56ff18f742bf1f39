"""``smem-tactics verify``: compile a host-only probe of configs against real CUTLASS headers and compare the
measured ``sizeof(GemmKernel::SharedStorage)`` and stage counts with the model. Exits 1 on any mismatch."""

from __future__ import annotations

import json

from ..config import KernelConfig, configs_from_jsonl
from ..errors import SmemTacticsError
from ..progress import ProgressBar
from ..sampling import random_configs
from ._common import open_input, table


def register(sub) -> None:
    p = sub.add_parser("verify", help="prove the model against CUTLASS (predicted vs measured)", description=__doc__)
    p.add_argument("--cutlass", action="append", metavar="PATH",
                   help="CUTLASS root or include/ folder (repeatable); default: every installed tree "
                        "(nvidia-cutlass wheel, FlashInfer's bundled tree, SMEM_TACTICS_CUTLASS)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--sample", type=int, metavar="N", help="N random configs (default 24)")
    src.add_argument("--configs", metavar="FILE", help="one JSON config per line ('-' for stdin)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random sample (default 0)")
    p.add_argument("--archs", default="sm90,sm100,sm120", help="archs to sample (default sm90,sm100,sm120)")
    p.add_argument("--compiler", default="g++", choices=("g++", "nvcc"), help="probe compiler (default g++)")
    p.add_argument("--jobs", type=int, help="parallel compiles (default: CPU count)")
    p.add_argument("--json", action="store_true", help="one JSON object per config")
    p.set_defaults(func=run)


def run(args) -> int:
    from cpp_bindings.oracle import AGREE, BOTH_REJECT, DEVICE_REJECT, MISMATCH, verify
    from cpp_bindings.trees import installed_trees, resolve_tree

    trees = [resolve_tree(path) for path in args.cutlass] if args.cutlass else installed_trees()
    if not trees:
        resolve_tree()  # raises the "no CUTLASS tree" error with install hints
    if args.configs:
        with open_input(args.configs) as fh:
            items = configs_from_jsonl(fh)
        bad = [e for e in items if isinstance(e, SmemTacticsError)]
        if bad:
            raise bad[0]
        configs = items
        sample = None
    else:
        n = 24 if args.sample is None else args.sample
        if n <= 0:
            raise SmemTacticsError(f"sample: {n} is not a positive number of configs")
        archs = tuple(a.strip() for a in args.archs.split(",") if a.strip())
        unknown = [a for a in archs if a not in ("sm90", "sm100", "sm120")]
        if unknown:
            raise SmemTacticsError(f"archs: {unknown[0]!r} is not one of sm90, sm100, sm120")
        sample = (n, archs)
    failed = 0
    for tree in trees:
        if sample is not None:  # draw configs the model accepts under this tree's CUTLASS version
            from ..versions import CutlassVersion

            configs = random_configs(sample[0], seed=args.seed, archs=sample[1],
                                     cutlass=str(CutlassVersion.parse(tree.version)))
        bar = ProgressBar(len(configs), f"CUTLASS {tree.version}")
        comparisons = verify(configs, tree, compiler=args.compiler, jobs=args.jobs, progress=bar.advance)
        counts = {AGREE: 0, BOTH_REJECT: 0, DEVICE_REJECT: 0, MISMATCH: 0}
        for c in comparisons:
            counts[c.status] += 1
        failed += counts[MISMATCH]
        if args.json:
            for c in comparisons:
                d = c.to_dict()
                d["cutlass_tree"] = {"version": tree.version, "source": tree.source}
                print(json.dumps(d))
            continue
        print(f"\nCUTLASS {tree.version} ({tree.source}, {tree.include})")
        rows = []
        for c in comparisons:
            p, m = c.predicted or {}, c.measured or {}
            rows.append((c.config.name(), p.get("total", "-"), p.get("stages", "-"), m.get("total", "-"),
                         m.get("stages", "-"), c.status))
        print(table(rows, ("config", "model B", "stages", "CUTLASS B", "stages", "result"), "lrrrrl"))
        for c in comparisons:
            if c.status == MISMATCH:
                print(f"MISMATCH {c.config.name()}: {c.detail}")
        print(f"{counts[AGREE]} agree, {counts[BOTH_REJECT]} rejected by both, {counts[DEVICE_REJECT]} rejected by "
              f"device-compile rules (host probe builds them), {counts[MISMATCH]} mismatches")
    return 1 if failed else 0


_ = KernelConfig
