"""The shared memory a Triton fused-MoE kernel launches with (``CompiledKernel.metadata.shared``), without Triton.

What Triton allocates for these kernels, and where each term is read from (triton-lang/triton, C++ passes; the
release behaviour is confirmed by compiling with each release's own compiler, ``smem-tactics verify --triton``):

* **Pipelined operand buffers.** The software pipeliner turns each K-loop load that feeds a dot into an
  ``async_copy_global_to_local`` into a multi-buffered ``local_alloc`` of ``stageDiff`` copies of the tile
  (``lib/Dialect/TritonGPU/Transforms/Pipeliner/LowerLoops.cpp``, ``lowerLoads``/``createAlloc``).
  ``AssignLatencies`` puts the loads ``num_stages - 1`` stages before their use, so ``stageDiff = num_stages - 1``
  on the mma.sync targets (sm80/86/89, and sm120/121, which Triton compiles with mma.sync too). On Hopper a load
  consumed straight from shared memory by ``warp_group_dot`` (wgmma) gets one more
  (``loadRequiresAdditionalBuffer``: "Allocate additional buffer required by the wgmma pipelining"), i.e.
  ``num_stages`` copies. Hopper uses wgmma when the tile's M is a multiple of 64 (one warpgroup covers 64 rows;
  ``lib/Dialect/TritonGPU/Transforms/AccelerateMatmul.cpp``) and ``num_warps`` a multiple of 4 (whole
  warpgroups), mma.sync otherwise.
* **Block-scale conversion scratch** (``fp8_w8a8_block`` only). The per-K-step A and B scale vectors are loaded
  in a 1-D blocked layout and converted to the slice of the accumulator's layout inside the loop; a
  ``convert_layout`` that needs shared memory gets a scratch buffer live only at that op
  (``lib/Analysis/Allocation.cpp``, ``getScratchValueSize``, 128-byte aligned), placed after the loop buffers
  because they are live around it. A vector of ``L`` fp32 scales needs it when ``L >= 32 * num_warps`` (one
  element or more per thread); the two conversions never live at once, so the larger one counts.
* **Offsets.** ``Allocation.cpp`` (``computeOffsets``) places buffers by size, largest first, each at the lowest
  offset free over its live range; the buffers here are all live through the K loop and are multiples of 128 B,
  so the loop needs their sum.
* **Epilogue** (measured, not derived). After the loop the buffers are dead; the accumulator's conversion to the
  store layout (Triton's swizzled conversion, ``getNumScratchElemsSwizzledCvt``) and the prologue's index
  conversions reuse offset 0. Its size depends on the accumulator layout (target, M, N, warps) and is read from
  ``data/triton_epilogue.json``: per release and target, the compiled ``metadata.shared`` ``E`` of the config with
  the smallest loop of the domain (``scripts/triton_epilogue_table.py``). A config's shared memory is
  ``max(loop, E)``, exact either way, because its loop is never smaller than that minimal loop.

* **Blackwell (sm100) tcgen05.** For M a multiple of 64 and 4 or 8 warps (not int8 x int8 under 3.6.0; compiled:
  1, 2, 16 and 32 warps give mma.sync) the dot becomes ``tc_gen5_mma``: the
  operands get ``num_stages`` buffers (the MMA reads them asynchronously, like wgmma) and the loop allocates two
  8-byte MMA-completion mbarriers (compiled ttgir: ``local_alloc : memdesc<2x1xi64>``), 16 B. With 128x128 block
  scales the accumulator leaves tensor memory a row per thread each K step, and the scale vectors are converted
  to that layout: ``4 * BN`` always, plus ``4 * BM`` when a thread holds more than one row (compiled, sm100,
  Triton 3.6.0); Triton 3.9.0 sizes it by tile and warps in a way no rule explains, so it is a measured table
  (``data/triton_block_scale_tcgen05.json``).
* **Weight-only kernel** (``fused_moe_kernel_gptq_awq``, vllm-project/vllm at 13cb3e44, ``int8_w8a16`` and
  ``int4_w4a16``; GPTQ or AWQ zero points, any group size). B is loaded, dequantized in registers
  (``(b - zp) * scale`` in fp32, then the compute type) and only then fed to the dot, so: an int8 B tile is still
  a cp.async load (contiguous along K) and gets ``num_stages - 1`` buffers, never the MMA's extra one; an int4 B
  tile (each byte loaded for two K rows) has 1-byte vectors, under cp.async's 4 bytes, and stays in registers;
  the scales and zero points (one element per vector: strided along N, constant along K) stay in registers
  too. The dequantized ``BK x BN`` compute-type tile goes through shared memory once per step, as the MMA's
  operand (wgmma/tcgen05) or as mma.sync's dot-operand conversion (compiled ttgir: ``local_alloc %b`` in the
  loop). The A operand is the usual pipelined tile.
* **Specialization facts.** Triton specializes pointer and integer arguments on divisibility by 16
  (``tt.divisibility``). A pointer that is not 16-byte aligned, or a K (hence the strides ``stride_am``,
  ``stride_bn``) that is not a multiple of 16, leaves one element per vector, under cp.async's 4 bytes: nothing
  is copied asynchronously, ``num_stages`` stops mattering, and each operand passes through shared memory once
  (tcgen05: twice, its double buffer, and two barriers -- but once, with one barrier, for ``fp8_w8a8_block`` and
  ``int8_w8a8``, whose MMA result is consumed in its own step). An unaligned C pointer changes the store's layout
  too, so the epilogue table is measured per pointer alignment.
* **One stage.** ``num_stages = 1`` pipelines nothing: every operand is staged once (tcgen05: one copy, one
  8-byte barrier), the block-scale scratch reuses the larger staged tile, and with 16-divisible pointers the loads
  keep 16-byte vectors, so a 16-row A of 32 bytes per row (one-byte BK 32, two-byte BK 16) with one 8-wide
  mma.sync column block per warp (BN = 8 x warps) reaches the dot without shared memory (compiled, every
  mma.sync target, both releases). Its smallest loop is smaller than the unaligned one, so the epilogue table has
  a ``single_stage`` column (and ``single_stage_unaligned`` for tcgen05).
* **FP8 upcast.** Where mma.sync has no FP8 (sm90/sm100 below M = 64) or Triton does not use it (sm121, unlike
  sm89/sm120), each operand is loaded from shared memory and upcast to f16 before the next is staged: two
  staged (unpipelined) operands reuse one buffer, the larger (compiled ttgir: ``local_load`` + ``tt.fp_to_fp``).

* **Releases.** What differs between 3.6.0 and 3.9.0 is declared in ``RELEASE_FACTS`` (each found by compiling
  with both): sm121 FP8 upcast (3.6.0 only), int8 tcgen05 (3.9.0 only), the tcgen05 block-scale term, an int4
  tcgen05 scratch when BM == BK (3.9.0), the int8 weight-only operand-layout dequantization (3.6.0), and the
  unpipelined weight-only kernel on wgmma/tcgen05 that 3.9.0 changes and the model refuses.

**Domain.** Compiled against on every variant and target under both releases: BLOCK_SIZE_K 16 to 256 (16 only
for 16-bit dots: an 8-bit dot with BLOCK_SIZE_K 16 is an ``UnsupportedConfigError`` with Triton's own message),
every ``num_warps`` (1 to 32; the epilogue table is measured at each), any ``num_stages >= 1``, aligned or not.
Refused with a ``ConfigError`` naming the field rather than guessed: one warp with a one-stage 16-divisible
weight-only BLOCK_SIZE_K 32 (its A skips shared memory, leaving a loop under the measured epilogue's), a weight-only
BLOCK_SIZE_K 16 (whether its raw int8 B is pipelined depends on the tile's warp layout), under 3.9.0 an
unpipelined weight-only kernel on wgmma/tcgen05 (an fp32 layout conversion of the dequantized B with a
tile-dependent scratch, multi-buffered on tcgen05), and an unpipelined wgmma/tcgen05 operand under 4 bytes per
thread.
"""

from __future__ import annotations

import functools
import gc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Tuple, Union

from ..errors import ConfigError, SmemTacticsError, UnsupportedConfigError
from .config import TARGETS, TritonConfig, Variant

#: Scratch buffers are 128-byte aligned (``Allocation.cpp``: ``scratchAlignment = 128``).
SCRATCH_ALIGN = 128
#: cp.async copies at least 4 bytes per thread (``getCopyVecBytes(...) >= 4`` in ``lowerLoads``).
MIN_COPY_BYTES = 4
#: fp32 scale vectors of the block-scaled variant.
SCALE_BYTES = 4


@dataclass(frozen=True)
class ReleaseFacts:
    """What differs between the Triton releases the model knows (each fact found by compiling with both)."""

    #: compute capabilities where mma.sync runs FP8 dots in f16 (no native FP8 mma.sync taken)
    fp8_upcast_cc: Tuple[int, ...]
    #: int8 x int8 dots take tcgen05 on sm100 (3.6.0 keeps them on mma.sync)
    int8_tcgen05: bool
    #: the tcgen05 block-scale loop's scale conversions: ``rule`` (3.6.0, ``_scale_scratch``) or ``measured``
    #: (3.9.0 sizes them by tile and warps in a way no rule explains: 0 to 4 * max(BM, BN) bytes, read from
    #: ``data/triton_block_scale_tcgen05.json``, ``scripts/triton_block_scale_table.py``)
    tcgen05_block_scale: str
    #: the weight-only kernel without 16-divisibility on wgmma/tcgen05 stages its operands once (tcgen05: A
    #: twice); 3.9.0 multi-buffers the dequantized operand there in a way not yet modelled
    weight_only_unaligned_async_mma: bool
    #: int4_w4a16 on tcgen05 with BLOCK_SIZE_M == BLOCK_SIZE_K allocates ``min(1024 * num_warps, 4 * BM * BN)``
    #: more (3.9.0; compiled over BM 64-256, BK 32-256, BN 16-256, 4/8 warps, 2-5 stages; the op behind it was
    #: not identified, so this is a measured rule)
    int4_tcgen05_square_scratch: bool
    #: int8_w8a16, M = 16, BK = 32, BN = 8 x warps: the pipelined int8 B is dequantized in the dot-operand layout
    #: with no staging buffer (3.6.0); 3.9.0 stages it like every other tile
    int8_dequant_in_operand_layout: bool
    #: int8_w8a16 on wgmma/tcgen05 with a raw B tile under 4 bytes per thread (kept out of cp.async; BK x BN <
    #: 128 x warps: BK 32 x BN 16 at 8 warps, BK x BN <= 1024 at 16): the fp32 dequantized B is converted between
    #: two blocked layouts before its buffer (compiled ttgir: ``convert_layout ... tensor<32x16xf32, #blocked1> ->
    #: #blocked``), a scratch of the whole fp32 tile, ``4 x BK x BN``; wgmma allocates the buffer after it (the
    #: two share an offset), tcgen05 before the loop (they add up). 3.9.0; 3.6.0 converts nothing.
    weight_only_small_b_fp32_convert: bool


RELEASE_FACTS = {
    "3.6.0": ReleaseFacts(fp8_upcast_cc=(90, 100, 121), int8_tcgen05=False, tcgen05_block_scale="rule",
                          weight_only_unaligned_async_mma=True, int4_tcgen05_square_scratch=False,
                          int8_dequant_in_operand_layout=True, weight_only_small_b_fp32_convert=False),
    "3.9.0": ReleaseFacts(fp8_upcast_cc=(90, 100), int8_tcgen05=True, tcgen05_block_scale="measured",
                          weight_only_unaligned_async_mma=False, int4_tcgen05_square_scratch=True,
                          int8_dequant_in_operand_layout=False, weight_only_small_b_fp32_convert=True),
}

_ALL_VARIANTS = tuple(Variant)
_ALL_TARGETS = tuple(TARGETS)
#: Variants and targets compiled against, per release (the rest is refused, not guessed).
VERIFIED = {
    "3.6.0": {"variants": _ALL_VARIANTS, "targets": _ALL_TARGETS},
    "3.9.0": {"variants": _ALL_VARIANTS, "targets": _ALL_TARGETS},
}

#: At one warp the B-scale vector of ``fp8_w8a8_block`` is converted through at most this many fp32 elements of
#: scratch (``_scale_scratch``).
ONE_WARP_B_SCALE_ELEMENTS = 128

#: Compute-type bytes of the weight-only kernel's dequantized B tile (bf16/f16 ``compute_type``).
DEQUANT_BYTES = 2
#: The dequantized B before its cast to the compute type (``(b - zp) * scale`` in fp32).
FP32_BYTES = 4
#: tcgen05 (sm100 ``tc_gen5_mma``) loops: an MMA-completion mbarrier, 8 bytes, one per operand copy in flight
#: (``tcgen05_copies``: two from two stages on, one at a single stage).
TCGEN05_BARRIER_BYTES = 8

#: wgmma is issued per warpgroup of 4 warps: sm90 takes it only when ``num_warps`` is a multiple of 4.
WARPGROUP_WARPS = 4
#: sm100 takes tcgen05 only at these warp counts (compiled: 1, 2, 16 and 32 warps give mma.sync, both releases).
TCGEN05_WARPS = (4, 8)

#: FP8 (e4m3) dots need sm89 or newer (Triton: "type fp8e4nv not supported in this architecture").
FP8_MIN_CC = 89
#: An 8-bit (FP8 or int8) dot needs K >= 32 per instruction step (Triton: "Input shapes should have M >= 1, N >= 1
#: and K >= 32"; compiled: fp8_w8a8* and int8_w8a8 with BLOCK_SIZE_K 16 fail on every target, both releases).
MIN_8BIT_BLOCK_K = 32
#: The weight-only kernel is modelled from BLOCK_SIZE_K 32 on (``_check_domain`` says why 16 is refused).
MIN_WEIGHT_ONLY_BLOCK_K = 32
#: vLLM caps BLOCK_SIZE_K at the block-scale size for block-scaled FP8 (``invoke_fused_moe_kernel``:
#: ``BLOCK_SIZE_K = min(BLOCK_SIZE_K, min(block_shape))``), so a larger one never reaches the compiler.
BLOCK_SCALE_K = 128


@dataclass(frozen=True)
class TritonFootprint:
    """``shared_bytes`` (== ``metadata.shared``) and the parts it is made of (name -> bytes, summing to it)."""

    config: TritonConfig
    shared_bytes: int
    parts: Tuple[Tuple[str, int], ...]
    mma: str
    buffers: int

    @property
    def breakdown(self) -> dict:
        return dict(self.parts)


def mma_kind(cfg: TritonConfig) -> str:
    """``wgmma`` (sm90), ``tcgen05`` (sm100) or ``mma.sync``.

    Hopper and Blackwell take their warpgroup/tensor-memory MMA when the tile's M is a multiple of 64 (one
    warpgroup covers 64 rows; ``AccelerateMatmul.cpp``); Blackwell's ``tc_gen5_mma`` has no int8 x int8 here, so
    ``int8_w8a8`` stays on mma.sync on sm100 (compiled: its loop keeps ``num_stages - 1`` buffers and no barrier).
    wgmma needs whole warpgroups (``num_warps`` a multiple of 4: 4, 8, 16 and 32 take it) and tcgen05 4 or 8 warps;
    other warp counts run mma.sync (compiled ttgir, both releases: ``nvidia_mma`` ``versionMajor = 2`` at 1 and 2
    warps on sm90, at 1, 2, 16 and 32 warps on sm100).
    """
    if cfg.block_m % 64 == 0:
        if cfg.cc == 90 and cfg.num_warps % WARPGROUP_WARPS == 0:
            return "wgmma"
        if (cfg.cc == 100 and cfg.num_warps in TCGEN05_WARPS
                and (cfg.dtype is not Variant.INT8_W8A8 or RELEASE_FACTS[cfg.triton].int8_tcgen05)):
            return "tcgen05"
    return "mma.sync"


def _check_domain(cfg: TritonConfig) -> None:
    facts = VERIFIED[cfg.triton]
    if cfg.dtype not in facts["variants"]:
        raise ConfigError("dtype", cfg.dtype.value, ", ".join(v.value for v in facts["variants"]),
                          f"not yet compiled against under Triton {cfg.triton}")
    if cfg.target not in facts["targets"]:
        raise ConfigError("target", cfg.target, ", ".join(facts["targets"]),
                          f"not yet compiled against under Triton {cfg.triton}")
    if cfg.dtype.fp8 and cfg.cc < FP8_MIN_CC:
        raise UnsupportedConfigError("dtype", f"{cfg.dtype.value} needs sm89 or newer (e4m3 dot)",
                                     "type fp8e4nv not supported in this architecture")
    if cfg.dtype.a_bytes == 1 and cfg.block_k < MIN_8BIT_BLOCK_K:
        raise UnsupportedConfigError("BLOCK_SIZE_K", f"an 8-bit ({cfg.dtype.value}) dot needs BLOCK_SIZE_K >= "
                                     f"{MIN_8BIT_BLOCK_K}", "Input shapes should have M >= 1, N >= 1 and K >= 32")
    if cfg.dtype.weight_only and cfg.block_k < MIN_WEIGHT_ONLY_BLOCK_K:
        raise ConfigError("BLOCK_SIZE_K", cfg.block_k, f"{MIN_WEIGHT_ONLY_BLOCK_K} or more for {cfg.dtype.value}",
                          "a 16-deep weight-only step pipelines its raw B or not depending on the tile's warp layout "
                          "(compiled: int8 B stays in registers at BN = 32 x warps, and elsewhere with M = 16): "
                          "not yet modelled")
    if cfg.dtype is Variant.FP8_W8A8_BLOCK and cfg.block_k > BLOCK_SCALE_K:
        raise ConfigError("BLOCK_SIZE_K", cfg.block_k, f"at most {BLOCK_SCALE_K} with 128x128 block scales",
                          "vLLM and SGLang cap BLOCK_SIZE_K at the scale block before compiling")
    if (cfg.dtype.weight_only and cfg.num_warps == 1 and cfg.num_stages == 1 and cfg.block_k == 32
            and cfg.specialized_aligned):
        raise ConfigError("num_warps", 1, f"2 or more for {cfg.dtype.value} at one stage with BLOCK_SIZE_K 32",
                          "its 32-deep A reaches the dot without shared memory at one warp (compiled), leaving a "
                          "loop smaller than the measured epilogue's: not yet modelled")
    if cfg.dtype.weight_only and cfg.k is not None and cfg.k % cfg.group_size:
        raise ConfigError("K", cfg.k, f"a multiple of group_size ({cfg.group_size})",
                          "the weight-only kernel's scales cover whole quantization groups")
    if (not pipelined(cfg) and cfg.dtype.weight_only and mma_kind(cfg) != "mma.sync"
            and not RELEASE_FACTS[cfg.triton].weight_only_unaligned_async_mma):
        field, value = _unpipelined_field(cfg)
        raise ConfigError(field, value, f"16-byte aligned pointers, K % 16 == 0 and num_stages >= 2 for "
                          f"{cfg.dtype.value} with {mma_kind(cfg)} under Triton {cfg.triton}",
                          "its unpipelined dequantized operand is multi-buffered in a way not yet modelled")


def _unpipelined_field(cfg: TritonConfig) -> Tuple[str, object]:
    """The field that leaves ``cfg`` unpipelined, and its value (for a refusal's message)."""
    if not cfg.aligned:
        return "aligned", False
    if not cfg.specialized_aligned:
        return "K", cfg.k
    return "num_stages", cfg.num_stages


def fp8_upcast(cfg: TritonConfig, mma: str) -> bool:
    """FP8 dots that mma.sync runs in f16 (``tt.fp_to_fp`` of each operand after its ``local_load``, compiled
    ttgir): Hopper and Blackwell have no FP8 mma.sync, and Triton 3.6.0 keeps sm121 off the native FP8 mma.sync
    path that sm89 and sm120 take (3.9.0 no longer). Each staged (unpipelined) operand is then loaded and upcast
    before the next is staged, so two staged operands reuse one offset."""
    return cfg.dtype.fp8 and mma == "mma.sync" and cfg.cc in RELEASE_FACTS[cfg.triton].fp8_upcast_cc


def epilogue_kind(cfg: TritonConfig, mma: str) -> str:
    """The key of ``data/triton_epilogue.json`` under the target: the MMA kind, ``+upcast`` for FP8 upcast."""
    return mma + "+upcast" if fp8_upcast(cfg, mma) else mma


def _reuse_staging(cfg: TritonConfig, mma: str, parts: List[Tuple[str, int]], staged: Tuple[bool, bool]):
    """Both operands staged once on the FP8-upcast path: one buffer, the larger of the two."""
    if not (fp8_upcast(cfg, mma) and all(staged)):
        return parts
    (_, a), (_, b) = parts[0], parts[1]
    return [("A", a), ("B", max(b - a, 0))] + parts[2:]


def pipelined(cfg: TritonConfig) -> bool:
    """Whether the K loop's loads are software-pipelined: 16-divisible pointers and strides (see
    ``_unpipelined_operand_parts``) and two stages or more (``num_stages = 1`` leaves the loop to itself:
    ``AssignLatencies`` assigns no latency and ``LowerLoops`` creates no async copy)."""
    return cfg.specialized_aligned and cfg.num_stages >= 2


def _small_operand(cfg: TritonConfig) -> bool:
    """Whether an A or B tile of the (pipelined) loop holds under 4 bytes per thread, so cp.async skips it
    (``LowerLoops.cpp``: "cp.async requires at least 4 bytes") and it is staged within its step; the weight-only
    kernel's B is its own case (``_operand_parts``)."""
    threads = 32 * cfg.num_warps
    a_tile = cfg.block_m * cfg.block_k * cfg.dtype.a_bytes
    b_tile = cfg.block_k * cfg.block_n * cfg.dtype.a_bytes
    return min(a_tile, a_tile if cfg.dtype.weight_only else b_tile) < MIN_COPY_BYTES * threads


def tcgen05_copies(cfg: TritonConfig) -> int:
    """tcgen05 MMA-completion barriers (and the copies of an operand staged within its step): two where the loop
    is still split into an MMA stage that overlaps the next step's loads; one (compiled ttgir, sm100:
    ``memdesc<1x1xi64>`` instead of ``memdesc<2x1xi64>``) at one stage, and for the kernels whose MMA result is
    consumed in its own step -- ``fp8_w8a8_block`` (scaled per K step) and ``int8_w8a8`` (3.9.0; 3.6.0 has no
    int8 tcgen05) -- when any operand is staged within its step (unaligned, or a tile under 4 bytes per thread;
    compiled, both releases): the MMA is then not pipelined at all."""
    if cfg.num_stages == 1:
        return 1
    if ((not pipelined(cfg) or _small_operand(cfg))
            and cfg.dtype in (Variant.FP8_W8A8_BLOCK, Variant.INT8_W8A8)):
        return 1
    return 2


def _unpipelined_operand_parts(cfg: TritonConfig, mma: str) -> List[Tuple[str, int]]:
    """Operands without 16-byte divisibility (a pointer, or a stride such as K, not a multiple of 16): Triton
    cannot prove more than one element per vector, under cp.async's 4 bytes, so nothing is copied asynchronously
    and ``num_stages`` stops mattering; and every operand at ``num_stages = 1``. The MMA operands then pass through
    shared memory once (mma.sync's dot-operand conversion, wgmma's operand); tcgen05 double-buffers the operands
    it reads asynchronously from two stages on (``tcgen05_copies``). The weight-only kernel's raw B stays in
    registers either way."""
    operand_copies = tcgen05_copies(cfg) if mma == "tcgen05" else 1
    a_tile = cfg.block_m * cfg.block_k * cfg.dtype.a_bytes
    # one stage, 16-byte vectors, one 8-wide mma.sync column block per warp: see ``_one_mma_column_per_warp``
    in_warp = (cfg.specialized_aligned and mma == "mma.sync" and not fp8_upcast(cfg, mma)
               and _one_mma_column_per_warp(cfg))
    if cfg.dtype.weight_only:
        dequant_in_operand_layout = (in_warp and cfg.block_k == 32 and cfg.dtype is Variant.INT8_W8A16
                                     and RELEASE_FACTS[cfg.triton].int8_dequant_in_operand_layout)
        b_parts = [("B", 0), ("B_dequant", 0 if dequant_in_operand_layout
                                          else cfg.block_k * cfg.block_n * DEQUANT_BYTES)]
    else:
        b_parts = [("B", operand_copies * cfg.block_k * cfg.block_n * cfg.dtype.a_bytes)]
    a_part = ("A", 0 if in_warp and cfg.block_k * cfg.dtype.a_bytes == 32 else operand_copies * a_tile)
    return _reuse_staging(cfg, mma, [a_part] + b_parts, (True, True))


def _one_mma_column_per_warp(cfg: TritonConfig) -> bool:
    """M = 16, BN = 8 x warps: each warp computes one 8-wide mma.sync column block over all 16 rows, so it needs
    all of A and just its own B columns. Compiled (every mma.sync target, both releases, one stage with
    16-divisible pointers and K): an A of 16 rows x 32 bytes (one-byte BK 32, two-byte BK 16: one warp's worth of
    16-byte vectors, replicated in every warp) reaches the dot-operand layout without shared memory; and under
    3.6.0, with BK = 32, the int8 weight-only B is dequantized in the dot-operand layout (no staging buffer),
    pipelined or not."""
    return cfg.block_m == 16 and cfg.block_n == 8 * cfg.num_warps


def _operand_parts(cfg: TritonConfig, mma: str) -> List[Tuple[str, int]]:
    """The loop's operand buffers: (name, bytes) of A, B and, for the weight-only kernel, the dequantized B."""
    if not pipelined(cfg):
        return _unpipelined_operand_parts(cfg, mma)
    threads = 32 * cfg.num_warps
    # LowerLoops.cpp: stageDiff = num_stages - 1; +1 for an operand the MMA reads from shared memory itself
    # (wgmma's and tcgen05's asynchronous reads: "Allocate additional buffer required by the wgmma pipelining")
    direct = cfg.num_stages if mma != "mma.sync" else cfg.num_stages - 1
    a_tile = cfg.block_m * cfg.block_k * cfg.dtype.a_bytes
    small = 1  # copies of a tile staged within its step
    if cfg.dtype.weight_only:
        # fused_moe_kernel_gptq_awq: B goes global -> registers (dequantized there) -> shared memory as the MMA
        # operand. An int8 B tile (contiguous along K) is still a cp.async load, so the pipeliner buffers it
        # num_stages - 1 times; int4 B (two weights per byte, each byte loaded for two K rows) has 1-byte
        # vectors, under cp.async's 4 bytes, and stays in registers. The dequantized compute-type tile is the
        # local_alloc the MMA reads (wgmma/tcgen05), or the blocked -> dot-operand conversion's buffer (mma.sync).
        b_raw = cfg.block_k * cfg.block_n if cfg.dtype is Variant.INT8_W8A16 else 0
        b_copies = cfg.num_stages - 1 if b_raw >= MIN_COPY_BYTES * threads else 0
        # compiled (every mma.sync target, Triton 3.6.0): a pipelined int8 tile of one 32-deep k-step whose
        # columns are one 8-wide mma tile per warp (M = 16) is read from shared memory straight into the
        # dot-operand layout and dequantized there -- no second buffer
        direct_operand = (b_copies and mma == "mma.sync" and _one_mma_column_per_warp(cfg) and cfg.block_k == 32
                          and RELEASE_FACTS[cfg.triton].int8_dequant_in_operand_layout)
        b_parts = [("B", b_copies * b_raw),
                   ("B_dequant", 0 if direct_operand else cfg.block_k * cfg.block_n * DEQUANT_BYTES)]
        if (b_raw and not b_copies and mma != "mma.sync"
                and RELEASE_FACTS[cfg.triton].weight_only_small_b_fp32_convert):
            convert = cfg.block_k * cfg.block_n * FP32_BYTES
            # wgmma: the scratch and the dequantized buffer share an offset, so only the excess counts
            b_parts.append(("B_fp32_convert", convert - b_parts[1][1] if mma == "wgmma" else convert))
    else:
        b_tile = cfg.block_k * cfg.block_n * cfg.dtype.a_bytes
        # LowerLoops.cpp: "Do not create async loads for small loads (cp.async requires at least 4 bytes)": a
        # tile of fewer than 4 bytes per thread is not pipelined and keeps the single copy its dot reads;
        # tcgen05 reads it asynchronously, so it keeps two (its double buffer) -- unless that leaves the MMA
        # unpipelined (tcgen05_copies == 1), whose pipelined operand then gets num_stages - 1 copies, as on
        # mma.sync (compiled, sm100, both releases)
        if mma == "tcgen05" and _small_operand(cfg):
            small = tcgen05_copies(cfg)
            if small == 1:
                direct = cfg.num_stages - 1
        b_parts = [("B", (direct if b_tile >= MIN_COPY_BYTES * threads else small) * b_tile)]
    a_part = ("A", (direct if a_tile >= MIN_COPY_BYTES * threads else small) * a_tile)
    staged = (a_tile < MIN_COPY_BYTES * threads,
              not cfg.dtype.weight_only and cfg.block_k * cfg.block_n * cfg.dtype.a_bytes < MIN_COPY_BYTES * threads)
    return _reuse_staging(cfg, mma, [a_part] + b_parts, staged)


def _footprint(cfg: TritonConfig) -> TritonFootprint:
    _check_domain(cfg)
    mma = mma_kind(cfg)
    if not pipelined(cfg):
        copies = tcgen05_copies(cfg) if mma == "tcgen05" else 1
    else:
        async_read = mma == "wgmma" or mma == "tcgen05" and tcgen05_copies(cfg) == 2
        copies = cfg.num_stages if async_read else cfg.num_stages - 1
    parts = _operand_parts(cfg, mma)
    if cfg.dtype is Variant.FP8_W8A8_BLOCK:
        scratch = _scale_scratch(cfg, mma)
        tiles = (cfg.block_m * cfg.block_k, cfg.block_k * cfg.block_n)  # FP8: one byte per element
        if not pipelined(cfg):
            # every operand is staged within the step, dead when the scales are converted: the scratch reuses
            # the larger tile's offset, and 4 x max(BM, BN) never exceeds a BK >= 32 deep tile (compiled, one
            # stage and unaligned, every FP8 target: the loop is the operands alone)
            reused = max(tiles)
        else:
            # an operand staged within its step (a tile under 4 bytes per thread) is dead by the time the scales
            # are converted: the scratch reuses its offset (compiled: 16x256x32, 8 warps, sm120, 512 B of A under
            # 1024 B of scratch; wgmma 256x16x32, 8 warps, sm90, 512 B of B under 1024 B)
            reused = max((b for (name, b), tile in zip(parts, tiles) if tile < MIN_COPY_BYTES * 32 * cfg.num_warps),
                         default=0)
        parts.append(("scale_convert", max(0, scratch - reused)))
    if (mma == "tcgen05" and cfg.dtype is Variant.INT4_W4A16 and cfg.block_m == cfg.block_k
            and RELEASE_FACTS[cfg.triton].int4_tcgen05_square_scratch):
        parts.append(("int4_square_scratch", min(1024 * cfg.num_warps, SCALE_BYTES * cfg.block_m * cfg.block_n)))
    if mma == "tcgen05":
        parts.append(("mbarriers", TCGEN05_BARRIER_BYTES * tcgen05_copies(cfg)))
    loop = sum(b for _, b in parts)
    epilogue = epilogue_bytes(cfg, epilogue_kind(cfg, mma))
    if epilogue > loop:  # the epilogue's conversion outgrows the (dead) loop buffers it reuses
        parts = [(name, 0) for name, _ in parts] + [("epilogue_convert", epilogue)]
    else:
        parts.append(("epilogue_convert", 0))
    return TritonFootprint(cfg, max(loop, epilogue), tuple(parts), mma, copies)


def _scale_scratch(cfg: TritonConfig, mma: str) -> int:
    """The block-scale vectors' conversion scratch (see the module docstring)."""
    threads = 32 * cfg.num_warps
    if mma == "tcgen05" and RELEASE_FACTS[cfg.triton].tcgen05_block_scale == "measured":
        return int(_json_table(BLOCK_SCALE_FILE)[cfg.triton][epilogue_key(cfg.block_m, cfg.block_n, cfg.num_warps)])
    if mma == "tcgen05":
        # the accumulator comes out of tensor memory a row per thread: the B-scale vector (every column, for
        # every thread) is always converted, the A-scale vector only when a thread holds more than one row;
        # both scratches count, unrounded (compiled, sm100, Triton 3.6.0: 4 * BN + 4 * BM when BM > 32 * num_warps)
        return SCALE_BYTES * cfg.block_n + (SCALE_BYTES * cfg.block_m if cfg.block_m > threads else 0)
    # one warp: the B-scale vector's conversion takes at most 128 elements of scratch (compiled, every BM x BN at
    # one warp on sm89/sm90, both releases: BN 256 needs 512 B, like BN 128; A's vector is not capped)
    b_scales = min(cfg.block_n, ONE_WARP_B_SCALE_ELEMENTS) if cfg.num_warps == 1 else cfg.block_n
    converted = [n for n in (cfg.block_m, b_scales) if n >= threads]
    scratch = max(converted) * SCALE_BYTES if converted else 0
    return -(-scratch // SCRATCH_ALIGN) * SCRATCH_ALIGN


EPILOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "triton_epilogue.json"
BLOCK_SCALE_FILE = EPILOGUE_FILE.with_name("triton_block_scale_tcgen05.json")


def epilogue_key(block_m: int, block_n: int, num_warps: int) -> str:
    return f"{block_m}x{block_n}_w{num_warps}"


@functools.lru_cache(maxsize=None)
def _json_table(path: Path) -> dict:
    return json.loads(path.read_text())


def _epilogue_table() -> dict:
    return _json_table(EPILOGUE_FILE)


def epilogue_alignment(cfg: TritonConfig) -> str:
    """``aligned``, ``unaligned`` (a misaligned pointer: the C store's layout changes too) or ``k_unaligned``
    (aligned pointers, K % 16 != 0: only the A/B strides lose divisibility, so E is the smallest such loop).
    One stage with 16-divisible pointers and K is ``single_stage``: every operand staged once, but loaded in
    16-byte vectors, which lets a 16 x 32 one-byte A skip shared memory (``_a_in_warp``), and tcgen05 keeps one
    copy and one barrier instead of two -- loops smaller than the unaligned ones, so E is measured at one stage.
    One stage with a misaligned pointer is ``unaligned`` (the same loop), except on tcgen05:
    ``single_stage_unaligned``; tcgen05 at one stage with K % 16 != 0 is ``single_stage`` (compiled: the same
    loop and store as with K % 16 == 0), and so is every tcgen05 loop of one copy (``tcgen05_copies``)."""
    if mma_kind(cfg) == "tcgen05" and tcgen05_copies(cfg) == 1:  # one stage, or an unpipelined one-copy loop
        return "single_stage" if cfg.aligned else "single_stage_unaligned"
    if cfg.num_stages == 1 and cfg.specialized_aligned:
        return "single_stage"
    if not cfg.aligned:
        return "unaligned"
    return "aligned" if pipelined(cfg) else "k_unaligned"


def epilogue_bytes(cfg: TritonConfig, kind: str) -> int:
    """``E`` of the config's (release, target, kind, alignment, M, N, warps): see the module docstring."""
    try:
        alignment = epilogue_alignment(cfg)
        return int(_epilogue_table()[cfg.triton][cfg.target][kind][alignment][
            epilogue_key(cfg.block_m, cfg.block_n, cfg.num_warps)])
    except KeyError:
        raise ConfigError("target", cfg.target, "a target measured in data/triton_epilogue.json",
                          f"no {kind} epilogue measurement for Triton {cfg.triton}") from None


_CACHE: dict = {}


def footprint(cfg: TritonConfig) -> TritonFootprint:
    """The shared memory of ``cfg`` (bytes and parts); raises ConfigError / UnsupportedConfigError."""
    # GROUP_SIZE_M only reorders tiles: everything else keys the answer (plain tuples hash fast)
    key = (cfg.dtype, cfg.target, cfg.triton, cfg.block_m, cfg.block_n, cfg.block_k, cfg.num_warps,
           cfg.num_stages, cfg.k, cfg.aligned)
    hit = _CACHE.get(key)
    if hit is None:
        try:
            fp = _footprint(cfg)
        except SmemTacticsError as e:
            hit = e
        else:
            hit = (fp.shared_bytes, fp.parts, fp.mma, fp.buffers)
        if len(_CACHE) > 200_000:
            _CACHE.clear()
        _CACHE[key] = hit
    if isinstance(hit, Exception):
        raise hit
    return TritonFootprint(cfg, *hit)


def footprints(configs: Iterable[TritonConfig], errors: str = "keep") -> List[Union[TritonFootprint, Exception]]:
    """Many at once, in order; ``errors="keep"`` puts the error in place of a refused config, ``"raise"`` raises."""
    if errors not in ("keep", "raise"):
        raise ConfigError("errors", errors, "keep, raise")
    out: List[Union[TritonFootprint, Exception]] = []
    enabled = gc.isenabled()
    gc.disable()  # a batch allocates many small frozen objects; the cyclic collector only slows it down
    try:
        for cfg in configs:
            try:
                out.append(footprint(cfg))
            except SmemTacticsError as e:
                if errors == "raise":
                    raise
                out.append(e)
    finally:
        if enabled:
            gc.enable()
    return out


def classic_estimate(cfg: TritonConfig) -> int:
    """The estimate tuning scripts use, ``num_stages * (BM*BK + BK*BN) * bytes`` (reported, never trusted)."""
    return cfg.num_stages * (cfg.block_m + cfg.block_n) * cfg.block_k * cfg.dtype.a_bytes


__all__ = ["ReleaseFacts", "RELEASE_FACTS", "TritonFootprint", "footprint", "footprints", "mma_kind",
           "epilogue_kind", "epilogue_alignment",
           "classic_estimate", "epilogue_bytes", "VERIFIED",
           "EPILOGUE_FILE", "BLOCK_SCALE_FILE"]
