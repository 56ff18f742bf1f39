"""``stage_search`` / ``max_fitting_stages``: the true maximum over the stage counts CUTLASS accepts (issue 10.4).

The property test scans every explicit stage count of random configs one by one with ``footprint`` (the per-count
model, legality included) and compares with the search, which bisects totals and checks legality per count.
"""

import pytest
from hypothesis import given, settings, strategies as st

from smem_tactics import KernelConfig, footprint, max_fitting_stages, verdict
from smem_tactics.errors import ConfigError, UnsupportedConfigError
from smem_tactics.footprint import stage_total
from smem_tactics.sampling import random_configs, raw_configs
from smem_tactics.verdict import RejectedStages, StageSearch, stage_search

# Accepted configs of every arch and several releases, plus raw draws CUTLASS may reject (a rejection that holds
# for every count must come back as one range lo..hi).
POOL = (random_configs(60, seed=21) + random_configs(30, seed=22, cutlass="4.3.0")
        + random_configs(20, seed=23, archs=("sm100",), cutlass="4.2.0")
        + random_configs(20, seed=24, archs=("sm120",), cutlass="4.7.0")
        + list(raw_configs(40, seed=25)))


@st.composite
def sm90_tf32_configs(draw):
    """SM90 TF32 tiles whose stage slicing fails at some counts before CUTLASS 4.6 (the issue's reproducer family)."""
    return KernelConfig.create("sm90", "f32", "f32", None, draw(st.sampled_from(["bf16", "f32"])),
                               (draw(st.sampled_from([128, 256])), draw(st.sampled_from([8, 16, 24, 32, 40, 48, 64])),
                                draw(st.sampled_from([8, 16, 32]))),
                               cutlass=draw(st.sampled_from(["4.2.0", "4.3.0", "4.5.0", "4.6.0"])),
                               stages=draw(st.sampled_from(["auto", 2, 3])))


configs = st.one_of(st.sampled_from(POOL), sm90_tf32_configs())


def _scan(cfg, lo, hi):
    """{count: total or the UnsupportedConfigError}, one footprint per count."""
    out = {}
    for s in range(lo, hi + 1):
        try:
            out[s] = footprint(cfg.with_stages(s)).total_bytes
        except UnsupportedConfigError as e:
            out[s] = e
    return out


@settings(max_examples=150, deadline=None)
@given(configs, st.integers(1, 400_000), st.integers(1, 6), st.integers(0, 70))
def test_search_agrees_with_scanning_every_stage_count(cfg, limit, lo, span):
    hi = lo + span
    search = stage_search(cfg, limit, lo, hi)
    scan = _scan(cfg, lo, hi)
    legal_fitting = [s for s, t in scan.items() if isinstance(t, int) and t <= limit]
    assert search.best == (max(legal_fitting) if legal_fitting else None)
    assert max_fitting_stages(cfg, limit, lo, hi) == search.best
    # every rejected count is in exactly one range, every accepted one in none
    covered = {}
    for r in search.rejected:
        assert lo <= r.first <= r.last <= hi and r.reason
        for s in range(r.first, r.last + 1):
            assert s not in covered
            covered[s] = r.reason
    assert set(covered) == {s for s, t in scan.items() if isinstance(t, UnsupportedConfigError)}
    for s, t in scan.items():
        if isinstance(t, UnsupportedConfigError):
            assert t.cutlass_message in covered[s] or str(t) == covered[s]
    # ranges are ordered and maximal: neighbours either leave a gap or differ in reason
    for a, b in zip(search.rejected, search.rejected[1:]):
        assert a.last < b.first and (b.first > a.last + 1 or a.reason != b.reason)
    # the bisected totals are the per-count footprints wherever CUTLASS accepts the count
    if legal_fitting or any(isinstance(t, int) for t in scan.values()):
        for s, t in scan.items():
            if isinstance(t, int):
                assert stage_total(cfg.with_stages(lo), s) == t
        assert search.largest_fitting is None or search.best is None or search.largest_fitting >= search.best


def test_issue_reproducer_sm90_tf32_128x16x8_on_4_3_0():
    """Odd counts are rejected (CuTe cannot slice a stage off the layout), even counts up to 48 fit an H100."""
    cfg = KernelConfig.create("sm90", "f32", "f32", None, "bf16", (128, 16, 8), cutlass="4.3.0")
    search = stage_search(cfg, 232448)
    assert search.best == 48
    assert search.largest_fitting == 49  # fits, but CUTLASS rejects 49
    assert footprint(cfg.with_stages(48)).total_bytes <= 232448 < footprint(cfg.with_stages(50)).total_bytes
    assert [r.first for r in search.rejected] == list(range(3, 64, 2))
    assert all("Shape Divisibility Condition" in r.reason for r in search.rejected)
    assert max_fitting_stages(cfg, 232448) == 48
    v = verdict(cfg.with_stages(60), 232448)
    assert not v.fits and "StageCount<48> would fit" in v.reason and "StageCount<2>" not in v.reason
    assert "StageCount<49> would fit too, but CUTLASS rejects it" in v.reason
    # the automatic count lands on a rejected one: the verdict names the count that works
    auto = verdict(cfg, 232448)
    assert auto.error and "StageCount<48> is accepted and fits" in auto.reason


def test_rejection_for_every_count_is_one_range():
    cfg = KernelConfig.create("sm90", "bf16", tile=(128, 128, 64), kernel_schedule="KernelPtrArrayTmaWarpSpecializedCooperative")
    bad = cfg.replace(tile=(64, 128, 64))  # cooperative needs M % 128 == 0 for every count
    search = stage_search(bad, 232448, 2, 10)
    assert search.best is None and search.largest_fitting is None
    assert search.rejected == (RejectedStages(2, 10, search.rejected[0].reason),)
    assert "multiple of 128" in search.rejected[0].reason


def test_search_is_frozen_and_validates_its_arguments():
    cfg = KernelConfig.create("sm90", "bf16", tile=(128, 128, 64))
    search = stage_search(cfg, 232448)
    assert isinstance(search, StageSearch)
    with pytest.raises(AttributeError):
        search.best = 3
    for limit in (-1, 0, True, 1.5, "232448", None):
        with pytest.raises(ConfigError) as e:
            stage_search(cfg, limit)
        assert e.value.field == "limit"
    with pytest.raises(ConfigError) as e:
        stage_search(cfg, 232448, 10, 5)
    assert e.value.field == "hi"
    with pytest.raises(ConfigError) as e:
        stage_search("sm90 bf16", 232448)
    assert e.value.field == "config"
