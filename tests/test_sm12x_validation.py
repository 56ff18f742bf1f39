"""The published SM12x measurements (data), their loader's input contract, and the cost model held against them."""

import copy
import json

import pytest

from smem_tactics.cost import cost_parameters, grounding_for
from smem_tactics.errors import ConfigError, SmemTacticsError
from smem_tactics.measurements import load_measurements, parse_measurements
from smem_tactics.validation import GOAL_DIRECTION, judge


@pytest.fixture(scope="module")
def raw():
    from importlib import resources

    return json.loads(resources.files("smem_tactics").joinpath("data/sm12x_measurements.json").read_text())


def test_shipped_set_loads_with_every_source_cited(raw):
    ms = load_measurements()
    assert len(ms.records) == len(raw["measurements"]) >= 22
    for sid, s in ms.sources.items():
        assert s["repository"] and s["method"] and (s.get("number") or s.get("url"))
    # the RTX 5090 tile sweep of kekzl/imp PR #1842: 4 reference times, 16 comparisons
    imp = [m for m in ms.records if m.source == "imp-pr1842"]
    assert sum(m.time_us is not None for m in imp) == 4 and sum(m.relative is not None for m in imp) == 16
    assert ms.by_id("imp1842-down-pp1024-128x128x128-ping").relative == pytest.approx(2.71)


def test_every_kernel_record_builds_a_candidate_that_fits():
    for m in load_measurements().records:
        if m.has_kernel:
            c = m.candidate()
            assert c.total_bytes <= 101376 and tuple(c.config.tile) == m.kernel.tile


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d["measurements"][0].pop("device"), "device"),
    (lambda d: d["measurements"][0].__setitem__("device", "rtx-9090"), "unknown GPU"),
    (lambda d: d["measurements"][0].__setitem__("device", "h100"), "SM120/SM121"),
    (lambda d: d["measurements"][0]["kernel"].__setitem__("tile", [128, "x", 128]), "kernel.tile"),
    (lambda d: d["measurements"][0]["kernel"].__setitem__("schedule", "warpspecialized"), "kernel.schedule"),
    (lambda d: d["measurements"][0].__setitem__("source", "nowhere"), "no such source"),
    (lambda d: d["measurements"][1].__setitem__("relative_to", "missing-id"), "no such record"),
    (lambda d: d["measurements"][0].__setitem__("time_us", -3), "time_us"),
    (lambda d: d["measurements"][0]["problem"].__setitem__("experts", True), "experts"),
    (lambda d: d["measurements"][0].__setitem__("id", d["measurements"][1]["id"]), "duplicate"),
    (lambda d: d["sources"]["imp-pr1842"].pop("method"), "method"),
    (lambda d: d.__setitem__("schema", 7), "schema"),
])
def test_a_damaged_record_is_refused_naming_the_field(raw, edit, needle):
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ConfigError, match=needle):
        parse_measurements(data)


def test_unknown_kernel_is_an_error_not_a_guess(raw):
    data = copy.deepcopy(raw)
    data["measurements"][0]["kernel"]["tile"] = [96, 96, 96]
    ms = parse_measurements(data)
    with pytest.raises(SmemTacticsError, match="tile"):
        ms.records[0].candidate()


def test_v2_parameters_reproduce_the_contradiction_the_issue_reports():
    """Cost model v2's SM120 values (H100's carried over) get most imp #1842 pairs wrong and spread FlashInfer's
    GB10 tactics over ~1.4x -- the failure this model version exists to fix."""
    from smem_tactics.validation import PRIOR

    reps = judge(cost_parameters("sm120", dict(PRIOR, mma_saturating_n=64)), facts_for=lambda c: None)
    assert reps["imp-pr1842"].direction < 0.5
    assert any("1.3" in n or "1.4" in n for n in reps["flashinfer-issue4990"].notes if "spreads" in n)


def test_shipped_model_meets_the_direction_goal_in_sample_and_tables_carry_grounding():
    reps = judge()
    assert reps["imp-pr1842"].direction >= GOAL_DIRECTION
    for gpu in ("gb10", "rtx-5090", "rtx-pro-6000"):
        g = grounding_for(gpu)
        assert g and 0 < g["expected_error"] < 1 and g["basis"]
    assert grounding_for("h100") is None
