"""The public functions' arguments (issue 10.2): a non-config, a limit that is not a positive int, a bool where an
int is expected, a junk CUTLASS release, a bad narrowing list or a damaged table raise only the project's typed
errors -- a ConfigError naming the field -- never AttributeError/TypeError/KeyError, and never a silent answer."""

import pytest

from smem_tactics import (KernelConfig, SmemTacticsError, footprint, footprints, max_fitting_stages, verdict,
                          violations)
from smem_tactics.catalogs.kernels import kernel_for
from smem_tactics.catalogs.tactics import tactics
from smem_tactics.catalogs.verdicts import judge, judge_all
from smem_tactics.contract import (require_bool, require_config, require_cutlass, require_items, require_limit,
                                   require_strict_int)
from smem_tactics.devices import DeviceLimit
from smem_tactics.errors import ConfigError
from smem_tactics.synthesis import explore, smallest_footprint, synthesize
from smem_tactics.tables import markdown, text
from smem_tactics.verdict import stage_search

CFG = KernelConfig.create("sm90", "bf16", tile=(128, 128, 64))
JUNK = [None, "sm90", b"\xff", 3, 1.5, [], {}, object()]


@pytest.fixture(scope="module")
def listing():
    return tactics("flashinfer", None, "sm120", "fp4", 1)


def _refused(call, field=None):
    with pytest.raises(SmemTacticsError) as e:
        call()
    if field is not None:
        assert isinstance(e.value, ConfigError), e.value
        assert e.value.field == field, (e.value.field, str(e.value))
    return e.value


@pytest.mark.parametrize("junk", JUNK, ids=repr)
@pytest.mark.parametrize("fn", [footprint, violations, lambda c: verdict(c, 101376),
                                lambda c: max_fitting_stages(c, 101376), lambda c: stage_search(c, 101376)],
                         ids=["footprint", "violations", "verdict", "max_fitting_stages", "stage_search"])
def test_a_non_config_is_refused_naming_config(fn, junk):
    _refused(lambda: fn(junk), "config")


@pytest.mark.parametrize("limit", [-1, 0, True, False, 1.0, "101376", 1 << 40, [101376], float("nan")], ids=repr)
def test_a_limit_that_is_not_a_positive_int_is_refused(limit, listing):
    _refused(lambda: verdict(CFG, limit), "limit")
    _refused(lambda: max_fitting_stages(CFG, limit), "limit")
    _refused(lambda: judge_all(listing, limit, "4.5.0"), "limit")
    _refused(lambda: judge(listing[0], limit, "4.5.0"), "limit")
    _refused(lambda: explore("sm90", "bf16", limit), "limit_bytes")


def test_verdict_minus_one_is_refused_not_does_not_fit():
    e = _refused(lambda: verdict(CFG, -1), "limit")
    assert "does not fit" not in str(e)
    _refused(lambda: verdict(CFG, DeviceLimit(-1, "limit")), "limit.smem_per_block_optin")
    assert verdict(CFG, None).fits and not verdict(CFG, None).limit_known  # None is "unknown", still accepted
    assert verdict(CFG, DeviceLimit(None, "unknown")).fits


@pytest.mark.parametrize("cutlass", ["junk", "", "4..5", "99.0.0", 4.5, ["4.5.0"], b"4.5.0"], ids=repr)
def test_a_junk_cutlass_release_is_refused(cutlass, listing):
    _refused(lambda: judge_all(listing, 101376, cutlass), "cutlass")
    _refused(lambda: judge(listing[0], 101376, cutlass), "cutlass")
    _refused(lambda: kernel_for(listing[0], cutlass=cutlass), "cutlass")
    _refused(lambda: KernelConfig.create("sm90", "bf16", cutlass=cutlass), "cutlass")
    _refused(lambda: explore("sm90", "bf16", 232448, cutlass), "cutlass")


def test_judge_all_junk_release_is_not_a_list_of_not_modelled(listing):
    """The issue's reproducer: every tactic 'not modelled' while the plug-in logs 'all fit'."""
    _refused(lambda: judge_all(listing, 101376, cutlass="junk"), "cutlass")


@pytest.mark.parametrize("junk", [None, "abc", 3, [1, 2], [object()], {"a": 1}], ids=repr)
def test_a_bad_listing_or_tactic_is_refused(junk, listing):
    if junk is None:
        _refused(lambda: judge_all(junk, 101376, "4.5.0"), "listing")
        return
    e = _refused(lambda: judge_all(junk, 101376, "4.5.0"))
    assert isinstance(e, ConfigError) and e.field.startswith("listing")
    _refused(lambda: judge(junk, 101376, "4.5.0"), "tactic")
    _refused(lambda: kernel_for(junk), "tactic")


@pytest.mark.parametrize("kwargs, field", [
    ({"output": "f32"}, "output"), ({"output": ["bf16"]}, "output"), ({"activation": 3}, "activation"),
])
def test_judge_all_output_and_activation(kwargs, field, listing):
    _refused(lambda: judge_all(listing, 101376, "4.5.0", **kwargs), field)


@pytest.mark.parametrize("finalize", ["yes", 1, 0, [], "false"], ids=repr)
def test_bools_are_bools(finalize):
    _refused(lambda: tactics("flashinfer", None, "sm120", "fp4", 1, finalize), "finalize")
    _refused(lambda: explore("sm90", "bf16", 232448, tiles_m=[128], tiles_n=[128], swap_ab=[finalize]), "swap_ab[0]")


def test_gemm_must_be_1_or_2():
    for gemm in (0, 3, True, "1", 1.0):
        _refused(lambda: tactics("flashinfer", None, "sm120", "fp4", gemm))


@pytest.mark.parametrize("name, value, field", [
    ("swap_ab", None, "swap_ab"), ("swap_ab", True, "swap_ab"), ("swap_ab", [[1, 2]], "swap_ab[0]"),
    ("schedules", [], "schedules"), ("schedules", "pingpong", "schedules"), ("schedules", [3], "schedules[0]"),
    ("schedules", ["warp"], "schedule"), ("epilogues", [""], "epilogues[0]"), ("modes", 3, "modes"),
    ("tiles_m", [0], "tiles_m[0]"), ("tiles_m", [True], "tiles_m[0]"), ("tiles_m", [1 << 40], "tiles_m[0]"),
    ("tiles_n", 128, "tiles_n"), ("tile_k_bytes", ["x"], "tile_k_bytes[0]"), ("tile_k_bytes", [[1]], "tile_k_bytes[0]"),
    ("clusters", [1, 1, 1], "clusters[0]"), ("clusters", [[1, 1]], "clusters[0]"), ("clusters", [[1, 0, 1]],
                                                                                        "clusters[0][1]"),
    ("ctas_per_sm", [3], "ctas_per_sm[0]"), ("ctas_per_sm", None, "ctas_per_sm"), ("ctas_per_sm", [2], "smem_per_sm"),
    ("smem_per_sm", -5, "smem_per_sm"), ("stage_counts", [1], "stage_counts[0]"), ("stage_counts", "3",
                                                                                    "stage_counts"),
    ("launch", [3], "launch"), ("problem", "decode", "problem"), ("nonsense", 1, "nonsense"),
])
def test_narrowing_arguments_are_checked(name, value, field):
    narrow = {"tiles_m": [128], "tiles_n": [128], name: value}
    if name == "problem":
        _refused(lambda: synthesize("sm90", "bf16", 232448, problem=value, tiles_m=[128], tiles_n=[128]), field)
        return
    _refused(lambda: synthesize("sm90", "bf16", 232448, **narrow), field)
    if name not in ("smem_per_sm", "ctas_per_sm", "stage_counts", "launch", "nonsense"):
        _refused(lambda: smallest_footprint("sm90", "bf16", **narrow), field)


def test_good_narrowing_still_works():
    cands = synthesize("sm90", "bf16", 232448, tiles_m=(128,), tiles_n=[128, 256], swap_ab={False},
                       clusters=[(1, 1, 1)], schedules=["pingpong"])
    assert cands and all(c.config.tile[0] == 128 and not c.swap_ab for c in cands)


def test_footprints_errors_argument():
    _refused(lambda: footprints([CFG], errors="ignore"), "errors")
    _refused(lambda: footprints(CFG), "configs")
    _refused(lambda: footprints(["x"]), "config")
    assert footprints(iter([CFG]))[0].total_bytes == footprint(CFG).total_bytes


@pytest.mark.parametrize("table", [None, {}, {"metadata": {}}, {"metadata": {"gpu": 1}, "sections": [],
                                                                  "candidates": {}}, [1]], ids=repr)
def test_presentation_of_a_non_table_is_a_field_error(table):
    _refused(lambda: text(table))
    _refused(lambda: markdown(table))


def test_contract_helpers():
    assert require_strict_int("n", 3, 1, 5) == 3
    for v in (True, 3.0, "3", None):
        _refused(lambda: require_strict_int("n", v), "n")
    assert require_bool("b", False) is False
    _refused(lambda: require_bool("b", 0), "b")
    assert require_config("c", CFG) is CFG
    assert require_limit("l", None, allow_none=True) is None
    _refused(lambda: require_limit("l", None), "l")
    assert require_items("xs", [1, 2], require_strict_int) == (1, 2)
    _refused(lambda: require_items("xs", "ab", require_strict_int), "xs")
    _refused(lambda: require_items("xs", [], require_strict_int), "xs")
    _refused(lambda: require_items("xs", list(range(5)), require_strict_int, max_items=4), "xs")
    assert str(require_cutlass("cutlass", "4.5.0")) == "4.5.0"
    assert str(require_cutlass("cutlass", None, default=require_cutlass("c", "4.2.0"))) == "4.2.0"
