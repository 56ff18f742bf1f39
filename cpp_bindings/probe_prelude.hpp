// Host-only probe prelude for plain g++ (no nvcc): declares the CUDA device built-ins that CUTLASS
// headers mention in device functions, so the headers parse. The probe only evaluates sizeof, alignof
// and compile-time constants; none of these stubs ever runs on a GPU.
#pragma once
#include <cuda_runtime.h>
// sm90_gmma_builder.inl refuses to build without this (it is set by nvcc >= 12 in CUTLASS's config).
#define CUTLASS_SM90_COLLECTIVE_BUILDER_SUPPORTED 1
static uint3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;
namespace cutlass { namespace arch { inline int LaneId() { return 0; } inline int SmId() { return 0; } } }
static inline void __syncthreads() {}
static inline void __syncwarp(unsigned = 0xffffffffu) {}
template <class T> static inline T __shfl_sync(unsigned, T v, int, int = 32) { return v; }
template <class T> static inline T __shfl_xor_sync(unsigned, T v, int, int = 32) { return v; }
template <class T> static inline T __shfl_up_sync(unsigned, T v, unsigned, int = 32) { return v; }
template <class T> static inline T __shfl_down_sync(unsigned, T v, unsigned, int = 32) { return v; }
static inline unsigned __ballot_sync(unsigned, int) { return 0; }
static inline int __any_sync(unsigned, int) { return 0; }
static inline int __all_sync(unsigned, int) { return 0; }
template <class T> static inline T atomicAdd(T* p, T v) { T o = *p; *p += v; return o; }
template <class T> static inline T atomicCAS(T* p, T c, T v) { T o = *p; if (o == c) *p = v; return o; }
template <class T> static inline T atomicExch(T* p, T v) { T o = *p; *p = v; return o; }
template <class T> static inline T atomicMax(T* p, T v) { T o = *p; if (v > o) *p = v; return o; }
template <class T> static inline T atomicMin(T* p, T v) { T o = *p; if (v < o) *p = v; return o; }
static inline void __threadfence() {}
static inline void __nanosleep(unsigned) {}
