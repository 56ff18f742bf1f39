"""``triton-configs --measure`` on the CPU: vLLM's routing metadata, the launches built for the GPU (compiled for
sm_90 with the installed Triton: each GEMM's shared memory equals the model's), the candidate selection, the run's
bookkeeping with injected timings, the sidecar / note / Markdown table, the ranking on both GEMMs, and the error
lines of a machine that cannot measure (torch here is the CPU build: no CUDA GPU).

vLLM facts used: vllm-project/vllm ``fused_moe.py`` at 13cb3e44 (``invoke_fused_moe_kernel``,
``fused_experts_impl``) and ``moe_align_block_size``'s docstring example (``moe_align_block_size.py`` at 05be9924).
"""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from smem_tactics.cli import main
from smem_tactics.problems import model_shape
from smem_tactics.triton import files, measure
from smem_tactics.triton.config import Variant
from smem_tactics.triton.model import footprint

MODEL = "qwen3-30b-a3b"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------------- routing metadata

def reference_align(topk_ids, block_m, experts):
    """A plain restatement: sort the routed rows by (expert, row), pad each expert's run with the sentinel."""
    flat = [e for row in topk_ids for e in row]
    numel = len(flat)
    order = sorted(range(numel), key=lambda i: (flat[i], i))
    sorted_ids, expert_ids = [], []
    for e in range(experts):
        rows = [i for i in order if flat[i] == e]
        if rows:
            padded = rows + [numel] * ((-len(rows)) % block_m)
            sorted_ids += padded
            expert_ids += [e] * (len(padded) // block_m)
    return sorted_ids, expert_ids, len(sorted_ids)


def test_align_block_size_docstring_example():
    # moe_align_block_size's own example: 4 tokens, top-3, block 4 (expert ids 1..4)
    topk = [[2, 3, 4], [1, 2, 4], [1, 3, 4], [1, 2, 3]]
    sorted_ids, expert_ids, post = measure.align_block_size(topk, 4, 5)
    assert sorted_ids[:16] == [3, 6, 9, 12, 0, 4, 10, 12, 1, 7, 11, 12, 2, 5, 8, 12]
    assert post == 16
    assert len(sorted_ids) == 12 + 5 * 3 and set(sorted_ids[16:]) == {12}
    assert expert_ids == [1, 2, 3, 4, 0, 0, 0]


@pytest.mark.parametrize("tokens,top_k,experts,block_m", [(1, 8, 128, 16), (3, 2, 8, 4), (37, 8, 128, 64),
                                                          (256, 8, 128, 128), (5, 4, 4, 256)])
def test_align_block_size_matches_a_plain_reference(tokens, top_k, experts, block_m):
    rng = random.Random(tokens * 1000 + block_m)
    topk = [rng.sample(range(experts), top_k) for _ in range(tokens)]
    sorted_ids, expert_ids, post = measure.align_block_size(topk, block_m, experts)
    ref_sorted, ref_experts, ref_post = reference_align(topk, block_m, experts)
    numel = tokens * top_k
    assert post == ref_post and post % block_m == 0 and post >= numel
    assert sorted_ids[:post] == ref_sorted
    assert expert_ids[:post // block_m] == ref_experts
    # sizes as vLLM allocates them; the sentinel fills the rest, unused blocks name expert 0
    assert len(sorted_ids) == numel + experts * (block_m - 1)
    assert len(expert_ids) == -(-len(sorted_ids) // block_m)
    assert set(sorted_ids[post:]) <= {numel} and set(expert_ids[post // block_m:]) <= {0}
    # every routed row once; each block holds one expert's rows only
    assert sorted(i for i in sorted_ids if i < numel) == list(range(numel))
    flat = [e for row in topk for e in row]
    for b in range(post // block_m):
        rows = [i for i in sorted_ids[b * block_m:(b + 1) * block_m] if i < numel]
        assert rows and {flat[i] for i in rows} == {expert_ids[b]}


def test_align_block_size_refuses_bad_input():
    with pytest.raises(measure.ConfigError):
        measure.align_block_size([[0, 9]], 16, 8)
    with pytest.raises(measure.ConfigError):
        measure.align_block_size([[0]], 0, 8)


# ---------------------------------------------------------------------------------------------- launches

def test_layer_launches_are_vllms():
    shape = model_shape(MODEL)
    g1, g2 = measure.layer_launches(shape, 1, 16)
    assert (g1.a_rows, g1.n, g1.k, g1.top_k, g1.mul_routed_weight) == (1, 1536, 2048, 8, False)
    assert (g2.a_rows, g2.n, g2.k, g2.top_k, g2.mul_routed_weight) == (8, 2048, 768, 1, True)
    assert g1.num_valid_tokens == g2.num_valid_tokens == 8
    assert g1.sorted_len == g2.sorted_len == 8 + 128 * 15
    # fewer A rows than BLOCK_SIZE_M: EM capped at rows x top_k x BLOCK_SIZE_M
    assert g1.em(16) == 8 * 16 and g2.em(16) == 8 * 16
    assert g1.grid(16, 128) == (8 * 12,) and g2.grid(16, 64) == (8 * 32,)
    big1, big2 = measure.layer_launches(shape, 4096, 64)
    assert big1.em(64) == big1.sorted_len == 4096 * 8 + 128 * 63
    assert big2.grid(64, 128) == (-(-big2.sorted_len // 64) * 16,)


def _recorded(variant, tokens=16, gemm=2, **cfg_kw):
    from cpp_bindings.triton_oracle import launch_arguments, project_kernels
    from smem_tactics.triton import TritonConfig

    shape = model_shape(MODEL)
    cfg = TritonConfig.create(variant, "sm90", "3.6.0", block_m=64, block_n=128, block_k=128, num_warps=4,
                              num_stages=3, **cfg_kw)
    launch = measure.layer_launches(shape, tokens, cfg.block_m)[gemm - 1]
    made = {}

    def tensor(spec):
        made[spec.role] = spec
        return f"<{spec.role}>"

    fn, args, kwargs = launch_arguments(cfg, project_kernels(), launch, tensor)
    names = [p.name for p in fn.params]
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound, made, launch


def test_launch_arguments_fp8_block_gemm2():
    bound, made, launch = _recorded("fp8_w8a8_block")
    rows, n, k = launch.a_rows, launch.n, launch.k
    assert made["a"].shape == (rows, k) and made["b"].shape == (128, n, k) and made["c"].shape == (rows, n)
    assert made["a_scale"].shape == (rows, k // 128) and made["b_scale"].shape == (128, n // 128, k // 128)
    assert (bound["N"], bound["K"], bound["EM"], bound["num_valid_tokens"]) == (n, k, launch.em(64), rows)
    assert (bound["stride_am"], bound["stride_ak"]) == (k, 1)
    assert (bound["stride_be"], bound["stride_bk"], bound["stride_bn"]) == (n * k, 1, k)
    assert (bound["stride_cm"], bound["stride_cn"]) == (n, 1)
    assert (bound["stride_asm"], bound["stride_ask"]) == (k // 128, 1)
    assert (bound["stride_bse"], bound["stride_bsk"], bound["stride_bsn"]) == ((n // 128) * (k // 128), 1, k // 128)
    assert bound["MUL_ROUTED_WEIGHT"] is True and bound["top_k"] == 1
    assert bound["group_n"] == bound["group_k"] == 128 and bound["use_fp8_w8a8"]
    assert bound["sorted_token_ids_ptr"] == "<sorted_token_ids>" and made["expert_ids"].shape == (
        -(-launch.sorted_len // 64),)


def test_launch_arguments_scale_strides_per_variant():
    # per tensor: A scale [1], B scale [E] -> vLLM passes 0 for every scale stride
    bound, made, _ = _recorded("fp8_w8a8", gemm=1)
    assert made["a_scale"].shape == (1,) and made["b_scale"].shape == (128,)
    assert [bound[s] for s in ("stride_asm", "stride_ask", "stride_bse", "stride_bsk", "stride_bsn")] == [0] * 5
    assert bound["MUL_ROUTED_WEIGHT"] is False and bound["top_k"] == 8
    # per token and channel: A [M, 1], B [E, N, 1]
    bound, made, launch = _recorded("fp8_w8a8_channel", gemm=1)
    assert made["a_scale"].shape == (16, 1) and made["b_scale"].shape == (128, launch.n, 1)
    assert (bound["stride_asm"], bound["stride_ask"]) == (1, 1)
    assert (bound["stride_bse"], bound["stride_bsk"], bound["stride_bsn"]) == (launch.n, 1, 1)
    assert bound["per_channel_quant"] is True
    # bf16: no scales at all (vLLM passes None)
    bound, made, _ = _recorded("bf16", gemm=1)
    assert "a_scale" not in made and bound["a_scale_ptr"] is None and bound["b_scale_ptr"] is None


def test_launch_arguments_weight_only():
    bound, made, launch = _recorded("int4_w4a16", gemm=2, zero_points=True)
    n, k = launch.n, launch.k
    groups = k // 128
    assert made["b"].shape == (128, n, k // 2) and made["b"].dtype == "u8"
    assert made["b_scale"].shape == (128, n, groups) and made["b_zp"].shape == (128, n // 2, groups)
    assert (bound["stride_be"], bound["stride_bk"], bound["stride_bn"]) == (n * k // 2, 1, k // 2)
    assert (bound["stride_bse"], bound["stride_bsk"], bound["stride_bsn"]) == (n * groups, 1, groups)
    assert (bound["stride_bze"], bound["stride_bzk"], bound["stride_bzn"]) == (n // 2 * groups, 1, groups)
    assert bound["block_k_diviable"] is True and bound["has_zp"] is True and bound["MUL_ROUTED_WEIGHT"] is True
    bound, made, _ = _recorded("int8_w8a16", gemm=1)
    assert "b_zp" not in made and bound["b_zp_ptr"] is None
    assert [bound[s] for s in ("stride_bze", "stride_bzk", "stride_bzn")] == [0, 0, 0]


@pytest.mark.parametrize("variant", [v.value for v in Variant])
def test_real_launches_compile_to_the_models_bytes_on_sm90(variant):
    """Both GEMMs of the predicted #1 (and #2) at 1 and 256 tokens for the H200, bound to the launch the GPU run
    makes, compiled by the installed Triton for sm_90 (3.6.0 here; 3.9.0 with its PYTHONPATH): metadata.shared
    equals the model's footprint."""
    import triton as _triton  # noqa: F401 -- the dev extra pins it: a missing Triton is a failure, not a skip
    from cpp_bindings.triton_oracle import compile_shared, installed_release

    plan = files.tuning_plan("h200", MODEL, Variant(variant), installed_release())
    for tokens in (1, 256):
        for r in measure.select_candidates(files.ranked_candidates(plan, tokens), 2):
            for cfg, launch in zip(measure.gemm_configs(r.config, plan.shape),
                                   measure.layer_launches(plan.shape, tokens, r.config.block_m)):
                assert compile_shared(cfg, launch=launch) == footprint(cfg).shared_bytes, (cfg, launch)


# ---------------------------------------------------------------------------------------------- selection

def test_select_candidates_distinct_launches_in_predicted_order():
    plan = files.tuning_plan("h200", MODEL, Variant.FP8_W8A8, "3.6.0")
    ranked = files.ranked_candidates(plan, 64)
    picks = measure.select_candidates(ranked, 8)
    assert len(picks) == 8 and picks[0] == ranked[0]
    assert len({measure.launch_key(p.config) for p in picks}) == 8
    assert [p.rank for p in picks] == sorted(p.rank for p in picks)
    assert [p.predicted_us for p in picks] == sorted(p.predicted_us for p in picks)
    # a launch's first config in the ranking stands for it (the GROUP_SIZE_M the predicted file would use)
    for p in picks:
        assert p == next(r for r in ranked if measure.launch_key(r.config) == measure.launch_key(p.config))
    assert measure.select_candidates(ranked, 1) == [ranked[0]]


def test_ranking_sums_both_gemms():
    plan = files.tuning_plan("h200", MODEL, Variant.BF16, "3.6.0")
    shape, gpu = plan.shape, plan.gpu
    ranked = files.ranked_candidates(plan, 128)
    for r in ranked[:5]:
        g1 = files.predicted_time_us(r.config, r.shared, gpu, shape, 128, *shape.gemm_nk(1))
        g2 = files.predicted_time_us(r.config, r.shared, gpu, shape, 128, *shape.gemm_nk(2))
        assert r.predicted_us == pytest.approx(g1 + g2)
    assert min(files.layer_predicted_us(c, s, gpu, shape, 128) for c, s in plan.candidates) == ranked[0].predicted_us
    entries, _ = files.best_configs("h200", MODEL, Variant.BF16, "3.6.0", tokens=(128,))
    assert entries == {"128": ranked[0].config.meta()}


# ---------------------------------------------------------------------------------------------- the run, faked

DEVICE = {"name": "NVIDIA H200", "torch": "2.11.0", "triton": "3.6.0", "release": "3.6.0", "cuda": "12.8",
          "date": "2026-12-10 12:00 UTC"}


class FakeTimer:
    """Timings from a rule: GEMM1 = 10 x BLOCK_SIZE_N / BLOCK_SIZE_M + tokens, GEMM2 = half; shared = the model's
    (or off by ``bad_shared`` bytes for configs in ``mismatch``); ``fail`` configs raise."""

    def __init__(self, plan, mismatch=(), fail=(), bad_shared=16):
        self.plan, self.mismatch, self.fail, self.bad_shared = plan, set(mismatch), set(fail), bad_shared
        self.calls = []

    def __call__(self, cfg, tokens):
        self.calls.append((measure.launch_key(cfg), tokens))
        if measure.launch_key(cfg) in self.fail:
            raise RuntimeError("out of resources: shared memory")
        shared = [footprint(c).shared_bytes for c in measure.gemm_configs(cfg, self.plan.shape)]
        if measure.launch_key(cfg) in self.mismatch:
            shared[1] += self.bad_shared
        g1 = 10.0 * cfg.block_n / cfg.block_m + tokens
        return measure.LayerTiming((g1, g1 / 2), tuple(shared), reps=5)


def _run(plan, timer, tokens=(1, 64, 1024), top=4, **kw):
    return measure.measure_run(plan, "vllm", MODEL, tokens, timer, DEVICE, top=top, seed=3, progress=None, **kw)


def test_run_writes_the_fastest_measured_config():
    plan = files.tuning_plan("h200", MODEL, Variant.FP8_W8A8_BLOCK, "3.6.0")
    timer = FakeTimer(plan)
    run = _run(plan, timer)
    for r in run.results:
        picks = measure.select_candidates(files.ranked_candidates(plan, r.tokens), 4)
        assert [c.ranked for c in r.candidates] == picks
        fastest = min(picks, key=lambda p: 10.0 * p.config.block_n / p.config.block_m)
        assert r.source == "measured" and r.entry == fastest.config
        assert r.best_us == pytest.approx(1.5 * (10.0 * fastest.config.block_n / fastest.config.block_m + r.tokens))
        first = r.candidates[0]
        assert r.predicted_first == picks[0] and first.ranked == picks[0]
        assert r.first_measured_rank == 1 + sorted(c.measured_us for c in r.candidates).index(first.measured_us)
        assert r.first_over_best == pytest.approx(first.measured_us / r.best_us)
    assert run.entries() == {str(r.tokens): r.entry.meta() for r in run.results}
    assert len(timer.calls) == 12 and not run.oracle_failures and not run.failures


def test_shared_mismatch_is_an_oracle_failure_and_is_not_used():
    plan = files.tuning_plan("h200", MODEL, Variant.BF16, "3.6.0")
    picks = measure.select_candidates(files.ranked_candidates(plan, 64), 4)
    fastest = min(picks, key=lambda p: 10.0 * p.config.block_n / p.config.block_m)
    broken = measure.launch_key(fastest.config)
    failing = measure.launch_key(next(p for p in picks if p is not fastest).config)
    run = _run(plan, FakeTimer(plan, mismatch={broken}, fail={failing}), tokens=(64,))
    (r,) = run.results
    statuses = {measure.launch_key(c.ranked.config): c.status for c in r.candidates}
    assert statuses[broken] == measure.MISMATCH and statuses[failing] == measure.FAILED
    assert measure.launch_key(r.entry) not in (broken, failing) and r.source == "measured"
    assert len(run.oracle_failures) == 1 and len(run.failures) == 1
    mismatch = next(c for c in r.candidates if c.status == measure.MISMATCH)
    assert "compiled" in mismatch.detail and mismatch.measured_us is None
    assert "RuntimeError: out of resources" in next(c.detail for c in r.candidates if c.status == measure.FAILED)


def test_budget_stops_timing_and_keeps_predicted_entries():
    plan = files.tuning_plan("h200", MODEL, Variant.BF16, "3.6.0")
    now = [0.0]

    def clock():
        return now[0]

    timer = FakeTimer(plan)

    def slow_timer(cfg, tokens):
        now[0] += 10.0
        return timer(cfg, tokens)

    run = _run(plan, slow_timer, tokens=(1, 16, 256), top=3, budget_s=25.0, clock=clock)
    first, second, third = run.results
    assert [c.status for c in first.candidates] == [measure.MEASURED] * 3
    assert [c.status for c in second.candidates] == [measure.NOT_REACHED] * 3
    assert second.source == "predicted" and second.entry == files.ranked_candidates(plan, 16)[0].config
    assert third.source == "predicted" and third.first_measured_rank is None and third.best_us is None
    assert run.summary()["measured"] == 1
    note = "\n".join(run.note_lines("x.json"))
    assert "predicted entries (the 25 s measurement budget ran out before them): token counts 16, 256" in note
    assert "measured entries (1 of 3 token counts: 1)" in note


def test_sidecar_note_and_table(tmp_path):
    plan = files.tuning_plan("h200", MODEL, Variant.INT4_W4A16, "3.6.0")
    run = _run(plan, FakeTimer(plan), tokens=(1, 16, 256), top=3, budget_s=1e9)
    paths = files.write_files(tmp_path, "vllm", "h200", MODEL, Variant.INT4_W4A16, "3.6.0", tokens=(1, 16, 256),
                              measured=run)
    config, note, sidecar = paths
    assert config.name == "E=128,N=768,device_name=NVIDIA_H200,dtype=int4_w4a16.json"
    assert sidecar.name == config.name[:-5] + files.MEASURED_SUFFIX
    doc = json.loads(config.read_text())
    assert doc.pop("triton_version") == "3.6.0" and doc == run.entries()
    data = json.loads(sidecar.read_text())
    assert data["device"]["name"] == "NVIDIA H200" and data["seed"] == 3 and data["dtype"] == "int4_w4a16"
    assert set(data["tokens"]) == {"1", "16", "256"}
    one = data["tokens"]["16"]
    assert one["source"] == "measured" and len(one["candidates"]) == 3
    cand = one["candidates"][0]
    assert {"config", "predicted_us", "measured_us", "gemm_us", "compiled_shared_bytes", "model_shared_bytes",
            "status", "predicted_rank"} <= set(cand)
    assert cand["measured_us"] == pytest.approx(sum(cand["gemm_us"]), abs=1e-2)
    assert one["predicted_first_measured_rank"] >= 1 and one["predicted_first_over_best"] >= 1.0
    # vLLM runs its CUDA wna16 kernel for 4-bit at <= 6 routed rows per expert (1 and 16 tokens x 8 / 128 experts)
    assert [data["tokens"][t]["vllm_runs_cuda_wna16_instead"] for t in ("1", "16", "256")] == [True, True, False]
    text = note.read_text()
    assert "measured entries (3 of 3 token counts: 1, 16, 256)" in text and "NVIDIA H200" in text
    assert "prediction vs measurement" in text and sidecar.name in text
    assert "compiled to exactly the model's shared memory" in text and "moe_wna16_gemm" in text
    assert "predicted entries" not in text and "no --measure run" not in text
    table = measure.markdown_table([data])
    assert "| vllm | int4_w4a16 | 3 of 3 |" in table and table.count("\n| vllm | int4_w4a16 |") == 4
    assert "Measured on: NVIDIA H200" in table
    # the docs script reads the sidecars under a folder and prints the same table
    script = Path(__file__).resolve().parent.parent / "scripts" / "triton_measure_table.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == table, done.stderr
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "nothing")], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: paths:")


def test_prediction_only_files_unchanged_by_measure_options(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "triton-configs", "--gpu", "h200", "--model", MODEL, "--dtype", "bf16",
                           "--framework", "sglang", "--triton", "3.6.0", "--tokens", "256,1", "--out", str(tmp_path))
    assert code == 0 and len(out.split()) == 2
    path = tmp_path / "triton_3_6_0" / "E=128,N=768,device_name=NVIDIA_H200.json"
    doc = json.loads(path.read_text())
    assert list(doc) == ["1", "256", "triton_version"]
    assert "measured: nothing (no --measure run)" in path.with_name(path.name[:-5] + ".smem_tactics.md").read_text()
    assert not list(tmp_path.rglob("*" + files.MEASURED_SUFFIX))


# ---------------------------------------------------------------------------------------------- the CLI

BASE = ["triton-configs", "--gpu", "h200", "--model", MODEL, "--dtype", "fp8_w8a8", "--framework", "vllm"]


def test_measure_without_a_cuda_gpu_is_one_error_line(tmp_path, capsys):
    import torch

    assert not torch.cuda.is_available()  # this CI machine: the CPU build
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path / "o"), "--measure")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --measure: no CUDA GPU is visible") and "NVIDIA_H200" in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_measure_refuses_a_triton_release_other_than_installed(tmp_path, capsys):
    from smem_tactics.triton.prune import installed_release

    other = "3.9.0" if installed_release() == "3.6.0" else "3.6.0"
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path), "--measure", "--triton", other)
    assert code == 2 and err.startswith("error: --triton:") and "installed Triton" in err


def test_measure_without_torch_or_triton(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path), "--measure")
    assert code == 2 and "torch is not installed" in err and "pip install torch" in err
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "triton", None)
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path), "--measure")
    assert code == 2 and "Triton is not installed" in err and "pip install" in err


def test_measure_on_another_gpu_names_it(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "NVIDIA H100 80GB HBM3")
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path), "--measure")
    assert code == 2 and err.startswith("error: --gpu: 'h200'")
    assert "allowed: h100" in err and "named for NVIDIA_H200" in err and "NVIDIA H100 80GB HBM3" in err
    # any H200 variant is the H200 file (vLLM's rule)
    assert files.file_device_name("NVIDIA H200 NVL") == files.device_file_name("h200")


@pytest.mark.parametrize("extra,field", [(["--tokens", "0"], "--tokens"), (["--tokens", "1,,2"], "--tokens"),
                                         (["--tokens", "8,8"], "--tokens"), (["--tokens", "x"], "--tokens"),
                                         (["--measure-top", "0", "--measure"], "--measure-top"),
                                         (["--measure-top", "65", "--measure"], "--measure-top"),
                                         (["--measure-top", "4"], "--measure-top"), (["--seed", "1"], "--seed"),
                                         (["--measure-budget", "0", "--measure"], "--measure-budget"),
                                         (["--measure-budget", "30"], "--measure-budget")])
def test_bad_measure_options(tmp_path, capsys, extra, field):
    code, _, err = run_cli(capsys, *BASE, "--out", str(tmp_path), *extra)
    assert code == 2 and err.startswith("error:") and field in err.splitlines()[0]


def test_measure_cli_end_to_end_with_a_fake_gpu(tmp_path, capsys, monkeypatch):
    """The command's whole --measure path with the environment check and the GPU timer replaced."""
    made = {}

    def fake_timer(plan, seed):
        made["seed"] = seed
        made["timer"] = FakeTimer(plan, mismatch=made.get("mismatch", ()))
        return made["timer"]

    monkeypatch.setattr(measure, "check_environment", lambda gpu, triton: dict(DEVICE))
    monkeypatch.setattr(measure, "CudaLayerTimer", fake_timer)
    argv = [*BASE, "--out", str(tmp_path), "--measure", "--tokens", "1,64", "--measure-top", "2", "--seed", "9"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert len(out.split("\n")) == 4 and out.split("\n")[2].endswith(files.MEASURED_SUFFIX)
    assert made["seed"] == 9 and len(made["timer"].calls) == 4
    assert "tokens 1: 2 of 2 candidates measured" in err and "tokens 64:" in err
    # an oracle failure: the files are still written, the line says which, exit 1
    plan = files.tuning_plan("h200", MODEL, Variant.FP8_W8A8, "3.6.0")
    made["mismatch"] = {measure.launch_key(files.ranked_candidates(plan, 1)[0].config)}
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and "SHARED MISMATCH tokens 1" in out


@pytest.mark.parametrize("variant", [v.value for v in Variant])
def test_the_gpu_runs_tensors_bind_and_compile_on_the_cpu(variant):
    """The GPU timer's own inputs (LayerInputs: real torch tensors, routing metadata, both GEMMs) made on the CPU
    for a model cut to 8 experts, bound to the project's kernel by Triton's binder and compiled for sm_90: each
    GEMM's metadata.shared equals the model's, and the routing tensors are align_block_size's."""
    import dataclasses

    from cpp_bindings.triton_oracle import compile_bound_shared, installed_release, project_kernels

    plan = files.tuning_plan("h200", MODEL, Variant(variant), installed_release())
    small = dataclasses.replace(plan, shape=dataclasses.replace(plan.shape, experts=8, top_k=4))
    inputs = measure.LayerInputs(small, 5, "cpu")
    for tokens in (1, 48):
        cfg = files.ranked_candidates(small, tokens)[0].config
        launches = inputs.launches(cfg, tokens, project_kernels())
        assert len(launches) == 2
        for (fn, args, kwargs, grid), gemm_cfg, launch in zip(launches, measure.gemm_configs(cfg, small.shape),
                                                             measure.layer_launches(small.shape, tokens, cfg.block_m)):
            assert grid == launch.grid(cfg.block_m, cfg.block_n)
            assert compile_bound_shared(fn, args, kwargs, 90) == footprint(gemm_cfg).shared_bytes
        meta = inputs.routing_metadata(cfg.block_m)
        routing = measure.route(tokens, 8, 4, 5, tag=small.shape.key)
        sorted_ids, expert_ids, post = measure.align_block_size(routing, cfg.block_m, 8)
        assert meta["sorted_token_ids"].tolist() == sorted_ids and meta["expert_ids"].tolist() == expert_ids
        assert meta["num_tokens_post_padded"].tolist() == [post]


def test_committed_h200_measured_files():
    """docs/triton_measure_h200/ holds run 2's files (NVIDIA H200, 2026-12-03): each loads as vLLM's get_moe_configs
    reads it (drop "triton_version", int() the keys; vllm-project/vllm 13cb3e44), every entry is a measured one that
    fits the H200's 232448 B under the model, its sidecar's oracle found no mismatch, and its entry is the fastest
    measured candidate of that token count."""
    import json
    from pathlib import Path

    from smem_tactics.triton.config import TritonConfig, Variant
    from smem_tactics.triton.model import footprint

    root = Path(__file__).resolve().parents[1] / "docs" / "triton_measure_h200"
    files = sorted(p for p in root.rglob("*.json") if not p.name.endswith(".smem_tactics.measured.json"))
    names = {p.relative_to(root).as_posix() for p in files}
    assert names == {
        "vllm/E=128,N=768,device_name=NVIDIA_H200.json", "vllm/E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8.json",
        "vllm/E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128,128].json",
        "vllm/E=128,N=768,device_name=NVIDIA_H200,dtype=int4_w4a16.json",
        "sglang/triton_3_6_0/E=128,N=768,device_name=NVIDIA_H200.json"}
    for path in files:
        data = json.loads(path.read_text())
        assert data.pop("triton_version") == "3.6.0"
        table = {int(k): v for k, v in data.items()}
        assert sorted(table) == [1, 16, 64, 256, 1024, 4096]
        side = json.loads(path.with_name(path.name[:-5] + ".smem_tactics.measured.json").read_text())
        assert side["device"]["name"] == "NVIDIA H200" and side["summary"]["oracle_failures"] == 0
        variant = Variant(side["dtype"])
        for tokens, entry in table.items():
            rec = side["tokens"][str(tokens)]
            assert rec["source"] == "measured" and rec["entry"] == entry
            c = TritonConfig.create(variant, "sm90", "3.6.0", block_m=entry["BLOCK_SIZE_M"],
                                    block_n=entry["BLOCK_SIZE_N"], block_k=entry["BLOCK_SIZE_K"],
                                    group_m=entry["GROUP_SIZE_M"], num_warps=entry["num_warps"],
                                    num_stages=entry["num_stages"])
            assert footprint(c).shared_bytes <= 232448
            assert rec["measured_best_us"] == min(x["measured_us"] for x in rec["candidates"]
                                                  if x.get("measured_us") is not None)
