"""The oracle: compile a host-only probe of many configs against real CUTLASS headers and read back
``sizeof(GemmKernel::SharedStorage)``, the stage count, the epilogue tile/stages and sub-storage sizes.

Each config becomes ``namespace cfgN { <compose(config)> }`` in one translation unit; ``main`` prints
one JSON object per config. Nothing instantiates a kernel body, so the binary runs without a GPU.

A config that fails to compile (a CUTLASS ``static_assert``, a missing specialization) is isolated:
the compiler's diagnostics are mapped back to the namespace they point into, that config is reported
with the compiler's message, and the rest are compiled again. Batches compile in parallel, as jobs of
:mod:`smem_tactics.compile_driver` on a local pool.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from smem_tactics.compile_driver import Job, LocalPool, run_jobs, run_process
from smem_tactics.config import KernelConfig
from smem_tactics.errors import ProbeError

from .compose import INCLUDES, compose, includes_for
from .trees import HERE, CutlassTree, Toolchain, find_toolchain

COMPILERS = ("g++", "nvcc")


@dataclass
class ProbeResult:
    """What the compiled probe says about one config: ``measured`` (the printed JSON) or ``error``."""

    config: KernelConfig
    measured: Optional[dict] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.measured is not None


@dataclass(frozen=True)
class ProbeRecipe:
    """How configs become a translation unit: ``composer(cfg)`` writes a namespace body defining
    ``GemmKernel``, ``CollectiveMainloop`` and ``CollectiveEpilogue``; ``includes(cfg)`` names the headers it
    needs beyond :data:`INCLUDES`; ``include_dirs`` are extra ``-I`` folders (e.g. TensorRT-LLM's
    cutlass_extensions). Other kernel families (the CUTLASS 2.x grouped MoE kernel) bring their own."""

    composer: Callable[[Any], str] = compose
    includes: Callable[[Any], Sequence[str]] = includes_for
    include_dirs: tuple = ()


DEFAULT_RECIPE = ProbeRecipe()


@dataclass
class _Unit:
    """One translation unit: the configs it holds and the line range of each namespace."""

    indices: list
    source: str = ""
    ranges: dict = field(default_factory=dict)  # index -> (first line, last line)


def probe_source(configs: Sequence[KernelConfig], indices: Optional[Sequence[int]] = None,
                 extra_includes: Sequence[str] = (), recipe: ProbeRecipe = DEFAULT_RECIPE) -> _Unit:
    """The probe translation unit for ``configs`` (numbered by ``indices``)."""
    indices = list(range(len(configs))) if indices is None else list(indices)
    needed = list(INCLUDES) + list(extra_includes)
    for cfg in configs:
        needed += [h for h in recipe.includes(cfg) if h not in needed]
    lines = [f'#include "{h}"' for h in needed]
    lines += ['#include "probe_support.hpp"', ""]
    unit = _Unit(indices)
    for idx, cfg in zip(indices, configs):
        first = len(lines) + 1
        lines.append(f"namespace cfg{idx} {{")
        lines.extend(recipe.composer(cfg).splitlines())
        lines.append(f"}}  // namespace cfg{idx}")
        unit.ranges[idx] = (first, len(lines))
        lines.append("")
    lines.append("int main() {")
    for idx in indices:
        lines.append(f"  smem_probe::report<cfg{idx}::ProbeNs>({idx});")
    lines.append("  return 0;\n}")
    # report<> takes a type that names the three aliases: give each namespace a struct that does.
    text = "\n".join(lines)
    text = text.replace("}  // namespace cfg", "struct ProbeNs { using GemmKernel = GemmKernel; using "
                                                "CollectiveMainloop = CollectiveMainloop; using "
                                                "CollectiveEpilogue = CollectiveEpilogue; };\n}  // namespace cfg")
    unit.source = text
    # the replacement added one line per namespace: recompute the ranges from the text
    unit.ranges = {}
    current = None
    for lineno, line in enumerate(text.splitlines(), 1):
        m = re.match(r"namespace cfg(\d+) \{", line)
        if m:
            current = int(m.group(1))
            start = lineno
        elif current is not None and line.startswith(f"}}  // namespace cfg{current}"):
            unit.ranges[current] = (start, lineno)
            current = None
    return unit


def _compile_command(compiler: str, toolchain: Toolchain, tree: CutlassTree, src: Path, exe: Path,
                     include_dirs: Sequence[str] = ()) -> list:
    common = tree.include_flags() + ["-I" + str(HERE)] + ["-I" + str(d) for d in include_dirs]
    if compiler == "nvcc":
        if toolchain.nvcc is None:
            raise ProbeError("nvcc not found: install the CUDA toolkit or use --compiler g++")
        return [toolchain.nvcc, "-std=c++17", "--expt-relaxed-constexpr", "-w", *common, "-o", str(exe), str(src)]
    if toolchain.cxx is None:
        raise ProbeError("g++ not found: install g++ (12 or newer) or use --compiler nvcc")
    if toolchain.cuda_include is None:
        raise ProbeError("CUDA headers (cuda_runtime.h) not found: set CUDA_HOME to a CUDA toolkit")
    return [
        toolchain.cxx, "-std=c++17", "-fpermissive", "-w", "-O0", "-x", "c++",
        "-include", str(HERE / "probe_prelude.hpp"), *toolchain.cuda_include_flags(), *common,
        "-o", str(exe), str(src), *toolchain.cuda_link_flags(),
    ]


_DIAG_LINE = re.compile(r"(?:^|[\s(])([^\s:()]*probe_\d+\.(?:cpp|cu))[:(](\d+)")
_ERROR_TEXT = re.compile(r"error[^:]*:\s*(.*)")


def _first_error(stderr: str) -> str:
    """The most telling line of a compiler's output: a static_assert message if there is one."""
    for line in stderr.splitlines():
        if "static assertion failed" in line or "static_assert failed" in line:
            m = re.search(r"static_assert(?:ion)? failed(?: with)?:?\s*(.*)", line)
            if m and m.group(1).strip():
                return "static assertion failed: " + m.group(1).strip()
    for line in stderr.splitlines():
        m = _ERROR_TEXT.search(line)
        if m and m.group(1).strip():
            return m.group(1).strip()[:400]
    return (stderr.strip().splitlines() or ["compiler failed without a message"])[-1][:400]


def _blame(unit: _Unit, stderr: str) -> dict:
    """Map diagnostics to config indices: index -> the first error message seen for it."""
    blamed: dict = {}

    def owner_of(line: str):
        m = _DIAG_LINE.search(line)
        if not m:
            return None
        lineno = int(m.group(2))
        for idx, (lo, hi) in unit.ranges.items():
            if lo <= lineno <= hi:
                return idx
        return None

    # An error belongs to the config whose namespace it points into: the error line itself, else the
    # nearest "required from here" (or other non-note) line of its instantiation chain above it.
    block: list = []
    for line in stderr.splitlines():
        if " error" in line or line.startswith("error"):
            owner = owner_of(line)
            if owner is None:
                for prev in reversed(block):
                    if "note:" in prev:
                        continue
                    owner = owner_of(prev)
                    if owner is not None:
                        break
            if owner is not None and owner not in blamed:
                blamed[owner] = _first_error("\n".join(block + [line]))
            block = []
        else:
            block.append(line)
    return blamed


def _compile_and_run(unit: _Unit, configs: dict, tree: CutlassTree, compiler: str, toolchain: Toolchain,
                     workdir: Path, timeout: float, recipe: ProbeRecipe = DEFAULT_RECIPE) -> dict:
    """Compile ``unit`` (isolating failures) and return index -> ProbeResult for its configs."""
    results: dict = {}
    pending = list(unit.indices)
    while pending:
        u = probe_source([configs[i] for i in pending], pending, recipe=recipe)
        src = workdir / f"probe_{pending[0]}{'.cu' if compiler == 'nvcc' else '.cpp'}"
        exe = workdir / f"probe_{pending[0]}_{len(pending)}.bin"
        src.write_text(u.source)
        try:
            proc = run_process(_compile_command(compiler, toolchain, tree, src, exe, recipe.include_dirs),
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            if len(pending) == 1:
                results[pending[0]] = ProbeResult(configs[pending[0]], error=f"compile timed out after {timeout} s")
                return results
            half = len(pending) // 2
            for part in (pending[:half], pending[half:]):
                results.update(_compile_and_run(_Unit(part), configs, tree, compiler, toolchain, workdir, timeout,
                                               recipe))
            return results
        if proc.returncode == 0:
            run = run_process([str(exe)], timeout=120)
            exe.unlink(missing_ok=True)
            if run.returncode != 0:
                raise ProbeError(f"probe binary failed (exit {run.returncode}): {run.stderr.strip()[:300]}")
            for line in run.stdout.splitlines():
                data = json.loads(line)
                results[data["index"]] = ProbeResult(configs[data["index"]], measured=data)
            return results
        blamed = _blame(u, proc.stderr)
        if not blamed:
            if len(pending) == 1:
                results[pending[0]] = ProbeResult(configs[pending[0]], error=_first_error(proc.stderr))
                return results
            half = len(pending) // 2
            for part in (pending[:half], pending[half:]):
                results.update(_compile_and_run(_Unit(part), configs, tree, compiler, toolchain, workdir, timeout,
                                               recipe))
            return results
        for idx, message in blamed.items():
            results[idx] = ProbeResult(configs[idx], error=message)
        pending = [i for i in pending if i not in blamed]
    return results


def run_probe(
    configs: Sequence[KernelConfig],
    tree: CutlassTree,
    compiler: str = "g++",
    jobs: Optional[int] = None,
    batch_size: int = 24,
    workdir: "str | os.PathLike | None" = None,
    progress: Optional[Callable[[int], None]] = None,
    timeout: float = 900.0,
    recipe: Optional[ProbeRecipe] = None,
) -> list:
    """Measure ``configs`` against ``tree``; one :class:`ProbeResult` per config, in order.

    ``progress`` is called with the number of configs finished after each batch. ``recipe`` composes other
    kernel families; a config that needs TensorRT-LLM's cutlass_extensions headers gets their folder added
    (from FlashInfer's wheel or ``SMEM_TACTICS_CUTLASS_EXTENSIONS``) unless the recipe names one.
    """
    recipe = recipe or DEFAULT_RECIPE
    if not recipe.include_dirs and any(h.startswith("cutlass_extensions/") for c in configs
                                       for h in recipe.includes(c)):
        from .extensions import cutlass_extensions_include

        recipe = dataclasses.replace(recipe, include_dirs=(str(cutlass_extensions_include()),))
    if compiler not in COMPILERS:
        raise ProbeError(f"compiler: {compiler!r} is not supported; allowed: {', '.join(COMPILERS)}")
    toolchain = find_toolchain()
    configs = list(configs)
    by_index = dict(enumerate(configs))
    batches = [list(range(i, min(i + batch_size, len(configs)))) for i in range(0, len(configs), batch_size)]
    results: dict = {}

    def collect(job: Job, batch_results: dict) -> None:
        results.update(batch_results)
        if progress is not None:
            progress(len(batch_results))

    with tempfile.TemporaryDirectory(prefix="smem_probe_", dir=workdir) as tmp:
        work = [Job(str(b[0]), _compile_and_run, (_Unit(b), by_index, tree, compiler, toolchain, Path(tmp), timeout,
                                                  recipe))
                for b in batches]
        run_jobs(work, LocalPool(jobs or max(1, os.cpu_count() or 1)), on_result=collect)
    return [results[i] for i in range(len(configs))]


def probe_one(config: KernelConfig, tree: CutlassTree, compiler: str = "g++") -> ProbeResult:
    return run_probe([config], tree, compiler, jobs=1)[0]


__all__ = ["ProbeResult", "ProbeRecipe", "DEFAULT_RECIPE", "probe_source", "run_probe", "probe_one", "COMPILERS"]

_ = Iterable
