"""Verdicts: does a configuration fit a device, by how many bytes, and why.

A kernel fits exactly when ``sizeof(GemmKernel::SharedStorage) <= cudaDevAttrMaxSharedMemoryPerBlockOptin``
(checked on an H100: 232448 accepted by ``cudaFuncSetAttribute``, 232449 rejected). An unknown limit is
not a limit: the verdict then says "fits" with ``limit_known = False`` so nothing is ever pruned on a
guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .config import KernelConfig, StageConvention
from .devices import DeviceLimit
from .errors import UnsupportedConfigError
from .footprint import Footprint, footprint


@dataclass(frozen=True)
class Verdict:
    config: KernelConfig
    footprint: Optional[Footprint]
    limit_bytes: Optional[int]
    fits: bool
    margin_bytes: Optional[int]  # limit - total (negative: over by that much)
    reason: str
    error: Optional[str] = None  # set when CUTLASS rejects the configuration itself

    @property
    def limit_known(self) -> bool:
        return self.limit_bytes is not None

    @property
    def total_bytes(self) -> Optional[int]:
        return self.footprint.total_bytes if self.footprint else None

    def to_dict(self) -> dict:
        out = {"config": self.config.to_dict(), "fits": self.fits, "limit_bytes": self.limit_bytes,
               "margin_bytes": self.margin_bytes, "reason": self.reason, "error": self.error}
        if self.footprint is not None:
            out.update(self.footprint.to_dict())
        else:
            out.update({"total_bytes": None, "stages": None, "breakdown": None})
        return out


def max_fitting_stages(cfg: KernelConfig, limit: int, lo: int = 2, hi: int = 64) -> Optional[int]:
    """Largest explicit ``StageCount<S>`` whose footprint is <= ``limit`` (``None`` if even ``lo`` does not fit).

    The footprint grows strictly with S, so a binary search over explicit stage counts is exact.
    """
    def total(s: int) -> Optional[int]:
        try:
            return footprint(cfg.with_stages(s)).total_bytes
        except UnsupportedConfigError:
            return None

    t = total(lo)
    if t is None or t > limit:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        t = total(mid)
        if t is not None and t <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _largest_part(fp: Footprint) -> str:
    part, nbytes = max(fp.breakdown, key=lambda pb: pb[1])
    return f"{part.value} {nbytes} B"


def verdict(cfg: KernelConfig, limit: Union[DeviceLimit, int, None]) -> Verdict:
    """Judge ``cfg`` against ``limit`` (bytes, a :class:`DeviceLimit`, or ``None`` for unknown)."""
    limit_bytes = limit.smem_per_block_optin if isinstance(limit, DeviceLimit) else limit
    try:
        fp = footprint(cfg)
    except UnsupportedConfigError as e:
        return Verdict(cfg, None, limit_bytes, False, None, f"CUTLASS rejects this configuration: {e}", str(e))
    if limit_bytes is None:
        return Verdict(cfg, fp, None, True, None,
                       f"{fp.total_bytes} B; the device limit is unknown, so it is not pruned")
    margin = limit_bytes - fp.total_bytes
    if margin >= 0:
        return Verdict(cfg, fp, limit_bytes, True, margin,
                       f"fits: {fp.total_bytes} B <= {limit_bytes} B ({margin} B to spare, {fp.stages} stages)")
    why = f"does not fit: {fp.total_bytes} B > {limit_bytes} B by {-margin} B ({fp.stages} stages; largest part " \
          f"{_largest_part(fp)})"
    if isinstance(cfg.stages, StageConvention):
        best = max_fitting_stages(cfg, limit_bytes)
        if best is not None:
            fitted = footprint(cfg.with_stages(best)).total_bytes
            why += (f"; CUTLASS's automatic stage count ({cfg.stages.value}) chose {fp.stages} stages, "
                    f"StageCount<{best}> would fit at {fitted} B")
        else:
            why += "; no explicit stage count >= 2 fits either: this tile cannot run on this device"
    elif isinstance(cfg.stages, int):
        best = max_fitting_stages(cfg, limit_bytes)
        if best is not None:
            why += f"; StageCount<{best}> would fit"
        else:
            why += "; even 2 stages do not fit"
    return Verdict(cfg, fp, limit_bytes, False, margin, why)


__all__ = ["Verdict", "verdict", "max_fitting_stages"]
