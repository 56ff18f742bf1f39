"""``smem-tactics triton-configs``: write vLLM's or SGLang's tuned fused-MoE config file for a GPU x model x
dtype, every entry guaranteed to fit the GPU's shared memory (exact model), ranked by a predicted time (the Triton
time model with parameters fitted on H200 runs, assumed to transfer to other GPUs; a prediction, not a measurement:
the note written beside the file says so)."""

from __future__ import annotations

from pathlib import Path

from ..contract import EXIT_OK, int_arg, require_out_dir, str_arg


def register(sub) -> None:
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
    p.set_defaults(func=run)


def run(args) -> int:
    from ..contract import require_choice
    from ..triton.config import VARIANTS, Variant
    from ..triton.files import write_files
    from ..triton.prune import installed_release

    variant = Variant(require_choice("--dtype", args.dtype, VARIANTS))
    release = args.triton or installed_release()
    out = require_out_dir("--out", args.out)
    for path in write_files(Path(out), args.framework, args.gpu, args.model, variant, release, args.tp):
        print(path)
    return EXIT_OK
