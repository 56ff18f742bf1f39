"""Delta detectors (smem_tactics/tree_contents.py) on the real trees PyPI packages install and on synthetic trees.

The synthetic trees are written here from each detector's own evidence snippets, reformatted (line breaks, indents
and comments at token boundaries), so the tests check that detection is robust to formatting without copying
CUTLASS headers into the repository. The real trees: the nvidia-cutlass 4.2.0.0 wheel (byte-identical to tag
v4.2.0) and FlashInfer 0.7.2.post1's bundled tree, which is NVIDIA/cutlass commit b46b16d (cutlass#3176, between
v4.4.2 and v4.5.0; its version.h already says 4.5.0) and carries the same modelled deltas as v4.5.0.
"""

import json
import os
from pathlib import Path

import pytest

from cpp_bindings.trees import installed_trees, tree_from_path
from smem_tactics import versions as V
from smem_tactics.errors import CutlassTreeError, VersionError
from smem_tactics.tree_contents import DETECTORS, canonical, detect, modelled_version
from smem_tactics.versions import CutlassVersion


def test_one_detector_per_delta_in_table_order():
    assert [d.delta for d in DETECTORS] == list(V.DELTAS)


def test_canonical_ignores_formatting_and_comments():
    a = canonical('constexpr auto x = cutlass::round_up(sizeof(T), 128); // note\n"a  b"')
    b = canonical('constexpr   auto x=\n  cutlass::round_up( sizeof( T ) , /* why */ 128 ) ;\n"a b"')
    assert a == b == 'constexpr auto x=cutlass::round_up(sizeof(T),128);"a b"'
    assert canonical("int a; // x\nint b;") != canonical("int a; int c;")


# ---------------------------------------------------------------------------------------------- synthetic trees

def _reformat(snippet: str, salt: int) -> str:
    """The snippet as someone might have formatted it: breaks, indents and comments after , ; ( ) {."""
    out = []
    for i, ch in enumerate(canonical(snippet)):
        out.append(ch)
        if ch in ",;({)" and (i + salt) % 3 == 0:
            out.append("\n      " if (i + salt) % 2 else " /* reformatted */  ")
    return "".join(out)


#: Text for the probes that read an arrangement rather than snippets (written here, not taken from CUTLASS).
_READER_TEXT = {
    ("sm100_capacity_assert_in_body", True):
        "struct K {\n  static constexpr int SharedStorageSize = sizeof(SharedStorage);\n"
        "  void operator()  (Params const& params,\n char* smem_buf) {\n    static_assert(SharedStorageSize <= "
        "Cap, \"too big\");\n  }\n};",
    ("sm100_capacity_assert_in_body", False):
        "struct K {\n  static constexpr int SharedStorageSize = sizeof(SharedStorage);\n"
        "  static_assert(SharedStorageSize <= Cap, \"too big\");\n  void operator() (Params const& params, "
        "char* smem_buf) {}\n};",
    ("sm90_blockwise_small_m", True):
        "using NumSplitsM = cute::conditional_t<get<0>(TileShape_{}) < _128{}, _1, cute::C<get<0>(TileShape_{}) "
        "/ 128>>;",
    ("sm90_blockwise_small_m", False): "using NumSplitsM = cute::C<get<0>(TileShape_{}) / 128>;",
    ("sm120_dense_ptr_array", True): "template <class T> struct CollectiveMma<T> { };",
}


def _write_tree(root: Path, version: str, present: set, salt: int = 0) -> Path:
    files: dict = {}
    for det in DETECTORS:
        on = det.delta.name in present
        for probe in det.probes:
            if probe.reader is not None:
                text = _READER_TEXT.get((det.delta.name, on))
                if text is None:
                    continue  # the file's absence says "old" (absent_means)
                files.setdefault(probe.path, []).append(text)
            else:
                files.setdefault(probe.path, []).extend(
                    _reformat(s, salt + k) for k, s in enumerate(probe.new if on else probe.old))
    inc = root / "include"
    for rel, parts in files.items():
        path = inc / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("// synthetic header\n" + "\n  int filler_{};\n".join(parts))
    major, minor, patch = version.split(".")
    (inc / "cutlass").mkdir(parents=True, exist_ok=True)
    (inc / "cute").mkdir(parents=True, exist_ok=True)
    (inc / "cutlass" / "version.h").write_text(
        f"#pragma once\n#define CUTLASS_MAJOR {major}\n#define  CUTLASS_MINOR\t{minor}\n#  define CUTLASS_PATCH {patch}\n")
    return root


def _release_set(v: str) -> set:
    return {d.name for d in CutlassVersion.parse(v).deltas()}


@pytest.mark.parametrize("release", ["4.2.0", "4.2.2", "4.3.6", "4.4.1", "4.4.2", "4.5.2", "4.7.0"])
def test_synthetic_release_trees_are_their_release(tmp_path, release):
    # split_m's old anchor and small_m share a file; a release without split_m has no NumSplitsM (small_m absent)
    root = _write_tree(tmp_path, release, _release_set(release), salt=len(release))
    contents = detect(root / "include")
    assert contents.present == _release_set(release) and not contents.unknown
    assert modelled_version(contents) == CutlassVersion.parse(release)


@pytest.mark.parametrize("flip", [d.name for d in V.DELTAS if d is not V.SM90_BLOCKWISE_SPLIT_M])
def test_a_tree_between_tags_is_modelled_by_its_contents(tmp_path, flip):
    present = _release_set("4.5.0") ^ {flip}
    if flip in ("sm120_sf_k_atom", "sm120_n_divisibility"):  # one probe (the SFB tiling) carries both
        present ^= {"sm120_sf_k_atom", "sm120_n_divisibility"} - {flip}
    root = _write_tree(tmp_path, "4.5.0", present, salt=3)
    version = tree_from_path(root).modelled_version()
    assert {d.name for d in version.deltas()} == present
    assert version.release == CutlassVersion.parse("4.5.0") and version != CutlassVersion.parse("4.5.0")
    assert CutlassVersion.parse(str(version)) == version  # the JSON form round-trips


def test_unknown_delta_state_names_what_was_looked_for(tmp_path):
    root = _write_tree(tmp_path, "4.5.0", _release_set("4.5.0"))
    builder = root / "include" / "cutlass/gemm/collective/builders/sm100_blockscaled_umma_builder.inl"
    builder.write_text("// neither form of the per-stage pipeline term\nconstexpr auto mainloop_pipeline_bytes = 42;\n")
    with pytest.raises(CutlassTreeError) as e:
        tree_from_path(root).modelled_version()
    msg = str(e.value)
    assert "blockscaled_stage_pipeline_128" in msg and "sm100_blockscaled_umma_builder.inl" in msg
    assert "round_up(sizeof(typename cutlass::PipelineTmaUmmaAsync<1>::SharedStorage),128)" in msg
    builder.unlink()  # a missing file is as undecided
    with pytest.raises(CutlassTreeError, match="cannot tell whether the tree has delta blockscaled_stage_pipeline_128"):
        tree_from_path(root).modelled_version()


def test_bad_trees_are_clear_errors(tmp_path):
    with pytest.raises(CutlassTreeError, match="does not exist"):
        tree_from_path(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CutlassTreeError, match="holds no CUTLASS headers"):
        tree_from_path(tmp_path / "empty")
    root = _write_tree(tmp_path / "t", "4.5.0", _release_set("4.5.0"))
    (root / "include" / "cutlass" / "version.h").write_text("#define CUTLASS_MAJOR 4\n#define CUTLASS_MINOR 5\n")
    with pytest.raises(CutlassTreeError, match="does not define CUTLASS_PATCH"):
        tree_from_path(root)


def test_newer_tree_refused_unless_assumed(tmp_path):
    root = _write_tree(tmp_path, "4.8.0", _release_set("4.7.0"))
    tree = tree_from_path(root)
    with pytest.raises(VersionError, match="newer than the newest modelled release 4.7.0"):
        tree.modelled_version()
    v = tree.modelled_version(assume="4.7.0")
    assert v.assumed == "4.8.0" and "assumed" in v.describe() and v.release == CutlassVersion.parse("4.7.0")
    # the deltas found still count: a 4.8.0 tree lacking one is modelled without it
    root2 = _write_tree(tmp_path / "b", "4.8.0", _release_set("4.7.0") - {"sm120_small_n"})
    v2 = tree_from_path(root2).modelled_version(assume="4.7.0")
    assert not v2.has(V.SM120_SMALL_N) and str(v2) == "4.8.0 as 4.7.0-sm120_small_n"


# ---------------------------------------------------------------------------------------------- real trees

def _installed():
    trees = {t.source.split()[0]: t for t in installed_trees()}
    missing = {"nvidia-cutlass", "flashinfer-python"} - set(trees)
    if missing:
        pytest.fail(f"{sorted(missing)} not installed: pip install -e '.[dev]' (see .ci/run)")
    return trees


@pytest.mark.parametrize("package,release", [("nvidia-cutlass", "4.2.0"), ("flashinfer-python", "4.5.0")])
def test_installed_trees_are_detected(package, release):
    tree = _installed()[package]
    contents = tree.contents()
    assert contents.version_text == release and not contents.unknown
    assert contents.present == _release_set(release)
    assert tree.modelled_version() == CutlassVersion.parse(release)


def _patched_copy(src_include: Path, dst: Path, rel: str, old: str, new: str) -> Path:
    """A tree of symlinks to ``src_include`` with one header's text changed (a commit that differs in one delta)."""
    inc = dst / "include"
    for dirpath, _, names in os.walk(src_include):
        rel_dir = Path(dirpath).relative_to(src_include)
        (inc / rel_dir).mkdir(parents=True, exist_ok=True)
        for n in names:
            (inc / rel_dir / n).symlink_to(Path(dirpath) / n)
    target = inc / rel
    text = Path(os.path.realpath(target)).read_text()
    assert old in text
    target.unlink()
    target.write_text(text.replace(old, new))
    return dst


def test_real_tree_with_one_delta_reverted_is_modelled_without_it(tmp_path):
    fi = _installed()["flashinfer-python"]
    rel = "cutlass/gemm/collective/builders/sm100_blockscaled_umma_builder.inl"
    old = "cutlass::round_up(sizeof(typename cutlass::PipelineTmaUmmaAsync<1>::SharedStorage), 128)"
    root = _patched_copy(fi.include, tmp_path, rel, old, "sizeof(typename cutlass::PipelineTmaUmmaAsync<1>::SharedStorage)")
    v = tree_from_path(root).modelled_version()
    assert str(v) == "4.5.0-blockscaled_stage_pipeline_128"


def test_detection_is_fast_enough_for_the_cli():
    import time

    tree = _installed()["flashinfer-python"]
    t0 = time.perf_counter()
    detect(tree.include)
    assert time.perf_counter() - t0 < 5.0  # measured ~0.6 s on the 2-core CI machine (cold), header cache after




# ---------------------------------------------------------------------------------------------- the CLI

def _cli(capsys, *argv):
    from smem_tactics.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


_FP = ("footprint", "--arch", "sm120", "--a", "nvfp4", "--d", "bf16", "--tile", "128x128x128", "--stages", "auto_epi",
       "--gpu", "gb10")


def test_footprint_takes_every_patch_release(capsys):
    code, out, _ = _cli(capsys, *_FP, "--cutlass", "4.3.6")
    assert code == 0 and "CUTLASS 4.3.6" in out and "84992" in out and "fits" in out
    code, out, _ = _cli(capsys, *_FP, "--cutlass", "4.3.5")
    assert code == 1 and "103424" in out and "does not fit" in out


@pytest.mark.parametrize("given,needle", [
    ("4.3.9", "the 4.3 line has 4.3.0, 4.3.1, 4.3.2, 4.3.3, 4.3.4, 4.3.5, 4.3.6"),
    ("4.8.0", "pass --assume-cutlass 4.7.0"),
])
def test_footprint_refuses_unknown_releases_in_one_line(capsys, given, needle):
    code, out, err = _cli(capsys, *_FP, "--cutlass", given)
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert err.startswith("error: --cutlass: ")


def test_footprint_assumed_release_says_so(capsys):
    code, out, _ = _cli(capsys, *_FP, "--cutlass", "4.8.0", "--assume-cutlass", "4.7.0")
    assert code == 0 and "4.8.0, assumed to behave as 4.7.0" in out
    code, out, _ = _cli(capsys, *_FP, "--cutlass", "4.8.0", "--assume-cutlass", "4.7.0", "--json")
    ans = json.loads(out)
    assert ans["config"]["cutlass"] == "4.8.0 as 4.7.0" and "assumed" in ans["cutlass"]


@pytest.mark.parametrize("argv,needle", [
    (("--assume-cutlass", "4.7.0"), "nothing to assume"),
    (("--cutlass", "4.7.0", "--assume-cutlass", "4.6.0"), "is a modelled release; nothing to assume"),
    (("--cutlass", "4.8.0", "--assume-cutlass", "4.9.9"), "newer than the newest modelled release"),
])
def test_footprint_bad_assumptions(capsys, argv, needle):
    code, _, err = _cli(capsys, *_FP, *argv)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_footprint_assume_with_json_config_conflicts(capsys):
    code, _, err = _cli(capsys, "footprint", "--config", json.dumps({"arch": "sm120", "a": "nvfp4"}),
                        "--assume-cutlass", "4.7.0")
    assert code == 2 and "conflicting options" in err


def test_footprint_on_a_tree_path_models_its_contents(tmp_path, capsys):
    root = _write_tree(tmp_path, "4.3.6", _release_set("4.3.6") - {"blockscaled_stage_pipeline_128"})
    code, out, _ = _cli(capsys, *_FP, "--cutlass", str(root))
    # a 4.3.6 tree without the backport behaves like 4.3.5 here: 103424 B does not fit (exit 1, a negative verdict)
    assert code == 1 and "-blockscaled_stage_pipeline_128" in out and "103424" in out
    code, _, err = _cli(capsys, *_FP, "--cutlass", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


def test_verify_and_doctor_say_which_deltas_they_found(tmp_path, capsys, monkeypatch):
    from smem_tactics.commands.verify import _modelled, tree_report

    root = _write_tree(tmp_path, "4.5.0", _release_set("4.5.0") - {"sm120_sfb_padded"})
    tree = tree_from_path(root)
    [(version, contents)] = _modelled([tree], None)
    lines = tree_report(version, contents)
    assert "-sm120_sfb_padded" in lines[0] and "sm120_reduced_capacity" in lines[1] and "between tags" in lines[2]
    newer = tree_from_path(_write_tree(tmp_path / "n", "4.8.0", _release_set("4.7.0")))
    with pytest.raises(VersionError, match="--assume-cutlass 4.7.0"):
        _modelled([newer], None)
    assert _modelled([newer], "4.7.0")[0][0].assumed == "4.8.0"
    from smem_tactics.errors import ConfigError

    with pytest.raises(ConfigError, match="nothing to assume"):
        _modelled([tree], "4.7.0")
    monkeypatch.setenv("SMEM_TACTICS_CUTLASS", str(root))
    code, out, _ = _cli(capsys, "doctor", "--gpu", "gb10")
    assert code == 0 and "modelled as: 4.5.0 (modelled from its headers: -sm120_sfb_padded)" in out
    assert "deltas found in its headers: blockscaled_stage_pipeline_128" in out


def test_verify_refuses_a_newer_tree_without_assumption(tmp_path, capsys):
    root = _write_tree(tmp_path, "4.8.0", _release_set("4.7.0"))
    code, _, err = _cli(capsys, "verify", "--cutlass", str(root), "--sample", "1")
    assert code == 2 and "4.8.0 is newer than the newest modelled release 4.7.0" in err and str(root) in err


def test_verify_takes_a_release_naming_an_installed_tree(capsys):
    code, _, err = _cli(capsys, "verify", "--cutlass", "4.3.6", "--sample", "1")
    assert code == 2 and "CUTLASS 4.3.6 is not installed" in err and "pass --cutlass PATH" in err
    code, _, err = _cli(capsys, "verify", "--cutlass", "4.3.9", "--sample", "1")
    assert code == 2 and "the 4.3 line has" in err
