"""``verify --cutlass TREE`` tells a broken tree from a model mismatch (issue 10.6): the tree first compiles a
known-good canary (SM90 BF16 128x128x64, 215040 B / 6 stages in every modelled release); a tree that cannot is
reported as broken with the compiler's first error line, exit 2, and no config is reported as a MISMATCH."""

import pytest

from cpp_bindings import oracle
from cpp_bindings.probe import ProbeResult
from cpp_bindings.trees import find_toolchain, installed_trees, tree_from_path
from smem_tactics import footprint
from smem_tactics.cli import main
from smem_tactics.errors import CutlassTreeError
from smem_tactics.versions import RELEASES

KERNEL = "cutlass/gemm/kernel/sm90_gemm_array_tma_warpspecialized_cooperative.hpp"


def test_the_canary_is_what_the_model_says_in_every_release():
    for release in RELEASES:
        fp = footprint(oracle.CANARY.replace(cutlass=str(release)))
        assert (fp.total_bytes, fp.stages) == (215040, 6), release


@pytest.fixture()
def broken_tree(tmp_path):
    """The installed CUTLASS 4.2.0 tree as symlinks, with the SM90 cooperative array kernel's header corrupted."""
    from test_tree_contents import _patched_copy

    trees = {t.version: t for t in installed_trees()}
    if "4.2.0" not in trees:
        pytest.fail("CUTLASS 4.2.0 is not installed: pip install nvidia-cutlass==4.2.0.0 (see .ci/run)")
    if find_toolchain().cxx is None:
        pytest.fail("the oracle needs g++")
    return _patched_copy(trees["4.2.0"].include, tmp_path / "tree", KERNEL, "#pragma once",
                         "#pragma once\nthis_header_is_damaged x;")


def test_verify_reports_a_broken_tree_not_mismatches(broken_tree, capsys):
    rc = main(["verify", "--cutlass", str(broken_tree), "--sample", "3", "--archs", "sm90"])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert f"the CUTLASS tree at {broken_tree / 'include'}" in lines[0] and "is broken" in lines[0]
    assert "this_header_is_damaged" in lines[0]  # the compiler's first error line names what is wrong
    assert "MISMATCH" not in out + err and "Traceback" not in err


def test_a_canary_that_builds_at_another_size_is_a_broken_tree(monkeypatch):
    """The other way a tree is broken: it builds the canary, at a size no modelled release gives."""
    tree = installed_trees()[0]
    oracle._canary_checked.clear()

    def fake_probe(configs, tree, compiler="g++", jobs=None):
        return [ProbeResult(configs[0], measured={"index": 0, "total": 215168, "stages": 6})]

    monkeypatch.setattr(oracle, "run_probe", fake_probe)
    with pytest.raises(CutlassTreeError, match="builds at 215168 B / 6 stages, where every modelled CUTLASS release "
                                               "gives 215040 B / 6 stages"):
        oracle.verify([oracle.CANARY], tree)
    oracle._canary_checked.clear()


def test_a_good_tree_passes_the_canary_once(monkeypatch):
    tree = tree_from_path(installed_trees()[0].include)
    oracle._canary_checked.clear()
    calls = []
    real = oracle.run_probe

    def counting(configs, *a, **k):
        calls.append(len(configs))
        return real(configs, *a, **k)

    monkeypatch.setattr(oracle, "run_probe", counting)
    oracle.check_canary(tree)
    oracle.check_canary(tree)  # cached: one compile per tree, compiler and version in a process
    assert calls == [1]
