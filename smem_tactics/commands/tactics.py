"""``smem-tactics tactics``: every tactic of a framework's CUTLASS fused-MoE runner, in the runner's order, with
the exact kernel it runs, its shared memory and whether it fits the device -- under each CUTLASS release asked
for (default: the one the framework version ships; for TensorRT-LLM 1.2, whose CUTLASS tag is not confirmed,
both 4.4.1-era and 4.4.2+ rules)."""

from __future__ import annotations

import json
from typing import Optional

from ..catalogs import (
    ACTIVATIONS,
    DTYPE_PATHS,
    OUTPUTS,
    fallback_tactic,
    judge_all,
    known_versions,
    normalize_arch,
    published_failures,
    resolve_version,
    tactics,
)
from ..catalogs.prefilter import screen
from ..catalogs.verdicts import FITS, KIND_UNKNOWN, SMEM
from ..errors import DeviceError, VersionError
from ..versions import CutlassVersion
from ._common import add_limit_flags, limit_from_args, table


def register(sub) -> None:
    p = sub.add_parser("tactics", help="a framework's MoE tactic list with bytes and verdicts per tactic",
                       description=__doc__)
    p.add_argument("--framework", required=True, help="trtllm | flashinfer")
    p.add_argument("--version", help="framework version (trtllm: 1.2, 1.3, main; flashinfer: 0.6.4, 0.6.9, "
                                     "0.7.2.post1, 0.7.4); default: the newest read at its own tag")
    p.add_argument("--dtype", required=True, help="MoE dtype path: " + ", ".join(DTYPE_PATHS))
    p.add_argument("--gemm", type=int, choices=(1, 2), help="only GEMM1 (fc1) or GEMM2 (fc2); default both")
    p.add_argument("--arch", help="catalog arch (sm90, sm100, sm103, sm120, sm121); default: the device's")
    p.add_argument("--cutlass", action="append", metavar="VERSION",
                   help="judge under this CUTLASS release (repeatable); default: what the framework ships")
    p.add_argument("--output", default="bf16", choices=OUTPUTS, help="GEMM output type (default bf16)")
    p.add_argument("--activation", default="swiglu", choices=ACTIVATIONS,
                   help="MoE activation; gated ones pick the fused gate kernel for 16-bit GEMM1 (default swiglu)")
    p.add_argument("--no-finalize", action="store_true",
                   help="the runner was built without fused finalize (TensorRT-LLM moe_config.disable_finalize_fusion"
                        ", FlashInfer 0.7 use_fused_finalize=False)")
    add_limit_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _arch(args, limit) -> str:
    if args.arch:
        return normalize_arch(args.arch)
    if limit.arch:
        return normalize_arch(limit.arch)
    raise DeviceError("arch: no GPU found and none named; give --gpu (e.g. gb10), --limit-arch or --arch")


def _cutlass_versions(args, fv) -> tuple:
    if args.cutlass:
        return tuple(str(CutlassVersion.parse(v)) for v in args.cutlass)
    return fv.default_cutlass


def _verdict_cell(v) -> str:
    if v.total_bytes is None:
        return f"- {v.kind.upper() if not v.fits else v.kind}"
    if v.cause == FITS:
        return f"{v.total_bytes} s{v.stages} fits (+{v.margin})"
    if v.cause == SMEM:
        return f"{v.total_bytes} s{v.stages} FAILS (over by {-v.margin})"
    return f"{v.total_bytes} s{v.stages} {v.kind.upper() if not v.fits else v.kind}"


def _published(fv, arch: str, dtype: str, gemm) -> list:
    return [p for p in published_failures() if p["framework"] == fv.framework and p["version"] == fv.key
            and p["arch"] in (arch, "sm120" if arch == "sm121" else arch) and p["dtype"] in (dtype, "*")
            and p.get("gemm") == gemm]


def _report_gemm(fv, arch: str, dtype: str, gemm: int, args, limit, versions: tuple) -> dict:
    finalize = False if args.no_finalize else None
    listing = tactics(fv.framework, fv.key, arch, dtype, gemm, finalize)
    per_version = {v: judge_all(listing, limit.smem_per_block_optin, v, args.output, args.activation)
                   for v in versions}
    screened = screen(fv, dtype, per_version[versions[0]], limit.smem_per_block_optin, versions[0], args.output)
    return {"gemm": gemm, "listing": listing, "verdicts": per_version, "screened": screened}


def probe_failures(report: dict, versions: tuple) -> list:
    """The verdicts an offline probe records as failing: cannot run (under every release asked about) and offered
    to the profiler by the version's pre-filter (all of them where it has none)."""
    cannot = failing(report, versions)
    if report["screened"] is None:
        return cannot
    profiled = {s.verdict.tactic.value for s in report["screened"] if s.profiled}
    return [x for x in cannot if x.tactic.value in profiled]


def _prefilter_lines(report: dict, versions: tuple) -> list:
    screened = report["screened"]
    if screened is None:
        return []
    dropped = [s for s in screened if not s.profiled]
    lines = [f"tuner pre-filter (get_valid_tactics occupancy query): drops "
             f"{', '.join(str(s.verdict.tactic.value) for s in dropped) or 'none'}; profiled and cannot run: "
             f"{', '.join(str(x.tactic.value) for x in probe_failures(report, versions)) or 'none'}"]
    if dropped == [] and any("keeps them all" in s.reason for s in screened):
        lines.append(f"  every tactic: {screened[0].reason}")
    by_value = {s.verdict.tactic.value: s for s in screened}
    for x in failing(report, versions):
        s = by_value[x.tactic.value]
        if not s.profiled or s.reason.startswith("occupancy > 0: the query sizes"):
            lines.append(f"  {x.tactic.value}: {'profiled' if s.profiled else 'never profiled'} -- {s.reason}")
    return lines


def failing(report: dict, versions: tuple) -> list:
    """The verdicts (first CUTLASS release's) of the tactics that cannot run under every release asked about."""
    runs = [report["verdicts"][v] for v in versions]
    return [run_list[0] for run_list in zip(*runs) if all(not x.fits for x in run_list)]


def _summary_lines(report: dict, versions: tuple, fv, arch: str, dtype: str) -> list:
    lines = []
    listing = report["listing"]
    for v in versions:
        failed = [x for x in report["verdicts"][v] if not x.fits]
        by_kind: dict = {}
        for x in failed:
            by_kind.setdefault(x.kind, []).append(str(x.tactic.value))
        kinds = "; ".join(f"{k}: {', '.join(ix)}" for k, ix in by_kind.items()) or "none"
        unknown = sum(1 for x in report["verdicts"][v] if x.kind == KIND_UNKNOWN)
        extra = f"; {unknown} unknown (not judged)" if unknown else ""
        lines.append(f"CUTLASS {v} rules: {len(failed)} of {len(listing)} cannot run (tuner values -- {kinds}){extra}")
    for x in failing(report, versions):
        lines.append(f"  {x.tactic.value} (GEMM{x.tactic.gemm} #{x.tactic.index} {x.tactic.short()}): {x.why()}")
    fb = fallback_tactic(listing)
    if fb is not None:
        fbv = report["verdicts"][versions[0]][0]
        lines.append(f"fallback (tactic -1 -> index 0): {fb.short()}: {fbv.reason}")
    lines += _prefilter_lines(report, versions)
    for pub in _published(fv, arch, dtype, report["gemm"]):
        smem = sorted({x.tactic.index for v in versions for x in report["verdicts"][v] if x.cause == SMEM})
        if "failed" in pub:
            lines.append(
                f"published: {pub['failed']} of {pub['total']} failed on {pub['gpu']} with CUTLASS "
                f"{' and '.join(pub['cutlass'])} ({pub['source']}). Shared memory accounts for {len(smem)} of them "
                f"(indices {', '.join(map(str, smem)) or 'none'}); the other {pub['failed'] - len(smem)} are not "
                f"explained by shared memory -- their cause is not public")
        else:
            lines.append(f"published: {pub['tile']} needs {pub['bytes']} B ({pub['source']}); the catalog's FINALIZE "
                         f"entries of that tile need "
                         + ", ".join(sorted({str(x.total_bytes) for x in report["verdicts"][versions[0]]
                                             if x.tactic.tile_name == pub['tile'] and x.tactic.finalize})) + " B")
    return lines


def _probe_settings_match(pub: dict, args) -> bool:
    return (pub.get("activation", args.activation) == args.activation and pub.get("output", args.output) == args.output
            and pub.get("finalize", not args.no_finalize) == (not args.no_finalize))


def _published_probe(pub: dict, reports: list, versions: tuple, args) -> list:
    """A published per-GEMM list of failing tuner values against what the probe would record."""
    where = f"published ({pub.get('probe', 'probe')} probe, {pub.get('url') or pub['source']})"
    theirs = {int(g): sorted(v) for g, v in pub["failed_values"].items()}
    shown = ", ".join(f"GEMM{g} {theirs[g]}" for g in sorted(theirs))
    if not _probe_settings_match(pub, args):
        return [f"{where}: {shown}; not compared: the probe ran with activation {pub.get('activation')}, output "
                f"{pub.get('output')}, finalize {'on' if pub.get('finalize') else 'off'}"]
    lines = [f"{where}: {shown}"]
    for r in reports:
        ours = sorted(x.tactic.value for x in probe_failures(r, versions))
        want = theirs.get(r["gemm"], [])
        if ours == want:
            lines.append(f"  GEMM{r['gemm']}: reproduced index for index"
                         + (f" ({len(want)}), each with its reason above" if want else " (none fails there)"))
        else:
            lines.append(f"  GEMM{r['gemm']}: NOT reproduced: the catalog gives {ours}; missing "
                         f"{sorted(set(want) - set(ours))}, extra {sorted(set(ours) - set(want))}")
    return lines


def _published_file(pub: dict, reports: list, versions: tuple) -> list:
    """A published blocklist file (keyed by op only) read as if loaded for this dtype path."""
    lines = [f"published blocklist file ({pub.get('url') or pub['source']}): {pub['failed']} entries, {pub['message']}"]
    for r in reports:
        blocked = set()
        for key, values in pub["invalid_tactics"].items():
            if f"::gemm{r['gemm']}::" in key:
                blocked |= set(values)
        runs = {x.tactic.value for x in r["verdicts"][versions[0]] if x.fits}
        mine = {x.tactic.value for x in failing(r, versions)}
        values = {t.value for t in r["listing"]}
        parts = [f"blocks {len(blocked & mine)} of the {len(mine)} that cannot run"]
        if blocked & runs:
            parts.append(f"also blocks {sorted(blocked & runs)}, which run on this path")
        if blocked - values:
            parts.append(f"{sorted(blocked - values)} are not values of this path")
        lines.append(f"  loaded for this path, GEMM{r['gemm']}: " + "; ".join(parts))
    return lines


def _published_both(reports: list, versions: tuple, fv, arch: str, dtype: str, args) -> list:
    """Published failures over both GEMMs (FlashInfer's combined tactic vector) against what the catalog explains."""
    lines = []
    for pub in _published(fv, arch, dtype, None):
        if "failed_values" in pub:
            lines += _published_probe(pub, reports, versions, args)
        elif "invalid_tactics" in pub:
            lines += _published_file(pub, reports, versions)
        else:
            ours = [x for r in reports for x in failing(r, versions)]
            values = ", ".join(str(x.tactic.value) for x in ours)
            lines.append(f"published: {pub['failed']} tactics failed on {pub['gpu']} ({pub['source']}); the catalog "
                         f"explains {len(ours)} (tuner values {values}); {pub['note']}")
    return lines


def run(args) -> int:
    fv = resolve_version(args.framework, args.version)
    dtype = args.dtype
    limit = limit_from_args(args)
    arch = _arch(args, limit)
    if not limit.known:
        limit = limit_from_args(args, fallback_arch=arch)
    versions = _cutlass_versions(args, fv)
    gemms = (args.gemm,) if args.gemm else (1, 2)
    reports = [_report_gemm(fv, arch, dtype, g, args, limit, versions) for g in gemms]
    if args.json:
        out = {"framework": fv.framework, "version": fv.key, "status": fv.status, "cutlass_shipped": fv.cutlass,
               "cutlass_note": fv.cutlass_note, "arch": arch, "dtype": dtype, "limit": limit.smem_per_block_optin,
               "gemms": []}
        for r in reports:
            out["gemms"].append({
                "gemm": r["gemm"],
                "tactics": [{**t.to_dict(), "verdicts": {v: r["verdicts"][v][i].to_dict() for v in versions},
                             **({"tuner_prefilter": {"profiled": r["screened"][i].profiled,
                                                     "reason": r["screened"][i].reason}}
                                if r["screened"] is not None else {})}
                            for i, t in enumerate(r["listing"])],
                "summary": _summary_lines(r, versions, fv, arch, dtype)})
        if len(reports) == 2:
            out["published"] = _published_both(reports, versions, fv, arch, dtype, args)
        print(json.dumps(out, indent=2))
        return 0
    print(f"{fv.label} on {arch} ({limit.describe()}), dtype {dtype}, output {args.output}")
    print(f"catalog: {fv.status}")
    print(f"CUTLASS: {fv.cutlass or 'not confirmed'} ({fv.cutlass_note})")
    for note in fv.notes:
        print(f"note: {note}")
    for r in reports:
        fin = "off" if args.no_finalize else "on"
        print(f"\nGEMM{r['gemm']} ({len(r['listing'])} tactics{', finalize fusion ' + fin if r['gemm'] == 2 else ''})")
        headers = ["idx", "value", "tile (elements)", "tile enum", "cluster", "swap", "fusion"] + \
                  [f"CUTLASS {v}: bytes stages verdict" for v in versions]
        rows = []
        for i, t in enumerate(r["listing"]):
            cluster = "x".join(map(str, t.cluster)) if t.family == "tma_ws" else f"{t.stages} st"
            rows.append([t.index, t.value, "x".join(map(str, t.tile)), t.tile_name, cluster,
                         "yes" if t.swap_ab else "", t.fusion] + [_verdict_cell(r["verdicts"][v][i]) for v in versions])
        print(table(rows, headers, "rr" + "l" * (len(headers) - 2)))
        for line in _summary_lines(r, versions, fv, arch, dtype):
            print(line)
    if len(reports) == 2:
        for line in _published_both(reports, versions, fv, arch, dtype, args):
            print(line)
    return 0


_ = (Optional, VersionError, known_versions)
