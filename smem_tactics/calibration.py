"""Measured kernel times the cost model is checked and calibrated against.

``data/calibration/h100_anchor.json`` holds 52 CUTLASS 4.2.0 SM90 grouped GEMMs timed on an H100 over six
Qwen3-30B-A3B problems (see its ``_about``). :func:`anchor_rows` turns them into ``(candidate, problem,
measured_us)`` triples with the kernels rebuilt as :class:`~smem_tactics.synthesis.Candidate` objects at their
measured stage counts; :func:`score` compares the model with them.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Optional

from .config import KernelConfig
from .footprint import footprint
from .problems import Problem, routing_histogram


@functools.lru_cache(maxsize=1)
def anchor_table() -> dict:
    return json.loads(resources.files("smem_tactics").joinpath("data/calibration/h100_anchor.json").read_text())


@dataclass(frozen=True)
class AnchorRow:
    kernel: str
    scenario: str
    candidate: object  # Candidate
    problem: Problem
    measured_us: float
    fits_99k: bool


def anchor_config(row: dict) -> KernelConfig:
    """The measured kernel as a config (C = void, D = bf16, FP8 with the FastAccum schedules)."""
    fp8 = row["dtype"] == "fp8"
    pingpong = row["schedule"] == "pingpong"
    ks = "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative") + ("FP8FastAccum" if fp8 else "")
    epi = "PtrArrayNoSmemWarpSpecialized" if row["epilogue"] == "nosmem" else "auto"
    return KernelConfig.create("sm90", "e4m3" if fp8 else "bf16", c=None, d="bf16", tile=row["tile"],
                               layout_cd="col" if row["swap_ab"] else "row", cluster=row["cluster"],
                               kernel_schedule=ks, epilogue_schedule=epi, stages=row["stages"],
                               cutlass=anchor_table()["cutlass"])


def anchor_problem(name: str) -> Problem:
    s = anchor_table()["scenarios"][name]
    if "group_rows" in s:
        rows = [int(m) for m, c in s["group_rows"].items() for _ in range(c)]
        return Problem.explicit(s["n"], s["k"], rows, label=f"anchor {name}")
    hist = routing_histogram(128, 8, s["tokens"], "uniform")
    return Problem(s["n"], s["k"], hist, f"anchor {name}", "qwen3-30b-a3b", s["gemm"], s["tokens"], "uniform")


def anchor_rows(include_nosmem: bool = False) -> list:
    from .synthesis import Candidate

    out = []
    for row in anchor_table()["kernels"]:
        if row["epilogue"] == "nosmem" and not include_nosmem:
            continue
        cfg = anchor_config(row)
        fp = footprint(cfg)
        cand = Candidate(cfg, row["swap_ab"], row["dtype"], "void_c", row["schedule"], fp.total_bytes, 1, fp)
        for scen, us in row["times_us"].items():
            out.append(AnchorRow(row["kernel"], scen, cand, anchor_problem(scen), us, fp.total_bytes <= 101376))
    return out


@dataclass(frozen=True)
class Score:
    """How the model does on the anchor: log errors and whether it picks the measured winners."""

    rows: int
    median_abs_error: float  # median |predicted / measured - 1|
    rms_log_error: float
    winners_matched: int  # scenarios (x {all, <=99 KiB}) where the model's pick is within 3 % of the best measured
    winners_total: int
    details: tuple  # (scenario, subset, model pick, measured best, pick's measured / best)

    def describe(self) -> str:
        return (f"{self.rows} rows: median |error| {self.median_abs_error:.1%}, rms log error {self.rms_log_error:.3f}; "
                f"model's pick within 3 % of the measured best in {self.winners_matched}/{self.winners_total} "
                f"(dtype x scenario, subset) pairs")


def score(params_by_arch: Optional[dict] = None, rows: Optional[list] = None) -> Score:
    """Compare :func:`smem_tactics.cost.predict` with the anchor (``params_by_arch``: overrides dict)."""
    from .cost import cost_parameters, predict

    rows = rows if rows is not None else anchor_rows()
    params = cost_parameters("sm90", params_by_arch)
    preds = [(r, predict(r.problem, "h100", r.candidate, params).predicted_us) for r in rows]
    errs = sorted(abs(p / r.measured_us - 1) for r, p in preds)
    logs = [math.log(p / r.measured_us) ** 2 for r, p in preds]
    details = []
    matched = total = 0
    for dtype, scen in sorted({(r.candidate.dtype, r.scenario) for r in rows}):
        for subset in ("all", "<=99KiB"):
            pool = [(r, p) for r, p in preds if r.scenario == scen and r.candidate.dtype == dtype
                    and (subset == "all" or r.fits_99k)]
            if not pool:
                continue
            best = min(pool, key=lambda rp: rp[0].measured_us)
            pick = min(pool, key=lambda rp: rp[1])
            ratio = pick[0].measured_us / best[0].measured_us
            total += 1
            matched += ratio <= 1.03
            details.append((f"{dtype} {scen}", subset, pick[0].kernel, best[0].kernel, round(ratio, 3)))
    return Score(len(preds), errs[len(errs) // 2], math.sqrt(sum(logs) / len(logs)), matched, total, tuple(details))


__all__ = ["AnchorRow", "Score", "anchor_table", "anchor_config", "anchor_problem", "anchor_rows", "score"]
