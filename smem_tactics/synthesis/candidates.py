"""Candidates: legal search-space points pinned to the most pipeline stages that fit a limit.

For every point of :func:`~smem_tactics.synthesis.space.raw_configs` the synthesizer

1. drops it if CUTLASS rejects it (:func:`smem_tactics.legality.violations`, each with its reason) or if its
   accumulators would spill (``filters.max_accumulators_per_thread`` in ``data/synthesis.json``);
2. finds the largest ``StageCount<S>`` whose exact ``sizeof(GemmKernel::SharedStorage)`` is at most the target
   limit (:func:`smem_tactics.verdict.max_fitting_stages`; the footprint grows strictly with S, so S + 1 does not
   fit), and drops the point if not even 2 stages fit;
3. pins ``StageCount<S>`` in the config, so the emitted kernel never depends on CUTLASS's automatic carve-out;
4. on request, adds the same point at explicit stage counts below S (``stage_counts``: fewer stages for short K,
   each with its own exact footprint) and once per launch option (``launch``: PDL, raster order, swizzle;
   :mod:`smem_tactics.launch`, which changes no byte of shared memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..config import Arch, KernelConfig
from ..contract import (require_bool, require_cutlass, require_instance, require_items, require_limit, require_str,
                        require_strict_int)
from ..errors import ConfigError, UnsupportedConfigError
from ..footprint import Footprint, footprint
from ..launch import PDL_WAIT, LaunchOptions
from ..layout.resolve import resolve_schedules
from ..legality import violations
from ..verdict import max_fitting_stages
from .space import RawConfig, check_recipe_version, dtype_recipe, raw_configs, space_table

#: Shared memory CUDA reserves per resident block (cudaDevAttrReservedSharedMemoryPerBlock on SM80+).
RESERVED_SMEM_PER_BLOCK = 1024


@dataclass(frozen=True)
class Candidate:
    """A synthesized kernel config with its pinned stage count and exact footprint."""

    config: KernelConfig  # stages pinned to an explicit StageCount<S>
    swap_ab: bool
    dtype: str  # recipe name (data/synthesis.json)
    epilogue: str  # epilogue variant name
    schedule: str  # cooperative | pingpong | 1sm | 2sm
    limit_bytes: int  # the limit S was maximised under
    ctas_per_sm: int  # resident CTAs the limit was derived for (1, or 2 for a 2-CTA variant)
    footprint: Footprint
    launch: LaunchOptions = LaunchOptions()  # how it is launched (no byte of shared memory depends on it)

    @property
    def name(self) -> str:
        return self.config.name() + ("_swapab" if self.swap_ab else "") + self.launch.suffix()

    @property
    def stages(self) -> int:
        return self.footprint.stages

    @property
    def total_bytes(self) -> int:
        return self.footprint.total_bytes

    @property
    def tile(self) -> tuple:
        return self.config.tile

    @property
    def parts(self) -> dict:
        return self.footprint.parts

    @property
    def pingpong(self) -> bool:
        return resolve_schedules(self.config)[0].is_pingpong

    def short(self) -> str:
        """A compact label: ``pp 128x32x128 s9 swap``."""
        m, n, k = self.config.tile
        sched = {"cooperative": "co", "pingpong": "pp"}.get(self.schedule, self.schedule)
        c = "" if self.config.cluster == (1, 1, 1) else " c" + "x".join(map(str, self.config.cluster[:2]))
        epi = {"c_eq_d": " C=D", "no_smem": " no-smem epi"}.get(self.epilogue, "")
        mode = " ptr-array" if self.config.mode.value == "ptr_array" else ""
        launch = self.launch.suffix().replace("_", " ")
        return f"{sched} {m}x{n}x{k} s{self.stages}{' swapAB' if self.swap_ab else ''}{c}{epi}{mode}{launch}"

    def to_dict(self) -> dict:
        return {"name": self.name, "config": self.config.to_dict(), "swap_ab": self.swap_ab, "dtype": self.dtype,
                "epilogue": self.epilogue, "schedule": self.schedule, "limit_bytes": self.limit_bytes,
                "ctas_per_sm": self.ctas_per_sm, "total_bytes": self.total_bytes, "stages": self.stages,
                "breakdown": self.parts, "launch": self.launch.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "Candidate":
        """Rebuild a candidate; its footprint is recomputed and must equal the recorded bytes and stages."""
        cfg = KernelConfig.from_dict(data["config"])
        fp = footprint(cfg)
        if fp.total_bytes != data["total_bytes"] or fp.stages != data["stages"]:
            raise ConfigError("candidate", data.get("name"), "a candidate whose recorded footprint the installed model "
                              "reproduces", f"recorded {data['total_bytes']} B / {data['stages']} stages, the model "
                              f"now says {fp.total_bytes} B / {fp.stages} stages")
        launch = LaunchOptions.from_dict(data["launch"]) if data.get("launch") is not None else LaunchOptions()
        launch.check(cfg)
        return cls(cfg, bool(data["swap_ab"]), data["dtype"], data["epilogue"], data["schedule"],
                   int(data["limit_bytes"]), int(data.get("ctas_per_sm", 1)), fp, launch)


@dataclass(frozen=True)
class Rejection:
    """A search-space point the synthesizer dropped, and why."""

    name: str
    swap_ab: bool
    reason: str

    def to_dict(self) -> dict:
        return {"name": self.name, "swap_ab": self.swap_ab, "reason": self.reason}


def accumulators_per_thread(cfg: KernelConfig) -> Optional[int]:
    """fp32 accumulators each MMA thread holds in registers (``None`` on SM100, whose accumulators live in TMEM)."""
    if cfg.arch.family is Arch.SM100:
        return None
    threads = 128 if resolve_schedules(cfg)[0].is_pingpong else 256
    return cfg.tile[0] * cfg.tile[1] // threads


def _pin(raw: RawConfig, limit: int) -> tuple:
    """(pinned config, None) or (None, reason)."""
    broken = violations(raw.config)
    if broken:
        return None, broken[0].reason
    cap = space_table()["filters"]["max_accumulators_per_thread"]
    acc = accumulators_per_thread(raw.config)
    if acc is not None and acc > cap:
        return None, (f"{acc} fp32 accumulators per MMA thread (> {cap}): the kernel would spill registers")
    try:
        footprint(raw.config)
    except UnsupportedConfigError as e:
        return None, str(e)
    stages = max_fitting_stages(raw.config, limit)
    if stages is None:
        two = footprint(raw.config).total_bytes
        return None, f"even StageCount<2> needs {two} B > {limit} B"
    return raw.config.with_stages(stages), None


def _parse_arch(arch: Any) -> Arch:
    return Arch.parse(arch)


def explore(arch: Any, dtype: str, limit_bytes: int, cutlass: Any = None, problem: Any = None, *,
            swap_ab: Sequence[bool] = (False, True), schedules: Optional[Sequence[str]] = None,
            epilogues: Optional[Sequence[str]] = None, tiles_m: Optional[Sequence[int]] = None,
            tiles_n: Optional[Sequence[int]] = None, tile_k_bytes: Optional[Sequence[int]] = None,
            clusters: Optional[Sequence[Sequence[int]]] = None, smem_per_sm: Optional[int] = None,
            ctas_per_sm: Sequence[int] = (1,), modes: Optional[Sequence[str]] = None,
            stage_counts: Sequence[int] = (), launch: Optional[Sequence[LaunchOptions]] = None) -> tuple:
    """(candidates, rejections): :func:`synthesize`, plus every dropped point with its reason."""
    from . import default_cutlass

    extra_stages = _stage_counts(stage_counts)
    launches = _launches(launch)
    arch_v = _parse_arch(arch)
    limit_bytes = require_limit("limit_bytes", limit_bytes)
    version = require_cutlass("cutlass", cutlass, default_cutlass(arch_v))
    if problem is not None:
        from ..problems import Problem

        require_instance("problem", problem, Problem, "a smem_tactics.problems.Problem (moe_problem(...)) or None")
    narrow = narrowing(swap_ab=swap_ab, schedules=schedules, epilogues=epilogues, tiles_m=tiles_m, tiles_n=tiles_n,
                       tile_k_bytes=tile_k_bytes, clusters=clusters, modes=modes)
    ctas_per_sm = require_items("ctas_per_sm", ctas_per_sm, lambda f, v: require_strict_int(f, v, 1, 2))
    smem_per_sm = require_limit("smem_per_sm", smem_per_sm, allow_none=True)
    check_recipe_version(dtype_recipe(dtype, arch_v), arch_v, version)  # a clear error before enumerating
    for opts in launches:  # a launch no config of this release can take is a bad request, not a rejection
        if opts.pdl and version < PDL_WAIT.since[arch_v.family.value]:
            raise ConfigError("launch.pdl", True, f"CUTLASS {PDL_WAIT.since[arch_v.family.value]} or newer for "
                              f"{arch_v.family.value}", f"CUTLASS {version}'s array kernels issue no "
                              f"griddepcontrol.wait, so a programmatic dependent launch would be unsafe")
    if any(c == 2 for c in ctas_per_sm) and smem_per_sm is None:
        raise ConfigError("smem_per_sm", None, "the SM's shared memory in bytes (needed for 2-CTA variants)")
    targets = []
    for c in sorted(set(ctas_per_sm)):
        target = limit_bytes if c == 1 else min(limit_bytes, smem_per_sm // c - RESERVED_SMEM_PER_BLOCK)
        targets.append((c, target))
    candidates: list = []
    rejections: list = []
    seen: set = set()
    for raw in raw_configs(arch_v, dtype, version, **narrow):
        if problem is not None and not _useful_for(raw, problem):
            rejections.append(Rejection(raw.config.name(), raw.swap_ab, "pads the problem: tile K exceeds the "
                                        "problem's K, or the weight-side tile is over twice the problem's N"))
            continue
        for ctas, target in targets:
            pinned, why = _pin(raw, target)
            if pinned is None:
                if ctas == 1:
                    rejections.append(Rejection(raw.config.name(), raw.swap_ab, why))
                continue
            top = pinned.stages
            for stages in [top] + [x for x in extra_stages if x < top]:
                cfg = pinned if stages == top else pinned.with_stages(stages)
                for opts in launches:
                    key = (cfg, raw.swap_ab, opts)
                    if key in seen:
                        continue
                    seen.add(key)
                    try:
                        opts.check(cfg)
                    except ConfigError as e:
                        if ctas == 1:
                            rejections.append(Rejection(cfg.name() + opts.suffix(), raw.swap_ab, str(e)))
                        continue
                    candidates.append(Candidate(cfg, raw.swap_ab, dtype_recipe(dtype, arch_v).name, raw.epilogue,
                                                raw.schedule, target, ctas, footprint(cfg), opts))
    return candidates, rejections


#: The most pipeline stages ``stage_counts`` may name (SM90 kernels are capped by shared memory well below).
MAX_STAGE_COUNT = 64


def _stage_counts(values: Any) -> tuple:
    """Explicit stage counts to add below each candidate's maximum (fewer stages for short K)."""
    if values is None:
        return ()
    out = require_items("stage_counts", values, lambda f, v: require_strict_int(
        f, v, 2, MAX_STAGE_COUNT, "a stage count (CUTLASS needs >= 2 stages)"), allow_empty=True)
    return tuple(sorted(set(out), reverse=True))


#: Bounds of the narrowing lists' numbers: tile extents, tile K in bytes and cluster extents (far above any
#: CUTLASS tile; they only keep a typo from enumerating a huge grid).
MAX_TILE_EXTENT, MAX_TILE_K_BYTES, MAX_CLUSTER_EXTENT = 1024, 4096, 16


def _name(field: str, value: Any) -> str:
    return require_str(field, value, "a name from data/synthesis.json", max_len=100)


def _cluster(field: str, value: Any) -> tuple:
    items = require_items(field, value, lambda f, v: require_strict_int(f, v, 1, MAX_CLUSTER_EXTENT), max_items=3)
    if len(items) != 3:
        raise ConfigError(field, list(items), "[m, n, k] of positive integers", f"{len(items)} items")
    return items


def narrowing(*, swap_ab: Any = (False, True), schedules: Any = None, epilogues: Any = None, tiles_m: Any = None,
              tiles_n: Any = None, tile_k_bytes: Any = None, clusters: Any = None, modes: Any = None) -> dict:
    """The narrowing arguments of :func:`explore` / :func:`smallest_footprint`, checked once (``None``: the whole
    search space of data/synthesis.json; an empty list is refused, never read as 'everything')."""
    def listed(field: str, value: Any, check) -> Optional[tuple]:
        return None if value is None else require_items(field, value, check)

    def extent(hi: int):
        return lambda f, v: require_strict_int(f, v, 1, hi)

    return {"swap_ab": require_items("swap_ab", swap_ab, require_bool),
            "schedules": listed("schedules", schedules, _name), "epilogues": listed("epilogues", epilogues, _name),
            "tiles_m": listed("tiles_m", tiles_m, extent(MAX_TILE_EXTENT)),
            "tiles_n": listed("tiles_n", tiles_n, extent(MAX_TILE_EXTENT)),
            "tile_k_bytes": listed("tile_k_bytes", tile_k_bytes, extent(MAX_TILE_K_BYTES)),
            "clusters": listed("clusters", clusters, _cluster), "modes": listed("modes", modes, _name)}


def _launches(values: Any) -> tuple:
    if values is None:
        return (LaunchOptions(),)
    if isinstance(values, LaunchOptions) or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ConfigError("launch", values, "a list of smem_tactics.launch.LaunchOptions")
    out = []
    for v in values:
        if not isinstance(v, LaunchOptions):
            raise ConfigError("launch", v, "smem_tactics.launch.LaunchOptions")
        if v not in out:
            out.append(v)
    if not out:
        raise ConfigError("launch", [], "at least one LaunchOptions (LaunchOptions() is CUTLASS's own launch)")
    return tuple(out)


def _useful_for(raw: RawConfig, problem) -> bool:
    m, n, k = raw.config.tile
    weight_side = m if raw.swap_ab else n
    return k <= max(problem.k, 1) and weight_side <= 2 * problem.n


def synthesize(arch: Any, dtype: str, limit_bytes: int, cutlass: Any = None, problem: Any = None,
               **narrow: Any) -> list:
    """Every legal config of ``arch`` x ``dtype`` that fits ``limit_bytes``, each pinned to the largest
    ``StageCount<S>`` that fits (see the package docstring for the keyword arguments)."""
    import inspect

    known = [n for n, p in inspect.signature(explore).parameters.items() if p.kind is p.KEYWORD_ONLY]
    for key in narrow:
        if key not in known:
            raise ConfigError(key, narrow[key] if isinstance(narrow[key], (str, int)) else
                              f"<{type(narrow[key]).__name__}>", known, "not a narrowing argument")
    candidates, _ = explore(arch, dtype, limit_bytes, cutlass, problem, **narrow)
    if not candidates:
        raise ConfigError("limit_bytes", limit_bytes, "a limit some config fits (the smallest legal config needs "
                          f"{smallest_footprint(arch, dtype, cutlass, **narrow)} B at 2 stages)",
                          f"no {dtype} config for {Arch.parse(arch).value} fits")
    return candidates


def smallest_footprint(arch: Any, dtype: str, cutlass: Any = None, **narrow: Any) -> Optional[int]:
    """The smallest 2-stage footprint over the legal search space (what a limit must at least allow)."""
    from . import default_cutlass

    arch_v = _parse_arch(arch)
    version = require_cutlass("cutlass", cutlass, default_cutlass(arch_v))
    narrow = narrowing(**{k: v for k, v in narrow.items()
                          if k not in ("smem_per_sm", "ctas_per_sm", "stage_counts", "launch")})
    best = None
    for raw in raw_configs(arch_v, dtype, version, **narrow):
        if violations(raw.config):
            continue
        try:
            b = footprint(raw.config).total_bytes
        except UnsupportedConfigError:
            continue
        best = b if best is None else min(best, b)
    return best


__all__ = ["Candidate", "Rejection", "explore", "synthesize", "smallest_footprint", "accumulators_per_thread",
           "RESERVED_SMEM_PER_BLOCK", "MAX_STAGE_COUNT"]
