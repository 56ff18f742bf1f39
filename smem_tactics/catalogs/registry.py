"""Which framework versions have a catalog, what CUTLASS each ships, and how a version string is matched.

The data is ``smem_tactics/data/catalogs/moe_tactics.json`` (see its ``_about``). A version is matched by the
patterns its entry lists (``1.2`` matches ``1.2.0``, ``1.2.1``, ``1.2.0rc2``); anything else is unknown and is
said to be unknown, never guessed.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
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
    #: the framework's activation enum as the runner hands it to the tuner (int -> lower-case name), or None where
    #: the runner carries no activation (then gated and plain kernels are both judged)
    activation_enum: Optional[dict] = field(repr=False, default=None)
    activation_source: str = ""
    empty_list: str = ""  # what this version's tuner does with an empty tactic list (read in its source)
    cache: dict = field(repr=False, default_factory=dict)  # its autotuner cache: format, key, writable (or why not)
    blocklist: bool = False  # whether its autotuner loads FLASHINFER_TACTICS_BLOCKLIST
    #: the lists were not read at this version's tag: a runner's own tactic counts must match them at run time
    runtime_check: bool = False
    alternates: tuple = ()  # other catalogs whose lists a runner may carry (tried, counts checked, in order)
    #: FlashInfer's get_valid_tactics occupancy pre-filter as read in this version's source (see .prefilter), or
    #: empty where the version has none
    occupancy_query: dict = field(repr=False, default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.display} {self.key}"

    def activation(self, value) -> Optional[str]:
        """The lower-case activation name of what a runner holds (an enum member, a name or this version's int),
        or None when it cannot be told."""
        name = getattr(value, "name", None)
        if isinstance(name, str):
            return name.lower()
        if isinstance(value, str):
            return value.strip().lower() or None
        if isinstance(value, int) and not isinstance(value, bool):
            return (self.activation_enum or {}).get(str(int(value)))
        return None


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
    archs = raw.get("archs")
    if archs is None:  # a version whose lists are another entry's (read once, kept once)
        archs = catalog_data()["frameworks"][framework]["versions"][raw["lists_from"]]["archs"]
    return FrameworkVersion(framework, key, display, raw["status"], raw.get("cutlass"), raw["cutlass_note"],
                            tuple(raw["default_cutlass"]), raw["index_scheme"], raw["finalize_default"],
                            raw["finalize_switch"], archs, notes, bool(raw.get("smem_guard")),
                            raw.get("activation_enum"), raw.get("activation_source", ""), raw.get("empty_list", ""),
                            dict(raw.get("cache") or {}), bool(raw.get("blocklist")), bool(raw.get("runtime_check")),
                            tuple(raw.get("alternates", ())), dict(raw.get("occupancy_query") or {}))


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


_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.?(a|b|rc|dev|post)\.?(\d*))?(?:[.+-].*)?$")


def version_key(text: str) -> Optional[tuple]:
    """A comparable key for a release string (``1.4.0rc1`` < ``1.4.0`` < ``1.4.0.post1``), or None if it is not one."""
    m = _VERSION.match(str(text).strip().lower())
    if not m:
        return None
    major, minor, patch, tag, num = m.groups()
    rank = {"dev": -3, "a": -2, "b": -1, "rc": -1, None: 0, "post": 1}[tag]
    return int(major), int(minor or 0), int(patch or 0), rank, int(num or 0)


def _newest_release(fw: str) -> Optional[tuple]:
    """The largest release any cataloged entry of ``fw`` names in its patterns (``1.5.*`` counts as 1.5.x)."""
    keys = []
    for raw in catalog_data()["frameworks"][fw]["versions"].values():
        for pat in raw["matches"]:
            k = version_key(pat.replace("*", "9999"))
            if k is not None and pat[:1].isdigit() and "." in pat:
                keys.append(k)
    return max(keys) if keys else None


def catalog_for(framework: str, version: Optional[str]) -> tuple:
    """``(catalog, how)`` for an installed version: ``how`` is ``"exact"`` when the version is cataloged,
    ``"newer"`` when it is newer than every cataloged release (then the newest catalog is used only if the runner's
    tactic counts and values match it at run time), or ``(None, why)`` when nothing applies."""
    fw = normalize_framework(framework)
    if version is None:
        return None, "version unknown"
    found = find_version(fw, version)
    if found is not None:
        return found, "exact"
    key, newest = version_key(version), _newest_release(fw)
    if key is not None and newest is not None and key > newest:
        keys = known_versions(fw)
        return find_version(fw, keys[-1]), "newer"
    return None, "older than or not among the cataloged versions"


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
    """The newest entry read at its own tag (entries checked only at run time are never a silent default)."""
    versions = catalog_data()["frameworks"][fw]["versions"]
    return [k for k, raw in versions.items() if not raw.get("runtime_check")][-1]


def published_failures() -> list:
    """The public failure reports the catalog is checked against (see docs/catalog_verification.md)."""
    return list(catalog_data().get("published_failures", []))


__all__ = ["FrameworkVersion", "FRAMEWORKS", "DTYPE_PATHS", "ARCHS", "catalog_data", "normalize_framework",
           "normalize_dtype", "normalize_arch", "known_versions", "find_version", "resolve_version",
           "published_failures", "catalog_for", "version_key"]
