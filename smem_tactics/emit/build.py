"""Compile emitted translation units with nvcc (device code for every target) and check what came out.

For each unit: ``nvcc -c`` with one ``-gencode`` per target (the unit's static_asserts check the footprint
against CUTLASS's own ``sizeof(SharedStorage)``), then ``cuobjdump`` on the object: the kernel's registers and
the number of MMA instructions in its SASS per target -- zero would mean the kernel body was compiled out for
that target (CUTLASS guards device code by arch feature macros), which counts as a failure.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import ProbeError
from .cutlass_tu import GENCODES, compile_command, write_units

_SASS_ARCH = re.compile(r"arch = (sm_\w+)")
_MMA = re.compile(r"\b[A-Z]*MMA\b|\b[A-Z]*MMA\.")


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


def ptxas_registers(stderr: str) -> dict:
    """Registers of the GEMM kernel per target from ``-Xptxas -v`` output."""
    regs: dict = {}
    target = None
    for line in stderr.splitlines():
        m = re.search(r"Compiling entry function '([^']+)' for '(sm_\w+)'", line)
        if m:
            target = m.group(2) if "device_kernel" in m.group(1) else None
            continue
        m = re.search(r"Used (\d+) registers", line)
        if m and target:
            regs[target] = max(regs.get(target, 0), int(m.group(1)))
    return regs


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


def inspect_object(obj: Path, cuobjdump: str) -> tuple:
    """(registers per target, MMA instructions per target) of the device kernels in ``obj``."""
    regs: dict = {}
    mma: dict = {}
    usage = subprocess.run([cuobjdump, "--dump-resource-usage", str(obj)], capture_output=True, text=True).stdout
    for target, line in _by_target(usage):
        m = re.search(r"REG:(\d+)", line)
        if m:
            regs[target] = max(regs.get(target, 0), int(m.group(1)))
    sass = subprocess.run([cuobjdump, "-sass", str(obj)], capture_output=True, text=True).stdout
    for target, line in _by_target(sass):
        mma[target] = mma.get(target, 0) + bool(_MMA.search(line))
    return regs, mma


def build_one(path: Path, candidate, include_flags: Sequence[str], targets: Sequence[str], nvcc: str,
              cuobjdump: Optional[str], timeout: float) -> BuildResult:
    family = candidate.config.arch.family.value
    targets = tuple(targets or GENCODES[family])
    result = BuildResult(candidate.name, candidate.total_bytes, candidate.stages, targets)
    obj = path.with_suffix(".o")
    cmd = compile_command(path, include_flags, family, nvcc, targets, obj)
    cmd[1:1] = ["-Xptxas", "-v"]  # ptxas reports each kernel's registers per target
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result.error = f"nvcc timed out after {timeout:.0f} s"
        result.seconds = time.monotonic() - start
        return result
    result.seconds = time.monotonic() - start
    if proc.returncode != 0:
        result.error = first_error(proc.stderr)
        return result
    result.registers = ptxas_registers(proc.stderr)
    if cuobjdump:
        regs, mma = inspect_object(obj, cuobjdump)
        result.registers.update(regs)
        result.mma_instructions = mma
        missing = [t for t in targets if not mma.get(f"sm_{t}")]
        if missing:
            result.error = f"no MMA instructions in the SASS for {', '.join('sm_' + t for t in missing)} " \
                           f"(kernel body compiled out for that target)"
            return result
    obj.unlink(missing_ok=True)
    result.ok = True
    return result


def build_all(candidates: Sequence, tree, out_dir, jobs: int = 2, targets: Sequence[str] = (),
              nvcc: Optional[str] = None, progress: Optional[Callable[[BuildResult], None]] = None,
              timeout: float = 1800.0) -> list:
    """Write and compile a unit per candidate (``jobs`` nvcc processes at once); results in input order."""
    from cpp_bindings.trees import find_toolchain

    nvcc = nvcc or find_toolchain().nvcc or shutil.which("nvcc")
    if not nvcc:
        raise ProbeError("nvcc not found: install the CUDA toolkit (12.8 or newer for sm_120a/sm_121a)")
    cuobjdump = shutil.which("cuobjdump") or str(Path(nvcc).with_name("cuobjdump"))
    if not Path(cuobjdump).exists():
        cuobjdump = None
    paths = write_units(candidates, out_dir)
    flags = list(tree.include_flags())
    results: dict = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(build_one, p, c, flags, targets, nvcc, cuobjdump, timeout): i
                   for i, (p, c) in enumerate(zip(paths, candidates))}
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results[futures[fut]] = r
            if progress:
                progress(r)
    return [results[i] for i in range(len(candidates))]


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


__all__ = ["BuildResult", "build_one", "build_all", "inspect_object", "summary_markdown", "write_summary",
           "first_error"]
