"""Published SM12x measurements of CUTLASS grouped / MoE GEMMs, as data the cost model is fitted to and judged on.

The records live in ``data/sm12x_measurements.json`` (sources with method and conditions; one record per measured
kernel). Numbers are the sources' own; :mod:`smem_tactics.validation` fits and judges the cost model on them.

Public API::

    from smem_tactics.measurements import load_measurements
    ms = load_measurements()                 # the shipped set, validated
    for m in ms.records: m.problem(), m.candidate(), m.time_us, m.relative
    ms.groups()                              # comparable sets: same source, device and problem

Every record is checked on load: missing or mistyped fields, an unknown GPU, an unknown source, a kernel the model
cannot build, or a ``relative_to`` that names no record of the same problem are refused with the record's id and
the field. A record may leave the kernel unknown (``tile: null``): it then serves only problem-level checks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

from .contract import MAX_EXPERTS, MAX_GEMM_DIM, MAX_TOKENS, MAX_TOP_K, bad, json_document, read_json_file
from .devices import gpu_facts
from .errors import ConfigError, SmemTacticsError

SCHEMA = 1
SCHEDULES = ("cooperative", "pingpong")
_SHIPPED = "data/sm12x_measurements.json"


@dataclass(frozen=True)
class MeasuredProblem:
    """The GEMM a record measured: every expert with ``rows_per_expert`` rows (``None`` = not stated)."""

    experts: int
    top_k: int
    n: Optional[int]
    k: int
    rows: Optional[int]
    rows_per_expert: Optional[float]
    tokens: Optional[int]
    gemm: Optional[int]


@dataclass(frozen=True)
class MeasuredKernel:
    arch: str
    tile: Optional[tuple]
    schedule: Optional[str]
    cluster: tuple
    stages: Union[str, int]
    swap_ab: bool
    epilogue: str  # "tma" (plain TMA warp-specialized store) or "finalize" (scatter-reduce into token rows)


@dataclass(frozen=True)
class Measurement:
    id: str
    source: str
    device: str
    dtype: str
    problem_spec: MeasuredProblem
    kernel: MeasuredKernel
    time_us: Optional[float]
    relative: Optional[float]
    relative_to: Optional[str]
    cutlass: Optional[str]
    notes: str = ""

    @property
    def has_kernel(self) -> bool:
        return self.kernel.tile is not None and self.kernel.schedule is not None

    def problem(self, n: Optional[int] = None):
        """The :class:`~smem_tactics.problems.Problem`: balanced routing (every expert ``rows_per_expert`` rows;
        the sources state balanced synthetic routing or only a mean). ``n`` fills an unstated N."""
        from .problems import Problem

        p = self.problem_spec
        n = p.n if p.n is not None else n
        if n is None:
            raise ConfigError(f"measurement {self.id}: problem.n", None, "an N (the source does not state it)")
        per = p.rows_per_expert if p.rows_per_expert is not None else (p.rows / p.experts if p.rows else None)
        if per is None:
            raise ConfigError(f"measurement {self.id}: problem.rows", None, "rows or rows_per_expert")
        return Problem(n, p.k, ((max(1, round(per)), float(p.experts)),),
                       f"{self.source}: {p.experts} experts x {per:g} rows, n={n}, k={p.k}", None, p.gemm,
                       p.tokens, "balanced")

    def config(self, cutlass: Optional[str] = None):
        """The kernel as a :class:`~smem_tactics.config.KernelConfig` (stages as the source built them)."""
        from .config import KernelConfig
        from .synthesis import dtype_recipe
        from .config import Arch

        if not self.has_kernel:
            raise ConfigError(f"measurement {self.id}: kernel.tile", None, "a measured kernel (this record has none)")
        recipe = dtype_recipe(self.dtype, Arch.parse(self.kernel.arch))
        k = self.kernel
        sched = {"cooperative": "KernelPtrArrayTmaWarpSpecializedCooperative",
                 "pingpong": "KernelPtrArrayTmaWarpSpecializedPingpong"}[k.schedule]
        a, b = (recipe.weight, recipe.activation) if k.swap_ab else (recipe.activation, recipe.weight)
        return KernelConfig.create(k.arch, a, b, None, recipe.d, list(k.tile), kind=recipe.kind,
                                   layout_cd="col" if k.swap_ab else "row", cluster=list(k.cluster),
                                   kernel_schedule=sched, stages=k.stages,
                                   cutlass=cutlass or self.cutlass or "4.5.0")

    def candidate(self, cutlass: Optional[str] = None):
        """The measured kernel as a synthesis :class:`~smem_tactics.synthesis.Candidate` (stages resolved)."""
        from .footprint import footprint
        from .synthesis import Candidate, dtype_recipe
        from .config import Arch

        cfg = self.config(cutlass)
        fp = footprint(cfg)
        pinned = cfg.with_stages(fp.stages)
        recipe = dtype_recipe(self.dtype, Arch.parse(self.kernel.arch))
        return Candidate(pinned, self.kernel.swap_ab, recipe.name, "void_c", self.kernel.schedule,
                         gpu_facts(self.device).smem_per_block_optin, 1, footprint(pinned))


@dataclass(frozen=True)
class MeasurementSet:
    sources: dict
    records: tuple

    def by_id(self, mid: str) -> Measurement:
        for m in self.records:
            if m.id == mid:
                return m
        raise ConfigError("measurement", mid, [m.id for m in self.records])

    def source_ids(self) -> tuple:
        return tuple(self.sources)

    def times(self) -> dict:
        """Each record's time relative to its group's reference (``relative``, or 1.0 for the reference itself),
        and absolute microseconds where published: ``{id: (relative_or_None, time_us_or_None)}``."""
        out = {}
        for m in self.records:
            rel = m.relative if m.relative is not None else (1.0 if any(o.relative_to == m.id for o in self.records)
                                                             else None)
            out[m.id] = (rel, m.time_us)
        return out


def _need(rec: dict, key: str, where: str) -> Any:
    if key not in rec:
        raise bad(f"{where}.{key}", None, "a value (required field)", "missing")
    return rec[key]


def _opt_int(value: Any, field: str, lo: int, hi: int) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad(field, value, f"null or an integer from {lo} to {hi}")
    return value


def _opt_pos_float(value: Any, field: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise bad(field, value, "null or a positive number")
    return float(value)


def _parse_record(rec: Any, index: int, sources: dict) -> Measurement:
    where = f"measurements[{index}]"
    if not isinstance(rec, dict):
        raise bad(where, rec, "a JSON object")
    mid = _need(rec, "id", where)
    if not isinstance(mid, str) or not mid:
        raise bad(f"{where}.id", mid, "a non-empty string")
    where = f"measurement {mid}"
    source = _need(rec, "source", where)
    if source not in sources:
        raise bad(f"{where}.source", source, sorted(sources), "no such source")
    device = _need(rec, "device", where)
    try:
        g = gpu_facts(device)
    except SmemTacticsError:
        raise bad(f"{where}.device", device, "a GPU of data/gpus.json (gb10, rtx-5090, rtx-pro-6000, ...)",
                  "unknown GPU") from None
    if not g.arch.startswith("sm12"):
        raise bad(f"{where}.device", device, "an SM120/SM121 GPU", f"{g.arch}")
    dtype = _need(rec, "dtype", where)
    if not isinstance(dtype, str):
        raise bad(f"{where}.dtype", dtype, "a dtype name (nvfp4, mxfp8xmxfp4, fp8)")
    p = _need(rec, "problem", where)
    if not isinstance(p, dict):
        raise bad(f"{where}.problem", p, "a JSON object")
    problem = MeasuredProblem(
        experts=_opt_int(_need(p, "experts", f"{where}.problem"), f"{where}.problem.experts", 1, MAX_EXPERTS),
        top_k=_opt_int(_need(p, "top_k", f"{where}.problem"), f"{where}.problem.top_k", 1, MAX_TOP_K),
        n=_opt_int(_need(p, "n", f"{where}.problem"), f"{where}.problem.n", 1, MAX_GEMM_DIM),
        k=_opt_int(_need(p, "k", f"{where}.problem"), f"{where}.problem.k", 1, MAX_GEMM_DIM),
        rows=_opt_int(p.get("rows"), f"{where}.problem.rows", 1, MAX_TOKENS * MAX_TOP_K),
        rows_per_expert=_opt_pos_float(p.get("rows_per_expert"), f"{where}.problem.rows_per_expert"),
        tokens=_opt_int(p.get("tokens"), f"{where}.problem.tokens", 1, MAX_TOKENS),
        gemm=_opt_int(p.get("gemm"), f"{where}.problem.gemm", 1, 2))
    if problem.experts is None or problem.k is None or problem.top_k is None:
        raise bad(f"{where}.problem", "null experts/top_k/k", "experts, top_k and k stated")
    k = _need(rec, "kernel", where)
    if not isinstance(k, dict):
        raise bad(f"{where}.kernel", k, "a JSON object")
    arch = _need(k, "arch", f"{where}.kernel")
    if arch not in ("sm120", "sm121"):
        raise bad(f"{where}.kernel.arch", arch, ("sm120", "sm121"))
    tile = k.get("tile")
    if tile is not None and not (isinstance(tile, list) and len(tile) == 3 and all(
            isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1024 for x in tile)):
        raise bad(f"{where}.kernel.tile", tile, "null or [M, N, K] of positive integers")
    schedule = k.get("schedule")
    if schedule is not None and schedule not in SCHEDULES:
        raise bad(f"{where}.kernel.schedule", schedule, SCHEDULES)
    cluster = k.get("cluster") or [1, 1, 1]
    if cluster != [1, 1, 1]:
        raise bad(f"{where}.kernel.cluster", cluster, "[1, 1, 1] (SM12x grouped GEMMs run without clusters)")
    stages = k.get("stages") or "auto"
    if not (stages == "auto" or (isinstance(stages, int) and not isinstance(stages, bool) and 1 <= stages <= 64)):
        raise bad(f"{where}.kernel.stages", stages, '"auto" or an integer from 1 to 64')
    epilogue = str(k.get("epilogue") or "")
    kernel = MeasuredKernel(arch, tuple(tile) if tile else None, schedule, (1, 1, 1), stages,
                            bool(k.get("swap_ab") or False), "finalize" if "finalize" in epilogue.lower() else "tma")
    time_us = _opt_pos_float(rec.get("time_us"), f"{where}.time_us")
    relative = _opt_pos_float(rec.get("relative"), f"{where}.relative")
    relative_to = rec.get("relative_to")
    if (relative is None) != (relative_to is None):
        raise bad(f"{where}.relative_to", relative_to, "set together with relative (or both null)")
    if time_us is None and relative is None:
        raise bad(f"{where}.time_us", None, "time_us or relative (a record must hold a number)")
    cutlass = rec.get("cutlass", sources[source].get("cutlass"))
    return Measurement(mid, source, g.key, dtype, problem, kernel, time_us, relative, relative_to,
                       cutlass if isinstance(cutlass, str) else None, str(rec.get("notes", "")))


def parse_measurements(data: Any) -> MeasurementSet:
    """Validate a measurement document (the parsed JSON) and build the set."""
    if not isinstance(data, dict):
        raise bad("measurements file", data, "a JSON object with 'schema', 'sources' and 'measurements'")
    if data.get("schema") != SCHEMA:
        raise bad("schema", data.get("schema"), str(SCHEMA))
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise bad("sources", sources, "an object of source id -> source")
    for sid, s in sources.items():
        if not isinstance(s, dict):
            raise bad(f"sources.{sid}", s, "a JSON object")
        for key in ("repository", "kind", "device", "method"):
            if not isinstance(s.get(key), str) or not s.get(key):
                raise bad(f"sources.{sid}.{key}", s.get(key), "a non-empty string", "missing")
    raw = data.get("measurements")
    if not isinstance(raw, list) or not raw:
        raise bad("measurements", raw, "a non-empty list of records")
    records = tuple(_parse_record(r, i, sources) for i, r in enumerate(raw))
    ids = [m.id for m in records]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise bad("measurement id", dup[0], "unique ids", "duplicate")
    by_id = {m.id: m for m in records}
    for m in records:
        if m.relative_to is None:
            continue
        ref = by_id.get(m.relative_to)
        if ref is None:
            raise bad(f"measurement {m.id}.relative_to", m.relative_to, "the id of another record", "no such record")
        if (ref.source, ref.device, ref.problem_spec) != (m.source, m.device, m.problem_spec):
            raise bad(f"measurement {m.id}.relative_to", m.relative_to,
                      "a record of the same source, device and problem", "a different problem")
    return MeasurementSet(dict(sources), records)


@functools.lru_cache(maxsize=1)
def _shipped() -> MeasurementSet:
    text = resources.files("smem_tactics").joinpath(_SHIPPED).read_text()
    return parse_measurements(json_document("measurements", text, max_bytes=1 << 24, max_depth=16))


def load_measurements(path: Union[str, Path, None] = None) -> MeasurementSet:
    """The shipped measurement set, or the file at ``path`` (validated the same way)."""
    if path is None:
        return _shipped()
    return parse_measurements(read_json_file("measurements", path))


__all__ = ["Measurement", "MeasuredKernel", "MeasuredProblem", "MeasurementSet", "load_measurements",
           "parse_measurements", "SCHEDULES"]
