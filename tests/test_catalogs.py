"""Tactic catalogs: the C++ orders, the kernels behind them, their bytes and verdicts, the published failures, the
``tactics`` command and its errors, and (compiled, batched) the oracle on the exact framework compositions."""

import json

import pytest

from smem_tactics.catalogs import (
    DISPATCH,
    FITS,
    NOT_MODELLED,
    SMEM,
    catalog_for,
    find_version,
    judge_all,
    kernel_for,
    known_versions,
    resolve_version,
    smallest,
    tactics,
)
from smem_tactics.cli import main
from smem_tactics.errors import ConfigError, VersionError
from smem_tactics.layout.sm80_grouped import GroupedSm80Config, sm80_footprint

GB10 = 101376


def _tiles(listing):
    return [(t.tile_name, t.fusion, t.swap_ab) for t in listing]


# -- orders ------------------------------------------------------------------------------------------------


def test_trtllm_12_sm121_nvfp4_gemm2_is_four_tiles_x_finalize_x_swap_in_cpp_order():
    listing = tactics("trtllm", "1.2.1", "sm121", "nvfp4", gemm=2)
    base = ["CtaShape128x128x128B", "CtaShape128x128x64B", "CtaShape128x256x64B", "CtaShape256x128x64B"]
    expected = ([(b, "NONE", False) for b in base] + [(b, "FINALIZE", False) for b in base]
                + [(b, "NONE", True) for b in base] + [(b, "FINALIZE", True) for b in base])
    assert _tiles(listing) == expected
    assert [t.value for t in listing] == list(range(16))
    # K in the tile enum is bytes: FP4 doubles it in elements
    assert [t.tile for t in listing[:4]] == [(128, 128, 256), (128, 128, 128), (128, 256, 128), (256, 128, 128)]
    assert _tiles(tactics("trtllm", "1.2", "sm121", "nvfp4", gemm=1)) == expected[:4] + expected[8:12]


def test_finalize_off_makes_gemm2_equal_gemm1():
    g1 = tactics("trtllm", "1.2", "sm120", "nvfp4", gemm=1)
    assert _tiles(tactics("trtllm", "1.2", "sm120", "nvfp4", gemm=2, finalize=False)) == _tiles(g1)


@pytest.mark.parametrize("framework, version, arch, dtype, g1, g2", [
    ("trtllm", "1.2", "sm121", "nvfp4", 8, 16),
    ("trtllm", "1.2", "sm120", "mxfp8_mxfp4", 2, 4),
    ("trtllm", "1.2", "sm120", "fp8", 21, 21),
    ("trtllm", "1.2", "sm120", "bf16", 9, 9),
    ("trtllm", "1.2", "sm90", "bf16", 45, 81),
    ("trtllm", "1.2", "sm90", "fp8", 36, 72),
    ("trtllm", "1.2", "sm100", "nvfp4", 42, 84),
    ("trtllm", "1.2", "sm103", "nvfp4", 98, 168),
    ("trtllm", "main-post-12704", "sm121", "nvfp4", 6, 12),
    ("flashinfer", "0.6.4", "sm120", "mxfp8_mxfp4", 8, 16),
    ("flashinfer", "0.7.2.post1", "sm121", "nvfp4", 16, 32),
    ("flashinfer", "0.7.2.post1", "sm120", "mxfp8_mxfp4", 6, 12),
    ("flashinfer", "0.7.2.post1", "sm90", "w4a8", 116, 116),
    ("flashinfer", "0.6.4", "sm90", "w4a16", 48, 48),
    ("flashinfer", "0.6.4", "sm100", "bf16", 209, 309),
])
def test_counts(framework, version, arch, dtype, g1, g2):
    assert len(tactics(framework, version, arch, dtype, 1)) == g1
    assert len(tactics(framework, version, arch, dtype, 2)) == g2


def test_flashinfer_numbers_gemm2_after_gemm1_and_swaps_two_tiles_in_072():
    g2 = tactics("flashinfer", "0.7.2.post1", "sm121", "nvfp4", 2)
    assert [t.value for t in g2] == list(range(16, 48)) and [t.index for t in g2] == list(range(32))
    assert [t.tile_name for t in g2[:4]] == ["CtaShape128x128x128B", "CtaShape128x128x64B", "CtaShape256x128x64B",
                                             "CtaShape128x256x64B"]
    assert [t.value for t in tactics("flashinfer", "0.6.4", "sm120", "nvfp4", 2)] == list(range(8, 24))


def test_sm89_fp8_tile_order_differs_between_frameworks():
    trt = tactics("trtllm", "1.2", "sm120", "fp8", 1)
    fi = tactics("flashinfer", "0.6.4", "sm120", "fp8", 1)
    assert trt[0].tile == (16, 256, 128) and fi[-1].tile == (16, 256, 128)
    assert [t.stages for t in trt[:3]] == [2, 3, 4] and all(t.family == "sm80" for t in trt)


def test_post_12704_drops_the_k256_tile():
    g2 = tactics("trtllm", "main-post-12704", "sm121", "nvfp4", 2)
    assert "CtaShape128x128x128B" not in {t.tile_name for t in g2}


def test_sm100_two_sm_tactics_double_the_mma_tile_m():
    two_sm = [t for t in tactics("trtllm", "1.2", "sm100", "nvfp4", 1) if t.cluster[0] == 2]
    assert two_sm and all(t.mma_tile[0] == 2 * t.tile[0] for t in two_sm)


# -- kernels, bytes, verdicts ------------------------------------------------------------------------------

#: Measured by the catalog oracle (CUTLASS 4.2.0 .. 4.7.0, TensorRT-LLM's launcher composition, bf16 output).
TRTLLM_GEMM2_BYTES = [89088, 89088, 98304, 98304, 93184, 93184, 102400, 102400,
                      89088, 89088, 98304, 98304, 93184, 93184, 74752, 74752]


@pytest.mark.parametrize("cutlass", ["4.4.1", "4.4.2"])
def test_trtllm_12_gb10_nvfp4_gemm2_two_finalize_tiles_fail_on_shared_memory(cutlass):
    verdicts = judge_all(tactics("trtllm", "1.2", "sm121", "nvfp4", 2), GB10, cutlass)
    assert [v.total_bytes for v in verdicts] == TRTLLM_GEMM2_BYTES
    failing = [v.tactic.index for v in verdicts if not v.fits]
    assert failing == [6, 7] and all(verdicts[i].cause == SMEM and verdicts[i].margin == -1024 for i in failing)
    assert all(v.cause == FITS for i, v in enumerate(verdicts) if i not in failing)


def test_the_finalize_epilogue_keeps_c_and_d_buffers_and_the_bias_row():
    t = tactics("trtllm", "1.2", "sm121", "nvfp4", 2)[6]
    cfg = kernel_for(t, cutlass="4.4.1").config
    assert cfg.c.value == "bf16" and cfg.fusion.op.is_scatter and cfg.epilogue_schedule.value == "TmaWarpSpecialized"
    from smem_tactics import footprint

    fp = footprint(cfg)
    # C and D (both 64x32 bf16, 2 stages) = 16384 B, bias row of 256 bf16 = 512 B
    assert fp.parts["epilogue C/D"] == 16384 and fp.parts["fusion storage"] == 512
    assert fp.epilogue_shared_bytes == 17408 and fp.stages == 3 and fp.total_bytes == 102400


def test_cutlass_3144_number_is_the_finalize_128x256_tile():
    g2 = tactics("trtllm", "main-post-12704", "sm121", "nvfp4", 2)
    hits = {v.total_bytes for v in judge_all(g2, GB10, "4.4.1")
            if v.tactic.tile_name == "CtaShape128x256x64B" and v.tactic.finalize and not v.tactic.swap_ab}
    assert hits == {102400}


def test_sm89_fp8_and_sm80_bf16_kernels():
    fp8 = judge_all(tactics("trtllm", "1.2", "sm120", "fp8", 1), GB10, "4.4.1")
    bad = [(v.tactic.tile, v.tactic.stages, v.total_bytes) for v in fp8 if not v.fits]
    assert bad == [((16, 256, 128), 3, 104448), ((16, 256, 128), 4, 139264)]
    assert {v.total_bytes for v in fp8 if v.tactic.tile == (128, 256, 64) and v.tactic.stages == 4} == {98304}
    gemm1 = judge_all(tactics("trtllm", "1.2", "sm120", "bf16", 1), GB10, "4.4.1")  # SwiGLU: fused gate kernel
    assert [(v.tactic.tile, v.tactic.stages) for v in gemm1 if not v.fits] == [
        ((64, 128, 64), 4), ((128, 128, 64), 3), ((128, 128, 64), 4)]
    relu = judge_all(tactics("trtllm", "1.2", "sm120", "bf16", 1), GB10, "4.4.1", activation="relu")
    assert [(v.tactic.tile, v.tactic.stages) for v in relu if not v.fits] == [((128, 128, 64), 4)]


def test_fused_gate_kernel_must_stay_strictly_below_the_limit():
    cfg = GroupedSm80Config.create("sm80", "bf16", "bf16", (64, 128, 64), (32, 64, 64), 3, kernel="fused_gated")
    fp = sm80_footprint(cfg)
    assert fp.total_bytes == 81920 and fp.fits(81921) and not fp.fits(81920)
    plain = sm80_footprint(GroupedSm80Config.create("sm80", "bf16", "bf16", (64, 128, 64), (32, 64, 64), 3))
    assert plain.fits(plain.total_bytes)


def test_half_output_doubles_the_2x_epilogue_tile_without_sliced_k():
    # measured: sizeof(Epilogue::SharedStorage) of the Sm89 128x256x64 / 64x64x64-warp kernel is 16896 B with a
    # bf16 output and 33792 B with a half output (DefaultIteratorsTensorOp<half_t, float, 8>); sliced K: no change
    def epi(d, tile, warp):
        cfg = GroupedSm80Config.create("sm89", "e4m3", d, tile, warp, 2)
        return sm80_footprint(cfg).parts["epilogue (accumulator tile)"]

    assert epi("bf16", (128, 256, 64), (64, 64, 64)) == 16896 and epi("f16", (128, 256, 64), (64, 64, 64)) == 33792
    assert epi("bf16", (64, 64, 128), (32, 64, 64)) == epi("f16", (64, 64, 128), (32, 64, 64)) == 9216


def test_dispatch_failures_are_not_called_shared_memory():
    verdicts = judge_all(tactics("flashinfer", "0.6.4", "sm120", "mxfp8_mxfp4", 2), GB10, "4.2.1")
    assert sum(v.cause == DISPATCH for v in verdicts) == 12 and not any(v.cause == SMEM for v in verdicts)


def test_unmodelled_kernels_are_never_judged_unfit():
    for v in judge_all(tactics("trtllm", "1.2", "sm103", "nvfp4", 2), GB10, "4.4.1"):
        assert v.cause == NOT_MODELLED and v.fits and v.total_bytes is None
    w4 = judge_all(tactics("trtllm", "1.2", "sm90", "w4a8", 1), 232448, "4.4.1")
    assert {v.cause for v in w4} == {NOT_MODELLED}


def test_unknown_limit_prunes_nothing():
    verdicts = judge_all(tactics("trtllm", "1.2", "sm121", "nvfp4", 2), None, "4.4.1")
    assert all(v.fits for v in verdicts) and verdicts[6].total_bytes == 102400


def test_smallest_and_fallback():
    verdicts = judge_all(tactics("trtllm", "1.2", "sm121", "nvfp4", 2), GB10, "4.4.1")
    assert smallest(verdicts).total_bytes == 74752


def test_versions_and_what_they_ship():
    assert known_versions("trtllm") == ("1.2", "1.3", "main")
    assert known_versions("flashinfer") == ("0.6.4", "0.6.9", "0.7.2.post1", "0.7.4")
    assert [resolve_version("flashinfer", v).cutlass for v in known_versions("flashinfer")] == \
        ["4.2.1", "4.4.2", "4.5.0", "4.5.0"]
    assert resolve_version("trtllm", "1.2.0rc2").cutlass is None
    assert resolve_version("tensorrt-llm", "1.2.1").default_cutlass == ("4.4.1", "4.4.2")
    assert find_version("trtllm", "1.3.0rc17").key == "1.3" and find_version("trtllm", "1.4.0rc1").key == "main"
    assert find_version("trtllm", "main-post-12704").key == "main"  # the old name still works
    # the default is the newest entry read at its own tag, never one checked only at run time
    assert resolve_version("trtllm").key == "1.2" and resolve_version("flashinfer").key == "0.7.4"


@pytest.mark.parametrize("framework, version, key, how", [
    ("trtllm", "1.2.1", "1.2", "exact"), ("trtllm", "1.3.0rc17", "1.3", "exact"), ("trtllm", "1.4.0rc1", "main", "exact"),
    ("trtllm", "1.6.0", "main", "newer"), ("trtllm", "1.1.0", None, None), ("trtllm", "junk", None, None),
    ("flashinfer", "0.6.9", "0.6.9", "exact"), ("flashinfer", "0.8.0", "0.7.4", "newer"), ("flashinfer", "0.6.5", None, None),
])
def test_installed_version_picks_its_catalog(framework, version, key, how):
    fv, got = catalog_for(framework, version)
    assert (fv.key if fv else None) == key and (got if fv else None) == how


@pytest.mark.parametrize("framework, version, value, name", [
    # TensorRT-LLM main line: enum class ActivationType in cpp/.../cutlass_kernels/include/common.h@3585984b
    ("trtllm", "main", 2, "gelu"), ("trtllm", "main", 3, "relu"), ("trtllm", "main", 5, "swiglu"),
    ("trtllm", "main", 6, "geglu"), ("trtllm", "1.3", 5, "swiglu"),
    ("trtllm", "1.2", 5, None),  # the 1.2-era MoERunner carries no activation: ints are not interpreted
    # FlashInfer: ActivationType in each wheel (Identity moved from 7 to 9 in 0.7)
    ("flashinfer", "0.6.4", 3, "swiglu"), ("flashinfer", "0.6.9", 7, "identity"),
    ("flashinfer", "0.7.2.post1", 4, "geglu"), ("flashinfer", "0.7.2.post1", 9, "identity"),
    ("flashinfer", "0.7.4", 13, "powlu"), ("flashinfer", "0.7.4", 99, None), ("flashinfer", "0.7.4", True, None),
])
def test_activation_enum_per_version(framework, version, value, name):
    assert resolve_version(framework, version).activation(value) == name


def test_every_version_says_what_its_tuner_does_with_an_empty_list_and_its_cache():
    for fw in ("trtllm", "flashinfer"):
        for key in known_versions(fw):
            fv = resolve_version(fw, key)
            assert fv.empty_list and fv.activation_source and "writable" in fv.cache, key
            assert fv.cache["writable"] or fv.cache["reason"], key
    assert not resolve_version("trtllm", "1.2").cache["writable"]  # hash(runner) keys: per process
    assert "hash(runner)" in resolve_version("trtllm", "1.2").cache["reason"]
    assert resolve_version("trtllm", "main").cache["writable"]
    assert [resolve_version("flashinfer", k).blocklist for k in known_versions("flashinfer")] == \
        [False, False, True, True]


def test_flashinfer_069_sm121_nvfp4_offers_six_tiles_two_without_a_dispatch_case():
    g1 = tactics("flashinfer", "0.6.9", "sm121", "nvfp4", 1)
    g2 = tactics("flashinfer", "0.6.9", "sm121", "nvfp4", 2)
    assert (len(g1), len(g2)) == (12, 24) and g2[0].value == 12  # combined index
    assert [t.tile_name for t in g1[:6]] == ["CtaShape128x128x128B", "CtaShape128x128x64B", "CtaShape256x128x64B",
                                             "CtaShape128x256x64B", "CtaShape128x128x256B", "CtaShape256x128x128B"]
    verdicts = judge_all(g1 + g2, GB10, "4.4.2")
    bad = {v.tactic.value: v.kind for v in verdicts if not v.fits}
    assert bad == {**{x: "no dispatch case" for x in (4, 5, 10, 11, 16, 17, 22, 23, 28, 29, 34, 35)},
                   20: "shared memory", 21: "shared memory"}
    assert "SHAPE_CASE(120, 128, 128, 256)" in next(v.reason for v in verdicts if v.tactic.value == 4)
    assert next(v for v in verdicts if v.tactic.value == 20).why() == "shared memory: 102400 B > 101376 B"


def test_flashinfer_074_lists_equal_0721s():
    for gemm in (1, 2):
        for dtype in ("nvfp4", "mxfp8_mxfp4", "fp8", "bf16"):
            a = tactics("flashinfer", "0.7.2.post1", "sm120", dtype, gemm)
            b = tactics("flashinfer", "0.7.4", "sm120", dtype, gemm)
            assert [x.to_dict() for x in a] == [x.to_dict() for x in b]


@pytest.mark.parametrize("kwargs, field", [
    (dict(cutlass="junk"), "cutlass"), (dict(cutlass=[4, 5, 0]), "cutlass"), (dict(cutlass="3.9.0"), "cutlass"),
    (dict(output="e4m3"), "output"), (dict(activation="mish"), "activation"), (dict(limit=-1), "limit"),
    (dict(limit="lots"), "limit"), (dict(limit=True), "limit"),
])
def test_judge_all_refuses_bad_arguments_instead_of_marking_everything_not_modelled(kwargs, field):
    args = dict(limit=GB10, cutlass="4.4.1", output="bf16", activation="swiglu")
    args.update(kwargs)
    with pytest.raises(ConfigError) as info:
        judge_all(tactics("trtllm", "1.2", "sm121", "nvfp4", 2), args["limit"], args["cutlass"], args["output"],
                  args["activation"])
    assert str(info.value).startswith(field + ":")
    with pytest.raises(ConfigError):
        judge_all(["not a tactic"], GB10, "4.4.1")


@pytest.mark.parametrize("call, field", [
    (lambda: tactics("vllm", None, "sm120", "nvfp4", 1), "framework"),
    (lambda: tactics("trtllm", "1.1.0", "sm120", "nvfp4", 1), "version"),
    (lambda: tactics("trtllm", "1.2", "sm80", "nvfp4", 1), "arch"),
    (lambda: tactics("trtllm", "1.2", "sm120", "int3", 1), "dtype"),
    (lambda: tactics("trtllm", "1.2", "sm120", "w4a8", 1), "dtype"),
    (lambda: tactics("trtllm", "1.2", "sm120", "nvfp4", 3), "gemm"),
])
def test_bad_input_names_the_field_and_the_choices(call, field):
    with pytest.raises(VersionError) as info:
        call()
    assert str(info.value).startswith(field + ":") and ("allowed" in str(info.value) or "known" in str(info.value)
                                                          or "cataloged" in str(info.value))


def test_bad_output_type_is_a_config_error():
    with pytest.raises(ConfigError):
        kernel_for(tactics("trtllm", "1.2", "sm120", "nvfp4", 1)[0], output="e4m3")


# -- the command ---------------------------------------------------------------------------------------------


def test_tactics_command_shows_both_cutlass_rule_sets_and_the_published_failures(capsys):
    assert main(["tactics", "--framework", "trtllm", "--gpu", "gb10", "--dtype", "nvfp4", "--gemm", "2"]) == 0
    out = capsys.readouterr().out
    assert "CUTLASS 4.4.1: bytes stages verdict" in out and "CUTLASS 4.4.2: bytes stages verdict" in out
    assert "CUTLASS 4.4.1 rules: 2 of 16 cannot run (tuner values -- shared memory: 6, 7)" in out
    assert "102400 s3 FAILS (over by 1024)" in out
    assert "published: 13 of 16 failed" in out and "the other 11 are not explained by shared memory" in out
    assert "fallback (tactic -1 -> index 0)" in out


def test_tactics_command_json(capsys):
    assert main(["tactics", "--framework", "flashinfer", "--version", "0.6.4", "--gpu", "gb10", "--dtype", "fp8",
                 "--json", "--gemm", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cutlass_shipped"] == "4.2.1" and len(data["gemms"][0]["tactics"]) == 21
    assert [t["verdicts"]["4.2.1"]["fits"] for t in data["gemms"][0]["tactics"]].count(False) == 2


@pytest.mark.parametrize("argv, needle", [
    (["--framework", "vllm", "--gpu", "gb10", "--dtype", "nvfp4"], "framework: 'vllm' is not cataloged"),
    (["--framework", "trtllm", "--version", "9.9", "--gpu", "gb10", "--dtype", "nvfp4"], "has no catalog; known"),
    (["--framework", "trtllm", "--gpu", "gb11", "--dtype", "nvfp4"], "gpu: 'gb11' is not in the device table"),
    (["--framework", "trtllm", "--gpu", "gb10", "--dtype", "fp5"], "dtype: 'fp5' is not a MoE dtype path"),
    (["--framework", "trtllm", "--gpu", "gb10", "--dtype", "nvfp4", "--cutlass", "3.9"], "cutlass:"),
])
def test_tactics_command_bad_input_is_one_line(capsys, argv, needle):
    assert main(["tactics", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_tactics_command_bad_gemm_is_a_usage_error(capsys):
    assert main(["tactics", "--framework", "trtllm", "--gpu", "gb10", "--dtype", "nvfp4", "--gemm", "3"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 3" in err and "Traceback" not in err


def test_tactics_command_flashinfer_069_gb10_explains_every_failure_and_reproduces_the_published_lists(capsys):
    assert main(["tactics", "--framework", "flashinfer", "--version", "0.6.9", "--gpu", "gb10", "--dtype", "nvfp4"]) == 0
    out = capsys.readouterr().out
    assert "CUTLASS 4.4.2 rules: 4 of 12 cannot run (tuner values -- no dispatch case: 4, 5, 10, 11)" in out
    assert ("CUTLASS 4.4.2 rules: 10 of 24 cannot run (tuner values -- no dispatch case: 16, 17, 22, 23, 28, 29, 34, "
            "35; shared memory: 20, 21)") in out
    assert "  20 (GEMM2 #8 256x128x128 (CtaShape256x128x64B) FINALIZE): shared memory: 102400 B > 101376 B" in out
    assert "  4 (GEMM1 #4 128x128x512 (CtaShape128x128x256B)): no dispatch case: dispatchMoeGemmSelectTileShape" in out
    assert "published (NvFP4-CUTLASS probe, https://github.com/flashinfer-ai/flashinfer/pull/2997)" in out
    assert "GEMM1: reproduced index for index (4)" in out and "GEMM2: reproduced index for index (10)" in out
    # the published file is the union of three probes keyed by op only: loaded for NVFP4 it also blocks GEMM1 7
    assert "19 entries" in out and "also blocks [7], which run on this path" in out


# -- PR #2997's GB10 probe, index for index ----------------------------------------------------------------
# https://github.com/flashinfer-ai/flashinfer/pull/2997 ("Validation / DGX Spark / GB10 (SM121), tested by @askliar";
# the same text is the message of flashinfer main's squash commit f8a2da2c882564ee21cb809643b74c5f1895d6c7). The probe
# (flashinfer/tactics_blocklist_gen.py of that commit) runs cutlass_fused_moe under autotune with SwiGLU, bf16 output
# and fused finalize, and records what AutoTuner.stats.failed_tactics collects: tactics that were profiled and
# failed. Its file's _metadata names FlashInfer 0.6.9. Written out here, not read from the catalog data.
PR_2997_GB10 = {
    "nvfp4": ([10, 11, 4, 5], [34, 35, 16, 17, 20, 21, 22, 23, 28, 29]),  # [NvFP4-CUTLASS]
    "fp8": ([19, 20], [40, 41]),  # [Fp8-PerTensor-CUTLASS]
    "bf16": ([5, 7], []),  # [BF16-CUTLASS]
}
PR_2997_FILE = {"trtllm::fused_moe::gemm1::MoERunner": [19, 4, 5, 20, 7, 10, 11],
                "trtllm::fused_moe::gemm2::MoERunner": [34, 35, 40, 41, 16, 17, 20, 21, 22, 23, 28, 29]}


def _probe_records(version, dtype, gemm):
    from smem_tactics.catalogs.prefilter import screen

    fv = resolve_version("flashinfer", version)
    verdicts = judge_all(tactics("flashinfer", version, "sm121", dtype, gemm), GB10, "4.4.2")
    screened = screen(fv, dtype, verdicts, GB10, "4.4.2")
    return sorted(s.verdict.tactic.value for s in screened if s.fails_when_profiled), screened


@pytest.mark.parametrize("dtype", sorted(PR_2997_GB10))
def test_flashinfer_069_gb10_reproduces_pr_2997_failed_tactics_index_for_index(dtype):
    for gemm, published in zip((1, 2), PR_2997_GB10[dtype]):
        ours, _ = _probe_records("0.6.9", dtype, gemm)
        assert ours == sorted(published), (dtype, gemm)


def test_pr_2997_file_is_the_union_of_the_three_probes_and_counts_19():
    union = {1: set(), 2: set()}
    for g1, g2 in PR_2997_GB10.values():
        union[1] |= set(g1)
        union[2] |= set(g2)
    assert union[1] == set(PR_2997_FILE["trtllm::fused_moe::gemm1::MoERunner"])
    assert union[2] == set(PR_2997_FILE["trtllm::fused_moe::gemm2::MoERunner"])
    assert len(union[1]) + len(union[2]) == 19


def test_bf16_gemm1_pre_filter_sizes_the_plain_kernel_so_the_gated_5_and_7_are_profiled_and_8_is_not():
    ours, screened = _probe_records("0.6.9", "bf16", 1)
    by_value = {s.verdict.tactic.value: s for s in screened}
    assert [v for v, s in by_value.items() if not s.verdict.fits] == [5, 7, 8]
    assert by_value[5].profiled and by_value[7].profiled and not by_value[8].profiled
    assert "98304 B" in by_value[5].reason and "106496 B" in by_value[5].reason
    assert "131072 B" in by_value[8].reason
    assert ours == [5, 7]


def test_fp8_pre_filter_reports_zero_everywhere_so_the_tuner_keeps_every_tactic():
    _, screened = _probe_records("0.6.9", "fp8", 1)
    assert all(s.profiled for s in screened) and "alpha_scales" in screened[0].reason


def test_tactics_command_json_says_which_tactics_the_tuner_profiles(capsys):
    assert main(["tactics", "--framework", "flashinfer", "--version", "0.6.9", "--gpu", "gb10", "--dtype", "bf16",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    gemm1 = data["gemms"][0]["tactics"]
    assert [t["value"] for t in gemm1 if not t["tuner_prefilter"]["profiled"]] == [8]
    assert any("reproduced index for index" in line for line in data["published"])


def test_pre_filter_per_version():
    from smem_tactics.catalogs.prefilter import screen

    assert screen(resolve_version("flashinfer", "0.6.4"), "nvfp4", [], GB10, "4.2.1") is None
    # 0.7.x probes the TMA WS dispatch: on 0.6.9's six-tile NVFP4 list it would drop the four tiles without a case
    verdicts = judge_all(tactics("flashinfer", "0.6.9", "sm121", "nvfp4", 1), GB10, "4.4.2")
    screened = screen(resolve_version("flashinfer", "0.7.2.post1"), "nvfp4", verdicts, GB10, "4.4.2")
    assert [s.verdict.tactic.value for s in screened if not s.profiled] == [4, 5, 10, 11]
    screened = screen(resolve_version("flashinfer", "0.6.9"), "nvfp4", verdicts, GB10, "4.4.2")
    assert all(s.profiled for s in screened)


# -- the oracle on the framework's own composition (compiles; one batch per kernel family) ------------------


def test_oracle_agrees_on_trtllm_sm121_tactics_against_installed_cutlass():
    from cpp_bindings.catalog_oracle import AGREE, verify
    from cpp_bindings.trees import find_toolchain, installed_trees

    trees = {t.version: t for t in installed_trees()}
    if "4.5.0" not in trees:
        pytest.fail("CUTLASS 4.5.0 (flashinfer-python 0.7.2.post1) is not installed; see .ci/run")
    tc = find_toolchain()
    if tc.cxx is None or tc.cuda_include is None:
        pytest.fail("the oracle needs g++ and CUDA headers (cuda_runtime.h); set CUDA_HOME")
    listings = [tactics("trtllm", "1.2", "sm121", "nvfp4", 2), tactics("trtllm", "1.2", "sm121", "fp8", 1)[:6],
                tactics("trtllm", "1.2", "sm121", "bf16", 1)[3:6]]
    rows, skipped = verify(listings, trees["4.5.0"], jobs=2)
    assert not skipped and len(rows) == 16 + 6 + 3
    assert all(r.status == AGREE for r in rows), [(r.key.name(), r.detail) for r in rows if r.status != AGREE]
    half, _ = verify([tactics("flashinfer", "0.7.2.post1", "sm121", "fp8", 2)[12:15]], trees["4.5.0"], output="f16")
    assert [r.status for r in half] == [AGREE] * 3 and {r.measured["epi_shared"] for r in half} == {33792}
    measured = {r.tactics[0].index: r.measured["total"] for r in rows if r.tactics[0].dtype == "nvfp4"}
    assert [measured[i] for i in range(16)] == TRTLLM_GEMM2_BYTES
