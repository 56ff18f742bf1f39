"""Nsight Compute for the decode benchmark: the command lines, and what comes back turned into numbers (pure Python).

``scripts/bench_decode.py`` profiles a child process of itself (``--ncu-child``) that launches each kernel of a
manifest once, in order, with nothing else matching the kernel filter, so the report's kernel IDs map to the
manifest's labels. Clocks stay as the card has them (``--clock-control none``, as the device machine's METHOD.md
asks); caches are flushed before every replay pass (Nsight Compute's default ``--cache-control all``), which matches
the benchmark's cold-L2 timing.

Nsight Compute has no launch-to-first-instruction metric. What the report gives instead: the kernel's own duration
on the GPU (``gpu__time_duration``), which the event-timed median of the same kernel and scenario exceeds by the
launch and queue overhead; and the SMs' active cycles over the elapsed ones, which falls where a kernel's prologue,
pipeline fill or tail leaves SMs idle.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Iterable, Mapping, Optional, Sequence

#: The sections of the main pass (names of Nsight Compute's shipped section files).
SECTIONS = ("SpeedOfLight", "LaunchStats", "Occupancy", "MemoryWorkloadAnalysis", "SchedulerStats", "WarpStateStats")
#: A second, smaller pass over the 1-token launches: instruction-level sampling and the PM sampling timeline
#: (its report and CSV pages travel in the log tarball; nothing is parsed from it).
DEEP_SECTIONS = ("SourceCounters", "PmSampling")
#: Metrics asked for by name besides the sections (each also in a section; named so a section change cannot lose them).
#: Every name here is one Nsight Compute 2025.3.1 returned on the H200 run of 2026-12-03 (docs/decode_h200_ncu_raw.csv.gz):
#: a name the profiler does not know fails the whole pass.
METRICS = ("gpu__time_duration.sum", "dram__bytes_read.sum", "dram__bytes_write.sum", "sm__cycles_active.avg",
           "gpc__cycles_elapsed.max", "launch__grid_size", "launch__registers_per_thread",
           "gpu__dram_throughput.avg.pct_of_peak_sustained_elapsed", "sm__throughput.avg.pct_of_peak_sustained_elapsed",
           "smsp__average_warp_latency_per_inst_issued.ratio")
#: DRAM throughput in % of peak, by the names Nsight Compute versions give it: SpeedOfLight of 2025.3 reports
#: ``gpu__dram_throughput``; ``dram__throughput`` is the older breakdown name (absent from the 2025.3 raw page, which
#: left the first H200 run's "DRAM % peak" column empty).
DRAM_PCT_METRICS = ("gpu__dram_throughput.avg.pct_of_peak_sustained_elapsed",
                    "dram__throughput.avg.pct_of_peak_sustained_elapsed")
#: WarpStateStats of 2025.3: per stall reason, the warp cycles per issued instruction that a warp spends in it
#: (``smsp__average_warps_issue_stalled_<reason>_per_issue_active.ratio``; their sum is about the section's "Warp
#: Cycles Per Issued Instruction", ``smsp__average_warp_latency_per_inst_issued.ratio``). "selected" is the issuing
#: state, not a stall.
STALL_PREFIX = "smsp__average_warps_issue_stalled_"
STALL_SUFFIX = "_per_issue_active.ratio"
#: Base function names of the kernels profiled: CUTLASS's ``cutlass::device_kernel<...>`` and the Triton kernel.
KERNEL_REGEX = "regex:device_kernel|moe_grouped_gemm"


def profile_command(ncu: str, report: str, child: Sequence[str], sections: Sequence[str] = SECTIONS,
                    metrics: Sequence[str] = METRICS, kernel_regex: str = KERNEL_REGEX) -> list:
    """``ncu ... -o report child...``: every matching kernel of ``child`` profiled once, report written."""
    if not child:
        raise ValueError("profile_command: no child command")
    cmd = [ncu, "--clock-control", "none", "--target-processes", "all", "--kernel-name", kernel_regex]
    for s in sections:
        cmd += ["--section", s]
    if metrics:
        cmd += ["--metrics", ",".join(metrics)]
    cmd += ["--export", report, "--force-overwrite"]
    return cmd + list(child)


def import_commands(ncu: str, report: str) -> dict:
    """The text pages of a report: ``raw`` (every metric, one row per kernel), ``details`` (sections as tables) and
    ``source`` (SASS with per-instruction samples, where the report has them)."""
    base = [ncu, "--import", report, "--csv", "--print-units", "base"]
    return {"raw": base + ["--page", "raw"], "details": base + ["--page", "details"],
            "source": [ncu, "--import", report, "--csv", "--page", "source", "--print-source", "sass"]}


_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_TIME_NS = {"nsecond": 1.0, "usecond": 1e3, "msecond": 1e6, "second": 1e9, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def to_number(text: str) -> Optional[float]:
    """A CSV cell as a number (thousands separators dropped); None if it is not one."""
    if text is None:
        return None
    t = str(text).strip().replace(",", "")
    if t in ("", "n/a", "N/A", "-"):
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_raw_csv(text: str) -> list:
    """Rows of ``--page raw --csv``: a header row, a units row (its ID cell is empty), then one row per kernel.
    Returns ``[{"id", "kernel", "values": {metric: number}, "text": {metric: cell}, "units": {metric: unit}}]``."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("==")]
    if not lines:
        return []
    reader = csv.reader(io.StringIO("\n".join(lines)))
    rows = list(reader)
    header = rows[0]
    if "ID" not in header:
        raise ValueError("parse_raw_csv: no 'ID' column in the header (not a --page raw --csv export)")
    i_id = header.index("ID")
    i_name = header.index("Kernel Name") if "Kernel Name" in header else None
    units: dict = {}
    out = []
    for row in rows[1:]:
        if len(row) != len(header):
            continue
        if not row[i_id].strip():
            units = {h: u for h, u in zip(header, row)}
            continue
        values, cells = {}, {}
        for h, cell in zip(header, row):
            cells[h] = cell
            v = to_number(cell)
            if v is not None:
                values[h] = v
        out.append({"id": int(to_number(row[i_id]) or 0), "kernel": row[i_name] if i_name is not None else "",
                    "values": values, "text": cells, "units": units})
    return sorted(out, key=lambda r: r["id"])


def _scaled(value: float, unit: str, kind: str) -> float:
    """``value`` in ns (``kind="time"``) or bytes (``kind="bytes"``) from its unit cell."""
    unit = (unit or "").strip()
    if kind == "time":
        return value * _TIME_NS.get(unit, 1.0)
    for prefix, scale in _SCALE.items():
        if unit in (f"{prefix}byte", f"{prefix}B"):
            return value * scale
    return value


def launch_summary(row: Mapping) -> dict:
    """The numbers the decode report uses from one kernel's raw row."""
    v, u = row["values"], row.get("units") or {}

    def get(name):
        return v.get(name)

    out: dict = {"kernel": row.get("kernel", "")}
    d = get("gpu__time_duration.sum")
    out["duration_us"] = _scaled(d, u.get("gpu__time_duration.sum", ""), "time") / 1e3 if d is not None else None
    for key, name in (("dram_read_mb", "dram__bytes_read.sum"), ("dram_write_mb", "dram__bytes_write.sum")):
        x = get(name)
        out[key] = _scaled(x, u.get(name, ""), "bytes") / 1e6 if x is not None else None
    out["dram_pct_peak"] = next((get(m) for m in DRAM_PCT_METRICS if get(m) is not None), None)
    out["sm_pct_peak"] = get("sm__throughput.avg.pct_of_peak_sustained_elapsed")
    act, ela = get("sm__cycles_active.avg"), get("gpc__cycles_elapsed.max")
    out["sm_active_fraction"] = act / ela if act is not None and ela else None
    out["grid"] = get("launch__grid_size")
    out["registers"] = get("launch__registers_per_thread")
    out["smem_dynamic"] = get("launch__shared_mem_per_block_dynamic")
    out["achieved_occupancy_pct"] = get("sm__warps_active.avg.pct_of_peak_sustained_active")
    out["warp_cycles_per_issue"] = get("smsp__average_warp_latency_per_inst_issued.ratio")
    stalls = {k[len(STALL_PREFIX):-len(STALL_SUFFIX)]: x for k, x in v.items()
              if k.startswith(STALL_PREFIX) and k.endswith(STALL_SUFFIX)}
    total = sum(stalls.values())
    top = sorted(((k, x) for k, x in stalls.items() if k != "selected"), key=lambda kv: (-kv[1], kv[0]))[:4]
    out["top_stalls_cycles_per_issue"] = dict(top)
    # share of a warp's cycles (the sum over every state, "selected" included, is its cycles per issued instruction)
    out["top_stalls_pct"] = {k: 100.0 * x / total for k, x in top} if total > 0 else {}
    return out


def attach(rows: Sequence[Mapping], launches: Sequence[Mapping]) -> dict:
    """Pair the report's kernels (by ID) with the manifest's launches (in order). ``ok`` is False when the counts
    differ or a CUTLASS launch landed on a non-CUTLASS kernel (the pairing is then reported, not trusted)."""
    pairs = []
    mismatches = []
    for i, (row, launch) in enumerate(zip(rows, launches)):
        name = row.get("kernel", "")
        want = "device_kernel" if launch.get("kind") == "cutlass" else "moe_grouped_gemm"
        if want not in name:
            mismatches.append(f"#{i}: {launch.get('label')} expected {want}, report has {name[:80]}")
        pairs.append({**dict(launch), "ncu": launch_summary(row), "ncu_id": row.get("id")})
    ok = len(rows) == len(launches) and not mismatches
    note = "" if ok else f"{len(rows)} kernels in the report, {len(launches)} launches in the manifest; " + \
        "; ".join(mismatches[:5])
    return {"ok": ok, "note": note, "launches": pairs}


def reparse(ncu: Mapping, raw_text: str, source: str) -> dict:
    """A run's ``ncu`` section derived again from its own raw page (``--page raw --csv``, kept in the run's logs)
    with this module's parser: each launch keeps its manifest fields, its numbers are parsed anew, and
    ``reparsed_from`` names the page. For a run whose parser of the day missed metrics the page holds."""
    launches = [{k: v for k, v in x.items() if k not in ("ncu", "ncu_id")} for x in ncu.get("launches") or []]
    att = attach(parse_raw_csv(raw_text), launches)
    return {**dict(ncu), "launches": att["launches"], "attach_ok": att["ok"], "attach_note": att["note"],
            "reparsed_from": source}


def _f(x, nd=1) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def summary_table(launches: Iterable[Mapping]) -> str:
    """Markdown: per profiled launch, the GPU duration against the event-timed median (their difference is launch and
    queue overhead), DRAM bytes and throughput, SM activity and the main stall reasons."""
    lines = ["| launch | kernel | ncu duration us | event median us | event - ncu us | DRAM read MB | DRAM % peak | "
             "SM % peak | SM active / elapsed | grid | regs | warp cycles per issued inst. | "
             "top stalls (% of warp cycles) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in launches:
        n = x.get("ncu") or {}
        ev = x.get("event_median_us")
        gap = ev - n["duration_us"] if ev is not None and n.get("duration_us") is not None else None
        stalls = ", ".join(f"{k} {v:.0f}" for k, v in (n.get("top_stalls_pct") or {}).items()) or "-"
        lines.append(f"| {x.get('label')} | {x.get('kernel')} | {_f(n.get('duration_us'), 2)} | {_f(ev, 2)} | "
                     f"{_f(gap, 2)} | {_f(n.get('dram_read_mb'), 2)} | {_f(n.get('dram_pct_peak'))} | "
                     f"{_f(n.get('sm_pct_peak'))} | {_f(n.get('sm_active_fraction'), 2)} | {_f(n.get('grid'), 0)} | "
                     f"{_f(n.get('registers'), 0)} | {_f(n.get('warp_cycles_per_issue'), 1)} | {stalls} |")
    return "\n".join(lines) + "\n"


#: SASS opcode families of the per-instruction page (``--page source --print-source sass``), by base opcode (the
#: mnemonic before its first '.'; a guard predicate ``@P0`` is skipped): what a kernel's executed instructions are.
SASS_FAMILIES = (
    ("mbarrier (SYNCS)", ("SYNCS",)),
    ("fences (FENCE, MEMBAR, CCTL)", ("FENCE", "MEMBAR", "CCTL")),
    ("TMA and tensormap (UTMA*, UBLKCP)", ("UTMALDG", "UTMASTG", "UTMACCTL", "UTMACMDFLUSH", "UTMAPF", "UTMAREDG",
                                          "UBLKCP")),
    ("grid dependency (ACQBULK, PREEXIT)", ("ACQBULK", "PREEXIT")),
    ("tensor MMA", ("HGMMA", "QGMMA", "HMMA", "IMMA", "WARPGROUP")),
    ("CTA barriers (BAR)", ("BAR",)),
    ("global memory (LDG, STG, cp.async LDGSTS)", ("LDG", "STG", "LD", "ST", "RED", "ATOM", "ATOMG", "REDG",
                                                   "LDGSTS")),
    ("cp.async waits (LDGDEPBAR, DEPBAR)", ("LDGDEPBAR", "DEPBAR")),
    ("shared memory", ("LDS", "STS", "LDSM", "STSM")),
)


def parse_source_csv(text: str) -> dict:
    """One launch's per-instruction page (``ncu --import R --csv --page source --print-source sass`` with
    ``--launch-skip i --launch-count 1``): the kernel name, static and executed (warp-level, summed over warps)
    instruction counts, executed counts per :data:`SASS_FAMILIES` family and per opcode, and the stall samples.
    Raises ValueError on a page that is not one."""
    rows = list(csv.reader(io.StringIO(text)))
    head = next((i for i, r in enumerate(rows) if r[:2] == ["Address", "Source"]), None)
    if head is None:
        raise ValueError("not an Nsight Compute source page: no 'Address','Source' header")
    kernel = next((r[1] for r in rows[:head] if len(r) > 1 and r[0] == "Kernel Name"), "")
    cols = rows[head]
    try:
        ex_i, smp_i = cols.index("Instructions Executed"), cols.index("Warp Stall Sampling (All Samples)")
    except ValueError as e:
        raise ValueError(f"source page without the column {e}") from None
    base_family = {b: name for name, bases in SASS_FAMILIES for b in bases}
    families = {name: 0 for name, _ in SASS_FAMILIES}
    families["other"] = 0
    opcodes: dict = {}
    static = executed = samples = 0
    for r in rows[head + 1:]:
        if len(r) <= max(ex_i, smp_i) or not r[0].startswith("0x"):
            continue
        toks = r[1].split()
        if toks and toks[0].startswith("@"):
            toks = toks[1:]
        op = toks[0].rstrip(";") if toks else ""
        n = int(to_number(r[ex_i]) or 0)
        static += 1
        executed += n
        samples += int(to_number(r[smp_i]) or 0)
        families[base_family.get(op.split(".")[0], "other")] += n
        opcodes[op] = opcodes.get(op, 0) + n
    return {"kernel": kernel, "static_instructions": static, "executed": executed, "samples": samples,
            "families": families, "opcodes": dict(sorted(opcodes.items(), key=lambda kv: (-kv[1], kv[0])))}


def sass_table(pages: Sequence[Mapping], labels: Sequence[str]) -> str:
    """Markdown: per launch, executed warp-instructions in total and per family."""
    names = [name for name, _ in SASS_FAMILIES] + ["other"]
    lines = ["| launch | static SASS | executed (warp-instr.) | " + " | ".join(names) + " | stall samples |",
             "|---|---|---|" + "---|" * len(names) + "---|"]
    for label, p in zip(labels, pages):
        lines.append(f"| {label} | {p['static_instructions']} | {p['executed']} | "
                     + " | ".join(str(p["families"][n]) for n in names) + f" | {p['samples']} |")
    return "\n".join(lines) + "\n"


__all__ = ["SECTIONS", "DEEP_SECTIONS", "METRICS", "KERNEL_REGEX", "profile_command", "import_commands", "to_number",
           "parse_raw_csv", "launch_summary", "attach", "reparse", "summary_table", "DRAM_PCT_METRICS", "STALL_PREFIX",
           "STALL_SUFFIX", "SASS_FAMILIES", "parse_source_csv", "sass_table"]
