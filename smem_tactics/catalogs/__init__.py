"""Tactic catalogs of the CUTLASS fused-MoE runners of TensorRT-LLM and FlashInfer, keyed by framework version.

The autotuners of both frameworks only see integer tactics; this package knows which kernel each integer is.
Data (``data/catalogs/moe_tactics.json``) plus small code::

    from smem_tactics.catalogs import tactics, judge_all
    listing = tactics("trtllm", "1.2", "sm121", "nvfp4", gemm=2)      # 16 tactics, in the C++ order
    verdicts = judge_all(listing, 101376, cutlass="4.4.1")             # bytes and verdict for each

Nothing here imports a framework, torch or CUDA.
"""

from .kernels import ACTIVATIONS, OUTPUTS, TacticKernel, kernel_for
from .registry import (
    ARCHS,
    DTYPE_PATHS,
    FRAMEWORKS,
    FrameworkVersion,
    catalog_for,
    find_version,
    known_versions,
    normalize_arch,
    normalize_dtype,
    normalize_framework,
    published_failures,
    resolve_version,
    version_key,
)
from .tactics import Tactic, fallback_tactic, tactics
from .verdicts import (
    DISPATCH,
    FITS,
    KIND_FITS,
    KIND_NO_DISPATCH,
    KIND_SMEM,
    KIND_UNKNOWN,
    NOT_MODELLED,
    SMEM,
    TacticVerdict,
    judge,
    judge_all,
    smallest,
)

__all__ = [
    "ACTIVATIONS", "OUTPUTS", "TacticKernel", "kernel_for", "ARCHS", "DTYPE_PATHS", "FRAMEWORKS",
    "FrameworkVersion", "find_version", "known_versions", "normalize_arch", "normalize_dtype",
    "normalize_framework", "published_failures", "resolve_version", "Tactic", "fallback_tactic", "tactics",
    "DISPATCH", "FITS", "NOT_MODELLED", "SMEM", "TacticVerdict", "judge", "judge_all", "smallest", "catalog_for",
    "version_key", "KIND_FITS", "KIND_SMEM", "KIND_NO_DISPATCH", "KIND_UNKNOWN",
]
