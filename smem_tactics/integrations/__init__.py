"""Autotuner plug-ins: drop the MoE tactics that cannot fit the device before a framework profiles them.

``smem_tactics.integrations.tensorrt_llm.install()`` and ``smem_tactics.integrations.flashinfer.install()``
wrap the CUTLASS fused-MoE runners' ``get_valid_tactics`` at class level. What every plug-in guarantees
(the shared machinery is here; each framework module only says how to read its runner):

* importing ``smem_tactics`` (or this package) imports no framework; ``install()`` imports it then;
* ``forward`` (and its ``do_preparation`` call) is untouched, and nothing is added to runner instances, so
  ``hash(runner)`` / ``unique_id()`` -- part of the tuners' cache keys -- are what they were;
* one INFO line per op and runner kind ("pruned 2 of 16 tactics for trtllm::fused_moe::gemm2 on sm121: ..."),
  not one per tactic;
* if every tactic would be pruned, :class:`NoFittingTacticError` names the smallest tactic and its size
  instead of handing the tuner an empty list;
* any internal failure of the plug-in passes the original list through with one warning; an unknown framework
  version, device or dtype path passes through with one warning;
* ``SMEM_TACTICS_DISABLE=1`` in the environment, or ``with disabled():``, turns pruning off at call time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

from ..errors import SmemTacticsError

LOG = logging.getLogger("smem_tactics.integrations")

DISABLE_ENV = "SMEM_TACTICS_DISABLE"
#: The custom-op names both frameworks give the CUTLASS fused-MoE GEMMs in their tuners.
MOE_OPS = ("trtllm::fused_moe::gemm1", "trtllm::fused_moe::gemm2")

_local = threading.local()
_ORIGINAL_ATTR = "__smem_tactics_original__"


class NoFittingTacticError(SmemTacticsError, RuntimeError):
    """Every tactic of an op would be pruned: nothing the runner offers fits this device."""


def _disabled_depth() -> int:
    return getattr(_local, "disabled", 0)


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within this block (this thread), installed plug-ins pass every tactic through."""
    _local.disabled = _disabled_depth() + 1
    try:
        yield
    finally:
        _local.disabled = _disabled_depth() - 1


def is_enabled() -> bool:
    """False while ``SMEM_TACTICS_DISABLE`` is set to a true value or inside :func:`disabled`."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return _disabled_depth() == 0


def torch_dtype_name(dtype: Any) -> str:
    """'torch.bfloat16' -> 'bfloat16' without importing torch."""
    return str(dtype).rsplit(".", 1)[-1]


def dtype_path(x_dtype: Any, weight_dtype: Any, *, mxfp8_act_scaling: bool = False, w4_group_scaling: bool = False,
               deepseek_fp8_block_scale: bool = False, packed_weights: bool = False) -> Optional[str]:
    """The cataloged dtype path a runner's constructor arguments select (the C++ runners' ``isNvfp4Quant`` &
    co. in ``thop/moeOp.cpp`` / ``flashinfer_cutlass_fused_moe_binding.cu``), or None for paths without a
    catalog (DeepSeek FP8 block scaling, MXFP8 x MXFP8, BF16 x FP8, INT4/INT8 weight-only, ...)."""
    x, w = torch_dtype_name(x_dtype), torch_dtype_name(weight_dtype)
    if deepseek_fp8_block_scale:
        return None
    if w == "int64":  # packed FP4 weights (16 per int64)
        return "mxfp8_mxfp4" if x == "float8_e4m3fn" else "nvfp4"
    if x == "float8_e4m3fn" and w == "float8_e4m3fn":
        return None if mxfp8_act_scaling else "fp8"
    if x == w and x in ("bfloat16", "float16"):
        return "bf16" if x == "bfloat16" else "f16"
    if w == "uint8" and w4_group_scaling:
        if packed_weights or x == "float8_e4m3fn":
            return "w4a8"
        return "w4a16"
    return None


def output_name(output_dtype: Any) -> Optional[str]:
    return {"bfloat16": "bf16", "float16": "f16"}.get(torch_dtype_name(output_dtype))


def activation_name(activation: Any) -> str:
    """Lower-case activation name from an ``ActivationType`` enum member, name or int; the catalog only needs
    to know whether it is gated (SwiGLU / GeGLU)."""
    name = getattr(activation, "name", None)
    if name is None and isinstance(activation, int):
        name = {3: "swiglu", 4: "geglu"}.get(activation, "identity")
    name = str(name or activation).lower()
    return name if name in ("swiglu", "geglu") else "identity"


@dataclass(frozen=True)
class RunnerFacts:
    """What a runner instance says about the GEMM being tuned."""

    dtype: Optional[str]
    gemm: Optional[int]
    finalize: bool
    output: Optional[str]
    activation: str
    runner_count: Optional[int] = None  # the runner's own tactic count for this GEMM, when it tells


@dataclass(frozen=True)
class Device:
    arch: Optional[str]
    limit_bytes: Optional[int]
    name: str

    @property
    def known(self) -> bool:
        return self.arch is not None and self.limit_bytes is not None


def resolve_device(gpu: Optional[str] = None, arch: Optional[str] = None, limit: Optional[int] = None) -> Device:
    """The device to judge against: explicit ``gpu`` / ``arch`` / ``limit``, else the local GPU (cuda-python or
    torch), else unknown."""
    from ..devices import resolve_limit

    lim = resolve_limit(gpu=gpu, arch=arch, limit=limit)
    return Device(lim.arch, lim.smem_per_block_optin, lim.name or lim.arch or "unknown device")


class Pruner:
    """Filters one framework's tactic lists; safe by construction (see the module docstring)."""

    def __init__(self, framework: str, version: Optional[str], device: Device, cutlass: Sequence[str] = (),
                 logger: logging.Logger = LOG):
        self.framework = framework
        self.version = version
        self.device = device
        self.cutlass_override = tuple(cutlass)
        self.log = logger
        self._said: set = set()
        self._verdicts: dict = {}
        self._lock = threading.Lock()

    # -- logging once --------------------------------------------------------------------------------------
    def _once(self, level: int, key: Any, message: str) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        self.log.log(level, message)

    # -- the filter ------------------------------------------------------------------------------------------
    def filter(self, op: str, facts_of: Callable[[], RunnerFacts], original: Sequence[Any]) -> Any:
        """The tactics to profile: ``original`` minus those that cannot fit. Never raises, except
        :class:`NoFittingTacticError` when nothing would remain."""
        if not is_enabled():
            return original
        try:
            return self._filter(op, facts_of(), original)
        except NoFittingTacticError:
            raise
        except Exception as e:  # noqa: BLE001 -- the host tuner must never break because of the plug-in
            self._once(logging.WARNING, ("internal", op, type(e).__name__),
                       f"smem_tactics: plug-in failure for {op} ({type(e).__name__}: {e}); passing all "
                       f"{_count(original)} tactics through")
            return original

    def _filter(self, op: str, facts: RunnerFacts, original: Sequence[Any]) -> Any:
        from ..catalogs import find_version, judge_all, smallest, tactics

        fv = find_version(self.framework, self.version) if self.version else None
        if fv is None:
            self._once(logging.WARNING, ("version",), f"smem_tactics: {self.framework} {self.version or '(unknown)'} "
                       f"has no tactic catalog; nothing is pruned")
            return original
        if not self.device.known:
            self._once(logging.WARNING, ("device",), "smem_tactics: the device (arch and shared-memory limit) is "
                       "unknown; nothing is pruned")
            return original
        if facts.dtype is None or facts.gemm not in (1, 2) or facts.output is None:
            self._once(logging.WARNING, ("facts", op, facts.dtype, facts.gemm, facts.output),
                       f"smem_tactics: {op}: this runner's dtype path / GEMM / output type has no catalog "
                       f"(dtype={facts.dtype}, gemm={facts.gemm}, output={facts.output}); nothing is pruned")
            return original
        listing = tactics(fv.framework, fv.key, self.device.arch, facts.dtype, facts.gemm, facts.finalize)
        if facts.runner_count is not None and facts.runner_count != len(listing):
            self._once(logging.WARNING, ("count", op, facts.dtype, facts.gemm),
                       f"smem_tactics: {op}: the runner offers {facts.runner_count} tactics but the {fv.label} catalog "
                       f"for {self.device.arch} {facts.dtype} has {len(listing)}; nothing is pruned")
            return original
        versions = self.cutlass_override or fv.default_cutlass
        key = (fv.key, facts.dtype, facts.gemm, facts.finalize, facts.output, facts.activation)
        if key not in self._verdicts:  # the tuner asks once per profile bucket: judge each list once
            per_version = [judge_all(listing, self.device.limit_bytes, v, facts.output, facts.activation)
                           for v in versions]
            # prune only what fails under every CUTLASS release the framework may ship: never on a guess
            by_value = {}
            for i, t in enumerate(listing):
                verdicts = [vs[i] for vs in per_version]
                by_value[t.value] = verdicts[0] if all(not v.fits for v in verdicts) else None
            self._verdicts[key] = (per_version[0], by_value)
        first_version, by_value = self._verdicts[key]
        values = list(original)
        kept = [v for v in values if by_value.get(v) is None]
        dropped = [by_value[v] for v in values if by_value.get(v) is not None]
        if not kept and values:
            tiny = smallest(first_version)
            what = (f"smallest is tactic {tiny.tactic.value} {tiny.tactic.short()} at {tiny.total_bytes} B"
                    if tiny else "no tactic has a modelled size")
            raise NoFittingTacticError(
                f"{op} on {self.device.name} ({self.device.arch}, {self.device.limit_bytes} B per block): none of "
                f"the {len(values)} {fv.label} {facts.dtype} tactics fits; {what}. Use another MoE backend for this "
                f"dtype (see docs/sm12x_guide.md) or set {DISABLE_ENV}=1 to profile them anyway")
        if dropped:
            names = ", ".join(f"{d.tactic.value} ({d.tactic.short()}: {_why(d)})" for d in dropped[:6])
            more = f", and {len(dropped) - 6} more" if len(dropped) > 6 else ""
            self._once(logging.INFO, ("pruned", op, facts.dtype, facts.gemm, facts.finalize),
                       f"smem_tactics: pruned {len(dropped)} of {len(values)} tactics for {op} on {self.device.arch} "
                       f"({fv.label}, CUTLASS {'/'.join(versions)} rules): {names}{more}")
        else:
            self._once(logging.INFO, ("pruned", op, facts.dtype, facts.gemm, facts.finalize),
                       f"smem_tactics: pruned 0 of {len(values)} tactics for {op} on {self.device.arch}: all fit")
        return kept if dropped else original


def _why(v) -> str:
    if v.total_bytes is not None and v.limit_bytes is not None and v.cause == "shared memory":
        return f"{v.total_bytes} B > {v.limit_bytes} B"
    return v.cause


def _count(original: Sequence[Any]) -> str:
    try:
        return str(len(original))
    except TypeError:
        return "its"


def package_version(*dists: str) -> Optional[str]:
    """The installed version of the first of ``dists`` found in package metadata (nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in dists:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


@contextlib.contextmanager
def temporarily_installed(plugin: Any, **kwargs: Any) -> Iterator[Pruner]:
    """``plugin.install(**kwargs)`` for the block; afterwards uninstall unless it was installed before."""
    was = plugin.is_installed()
    pruner = plugin.install(**kwargs)
    try:
        yield pruner
    finally:
        if not was:
            plugin.uninstall()


def wrap_get_valid_tactics(cls: type, op_of: Callable[[Any, dict], str], facts_of: Callable[[Any, dict], RunnerFacts],
                           pruner_of: Callable[[], Optional[Pruner]]) -> bool:
    """Replace ``cls.get_valid_tactics`` by a filtering wrapper (once); returns False if it already was."""
    current = cls.__dict__.get("get_valid_tactics")
    if current is not None and getattr(current, _ORIGINAL_ATTR, None) is not None:
        return False
    original = getattr(cls, "get_valid_tactics")

    def get_valid_tactics(self, inputs, profile, **kwargs):
        found = original(self, inputs, profile, **kwargs)
        pruner = pruner_of()
        if pruner is None:
            return found
        try:
            op = op_of(self, kwargs)
        except Exception:  # noqa: BLE001
            op = "fused_moe"
        return pruner.filter(op, lambda: facts_of(self, kwargs), found)

    get_valid_tactics.__name__ = "get_valid_tactics"
    get_valid_tactics.__qualname__ = f"{cls.__qualname__}.get_valid_tactics"
    get_valid_tactics.__doc__ = getattr(original, "__doc__", None)
    get_valid_tactics.__wrapped__ = original
    setattr(get_valid_tactics, _ORIGINAL_ATTR, (cls, current))
    cls.get_valid_tactics = get_valid_tactics
    return True


def unwrap_get_valid_tactics(cls: type) -> bool:
    """Undo :func:`wrap_get_valid_tactics`; returns False if ``cls`` was not wrapped."""
    current = cls.__dict__.get("get_valid_tactics")
    saved = getattr(current, _ORIGINAL_ATTR, None) if current is not None else None
    if saved is None:
        return False
    _, previous = saved
    if previous is None:
        delattr(cls, "get_valid_tactics")
    else:
        cls.get_valid_tactics = previous
    return True


def is_wrapped(cls: type) -> bool:
    current = cls.__dict__.get("get_valid_tactics")
    return current is not None and getattr(current, _ORIGINAL_ATTR, None) is not None


__all__ = ["NoFittingTacticError", "disabled", "is_enabled", "DISABLE_ENV", "MOE_OPS", "Pruner", "RunnerFacts",
           "Device", "resolve_device", "dtype_path", "output_name", "activation_name", "torch_dtype_name",
           "wrap_get_valid_tactics", "unwrap_get_valid_tactics", "is_wrapped", "package_version",
           "temporarily_installed"]
