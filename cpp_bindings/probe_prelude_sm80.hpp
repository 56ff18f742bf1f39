// Host-only stubs for the CUTLASS 2.x MoE kernel headers (TensorRT-LLM's cutlass_extensions, as vendored in
// FlashInfer): device intrinsics they name in device functions, so the headers parse under plain g++. Only
// sizeof and compile-time constants are evaluated; none of these ever runs.
#pragma once
#include <cstring>
static inline int __syncthreads_and(int p) { return p; }
static inline int __syncthreads_or(int p) { return p; }
static inline int __syncthreads_count(int p) { return p; }
static inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, sizeof i); return i; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, sizeof f); return f; }
