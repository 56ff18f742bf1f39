"""Properties of the footprint math, over configurations drawn across archs, dtypes, epilogues and stages."""

import pytest
from hypothesis import assume, given, settings, strategies as st

from smem_tactics import StageConvention, footprint, verdict
from smem_tactics.config import Arch, Kind, Mode
from smem_tactics.errors import UnsupportedConfigError
from smem_tactics.footprint import carveout
from smem_tactics.layout.epilogue import epilogue_layout
from smem_tactics.layout.mainloop import blockscaled_stage_pipeline_bytes, mainloop_shape, sm120_blockscaled_capacity
from smem_tactics.layout.primitives import SM120_CAPACITY, SM90_CAPACITY
from smem_tactics.layout.struct import align_up
from smem_tactics.sampling import random_configs

CONFIGS = random_configs(150, seed=7, archs=("sm90", "sm120")) + random_configs(
    60, seed=8, archs=("sm90", "sm120"), cutlass="4.5.0") + random_configs(40, seed=9, archs=("sm120",),
                                                                             cutlass="4.7.0")
configs = st.sampled_from(CONFIGS)


@settings(max_examples=300, deadline=None)
@given(configs)
def test_breakdown_sums_to_total_and_total_is_aligned(cfg):
    fp = footprint(cfg)
    assert sum(fp.parts.values()) == fp.total_bytes
    assert all(v > 0 for v in fp.parts.values())
    assert fp.total_bytes % fp.alignment == 0
    assert fp.alignment >= 128 and fp.alignment & (fp.alignment - 1) == 0


@settings(max_examples=150, deadline=None)
@given(configs, st.integers(2, 12))
def test_explicit_stages_strictly_grow(cfg, s):
    # the SM90 blockwise builder has no StageCount<S> overload (rejected with CUTLASS's message)
    assume(not (cfg.arch.family is Arch.SM90 and cfg.kind is Kind.BLOCKWISE))
    try:
        small = footprint(cfg.with_stages(s))
        big = footprint(cfg.with_stages(s + 1))
    except UnsupportedConfigError as e:
        # CuTe's smem-slicing static_assert (before CUTLASS 4.6) rejects some stage counts of some tiles: the
        # property holds between counts that both build
        assert "Divisibility Condition" in str(e), e
        assume(False)
    assert big.total_bytes > small.total_bytes
    assert small.stages == s and big.stages == s + 1


def _builder_fits(cfg, s: int, carve: int) -> bool:
    """The builders' inequalities, restated from the CUTLASS headers (not from the model's code)."""
    shape = mainloop_shape(cfg)
    arch = cfg.arch.family
    if arch is Arch.SM90:  # sm90_gmma_builder.inl compute_stage_count_or_override
        cap = SM90_CAPACITY - 256 - (128 if cfg.mode is Mode.GROUPED else 0)
        raw = shape.a_stage + shape.b_stage
        if cfg.kind is Kind.BLOCKWISE:
            raw += 4 * (cfg.tile[0] // cfg.scale_granularity[0]) + 4 * (cfg.tile[1] // cfg.scale_granularity[1])
        return s * (align_up(raw, 128) + 16) <= cap // 128 * 128 - align_up(carve, 128)
    if cfg.kind is not Kind.BLOCK_SCALED:  # sm120_blockwise_mma_builder.inl; (>= 4.6) sm120_array_mma_builder.inl
        return s * (shape.a_stage + shape.b_stage + shape.sfa_stage + shape.sfb_stage + 16) <= SM120_CAPACITY - carve
    # sm100_compute_stage_count_or_override_blockscaled with the SM120 capacity of this version
    per = shape.a_stage + shape.b_stage + shape.sfa_stage + shape.sfb_stage + blockscaled_stage_pipeline_bytes(cfg)
    return s * per <= sm120_blockscaled_capacity(cfg) - carve


@settings(max_examples=200, deadline=None)
@given(configs, st.sampled_from(list(StageConvention)))
def test_auto_stages_is_the_largest_count_satisfying_the_builder_inequality(cfg, convention):
    cfg = cfg.with_stages(convention)
    try:
        fp = footprint(cfg)
    except Exception:
        return  # fewer than 2 stages: covered by the rejection tests
    carve = carveout(cfg, epilogue_layout(cfg))
    assert fp.carveout_bytes == carve
    assert _builder_fits(cfg, fp.stages, carve)
    assert not _builder_fits(cfg, fp.stages + 1, carve)


@settings(max_examples=200, deadline=None)
@given(configs, st.integers(1, 300_000))
def test_fits_iff_total_within_limit(cfg, limit):
    v = verdict(cfg, limit)
    assert v.fits == (footprint(cfg).total_bytes <= limit)
    assert v.margin_bytes == limit - footprint(cfg).total_bytes


def test_unknown_limit_never_prunes():
    for cfg in CONFIGS[:30]:
        v = verdict(cfg, None)
        assert v.fits and not v.limit_known


@pytest.mark.parametrize("cfg", CONFIGS[:20], ids=lambda c: c.name())
def test_carveout_conventions_order(cfg):
    """StageCountAuto (no carve-out) never picks fewer stages than the examples' carve-out."""
    try:
        zero = footprint(cfg.with_stages("auto_zero")).stages
        auto = footprint(cfg.with_stages("auto")).stages
    except Exception:
        return
    assert zero >= auto


def test_footprints_batch_equals_single_calls_and_restores_gc():
    import gc

    from smem_tactics.errors import ConfigError, UnsupportedConfigError
    from smem_tactics.footprint import footprints
    from smem_tactics.sampling import raw_configs

    cfgs = list(dict.fromkeys(raw_configs(60, seed=9, archs=("sm90", "sm100", "sm120"))))
    batch = footprints([c.replace() for c in cfgs], errors="keep")
    assert gc.isenabled()
    for c, got in zip(cfgs, batch):
        try:
            want = footprint(c)
        except UnsupportedConfigError as e:
            assert isinstance(got, UnsupportedConfigError) and str(got) == str(e)
        else:
            assert not isinstance(got, Exception)
            assert (got.total_bytes, got.stages, got.part_bytes) == (want.total_bytes, want.stages, want.part_bytes)
    assert any(isinstance(x, Exception) for x in batch) and any(not isinstance(x, Exception) for x in batch)
    bad = next(c for c, x in zip(cfgs, batch) if isinstance(x, Exception))
    with pytest.raises(UnsupportedConfigError):
        footprints([bad])
    assert gc.isenabled()
    with pytest.raises(ConfigError, match="errors"):
        footprints(cfgs, errors="ignore")


def test_legality_shortcut_for_explicit_stages_equals_a_full_scan():
    """_first_broken re-checks only the stage-sensitive rules for explicit stage counts; it must give the same
    first rule as scanning every rule."""
    from smem_tactics import legality
    from smem_tactics.sampling import raw_configs

    for cfg in raw_configs(1500, seed=5, archs=("sm90", "sm100", "sm120")):
        explicit = cfg.with_stages(3)
        full = next((r for r in legality.RULES if r.broken(explicit.stage_free.with_stages(2))), None)
        assert legality._first_broken(explicit.stage_free, True) is full, explicit.name()
