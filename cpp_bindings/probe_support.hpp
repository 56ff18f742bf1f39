// Helpers for the host-only shared-memory probe: read optional members of CUTLASS collectives
// (stage counts, epilogue tile, sub-storage sizes) and print one JSON object per config.
// Nothing here instantiates a kernel body; only sizeof/alignof/constants are evaluated.
#pragma once
#include <cstdio>
#include <type_traits>

namespace smem_probe {

template <class T, class = void> struct mainloop_stages { static constexpr int value = -1; };
template <class T>
struct mainloop_stages<T, std::void_t<decltype(T::DispatchPolicy::Stages)>> {
  static constexpr int value = T::DispatchPolicy::Stages;
};

template <class T, class = void> struct epi_stages_c { static constexpr int value = -1; };
template <class T>
struct epi_stages_c<T, std::void_t<decltype(T::DispatchPolicy::StagesC)>> {
  static constexpr int value = T::DispatchPolicy::StagesC;
};

template <class T, class = void> struct epi_stages_d { static constexpr int value = -1; };
template <class T>
struct epi_stages_d<T, std::void_t<decltype(T::DispatchPolicy::StagesD)>> {
  static constexpr int value = T::DispatchPolicy::StagesD;
};

template <class T, class = void> struct epi_tile { static constexpr int m = -1, n = -1; };
template <class T>
struct epi_tile<T, std::void_t<typename T::EpilogueTile>> {
  static constexpr int m = int(cute::size<0>(typename T::EpilogueTile{}));
  static constexpr int n = int(cute::size<1>(typename T::EpilogueTile{}));
};

#define SMEM_PROBE_SIZEOF_MEMBER(NAME)                                                        \
  template <class T, class = void> struct sizeof_##NAME { static constexpr long value = -1; };   \
  template <class T>                                                                          \
  struct sizeof_##NAME<T, std::void_t<typename T::NAME>> {                                    \
    static constexpr long value = long(sizeof(typename T::NAME));                             \
  };
SMEM_PROBE_SIZEOF_MEMBER(TensorStorage)
SMEM_PROBE_SIZEOF_MEMBER(PipelineStorage)
SMEM_PROBE_SIZEOF_MEMBER(TensorMapStorage)
SMEM_PROBE_SIZEOF_MEMBER(SharedStorage)
#undef SMEM_PROBE_SIZEOF_MEMBER

template <class Ns>
void report(int index) {
  using K = typename Ns::GemmKernel;
  using M = typename Ns::CollectiveMainloop;
  using E = typename Ns::CollectiveEpilogue;
  std::printf(
      "{\"index\": %d, \"total\": %ld, \"align\": %ld, \"stages\": %d, \"epi_stages_c\": %d, "
      "\"epi_stages_d\": %d, \"epi_tile\": [%d, %d], \"epi_shared\": %ld, \"epi_tensors\": %ld, "
      "\"epi_pipeline\": %ld, \"epi_tensormaps\": %ld, \"ml_tensors\": %ld, \"ml_pipeline\": %ld, "
      "\"ml_tensormaps\": %ld}\n",
      index, long(sizeof(typename K::SharedStorage)), long(alignof(typename K::SharedStorage)),
      mainloop_stages<M>::value, epi_stages_c<E>::value, epi_stages_d<E>::value, epi_tile<E>::m,
      epi_tile<E>::n, sizeof_SharedStorage<E>::value, sizeof_TensorStorage<E>::value,
      sizeof_PipelineStorage<E>::value, sizeof_TensorMapStorage<E>::value, sizeof_TensorStorage<M>::value,
      sizeof_PipelineStorage<M>::value, sizeof_TensorMapStorage<M>::value);
}

}  // namespace smem_probe
