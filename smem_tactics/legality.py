"""Which configurations CUTLASS accepts: its ``static_assert``s and missing specializations, as data.

Each :class:`Rule` names the field at fault, says why in plain words and quotes CUTLASS's own message
(or the missing specialization) so a user can match it to a compiler error. Rules that changed
between releases test ``cfg.cutlass``. :func:`violations` lists every rule a config breaks;
:func:`ensure_supported` raises the first as :class:`~smem_tactics.errors.UnsupportedConfigError`.

The stage-count rule (at least 2 stages) depends on the resolved stage count and lives in
:func:`smem_tactics.footprint.resolve_stages`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from .config import Arch, DType, EpilogueSchedule, FusionOp, KernelConfig, KernelSchedule, Kind, Layout, Mode
from .errors import UnsupportedConfigError
from .layout.resolve import resolve_schedules
from .layout.mainloop import uses_mxf8f6f4
from .layout.sm100 import mma_k as sm100_mma_k, sm100_facts
from .versions import (SM100_2SM_EPI_N64, SM120_DENSE_PTR_ARRAY, SM120_MXF8F6F4_PTRARRAY_SCHEDULE, SM120_N_DIVISIBILITY,
                       SM120_SF_K_ATOM, SM120_SMALL_N, SM90_BLOCKWISE_SMALL_M, SM90_BLOCKWISE_SPLIT_M)

KS, ES = KernelSchedule, EpilogueSchedule

_SM90_OPERANDS = (DType.BF16, DType.F16, DType.F32, DType.E4M3, DType.E5M2)


@dataclass(frozen=True)
class Rule:
    field: str
    reason: str
    cutlass_message: str
    broken: Callable[[KernelConfig], bool]
    # True for rules whose static_assert fires only when the kernel body is instantiated (a device compile):
    # the host-only probe builds such configs, so the oracle counts "model rejects, probe builds" as agreement.
    device_only: bool = False
    # True for the rules that look at the stage count (only whether it is explicit: StageCount<S> vs a carve-out
    # convention); every other rule gives one verdict per stage-free config.
    stage_sensitive: bool = False


# identity tests: these run for every rule of every config the model sees
def _sm12x(cfg: KernelConfig) -> bool:
    a = cfg.arch
    return a is Arch.SM120 or a is Arch.SM121


def _sm90(cfg: KernelConfig) -> bool:
    return cfg.arch is Arch.SM90


def _sm100(cfg: KernelConfig) -> bool:
    return cfg.arch is Arch.SM100


def _ks(cfg: KernelConfig) -> KernelSchedule:
    return resolve_schedules(cfg)[0]


def _es(cfg: KernelConfig) -> EpilogueSchedule:
    return resolve_schedules(cfg)[1]


def _sm90_blockwise_splits_m(c: KernelConfig) -> int:
    """NumSplitsM of the SM90 FP8 blockwise array mainloop (4.3.0+): M / 128, or 1 below 128 from 4.4.1."""
    if c.tile[0] < 128 and c.cutlass.has(SM90_BLOCKWISE_SMALL_M):
        return 1
    return c.tile[0] // 128


def _bits_k(c: KernelConfig) -> int:
    """Bits of tile K for the widest operand (the K extent every smem atom and MMA instruction sees)."""
    return c.tile[2] * max(c.a.bits, c.b.bits)


# -- tile shapes the MMA atoms, permutations and smem/TMA atoms accept ----------------------------------
# Added for config synthesis (issue 4): the synthesizer enumerates tiles and relies on these rules to drop
# the ones whose kernel does not compile; each names the static_assert that fires (several of them only
# when the kernel body is instantiated, i.e. in a device compile, never in the host-only probe).
TILE_SHAPE_RULES: tuple = (
    Rule("tile", "SM90 cooperative kernels split the tile's M across two MMA warp groups of 64 rows: M must be a "
                 "multiple of 128", "Cooperative kernel requires Tile Size to be a multiple of 128 along the M mode",
         lambda c: _sm90(c) and c.kind is not Kind.BLOCKWISE and not _ks(c).is_pingpong and c.tile[0] % 128),
    Rule("tile", "SM90 pingpong kernels give each MMA warp group whole 64-row GMMA tiles: M must be a multiple of 64",
         "TileShape M must be a multiple of the GMMA M (64)",
         lambda c: _sm90(c) and c.kind is not Kind.BLOCKWISE and _ks(c).is_pingpong and c.tile[0] % 64),
    Rule("tile", "SM90 GMMA instructions have N = 8 .. 256 in steps of 8", "Tile_N must be a multiple of 8",
         lambda c: _sm90(c) and (c.tile[1] % 8 or c.tile[1] < 8)),
    Rule("tile", "SM90 tile N = 8 does not compile for 16-bit operands, nor for FP8 with the pingpong schedule (seen "
                 "compiling device code with CUTLASS 4.2.0 and nvcc 13.0 in issue 5's H100 benchmark; FP8 cooperative "
                 "N = 8 compiles and is correct)", "Shape Divisibility Condition",
         lambda c: _sm90(c) and c.tile[1] == 8 and (c.a.bits == 16 or _ks(c).is_pingpong), device_only=True),
    Rule("tile", "SM90 GMMA consumes K in steps of 32 bytes (16 bf16/f16, 32 FP8, 8 tf32): tile K must be a "
                 "multiple of that", "SmemLayoutAtom must evenly divide tile shape.",
         lambda c: _sm90(c) and _bits_k(c) % 256),
    Rule("tile", "SM120 block-scaled TiledMMA permutes N in groups of 32 (8 x 2 x 2): N must be a multiple of 32 (or "
                 "8 or 16, which CUTLASS 4.6 permutes separately)", "TileShape_N must be at least 8 for SM120 "
                 "blockscaled / TiledMMA permutation must divide the tile",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] % 32
         and not (c.tile[1] in (8, 16) and c.cutlass.has(SM120_SMALL_N))),
    Rule("tile", "SM120 block-scaled tiles with M = 256 and N below 128 need N to divide 128: the SFB TMA box "
                 "cannot cover a partial 128-column scale-factor atom", "TMA requires CTA_Tile and SLayout top-level "
                 "size equivalence.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[0] > 128 and c.tile[1] < 128
         and 128 % c.tile[1], device_only=True),
    Rule("tile", "SM120 block-scaled MMAs consume K in steps of 64 elements (MXF4/NVF4 instruction) or 32 "
                 "(MXF8F6F4): tile K must be a multiple of that", "TiledMMA permutation must divide the tile (PermTileK)",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[2] % (32 if uses_mxf8f6f4(c) else 64)),
    Rule("tile", "SM120 blockwise-scaled TiledMMAs tile 16 x 8 atoms over 4 x 2 warps (cooperative) or 2 x 2 "
                 "(pingpong): M must be a multiple of 64 (32 for pingpong) and N a multiple of 16",
         "TiledMMA must evenly divide the tile (AtomLayoutMNK x MMA atom)",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCKWISE and (
             c.tile[0] % (32 if _ks(c).is_pingpong else 64) or c.tile[1] % 16)),
    Rule("kernel_schedule", "the SM120 blockwise-scaled builder builds grouped kernels only from "
                            "KernelScheduleSm120Blockwise (or auto); the PtrArray ...BlockwiseScalingSm120 schedules are "
                            "kernel tags it does not accept", "Could not build a collective for given parameters.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCKWISE and c.kernel_schedule in (
             KS.PTR_ARRAY_COOPERATIVE_BLOCKWISE_SM120, KS.PTR_ARRAY_PINGPONG_BLOCKWISE_SM120)),
    Rule("tile", "SM100 1-SM UMMA has M = 64 or 128 (dense) or M = 128 (block-scaled), and N = 8 .. 256 in steps of 8",
         "SM100_MMA_*_SS M-mode size should be 64 or 128 for 1 CTA cluster MMA.",
         lambda c: _sm100(c) and not _ks(c).info.two_sm and (
             c.tile[0] not in ((128,) if c.kind is Kind.BLOCK_SCALED else (64, 128))
             or c.tile[1] % 8 or not 8 <= c.tile[1] <= 256)),
    Rule("tile", "SM100 2-SM UMMA has M = 128 or 256 (dense) or M = 256 (block-scaled), and N = 16 .. 256 in steps "
                 "of 16", "SM100_MMA_*_2x1SM_SS M-mode size should be 128 or 256 for 2 CTA cluster MMA.",
         lambda c: _sm100(c) and _ks(c).info.two_sm and (
             c.tile[0] not in ((256,) if c.kind is Kind.BLOCK_SCALED else (128, 256))
             or c.tile[1] % 16 or not 16 <= c.tile[1] <= 256)),
)


RULES: tuple = (
    # -- what each arch builds ------------------------------------------------------------------
    Rule("kernel_schedule", "this kernel schedule does not exist for this arch / kernel kind",
         "no CollectiveBuilder specialization matches",
         lambda c: c.arch.family not in c.kernel_schedule.info.archs or c.kind not in c.kernel_schedule.info.kinds),
    Rule("epilogue_schedule", "this epilogue schedule does not exist for this arch",
         "no epilogue CollectiveBuilder specialization matches",
         lambda c: c.arch.family not in c.epilogue_schedule.info.archs),
    Rule("kind", "block-scaled kernels need block-scaled operand types (nvfp4, mxfp4, mxfp6_*, mxfp8_*) for A and B",
         "Incorrect input types",
         lambda c: (c.kind is Kind.BLOCK_SCALED) != (c.a.is_block_scaled and c.b.is_block_scaled)
         or (c.kind is not Kind.BLOCK_SCALED and (c.a.is_block_scaled or c.b.is_block_scaled))),
    Rule("b", "A and B scale factors must have the same type and vector size (nvfp4 pairs only with nvfp4)",
         "Scale factor types for A and B must be the same.",
         lambda c: c.kind is Kind.BLOCK_SCALED and (c.a is DType.NVFP4) != (c.b is DType.NVFP4)),
    Rule("kind", "FP8 blockwise scaling needs FP8 (e4m3/e5m2) operands and a scale_granularity",
         "FP8 scaling granularity must evenly divide tile shape",
         lambda c: c.kind is Kind.BLOCKWISE and (not (c.a.is_fp8 and c.b.is_fp8) or c.scale_granularity is None)),
    Rule("scale_granularity", "scale_granularity only applies to FP8 blockwise kernels", "",
         lambda c: c.kind is not Kind.BLOCKWISE and c.scale_granularity is not None),
    Rule("a", "SM90 grouped GEMM operands are bf16, f16, f32 (tf32) or FP8; A and B must be the same type, or "
              "both FP8", "no GMMA operation for this operand pair",
         lambda c: _sm90(c) and c.kind is Kind.DENSE and (
             c.a not in _SM90_OPERANDS or c.b not in _SM90_OPERANDS
             or (c.a != c.b and not (c.a.is_fp8 and c.b.is_fp8)))),
    Rule("kernel_schedule", "FP8FastAccum schedules need FP8 operands", "no CollectiveBuilder specialization matches",
         lambda c: _sm90(c) and _ks(c) in (KS.PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM, KS.PTR_ARRAY_PINGPONG_FP8_FAST_ACCUM)
         and not (c.a.is_fp8 and c.b.is_fp8)),
    Rule("kind", "SM120/SM121 dense (non-scaled) grouped GEMM takes FP8 operands only (F8F6F4 MMA)",
         "SM120 array TmaWarpSpecialized builder currently only supports F8F6F4 MMA.",
         lambda c: _sm12x(c) and c.kind is Kind.DENSE and c.cutlass.has(SM120_DENSE_PTR_ARRAY)
         and not (c.a.is_fp8 and c.b.is_fp8)),
    Rule("kernel_schedule", "the SM120 dense array builder needs the ...Sm120 ptr-array schedules (they carry the "
                            "scheduler pipeline depth): KernelPtrArrayTmaWarpSpecialized{Cooperative,Pingpong}Sm120",
         "no member named 'SchedulerPipelineStageCount'",
         lambda c: _sm12x(c) and c.kind is Kind.DENSE and c.cutlass.has(SM120_DENSE_PTR_ARRAY)
         and _ks(c) not in (KS.PTR_ARRAY_COOPERATIVE_SM120, KS.PTR_ARRAY_PINGPONG_SM120)),
    Rule("tile", "SM120 dense FP8 grouped tiles with N below 32 do not compile: the epilogue's register-to-shared "
                 "copy gets fewer values per thread than its copy atom moves (seen device-compiling 128x8, 256x8, "
                 "128x16 and 256x16 kernels, row- and column-major D, void C and C = D, for sm_120a with nvcc 13.0 "
                 "against CUTLASS 4.7.0; every N >= 32 kernel compiled)", "TiledCopy uses too few vals for selected "
                 "CopyAtom",
         lambda c: _sm12x(c) and c.kind is Kind.DENSE and c.cutlass.has(SM120_DENSE_PTR_ARRAY) and c.tile[1] < 32,
         device_only=True),
    Rule("kind", "before CUTLASS 4.6, SM120/SM121 have no dense (non-scaled) grouped GEMM in CUTLASS's 3.x builders: the SM120 dense "
                 "builder supports F8F6F4 only and rejects PtrArray; use block-scaled (MXFP8/NVFP4) or FP8 blockwise",
         "SM120 dense builder: no PtrArray specialization",
         lambda c: _sm12x(c) and c.kind is Kind.DENSE and not c.cutlass.has(SM120_DENSE_PTR_ARRAY)),
    Rule("mode", "SM120/SM121 builders only build grouped kernels from pointer strides; ptr-array batched GEMM "
                 "with plain strides builds a non-array kernel", "no ptr-array kernel for non-pointer strides",
         lambda c: _sm12x(c) and c.mode is Mode.PTR_ARRAY),
    # -- cluster ---------------------------------------------------------------------------------
    Rule("cluster", "SM120/SM121 support only a 1x1x1 cluster", "no programmatic multicast on this arch",
         lambda c: _sm12x(c) and c.cluster != (1, 1, 1)),
    Rule("cluster", "the cluster K extent must be 1", "Cluster K must be 1",
         lambda c: c.cluster[2] != 1),
    Rule("cluster", "2-SM schedules need an even cluster M", "schedule + cluster mismatch",
         lambda c: _sm100(c) and _ks(c).info.two_sm and c.cluster[0] % 2),
    Rule("epilogue_schedule", "the epilogue's 1-SM / 2-SM flavour must match the kernel schedule",
         "unsupported schedule",
         lambda c: _sm100(c) and _ks(c).info.two_sm != _es(c).info.two_sm),
    # -- SM120 block-scaled tiles ---------------------------------------------------------------------
    Rule("tile", "SM120 block-scaled tiles need M to be a multiple of 128 (one scale-factor atom covers 128 rows)",
         "SmemLayoutAtom must evenly divide tile shape",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[0] % 128),
    Rule("tile", "SM120 block-scaled tiles need N >= 32 (N >= 8 from CUTLASS 4.6)", "Invalid tile shape N.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] < 32 and not c.cutlass.has(SM120_SMALL_N)),
    Rule("kernel_schedule", "the SM120 block-scaled builder (CUTLASS 4.6, which allows N < 32) excludes pingpong "
                            "schedules with N < 16: use the cooperative schedule or auto",
         "Could not build a collective for given parameters.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] < 16 and _ks(c).is_pingpong
         and c.cutlass.has(SM120_SMALL_N)),
    Rule("tile", "SM120 block-scaled tiles need N >= 8", "Invalid tile shape N.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] < 8),
    Rule("tile", "from CUTLASS 4.5, SM120 block-scaled tiles need K >= 4 x the scale-factor vector size (128 for MX "
                 "types, 64 for NVFP4)", "'value' is not a member of 'bool'",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[2] < 4 * c.a.sf_vector
         and c.cutlass.has(SM120_SF_K_ATOM)),
    Rule("tile", "from CUTLASS 4.5, SM120 block-scaled tiles with N > 128 need N to be a multiple of 128",
         "Shape Divisibility Condition",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] > 128 and c.tile[1] % 128
         and c.cutlass.has(SM120_N_DIVISIBILITY)),
    Rule("kernel_schedule",
         "the ...BlockScaledSm120 ptr-array schedules are kernel tags, not builder schedules: the collective builder "
         "rejects them; use auto or KernelPtrArrayTmaWarpSpecialized{Cooperative,Pingpong}",
         "Incorrect Kernel Schedule Policy for F4 type inputs. / Incorrect SfVectorSize for MX_F4F6F8 is deduced.",
         lambda c: c.kernel_schedule in (KS.PTR_ARRAY_COOPERATIVE_BLOCK_SCALED_SM120,
                                         KS.PTR_ARRAY_PINGPONG_BLOCK_SCALED_SM120)),
    Rule("kernel_schedule",
         "before CUTLASS 4.4.2, an explicit PtrArray cooperative/pingpong schedule with two 6/8-bit MX operands "
         "deduces the wrong SF vector size; use kernel_schedule auto",
         "Incorrect SfVectorSize for MX_F4F6F8 is deduced.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCK_SCALED and c.a.bits >= 6 and c.b.bits >= 6
         and c.kernel_schedule in (KS.PTR_ARRAY_COOPERATIVE, KS.PTR_ARRAY_PINGPONG)
         and not c.cutlass.has(SM120_MXF8F6F4_PTRARRAY_SCHEDULE)),
    # -- SM100 --------------------------------------------------------------------------------------
    # builders/sm100_umma_builder.inl, sm100_blockscaled_umma_builder.inl, sm100_common.inl, sm1xx_common.inl;
    # collectives sm100_(blockscaled_)mma_array_warpspecialized.hpp; epilogue builders/sm100_builder.inl.
    Rule("kind", "SM100 has no FP8 blockwise-scaled grouped kernel in this model", "",
         lambda c: _sm100(c) and c.kind is Kind.BLOCKWISE),
    Rule("a", "SM100 dense operands are bf16 x bf16, f16 x f16, f32 x f32 (tf32) or any pair of FP8 types",
         "Unsupported data type for ElementA",
         lambda c: _sm100(c) and c.kind is Kind.DENSE and not (
             (c.a.is_fp8 and c.b.is_fp8) or (c.a == c.b and c.a in (DType.BF16, DType.F16, DType.F32)))),
    Rule("kernel_schedule", "the Nvf4 schedules need nvfp4 x nvfp4, the Mxf4 schedules mxfp4 x mxfp4 (the schedule "
                            "fixes the scale-factor vector size: 16 / 32)",
         "Kernel Schedule policy doesn't match the scale factor vector size.",
         lambda c: _sm100(c) and c.kind is Kind.BLOCK_SCALED and (
             (_ks(c) in _SM100_NVF4 and not (c.a is DType.NVFP4 and c.b is DType.NVFP4))
             or (_ks(c) in _SM100_MXF4 and not (c.a is DType.MXFP4 and c.b is DType.MXFP4)))),
    Rule("kernel_schedule", "the Mxf8f6f4 schedules take MX types only (ue8m0 scale factors), not nvfp4",
         "MX_F4F6F8 only supports ue8m0 SF type",
         lambda c: _sm100(c) and _ks(c) in _SM100_MXF8F6F4 and DType.NVFP4 in (c.a, c.b)),
    # (UMMA M and N ranges: TILE_SHAPE_RULES above)
    Rule("tile", "SM100 block-scaled MMA tiles need N = 64, 128, 192 or 256", "Cta N should be one of 64/128/192/256",
         lambda c: _sm100(c) and c.kind is Kind.BLOCK_SCALED and c.tile[1] not in (64, 128, 192, 256)),
    Rule("tile", "SM100 block-scaled tiles need K to be a multiple of 4 x the scale-factor vector size (64 for nvfp4, "
                 "128 for MX types): the scale-factor smem atom holds 4 SF columns",
         "TMA requires CTA_Tile and SLayout top-level size equivalence.",
         lambda c: _sm100(c) and c.kind is Kind.BLOCK_SCALED and c.tile[2] % (4 * c.a.sf_vector)),
    Rule("tile", "the SM100 tile K must be a multiple of the MMA instruction K (16 for bf16/f16, 8 for tf32, 32 for "
                 "FP8 and MXF8F6F4, 64 for MXF4/NVF4)",
         "Static cluster shape used: TileShape should be evenly divided by TiledMma",
         lambda c: _sm100(c) and c.kind is not Kind.BLOCKWISE and c.tile[2] % sm100_mma_k(c)),
    Rule("tile", "MMA.MXF8F6F4 with an unpacked fp4/fp6 operand (K-major) needs K % 128 == 0",
         "TileSize and MNK Major does not met with MMA Mix 8-bit TMA load requirement",
         lambda c: _sm100(c) and c.kind is Kind.BLOCK_SCALED and sm100_facts(c).mxf8f6f4
         and min(c.a.bits, c.b.bits) < 8 and c.tile[2] % 128),
    Rule("epilogue_tile", "from CUTLASS 4.6, a 2-SM TMA epilogue with 16-bit C/D and an automatic epilogue tile needs "
                          "the CTA N to be a multiple of 64 when it is above 128",
         "SM100 2SM TMA epilogue: 16-bit element types (f16/bf16) with CtaN > 128 require CtaN to be divisible by 64.",
         lambda c: _sm100(c) and c.cutlass.has(SM100_2SM_EPI_N64) and _es(c).info.two_sm and not _es(c).no_smem
         and c.epilogue_tile is None and max((c.c or c.d).bits, c.d.bits) == 16 and c.tile[1] > 128
         and c.tile[1] % 64),
    # -- blockwise --------------------------------------------------------------------------------
    Rule("stages", "the SM90 FP8 blockwise builder only computes automatic stage counts (no StageCount<S> overload)",
         "no matching function for call to compute_stage_count_with_blockwise_scale",
         lambda c: _sm90(c) and c.kind is Kind.BLOCKWISE and isinstance(c.stages, int), stage_sensitive=True),
    Rule("tile", "from CUTLASS 4.3.0 the SM90 FP8 blockwise array mainloop splits M into M / 128 parts, 1 or 2: "
                 "M must be 128 or 256 (4.4.1 counts M < 128 as one part again)",
         "static_assert(NumSplitsM{} == 1 || NumSplitsM{} == 2)",
         lambda c: _sm90(c) and c.kind is Kind.BLOCKWISE and c.cutlass.has(SM90_BLOCKWISE_SPLIT_M)
         and _sm90_blockwise_splits_m(c) not in (1, 2)),
    Rule("scale_granularity", "the scale granularity must divide the tile (M by gM, N by gN)",
         "FP8 scaling granularity must evenly divide tile shape along M.",
         lambda c: c.kind is Kind.BLOCKWISE and c.scale_granularity is not None
         and (c.tile[0] % c.scale_granularity[0] or c.tile[1] % c.scale_granularity[1])),
    Rule("scale_granularity", "SM120 blockwise scaling needs gK equal to the tile K",
         "Scale Granularity K must be equal to the tile shape K.",
         lambda c: _sm12x(c) and c.kind is Kind.BLOCKWISE and c.scale_granularity is not None
         and c.scale_granularity[2] != c.tile[2]),
    # -- epilogue -----------------------------------------------------------------------------------
    Rule("fusion", "block-scale-factor output fusions exist on SM100 and SM120 only", "",
         lambda c: c.fusion.op.has_block_scale_factor and _sm90(c)),
    Rule("d", "sub-byte D (e2m1, e2m3, e3m2) needs SM100/SM120", "",
         lambda c: c.d.bits < 8 and _sm90(c)),
    Rule("epilogue_schedule", "the no-smem epilogue has no block-scale-factor output (SM100's has: "
                              "sm100_epilogue_array_nosmem.hpp runs the fusion callbacks)", "",
         lambda c: _es(c).no_smem and c.fusion.op.has_block_scale_factor and not _sm100(c)),
    Rule("layout_cd", "an FP6 D needs a CTA tile whose contiguous extent is a multiple of 128",
         "CTA tile for FP6 ElementD must have a contiguous extent that is a multiple of 128.",
         lambda c: _sm12x(c) and c.d in (DType.E2M3, DType.E3M2)
         and not ((c.tile[1] % 128 == 0 and c.layout_cd is Layout.ROW)
                  or (c.tile[0] % 128 == 0 and c.layout_cd is Layout.COL))),
) + TILE_SHAPE_RULES


_SM100_NVF4 = (KS.PTR_ARRAY_1SM_NVF4_SM100, KS.PTR_ARRAY_2SM_NVF4_SM100)
_SM100_MXF4 = (KS.PTR_ARRAY_1SM_MXF4_SM100, KS.PTR_ARRAY_2SM_MXF4_SM100)
_SM100_MXF8F6F4 = (KS.PTR_ARRAY_1SM_MXF8F6F4_SM100, KS.PTR_ARRAY_2SM_MXF8F6F4_SM100)


_RULE_INDEX = {id(r): i for i, r in enumerate(RULES)}
_STAGE_SENSITIVE = tuple(r for r in RULES if r.stage_sensitive)


def violations(cfg: KernelConfig) -> list:
    """Every :class:`Rule` ``cfg`` breaks (empty if CUTLASS accepts it, as far as these rules know)."""
    from .contract import require_config

    require_config("config", cfg)
    return [r for r in RULES if r.broken(cfg)]


def ensure_supported(cfg: KernelConfig) -> None:
    """Raise :class:`UnsupportedConfigError` for the first rule ``cfg`` breaks."""
    rule = _first_broken(cfg.stage_free, isinstance(cfg.stages, int))
    if rule is not None:
        raise UnsupportedConfigError(rule.field, rule.reason, rule.cutlass_message, device_only=rule.device_only)


@functools.lru_cache(maxsize=16384)
def _first_broken(stage_free: KernelConfig, explicit_stages: bool):
    # Rules only look at whether stages are explicit, never at the count: check them once per
    # stage-free config (an explicit stand-in count of 2 represents every explicit count).
    if not explicit_stages:
        for rule in RULES:
            if rule.broken(stage_free):
                return rule
        return None
    # Explicit stages: the stage-insensitive rules have the automatic verdicts, so only the stage-sensitive
    # ones ahead of the first automatic failure need checking again, then the rest if that failure was one.
    cfg = stage_free.with_stages(2)
    first = _first_broken(stage_free, False)
    stop = _RULE_INDEX[id(first)] if first is not None else len(RULES)
    for rule in _STAGE_SENSITIVE:
        if _RULE_INDEX[id(rule)] < stop and rule.broken(cfg):
            return rule
    if first is None or not first.stage_sensitive:
        return first
    for rule in RULES[stop:]:
        if rule.broken(cfg):
            return rule
    return None


__all__ = ["Rule", "RULES", "violations", "ensure_supported"]

_ = FusionOp
