"""Synthesize the CUTLASS grouped GEMM configs that fit a shared-memory limit.

Public API::

    from smem_tactics.synthesis import synthesize, explore, dtype_names
    cands = synthesize("sm120", "nvfp4", 101376)                       # SM12x, CUTLASS 4.5.0 (default)
    cands = synthesize("sm90", "fp8", 101376, cutlass="4.2.0")          # SM90 capped at the SM12x limit
    cands = synthesize("sm90", "bf16", 101376, schedules=["pingpong"], swap_ab=[False])
    for c in cands:
        c.config          # KernelConfig with StageCount<S> pinned, S the largest that fits the limit
        c.swap_ab         # True: A = weights, B = activations, D column-major (same memory as row-major)
        c.total_bytes     # exact sizeof(GemmKernel::SharedStorage) at S stages
        c.stages, c.parts # S and the byte breakdown by part
        c.name, c.short() # unique name / "pp 128x128x64 s5"

``synthesize(arch, dtype, limit_bytes, cutlass=None, problem=None, **narrow) -> list[Candidate]``

* ``arch``: sm90 | sm100 | sm120 | sm121 (or 90, 120, ...).
* ``dtype``: a recipe of ``data/synthesis.json``: ``nvfp4`` (NVFP4 x NVFP4), ``mxfp8xmxfp4`` (MXFP8 activations
  x MXFP4 weights), ``fp8`` (e4m3; dense FastAccum on SM90/SM100, 1x128/128x128 blockwise on SM12x), ``bf16``
  (SM90/SM100). D is BF16.
* ``limit_bytes``: the per-block limit every candidate must fit (e.g. 101376 for SM12x, also as a cap on SM90).
* ``cutlass``: the CUTLASS release the kernels are compiled against (default :func:`default_cutlass`: 4.5.0,
  the release FlashInfer 0.7.2 ships and the first with padded SM120 SFB storage for N < 128).
* ``problem``: an optional :class:`smem_tactics.problems.Problem`; tiles that only pad it (tile K > problem K,
  weight-side tile > 2 x N) are dropped.
* ``narrow``: ``swap_ab`` (default ``(False, True)``), ``schedules`` (``cooperative``/``pingpong`` on SM90/SM12x,
  ``1sm``/``2sm`` on SM100), ``epilogues`` (``void_c``: C = void; ``c_eq_d``: C of D's type, as TensorRT-LLM
  builds them), ``tiles_m``, ``tiles_n``, ``tile_k_bytes`` (K in bytes of the widest operand), ``clusters``,
  ``ctas_per_sm`` (``(1, 2)`` adds variants with the most stages that still let two CTAs share an SM, given
  ``smem_per_sm``).

Raises :class:`~smem_tactics.errors.ConfigError` for an unknown arch/dtype or a limit no config fits (naming
the smallest footprint). :func:`explore` returns ``(candidates, rejections)``; each rejection says why
(the CUTLASS rule broken, accumulator spill, or not even 2 stages fitting).

Rank candidates for a problem with :func:`smem_tactics.cost.rank`.
"""

from __future__ import annotations

from ..config import Arch
from ..versions import CutlassVersion
from .candidates import (
    RESERVED_SMEM_PER_BLOCK,
    Candidate,
    Rejection,
    accumulators_per_thread,
    explore,
    smallest_footprint,
    synthesize,
)
from .space import DtypeRecipe, dtype_names, dtype_recipe

#: The CUTLASS release synthesized kernels target unless told otherwise.
DEFAULT_SYNTHESIS_CUTLASS = CutlassVersion(4, 5, 0)


def default_cutlass(arch: Arch) -> CutlassVersion:
    """The CUTLASS release synthesis targets by default (the same for every arch)."""
    return DEFAULT_SYNTHESIS_CUTLASS


__all__ = [
    "Candidate", "Rejection", "DtypeRecipe", "synthesize", "explore", "smallest_footprint", "dtype_names",
    "dtype_recipe", "default_cutlass", "accumulators_per_thread", "DEFAULT_SYNTHESIS_CUTLASS",
    "RESERVED_SMEM_PER_BLOCK",
]
