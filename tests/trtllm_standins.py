"""Stand-ins for TensorRT-LLM's autotuner and CUTLASS MoE runner, written from the real source (TensorRT-LLM cannot
be installed here: its PyPI packages fetch the wheel from NVIDIA's index, and importing it needs the driver).

Each class names the file and commit it was read from and the upstream behaviours it mirrors; nothing else of the
real tuner is reproduced (no CUDA graphs, no distributed tuning, no timing -- a tactic "takes" ``COST[tactic]`` and
a tactic the device cannot run raises, as the C++ runner does).

* :class:`Tuner12` -- ``tensorrt_llm/_torch/autotuner.py@b35ac1b64368513d215c57d2ed01d62d910df8da`` (the commit whose
  ``tensorrt_llm/version.py`` says 1.2.0rc2):
  - ``choose_one`` outside tuning: ``search_cache``; a miss logs "[AutoTunner] Using the fallback tactic, due to
    cache miss ..." and returns (runner 0, tactic -1);
  - in tuning: for each profile not in the cache, ``_profile_runners``; no best tactic -> warning "[Autotuner] No
    valid runner/tactic was found ..." (the empty-list convention), and the final ``search_cache`` falls back;
  - ``_profile_runners``: ``get_valid_tactics(tensors, profile, **kwargs)``, one ``do_preparation=True`` call when
    ``len(valid_tactics) > 0``, then each tactic; an exception is a warning and ``inf``;
  - key ``(custom_op, runner class name, hash(runner), profile)``; ``TunableRunner.__hash__`` is
    ``hash(tuple(self.__dict__.values()))``;
  - ``autotune(tune_mode, cache_path, rank)``: loads ``<stem>.rank<rank>.json`` if it exists, tunes only if
    ``cache_path`` itself does not exist, saves the rank file on exit; file ``{"metadata", "cache_data": {str(key):
    {runner_id, tactic, min_time}}}``, keys read back with ``ast.literal_eval``.
* :class:`TunerMain` -- the main-line ``tensorrt_llm/_torch/autotuner.py`` stored by the search index as version id
  3648310208 (the one with ``TunableRunner.unique_id()``, ``DistributedTuningStrategy`` and ``save_cache(file_path,
  rank)``; its commit is not recorded by the index):
  - key ``(custom_op, runner class name, str(runner.unique_id()), profile)``;
  - ``choose_one`` searches the cache first: outside tuning a miss is ``warning_once`` + fallback; in tuning a hit
    returns without profiling;
  - ``_profile_runners``: an empty list profiles nothing and logs ``warning_once`` "No valid runner/tactic ...";
  - ``autotune(tune_mode, cache_path)``: ``load_cache(path, rank)`` if the file exists (tuning stays as asked),
    ``save_cache(path, rank)`` on exit; one file ``{"metadata", "rank_<r>": {str(key): {runner_id, tactic:
    repr(tactic), min_time}}}`` merged with what is there; ``load_cache`` asserts the rank section exists.
* :class:`MoERunner12` -- ``MoERunner`` in ``tensorrt_llm/_torch/custom_ops/torch_custom_ops.py@a371b9f4`` (1.2 era):
  no ``activation_type``; ``get_valid_tactics`` returns ``range(fused_moe_runner.get_tactic_num(gemm_idx))``;
  ``forward(inputs, gemm_idx=0, tactic=-1, do_preparation=False)``.
* :class:`MoERunnerMain` -- ``MoERunner`` in the main-line ``torch_custom_ops.py`` (index version id 3493221792):
  adds ``activation_type`` (``fused_moe`` passes ``int(ActivationType.Swiglu)`` = 5 by default) and
  ``unique_id()`` = (x/weight/output dtype, top_k, tp/ep/cluster size, alltoall, the quantization flags,
  min_latency_mode, use_fused_finalize, activation_type, unpadded_hidden_size).
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
from pathlib import Path

LOG = logging.getLogger("tensorrt_llm")
#: every kernel launch the runners make: (gemm_idx, tactic, do_preparation)
LAUNCHES: list = []
COST: dict = {}
#: tactics the simulated device cannot run, per gemm (the C++ runner throws "Failed to initialize cutlass ...")
CANNOT_RUN: dict = {1: set(), 2: set()}


class DType:
    """A torch.dtype stand-in: prints as torch does and, like it, hashes by identity (differs per process)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__


BF16, F16, INT64, E4M3, UINT8 = (DType(n) for n in ("bfloat16", "float16", "int64", "float8_e4m3fn", "uint8"))


class FusedMoeRunner:
    """``torch.classes.trtllm.FusedMoeRunner``: tactic counts per GEMM and ``run_gemm_profile``; identity hash."""

    def __init__(self, counts):
        self.counts = tuple(counts)

    def get_tactic_num(self, gemm_idx):
        return self.counts[gemm_idx - 1]

    def run_gemm_profile(self, gemm_idx, tactic, do_preparation):
        LAUNCHES.append((gemm_idx, tactic, do_preparation))
        if not do_preparation and tactic in CANNOT_RUN.get(gemm_idx, ()):
            raise RuntimeError("Failed to initialize cutlass TMA WS grouped gemm. Error: Error Internal")
        return COST.get((gemm_idx, tactic), 1.0)


class TunableRunner:
    def __call__(self, inputs, **kwargs):
        return self.forward(inputs, **kwargs)

    def __hash__(self):  # TunableRunner.__hash__ at b35ac1b6
        return hash(tuple(self.__dict__.values()))

    def unique_id(self):  # main-line default
        return tuple(self.__dict__.values())


class MoERunner12(TunableRunner):
    tuning_config = "moe"

    def __init__(self, x_dtype=BF16, weight_dtype=INT64, output_dtype=BF16, counts=(8, 16), use_fused_finalize=True):
        self.x_dtype, self.weight_dtype, self.output_dtype = x_dtype, weight_dtype, output_dtype
        self.top_k, self.tp_size, self.tp_rank, self.ep_size, self.ep_rank = 8, 1, 0, 1, 0
        self.cluster_size, self.cluster_rank, self.enable_alltoall = 1, 0, False
        self.use_deepseek_fp8_block_scale = self.use_w4_group_scaling = False
        self.use_int8_woq_per_channel = self.use_mxfp8_act_scaling = self.min_latency_mode = False
        self.use_fused_finalize = use_fused_finalize
        self.unpadded_hidden_size = 0
        self.fused_moe_runner = FusedMoeRunner(counts)

    def get_valid_tactics(self, inputs, profile, **kwargs):
        return range(self.fused_moe_runner.get_tactic_num(kwargs["gemm_idx"]))

    def forward(self, inputs, gemm_idx=0, tactic=-1, do_preparation=False):
        return self.fused_moe_runner.run_gemm_profile(gemm_idx, tactic, do_preparation)


class MoERunnerMain(MoERunner12):
    def __init__(self, x_dtype=BF16, weight_dtype=INT64, output_dtype=BF16, counts=(6, 12), use_fused_finalize=True,
                 activation_type=5):
        super().__init__(x_dtype, weight_dtype, output_dtype, counts, use_fused_finalize)
        self.activation_type = activation_type

    def unique_id(self):
        return (self.x_dtype, self.weight_dtype, self.output_dtype, self.top_k, self.tp_size, self.ep_size,
                self.cluster_size, self.enable_alltoall, self.use_deepseek_fp8_block_scale, self.use_w4_group_scaling,
                self.use_int8_woq_per_channel, self.use_mxfp8_act_scaling, self.min_latency_mode,
                self.use_fused_finalize, self.activation_type, self.unpadded_hidden_size)


class Profile:
    def __init__(self, tokens):
        self.tokens = tokens

    def get_opt_shapes(self):
        return ((self.tokens, 2048), (128, 1536, 2048), (0,), (128, 2048, 768), (0,))


def bucket(tokens: int, cap: int = 8) -> int:
    """last_positive_power_of_2, capped by tune_max_num_tokens (the MoE DynamicTensorSpec)."""
    return min(1 << (max(tokens, 1).bit_length() - 1), cap)


def moe_inputs(tokens: int) -> list:
    return [(tokens, 2048), (128, 1536, 2048), None, (128, 2048, 768), None]


class _Cache:
    def __init__(self, tuner):
        self.cache: dict = {}
        self.tuner = tuner

    def __setitem__(self, key, value):
        self.cache[key] = value

    def _profile_of(self, input_shapes):
        return ((bucket(input_shapes[0][0]), 2048),) + tuple(input_shapes[1:])

    def search_cache(self, custom_op, runners, input_shapes, tuning_config):
        for idx, r in enumerate(runners):
            key = self.get_cache_key(custom_op, r, input_shapes, tuning_config)
            if key in self.cache:
                return (True, idx) + tuple(self.cache[key][1:])
        return False, 0, -1, float("inf")


class Cache12(_Cache):
    def get_cache_key(self, custom_op, runner, input_shapes, tuning_config):
        return (custom_op, type(runner).__name__, hash(runner), self._profile_of(input_shapes))

    def save_cache(self, file_path):
        data = {"metadata": {"lib_version": "1.2.0rc2", "device_name": "NVIDIA GB10", "device_capability": [12, 1]},
                "cache_data": {str(k): {"runner_id": r, "tactic": t, "min_time": m}
                               for k, (r, t, m) in self.cache.items()}}
        Path(file_path).write_text(json.dumps(data, default=str))

    def load_cache(self, file_path):
        data = json.loads(Path(file_path).read_text())
        self.cache = {ast.literal_eval(k): (v["runner_id"], v["tactic"], v["min_time"])
                      for k, v in data["cache_data"].items()}


class CacheMain(_Cache):
    def get_cache_key(self, custom_op, runner, input_shapes, tuning_config, apply_map_to_tuning_buckets=True):
        return (custom_op, type(runner).__name__, str(runner.unique_id()), self._profile_of(input_shapes))

    def save_cache(self, file_path, rank):
        path = Path(file_path)
        current = json.loads(path.read_text()) if path.is_file() and path.read_text().strip() else \
            {"metadata": {"lib_version": "main", "device_name": "NVIDIA GB10", "device_capability": [12, 1]}}
        current[f"rank_{rank}"] = {str(k): {"runner_id": r, "tactic": repr(t), "min_time": m}
                                   for k, (r, t, m) in self.cache.items()}
        path.write_text(json.dumps(current, default=str))

    def load_cache(self, file_path, rank):
        data = json.loads(Path(file_path).read_text())
        assert f"rank_{rank}" in data, f"Rank {rank} cache not found in {file_path}"
        self.cache = {ast.literal_eval(k): (v["runner_id"], ast.literal_eval(v["tactic"]), v["min_time"])
                      for k, v in data[f"rank_{rank}"].items()}


class _Tuner:
    cache_cls = _Cache
    BUCKETS = (1, 2, 4, 8)

    def __init__(self):
        self.profiling_cache = self.cache_cls(self)
        self.is_tuning_mode = False

    def _optimization_profiles(self, tuning_config, inputs):
        return [Profile(b) for b in self.BUCKETS]

    def _profile_runners(self, custom_op, runners, profile, **kwargs):
        best, best_runner, best_time = None, None, float("inf")
        for runner_id, runner in enumerate(runners):
            valid = runner.get_valid_tactics(moe_inputs(profile.tokens), profile, **kwargs)
            if len(valid) > 0:
                runner(moe_inputs(profile.tokens), tactic=-1, do_preparation=True, **kwargs)
            for tac in valid:
                try:
                    t = runner(moe_inputs(profile.tokens), tactic=tac, **kwargs)
                except Exception as e:  # noqa: BLE001 -- the real tuner's except Exception
                    LOG.warning(f"[Autotuner] Failed when profiling runner={runner}, tactic={tac}: {e}")
                    t = float("inf")
                if t < best_time:
                    best, best_runner, best_time = tac, runner_id, t
        if best_runner is None:
            LOG.warning(f"[Autotuner] No valid runner/tactic was found for custom_op={custom_op}, input_shapes="
                        f"{profile.get_opt_shapes()}. At least one valid (runner, tactic) pair is required.")
            return
        key = self.profiling_cache.get_cache_key(custom_op, runners[best_runner], profile.get_opt_shapes(), None)
        self.profiling_cache[key] = (best_runner, best, best_time)

    def choose_one(self, custom_op, runners, tuning_config, inputs, **kwargs):
        shapes = tuple(s or (0,) for s in inputs)
        hit, rid, tactic, _ = self.profiling_cache.search_cache(custom_op, runners, shapes, tuning_config)
        if not self.is_tuning_mode:
            if not hit:
                LOG.warning(f"[AutoTuner] {custom_op} using the fallback tactic, due to cache miss on input "
                            f"shapes={shapes}")
            return runners[rid], tactic
        if hit and self.search_first:
            return runners[rid], tactic
        for p in self._optimization_profiles(tuning_config, inputs):
            if not self.profiling_cache.search_cache(custom_op, runners, p.get_opt_shapes(), tuning_config)[0]:
                self._profile_runners(custom_op, runners, p, **kwargs)
        _, rid, tactic, _ = self.profiling_cache.search_cache(custom_op, runners, shapes, tuning_config)
        return runners[rid], tactic


class Tuner12(_Tuner):
    cache_cls = Cache12
    search_first = False

    @contextlib.contextmanager
    def autotune(self, tune_mode=True, cache_path=None, rank=0):
        tune_required = tune_mode
        if cache_path is not None:
            rank_file = os.path.splitext(cache_path)[0] + f".rank{rank}.json"
            tune_required = tune_required and not os.path.exists(cache_path)
            if os.path.exists(rank_file):
                self.profiling_cache.load_cache(rank_file)
        old, self.is_tuning_mode = self.is_tuning_mode, tune_required
        try:
            yield
        finally:
            self.is_tuning_mode = old
            if cache_path is not None:
                self.profiling_cache.save_cache(rank_file)


class TunerMain(_Tuner):
    cache_cls = CacheMain
    search_first = True

    @contextlib.contextmanager
    def autotune(self, tune_mode=True, cache_path=None, rank=0):
        if cache_path is not None and os.path.exists(cache_path):
            self.profiling_cache.load_cache(cache_path, rank)
        old, self.is_tuning_mode = self.is_tuning_mode, tune_mode
        try:
            yield
        finally:
            self.is_tuning_mode = old
            if cache_path is not None:
                self.profiling_cache.save_cache(cache_path, rank)


def tune(tuner, runner, gemm: int, tokens: int = 8):
    """What ``fused_moe`` does for one GEMM: ``choose_one`` with ``gemm_idx``."""
    return tuner.choose_one(f"trtllm::fused_moe::gemm{gemm}", [runner], type(runner).tuning_config,
                            moe_inputs(tokens), gemm_idx=gemm)


def reset():
    LAUNCHES.clear()
    COST.clear()
    CANNOT_RUN[1], CANNOT_RUN[2] = set(), set()
