"""``smem-tactics verify --triton``: compile fused-MoE configs with the installed Triton on the CPU, for any
target, and compare ``metadata.shared`` with the model, byte for byte. Exits 1 on any mismatch.

Kernels compiled: the project's own (``cpp_bindings/triton_moe.py``), and vLLM's / SGLang's installed
``fused_moe_kernel`` with ``--framework vllm|sglang`` where that package imports here.
"""

from __future__ import annotations

import json
import random

from ..contract import EXIT_NEGATIVE, EXIT_OK, csv_values, read_bytes, json_lines
from ..errors import ConfigError, ProbeError, SmemTacticsError
from ..progress import ProgressBar
from ._common import table

#: The random sample draws from the tuning spaces of vLLM and SGLang, plus BLOCK_SIZE_K 16 and 32, 16-wide N tiles,
#: a single stage (unpipelined: every operand staged once) and 1, 2, 16 or 32 warps (mma.sync where wgmma needs whole
#: warpgroups and tcgen05 4 or 8 warps). Draws the model does not answer with a number (BLOCK_SIZE_K 16 for 8-bit
#: dots, which Triton rejects; the refused corners) are skipped.
SAMPLE_SPACE = {"BLOCK_SIZE_M": (16, 32, 64, 128, 256), "BLOCK_SIZE_N": (16, 32, 64, 128, 256),
                "BLOCK_SIZE_K": (16, 32, 64, 128, 256), "GROUP_SIZE_M": (1, 8, 16, 32, 64),
                "num_warps": (1, 2, 4, 8, 16, 32),
                "num_stages": (1, 2, 3, 4, 5, 6)}
#: Shares of draws with misaligned pointers and with a K other than the oracle's 4096; the K values: multiples of
#: 16 or not, dividing BLOCK_SIZE_K or not (the weight-only kernel's: whole quantization groups, K constexpr).
UNALIGNED_SHARE = 0.25
OTHER_K_SHARE = 0.3
OTHER_K = (1000, 1408, 2880, 4104, 7168)
WEIGHT_ONLY_K_GROUPS = (11, 23, 45, 56)


def add_arguments(p) -> None:
    g = p.add_argument_group("Triton fused-MoE (with --triton)")
    g.add_argument("--triton", action="store_true", help="verify the Triton fused-MoE model against the installed "
                                                          "Triton instead of CUTLASS")
    g.add_argument("--targets", help="comma list of targets to sample (default: the release's verified targets)")
    g.add_argument("--dtypes", help="comma list of variants to sample (default: the release's verified variants)")
    g.add_argument("--framework", default="project", choices=("project", "vllm", "sglang"),
                   help="whose kernel source to compile (default: this project's)")
    g.add_argument("--full-compile", action="store_true",
                   help="run the whole llir stage instead of stopping after shared-memory allocation")


def random_triton_configs(n: int, seed: int, release: str, targets, dtypes, warps=None) -> list:
    """``n`` random configs of the model's domain (draws the model refuses are skipped; seeded); ``warps``: the
    num_warps to draw from (default: ``SAMPLE_SPACE``'s)."""
    from ..triton import TritonConfig, Variant, footprint
    from ..triton.config import GROUP_SIZES

    rnd = random.Random(seed)
    out, tries = [], 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        pick = {k: rnd.choice(v) for k, v in dict(SAMPLE_SPACE, **({"num_warps": warps} if warps else {})).items()}
        dtype = Variant(rnd.choice(dtypes))
        quant = dict(group_size=rnd.choice(GROUP_SIZES), zero_points=rnd.random() < 0.5) if dtype.weight_only else {}
        # the specialization facts: a misaligned pointer, or a K whose strides lose 16-divisibility
        quant["aligned"] = rnd.random() >= UNALIGNED_SHARE
        if rnd.random() < OTHER_K_SHARE:
            quant["k"] = (rnd.choice(WEIGHT_ONLY_K_GROUPS) * quant["group_size"] if dtype.weight_only
                          else rnd.choice(OTHER_K))
        cfg = TritonConfig.create(dtype, rnd.choice(targets), release, block_m=pick["BLOCK_SIZE_M"],
                                  block_n=pick["BLOCK_SIZE_N"], block_k=pick["BLOCK_SIZE_K"],
                                  group_m=pick["GROUP_SIZE_M"], num_warps=pick["num_warps"],
                                  num_stages=pick["num_stages"], **quant)
        try:
            footprint(cfg)
        except SmemTacticsError:
            continue
        out.append(cfg)
    return out


def run_triton(args) -> int:
    from cpp_bindings.triton_oracle import compile_shared, framework_kernels, installed_release, project_kernels

    from ..triton import TritonConfig, footprint
    from ..triton.model import VERIFIED

    if args.cutlass or args.archs is not None or args.compiler != "g++":
        raise ConfigError("--triton / --cutlass / --archs / --compiler", "CUTLASS options with --triton",
                          "--triton with --sample/--configs/--seed/--targets/--dtypes/--framework/--full-compile",
                          "conflicting options")
    release = installed_release()
    if args.framework == "project":
        source = project_kernels()
    else:
        source = framework_kernels(args.framework)
        if source is None:
            raise ProbeError(f"--framework {args.framework}: the package does not import here; install it (its "
                             "kernel source is compiled, never copied)")
    if args.configs:
        if args.targets or args.dtypes:
            raise ConfigError("--targets / --dtypes / --configs", "--targets or --dtypes with --configs",
                              "--targets/--dtypes only with a random sample", "conflicting options")
        lines = list(json_lines("--configs", read_bytes("--configs", args.configs),
                                lambda v: TritonConfig.from_dict(v, {"triton": release})))
        bad = [ln.error for ln in lines if not ln.ok]
        if bad:
            raise bad[0]
        configs = [ln.value for ln in lines]
    else:
        facts = VERIFIED[release]
        targets = csv_values("--targets", args.targets) or list(facts["targets"])
        dtypes = csv_values("--dtypes", args.dtypes) or [v.value for v in facts["variants"]]
        configs = random_triton_configs(24 if args.sample is None else args.sample, args.seed, release, targets,
                                        dtypes)
    bar = ProgressBar(len(configs), f"Triton {release} ({source.name})")
    rows, mismatches, agree, both_reject = [], 0, 0, 0
    for cfg in configs:
        try:
            predicted = footprint(cfg).shared_bytes
        except SmemTacticsError as e:
            predicted, pred_err = None, str(e)
        else:
            pred_err = None
        try:
            measured, meas_err = compile_shared(cfg, source, full=args.full_compile), None
        except ProbeError:
            raise
        except Exception as e:  # noqa: BLE001 -- the compiler's rejection of this config, reported per config
            measured, meas_err = None, f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200]}"
        if predicted is not None and predicted == measured:
            status = "agree"
            agree += 1
        elif predicted is None and measured is None:
            status = "both reject"
            both_reject += 1
        elif predicted is None:
            status = "model refuses"  # outside the model's domain: not a mismatch of a number
        else:
            status = "MISMATCH"
            mismatches += 1
        rows.append((cfg, predicted, measured, status, pred_err or meas_err))
        bar.advance()
    if args.json:
        for cfg, p, m, status, err in rows:
            print(json.dumps({"config": cfg.to_dict(), "model_bytes": p, "triton_bytes": m, "status": status,
                              "detail": err, "kernel": source.name}))
    else:
        print(table([(c.name(), "-" if p is None else p, "-" if m is None else m, s) for c, p, m, s, _ in rows],
                    ("config", "model B", f"Triton {release} B", "result"), "lrrl"))
        for cfg, p, m, status, err in rows:
            if status == "MISMATCH":
                print(f"MISMATCH {cfg.name()}: model {p} B, Triton {m} B")
        print(f"Triton {release}, {source.name} kernel: {agree} agree, {both_reject} rejected by both, "
              f"{mismatches} mismatches, {len(rows)} configs")
    return EXIT_NEGATIVE if mismatches else EXIT_OK
