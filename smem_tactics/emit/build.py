"""Compile emitted translation units with nvcc (device code for every target) and check what came out.

For each unit: ``nvcc -c -Xptxas -v`` with one ``-gencode`` per target (the unit's static_asserts check the
footprint against CUTLASS's own ``sizeof(SharedStorage)``), then ``cuobjdump`` on the object: the kernel's resource
usage and the number of MMA instructions in its SASS per target -- zero would mean the kernel body was compiled
out for that target (CUTLASS guards device code by arch feature macros), which counts as a failure.

Resource usage per target (:data:`USAGE_FIELDS`), of the kernel (``cutlass::device_kernel<...>``) only:

* from ptxas ``-v``: ``Used N registers`` and ``N bytes stack frame, N bytes spill stores, N bytes spill loads``;
* from ``cuobjdump --dump-resource-usage``: ``REG``, ``STACK``, ``LOCAL`` and ``SHARED`` -- the static shared
  memory of the cubin, which under nvcc 13.0 for sm_120a includes the 1024 B the system reserves per block (a
  kernel that declares no ``__shared__`` at all reports ``SHARED:1024``); CUTLASS's ``SharedStorage`` is dynamic
  and not in it.

Builds run through :mod:`smem_tactics.compile_driver` (a local pool by default, a Ray cluster when given one).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..compile_driver import Job, run_jobs, run_process
from ..errors import ProbeError
from .cutlass_tu import GENCODES, compile_command, translation_unit, write_units

_SASS_ARCH = re.compile(r"arch = (sm_\w+)")
_MMA = re.compile(r"\b[A-Z]*MMA\b|\b[A-Z]*MMA\.")
_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_\w+)'")
_PROPERTIES = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers")
_FUNCTION = re.compile(r"^\s*Function (\S+?):?\s*$")
_RESOURCES = {"REG": "registers", "STACK": "stack_bytes", "LOCAL": "local_bytes", "SHARED": "static_smem"}

#: Resource-usage fields per target, and where each comes from.
USAGE_FIELDS = {
    "registers": "registers per thread (ptxas 'Used N registers'; cuobjdump REG)",
    "stack_frame": "bytes of stack frame per thread (ptxas)",
    "spill_stores": "bytes of spill stores per thread (ptxas)",
    "spill_loads": "bytes of spill loads per thread (ptxas)",
    "stack_bytes": "cuobjdump STACK",
    "local_bytes": "bytes of local memory per thread (cuobjdump LOCAL)",
    "static_smem": "static shared memory of the cubin (cuobjdump SHARED; includes the 1024 B the system reserves)",
    "mma_instructions": "MMA instructions in the kernel's SASS (cuobjdump -sass)",
}


@dataclass
class BuildResult:
    name: str
    total_bytes: int
    stages: int
    targets: tuple
    ok: bool = False
    seconds: float = 0.0
    error: str = ""
    registers: dict = field(default_factory=dict)  # target -> registers per thread of the kernel
    mma_instructions: dict = field(default_factory=dict)  # target -> MMA instructions in its SASS
    usage: dict = field(default_factory=dict)  # target -> {field of USAGE_FIELDS: value} as far as it was read

    def to_dict(self) -> dict:
        return dict(self.__dict__, targets=list(self.targets))


def first_error(stderr: str) -> str:
    """The most telling line of nvcc's output (a static_assert message if there is one)."""
    for line in stderr.splitlines():
        if "static assertion failed" in line or "static_assert failed" in line:
            return line.split("error:")[-1].strip()[:300]
    for line in stderr.splitlines():
        if "error" in line:
            return line.strip()[:300]
    lines = stderr.strip().splitlines()
    return lines[-1][:300] if lines else "nvcc failed without a message"


def _is_kernel(name: str) -> bool:
    # the GEMM kernel is cutlass::device_kernel<GemmKernel>; helper device functions are not launched
    return "device_kernel" in name


def ptxas_usage(stderr: str) -> dict:
    """Per target, the GEMM kernel's registers, stack frame and spill bytes from ``-Xptxas -v`` output (the largest
    over its entry functions, of which an emitted unit has one)."""
    usage: dict = {}
    target = entry = None
    props_target = None
    for line in stderr.splitlines():
        m = _ENTRY.search(line)
        if m:
            entry, target = m.group(1), m.group(2)
            if not _is_kernel(entry):
                target = None
            continue
        m = _PROPERTIES.search(line)
        if m:
            props_target = target if m.group(1) == entry else None
            continue
        m = _FRAME.search(line)
        if m and props_target:
            u = usage.setdefault(props_target, {})
            for key, value in zip(("stack_frame", "spill_stores", "spill_loads"), m.groups()):
                u[key] = max(u.get(key, 0), int(value))
            continue
        m = _USED.search(line)
        if m and target:
            u = usage.setdefault(target, {})
            u["registers"] = max(u.get("registers", 0), int(m.group(1)))
    return usage


def ptxas_registers(stderr: str) -> dict:
    """Registers of the GEMM kernel per target from ``-Xptxas -v`` output."""
    return {t: u["registers"] for t, u in ptxas_usage(stderr).items() if "registers" in u}


def _by_target(text: str):
    """(target, line) for every line of cuobjdump output that lies in an ``arch = sm_XX`` section."""
    current = None
    for line in text.splitlines():
        m = _SASS_ARCH.search(line)
        if m:
            current = m.group(1)
            continue
        if current:
            yield current, line


def _cuobjdump(cuobjdump: str, option: str, obj: Path) -> str:
    proc = run_process([cuobjdump, option, str(obj)])
    if proc.returncode != 0:
        # e.g. -sass without nvdisasm: an unread SASS must not read as "no MMA instructions"
        raise ProbeError(f"cuobjdump {option} failed: {first_error(proc.stderr)}")
    return proc.stdout


def resource_usage(text: str) -> dict:
    """Per target, ``cuobjdump --dump-resource-usage`` fields of the GEMM kernel (:data:`_RESOURCES`); every
    function of the target counts where none is a ``device_kernel``."""
    per_fn: dict = {}
    function = None
    for target, line in _by_target(text):
        m = _FUNCTION.match(line)
        if m:
            function = m.group(1)
            continue
        if "REG:" in line and function is not None:
            fields = dict(re.findall(r"(\w+):(\d+)", line))
            per_fn.setdefault(target, {})[function] = {v: int(fields[k]) for k, v in _RESOURCES.items()
                                                       if k in fields}
    usage: dict = {}
    for target, fns in per_fn.items():
        kernels = [u for name, u in fns.items() if _is_kernel(name)] or list(fns.values())
        usage[target] = {k: max(u[k] for u in kernels if k in u) for k in _RESOURCES.values()
                         if any(k in u for u in kernels)}
    return usage


def mma_counts(sass: str) -> dict:
    """Per target, the lines of SASS holding an MMA instruction."""
    mma: dict = {}
    for target, line in _by_target(sass):
        mma[target] = mma.get(target, 0) + bool(_MMA.search(line))
    return mma


def inspect_object(obj: Path, cuobjdump: str) -> tuple:
    """(resource usage per target, MMA instructions per target) of the device kernels in ``obj``."""
    usage = resource_usage(_cuobjdump(cuobjdump, "--dump-resource-usage", obj))
    return usage, mma_counts(_cuobjdump(cuobjdump, "-sass", obj))


def build_one(path: Path, candidate, include_flags: Sequence[str], targets: Sequence[str], nvcc: str,
              cuobjdump: Optional[str], timeout: float) -> BuildResult:
    """Compile the unit at ``path`` for ``targets`` and read what came out (a job of :func:`build_all`)."""
    family = candidate.config.arch.family.value
    targets = tuple(targets or GENCODES[family])
    result = BuildResult(candidate.name, candidate.total_bytes, candidate.stages, targets)
    obj = path.with_suffix(".o")
    cmd = compile_command(path, include_flags, family, nvcc, targets, obj)
    cmd[1:1] = ["-Xptxas", "-v"]  # ptxas reports each kernel's registers, stack and spills per target
    start = time.monotonic()
    try:
        proc = run_process(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        result.error = f"nvcc timed out after {timeout:.0f} s"
        result.seconds = time.monotonic() - start
        return result
    result.seconds = time.monotonic() - start
    if proc.returncode != 0:
        result.error = first_error(proc.stderr) if proc.returncode > 0 else \
            f"nvcc was killed by signal {-proc.returncode}"
        return result
    result.usage = ptxas_usage(proc.stderr)
    result.registers = {t: u["registers"] for t, u in result.usage.items() if "registers" in u}
    if cuobjdump:
        try:
            usage, mma = inspect_object(obj, cuobjdump)
        except ProbeError as e:
            result.error = str(e)
            return result
        for t, u in usage.items():
            result.usage.setdefault(t, {}).update(u)
            result.registers[t] = u.get("registers", result.registers.get(t))
        for t, n in mma.items():
            result.usage.setdefault(t, {})["mma_instructions"] = n
        result.mma_instructions = mma
        missing = [t for t in targets if not mma.get(f"sm_{t}")]
        if missing:
            result.error = f"no MMA instructions in the SASS for {', '.join('sm_' + t for t in missing)} " \
                           f"(kernel body compiled out for that target)"
            return result
    obj.unlink(missing_ok=True)
    result.ok = True
    return result


def find_tools(nvcc: Optional[str] = None, cuobjdump: Optional[str] = None) -> tuple:
    """(nvcc, cuobjdump or None): the given paths, else PATH, else next to nvcc (or the CUDA toolkit's bin)."""
    from cpp_bindings.trees import find_toolchain

    nvcc = nvcc or find_toolchain().nvcc or shutil.which("nvcc")
    if not nvcc:
        raise ProbeError("nvcc not found: install the CUDA toolkit (12.8 or newer for sm_120a/sm_121a)")
    if cuobjdump:
        return nvcc, cuobjdump
    found = shutil.which("cuobjdump")
    if found is None:
        for folder in {Path(nvcc).parent, Path(nvcc).resolve().parent, Path("/usr/local/cuda/bin")}:
            if (folder / "cuobjdump").is_file():
                found = str(folder / "cuobjdump")
                break
    return nvcc, found


def build_all(candidates: Sequence, tree, out_dir, jobs: int = 2, targets: Sequence[str] = (),
              nvcc: Optional[str] = None, progress: Optional[Callable[[BuildResult], None]] = None,
              timeout: float = 1800.0, executor=None) -> list:
    """Write and compile a unit per candidate (``jobs`` nvcc processes at once on a local pool, or on
    ``executor``); results in input order."""
    from ..compile_driver import LocalPool

    nvcc, cuobjdump = find_tools(nvcc)
    paths = write_units(candidates, out_dir)
    flags = list(tree.include_flags())
    work = [Job(str(i), build_one, (p, c, flags, targets, nvcc, cuobjdump, timeout))
            for i, (p, c) in enumerate(zip(paths, candidates))]
    results = run_jobs(work, executor or LocalPool(max(1, jobs)),
                       on_result=(lambda job, r: progress(r)) if progress else None)
    return [results[str(i)] for i in range(len(candidates))]


def facts_job(candidate, include_flags: Sequence[str], target: str, nvcc: str, cuobjdump: Optional[str],
              timeout: float) -> dict:
    """Compile ``candidate``'s unit for one target in a folder of its own and return its compile facts as a
    record of :mod:`smem_tactics.compile_facts` (a job of ``smem-tactics compile-facts``; self-contained, so it
    runs on any machine with the same nvcc and CUTLASS paths)."""
    target = target.replace("sm_", "")
    with tempfile.TemporaryDirectory(prefix="smem_facts_") as tmp:
        path = Path(tmp) / f"{candidate.name}.cu"
        path.write_text(translation_unit(candidate))
        r = build_one(path, candidate, include_flags, (target,), nvcc, cuobjdump, timeout)
    from ..compile_facts import USAGE_KEYS

    u = r.usage.get(f"sm_{target}", {})
    record = {"name": candidate.name, "target": f"sm_{target}", "ok": r.ok}
    for key in USAGE_KEYS:  # a failed compile reports nothing: its partial numbers are not facts of the kernel
        record[key] = u.get(key) if r.ok else None
    record.update(compile_seconds=round(r.seconds, 1), error=r.error or None, total_bytes=candidate.total_bytes,
                  stages=candidate.stages, nvcc_version=nvcc_release(nvcc)[1],
                  machine=f"{platform.machine()}, {os.cpu_count()} CPUs")
    return record


def nvcc_release(nvcc: str) -> tuple:
    """(``MAJOR.MINOR``, the exact build) of an nvcc, from ``nvcc --version`` (``release 13.0, V13.0.88``)."""
    try:
        proc = run_process([nvcc, "--version"], timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ProbeError(f"nvcc: {nvcc} --version failed ({e})") from None
    m = re.search(r"release (\d+\.\d+), V(\d+\.\d+\.\d+)", proc.stdout)
    if proc.returncode != 0 or not m:
        raise ProbeError(f"nvcc: {nvcc} --version does not name a release: {proc.stdout.strip()[:200]!r}")
    return m.group(1), m.group(2)


def space_candidates(spec: str, limit_bytes: int, cutlass: str, one_per_shape: bool = False) -> list:
    """The synthesized configs of ``ARCH:DTYPE[,DTYPE]`` that fit ``limit_bytes`` under ``cutlass``;
    ``one_per_shape``: one void-C, non-swapped kernel per (tile, schedule) and one C = D swap-AB kernel per tile
    (a legality sweep)."""
    from ..contract import bad, csv_values, require_str
    from ..synthesis import synthesize

    text = require_str("--space", spec, "ARCH:DTYPE[,DTYPE], e.g. sm120:nvfp4,mxfp8xmxfp4")
    arch, sep, dtypes = text.partition(":")
    if not sep or not arch.strip():
        raise bad("--space", spec, "ARCH:DTYPE[,DTYPE], e.g. sm120:nvfp4,mxfp8xmxfp4", "no ARCH: prefix")
    out = []
    for dtype in csv_values("--space", dtypes, allowed="DTYPE[,DTYPE] after ARCH:"):
        cands = synthesize(arch.strip(), dtype, limit_bytes, cutlass=cutlass)
        if not one_per_shape:
            out += cands
            continue
        seen = set()
        for c in cands:
            key = (c.tile, c.schedule)
            if not c.swap_ab and c.epilogue == "void_c" and key not in seen:
                seen.add(key)
                out.append(c)
        for c in cands:
            key = ("swap", c.tile)
            if c.swap_ab and c.epilogue == "c_eq_d" and key not in seen:
                seen.add(key)
                out.append(c)
    return out


def sample_evenly(items: Sequence, n: int) -> list:
    """``n`` items evenly spaced over ``items`` (first and last included); all of them when there are no more."""
    items = list(items)
    if n >= len(items):
        return items
    step = (len(items) - 1) / max(n - 1, 1)
    return [items[round(i * step)] for i in range(n)]


def summary_markdown(results: Sequence[BuildResult], meta: dict) -> str:
    """The docs/ summary: counts, failures with reasons, and one row per kernel."""
    ok = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    lines = ["# Emitted kernels: device-code compile summary", "",
             f"Generated by `{meta.get('command', 'scripts/compile_emitted.py')}`.", ""]
    for k in ("when", "machine", "nvcc", "cutlass", "targets", "flags", "tables", "jobs", "wall_seconds"):
        if k in meta:
            lines.append(f"* {k.replace('_', ' ')}: {meta[k]}")
    sass_checked = any(r.mma_instructions for r in results)
    lines += ["", f"**{len(ok)} compiled, {len(bad)} failed** (of {len(results)} kernels; every target of each "
              "kernel must compile, pass the SharedStorage/stage static_asserts and contain MMA instructions in "
              "its SASS).", ""]
    if not sass_checked:
        lines += ["cuobjdump was not found on this machine, so the SASS was not inspected: these kernels compiled "
                  "and passed their static_asserts, but the MMA-instruction check was not run.", ""]
    if bad:
        lines += ["## Failures", "", "| kernel | reason |", "|---|---|"]
        lines += [f"| `{r.name}` | {r.error} |" for r in bad]
        lines.append("")
    lines += ["## Kernels", "", "| kernel | SharedStorage B | stages | registers | MMA instr. in SASS | nvcc s | ok |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        regs = ", ".join(f"{k}: {v}" for k, v in sorted(r.registers.items())) or "-"
        mma = ", ".join(f"{k}: {v}" for k, v in sorted(r.mma_instructions.items())) or "-"
        lines.append(f"| `{r.name}` | {r.total_bytes} | {r.stages} | {regs} | {mma} | {r.seconds:.0f} | "
                     f"{'yes' if r.ok else 'NO'} |")
    return "\n".join(lines) + "\n"


def write_summary(results: Sequence[BuildResult], meta: dict, md_path, json_path=None) -> None:
    Path(md_path).parent.mkdir(parents=True, exist_ok=True)
    Path(md_path).write_text(summary_markdown(results, meta))
    if json_path:
        Path(json_path).write_text(json.dumps({"meta": meta, "results": [r.to_dict() for r in results]}, indent=1))


__all__ = ["BuildResult", "USAGE_FIELDS", "build_one", "build_all", "facts_job", "find_tools", "inspect_object",
           "ptxas_usage", "ptxas_registers", "resource_usage", "mma_counts", "summary_markdown", "write_summary",
           "first_error", "space_candidates", "sample_evenly", "nvcc_release"]
