"""Emission: synthesized configs as C++ that builds.

* :mod:`.cutlass_tu` -- a standalone CUTLASS grouped GEMM translation unit per config
  (:func:`translation_unit`, :func:`write_units`), with static_asserts tying CUTLASS's
  ``sizeof(GemmKernel::SharedStorage)`` and stage count to the model.
* :mod:`.build` -- compile units with nvcc for every target and check the SASS (:func:`build_all`).
* :mod:`.trtllm` -- TensorRT-LLM-ready additions for SM120/SM121: ``generate_kernels.py`` entries and the
  ``cutlass_heuristic.cpp`` candidate list as a patch-ready file (:func:`trtllm_patch`).
"""

from .cutlass_tu import GENCODES, NVCC_FLAGS, compile_command, namespace_of, translation_unit, write_units

__all__ = ["GENCODES", "NVCC_FLAGS", "compile_command", "namespace_of", "translation_unit", "write_units"]
