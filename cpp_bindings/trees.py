"""Find CUTLASS include trees and the CUDA headers the oracle compiles against.

Supported out of the box (both from PyPI):

* the ``nvidia-cutlass`` wheel (``nvidia-cutlass==4.2.0.0`` ships CUTLASS 4.2.0 under
  ``cutlass_library/source``);
* the tree inside ``flashinfer-python`` (``flashinfer/data/cutlass``; 0.7.2.post1 carries CUTLASS
  4.5.0, 0.6.4 carries 4.2.1).

Any other tree (a TensorRT-LLM checkout's ``3rdparty/cutlass``, a git clone) is given by path, or in
``SMEM_TACTICS_CUTLASS`` (several paths separated by ``os.pathsep``). Packages are located with
``importlib.util.find_spec`` so neither is imported.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from smem_tactics.errors import CutlassTreeError

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CutlassTree:
    """A CUTLASS source tree usable by the oracle."""

    include: Path  # folder holding cutlass/ and cute/
    util_include: Optional[Path]  # tools/util/include, if present
    version: str  # from cutlass/version.h, e.g. "4.5.0"
    source: str  # where it came from, for reports

    def contents(self):
        """The deltas this tree's headers carry (:func:`smem_tactics.tree_contents.detect`)."""
        from smem_tactics.tree_contents import detect

        return detect(self.include)

    def modelled_version(self, assume: Optional[str] = None):
        """The :class:`~smem_tactics.versions.CutlassVersion` this tree is modelled as: its ``version.h`` release
        with the deltas its headers differ in (a commit between tags), or with ``assume`` an unmodelled newer
        release answered with a modelled one's rules. Errors name the tree and what was looked for."""
        from smem_tactics.tree_contents import modelled_version

        return modelled_version(self.contents(), assume=assume, source=self.source)

    def include_flags(self) -> list:
        flags = ["-I" + str(self.include)]
        if self.util_include is not None:
            flags.append("-I" + str(self.util_include))
        return flags


def _read_version(include: Path) -> str:
    from smem_tactics.tree_contents import read_version_text

    return read_version_text(include)


def tree_from_path(path: "str | os.PathLike", source: str = "") -> CutlassTree:
    """A tree from a folder: the CUTLASS root (holding ``include/``) or its ``include/`` itself."""
    root = Path(path).expanduser()
    if not root.exists():
        raise CutlassTreeError(
            f"cutlass: {str(path)!r} does not exist; give the root of a CUTLASS checkout (the folder holding "
            f"include/cutlass/version.h) or its include/ folder"
        )
    candidates = [root / "include", root, root / "cutlass_library" / "source" / "include",
                  root / "flashinfer" / "data" / "cutlass" / "include"]
    for inc in candidates:
        if (inc / "cutlass" / "version.h").is_file() and (inc / "cute").is_dir():
            util = inc.parent / "tools" / "util" / "include"
            return CutlassTree(inc.resolve(), util.resolve() if util.is_dir() else None, _read_version(inc),
                               source or str(root))
    raise CutlassTreeError(
        f"cutlass: {str(path)!r} holds no CUTLASS headers (looked for include/cutlass/version.h and include/cute/); "
        f"give the root of a CUTLASS checkout or its include/ folder"
    )


def _package_dir(name: str) -> Optional[Path]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 -- metadata is informational only
        return "?"


def installed_trees() -> list:
    """Every CUTLASS tree found in installed packages and ``SMEM_TACTICS_CUTLASS``."""
    found = []
    lib = _package_dir("cutlass_library")
    if lib is not None and (lib / "source" / "include" / "cutlass" / "version.h").is_file():
        found.append(tree_from_path(lib / "source", f"nvidia-cutlass {_dist_version('nvidia-cutlass')}"))
    fi = _package_dir("flashinfer")
    if fi is not None and (fi / "data" / "cutlass" / "include" / "cutlass" / "version.h").is_file():
        found.append(tree_from_path(fi / "data" / "cutlass", f"flashinfer-python {_dist_version('flashinfer-python')}"))
    for entry in filter(None, os.environ.get("SMEM_TACTICS_CUTLASS", "").split(os.pathsep)):
        found.append(tree_from_path(entry, f"SMEM_TACTICS_CUTLASS={entry}"))
    return found


def resolve_tree(path: "str | os.PathLike | None" = None, version: Optional[str] = None) -> CutlassTree:
    """The tree at ``path``; or the installed tree of ``version``; or the first installed tree."""
    if path is not None:
        return tree_from_path(path)
    trees = installed_trees()
    if version is not None:
        for tree in trees:
            if tree.version == str(version):
                return tree
    if trees and version is None:
        return trees[0]
    have = ", ".join(f"{t.version} ({t.source})" for t in trees) or "none"
    want = f"CUTLASS {version}" if version else "a CUTLASS tree"
    raise CutlassTreeError(
        f"cutlass: {want} is not installed (found: {have}); pip install nvidia-cutlass==4.2.0.0 (4.2.0) or "
        f"flashinfer-python==0.7.2.post1 (4.5.0), or pass --cutlass PATH"
    )


@dataclass(frozen=True)
class Toolchain:
    """Compilers and CUDA headers for the probe."""

    cxx: Optional[str]
    nvcc: Optional[str]
    cuda_include: Optional[Path]

    def cuda_include_flags(self) -> list:
        if self.cuda_include is None:
            return []
        flags = ["-I" + str(self.cuda_include)]
        cccl = self.cuda_include / "cccl"
        if cccl.is_dir():  # CUDA 13 moved CCCL (cuda/std, cub, thrust) here
            flags.append("-I" + str(cccl))
        return flags

    def cuda_link_flags(self) -> list:
        """Link the CUDA runtime (CUTLASS's inline host helpers reference cudaGetLastError & co.)."""
        if self.cuda_include is None:
            return []
        for lib in (self.cuda_include.parent / "lib64", self.cuda_include.parent / "lib"):
            if any(lib.glob("libcudart.so*")):
                return ["-L" + str(lib), "-Wl,-rpath," + str(lib), "-lcudart"]
        return ["-lcudart"]


def find_toolchain() -> Toolchain:
    nvcc = shutil.which("nvcc")
    homes = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    if nvcc:
        homes.append(str(Path(nvcc).resolve().parent.parent))
    cuda_include = None
    for home in filter(None, homes):
        inc = Path(home) / "include"
        if (inc / "cuda_runtime.h").is_file():
            cuda_include = inc
            break
    if nvcc is None:
        for home in filter(None, homes):
            cand = Path(home) / "bin" / "nvcc"
            if cand.is_file():
                nvcc = str(cand)
                break
    return Toolchain(shutil.which(os.environ.get("CXX", "g++")) or shutil.which("g++"), nvcc, cuda_include)
