"""The FlashInfer plug-in against the real ``flashinfer.autotuner`` (flashinfer-python from PyPI) on the CPU.

Stand-ins exist only for CUDA streams/events/graphs and the delay kernel (tests/fi_standins.py); the tuner's
profiling loop, cache keys, file cache and ``choose_one`` are FlashInfer's own. The runner exposes FlashInfer
0.7.2.post1's SM120/SM121 NVFP4 tactic list (GEMM1 16, GEMM2 32 tactics, combined index).
"""

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

flashinfer_autotuner = pytest.importorskip("flashinfer.autotuner")

from smem_tactics.cli import main  # noqa: E402
from smem_tactics.integrations import DISABLE_ENV, disabled  # noqa: E402
from smem_tactics.integrations import flashinfer as plugin  # noqa: E402
from smem_tactics.integrations.cache import choose_tactics, write_flashinfer_cache  # noqa: E402

from fi_standins import CLOCK, choose, install_cuda_standins, make_runner_class, moe_inputs  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
#: FlashInfer 0.7.2.post1, SM121 NVFP4, GEMM2: values 26 and 27 are FINALIZE 256x128x128 / 128x256x128 (102400 B).
UNFIT_GEMM2 = {26, 27}


@pytest.fixture
def tuner(monkeypatch):
    install_cuda_standins(monkeypatch.setattr)
    t = flashinfer_autotuner.AutoTuner.get()
    t.clear_cache()
    CLOCK[0] = 0.0
    yield t
    plugin.uninstall()
    t.clear_cache()


@pytest.fixture
def runner_cls():
    cls = make_runner_class()
    cls.calls = []
    return cls


def _profiled(cls, gemm):
    return {tac for g, tac, prep in cls.calls if g == gemm and not prep and tac != -1}


def test_without_the_plugin_the_tuner_profiles_and_picks_an_unfit_tactic(tuner, runner_cls):
    with flashinfer_autotuner.autotune(True):
        _, tactic = choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48))
    assert tactic == 26  # the fastest by the simulated clock, and it cannot fit a GB10


def test_plugin_profiles_only_fitting_tactics_and_picks_among_them(tuner, runner_cls, caplog):
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with caplog.at_level(logging.INFO, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            _, t2 = choose(tuner, runner_cls(), 2)
            _, t1 = choose(tuner, runner_cls(), 1)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) - UNFIT_GEMM2
    assert _profiled(runner_cls, 1) == set(range(16))  # every GEMM1 tactic fits
    assert t2 == 19 and t1 == 3  # the fastest of what was profiled
    lines = [r.getMessage() for r in caplog.records if "pruned" in r.getMessage()]
    # one line per op, however many tuning buckets were profiled
    assert len([m for m in lines if "gemm2" in m]) == 1 and len([m for m in lines if "gemm1" in m]) == 1
    assert "pruned 2 of 32 tactics for trtllm::fused_moe::gemm2 on sm121" in lines[0]
    assert "102400 B > 101376 B" in lines[0]


def test_plugin_leaves_forward_preparation_and_cache_identity_alone(tuner, runner_cls):
    runner = runner_cls()
    runner.gemm_idx_for_tuning = 2  # FlashInfer sets this itself before choose_one; it is part of the hash
    before_hash = hash(runner)
    before_key = flashinfer_autotuner.AutoTuner._get_cache_key(
        "trtllm::fused_moe::gemm2", runner, ((8, 16),), runner_cls.tuning_config, runner.get_cache_key_extras([]))
    forward = runner_cls.forward
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True):
        choose(tuner, runner, 2)
    assert runner_cls.forward is forward
    assert hash(runner) == before_hash and "smem" not in " ".join(vars(runner))
    after_key = flashinfer_autotuner.AutoTuner._get_cache_key(
        "trtllm::fused_moe::gemm2", runner, ((8, 16),), runner_cls.tuning_config, runner.get_cache_key_extras([]))
    assert after_key == before_key
    preparations = [c for c in runner_cls.calls if c[2]]
    assert preparations and all(tac == -1 for _, tac, _ in preparations)  # the tuner's own do_preparation call


def test_injected_failures_pass_everything_through_with_one_warning(tuner, runner_cls, monkeypatch, caplog):
    plugin.install(gpu="gb10", version="0.7.2.post1")

    def broken(runner, kwargs):
        raise KeyError("injected failure")

    monkeypatch.setattr(plugin, "runner_facts", broken)
    plugin.uninstall()
    plugin.install(gpu="gb10", version="0.7.2.post1")  # rewrap with the broken reader
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            _, tactic = choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48))  # nothing pruned, nothing lost
    assert tactic == 26
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "injected failure" in warnings[0] and "passing all 32 tactics through" in warnings[0]


def test_a_failing_catalog_lookup_never_breaks_the_tuner(tuner, runner_cls, monkeypatch):
    import smem_tactics.catalogs as catalogs

    def boom(*a, **k):
        raise RuntimeError("catalog exploded")

    monkeypatch.setattr(catalogs, "judge_all", boom)
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True):
        _, tactic = choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) and tactic == 26


@pytest.mark.parametrize("kwargs, said", [
    (dict(gpu="gb10", version="0.5.0"), "has no tactic catalog"),
    (dict(version="0.7.2.post1"), "is unknown or reports an implausible shared-memory limit"),
])
def test_unknown_version_or_device_passes_through_with_a_warning(tuner, runner_cls, caplog, kwargs, said,
                                                                 monkeypatch):
    import smem_tactics.devices as devices

    monkeypatch.setattr(devices, "detect_local_device", lambda index=0: None)
    plugin.install(**kwargs)
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            choose(tuner, runner_cls(), 2)
            choose(tuner, runner_cls(), 1)
    assert _profiled(runner_cls, 2) == set(range(16, 48))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and said in warnings[0]


def test_a_runner_whose_count_disagrees_with_the_catalog_is_not_pruned(tuner, runner_cls, caplog):
    runner = runner_cls()
    runner.fused_moe_runner.gemm2 = 31  # not FlashInfer 0.7.2.post1's SM121 NVFP4 list
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            choose(tuner, runner, 2)
    assert _profiled(runner_cls, 2) == set(range(16, 47))
    assert any("offers 31 tactics but" in r.getMessage() for r in caplog.records)


def test_everything_pruned_follows_flashinfers_empty_list_convention(tuner, runner_cls, caplog):
    plugin.install(arch="sm121", limit=60000, version="0.7.2.post1")
    with caplog.at_level(logging.WARNING):
        with flashinfer_autotuner.autotune(True):
            _, tactic = choose(tuner, runner_cls(), 2)
            _, tactic_small = choose(tuner, runner_cls(), 2, tokens=3)
    # [-1], as FlashInfer's own MoERunner returns for an empty stage: only the fallback runs, nothing raises
    assert tactic == -1 and tactic_small == -1 and _profiled(runner_cls, 2) == set()
    assert {tac for g, tac, prep in runner_cls.calls if g == 2 and not prep} == {-1}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "none of the 32 nvfp4 tactics" in errors[0] and "the smallest is tactic" in errors[0]
    smallest_bytes = int(errors[0].split(" at ")[1].split(" B")[0])
    assert smallest_bytes > 60000


def test_default_install_detects_the_installed_version(tuner, runner_cls):
    pruner = plugin.install(gpu="gb10")
    assert pruner.catalog.key == "0.7.2.post1" and pruner.how == "exact"
    with flashinfer_autotuner.autotune(True):
        choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) - UNFIT_GEMM2


def test_a_device_reporting_zero_bytes_passes_everything_through(tuner, runner_cls, monkeypatch, caplog):
    import smem_tactics.devices as devices

    monkeypatch.setattr(devices, "detect_local_device",
                        lambda index=0: devices.DeviceLimit(0, "torch", "NVIDIA GB10", "sm121"))
    plugin.install(version="0.7.2.post1")
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            _, tactic = choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) and tactic == 26
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "implausible" in warnings[0]


def test_garbage_verdicts_pass_everything_through(tuner, runner_cls, monkeypatch):
    import smem_tactics.catalogs as catalogs

    monkeypatch.setattr(catalogs, "judge_all", lambda listing, *a: [object()] * len(listing))
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True):
        choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48))


def test_a_runner_returning_an_iterator_gets_the_whole_list(tuner, runner_cls):
    class IterRunner(runner_cls):
        def get_valid_tactics(self, inputs, profile):
            return iter(runner_cls.get_valid_tactics(self, inputs, profile))

    plugin.install(gpu="gb10", version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True):
        choose(tuner, IterRunner(), 1)  # nothing to prune: the host must still see all 16
        choose(tuner, IterRunner(), 2)
    assert _profiled(runner_cls, 1) == set(range(16))
    assert _profiled(runner_cls, 2) == set(range(16, 48)) - UNFIT_GEMM2


def test_a_newer_flashinfer_with_a_matching_runner_uses_the_newest_catalog(tuner, runner_cls, caplog):
    plugin.install(gpu="gb10", version="0.9.0")
    with caplog.at_level(logging.INFO, logger="smem_tactics.integrations"):
        with flashinfer_autotuner.autotune(True):
            choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) - UNFIT_GEMM2
    assert any("FlashInfer (CUTLASS fused MoE) 0.7.4 (runtime-checked for flashinfer 0.9.0)" in r.getMessage()
               for r in caplog.records)


def test_disabled_context_and_environment_switch(tuner, runner_cls, monkeypatch):
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with disabled():
        with flashinfer_autotuner.autotune(True):
            choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48))
    tuner.clear_cache()
    runner_cls.calls.clear()
    monkeypatch.setenv(DISABLE_ENV, "1")
    with flashinfer_autotuner.autotune(True):
        choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48))
    tuner.clear_cache()
    runner_cls.calls.clear()
    monkeypatch.delenv(DISABLE_ENV)
    with flashinfer_autotuner.autotune(True):
        choose(tuner, runner_cls(), 2)
    assert _profiled(runner_cls, 2) == set(range(16, 48)) - UNFIT_GEMM2


def test_uninstall_restores_the_tuner_and_the_runner_class(tuner, runner_cls):
    original_choose = flashinfer_autotuner.AutoTuner.choose_one
    plugin.install(gpu="gb10", version="0.7.2.post1", runner_classes=[runner_cls])
    assert flashinfer_autotuner.AutoTuner.choose_one is not original_choose
    assert "get_valid_tactics" in runner_cls.__dict__ and hasattr(runner_cls.get_valid_tactics, "__wrapped__")
    plugin.uninstall()
    assert flashinfer_autotuner.AutoTuner.choose_one is original_choose
    assert not hasattr(runner_cls.__dict__["get_valid_tactics"], "__wrapped__")


_CHILD = textwrap.dedent("""
    import json, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from fi_standins import choose, install_cuda_standins, make_runner_class
    install_cuda_standins(setattr)
    import flashinfer.autotuner as fa
    cls = make_runner_class()
    tuner = fa.AutoTuner.get()
    with fa.autotune(False, cache={path!r}):
        picks = {{g: choose(tuner, cls(), g, tokens=t)[1] for g, t in ((1, 8), (2, 8))}}
        picks_small = choose(tuner, cls(), 2, tokens=3)[1]
    print(json.dumps({{"gemm1": picks[1], "gemm2": picks[2], "gemm2_small": picks_small,
                       "profiled": [c for c in cls.calls if not c[2]]}}))
""")


def _child(path):
    code = _CHILD.format(root=ROOT, tests=TESTS, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tuned_cache_round_trips_to_another_process(tuner, runner_cls, tmp_path):
    path = tmp_path / "fi_cache.json"
    plugin.install(gpu="gb10", version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True, cache=str(path)):
        choose(tuner, runner_cls(), 1)
        choose(tuner, runner_cls(), 2)
    saved = json.loads(path.read_text())
    tactics_saved = {v[1] for k, v in saved.items() if "gemm2" in k}
    assert tactics_saved == {19}
    got = _child(path)
    assert got["gemm2"] == 19 and got["gemm1"] == 3 and got["gemm2_small"] == 19
    assert got["profiled"] == []  # served from the file: nothing explored in the second process


def test_cache_written_from_verdicts_is_used_by_another_process(tuner, runner_cls, tmp_path):
    path = tmp_path / "seeded.json"
    choices = choose_tactics("flashinfer", "0.7.2.post1", "nvfp4", gpu="gb10")
    assert [c.tactic for c in choices] == [0, 16]  # entry 0 of each GEMM fits a GB10
    written = write_flashinfer_cache(path, runner_cls(), moe_inputs(8), choices)
    assert written == 2 * 4  # both GEMMs x the 4 token buckets (1, 2, 4, 8)
    got = _child(path)
    assert got == {"gemm1": 0, "gemm2": 16, "gemm2_small": 16, "profiled": []}


# -- the blocklist: written here, loaded by FlashInfer's own TacticsBlocklist in a fresh process -------------

_BLOCKLIST_CHILD = textwrap.dedent("""
    import json, os, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    os.environ["FLASHINFER_TACTICS_BLOCKLIST"] = {path!r}
    import torch
    torch.cuda.get_device_name = lambda *a, **k: {device!r}  # what the target GPU reports (CUDA stand-in)
    torch.cuda.current_device = lambda: 0
    from fi_standins import choose, install_cuda_standins, make_runner_class
    install_cuda_standins(setattr)
    import flashinfer.autotuner as fa
    cls = make_runner_class()
    tuner = fa.AutoTuner.get()  # reads FLASHINFER_TACTICS_BLOCKLIST here, as in serving
    with fa.autotune(True):
        choose(tuner, cls(), 1)
        choose(tuner, cls(), 2)
    print(json.dumps({{"summary": tuner._blocklist.summary(),
                       "profiled": sorted({{c[1] for c in cls.calls if not c[2] and c[1] != -1}})}}))
""")


def _blocklist_child(path, device):
    code = _BLOCKLIST_CHILD.format(root=ROOT, tests=TESTS, path=str(path), device=device)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_blocklist_loads_in_flashinfers_real_autotuner_and_removes_exactly_what_cannot_run(tmp_path, capsys):
    path = tmp_path / "gb10_nvfp4.json"
    assert main(["blocklist", "--framework", "flashinfer", "--version", "0.7.2.post1", "--gpu", "gb10",
                 "--dtype", "nvfp4", "--out", str(path)]) == 0
    assert "trtllm::fused_moe::gemm2::MoERunner: 2 blocked (26, 27)" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert doc["_metadata"]["gpu"] == "NVIDIA GB10" and doc["_metadata"]["flashinfer_version"] == "0.7.2.post1"
    assert doc["_smem_tactics"]["invalid"]["26"]["why"] == "shared memory: 102400 B > 101376 B"
    got, _ = _blocklist_child(path, "NVIDIA GB10")
    assert got["summary"] == {"trtllm::fused_moe::gemm1::MoERunner": 0, "trtllm::fused_moe::gemm2::MoERunner": 2}
    assert set(got["profiled"]) == set(range(48)) - UNFIT_GEMM2  # no plug-in installed: the file alone prunes


def test_blocklist_for_another_gpu_is_skipped_by_flashinfer(tmp_path):
    path = tmp_path / "gb10_nvfp4.json"
    assert main(["blocklist", "--framework", "flashinfer", "--gpu", "gb10", "--dtype", "nvfp4", "--out",
                 str(path)]) == 0  # default version: the installed one
    got, stderr = _blocklist_child(path, "NVIDIA H100 80GB HBM3")
    assert got["summary"] == {} and set(got["profiled"]) == set(range(48))
    assert "different environment" in stderr and "gpu: saved=NVIDIA GB10" in stderr


@pytest.mark.parametrize("argv, needle", [
    (["--framework", "trtllm", "--gpu", "gb10", "--dtype", "nvfp4"], "--framework: 'trtllm' is not accepted"),
    (["--framework", "flashinfer", "--version", "0.6.9", "--gpu", "gb10", "--dtype", "nvfp4"],
     "FlashInfer 0.6.9 does not read a tactic blocklist"),
    (["--framework", "flashinfer", "--gpu", "h100", "--dtype", "nvfp4"], "device-name:"),
    (["--framework", "flashinfer", "--gpu", "gb10", "--dtype", "fp5"], "dtype: 'fp5'"),
    (["--framework", "flashinfer", "--gpu", "gb10", "--limit", "90000", "--dtype", "nvfp4"], "conflicting"),
    (["--framework", "flashinfer", "--gpu", "gb10", "--dtype", "nvfp4", "--device-name", ""], "device-name"),
])
def test_blocklist_bad_input_is_one_line(tmp_path, capsys, argv, needle):
    out = tmp_path / "bl.json"
    assert main(["blocklist", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1 and not out.exists()


def test_cache_writer_refuses_a_version_without_a_file_cache(tuner, runner_cls, tmp_path):
    from smem_tactics.errors import VersionError

    choices = choose_tactics("flashinfer", "0.6.4", "nvfp4", gpu="gb10")
    with pytest.raises(VersionError, match="has no file cache"):
        write_flashinfer_cache(tmp_path / "c.json", runner_cls(), moe_inputs(8), choices, version="0.6.4")
    assert not (tmp_path / "c.json").exists()
