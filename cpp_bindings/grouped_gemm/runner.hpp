// The interface between the generated kernel translation units (CUTLASS only, no torch headers) and the
// torch binding. One Runner instantiates one CUTLASS SM90 grouped (or ptr-array) GEMM kernel; it owns the
// per-group device arrays (problem shapes, pointers, strides) and the workspace of the problem it was prepared for.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smem_gg {

// One group in the kernel's own view (after swap-AB): D (m x n) = A (m x k) * B^T, B stored n x k (K-major).
struct Group {
  int m, n, k;
  const void* a;
  const void* b;
  void* d;
};

// What the instantiated kernel says about itself (compile-time facts of the C++ types).
struct KernelInfo {
  long shared_storage_size;    // GemmKernel::SharedStorageSize (the dynamic smem every launch asks for)
  long sizeof_shared_storage;  // sizeof(GemmKernel::SharedStorage)
  int stages;                  // CollectiveMainloop::DispatchPolicy::Stages
  int threads;                 // GemmKernel::MaxThreadsPerBlock
  int min_blocks;              // GemmKernel::MinBlocksPerMultiprocessor (launch bounds)
  int a_bits, b_bits, d_bits;  // sizeof_bits of ElementA / ElementB / ElementD as instantiated
  int c_is_void;
  int d_col_major;             // 1: D is column-major (the swap-AB view)
  int tile_m, tile_n, tile_k;
  int cluster_m, cluster_n;
  int grouped;                 // 1: GemmUniversalMode::kGrouped (per-group shapes), 0: kArray (one shape, L groups)
  int gdc_compiled;            // 1: built with CUTLASS_ENABLE_GDC_FOR_SM90 (griddepcontrol in the kernel body)
  int cutlass_version;         // CUTLASS_MAJOR * 10000 + CUTLASS_MINOR * 100 + CUTLASS_PATCH of the headers used
};

// Launch options that change no type (and so no shared memory): the persistent tile scheduler's raster order
// and swizzle (Arguments::scheduler), fixed at prepare(); programmatic dependent launch is chosen per run().
struct SchedulerOptions {
  int raster_order = -1;  // -1: the scheduler's own default; 0 Heuristic, 1 AlongM, 2 AlongN (RasterOrderOptions)
  int max_swizzle = 1;    // Arguments::scheduler.max_swizzle_size
};

// What the driver says about the instantiated kernel on this device.
struct FuncAttrs {
  int num_regs;
  int max_threads_per_block;
  long static_smem;        // cudaFuncAttributes::sharedSizeBytes
  long max_dynamic_smem;   // cudaFuncAttributes::maxDynamicSharedSizeBytes (set by the adapter's initialize)
  long local_bytes;        // spills / stack
  int preferred_carveout;  // cudaFuncAttributes::preferredShmemCarveout
  int occupancy;           // cudaOccupancyMaxActiveBlocksPerMultiprocessor at SharedStorageSize
  std::string error;
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual KernelInfo info() const = 0;
  // Build the per-group arrays and initialize the kernel for these groups. sm_count is what the
  // persistent scheduler is told (hw_info.sm_count; max_active_clusters is left 0). A ptr-array kernel needs
  // every group to have the same (m, n, k). "" on success.
  virtual std::string prepare(const std::vector<Group>& groups, int sm_count, const SchedulerOptions& options,
                              cudaStream_t stream) = 0;
  // Launch once on the stream; pdl: with cudaLaunchAttributeProgrammaticStreamSerialization (the kernel may
  // start before the previous one in the stream ends; it waits in griddepcontrol.wait before touching global
  // memory). "" on success, else the CUTLASS status / CUDA error.
  virtual std::string run(cudaStream_t stream, bool pdl) = 0;
  // Grid the adapter launches for the prepared problem (x * y * z CTAs).
  virtual long grid_ctas() const = 0;
  // Shared-memory carve-out preference of the kernel function, in percent (-1 = the driver default).
  virtual std::string set_carveout(int percent) = 0;
  virtual FuncAttrs attributes() const = 0;
};

using RunnerFactory = Runner* (*)();

struct RegistryEntry {
  const char* name;
  RunnerFactory make;
};

}  // namespace smem_gg

// Defined in the generated registry.cpp.
extern const smem_gg::RegistryEntry* smem_gg_registry(int* count);
