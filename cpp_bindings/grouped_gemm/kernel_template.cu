// Generated from cpp_bindings/grouped_gemm/kernel_template.cu for one KernelConfig:
//   @@CONFIG_NAME@@
// The type aliases below are cpp_bindings.compose.compose(config): the same composition the shared-memory
// oracle measures. Build with -gencode arch=compute_90a,code=sm_90a -DNDEBUG (and -DCUTLASS_ENABLE_GDC_FOR_SM90
// for the griddepcontrol instructions that programmatic dependent launch needs, CUTLASS >= 4.3).
@@INCLUDES@@
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/kernel/tile_scheduler_detail.hpp"
#include "cutlass/util/packed_stride.hpp"
#include "cutlass/version.h"
#include "runner.hpp"

#include <cstdio>
#include <cstring>
#include <type_traits>

namespace @@NS@@ {

@@COMPOSE@@

using Gemm = cutlass::gemm::device::GemmUniversalAdapter<GemmKernel>;
using UnderlyingShape = typename ProblemShape::UnderlyingProblemShape;
using GroupShape = cute::Shape<int, int, int>;  // one group's (m, n, k): UnderlyingShape of a grouped kernel
using ElementA = typename GemmKernel::ElementA;
using ElementB = typename GemmKernel::ElementB;
using ElementC = typename GemmKernel::ElementC;
using ElementD = typename GemmKernel::ElementD;
using StrideA = typename GemmKernel::InternalStrideA;
using StrideB = typename GemmKernel::InternalStrideB;
using StrideC = typename GemmKernel::InternalStrideC;
using StrideD = typename GemmKernel::InternalStrideD;
constexpr bool kDColMajor = std::is_same_v<StrideD, cute::Stride<cute::Int<1>, int64_t, cute::Int<0>>>;
// kGrouped (per-group problem shapes read from device memory, pointer-to-stride layouts) or kArray (one
// problem shape for all L groups, one stride per operand): config.mode.
constexpr bool kGroupedMode = @@GROUPED@@;
#if defined(CUTLASS_ENABLE_GDC_FOR_SM90)
constexpr int kGdcCompiled = 1;
#else
constexpr int kGdcCompiled = 0;
#endif

static std::string cuda_error(const char* what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

static std::string status_error(const char* what, cutlass::Status s) {
  return std::string(what) + ": " + cutlassGetStatusString(s);
}

template <class T>
static size_t align_up(size_t x) {
  constexpr size_t a = alignof(T) > 16 ? alignof(T) : 16;
  return (x + a - 1) / a * a;
}

class Runner final : public smem_gg::Runner {
 public:
  ~Runner() override { release(); }

  smem_gg::KernelInfo info() const override {
    smem_gg::KernelInfo i{};
    i.shared_storage_size = GemmKernel::SharedStorageSize;
    i.sizeof_shared_storage = sizeof(typename GemmKernel::SharedStorage);
    i.stages = CollectiveMainloop::DispatchPolicy::Stages;
    i.threads = GemmKernel::MaxThreadsPerBlock;
    i.min_blocks = GemmKernel::MinBlocksPerMultiprocessor;
    i.a_bits = cutlass::sizeof_bits<ElementA>::value;
    i.b_bits = cutlass::sizeof_bits<ElementB>::value;
    i.d_bits = cutlass::sizeof_bits<ElementD>::value;
    i.c_is_void = std::is_void_v<ElementC> ? 1 : 0;
    i.d_col_major = kDColMajor ? 1 : 0;
    i.tile_m = cute::size<0>(typename GemmKernel::TileShape{});
    i.tile_n = cute::size<1>(typename GemmKernel::TileShape{});
    i.tile_k = cute::size<2>(typename GemmKernel::TileShape{});
    i.cluster_m = cute::size<0>(typename GemmKernel::ClusterShape{});
    i.cluster_n = cute::size<1>(typename GemmKernel::ClusterShape{});
    i.grouped = kGroupedMode ? 1 : 0;
    i.gdc_compiled = kGdcCompiled;
    i.cutlass_version = CUTLASS_MAJOR * 10000 + CUTLASS_MINOR * 100 + CUTLASS_PATCH;
    return i;
  }

  std::string prepare(const std::vector<smem_gg::Group>& groups, int sm_count,
                      const smem_gg::SchedulerOptions& options, cudaStream_t stream) override {
    release();
    const int g = static_cast<int>(groups.size());
    if (g == 0) return "prepare: no groups";
    if (!kGroupedMode) {
      for (int i = 1; i < g; ++i) {
        if (groups[i].m != groups[0].m || groups[i].n != groups[0].n || groups[i].k != groups[0].k)
          return "prepare: a ptr-array kernel needs every group to have the same (m, n, k); group " +
                 std::to_string(i) + " differs from group 0";
      }
    }
    if (options.raster_order < -1 || options.raster_order > 2) return "prepare: raster_order must be -1, 0, 1 or 2";
    if (options.max_swizzle != 1 && options.max_swizzle != 2 && options.max_swizzle != 4 && options.max_swizzle != 8)
      return "prepare: max_swizzle must be 1, 2, 4 or 8";
    host_shapes_.resize(g);
    std::vector<const ElementA*> pa(g);
    std::vector<const ElementB*> pb(g);
    std::vector<ElementD*> pd(g);
    std::vector<StrideA> sa(g);
    std::vector<StrideB> sb(g);
    std::vector<StrideD> sd(g);
    for (int i = 0; i < g; ++i) {
      const auto& gr = groups[i];
      host_shapes_[i] = GroupShape{gr.m, gr.n, gr.k};
      pa[i] = static_cast<const ElementA*>(gr.a);
      pb[i] = static_cast<const ElementB*>(gr.b);
      pd[i] = static_cast<ElementD*>(gr.d);
      sa[i] = cutlass::make_cute_packed_stride(StrideA{}, cute::make_shape(gr.m, gr.k, 1));
      sb[i] = cutlass::make_cute_packed_stride(StrideB{}, cute::make_shape(gr.n, gr.k, 1));
      sd[i] = cutlass::make_cute_packed_stride(StrideD{}, cute::make_shape(gr.m, gr.n, 1));
    }
    // One device buffer: shapes | ptr A | ptr B | ptr D | stride A | stride B | stride D.
    size_t off_shapes = 0;
    size_t off_pa = align_up<const ElementA*>(off_shapes + sizeof(GroupShape) * g);
    size_t off_pb = align_up<const ElementB*>(off_pa + sizeof(void*) * g);
    size_t off_pd = align_up<ElementD*>(off_pb + sizeof(void*) * g);
    size_t off_sa = align_up<StrideA>(off_pd + sizeof(void*) * g);
    size_t off_sb = align_up<StrideB>(off_sa + sizeof(StrideA) * g);
    size_t off_sd = align_up<StrideD>(off_sb + sizeof(StrideB) * g);
    size_t total = off_sd + sizeof(StrideD) * g;
    std::vector<char> host(total, 0);
    std::memcpy(host.data() + off_shapes, host_shapes_.data(), sizeof(GroupShape) * g);
    std::memcpy(host.data() + off_pa, pa.data(), sizeof(void*) * g);
    std::memcpy(host.data() + off_pb, pb.data(), sizeof(void*) * g);
    std::memcpy(host.data() + off_pd, pd.data(), sizeof(void*) * g);
    std::memcpy(host.data() + off_sa, sa.data(), sizeof(StrideA) * g);
    std::memcpy(host.data() + off_sb, sb.data(), sizeof(StrideB) * g);
    std::memcpy(host.data() + off_sd, sd.data(), sizeof(StrideD) * g);
    cudaError_t e = cudaMalloc(&arrays_, total);
    if (e != cudaSuccess) { arrays_ = nullptr; return cuda_error("cudaMalloc(group arrays)", e); }
    e = cudaMemcpyAsync(arrays_, host.data(), total, cudaMemcpyHostToDevice, stream);
    if (e != cudaSuccess) return cuda_error("cudaMemcpyAsync(group arrays)", e);
    e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) return cuda_error("cudaStreamSynchronize", e);
    char* base = static_cast<char*>(arrays_);

    cutlass::KernelHardwareInfo hw;
    e = cudaGetDevice(&hw.device_id);
    if (e != cudaSuccess) return cuda_error("cudaGetDevice", e);
    hw.sm_count = sm_count;  // hw.max_active_clusters stays 0: with a 1x1 cluster the grid is min(sm_count, tiles)

    typename Gemm::Arguments args;
    args.mainloop.ptr_A = reinterpret_cast<const ElementA**>(base + off_pa);
    args.mainloop.ptr_B = reinterpret_cast<const ElementB**>(base + off_pb);
    args.epilogue.thread.alpha = 1.0f;
    args.epilogue.thread.beta = 0.0f;
    args.epilogue.ptr_C = nullptr;  // C is void (TensorRT-LLM's SM90 MoE composition)
    args.epilogue.ptr_D = reinterpret_cast<ElementD**>(base + off_pd);
@@PROBLEM_ARGS@@
    args.hw_info = hw;
    if (options.raster_order >= 0) {
      using RO = cutlass::gemm::kernel::detail::RasterOrderOptions;
      args.scheduler.raster_order = options.raster_order == 0 ? RO::Heuristic
                                    : options.raster_order == 1 ? RO::AlongM : RO::AlongN;
    }
    args.scheduler.max_swizzle_size = options.max_swizzle;

    cutlass::Status s = gemm_.can_implement(args);
    if (s != cutlass::Status::kSuccess) return status_error("can_implement", s);
    size_t ws = Gemm::get_workspace_size(args);
    if (ws) {
      e = cudaMalloc(&workspace_, ws);
      if (e != cudaSuccess) { workspace_ = nullptr; return cuda_error("cudaMalloc(workspace)", e); }
    }
    s = gemm_.initialize(args, workspace_, stream);
    if (s != cutlass::Status::kSuccess) return status_error("initialize", s);
    grid_ = GemmKernel::get_grid_shape(gemm_.params());
    prepared_ = true;
    return "";
  }

  std::string run(cudaStream_t stream, bool pdl) override {
    if (!prepared_) return "run: the kernel was not prepared";
    cutlass::Status s = gemm_.run(stream, /*cuda_adapter=*/nullptr, /*launch_with_pdl=*/pdl);
    if (s != cutlass::Status::kSuccess) return status_error("run", s);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return cuda_error("launch", e);
    return "";
  }

  long grid_ctas() const override { return long(grid_.x) * grid_.y * grid_.z; }

  std::string set_carveout(int percent) override {
    cudaError_t e = cudaFuncSetAttribute(cutlass::device_kernel<GemmKernel>,
                                         cudaFuncAttributePreferredSharedMemoryCarveout, percent);
    return e == cudaSuccess ? "" : cuda_error("cudaFuncSetAttribute(carveout)", e);
  }

  smem_gg::FuncAttrs attributes() const override {
    smem_gg::FuncAttrs out{};
    cudaFuncAttributes a{};
    cudaError_t e = cudaFuncGetAttributes(&a, cutlass::device_kernel<GemmKernel>);
    if (e != cudaSuccess) { out.error = cuda_error("cudaFuncGetAttributes", e); return out; }
    out.num_regs = a.numRegs;
    out.max_threads_per_block = a.maxThreadsPerBlock;
    out.static_smem = long(a.sharedSizeBytes);
    out.max_dynamic_smem = long(a.maxDynamicSharedSizeBytes);
    out.local_bytes = long(a.localSizeBytes);
    out.preferred_carveout = a.preferredShmemCarveout;
    int blocks = 0;
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, cutlass::device_kernel<GemmKernel>,
                                                      GemmKernel::MaxThreadsPerBlock, GemmKernel::SharedStorageSize);
    if (e != cudaSuccess) { out.error = cuda_error("cudaOccupancyMaxActiveBlocksPerMultiprocessor", e); return out; }
    out.occupancy = blocks;
    return out;
  }

 private:
  void release() {
    if (arrays_) cudaFree(arrays_);
    if (workspace_) cudaFree(workspace_);
    arrays_ = nullptr;
    workspace_ = nullptr;
    prepared_ = false;
  }

  Gemm gemm_;
  std::vector<GroupShape> host_shapes_;
  void* arrays_ = nullptr;
  void* workspace_ = nullptr;
  dim3 grid_{0, 0, 0};
  bool prepared_ = false;
};

}  // namespace @@NS@@

smem_gg::Runner* @@FACTORY@@() { return new @@NS@@::Runner(); }
