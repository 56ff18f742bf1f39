"""The search space of config synthesis, read from ``data/synthesis.json``.

:func:`raw_configs` enumerates, for an arch and a dtype recipe, every combination of tile (M x N x K, K
given in bytes of the widest operand), kernel schedule, cluster, epilogue variant and swap-AB, as a
:class:`KernelConfig` at a placeholder ``StageCount<2>`` -- before legality, the accumulator filter and the
shared-memory limit are applied (that is :mod:`smem_tactics.synthesis.candidates`).

Swap-AB computes ``D^T = W . X^T``: A is the weight (the problem's N runs along the tile's M), B the
activations (tokens along the tile's N), and D is written column-major, which is the same memory as the
row-major ``tokens x N`` output. It is how small-M (decode) MoE GEMMs get a small tile along the tokens.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Iterator, Optional

from ..config import Arch, KernelConfig, KernelSchedule
from ..errors import ConfigError
from ..versions import CutlassVersion

KS = KernelSchedule


@functools.lru_cache(maxsize=1)
def space_table() -> dict:
    return json.loads(resources.files("smem_tactics").joinpath("data/synthesis.json").read_text())


def dtype_names() -> tuple:
    return tuple(space_table()["dtypes"])


@dataclass(frozen=True)
class DtypeRecipe:
    """How a dtype name (``nvfp4``, ``fp8``, ...) becomes operand types on one arch."""

    name: str
    activation: str
    weight: str
    d: str
    kind: str
    tflops_key: str
    scale_granularity: Optional[tuple]
    about: str
    min_cutlass: Optional[CutlassVersion] = None  # the first CUTLASS release with these kernels on this arch

    def operands(self, swap_ab: bool) -> tuple:
        """(A, B) operand types: swap-AB puts the weight in A."""
        return (self.weight, self.activation) if swap_ab else (self.activation, self.weight)

    def granularity(self, swap_ab: bool) -> Optional[tuple]:
        """Blockwise scale granularity (gM, gN, gK) in the kernel's view (swap-AB exchanges gM and gN)."""
        if self.scale_granularity is None:
            return None
        gm, gn, gk = self.scale_granularity
        return (gn, gm, gk) if swap_ab else (gm, gn, gk)


def dtype_recipe(dtype: str, arch: Arch) -> DtypeRecipe:
    """The recipe for ``dtype`` on ``arch``; a clear error names the dtypes the arch has."""
    table = space_table()["dtypes"]
    key = str(dtype).strip().lower().replace("-", "_")
    key = {"fp4": "nvfp4", "e4m3": "fp8", "fp8_e4m3": "fp8", "w4a8": "mxfp8xmxfp4", "mxfp4": "mxfp8xmxfp4",
           "bfloat16": "bf16"}.get(key, key)
    arch_key = arch.value
    usable = [name for name, d in table.items() if arch_key in d["archs"] or arch_key in d.get("per_arch", {})]
    if key not in table:
        raise ConfigError("dtype", dtype, usable or dtype_names())
    d = dict(table[key])
    if arch_key not in d["archs"] and arch_key not in d.get("per_arch", {}):
        extra = " (SM12x has no dense BF16 grouped GEMM in CUTLASS's 3.x builders)" if key == "bf16" else ""
        raise ConfigError("dtype", dtype, usable, f"not available on {arch_key}{extra}")
    d.update(d.get("per_arch", {}).get(arch_key, {}))
    sg = tuple(d["scale_granularity"]) if d.get("scale_granularity") else None
    min_cutlass = d.get("min_cutlass", {}).get(arch_key)
    return DtypeRecipe(key, d["activation"], d["weight"], d["d"], d["kind"], d["tflops_key"], sg, d.get("about", ""),
                       CutlassVersion.parse(min_cutlass) if min_cutlass else None)


def check_recipe_version(recipe: DtypeRecipe, arch: Arch, cutlass: CutlassVersion) -> None:
    """A clear error when the recipe's kernels need a newer CUTLASS on this arch than the one targeted."""
    if recipe.kind == "dense" and arch.family is Arch.SM120:
        # the SM12x dense (FP8) grouped GEMM is the sm120_dense_ptr_array delta: a tree between tags that carries it
        # qualifies whatever its version.h says
        from ..versions import SM120_DENSE_PTR_ARRAY

        if cutlass.has(SM120_DENSE_PTR_ARRAY):
            return
    if recipe.min_cutlass is not None and cutlass < recipe.min_cutlass:
        raise ConfigError("cutlass", str(cutlass), f"{recipe.min_cutlass} or newer",
                          f"{recipe.name} grouped GEMM on {arch.value} exists from CUTLASS {recipe.min_cutlass}")


def _arch_space(arch: Arch) -> dict:
    spaces = space_table()["archs"]
    key = arch.family.value
    if key not in spaces:
        raise ConfigError("arch", arch.value, [a for a in spaces])
    return spaces[key]


def _kernel_schedule(arch: Arch, kind: str, a: str, schedule: str) -> KernelSchedule:
    family = arch.family
    fp8 = a in ("e4m3", "e5m2")
    if family is Arch.SM90:
        if kind == "blockwise":
            return KS.PTR_ARRAY_PINGPONG_FP8_BLOCKWISE if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE_FP8_BLOCKWISE
        if fp8:
            return KS.PTR_ARRAY_PINGPONG_FP8_FAST_ACCUM if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE_FP8_FAST_ACCUM
        return KS.PTR_ARRAY_PINGPONG if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE
    if family is Arch.SM120:
        if kind == "blockwise":
            return KS.PTR_ARRAY_PINGPONG_BLOCKWISE_SM120 if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE_BLOCKWISE_SM120
        if kind == "dense":  # the F8F6F4 ptr-array mainloop of CUTLASS >= 4.6 takes only its own schedules
            return KS.PTR_ARRAY_PINGPONG_SM120 if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE_SM120
        return KS.PTR_ARRAY_PINGPONG if schedule == "pingpong" else KS.PTR_ARRAY_COOPERATIVE
    two_sm = schedule == "2sm"
    if kind == "block_scaled":
        return KS.PTR_ARRAY_2SM_BLOCK_SCALED_SM100 if two_sm else KS.PTR_ARRAY_1SM_BLOCK_SCALED_SM100
    return KS.PTR_ARRAY_2SM_SM100 if two_sm else KS.PTR_ARRAY_1SM_SM100


def _epilogue(variant: str, arch: Arch, d: str) -> tuple:
    """(C type or None, epilogue schedule name) of an epilogue variant."""
    table = space_table()["epilogues"]
    if variant not in table:
        raise ConfigError("epilogue", variant, list(table))
    e = table[variant]
    c = d if e["c"] == "d" else e["c"]
    sched = e["epilogue_schedule"]
    if isinstance(sched, dict):
        sched = sched.get(arch.family.value, sched["default"])
    return c, sched


@dataclass(frozen=True)
class RawConfig:
    """One point of the search space before stage pinning."""

    config: KernelConfig  # at StageCount<2>
    swap_ab: bool
    epilogue: str  # epilogue variant name
    schedule: str  # cooperative | pingpong | 1sm | 2sm
    tile_k_bytes: int


def k_elements(k_bytes: int, a_bits: int, b_bits: int) -> Optional[int]:
    """Tile K in elements for a K given in bytes of the widest operand (``None`` if not whole)."""
    widest = max(a_bits, b_bits)
    if (k_bytes * 8) % widest:
        return None
    return k_bytes * 8 // widest


#: The mode synthesis uses unless told otherwise: a grouped GEMM runs any MoE routing; a ptr-array GEMM only
#: problems whose groups all have one shape (at decode batch 1 every active expert has one row).
DEFAULT_MODES = ("grouped",)


def raw_configs(arch: Arch, dtype: str, cutlass: CutlassVersion, *, swap_ab=(False, True), schedules=None,
                epilogues=None, tiles_m=None, tiles_n=None, tile_k_bytes=None, clusters=None,
                modes=None) -> Iterator[RawConfig]:
    """Every search-space point for ``arch`` and ``dtype`` (optionally narrowed by the keyword lists; ``modes``
    defaults to :data:`DEFAULT_MODES`, the arch's ``modes`` list says what may be asked for)."""
    from ..config import DType

    space = _arch_space(arch)
    modes = tuple(modes or DEFAULT_MODES)
    for m in modes:
        if m not in space.get("modes", DEFAULT_MODES):
            raise ConfigError("mode", m, space.get("modes", DEFAULT_MODES), space.get("modes_why", ""))
    recipe = dtype_recipe(dtype, arch)
    check_recipe_version(recipe, arch, cutlass)
    schedules = tuple(schedules or space["schedules"])
    for s in schedules:
        if s not in space["schedules"]:
            raise ConfigError("schedule", s, space["schedules"])
    epilogues = tuple(epilogues or space["epilogues"])
    for e in epilogues:
        if e not in space["epilogues"]:
            raise ConfigError("epilogue", e, space["epilogues"], f"not an epilogue variant of {arch.family.value}")
    grid = itertools.product(
        tuple(tiles_m or space["tile_m"]), tuple(tiles_n or space["tile_n"]),
        tuple(tile_k_bytes or space["tile_k_bytes"]), schedules,
        tuple(tuple(c) for c in (clusters or space["clusters"])), epilogues, tuple(swap_ab), modes)
    for tm, tn, kb, sched, cluster, epi, swap, mode in grid:
        a, b = recipe.operands(swap)
        k_el = k_elements(kb, DType.parse(a, "a").bits, DType.parse(b, "b").bits)
        if k_el is None:
            continue
        c, epi_sched = _epilogue(epi, arch, recipe.d)
        cfg = KernelConfig.create(
            arch.value, a, b, c=c, d=recipe.d, tile=(tm, tn, k_el), kind=recipe.kind,
            layout_cd="col" if swap else "row", cluster=cluster,
            kernel_schedule=_kernel_schedule(arch, recipe.kind, a, sched).value,
            epilogue_schedule=epi_sched, stages=2, scale_granularity=recipe.granularity(swap), cutlass=str(cutlass),
            mode=mode)
        yield RawConfig(cfg, swap, epi, sched, kb)


__all__ = ["DtypeRecipe", "RawConfig", "DEFAULT_MODES", "dtype_recipe", "check_recipe_version", "dtype_names",
           "raw_configs", "space_table", "k_elements"]
