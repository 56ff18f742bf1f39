"""GPU tests of the CUTLASS grouped-GEMM extension: build two kernels just in time, check them against an fp32
reference on random MoE inputs (output poisoned first), their real SharedStorageSize against the footprint model,
and bad input. They need an SM90 GPU (H100/H200), torch with CUDA, nvcc and a CUTLASS 4.2.0 tree; anywhere else
they are skipped, saying which of these is missing. The Triton contender is checked too where Triton is installed.
"""

import pytest

from smem_tactics import footprint
from smem_tactics.bench import contenders as C
from smem_tactics.bench.scenarios import make_scenario


def _skip_reason():
    try:
        import torch
    except ImportError:
        return "torch is not installed (GPU tests need torch with CUDA)"
    if not torch.cuda.is_available():
        return "no CUDA device (these tests need an H100/H200; CPU-side tests are in test_bench_cpu.py)"
    major, minor = torch.cuda.get_device_capability(0)
    if (major, minor) != (9, 0):
        return f"the device is sm_{major}{minor}; the kernels are built for sm_90a (H100/H200)"
    from cpp_bindings.trees import find_toolchain, resolve_tree
    from smem_tactics.errors import CutlassTreeError

    if find_toolchain().nvcc is None:
        return "nvcc is not installed"
    try:
        resolve_tree(version="4.2.0")
    except CutlassTreeError as e:
        return f"no CUTLASS 4.2.0 tree: {e}"
    return None


REASON = _skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# Both are contender-(b) kernels, so after the benchmark has run in the same build folder only the registry is rebuilt.
CONFIGS = [C.sm90_config("e4m3", (128, 16, 128), "coop", 5, True), C.sm90_config("bf16", (128, 128, 64), "coop", 2)]


@pytest.fixture(scope="module")
def lib():
    from cpp_bindings.grouped_gemm import load
    from cpp_bindings.trees import resolve_tree

    return load(CONFIGS, cutlass=resolve_tree(version="4.2.0"))


@pytest.mark.parametrize("cfg", CONFIGS, ids=C.short_name)
def test_shared_storage_equals_model(lib, cfg):
    info = lib.info(cfg)
    fp = footprint(cfg)
    assert info["shared_storage_size"] == fp.total_bytes == info["sizeof_shared_storage"]
    assert info["stages"] == fp.stages
    assert info["d_col_major"] == C.is_swap_ab(cfg) and info["c_is_void"]


@pytest.mark.parametrize("cfg", CONFIGS, ids=C.short_name)
@pytest.mark.parametrize("tokens", [8, 512])
def test_matches_reference(lib, cfg, tokens):
    import torch

    from cpp_bindings.grouped_gemm import grouped_gemm
    from smem_tactics.bench import gpu as G

    dtype = C.dtype_of(cfg)
    s = make_scenario("qwen3-30b-a3b", "gemm2", dtype, tokens)
    torch.manual_seed(tokens)
    w = G.random_weights(s.model.experts, s.n, s.k, dtype, seed=tokens)
    a = G.random_activations(s.rows, s.k, dtype, seed=tokens + 1)
    ref = G.reference(a, w, s.counts)
    out = torch.full((s.rows, s.n), float("nan"), dtype=torch.bfloat16, device="cuda")
    grouped_gemm(a, w, torch.tensor(s.offsets), cfg, out=out, library=lib)
    torch.cuda.synchronize()
    res = G.compare(out, ref)
    assert res["nonfinite"] == 0
    assert res["rel_err"] <= G.REL_ERR_BOUND[dtype]
    # a wrong expert mapping must be caught: shift the weights by one expert
    shifted = torch.roll(w.view(torch.uint8), 1, dims=0).view(w.dtype).contiguous()
    grouped_gemm(a, shifted, s.offsets, cfg, out=out, library=lib)
    torch.cuda.synchronize()
    assert G.compare(out, ref)["rel_err"] > 0.5


def test_bad_input_is_refused_clearly(lib):
    import torch

    from cpp_bindings.grouped_gemm import GroupedGemmError, grouped_gemm

    cfg = CONFIGS[0]
    a = torch.zeros((4, 256), device="cuda").to(torch.float8_e4m3fn)
    w = torch.zeros((2, 64, 256), device="cuda").to(torch.float8_e4m3fn)
    with pytest.raises(GroupedGemmError, match="dtype"):
        grouped_gemm(a.to(torch.bfloat16), w, [0, 2, 4], cfg, library=lib)
    with pytest.raises(GroupedGemmError, match="ends at"):
        grouped_gemm(a, w, [0, 2, 3], cfg, library=lib)
    with pytest.raises(GroupedGemmError, match="E \\+ 1"):
        grouped_gemm(a, w, [0, 4], cfg, library=lib)
    with pytest.raises(GroupedGemmError, match="K = 256"):
        grouped_gemm(a, w[:, :, :128].contiguous(), [0, 2, 4], cfg, library=lib)
    with pytest.raises(GroupedGemmError, match="CUDA"):
        grouped_gemm(a.cpu(), w, [0, 2, 4], cfg, library=lib)
    from smem_tactics.errors import ConfigError

    with pytest.raises(ConfigError, match="not built"):
        grouped_gemm(a, w, [0, 2, 4], C.sm90_config("e4m3", (128, 32, 128), "coop", 4, True), library=lib)


def test_triton_contender_matches_reference():
    pytest.importorskip("triton", reason="Triton is not installed")
    import torch

    from cpp_bindings import triton_moe as T
    from smem_tactics.bench import gpu as G

    s = make_scenario("qwen3-30b-a3b", "gemm1", "bf16", 8)
    w = G.random_weights(s.model.experts, s.n, s.k, "bf16", seed=3)
    a = G.random_activations(s.rows, s.k, "bf16", seed=4)
    ref = G.reference(a, w, s.counts)
    out = torch.empty((s.rows, s.n), dtype=torch.bfloat16, device="cuda")
    cfg = T.TritonConfig(16, 64, 64, 1, 4, 3)
    ck = T.compile_config(a, w, out, s.counts, cfg)
    assert 0 < T.compiled_facts(ck)["shared"] <= C.SM12X_BLOCK_LIMIT
    res = G.checked_run(T.TritonMoe(s.counts, a.device).launcher(a, w, out, cfg), out, ref, "bf16")
    assert res["ok"], res
