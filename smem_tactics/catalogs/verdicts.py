"""Verdicts for a framework's tactic list: bytes, fits or not (and by how much), and why.

A tactic is judged on the exact kernel the framework builds for it (:mod:`.kernels`) under one CUTLASS
release. Causes are kept apart: ``shared memory`` (the kernel's ``SharedStorage`` exceeds the device's opt-in
limit), ``dispatch`` (the framework throws before launching, e.g. an unsupported tile), ``not modelled`` (the
footprint model does not cover the kernel; nothing is claimed), ``cutlass rejects`` (the configuration does
not compile). Only ``shared memory`` and ``dispatch`` prune a tactic; ``not modelled`` never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..contract import MAX_ROWS, require_instance, require_items, require_limit
from ..devices import DeviceLimit
from ..errors import UnsupportedConfigError
from ..layout.sm80_grouped import GroupedSm80Config, max_fitting_sm80_stages, sm80_footprint
from ..verdict import verdict
from .kernels import kernel_arguments, kernel_for
from .tactics import Tactic

FITS, SMEM, DISPATCH, NOT_MODELLED, REJECTED, UNKNOWN_LIMIT = (
    "fits", "shared memory", "dispatch", "not modelled", "cutlass rejects", "limit unknown")

#: The four kinds a verdict reports: it fits; it needs more shared memory than the device has (bytes, limit); the
#: framework has no kernel to dispatch it to (which dispatcher, which tile -- a kernel CUTLASS cannot build is never
#: compiled into the framework, so it lands here too); or nothing is claimed (said so, with why).
KIND_FITS, KIND_SMEM, KIND_NO_DISPATCH, KIND_UNKNOWN = "fits", "shared memory", "no dispatch case", "unknown"
_KIND = {FITS: KIND_FITS, SMEM: KIND_SMEM, DISPATCH: KIND_NO_DISPATCH, REJECTED: KIND_NO_DISPATCH,
         NOT_MODELLED: KIND_UNKNOWN, UNKNOWN_LIMIT: KIND_UNKNOWN}


@dataclass(frozen=True)
class TacticVerdict:
    tactic: Tactic
    cutlass: str
    total_bytes: Optional[int]
    stages: Optional[int]
    limit_bytes: Optional[int]
    cause: str  # one of FITS, SMEM, DISPATCH, NOT_MODELLED, REJECTED, UNKNOWN_LIMIT
    reason: str
    kernel_name: Optional[str] = None

    @property
    def fits(self) -> bool:
        """True unless the tactic is known to fail (shared memory, dispatch, or a config CUTLASS rejects)."""
        return self.cause not in (SMEM, DISPATCH, REJECTED)

    @property
    def kind(self) -> str:
        """fits / shared memory / no dispatch case / unknown (see :data:`KIND_FITS` and siblings)."""
        return _KIND.get(self.cause, KIND_UNKNOWN)

    def why(self) -> str:
        """One short clause: ``shared memory: 102400 B > 101376 B`` / ``no dispatch case: ...`` / ``fits: ...``."""
        if self.kind == KIND_SMEM and self.total_bytes is not None and self.limit_bytes is not None:
            return f"shared memory: {self.total_bytes} B > {self.limit_bytes} B"
        if self.kind == KIND_FITS and self.total_bytes is not None:
            return f"fits: {self.total_bytes} B <= {self.limit_bytes} B"
        return self.reason if self.reason.startswith(self.kind) else f"{self.kind}: {self.reason}"

    @property
    def prunable(self) -> bool:
        """Whether a plug-in may drop it: only for a known cause."""
        return not self.fits

    @property
    def margin(self) -> Optional[int]:
        if self.total_bytes is None or self.limit_bytes is None:
            return None
        return self.limit_bytes - self.total_bytes

    def to_dict(self) -> dict:
        return {**self.tactic.to_dict(), "cutlass": self.cutlass, "total_bytes": self.total_bytes,
                "stages": self.stages, "limit_bytes": self.limit_bytes, "margin_bytes": self.margin,
                "fits": self.fits, "kind": self.kind, "cause": self.cause, "reason": self.reason,
                "kernel": self.kernel_name}


def _limit_bytes(limit) -> Optional[int]:
    if isinstance(limit, DeviceLimit):
        return require_limit("limit.smem_per_block_optin", limit.smem_per_block_optin, allow_none=True)
    return require_limit("limit", limit, allow_none=True)


def _checked(listing, cutlass, output: str, activation: str) -> str:
    """The arguments of :func:`judge_all` checked once, before any tactic is judged: a bad CUTLASS release or output
    type is the caller's error, never a list of 'not modelled' verdicts."""
    version, _, _ = kernel_arguments(cutlass, output, activation)
    require_items("listing", listing, lambda field, t: require_instance(field, t, Tactic,
                                                                        "a catalog Tactic (from tactics())"),
                  max_items=MAX_ROWS, allow_empty=True)
    return version


def judge(t: Tactic, limit, cutlass: str, output: str = "bf16", activation: str = "swiglu") -> TacticVerdict:
    """The verdict on one tactic against ``limit`` (bytes, a :class:`DeviceLimit`, or None = unknown)."""
    limit_bytes = _limit_bytes(limit)
    cutlass = _checked((), cutlass, output, activation)
    tk = kernel_for(t, output=output, cutlass=cutlass, activation=activation)
    if not tk.modelled:
        cause = DISPATCH if t.dispatch_error else NOT_MODELLED
        reason = t.dispatch_error or tk.not_modelled
        return TacticVerdict(t, cutlass, None, None, limit_bytes, cause, reason)
    cfg = tk.config
    if isinstance(cfg, GroupedSm80Config):
        try:
            fp = sm80_footprint(cfg)
        except UnsupportedConfigError as e:
            return TacticVerdict(t, cutlass, None, None, limit_bytes, REJECTED, str(e), cfg.name())
        total, stages = fp.total_bytes, fp.stages
        if limit_bytes is None:
            cause, reason = UNKNOWN_LIMIT, f"{total} B; the device limit is unknown, so it is not pruned"
        elif fp.fits(limit_bytes):
            cause, reason = FITS, f"fits: {total} B ({stages} stages, {cfg.kernel})"
        else:
            best = max_fitting_sm80_stages(cfg, limit_bytes)
            rule = "<" if fp.fits_strictly_below else "<="
            cause = SMEM
            reason = (f"does not fit: {total} B > {limit_bytes} B by {total - limit_bytes} B ({cfg.kernel} at "
                      f"{stages} stages must be {rule} the limit); "
                      + (f"{best} stages of this tile would fit" if best else "no stage count of this tile fits"))
        if t.dispatch_error:
            cause, reason = DISPATCH, f"{t.dispatch_error} ({reason})"
        return TacticVerdict(t, cutlass, total, stages, limit_bytes, cause, reason, cfg.name())
    v = verdict(cfg, limit_bytes)
    if v.footprint is None:
        if t.dispatch_error:
            return TacticVerdict(t, cutlass, None, None, limit_bytes, DISPATCH, t.dispatch_error, cfg.name())
        return TacticVerdict(t, cutlass, None, None, limit_bytes, REJECTED, v.reason, cfg.name())
    if t.dispatch_error:
        cause, reason = DISPATCH, f"{t.dispatch_error} (its kernel would need {v.footprint.total_bytes} B)"
    elif limit_bytes is None:
        cause, reason = UNKNOWN_LIMIT, v.reason
    else:
        cause, reason = (FITS if v.fits else SMEM), v.reason
    if tk.note:
        reason += f" [{tk.note}]"
    return TacticVerdict(t, cutlass, v.footprint.total_bytes, v.footprint.stages, limit_bytes, cause, reason,
                         cfg.name())


def judge_all(listing: Sequence[Tactic], limit, cutlass: str, output: str = "bf16",
              activation: str = "swiglu") -> list:
    """:func:`judge` for every tactic, in order. A model failure on one tactic (e.g. an architecture still being
    modelled) becomes a ``not modelled`` verdict for that tactic, never an error for the list. Bad arguments (an
    unknown CUTLASS release, output type, activation or limit) raise :class:`~smem_tactics.errors.ConfigError`."""
    limit_bytes = _limit_bytes(limit)
    cutlass = _checked(listing, cutlass, output, activation)
    out = []
    for t in listing:
        try:
            out.append(judge(t, limit, cutlass, output, activation))
        except (NotImplementedError, UnsupportedConfigError) as e:
            out.append(TacticVerdict(t, cutlass, None, None, limit_bytes, NOT_MODELLED,
                                     f"the footprint model does not cover this kernel yet: {e}"))
    return out


def smallest(verdicts: Sequence[TacticVerdict]) -> Optional[TacticVerdict]:
    """The verdict with the fewest bytes (among those with a footprint)."""
    sized = [v for v in verdicts if v.total_bytes is not None]
    return min(sized, key=lambda v: v.total_bytes) if sized else None


__all__ = ["TacticVerdict", "judge", "judge_all", "smallest", "FITS", "SMEM", "DISPATCH", "NOT_MODELLED",
           "REJECTED", "UNKNOWN_LIMIT", "KIND_FITS", "KIND_SMEM", "KIND_NO_DISPATCH", "KIND_UNKNOWN"]
