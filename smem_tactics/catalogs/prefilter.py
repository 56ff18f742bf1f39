"""Which tactics FlashInfer's tuner actually profiles: the occupancy pre-filter of ``MoERunner.get_valid_tactics``.

Since FlashInfer PR #3032 (in 0.6.9; read at tag v0.6.9, git a1aa6761, and in the 0.7.2.post1 wheel, git beabf500)
``get_valid_tactics`` keeps a tactic only when ``get_tactic_occupancy(t) > 0`` and, when that leaves none of a
GEMM's tactics, keeps them all. ``get_tactic_occupancy`` is ``MoeGemmRunner::queryOccupancyForConfig``
(``moe_gemm_template_dispatch.h``), which does not ask about the kernel the tactic runs:

* a TMA warp-specialized tactic reports 1 (0.6.9) -- or, from 0.7.x, 0 when the TMA WS dispatch throws for its tile
  (a workspace-size probe with fusion NONE), else 1. A FINALIZE tactic too large for the device is never caught;
* a CUTLASS 2.x tactic runs the dispatch with a default ``GroupedGemmInput`` and ``EpilogueOpDefault``, so it sizes
  the plain ``MoeFCGemm`` kernel (``use_fused_moe`` is false) and reports ``min(2, maximum_active_blocks())``, which
  is <= 0 when that kernel's ``SharedStorage`` exceeds the opt-in limit. A gated 16-bit GEMM1 tactic runs the fused
  gate kernel, which needs more: it passes the filter when the plain kernel of its tile fits, and then fails;
* with FP8 activations (``fp8``, ``w4a8``) the launcher's ``TLLM_CHECK(inputs.alpha_scales ...)`` throws first for
  the empty query input, so every tactic reports 0 -- and the fall-back then keeps them all.

A tactic the filter drops is never profiled, so an offline probe (PR #2997's ``generate-tactics-blocklist``) never
records it as failing although it cannot run. The rule is data (``occupancy_query`` per version in
``data/catalogs/moe_tactics.json``); a version without one profiles everything it is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .registry import FrameworkVersion
from .verdicts import KIND_NO_DISPATCH, SMEM, TacticVerdict, judge_all

#: Dtype paths whose CUTLASS 2.x launcher checks ``alpha_scales`` before it sizes anything (activations are FP8).
_FP8_ACTIVATIONS = ("fp8", "w4a8")


@dataclass(frozen=True)
class Screened:
    """One tactic as the tuner's pre-filter sees it."""

    verdict: TacticVerdict
    profiled: bool
    reason: str

    @property
    def fails_when_profiled(self) -> bool:
        """Offered to the profiler and cannot run: what an offline probe records."""
        return self.profiled and not self.verdict.fits


def _query(rule: dict, v: TacticVerdict, plain: Optional[TacticVerdict], dtype: str) -> tuple:
    """``(occupancy > 0, why)`` for one tactic under a version's ``occupancy_query`` rule."""
    t = v.tactic
    if t.family == "tma_ws":
        if rule["tma_ws"] == "dispatch_probe" and v.kind == KIND_NO_DISPATCH:
            return False, "occupancy 0: the TMA WS dispatch probe throws for this tile"
        if rule["tma_ws"] == "dispatch_probe":
            return True, "occupancy 1: the TMA WS dispatch probe accepts the tile (shared memory is not asked)"
        return True, "occupancy 1: reported for every TMA warp-specialized tactic"
    if dtype in _FP8_ACTIVATIONS:
        return False, "occupancy 0: the query's empty input fails the launcher's alpha_scales check (FP8 activations)"
    if plain is not None and plain.cause == SMEM:
        return False, (f"occupancy <= 0: the plain MoeFCGemm kernel of this tile needs {plain.total_bytes} B "
                       f"> {plain.limit_bytes} B")
    if plain is not None and plain.total_bytes is not None and v.total_bytes not in (None, plain.total_bytes):
        return True, (f"occupancy > 0: the query sizes the plain MoeFCGemm kernel ({plain.total_bytes} B), not the "
                      f"fused gate kernel this tactic runs ({v.total_bytes} B)")
    return True, "occupancy > 0: the kernel fits"


def screen(fv: FrameworkVersion, dtype: str, verdicts: Sequence[TacticVerdict], limit, cutlass: str,
           output: str = "bf16") -> Optional[list]:
    """The pre-filter's outcome for one GEMM's verdicts (one stage of ``get_valid_tactics``), or None when ``fv``
    has no occupancy pre-filter (then every offered tactic is profiled)."""
    rule = fv.occupancy_query
    if not rule:
        return None
    listing = [v.tactic for v in verdicts]
    plain = judge_all(listing, limit, cutlass, output, "identity") if listing else []
    out = []
    for v, p in zip(verdicts, plain):
        kept, why = _query(rule, v, p, dtype)
        out.append(Screened(v, kept, why))
    if out and not any(s.profiled for s in out):
        out = [Screened(s.verdict, True, s.reason + "; every tactic of this GEMM reports 0, so get_valid_tactics "
                                                    "keeps them all") for s in out]
    return out


__all__ = ["Screened", "screen"]
