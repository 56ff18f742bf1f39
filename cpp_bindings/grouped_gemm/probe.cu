// Residency probe: how many blocks of a kernel with a given dynamic shared memory really run at the same time
// on one SM, under a given shared-memory carve-out preference. Each block records the SM it ran on and its
// start / end times (globaltimer, ns) while it spins; the host counts the largest overlap per SM.
// Also an empty kernel (launch_noop) for the launch floor, with or without programmatic dependent launch.
#include <cuda_runtime.h>

#include <string>

namespace smem_gg {

__global__ void residency_probe_kernel(long long* out, long long spin_ns) {
  extern __shared__ unsigned char smem[];
  if (threadIdx.x == 0) {
    unsigned smid;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
    long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    smem[0] = static_cast<unsigned char>(smid);  // touch the shared memory the block holds
    do {
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < spin_ns);
    out[3 * blockIdx.x + 0] = smid + smem[0] * 0;
    out[3 * blockIdx.x + 1] = t0;
    out[3 * blockIdx.x + 2] = t;
  }
}

std::string launch_residency_probe(long long* out, int blocks, int threads, int smem_bytes, int carveout_percent,
                                   long long spin_ns, cudaStream_t stream) {
  cudaError_t e = cudaFuncSetAttribute(residency_probe_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       smem_bytes);
  if (e != cudaSuccess) return std::string("cudaFuncSetAttribute(max dynamic smem): ") + cudaGetErrorString(e);
  e = cudaFuncSetAttribute(residency_probe_kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                           carveout_percent);
  if (e != cudaSuccess) return std::string("cudaFuncSetAttribute(carveout): ") + cudaGetErrorString(e);
  residency_probe_kernel<<<blocks, threads, smem_bytes, stream>>>(out, spin_ns);
  e = cudaGetLastError();
  if (e != cudaSuccess) return std::string("residency probe launch: ") + cudaGetErrorString(e);
  return "";
}

// Empty kernel. With wait, it executes griddepcontrol.wait first (sm_90: waits for the grid it depends on under
// programmatic dependent launch; a no-op otherwise), as a PDL-aware kernel does before its first global access.
__global__ void noop_kernel(int wait) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (wait) asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

std::string launch_noop(int blocks, int threads, bool pdl, bool wait, cudaStream_t stream) {
  cudaLaunchConfig_t config{};
  cudaLaunchAttribute attrs[1];
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  attrs[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attrs[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attrs;
  config.numAttrs = pdl ? 1 : 0;
  cudaError_t e = cudaLaunchKernelEx(&config, noop_kernel, wait ? 1 : 0);
  if (e != cudaSuccess) return std::string("noop launch: ") + cudaGetErrorString(e);
  e = cudaGetLastError();
  if (e != cudaSuccess) return std::string("noop launch: ") + cudaGetErrorString(e);
  return "";
}

int residency_probe_occupancy(int threads, int smem_bytes) {
  int n = -1;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, residency_probe_kernel, threads, smem_bytes) != cudaSuccess)
    return -1;
  return n;
}

}  // namespace smem_gg
