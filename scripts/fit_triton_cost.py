"""Fit the Triton fused-MoE time model (smem_tactics/triton/cost.py) on the H200 runs of the Triton contender.

Inputs (committed, read at run time):

* ``docs/benchmarks.json`` -- the H200 prefill/decode run of issue 5: per scenario 32 Triton configs (BLOCK_M 16-128)
  at 1-4096 tokens, ``results[name]['median_us']``;
* ``docs/decode_h200.json`` -- the H200 decode run (2026-12-03): per GEMM 10 Triton configs (BLOCK_M 16) at 1-32
  tokens, ``median_us`` (timed) or ``quick_median_us`` (the quick pass, for configs not re-timed).

Both: NVIDIA H200, Triton 3.6.0, carve-out 43 % (101376 B per block, 102400 B per SM). Each config's shared memory
is the compiled ``shared`` the run recorded. The fit is least squares on log time over all points; validation is
leave-one-model-out and leave-one-file-out. The metrics per GEMM (Spearman of predicted vs measured order, top-1
within 5 %, median absolute relative error) are written next to the parameters, with the same metrics for the
ranking files.py used before (waves x per-tile roofline from data/gpus.json, unfitted).

    python scripts/fit_triton_cost.py            # writes smem_tactics/data/triton_cost.json
    python scripts/fit_triton_cost.py --check    # exit 1 when the committed file differs from a fresh fit
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smem_tactics.devices import gpu_facts  # noqa: E402
from smem_tactics.triton.cost import (PARAMETER_NAMES, Launch, Machine, TritonCostParams,  # noqa: E402
                                      dram_bytes, launch_time_us, tile_count)

FILES = ("docs/benchmarks.json", "docs/decode_h200.json")
OUT = ROOT / "smem_tactics" / "data" / "triton_cost.json"
START = TritonCostParams(launch_us=3.0, iteration_ns=50.0, latency_ns=500.0, dram_efficiency=0.8, mma_efficiency=0.5)
BYTES = {"e4m3": 1, "bf16": 2}
NAME = re.compile(r"tr_(\d+)x(\d+)x(\d+)_g(\d+)_w(\d+)_s(\d+)$")


@dataclass(frozen=True)
class Point:
    file: str
    model: str
    group: str  # one GEMM of one run: the configs ranked against each other
    config: str
    launch: Launch
    machine: Machine
    measured_us: float
    legacy: dict  # inputs of the unfitted ranking


def _machine(doc: dict, dtype: str) -> Machine:
    h200 = gpu_facts("h200")
    meta = doc["meta"]
    per_sm = meta.get("budget_per_sm", meta["budget_per_cta"] + 1024)
    return Machine(sms=meta["device"]["sms"], smem_per_sm=per_sm, mem_bw_gbps=h200.mem_bw_gbps,
                   tflops=h200.tflops["fp8" if dtype == "e4m3" else "bf16"])


def _gemms(doc: dict) -> List[dict]:
    if "scenarios" in doc:
        return doc["scenarios"]
    return [gemm for layer in doc["layers"] for gemm in layer["gemms"].values()]


def load_points(root: Path = ROOT, files: Sequence[str] = FILES) -> List[Point]:
    points = []
    for rel in files:
        doc = json.loads((root / rel).read_text())
        for gemm in _gemms(doc):
            dtype = gemm["dtype"]
            machine = _machine(doc, dtype)
            for name, result in gemm["results"].items():
                if result["kind"] != "triton":
                    continue
                measured = result.get("median_us") or result.get("quick_median_us")
                if not measured:
                    continue
                bm, bn, bk, _, warps, stages = (int(x) for x in NAME.match(name).groups())
                shared = doc["triton"][dtype][name]["shared"]
                tiles = tile_count(gemm["rows"], gemm["active_experts"], bm, gemm["n"], bn)
                launch = Launch(block_m=bm, block_n=bn, block_k=bk, num_warps=warps, num_stages=stages, shared=shared,
                                a_bytes=BYTES[dtype], w_bytes=BYTES[dtype],
                                tiles=tiles, k=gemm["k"],
                                dram_bytes=dram_bytes(gemm["rows"], gemm["active_experts"], gemm["n"], gemm["k"],
                                                      BYTES[dtype], BYTES[dtype]))
                legacy = {"rows": gemm["rows"], "experts": gemm["experts"], "n": gemm["n"],
                          "family": "fp8" if dtype == "e4m3" else "bf16"}
                points.append(Point(rel, gemm["model"], rel + ":" + gemm["key"], name, launch, machine,
                                    float(measured), legacy))
    return points


def unfitted_us(p: Point) -> float:
    """The ranking files.py used before the fit (commit 517409a): waves x max(MMA, bytes) per tile from gpus.json
    (full 233472 B per SM, uniform routing over min(experts, rows) experts, A and B bytes both ``a_bytes``)."""
    h200, launch = gpu_facts("h200"), p.launch
    rows = p.legacy["rows"]
    active = min(p.legacy["experts"], rows)
    tiles = active * math.ceil(math.ceil(rows / active) / launch.block_m) * math.ceil(p.legacy["n"] / launch.block_n)
    resident = max(1, min(h200.smem_per_sm // (launch.shared + 1024), 64 // launch.num_warps))
    waves = math.ceil(tiles / (h200.sms * resident))
    flops_per_sm = h200.tflops[p.legacy["family"]] * 1e12 / h200.sms
    bw_per_sm = h200.mem_bw_gbps * 1e9 / h200.sms * resident
    compute = 2.0 * launch.block_m * launch.block_n * launch.k / flops_per_sm
    memory = (launch.block_m + launch.block_n) * launch.k * launch.a_bytes / bw_per_sm
    return waves * max(compute, memory) * 1e6


def predict(params: TritonCostParams, points: Sequence[Point]) -> np.ndarray:
    return np.array([launch_time_us(params, p.launch, p.machine) for p in points])


def fit(points: Sequence[Point], start: TritonCostParams = START) -> TritonCostParams:
    """Least squares on log time; parameters searched in log space (all positive)."""
    measured = np.log([p.measured_us for p in points])

    def residuals(x):
        params = TritonCostParams(*np.exp(x))
        return np.log(predict(params, points)) - measured

    x0 = np.log([getattr(start, name) for name in PARAMETER_NAMES])
    solution = least_squares(residuals, x0, method="trf", x_scale=1.0, xtol=1e-12, ftol=1e-12, gtol=1e-12)
    return TritonCostParams(*(float(v) for v in np.exp(solution.x)))


def metrics(points: Sequence[Point], predicted: Sequence[float]) -> dict:
    """Per GEMM: Spearman of predicted vs measured, top-1 (the predicted best measured within 5 % of the measured
    best); over points: median absolute relative error. Groups whose predictions all tie have no Spearman."""
    groups: Dict[str, List[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(p.group, []).append(i)
    rhos, top1 = [], 0
    for members in groups.values():
        measured = [points[i].measured_us for i in members]
        guess = [predicted[i] for i in members]
        if len(set(guess)) > 1 and len(set(measured)) > 1:
            rhos.append(float(spearmanr(guess, measured).statistic))
        pick = min(range(len(members)), key=lambda j: guess[j])
        top1 += measured[pick] <= 1.05 * min(measured)
    errors = [abs(predicted[i] / p.measured_us - 1.0) for i, p in enumerate(points)]
    return {"gemms": len(groups), "points": len(points),
            "spearman_median": round(float(np.median(rhos)), 3) if rhos else None,
            "spearman_gemms": len(rhos), "top1_within_5pct": top1,
            "median_abs_rel_error": round(float(np.median(errors)), 3)}


def by_file(points: Sequence[Point], predicted: Sequence[float]) -> dict:
    out = {}
    for rel in FILES:
        idx = [i for i, p in enumerate(points) if p.file == rel]
        out[rel] = metrics([points[i] for i in idx], [predicted[i] for i in idx])
    return out


def held_out(points: Sequence[Point], key: Callable[[Point], str]) -> np.ndarray:
    """Each point predicted by a fit that did not see its fold."""
    predicted = np.empty(len(points))
    for fold in sorted({key(p) for p in points}):
        train = [p for p in points if key(p) != fold]
        params = fit(train)
        idx = [i for i, p in enumerate(points) if key(p) == fold]
        predicted[idx] = predict(params, [points[i] for i in idx])
    return predicted


def _sha16(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def document(root: Path = ROOT) -> dict:
    points = load_points(root)
    params = fit(points)
    rounded = {name: float(f"{value:.4g}") for name, value in params.as_dict().items()}
    final = TritonCostParams.from_mapping(rounded)
    return {
        "_about": "Parameters of the Triton fused-MoE time model (smem_tactics/triton/cost.py), fitted by "
                  "scripts/fit_triton_cost.py (least squares on log time) on the measured runs named in 'sources'. "
                  "Status 'fitted' on the NVIDIA H200; on other GPUs the efficiencies and fixed times are assumed to "
                  "transfer (only data/gpus.json facts change). Efficiencies are fractions of the datasheet "
                  "figures in data/gpus.json (h200: 4800 GB/s, 1979 fp8 / 989 bf16 dense TFLOP/s); one MMA efficiency "
                  "for both dtypes (a separate bf16 one is not identified by these runs).",
        "status": "fitted",
        "card": "NVIDIA H200",
        "triton": "3.6.0",
        "sources": {rel: {"sha256_16": _sha16(root / rel)} for rel in FILES},
        "parameters": rounded,
        "validation": {
            "before_unfitted": by_file(points, [unfitted_us(p) for p in points]),
            "in_sample": by_file(points, predict(final, points)),
            "leave_one_model_out": by_file(points, held_out(points, lambda p: p.model)),
            "leave_one_file_out": by_file(points, held_out(points, lambda p: p.file)),
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args(argv)
    fresh = document()
    text = json.dumps(fresh, indent=2) + "\n"
    if args.check:
        same = OUT.read_text() == text
        print("triton_cost.json " + ("matches a fresh fit" if same else "DIFFERS from a fresh fit"))
        return 0 if same else 1
    OUT.write_text(text)
    print(json.dumps(fresh["parameters"]))
    print(json.dumps(fresh["validation"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
