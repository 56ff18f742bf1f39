"""Device limits: the shared memory a block may opt into, compute capability and SM count.

Sources, in order: an explicit limit; a GPU name from the offline table (``data/gpus.json``: gb10,
rtx-pro-6000, rtx-5090, h100, h200, b200, a100, l40s); an arch (sm80 .. sm121); the current GPU via
cuda-python (``cuda.bindings``) or, failing that, torch. With no GPU and no name the limit is unknown
(``None``), and an unknown limit never prunes anything (as torch inductor's shared-memory checker).

Nothing here imports CUDA or torch until :func:`detect_local_device` is called.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

from .errors import DeviceError


@dataclass(frozen=True)
class GpuFacts:
    """One GPU's facts (model parameters; see ``data/gpus.json`` for sources)."""

    key: str
    full_name: str
    arch: str
    sms: int
    smem_per_block_optin: int
    smem_per_sm: int
    l2_bytes: int
    mem_bw_gbps: float
    mem_latency_ns: float
    tflops: dict = field(default_factory=dict)
    sources: str = ""
    sm_clock_mhz: Optional[float] = None

    def tflops_for(self, dtype_family: str) -> Optional[float]:
        return self.tflops.get(dtype_family)


@dataclass(frozen=True)
class DeviceLimit:
    """What a verdict is judged against."""

    smem_per_block_optin: Optional[int]  # None: unknown (never prunes)
    source: str  # "limit", "gpu:gb10", "arch:sm120", "cuda.bindings", "torch", "unknown"
    name: Optional[str] = None
    arch: Optional[str] = None
    sms: Optional[int] = None
    smem_per_sm: Optional[int] = None
    gpu: Optional[GpuFacts] = None

    @property
    def known(self) -> bool:
        return self.smem_per_block_optin is not None

    def describe(self) -> str:
        if not self.known:
            return "unknown limit (no GPU found and none named): nothing is pruned"
        parts = [f"{self.smem_per_block_optin} B per block"]
        if self.name:
            parts.insert(0, self.name)
        if self.arch:
            parts.append(self.arch)
        if self.sms:
            parts.append(f"{self.sms} SMs")
        return ", ".join(parts) + f" (from {self.source})"


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("smem_tactics").joinpath("data/gpus.json").read_text()
    return json.loads(text)


def gpu_names() -> tuple:
    return tuple(_table()["gpus"])


def arch_names() -> tuple:
    return tuple(_table()["archs"])


def gpu_facts(name: str) -> GpuFacts:
    """Facts for a GPU by table name or alias (case-insensitive); raises :class:`DeviceError`."""
    table = _table()
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = table["aliases"].get(key, key)
    if key not in table["gpus"]:
        raise DeviceError(f"gpu: {name!r} is not in the device table; known: {', '.join(table['gpus'])}")
    g = table["gpus"][key]
    return GpuFacts(key, g["full_name"], g["arch"], g["sms"], g["smem_per_block_optin"], g["smem_per_sm"],
                    g["l2_bytes"], g["mem_bw_gbps"], g["mem_latency_ns"], dict(g["tflops"]), g.get("sources", ""),
                    g.get("sm_clock_mhz"))


def match_device_name(device_name: str) -> Optional[str]:
    """Table key for a CUDA device name such as 'NVIDIA GB10' or 'NVIDIA H100 80GB HBM3'."""
    n = device_name.lower()
    patterns = (
        ("gb10", r"\bgb10\b"), ("rtx-pro-6000", r"rtx pro 6000"), ("rtx-5090", r"rtx 5090"), ("h200", r"\bh200\b"),
        ("h100", r"\bh100\b"), ("b200", r"\bb200\b"), ("a100", r"\ba100\b"), ("l40s", r"\bl40s\b"),
    )
    for key, pat in patterns:
        if re.search(pat, n):
            return key
    return None


def arch_limit(arch: str) -> DeviceLimit:
    table = _table()["archs"]
    key = str(arch).strip().lower()
    if key.isdigit():
        key = "sm" + key
    if key not in table:
        raise DeviceError(f"arch: {arch!r} is not known; known: {', '.join(table)}")
    return DeviceLimit(table[key]["smem_per_block_optin"], f"arch:{key}", arch=key,
                       smem_per_sm=table[key]["smem_per_sm"])


def gpu_limit(name: str) -> DeviceLimit:
    g = gpu_facts(name)
    return DeviceLimit(g.smem_per_block_optin, f"gpu:{g.key}", g.full_name, g.arch, g.sms, g.smem_per_sm, g)


def _detect_cuda_bindings(index: int) -> Optional[DeviceLimit]:
    try:
        from cuda.bindings import runtime as cudart  # type: ignore
    except Exception:  # noqa: BLE001 -- optional dependency
        return None
    try:
        err, count = cudart.cudaGetDeviceCount()
        if int(err) != 0 or count <= index:
            return None

        def attr(a) -> int:
            e, v = cudart.cudaDeviceGetAttribute(a, index)
            if int(e) != 0:
                raise RuntimeError(str(e))
            return int(v)

        A = cudart.cudaDeviceAttr
        optin = attr(A.cudaDevAttrMaxSharedMemoryPerBlockOptin)
        per_sm = attr(A.cudaDevAttrMaxSharedMemoryPerMultiprocessor)
        major = attr(A.cudaDevAttrComputeCapabilityMajor)
        minor = attr(A.cudaDevAttrComputeCapabilityMinor)
        sms = attr(A.cudaDevAttrMultiProcessorCount)
        e, props = cudart.cudaGetDeviceProperties(index)
        name = props.name.decode() if int(e) == 0 and isinstance(props.name, bytes) else str(getattr(props, "name", ""))
    except Exception:  # noqa: BLE001 -- any driver problem means "no GPU here"
        return None
    return _local_limit(optin, per_sm, major, minor, sms, name.strip("\x00 "), "cuda.bindings")


def _detect_torch(index: int) -> Optional[DeviceLimit]:
    try:
        import torch  # type: ignore
    except Exception:  # noqa: BLE001
        return None
    try:
        if not torch.cuda.is_available() or torch.cuda.device_count() <= index:
            return None
        p = torch.cuda.get_device_properties(index)
        optin = int(getattr(p, "shared_memory_per_block_optin"))
        per_sm = int(getattr(p, "shared_memory_per_multiprocessor", 0)) or None
        return _local_limit(optin, per_sm, p.major, p.minor, p.multi_processor_count, p.name, "torch")
    except Exception:  # noqa: BLE001
        return None


def _local_limit(optin, per_sm, major, minor, sms, name, source) -> DeviceLimit:
    arch = f"sm{major}{minor}"
    key = match_device_name(name)
    facts = gpu_facts(key) if key else None
    return DeviceLimit(optin, source, name, arch, sms, per_sm, facts)


@functools.lru_cache(maxsize=4)
def detect_local_device(index: int = 0) -> Optional[DeviceLimit]:
    """The current GPU's limits via cuda-python, else torch; ``None`` if there is no GPU."""
    return _detect_cuda_bindings(index) or _detect_torch(index)


def resolve_limit(gpu: Optional[str] = None, arch: Optional[str] = None, limit: Optional[int] = None,
                  detect: bool = True) -> DeviceLimit:
    """The limit to judge against: ``limit`` > ``gpu`` > ``arch`` > the local GPU > unknown."""
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise DeviceError(f"limit: {limit!r} is not a positive number of bytes")
        base = gpu_limit(gpu) if gpu else (arch_limit(arch) if arch else None)
        return DeviceLimit(limit, "limit", base.name if base else None, base.arch if base else arch,
                           base.sms if base else None, base.smem_per_sm if base else None, base.gpu if base else None)
    if gpu:
        return gpu_limit(gpu)
    if arch:
        return arch_limit(arch)
    if detect:
        local = detect_local_device()
        if local is not None:
            return local
    return DeviceLimit(None, "unknown")


__all__ = ["GpuFacts", "DeviceLimit", "gpu_facts", "gpu_limit", "arch_limit", "resolve_limit",
           "detect_local_device", "gpu_names", "arch_names", "match_device_name"]
