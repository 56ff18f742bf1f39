"""Time of one fused-MoE Triton launch: a prediction with parameters fitted on H200 measurements.

Form (one launch of ``tiles`` output tiles, BLOCK_M x BLOCK_N each, walking K in BLOCK_K steps)::

    time = launch_us + sum over waves of  smooth_max(memory, mma, iterations)

* a wave is as many tiles as the GPU holds at once: ``sms x resident`` with ``resident`` set by the shared memory
  per SM (exact footprint + 1 KiB reserved per block) and 64 warps per SM;
* ``memory``: the wave's share (its tiles over all tiles) of the launch's DRAM bytes -- every routed row of A once
  and every active expert's weights once (re-reads of a tile's operands are assumed to hit L2) -- over
  ``dram_efficiency x`` the GPU's DRAM bandwidth;
* ``mma``: the busiest SM's tiles' ``2 x BM x BN x K`` flop over ``mma_efficiency x`` its tensor throughput
  (the datasheet's fp8 rate for 8-bit activations, else bf16; one efficiency for both: the runs cannot tell a
  separate bf16 one apart -- fitted alone it runs off to values > 1, i.e. bf16 never MMA-bound);
* ``iterations``: ``ceil(K / BK) x (iteration_ns + latency_ns / (num_stages - 1))`` -- the fixed per-step cost of
  a tile (address arithmetic, the loop), and the load latency the pipeliner hides behind ``num_stages - 1`` steps
  in flight;
* ``smooth_max(x) = (sum x^p)^(1/p)`` with ``p = SMOOTH_P``: a roof that bends instead of a kink (fits are smooth).

The parameters (``data/triton_cost.json``) are fitted by ``scripts/fit_triton_cost.py`` on the Triton contender's
measured runs on one NVIDIA H200 (Triton 3.6.0; docs/triton.md has the fit and its validation). On other GPUs the
same efficiencies and fixed times are **assumed** to transfer; only the GPU facts (``data/gpus.json``) change.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, fields
from importlib import resources
from typing import Mapping

from .config import Variant

#: Exponent of the smooth maximum of the three per-wave bounds (fixed, not fitted).
SMOOTH_P = 4.0
#: Shared memory a block costs beyond its footprint (the CUDA runtime reserves 1 KiB per block).
RESERVED_PER_BLOCK = 1024
#: Warps an SM of every target here holds at once (limits residency of wide blocks).
WARPS_PER_SM = 64

@dataclass(frozen=True)
class TritonCostParams:
    launch_us: float
    iteration_ns: float
    latency_ns: float
    dram_efficiency: float
    mma_efficiency: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> "TritonCostParams":
        return cls(**{name: float(values[name]) for name in PARAMETER_NAMES})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in PARAMETER_NAMES}


#: The fitted parameters, in the order the fit script and the data file use (the dataclass's fields).
PARAMETER_NAMES = tuple(f.name for f in fields(TritonCostParams))


@dataclass(frozen=True)
class Launch:
    """What the time depends on, independent of where the numbers come from (a config object or a run log)."""

    block_m: int
    block_n: int
    block_k: int
    num_warps: int
    num_stages: int
    shared: int
    a_bytes: float
    w_bytes: float
    tiles: int
    k: int
    dram_bytes: float  # the launch's operand bytes read once: A's routed rows and the active experts' weights


@dataclass(frozen=True)
class Machine:
    sms: int
    smem_per_sm: int
    mem_bw_gbps: float
    tflops: float  # dense tensor TFLOP/s of the launch's MMA family (see mma_family)


@functools.lru_cache(maxsize=1)
def fitted_document() -> dict:
    return json.loads(resources.files("smem_tactics").joinpath("data/triton_cost.json").read_text())


def fitted_params() -> TritonCostParams:
    """The parameters committed in ``data/triton_cost.json`` (fitted on the H200; assumed elsewhere)."""
    return TritonCostParams.from_mapping(fitted_document()["parameters"])


def weight_bytes(variant: Variant) -> float:
    if variant is Variant.INT4_W4A16:
        return 0.5
    if variant is Variant.INT8_W8A16:
        return 1.0
    return float(variant.a_bytes)


def mma_family(variant: Variant) -> str:
    """Weight-only kernels dequantize to 16 bits before the MMA: they run at the bf16 rate."""
    return "fp8" if variant.a_bytes == 1 else "bf16"


def tile_count(rows: int, active_experts: int, block_m: int, n: int, block_n: int) -> int:
    """Tiles of the padded grid (each active expert's rows padded to BLOCK_M), rows spread evenly over experts."""
    per_expert = math.ceil(rows / active_experts)
    return active_experts * math.ceil(per_expert / block_m) * math.ceil(n / block_n)


def dram_bytes(rows: int, active_experts: int, n: int, k: int, a_bytes: float, w_bytes: float) -> float:
    return float(rows * k * a_bytes + active_experts * n * k * w_bytes)


def resident_blocks(launch: Launch, machine: Machine) -> int:
    by_smem = machine.smem_per_sm // (launch.shared + RESERVED_PER_BLOCK)
    return max(1, min(by_smem, WARPS_PER_SM // launch.num_warps))


def launch_time_us(params: TritonCostParams, launch: Launch, machine: Machine) -> float:
    """Predicted time of one launch in microseconds (see the module docstring for the form)."""
    efficiency = params.mma_efficiency
    per_wave = machine.sms * resident_blocks(launch, machine)
    tile_bytes = launch.dram_bytes / launch.tiles
    tile_flop = 2.0 * launch.block_m * launch.block_n * launch.k
    bytes_per_us = machine.mem_bw_gbps * 1e3 * params.dram_efficiency
    flop_per_us_per_sm = machine.tflops * 1e6 * efficiency / machine.sms
    steps = math.ceil(launch.k / launch.block_k)
    in_flight = max(1, launch.num_stages - 1)  # K steps the pipeliner loads ahead of the MMA
    iterations_us = steps * (params.iteration_ns + params.latency_ns / in_flight) * 1e-3
    total = params.launch_us
    full_waves, last = divmod(launch.tiles, per_wave)
    for count, tiles in ((full_waves, per_wave), (1 if last else 0, last)):
        if not count:
            continue
        memory = tiles * tile_bytes / bytes_per_us
        mma = math.ceil(tiles / machine.sms) * tile_flop / flop_per_us_per_sm
        wave = (memory ** SMOOTH_P + mma ** SMOOTH_P + iterations_us ** SMOOTH_P) ** (1.0 / SMOOTH_P)
        total += count * wave
    return total


__all__ = ["SMOOTH_P", "PARAMETER_NAMES", "TritonCostParams", "Launch", "Machine", "fitted_document",
           "fitted_params", "weight_bytes", "mma_family", "tile_count", "dram_bytes", "resident_blocks",
           "launch_time_us"]


#: Registers per thread of the largest fp32 accumulator in the runs the parameters were fitted on (128 x 256 with
#: 8 warps: ``BM x BN / (32 x warps)``). The model has no register term; beyond this it is extrapolating.
FITTED_ACCUMULATOR_REGISTERS = 128
#: Registers per thread of a weight-only kernel's dequantized fp32 B tile (``BK x BN / (32 x warps)``) beyond which
#: the first --measure run on the H200 (docs/triton.md, 2026-12-03) measured 2.2-7.5x slower layers than the same
#: tile with twice the warps (int4_w4a16 16x128x128 and 64x256x64: 4 warps 128 registers, 8 warps 64).
DEQUANTIZED_B_REGISTERS = 64


def outside_fitted_domain(cfg) -> str:
    """Why the time model cannot rank ``cfg`` (a :class:`~smem_tactics.triton.config.TritonConfig`) with the
    configs it was fitted on: ``""`` when it can. Such configs are ranked after every config it can rank: on the
    H200 the first one the model predicted best at 4096 tokens (256 x 256 with 4 warps: a 512-register accumulator)
    measured 3.8-13.9x slower than the best (docs/triton.md, ``--measure``)."""
    threads = 32 * cfg.num_warps
    acc = cfg.block_m * cfg.block_n / threads
    if acc > FITTED_ACCUMULATOR_REGISTERS:
        return (f"{acc:.0f} accumulator registers per thread (BM x BN / (32 x warps)) > "
                f"{FITTED_ACCUMULATOR_REGISTERS}, the largest the time model was fitted on")
    if cfg.dtype.weight_only:
        deq = cfg.block_k * cfg.block_n / threads
        if deq > DEQUANTIZED_B_REGISTERS:
            return (f"{deq:.0f} registers per thread for the dequantized B tile (BK x BN / (32 x warps)) > "
                    f"{DEQUANTIZED_B_REGISTERS}: measured several times slower than with twice the warps")
    return ""
