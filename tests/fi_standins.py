"""What the FlashInfer client tests run against: the real ``flashinfer.autotuner`` on the CPU, with stand-ins only
for the CUDA machinery its profiling loop touches (streams, events, CUDA graphs, stream-capture query, the
``delay_kernel`` launch) and a runner that exposes FlashInfer's CUTLASS fused-MoE tactic list.

Time is simulated: each tactic has a cost, ``forward`` advances a clock by it and the event stand-ins read the
clock, so which tactic the real tuner picks is deterministic.
"""

from __future__ import annotations

import contextlib

import torch

#: Simulated milliseconds per tactic value; unlisted tactics cost 1.0. The overall fastest (value 26:
#: GEMM2 FINALIZE 256x128x128, which needs 102400 B) cannot fit a GB10; 19 is the fastest that can.
COSTS = {26: 0.05, 27: 0.06, 19: 0.20, 3: 0.30}
CLOCK = [0.0]


class FakeEvent:
    def __init__(self, enable_timing: bool = False):
        self.t = None

    def record(self, stream=None):
        self.t = CLOCK[0]

    def elapsed_time(self, other: "FakeEvent") -> float:
        return other.t - self.t

    def synchronize(self):
        pass


class FakeStream:
    device = torch.device("cpu")

    def synchronize(self):
        pass


class FakeGraph:
    def replay(self):
        pass


def install_cuda_standins(setattr_fn) -> None:
    """Patch the CUDA entry points with ``setattr_fn(obj, name, value)`` (pytest's monkeypatch.setattr, or
    plain setattr in a child process)."""
    import flashinfer.autotuner.autotuner as fi_tuner_module

    setattr_fn(torch.cuda, "Event", FakeEvent)
    setattr_fn(torch.cuda, "current_stream", lambda *a, **k: FakeStream())
    setattr_fn(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    setattr_fn(torch.cuda, "synchronize", lambda *a, **k: None)
    setattr_fn(torch.cuda, "CUDAGraph", FakeGraph)
    setattr_fn(torch.cuda, "is_current_stream_capturing", lambda: False)
    setattr_fn(fi_tuner_module, "delay_kernel", lambda usec: None)


class FakeCutlassMoeModule:
    """The C++ runner object FlashInfer's MoERunner holds (``fused_moe_runner``): tactic counts of FlashInfer
    0.7.2.post1's SM120/SM121 NVFP4 lists."""

    def __init__(self, gemm1: int = 16, gemm2: int = 32):
        self.gemm1, self.gemm2 = gemm1, gemm2

    def get_gemm1_tactic_count(self) -> int:
        return self.gemm1

    def get_gemm2_tactic_count(self) -> int:
        return self.gemm2

    def get_tactic_num(self) -> int:
        return self.gemm1 + self.gemm2


def make_runner_class():
    """A ``TunableRunner`` with the surface of FlashInfer 0.7.2.post1's CUTLASS ``MoERunner``."""
    from flashinfer.autotuner import DynamicTensorSpec, TunableRunner, TuningConfig

    class MoERunner(TunableRunner):
        tuning_config = TuningConfig(dynamic_tensor_specs=(
            DynamicTensorSpec((0,), (0,), (1, 2, 4, 8), lambda x: min(8, 1 << (max(x, 1).bit_length() - 1))),))
        calls: list = []

        def __init__(self, x_dtype=torch.bfloat16, weight_dtype=torch.int64, output_dtype=torch.bfloat16):
            self.x_dtype = x_dtype
            self.weight_dtype = weight_dtype
            self.output_dtype = output_dtype
            self.top_k = 8
            self.use_mxfp8_act_scaling = False
            self.use_w4_group_scaling = False
            self.use_deepseek_fp8_block_scale = False
            self.use_packed_weights = False
            self.use_fused_finalize = True
            self.activation_type = 3  # ActivationType.Swiglu
            self.gemm_idx_for_tuning = None
            self.fused_moe_runner = FakeCutlassMoeModule()

        def get_cache_key_extras(self, _inputs):
            return (str(self.x_dtype), str(self.weight_dtype), str(self.output_dtype), self.top_k,
                    self.use_fused_finalize)

        def get_valid_tactics(self, inputs, profile):
            g1 = self.fused_moe_runner.get_gemm1_tactic_count()
            g2 = self.fused_moe_runner.get_gemm2_tactic_count()
            if self.gemm_idx_for_tuning == 1:
                return list(range(g1))
            if self.gemm_idx_for_tuning == 2:
                return list(range(g1, g1 + g2))
            return list(range(g1 + g2))

        def forward(self, inputs, tactic=-1, do_preparation=False, **kwargs):
            MoERunner.calls.append((kwargs.get("gemm_idx"), tactic, do_preparation))
            if not do_preparation:
                CLOCK[0] += COSTS.get(tactic, 1.0)
            return inputs[0]

    return MoERunner


def moe_inputs(tokens: int) -> list:
    """[x, fc1_w, fc1_b, fc2_w, fc2_b]: only x depends on the number of tokens."""
    return [torch.zeros(tokens, 16), torch.zeros(4, 32, 16), None, torch.zeros(4, 16, 16), None]


def choose(tuner, runner, gemm: int, tokens: int = 8):
    """What FlashInfer's ``cutlass_fused_moe`` does for one GEMM: set the stage, call ``choose_one``."""
    runner.gemm_idx_for_tuning = gemm
    return tuner.choose_one(f"trtllm::fused_moe::gemm{gemm}", [runner], type(runner).tuning_config,
                            moe_inputs(tokens), gemm_idx=gemm)
