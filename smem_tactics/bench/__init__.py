"""The grouped-GEMM benchmark's pure-Python side: scenarios, contender configs, result arithmetic.

Nothing here imports torch, Triton or CUDA; the GPU side is ``cpp_bindings.grouped_gemm``,
``cpp_bindings.triton_moe`` and ``scripts/bench_grouped_gemm.py``.
"""
