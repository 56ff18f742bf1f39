"""Verdicts: does a configuration fit a device, by how many bytes, and why.

A kernel fits exactly when ``sizeof(GemmKernel::SharedStorage) <= cudaDevAttrMaxSharedMemoryPerBlockOptin``
(checked on an H100: 232448 accepted by ``cudaFuncSetAttribute``, 232449 rejected). An unknown limit is
not a limit: the verdict then says "fits" with ``limit_known = False`` so nothing is ever pruned on a
guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .config import Arch, KernelConfig, StageConvention
from .devices import DeviceLimit
from .errors import UnsupportedConfigError
from .footprint import Footprint, footprint, sm100_capacity_exceeded, stage_count_rejection, stage_total
from .layout.primitives import SM100_CAPACITY
from .legality import ensure_supported


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


#: The stage counts a search scans by default, and the most it may scan (each count costs a few microseconds).
MIN_SEARCH_STAGES, MAX_SEARCH_STAGES, MAX_STAGE_COUNT = 2, 64, 1024


@dataclass(frozen=True)
class RejectedStages:
    """Consecutive explicit stage counts ``first..last`` that CUTLASS rejects, all for ``reason``."""

    first: int
    last: int
    reason: str

    @property
    def counts(self) -> str:
        return f"StageCount<{self.first}>" if self.first == self.last else f"StageCount<{self.first}..{self.last}>"

    def __str__(self) -> str:
        return f"{self.counts}: {self.reason}"


@dataclass(frozen=True)
class StageSearch:
    """The explicit stage counts ``lo..hi`` of one config against one limit.

    ``best`` is the largest count CUTLASS accepts whose footprint is at most ``limit_bytes`` (None: none),
    ``largest_fitting`` the largest count whose footprint fits whether or not CUTLASS accepts it, and
    ``rejected`` every count CUTLASS rejects, grouped into ranges of one reason each.
    """

    config: KernelConfig  # stage-free (the count is what is searched)
    limit_bytes: int
    lo: int
    hi: int
    best: Optional[int]
    largest_fitting: Optional[int]
    rejected: tuple  # of RejectedStages, in increasing order

    def rejected_between(self, first: int, last: int) -> tuple:
        """The rejected ranges clipped to ``first..last``."""
        return tuple(RejectedStages(max(r.first, first), min(r.last, last), r.reason)
                     for r in self.rejected if r.first <= last and r.last >= first)

    def describe_skipped(self) -> str:
        """Why counts above ``best`` that would fit are not advised ("" when there are none)."""
        if self.largest_fitting is None or (self.best or self.lo - 1) >= self.largest_fitting:
            return ""
        skipped = self.rejected_between((self.best or self.lo - 1) + 1, self.largest_fitting)
        return "; ".join(f"{r.counts} would fit too, but CUTLASS rejects it: {r.reason}" for r in skipped)


def _group(rejections: list) -> tuple:
    """[(count, StageRejection or None), ...] -> RejectedStages ranges of consecutive counts with one reason."""
    out: list = []
    for stages, rejection in rejections:
        if rejection is None:
            continue
        reason = rejection.reason
        if out and out[-1].last == stages - 1 and out[-1].reason == reason:
            out[-1] = RejectedStages(out[-1].first, stages, reason)
        else:
            out.append(RejectedStages(stages, stages, reason))
    return tuple(out)


def stage_search(cfg: KernelConfig, limit: int, lo: int = MIN_SEARCH_STAGES, hi: int = MAX_SEARCH_STAGES
                 ) -> StageSearch:
    """Search ``StageCount<lo..hi>`` of ``cfg`` against ``limit`` bytes: the true maximum count that CUTLASS
    accepts and that fits, and which counts CUTLASS rejects and why.

    Exact and fast: the footprint at S stages grows with S, so the largest fitting count is a bisection of
    :func:`~smem_tactics.footprint.stage_total`; whether CUTLASS accepts a count is checked per count (it is
    not monotone: SM90 TF32 128x16x8 before CUTLASS 4.6 compiles at even counts only), so the answer is the
    largest accepted count at or below that one.
    """
    from .contract import require_config, require_limit, require_strict_int

    cfg = require_config("config", cfg)
    limit = require_limit("limit", limit)
    lo = require_strict_int("lo", lo, 1, MAX_STAGE_COUNT, "a stage count")
    hi = require_strict_int("hi", hi, lo, MAX_STAGE_COUNT, "a stage count >= lo")
    sf = cfg.stage_free
    base = sf.with_stages(lo)
    try:
        ensure_supported(base)  # the rules that hold for every explicit count
        stage_total(base, lo)
    except UnsupportedConfigError as e:
        return StageSearch(sf, limit, lo, hi, None, None, (RejectedStages(lo, hi, str(e)),))
    counts = range(lo, hi + 1)
    rejections = [(s, stage_count_rejection(base, s)) for s in counts]
    totals: dict = {}

    def total(s: int) -> int:
        if s not in totals:
            totals[s] = stage_total(base, s)
        return totals[s]

    def largest_at_most(bound: int) -> Optional[int]:
        """The largest count in lo..hi whose total is <= bound (bisection: totals grow with the count)."""
        if total(lo) > bound:
            return None
        a, b = lo, hi
        while a < b:
            mid = (a + b + 1) // 2
            if total(mid) <= bound:
                a = mid
            else:
                b = mid - 1
        return a

    if base.arch.family is Arch.SM100 and sm100_capacity_exceeded(base, total(hi)):
        within = largest_at_most(SM100_CAPACITY)
        first_over = lo if within is None else within + 1
        capacity = sm100_capacity_exceeded(base, total(first_over))
        rejections = [(s, r or (capacity if s >= first_over else None)) for s, r in rejections]
    fitting = largest_at_most(limit)
    best = None
    if fitting is not None:
        best = next((s for s, r in reversed(rejections[:fitting - lo + 1]) if r is None), None)
    return StageSearch(sf, limit, lo, hi, best, fitting, _group(rejections))


def max_fitting_stages(cfg: KernelConfig, limit: int, lo: int = MIN_SEARCH_STAGES, hi: int = MAX_SEARCH_STAGES
                       ) -> Optional[int]:
    """Largest explicit ``StageCount<S>`` (``lo <= S <= hi``) that CUTLASS accepts and whose footprint is
    <= ``limit`` (``None`` if there is none): :func:`stage_search`'s ``best``."""
    return stage_search(cfg, limit, lo, hi).best


def _largest_part(fp: Footprint) -> str:
    part, nbytes = max(fp.breakdown, key=lambda pb: pb[1])
    return f"{part.value} {nbytes} B"


def verdict(cfg: KernelConfig, limit: Union[DeviceLimit, int, None]) -> Verdict:
    """Judge ``cfg`` against ``limit`` (bytes, a :class:`DeviceLimit`, or ``None`` for unknown).

    Raises :class:`~smem_tactics.errors.ConfigError` for a ``cfg`` that is not a KernelConfig or a limit that is
    not a positive int (``-1`` is refused, not answered "does not fit").
    """
    from .contract import require_config, require_limit

    cfg = require_config("config", cfg)
    if isinstance(limit, DeviceLimit):
        limit_bytes = require_limit("limit.smem_per_block_optin", limit.smem_per_block_optin, allow_none=True)
    else:
        limit_bytes = require_limit("limit", limit, allow_none=True)
    try:
        fp = footprint(cfg)
    except UnsupportedConfigError as e:
        why = f"CUTLASS rejects this configuration: {e}"
        if e.field in ("stages", "tile") and limit_bytes is not None:
            search = stage_search(cfg, limit_bytes)
            if search.best is not None:  # only the count is at fault: say which count works
                why += f"; StageCount<{search.best}> is accepted and fits"
        return Verdict(cfg, None, limit_bytes, False, None, why, str(e))
    if limit_bytes is None:
        return Verdict(cfg, fp, None, True, None,
                       f"{fp.total_bytes} B; the device limit is unknown, so it is not pruned")
    margin = limit_bytes - fp.total_bytes
    if margin >= 0:
        return Verdict(cfg, fp, limit_bytes, True, margin,
                       f"fits: {fp.total_bytes} B <= {limit_bytes} B ({margin} B to spare, {fp.stages} stages)")
    why = f"does not fit: {fp.total_bytes} B > {limit_bytes} B by {-margin} B ({fp.stages} stages; largest part " \
          f"{_largest_part(fp)})"
    search = stage_search(cfg, limit_bytes)
    best = search.best
    if best is not None:
        fitted = footprint(cfg.with_stages(best)).total_bytes
        if isinstance(cfg.stages, StageConvention):
            why += (f"; CUTLASS's automatic stage count ({cfg.stages.value}) chose {fp.stages} stages, "
                    f"StageCount<{best}> would fit at {fitted} B")
        else:
            why += f"; StageCount<{best}> would fit at {fitted} B"
        skipped = search.describe_skipped()
        if skipped:
            why += f"; {skipped}"
    elif isinstance(cfg.stages, StageConvention):
        why += f"; no explicit stage count {search.lo}..{search.hi} that CUTLASS accepts fits either: this tile " \
               f"cannot run on this device"
    else:
        why += f"; no stage count {search.lo}..{search.hi} that CUTLASS accepts fits"
    return Verdict(cfg, fp, limit_bytes, False, margin, why)


__all__ = ["Verdict", "verdict", "max_fitting_stages", "stage_search", "StageSearch", "RejectedStages"]
