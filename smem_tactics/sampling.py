"""Random kernel configurations for the oracle (``smem-tactics verify --sample N``) and for tests.

Draws across SM90 / SM100 / SM120, dense / block-scaled / blockwise kernels, operand and output
types, tiles, schedules, epilogues, fusions and stage conventions, and keeps only configurations the
model accepts (so the oracle compares numbers, not just agreements to reject). The draw is a pure
function of the seed.
"""

from __future__ import annotations

import dataclasses
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
    if rng.random() < 0.12:  # dense FP8 ptr-array (CUTLASS >= 4.6; rejected by the model before)
        return dict(arch=_pick(rng, ("sm120", "sm121")), a="e4m3", b=_pick(rng, ("e4m3", "e5m2")),
                    c=_pick(rng, (None, "bf16", "f32")), d=_pick(rng, ("bf16", "f16")),
                    tile=[_pick(rng, (64, 128, 128, 256)), _pick(rng, (8, 16, 32, 64, 128, 256)), _pick(rng, (64, 128))],
                    kernel_schedule=_pick(rng, ("auto", "KernelPtrArrayTmaWarpSpecializedPingpongSm120")),
                    epilogue_schedule="auto", stages=_pick(rng, _STAGES), layout_cd=_pick(rng, ("row", "col")))
    a, b = _pick(rng, _SM120_PAIRS)
    m = _pick(rng, (128, 128, 256))
    n = _pick(rng, (8, 16, 32, 64, 128, 128, 192, 256))  # N < 32 from CUTLASS 4.6 (sm120_small_n)
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


_SM100_DENSE_PAIRS = (("bf16", "bf16"), ("bf16", "bf16"), ("f16", "f16"), ("e4m3", "e4m3"), ("e4m3", "e4m3"),
                      ("e5m2", "e4m3"), ("f32", "f32"))
_SM100_BS_PAIRS = (("nvfp4", "nvfp4"), ("nvfp4", "nvfp4"), ("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("mxfp4", "mxfp4"),
                   ("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp8_e4m3", "mxfp4"), ("mxfp4", "mxfp8_e4m3"),
                   ("mxfp6_e3m2", "mxfp8_e4m3"), ("mxfp8_e5m2", "mxfp6_e2m3"))
#: SM100 stage picks: explicit counts kept small (a 4.2 kernel over capacity does not compile at all); 1 probes
#: the dense mainloop's two-stage minimum.
_SM100_STAGES = ("auto", "auto", "auto", "auto_epi", "auto_zero", 1, 2, 3, 4, 6)
#: Dense MMA N per CTA pair / CTA: multiples of 8 (16 for 2-SM) up to 256, the common ones weighted up.
_SM100_N = (8, 16, 24, 32, 32, 48, 64, 64, 96, 112, 128, 128, 128, 160, 192, 192, 224, 256, 256)


def _sm100(rng: random.Random) -> dict:
    """SM100 grouped / ptr-array GEMMs (``tile`` is the MMA tile: 2-SM MMAs span the CTA pair, M = 128/256)."""
    block_scaled = rng.random() < 0.5
    two_sm = rng.random() < 0.45
    if block_scaled:
        a, b = _pick(rng, _SM100_BS_PAIRS)
        m = 256 if two_sm else 128
        n = _pick(rng, (64, 128, 128, 192, 256, 256)) if rng.random() < 0.95 else _pick(rng, (32, 96, 160))
        fp4_pair = a in ("nvfp4", "mxfp4") and b in ("nvfp4", "mxfp4")
        k = _pick(rng, (128, 256, 256, 512) if fp4_pair else (64, 128, 128, 256))
        sched = _pick(rng, ("BlockScaled", "BlockScaled", "auto", "instr"))
        if sched == "instr":
            if fp4_pair and rng.random() < 0.7:
                sched = "Nvf4" if a == "nvfp4" else "Mxf4"
            else:
                sched = "Mxf8f6f4"
    else:
        a, b = _pick(rng, _SM100_DENSE_PAIRS)
        m = _pick(rng, (128, 256, 256)) if two_sm else _pick(rng, (64, 128, 128))
        n = _pick(rng, _SM100_N)
        if two_sm and n % 16 and rng.random() < 0.8:
            n *= 2
        elem_bytes = {"bf16": 2, "f16": 2, "f32": 4}.get(a, 1)
        k = _pick(rng, (32, 64, 128, 128, 256)) // elem_bytes
        sched = _pick(rng, ("Sm100", "Sm100", "auto"))
    if sched == "auto":
        ks = "auto"
        cluster = [2, 1, 1] if two_sm else _pick(rng, ([1, 1, 1], [1, 2, 1]))
    else:
        ks = "KernelPtrArrayTmaWarpSpecialized" + ("2Sm" if two_sm else "1Sm") + sched + ("" if sched == "Sm100" else "Sm100")
        cluster = _pick(rng, ([2, 1, 1], [2, 1, 1], [4, 1, 1], [2, 2, 1])) if two_sm else \
            _pick(rng, ([1, 1, 1], [1, 1, 1], [2, 1, 1], [1, 2, 1]))
    epi = _pick(rng, ("auto", "Tma", "Tma", "NoSmem"))
    if epi != "auto":
        epi = "PtrArray" + epi + "WarpSpecialized" + ("2Sm" if two_sm else "1Sm")
    d = _pick(rng, ("bf16", "bf16", "f16", "f32", "e4m3", "e5m2"))
    c = _pick(rng, (None, None, d, d, "f32", "bf16", "e4m3"))
    fusion = "LinCombEltAct<SiLu>" if rng.random() < 0.15 else None
    layout_cd = _pick(rng, ("row", "row", "col"))
    if block_scaled and rng.random() < 0.12:  # FP4 output with block scale factors (row-major SFD)
        vs = 16 if a == "nvfp4" else 32
        d, c, layout_cd = "e2m1", _pick(rng, (None, "bf16")), "row"
        fusion = {"op": "LinCombBlockScaleFactor", "sf_vector": vs, "sf_layout": "row",
                  "sf_type": "ue4m3" if vs == 16 else "ue8m0"}
    epilogue_tile = "auto"
    if epi.startswith("PtrArrayTma") and rng.random() < 0.1:
        cta_m = m // 2 if two_sm else m
        epilogue_tile = [_pick(rng, (cta_m, 64)) if cta_m >= 64 else cta_m, _pick(rng, (16, 32, 64))]
    return dict(arch="sm100", a=a, b=b, c=c, d=d, tile=[m, n, k], cluster=cluster, kernel_schedule=ks,
                epilogue_schedule=epi, epilogue_tile=epilogue_tile, fusion=fusion,
                layout_cd=layout_cd, stages=_pick(rng, _SM100_STAGES),
                mode=_pick(rng, ("grouped", "grouped", "ptr_array")))


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


def _answer(cfg: KernelConfig):
    """What the model says about ``cfg``, in the terms the oracle compares: bytes, stages and epilogue tile, or
    a rejection (named by the field at fault)."""
    try:
        fp = footprint(cfg)
    except UnsupportedConfigError as e:
        return ("reject", e.field, e.device_only)
    return (fp.total_bytes, fp.stages, fp.epilogue_tile)


def delta_sensitive_configs(cutlass: str, per_delta: int = 2, seed: int = 0,
                            archs: Sequence[str] = ("sm90", "sm100", "sm120"), max_draws: int = 3000,
                            only: Optional[Sequence[str]] = None) -> dict:
    """Per delta, up to ``per_delta`` random configurations whose answer under ``cutlass`` changes if that one delta
    is toggled (removed if the release has it, added if not): the configs that tell whether a tree carries it.

    Returns ``{delta name: [KernelConfig, ...]}`` (configs under ``cutlass`` itself; a delta no draw is sensitive
    to within ``max_draws`` gets an empty list); ``only`` limits the deltas. The draw is a pure function of the
    arguments."""
    from .versions import DELTAS, CutlassVersion

    version = CutlassVersion.parse(cutlass)
    toggled = {d.name: (version.with_deltas(removed=[d.name]) if version.has(d) else version.with_deltas(added=[d.name]))
               for d in DELTAS if only is None or d.name in only}
    found: dict = {name: [] for name in toggled}
    rng = random.Random(seed)
    seen = set()
    for i in range(max_draws):
        if all(len(v) >= per_delta for v in found.values()):
            break
        data = _DRAW[archs[i % len(archs)]](rng)
        data["cutlass"] = str(version)
        try:
            cfg = KernelConfig.from_dict(data)
        except ConfigError:
            continue
        if cfg in seen:
            continue
        seen.add(cfg)
        base = _answer(cfg)
        wanted = [n for n, other in toggled.items() if len(found[n]) < per_delta
                  and _answer(dataclasses.replace(cfg, cutlass=other)) != base]
        if wanted:  # one config stands for one delta (the one with fewest so far): the sample spreads over them
            found[min(wanted, key=lambda n: len(found[n]))].append(cfg)
    return found
