"""The TensorRT-LLM plug-in and cache writer against stand-ins of TensorRT-LLM's own autotuner and MoE runner, written
from its source at named commits (tests/trtllm_standins.py says which behaviour comes from where; TensorRT-LLM cannot
be installed here), plus one import-guarded test against the real package."""

import importlib.util
import inspect
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trtllm_standins as S
from smem_tactics.errors import VersionError
from smem_tactics.integrations import DISABLE_ENV, Device, NoFittingTacticError, Pruner
from smem_tactics.integrations import tensorrt_llm as plugin
from smem_tactics.integrations.cache import choose_tactics, write_trtllm_cache

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture(autouse=True)
def _clean():
    S.reset()
    yield
    plugin.uninstall()
    S.reset()


def _profiled(gemm):
    return {t for g, t, prep in S.LAUNCHES if g == gemm and not prep}


def _tuning(tuner_cls, runner_cls, **install):
    """The plug-in installed for ``runner_cls`` and a stand-in tuner in tuning mode."""
    plugin.install(runner_class=runner_cls, **install)
    tuner = tuner_cls()
    tuner.is_tuning_mode = True
    return tuner


def _messages(caplog, level=logging.WARNING, name="smem_tactics"):
    return [r.getMessage() for r in caplog.records if r.levelno == level and r.name.startswith(name)]


def test_importing_the_plugins_imports_no_framework():
    code = ("import sys, smem_tactics, smem_tactics.catalogs, smem_tactics.integrations, "
            "smem_tactics.integrations.tensorrt_llm, smem_tactics.integrations.flashinfer, "
            "smem_tactics.integrations.cache, smem_tactics.integrations.blocklist; "
            "bad = [m for m in ('tensorrt_llm', 'flashinfer', 'torch') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


# -- what gets pruned, per version ---------------------------------------------------------------------------


def test_12_gemm2_loses_exactly_the_tiles_that_cannot_fit_a_gb10(caplog):
    tuner = _tuning(S.Tuner12, S.MoERunner12, gpu="gb10", version="1.2.1")
    with caplog.at_level(logging.INFO, logger="smem_tactics.integrations"):
        S.tune(tuner, S.MoERunner12(), 2)
        S.tune(tuner, S.MoERunner12(), 1)
    assert _profiled(2) == set(range(16)) - {6, 7} and _profiled(1) == set(range(8))
    infos = _messages(caplog, logging.INFO)
    assert infos[0].startswith("smem_tactics: pruned 2 of 16 tactics for trtllm::fused_moe::gemm2 on sm121")
    assert "CUTLASS 4.4.1/4.4.2 rules" in infos[0] and "shared memory: 102400 B > 101376 B" in infos[0]
    assert len([m for m in infos if "gemm2" in m]) == 1  # once per op, not per bucket


def test_main_line_is_pruned_by_default_with_its_own_lists():
    """TensorRT-LLM 1.4.0rc1 (main line): the #12704 lists (6 / 12 tactics on SM12x NVFP4), detected by version."""
    tuner = _tuning(S.TunerMain, S.MoERunnerMain, gpu="gb10", version="1.4.0rc1")
    S.tune(tuner, S.MoERunnerMain(), 2)
    assert _profiled(2) == set(range(12)) - {4, 5}  # FINALIZE 128x256 / 256x128: 102400 B


@pytest.mark.parametrize("activation, pruned", [
    (5, {5, 7, 8}),   # main-line Swiglu = 5: GEMM1 runs the fused gate kernel (106496 B, 114688 B, 147456 B)
    (6, {5, 7, 8}),   # Geglu = 6
    (3, {8}),         # Relu = 3 on the main line (it was read as SwiGLU before): the plain kernel, 131072 B
    (2, {8}),         # Gelu = 2
])
def test_main_line_activation_enum_decides_the_bf16_gemm1_kernel(activation, pruned):
    tuner = _tuning(S.TunerMain, S.MoERunnerMain, gpu="gb10", version="1.4.0rc1")
    # the main-line catalog has no SM12x BF16 list: the runner's 9 tactics match 1.2's (runtime-checked alternate)
    S.tune(tuner, S.MoERunnerMain(x_dtype=S.BF16, weight_dtype=S.BF16, counts=(9, 9), activation_type=activation), 1)
    assert _profiled(1) == set(range(9)) - pruned


def test_12_runner_without_activation_is_judged_under_both_kernels():
    tuner = _tuning(S.Tuner12, S.MoERunner12, gpu="gb10", version="1.2")
    S.tune(tuner, S.MoERunner12(x_dtype=S.BF16, weight_dtype=S.BF16, counts=(9, 9)), 1)
    assert _profiled(1) == set(range(9)) - {8}  # only what fails with the gated and the plain kernel


def test_13_runner_carrying_12_lists_uses_them_after_the_count_check(caplog):
    tuner = _tuning(S.Tuner12, S.MoERunner12, gpu="gb10", version="1.3.0rc17")
    with caplog.at_level(logging.INFO, logger="smem_tactics.integrations"):
        S.tune(tuner, S.MoERunner12(counts=(8, 16)), 2)
    assert _profiled(2) == set(range(16)) - {6, 7}
    assert "TensorRT-LLM 1.2 (runtime-checked for trtllm 1.3.0rc17)" in _messages(caplog, logging.INFO)[0]


@pytest.mark.parametrize("counts, profiled, warned", [
    ((6, 12), set(range(12)) - {4, 5}, None),
    ((7, 13), set(range(13)), "the runner offers 13 tactics but the TensorRT-LLM main catalog"),
])
def test_newer_unknown_version_uses_the_newest_catalog_only_when_the_runner_matches(caplog, counts, profiled, warned):
    tuner = _tuning(S.TunerMain, S.MoERunnerMain, gpu="gb10", version="1.6.0")
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        S.tune(tuner, S.MoERunnerMain(counts=counts), 2)
        S.tune(tuner, S.MoERunnerMain(counts=counts), 2, tokens=3)
    assert _profiled(2) == profiled
    warnings = _messages(caplog)
    assert (warnings == []) if warned is None else (len(warnings) == 1 and warned in warnings[0])


def test_older_version_passes_through_with_one_warning(caplog):
    tuner = _tuning(S.Tuner12, S.MoERunner12, gpu="gb10", version="1.1.0")
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        S.tune(tuner, S.MoERunner12(), 2)
        S.tune(tuner, S.MoERunner12(), 1)
    assert _profiled(2) == set(range(16))
    assert len(_messages(caplog)) == 1 and "1.1.0 has no tactic catalog" in _messages(caplog)[0]


def test_finalize_disabled_runner_is_judged_on_its_own_list():
    tuner = _tuning(S.Tuner12, S.MoERunner12, gpu="gb10", version="1.2")
    S.tune(tuner, S.MoERunner12(use_fused_finalize=False, counts=(8, 8)), 2)
    assert _profiled(2) == set(range(8))


def test_api_shape_identity_and_forward_are_untouched():
    runner = S.MoERunnerMain()
    before_hash, before_id = hash(runner), runner.unique_id()
    forward, sig = S.MoERunnerMain.forward, inspect.signature(S.MoERunner12.get_valid_tactics)
    plugin.install(gpu="gb10", version="main", runner_class=S.MoERunnerMain)
    assert S.MoERunnerMain.forward is forward and hash(runner) == before_hash and runner.unique_id() == before_id
    assert set(vars(runner)) == set(vars(S.MoERunnerMain()))
    plugin.uninstall()
    assert inspect.signature(S.MoERunner12.get_valid_tactics) == sig and "get_valid_tactics" not in \
        S.MoERunnerMain.__dict__


# -- everything pruned: the host's own convention, never an abort ------------------------------------------


@pytest.mark.parametrize("tuner_cls, runner_cls, version, smallest", [
    (S.Tuner12, S.MoERunner12, "1.2", "tactic 14 128x256x128 (CtaShape128x256x64B) FINALIZE swap_ab at 74752 B"),
    (S.TunerMain, S.MoERunnerMain, "1.4.0", "tactic 10 128x256x128 (CtaShape128x256x64B) FINALIZE swap_ab at 74752 B"),
])
def test_everything_pruned_follows_the_hosts_empty_list_convention(caplog, tuner_cls, runner_cls, version, smallest):
    plugin.install(arch="sm121", limit=60000, version=version, runner_class=runner_cls)
    tuner = tuner_cls()
    tuner.is_tuning_mode = True
    with caplog.at_level(logging.WARNING):
        runner, tactic = S.tune(tuner, runner_cls(), 2)
        S.tune(tuner, runner_cls(), 2, tokens=5)
    assert tactic == -1 and _profiled(2) == set()  # the tuner's fallback; nothing raised, nothing profiled
    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 1 and f"the smallest is {smallest}" in errors[0] and DISABLE_ENV in errors[0]
    host = [r.getMessage() for r in caplog.records if r.name == "tensorrt_llm"]
    assert host and all("No valid runner/tactic was found" in m for m in host)  # the host's own warning


def test_offline_choice_still_raises_when_nothing_fits():
    with pytest.raises(NoFittingTacticError):
        choose_tactics("trtllm", "1.2", "nvfp4", arch="sm121", limit=50000)


# -- faults: the host never sees an exception and gets its own list back -----------------------------------


def _faulty_tune(monkeypatch, caplog, runner=None, **install):
    install = {"gpu": "gb10", "version": "1.2", **install}
    plugin.install(runner_class=S.MoERunner12, **install)
    tuner = S.Tuner12()
    tuner.is_tuning_mode = True
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        for tokens in (8, 3):
            S.tune(tuner, runner or S.MoERunner12(), 2, tokens=tokens)
    return _messages(caplog)


def test_a_device_reporting_zero_bytes_passes_everything_through(monkeypatch, caplog):
    import smem_tactics.devices as devices

    monkeypatch.setattr(devices, "detect_local_device", lambda index=0: devices.DeviceLimit(0, "torch", "GB10", "sm121"))
    warnings = _faulty_tune(monkeypatch, caplog, gpu=None)
    assert _profiled(2) == set(range(16)) and len(warnings) == 1 and "implausible" in warnings[0]


@pytest.mark.parametrize("limit", [0, -1, "lots", 10 ** 12, None, True, 512.5])
def test_garbage_limits_pass_through(caplog, limit):
    pruner = Pruner("trtllm", "1.2", Device("sm121", limit, "junk"), empty=())
    facts = lambda: plugin.runner_facts(S.MoERunner12(), {"gemm_idx": 2})  # noqa: E731
    original = list(range(16))
    assert pruner.filter("trtllm::fused_moe::gemm2", facts, original) is original


@pytest.mark.parametrize("junk", [
    lambda listing, *a: None, lambda listing, *a: [], lambda listing, *a: ["x"] * len(listing),
    lambda listing, *a: list(reversed(__import__("smem_tactics.catalogs", fromlist=["x"]).verdicts.judge_all(
        listing, *a))),
])
def test_garbage_verdicts_pass_through(monkeypatch, caplog, junk):
    import smem_tactics.catalogs as catalogs

    monkeypatch.setattr(catalogs, "judge_all", junk)
    warnings = _faulty_tune(monkeypatch, caplog)
    assert _profiled(2) == set(range(16)) and len(warnings) == 1 and "plug-in failure" in warnings[0]


@pytest.mark.parametrize("broken", ["runner_facts", "_op_of"])
def test_failing_readers_pass_through(monkeypatch, caplog, broken):
    def boom(*a, **k):
        raise KeyError("injected")

    monkeypatch.setattr(plugin, broken, boom)
    warnings = _faulty_tune(monkeypatch, caplog)
    assert _profiled(2) == set(range(16)) - ({6, 7} if broken == "_op_of" else set())
    assert len(warnings) == (0 if broken == "_op_of" else 1)


@pytest.mark.parametrize("values, why", [
    (["a", "b"], "not integers"), ([0, 1, 99], "does not have (99)"), ([None], "not integers"),
])
def test_garbage_tactic_values_pass_through(monkeypatch, caplog, values, why):
    class Runner(S.MoERunner12):
        def get_valid_tactics(self, inputs, profile, **kwargs):
            return list(values)

    plugin.install(gpu="gb10", version="1.2", runner_class=Runner)
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        got = Runner().get_valid_tactics(None, None, gemm_idx=2)
    assert got == values and len(_messages(caplog)) == 1 and why in _messages(caplog)[0]


class _IterRunner(S.MoERunner12):
    def get_valid_tactics(self, inputs, profile, **kwargs):
        return iter(range(self.fused_moe_runner.get_tactic_num(kwargs["gemm_idx"])))


def test_an_iterator_is_materialized_once_and_never_handed_back_exhausted():
    tuner = _tuning(S.Tuner12, _IterRunner, gpu="gb10", version="1.2")
    S.tune(tuner, _IterRunner(), 1)  # nothing pruned for GEMM1: the whole list must still be there
    S.tune(tuner, _IterRunner(), 2)
    assert _profiled(1) == set(range(8)) and _profiled(2) == set(range(16)) - {6, 7}


def test_switched_off_the_runner_object_comes_back_untouched(monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "1")
    plugin.install(gpu="gb10", version="1.2", runner_class=_IterRunner)
    got = _IterRunner().get_valid_tactics(None, None, gemm_idx=2)
    assert not isinstance(got, list) and list(got) == list(range(16))  # not consumed by the plug-in


def test_a_broken_log_handler_does_not_reach_the_host(caplog):
    class Boom(logging.Handler):
        def emit(self, record):
            raise RuntimeError("handler exploded")

    log = logging.getLogger("smem_tactics.test_boom")
    log.addHandler(Boom())
    log.propagate = False
    log.raiseExceptions = True
    plugin.install(gpu="gb10", version="1.2", runner_class=S.MoERunner12, logger=log)
    tuner = S.Tuner12()
    tuner.is_tuning_mode = True
    S.tune(tuner, S.MoERunner12(), 2)
    assert _profiled(2) == set(range(16)) - {6, 7}


# -- the cache: a file the real tuner uses in a fresh process, or a refusal with the reason ------------------


_CHILD = textwrap.dedent("""
    import json, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    import trtllm_standins as S
    tuner = S.{tuner}()
    picks = {{}}
    with tuner.autotune({tune_mode}, cache_path={path!r}):
        for gemm in (1, 2):
            for tokens in (1, 3, 8, 100):
                picks[f"{{gemm}}/{{tokens}}"] = S.tune(tuner, S.{runner}(), gemm, tokens=tokens)[1]
    print(json.dumps({{"picks": picks, "launches": S.LAUNCHES}}))
""")


def _child(path, tuner="TunerMain", runner="MoERunnerMain", tune_mode=False):
    code = _CHILD.format(root=str(ROOT), tests=str(TESTS), path=str(path), tuner=tuner, runner=runner,
                         tune_mode=tune_mode)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.parametrize("tune_mode", [False, True])
def test_main_line_cache_is_used_by_a_fresh_process_without_profiling(tmp_path, tune_mode):
    choices = choose_tactics("trtllm", "main", "nvfp4", gpu="gb10")
    assert [(c.op, c.tactic) for c in choices] == [("trtllm::fused_moe::gemm1", 0), ("trtllm::fused_moe::gemm2", 0)]
    path = tmp_path / "moe_cache.json"
    files = write_trtllm_cache(path, S.MoERunnerMain(), S.moe_inputs(8), choices, rank=0, tuner=S.TunerMain(),
                               version="1.4.0rc1")
    assert files == [path] and set(json.loads(path.read_text())) == {"metadata", "rank_0"}
    got, stderr = _child(path, tune_mode=tune_mode)
    assert got["launches"] == []  # zero profiling launches, zero fallbacks
    assert set(got["picks"].values()) == {0} and "fallback" not in stderr


def test_12_cache_is_refused_with_the_reason(tmp_path):
    choices = choose_tactics("trtllm", "1.2", "nvfp4", gpu="gb10")
    with pytest.raises(VersionError, match=r"hash\(runner\).*differ in every process"):
        write_trtllm_cache(tmp_path / "c.json", S.MoERunner12(), S.moe_inputs(8), choices, tuner=S.Tuner12(),
                           version="1.2.1")
    assert not (tmp_path / "c.json").exists()


def test_why_12_is_refused_its_own_cache_does_not_match_in_another_process(tmp_path):
    """The 1.2.0rc2 behaviour the refusal rests on: a rank file saved by one process never hits in the next."""
    path = tmp_path / "c.json"
    tuner = S.Tuner12()
    with tuner.autotune(True, cache_path=str(path)):
        S.tune(tuner, S.MoERunner12(), 2)
    assert (tmp_path / "c.rank0.json").is_file()
    got, stderr = _child(path, tuner="Tuner12", runner="MoERunner12")
    assert set(got["picks"].values()) == {-1} and "using the fallback tactic" in stderr


def test_cache_writer_refuses_unknown_versions_and_the_wrong_api(tmp_path):
    choices = choose_tactics("trtllm", "main", "nvfp4", gpu="gb10")
    with pytest.raises(VersionError, match="has no catalog"):
        write_trtllm_cache(tmp_path / "c.json", S.MoERunnerMain(), S.moe_inputs(8), choices, tuner=S.TunerMain(),
                           version="0.9")
    with pytest.raises(VersionError, match=r"save_cache\(file_path, rank\)"):
        write_trtllm_cache(tmp_path / "c.json", S.MoERunnerMain(), S.moe_inputs(8), choices, tuner=S.Tuner12(),
                           version="main")


def test_choose_tactics_errors():
    from smem_tactics.errors import DeviceError

    with pytest.raises(VersionError):
        choose_tactics("trtllm", "0.9", "nvfp4", gpu="gb10")
    with pytest.raises(DeviceError):
        choose_tactics("trtllm", "1.2", "nvfp4", gpu="a-gpu-that-does-not-exist")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt_llm") is None,
                    reason="TensorRT-LLM is not installed (its PyPI packages download from NVIDIA's index)")
def test_real_tensorrt_llm_runner_is_wrapped_and_restored():
    from tensorrt_llm._torch.custom_ops.torch_custom_ops import MoERunner as RealMoERunner

    forward = RealMoERunner.forward
    params = list(inspect.signature(RealMoERunner.get_valid_tactics).parameters)
    assert params[:3] == ["self", "inputs", "profile"]
    assert "do_preparation" in inspect.signature(RealMoERunner.forward).parameters
    plugin.install(gpu="gb10")
    try:
        assert RealMoERunner.forward is forward
        assert hasattr(RealMoERunner.get_valid_tactics, "__wrapped__")
    finally:
        plugin.uninstall()
    assert not hasattr(RealMoERunner.__dict__.get("get_valid_tactics"), "__smem_tactics_original__")
