"""``smem-tactics triton-configs``: write vLLM's or SGLang's tuned fused-MoE config file for a GPU x model x
dtype, every entry guaranteed to fit the GPU's shared memory (exact model), ranked by a predicted time of the
layer's two GEMMs (the Triton time model with parameters fitted on H200 runs, assumed to transfer to other GPUs; a
prediction, not a measurement: the note written beside the file says so).

With ``--measure`` (on the GPU the file is named for, with torch and Triton): the first ``--measure-top``
distinct predicted launches per token count are timed with the installed Triton (both GEMMs of a layer, cold L2,
median of CUDA-event repetitions, random top-k routing from ``--seed``), each compiled kernel's shared memory is
checked against the model, and the fastest measured config becomes the entry; a JSON sidecar beside the file keeps
every timing. Exits 1 when a timed kernel's shared memory differs from the model's or a candidate failed."""

from __future__ import annotations

from pathlib import Path

from ..contract import EXIT_NEGATIVE, EXIT_OK, bad, float_arg, int_arg, require_out_dir, str_arg


def register(sub) -> None:
    from ..triton.measure import DEFAULT_BUDGET_S, DEFAULT_SEED, DEFAULT_TOP, MAX_BUDGET_S, MAX_TOP

    p = sub.add_parser("triton-configs", help="write vLLM/SGLang fused-MoE config files that fit",
                       description=__doc__)
    p.add_argument("--gpu", required=True, type=str_arg("a GPU name"), help="rtx-5090, rtx-pro-6000, gb10, h200, ...")
    p.add_argument("--model", required=True, type=str_arg("a model name"), help="e.g. qwen3-30b-a3b")
    p.add_argument("--dtype", required=True, type=str_arg("a variant"),
                   help="bf16 f16 fp8_w8a8 fp8_w8a8_channel fp8_w8a8_block ...")
    p.add_argument("--framework", required=True, choices=("vllm", "sglang"))
    p.add_argument("--tp", type=int_arg(1, 64, "a tensor-parallel size"), default=1)
    p.add_argument("--triton", type=str_arg("a Triton release"), help="default: the installed release")
    p.add_argument("--out", required=True, type=str_arg("a folder"), help="output folder")
    p.add_argument("--tokens", type=str_arg("a comma list of token counts"),
                   help="token counts of the file's entries, e.g. 1,16,256 (default: vLLM's 18 tuning counts)")
    g = p.add_argument_group("measuring (on the GPU the file is for)")
    g.add_argument("--measure", action="store_true",
                   help="time the best-predicted candidates on this machine's GPU and write the fastest measured")
    g.add_argument("--measure-top", type=int_arg(1, MAX_TOP, "a candidate count"),
                   help=f"candidates timed per token count (default {DEFAULT_TOP})")
    g.add_argument("--seed", type=int_arg(0, 2 ** 31 - 1, "a routing seed"),
                   help=f"seed of the random top-k routing (default {DEFAULT_SEED})")
    g.add_argument("--measure-budget", type=float_arg(1.0, MAX_BUDGET_S, "seconds"),
                   help=f"seconds of measuring after which no timing starts; the token counts left keep their "
                        f"predicted entries (default {DEFAULT_BUDGET_S:g})")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..contract import require_choice
    from ..triton import measure
    from ..triton.config import VARIANTS, Variant
    from ..triton.files import tuning_plan, write_files
    from ..triton.prune import installed_release

    variant = Variant(require_choice("--dtype", args.dtype, VARIANTS))
    tokens = measure.parse_tokens(args.tokens)
    if not args.measure:
        for flag, value in (("--measure-top", args.measure_top), ("--seed", args.seed),
                            ("--measure-budget", args.measure_budget)):
            if value is not None:
                raise bad(flag, value, "only with --measure", "nothing is measured without --measure")
    if not args.measure:
        release = args.triton or installed_release()
        out = require_out_dir("--out", args.out)
        for path in write_files(Path(out), args.framework, args.gpu, args.model, variant, release, args.tp, tokens):
            print(path)
        return EXIT_OK
    device = measure.check_environment(args.gpu, args.triton)
    plan = tuning_plan(args.gpu, args.model, variant, device["release"], args.tp)
    out = require_out_dir("--out", args.out)
    top = measure.DEFAULT_TOP if args.measure_top is None else args.measure_top
    seed = measure.DEFAULT_SEED if args.seed is None else args.seed
    budget = measure.DEFAULT_BUDGET_S if args.measure_budget is None else args.measure_budget
    run_ = measure.measure_run(plan, args.framework, args.model, tokens, measure.CudaLayerTimer(plan, seed), device,
                               top=top, seed=seed, budget_s=budget)
    for path in write_files(Path(out), args.framework, args.gpu, args.model, variant, plan.release, args.tp, tokens,
                            measured=run_):
        print(path)
    problems = run_.oracle_failures + run_.failures
    for tokens_, c in problems:
        print(f"{c.status.upper()} tokens {tokens_} {c.ranked.config.name()}: {c.detail}")
    return EXIT_NEGATIVE if problems else EXIT_OK
