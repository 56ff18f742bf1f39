"""Kernel-level ``SharedStorage``: how the array kernels place the mainloop and epilogue pieces.

SM90 and SM120 grouped / ptr-array GEMMs both run the SM90 array kernel
(``gemm/kernel/sm90_gemm_array_tma_warpspecialized_{cooperative,pingpong}.hpp``)::

    struct SharedStorage {
      struct TensorStorage : aligned_struct<128> { MainloopTensorStorage mainloop; EpilogueTensorStorage epilogue; } tensors;
      struct PipelineStorage : aligned_struct<16> {
        alignas(16) TileScheduler::PipelineStorage scheduler;   // grouped: PipelineAsync<8>
        alignas(16) Mainloop::PipelineStorage mainloop;
        alignas(16) Epilogue::PipelineStorage epi_load;
        alignas(16) OrderedSequenceBarrier<1,2> load_order;
        alignas(16) OrderedSequenceBarrier<2,2> math_wg_order;   // pingpong only
      } pipelines;
      alignas(16) TileSchedulerResponse scheduler_response[8];
      struct TensorMapStorage : aligned_struct<128> { alignas(128) Mainloop::TMS mainloop; alignas(128) Epilogue::TMS epilogue; } tensormaps;
    };

The SM100 array kernel is laid out in :mod:`.sm100`.
"""

from __future__ import annotations

import dataclasses

from ..config import KernelConfig, Mode
from .epilogue import EpilogueLayout
from .primitives import BARRIER, GROUPED_SCHEDULER_STAGES, pipeline
from .resolve import is_pingpong
from .struct import Field, Part, Struct

#: ``GroupScheduler``'s response (``WorkTileInfo``, 16 B) and the non-grouped persistent scheduler's
#: (an empty struct, 1 B), each kept ``TileSchedulerStages = 8`` times.
GROUPED_RESPONSE_BYTES = 16
PERSISTENT_RESPONSE_BYTES = 1


def with_alignas(node, alignment: int):
    """The same member declared with ``alignas(alignment)``."""
    if isinstance(node, Field):
        return dataclasses.replace(node, align=max(node.align, alignment))
    return Struct(node.name, node.members, node.align, max(node.member_align, alignment))


def sm90_array_kernel(cfg: KernelConfig, ml_tensors: Struct, ml_tensormaps: Struct, ml_pipeline: Field,
                      epi: EpilogueLayout) -> Struct:
    grouped = cfg.mode is Mode.GROUPED
    if grouped:
        scheduler = pipeline("scheduler", GROUPED_SCHEDULER_STAGES, Part.SCHEDULER)
        responses = Field("scheduler_response", GROUPED_RESPONSE_BYTES * GROUPED_SCHEDULER_STAGES, 16, Part.SCHEDULER)
    else:
        scheduler = Field("scheduler", 1, 1, Part.SCHEDULER)
        responses = Field("scheduler_response", PERSISTENT_RESPONSE_BYTES * GROUPED_SCHEDULER_STAGES, 16,
                          Part.SCHEDULER)
    pipes = [
        with_alignas(scheduler, 16),
        with_alignas(ml_pipeline, 16),
        with_alignas(epi.pipeline, 16),
        Field("load_order", 2 * BARRIER, 16, Part.ORDER_BARRIERS),
    ]
    if is_pingpong(cfg):
        pipes.append(Field("math_wg_order", 4 * BARRIER, 16, Part.ORDER_BARRIERS))
    return Struct("SharedStorage", (
        Struct("tensors", (ml_tensors, epi.tensors), align=128),
        Struct("pipelines", tuple(pipes), align=16),
        responses,
        Struct("tensormaps", (with_alignas(ml_tensormaps, 128), with_alignas(epi.tensormaps, 128)), align=128),
    ))
