#!/usr/bin/env bash
# triton-configs --measure on one NVIDIA H200 (issue 13 item 4): vLLM config files for qwen3-30b-a3b in bf16,
# fp8_w8a8, fp8_w8a8_block and int4_w4a16, and SGLang's for bf16, each entry the fastest measured of the best-
# predicted fitting configs, with the timings' sidecars, a log and the Markdown tables for docs/triton.md.
#
#   OUT=/some/folder bash scripts/triton_measure_h200.sh        (from the repository root; torch + Triton + CUDA)
#
# Writes $OUT/vllm/*.json (+ .smem_tactics.md notes, .smem_tactics.measured.json sidecars), $OUT/sglang/triton_X_Y_Z/,
# $OUT/triton_measure_h200.log and $OUT/triton_measure_h200_table.md. Time: each run starts no timing after BUDGET
# seconds (token counts not reached keep predicted entries, and the note says so) and is stopped at 70 s (SGLang's:
# 25 s budget, 45 s), so the script ends within about 5.5 minutes whatever happens; about 5 when all goes well.
# TOKENS / TOP / BUDGET override the defaults below. Exit 0 when every run exited 0.
set -u -o pipefail
OUT=${OUT:-$PWD/triton_measure_out}
PY=${PYTHON:-python3}
MODEL=qwen3-30b-a3b
TOKENS=${TOKENS:-1,16,64,256,1024,4096}
TOP=${TOP:-4}
BUDGET=${BUDGET:-40}
mkdir -p "$OUT/vllm" "$OUT/sglang"
LOG="$OUT/triton_measure_h200.log"
: > "$LOG"
start=$SECONDS
status=0
stamp() { echo "[script $((SECONDS - start)) s] $*" | tee -a "$LOG"; }

stamp "tokens $TOKENS, top $TOP, budget $BUDGET s per run"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
  $PY -c "import torch, triton; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'Triton', \
triton.__version__, torch.cuda.get_device_name(0))"; } 2>&1 | tee -a "$LOG"

measure() {  # framework dtype budget timeout
  stamp "start: $1 $2"
  timeout "$4" $PY -m smem_tactics triton-configs --gpu h200 --model "$MODEL" --dtype "$2" --framework "$1" \
    --out "$OUT/$1" --measure --tokens "$TOKENS" --measure-top "$TOP" --measure-budget "$3" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  stamp "done: $1 $2, exit $rc"
  if [ "$rc" -ne 0 ]; then status=1; fi
}

for dtype in bf16 fp8_w8a8 fp8_w8a8_block int4_w4a16; do
  measure vllm "$dtype" "$BUDGET" 70
done
measure sglang bf16 25 45  # the same kernels as vLLM's bf16 run: Triton's cache makes its compiles quick

$PY scripts/triton_measure_table.py "$OUT" > "$OUT/triton_measure_h200_table.md" 2>> "$LOG" || status=1
stamp "table: $OUT/triton_measure_h200_table.md"
cat "$OUT/triton_measure_h200_table.md" | tee -a "$LOG"
stamp "finished, exit $status"
exit $status
