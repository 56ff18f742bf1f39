"""The Triton time model (smem_tactics/triton/cost.py) and its fit on the H200 runs (scripts/fit_triton_cost.py):
the fit recovers planted parameters, the committed data file is what the script computes from the committed runs
(docs/benchmarks.json, docs/decode_h200.json), and triton-configs ranks with the fitted parameters."""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from smem_tactics.devices import gpu_facts
from smem_tactics.problems import model_shape
from smem_tactics.triton import TritonConfig, Variant, footprint
from smem_tactics.triton import files as triton_files
from smem_tactics.triton.cost import (PARAMETER_NAMES, TritonCostParams, fitted_document, fitted_params,
                                      launch_time_us)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fitter():
    spec = importlib.util.spec_from_file_location("fit_triton_cost", REPO / "scripts" / "fit_triton_cost.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fit_triton_cost"] = module  # its dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def points(fitter):
    return fitter.load_points()


def test_points_are_the_runs_triton_configs(points):
    """48 scenarios x 31 configs (benchmarks.json) and 60 GEMMs x 10 configs (decode_h200.json), all with times."""
    by_file = {}
    for p in points:
        by_file.setdefault(p.file, set()).add(p.group)
    assert {f: len(g) for f, g in by_file.items()} == {"docs/benchmarks.json": 48, "docs/decode_h200.json": 60}
    assert sum(p.file == "docs/decode_h200.json" for p in points) == 600
    assert all(p.measured_us > 0 for p in points)


def test_fit_recovers_planted_parameters(fitter, points):
    planted = TritonCostParams(launch_us=4.0, iteration_ns=300.0, latency_ns=700.0, dram_efficiency=0.7,
                               mma_efficiency=0.45)
    sample = points[::3]
    synthetic = [dataclasses.replace(p, measured_us=launch_time_us(planted, p.launch, p.machine)) for p in sample]
    recovered = fitter.fit(synthetic)
    for name in PARAMETER_NAMES:
        assert getattr(recovered, name) == pytest.approx(getattr(planted, name), rel=0.02), name


def test_committed_file_is_a_fresh_fit_of_the_committed_runs(fitter):
    committed = json.loads((REPO / "smem_tactics" / "data" / "triton_cost.json").read_text())
    assert committed == json.loads(json.dumps(fitter.document()))
    assert committed["status"] == "fitted" and committed["card"] == "NVIDIA H200"


def test_fitted_parameters_are_physical():
    params = fitted_params()
    assert 0.3 < params.dram_efficiency <= 1.0
    assert 0.0 < params.mma_efficiency <= 1.0


def _cfg(bm, bn, bk, stages):
    return TritonConfig.create(Variant.FP8_W8A8, "sm90", "3.6.0", block_m=bm, block_n=bn, block_k=bk, group_m=1,
                               num_warps=4, num_stages=stages)


def test_predicted_time_uses_the_fitted_parameters():
    cfg = _cfg(16, 64, 128, 3)
    shared = footprint(cfg).shared_bytes
    h200, shape = gpu_facts("h200"), model_shape("qwen3-30b-a3b")
    n, k = shape.gemm_nk(1, 1)
    default = triton_files.predicted_time_us(cfg, shared, h200, shape, 8, n, k)
    explicit = triton_files.predicted_time_us(cfg, shared, h200, shape, 8, n, k, params=fitted_params())
    slower = dataclasses.replace(fitted_params(), launch_us=fitted_params().launch_us + 100.0)
    assert default == explicit
    assert triton_files.predicted_time_us(cfg, shared, h200, shape, 8, n, k, params=slower) == pytest.approx(
        default + 100.0)


def test_ranking_follows_the_parameters(monkeypatch):
    """A per-step cost that dominates picks the largest BLOCK_K; one that vanishes, with the DRAM term dominating,
    does not have to: the entries move with the parameters the ranking reads."""
    base = fitted_params()
    steps_dominate = dataclasses.replace(base, iteration_ns=1e6)
    monkeypatch.setattr(triton_files, "fitted_params", lambda: steps_dominate)
    entries, _ = triton_files.best_configs("h200", "qwen3-30b-a3b", Variant.FP8_W8A8, "3.6.0")
    assert entries["1"]["BLOCK_SIZE_K"] == 256
    no_steps = dataclasses.replace(base, iteration_ns=1e-6, latency_ns=1e-6, launch_us=0.0)
    monkeypatch.setattr(triton_files, "fitted_params", lambda: no_steps)
    moved, _ = triton_files.best_configs("h200", "qwen3-30b-a3b", Variant.FP8_W8A8, "3.6.0")
    assert moved != entries


def test_note_names_the_fit_and_the_assumption(tmp_path):
    paths = triton_files.write_files(tmp_path, "vllm", "rtx-5090", "qwen3-30b-a3b", Variant.FP8_W8A8, "3.6.0")
    note = paths[1].read_text()
    assert "fitted on the NVIDIA H200; assumed to transfer" in note
    assert "fitted on this card" in triton_files.ranking_note("h200")
    assert fitted_document()["status"] in note


def test_configs_outside_the_fitted_domain_rank_last():
    """The first --measure run on the H200 (docs/triton_measure_h200/run1_table.md) measured the model's old #1 at
    4096 tokens, 256x256x64 with 4 warps, 13.9x slower than the best (bf16), and int4 16x128x128 with 4 warps 7.2x
    slower than with 8: both are now ranked after every config the model was fitted on."""
    from smem_tactics.triton.config import TritonConfig, Variant
    from smem_tactics.triton.cost import outside_fitted_domain
    from smem_tactics.triton.files import ranked_candidates, tuning_plan

    def cfg(v, bm, bn, bk, w):
        return TritonConfig.create(v, "sm90", "3.6.0", block_m=bm, block_n=bn, block_k=bk, group_m=1, num_warps=w,
                                   num_stages=3)

    assert "512 accumulator registers" in outside_fitted_domain(cfg("bf16", 256, 256, 64, 4))
    assert outside_fitted_domain(cfg("bf16", 128, 256, 64, 8)) == ""  # the largest fitted tile
    assert "dequantized B" in outside_fitted_domain(cfg("int4_w4a16", 16, 128, 128, 4))
    assert outside_fitted_domain(cfg("int4_w4a16", 16, 128, 128, 8)) == ""
    assert outside_fitted_domain(cfg("bf16", 16, 128, 128, 4)) == ""  # not weight-only: B is not dequantized
    for v, tokens in (("bf16", 4096), ("int4_w4a16", 16)):
        ranked = ranked_candidates(tuning_plan("h200", "qwen3-30b-a3b", Variant(v), "3.6.0"), tokens)
        flags = [bool(outside_fitted_domain(r.config)) for r in ranked]
        assert not flags[0] and flags == sorted(flags)  # every inside config before every outside one
