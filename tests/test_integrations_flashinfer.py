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

from smem_tactics.integrations import DISABLE_ENV, NoFittingTacticError, disabled  # noqa: E402
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
    (dict(version="0.7.2.post1"), "device (arch and shared-memory limit) is unknown"),
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


def test_everything_pruned_is_a_clear_error_naming_the_smallest_tactic(tuner, runner_cls):
    plugin.install(arch="sm121", limit=60000, version="0.7.2.post1")
    with flashinfer_autotuner.autotune(True):
        with pytest.raises(NoFittingTacticError) as info:
            choose(tuner, runner_cls(), 2)
    text = str(info.value)
    assert "none of the 32" in text and "smallest is tactic" in text and " B." in text
    smallest_bytes = int(text.split(" at ")[1].split(" B")[0])
    assert smallest_bytes > 60000


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
