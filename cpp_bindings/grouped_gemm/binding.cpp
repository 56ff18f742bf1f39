// torch binding of the generated CUTLASS SM90 grouped GEMM kernels (see build.py). The kernels themselves are in
// their own translation units and see no torch header; this file turns Python calls into Runner calls on the
// current torch CUDA stream.
#include <c10/cuda/CUDAStream.h>
#include <torch/extension.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runner.hpp"

namespace smem_gg {
std::string launch_residency_probe(long long* out, int blocks, int threads, int smem_bytes, int carveout_percent,
                                   long long spin_ns, cudaStream_t stream);
int residency_probe_occupancy(int threads, int smem_bytes);
std::string launch_noop(int blocks, int threads, bool pdl, bool wait, cudaStream_t stream);
}  // namespace smem_gg

namespace {

cudaStream_t current_stream() { return at::cuda::getCurrentCUDAStream().stream(); }

void check(const std::string& err, const std::string& where) {
  if (!err.empty()) throw std::runtime_error(where + ": " + err);
}

smem_gg::RunnerFactory find_factory(const std::string& name) {
  int n = 0;
  const smem_gg::RegistryEntry* reg = smem_gg_registry(&n);
  for (int i = 0; i < n; ++i)
    if (name == reg[i].name) return reg[i].make;
  std::string known;
  for (int i = 0; i < n; ++i) known += (i ? ", " : "") + std::string(reg[i].name);
  throw std::invalid_argument("kernel '" + name + "' is not in this build; built: " + known);
}

class PyRunner {
 public:
  explicit PyRunner(const std::string& name) : name_(name), runner_(find_factory(name)()) {}

  py::dict info() const {
    auto i = runner_->info();
    py::dict d;
    d["name"] = name_;
    d["shared_storage_size"] = i.shared_storage_size;
    d["sizeof_shared_storage"] = i.sizeof_shared_storage;
    d["stages"] = i.stages;
    d["threads"] = i.threads;
    d["min_blocks"] = i.min_blocks;
    d["a_bits"] = i.a_bits;
    d["b_bits"] = i.b_bits;
    d["d_bits"] = i.d_bits;
    d["c_is_void"] = bool(i.c_is_void);
    d["d_col_major"] = bool(i.d_col_major);
    d["tile"] = py::make_tuple(i.tile_m, i.tile_n, i.tile_k);
    d["cluster"] = py::make_tuple(i.cluster_m, i.cluster_n);
    d["grouped"] = bool(i.grouped);
    d["gdc_compiled"] = bool(i.gdc_compiled);
    d["cutlass_version"] = std::to_string(i.cutlass_version / 10000) + "." +
                           std::to_string(i.cutlass_version / 100 % 100) + "." + std::to_string(i.cutlass_version % 100);
    return d;
  }

  py::dict attributes() const {
    auto a = runner_->attributes();
    check(a.error, name_ + " attributes");
    py::dict d;
    d["num_regs"] = a.num_regs;
    d["max_threads_per_block"] = a.max_threads_per_block;
    d["static_smem"] = a.static_smem;
    d["max_dynamic_smem"] = a.max_dynamic_smem;
    d["local_bytes"] = a.local_bytes;
    d["preferred_carveout"] = a.preferred_carveout;
    d["occupancy"] = a.occupancy;
    return d;
  }

  // groups: list of (m, n, k, a_ptr, b_ptr, d_ptr) in the kernel's own view; raster_order -1 (the scheduler's
  // default), 0 Heuristic, 1 AlongM, 2 AlongN; max_swizzle 1, 2, 4 or 8.
  void prepare(const std::vector<std::tuple<int, int, int, int64_t, int64_t, int64_t>>& groups, int sm_count,
               int raster_order, int max_swizzle) {
    std::vector<smem_gg::Group> gs;
    gs.reserve(groups.size());
    for (const auto& t : groups) {
      gs.push_back({std::get<0>(t), std::get<1>(t), std::get<2>(t), reinterpret_cast<const void*>(std::get<3>(t)),
                    reinterpret_cast<const void*>(std::get<4>(t)), reinterpret_cast<void*>(std::get<5>(t))});
    }
    smem_gg::SchedulerOptions options;
    options.raster_order = raster_order;
    options.max_swizzle = max_swizzle;
    check(runner_->prepare(gs, sm_count, options, current_stream()), name_ + " prepare");
  }

  void run(bool pdl) { check(runner_->run(current_stream(), pdl), name_); }
  long grid_ctas() const { return runner_->grid_ctas(); }
  void set_carveout(int percent) { check(runner_->set_carveout(percent), name_); }

 private:
  std::string name_;
  std::unique_ptr<smem_gg::Runner> runner_;
};

std::vector<std::string> kernel_names() {
  int n = 0;
  const smem_gg::RegistryEntry* reg = smem_gg_registry(&n);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.emplace_back(reg[i].name);
  return out;
}

torch::Tensor residency_probe(int blocks, int threads, int smem_bytes, int carveout_percent, int64_t spin_ns) {
  auto out = torch::empty({blocks, 3}, torch::dtype(torch::kInt64).device(torch::kCUDA));
  check(smem_gg::launch_residency_probe(reinterpret_cast<long long*>(out.data_ptr<int64_t>()), blocks, threads,
                                        smem_bytes, carveout_percent, spin_ns, current_stream()),
        "residency_probe");
  return out;
}

// An empty kernel (optionally launched with PDL and waiting in griddepcontrol.wait): the launch floor that any
// kernel pays, measured with the same events as the GEMMs.
void noop(int blocks, int threads, bool pdl, bool wait) {
  check(smem_gg::launch_noop(blocks, threads, pdl, wait, current_stream()), "noop");
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "CUTLASS SM90 grouped / ptr-array GEMM kernels generated by smem_tactics (cpp_bindings/grouped_gemm)";
  py::class_<PyRunner>(m, "Runner")
      .def(py::init<const std::string&>())
      .def("info", &PyRunner::info)
      .def("attributes", &PyRunner::attributes)
      .def("prepare", &PyRunner::prepare, py::arg("groups"), py::arg("sm_count"), py::arg("raster_order") = -1,
           py::arg("max_swizzle") = 1)
      .def("run", &PyRunner::run, py::arg("pdl") = false)
      .def("grid_ctas", &PyRunner::grid_ctas)
      .def("set_carveout", &PyRunner::set_carveout);
  m.def("kernel_names", &kernel_names);
  m.def("residency_probe", &residency_probe);
  m.def("residency_probe_occupancy", &smem_gg::residency_probe_occupancy);
  m.def("noop", &noop, py::arg("blocks") = 1, py::arg("threads") = 32, py::arg("pdl") = false,
        py::arg("wait") = false);
}
