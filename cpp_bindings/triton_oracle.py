"""The Triton oracle: compile fused-MoE kernels with the installed Triton, on the CPU, for any target, and read the
shared memory the launch will ask for (``metadata.shared``).

No GPU and no driver are needed: the kernel is bound to its arguments by the JIT's own binder
(``create_function_from_signature`` + ``JITFunction._pack_args``, so the ``tt.divisibility`` and ``== 1``
specializations are exactly those of a real launch), wrapped in ``ASTSource`` and lowered for
``GPUTarget("cuda", cc, 32)`` through the release's own stages. By default the compile stops right after the
``allocate_shared_memory_nv`` pass of the ``llir`` stage (the pass that sets ``ttg.shared``, which becomes
``metadata["shared"]``): about 0.1-0.3 s per config on one CPU core instead of 0.5-1 s for the whole ``llir``
stage; ``full=True`` runs that stage to its end and reads ``metadata["shared"]`` as ``triton.compile`` does.

The kernels compiled are the project's own (:func:`cpp_bindings.triton_moe.fused_moe_kernels`), or vLLM's and
SGLang's installed ``fused_moe_kernel`` where those packages import (never vendored).

Triton is imported when a function here is called.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from smem_tactics.errors import ProbeError
from smem_tactics.triton.config import TritonConfig, Variant
from smem_tactics.triton.model import BLOCK_SCALE_K

#: The argument values of the oracle's launch: an MoE GEMM with K = 4096, N = 1536 (16-divisible, as every
#: real model's), 64 experts, EM = 4096 padded rows, top-k 2. Misaligned pointers are 2 bytes off 16.
K_DEFAULT, N_DEFAULT, EXPERTS, EM, TOP_K = 4096, 1536, 64, 4096, 2
MISALIGN = 2

_PATCH_LOCK = threading.Lock()


class _Reached(Exception):
    def __init__(self, shared: int):
        super().__init__(shared)
        self.shared = shared


class _Arg:
    """A tensor argument as the JIT binder sees it: a torch dtype and an address."""

    def __init__(self, dtype, address: int = 0):
        self.dtype = dtype
        self._address = address

    def data_ptr(self) -> int:
        return self._address


def triton_version() -> str:
    try:
        import triton
    except ImportError as e:
        raise ProbeError("Triton is not installed; install it with: pip install 'smem_tactics[triton]' "
                         f"(or pip install triton) ({e})") from None
    return triton.__version__


@dataclass(frozen=True)
class KernelSource:
    """Where the compiled kernel comes from: ``project`` (this repository), ``vllm`` or ``sglang``."""

    name: str
    fused_moe: Callable
    wna16: Optional[Callable]


def project_kernels() -> KernelSource:
    from .triton_moe import fused_moe_kernels

    fm, wna16 = fused_moe_kernels()
    return KernelSource("project", fm, wna16)


#: Where vLLM and SGLang keep ``fused_moe_kernel`` (vllm-project/vllm at 13cb3e44; sgl-project/sglang's
#: ``fused_moe_triton_kernels`` module, with the older ``fused_moe`` module as a fallback).
FRAMEWORK_MODULES = {
    "vllm": ("vllm.model_executor.layers.fused_moe.fused_moe",),
    "sglang": ("sglang.srt.layers.moe.fused_moe_triton.fused_moe_triton_kernels",
               "sglang.srt.layers.moe.fused_moe_triton.fused_moe"),
}


def framework_kernels(name: str) -> Optional[KernelSource]:
    """The installed framework's kernels, or ``None`` when it does not import here (never an error)."""
    for module in FRAMEWORK_MODULES[name]:
        try:
            mod = importlib.import_module(module)
        except Exception:  # noqa: BLE001 -- a framework that does not import on this machine is simply absent
            continue
        fm = getattr(mod, "fused_moe_kernel", None)
        if fm is not None:
            return KernelSource(name, fm, getattr(mod, "fused_moe_kernel_gptq_awq", None))
    return None


def torch_dtypes() -> dict:
    """torch dtypes of the launch arguments' element-type keys (``TensorSpec.dtype``); torch imported here."""
    import torch

    return {"bf16": torch.bfloat16, "f16": torch.float16, "e4m3": torch.float8_e4m3fn, "i8": torch.int8,
            "u8": torch.uint8, "f32": torch.float32, "i32": torch.int32}


@dataclass(frozen=True)
class GemmLaunch:
    """The problem side of one fused-MoE GEMM launch, as vLLM's ``fused_experts_impl`` / ``invoke_fused_moe_kernel``
    derive it (vllm-project/vllm at 13cb3e44): A has ``a_rows`` rows (GEMM1: the tokens; GEMM2: a row per (token,
    slot), with the kernel's ``top_k`` 1), ``num_valid_tokens = a_rows * top_k`` routed rows, C one row per routed
    row, ``sorted_token_ids`` of ``sorted_len`` entries (``moe_align_block_size``), routed weights multiplied on
    GEMM2 (``MUL_ROUTED_WEIGHT``)."""

    a_rows: int
    n: int
    k: int
    experts: int
    top_k: int
    sorted_len: int
    mul_routed_weight: bool = False

    @property
    def num_valid_tokens(self) -> int:
        return self.a_rows * self.top_k

    def em(self, block_m: int) -> int:
        """The ``EM`` vLLM launches with: ``sorted_len``, capped at ``a_rows * top_k * BLOCK_SIZE_M`` when A has
        fewer rows than ``BLOCK_SIZE_M`` (its small-batch shortcut)."""
        if self.a_rows < block_m:
            return min(self.sorted_len, self.a_rows * self.top_k * block_m)
        return self.sorted_len

    def grid(self, block_m: int, block_n: int) -> tuple:
        """``cdiv(EM, BLOCK_SIZE_M) * cdiv(N, BLOCK_SIZE_N)`` programs (vLLM's grid)."""
        return (-(-self.em(block_m) // block_m) * -(-self.n // block_n),)


def oracle_launch(cfg: TritonConfig) -> GemmLaunch:
    """The oracle's launch of ``cfg``: N = 1536, K = ``cfg.k`` or 4096, EM = 4096 rows of which 4000 are valid."""
    return GemmLaunch(a_rows=(EM - 96) // TOP_K, n=N_DEFAULT, k=cfg.k if cfg.k is not None else K_DEFAULT,
                      experts=EXPERTS, top_k=TOP_K, sorted_len=EM)


@dataclass(frozen=True)
class TensorSpec:
    """One tensor argument of the launch: its role (``a``, ``b``, ``c``, ``a_scale``, ``b_scale``, ``b_zp``,
    ``topk_weights``, ``sorted_token_ids``, ``expert_ids``, ``num_tokens_post_padded``), element type (a key of
    the torch dtypes: ``bf16``, ``e4m3``, ``u8``, ...), contiguous shape, and whether it is an operand whose
    pointer the oracle misaligns for an unaligned config."""

    role: str
    dtype: str
    shape: tuple
    data: bool = False

    def strides(self) -> tuple:
        out, step = [], 1
        for extent in reversed(self.shape):
            out.append(step)
            step *= extent
        return tuple(reversed(out))


def tensor_specs(cfg: TritonConfig, launch: GemmLaunch) -> dict:
    """``{role: TensorSpec or None}``: the tensors vLLM passes for ``cfg``'s variant (``None`` where it passes
    ``None``): A ``[a_rows, K]``, B ``[E, N, K]`` (weight-only: ``[E, N, K / pack]`` uint8), C a row per routed row;
    FP8/int8 scales per tensor (A ``[1]``, B ``[E]``), per token and channel (A ``[a_rows, 1]``, B ``[E, N, 1]``)
    or per 128x128 block (A ``[a_rows, K / 128]``, B ``[E, N / 128, K / 128]``); weight-only group scales
    ``[E, N, K / group]`` in the compute type and AWQ zero points ``[E, N / pack, K / group]``."""
    n, k, rows = launch.n, launch.k, launch.a_rows
    compute = "f16" if cfg.dtype is Variant.F16 else "bf16"
    routing = {"topk_weights": TensorSpec("topk_weights", "f32", (launch.num_valid_tokens,)),
               "sorted_token_ids": TensorSpec("sorted_token_ids", "i32", (launch.sorted_len,)),
               "expert_ids": TensorSpec("expert_ids", "i32", (-(-launch.sorted_len // cfg.block_m),)),
               "num_tokens_post_padded": TensorSpec("num_tokens_post_padded", "i32", (1,))}
    c = TensorSpec("c", compute, (launch.num_valid_tokens, n), data=True)
    if cfg.dtype.weight_only:
        pack = 2 if cfg.dtype is Variant.INT4_W4A16 else 1
        groups = -(-k // cfg.group_size)
        return {"a": TensorSpec("a", compute, (rows, k), data=True),
                "b": TensorSpec("b", "u8", (launch.experts, n, k // pack), data=True), "c": c,
                "b_scale": TensorSpec("b_scale", compute, (launch.experts, n, groups), data=True),
                "b_zp": (TensorSpec("b_zp", "u8", (launch.experts, n // pack, groups), data=True)
                         if cfg.zero_points else None), **routing}
    elem = {Variant.BF16: "bf16", Variant.F16: "f16", Variant.INT8_W8A8: "i8"}.get(cfg.dtype, "e4m3")
    ks, ns = -(-k // BLOCK_SCALE_K), -(-n // BLOCK_SCALE_K)
    if cfg.dtype is Variant.FP8_W8A8_BLOCK:
        scales = ((rows, ks), (launch.experts, ns, ks))
    elif cfg.dtype is Variant.FP8_W8A8_CHANNEL:
        scales = ((rows, 1), (launch.experts, n, 1))
    elif cfg.dtype in (Variant.BF16, Variant.F16):
        scales = None
    else:
        scales = ((1,), (launch.experts,))
    return {"a": TensorSpec("a", elem, (rows, k), data=True), "b": TensorSpec("b", elem, (launch.experts, n, k),
                                                                                   data=True), "c": c,
            "a_scale": None if scales is None else TensorSpec("a_scale", "f32", scales[0]),
            "b_scale": None if scales is None else TensorSpec("b_scale", "f32", scales[1]), **routing}


def _strides_as_vllm(spec: Optional[TensorSpec], dims: tuple) -> list:
    """vLLM's stride arguments of one tensor: ``(dim, ndim condition)`` pairs; a dim is passed when the tensor
    exists and has at least ``ndim`` dimensions, else 0 (``invoke_fused_moe_kernel``'s scale stride rules)."""
    if spec is None:
        return [0] * len(dims)
    strides = spec.strides()
    return [strides[d] if len(spec.shape) >= need else 0 for d, need in dims]


def launch_arguments(cfg: TritonConfig, source: KernelSource, launch: Optional[GemmLaunch] = None,
                     tensor: Optional[Callable[[TensorSpec], object]] = None):
    """``(kernel, args, kwargs)`` of one launch of ``cfg`` the way vLLM's ``invoke_fused_moe_kernel`` calls it.

    ``launch``: the problem (default: the oracle's, :func:`oracle_launch`); ``tensor``: makes each tensor argument
    from its :class:`TensorSpec` (default: an address-only stand-in, misaligned by 2 bytes for an unaligned
    ``cfg``; the GPU measurement passes real tensors of these shapes). Strides come from the specs' contiguous
    shapes, exactly as vLLM reads them from its tensors."""
    import triton.language as tl

    launch = launch or oracle_launch(cfg)
    if tensor is None:
        t = torch_dtypes()
        off = 0 if cfg.aligned else MISALIGN

        def tensor(spec: TensorSpec):
            return _Arg(t[spec.dtype], off if spec.data else 0)

    specs = tensor_specs(cfg, launch)
    made = {role: None if spec is None else tensor(spec) for role, spec in specs.items()}
    compute_tl = tl.float16 if cfg.dtype is Variant.F16 else tl.bfloat16
    meta = dict(BLOCK_SIZE_M=cfg.block_m, BLOCK_SIZE_N=cfg.block_n, BLOCK_SIZE_K=cfg.block_k,
                GROUP_SIZE_M=cfg.group_m, num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    a_s, b_s, c_s = specs["a"].strides(), specs["b"].strides(), specs["c"].strides()
    head = [made["a"], made["b"], made["c"]]
    routing = [made["topk_weights"], made["sorted_token_ids"], made["expert_ids"], made["num_tokens_post_padded"]]
    # B is [E, N, K]: vLLM passes (stride(0), stride(2), stride(1)) as (expert, k, n); C a row per routed row
    operand_strides = [a_s[0], a_s[1], b_s[0], b_s[2], b_s[1], c_s[0], c_s[1]]
    dims = [launch.em(cfg.block_m), launch.num_valid_tokens]
    if cfg.dtype.weight_only:
        return _wna16_arguments(cfg, source, launch, specs, made, head, routing, dims, operand_strides,
                                compute_tl, meta)
    block = cfg.dtype is Variant.FP8_W8A8_BLOCK
    args = head + [made["a_scale"], made["b_scale"]] + routing + [launch.n, launch.k] + dims + operand_strides
    args += _strides_as_vllm(specs["a_scale"], ((0, 2), (1, 2)))
    args += _strides_as_vllm(specs["b_scale"], ((0, 2), (2, 3), (1, 2)))
    kwargs = dict(group_n=BLOCK_SCALE_K if block else 0, group_k=BLOCK_SCALE_K if block else 0,
                  MUL_ROUTED_WEIGHT=launch.mul_routed_weight, top_k=launch.top_k, compute_type=compute_tl,
                  use_fp8_w8a8=cfg.dtype.fp8, use_int8_w8a8=cfg.dtype is Variant.INT8_W8A8,
                  per_channel_quant=cfg.dtype is Variant.FP8_W8A8_CHANNEL, **meta)
    fn = source.fused_moe
    params = [p.name for p in fn.params]
    # vLLM (since its bias support) has b_bias_ptr after c_ptr and two bias strides, plus SPLIT_K / HAS_BIAS
    if "b_bias_ptr" in params:
        args.insert(3, None)  # B_bias: None without a bias, as vLLM passes it
        args.extend([0, 0])
        kwargs["HAS_BIAS"] = False
    if "SPLIT_K" in params:
        kwargs["SPLIT_K"] = 1
    if "use_int8_w8a16" in params:
        kwargs["use_int8_w8a16"] = False
    return fn, args, kwargs


def _wna16_arguments(cfg: TritonConfig, source: KernelSource, launch: GemmLaunch, specs: dict, made: dict,
                     head: list, routing: list, dims: list, operand_strides: list, compute_tl, meta: dict):
    """The weight-only (GPTQ/AWQ) launch as vLLM's ``invoke_fused_moe_kernel`` makes it for
    ``block_shape=[0, group_size]``: B ``[E, N, K / pack]`` uint8 (two int4 per byte along K, or int8 as uint8),
    scales ``[E, N, K / group]`` in the compute type, zero points (AWQ) ``[E, N / pack, K / group]`` uint8;
    strides passed as ``(expert, k, n)``; N and K are constexpr; ``block_k_diviable`` is ``K % BLOCK_SIZE_K == 0``."""
    if source.wna16 is None:
        raise ProbeError(f"the {source.name} kernel source has no weight-only (gptq/awq) kernel")
    args = head + [made["b_scale"], made["b_zp"]] + routing + [launch.n, launch.k] + dims + operand_strides
    args += _strides_as_vllm(specs["b_scale"], ((0, 1), (2, 1), (1, 1)))
    args += _strides_as_vllm(specs["b_zp"], ((0, 1), (2, 1), (1, 1)))
    kwargs = dict(block_k_diviable=launch.k % cfg.block_k == 0, group_size=cfg.group_size,
                  MUL_ROUTED_WEIGHT=launch.mul_routed_weight, top_k=launch.top_k, compute_type=compute_tl,
                  has_zp=cfg.zero_points, use_int4_w4a16=cfg.dtype is Variant.INT4_W4A16,
                  use_int8_w8a16=cfg.dtype is Variant.INT8_W8A16, **meta)
    if "SPLIT_K" in [p.name for p in source.wna16.params]:
        kwargs["SPLIT_K"] = 1
    return source.wna16, args, kwargs


def _cc_target(cc: int):
    from triton.backends.compiler import GPUTarget

    return GPUTarget("cuda", cc, 32)


def compile_shared(cfg: TritonConfig, source: Optional[KernelSource] = None, full: bool = False,
                   launch: Optional[GemmLaunch] = None) -> int:
    """``metadata.shared`` of ``cfg`` compiled by the installed Triton for ``cfg.target`` (no GPU needed), bound
    to the oracle's launch or to ``launch`` (a real GEMM's shapes, :class:`GemmLaunch`).

    A config the compiler rejects raises its exception (the caller reports it)."""
    fn, args, kwargs = launch_arguments(cfg, source or project_kernels(), launch)
    return compile_bound_shared(fn, args, kwargs, cfg.cc, full)


def compile_bound_shared(fn, args, kwargs: dict, cc: int, full: bool = False) -> int:
    """``metadata.shared`` of kernel ``fn`` bound to ``args`` / ``kwargs`` (stand-ins or real tensors: the binder
    reads their dtypes and addresses only), compiled for compute capability ``cc`` on the CPU."""
    from triton._C.libtriton import ir, nvidia
    from triton.compiler.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    target = _cc_target(cc)
    backend = make_backend(target)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, options = binder(*args, **kwargs)
    options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound, specialization, options)
    src = ASTSource(fn, signature, constexprs, attrs)
    stages: dict = {}
    backend.add_stages(stages, options, src.language)
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    module = src.make_ir(target, options, backend.get_codegen_implementation(options), backend.get_module_map(),
                         context)
    metadata: dict = {}
    for stage in ("ttir", "ttgir"):
        module = stages[stage](module, metadata)
    if full:
        stages["llir"](module, metadata)
        return int(metadata["shared"])
    passes = nvidia.passes.ttgpuir
    original = passes.add_allocate_shared_memory_nv

    def stop_after_allocation(pm, *a):
        original(pm, *a)
        pm.run(module, "smem_tactics_allocation")
        raise _Reached(int(module.get_int_attr("ttg.shared")))

    with _PATCH_LOCK:
        passes.add_allocate_shared_memory_nv = stop_after_allocation
        try:
            stages["llir"](module, metadata)
        except _Reached as r:
            return r.shared
        finally:
            passes.add_allocate_shared_memory_nv = original
    raise ProbeError("the llir stage never ran allocate_shared_memory_nv; this Triton release lowers differently")


@dataclass(frozen=True)
class PruneCheck:
    """The pruner against the compiler on one tuning space: ``disagree`` lists (config, model verdict, bytes
    compiled) where the pruner's keep/drop differs from ``compiled shared <= limit``."""

    dtype: str
    configs: int
    compiled: int
    kept: int
    classic_would_drop: int
    compiled_fit: int
    disagree: tuple


def prune_check(dtype: str, target: str, limit: int, space, sample: Optional[int] = None, seed: int = 0,
                source: Optional[KernelSource] = None) -> PruneCheck:
    """Prune ``space`` (framework-style dicts) with the model, then compile each distinct launch (GROUP_SIZE_M
    only reorders tiles, and vLLM caps BLOCK_SIZE_K at the 128x128 block scale before compiling) -- all of them,
    or a seeded ``sample`` -- and check that exactly the configs whose compiled shared memory fits were kept."""
    import random

    from smem_tactics.triton.prune import prune

    release = installed_release()
    result = prune(space, dtype=dtype, target=target, limit=limit, triton=release)
    kept_ids = {id(c) for c in result.kept}

    def launch(meta: dict) -> tuple:
        bk = meta["BLOCK_SIZE_K"]
        if dtype == "fp8_w8a8_block":
            bk = min(bk, BLOCK_SCALE_K)
        return meta["BLOCK_SIZE_M"], meta["BLOCK_SIZE_N"], bk, meta["num_warps"], meta["num_stages"]

    by_launch: dict = {}
    for meta in space:
        by_launch.setdefault(launch(meta), []).append(meta)
    launches = sorted(by_launch)
    if sample is not None:
        launches = sorted(random.Random(seed).sample(launches, min(sample, len(launches))))
    disagree, fit = [], 0
    for bm, bn, bk, w, st in launches:
        cfg = TritonConfig.create(dtype, target, release, block_m=bm, block_n=bn, block_k=bk, num_warps=w,
                                  num_stages=st)
        try:
            shared = compile_shared(cfg, source)
        except Exception:  # noqa: BLE001 -- a config the compiler rejects never fits
            shared = None
        fits = shared is not None and shared <= limit
        fit += fits
        for meta in by_launch[(bm, bn, bk, w, st)]:
            if (id(meta) in kept_ids) != fits:
                disagree.append((meta, id(meta) in kept_ids, shared))
    return PruneCheck(dtype, len(space), len(launches), len(result.kept), result.classic_would_drop, fit,
                      tuple(disagree))


@functools.lru_cache(maxsize=None)
def installed_release() -> str:
    """The installed Triton's release as the model spells it (``3.6.0``)."""
    from smem_tactics.triton.config import parse_release

    return parse_release(triton_version(), "installed Triton")


__all__ = ["compile_shared", "compile_bound_shared", "torch_dtypes", "prune_check", "PruneCheck",
           "launch_arguments", "GemmLaunch", "TensorSpec", "tensor_specs", "oracle_launch", "project_kernels",
           "framework_kernels", "KernelSource",
           "triton_version", "installed_release", "FRAMEWORK_MODULES"]
