"""TensorRT-LLM-ready additions for SM120/SM121 MoE grouped GEMMs, and which configs the frameworks already build.

TensorRT-LLM 1.2 compiles four NVFP4 SM120 MoE tiles (``CtaShape128x128x128B``, ``128x128x64B``, ``128x256x64B``,
``256x128x64B``; K in bytes) with ``KernelScheduleAuto`` (cooperative), ``StageCountAutoCarveout``, C = D and the
``TmaWarpSpecialized`` epilogue, swap-AB both ways; FlashInfer 0.7.2.post1 adds ``128x32x{128,64}B`` and
``128x64x{128,64}B`` (docs/research/tactic_catalogs.md). :func:`framework_status` says whether a candidate is one
of those kernels; :func:`trtllm_patch` writes what a rebuild needs to add the synthesized ones:

1. ``CutlassTileConfigSM120`` enum entries (shape-encoded ``m * 1000000 + n * 1000 + k_bytes``);
2. ``generate_kernels.py`` entries for ``generate_sm120_grouped_gemm_operations`` with an explicit stage count and
   mainloop schedule per (tile, swap-AB);
3. the ``get_candidate_configs_sm120`` GROUPED candidate list, each entry commented with its verified
   ``sizeof(GemmKernel::SharedStorage)``;
4. the launcher changes those need (a ``StageCount<S>`` in place of the automatic carve-out, the schedule).

Every footprint in the file is the model's, for the kernel TensorRT-LLM's launcher builds (C = D, TmaWarpSpecialized
epilogue) -- which is why the patch uses the ``c_eq_d`` twin of a table's winner.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from ..config import DType, StageConvention
from ..footprint import footprint
from ..synthesis import Candidate

#: Tiles (elements, NVFP4) TensorRT-LLM 1.2 instantiates for SM120 grouped GEMM (generate_kernels.py).
TRTLLM_1_2_NVFP4_TILES = ((128, 128, 256), (128, 128, 128), (128, 256, 128), (256, 128, 128))
#: ... and for MXFP8 x MXFP4 (only 128x128x128B, K 128 elements).
TRTLLM_1_2_MXFP8XMXFP4_TILES = ((128, 128, 128),)
#: FlashInfer 0.7.2.post1's generator adds these NVFP4 tiles (and 128x32x128, 128x64x128 for the mixed type).
FLASHINFER_0_7_2_EXTRA_NVFP4_TILES = ((128, 32, 128), (128, 32, 256), (128, 64, 128), (128, 64, 256))
FLASHINFER_0_7_2_MXFP8XMXFP4_TILES = ((128, 32, 128), (128, 64, 128), (128, 128, 128))


def _auto_twin(c: Candidate) -> Optional[int]:
    """Stages of the framework's own build of this tile: cooperative, C = D, automatic carve-out."""
    cfg = c.config.replace(c=c.config.d.value, epilogue_schedule="TmaWarpSpecialized",
                           kernel_schedule="auto", stages=StageConvention.AUTO.value)
    try:
        return footprint(cfg).stages
    except Exception:  # noqa: BLE001 -- CUTLASS rejects the automatic count (e.g. 1 stage): not built
        return None


def framework_status(c: Candidate) -> dict:
    """Whether TensorRT-LLM 1.2 / FlashInfer 0.7.2 compile this exact kernel (tile, schedule, stages, epilogue);
    ``why_new`` names the difference when they do not."""
    cfg = c.config
    if not cfg.arch.is_sm12x:
        return {"trtllm_1_2": None, "flashinfer_0_7_2": None, "why_new": "not an SM12x kernel"}
    nvfp4 = cfg.a is DType.NVFP4
    trt_tiles = TRTLLM_1_2_NVFP4_TILES if nvfp4 else TRTLLM_1_2_MXFP8XMXFP4_TILES
    fi_tiles = (TRTLLM_1_2_NVFP4_TILES + FLASHINFER_0_7_2_EXTRA_NVFP4_TILES) if nvfp4 else FLASHINFER_0_7_2_MXFP8XMXFP4_TILES
    reasons = []
    if c.schedule != "cooperative":
        reasons.append(f"{c.schedule} mainloop (frameworks build KernelScheduleAuto = cooperative)")
    if c.epilogue != "c_eq_d":
        reasons.append("C = void (frameworks declare C = D)")
    auto = _auto_twin(c)
    if auto != c.stages:
        reasons.append(f"StageCount<{c.stages}> (the automatic carve-out gives "
                       f"{auto if auto is not None else 'no legal count'})")
    same_kernel = not reasons
    in_trt = same_kernel and tuple(cfg.tile) in trt_tiles
    in_fi = same_kernel and tuple(cfg.tile) in fi_tiles
    why = list(reasons)
    if tuple(cfg.tile) not in fi_tiles:
        why.insert(0, f"tile {'x'.join(map(str, cfg.tile))} is in neither framework's list")
    elif tuple(cfg.tile) not in trt_tiles:
        why.insert(0, f"tile {'x'.join(map(str, cfg.tile))} is FlashInfer-only")
    return {"trtllm_1_2": in_trt, "flashinfer_0_7_2": in_fi, "why_new": "; ".join(why)}


#: TensorRT-LLM 1.2's SM90 grouped tiles (M x N, K = 128 bytes), cooperative, automatic stages.
TRTLLM_1_2_SM90_TILES = ((128, 16), (128, 32), (128, 64), (128, 128), (128, 256), (256, 128))


def trtllm_baselines(arch, dtype: str, cutlass: str, limit_bytes: int) -> tuple:
    """(candidates, notes): TensorRT-LLM 1.2's own MoE kernels for ``dtype`` on ``arch`` -- its tiles, cooperative
    ``KernelScheduleAuto``, C = D, automatic stage count, both swap-AB directions -- that fit ``limit_bytes``, and a
    note per kernel (bytes and stages, or why it cannot run)."""
    from ..config import Arch, KernelConfig
    from ..errors import UnsupportedConfigError
    from ..synthesis import dtype_recipe

    arch = Arch.parse(arch)
    recipe = dtype_recipe(dtype, arch)
    if arch.is_sm12x:
        if recipe.name == "nvfp4":
            tiles = TRTLLM_1_2_NVFP4_TILES
        elif recipe.name == "mxfp8xmxfp4":
            tiles = TRTLLM_1_2_MXFP8XMXFP4_TILES
        else:
            return [], [{"note": f"TensorRT-LLM 1.2 builds no SM12x TMA grouped GEMM for {recipe.name}"}]
        epi, ks = "TmaWarpSpecialized", "auto"
    elif arch.family is Arch.SM90 and recipe.kind == "dense":
        widest = 8 if recipe.name == "fp8" else 16
        tiles = tuple((m, n, 128 * 8 // widest) for m, n in TRTLLM_1_2_SM90_TILES)
        epi = "auto"
        ks = ("KernelPtrArrayTmaWarpSpecializedCooperativeFP8FastAccum" if recipe.name == "fp8"
               else "KernelPtrArrayTmaWarpSpecializedCooperative")
    else:
        return [], [{"note": f"TensorRT-LLM 1.2 baselines are not modelled for {arch.value} {recipe.name}"}]
    cands, notes = [], []
    for tile in tiles:
        for swap in (False, True):
            a, b = recipe.operands(swap)
            cfg = KernelConfig.create(arch.value, a, b, c=recipe.d, d=recipe.d, tile=tile, kind=recipe.kind,
                                      layout_cd="col" if swap else "row", kernel_schedule=ks,
                                      epilogue_schedule=epi, stages="auto", cutlass=cutlass)
            label = f"TRT-LLM {'x'.join(map(str, tile))}{' swapAB' if swap else ''}"
            try:
                fp = footprint(cfg)
            except UnsupportedConfigError as e:
                notes.append({"config": label, "fits": False, "reason": f"CUTLASS rejects it: {e}"})
                continue
            fits = fp.total_bytes <= limit_bytes
            notes.append({"config": label, "fits": fits, "total_bytes": fp.total_bytes, "stages": fp.stages,
                          "reason": (f"auto carve-out gives {fp.stages} stages, {fp.total_bytes} B "
                                     f"{'<=' if fits else '>'} {limit_bytes} B")})
            if fits:
                cands.append(Candidate(cfg, swap, recipe.name, "c_eq_d", "cooperative", limit_bytes, 1, fp))
    return cands, notes


def trtllm_twin(c: Candidate) -> Optional[Candidate]:
    """The kernel TensorRT-LLM's SM120 launcher would build for ``c``'s tile and schedule: C = D, epilogue
    TmaWarpSpecialized, with the most stages that fit ``c``'s limit (``None`` if not even 2 fit)."""
    from ..verdict import max_fitting_stages

    if c.epilogue == "c_eq_d":
        return c
    base = c.config.replace(c=c.config.d.value, epilogue_schedule="TmaWarpSpecialized", stages=2)
    stages = max_fitting_stages(base, c.limit_bytes)
    if stages is None:
        return None
    cfg = base.with_stages(stages)
    return Candidate(cfg, c.swap_ab, c.dtype, "c_eq_d", c.schedule, c.limit_bytes, c.ctas_per_sm, footprint(cfg))


def k_bytes(c: Candidate) -> int:
    widest = max(c.config.a.bits, c.config.b.bits)
    return c.config.tile[2] * widest // 8


def tile_enum_name(c: Candidate) -> str:
    m, n, _ = c.config.tile
    return f"CtaShape{m}x{n}x{k_bytes(c)}B"


def _schedule_enum(c: Candidate) -> str:
    return "PINGPONG" if c.schedule == "pingpong" else "COOPERATIVE"


def trtllm_patch(candidates: Sequence[Candidate], provenance: Iterable[str] = (), title: str = "") -> str:
    """The patch-ready text for ``candidates`` (SM12x, C = D epilogue expected; others are skipped)."""
    from .. import __version__

    # SM120 and SM121 build the same cutlass::arch::Sm120 kernel: one entry per (dtype, tile, schedule, swap-AB)
    unique: dict = {}
    for c in candidates:
        if c.config.arch.is_sm12x and c.epilogue == "c_eq_d":
            unique.setdefault((c.dtype, c.config.tile, c.schedule, c.swap_ab), c)
    cands = [unique[k] for k in sorted(unique)]
    versions = sorted({str(c.config.cutlass) for c in cands})
    lines = [
        f"# {title or 'TensorRT-LLM additions for SM120/SM121 MoE grouped GEMM'}",
        f"# Generated by smem_tactics {__version__} for CUTLASS {', '.join(versions) or '-'}; regenerate, do not edit.",
        "#",
        "# Every kernel below is what TensorRT-LLM's SM120 MoE launcher builds (C = D, epilogue TmaWarpSpecialized,",
        "# cluster 1x1x1) with an explicit StageCount<S>: S is the most stages whose sizeof(GemmKernel::SharedStorage)",
        "# fits 101376 B, the opt-in limit of every SM12x part, so CUTLASS's automatic carve-out cannot overshoot.",
        "# The byte counts are the smem_tactics model's, checked against the compiled CUTLASS headers by its oracle.",
    ]
    lines += [f"# {p}" for p in provenance]
    lines += ["", "## 1. gemm_configs.h: CutlassTileConfigSM120 entries (K in bytes, shape-encoded values)", ""]
    seen = set()
    for c in cands:
        name = tile_enum_name(c)
        if name in seen:
            continue
        seen.add(name)
        m, n, _ = c.config.tile
        lines.append(f"    {name} = {m * 1000000 + n * 1000 + k_bytes(c)},")
    lines += ["", "## 2. generate_kernels.py: generate_sm120_grouped_gemm_operations entries",
              "##    (cta_m, cta_n, cta_k in elements, stages, mainloop schedule, swap_ab, operand type); "
              "epilogue fusion NONE, outputs bf16 (f16 has the same footprint)", "",
              "SM120_SYNTHESIZED_GROUPED_GEMMS = ["]
    for c in cands:
        m, n, k = c.config.tile
        sched = "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if c.schedule == "pingpong" else "Cooperative")
        dtype = "e2m1" if c.config.a.bits == 4 and c.config.b.bits == 4 else "(e4m3, e2m1)"
        lines.append(f"    ({m}, {n}, {k}, {c.stages}, \"{sched}\", {c.swap_ab}, \"{dtype}\"),  "
                     f"# {c.total_bytes} B SharedStorage")
    lines += ["]", "", "## 3. cutlass_heuristic.cpp: get_candidate_configs_sm120, GROUPED_GEMM candidates", "",
              "    // generated by smem_tactics: every config fits 101376 B (bytes = sizeof(GemmKernel::SharedStorage))"]
    done = set()
    for c in cands:
        key = (tile_enum_name(c), c.schedule, c.dtype)
        if key in done:
            continue
        done.add(key)
        twins = [x for x in cands if (tile_enum_name(x), x.schedule, x.dtype) == key]
        fp = "; ".join(f"{'swap_ab' if x.swap_ab else 'no swap'}: StageCount<{x.stages}> = {x.total_bytes} B"
                       for x in twins)
        lines.append(f"    // {c.dtype} {'x'.join(map(str, c.config.tile))} (elements), {c.schedule}: {fp}")
        lines.append(f"    candidate_configs.push_back(CutlassGemmConfig{{CutlassTileConfigSM120::{tile_enum_name(c)}, "
                     f"MainloopScheduleType::{_schedule_enum(c)}, EpilogueScheduleType::AUTO, "
                     f"ClusterShape::ClusterShape_1x1x1}});")
    lines += ["", "## 4. Launcher and dispatch changes these entries need", "",
              "* moe_gemm_tma_ws_launcher.inl (SM120 branch): take the stage count from the instantiation and pass",
              "  cutlass::gemm::collective::StageCount<Stages> to the mainloop CollectiveBuilder instead of",
              "  StageCountAutoCarveout<sizeof(CollectiveEpilogue::SharedStorage)>; take the mainloop schedule from the",
              "  instantiation (KernelPtrArrayTmaWarpSpecializedCooperative / ...Pingpong) instead of KernelScheduleAuto.",
              "* moe_gemm_template_dispatch_tma_ws.h: a SHAPE_CASE(120, M, N, K) per new tile enum, and",
              "  are_tile_shapes_supported_sm120 accepting those tiles; dispatch on mainloop_schedule for SM120.",
              "* The stage count is per (tile, schedule, swap_ab): the swap-AB build writes D column-major, which can",
              "  change the epilogue's shared memory; both are listed above.",
              "* Build against the CUTLASS release named in the header: SM120 scale-factor storage for N < 128 is only",
              "  laid out correctly from CUTLASS 4.5.0 (SFB padded to 128 columns)."]
    return "\n".join(lines) + "\n"


__all__ = ["framework_status", "trtllm_patch", "trtllm_baselines", "trtllm_twin", "tile_enum_name", "k_bytes", "TRTLLM_1_2_NVFP4_TILES",
           "FLASHINFER_0_7_2_EXTRA_NVFP4_TILES"]
