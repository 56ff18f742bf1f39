"""A Triton fused-MoE grouped GEMM of the kind vLLM and SGLang run, autotuned under a shared-memory budget.

Structure (the vLLM/SGLang ``fused_moe_kernel`` scheme, written for this project): the expert-sorted rows are
padded per expert to a multiple of ``BLOCK_M`` (``row_ids``, -1 for padding) and every ``BLOCK_M`` block knows its
expert (``block_expert``); program ``pid`` computes one ``BLOCK_M x BLOCK_N`` tile of ``a[rows] @ w[e].T`` with
fp32 accumulation and a grouped (``GROUP_M``) tile order, and writes bf16. The padding metadata is what vLLM's
``moe_align_block_size`` produces; here it is built once per (routing, BLOCK_M) on the host and is not part of the
timed kernel (the CUTLASS contenders' per-group argument arrays are not timed either).

Footprint: a config's shared memory is what the Triton compiler's software pipeliner really allocates
(``CompiledKernel.metadata.shared``), read after compiling it; configs over the budget are discarded, never run.

Triton and torch are imported when a function here is called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Sequence

#: Tile sizes tried per input dtype (K in elements: 64/128 B rows for bf16, 128/256 B for e4m3).
BLOCK_K_CHOICES = {"bf16": (64, 128), "e4m3": (128, 256)}
BLOCK_M_CHOICES = (16, 32, 64, 128)
BLOCK_N_CHOICES = (64, 128, 256)
STAGE_CHOICES = (3, 4, 5)


@dataclass(frozen=True)
class TritonConfig:
    block_m: int
    block_n: int
    block_k: int
    group_m: int
    num_warps: int
    num_stages: int

    @property
    def name(self) -> str:
        return (f"tr_{self.block_m}x{self.block_n}x{self.block_k}_g{self.group_m}_w{self.num_warps}"
                f"_s{self.num_stages}")

    def to_dict(self) -> dict:
        return {"BLOCK_M": self.block_m, "BLOCK_N": self.block_n, "BLOCK_K": self.block_k, "GROUP_M": self.group_m,
                "num_warps": self.num_warps, "num_stages": self.num_stages}

    @classmethod
    def from_dict(cls, d: dict) -> "TritonConfig":
        """The inverse of :meth:`to_dict`."""
        return cls(d["BLOCK_M"], d["BLOCK_N"], d["BLOCK_K"], d["GROUP_M"], d["num_warps"], d["num_stages"])


def classic_smem_estimate(cfg: TritonConfig, dtype: str) -> int:
    """The estimate frameworks use, ``(BM + BN) * BK * stages * bytes`` (kept only to report how far off it is)."""
    nbytes = 1 if dtype == "e4m3" else 2
    return (cfg.block_m + cfg.block_n) * cfg.block_k * cfg.num_stages * nbytes


def candidate_configs(dtype: str) -> list:
    """The autotuning space: every (BLOCK_M, BLOCK_N, BLOCK_K, stages); 4 warps, or 8 for the largest tiles.

    Configs whose classic estimate is beyond twice the SM12x budget are not even compiled (no pipeliner
    allocates less than half the classic estimate); the rest are compiled and judged by their real footprint.
    """
    if dtype not in BLOCK_K_CHOICES:
        raise ValueError(f"dtype: {dtype!r} is not supported; allowed: {', '.join(BLOCK_K_CHOICES)}")
    out = []
    for bm in BLOCK_M_CHOICES:
        for bn in BLOCK_N_CHOICES:
            for bk in BLOCK_K_CHOICES[dtype]:
                for st in STAGE_CHOICES:
                    warps = 8 if bm * bn >= 128 * 128 else 4
                    cfg = TritonConfig(bm, bn, bk, 1 if bm <= 32 else 8, warps, st)
                    if classic_smem_estimate(cfg, dtype) <= 2 * 101376:
                        out.append(cfg)
    return out


def padded_blocks(counts: Sequence[int], block_m: int) -> tuple:
    """(row_ids, block_expert): rows of each expert padded to a multiple of ``block_m`` (-1 = padding), and the
    expert of each ``block_m`` block. Pure Python (tested on CPU)."""
    if block_m <= 0:
        raise ValueError(f"block_m: {block_m} must be positive")
    row_ids, block_expert, off = [], [], 0
    for e, c in enumerate(counts):
        if c < 0:
            raise ValueError(f"counts: expert {e} has {c} rows")
        if c == 0:
            continue
        nblocks = -(-c // block_m)
        row_ids.extend(range(off, off + c))
        row_ids.extend([-1] * (nblocks * block_m - c))
        block_expert.extend([e] * nblocks)
        off += c
    return row_ids, block_expert


@functools.lru_cache(maxsize=1)
def _kernel():
    import triton
    import triton.language as tl
    from triton.language.extra.cuda import gdc_launch_dependents, gdc_wait

    @triton.jit
    def moe_grouped_gemm(a_ptr, w_ptr, c_ptr, row_ids_ptr, block_expert_ptr, N, K, EM,
                         stride_am, stride_we, stride_wn, stride_cm,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
                         USE_GDC: tl.constexpr = False):
        # USE_GDC: programmatic dependent launch (launched with launch_pdl=True): wait for the previous grid before
        # the first global load, and let the next grid launch once this one's main loop is done.
        if USE_GDC:
            gdc_wait()
        pid = tl.program_id(0)
        num_pid_m = tl.cdiv(EM, BLOCK_M)
        num_pid_n = tl.cdiv(N, BLOCK_N)
        per_group = GROUP_M * num_pid_n
        first_m = (pid // per_group) * GROUP_M
        size_m = tl.minimum(num_pid_m - first_m, GROUP_M)
        pid_m = first_m + (pid % per_group) % size_m
        pid_n = (pid % per_group) // size_m

        offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rows = tl.load(row_ids_ptr + offs_m)
        row_ok = rows >= 0
        safe_rows = tl.where(row_ok, rows, 0).to(tl.int64)
        expert = tl.load(block_expert_ptr + pid_m).to(tl.int64)
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        offs_n_ld = offs_n % N
        offs_k = tl.arange(0, BLOCK_K)
        a_ptrs = a_ptr + safe_rows[:, None] * stride_am + offs_k[None, :]
        w_ptrs = w_ptr + expert * stride_we + offs_n_ld[None, :].to(tl.int64) * stride_wn + offs_k[:, None]
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for kt in range(0, tl.cdiv(K, BLOCK_K)):
            k_left = K - kt * BLOCK_K
            a = tl.load(a_ptrs, mask=row_ok[:, None] & (offs_k[None, :] < k_left), other=0.0)
            w = tl.load(w_ptrs, mask=offs_k[:, None] < k_left, other=0.0)
            acc = tl.dot(a, w, acc)
            a_ptrs += BLOCK_K
            w_ptrs += BLOCK_K
        if USE_GDC:
            gdc_launch_dependents()
        c_ptrs = c_ptr + safe_rows[:, None] * stride_cm + offs_n[None, :]
        tl.store(c_ptrs, acc.to(tl.bfloat16), mask=row_ok[:, None] & (offs_n[None, :] < N))

    return moe_grouped_gemm


#: The fused-MoE kernel family this project compiles for the shared-memory oracle (``smem-tactics verify
#: --triton``): the data flow of vLLM's and SGLang's ``fused_moe_kernel`` (gathered A rows, expert B, K-masked
#: loads, fp32 accumulation, per-variant scales, routed-weight multiply, store in the compute type) and of their
#: weight-only ``fused_moe_kernel_gptq_awq`` (int4/int8 B dequantized in the loop with group scales and zero
#: points). Facts read from vllm-project/vllm ``vllm/model_executor/layers/fused_moe/fused_moe.py`` at commit
#: 13cb3e44373beb1c8b9d2c017f565af6f7a1b601; the code below is this project's own.
@functools.lru_cache(maxsize=1)
def fused_moe_kernels():
    """``(fused_moe, fused_moe_wna16)``, the two ``@triton.jit`` kernels (Triton imported here)."""
    import triton
    import triton.language as tl

    @triton.jit
    def _tile_of(pid, EM, N, BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, GROUP_SIZE_M: tl.constexpr):
        # grouped tile order: GROUP_SIZE_M row-blocks share each column sweep (L2 reuse of B)
        num_pid_m = tl.cdiv(EM, BLOCK_SIZE_M)
        num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
        per_group = GROUP_SIZE_M * num_pid_n
        first_m = (pid // per_group) * GROUP_SIZE_M
        rows_here = min(num_pid_m - first_m, GROUP_SIZE_M)
        return first_m + ((pid % per_group) % rows_here), (pid % per_group) // rows_here

    @triton.jit
    def fused_moe(a_ptr, b_ptr, c_ptr, a_scale_ptr, b_scale_ptr, topk_weights_ptr, sorted_token_ids_ptr,
                  expert_ids_ptr, num_tokens_post_padded_ptr, N, K, EM, num_valid_tokens,
                  stride_am, stride_ak, stride_be, stride_bk, stride_bn, stride_cm, stride_cn,
                  stride_asm, stride_ask, stride_bse, stride_bsk, stride_bsn,
                  group_n: tl.constexpr, group_k: tl.constexpr,
                  BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
                  GROUP_SIZE_M: tl.constexpr, MUL_ROUTED_WEIGHT: tl.constexpr, top_k: tl.constexpr,
                  compute_type: tl.constexpr, use_fp8_w8a8: tl.constexpr, use_int8_w8a8: tl.constexpr,
                  per_channel_quant: tl.constexpr):
        pid_m, pid_n = _tile_of(tl.program_id(axis=0), EM, N, BLOCK_SIZE_M, BLOCK_SIZE_N, GROUP_SIZE_M)
        if pid_m * BLOCK_SIZE_M >= tl.load(num_tokens_post_padded_ptr):
            return
        slots = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M).to(tl.int64)
        tokens = tl.load(sorted_token_ids_ptr + slots)
        token_ok = tokens < num_valid_tokens
        expert = tl.load(expert_ids_ptr + pid_m).to(tl.int64)
        cols = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
        c_ptrs = c_ptr + stride_cm * tokens[:, None] + stride_cn * cols[None, :]
        c_mask = token_ok[:, None] & (cols[None, :] < N)
        if expert == -1:  # expert owned by another rank: this block's rows are zero
            tl.store(c_ptrs, tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=compute_type), mask=c_mask)
            return
        cols_in = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N).to(tl.int64)) % N
        ks = tl.arange(0, BLOCK_SIZE_K)
        a_ptrs = a_ptr + (tokens[:, None] // top_k * stride_am + ks[None, :] * stride_ak)
        b_ptrs = b_ptr + expert * stride_be + (ks[:, None] * stride_bk + cols_in[None, :] * stride_bn)
        blockwise: tl.constexpr = group_k > 0 and group_n > 0
        if use_fp8_w8a8 or use_int8_w8a8:
            if blockwise:
                a_scale_ptrs = a_scale_ptr + (tokens // top_k) * stride_asm
                b_scale_ptrs = b_scale_ptr + expert * stride_bse + (cols_in // group_n) * stride_bsn
            elif per_channel_quant:
                b_scale = tl.load(b_scale_ptr + expert * stride_bse + cols_in[None, :] * stride_bsn)
                a_scale = tl.load(a_scale_ptr + (tokens // top_k) * stride_asm, mask=token_ok, other=0.0)[:, None]
            else:
                a_scale = tl.load(a_scale_ptr)
                b_scale = tl.load(b_scale_ptr + expert)
        acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
        for kt in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
            k_left = K - kt * BLOCK_SIZE_K
            a = tl.load(a_ptrs, mask=token_ok[:, None] & (ks[None, :] < k_left), other=0.0)
            b = tl.load(b_ptrs, mask=ks[:, None] < k_left, other=0.0)
            if use_fp8_w8a8 or use_int8_w8a8:
                if blockwise:
                    kb = (kt * BLOCK_SIZE_K) // group_k
                    a_s = tl.load(a_scale_ptrs + kb * stride_ask, mask=token_ok, other=0.0)
                    b_s = tl.load(b_scale_ptrs + kb * stride_bsk)
                    acc += tl.dot(a, b) * a_s[:, None] * b_s[None, :]
                elif use_fp8_w8a8:
                    acc = tl.dot(a, b, acc=acc)
                else:
                    acc += tl.dot(a, b)
            else:
                acc += tl.dot(a, b)
            a_ptrs += BLOCK_SIZE_K * stride_ak
            b_ptrs += BLOCK_SIZE_K * stride_bk
        if MUL_ROUTED_WEIGHT:
            acc = acc * tl.load(topk_weights_ptr + tokens, mask=token_ok, other=0)[:, None]
        if (use_fp8_w8a8 or use_int8_w8a8) and not blockwise:
            acc = acc * a_scale * b_scale
        tl.store(c_ptrs, acc.to(compute_type), mask=c_mask)

    @triton.jit
    def fused_moe_wna16(a_ptr, b_ptr, c_ptr, b_scale_ptr, b_zp_ptr, topk_weights_ptr, sorted_token_ids_ptr,
                        expert_ids_ptr, num_tokens_post_padded_ptr, N: tl.constexpr, K: tl.constexpr, EM,
                        num_valid_tokens, stride_am, stride_ak, stride_be, stride_bk, stride_bn, stride_cm,
                        stride_cn, stride_bse, stride_bsk, stride_bsn, stride_bze, stride_bzk, stride_bzn,
                        block_k_diviable: tl.constexpr, group_size: tl.constexpr,
                        BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
                        GROUP_SIZE_M: tl.constexpr, MUL_ROUTED_WEIGHT: tl.constexpr, top_k: tl.constexpr,
                        compute_type: tl.constexpr, has_zp: tl.constexpr, use_int4_w4a16: tl.constexpr,
                        use_int8_w8a16: tl.constexpr):
        pid_m, pid_n = _tile_of(tl.program_id(axis=0), EM, N, BLOCK_SIZE_M, BLOCK_SIZE_N, GROUP_SIZE_M)
        if pid_m * BLOCK_SIZE_M >= tl.load(num_tokens_post_padded_ptr):
            return
        slots = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M).to(tl.int64)
        tokens = tl.load(sorted_token_ids_ptr + slots)
        token_ok = tokens < num_valid_tokens
        expert = tl.load(expert_ids_ptr + pid_m).to(tl.int64)
        cols = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
        c_ptrs = c_ptr + stride_cm * tokens[:, None] + stride_cn * cols[None, :]
        c_mask = token_ok[:, None] & (cols[None, :] < N)
        if expert == -1:
            tl.store(c_ptrs, tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=compute_type), mask=c_mask)
            return
        cols_in = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N).to(tl.int64)) % N
        ks = tl.arange(0, BLOCK_SIZE_K)
        a_ptrs = a_ptr + (tokens[:, None] // top_k * stride_am + ks[None, :] * stride_ak)
        if use_int4_w4a16:  # two 4-bit weights per byte along K
            b_ptrs = b_ptr + expert * stride_be + (ks[:, None] // 2) * stride_bk + cols_in[None, :] * stride_bn
            b_shift = (ks[:, None] % 2) * 4
        else:
            b_ptrs = b_ptr + expert * stride_be + ks[:, None] * stride_bk + cols_in[None, :] * stride_bn
        if has_zp and use_int4_w4a16:
            zp_shift = (cols_in[None, :] % 2) * 4
        acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
        for kt in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
            if block_k_diviable:
                k_mask = None
                k_other = None
            else:
                k_mask = ks[:, None] < K - kt * BLOCK_SIZE_K
                k_other = 0.0
            a = tl.load(a_ptrs, mask=token_ok[:, None] & (ks[None, :] < K - kt * BLOCK_SIZE_K), other=0.0)
            b = tl.load(b_ptrs)
            if use_int4_w4a16:
                b = (b >> b_shift) & 0xF
            k_group = (ks[:, None] + BLOCK_SIZE_K * kt) // group_size
            scale = tl.load(b_scale_ptr + expert * stride_bse + cols_in[None, :] * stride_bsn + k_group * stride_bsk,
                            mask=k_mask, other=k_other).to(tl.float32)
            if has_zp:
                if use_int4_w4a16:
                    zp = tl.load(b_zp_ptr + expert * stride_bze + (cols_in[None, :] // 2) * stride_bzn
                                 + k_group * stride_bzk, mask=k_mask, other=k_other)
                    zp = ((zp >> zp_shift) & 0xF).to(tl.float32)
                else:
                    zp = tl.load(b_zp_ptr + expert * stride_bze + cols_in[None, :] * stride_bzn + k_group * stride_bzk,
                                 mask=k_mask, other=k_other).to(tl.float32)
                b = ((b.to(tl.float32) - zp) * scale).to(compute_type)
            else:
                b = ((b.to(tl.float32) - (8 if use_int4_w4a16 else 128)) * scale).to(compute_type)
            acc = tl.dot(a, b, acc=acc)
            a_ptrs += BLOCK_SIZE_K * stride_ak
            if use_int4_w4a16:
                b_ptrs += (BLOCK_SIZE_K // 2) * stride_bk
            else:
                b_ptrs += BLOCK_SIZE_K * stride_bk
        if MUL_ROUTED_WEIGHT:
            acc = acc * tl.load(topk_weights_ptr + tokens, mask=token_ok, other=0)[:, None]
        tl.store(c_ptrs, acc.to(compute_type), mask=c_mask)

    return fused_moe, fused_moe_wna16


class TritonMoe:
    """The Triton contender for one routing (``counts``): padded metadata per BLOCK_M, compiled kernels per config."""

    def __init__(self, counts: Sequence[int], device):
        self.counts = list(counts)
        self.device = device
        self._meta: dict = {}

    def meta(self, block_m: int):
        torch = _torch()
        if block_m not in self._meta:
            row_ids, block_expert = padded_blocks(self.counts, block_m)
            self._meta[block_m] = (torch.tensor(row_ids, dtype=torch.int32, device=self.device),
                                   torch.tensor(block_expert, dtype=torch.int32, device=self.device))
        return self._meta[block_m]

    def args(self, a, w, out, cfg: TritonConfig):
        row_ids, block_expert = self.meta(cfg.block_m)
        n, k = w.shape[1], w.shape[2]
        em = row_ids.numel()
        grid = (max(1, (em // cfg.block_m) * -(-n // cfg.block_n)),)
        return grid, (a, w, out, row_ids, block_expert, n, k, em, a.stride(0), w.stride(0), w.stride(1),
                      out.stride(0))

    def launcher(self, a, w, out, cfg: TritonConfig, pdl: bool = False, gdc: Optional[bool] = None):
        """A callable that launches ``cfg`` once. ``gdc``: the kernel variant with grid dependency control (waits for
        the previous grid before its first load, lets the next one launch after its main loop; default: ``pdl``);
        ``pdl``: launched with programmatic dependent launch (Triton's ``launch_pdl``), which needs ``gdc``."""
        kernel = _kernel()
        grid, args = self.args(a, w, out, cfg)
        kw = dict(BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, BLOCK_K=cfg.block_k, GROUP_M=cfg.group_m,
                  num_warps=cfg.num_warps, num_stages=cfg.num_stages)
        kw.update(_gdc_options(pdl, gdc))

        def run():
            kernel[grid](*args, **kw)
            return out

        return run


def _torch():
    import torch

    return torch


def _gdc_options(pdl: bool, gdc: Optional[bool]) -> dict:
    gdc = pdl if gdc is None else gdc
    if pdl and not gdc:
        raise ValueError("pdl: a programmatic dependent launch needs the grid-dependency-control variant (gdc=True): "
                         "without griddepcontrol.wait the kernel could read its predecessor's output early")
    out = {}
    if gdc:
        out["USE_GDC"] = True
    if pdl:
        out["launch_pdl"] = True
    return out


def compile_config(a, w, out, counts: Sequence[int], cfg: TritonConfig, pdl: bool = False,
                   gdc: Optional[bool] = None):
    """Compile ``cfg`` for these argument types without running it; returns the CompiledKernel (``pdl``/``gdc`` as
    in :meth:`TritonMoe.launcher`, so this is the kernel that launcher will use)."""
    kernel = _kernel()
    grid, args = TritonMoe(counts, a.device).args(a, w, out, cfg)
    return kernel.warmup(*args, BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, BLOCK_K=cfg.block_k, GROUP_M=cfg.group_m,
                         num_warps=cfg.num_warps, num_stages=cfg.num_stages, grid=grid, **_gdc_options(pdl, gdc))


def compiled_facts(compiled) -> dict:
    """Shared memory (the pipeliner's real allocation), registers and spills of a compiled kernel."""
    try:
        compiled._init_handles()  # loads the module; fills n_regs / n_spills
    except Exception:  # noqa: BLE001 -- facts below are what the compiler recorded either way
        pass
    meta = compiled.metadata
    shared = meta.shared if hasattr(meta, "shared") else meta["shared"]
    facts = {"shared": int(shared)}
    for key in ("n_regs", "n_spills"):
        val = getattr(compiled, key, None)
        if val is not None:
            facts[key] = int(val)
    return facts


def set_carveout(compiled, percent: int) -> Optional[str]:
    """Set the shared-memory carve-out preference of a compiled Triton kernel (driver API through ctypes).
    Returns None on success, else the reason it could not be set."""
    import ctypes

    try:
        compiled._init_handles()
        handle = int(compiled.function)
    except Exception as e:  # noqa: BLE001 -- reported, not hidden
        return f"no function handle: {e}"
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return f"libcuda.so.1: {e}"
    CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT = 9
    rc = libcuda.cuFuncSetAttribute(ctypes.c_void_p(handle), ctypes.c_int(CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT),
                                    ctypes.c_int(percent))
    return None if rc == 0 else f"cuFuncSetAttribute returned {rc}"


def compile_space(dtype: str, configs: Sequence[TritonConfig], budget: int) -> dict:
    """Compile each config for a small problem of ``dtype`` and read its real shared memory: ``{config: {"config",
    "classic_estimate", "shared", "n_regs", ..., "within_budget"}}``; a config Triton cannot compile gets ``error``
    and is not within the budget. Needs a GPU (the compile binds to it)."""
    torch = _torch()
    torch_dtype = {"e4m3": torch.float8_e4m3fn, "bf16": torch.bfloat16}[dtype]
    e, n, k = 2, 256, 512
    w = torch.zeros((e, n, k), device="cuda").to(torch_dtype)
    a = torch.zeros((32, k), device="cuda").to(torch_dtype)
    o = torch.empty((32, n), device="cuda", dtype=torch.bfloat16)
    facts = {}
    for cfg in configs:
        rec = {"config": cfg.to_dict(), "classic_estimate": classic_smem_estimate(cfg, dtype)}
        try:
            rec.update(compiled_facts(compile_config(a, w, o, [16, 16], cfg)))
            rec["within_budget"] = rec["shared"] <= budget
        except Exception as ex:  # noqa: BLE001 -- a config Triton cannot compile is reported and skipped
            rec["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
            rec["within_budget"] = False
        facts[cfg] = rec
    return facts


def within_budget(facts_by_cfg: dict, limit: int) -> list:
    """Configs whose real shared memory is <= ``limit``."""
    return [c for c, f in facts_by_cfg.items() if f.get("shared") is not None and f["shared"] <= limit]


__all__ = ["fused_moe_kernels", "TritonConfig", "candidate_configs", "classic_smem_estimate", "padded_blocks", "TritonMoe",
           "compile_config", "compiled_facts", "compile_space", "set_carveout", "within_budget"]
