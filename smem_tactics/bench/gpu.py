"""GPU side of the benchmark: inputs, float reference, correctness check, timing, ceilings, torch's grouped mm.

torch is imported inside each function (never at import time), so importing this module costs nothing on a
machine without it.

Timing: each repetition first evicts L2 by reading a 256 MiB buffer (outside the timed interval), then CUDA
events bracket one launch; the median of the repetitions is the result. All repetitions of a batch are enqueued
behind a ~10 ms GPU sleep, so the GPU runs them back to back and a slow host (Python launch overhead, a pause)
cannot open a gap inside a timed interval; the host's enqueue time is recorded so a batch that outran the sleep
is visible. The weights are read cold from DRAM, as
they are in a real decode step where the other layers have evicted them from L2. The flush *reads*, so L2 is left
holding clean lines: a flush that writes (``zero_()``, as ``triton.testing.do_bench`` does) leaves up to 50 MB of
dirty lines whose write-back the timed kernel then pays for (``Timer(flush="write")`` measures that variant).
"""

from __future__ import annotations

import math
import platform
import time
from typing import Callable, Optional, Sequence

from .stats import spread

#: torch dtype attribute names of the benchmark dtypes.
TORCH_DTYPES = {"e4m3": "float8_e4m3fn", "bf16": "bfloat16"}
#: Acceptance bounds on ||out - ref|| / ||ref|| against the fp32 reference on the same (quantized) inputs.
#: The output is bf16 (8 significant bits: rounding alone gives ~1.6e-3 on random data); FP8 fast accumulation
#: adds a little. A wrong tile, index or unwritten block gives O(1).
REL_ERR_BOUND = {"bf16": 5e-3, "e4m3": 1e-2}
FLUSH_BYTES = 256 << 20


def torch_dtype(dtype: str):
    import torch

    return getattr(torch, TORCH_DTYPES[dtype])


def device_facts() -> dict:
    import torch

    p = torch.cuda.get_device_properties(0)
    facts = {"name": p.name, "sms": p.multi_processor_count, "cc": f"{p.major}.{p.minor}",
             "memory_gib": round(p.total_memory / 2 ** 30, 1), "torch": torch.__version__,
             "cuda_runtime": torch.version.cuda, "host": platform.node()}
    for attr in ("L2_cache_size", "shared_memory_per_block_optin", "shared_memory_per_multiprocessor"):
        if hasattr(p, attr):
            facts[attr] = int(getattr(p, attr))
    try:
        import triton

        facts["triton"] = triton.__version__
    except Exception:  # noqa: BLE001 -- informational
        facts["triton"] = None
    return facts


def sm90_device() -> tuple:
    """(device facts, None) on an SM90 GPU (H100/H200, what the benchmarks' sm_90a kernels need), else (None, the
    one-line reason). torch is imported here."""
    try:
        import torch
    except ImportError:
        return None, "this benchmark needs torch with CUDA (it runs on the GPU machine)"
    if not torch.cuda.is_available():
        return None, "no CUDA device: this benchmark needs an H100 or H200"
    dev = device_facts()
    if dev["cc"] != "9.0":
        return None, f"{dev['name']} is sm_{dev['cc'].replace('.', '')}; the kernels are built for sm_90a (H100/H200)"
    return dev, None


class Timer:
    """Cold-L2 event timing (see the module docstring)."""

    #: GPU clock cycles of the sleep ahead of each batch (about 10 ms at H100's 1.98 GHz).
    SLEEP_CYCLES = 20_000_000

    def __init__(self, flush_bytes: int = FLUSH_BYTES, flush: str = "read"):
        import torch

        if flush not in ("read", "write"):
            raise ValueError(f"flush: {flush!r}; allowed: read, write")
        self.mode = flush
        self.buffer = torch.zeros(flush_bytes // 4, dtype=torch.float32, device="cuda")
        self.last_enqueue_s = 0.0
        self.max_enqueue_s = 0.0

    def flush(self) -> None:
        if self.mode == "read":
            self.buffer.sum()
        else:
            self.buffer.zero_()

    def times_us(self, fn: Callable[[], object], reps: int, warmup: int = 3) -> list:
        import torch

        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
        torch.cuda._sleep(self.SLEEP_CYCLES)  # the GPU waits while the host enqueues the whole batch
        t0 = time.perf_counter()
        for start, end in events:
            self.flush()
            start.record()
            fn()
            end.record()
        self.last_enqueue_s = time.perf_counter() - t0
        self.max_enqueue_s = max(self.max_enqueue_s, self.last_enqueue_s)
        torch.cuda.synchronize()
        return [s.elapsed_time(e) * 1e3 for s, e in events]

    def measure(self, fn: Callable[[], object], reps: int, warmup: int = 3) -> dict:
        return spread(self.times_us(fn, reps, warmup))


def random_weights(experts: int, n: int, k: int, dtype: str, seed: int):
    """[E, N, K] weights, N(0, 1) rounded to ``dtype``, generated a few experts at a time."""
    import torch

    g = torch.Generator(device="cuda")
    g.manual_seed(seed)
    w = torch.empty((experts, n, k), dtype=torch_dtype(dtype), device="cuda")
    step = max(1, (1 << 28) // max(1, n * k))
    for e0 in range(0, experts, step):
        e1 = min(experts, e0 + step)
        w[e0:e1] = torch.randn((e1 - e0, n, k), generator=g, device="cuda", dtype=torch.float32).to(w.dtype)
    return w


def random_activations(rows: int, k: int, dtype: str, seed: int):
    import torch

    g = torch.Generator(device="cuda")
    g.manual_seed(seed)
    return torch.randn((rows, k), generator=g, device="cuda", dtype=torch.float32).to(torch_dtype(dtype))


def reference(a, w, counts: Sequence[int]):
    """fp32 ``a_e @ w[e].T`` per expert, from the same (quantized) inputs, with TF32 off."""
    import torch

    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        out = torch.empty((a.shape[0], w.shape[1]), dtype=torch.float32, device=a.device)
        off = 0
        for e, c in enumerate(counts):
            if c:
                out[off:off + c] = a[off:off + c].float() @ w[e].float().T
            off += c
        return out
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


def compare(out, ref) -> dict:
    """Relative Frobenius error and the count of non-finite outputs (unwritten, if the output was poisoned)."""
    import torch

    o = out.float()
    nonfinite = int((~torch.isfinite(o)).sum().item())
    o = torch.nan_to_num(o, nan=0.0, posinf=0.0, neginf=0.0)
    den = ref.norm().item()
    rel = (o - ref).norm().item() / den if den else float("inf")
    return {"rel_err": rel, "nonfinite": nonfinite}


def checked_run(fn: Callable[[], object], out, ref, dtype: str) -> dict:
    """Poison ``out`` with NaN, run once, compare with ``ref``; ``ok`` needs no NaN and the dtype's error bound.

    ``out=None`` is for a contender that allocates its own output (torch's grouped mm): the tensor ``fn`` returns
    is compared, and ``poisoned`` is False in the result."""
    import torch

    if out is not None:
        out.fill_(float("nan"))
    result = fn()
    torch.cuda.synchronize()
    res = compare(out if out is not None else result, ref)
    res["poisoned"] = out is not None
    res["bound"] = REL_ERR_BOUND[dtype]
    res["ok"] = res["nonfinite"] == 0 and res["rel_err"] <= REL_ERR_BOUND[dtype]
    return res


def copy_bandwidth(timer: Timer, nbytes: int = 1 << 30, reps: int = 20) -> dict:
    """Device-to-device copy, counting bytes read plus bytes written."""
    import torch

    src = torch.empty(nbytes // 2, dtype=torch.bfloat16, device="cuda").normal_()
    dst = torch.empty_like(src)
    m = timer.measure(lambda: dst.copy_(src), reps)
    m["bytes_per_s"] = 2 * nbytes / (m["median"] * 1e-6)
    return m


def matmul_rate(timer: Timer, dtype: str, size: int = 8192, reps: int = 10) -> dict:
    """Dense ``size^3`` matrix product on random data: bf16 ``torch.mm``, or e4m3 ``torch._scaled_mm`` with
    fast accumulation; FLOP/s at the median."""
    import torch

    a = torch.randn((size, size), device="cuda").to(torch_dtype(dtype))
    b = torch.randn((size, size), device="cuda").to(torch_dtype(dtype))
    if dtype == "bf16":
        fn = lambda: torch.mm(a, b.T)  # noqa: E731
    else:
        one = torch.ones((), device="cuda")
        fn = lambda: torch._scaled_mm(a, b.T, scale_a=one, scale_b=one, out_dtype=torch.bfloat16,  # noqa: E731
                                      use_fast_accum=True)
    m = timer.measure(fn, reps)
    m["flops_per_s"] = 2 * size ** 3 / (m["median"] * 1e-6)
    return m


def torch_grouped(a, w, counts: Sequence[int], dtype: str) -> Optional[Callable[[], object]]:
    """``torch._grouped_mm`` (bf16) / ``torch._scaled_grouped_mm`` (e4m3, unit row-wise scales, fast accumulation)
    over all experts with ``offs`` = the int32 end offsets; returns a callable, or None if torch has no such op."""
    import torch

    offs = torch.tensor(list(_cumsum(counts)), dtype=torch.int32, device=a.device)
    wt = w.transpose(-2, -1)
    if dtype == "bf16":
        if not hasattr(torch, "_grouped_mm"):
            return None
        return lambda: torch._grouped_mm(a, wt, offs=offs, out_dtype=torch.bfloat16)
    if not hasattr(torch, "_scaled_grouped_mm"):
        return None
    sa = torch.ones(a.shape[0], dtype=torch.float32, device=a.device)
    sb = torch.ones((w.shape[0], w.shape[1]), dtype=torch.float32, device=a.device)
    return lambda: torch._scaled_grouped_mm(a, wt, sa, sb, offs=offs, out_dtype=torch.bfloat16, use_fast_accum=True)


def _cumsum(values: Sequence[int]):
    total = 0
    for v in values:
        total += v
        yield total


def finite(x: Optional[float]) -> bool:
    return x is not None and math.isfinite(x)


__all__ = ["TORCH_DTYPES", "REL_ERR_BOUND", "FLUSH_BYTES", "torch_dtype", "device_facts", "sm90_device", "Timer", "random_weights",
           "random_activations", "reference", "compare", "checked_run", "copy_bandwidth", "matmul_rate",
           "torch_grouped", "finite"]
