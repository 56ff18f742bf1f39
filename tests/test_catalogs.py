"""Tactic catalogs: the C++ orders, the kernels behind them, their bytes and verdicts, the published failures, the
``tactics`` command and its errors, and (compiled, batched) the oracle on the exact framework compositions."""

import json

import pytest

from smem_tactics.catalogs import (
    DISPATCH,
    FITS,
    NOT_MODELLED,
    SMEM,
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
    assert known_versions("trtllm") == ("1.2", "main-post-12704")
    assert known_versions("flashinfer") == ("0.6.4", "0.7.2.post1")
    assert resolve_version("flashinfer", "0.6.4").cutlass == "4.2.1"
    assert resolve_version("flashinfer", "0.7.2.post1").cutlass == "4.5.0"
    assert resolve_version("trtllm", "1.2.0rc2").cutlass is None
    assert resolve_version("tensorrt-llm", "1.2.1").default_cutlass == ("4.4.1", "4.4.2")
    assert find_version("trtllm", "1.3.0rc17") is None


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
    assert "CUTLASS 4.4.1 rules: 2 of 16 fail (shared memory: 6, 7)" in out
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
    with pytest.raises(SystemExit) as info:
        main(["tactics", "--framework", "trtllm", "--gpu", "gb10", "--dtype", "nvfp4", "--gemm", "3"])
    assert "invalid choice: 3" in str(info.value) and "Traceback" not in capsys.readouterr().err


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
