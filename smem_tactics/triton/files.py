"""Tuned-config files of vLLM and SGLang for the fused-MoE Triton kernel, with every entry guaranteed to fit.

Formats (read from the frameworks' sources):

* vLLM (vllm-project/vllm at 13cb3e44, ``fused_moe.py``: ``get_config_file_name`` / ``get_moe_configs``):
  ``E={E},N={N},device_name={device}[,dtype={dtype}][,block_shape=[bn,bk]].json`` with the device name as torch
  reports it, spaces replaced by ``_`` (any H200 variant is ``NVIDIA_H200``), ``block_shape`` without spaces;
  the JSON maps token counts (string keys, read back with ``int(key)``) to ``BLOCK_SIZE_M/N/K``,
  ``GROUP_SIZE_M``, ``num_warps``, ``num_stages``; an optional ``"triton_version"`` key is ignored by the loader.
* SGLang (sgl-project/sglang, ``python/sglang/srt/layers/moe/fused_moe_triton/configs/``): the same JSON and
  file name (``block_shape=[128, 128]`` keeps its space), in a folder per Triton release, ``triton_3_6_0/``.

``N`` in the name is the sharded intermediate size (vLLM's ``benchmark_moe.py`` saves ``N = shard_intermediate
_size // 2`` with ``shard_intermediate_size = 2 * moe_intermediate_size // tp``).

The ranking is a **prediction** (:func:`layer_predicted_us`: the time model of :mod:`.cost` for the layer's two
GEMMs, which vLLM runs with the one entry) whose parameters were fitted on measured runs of the project's Triton
contender on one NVIDIA H200 (``data/triton_cost.json``); on other GPUs the fitted efficiencies and fixed times are
assumed to transfer, with that GPU's facts from ``data/gpus.json``. ``--measure`` (:mod:`.measure`) replaces the
prediction's pick by the fastest measured candidate on the local GPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..devices import GpuFacts, gpu_facts
from ..errors import ConfigError, SmemTacticsError
from ..problems import MoeShape, model_shape
from .config import TritonConfig, Variant, parse_release
from .cost import (Launch, Machine, TritonCostParams, dram_bytes, fitted_document, fitted_params, launch_time_us,
                   mma_family, outside_fitted_domain, tile_count, weight_bytes)
from .model import BLOCK_SCALE_K, footprint
from .prune import vllm_search_space

#: Token counts vLLM's ``benchmark_moe.py`` tunes by default.
TOKEN_COUNTS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096)

#: ``torch.cuda.get_device_name()`` of the table's GPUs, as the frameworks' shipped config names spell them
#: (e.g. SGLang's ``device_name=NVIDIA_RTX_PRO_6000_Blackwell_Workstation_Edition``, ``NVIDIA_H100_80GB_HBM3``,
#: ``NVIDIA_L40S``, ``NVIDIA_B200``, ``NVIDIA_H200``).
TORCH_DEVICE_NAMES = {
    "gb10": "NVIDIA GB10", "rtx-pro-6000": "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
    "rtx-5090": "NVIDIA GeForce RTX 5090", "h100": "NVIDIA H100 80GB HBM3", "h200": "NVIDIA H200",
    "b200": "NVIDIA B200", "a100": "NVIDIA A100-SXM4-80GB", "l40s": "NVIDIA L40S",
}

FRAMEWORKS = ("vllm", "sglang")
#: The JSON sidecar of a measured file: ``<file stem>.smem_tactics.measured.json``.
MEASURED_SUFFIX = ".smem_tactics.measured.json"


def file_device_name(torch_name: str) -> str:
    """The ``device_name=`` of a config file for a GPU torch calls ``torch_name`` (spaces as ``_``; any H200
    variant is ``NVIDIA_H200``, as vLLM's ``get_config_file_name`` spells it)."""
    name = torch_name.strip().replace(" ", "_")
    return "NVIDIA_H200" if "H200" in name.split("_") else name


def device_file_name(gpu: str) -> str:
    facts = gpu_facts(gpu)
    name = TORCH_DEVICE_NAMES.get(facts.key)
    if name is None:
        raise ConfigError("--gpu", gpu, ", ".join(TORCH_DEVICE_NAMES), "no torch device name known")
    return file_device_name(name)


def file_name(framework: str, experts: int, n: int, gpu: str, variant: Variant) -> str:
    dtype = variant.framework_dtype
    name = f"E={experts},N={n},device_name={device_file_name(gpu)}"
    if dtype:
        name += f",dtype={dtype}"
    if variant is Variant.FP8_W8A8_BLOCK:
        name += ",block_shape=[128,128]" if framework == "vllm" else ",block_shape=[128, 128]"
    return name + ".json"


def predicted_time_us(cfg: TritonConfig, shared: int, gpu: GpuFacts, shape: MoeShape, tokens: int, n: int,
                      k: int, params: Optional[TritonCostParams] = None) -> float:
    """Predicted time of one GEMM (a prediction: :mod:`.cost` with the parameters fitted on the H200, rows routed
    evenly over ``min(experts, rows)`` experts)."""
    params = params or fitted_params()
    rows = tokens * shape.top_k
    active = min(shape.experts, rows)
    a_bytes, w_bytes = float(cfg.dtype.a_bytes), weight_bytes(cfg.dtype)
    launch = Launch(block_m=cfg.block_m, block_n=cfg.block_n, block_k=cfg.block_k, num_warps=cfg.num_warps,
                    num_stages=cfg.num_stages,
                    shared=shared, a_bytes=a_bytes, w_bytes=w_bytes,
                    tiles=tile_count(rows, active, cfg.block_m, n, cfg.block_n), k=k,
                    dram_bytes=dram_bytes(rows, active, n, k, a_bytes, w_bytes))
    tflops = gpu.tflops.get(mma_family(cfg.dtype), gpu.tflops.get("bf16", 1.0))
    machine = Machine(sms=gpu.sms, smem_per_sm=gpu.smem_per_sm, mem_bw_gbps=gpu.mem_bw_gbps, tflops=tflops)
    return launch_time_us(params, launch, machine)


def layer_predicted_us(cfg: TritonConfig, shared: int, gpu: GpuFacts, shape: MoeShape, tokens: int, tp: int = 1,
                       params: Optional[TritonCostParams] = None) -> float:
    """Predicted time of one MoE layer's two GEMMs with ``cfg``: vLLM runs both with the one config its file
    gives for the token count (``fused_experts_impl``: GEMM1 ``N = 2 I, K = H``; GEMM2 ``N = H, K = I``)."""
    return sum(predicted_time_us(cfg, shared, gpu, shape, tokens, *shape.gemm_nk(gemm, tp), params=params)
               for gemm in (1, 2))


@dataclass(frozen=True)
class TuningPlan:
    """What a config file is chosen from: the GPU, the model, and every config of vLLM's tuning space that fits
    (with its exact shared memory), in the space's order."""

    gpu: GpuFacts
    shape: MoeShape
    variant: Variant
    release: str
    tp: int
    candidates: Tuple[Tuple[TritonConfig, int], ...]

    @property
    def limit(self) -> int:
        return self.gpu.smem_per_block_optin


@dataclass(frozen=True)
class Ranked:
    """A fitting config with its predicted layer time and its place in the prediction (1 = best)."""

    config: TritonConfig
    shared: int
    predicted_us: float
    rank: int


def tuning_plan(gpu: str, model: str, variant: Variant, release: str, tp: int = 1) -> TuningPlan:
    facts = gpu_facts(gpu)
    shape = model_shape(model)
    shape.gemm_nk(1, tp), shape.gemm_nk(2, tp)  # a tp that does not divide the GEMMs is refused here
    limit = facts.smem_per_block_optin
    candidates: List[Tuple[TritonConfig, int]] = []
    seen = set()
    for meta in vllm_search_space():
        bk = meta["BLOCK_SIZE_K"]
        if variant is Variant.FP8_W8A8_BLOCK:
            bk = min(bk, BLOCK_SCALE_K)
        key = (meta["BLOCK_SIZE_M"], meta["BLOCK_SIZE_N"], bk, meta["GROUP_SIZE_M"], meta["num_warps"],
               meta["num_stages"])
        if key in seen:
            continue
        seen.add(key)
        try:
            cfg = TritonConfig.create(variant, facts.arch, release, block_m=key[0], block_n=key[1], block_k=key[2],
                                      group_m=key[3], num_warps=key[4], num_stages=key[5])
            shared = footprint(cfg).shared_bytes
        except SmemTacticsError:
            continue
        if shared <= limit:
            candidates.append((cfg, shared))
    if not candidates:
        raise ConfigError("--dtype", variant.value, "a variant the model answers on this target",
                          f"no config of the tuning space fits {limit} B on {facts.arch}")
    return TuningPlan(facts, shape, variant, release, tp, tuple(candidates))


def ranked_candidates(plan: TuningPlan, tokens: int) -> List[Ranked]:
    """Every fitting config, best predicted first -- those outside the time model's fitted domain
    (:func:`~smem_tactics.triton.cost.outside_fitted_domain`) after all others -- (ties: more stages, then less
    shared memory, then the tuning space's order -- so GROUP_SIZE_M, which the time model does not see, keeps the space's first value)."""
    scored = [(layer_predicted_us(cfg, shared, plan.gpu, plan.shape, tokens, plan.tp), cfg, shared)
              for cfg, shared in plan.candidates]
    # configs the time model was not fitted on (register-heavy tiles) go after every config it can rank
    outside = [bool(outside_fitted_domain(cfg)) for _, cfg, _ in scored]
    order = sorted(range(len(scored)), key=lambda i: (outside[i], scored[i][0], -scored[i][1].num_stages,
                                                      scored[i][2], i))
    return [Ranked(scored[i][1], scored[i][2], scored[i][0], place + 1) for place, i in enumerate(order)]


def plan_notes(plan: TuningPlan) -> dict:
    return {"fitting_configs": len(plan.candidates), "limit_bytes": plan.limit, "target": plan.gpu.arch,
            "triton": plan.release, "ranking": ranking_note(plan.gpu.key),
            "shared_memory": "exact model (smem_tactics.triton), compiled against Triton " + plan.release}


def best_configs(gpu: str, model: str, variant: Variant, release: str, tp: int = 1,
                 tokens: Sequence[int] = TOKEN_COUNTS) -> Tuple[dict, dict]:
    """``(entries, notes)``: the best-predicted fitting config per token count, and how it was chosen."""
    plan = tuning_plan(gpu, model, variant, release, tp)
    entries = {str(t): ranked_candidates(plan, t)[0].config.meta() for t in tokens}
    return entries, plan_notes(plan)


def ranking_note(gpu_key: str) -> str:
    fitted = fitted_document()
    where = ("fitted on this card" if gpu_key == "h200" else
             "fitted on the " + fitted["card"] + "; assumed to transfer to this GPU, whose facts come from "
             "data/gpus.json")
    return (f"predicted time of the layer's two GEMMs (gate+up and down: vLLM runs both with the entry) by the "
            f"Triton time model (smem_tactics/triton/cost.py) with parameters {where} "
            f"(data/triton_cost.json, status {fitted['status']}, Triton {fitted['triton']}; docs/triton.md has the "
            f"fit's validation); not measured")


def file_stem(framework: str, gpu: str, model: str, variant: Variant, release: str, tp: int = 1) -> Tuple[Path, str]:
    """``(folder under the output folder, file name)`` of the config file (SGLang: a folder per Triton release)."""
    if framework not in FRAMEWORKS:
        raise ConfigError("--framework", framework, FRAMEWORKS)
    shape = model_shape(model)
    n = shape.gemm_nk(1, tp)[0] // 2 if shape.gated else shape.gemm_nk(1, tp)[0]
    folder = Path(".") if framework == "vllm" else Path("triton_" + release.replace(".", "_"))
    return folder, file_name(framework, shape.experts, n, gpu, variant)


def write_files(out_dir: Path, framework: str, gpu: str, model: str, variant: Variant, release: str,
                tp: int = 1, tokens: Sequence[int] = TOKEN_COUNTS, measured=None) -> List[Path]:
    """Write the config file and its ``.smem_tactics.md`` note: predicted entries, or with ``measured`` (a
    :class:`~smem_tactics.triton.measure.MeasuredRun`) its entries, plus the timings' JSON sidecar."""
    release = parse_release(release)
    sub, name = file_stem(framework, gpu, model, variant, release, tp)
    if measured is None:
        entries, notes = best_configs(gpu, model, variant, release, tp, tokens)
    else:
        entries, notes = measured.entries(), plan_notes(measured.plan)
    folder = out_dir / sub
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    document = dict(entries)
    document["triton_version"] = release
    path.write_text(json.dumps(document, indent=4) + "\n")
    stem = name[:-5]
    note = folder / (stem + ".smem_tactics.md")
    lines = [f"# {name}", "", f"Written by smem-tactics triton-configs for {gpu} ({notes['target']}), "
             f"{model}, {variant.value}, TP={tp}.", "",
             f"* shared memory: {notes['shared_memory']}; every entry <= {notes['limit_bytes']} B "
             f"({notes['fitting_configs']} configs of vLLM's tuning space fit)"]
    written = [path, note]
    if measured is None:
        lines += [f"* ranking: {notes['ranking']}", "* measured: nothing (no --measure run)"]
    else:
        sidecar = folder / (stem + MEASURED_SUFFIX)
        sidecar.write_text(json.dumps(measured.sidecar(name), indent=1) + "\n")
        lines += [f"* candidates ranked by: {notes['ranking']}"] + measured.note_lines(sidecar.name)
        written.append(sidecar)
    note.write_text("\n".join(lines + [""]))
    return written


__all__ = ["TOKEN_COUNTS", "TORCH_DEVICE_NAMES", "FRAMEWORKS", "MEASURED_SUFFIX", "file_name", "file_device_name",
           "device_file_name", "file_stem", "best_configs", "write_files", "predicted_time_us", "layer_predicted_us",
           "TuningPlan", "Ranked", "tuning_plan", "ranked_candidates", "plan_notes", "ranking_note"]
