"""Triton fused-MoE kernels (vLLM's and SGLang's ``fused_moe_kernel`` family): exact shared memory per Triton
release and target, a pruner for the frameworks' tuning scripts, and config files that fit.

Imports no Triton: the oracle that compiles with Triton is :mod:`cpp_bindings.triton_oracle`.
"""

from .config import RELEASES, TARGETS, VARIANTS, TritonConfig, Variant, parse_release, parse_target
from .model import TritonFootprint, classic_estimate, footprint, footprints, mma_kind

__all__ = ["RELEASES", "TARGETS", "VARIANTS", "TritonConfig", "Variant", "parse_release", "parse_target",
           "TritonFootprint", "footprint", "footprints", "mma_kind", "classic_estimate"]
