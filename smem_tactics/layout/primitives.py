"""Sizes of the CUTLASS building blocks every SharedStorage is made of (all from the headers named).

* ``ClusterBarrier`` / ``ClusterTransactionBarrier``: 8 B (``cutlass/arch/barrier.h``).
* ``PipelineTmaAsync<S>``, ``PipelineTmaUmmaAsync<S>``, ``PipelineAsync<S>``, ``PipelineTransactionAsync<S>``,
  ``PipelineUmmaAsync<S>``: a full and an empty barrier per stage, 16*S, align 8
  (``cutlass/pipeline/sm90_pipeline.hpp``, ``sm100_pipeline.hpp``).
* ``OrderedSequenceBarrier<Depth, Length>``: 8*Depth*Length.
* ``cute::TmaDescriptor``: 128 B, ``alignas(64)`` (``cute/arch/copy_sm90_desc.hpp``).
* ``cute::array_aligned<T, N>``: ``alignas(16)``; ``cute::ArrayEngine`` of a sub-byte type is a packed
  ``array_subbyte`` with alignment 1 (``cute/tensor_impl.hpp``).
* smem swizzle alignment ``alignment_for_swizzle(Swizzle<B,4,3>) = 2**(B+7)``: 128 (INTER), 256 (SW32),
  512 (SW64), 1024 (SW128) (``cutlass/detail/layout.hpp``).
* capacities: ``sm90_smem_capacity_bytes = sm100_smem_capacity_bytes = 232448``,
  ``sm120_smem_capacity_bytes = 101376``.
"""

from __future__ import annotations

from .struct import Field, Part, align_up

BARRIER = 8
PIPE_STAGE = 2 * BARRIER  # full + empty barrier per stage
TMA_DESCRIPTOR = 128
TMA_DESCRIPTOR_ALIGN = 64

SM90_CAPACITY = 232448
SM100_CAPACITY = 232448
SM120_CAPACITY = 101376

#: Stages of the grouped-GEMM tile scheduler pipeline (``TileSchedulerStages`` in the array kernels).
GROUPED_SCHEDULER_STAGES = 8


def pipeline(name: str, stages: int, part: Part) -> Field:
    """A ``Pipeline*Async<stages>::SharedStorage``: 16 B per stage, alignment 8."""
    return Field(name, PIPE_STAGE * stages, BARRIER, part)


def tensormaps(name: str, count: int) -> Field:
    """``count`` consecutive ``cute::TmaDescriptor``s."""
    return Field(name, TMA_DESCRIPTOR * count, TMA_DESCRIPTOR_ALIGN, Part.TENSORMAPS)


def array_aligned(name: str, elements: int, bits: int, part: Part) -> Field:
    """``cute::array_aligned<T, elements>`` (or ``ArrayEngine`` of a byte-sized T): alignas(16).

    A zero-length array is an empty struct: 1 byte, which its 16-byte alignment turns into 16.
    """
    nbytes = (elements * bits + 7) // 8
    return Field(name, align_up(max(nbytes, 1), 16), 16, part)


def array_engine(name: str, elements: int, bits: int, part: Part, align: int = 1) -> Field:
    """``alignas(align) cute::ArrayEngine<T, elements>``: an ``array_aligned`` (align 16) for byte-sized T,
    a packed ``array_subbyte`` (align 1) for sub-byte T. ``alignas`` on a member moves its offset but
    does not change its size."""
    if bits % 8 == 0:
        f = array_aligned(name, elements, bits, part)
        return Field(name, f.size, max(align, 16), part)
    return Field(name, max((elements * bits + 7) // 8, 1), max(align, 1), part)


def byte_array(name: str, nbytes: int, part: Part, align: int) -> Field:
    """``alignas(align) ArrayEngine<uint8-sized or packed T, ...>`` given its byte size."""
    return Field(name, max(nbytes, 1), align, part)


def stage_array(name: str, bytes_per_stage: int, part: Part, align: int = 16, extra_bytes: int = 0) -> Field:
    """A per-stage ``array_aligned`` / ``ArrayEngine`` buffer (``alignas(align)`` on the member): at S stages it
    holds ``extra_bytes + bytes_per_stage * S`` bytes, rounded up to 16 (an empty one still takes 16)."""
    if bytes_per_stage == 0:  # e.g. degenerate scale-factor smem (N < 128 before CUTLASS 4.5): a fixed size
        return Field(name, align_up(max(extra_bytes, 1), 16), max(align, 16), part)
    return Field(name, extra_bytes, max(align, 16), part, per_stage=bytes_per_stage, granule=16)


def stage_pipeline(name: str, part: Part) -> Field:
    """A ``Pipeline*Async<S>::SharedStorage`` whose stage count is the mainloop's: 16 B per stage, align 8."""
    return Field(name, 0, BARRIER, part, per_stage=PIPE_STAGE, granule=1)


def swizzle_alignment(contiguous_elements: int, bits: int) -> int:
    """Alignment of the widest GMMA smem swizzle atom that divides the contiguous extent
    (``ss_smem_selector``): SW128 / SW64 / SW32 / INTER -> 1024 / 512 / 256 / 128 bytes."""
    extent_bits = contiguous_elements * bits
    for atom_bits, alignment in ((1024, 1024), (512, 512), (256, 256), (128, 128)):
        if extent_bits % atom_bits == 0:
            return alignment
    return 0  # no atom divides the extent: CUTLASS static_asserts
