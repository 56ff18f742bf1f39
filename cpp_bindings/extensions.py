"""Where TensorRT-LLM's ``cutlass_extensions`` headers are, for probes of the kernels its MoE launchers build.

TensorRT-LLM keeps its CUTLASS epilogue extensions (the finalize scatter fusion
``cutlass_extensions/epilogue/fusion/sm90_visitor_scatter.hpp``) and its CUTLASS 2.x MoE kernel
(``cutlass_extensions/gemm/kernel/moe_cutlass_kernel.h``) in ``cpp/tensorrt_llm/cutlass_extensions/include``.
FlashInfer vendors the same folder in its wheel under
``flashinfer/data/csrc/nv_internal/tensorrt_llm/cutlass_extensions/include`` (byte-identical
``sm90_visitor_scatter.hpp`` in flashinfer-python 0.6.4 and 0.7.2.post1), so installing flashinfer-python is
enough. Any other copy is given in ``SMEM_TACTICS_CUTLASS_EXTENSIONS``. The package is located with
``importlib.util.find_spec``: nothing is imported.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional

from smem_tactics.errors import CutlassTreeError

#: The file whose presence identifies a usable folder.
MARKER = Path("cutlass_extensions") / "epilogue" / "fusion" / "sm90_visitor_scatter.hpp"
#: Where the folder sits inside an unpacked flashinfer-python wheel.
IN_FLASHINFER = Path("data") / "csrc" / "nv_internal" / "tensorrt_llm" / "cutlass_extensions" / "include"
ENV = "SMEM_TACTICS_CUTLASS_EXTENSIONS"


def _flashinfer_dir() -> Optional[Path]:
    try:
        spec = importlib.util.find_spec("flashinfer")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def extensions_from_path(path: "str | os.PathLike") -> Path:
    """The include folder at ``path``: the folder itself, a TensorRT-LLM ``cutlass_extensions`` root, or an
    unpacked FlashInfer wheel / ``flashinfer`` package folder."""
    root = Path(path).expanduser()
    for cand in (root, root / "include", root / "flashinfer" / IN_FLASHINFER, root / IN_FLASHINFER):
        if (cand / MARKER).is_file():
            return cand.resolve()
    raise CutlassTreeError(
        f"cutlass_extensions: {str(path)!r} holds no {MARKER}; give TensorRT-LLM's "
        f"cpp/tensorrt_llm/cutlass_extensions/include or an unpacked flashinfer-python wheel")


def trtllm_include_dirs() -> tuple:
    """The three ``-I`` folders TensorRT-LLM's CUTLASS 2.x MoE kernel headers need: ``cutlass_extensions/include``,
    the ``nv_internal`` root (for ``tensorrt_llm/kernels/...``) and ``nv_internal/include`` (for
    ``tensorrt_llm/common/...``)."""
    ext = cutlass_extensions_include()
    nv_internal = ext.parent.parent.parent  # .../nv_internal/tensorrt_llm/cutlass_extensions/include
    common = nv_internal / "include"
    if not (nv_internal / "tensorrt_llm" / "kernels").is_dir() or not (common / "tensorrt_llm" / "common").is_dir():
        raise CutlassTreeError(
            f"cutlass_extensions: {ext} is not inside a FlashInfer nv_internal tree (tensorrt_llm/kernels and "
            f"include/tensorrt_llm/common are needed by the CUTLASS 2.x MoE kernel headers)")
    return (ext, nv_internal, common)


def cutlass_extensions_include() -> Path:
    """The folder to pass as ``-I`` so ``#include "cutlass_extensions/..."`` resolves."""
    env = os.environ.get(ENV)
    if env:
        return extensions_from_path(env)
    fi = _flashinfer_dir()
    if fi is not None and (fi / IN_FLASHINFER / MARKER).is_file():
        return (fi / IN_FLASHINFER).resolve()
    raise CutlassTreeError(
        "cutlass_extensions: TensorRT-LLM's CUTLASS extension headers were not found; pip install "
        f"flashinfer-python (it vendors them) or set {ENV} to cpp/tensorrt_llm/cutlass_extensions/include")


__all__ = ["cutlass_extensions_include", "trtllm_include_dirs", "extensions_from_path", "MARKER", "IN_FLASHINFER", "ENV"]
