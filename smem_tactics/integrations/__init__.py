"""Autotuner plug-ins: drop the MoE tactics that cannot run on the device before a framework profiles them.

``smem_tactics.integrations.tensorrt_llm.install()`` and ``smem_tactics.integrations.flashinfer.install()``
wrap the CUTLASS fused-MoE runners' ``get_valid_tactics`` at class level. What every plug-in guarantees
(the shared machinery is here; each framework module only says how to read its runner):

* importing ``smem_tactics`` (or this package) imports no framework; ``install()`` imports it then;
* the installed version picks its catalog (``smem_tactics.catalogs.catalog_for``); a version newer than every
  cataloged one uses the newest catalog only when the runner's own tactic counts and values match it at run time;
  an entry whose lists were not read at its tag (``runtime_check``) is used under the same check, trying its
  ``alternates`` in order; anything else passes through with one warning;
* ``forward`` (and its ``do_preparation`` call) is untouched, and nothing is added to runner instances, so
  ``hash(runner)`` / ``unique_id()`` -- part of the tuners' cache keys -- are what they were;
* one INFO line per op and runner kind ("pruned 2 of 16 tactics for trtllm::fused_moe::gemm2 on sm121: ..."),
  not one per tactic;
* **the host never sees an exception from the plug-in**: every path out of a wrapped ``get_valid_tactics`` returns
  a list the host accepts -- the runner's own list on any doubt (unknown version, device, dtype path or
  activation; a device limit of 0 B or garbage; tactic counts or values the catalog does not know; verdicts that
  do not add up; any internal failure), with one warning; a runner that returns an iterator gets the list it
  produced (materialized once) back;
* if every tactic would be pruned, the host's own convention for an empty list is followed (TensorRT-LLM: an empty
  list, on which its tuner warns and uses the fallback tactic -1; FlashInfer: ``[-1]``, the sentinel its own
  runner returns), plus one ERROR line naming the smallest tactic and its size;
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
    """Every tactic of an op would be pruned: nothing the runner offers fits this device (raised by offline tools
    such as :func:`smem_tactics.integrations.cache.choose_tactics`; never by an installed plug-in)."""


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


#: Activations that make 16-bit GEMM1 run the fused gate kernel (``supportsFusedGatedActivation``: Swiglu or Geglu,
#: in TensorRT-LLM and in every FlashInfer wheel read).
GATED_ACTIVATIONS = ("swiglu", "geglu")


def judged_activations(name: Optional[str]) -> tuple:
    """The catalog activations a tactic is judged under: the gated kernel for SwiGLU/GeGLU, the plain one for any
    other known activation, and both when the activation is unknown (a tactic is then pruned only if it fails
    under both: never on a guess)."""
    if name is None:
        return ("swiglu", "identity")
    return (name,) if name in GATED_ACTIVATIONS else ("identity",)


@dataclass(frozen=True)
class RunnerFacts:
    """What a runner instance says about the GEMM being tuned."""

    dtype: Optional[str]
    gemm: Optional[int]
    finalize: bool
    output: Optional[str]
    activation: Any  # what the runner holds (enum member, name or the framework version's int); None if nothing
    runner_count: Optional[int] = None  # the runner's own tactic count for this GEMM, when it tells


@dataclass(frozen=True)
class Device:
    arch: Optional[str]
    limit_bytes: Optional[int]
    name: str

    @property
    def known(self) -> bool:
        """An arch with a catalog and a plausible opt-in limit: a device that reports 0 B, a negative or non-integer
        limit, or one below 1 KiB or above 16 MiB is not trusted (pruning against it would drop everything)."""
        from ..catalogs import ARCHS
        from ..contract import MAX_LIMIT_BYTES

        lim = self.limit_bytes
        return (self.arch in ARCHS and isinstance(lim, int) and not isinstance(lim, bool)
                and 1024 <= lim <= MAX_LIMIT_BYTES)


def resolve_device(gpu: Optional[str] = None, arch: Optional[str] = None, limit: Optional[int] = None) -> Device:
    """The device to judge against: explicit ``gpu`` / ``arch`` / ``limit``, else the local GPU (cuda-python or
    torch), else unknown."""
    from ..devices import resolve_limit

    lim = resolve_limit(gpu=gpu, arch=arch, limit=limit)
    return Device(lim.arch, lim.smem_per_block_optin, lim.name or lim.arch or "unknown device")


class Pruner:
    """Filters one framework's tactic lists; never raises into the host (see the module docstring).

    ``empty`` is what the host takes as "nothing to profile" (its own convention for an empty list) and
    ``how`` says how the catalog was chosen (``"exact"`` or ``"newer"``, from ``catalog_for``).
    """

    def __init__(self, framework: str, version: Optional[str], device: Device, cutlass: Sequence[str] = (),
                 logger: logging.Logger = LOG, empty: Sequence[Any] = (), empty_convention: str = ""):
        from ..catalogs import catalog_for

        self.framework = framework
        self.version = version
        self.device = device
        self.cutlass_override = tuple(cutlass)
        self.log = logger
        self.empty = list(empty)
        self.empty_convention = empty_convention
        self._said: set = set()
        self._verdicts: dict = {}
        self._lock = threading.Lock()
        try:
            self.catalog, self.how = catalog_for(framework, version)
        except Exception as e:  # noqa: BLE001 -- a broken catalog means "pass through", said when asked
            self.catalog, self.how = None, f"catalog unreadable ({type(e).__name__}: {e})"

    # -- logging once --------------------------------------------------------------------------------------
    def _once(self, level: int, key: Any, message: str) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        try:
            self.log.log(level, message)
        except Exception:  # noqa: BLE001 -- a broken handler must not break the host either
            pass

    def _pass(self, key: Any, message: str, original: Any) -> Any:
        self._once(logging.WARNING, key, f"smem_tactics: {message}; nothing is pruned")
        return original

    # -- the filter ------------------------------------------------------------------------------------------
    def filter(self, op: str, facts_of: Callable[[], RunnerFacts], original: Any) -> Any:
        """The tactics to profile: ``original`` minus those that cannot run here. Never raises: on any doubt the
        original list comes back (with one warning); when nothing would remain, the host's empty-list convention."""
        if not is_enabled():
            return original
        try:
            return self._filter(op, facts_of, original)
        except Exception as e:  # noqa: BLE001 -- the host tuner must never break because of the plug-in
            self._once(logging.WARNING, ("internal", op, type(e).__name__),
                       f"smem_tactics: plug-in failure for {op} ({type(e).__name__}: {e}); passing all "
                       f"{_count(original)} tactics through")
            return original

    def _listing(self, facts: RunnerFacts, values: list):
        """(catalog, listing) whose counts and values the runner confirms, or (None, why)."""
        from ..catalogs import find_version, tactics
        from ..errors import VersionError

        fv = self.catalog
        checked = fv.runtime_check or self.how == "newer"
        candidates = [fv] + [find_version(fv.framework, k) for k in fv.alternates] if checked else [fv]
        reasons = []
        for cand in candidates:
            if cand is None:
                continue
            try:
                listing = tactics(cand.framework, cand.key, self.device.arch, facts.dtype, facts.gemm, facts.finalize)
            except VersionError as e:
                reasons.append(f"{cand.label}: {e}")
                continue
            known = {t.value for t in listing}
            stray = [v for v in values if v != -1 and v not in known]
            if facts.runner_count is not None and facts.runner_count != len(listing):
                reasons.append(f"the runner offers {facts.runner_count} tactics but the {cand.label} catalog for "
                               f"{self.device.arch} {facts.dtype} has {len(listing)}")
            elif stray:
                reasons.append(f"the runner offers tactic values the {cand.label} catalog for {self.device.arch} "
                               f"{facts.dtype} does not have ({', '.join(map(repr, stray[:4]))})")
            elif checked and facts.runner_count is None and sorted(values) != sorted(known):
                reasons.append(f"the runner's {len(values)} tactics are not the {cand.label} catalog's {len(listing)}")
            else:
                return cand, listing
        return None, "; ".join(reasons) or "no catalog"

    def _filter(self, op: str, facts_of: Callable[[], RunnerFacts], original: Any) -> Any:
        from ..catalogs import judge_all, smallest

        fv = self.catalog
        if fv is None:
            return self._pass(("version",), f"{self.framework} {self.version or '(version unknown)'} has no tactic "
                              f"catalog ({self.how})", original)
        if not self.device.known:
            return self._pass(("device",), f"the device ({self.device.name}: arch {self.device.arch}, "
                              f"{self.device.limit_bytes!r} B per block) is unknown or reports an implausible "
                              f"shared-memory limit", original)
        facts = facts_of()
        if facts.dtype is None or facts.gemm not in (1, 2) or facts.output is None:
            return self._pass(("facts", op, facts.dtype, facts.gemm, facts.output),
                              f"{op}: this runner's dtype path / GEMM / output type has no catalog (dtype={facts.dtype}"
                              f", gemm={facts.gemm}, output={facts.output})", original)
        values = list(original)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            return self._pass(("values", op), f"{op}: the runner's tactics are not integers "
                              f"({', '.join(repr(v) for v in values[:3])}...)", original)
        cat, listing = self._listing(facts, values)
        if cat is None:
            return self._pass(("count", op, facts.dtype, facts.gemm), f"{op}: {listing}", original)
        activation = fv.activation(facts.activation) if facts.activation is not None else None
        judged = judged_activations(activation)
        versions = self.cutlass_override or cat.default_cutlass
        key = (cat.key, self.device.arch, self.device.limit_bytes, facts.dtype, facts.gemm, facts.finalize,
               facts.output, judged)
        if key not in self._verdicts:  # the tuner asks once per profile bucket: judge each list once
            runs = [judge_all(listing, self.device.limit_bytes, v, facts.output, a) for v in versions for a in judged]
            for run in runs:  # verdicts that do not add up are a doubt, never a reason to prune
                if len(run) != len(listing) or any(getattr(x, "tactic", None) is not t for x, t in zip(run, listing)):
                    raise RuntimeError("verdicts do not match the tactic list")
                if any(not isinstance(getattr(x, "fits", None), bool) for x in run):
                    raise RuntimeError("a verdict has no fits/does-not-fit answer")
            # prune only what fails under every CUTLASS release and activation considered: never on a guess
            by_value = {t.value: (run_list[0] if all(not r.fits for r in run_list) else None)
                        for t, run_list in zip(listing, zip(*runs))}
            self._verdicts[key] = (runs[0], by_value)
        first, by_value = self._verdicts[key]
        kept = [v for v in values if by_value.get(v) is None]
        dropped = [by_value[v] for v in values if by_value.get(v) is not None]
        where = f"{self.device.arch}, {cat.label}" + (f" (runtime-checked for {self.framework} {self.version})"
                                                      if cat is not fv or self.how == "newer" else "")
        if not kept and values:
            tiny = smallest(first)
            what = (f"the smallest is tactic {tiny.tactic.value} {tiny.tactic.short()} at {tiny.total_bytes} B"
                    if tiny else "no tactic has a modelled size")
            self._once(logging.ERROR, ("none", op, facts.dtype, facts.gemm, facts.finalize),
                       f"smem_tactics: none of the {len(values)} {facts.dtype} tactics of {op} can run on "
                       f"{self.device.name} ({where}, {self.device.limit_bytes} B per block); {what}. Following the "
                       f"host's convention for an empty list ({self.empty_convention or self.empty}); use another "
                       f"MoE backend for this dtype (docs/sm12x_guide.md) or set {DISABLE_ENV}=1 to profile them")
            return list(self.empty)
        if dropped:
            names = ", ".join(f"{d.tactic.value} ({d.tactic.short()}: {_why(d)})" for d in dropped[:6])
            more = f", and {len(dropped) - 6} more" if len(dropped) > 6 else ""
            self._once(logging.INFO, ("pruned", op, facts.dtype, facts.gemm, facts.finalize),
                       f"smem_tactics: pruned {len(dropped)} of {len(values)} tactics for {op} on {where} "
                       f"(CUTLASS {'/'.join(versions)} rules): {names}{more}")
            return kept
        self._once(logging.INFO, ("pruned", op, facts.dtype, facts.gemm, facts.finalize),
                   f"smem_tactics: pruned 0 of {len(values)} tactics for {op} on {where}: all can run")
        return original


def _why(v) -> str:
    return v.why()


def _count(original: Any) -> str:
    try:
        return str(len(original))
    except Exception:  # noqa: BLE001
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
        found = original(self, inputs, profile, **kwargs)  # the runner's own errors are the host's, untouched
        pruner = None
        try:
            pruner = pruner_of()
            if pruner is None or not is_enabled():
                return found
            if not isinstance(found, (list, tuple, range)):
                found = list(found)  # an iterator is consumed once, here; the host gets this list back
            try:
                op = op_of(self, kwargs)
            except Exception:  # noqa: BLE001
                op = "fused_moe"
            return pruner.filter(op, lambda: facts_of(self, kwargs), found)
        except Exception as e:  # noqa: BLE001 -- nothing escapes into the host's tuner
            if pruner is not None:
                pruner._once(logging.WARNING, ("wrapper", type(e).__name__),
                             f"smem_tactics: plug-in failure ({type(e).__name__}: {e}); the runner's tactics pass "
                             f"through")
            return found

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
           "Device", "resolve_device", "dtype_path", "output_name", "judged_activations", "GATED_ACTIVATIONS",
           "torch_dtype_name",
           "wrap_get_valid_tactics", "unwrap_get_valid_tactics", "is_wrapped", "package_version",
           "temporarily_installed"]
