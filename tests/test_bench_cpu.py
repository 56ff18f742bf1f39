"""CPU-side tests of the grouped-GEMM benchmark: scenarios and routing, the result arithmetic, contender selection,
the C++ code generation of the extension, the Triton contender's padding metadata and config space, and input
validation. Nothing here needs a GPU, nvcc or Triton."""

import json
import math
import random

import pytest

from cpp_bindings.grouped_gemm import build as B
from cpp_bindings.grouped_gemm import groups_for
from cpp_bindings import triton_moe as T
from smem_tactics import footprint
from smem_tactics.bench import contenders as C
from smem_tactics.bench import report, selection, stats
from smem_tactics.bench.scenarios import (SEED, ScenarioError, all_scenarios, check_offsets, expert_counts,
                                          make_scenario, offsets_from_counts, parse_scenario_key, route)
from smem_tactics.errors import ConfigError

# ---------------------------------------------------------------------------------------------------- scenarios


def test_route_is_deterministic_distinct_and_in_range():
    r1 = route(64, 128, 8)
    r2 = route(64, 128, 8)
    assert r1 == r2
    assert route(64, 128, 8, tag="other") != r1
    for row in r1:
        assert len(row) == 8 and len(set(row)) == 8
        assert all(0 <= e < 128 for e in row)


def test_scenario_counts_offsets_and_groups():
    s = make_scenario("qwen3-30b-a3b", "gemm1", "e4m3", 8)
    assert (s.n, s.k) == (1536, 2048)
    assert s.rows == 8 * 8 and sum(s.counts) == 64 and len(s.counts) == 128
    off = s.offsets
    assert off[0] == 0 and off[-1] == 64 and len(off) == 129
    assert [g[0] for g in s.groups] == [e for e, c in enumerate(s.counts) if c]
    for e, first, rows in s.groups:
        assert off[e] == first and off[e + 1] - off[e] == rows
    # GEMM1 and GEMM2 and both dtypes of a layer see the same routing
    assert make_scenario("qwen3-30b-a3b", "gemm2", "bf16", 8).counts == s.counts


def test_model_shapes():
    assert make_scenario("qwen3-next-80b-a3b", "gemm1", "bf16", 1).counts.count(1) == 10
    s = make_scenario("qwen3-next-80b-a3b", "gemm2", "bf16", 64)
    assert (s.n, s.k, len(s.counts), s.rows) == (2048, 512, 512, 640)
    g = make_scenario("gpt-oss-120b", "gemm1", "e4m3", 4096)
    assert (g.n, g.k, g.rows) == (5760, 2880, 4 * 4096)


def test_min_bytes_flops_and_floor_by_hand():
    s = make_scenario("qwen3-30b-a3b", "gemm2", "bf16", 1)
    active = s.active_experts
    assert active == 8
    want = active * 2048 * 768 * 2 + 8 * 768 * 2 + 8 * 2048 * 2
    assert s.min_bytes() == want
    assert s.flops() == 2 * 8 * 2048 * 768
    f = s.floor_us(3.0e12, 800e12)
    assert f["memory_us"] == pytest.approx(want / 3.0e12 * 1e6)
    assert f["bound"] == "memory" and f["roofline_us"] == f["memory_us"]
    fp8 = make_scenario("qwen3-30b-a3b", "gemm2", "e4m3", 1)
    assert fp8.min_bytes() == active * 2048 * 768 + 8 * 768 + 8 * 2048 * 2


def test_scenario_bad_input():
    with pytest.raises(ScenarioError, match="model"):
        make_scenario("llama-9000", "gemm1", "bf16", 8)
    with pytest.raises(ScenarioError, match="gemm"):
        make_scenario("qwen3-30b-a3b", "gemm3", "bf16", 8)
    with pytest.raises(ScenarioError, match="dtype"):
        make_scenario("qwen3-30b-a3b", "gemm1", "nvfp4", 8)
    with pytest.raises(ScenarioError, match="tokens"):
        route(0, 128, 8)
    with pytest.raises(ScenarioError, match="topk"):
        route(4, 4, 8)
    with pytest.raises(ScenarioError, match="form"):
        parse_scenario_key("qwen3/gemm1/t8")
    with pytest.raises(ScenarioError, match="outside"):
        expert_counts([[0, 9]], 4)


def test_check_offsets():
    check_offsets([0, 2, 2, 5], rows=5, experts=3)
    with pytest.raises(ScenarioError, match="start at 0"):
        check_offsets([1, 2])
    with pytest.raises(ScenarioError, match="decreases"):
        check_offsets([0, 3, 2])
    with pytest.raises(ScenarioError, match="ends at"):
        check_offsets([0, 3], rows=4)
    with pytest.raises(ScenarioError, match="E \\+ 1"):
        check_offsets([0, 3], experts=2)
    assert offsets_from_counts([2, 0, 3]) == [0, 2, 2, 5]


def test_all_scenarios_count():
    assert len(all_scenarios()) == 3 * 2 * 2 * 4
    assert parse_scenario_key("gpt-oss-120b/gemm2/e4m3/t64") == ("gpt-oss-120b", "gemm2", "e4m3", 64)


def test_benchmark_models_come_from_the_moe_table(monkeypatch):
    """data/moe.json is the one table of model shapes: the benchmark reads it (the shapes of its earlier H100/H200
    runs are unchanged), and an edit there reaches the benchmark."""
    from smem_tactics import problems
    from smem_tactics.bench import scenarios

    assert {k: (m.experts, m.topk, m.hidden, m.intermediate) for k, m in scenarios.MODELS.items()} == {
        "qwen3-30b-a3b": (128, 8, 2048, 768), "qwen3-next-80b-a3b": (512, 10, 2048, 512),
        "gpt-oss-120b": (128, 4, 2880, 2880)}
    table = json.loads(json.dumps(problems._table()))
    table["models"]["qwen3-30b-a3b"]["hidden"] = 4096
    monkeypatch.setattr(problems, "_table", lambda: table)
    assert scenarios.bench_model("qwen3-30b-a3b").gemm_nk("gemm2") == (4096, 768)
    table["models"]["qwen3-30b-a3b"]["gated"] = False
    with pytest.raises(ScenarioError, match="gated"):
        scenarios.bench_model("qwen3-30b-a3b")
    with pytest.raises(ConfigError, match="model"):
        scenarios.bench_model("no-such-model")


# ---------------------------------------------------------------------------------------------------- stats


def test_median_quantile_spread():
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.quantile([0, 10], 0.25) == 2.5
    sp = stats.spread([10.0] * 9 + [20.0])
    assert sp["median"] == 10.0 and sp["p90"] == pytest.approx(11.0)
    with pytest.raises(ValueError):
        stats.median([])


def test_ranks_and_spearman():
    assert stats.ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # textbook example: d^2 sum = 2 over n = 5 -> 1 - 6*2/(5*24) = 0.9
    assert stats.spearman([1, 2, 3, 4, 5], [2, 1, 3, 4, 5]) == pytest.approx(0.9)
    assert math.isnan(stats.spearman([1, 1, 1], [1, 2, 3]))


def test_spearman_matches_scipy_definition_on_random_ties():
    rng = random.Random(7)
    x = [rng.randint(0, 5) for _ in range(30)]
    y = [rng.randint(0, 5) for _ in range(30)]
    rx, ry = stats.ranks(x), stats.ranks(y)
    assert stats.spearman(x, y) == pytest.approx(stats.pearson(rx, ry))
    assert sum(rx) == pytest.approx(30 * 31 / 2)


def test_model_vs_measured():
    pred = {"k1": 10.0, "k2": 20.0, "k3": 30.0}
    meas = {"k1": 104.0, "k2": 100.0, "k3": 300.0, "extra": 1.0}
    r = stats.model_vs_measured(pred, meas)
    assert r["n"] == 3 and r["model_top"] == "k1" and r["measured_best"] == "k2"
    assert r["top_over_best"] == pytest.approx(1.04) and r["top_within"]
    r = stats.model_vs_measured(pred, {"k1": 120.0, "k2": 100.0, "k3": 300.0})
    assert not r["top_within"]
    with pytest.raises(ValueError):
        stats.model_vs_measured({"a": 1.0}, {"b": 1.0})


def test_max_overlap_per_sm():
    recs = [(0, 0, 10), (0, 5, 15), (0, 10, 20), (1, 0, 5), (1, 5, 9)]
    assert stats.max_overlap_per_sm(recs) == {0: 2, 1: 1}
    with pytest.raises(ValueError):
        stats.max_overlap_per_sm([(0, 5, 1)])


def test_goal_report_and_ratios():
    r = stats.scenario_ratios(c=100.0, a=97.0, b=120.0, d=150.0, memory_floor_us=85.0)
    assert r == {"c_over_a": 0.97, "c_vs_b": 1.2, "c_vs_d": 1.5, "c_bw_roofline": 0.85}
    rows = [{"key": "x/t8", "phase": "decode", **r},
            {"key": "x/t4096", "phase": "prefill", **stats.scenario_ratios(100.0, 70.0, 105.0, 90.0, 20.0)}]
    goals = {g["goal"]: g for g in stats.goal_report(rows, [0.9, 0.5])}
    assert goals["c_over_a"]["met_count"] == 1 and goals["c_over_a"]["worst_scenario"] == "x/t4096"
    assert goals["c_vs_b"]["count"] == 1 and goals["c_vs_b"]["met"]  # decode only
    assert goals["c_bw_roofline"]["count"] == 1 and goals["c_bw_roofline"]["met"]
    assert not goals["c_vs_d"]["met"]
    assert goals["spearman"]["met_count"] == 1 and goals["spearman"]["worst"] == 0.5
    assert stats.scenario_ratios(None, 1.0, 1.0, 1.0, 1.0)["c_over_a"] is None


# ---------------------------------------------------------------------------------------------------- contenders


@pytest.mark.parametrize("dtype", ["e4m3", "bf16"])
def test_trtllm_stock_none_fit_and_capped_is_maximal(dtype):
    stock = C.trtllm_sm90_stock(dtype)
    assert len(stock) == 36  # 6 tiles x clusters (1+1+1+1 for N>=128 tiles, else 1+1) x swap
    assert not any(C.fits(c) for c in stock)
    kept, dropped = C.trtllm_capped(dtype)
    assert len(kept) == 8 and len(dropped) == 4
    for cfg in kept:
        assert footprint(cfg).total_bytes <= C.SM12X_BLOCK_LIMIT
        assert footprint(cfg.with_stages(cfg.stages + 1)).total_bytes > C.SM12X_BLOCK_LIMIT
        assert tuple(cfg.cluster) == (1, 1, 1)
    assert {tuple(c.tile[:2]) for c in kept} == {(128, 16), (128, 32), (128, 64), (128, 128)}
    assert all("2 stages" in d.reason for d in dropped)


def test_anchor_footprints_reproduced():
    # sizes the H100 anchor measured from compiled kernels
    assert footprint(C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True)).total_bytes == 98304
    assert footprint(C.sm90_config("e4m3", (64, 256, 128), "pingpong", "auto")).total_bytes == 215040
    assert footprint(C.sm90_config("bf16", (128, 128, 32), "pingpong", 5)).total_bytes == 92160


def test_short_name_and_swap():
    cfg = C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True)
    assert C.short_name(cfg) == "f8_sw_co_128x16x128_s5"
    assert C.is_swap_ab(cfg) and C.dtype_of(cfg) == "e4m3"
    assert C.short_name(C.sm90_config("bf16", (64, 256, 64), "pingpong", "auto", cluster=(2, 1, 1))) == \
        "bf_pp_64x256x64_auto_c2x1"


def test_check_buildable_rejects_with_reasons():
    good = C.sm90_config("bf16", (128, 64, 64), "coop", 3)
    C.check_buildable(good)
    with pytest.raises(ConfigError, match="c"):
        C.check_buildable(good.replace(c="bf16"))
    with pytest.raises(ConfigError, match="arch"):
        C.check_buildable(good.replace(arch="sm100", kernel_schedule="auto", epilogue_schedule="auto"))
    with pytest.raises(ConfigError, match="d"):
        C.check_buildable(good.replace(d="f16"))
    with pytest.raises(ConfigError):
        C.sm90_config("nvfp4", (128, 64, 64))


def test_our_configs_equal_synthesized_ones():
    from smem_tactics.synthesis import synthesize

    cands = synthesize("sm90", "fp8", C.SM12X_BLOCK_LIMIT, cutlass="4.2.0", clusters=[(1, 1, 1)],
                       epilogues=["void_c"], tiles_m=[128], tiles_n=[16], tile_k_bytes=[128],
                       schedules=["cooperative"], swap_ab=[True])
    assert [c.config for c in cands] == [C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True)]


# ---------------------------------------------------------------------------------------------------- selection


def test_selection_fits_budget_and_tops_are_built():
    scen = [make_scenario("qwen3-30b-a3b", "gemm1", "e4m3", t) for t in (8, 4096)]
    sel = selection.select(scen, top=2)
    d = sel["e4m3"]
    names_c = {C.short_name(c) for c in d["c"]}
    for key, tops in d["c_top"].items():
        assert len(tops) == 2 and set(tops) <= names_c
    for cfg in d["b"] + d["c"]:
        assert footprint(cfg).total_bytes <= C.SM12X_BLOCK_LIMIT
        assert tuple(cfg.cluster) == (1, 1, 1) and cfg.c is None
        C.check_buildable(cfg)
    for cfg in d["a"]:
        assert footprint(cfg).total_bytes > C.SM12X_BLOCK_LIMIT
    built = selection.build_list(sel)
    assert len(built) == len(set(built))
    pred = selection.predictions(scen[0], d["b"])
    assert set(pred) == {C.short_name(c) for c in d["b"]} and all(v > 0 for v in pred.values())


def test_proxy_gpu_has_sm12x_shared_memory():
    g = selection.proxy_gpu()
    assert g.smem_per_sm == C.SM12X_SM_LIMIT and g.smem_per_block_optin == C.SM12X_BLOCK_LIMIT and g.sms == 132


# ---------------------------------------------------------------------------------------------------- codegen


def test_kernel_source_composition():
    cfg = C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True)
    src = B.kernel_source(cfg)
    from cpp_bindings.compose import compose

    assert compose(cfg) in src
    assert "KernelPtrArrayTmaWarpSpecializedCooperativeFP8FastAccum" in src
    assert "StageCount<5>" in src and "cutlass::layout::ColumnMajor *" in src
    assert "smem_gg_make_f8_sw_co_128x16x128_s5" in src and "@@" not in src
    bf = B.kernel_source(C.sm90_config("bf16", (64, 256, 64), "pingpong", "auto"))
    assert "KernelPtrArrayTmaWarpSpecializedPingpong>" in bf and "StageCountAutoCarveout" in bf
    assert "cutlass::bfloat16_t" in bf and "float_e4m3" not in bf


def test_generate_registry_digest(tmp_path):
    cfgs = [C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True), C.sm90_config("bf16", (128, 64, 64), "coop", 3)]
    g1 = B.generate(cfgs, tmp_path)
    assert g1["names"] == ["f8_sw_co_128x16x128_s5", "bf_co_128x64x64_s3"]
    reg = (tmp_path / "registry.cpp").read_text()
    assert '{"f8_sw_co_128x16x128_s5", smem_gg_make_f8_sw_co_128x16x128_s5}' in reg and "*count = 2;" in reg
    assert all(p.endswith((".cu", ".cpp")) for p in g1["sources"])
    assert B.generate(cfgs, tmp_path)["digest"] == g1["digest"]
    assert B.generate(cfgs[:1], tmp_path)["digest"] != g1["digest"]
    with pytest.raises(ConfigError, match="twice"):
        B.generate(cfgs + cfgs[:1], tmp_path)
    with pytest.raises(ConfigError):
        B.generate([], tmp_path)


def test_compiler_warnings_ignore_the_flag_itself():
    log = ("[1/2] nvcc -Xptxas=-warn-spills -c a.cu\n"
           "ptxas warning : Registers are spilled to local memory in function 'k', 8 bytes spill stores\n"
           "ptxas info : 0 bytes spill stores, 0 bytes spill loads\nwarning C7510: wgmma serialized\n")
    w = B.compiler_warnings(log)
    assert w["wgmma_serialized_C7510"] == 1
    assert len(w["spill_lines"]) == 1 and "Registers are spilled" in w["spill_lines"][0]


def test_nvcc_flags_pin_sm90a_and_ndebug():
    flags = " ".join(B.NVCC_FLAGS)
    assert "arch=compute_90a,code=sm_90a" in flags and "-DNDEBUG" in flags and "--expt-relaxed-constexpr" in flags


def test_failed_kernels_parser():
    log = ("[1/3] ok\nFAILED: kernel_f8_sw_pp_128x8x128_s5.cuda.o\nnvcc ...\n"
           "x.hpp(3): error: static assertion failed with \"bad\"\n[2/3] more\n")
    assert B.failed_kernels(log, ["f8_sw_pp_128x8x128_s5", "bf_co_128x64x64_s3"]) == {
        "f8_sw_pp_128x8x128_s5": 'x.hpp(3): error: static assertion failed with "bad"'}
    assert B.failed_kernels("nothing failed", ["a"]) == {}
    # ninja 1.12 prints the exit code: "FAILED: [code=2] <object>"
    newer = "FAILED: [code=2] kernel_bf_sw_pp_128x8x64_s5.cuda.o \nx.hpp(1): error: static assertion failed\n"
    assert list(B.failed_kernels(newer, ["bf_sw_pp_128x8x64_s5"])) == ["bf_sw_pp_128x8x64_s5"]


class _FakeTensor:
    def __init__(self, ptr, shape, esize):
        self._ptr, self.shape, self._esize = ptr, shape, esize

    def data_ptr(self):
        return self._ptr

    def element_size(self):
        return self._esize


def test_groups_for_normal_and_swap():
    a = _FakeTensor(1000, (5, 64), 1)
    w = _FakeTensor(100000, (3, 32, 64), 1)
    out = _FakeTensor(900000, (5, 32), 2)
    offsets = [0, 2, 2, 5]
    g = groups_for(a, w, offsets, out, swap_ab=False)
    assert g == [(2, 32, 64, 1000, 100000, 900000), (3, 32, 64, 1000 + 2 * 64, 100000 + 2 * 32 * 64,
                                                     900000 + 2 * 32 * 2)]
    gs = groups_for(a, w, offsets, out, swap_ab=True)
    assert gs[1] == (32, 3, 64, 100000 + 2 * 32 * 64, 1000 + 2 * 64, 900000 + 2 * 32 * 2)


# ---------------------------------------------------------------------------------------------------- Triton


def test_padded_blocks():
    rows, blocks = T.padded_blocks([3, 0, 5], 4)
    assert rows == [0, 1, 2, -1, 3, 4, 5, 6, 7, -1, -1, -1]
    assert blocks == [0, 2, 2]
    for counts in ([1] * 8, [0, 17, 0, 33], [64]):
        r, b = T.padded_blocks(counts, 16)
        assert len(r) == 16 * len(b)
        assert sorted(x for x in r if x >= 0) == list(range(sum(counts)))
        for i, e in enumerate(b):  # every real row of a block belongs to the block's expert
            off = sum(counts[:e])
            assert all(off <= x < off + counts[e] for x in r[16 * i:16 * i + 16] if x >= 0)
    with pytest.raises(ValueError):
        T.padded_blocks([1], 0)


def test_triton_candidates():
    for dt in ("bf16", "e4m3"):
        cands = T.candidate_configs(dt)
        assert len(cands) == len(set(cands)) > 10
        assert all(T.classic_smem_estimate(c, dt) <= 2 * C.SM12X_BLOCK_LIMIT for c in cands)
        assert {c.block_k for c in cands} == set(T.BLOCK_K_CHOICES[dt])
    c = T.TritonConfig(64, 128, 64, 8, 4, 3)
    assert T.classic_smem_estimate(c, "bf16") == (64 + 128) * 64 * 3 * 2
    assert T.within_budget({c: {"shared": 101376}, T.TritonConfig(16, 64, 64, 1, 4, 3): {"shared": 101377}},
                           101376) == [c]
    with pytest.raises(ValueError):
        T.candidate_configs("nvfp4")


# ---------------------------------------------------------------------------------------------------- report


def _scenario_record():
    return {"key": "qwen3-30b-a3b/gemm1/e4m3/t8", "phase": "decode", "model": "qwen3-30b-a3b", "gemm": "gemm1",
            "dtype": "e4m3", "tokens": 8,
            "floors": {"roofline_us": 50.0, "memory_us": 50.0, "math_us": 0.5, "bound": "memory"},
            "results": {"ka": {"sets": ["a"], "ok": True, "median_us": 60.0},
                        "kb": {"sets": ["b"], "ok": True, "median_us": 70.0},
                        "kbc": {"sets": ["b", "c"], "ok": True, "median_us": 62.0},
                        "kc_bad": {"sets": ["c"], "ok": False, "median_us": 10.0},
                        "tr": {"sets": ["d"], "ok": True, "median_us": 90.0},
                        "torch": {"sets": ["e"], "ok": True, "median_us": 80.0}},
            "cost_model": {"spearman": 0.5, "model_top": "kbc", "top_over_best": 1.0}}


def test_summary_row_uses_only_correct_results():
    row = report.summary_row(_scenario_record())
    assert (row["a"], row["b"], row["c"], row["d"], row["e"]) == (60.0, 62.0, 62.0, 90.0, 80.0)
    assert row["c_name"] == "kbc"  # the faster but incorrect kernel does not count
    assert row["c_over_a"] == pytest.approx(60 / 62) and row["c_vs_d"] == pytest.approx(90 / 62)
    assert row["c_bw_roofline"] == pytest.approx(50 / 62)
    text = report.markdown_table([row], "NVIDIA H100 80GB HBM3")
    assert "NVIDIA H100 80GB HBM3" in text and "| qwen3-30b-a3b/gemm1/e4m3/t8 | 60.0 | 62.0 | 62.0 | 90.0 | 80.0 |" in text
    goals = stats.goal_report([row], [row["spearman"]])
    assert "0/1" in report.goals_table(goals)
    json.dumps(goals)


# ---------------------------------------------------------------------------------------------------- cost model vs measured


def _cm_script():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "cost_model_vs_measured.py"
    spec = importlib.util.spec_from_file_location("cost_model_vs_measured", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_results(order: str) -> dict:
    """A results file whose 'measured' times are the model's own predictions (or their reverse order)."""
    s = make_scenario("qwen3-30b-a3b", "gemm1", "e4m3", 4096)
    cfgs, _ = C.trtllm_capped("e4m3")
    gpu = selection.proxy_gpu("h100")
    pred = selection.predictions(s, cfgs, gpu=gpu)
    names = sorted(pred, key=pred.get)
    times = sorted(pred.values())
    if order == "reversed":
        times = times[::-1]
    res = {n: {"kind": "cutlass", "sets": ["b"], "ok": True, "median_us": t, "pass_medians_us": [t, t]}
           for n, t in zip(names, times)}
    noisy = names[0]
    return {"meta": {"device": {"name": "NVIDIA H100 80GB HBM3"}},
            "kernels": {C.short_name(c): {"config": c.to_dict()} for c in cfgs},
            "scenarios": [{"key": s.key, "results": res}], "_noisy": noisy}


def test_cost_model_judge_agrees_with_itself_and_catches_the_reverse():
    m = _cm_script()
    same = _fake_results("same")
    ev = m.evaluate(same, m.gpu_for(same))
    assert ev["n"] == 1 and ev["median_spearman"] == pytest.approx(1.0) and ev["top_within_5pct"] == 1
    assert ev["mean_rms_log_residual"] == pytest.approx(0.0, abs=1e-9)
    rev = _fake_results("reversed")
    ev = m.evaluate(rev, m.gpu_for(rev))
    assert ev["median_spearman"] < -0.9 and ev["top_within_5pct"] == 0  # (predicted ties keep it off -1)
    # an entry whose two passes disagree by more than the allowed spread is left out
    same["scenarios"][0]["results"][same["_noisy"]]["pass_medians_us"] = [1.0, 2.0]
    assert len(m.measured_sets(same, 0.10)[0][1]) == len(same["kernels"]) - 1


def test_group_switch_parameter_adds_time_on_sm90():
    """The shipped per-group-switch term: raising group_switch_ns never lowers a prediction and raises some."""
    import dataclasses

    from smem_tactics import cost

    s = make_scenario("qwen3-next-80b-a3b", "gemm2", "e4m3", 1)
    cfgs, _ = C.trtllm_capped("e4m3")
    arch = cfgs[0].arch
    shipped = cost.cost_parameters(arch)
    original = cost.cost_parameters
    try:
        for ns, key in ((0.0, "zero"), (shipped.group_switch_ns + 1000.0, "more")):
            params = dataclasses.replace(shipped, group_switch_ns=ns)
            cost.cost_parameters = lambda a, p=params: p
            if key == "zero":
                zero = selection.predictions(s, cfgs)
            else:
                more = selection.predictions(s, cfgs)
    finally:
        cost.cost_parameters = original
    base = selection.predictions(s, cfgs)
    assert all(more[n] >= base[n] >= zero[n] for n in base) and any(more[n] > base[n] for n in base)


def test_report_render_names_the_card():
    res = {"meta": {"device": {"name": "NVIDIA H200"}}, "scenarios": [_scenario_record()]}
    text = report.render(res)
    assert "NVIDIA H200" in text and "Goals (NVIDIA H200)" in text
    assert report.main(["/nonexistent.json"]) == 2


# ---------------------------------------------------------------------------------------------------- no-smem epilogue


def test_model_vs_measured_breaks_prediction_ties_by_the_given_order():
    # equal predictions: the first name in the predicted map's order (rank order) is the model's choice
    pred = {"zz_less_smem": 10.0, "aa_more_smem": 10.0, "slow": 30.0}
    meas = {"zz_less_smem": 100.0, "aa_more_smem": 120.0, "slow": 300.0}
    r = stats.model_vs_measured(pred, meas)
    assert r["model_top"] == "zz_less_smem" and r["top_within"]


def test_epilogue_twin_swaps_the_epilogue_and_repins_stages():
    tma = C.sm90_config("e4m3", (128, 256, 64), "coop", 3)
    twin = selection.epilogue_twin(tma)
    assert twin.epilogue_schedule.no_smem and twin.stages == 4
    assert footprint(twin).total_bytes <= C.SM12X_BLOCK_LIMIT < footprint(twin.with_stages(5)).total_bytes
    back = selection.epilogue_twin(twin)
    assert not back.epilogue_schedule.no_smem and back == tma
    assert C.short_name(twin) == "f8_co_128x256x64_s4_nosmem"
    # a tile that fits no stage with the TMA epilogue has no TMA twin
    big = selection.epilogue_twin(C.sm90_config("e4m3", (128, 256, 128), "coop", 2).replace(
        epilogue_schedule="PtrArrayNoSmemWarpSpecialized"))
    assert big is None


def test_selection_twins_are_a_separate_set():
    scen = [make_scenario("qwen3-30b-a3b", "gemm2", "bf16", t) for t in (8, 4096)]
    none = selection.select(scen, top=2)["bf16"]
    pre = selection.select(scen, top=2, twins="prefill")["bf16"]
    assert none["t"] == [] and pre["c"] == none["c"] and pre["t"]
    assert not set(pre["t"]) & set(pre["c"])
    prefill_picks = [n for k, names in pre["c_top"].items() if k.endswith("t4096") for n in names]
    for t in pre["t"]:
        assert C.short_name(selection.epilogue_twin(t)) in prefill_picks
        assert footprint(t).total_bytes <= C.SM12X_BLOCK_LIMIT
    assert set(pre["t"]) <= set(selection.build_list({"bf16": pre}))
    with pytest.raises(ConfigError):
        selection.select(scen, twins="some")


def test_no_smem_row_major_stores_cost_more_and_only_there():
    s = make_scenario("qwen3-30b-a3b", "gemm1", "e4m3", 4096)
    nosmem = C.sm90_config("e4m3", (128, 256, 64), "coop", 4).replace(epilogue_schedule="PtrArrayNoSmemWarpSpecialized")
    cfgs = [nosmem, nosmem.replace(layout_cd="col"), C.sm90_config("e4m3", (128, 256, 64), "coop", 3)]
    names = [C.short_name(c) for c in cfgs]
    base = selection.predictions(s, cfgs, params={"register_store_row_major_factor": 1.0})
    shipped = selection.predictions(s, cfgs)
    assert shipped[names[0]] > base[names[0]]  # row-major D, no smem: slower under the shipped factor
    assert shipped[names[1]] == base[names[1]] and shipped[names[2]] == base[names[2]]


def _run(keys, card="NVIDIA H100 80GB HBM3", files=None):
    return {"meta": {"device": {"name": card}, "cost_model": {"file_sha256_16": files or {"cost.py": "x"}},
                     "wall_seconds": 1.0, "build_seconds": 1.0},
            "kernels": {f"k{k}": {} for k in keys},
            "scenarios": [dict(_scenario_record(), key=f"qwen3-30b-a3b/gemm1/e4m3/t{k}", tokens=k) for k in keys]}


def test_merge_runs_and_refuse_mixed_ones(tmp_path):
    merged = report.merge([_run([1, 8]), _run([4096])])
    assert [s["tokens"] for s in merged["scenarios"]] == [1, 8, 4096]
    assert len(merged["meta"]["merged_runs"]) == 2 and merged["goals"][0]["count"] == 3
    for bad, why in (([_run([1]), _run([8], card="NVIDIA H200")], "H200"),
                     ([_run([1]), _run([8], files={"cost.py": "y"})], "cost-model"),
                     ([_run([1]), _run([1])], "t1")):
        with pytest.raises(ValueError, match=why):
            report.merge(bad)
    a, b, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "m.json"
    a.write_text(json.dumps(_run([1])))
    b.write_text(json.dumps(_run([1])))
    assert report.main([str(a), str(b), "--merge-into", str(out)]) == 2 and not out.exists()
    b.write_text(json.dumps(_run([8])))
    assert report.main([str(a), str(b), "--merge-into", str(out)]) == 0 and out.exists()
    assert report.main([str(a), str(b)]) == 2
