"""CUTLASS releases and deltas keyed by release line (smem_tactics/versions.py).

Arrivals per line were found by diffing the headers of every NVIDIA/cutlass tag v4.2.0 .. v4.7.0 and checked by
compiling configs against each tag (docs/verification.md); the byte numbers below were measured with the host
probe against v4.2.1, v4.2.2, v4.3.5 and v4.3.6.
"""

import pytest

from smem_tactics import KernelConfig, footprint
from smem_tactics import versions as V
from smem_tactics.errors import ConfigError, VersionError
from smem_tactics.versions import CutlassVersion

#: The nine releases modelled (and compiled against) before patch lines were modelled, and each delta's cut-off
#: then ("since"): every existing delta must keep its meaning on them.
NINE = ("4.2.0", "4.2.1", "4.3.0", "4.4.0", "4.4.1", "4.4.2", "4.5.0", "4.6.0", "4.7.0")
OLD_SINCE = {
    "sm100_async_tensormap": "4.3.0", "sm100_epi_tile_n_fallback": "4.3.0", "sm100_capacity_assert_in_body": "4.3.0",
    "sm100_2sm_epi_n64": "4.6.0", "cute_swizzled_smem_slice": "4.6.0", "blockscaled_stage_pipeline_128": "4.4.0",
    "sm120_reduced_capacity": "4.4.2", "sm120_mxf8f6f4_ptrarray_schedule": "4.4.2", "sm120_sfb_padded": "4.5.0",
    "sm120_sf_k_atom": "4.5.0", "sm120_n_divisibility": "4.5.0", "sm120_small_n": "4.6.0",
    "sm120_dense_ptr_array": "4.6.0",
}


def test_every_tag_is_a_release_and_lines_are_complete():
    got = [str(v) for v in V.RELEASES]
    assert got == ["4.2.0", "4.2.1", "4.2.2", "4.3.0", "4.3.1", "4.3.2", "4.3.3", "4.3.4", "4.3.5", "4.3.6",
                   "4.4.0", "4.4.1", "4.4.2", "4.4.3", "4.5.0", "4.5.1", "4.5.2", "4.5.3", "4.6.0", "4.6.1", "4.6.2",
                   "4.7.0"]
    for text in got:
        assert str(CutlassVersion.parse(text)) == text
        assert CutlassVersion.parse("v" + text) == CutlassVersion.parse(text)


@pytest.mark.parametrize("release", NINE)
def test_existing_deltas_keep_their_meaning_on_the_nine_releases(release):
    v = CutlassVersion.parse(release)
    for name, since in OLD_SINCE.items():
        assert v.has(V.delta_named(name)) == (v >= CutlassVersion.parse(since)), (name, release)


@pytest.mark.parametrize("release,has_128,has_n64", [
    ("4.2.1", False, False), ("4.2.2", True, False), ("4.3.0", False, False), ("4.3.5", False, False),
    ("4.3.6", True, False), ("4.4.0", True, False), ("4.5.1", True, False), ("4.5.2", True, True),
    ("4.5.3", True, True), ("4.6.0", True, True), ("4.7.0", True, True),
])
def test_backports_are_per_line(release, has_128, has_n64):
    v = CutlassVersion.parse(release)
    assert v.has(V.BLOCKSCALED_STAGE_PIPELINE_128) is has_128
    assert v.has(V.SM100_2SM_EPI_N64) is has_n64


def test_delta_table_reads_as_what_changed_when():
    d = V.BLOCKSCALED_STAGE_PIPELINE_128
    assert d.arrivals_text() == "4.2.2, 4.3.6, 4.4.0" and str(d.since) == "4.4.0"
    assert [str(b) for b in d.backports] == ["4.2.2", "4.3.6"]
    text = V.what_changed_when()
    assert "blockscaled_stage_pipeline_128     4.4.0 (backports: 4.2.2, 4.3.6)" in text
    # every arrival is a release, one per line, oldest line first
    for delta in V.DELTAS:
        lines = [a.line for a in delta.arrivals]
        assert len(set(lines)) == len(lines) and list(delta.arrivals) == sorted(delta.arrivals)
        assert all(a in V.RELEASES for a in delta.arrivals)
    with pytest.raises(AssertionError):
        V._delta("x", "4.4.0, 4.2.2", "")  # not oldest line first
    with pytest.raises(AssertionError):
        V._delta("x", "4.3.9", "")  # not a release


@pytest.mark.parametrize("cutlass,stages,total", [
    ("4.2.1", 5, 103424), ("4.2.2", 4, 84992), ("4.3.5", 5, 103424), ("4.3.6", 4, 84992), ("4.4.0", 4, 84992),
])
def test_backported_128_byte_term_moves_sm120_auto_stages(cutlass, stages, total):
    # StageCountAutoCarveoutEpi on SM120 NVFP4 128x128x128: the 128-byte per-stage term (4.2.2, 4.3.6, 4.4.0)
    # takes a stage away; 4.2.1 and 4.3.5 overflow a GB10's 101376 B. Measured with the host probe on each tag.
    cfg = KernelConfig.create("sm120", "nvfp4", d="bf16", tile=(128, 128, 128), stages="auto_epi", cutlass=cutlass)
    fp = footprint(cfg)
    assert (fp.stages, fp.total_bytes) == (stages, total)


def test_sm90_blockwise_m64_rejected_only_between_4_3_0_and_4_4_0():
    def accepted(v):
        cfg = KernelConfig.create("sm90", "e4m3", d="bf16", tile=(64, 128, 128), scale_granularity=(1, 128, 128),
                                  kernel_schedule="KernelPtrArrayTmaWarpSpecializedPingpongFP8Blockwise", cutlass=v)
        try:
            footprint(cfg)
            return True
        except Exception as e:  # noqa: BLE001 -- the rule's error is what is asserted
            assert "NumSplitsM" in str(e)
            return False

    assert [accepted(v) for v in ("4.2.2", "4.3.0", "4.3.6", "4.4.0", "4.4.1", "4.7.0")] == \
        [True, False, False, False, True, True]


@pytest.mark.parametrize("text,needle", [
    ("4.3.9", "the 4.3 line has 4.3.0, 4.3.1, 4.3.2, 4.3.3, 4.3.4, 4.3.5, 4.3.6"),
    ("4.4.4", "the 4.4 line has 4.4.0, 4.4.1, 4.4.2, 4.4.3"),
    ("4.7.1", "newer than the newest modelled release 4.7.0"),
    ("4.8.0", "--assume-cutlass 4.7.0"),
    ("4.1.0", "older than the oldest modelled release 4.2.0"),
    ("four", "is not a version number"),
    ("4.5.0+nonsense", "'nonsense' is not a known delta"),
    ("4.5.0+sm120_sfb_padded-sm120_sfb_padded", "both added (+) and removed (-)"),
    ("4.7.0 as 4.6.0", "is a modelled release; nothing to assume"),
    ("4.3.9 as 4.3.6", "not a CUTLASS release"),
    ("4.8.0 as 4.9.0", "newer than the newest"),
])
def test_unknown_releases_are_refused_with_a_reason(text, needle):
    with pytest.raises(VersionError, match=None) as e:
        CutlassVersion.parse(text)
    assert needle in str(e.value)
    with pytest.raises(ConfigError) as e2:  # through a config: the contract's one-line error
        KernelConfig.create("sm120", "nvfp4", cutlass=text)
    assert "cutlass: " in str(e2.value) and "allowed:" in str(e2.value)


def test_tree_variants_and_assumptions_round_trip_and_answer():
    v = CutlassVersion.parse("4.4.2+sm120_sfb_padded-sm120_reduced_capacity")
    assert v.has(V.SM120_SFB_PADDED) and not v.has(V.SM120_REDUCED_CAPACITY) and v.has(V.BLOCKSCALED_STAGE_PIPELINE_128)
    assert CutlassVersion.parse(str(v)) == v and v.release == CutlassVersion.parse("4.4.2")
    assert "modelled from its headers" in v.describe()
    # deltas a release already agrees with are dropped: a tree identical to a tag is that tag
    assert CutlassVersion.parse("4.5.0+sm120_sfb_padded") == CutlassVersion.parse("4.5.0")
    a = CutlassVersion.parse("4.8.0 as 4.7.0")
    assert a.assumed == "4.8.0" and str(a) == "4.8.0 as 4.7.0" and "assumed" in a.describe()
    assert all(a.has(d) for d in V.DELTAS)
    cfg = KernelConfig.create("sm120", "nvfp4", tile=(128, 128, 128), cutlass=str(v))
    assert KernelConfig.from_dict(cfg.to_dict()) == cfg
    cfg_a = KernelConfig.create("sm120", "nvfp4", tile=(128, 128, 128), cutlass="4.8.0 as 4.7.0")
    assert KernelConfig.from_dict(cfg_a.to_dict()) == cfg_a and cfg_a.to_dict()["cutlass"] == "4.8.0 as 4.7.0"
    # the modelled release answers: 4.4.2 with the 4.5.0 SFB padding is 4.5.0's SM120 layout for this tile
    padded = footprint(KernelConfig.create("sm120", "nvfp4", tile=(128, 64, 128), cutlass="4.4.2+sm120_sfb_padded"))
    plain = footprint(KernelConfig.create("sm120", "nvfp4", tile=(128, 64, 128), cutlass="4.4.2"))
    assert padded.total_bytes != plain.total_bytes


@pytest.mark.parametrize("kw,versions", [
    (dict(d="bf16", tile=(256, 48, 32), cluster=(2, 1, 1), epilogue_schedule="PtrArrayTmaWarpSpecialized2Sm", stages=2),
     ("4.5.0",)),
    (dict(d="bf16", tile=(256, 48, 32), cluster=(2, 1, 1), epilogue_schedule="PtrArrayTmaWarpSpecialized2Sm", stages=4),
     ("4.5.0",)),
    (dict(d="f32", tile=(128, 24, 16), kernel_schedule="KernelPtrArrayTmaWarpSpecialized1SmSm100",
          epilogue_schedule="PtrArrayNoSmemWarpSpecialized1Sm", stages=6), ("4.2.0", "4.5.0")),
])
def test_sm100_tf32_pow2_slice_rule(kw, versions):
    # CuTe's to_mixed_bits "Requires pow2 shape*stride." when slicing a stage off a swizzled K-major smem layout
    # (cute/swizzle_layout.hpp, before 4.6's pointer_flagged.hpp overload): host probes of these configs fail against
    # the versions listed and the first one builds against v4.6.0; found by the delta-sensitive sample in CI.
    for v in versions:
        with pytest.raises(Exception, match="pow2"):
            footprint(KernelConfig.create("sm100", "f32", cutlass=v, **kw))
    assert footprint(KernelConfig.create("sm100", "f32", cutlass="4.6.0", **kw)).total_bytes > 0


def test_every_release_was_compiled_against_without_a_mismatch():
    """docs/verification.json (scripts/verify_versions.py runs) holds every release of RELEASES with no mismatch."""
    import json
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "verification.json")
    with open(path) as fh:
        runs = json.load(fh)
    covered = {CutlassVersion.parse(r["version"]).release for r in runs}
    assert [str(v) for v in V.RELEASES if v not in covered] == []
    assert all(r["mismatches"] == [] for r in runs)
    assert all(sum(r["accepted"].values()) + sum(r["raw"].values())
               + sum(sum(c.values()) for c in (r.get("delta_sensitive") or {}).values()) > 0 for r in runs)
