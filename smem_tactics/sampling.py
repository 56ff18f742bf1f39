"""Random kernel configurations for the oracle (``smem-tactics verify --sample N``) and for tests.

Draws across SM90 / SM100 / SM120, dense / block-scaled / blockwise kernels, operand and output
types, tiles, schedules, epilogues, fusions and stage conventions, and keeps only configurations the
model accepts (so the oracle compares numbers, not just agreements to reject). The draw is a pure
function of the seed.
"""

from __future__ import annotations

import random
from typing import Iterable, Optional, Sequence

from .config import KernelConfig
from .errors import ConfigError, UnsupportedConfigError
from .footprint import footprint

_STAGES = ("auto", "auto", "auto_epi", "auto_zero", 2, 3, 4, 5, 6, 8)


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def _sm90(rng: random.Random) -> dict:
    pair = _pick(rng, (("bf16", "bf16"), ("f16", "f16"), ("e4m3", "e4m3"), ("e4m3", "e4m3"), ("e5m2", "e4m3"),
                       ("f32", "f32")))
    a, b = pair
    elem_bytes = {"bf16": 2, "f16": 2, "f32": 4}.get(a, 1)
    blockwise = a.startswith("e") and rng.random() < 0.25
    pingpong = rng.random() < 0.4
    m = _pick(rng, (64, 128, 128, 256)) if pingpong else _pick(rng, (128, 128, 256))
    n = _pick(rng, (16, 32, 64, 128, 128, 192, 256))
    k = _pick(rng, (32, 64, 128, 128, 256)) // elem_bytes
    if a.startswith("e") and rng.random() < 0.5:
        ks = "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative") + "FP8FastAccum"
    else:
        ks = "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative")
    epi = _pick(rng, ("auto", "auto", "PtrArrayTmaWarpSpecialized", "PtrArrayNoSmemWarpSpecialized",
                      "PtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative")))
    d = _pick(rng, ("bf16", "bf16", "f16", "f32", "e4m3"))
    c = _pick(rng, (None, None, d, "bf16", "f32"))
    cfg = dict(arch="sm90", a=a, b=b, c=c, d=d, tile=[m, n, k], kernel_schedule=ks, epilogue_schedule=epi,
               layout_cd=_pick(rng, ("row", "row", "col")), stages=_pick(rng, _STAGES),
               cluster=_pick(rng, ([1, 1, 1], [1, 1, 1], [2, 1, 1], [1, 2, 1])),
               mode=_pick(rng, ("grouped", "grouped", "grouped", "ptr_array")))
    if blockwise:
        gk = 128
        cfg.update(a="e4m3", b="e4m3", tile=[m, _pick(rng, (128, 256)), 128],
                   kernel_schedule="KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative")
                   + "FP8Blockwise", scale_granularity=[_pick(rng, (1, 64, 128)), 128, gk])
        if cfg["epilogue_schedule"] == "PtrArrayNoSmemWarpSpecialized":
            cfg["epilogue_schedule"] = "auto"
    if cfg["epilogue_schedule"] == "PtrArrayNoSmemWarpSpecialized" and cfg["stages"] == "auto_zero":
        cfg["stages"] = 3
    return cfg


_SM120_PAIRS = (
    ("nvfp4", "nvfp4"), ("nvfp4", "nvfp4"), ("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("mxfp8_e4m3", "mxfp4"),
    ("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp6_e3m2", "mxfp8_e4m3"), ("mxfp4", "mxfp8_e4m3"), ("mxfp6_e2m3", "mxfp6_e2m3"),
)


def _sm120(rng: random.Random) -> dict:
    if rng.random() < 0.15:  # FP8 blockwise (example 87c)
        m, n = _pick(rng, (64, 128, 128)), _pick(rng, (64, 128, 128, 256))
        k = 128
        return dict(arch=_pick(rng, ("sm120", "sm121")), a="e4m3", b="e4m3", c=_pick(rng, (None, "bf16")), d="bf16",
                    tile=[m, n, k], scale_granularity=[_pick(rng, (1, 64)), _pick(rng, (64, 128)) if n >= 128 else 64, k],
                    kernel_schedule="auto", epilogue_schedule="auto", stages=_pick(rng, _STAGES),
                    layout_cd=_pick(rng, ("row", "col")))
    a, b = _pick(rng, _SM120_PAIRS)
    m = _pick(rng, (128, 128, 256))
    n = _pick(rng, (32, 64, 128, 128, 192, 256))
    k = _pick(rng, (64, 128, 128, 256))
    pingpong = rng.random() < 0.3
    ks = _pick(rng, ("auto", "auto", "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative"),
                     "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative") + "BlockScaledSm120"))
    epi = _pick(rng, ("auto", "TmaWarpSpecialized", "PtrArrayTmaWarpSpecialized" + ("Pingpong" if pingpong else "Cooperative")))
    fusion = None
    roll = rng.random()
    if roll < 0.2:
        vs = 16 if a == "nvfp4" else 32
        d, fusion = "e2m1", {"op": "LinCombBlockScaleFactor", "sf_vector": vs, "sf_layout": "row",
                             "sf_type": "ue4m3" if vs == 16 else "ue8m0"}
        layout_cd = "row"
    else:
        d = _pick(rng, ("bf16", "bf16", "f16", "f32", "e4m3"))
        layout_cd = _pick(rng, ("row", "row", "col"))
        if roll < 0.3:
            fusion = "LinCombEltAct<SiLu>"
    c = _pick(rng, (None, None, "bf16", "f16", "f32")) if d != "e2m1" else _pick(rng, (None, "f16", "bf16"))
    return dict(arch=_pick(rng, ("sm120", "sm120", "sm121")), a=a, b=b, c=c, d=d, tile=[m, n, k],
                kernel_schedule=ks, epilogue_schedule=epi, fusion=fusion, layout_cd=layout_cd,
                stages=_pick(rng, _STAGES))


_SM100_PAIRS = (("bf16", "bf16"), ("f16", "f16"), ("e4m3", "e4m3"), ("nvfp4", "nvfp4"), ("nvfp4", "nvfp4"),
                ("mxfp4", "mxfp4"), ("mxfp8_e4m3", "mxfp4"), ("mxfp8_e4m3", "mxfp8_e4m3"))


def _sm100(rng: random.Random) -> dict:
    a, b = _pick(rng, _SM100_PAIRS)
    block_scaled = a.startswith(("nv", "mx"))
    two_sm = rng.random() < 0.4
    if block_scaled:
        m = 256 if two_sm else 128
        n = _pick(rng, (64, 128, 128, 192, 256))
        k = _pick(rng, (128, 256)) if a in ("nvfp4", "mxfp4") else 128
    else:
        m = _pick(rng, (128, 256)) if two_sm else _pick(rng, (64, 128, 128))
        n = _pick(rng, (32, 64, 128, 128, 256))
        k = _pick(rng, (64, 128, 128)) // (2 if a in ("bf16", "f16") else 1)
    ks = "KernelPtrArrayTmaWarpSpecialized" + ("2Sm" if two_sm else "1Sm") + (
        "BlockScaledSm100" if block_scaled else "Sm100")
    epi = "PtrArray" + _pick(rng, ("Tma", "Tma", "NoSmem")) + "WarpSpecialized" + ("2Sm" if two_sm else "1Sm")
    d = _pick(rng, ("bf16", "bf16", "f16", "f32", "e4m3"))
    return dict(arch="sm100", a=a, b=b, c=_pick(rng, (None, None, d, "f32")), d=d, tile=[m, n, k],
                cluster=[2, 1, 1] if two_sm else _pick(rng, ([1, 1, 1], [1, 1, 1], [2, 1, 1])),
                kernel_schedule=ks, epilogue_schedule=epi, layout_cd=_pick(rng, ("row", "row", "col")),
                stages=_pick(rng, _STAGES), mode=_pick(rng, ("grouped", "grouped", "ptr_array")))


_DRAW = {"sm90": _sm90, "sm100": _sm100, "sm120": _sm120}


def random_configs(n: int, seed: int = 0, archs: Sequence[str] = ("sm90", "sm100", "sm120"),
                   cutlass: Optional[str] = None, max_tries: Optional[int] = None) -> list:
    """``n`` distinct configurations the model accepts, drawn with ``seed`` over ``archs``."""
    rng = random.Random(seed)
    out, seen = [], set()
    tries = 0
    max_tries = max_tries or 200 * n + 100
    while len(out) < n and tries < max_tries:
        tries += 1
        data = _DRAW[archs[tries % len(archs)]](rng)
        if cutlass is not None:
            data["cutlass"] = cutlass
        try:
            cfg = KernelConfig.from_dict(data)
            footprint(cfg)
        except (ConfigError, UnsupportedConfigError, NotImplementedError):
            continue
        if cfg in seen:
            continue
        seen.add(cfg)
        out.append(cfg)
    return out


def raw_configs(n: int, seed: int = 0, archs: Sequence[str] = ("sm90", "sm100", "sm120"),
                cutlass: Optional[str] = None) -> Iterable:
    """Draws before the model's filter (some are configurations CUTLASS rejects): for legality sweeps."""
    rng = random.Random(seed)
    for i in range(n):
        data = _DRAW[archs[i % len(archs)]](rng)
        if cutlass is not None:
            data["cutlass"] = cutlass
        try:
            yield KernelConfig.from_dict(data)
        except ConfigError:
            continue
