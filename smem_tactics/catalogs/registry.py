"""Which framework versions have a catalog, what CUTLASS each ships, and how a version string is matched.

The data is ``smem_tactics/data/catalogs/moe_tactics.json`` (see its ``_about``). A version is matched by the
patterns its entry lists (``1.2`` matches ``1.2.0``, ``1.2.1``, ``1.2.0rc2``); anything else is unknown and is
said to be unknown, never guessed.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

from ..errors import VersionError

#: Framework names accepted on the command line and by the plug-ins, with their aliases.
FRAMEWORK_ALIASES = {
    "trtllm": "trtllm", "tensorrt-llm": "trtllm", "tensorrt_llm": "trtllm", "trt-llm": "trtllm", "trt": "trtllm",
    "flashinfer": "flashinfer", "flashinfer-python": "flashinfer", "fi": "flashinfer",
}
FRAMEWORKS = ("trtllm", "flashinfer")

#: Dtype paths: what the runner's (activation, weight) types select. ``f16`` uses the ``bf16`` lists.
DTYPE_PATHS = ("nvfp4", "mxfp8_mxfp4", "fp8", "bf16", "f16", "w4a8", "w4a16")
DTYPE_ALIASES = {"fp4": "nvfp4", "nvfp4": "nvfp4", "mxfp4": "mxfp8_mxfp4", "mxfp8_mxfp4": "mxfp8_mxfp4",
                 "w4a8_mxfp4_mxfp8": "mxfp8_mxfp4", "fp8": "fp8", "e4m3": "fp8", "bf16": "bf16",
                 "bfloat16": "bf16", "f16": "f16", "fp16": "f16", "half": "f16", "w4a8": "w4a8", "w4a16": "w4a16"}
ARCHS = ("sm90", "sm100", "sm103", "sm120", "sm121")


@dataclass(frozen=True)
class FrameworkVersion:
    """One cataloged framework version and what is known about it."""

    framework: str
    key: str
    display: str
    status: str
    cutlass: Optional[str]  # the CUTLASS C++ release the version ships, when known
    cutlass_note: str
    default_cutlass: tuple  # CUTLASS releases verdicts are computed under by default
    index_scheme: str  # "per_gemm" (TensorRT-LLM) | "combined" (FlashInfer: GEMM2 values follow GEMM1's)
    finalize_default: bool
    finalize_switch: str
    archs: dict = field(repr=False, default_factory=dict)
    notes: tuple = ()
    smem_guard: bool = False

    @property
    def label(self) -> str:
        return f"{self.display} {self.key}"


@functools.lru_cache(maxsize=1)
def catalog_data() -> dict:
    text = resources.files("smem_tactics").joinpath("data/catalogs/moe_tactics.json").read_text()
    return json.loads(text)


def normalize_framework(name: str) -> str:
    """``trtllm`` or ``flashinfer``; raises :class:`VersionError` naming the accepted names."""
    key = str(name).strip().lower()
    if key not in FRAMEWORK_ALIASES:
        raise VersionError(f"framework: {name!r} is not cataloged; allowed: trtllm (TensorRT-LLM), flashinfer")
    return FRAMEWORK_ALIASES[key]


def normalize_dtype(name: str) -> str:
    key = str(name).strip().lower()
    if key not in DTYPE_ALIASES:
        raise VersionError(f"dtype: {name!r} is not a MoE dtype path; allowed: {', '.join(DTYPE_PATHS)}")
    return DTYPE_ALIASES[key]


def normalize_arch(name: str) -> str:
    key = str(name).strip().lower()
    if key.isdigit():
        key = "sm" + key
    if key not in ARCHS:
        raise VersionError(f"arch: {name!r} has no catalog; allowed: {', '.join(ARCHS)}")
    return key


def _build(framework: str, key: str, raw: dict, display: str) -> FrameworkVersion:
    notes = tuple(raw[k] for k in ("gemm2_index_bug", "occupancy_prefilter") if raw.get(k))
    return FrameworkVersion(framework, key, display, raw["status"], raw.get("cutlass"), raw["cutlass_note"],
                            tuple(raw["default_cutlass"]), raw["index_scheme"], raw["finalize_default"],
                            raw["finalize_switch"], raw["archs"], notes, bool(raw.get("smem_guard")))


def known_versions(framework: str) -> tuple:
    """Catalog keys of ``framework``, oldest first."""
    fw = normalize_framework(framework)
    return tuple(catalog_data()["frameworks"][fw]["versions"])


def find_version(framework: str, version: str) -> Optional[FrameworkVersion]:
    """The catalog entry matching ``version`` (exact key, alias, or pattern), or ``None``."""
    fw = normalize_framework(framework)
    entry = catalog_data()["frameworks"][fw]
    text = str(version).strip().lower().lstrip("v")
    for key, raw in entry["versions"].items():
        if text == key or any(fnmatch.fnmatchcase(text, pat) for pat in raw["matches"]):
            return _build(fw, key, raw, entry["display"])
    return None


def resolve_version(framework: str, version: Optional[str] = None) -> FrameworkVersion:
    """The catalog of ``framework`` at ``version`` (default: the newest cataloged release); raises
    :class:`VersionError` naming the known versions when there is none."""
    fw = normalize_framework(framework)
    if version is None:
        version = _default_version(fw)
    found = find_version(fw, version)
    if found is None:
        raise VersionError(f"version: {framework} {version!r} has no catalog; known: "
                           f"{', '.join(known_versions(fw))} (other versions are not guessed)")
    return found


def _default_version(fw: str) -> str:
    return {"trtllm": "1.2", "flashinfer": "0.7.2.post1"}[fw]


def published_failures() -> list:
    """The public failure reports the catalog is checked against (see docs/catalog_verification.md)."""
    return list(catalog_data().get("published_failures", []))


__all__ = ["FrameworkVersion", "FRAMEWORKS", "DTYPE_PATHS", "ARCHS", "catalog_data", "normalize_framework",
           "normalize_dtype", "normalize_arch", "known_versions", "find_version", "resolve_version",
           "published_failures"]
