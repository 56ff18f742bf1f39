"""CUTLASS 2.x grouped MoE kernels (the "Ampere" tactics of TensorRT-LLM / FlashInfer): their own footprint rule.

Pure FP8 MoE on SM120/SM121 has no TMA warp-specialized kernel; TensorRT-LLM's ``dispatchToArch`` sends it to the
SM89 (Ada) kernels, and BF16/FP16 go to the SM80 kernels (``moe_gemm_template_dispatch.h``,
``genericMoeGemmKernelLauncher``). Two kernels, with explicit stage counts (2, 3 or 4; 2 stages is
``MmaPipelined``, more is ``MmaMultistage``):

* ``MoeFCGemm`` (``cutlass_extensions/gemm/kernel/moe_cutlass_kernel.h``) around
  ``DefaultGemmGrouped<..., Stages, GroupScheduleMode::kDeviceOnly>``. Its ``SharedStorage`` is a **union**
  ``{ ProblemVisitor::SharedStorage; Mma::SharedStorage; Epilogue::SharedStorage; }``:

  * mainloop (``gemm/threadblock/mma_base.h``): ``AlignedBuffer<A, M x K*Stages>`` and
    ``AlignedBuffer<B, N x K*Stages>``; A row-major and B column-major are both K-contiguous (crosswise), for
    which the default MMA cores add no smem padding;
  * epilogue (``epilogue/threadblock/epilogue_base.h``, ``default_epilogue_tensor_op.h``):
    ``AlignedBuffer<float, (WarpsM*8*PartitionsK + 0) * FragmentsPerIteration x (WarpsN*WarpN + 8)>`` --
    8 rows per warp per iteration (``TensorOpPolicy::kRowsPerIteration``), a hard-coded padding of
    ``64 / 32 * 4 = 8`` float columns, two fragments per iteration for a half output without sliced K (the
    ``DefaultIteratorsTensorOp<half_t, float, 8>`` specialization), one otherwise;
  * problem visitor: an empty struct for ``kDeviceOnly``.

  The launcher runs it only if ``GemmGrouped::maximum_active_blocks()`` > 0, i.e. when
  ``cudaFuncSetAttribute(MaxDynamicSharedMemorySize, sizeof(SharedStorage))`` succeeds: fits iff
  ``total <= opt-in limit``; otherwise "GPU lacks the shared memory resources to run GroupedGEMM kernel".

* For 16-bit GEMM1 with a gated activation (SwiGLU / GeGLU, ``supportsFusedGatedActivation``), the fused
  gate kernel ``Fused_Moe_Kernel_sm80`` (``cutlass_extensions/gemm/kernel/fused_moe_kernel_traits.cuh``):
  ``SharedStorageGate : aligned_struct<128> { array_aligned<T> input[M*K*S], gate_weight[N'*K*S],
  weight[N'*K*S], o[M*N']; }`` with ``N' = N / 2`` (``kTileN``), sized as the larger of the M-tile and the
  M = 16 variant (``kSmemSize``). Its launcher (``fused_moe_gemm_launcher_sm80.inl``) reports zero occupancy when
  ``kSmemSize + static smem >= opt-in limit``: it fits only strictly below the limit.

Nothing here depends on the CUTLASS release: these 2.x structures are the same from 4.2 to 4.7 (checked by
the oracle, see docs/catalog_verification.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Optional

from ..config import DType
from ..errors import ConfigError, UnsupportedConfigError
from ..versions import DEFAULT_VERSION, CutlassVersion
from .struct import align_up

#: Arch tags of the 2.x kernels TensorRT-LLM builds, by operand type.
ARCH_TAGS = ("sm80", "sm89")
OPERANDS = (DType.BF16, DType.F16, DType.E4M3)
OUTPUTS = (DType.BF16, DType.F16)
KERNELS = ("moe_fc_gemm", "fused_gated")

_ROWS_PER_WARP_ITERATION = 8  # TensorOpPolicy::kRowsPerIteration
_EPILOGUE_PADDING_FLOATS = 64 // 32 * 4  # default_epilogue_tensor_op.h: MatrixShape<0, 64 / sizeof_bits<float> * 4>


@dataclass(frozen=True)
class GroupedSm80Config:
    """One CUTLASS 2.x grouped MoE kernel: threadblock and warp tiles (elements), explicit stages, operand
    type (A = B), output type, arch tag and which kernel (``moe_fc_gemm`` or the ``fused_gated`` GEMM1)."""

    arch_tag: str
    a: DType
    d: DType
    tile: tuple
    warp: tuple
    stages: int
    kernel: str = "moe_fc_gemm"
    cutlass: CutlassVersion = DEFAULT_VERSION

    @classmethod
    def create(cls, arch_tag: str, a: Any, d: Any, tile: Any, warp: Any, stages: Any, kernel: str = "moe_fc_gemm",
               cutlass: Any = None) -> "GroupedSm80Config":
        """Validate loose values; raises :class:`ConfigError` naming the field and what is allowed."""
        if arch_tag not in ARCH_TAGS:
            raise ConfigError("arch_tag", arch_tag, ARCH_TAGS)
        a_v = DType.parse(a, "a")
        if a_v not in OPERANDS:
            raise ConfigError("a", a_v.value, [t.value for t in OPERANDS], "CUTLASS 2.x MoE kernels")
        d_v = DType.parse(d, "d")
        if d_v not in OUTPUTS:
            raise ConfigError("d", d_v.value, [t.value for t in OUTPUTS])
        shapes = []
        for name, value in (("tile", tile), ("warp", warp)):
            if not (isinstance(value, (tuple, list)) and len(value) == 3
                    and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value)):
                raise ConfigError(name, value, "[M, N, K] of positive integers")
            shapes.append(tuple(value))
        if isinstance(stages, bool) or not isinstance(stages, int) or stages < 2:
            raise ConfigError("stages", stages, "an integer >= 2 (2 = MmaPipelined, more = MmaMultistage)")
        if kernel not in KERNELS:
            raise ConfigError("kernel", kernel, KERNELS)
        version = CutlassVersion.parse(cutlass) if cutlass is not None else DEFAULT_VERSION
        return cls(arch_tag, a_v, d_v, shapes[0], shapes[1], stages, kernel, version)

    def name(self) -> str:
        t = "x".join(map(str, self.tile))
        w = "x".join(map(str, self.warp))
        return f"{self.arch_tag}_{self.kernel}_{self.a.value}_{t}_w{w}_s{self.stages}_{self.d.value}"

    def to_dict(self) -> dict:
        return {"arch_tag": self.arch_tag, "kernel": self.kernel, "a": self.a.value, "d": self.d.value,
                "tile": list(self.tile), "warp": list(self.warp), "stages": self.stages, "cutlass": str(self.cutlass)}


@dataclass(frozen=True)
class Sm80Footprint:
    """``sizeof(SharedStorage)`` of a 2.x MoE kernel with its parts (the union's members, or the gate struct's)."""

    config: GroupedSm80Config
    total_bytes: int
    stages: int
    parts: dict  # name -> bytes; for the union: each member's size (the total is the largest)
    union: bool
    fits_strictly_below: bool  # the fused gate launcher needs total < limit, MoeFCGemm total <= limit

    def fits(self, limit: int) -> bool:
        return self.total_bytes < limit if self.fits_strictly_below else self.total_bytes <= limit


def _check(cfg: GroupedSm80Config) -> None:
    m, n, k = cfg.tile
    wm, wn, wk = cfg.warp
    if m % wm or n % wn or k % wk:
        raise UnsupportedConfigError("warp", f"the warp tile {wm}x{wn}x{wk} does not divide the threadblock tile "
                                             f"{m}x{n}x{k}", "ThreadblockShape must be divisible by WarpShape")
    want = "sm89" if cfg.a is DType.E4M3 else "sm80"
    if cfg.arch_tag != want:
        raise UnsupportedConfigError("arch_tag", f"{cfg.a.value} operands are dispatched to the {want} kernels",
                                     "Cutlass gemm. Not instantiated for arch")
    if cfg.kernel == "fused_gated" and cfg.a.bits != 16:
        raise UnsupportedConfigError("kernel", "the fused gate kernel exists for 16-bit operands only",
                                     "use fused moe gemm kernel.. (only support fp16 or bf16)")


def _moe_fc_gemm(cfg: GroupedSm80Config) -> Sm80Footprint:
    m, n, k = cfg.tile
    wm, wn, wk = cfg.warp
    elem = cfg.a.bits // 8
    mainloop = align_up(m * k * cfg.stages * elem, 16) + align_up(n * k * cfg.stages * elem, 16)
    warps_m, warps_n, partitions_k = m // wm, n // wn, k // wk
    # DefaultIteratorsTensorOp<half_t, float, 8>: a half output staged through the mixed tile iterator keeps two
    # fragments per iteration (without sliced K); every other output here keeps one
    fragments = 2 if (cfg.d is DType.F16 and partitions_k == 1) else 1
    rows = warps_m * _ROWS_PER_WARP_ITERATION * partitions_k * fragments
    cols = warps_n * wn + _EPILOGUE_PADDING_FLOATS
    epilogue = align_up(rows * cols * 4, 16)
    visitor = 1  # GroupScheduleMode::kDeviceOnly: an empty SharedStorage
    total = align_up(max(mainloop, epilogue, visitor), 16)
    parts = {"mainloop (A+B)": mainloop, "epilogue (accumulator tile)": epilogue, "problem visitor": visitor}
    return Sm80Footprint(cfg, total, cfg.stages, parts, True, False)


def _gate_storage(m: int, n: int, k: int, stages: int, elem: int) -> dict:
    """``Fused_Moe_Kernel_traits_sm80<..., m, n, k, stages, gated>::SharedStorageGate`` members."""
    k = k if m > 16 else max(k, 64)  # the traits' kTileK
    return {
        "input (A)": align_up(m * k * stages * elem, 16),
        "gate weight": align_up(n * k * stages * elem, 16),
        "weight": align_up(n * k * stages * elem, 16),
        "output tile": align_up(m * n * elem, 16),
    }


def _fused_gated(cfg: GroupedSm80Config) -> Sm80Footprint:
    # Fused_Moe_Kernel_sm80 halves the N tile for a gated activation (kTileN = TileN / 2) and, for TileK >= 64,
    # reserves the larger of its M-tile traits and the M = 16 traits (kSmemSize).
    m, n, k = cfg.tile
    elem = cfg.a.bits // 8
    candidates = [_gate_storage(m, n // 2, k, cfg.stages, elem)]
    if k >= 64:
        candidates.append(_gate_storage(16, n // 2, k, cfg.stages, elem))
    parts = max(candidates, key=lambda p: align_up(sum(p.values()), 128))
    total = align_up(sum(parts.values()), 128)  # cute::aligned_struct<128>
    return Sm80Footprint(cfg, total, cfg.stages, parts, False, True)


@functools.lru_cache(maxsize=4096)
def sm80_footprint(cfg: GroupedSm80Config) -> Sm80Footprint:
    """Exact ``sizeof`` of the kernel's shared storage; raises :class:`UnsupportedConfigError` for
    combinations TensorRT-LLM's dispatch does not instantiate."""
    _check(cfg)
    return _fused_gated(cfg) if cfg.kernel == "fused_gated" else _moe_fc_gemm(cfg)


def max_fitting_sm80_stages(cfg: GroupedSm80Config, limit: int, hi: int = 8) -> Optional[int]:
    """Largest stage count (>= 2) whose footprint fits ``limit`` under the kernel's own launch check."""
    best = None
    for s in range(2, hi + 1):
        if sm80_footprint(GroupedSm80Config(cfg.arch_tag, cfg.a, cfg.d, cfg.tile, cfg.warp, s, cfg.kernel,
                                            cfg.cutlass)).fits(limit):
            best = s
    return best


__all__ = ["GroupedSm80Config", "Sm80Footprint", "sm80_footprint", "max_fitting_sm80_stages", "ARCH_TAGS",
           "KERNELS"]
