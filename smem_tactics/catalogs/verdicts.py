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

from ..devices import DeviceLimit
from ..errors import UnsupportedConfigError
from ..layout.sm80_grouped import GroupedSm80Config, max_fitting_sm80_stages, sm80_footprint
from ..verdict import verdict
from .kernels import kernel_for
from .tactics import Tactic

FITS, SMEM, DISPATCH, NOT_MODELLED, REJECTED, UNKNOWN_LIMIT = (
    "fits", "shared memory", "dispatch", "not modelled", "cutlass rejects", "limit unknown")


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
                "fits": self.fits, "cause": self.cause, "reason": self.reason, "kernel": self.kernel_name}


def _limit_bytes(limit) -> Optional[int]:
    return limit.smem_per_block_optin if isinstance(limit, DeviceLimit) else limit


def judge(t: Tactic, limit, cutlass: str, output: str = "bf16", activation: str = "swiglu") -> TacticVerdict:
    """The verdict on one tactic against ``limit`` (bytes, a :class:`DeviceLimit`, or None = unknown)."""
    limit_bytes = _limit_bytes(limit)
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
    modelled) becomes a ``not modelled`` verdict for that tactic, never an error for the list."""
    out = []
    for t in listing:
        try:
            out.append(judge(t, limit, cutlass, output, activation))
        except (NotImplementedError, UnsupportedConfigError) as e:
            out.append(TacticVerdict(t, cutlass, None, None, _limit_bytes(limit), NOT_MODELLED,
                                     f"the footprint model does not cover this kernel yet: {e}"))
    return out


def smallest(verdicts: Sequence[TacticVerdict]) -> Optional[TacticVerdict]:
    """The verdict with the fewest bytes (among those with a footprint)."""
    sized = [v for v in verdicts if v.total_bytes is not None]
    return min(sized, key=lambda v: v.total_bytes) if sized else None


__all__ = ["TacticVerdict", "judge", "judge_all", "smallest", "FITS", "SMEM", "DISPATCH", "NOT_MODELLED",
           "REJECTED", "UNKNOWN_LIMIT"]
