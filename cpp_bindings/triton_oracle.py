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


def _torch_dtypes():
    import torch

    return {"bf16": torch.bfloat16, "f16": torch.float16, "e4m3": torch.float8_e4m3fn, "i8": torch.int8,
            "u8": torch.uint8, "f32": torch.float32, "i32": torch.int32}


def launch_arguments(cfg: TritonConfig, source: KernelSource):
    """``(kernel, args, kwargs)`` of one launch of ``cfg`` the way vLLM's ``invoke_fused_moe_kernel`` calls it."""
    import triton.language as tl

    t = _torch_dtypes()
    k = cfg.k if cfg.k is not None else K_DEFAULT
    n = N_DEFAULT
    off = 0 if cfg.aligned else MISALIGN
    compute = t["f16"] if cfg.dtype is Variant.F16 else t["bf16"]
    compute_tl = tl.float16 if cfg.dtype is Variant.F16 else tl.bfloat16
    meta = dict(BLOCK_SIZE_M=cfg.block_m, BLOCK_SIZE_N=cfg.block_n, BLOCK_SIZE_K=cfg.block_k,
                GROUP_SIZE_M=cfg.group_m, num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    ids, f32 = t["i32"], t["f32"]
    if cfg.dtype.weight_only:
        return _wna16_arguments(cfg, source, k, n, off, compute, compute_tl, meta)
    elem = {Variant.BF16: t["bf16"], Variant.F16: t["f16"], Variant.INT8_W8A8: t["i8"]}.get(cfg.dtype, t["e4m3"])
    a, b, c = _Arg(elem, off), _Arg(elem, off), _Arg(compute, off)
    block = cfg.dtype is Variant.FP8_W8A8_BLOCK
    channel = cfg.dtype is Variant.FP8_W8A8_CHANNEL
    ks, ns = -(-k // 128), -(-n // 128)
    if block:  # A scales [M, K/128], B scales [E, N/128, K/128]
        s_am, s_ak, s_be, s_bk, s_bn = ks, 1, ns * ks, 1, ks
    elif channel:  # A scales [M, 1], B scales [E, N, 1]
        s_am, s_ak, s_be, s_bk, s_bn = 1, 0, n, 0, 1
    else:
        s_am = s_ak = s_be = s_bk = s_bn = 0
    args = [a, b, c, _Arg(f32), _Arg(f32), _Arg(f32), _Arg(ids), _Arg(ids), _Arg(ids),
            n, k, EM, EM - 96,
            k, 1, n * k, 1, k, n, 1,
            s_am, s_ak, s_be, s_bk, s_bn]
    kwargs = dict(group_n=128 if block else 0, group_k=128 if block else 0, MUL_ROUTED_WEIGHT=False,
                  top_k=TOP_K, compute_type=compute_tl,
                  use_fp8_w8a8=cfg.dtype.fp8, use_int8_w8a8=cfg.dtype is Variant.INT8_W8A8,
                  per_channel_quant=channel, **meta)
    fn = source.fused_moe
    params = [p.name for p in fn.params]
    # vLLM (since its bias support) has b_bias_ptr after c_ptr and two bias strides, plus SPLIT_K / HAS_BIAS
    if "b_bias_ptr" in params:
        args.insert(3, _Arg(compute))
        args.extend([0, 0])
        kwargs["HAS_BIAS"] = False
    if "SPLIT_K" in params:
        kwargs["SPLIT_K"] = 1
    if "use_int8_w8a16" in params:
        kwargs["use_int8_w8a16"] = False
    return fn, args, kwargs


def _wna16_arguments(cfg: TritonConfig, source: KernelSource, k: int, n: int, off: int, compute, compute_tl,
                     meta: dict):
    """The weight-only (GPTQ/AWQ) launch as vLLM's ``invoke_fused_moe_kernel`` makes it for
    ``block_shape=[0, group_size]``: B ``[E, N, K / pack]`` uint8 (two int4 per byte along K, or int8 as uint8),
    scales ``[E, N, K / group]`` in the compute type, zero points (AWQ) ``[E, N / pack, K / group]`` uint8;
    strides passed as ``(expert, k, n)``; ``block_k_diviable`` is ``K % BLOCK_SIZE_K == 0``."""
    if source.wna16 is None:
        raise ProbeError(f"the {source.name} kernel source has no weight-only (gptq/awq) kernel")
    t = _torch_dtypes()
    pack = 2 if cfg.dtype is Variant.INT4_W4A16 else 1
    groups = -(-k // cfg.group_size)
    kp = k // pack
    args = [_Arg(compute, off), _Arg(t["u8"], off), _Arg(compute, off), _Arg(compute, off),
            _Arg(t["u8"], off) if cfg.zero_points else None, _Arg(t["f32"]), _Arg(t["i32"]), _Arg(t["i32"]),
            _Arg(t["i32"]),
            n, k, EM, EM - 96,
            k, 1, n * kp, 1, kp, n, 1,
            n * groups, 1, groups]
    args += [(n // pack) * groups, 1, groups] if cfg.zero_points else [0, 0, 0]
    kwargs = dict(block_k_diviable=k % cfg.block_k == 0, group_size=cfg.group_size, MUL_ROUTED_WEIGHT=False,
                  top_k=TOP_K, compute_type=compute_tl, has_zp=cfg.zero_points,
                  use_int4_w4a16=cfg.dtype is Variant.INT4_W4A16, use_int8_w8a16=cfg.dtype is Variant.INT8_W8A16,
                  **meta)
    if "SPLIT_K" in [p.name for p in source.wna16.params]:
        kwargs["SPLIT_K"] = 1
    return source.wna16, args, kwargs


def _cc_target(cc: int):
    from triton.backends.compiler import GPUTarget

    return GPUTarget("cuda", cc, 32)


def compile_shared(cfg: TritonConfig, source: Optional[KernelSource] = None, full: bool = False) -> int:
    """``metadata.shared`` of ``cfg`` compiled by the installed Triton for ``cfg.target`` (no GPU needed).

    A config the compiler rejects raises its exception (the caller reports it)."""
    from triton._C.libtriton import ir, nvidia
    from triton.compiler.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    source = source or project_kernels()
    fn, args, kwargs = launch_arguments(cfg, source)
    target = _cc_target(cfg.cc)
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

    from smem_tactics.triton.model import BLOCK_SCALE_K
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


__all__ = ["compile_shared", "prune_check", "PruneCheck",
           "launch_arguments", "project_kernels", "framework_kernels", "KernelSource",
           "triton_version", "installed_release", "FRAMEWORK_MODULES"]
