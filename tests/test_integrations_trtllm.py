"""The TensorRT-LLM plug-in against the documented 1.2.x API shape (TensorRT-LLM cannot be installed here: its PyPI
packages fetch the wheel from NVIDIA's own index), plus one import-guarded test against the real package.

1.2.x API (tensorrt_llm/_torch/autotuner.py, custom_ops/torch_custom_ops.py): ``TunableRunner.get_valid_tactics(
inputs, profile, **kwargs)``; ``forward(inputs, *, tactic=-1, do_preparation=False, **kwargs)``; ``MoERunner``
returns ``range(fused_moe_runner.get_tactic_num(kwargs["gemm_idx"]))``; ops ``trtllm::fused_moe::gemm1/gemm2``;
the tuner calls ``get_valid_tactics(tensors, profile, **kwargs)``, then ``runner(tensors, tactic=-1,
do_preparation=True, **kwargs)`` once, then each tactic; cache key ``(op, class name, hash(runner), profile)``.
"""

import ast
import importlib.util
import inspect
import json
import logging
import subprocess
import sys

import pytest

from smem_tactics.integrations import NoFittingTacticError
from smem_tactics.integrations import tensorrt_llm as plugin
from smem_tactics.integrations.cache import choose_tactics, write_trtllm_cache


class FakeFusedMoeRunner:
    """``torch.classes.trtllm.FusedMoeRunner`` surface: tactic counts per GEMM (TensorRT-LLM 1.2, SM121, NVFP4)."""

    def __init__(self, counts=(8, 16)):
        self.counts = counts

    def get_tactic_num(self, gemm_idx):
        return self.counts[gemm_idx - 1]


class TunableRunner:
    def get_valid_tactics(self, inputs, profile, **kwargs):
        return [-1]

    def __call__(self, inputs, **kwargs):
        return self.forward(inputs, **kwargs)

    def forward(self, /, inputs, *, tactic=-1, do_preparation=False, **kwargs):
        raise NotImplementedError

    def __hash__(self):
        return hash(tuple(self.__dict__.values()))


class MoERunner(TunableRunner):
    """The 1.2.x ``MoERunner`` surface (dtype names as torch spells them; FP4 weights are packed in int64)."""

    runs = []

    def __init__(self, x_dtype="torch.bfloat16", weight_dtype="torch.int64", output_dtype="torch.bfloat16",
                 use_fused_finalize=True, counts=(8, 16)):
        self.x_dtype = x_dtype
        self.weight_dtype = weight_dtype
        self.output_dtype = output_dtype
        self.top_k = 8
        self.use_deepseek_fp8_block_scale = False
        self.use_w4_group_scaling = False
        self.use_int8_woq_per_channel = False
        self.use_mxfp8_act_scaling = False
        self.min_latency_mode = False
        self.use_fused_finalize = use_fused_finalize
        self.activation_type = 3
        self.fused_moe_runner = FakeFusedMoeRunner(counts)

    def get_valid_tactics(self, inputs, profile, **kwargs):
        return range(self.fused_moe_runner.get_tactic_num(kwargs["gemm_idx"]))

    def forward(self, inputs, gemm_idx=0, tactic=-1, do_preparation=False):
        MoERunner.runs.append((gemm_idx, tactic, do_preparation))


def tune(runner, gemm_idx):
    """The 1.2.x tuner's per-profile sequence for one runner."""
    valid = runner.get_valid_tactics([None] * 5, "profile", gemm_idx=gemm_idx)
    if "do_preparation" in inspect.signature(runner.forward).parameters and len(valid) > 0:
        runner([None] * 5, tactic=-1, do_preparation=True, gemm_idx=gemm_idx)
    for tac in valid:
        runner([None] * 5, tactic=tac, gemm_idx=gemm_idx)
    return list(valid)


@pytest.fixture(autouse=True)
def _clean():
    MoERunner.runs = []
    yield
    plugin.uninstall()


def test_importing_the_plugins_imports_no_framework():
    code = ("import sys, smem_tactics, smem_tactics.catalogs, smem_tactics.integrations, "
            "smem_tactics.integrations.tensorrt_llm, smem_tactics.integrations.flashinfer, "
            "smem_tactics.integrations.cache; "
            "bad = [m for m in ('tensorrt_llm', 'flashinfer', 'torch') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_gemm2_loses_exactly_the_tiles_that_cannot_fit_a_gb10(caplog):
    plugin.install(gpu="gb10", version="1.2.1", runner_class=MoERunner)
    with caplog.at_level(logging.INFO, logger="smem_tactics.integrations"):
        assert tune(MoERunner(), 2) == [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]
        assert tune(MoERunner(), 2) == [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]
        assert tune(MoERunner(), 1) == list(range(8))
    infos = [r.getMessage() for r in caplog.records if "pruned" in r.getMessage()]
    assert infos[0].startswith("smem_tactics: pruned 2 of 16 tactics for trtllm::fused_moe::gemm2 on sm121")
    assert "CUTLASS 4.4.1/4.4.2 rules" in infos[0] and len(infos) == 2  # one per op, not per call
    profiled = {t for g, t, prep in MoERunner.runs if g == 2 and not prep}
    assert 6 not in profiled and 7 not in profiled
    assert [(g, t) for g, t, prep in MoERunner.runs if prep] == [(2, -1), (2, -1), (1, -1)]


def test_finalize_disabled_runner_is_judged_on_its_own_list():
    plugin.install(gpu="gb10", version="1.2", runner_class=MoERunner)
    assert tune(MoERunner(use_fused_finalize=False, counts=(8, 8)), 2) == list(range(8))


def test_api_shape_identity_and_forward_are_untouched():
    runner = MoERunner()
    before = hash(runner)
    forward, sig = MoERunner.forward, inspect.signature(MoERunner.get_valid_tactics)
    plugin.install(gpu="gb10", version="1.2", runner_class=MoERunner)
    assert MoERunner.forward is forward and hash(runner) == before and set(vars(runner)) == set(vars(MoERunner()))
    wrapped = inspect.signature(MoERunner.get_valid_tactics)
    assert list(wrapped.parameters)[:3] == list(sig.parameters)[:3] and "kwargs" in wrapped.parameters
    plugin.uninstall()
    assert inspect.signature(MoERunner.get_valid_tactics) == sig


def test_pass_through_cases(caplog):
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        plugin.install(gpu="gb10", version="1.3.0rc17", runner_class=MoERunner)  # no catalog
        assert tune(MoERunner(), 2) == list(range(16))
        plugin.uninstall()
        plugin.install(gpu="gb10", version="1.2", runner_class=MoERunner)
        assert tune(MoERunner(x_dtype="torch.float8_e4m3fn", weight_dtype="torch.float8_e4m3fn"), 2) == \
            list(range(16))  # the runner says 16 but the SM12x FP8 catalog has 21: not pruned
        assert tune(MoERunner(x_dtype="torch.bfloat16", weight_dtype="torch.float8_e4m3fn"), 2) == list(range(16))
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "1.3.0rc17 has no tactic catalog" in messages
    assert "offers 16 tactics but the TensorRT-LLM 1.2 catalog for sm121 fp8 has 21" in messages
    assert "dtype=None" in messages


def test_plugin_failure_inside_the_filter_never_reaches_the_tuner(monkeypatch, caplog):
    plugin.install(gpu="gb10", version="1.2", runner_class=MoERunner)

    def broken(runner, kwargs):
        raise ValueError("injected")

    monkeypatch.setattr(plugin, "runner_facts", broken)
    plugin.uninstall()
    plugin.install(gpu="gb10", version="1.2", runner_class=MoERunner)
    with caplog.at_level(logging.WARNING, logger="smem_tactics.integrations"):
        assert tune(MoERunner(), 2) == list(range(16))
        assert tune(MoERunner(), 2) == list(range(16))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "injected" in warnings[0]


def test_nothing_fits_is_a_clear_error():
    plugin.install(arch="sm121", limit=70000, version="1.2", runner_class=MoERunner)
    with pytest.raises(NoFittingTacticError, match=r"smallest is tactic 14 128x256x128 \(CtaShape128x256x64B\) "
                                                   r"FINALIZE swap_ab at 74752 B"):
        tune(MoERunner(), 2)


class FakeProfile:
    def __init__(self, tokens):
        self.tokens = tokens

    def get_opt_shapes(self):
        return ((self.tokens, 2048), (128, 1536, 128))


class FakeProfilingCache:
    """TensorRT-LLM 1.2.x ``AutoTunerProfilingCache``: key and JSON layout as documented (get_cache_key,
    __setitem__, save_cache with {"metadata", "cache_data": {str(key): {runner_id, tactic, min_time}}})."""

    def __init__(self):
        self.cache = {}

    def get_cache_key(self, custom_op, runner, input_shapes, tuning_config):
        return (custom_op, runner.__class__.__name__, hash(runner), input_shapes)

    def __setitem__(self, key, value):
        self.cache[key] = value

    def save_cache(self, file_path):
        data = {"metadata": {"lib_version": "1.2.1", "creation_timestamp": 0.0, "device_name": "NVIDIA GB10",
                             "device_capability": (12, 1)},
                "cache_data": {str(k): {"runner_id": r, "tactic": t, "min_time": m}
                               for k, (r, t, m) in self.cache.items()}}
        with open(file_path, "w") as f:
            json.dump(data, f, indent=2, default=str)


class FakeTuner:
    def __init__(self):
        self.profiling_cache = FakeProfilingCache()

    def _optimization_profiles(self, tuning_config, inputs):
        return [FakeProfile(t) for t in (1, 2, 4, 8)]


def test_trtllm_cache_writer_fills_every_bucket_of_both_gemms(tmp_path):
    choices = choose_tactics("trtllm", "1.2", "nvfp4", gpu="gb10")
    assert [(c.op, c.tactic) for c in choices] == [("trtllm::fused_moe::gemm1", 0), ("trtllm::fused_moe::gemm2", 0)]
    runner = MoERunner()
    files = write_trtllm_cache(tmp_path / "moe_cache.json", runner, [None] * 5, choices, tuning_config="cfg",
                               tuner=FakeTuner())
    assert [f.name for f in files] == ["moe_cache.rank0.json", "moe_cache.json"]
    data = json.loads(files[0].read_text())
    keys = [ast.literal_eval(k) for k in data["cache_data"]]  # what TensorRT-LLM's load_cache does
    assert len(keys) == 8 and {k[0] for k in keys} == {"trtllm::fused_moe::gemm1", "trtllm::fused_moe::gemm2"}
    assert all(k[2] == hash(runner) for k in keys)
    assert {v["tactic"] for v in data["cache_data"].values()} == {0} and all(
        v["runner_id"] == 0 for v in data["cache_data"].values())


def test_choose_tactics_errors():
    with pytest.raises(NoFittingTacticError):
        choose_tactics("trtllm", "1.2", "nvfp4", arch="sm121", limit=50000)
    from smem_tactics.errors import DeviceError, VersionError

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
