"""Compile facts: what the device compile of an SM12x kernel says about it, exactly, as shipped data.

For each kernel the project ranks or emits, ``smem-tactics compile-facts`` compiles the same translation unit
emission builds (:func:`smem_tactics.emit.cutlass_tu.translation_unit`, nvcc ``-Xptxas -v`` for one target) and
records what ptxas and cuobjdump report about ``cutlass::device_kernel<GemmKernel>``. The files live in
``smem_tactics/data/compile_facts/``, one per (arch family, CUTLASS release, nvcc release)::

    sm120_cutlass-4.5.0_nvcc-13.0.json
    {"schema": 1, "family": "sm120", "cutlass": "4.5.0", "nvcc": "13.0", "flags": "-std=c++17 ...",
     "records": [{"name": KERNEL, "target": "sm_120a", "ok": true, "registers": 119, ...}, ...]}

Each record (:data:`RECORD_FIELDS`): the kernel config name (a :class:`~smem_tactics.synthesis.Candidate`'s name),
the target, ``ok``, registers per thread, spill stores / loads, stack frame and local memory per thread (bytes),
the cubin's static shared memory, the MMA instructions in the SASS, the compile's wall seconds, the error message
of a failed compile, the model's ``sizeof(SharedStorage)`` and stage count the unit static_asserts, the exact nvcc
build and the machine it ran on.

Reading them needs no compiler::

    from smem_tactics.compile_facts import facts_for
    f = facts_for(candidate, "4.5.0")          # CompileFacts, or None: registers unknown, never guessed
    f.describe()   # 'registers per thread: 119 (sm_120a, nvcc 13.0, CUTLASS 4.5.0), spills: 0 B'

A file with a missing field or a value of the wrong type is refused (:class:`~smem_tactics.errors.ConfigError`
naming the file and the field).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from .contract import bad, read_json_file, require_instance
from .versions import CutlassVersion

SCHEMA = 1
#: Targets a facts file may hold (the SM12x device targets).
TARGETS = ("sm_120a", "sm_121a")
#: What the compile reports per kernel and target; ``None`` where the tool did not report it or the compile failed.
USAGE_KEYS = ("registers", "spill_stores", "spill_loads", "stack_frame", "local_bytes", "static_smem",
              "mma_instructions")
#: Every field of a record and its JSON type ("int?" may be null).
RECORD_FIELDS = {"name": "str", "target": "str", "ok": "bool", **{k: "int?" for k in USAGE_KEYS},
                 "compile_seconds": "number", "error": "str?", "total_bytes": "int", "stages": "int",
                 "nvcc_version": "str", "machine": "str"}
#: Fields of the file's header (more may follow, e.g. ``about``).
HEADER_FIELDS = {"schema": "int", "family": "str", "cutlass": "str", "nvcc": "str", "flags": "str", "records": "list"}


@dataclass(frozen=True)
class CompileFacts:
    """One kernel's compile facts for one target under one CUTLASS and nvcc release."""

    name: str
    target: str
    cutlass: str
    nvcc: str
    ok: bool
    registers: Optional[int]
    spill_stores: Optional[int]
    spill_loads: Optional[int]
    stack_frame: Optional[int]
    local_bytes: Optional[int]
    static_smem: Optional[int]
    mma_instructions: Optional[int]
    compile_seconds: float
    error: Optional[str]
    total_bytes: int
    stages: int
    nvcc_version: str  # the exact build, e.g. 13.0.88 (the file's key holds MAJOR.MINOR)
    machine: str

    @property
    def where(self) -> str:
        return f"{self.target}, nvcc {self.nvcc}, CUTLASS {self.cutlass}"

    @property
    def spill_bytes(self) -> Optional[int]:
        if self.spill_stores is None or self.spill_loads is None:
            return None
        return self.spill_stores + self.spill_loads

    def spills_text(self) -> str:
        if self.spill_bytes is None:
            return "spills unknown"
        if self.spill_bytes == 0:
            return "spills: 0 B"
        return f"spills: {self.spill_stores} B stored, {self.spill_loads} B loaded per thread"

    def describe(self) -> str:
        """One line for a user: the registers and spills, or why they are unknown."""
        if not self.ok:
            return f"registers unknown: the compile failed ({self.where}): {self.error}"
        if self.registers is None:
            return f"registers unknown: the compile did not report them ({self.where})"
        return f"registers per thread: {self.registers} ({self.where}), {self.spills_text()}"

    def summary(self) -> dict:
        """The JSON a table row or ``footprint --json`` carries."""
        return {"known": self.ok and self.registers is not None, "target": self.target, "nvcc": self.nvcc,
                "cutlass": self.cutlass, "registers": self.registers if self.ok else None,
                "spill_stores": self.spill_stores, "spill_loads": self.spill_loads,
                "stack_frame": self.stack_frame, "local_bytes": self.local_bytes, "ok": self.ok,
                "error": self.error}

    def record(self) -> dict:
        return {k: getattr(self, k) for k in RECORD_FIELDS}


def unknown_summary(name: str, cutlass: str) -> dict:
    """The JSON of a kernel without compile facts."""
    return {"known": False, "registers": None,
            "reason": f"registers unknown: no compile facts for {name} under CUTLASS {cutlass}"}


def unknown_text(name: str, cutlass: str) -> str:
    return (f"registers per thread: unknown (no compile facts for {name} under CUTLASS {cutlass}; "
            f"`smem-tactics compile-facts` computes them with nvcc)")


@dataclass(frozen=True)
class FactsFile:
    """A checked facts file: its header and records."""

    path: str
    family: str
    cutlass: str
    nvcc: str
    flags: str
    header: dict  # every header field but the records, as read
    records: tuple  # CompileFacts

    def key(self) -> tuple:
        return self.family, self.cutlass, self.nvcc

    @functools.cached_property
    def by_kernel(self) -> dict:
        """(name, target) -> CompileFacts (the cost model looks up every candidate it ranks)."""
        return {(r.name, r.target): r for r in self.records}


def file_name(family: str, cutlass: str, nvcc: str) -> str:
    return f"{family}_cutlass-{cutlass}_nvcc-{nvcc}.json"


def shipped_dir() -> Path:
    return Path(str(resources.files("smem_tactics").joinpath("data/compile_facts")))


def _check_type(where: str, value: Any, kind: str) -> Any:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None and optional:
        return None
    types = {"str": str, "int": int, "bool": bool, "number": (int, float), "list": list}[kind]
    ok = isinstance(value, types) and (kind in ("bool",) or not isinstance(value, bool))
    if not ok:
        what = {"str": "a string", "int": "an integer", "bool": "true or false", "number": "a number",
                "list": "a JSON array"}[kind]
        raise bad(where, value, what + (" or null" if optional else ""), f"a {type(value).__name__}")
    if kind in ("int", "number") and value < 0:
        raise bad(where, value, "a number >= 0" + (" or null" if optional else ""), "negative")
    return value


def parse_record(data: Any, where: str, cutlass: str, nvcc: str) -> CompileFacts:
    """A record checked field by field (``where`` names it in errors, e.g. ``FILE: records[3]``)."""
    require_instance(where, data, dict, "a JSON object (one kernel's compile facts)")
    values = {}
    for key, kind in RECORD_FIELDS.items():
        if key not in data:
            raise bad(f"{where}.{key}", "<missing>", f"{kind.rstrip('?')} (every record has {', '.join(RECORD_FIELDS)})",
                      "missing field")
        values[key] = _check_type(f"{where}.{key}", data[key], kind)
    extra = sorted(set(data) - set(RECORD_FIELDS))
    if extra:
        raise bad(f"{where}.{extra[0]}", data[extra[0]], f"only the fields {', '.join(RECORD_FIELDS)}", "unknown field")
    if values["target"] not in TARGETS:
        raise bad(f"{where}.target", values["target"], TARGETS)
    if values["ok"] and values["registers"] is None:
        raise bad(f"{where}.registers", None, "an integer for a compile that succeeded (ok: true)", "null")
    if not values["ok"] and not values["error"]:
        raise bad(f"{where}.error", values["error"], "the compiler's message for a failed compile (ok: false)", "empty")
    if values["nvcc_version"] != nvcc and not values["nvcc_version"].startswith(nvcc + "."):
        raise bad(f"{where}.nvcc_version", values["nvcc_version"], f"a build of nvcc {nvcc} (the file's nvcc)")
    return CompileFacts(cutlass=cutlass, nvcc=nvcc, **values)


def parse_facts(data: Any, source: str) -> FactsFile:
    """A facts document (already parsed JSON) checked field by field."""
    require_instance(source, data, dict, "a JSON object with the fields " + ", ".join(HEADER_FIELDS))
    for key, kind in HEADER_FIELDS.items():
        if key not in data:
            raise bad(f"{source}: {key}", "<missing>", f"a field {key} ({kind})", "missing field")
        _check_type(f"{source}: {key}", data[key], kind)
    if data["schema"] != SCHEMA:
        raise bad(f"{source}: schema", data["schema"], str(SCHEMA), "written by another smem_tactics; regenerate it "
                                                                     "with smem-tactics compile-facts")
    try:
        cutlass = str(CutlassVersion.parse(data["cutlass"]))
    except ValueError as e:
        raise bad(f"{source}: cutlass", data["cutlass"], "a CUTLASS release this smem_tactics models", str(e)) from None
    if not re.fullmatch(r"\d+\.\d+", data["nvcc"]):
        raise bad(f"{source}: nvcc", data["nvcc"], "an nvcc release as MAJOR.MINOR, e.g. 13.0")
    records = []
    seen = set()
    for i, r in enumerate(data["records"]):
        rec = parse_record(r, f"{source}: records[{i}]", cutlass, data["nvcc"])
        if (rec.name, rec.target) in seen:
            raise bad(f"{source}: records[{i}]", f"{rec.name} {rec.target}", "one record per kernel and target",
                      "given twice")
        seen.add((rec.name, rec.target))
        records.append(rec)
    header = {k: v for k, v in data.items() if k != "records"}
    return FactsFile(source, data["family"], cutlass, data["nvcc"], data["flags"], header, tuple(records))


def load_facts(path: Union[str, Path]) -> FactsFile:
    """Read and check a facts file (bad JSON, a missing field or a wrong type: ConfigError naming it)."""
    return parse_facts(read_json_file("compile facts", str(path), expect=dict), Path(path).name)


def render_facts(header: dict, records: Sequence[dict]) -> str:
    """The file's text: the header, then one record per line (sorted by kernel and target), so diffs stay readable."""
    import json

    head = {k: v for k, v in header.items() if k != "records"}
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append(' "records": [')
    ordered = sorted(records, key=lambda r: (r["name"], r["target"]))
    for i, r in enumerate(ordered):
        lines.append(f"  {json.dumps(r, separators=(', ', ': '))}{',' if i < len(ordered) - 1 else ''}")
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=1)
def shipped_facts() -> tuple:
    """Every facts file shipped in the package, checked (a broken shipped file is an error, not skipped)."""
    d = shipped_dir()
    return tuple(load_facts(p) for p in sorted(d.glob("*.json"))) if d.is_dir() else ()


def _nvcc_key(nvcc: str) -> tuple:
    return tuple(int(x) for x in nvcc.split("."))


def _names_of(kernel: Any) -> list:
    """The record names that hold ``kernel``'s facts: a candidate's name; for a KernelConfig its name and the same
    name with ``_swapab`` (a swap-AB candidate's config already says which operand is A and that D is column-major:
    its translation unit is the same C++ as the config's, the suffix only names the operands' roles)."""
    from .config import KernelConfig

    if isinstance(kernel, str):
        return [kernel]
    if isinstance(kernel, KernelConfig):
        return [kernel.name(), kernel.name() + "_swapab"]
    name = getattr(kernel, "name", None)
    if isinstance(name, str):
        return [name]
    raise bad("kernel", f"<{type(kernel).__name__}>", "a kernel name, a Candidate or a KernelConfig")


def _arch_target(name: str) -> str:
    return "sm_121a" if name.startswith("sm121") else "sm_120a"


def facts_for(kernel: Any, cutlass: Any = None, nvcc: Optional[str] = None, target: Optional[str] = None,
              sources: Optional[Sequence[FactsFile]] = None) -> Optional[CompileFacts]:
    """The compile facts of ``kernel`` (a name, Candidate or KernelConfig) under CUTLASS ``cutlass``, or ``None``
    when none are recorded (registers unknown: never guessed).

    ``cutlass``: default the release of the Candidate's or KernelConfig's config; a bare name is looked up under any
    release (the name ends in the release, ``_v450``). ``nvcc``: a release (``13.0``); default: the newest nvcc that compiled the kernel. ``target``: ``sm_120a`` or
    ``sm_121a``; default: the kernel's own arch's target, else ``sm_120a`` (the facts say which target they are
    of). ``sources``: facts files to search (default: the shipped ones)."""
    names = _names_of(kernel)
    if cutlass is None and not isinstance(kernel, str):
        config = getattr(kernel, "config", kernel)
        cutlass = config.cutlass
    version = None if cutlass is None else str(CutlassVersion.parse(str(cutlass)))
    if target is not None and target not in TARGETS:
        raise bad("target", target, TARGETS)
    files = [f for f in (shipped_facts() if sources is None else sources) if version in (None, f.cutlass)
             and (nvcc is None or f.nvcc == str(nvcc))]
    files.sort(key=lambda f: _nvcc_key(f.nvcc), reverse=True)
    for name in names:
        targets = [target] if target else list(dict.fromkeys([_arch_target(name), "sm_120a"]))
        for t in targets:
            for f in files:
                rec = f.by_kernel.get((name, t))
                if rec is not None:
                    return rec
    return None


def facts_summary(kernel: Any, cutlass: Any) -> dict:
    """The JSON of ``kernel``'s compile facts (``known: false`` and ``registers: null`` when there are none)."""
    f = facts_for(kernel, cutlass)
    return f.summary() if f is not None else unknown_summary(_names_of(kernel)[0], str(cutlass))


def facts_line(kernel: Any, cutlass: Any) -> str:
    """One line for a user: registers and spills with where they come from, or 'registers ... unknown'."""
    f = facts_for(kernel, cutlass)
    return f.describe() if f is not None else unknown_text(_names_of(kernel)[0], str(cutlass))


__all__ = ["SCHEMA", "TARGETS", "USAGE_KEYS", "RECORD_FIELDS", "HEADER_FIELDS", "CompileFacts", "FactsFile",
           "facts_for", "load_facts", "parse_facts", "parse_record", "render_facts", "shipped_facts", "shipped_dir",
           "file_name", "unknown_summary", "unknown_text", "facts_summary", "facts_line"]
