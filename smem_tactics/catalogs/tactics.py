"""The ordered tactic lists the C++ MoE runner builds, expanded from the cataloged base candidate lists.

``MoeGemmRunner::getConfigs(sm, supports_finalize_fusion)`` (``moe_gemm_template_dispatch.h``; same in
TensorRT-LLM 1.2 and both FlashInfer wheels) returns ``getTmaWarpSpecializedConfigs`` followed by
``getAmpereConfigs``. The TMA warp-specialized part is the base list from ``get_candidate_configs``, then --
for GEMM2 when finalize fusion is supported -- a FINALIZE copy of every config (FINALIZE with a ``NO_SMEM``
epilogue removed), then a swap-AB copy of everything; W4 group-wise runners keep only the swap-AB half.
``supports_finalize_fusion`` for GEMM2 is ``supportsTmaWarpSpecialized() && sm >= 90 && use_fused_finalize_
&& !use_w4_groupwise`` (``include/moe_kernels.h``).

The integer the autotuner passes as ``tactic``: TensorRT-LLM indexes each GEMM's own vector; FlashInfer keeps
one vector (GEMM1 then GEMM2), so a GEMM2 tactic's value is ``len(gemm1) + index``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from ..contract import require_bool
from ..errors import VersionError
from .registry import FrameworkVersion, catalog_data, normalize_arch, normalize_dtype, resolve_version

#: Bits of the runner's activation type T, which converts a tile enum's K bytes to elements (SHAPE_CASE).
_ACT_BITS = {"nvfp4": 4, "mxfp8_mxfp4": 8, "fp8": 8, "bf16": 16, "f16": 16, "w4a8": 8, "w4a16": 16}

_TMA_TILE = re.compile(r"CtaShape(\d+)x(\d+)x(\d+)B")
_SM80_TILE = re.compile(r"CtaShape(\d+)x(\d+)x(\d+)_WarpShape(\d+)x(\d+)x(\d+)")


def _shape(text: str) -> Optional[tuple]:
    if text in ("Undefined", "-", ""):
        return None
    return tuple(int(x) for x in text.split("x"))


@dataclass(frozen=True)
class Tactic:
    """One entry of a runner's tactic vector."""

    framework: str
    version: str
    arch: str  # as asked (sm121 shares sm120's list)
    dtype: str
    gemm: int
    index: int  # position in this GEMM's vector
    value: int  # what the autotuner passes as ``tactic``
    family: str  # "tma_ws" (CUTLASS 3.x grouped) | "sm80" (CUTLASS 2.x grouped)
    tile_name: str  # the C++ tile enum (K in bytes for TMA warp-specialized tiles)
    tile: tuple  # dispatched CTA tile, K in elements
    mma_tile: tuple  # the launcher's MmaTileShape (SM100 2-SM doubles M, SM103 triples K)
    warp: Optional[tuple] = None
    cluster: tuple = (1, 1, 1)
    dynamic_cluster: Optional[tuple] = None
    fallback_cluster: Optional[tuple] = None
    mainloop: str = "AUTO"
    epilogue: str = "AUTO"
    sm_version: int = 0
    finalize: bool = False
    swap_ab: bool = False
    stages: Optional[int] = None  # explicit CUTLASS 2.x stages; None = StageCountAutoCarveout
    sm80_arch: Optional[str] = None  # "sm80" / "sm89" for the 2.x kernels
    dispatch_error: Optional[str] = None  # the framework throws before launching (not a shared-memory cause)

    @property
    def fusion(self) -> str:
        return "FINALIZE" if self.finalize else "NONE"

    def short(self) -> str:
        """e.g. ``128x256x128 (CtaShape128x256x64B) FINALIZE swap_ab``."""
        t = "x".join(map(str, self.tile))
        parts = [f"{t} ({self.tile_name})"]
        if self.family == "sm80":
            parts.append(f"{self.stages} stages")
        if self.cluster != (1, 1, 1):
            parts.append("cluster " + "x".join(map(str, self.cluster)))
        if self.finalize:
            parts.append("FINALIZE")
        if self.swap_ab:
            parts.append("swap_ab")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {
            "index": self.index, "value": self.value, "family": self.family, "tile_name": self.tile_name,
            "tile": list(self.tile), "mma_tile": list(self.mma_tile), "warp": list(self.warp) if self.warp else None,
            "cluster": list(self.cluster), "dynamic_cluster": list(self.dynamic_cluster) if self.dynamic_cluster
            else None, "mainloop": self.mainloop, "epilogue": self.epilogue, "fusion": self.fusion,
            "swap_ab": self.swap_ab, "stages": self.stages if self.stages is not None else "auto",
            "dispatch_error": self.dispatch_error,
        }


def _base(fv: FrameworkVersion, arch: str, dtype: str) -> dict:
    lookup_arch = "sm120" if arch == "sm121" else arch
    lookup_dtype = "bf16" if dtype == "f16" else dtype
    archs = fv.archs
    if lookup_arch not in archs:
        raise VersionError(f"arch: {fv.label} has no {arch} catalog; cataloged: "
                           f"{', '.join(sorted(set(archs) | ({'sm121'} if 'sm120' in archs else set())))}")
    paths = archs[lookup_arch]
    if lookup_dtype not in paths:
        raise VersionError(f"dtype: {fv.label} on {arch} has no {dtype} tactics (the runner builds none: "
                           f"no TMA warp-specialized and no CUTLASS 2.x kernel); cataloged: "
                           f"{', '.join(sorted(paths) + (['f16'] if 'bf16' in paths else []))}")
    return paths[lookup_dtype]


def _tma_entry(code: str, dtype: str) -> dict:
    tile_name, cluster, mainloop, epilogue, dyn, fallback, sm_version = code.split("|")
    m, n, k_bytes = (int(x) for x in _TMA_TILE.fullmatch(tile_name).groups())
    k = k_bytes * 8 // _ACT_BITS[dtype]
    sm = int(sm_version)
    cl = _shape(cluster)
    two_sm = 100 <= sm < 120 and cl[0] == 2
    mma = (m * (2 if two_sm else 1), n, k * (3 if sm == 103 else 1))
    return dict(family="tma_ws", tile_name=tile_name, tile=(m, n, k), mma_tile=mma, cluster=cl,
                dynamic_cluster=_shape(dyn), fallback_cluster=_shape(fallback), mainloop=mainloop,
                epilogue=epilogue, sm_version=sm)


def _sm80_entry(code: str, arch_tag: str) -> dict:
    tile_name, stages = code.split("|")
    vals = [int(x) for x in _SM80_TILE.fullmatch(tile_name).groups()]
    return dict(family="sm80", tile_name=tile_name, tile=tuple(vals[:3]), mma_tile=tuple(vals[:3]),
                warp=tuple(vals[3:]), cluster=(1, 1, 1), mainloop="MmaPipelined" if stages == "2" else "MmaMultistage",
                epilogue="-", sm_version=80, stages=int(stages), sm80_arch=arch_tag)


@functools.lru_cache(maxsize=512)
def _expand(framework: str, version: str, arch: str, dtype: str, gemm: int, finalize: bool) -> tuple:
    fv = resolve_version(framework, version)
    spec = _base(fv, arch, dtype)
    lists = catalog_data()["lists"]
    not_dispatchable = spec.get("not_dispatchable", {})
    w4 = dtype in ("w4a8", "w4a16")
    tma = [(_tma_entry(code, dtype), not_dispatchable.get(code)) for code in lists.get(spec.get("tma_ws"), [])]
    configs = [(e, err, False) for e, err in tma]
    if gemm == 2 and finalize and tma and not w4:
        configs += [(e, err, True) for e, err in tma if e["epilogue"] != "NO_SMEM"]
    expanded = [(e, err, fin, False) for e, err, fin in configs] + [(e, err, fin, True) for e, err, fin in configs]
    if w4:
        expanded = [x for x in expanded if x[3]]
    entries = [dict(e, dispatch_error=err, finalize=fin, swap_ab=swap) for e, err, fin, swap in expanded]
    entries += [_sm80_entry(code, spec["sm80_arch"]) for code in lists.get(spec.get("sm80"), [])]
    return tuple(entries)


def tactics(framework: str, version: Optional[str], arch: str, dtype: str, gemm: int,
            finalize: Optional[bool] = None) -> tuple:
    """The ordered tactics of one GEMM of one runner, as :class:`Tactic` s.

    ``finalize`` is the runner's ``use_fused_finalize`` (default: the framework version's default, on).
    Raises :class:`~smem_tactics.errors.VersionError` for unknown framework / version / arch / dtype and for a
    GEMM index other than 1 or 2.
    """
    if isinstance(gemm, bool) or not isinstance(gemm, int) or gemm not in (1, 2):
        raise VersionError(f"gemm: {gemm!r} is not a MoE GEMM; allowed: 1 (fc1, gate/up), 2 (fc2, down)")
    fv = resolve_version(framework, version)
    arch_n, dtype_n = normalize_arch(arch), normalize_dtype(dtype)
    fin = fv.finalize_default if finalize is None else require_bool("finalize", finalize)
    entries = _expand(fv.framework, fv.key, arch_n, dtype_n, gemm, fin)
    offset = 0
    if fv.index_scheme == "combined" and gemm == 2:
        offset = len(_expand(fv.framework, fv.key, arch_n, dtype_n, 1, fin))
    return tuple(Tactic(fv.framework, fv.key, arch_n, dtype_n, gemm, i, offset + i, **e) for i, e in enumerate(entries))


def fallback_tactic(listing: tuple) -> Optional[Tactic]:
    """What ``tactic = -1`` runs: the GEMM's entry 0 (TensorRT-LLM ``profiles.front()``; FlashInfer's untuned
    default is ``mAllProfiles[gemm1_count]`` for GEMM2, i.e. also the GEMM's entry 0)."""
    return listing[0] if listing else None


__all__ = ["Tactic", "tactics", "fallback_tactic"]
