"""Decode (1-32 tokens) layer benchmark: what it builds and runs, and the arithmetic on what comes back (pure Python).

Issue 14 asks where a capped CUTLASS grouped GEMM's fixed time goes at decode, where it loses to a Triton fused-MoE
kernel. ``scripts/bench_decode.py`` measures it on an H100/H200 in one call; this module holds everything of that
run that needs no GPU, so the CPU tests cover it:

* **Layers.** A layer scenario is one MoE layer at one token count and dtype: GEMM1 (gate+up) then GEMM2 (down),
  with the same routing (:func:`layer_scenarios`, ordered so that a run cut short by its deadline still has every
  model and dtype at 1 and 16 tokens).
* **Kernels.** A fixed set per dtype (:func:`decode_kernels`), each one change away from the base, the swap-AB
  pingpong 128x16 tile that won most decode scenarios of the earlier H100/H200 runs (docs/benchmarks.md): fewer
  stages, the no-smem epilogue, the cooperative schedule, a 64-row tile (twice the CTAs), ptr-array mode; and two
  bridges of the base: built without the grid-dependency-control define, and against CUTLASS 4.2.0 (the earlier
  runs' headers). Launch options (PDL, raster order, swizzle) need no extra build (:mod:`smem_tactics.launch`).
* **Sweeps** that separate fixed from proportional time: K in k-blocks at a fixed routing (intercept = the fixed
  time, slope = the time per k-block), and groups through one persistent CTA at equal bytes and tiles (slope = the
  time per group switch: tensormap rewrite and fence).
* **Report**: per-layer tables, the fits, the goals of the issue, and the short table printed last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

from ..config import EpilogueSchedule, KernelConfig
from ..errors import ConfigError
from ..verdict import max_fitting_stages
from .contenders import SM12X_BLOCK_LIMIT, dtype_of, elements_per_byte_k, short_name, sm90_config
from .scenarios import DTYPES, SEED, Scenario, make_scenario, model
from .stats import geomean, median

#: Decode token counts of the issue (1-32), and the order a run takes them in (most telling first).
DECODE_TOKENS = (1, 4, 8, 16, 32)
TOKEN_PRIORITY = (1, 16, 4, 32, 8)
#: Token counts Nsight Compute profiles (the issue's 1-16).
NCU_TOKENS = (1, 4, 8, 16)
#: The models of the committed runs (docs/benchmarks.md); more from data/moe.json with --models.
DEFAULT_MODELS = ("qwen3-30b-a3b", "qwen3-next-80b-a3b", "gpt-oss-120b")
#: CUTLASS release of the main build: its SM90 array kernels wait in griddepcontrol.wait (>= 4.3.0) and trigger
#: their dependents early (>= 4.3.3), so PDL is safe and can gain (smem_tactics.launch).
BUILD_CUTLASS = "4.5.0"
#: The release of the earlier runs, built once for the base kernel as a bridge to them.
BRIDGE_CUTLASS = "4.2.0"
GDC_DEFINE = "CUTLASS_ENABLE_GDC_FOR_SM90"
#: How GEMM1 -> GEMM2 of a layer is launched back to back.
CHAIN_MODES = ("stream", "pdl", "graph", "graph_pdl")
#: Builds of the run: the main one (every kernel, GDC on, CUTLASS 4.5.0) and the two bridges.
BUILDS = ("main", "nogdc", "c420")
#: What each kernel role changes against the base, and why it is in the set.
ROLES = {
    "base": "swap-AB pingpong 128x16, most stages under 101376 B: the decode winner of the H100/H200 runs",
    "s2": "the base at StageCount<2>: how much the pipeline depth matters when K has only a few k-blocks",
    "nosmem": "the base with the no-smem epilogue (PtrArrayNoSmemWarpSpecialized): the epilogue's share",
    "coop": "the base tile with the cooperative schedule (TensorRT-LLM's decode tile): the schedule's share",
    "m64": "swap-AB pingpong 64x16, most stages: each expert's weight rows over twice as many CTAs",
    "pa": "the base in ptr-array mode (one problem shape, no per-group shape reads): runs only when every "
          "active expert has the same rows (always at 1 token)",
    "pa_nosmem": "ptr-array mode with the no-smem epilogue: the two options that each saved ~1 us per GEMM in the "
                 "first H200 run (docs/decode.md), together",
    "nogdc": "the base built without CUTLASS_ENABLE_GDC_FOR_SM90: what the griddepcontrol instructions cost when "
             "the kernel is not launched with PDL",
    "c420": "the base built against CUTLASS 4.2.0 (no griddepcontrol in its array kernels): the bridge to the "
            "earlier runs",
}


class DecodeError(ConfigError):
    """A decode-benchmark input the run does not accept."""


# ---------------------------------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class DecodeKernel:
    """One CUTLASS kernel of the run: its role, config and which build (extension) holds it."""

    role: str
    config: KernelConfig
    build: str

    @property
    def name(self) -> str:
        return short_name(self.config)

    @property
    def label(self) -> str:
        """Unique over the run: the short name, and the build when it is a bridge."""
        return self.name if self.build == "main" else f"{self.name}@{self.build}"

    @property
    def dtype(self) -> str:
        return dtype_of(self.config)


def _max_stages(cfg: KernelConfig) -> KernelConfig:
    s = max_fitting_stages(cfg, SM12X_BLOCK_LIMIT)
    if s is None:
        raise DecodeError("kernel", short_name(cfg), f"a config with 2 stages under {SM12X_BLOCK_LIMIT} B")
    return cfg.with_stages(s)


def decode_kernels(dtype: str, bridges: Sequence[str] = ("nogdc", "c420"), cutlass: str = BUILD_CUTLASS) -> list:
    """The kernel set of one dtype (see :data:`ROLES`): tile K = 128 bytes, C void, D bf16, cluster 1x1, each pinned
    to the most stages under SM12x's 101376 B except ``s2``."""
    if dtype not in DTYPES:
        raise DecodeError("dtype", dtype, DTYPES)
    for b in bridges:
        if b not in BUILDS[1:]:
            raise DecodeError("bridges", b, BUILDS[1:])
    kb = elements_per_byte_k(dtype, 128)

    def cfg(tile, schedule, stages=2, **kw):
        return sm90_config(dtype, tile, schedule, stages, swap_ab=True).replace(cutlass=cutlass, **kw)

    base = _max_stages(cfg((128, 16, kb), "pingpong"))
    out = [DecodeKernel("base", base, "main"),
           DecodeKernel("s2", base.with_stages(2), "main"),
           DecodeKernel("nosmem", _max_stages(cfg((128, 16, kb), "pingpong",
                                                  epilogue_schedule=EpilogueSchedule.PTR_ARRAY_NO_SMEM)), "main"),
           DecodeKernel("coop", _max_stages(cfg((128, 16, kb), "coop")), "main"),
           DecodeKernel("m64", _max_stages(cfg((64, 16, kb), "pingpong")), "main"),
           DecodeKernel("pa", _max_stages(cfg((128, 16, kb), "pingpong", mode="ptr_array")), "main"),
           DecodeKernel("pa_nosmem", _max_stages(cfg((128, 16, kb), "pingpong", mode="ptr_array",
                                                     epilogue_schedule=EpilogueSchedule.PTR_ARRAY_NO_SMEM)), "main")]
    if "nogdc" in bridges:
        out.append(DecodeKernel("nogdc", base, "nogdc"))
    if "c420" in bridges:
        c420 = base.replace(cutlass=BRIDGE_CUTLASS)
        if max_fitting_stages(c420.with_stages(2), SM12X_BLOCK_LIMIT) != base.stages:
            raise DecodeError("c420", short_name(c420), "a bridge with the base's stage count",
                              "CUTLASS 4.2.0 would fit another stage count; the bridge would not be like for like")
        out.append(DecodeKernel("c420", c420, "c420"))
    return out


@dataclass(frozen=True)
class BuildSpec:
    """One extension of the run."""

    name: str  # main | nogdc | c420
    module_name: str
    defines: tuple
    tree: str  # "main" (CUTLASS 4.5.0) or "bridge" (4.2.0)
    kernels: tuple  # DecodeKernel

    @property
    def configs(self) -> list:
        return [k.config for k in self.kernels]


def build_specs(kernels: Iterable[DecodeKernel]) -> list:
    """The extensions to build (each its own module and folder, so equal kernel types never meet at link time)."""
    by_build: dict = {}
    for k in kernels:
        by_build.setdefault(k.build, []).append(k)
    specs = []
    for name in BUILDS:
        ks = by_build.get(name)
        if not ks:
            continue
        defines = () if name == "nogdc" or name == "c420" else (GDC_DEFINE,)
        specs.append(BuildSpec(name, f"smem_decode_{name}", defines, "bridge" if name == "c420" else "main",
                               tuple(ks)))
    return specs


# ---------------------------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class LayerScenario:
    """One MoE layer at decode: GEMM1 then GEMM2, one routing."""

    gemm1: Scenario
    gemm2: Scenario
    seed: int

    @property
    def model(self) -> str:
        return self.gemm1.model.key

    @property
    def dtype(self) -> str:
        return self.gemm1.dtype

    @property
    def tokens(self) -> int:
        return self.gemm1.tokens

    @property
    def key(self) -> str:
        return f"{self.model}/{self.dtype}/t{self.tokens}"

    @property
    def equal_rows(self) -> bool:
        """Every active expert has the same rows: a ptr-array kernel can run this layer."""
        return len({c for c in self.gemm1.counts if c}) == 1

    def gemm(self, which: str) -> Scenario:
        if which not in ("gemm1", "gemm2"):
            raise DecodeError("gemm", which, ("gemm1", "gemm2"))
        return self.gemm1 if which == "gemm1" else self.gemm2


def layer_scenario(model_key: str, dtype: str, tokens: int, seed: int = SEED) -> LayerScenario:
    g1 = make_scenario(model_key, "gemm1", dtype, tokens, seed)
    g2 = make_scenario(model_key, "gemm2", dtype, tokens, seed)
    if g1.counts != g2.counts:  # make_scenario routes per model, so this cannot differ; a layer needs one routing
        raise DecodeError("routing", model_key, "one routing for both GEMMs of a layer")
    return LayerScenario(g1, g2, seed)


def layer_scenarios(models: Sequence[str] = DEFAULT_MODELS, dtypes: Sequence[str] = DTYPES,
                    tokens: Sequence[int] = DECODE_TOKENS, seed: int = SEED) -> list:
    """Every layer, token counts in :data:`TOKEN_PRIORITY` order (others after), then model, then dtype."""
    if not models or not dtypes or not tokens:
        raise DecodeError("scenarios", "empty", "at least one model, dtype and token count")
    for t in tokens:
        if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= 256:
            raise DecodeError("tokens", t, "decode token counts 1..256")
    for m in models:
        model(m)
    order = [t for t in TOKEN_PRIORITY if t in tokens] + sorted(t for t in set(tokens) if t not in TOKEN_PRIORITY)
    return [layer_scenario(m, d, t, seed) for t in order for m in dict.fromkeys(models) for d in dict.fromkeys(dtypes)]


# ---------------------------------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class SweepPoint:
    """A synthetic grouped GEMM: ``groups`` experts with ``rows`` rows each, N x K weights, run on ``sm_count`` CTAs
    at most (the persistent grid; 0 = every SM)."""

    sweep: str  # "k", "groups" or "anatomy"
    dtype: str
    n: int
    k: int
    groups: int
    rows: int
    sm_count: int
    label: str = ""  # an anatomy point's name (ANATOMY)

    @property
    def counts(self) -> tuple:
        return (self.rows,) * self.groups

    def k_blocks(self, tile_k: int) -> int:
        return -(-self.k // tile_k)

    def weight_bytes(self) -> int:
        return self.groups * self.n * self.k * (1 if self.dtype == "e4m3" else 2)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


#: K sweep: k-blocks of the base tile (128 bytes of K each) at 8 experts x 1 row, N = 2048 (Qwen3-30B GEMM2's N,
#: top-8 at one token).
K_SWEEP_BLOCKS = (1, 2, 4, 8, 16, 32)
#: Group sweep through one persistent CTA: equal weight bytes and tiles (N x groups = 16384), 1 row per expert,
#: K = one k-block; the number of groups (so of tensormap switches) is what changes.
GROUP_SWEEP = ((2048, 8), (1024, 16), (512, 32), (256, 64), (128, 128))


#: Anatomy points: one expert x one row, so the work is one 128-row weight tile (the base tile; two for m64) of
#: ``k_blocks`` k-blocks, launched on ``sm_count`` persistent CTAs (0 = every SM), or one tile per SM. Each pair
#: differs in one thing, which splits a launch's fixed time into parts the K and group sweeps cannot separate:
#: (label, n, k-blocks, sm_count, what the point isolates). (The first run with them, 2026-12-03, showed through
#: Nsight Compute's launch__grid_size that a one-tile launch is one CTA whatever sm_count says, so ``tile1_grid``
#: measures the scheduler's SM count, not idle CTAs.)
ANATOMY = (
    ("tile1_cta1", 128, 1, 1, "one CTA, one tile: launch + one CTA's prologue, first load, MMA, epilogue, exit"),
    ("tile1_grid", 128, 1, 0, "the same tile with the scheduler told every SM (the grid is still one CTA: CUTLASS "
                              "sizes a grouped launch to min(tiles, SMs))"),
    ("tile1_cta1_k8", 128, 8, 1, "one CTA, one tile of 8 k-blocks: + 7 pipelined k-blocks on one CTA"),
    ("tile1_grid_k8", 128, 8, 0, "8 k-blocks on a full grid"),
    ("tiles132_grid", 128 * 132, 1, 0, "one tile per SM (132 x 128 weight rows): every CTA busy at once"),
)


def sweep_points(dtype: str, anatomy: bool = True) -> list:
    kb = elements_per_byte_k(dtype, 128)
    pts = [SweepPoint("k", dtype, 2048, kb * b, 8, 1, 0) for b in K_SWEEP_BLOCKS]
    pts += [SweepPoint("groups", dtype, n, kb, g, 1, 1) for n, g in GROUP_SWEEP]
    if anatomy:
        pts += [SweepPoint("anatomy", dtype, n, kb * blocks, 1, 1, sms, label)
                for label, n, blocks, sms, _ in ANATOMY]
    return pts


def line_fit(xs: Sequence[float], ys: Sequence[float]) -> dict:
    """Least-squares ``y = intercept + slope x``, with r^2 and the largest relative residual."""
    if len(xs) != len(ys):
        raise ValueError("line_fit: x and y differ in length")
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if y is not None and math.isfinite(float(y))]
    n = len(pts)
    if n < 2 or len({x for x, _ in pts}) < 2:
        return {"n": n, "intercept": None, "slope": None, "r2": None, "max_rel_residual": None}
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in pts)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in pts)
    rel = max(abs(y - intercept - slope * x) / y for x, y in pts if y)
    return {"n": n, "intercept": intercept, "slope": slope, "r2": 1.0 - ss_res / ss_tot if ss_tot else 1.0,
            "max_rel_residual": rel}


def sweep_fits(sweeps: Sequence[Mapping]) -> list:
    """One fit per (sweep, dtype, kernel): K sweep against k-blocks, group sweep against groups."""
    groups: dict = {}
    for r in sweeps:
        if r.get("sweep") in ("k", "groups") and r.get("ok") and r.get("median_us") is not None:
            groups.setdefault((r["sweep"], r["dtype"], r["kernel"]), []).append(r)
    out = []
    for (sweep, dtype, kernel), rows in sorted(groups.items()):
        xkey = "k_blocks" if sweep == "k" else "groups"
        rows = sorted(rows, key=lambda r: r[xkey])
        fit = line_fit([r[xkey] for r in rows], [r["median_us"] for r in rows])
        out.append({"sweep": sweep, "dtype": dtype, "kernel": kernel, "kind": rows[0].get("kind"), "x": xkey,
                    **fit})
    return out


#: The parts of a launch's fixed time the anatomy points split it into: (key, text, later point, earlier point,
#: divisor). Each part is the time of one point minus another's (same kernel), over the divisor.
ANATOMY_PARTS = (
    ("one_cta_above_floor_us", "one CTA, one tile, above the empty-kernel floor (its prologue, first load, MMA, "
                               "epilogue, exit)", "tile1_cta1", None, 1),
    ("all_sms_over_one_us", "hw_info.sm_count = every SM instead of 1 (same one-CTA grid)", "tile1_grid",
     "tile1_cta1", 1),
    ("per_k_block_one_cta_us", "each further k-block of that tile on one CTA", "tile1_cta1_k8", "tile1_cta1", 7),
    ("all_ctas_busy_us", "every SM with a tile instead of one", "tiles132_grid", "tile1_grid", 1),
)
#: Kernel options compared at the one-CTA points: (key, text, role, against role, point). Positive = the role
#: named first is slower by that much.
ANATOMY_CONTRASTS = (
    ("tma_epilogue_us", "TMA-store epilogue over the no-smem one (base - nosmem)", "base", "nosmem", "tile1_cta1"),
    ("grouped_over_ptr_array_us", "grouped over ptr-array mode (base - pa)", "base", "pa", "tile1_cta1"),
    ("ptr_array_tma_epilogue_us", "in ptr-array mode, TMA-store over no-smem epilogue (pa - pa_nosmem)", "pa",
     "pa_nosmem", "tile1_cta1"),
    ("two_stages_over_five_k8_us", "2 stages over 5 at 8 k-blocks (s2 - base)", "s2", "base", "tile1_cta1_k8"),
    ("cooperative_over_pingpong_us", "cooperative over pingpong (coop - base)", "coop", "base", "tile1_cta1"),
)


def anatomy(results: Mapping) -> dict:
    """The anatomy points of a run (``sweeps`` rows with ``sweep == "anatomy"``): per dtype and kernel, the time at
    each point (CUDA events; with Nsight Compute's GPU duration where the run profiled the point), the parts of the
    fixed time (:data:`ANATOMY_PARTS`), and per dtype the option contrasts (:data:`ANATOMY_CONTRASTS`)."""
    floor = ((results.get("launch_floor") or {}).get("noop") or {}).get("median")
    times: dict = {}
    info: dict = {}
    for r in results.get("sweeps", []):
        if r.get("sweep") != "anatomy" or not r.get("label") or not r.get("ok") or r.get("median_us") is None:
            continue
        key = (r["dtype"], r["kernel"])
        times.setdefault(key, {})[r["label"]] = r["median_us"]
        info[key] = {"kind": r.get("kind"), "role": r.get("role")}
    gpu: dict = {}
    for x in (results.get("ncu") or {}).get("launches") or []:
        d = (x.get("ncu") or {}).get("duration_us")
        if x.get("pick") == "anatomy" and d is not None:
            gpu.setdefault((x["dtype"], x["kernel"]), {})[x["point"]] = d
    kernels = []
    for key in sorted(times):
        t = times[key]
        parts = {}
        for name, _text, later, earlier, div in ANATOMY_PARTS:
            a = t.get(later)
            b = floor if earlier is None else t.get(earlier)
            parts[name] = (a - b) / div if a is not None and b is not None else None
        kernels.append({"dtype": key[0], "kernel": key[1], **info[key], "times_us": t,
                        "ncu_duration_us": gpu.get(key, {}), "parts": parts})
    contrasts = []
    for dt in sorted({k[0] for k in times}):
        by_role = {info[k]["role"]: times[k] for k in times if k[0] == dt and info[k]["kind"] == "cutlass"}
        for name, text, role, other, point in ANATOMY_CONTRASTS:
            a, b = (by_role.get(role) or {}).get(point), (by_role.get(other) or {}).get(point)
            contrasts.append({"dtype": dt, "contrast": name, "text": text, "point": point,
                              "us": a - b if a is not None and b is not None else None})
    return {"launch_floor_us": floor, "kernels": kernels, "contrasts": contrasts}


def anatomy_tables(an: Mapping) -> str:
    if not an.get("kernels"):
        return "No anatomy point was measured in this run.\n"
    labels = [a[0] for a in ANATOMY]
    lines = ["Anatomy points (one expert x one row; us, CUDA events; in brackets Nsight Compute's GPU duration where "
             f"profiled; empty-kernel floor {_f(an.get('launch_floor_us'), 2)} us):", "",
             "| dtype | kernel | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for k in an["kernels"]:
        cells = []
        for lb in labels:
            ev, d = k["times_us"].get(lb), k["ncu_duration_us"].get(lb)
            cells.append(_f(ev, 2) + (f" [{_f(d, 2)}]" if d is not None else ""))
        lines.append(f"| {k['dtype']} | {k['kernel']} | " + " | ".join(cells) + " |")
    lines += ["", "Parts of the fixed time (us): " + "; ".join(f"{n} = {t}" for n, t, *_ in ANATOMY_PARTS), "",
              "| dtype | kernel | " + " | ".join(n for n, *_ in ANATOMY_PARTS) + " |",
              "|---|---|" + "---|" * len(ANATOMY_PARTS)]
    for k in an["kernels"]:
        lines.append(f"| {k['dtype']} | {k['kernel']} | " + " | ".join(
            _f(k["parts"][n], 2) for n, *_ in ANATOMY_PARTS) + " |")
    lines += ["", "| dtype | contrast | point | us |", "|---|---|---|---|"]
    for c in an["contrasts"]:
        lines.append(f"| {c['dtype']} | {c['text']} | {c['point']} | {_f(c['us'], 2)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- results


def best_of(results: Mapping, kind: str, roles: Optional[Iterable[str]] = None) -> tuple:
    """(label, median us) of the fastest correct entry of ``kind`` (cutlass | triton) in one GEMM's results;
    ``roles`` limits CUTLASS entries to those roles (bridges are not contenders)."""
    roles = set(roles) if roles is not None else None
    best = (None, None)
    for label, r in results.items():
        if r.get("kind") != kind or not r.get("ok") or r.get("median_us") is None:
            continue
        if roles is not None and r.get("role") not in roles:
            continue
        if best[1] is None or r["median_us"] < best[1]:
            best = (label, r["median_us"])
    return best


#: CUTLASS roles that are contenders (a bridge is the base built differently, not a choice a user makes).
CONTENDER_ROLES = ("base", "s2", "nosmem", "coop", "m64", "pa", "pa_nosmem")


def layer_row(layer: Mapping) -> dict:
    """One layer's summary: best single GEMMs, chains per mode, floors and ratios (Triton over CUTLASS: >= 1 means
    CUTLASS is at least as fast)."""
    row = {"key": layer["key"], "model": layer["model"], "dtype": layer["dtype"], "tokens": layer["tokens"]}
    floor_sum = 0.0
    for g in ("gemm1", "gemm2"):
        gm = layer["gemms"].get(g) or {}
        res = gm.get("results", {})
        cl, ct = best_of(res, "cutlass", CONTENDER_ROLES)
        tl, tt = best_of(res, "triton")
        floor = (gm.get("floors") or {}).get("memory_us")
        floor_sum += floor or 0.0
        row.update({f"{g}_cutlass": ct, f"{g}_cutlass_name": cl, f"{g}_triton": tt, f"{g}_triton_name": tl,
                    f"{g}_floor_us": floor, f"{g}_t_over_c": _ratio(tt, ct), f"{g}_floor_over_c": _ratio(floor, ct)})
    row["floor_us"] = floor_sum
    for kind in ("cutlass", "triton"):
        modes = ((layer.get("chains") or {}).get(kind) or {}).get("modes", {})
        for m in CHAIN_MODES:
            r = modes.get(m) or {}
            row[f"chain_{kind}_{m}"] = r.get("median_us") if r.get("ok") else None
    for m in CHAIN_MODES:
        row[f"chain_t_over_c_{m}"] = _ratio(row[f"chain_triton_{m}"], row[f"chain_cutlass_{m}"])
    # the best each side can do, whatever the launch mode
    bc = [row[f"chain_cutlass_{m}"] for m in CHAIN_MODES if row[f"chain_cutlass_{m}"] is not None]
    bt = [row[f"chain_triton_{m}"] for m in CHAIN_MODES if row[f"chain_triton_{m}"] is not None]
    row["chain_cutlass_best"] = min(bc) if bc else None
    row["chain_triton_best"] = min(bt) if bt else None
    row["chain_t_over_c_best"] = _ratio(row["chain_triton_best"], row["chain_cutlass_best"])
    row["pdl_gain_us"] = _diff(row["chain_cutlass_stream"], row["chain_cutlass_pdl"])
    row["graph_gain_us"] = _diff(row["chain_cutlass_stream"], row["chain_cutlass_graph"])
    return row


def _ratio(num, den):
    return None if num is None or den is None or den <= 0 else num / den


def _diff(a, b):
    return None if a is None or b is None else a - b


def layer_rows(results: Mapping) -> list:
    return [layer_row(layer) for layer in results.get("layers", [])]


#: The issue's goals: (key, text, threshold, which rows).
GOALS = (
    ("gemm_t_over_c", "single GEMM: Triton time / capped CUTLASS time >= 1 (CUTLASS at least as fast), 1-32 tokens",
     1.0),
    ("chain_t_over_c_best", "layer (GEMM1 -> GEMM2, each side's best launch mode): Triton / CUTLASS >= 1", 1.0),
    ("floor_over_c_t1", "1 token: bandwidth floor / capped CUTLASS time >= 0.5 (per GEMM)", 0.5),
)


def goals(rows: Sequence[Mapping]) -> list:
    out = []
    for key, text, threshold in GOALS:
        vals = []
        for r in rows:
            if key == "gemm_t_over_c":
                vals += [(r[f"{g}_t_over_c"], f"{r['key']}/{g}") for g in ("gemm1", "gemm2")]
            elif key == "floor_over_c_t1":
                if r["tokens"] == 1:
                    vals += [(r[f"{g}_floor_over_c"], f"{r['key']}/{g}") for g in ("gemm1", "gemm2")]
            else:
                vals.append((r[key], r["key"]))
        vals = [(v, k) for v, k in vals if v is not None]
        if not vals:
            out.append({"goal": key, "text": text, "threshold": threshold, "count": 0, "met_count": 0, "met": None})
            continue
        worst = min(vals)
        met = sum(1 for v, _ in vals if v >= threshold)
        out.append({"goal": key, "text": text, "threshold": threshold, "count": len(vals), "met_count": met,
                    "met": met == len(vals), "worst": worst[0], "worst_scenario": worst[1],
                    "geomean": geomean(v for v, _ in vals)})
    return out


def attribution(results: Mapping) -> dict:
    """The fixed-time picture: sweep fits, the launch floor, and per-role medians of the time differences that one
    change makes (each against the base, same GEMM and scenario)."""
    out: dict = {"sweep_fits": sweep_fits(results.get("sweeps", [])), "launch_floor": results.get("launch_floor")}
    deltas: dict = {}
    for layer in results.get("layers", []):
        for g in ("gemm1", "gemm2"):
            res = (layer["gemms"].get(g) or {}).get("results", {})
            base = next((r for r in res.values() if r.get("role") == "base" and r.get("ok")
                         and r.get("median_us") is not None), None)
            if base is None:
                continue
            for r in res.values():
                if r.get("kind") != "cutlass" or r.get("role") in (None, "base") or not r.get("ok") \
                        or r.get("median_us") is None:
                    continue
                deltas.setdefault((layer["dtype"], r["role"]), []).append(r["median_us"] - base["median_us"])
            for vname, v in ((layer["gemms"].get(g) or {}).get("variants") or {}).items():
                if v.get("ok") and v.get("median_us") is not None and v.get("base_median_us") is not None:
                    deltas.setdefault((layer["dtype"], "launch:" + vname), []).append(
                        v["median_us"] - v["base_median_us"])
    out["role_minus_base_us"] = [
        {"dtype": d, "role": role, "n": len(v), "median_us": median(v), "min_us": min(v), "max_us": max(v)}
        for (d, role), v in sorted(deltas.items())]
    rows = layer_rows(results)
    for key in ("pdl_gain_us", "graph_gain_us"):
        vals = [r[key] for r in rows if r[key] is not None]
        out[key] = {"n": len(vals), "median": median(vals) if vals else None,
                    "min": min(vals) if vals else None, "max": max(vals) if vals else None}
    return out


# ---------------------------------------------------------------------------------------------------- report


def _f(x, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{nd}f}"


def layers_table(rows: Sequence[Mapping]) -> str:
    head = ("| layer | GEMM1 CUTLASS | GEMM1 Triton | GEMM2 CUTLASS | GEMM2 Triton | floor (sum) | "
            + " | ".join(f"chain C {m}" for m in CHAIN_MODES) + " | "
            + " | ".join(f"chain T {m}" for m in CHAIN_MODES) + " | T/C best | PDL gain |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [r["key"], _f(r["gemm1_cutlass"]), _f(r["gemm1_triton"]), _f(r["gemm2_cutlass"]),
                 _f(r["gemm2_triton"]), _f(r["floor_us"])]
        cells += [_f(r[f"chain_cutlass_{m}"]) for m in CHAIN_MODES]
        cells += [_f(r[f"chain_triton_{m}"]) for m in CHAIN_MODES]
        cells += [_f(r["chain_t_over_c_best"], 3), _f(r["pdl_gain_us"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def winners_table(rows: Sequence[Mapping]) -> str:
    lines = ["| layer | GEMM1 CUTLASS | GEMM1 Triton | GEMM2 CUTLASS | GEMM2 Triton |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([r["key"]] + [str(r.get(k) or "-") for k in (
            "gemm1_cutlass_name", "gemm1_triton_name", "gemm2_cutlass_name", "gemm2_triton_name")]) + " |")
    return "\n".join(lines) + "\n"


def goals_table(gs: Sequence[Mapping]) -> str:
    """The goals as the issue-5 report shows its own (same columns)."""
    from .report import goals_table as table

    return table(gs)


def attribution_tables(att: Mapping) -> str:
    lines = ["Sweeps (least squares; K sweep: time = intercept + slope x k-blocks; group sweep through one CTA: "
             "time = intercept + slope x groups):", "",
             "| sweep | dtype | kernel | n | intercept us | slope us | r^2 | max rel. residual |",
             "|---|---|---|---|---|---|---|---|"]
    for f in att.get("sweep_fits", []):
        lines.append(f"| {f['sweep']} | {f['dtype']} | {f['kernel']} | {f['n']} | {_f(f['intercept'], 2)} | "
                     f"{_f(f['slope'], 3)} | {_f(f['r2'], 3)} | {_f(f['max_rel_residual'], 3)} |")
    lines += ["", "Each change against the base kernel, same GEMM and layer (median of role time - base time, us; "
              "negative = faster):", "", "| dtype | change | n | median | min | max |", "|---|---|---|---|---|---|"]
    for d in att.get("role_minus_base_us", []):
        lines.append(f"| {d['dtype']} | {d['role']} | {d['n']} | {_f(d['median_us'], 2)} | {_f(d['min_us'], 2)} | "
                     f"{_f(d['max_us'], 2)} |")
    lf = att.get("launch_floor") or {}
    if lf:
        lines += ["", "Launch floor (empty kernel, event-timed, us): " + ", ".join(
            f"{k} {_f((v or {}).get('median'), 2)}" for k, v in lf.items())]
    for key, text in (("pdl_gain_us", "PDL gain per layer (stream - pdl chain, us)"),
                      ("graph_gain_us", "CUDA-graph gain per layer (stream - graph chain, us)")):
        v = att.get(key) or {}
        lines.append(f"{text}: median {_f(v.get('median'), 2)}, min {_f(v.get('min'), 2)}, max {_f(v.get('max'), 2)} "
                     f"over {v.get('n', 0)} layers")
    return "\n".join(lines) + "\n"


def markdown(results: Mapping) -> str:
    meta = results.get("meta") or {}
    card = meta.get("card", "?")
    rows = layer_rows(results)
    parts = [f"# Decode layer benchmark on one {card}" + (f", {meta['date']}" if meta.get("date") else ""), "",
             "Times in microseconds (median over repetitions, cold L2). C = capped CUTLASS (best of the kernel set), "
             "T = Triton fused-MoE (best config under 101376 B).", "", layers_table(rows), "Fastest kernels:", "",
             winners_table(rows), "Goals (issue 14):", "", goals_table(goals(rows)), "## Where the time goes", "",
             attribution_tables(attribution(results))]
    an = anatomy(results)
    if an["kernels"]:  # (runs before the anatomy points existed have none)
        parts += ["## Anatomy of the fixed time", "", anatomy_tables(an)]
    ncu = results.get("ncu") or {}
    if ncu.get("launches"):
        from .ncu import summary_table

        parts += ["## Nsight Compute (--clock-control none)", ""]
        if ncu.get("reparsed_from"):
            parts += [f"Numbers parsed again from the run's raw page ({ncu['reparsed_from']}) by "
                      "smem_tactics.bench.ncu; the run's own parse left DRAM % peak and the stalls empty.", ""]
        parts += [summary_table(ncu["launches"])]
    elif ncu.get("error"):
        parts += ["## Nsight Compute", "", f"not collected: {ncu['error']}"]
    return "\n".join(parts) + "\n"


def short_table(results: Mapping) -> str:
    """What the run prints last: one line per layer."""
    lines = [f"{'layer':32s} {'C g1':>6} {'T g1':>6} {'C g2':>6} {'T g2':>6} {'C chain':>8} {'C pdl':>7} "
             f"{'C graph':>8} {'T chain':>8} {'T best':>7} {'T/C':>6}"]
    for r in layer_rows(results):
        lines.append(f"{r['key']:32s} {_f(r['gemm1_cutlass']):>6} {_f(r['gemm1_triton']):>6} "
                     f"{_f(r['gemm2_cutlass']):>6} {_f(r['gemm2_triton']):>6} {_f(r['chain_cutlass_stream']):>8} "
                     f"{_f(r['chain_cutlass_pdl']):>7} {_f(r['chain_cutlass_graph']):>8} "
                     f"{_f(r['chain_triton_stream']):>8} {_f(r['chain_triton_best']):>7} "
                     f"{_f(r['chain_t_over_c_best'], 3):>6}")
    for g in goals(layer_rows(results)):
        if g.get("count"):
            lines.append(f"goal: {g['text']}: {g['met_count']}/{g['count']} (worst {_f(g['worst'], 3)} at "
                         f"{g['worst_scenario']})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- budget


@dataclass
class Budget:
    """Deadlines of one run, in seconds from its start: layers stop at ``layers_end`` so that Nsight Compute and
    the report still fit inside ``total``."""

    total: float
    ncu: float
    report: float = 25.0
    started: float = 0.0
    notes: list = field(default_factory=list)

    def __post_init__(self):
        if not 60 <= self.total <= 600:
            raise DecodeError("budget", self.total, "60..600 seconds (one device command runs at most 600 s)")
        if not 0 <= self.ncu < self.total - self.report:
            raise DecodeError("ncu budget", self.ncu, f"0..{self.total - self.report:.0f} seconds")

    @property
    def layers_end(self) -> float:
        return self.total - self.ncu - self.report

    def ncu_timeout(self, now: float) -> float:
        """Seconds Nsight Compute may take when it starts at ``now``."""
        return max(0.0, min(self.ncu, self.total - self.report - now))


def estimate_seconds(n_kernels: int, n_layers: int, jobs: int, n_triton: int) -> dict:
    """A prediction of the run's phases on the device machine (the H100 runs of issue 5: one CUTLASS kernel took
    ~60 s of one core to compile; a layer about 2 s to check and time; Triton ~1 s per config)."""
    if jobs <= 0:
        raise DecodeError("jobs", jobs, "a positive number of parallel compiles")
    build = 60.0 * math.ceil((n_kernels + 3) / jobs) + 40.0  # + 3 bindings, + linking and loading
    return {"build_s": build, "triton_compile_s": 1.5 * n_triton, "layers_s": 2.5 * n_layers,
            "note": "prediction, not a measurement"}


__all__ = ["DECODE_TOKENS", "TOKEN_PRIORITY", "NCU_TOKENS", "DEFAULT_MODELS", "BUILD_CUTLASS", "BRIDGE_CUTLASS",
           "GDC_DEFINE", "CHAIN_MODES", "BUILDS", "ROLES", "CONTENDER_ROLES", "DecodeError", "DecodeKernel",
           "decode_kernels", "BuildSpec", "build_specs", "LayerScenario", "layer_scenario", "layer_scenarios",
           "SweepPoint", "K_SWEEP_BLOCKS", "GROUP_SWEEP", "ANATOMY", "ANATOMY_PARTS", "ANATOMY_CONTRASTS", "anatomy",
           "anatomy_tables", "sweep_points", "line_fit", "sweep_fits", "best_of",
           "layer_row", "layer_rows", "GOALS", "goals", "attribution", "layers_table", "winners_table",
           "goals_table", "attribution_tables", "markdown", "short_table", "Budget", "estimate_seconds"]
