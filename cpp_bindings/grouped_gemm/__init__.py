"""CUTLASS SM90 grouped (and ptr-array) GEMMs for MoE, built just in time from ``KernelConfig`` s.

MoE layout: activations ``a`` ``[rows, K]`` sorted by expert (rows ``expert_offsets[e] .. expert_offsets[e+1]``
go to expert ``e``), weights ``b`` ``[E, N, K]`` (one ``N x K`` matrix per expert, K contiguous), output
``[rows, N]`` bf16 = ``a_e @ b[e].T`` per expert, fp32 accumulation. Inputs are both e4m3 (FP8, unit scales) or
both bf16. A config with ``layout_cd = col`` runs swap-AB (TensorRT-LLM's small-M form): the kernel computes
``D^T = b[e] @ a_e^T`` into a column-major D, the same memory as the row-major output.

    lib = load([cfg1, cfg2])                       # builds once (about a minute per kernel, in parallel)
    out = grouped_gemm(a, b, offsets, cfg1, library=lib)
    plan = lib.plan(a, b, offsets, out, cfg2)      # prepared once; plan.run() launches only the GEMM

torch is imported when a function here is called, not when the module is imported.
"""

from __future__ import annotations

from typing import Optional, Sequence

from smem_tactics.bench.contenders import check_buildable, dtype_of, is_swap_ab, short_name
from smem_tactics.bench.scenarios import ScenarioError, check_offsets
from smem_tactics.config import KernelConfig
from smem_tactics.errors import ConfigError

from .build import build as _build

_TORCH_DTYPE = {"e4m3": "float8_e4m3fn", "bf16": "bfloat16"}


class GroupedGemmError(ValueError):
    """Bad input to a grouped GEMM call (shapes, dtypes, devices, alignment, offsets)."""


def _torch():
    import torch

    return torch


def _check_inputs(a, b, offsets: Sequence[int], out, cfg: KernelConfig) -> None:
    torch = _torch()
    dtype = dtype_of(cfg)
    want = getattr(torch, _TORCH_DTYPE[dtype])
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor):
            raise GroupedGemmError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if not t.is_cuda:
            raise GroupedGemmError(f"{name}: must be on a CUDA device, is on {t.device}")
        if t.dtype != want:
            raise GroupedGemmError(f"{name}: dtype {t.dtype} does not match the config's {dtype} ({want})")
        if not t.is_contiguous():
            raise GroupedGemmError(f"{name}: must be contiguous")
    if a.dim() != 2:
        raise GroupedGemmError(f"a: expected [rows, K], got shape {tuple(a.shape)}")
    if b.dim() != 3:
        raise GroupedGemmError(f"b: expected [experts, N, K], got shape {tuple(b.shape)}")
    rows, k = a.shape
    e, n, kb = b.shape
    if kb != k:
        raise GroupedGemmError(f"b: K = {kb} does not match a's K = {k}")
    if a.device != b.device:
        raise GroupedGemmError(f"a is on {a.device} but b is on {b.device}")
    try:
        check_offsets(offsets, rows=rows, experts=e)
    except ScenarioError as err:
        raise GroupedGemmError(str(err)) from None
    esize = a.element_size()
    if (k * esize) % 16:
        raise GroupedGemmError(f"K = {k}: rows of a and b must be a multiple of 16 bytes for TMA "
                               f"(K x {esize} B = {k * esize} B)")
    if (n * 2) % 16:
        raise GroupedGemmError(f"N = {n}: output rows must be a multiple of 16 bytes for TMA (N x 2 B = {n * 2} B)")
    for name, t in (("a", a), ("b", b)):
        if t.data_ptr() % 16:
            raise GroupedGemmError(f"{name}: data pointer is not 16-byte aligned")
    if out is not None:
        if not isinstance(out, torch.Tensor) or out.dtype != torch.bfloat16 or tuple(out.shape) != (rows, n) \
                or not out.is_contiguous() or out.device != a.device:
            raise GroupedGemmError(f"out: expected a contiguous bf16 tensor of shape {(rows, n)} on {a.device}")
        if out.data_ptr() % 16:
            raise GroupedGemmError("out: data pointer is not 16-byte aligned")


def _offsets_list(expert_offsets) -> list:
    torch = _torch()
    if isinstance(expert_offsets, torch.Tensor):
        if expert_offsets.dim() != 1 or expert_offsets.dtype not in (torch.int32, torch.int64):
            raise GroupedGemmError("expert_offsets: expected a 1-D int32/int64 tensor (or a list) of E + 1 offsets")
        return [int(v) for v in expert_offsets.cpu().tolist()]
    try:
        return [int(v) for v in expert_offsets]
    except (TypeError, ValueError):
        raise GroupedGemmError("expert_offsets: expected E + 1 integers") from None


def groups_for(a, b, offsets: Sequence[int], out, swap_ab: bool) -> list:
    """(m, n, k, a_ptr, b_ptr, d_ptr) per active expert, in the kernel's view."""
    rows, k = a.shape
    n = b.shape[1]
    ea, eb = a.element_size(), b.element_size()
    groups = []
    for e in range(len(offsets) - 1):
        m_e = offsets[e + 1] - offsets[e]
        if m_e == 0:
            continue
        pa = a.data_ptr() + offsets[e] * k * ea
        pb = b.data_ptr() + e * n * k * eb
        pd = out.data_ptr() + offsets[e] * n * 2
        groups.append((n, m_e, k, pb, pa, pd) if swap_ab else (m_e, n, k, pa, pb, pd))
    return groups


#: The persistent tile scheduler's raster orders (``Arguments::scheduler.raster_order``, CUTLASS
#: ``RasterOrderOptions``), as the runner takes them; ``default`` leaves the scheduler's own default (AlongM for
#: the grouped scheduler, Heuristic for the ptr-array one).
RASTER_ORDERS = {"default": -1, "heuristic": 0, "along_m": 1, "along_n": 2}
#: ``Arguments::scheduler.max_swizzle_size`` values CUTLASS's schedulers distinguish.
SWIZZLES = (1, 2, 4, 8)


class Plan:
    """One kernel prepared for one problem: the per-group arrays are on the device; :meth:`run` only launches."""

    def __init__(self, runner, groups: list, out, sm_count: int, inputs: tuple = (), raster_order: str = "default",
                 max_swizzle: int = 1):
        if raster_order not in RASTER_ORDERS:
            raise ConfigError("raster_order", raster_order, tuple(RASTER_ORDERS))
        if max_swizzle not in SWIZZLES:
            raise ConfigError("max_swizzle", max_swizzle, SWIZZLES)
        self.runner = runner
        self.inputs = inputs  # keeps a and b alive: the runner holds raw pointers into them
        self.groups = len(groups)
        self.out = out
        self.sm_count = sm_count
        self.raster_order = raster_order
        self.max_swizzle = max_swizzle
        if groups:
            runner.prepare(groups, sm_count, RASTER_ORDERS[raster_order], max_swizzle)

    def run(self, pdl: bool = False):
        """Launch once on the current stream; ``pdl``: with programmatic dependent launch (the kernel may start
        while the previous kernel of the stream drains; it waits in griddepcontrol.wait, so it must be built with
        ``CUTLASS_ENABLE_GDC_FOR_SM90`` from a CUTLASS release whose array kernels issue it, 4.3.0 or newer)."""
        if self.groups:
            self.runner.run(bool(pdl))
        return self.out

    @property
    def grid_ctas(self) -> int:
        return self.runner.grid_ctas() if self.groups else 0


class Library:
    """A built extension and the configs in it."""

    def __init__(self, module, configs: Sequence[KernelConfig], names: Sequence[str], build_seconds: float,
                 failed: Optional[dict] = None):
        self.module = module
        by_name = {short_name(c): c for c in configs}
        self.configs = {n: by_name[n] for n in names}
        self.build_seconds = build_seconds
        self.failed = dict(failed or {})  # name -> first compiler error, for kernels left out
        self._runners: dict = {}

    def name_of(self, cfg: KernelConfig) -> str:
        name = short_name(cfg)
        if self.configs.get(name) != cfg:
            raise ConfigError("config", name, ", ".join(self.configs) or "nothing", "not built into this library")
        return name

    def runner(self, cfg: KernelConfig):
        """A fresh runner for ``cfg`` (each plan needs its own: the runner holds the prepared problem)."""
        return self.module.Runner(self.name_of(cfg))

    def info(self, cfg: KernelConfig) -> dict:
        name = self.name_of(cfg)
        if name not in self._runners:
            self._runners[name] = self.module.Runner(name)
        return dict(self._runners[name].info())

    def plan(self, a, b, expert_offsets, out, cfg: KernelConfig, sm_count: Optional[int] = None,
             raster_order: str = "default", max_swizzle: int = 1) -> Plan:
        torch = _torch()
        offsets = _offsets_list(expert_offsets)
        _check_inputs(a, b, offsets, out, cfg)
        if out is None:
            out = torch.empty((a.shape[0], b.shape[1]), dtype=torch.bfloat16, device=a.device)
        if sm_count is None:
            sm_count = torch.cuda.get_device_properties(a.device).multi_processor_count
        return Plan(self.runner(cfg), groups_for(a, b, offsets, out, is_swap_ab(cfg)), out, sm_count, (a, b),
                    raster_order, max_swizzle)


_DEFAULT: Optional[Library] = None


def load(configs: Sequence[KernelConfig], **build_kwargs) -> Library:
    """Build (or reuse the build of) an extension holding ``configs``."""
    configs = list(configs)
    for c in configs:
        check_buildable(c)
    module, names, seconds, failed, _warnings = _build(configs, **build_kwargs)
    return Library(module, configs, names, seconds, failed)


def load_built(configs: Sequence[KernelConfig], names: Sequence[str], build_root, module_name: str) -> Library:
    """The extension another process built into ``build_root`` (``python -m cpp_bindings.grouped_gemm build``),
    imported from its shared object without asking ninja again: ``names`` are the kernels that build reports (its
    ``--result`` file), ``configs`` at least those. torch is imported first (the module links against it)."""
    import importlib.util
    from pathlib import Path

    _torch()
    path = Path(build_root) / "ext" / f"{module_name}.so"
    if not path.is_file():
        raise GroupedGemmError(f"{path}: no built extension there (build it with python -m cpp_bindings.grouped_gemm "
                               f"build --build-root {build_root} --module-name {module_name})")
    spec = importlib.util.spec_from_file_location(module_name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = set(module.kernel_names())
    missing = [n for n in names if n not in built]
    if missing:
        raise GroupedGemmError(f"{path}: kernels {missing} are not in this build (it has {sorted(built)})")
    return Library(module, list(configs), list(names), 0.0)


def grouped_gemm(a, b, expert_offsets, config: KernelConfig, out=None, library: Optional[Library] = None):
    """``out[rows_e] = a[rows_e] @ b[e].T`` for every expert ``e``, with the CUTLASS kernel of ``config``.

    Without ``library`` a library holding only ``config`` is built (or loaded from the build folder) first.
    """
    global _DEFAULT
    if not isinstance(config, KernelConfig):
        raise ConfigError("config", type(config).__name__, "a smem_tactics.KernelConfig")
    check_buildable(config)
    if library is None:
        if _DEFAULT is None or short_name(config) not in _DEFAULT.configs:
            _DEFAULT = load([config])
        library = _DEFAULT
    plan = library.plan(a, b, expert_offsets, out, config)
    return plan.run()


__all__ = ["GroupedGemmError", "Library", "Plan", "RASTER_ORDERS", "SWIZZLES", "load", "load_built", "grouped_gemm",
           "groups_for"]
