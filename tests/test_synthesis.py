"""Config synthesis: every candidate is legal, fits its limit, has the most stages that fit; bad input is refused
with a reason."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smem_tactics.cli import main
from smem_tactics.errors import ConfigError, UnsupportedConfigError
from smem_tactics.footprint import footprint
from smem_tactics.legality import violations
from smem_tactics.synthesis import explore, smallest_footprint, synthesize

SPACES = [
    ("sm120", "nvfp4", 101376, "4.5.0"),
    ("sm121", "mxfp8xmxfp4", 101376, "4.5.0"),
    ("sm120", "nvfp4", 101376, "4.2.0"),
    ("sm90", "fp8", 101376, "4.2.0"),
    ("sm90", "bf16", 232448, "4.5.0"),
    ("sm100", "nvfp4", 232448, "4.5.0"),
    ("sm121", "fp8", 101376, "4.7.0"),
]


def _one_more_does_not_fit(c) -> bool:
    try:
        return footprint(c.config.with_stages(c.stages + 1)).total_bytes > c.limit_bytes
    except UnsupportedConfigError:
        return True


@pytest.mark.parametrize("arch,dtype,limit,cutlass", SPACES)
def test_every_candidate_is_legal_fits_and_has_the_most_stages(arch, dtype, limit, cutlass):
    cands = synthesize(arch, dtype, limit, cutlass=cutlass)
    assert cands
    for c in cands:
        assert violations(c.config) == [], c.name
        assert isinstance(c.config.stages, int) and c.config.stages == c.stages >= 2
        fp = footprint(c.config)
        assert fp.total_bytes == c.total_bytes <= limit
        assert sum(fp.parts.values()) == fp.total_bytes
        assert _one_more_does_not_fit(c), c.name
        assert str(c.config.cutlass) == cutlass


@settings(max_examples=25, deadline=None)
@given(limit=st.integers(min_value=40000, max_value=232448), swap=st.booleans(),
       schedule=st.sampled_from(["cooperative", "pingpong"]))
def test_stage_count_is_maximal_for_any_limit(limit, swap, schedule):
    try:
        cands = synthesize("sm90", "bf16", limit, cutlass="4.2.0", swap_ab=[swap], schedules=[schedule],
                           tiles_n=[16, 128], tile_k_bytes=[64, 128], clusters=[[1, 1, 1]], epilogues=["void_c"])
    except ConfigError:
        assert limit < smallest_footprint("sm90", "bf16", "4.2.0", swap_ab=[swap], schedules=[schedule],
                                          tiles_n=[16, 128], tile_k_bytes=[64, 128], clusters=[[1, 1, 1]],
                                          epilogues=["void_c"])
        return
    for c in cands:
        assert c.total_bytes <= limit and _one_more_does_not_fit(c)


def test_swap_ab_puts_the_weight_in_a_and_writes_d_column_major():
    cands = synthesize("sm121", "mxfp8xmxfp4", 101376, swap_ab=[True])
    assert cands and all(c.swap_ab for c in cands)
    for c in cands:
        assert c.config.a.value == "mxfp4" and c.config.b.value == "mxfp8_e4m3"
        assert c.config.layout_cd.value == "col" and c.name.endswith("_swapab")


def test_small_n_and_64_byte_k_tiles_are_in_the_sm120_space():
    shapes = {(c.tile, c.schedule) for c in synthesize("sm120", "nvfp4", 101376)}
    assert ((128, 32, 128), "pingpong") in shapes  # N = 32, K = 64 bytes of FP4
    assert ((128, 32, 64), "cooperative") in shapes  # K = 32 bytes
    assert ((128, 128, 256), "cooperative") in shapes  # TensorRT-LLM's 128x128x128B


def test_rejections_carry_cutlass_reasons():
    _, rejected = explore("sm120", "nvfp4", 101376, cutlass="4.5.0")
    reasons = {r.reason for r in rejected}
    assert any("N >= 32" in r for r in reasons)  # N = 8, 16 before CUTLASS 4.6
    assert any("accumulators" in r for r in reasons)  # 256x256 would spill
    assert any(r.startswith("even StageCount<2> needs") for r in reasons)
    assert all(r.reason for r in rejected)


def test_two_cta_variants_fit_half_the_sm():
    cands = synthesize("sm120", "nvfp4", 101376, ctas_per_sm=(1, 2), smem_per_sm=102400, swap_ab=[True],
                       schedules=["pingpong"], tiles_m=[128], tiles_n=[32])
    two = [c for c in cands if c.ctas_per_sm == 2]
    assert two and all(c.total_bytes <= 102400 // 2 - 1024 == c.limit_bytes for c in two)
    assert all(_one_more_does_not_fit(c) for c in two)


def test_sm12x_stage_counts_beat_cutlass_auto_for_trtllm_tiles():
    """Pinned stages never fall below what StageCountAutoCarveout gives for the same tile (it cannot, since auto
    must fit too); for 128x32 tiles the explicit count is higher."""
    cands = {c.short(): c for c in synthesize("sm120", "nvfp4", 101376, epilogues=["c_eq_d"])}
    auto = footprint(cands["co 128x32x128 s7 C=D"].config.with_stages("auto"))
    assert auto.stages <= 7 and auto.total_bytes <= 101376


@pytest.mark.parametrize("kwargs,field", [
    (dict(arch="sm120", dtype="bf16", limit_bytes=101376), "dtype"),
    (dict(arch="sm120", dtype="int3", limit_bytes=101376), "dtype"),
    (dict(arch="sm75", dtype="nvfp4", limit_bytes=101376), "arch"),
    (dict(arch="sm120", dtype="nvfp4", limit_bytes=20000), "limit_bytes"),
    (dict(arch="sm120", dtype="nvfp4", limit_bytes=-5), "limit_bytes"),
])
def test_bad_input_is_refused_with_the_allowed_values(kwargs, field):
    with pytest.raises(ConfigError) as e:
        synthesize(**kwargs)
    assert e.value.field == field and e.value.allowed


def test_limit_too_small_names_the_smallest_footprint():
    with pytest.raises(ConfigError) as e:
        synthesize("sm120", "nvfp4", 15000)
    assert str(smallest_footprint("sm120", "nvfp4")) in str(e.value)


def test_cli_synthesize_lists_and_ranks(capsys):
    assert main(["synthesize", "--arch", "sm90", "--dtype", "fp8", "--limit", "101376", "--cutlass", "4.2.0",
                 "--gpu", "h100", "--model", "qwen3-30b-a3b", "--tokens", "decode-8", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "why #1:" in out and "swapAB" in out.split("why #1:")[0]


@pytest.mark.parametrize("argv,needle", [
    (["synthesize", "--arch", "sm120", "--dtype", "bf16"], "dtype"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--limit", "1000"], "no nvfp4 config"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--gpu", "gb10"], "all of --gpu, --model or none"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--tokens", "8"], "nothing to rank"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--top", "0"], "--top"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--tiles-m", ","], "empty item"),
    (["synthesize", "--arch", "sm120", "--dtype", "nvfp4", "--gpu", "gb10", "--model", "qwen3-30b", "--tokens", "1000000000000"], "bucket"),
])
def test_cli_bad_input_is_one_line_without_traceback(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err and "Traceback" not in err


def test_sm12x_fp8_needs_cutlass_4_6_and_uses_the_sm120_dense_schedules():
    with pytest.raises(ConfigError, match="4.6.0 or newer"):
        synthesize("sm121", "fp8", 101376, cutlass="4.5.0")
    cands = synthesize("sm120", "fp8", 101376, cutlass="4.6.0", tiles_n=[16, 128])
    assert cands and {c.config.kernel_schedule.value for c in cands} <= {
        "KernelPtrArrayTmaWarpSpecializedCooperativeSm120", "KernelPtrArrayTmaWarpSpecializedPingpongSm120"}
    assert all(c.config.kind.value == "dense" and c.config.a.value == "e4m3" for c in cands)
