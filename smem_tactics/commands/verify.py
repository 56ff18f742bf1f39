"""``smem-tactics verify``: compile a host-only probe of configs against real CUTLASS headers and compare the
measured ``sizeof(GemmKernel::SharedStorage)`` and stage counts with the model. Each tree first compiles a
known-good canary (SM90 BF16 128x128x64, 215040 B): a tree that cannot is reported as broken, with the compiler's
first error line. Exit codes: 0 every config agrees, 1 a mismatch, 2 bad input or a broken tree/toolchain."""

from __future__ import annotations

import json

from ..contract import EXIT_NEGATIVE, EXIT_OK, MAX_JOBS, csv_values, int_arg, str_arg
from ..errors import ConfigError
from ..progress import ProgressBar
from ..sampling import random_configs
from ._common import configs_from_file, table

#: The archs the random sample draws from.
SAMPLE_ARCHS = ("sm90", "sm100", "sm120")
#: Most random configs one run compiles (each is a probe compile of seconds).
MAX_SAMPLE = 100_000


def register(sub) -> None:
    p = sub.add_parser("verify", help="prove the model against CUTLASS (predicted vs measured)", description=__doc__)
    p.add_argument("--cutlass", action="append", metavar="PATH", type=str_arg("a CUTLASS tree path"),
                   help="CUTLASS root or include/ folder (repeatable); default: every installed tree "
                        "(nvidia-cutlass wheel, FlashInfer's bundled tree, SMEM_TACTICS_CUTLASS)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--sample", type=int_arg(1, MAX_SAMPLE, "a number of configs"), metavar="N",
                     help="N random configs (default 24)")
    src.add_argument("--configs", metavar="FILE", type=str_arg("a file path or -"),
                     help="one JSON config per line ('-' for stdin); every line must parse")
    p.add_argument("--seed", type=int_arg(0, 2**63 - 1), default=0, help="seed of the random sample (default 0)")
    p.add_argument("--archs", help="archs to sample (default sm90,sm100,sm120)")
    p.add_argument("--assume-cutlass", metavar="X.Y.Z", type=str_arg("a modelled CUTLASS release"),
                   help="model a tree newer than the newest modelled release (4.7.0) with this release's rules (plus "
                        "the deltas its headers carry); its answers then say 'assumed'")
    p.add_argument("--compiler", default="g++", choices=("g++", "nvcc"), help="probe compiler (default g++)")
    p.add_argument("--jobs", type=int_arg(1, MAX_JOBS, "a number of processes"),
                   help="parallel compiles (default: CPU count)")
    p.add_argument("--json", action="store_true", help="one JSON object per config")
    from .verify_triton import add_arguments as add_triton_arguments
    add_triton_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from cpp_bindings.oracle import AGREE, BOTH_REJECT, DEVICE_REJECT, MISMATCH, verify
    from cpp_bindings.trees import installed_trees, resolve_tree

    if args.triton:  # the Triton fused-MoE oracle (smem_tactics/commands/verify_triton.py)
        from .verify_triton import run_triton
        return run_triton(args)
    if args.configs:
        if args.archs is not None:
            raise ConfigError("--archs / --configs", "--archs with --configs", "--archs only with a random sample",
                              "conflicting options")
        items = configs_from_file(args.configs)
        bad = [e for e in items if isinstance(e, Exception)]
        if bad:  # the oracle compiles one probe of all configs: every line must be a config
            raise bad[0]
        configs = items
        sample = None
    else:
        n = 24 if args.sample is None else args.sample
        archs = tuple(csv_values("--archs", args.archs if args.archs is not None else ",".join(SAMPLE_ARCHS)))
        unknown = [a for a in archs if a not in SAMPLE_ARCHS]
        if unknown:
            raise ConfigError("--archs", unknown[0], SAMPLE_ARCHS)
        sample = (n, archs)
    trees = [_tree(value, resolve_tree) for value in args.cutlass] if args.cutlass else installed_trees()
    if not trees:
        resolve_tree()  # raises the "no CUTLASS tree" error with install hints
    models = _modelled(trees, args.assume_cutlass)
    failed = 0
    for tree, (version, contents) in zip(trees, models):
        if sample is not None:  # draw configs the model accepts under the version this tree is modelled as
            configs = random_configs(sample[0], seed=args.seed, archs=sample[1], cutlass=str(version))
        bar = ProgressBar(len(configs), f"CUTLASS {tree.version}")
        comparisons = verify(configs, tree, compiler=args.compiler, jobs=args.jobs, progress=bar.advance,
                             version=version)
        counts = {AGREE: 0, BOTH_REJECT: 0, DEVICE_REJECT: 0, MISMATCH: 0}
        for c in comparisons:
            counts[c.status] += 1
        failed += counts[MISMATCH]
        if args.json:
            for c in comparisons:
                d = c.to_dict()
                d["cutlass_tree"] = {"version": tree.version, "source": tree.source, "modelled_as": str(version),
                                     "assumed": bool(version.assumed), "deltas": sorted(contents.present)}
                print(json.dumps(d))
            continue
        print(f"\nCUTLASS {tree.version} ({tree.source}, {tree.include})")
        for line in tree_report(version, contents):
            print(line)
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
    return EXIT_NEGATIVE if failed else EXIT_OK


def _tree(value: str, resolve_tree):
    """A --cutlass value: a tree path, or a release number naming an installed tree (``verify --cutlass 4.5.0``)."""
    from ._common import looks_like_path

    if looks_like_path(value):
        return resolve_tree(value)
    from ..errors import VersionError
    from ..versions import CutlassVersion

    try:
        version = CutlassVersion.parse(value)
    except VersionError as e:
        raise ConfigError("--cutlass", value, "a CUTLASS tree path, or the release of an installed tree",
                          str(e).removeprefix("cutlass: ")) from None
    return resolve_tree(version=str(version))


def _modelled(trees: list, assume) -> list:
    """(version, contents) per tree; --assume-cutlass is refused when no tree needs it (a conflicting option)."""
    from ..errors import VersionError

    out, needed = [], False
    for tree in trees:
        contents = tree.contents()
        try:
            version = tree.modelled_version()
        except VersionError:
            if assume is None:
                raise
            needed = True
            version = tree.modelled_version(assume=assume)
        out.append((version, contents))
    if assume is not None and not needed:
        raise ConfigError("--assume-cutlass", assume, "--assume-cutlass only for a tree newer than the newest modelled "
                          "release", "every tree given is a modelled release: nothing to assume")
    return out


def tree_report(version, contents) -> list:
    """Lines saying how a tree is modelled and which deltas its headers carry (verify and doctor print them)."""
    from ..versions import DELTAS

    lines = [f"  modelled as: {version.describe()}"]
    found = [d.name for d in DELTAS if d.name in contents.present]
    lines.append(f"  deltas found in its headers ({len(found)} of {len(DELTAS)}): " + (", ".join(found) or "none"))
    if version.added or version.removed:
        lines.append(f"  not the tagged release {version.release}: a commit between tags (or patched), modelled by "
                     f"what its headers contain")
    return lines
