"""Generate one CUDA translation unit per kernel config and build them into a torch extension, just in time.

* Each config becomes ``kernel_NNN.cu``: ``kernel_template.cu`` filled with ``cpp_bindings.compose.compose(cfg)``
  (the composition the shared-memory oracle measures) and a ``Runner`` around
  ``cutlass::gemm::device::GemmUniversalAdapter``. Kernel units include no torch header.
* ``registry.cpp`` lists the runners by name; ``binding.cpp`` (static) is the pybind11 module.
* :func:`build` calls ``torch.utils.cpp_extension.load`` with ninja, ``MAX_JOBS`` parallel compiles, CUTLASS
  headers from the ``nvidia-cutlass`` wheel (or any tree ``cpp_bindings.trees`` finds), and
  ``-gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 --expt-relaxed-constexpr -DNDEBUG``. Without
  ``-DNDEBUG`` ptxas serializes wgmma (warning C7510); an explicit ``-gencode`` also stops torch from adding its
  own arch flags.

Source generation is pure Python (tested on CPU); only :func:`build` needs torch, nvcc and a GPU to load.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from smem_tactics.bench.contenders import check_buildable, short_name
from smem_tactics.config import KernelConfig
from smem_tactics.errors import ConfigError

from ..compose import INCLUDES, compose
from ..trees import CutlassTree, resolve_tree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

NVCC_FLAGS = ("-gencode", "arch=compute_90a,code=sm_90a", "-O3", "-std=c++17", "--expt-relaxed-constexpr",
              "-DNDEBUG", "-Xptxas=-warn-spills")
CXX_FLAGS = ("-O3", "-std=c++17")
STATIC_SOURCES = ("binding.cpp", "probe.cu")
MODULE_NAME = "smem_grouped_gemm"
#: Preprocessor defines a build may add (the only ones :func:`nvcc_flags` accepts): CUTLASS's switch for the
#: griddepcontrol instructions of programmatic dependent launch on sm_90a (cutlass/arch/grid_dependency_control.h).
ALLOWED_DEFINES = ("CUTLASS_ENABLE_GDC_FOR_SM90",)


#: Host-side symbols of the kernel units kept inside their shared object: two extensions loaded into one process
#: that instantiate the same kernel type (built with other defines or CUTLASS trees) then cannot bind each other's
#: launch stubs, whatever flags the loader uses.
HIDDEN_FLAG = "-Xcompiler=-fvisibility=hidden"


def nvcc_flags(defines: Sequence[str] = (), hidden: bool = False) -> tuple:
    """:data:`NVCC_FLAGS` plus ``-D`` for each of ``defines`` (each one of :data:`ALLOWED_DEFINES`, once), and
    :data:`HIDDEN_FLAG` with ``hidden``."""
    out = list(NVCC_FLAGS) + ([HIDDEN_FLAG] if hidden else [])
    for d in defines:
        if d not in ALLOWED_DEFINES:
            raise ConfigError("defines", d, ALLOWED_DEFINES)
        flag = f"-D{d}"
        if flag in out:
            raise ConfigError("defines", d, "each define once")
        out.append(flag)
    return tuple(out)


def _module_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name or ""):
        raise ConfigError("module_name", name, "a Python identifier of at most 64 characters")
    return name


def kernel_names(configs: Sequence[KernelConfig]) -> list:
    """Unique names of ``configs`` (short names; a duplicate config is an error)."""
    names = [short_name(c) for c in configs]
    seen: dict = {}
    for name, cfg in zip(names, configs):
        if name in seen:
            if seen[name] == cfg:
                raise ConfigError("configs", name, "each config once", "the same config is listed twice")
            raise ConfigError("configs", name, "distinct short names", "two different configs share a short name")
        seen[name] = cfg
    return names


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


#: How the Runner fills ``Gemm::Arguments`` per mode (``@@PROBLEM_ARGS@@`` of kernel_template.cu). Grouped: the
#: per-group shapes and strides live in the device buffer (``GroupProblemShape``, pointer-to-stride layouts).
#: Ptr-array: one ``(m, n, k, L)`` shape and one stride per operand (``ArrayProblemShape``; prepare() has
#: checked that every group has group 0's shape).
PROBLEM_ARGS = {
    "grouped": """    static_assert(std::is_same_v<UnderlyingShape, GroupShape>, "a grouped kernel takes (m, n, k) per group");
    args.mode = cutlass::gemm::GemmUniversalMode::kGrouped;
    args.problem_shape = {g, reinterpret_cast<UnderlyingShape*>(base + off_shapes), host_shapes_.data()};
    args.mainloop.dA = reinterpret_cast<StrideA*>(base + off_sa);
    args.mainloop.dB = reinterpret_cast<StrideB*>(base + off_sb);
    if constexpr (std::is_same_v<StrideC, StrideD>) {
      args.epilogue.dC = reinterpret_cast<StrideC*>(base + off_sd);
    } else {
      args.epilogue.dC = nullptr;
    }
    args.epilogue.dD = reinterpret_cast<StrideD*>(base + off_sd);""",
    "ptr_array": """    args.mode = cutlass::gemm::GemmUniversalMode::kArray;
    args.problem_shape = cute::make_shape(groups[0].m, groups[0].n, groups[0].k, g);
    args.mainloop.dA = sa[0];
    args.mainloop.dB = sb[0];
    if constexpr (std::is_same_v<StrideC, StrideD>) {
      args.epilogue.dC = sd[0];
    }
    args.epilogue.dD = sd[0];""",
}


def kernel_source(cfg: KernelConfig, name: Optional[str] = None) -> str:
    """The translation unit of one kernel (``name`` defaults to its short name)."""
    check_buildable(cfg)
    ident = _ident(name or short_name(cfg))
    template = (HERE / "kernel_template.cu").read_text()
    text = template
    for key, value in (("@@CONFIG_NAME@@", cfg.name()),
                       ("@@INCLUDES@@", "\n".join(f'#include "{h}"' for h in INCLUDES)),
                       ("@@COMPOSE@@", compose(cfg)),
                       ("@@NS@@", f"smem_gg_{ident}"),
                       ("@@GROUPED@@", "true" if cfg.mode.value == "grouped" else "false"),
                       ("@@PROBLEM_ARGS@@", PROBLEM_ARGS[cfg.mode.value]),
                       ("@@FACTORY@@", f"smem_gg_make_{ident}")):
        text = text.replace(key, value)
    if "@@" in text:
        raise RuntimeError("kernel_template.cu has a placeholder that build.py does not fill")
    return text


def registry_source(names: Sequence[str]) -> str:
    lines = ['#include "runner.hpp"', ""]
    lines += [f"smem_gg::Runner* smem_gg_make_{_ident(n)}();" for n in names]
    lines.append("")
    lines.append("static const smem_gg::RegistryEntry kEntries[] = {")
    lines += [f'    {{"{n}", smem_gg_make_{_ident(n)}}},' for n in names]
    if not names:
        lines.append("    {nullptr, nullptr},")
    lines.append("};")
    lines.append("")
    lines.append("const smem_gg::RegistryEntry* smem_gg_registry(int* count) {")
    lines.append(f"  *count = {len(names)};")
    lines.append("  return kEntries;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def source_file(name: str) -> str:
    return f"kernel_{_ident(name)}.cu"


def generate(configs: Sequence[KernelConfig], out_dir: "str | os.PathLike", defines: Sequence[str] = (),
             hidden: bool = False) -> dict:
    """Write the generated sources to ``out_dir`` (only files whose text changed, so ninja keeps the objects of
    kernels an earlier build compiled). Returns ``{"names", "sources", "digest"}``; the digest covers every source
    and flag (``defines`` included)."""
    configs = list(configs)
    if not configs:
        raise ConfigError("configs", [], "at least one kernel config")
    names = kernel_names(configs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {source_file(n): kernel_source(c, n) for n, c in zip(names, configs)}
    files["registry.cpp"] = registry_source(names)
    h = hashlib.sha256()
    for fname in sorted(files):
        h.update(fname.encode() + b"\0" + files[fname].encode() + b"\0")
    for fname in STATIC_SOURCES + ("runner.hpp",):
        h.update((HERE / fname).read_bytes())
    h.update(" ".join(nvcc_flags(defines, hidden) + CXX_FLAGS).encode())
    for fname, text in files.items():
        path = out / fname
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    sources = [str(out / source_file(n)) for n in names] + [str(out / "registry.cpp")]
    sources += [str(HERE / s) for s in STATIC_SOURCES]
    return {"names": names, "sources": sources, "digest": h.hexdigest()}


_FAILED = re.compile(r"FAILED:\s*(?:\[code=\d+\]\s*)?(\S*?kernel_(\w+?)\.cuda\.o)")


def failed_kernels(log: str, names: Sequence[str]) -> dict:
    """``{name: first error line}`` for the kernels whose objects ninja reports as FAILED in ``log``."""
    by_ident = {_ident(n): n for n in names}
    out: dict = {}
    for m in _FAILED.finditer(log):
        name = by_ident.get(m.group(2))
        if name is None or name in out:
            continue
        tail = log[m.end():]
        err = next((ln.strip() for ln in tail.splitlines() if " error" in ln or "error:" in ln), "")
        out[name] = err[:400] or "compile failed (see the build log)"
    return out


def _load_logged(cpp_extension, **kwargs) -> tuple:
    """``cpp_extension.load(verbose=True)`` with the compiler output (which ninja writes to fd 1) captured:
    returns (module or None, the RuntimeError or None, the output text), and echoes the text."""
    with tempfile.TemporaryFile() as tmp:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(tmp.fileno(), 1)
        try:
            module, error = cpp_extension.load(verbose=True, **kwargs), None
        except RuntimeError as e:
            module, error = None, e
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    sys.stdout.write(text)
    sys.stdout.flush()
    return module, error, text


def compiler_warnings(text: str) -> dict:
    """What in a build log matters for speed: wgmma serialization (C7510) and register spills."""
    lines = text.splitlines()
    return {"wgmma_serialized_C7510": sum("C7510" in ln for ln in lines),
            "spill_lines": [ln.strip()[:200] for ln in lines if "warn-spills" not in ln and (
                "spilled" in ln or ("bytes spill" in ln and " 0 bytes spill" not in ln))]}


def build(configs: Sequence[KernelConfig], build_root: "str | os.PathLike | None" = None, jobs: Optional[int] = None,
          cutlass: "str | os.PathLike | CutlassTree | None" = None, drop_failed: bool = False,
          module_name: str = MODULE_NAME, defines: Sequence[str] = (), hidden: bool = False):
    """Build (or load from the build folder) the extension for ``configs``.

    Returns ``(module, names, seconds, failed, warnings)``; ``failed`` maps the name of every kernel that did not
    compile to its first error line (only with ``drop_failed``: the other kernels are then built without it;
    otherwise the first failure raises); ``warnings`` is :func:`compiler_warnings` of the build output.

    ``module_name`` and ``defines`` (:func:`nvcc_flags`) let one process load several extensions side by side, e.g.
    the same kernel built with and without ``CUTLASS_ENABLE_GDC_FOR_SM90`` or against two CUTLASS trees: each is its
    own shared object with its own registry, so equal kernel types in two of them never meet at link time (``hidden``
    keeps their host symbols from binding each other's at load time too). Give each its own ``build_root``."""
    name = _module_name(module_name)
    cuda_flags = list(nvcc_flags(defines, hidden))
    tree = cutlass if isinstance(cutlass, CutlassTree) else resolve_tree(cutlass)
    root = Path(build_root) if build_root is not None else REPO / "build" / "grouped_gemm"
    build_dir = root / "ext"
    build_dir.mkdir(parents=True, exist_ok=True)
    from torch.utils import cpp_extension  # lazy: torch only on the GPU path

    if jobs is not None:
        os.environ["MAX_JOBS"] = str(jobs)
    includes = [str(tree.include), str(HERE)]
    if tree.util_include is not None:
        includes.append(str(tree.util_include))
    configs = list(configs)
    failed: dict = {}
    logs = []
    t0 = time.time()
    while True:
        gen = generate(configs, root / "src", defines, hidden)
        # After a failed attempt torch's in-process versioner would rename the module (name_v1), which changes
        # every compile line; forget the failed attempt so the retry reuses the objects that did compile.
        versioner = getattr(cpp_extension, "JIT_EXTENSION_VERSIONER", None)
        if versioner is not None and failed:
            getattr(versioner, "entries", {}).pop(name, None)
        # A fixed module name: torch puts -DTORCH_EXTENSION_NAME=<name> on every compile line, so a name that
        # changed with the kernel set would recompile every kernel; with a fixed one ninja recompiles only the
        # sources that changed (registry.cpp) when another process builds another set in the same folder.
        module, error, text = _load_logged(
            cpp_extension, name=name, sources=gen["sources"],
            extra_cflags=list(CXX_FLAGS), extra_cuda_cflags=cuda_flags, extra_include_paths=includes,
            build_directory=str(build_dir), with_cuda=True)
        logs.append(text)
        if error is None:
            return module, gen["names"], time.time() - t0, failed, compiler_warnings("\n".join(logs))
        bad = failed_kernels(text + "\n" + str(error), gen["names"]) if drop_failed else {}
        if not bad:
            raise error
        print(f"[build] dropping {len(bad)} kernel(s) that failed to compile: {bad}", flush=True)
        failed.update(bad)
        configs = [c for c, n in zip(configs, gen["names"]) if n not in bad]
        if not configs:
            raise RuntimeError(f"no kernel compiled; failures: {failed}") from error


__all__ = ["NVCC_FLAGS", "ALLOWED_DEFINES", "HIDDEN_FLAG", "nvcc_flags", "PROBLEM_ARGS", "kernel_names", "kernel_source", "registry_source", "source_file", "generate", "failed_kernels",
           "compiler_warnings", "build"]
