"""Tactic tables: the ranked configs that fit a GPU, per model, dtype and token bucket, computed offline.

A table is one (GPU, model, dtype): for every token bucket and both expert GEMMs, the synthesized configs that
fit the GPU's per-block limit, ranked by the cost model, each with its exact shared memory, pinned stage count,
predicted time and the reason it placed where it did. Stored as JSON with a ``metadata`` block (smem_tactics,
CUTLASS and cost-model versions, the GPU facts and model shape used), a Markdown summary and a PNG of every
candidate's shared memory by part against the device limit.

API::

    from smem_tactics.tables import build_table, save_table, load_table, shipped_table_path
    table = build_table("gb10", "qwen3-30b-a3b", "nvfp4")          # dict (JSON-ready)
    paths = save_table(table, "out/tables")                        # .json, .md, .png
    table = load_table(shipped_table_path("gb10", "qwen3-30b-a3b", "nvfp4"))   # checks metadata

:func:`load_table` refuses (:class:`TableError`, with the reason) a table of another schema, one built for a
CUTLASS release that is not the one expected (``cutlass=`` or, by default, an installed CUTLASS tree), one whose
numbers were edited after generation (the sha256 seal in ``metadata.integrity`` does not match; :func:`save_table`
writes it), a damaged one, or one whose recorded footprints the installed model no longer reproduces. The SM12x tables ship in
``smem_tactics/data/tables``; ``scripts/generate_tactic_table.py`` regenerates them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence, Union

from .contract import json_document, require_cutlass, require_str
from .errors import ConfigError, SmemTacticsError
from .versions import CutlassVersion

SCHEMA = 1
#: Ranked entries kept per (bucket, GEMM); the first EMIT_TOP of them are emitted as C++.
DEFAULT_TOP = 8
EMIT_TOP = 3
#: Tables shipped in the package (SM12x).
SHIPPED_GPUS = ("gb10", "rtx-pro-6000", "rtx-5090")
SHIPPED_DTYPES = ("nvfp4", "mxfp8xmxfp4")
ALL_GPUS = ("gb10", "rtx-pro-6000", "rtx-5090", "h100", "h200", "b200")


class TableError(ConfigError):
    """A tactic table that cannot be used as it is (wrong CUTLASS release, schema or model; damaged or edited).

    A :class:`~smem_tactics.errors.ConfigError` whose ``field`` is the table's file (or ``table`` for one in memory),
    so callers that handle field errors handle it too; the message is the whole reason."""

    def __init__(self, message: str, field: str = "table"):
        self.field = field
        self.value = None
        self.allowed = "a tactic table as scripts/generate_tactic_table.py writes it"
        self.detail = message
        SmemTacticsError.__init__(self, message)


def table_key(gpu: str, model: str, dtype: str) -> str:
    return f"{gpu}__{model}__{dtype}"


def shipped_dir() -> Path:
    return Path(str(resources.files("smem_tactics").joinpath("data/tables")))


def shipped_table_path(gpu: str, model: str, dtype: str) -> Path:
    return shipped_dir() / f"{table_key(gpu, model, dtype)}.json"


def _resolve(gpu: str, model: str, dtype: str):
    from .devices import gpu_facts
    from .problems import model_shape
    from .synthesis import dtype_recipe
    from .config import Arch

    g = gpu_facts(gpu)
    shape = model_shape(model)
    recipe = dtype_recipe(dtype, Arch.parse(g.arch))
    return g, shape, recipe


def build_table(gpu: str, model: str, dtype: str, *, buckets: Optional[Sequence[str]] = None,
                gemms: Sequence[int] = (1, 2), routing: str = "uniform", limit_bytes: Optional[int] = None,
                cutlass: Optional[str] = None, top: int = DEFAULT_TOP, emit_top: int = EMIT_TOP,
                epilogues: Optional[Sequence[str]] = None) -> dict:
    """Synthesize, rank and tabulate (see the module docstring); returns the JSON-ready dict.

    Tables rank the C = void epilogues by default: ``void_c``, and ``no_smem`` where the arch offers it (SM90).
    C = D (``c_eq_d``) only adds C staging to shared memory when beta = 0, so its twin never ranks higher; the
    TensorRT-LLM patch carries those twins. TensorRT-LLM 1.2's own
    configs for the dtype are ranked alongside as ``baselines`` (not candidates)."""
    from . import __version__
    from .config import Arch
    from .cost import cost_model_version, cost_parameters, rank
    from .emit.trtllm import framework_status, trtllm_baselines
    from .problems import bucket_names, moe_problem, parse_bucket
    from .synthesis import default_cutlass, synthesize

    g, shape, recipe = _resolve(gpu, model, dtype)
    arch = Arch.parse(g.arch)
    limit = limit_bytes if limit_bytes is not None else g.smem_per_block_optin
    version = CutlassVersion.parse(cutlass) if cutlass else default_cutlass(arch)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError("top", top, "a positive integer")
    bucket_list = [parse_bucket(b) for b in (buckets or bucket_names())]
    if epilogues is None:
        from .synthesis.space import space_table

        offered = space_table()["archs"][arch.family.value]["epilogues"]
        epilogues = tuple(e for e in ("void_c", "no_smem") if e in offered)
    candidates = synthesize(arch, recipe.name, limit, cutlass=str(version), epilogues=epilogues)
    params = cost_parameters(arch)
    baselines, baseline_notes = trtllm_baselines(arch, recipe.name, str(version), limit)
    grounding = cost_grounding(g.key)
    tolerance = grounding["expected_error"] if grounding else None
    used: dict = {}
    sections = []
    for bucket, tokens in bucket_list:
        for gemm in gemms:
            problem = moe_problem(shape, gemm, tokens, routing)
            ranked = rank(problem, g, candidates, params)[:top]
            entries = []
            for r in ranked:
                used[r.candidate.name] = r.candidate
                entry = r.to_dict()
                entry["emit"] = r.rank <= emit_top
                entries.append(entry)
            base = []
            if baselines:
                for r in rank(problem, g, baselines, params)[:2]:
                    base.append({"candidate": r.candidate.name, "short": r.candidate.short(),
                                 "predicted_us": round(r.predicted_us, 3), "total_bytes": r.candidate.total_bytes,
                                 "stages": r.candidate.stages,
                                 "vs_top": round(r.predicted_us / ranked[0].predicted_us, 4)})
            level = (sum(1 for r in ranked if r.predicted_us <= ranked[0].predicted_us * (1.0 + tolerance))
                     if tolerance is not None else None)
            sections.append({"bucket": bucket, "tokens": tokens, "gemm": gemm, "problem": problem.to_dict(),
                             "ranked": entries, "trtllm_1_2_best": base, "within_expected_error": level})
    cand_dicts = {}
    for name, c in sorted(used.items()):
        d = c.to_dict()
        d["short"] = c.short()
        d["frameworks"] = framework_status(c)
        cand_dicts[name] = d
    metadata = {
        "schema": SCHEMA,
        "smem_tactics_version": __version__,
        "cutlass_version": str(version),
        "cost_model_version": cost_model_version(),
        "cost_parameters": params.to_dict(),
        "generated_by": "scripts/generate_tactic_table.py (smem_tactics.tables.build_table)",
        "gpu": {k: v for k, v in g.__dict__.items()},
        "model": shape.to_dict(),
        "dtype": {"name": recipe.name, "about": recipe.about, "activation": recipe.activation,
                  "weight": recipe.weight, "d": recipe.d, "kind": recipe.kind},
        "arch": arch.value,
        "limit_bytes": limit,
        "routing": routing,
        "buckets": [b for b, _ in bucket_list],
        "gemms": list(gemms),
        "top": top,
        "emit_top": emit_top,
        "search_space_size": len(candidates),
        "epilogues": list(epilogues),
        "trtllm_1_2_baselines": baseline_notes,
        "grounding": grounding,
        "oracle": None,
    }
    return annotate_compile_facts({"metadata": metadata, "candidates": cand_dicts, "sections": sections})


def annotate_compile_facts(table: dict) -> dict:
    """Give every candidate of an SM12x table its compile facts (``candidates[name]["compile_facts"]``: registers per
    thread, spills, the target/nvcc/CUDA release they are of; ``known: false`` where none are recorded), every ranked
    row its ``registers`` and ``spill_bytes`` (``None``: unknown), and the metadata a count. Read from the shipped
    facts (:mod:`smem_tactics.compile_facts`), never guessed; other archs are left as they are. Returns ``table``."""
    from .compile_facts import facts_for, unknown_summary

    meta = table["metadata"]
    if not str(meta.get("arch", "")).startswith("sm12"):
        return table
    cutlass = meta["cutlass_version"]
    known = 0
    sources = set()
    for name, c in table["candidates"].items():
        f = facts_for(name, cutlass)
        c["compile_facts"] = f.summary() if f is not None else unknown_summary(name, cutlass)
        if c["compile_facts"]["known"]:
            known += 1
            sources.add(f"{f.target}, nvcc {f.nvcc}")
    for s in table["sections"]:
        for e in s["ranked"]:
            cf = table["candidates"][e["candidate"]]["compile_facts"]
            e["registers"] = cf["registers"]
            e["spill_bytes"] = None if cf["registers"] is None else cf["spill_stores"] + cf["spill_loads"]
    meta["compile_facts"] = {"known": known, "candidates": len(table["candidates"]), "from": sorted(sources)}
    return table


def _facts_cells(c: dict) -> tuple:
    """(registers, spill bytes) as a table shows them: '?' where unknown, 'failed' where the compile failed."""
    cf = c.get("compile_facts") or {}
    if cf.get("known"):
        return str(cf["registers"]), str(cf["spill_stores"] + cf["spill_loads"])
    if cf.get("ok") is False:
        return "failed", "-"
    return "?", "?"


def _facts_note(meta: dict) -> Optional[str]:
    cf = meta.get("compile_facts")
    if not cf:
        return None
    where = f" ({'; '.join(cf['from'])})" if cf["from"] else ""
    return (f"registers / spill B: compile facts of {cf['known']} of {cf['candidates']} candidates{where}; "
            f"'?' = registers unknown (not compiled yet: smem-tactics compile-facts)")


def cost_grounding(gpu_key: str) -> Optional[dict]:
    """What backs the cost model's SM12x rankings on this GPU: the published measurements (by source), the model's
    expected error there (leave-one-source-out, docs/sm12x_validation.md) and how it was derived; ``None`` for
    GPUs whose model was fitted on measurements of the GPU itself (the H100/H200 runs)."""
    from .cost import grounding_for

    return grounding_for(gpu_key)


def level_note(section: dict, grounding: Optional[dict], gpu_name: str) -> Optional[str]:
    """'these N are within X % ...' when more than one ranked config sits within the expected error of #1."""
    n = section.get("within_expected_error")
    if not grounding or not n or n < 2:
        return None
    return (f"the top {n} are within {grounding['expected_error']:.0%} of each other, the model's expected error "
            f"on a {gpu_name}: the choice among them does not matter for speed as far as the evidence goes (order "
            f"below is the model's, ties broken by less shared memory)")


# -- oracle -------------------------------------------------------------------------------------------


def verify_with_oracle(tables: Sequence[dict], tree=None, compiler: str = "g++", jobs: Optional[int] = None,
                       progress=None, cache: Optional[dict] = None) -> dict:
    """Compile every distinct candidate of ``tables`` in the host-only oracle and record, per candidate, the
    measured ``sizeof(SharedStorage)`` and stages; returns ``{name: {"total", "stages", "match"|"error"}}``."""
    from cpp_bindings.probe import run_probe
    from cpp_bindings.trees import resolve_tree
    from .config import KernelConfig

    versions = {t["metadata"]["cutlass_version"] for t in tables}
    if len(versions) != 1:
        raise TableError(f"tables target several CUTLASS releases ({', '.join(sorted(versions))}); verify them apart")
    version = versions.pop()
    tree = tree or resolve_tree(version=version)
    if tree.version != version:
        raise TableError(f"the oracle tree is CUTLASS {tree.version}, the tables target {version}")
    cache = cache if cache is not None else {}
    todo = {}
    for t in tables:
        for name, c in t["candidates"].items():
            if name not in cache:
                todo[name] = c
    if todo:
        from cpp_bindings.oracle import check_canary

        check_canary(tree, compiler)  # a broken tree is said to be broken, not N candidates that "mismatch"
        names = sorted(todo)
        configs = [KernelConfig.from_dict(todo[n]["config"]) for n in names]
        results = run_probe(configs, tree, compiler=compiler, jobs=jobs, progress=progress)
        for n, r in zip(names, results):
            c = todo[n]
            if r.ok:
                cache[n] = {"total": r.measured["total"], "stages": r.measured["stages"],
                            "match": r.measured["total"] == c["total_bytes"] and r.measured["stages"] == c["stages"]}
            else:
                cache[n] = {"error": r.error, "match": False}
    for t in tables:
        matched = 0
        for name, c in t["candidates"].items():
            c["oracle"] = cache[name]
            matched += bool(cache[name].get("match"))
        t["metadata"]["oracle"] = {"compiler": compiler, "cutlass_tree": f"{tree.version} ({tree.source})",
                                   "candidates": len(t["candidates"]), "matched": matched}
    return cache


# -- shape and integrity ------------------------------------------------------------------------------------
# What a table must hold for the presentation functions and load_table to read it (declarative: a type, a tuple of
# types, {key: shape} with "?key" for optional keys, {str: shape} for a mapping of any keys, [shape] for a list).
_NUM, _OPT_INT = (int, float), (int, type(None))
_CANDIDATE = {"short": str, "total_bytes": int, "stages": int, "breakdown": {str: int}, "config": dict,
              "swap_ab": bool, "dtype": str, "epilogue": str, "schedule": str, "limit_bytes": int,
              "?ctas_per_sm": int, "?launch": (dict, type(None)),
              "?frameworks": dict, "?compile_facts": {"known": bool, "?registers": _OPT_INT, "?spill_stores": _OPT_INT,
                                                      "?spill_loads": _OPT_INT, "?ok": (bool, type(None))}}
_RANKED = {"rank": int, "candidate": str, "predicted_us": _NUM, "reason": str, "emit": bool, "?total_bytes": int,
           "?stages": int}
TABLE_SHAPE = {
    "metadata": {"schema": int, "cutlass_version": str, "cost_model_version": (int, float, str), "arch": str,
                 "limit_bytes": int, "routing": str, "smem_tactics_version": str, "search_space_size": int, "top": int,
                 "emit_top": int,
                 "gpu": {"key": str, "full_name": str, "arch": str, "sms": int, "mem_bw_gbps": _NUM},
                 "model": {"key": str, "full_name": str, "hidden": int, "intermediate": int, "experts": int,
                           "top_k": int},
                 "dtype": {"name": str, "about": str},
                 "?trtllm_1_2_baselines": [dict], "?integrity": str,
                 "?oracle": (dict, type(None)), "?grounding": (dict, type(None)), "?compile_facts": dict},
    "candidates": {str: _CANDIDATE},
    "sections": [{"bucket": str, "gemm": int, "ranked": [_RANKED], "?within_expected_error": _OPT_INT,
                  "problem": {"n": int, "k": int, "label": str, "active_groups": _NUM, "rows": _NUM},
                  "?trtllm_1_2_best": [{"short": str, "total_bytes": int, "stages": int, "predicted_us": _NUM,
                                        "vs_top": _NUM}]}],
}


def _check_shape(value, shape, where: str, source: str) -> None:
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise TableError(f"{source}: {where} is a {type(value).__name__}, not a list; regenerate the table", source)
        for i, item in enumerate(value):
            _check_shape(item, shape[0], f"{where}[{i}]", source)
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            raise TableError(f"{source}: {where} is a {type(value).__name__}, not an object; regenerate the table",
                             source)
        if str in shape:
            for k, v in value.items():
                _check_shape(v, shape[str], f"{where}.{k}", source)
            return
        for key, sub in shape.items():
            name = key.lstrip("?")
            if name in value:
                _check_shape(value[name], sub, f"{where}.{name}", source)
            elif not key.startswith("?"):
                raise TableError(f"{source}: {where} has no {name!r}; regenerate the table", source)
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
            return
        raise TableError(f"{source}: {where} is {str(value)[:40]!r} ({type(value).__name__}); regenerate the table",
                         source)


def check_shape(table, source: str = "table") -> dict:
    """``table`` if it holds every field :func:`text`, :func:`markdown` and :func:`load_table` read, with their types,
    and every ranked entry names a candidate of the table; :class:`TableError` naming the first that does not."""
    if not isinstance(table, dict):
        raise TableError(f"{source}: a {type(table).__name__}, not a tactic table (a JSON object)", source)
    if not isinstance(table.get("metadata"), dict):
        raise TableError(f"{source}: no metadata block; regenerate it with scripts/generate_tactic_table.py", source)
    _check_shape(table, TABLE_SHAPE, "table", source)
    for i, s in enumerate(table["sections"]):
        for e in s["ranked"]:
            if e["candidate"] not in table["candidates"]:
                raise TableError(f"{source}: sections[{i}] ranks {e['candidate'][:80]!r}, which the table's candidates "
                                 f"do not hold; regenerate the table", source)
    return table


INTEGRITY_ALGORITHM = "sha256"


def table_digest(table: dict) -> str:
    """``sha256:<hex>`` over the canonical JSON (sorted keys, no spaces) of everything the table stores except its
    own ``metadata.integrity`` and the ``_``-keys :func:`load_table` adds."""
    body = {k: v for k, v in table.items() if not k.startswith("_")}
    body["metadata"] = {k: v for k, v in body["metadata"].items() if k != "integrity"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return f"{INTEGRITY_ALGORITHM}:{hashlib.sha256(text.encode('ascii')).hexdigest()}"


def seal(table: dict) -> dict:
    """Record :func:`table_digest` in ``metadata.integrity`` (what :func:`save_table` does before writing)."""
    table["metadata"]["integrity"] = table_digest(table)
    return table


def check_integrity(table: dict, source: str = "table") -> None:
    """Refuse a table whose stored numbers were changed after it was generated (or that was never sealed)."""
    recorded = table["metadata"].get("integrity")
    if recorded is None:
        raise TableError(f"{source}: no integrity seal (metadata.integrity): it was not written by "
                         f"scripts/generate_tactic_table.py; reseal a table you trust with "
                         f"scripts/generate_tactic_table.py --reseal FILE, or regenerate it", source)
    if recorded != table_digest(table):
        raise TableError(f"{source}: its numbers were edited after it was generated (the sha256 of its content does "
                         f"not match metadata.integrity); regenerate it with scripts/generate_tactic_table.py", source)


def _recompute(table: dict, source: str) -> None:
    """What is cheap to recompute, recomputed: each candidate's footprint (bytes, stages, breakdown) by the installed
    model, every candidate within the table's limit, every ranked row's bytes and stages those of its candidate."""
    from .synthesis import Candidate

    limit = table["metadata"]["limit_bytes"]
    for name, c in table["candidates"].items():
        try:
            cand = Candidate.from_dict(c)
        except SmemTacticsError as e:
            raise TableError(f"{source}: candidate {name} no longer matches the footprint model ({e}); regenerate "
                             f"the table", source) from None
        if cand.parts != c["breakdown"]:
            raise TableError(f"{source}: candidate {name}'s breakdown {c['breakdown']} is not the model's "
                             f"{cand.parts}; regenerate the table", source)
        if c["total_bytes"] > limit:
            raise TableError(f"{source}: candidate {name} needs {c['total_bytes']} B, more than the table's limit "
                             f"{limit} B; regenerate the table", source)
    for s in table["sections"]:
        for e in s["ranked"]:
            c = table["candidates"][e["candidate"]]
            for key in ("total_bytes", "stages"):
                if key in e and e[key] != c[key]:
                    raise TableError(f"{source}: {s['bucket']} GEMM{s['gemm']} rank {e['rank']} records {key} "
                                     f"{e[key]}, its candidate {c[key]}; regenerate the table", source)


# -- saving and loading ------------------------------------------------------------------------------------


def save_table(table: dict, out_dir: Union[str, Path], png: bool = True) -> list:
    """Write ``<gpu>__<model>__<dtype>.json``, ``.md`` and (with matplotlib) ``.png`` into ``out_dir``."""
    meta = table["metadata"]
    key = table_key(meta["gpu"]["key"], meta["model"]["key"], meta["dtype"]["name"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{key}.json", out / f"{key}.md"]
    # one line per candidate / section keeps the shipped files small and their diffs readable
    body = seal({k: v for k, v in table.items() if not k.startswith("_")})
    paths[0].write_text(_compact_json(body))
    paths[1].write_text(markdown(table))
    if png:
        paths.append(render_png(table, out / f"{key}.png"))
    return paths


def _compact_json(table: dict) -> str:
    lines = ["{", f' "metadata": {json.dumps(table["metadata"], separators=(",", ":"))},', ' "candidates": {']
    items = list(table["candidates"].items())
    for i, (k, v) in enumerate(items):
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}{',' if i < len(items) - 1 else ''}")
    lines.append(" },")
    lines.append(' "sections": [')
    for i, s in enumerate(table["sections"]):
        lines.append(f"  {json.dumps(s, separators=(',', ':'))}{',' if i < len(table['sections']) - 1 else ''}")
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def installed_cutlass_versions() -> list:
    """(version, source) of every CUTLASS tree found in installed packages (cheap: reads version.h)."""
    try:
        from cpp_bindings.trees import installed_trees

        return [(t.version, t.source) for t in installed_trees()]
    except SmemTacticsError:
        return []


def check_metadata(table: dict, cutlass: Optional[str] = None, source: str = "table") -> Optional[str]:
    """Raise :class:`TableError` if the table cannot be used; returns a note (or ``None``) otherwise."""
    meta = table.get("metadata") if isinstance(table, dict) else None
    if not isinstance(meta, dict):
        raise TableError(f"{source}: no metadata block; regenerate it with scripts/generate_tactic_table.py", source)
    if meta.get("schema") != SCHEMA:
        raise TableError(f"{source}: schema {str(meta.get('schema'))[:20]!r}, this smem_tactics reads schema {SCHEMA}; "
                         f"regenerate it with scripts/generate_tactic_table.py", source)
    built_for = str(meta.get("cutlass_version"))[:40]
    if cutlass is not None:
        expected = str(require_cutlass("cutlass", cutlass))
        if expected != built_for:
            raise TableError(
                f"{source}: built for CUTLASS {built_for}, but CUTLASS {expected} was asked for: its stage counts and "
                f"byte counts hold for {built_for} only; regenerate with scripts/generate_tactic_table.py "
                f"--cutlass {expected}", source)
        return None
    installed = installed_cutlass_versions()
    if not installed:
        return (f"note: no installed CUTLASS tree to check against; the table holds for CUTLASS {built_for} "
                f"(pip install flashinfer-python==0.7.2.post1 ships 4.5.0)")
    if built_for not in {v for v, _ in installed}:
        have = ", ".join(f"{v} ({s})" for v, s in installed)
        raise TableError(
            f"{source}: built for CUTLASS {built_for}, but the installed CUTLASS is {have}: the stage counts and byte "
            f"counts would not hold for the kernels you can build; install CUTLASS {built_for} (flashinfer-python="
            f"=0.7.2.post1 ships 4.5.0), pass --cutlass {built_for} if you build against it elsewhere, or regenerate "
            f"with scripts/generate_tactic_table.py --cutlass <installed version>", source)
    return None


def read_table_file(path: Union[str, Path]) -> tuple:
    """(path, parsed JSON) of a table file, read with the contract's size and depth bounds, nothing checked yet."""
    from .contract import read_bytes

    if not isinstance(path, (str, Path)):
        raise TableError(f"path: a {type(path).__name__}, not a table file path", "path")
    p = Path(require_str("path", str(path), "a table file path"))
    data = read_bytes(f"table {p}", p)
    try:
        return p, json_document(f"table {p.name}", data, max_bytes=len(data) + 1, max_depth=64, expect=dict)
    except ConfigError as e:
        raise TableError(f"{p.name}: not a JSON table ({e.detail})", p.name) from None


def load_table(path: Union[str, Path], cutlass: Optional[str] = None) -> dict:
    """Read a table and check it: its shape, its metadata (:func:`check_metadata`), its integrity seal (refused if
    any stored number was edited after generation), and what is cheap to recompute (every candidate's footprint
    and breakdown by the installed model, the limit, the ranked rows' bytes)."""
    if cutlass is not None:
        cutlass = str(require_cutlass("cutlass", cutlass))
    p, table = read_table_file(path)
    source = p.name
    note = check_metadata(table, cutlass, source)
    check_shape(table, source)
    check_integrity(table, source)
    _recompute(table, source)
    table["_note"] = note
    table["_path"] = str(p)
    return table


# -- presentation -----------------------------------------------------------------------------------------


def _fmt_us(x: float) -> str:
    return f"{x:,.1f}" if x < 1e4 else f"{x:,.0f}"


def _grounding_text(meta: dict) -> str:
    grounding = meta.get("grounding")
    if not grounding:
        if str(meta.get("arch", "")).startswith("sm12"):
            return (f"ranked by cost model v{meta.get('cost_model_version')}, before the SM12x fit: H100 parameters "
                    f"carried over, contradicted by published SM12x measurements (docs/sm12x_validation.md); "
                    f"predictions only")
        return "the cost model was fitted on measurements of this GPU's arch (docs/benchmarks.md)"
    src = ", ".join(grounding["sources"]) or "none of this GPU"
    return (f"predictions, not measurements; backed by published SM12x measurements ({src}); expected error "
            f"{grounding['expected_error']:.0%} ({grounding['basis']})")


def markdown(table: dict) -> str:
    """The table's Markdown summary."""
    meta = check_shape(table)["metadata"]
    g, m, d = meta["gpu"], meta["model"], meta["dtype"]
    oracle = meta.get("oracle")
    lines = [f"# {g['full_name']} x {m['full_name']} x {d['name']}", "",
             f"* {d['about']}",
             f"* limit {meta['limit_bytes']} B per block ({g['arch']}, {g['sms']} SMs, {g['mem_bw_gbps']} GB/s); "
             f"CUTLASS {meta['cutlass_version']}; smem_tactics {meta['smem_tactics_version']}, cost model "
             f"v{meta['cost_model_version']}; routing {meta['routing']}",
             f"* model: hidden {m['hidden']}, intermediate {m['intermediate']}, {m['experts']} experts, top-{m['top_k']}",
             f"* {meta['search_space_size']} configs fit and were ranked; the top {meta['top']} per bucket are kept, "
             f"the top {meta['emit_top']} emitted as C++",
             "* TensorRT-LLM 1.2's own kernels for this dtype: " + (
                 "; ".join(f"{n['config']}: {n['reason']}" if "config" in n else n["note"]
                           for n in meta.get("trtllm_1_2_baselines", []))
                 or "none"),
             "* evidence: " + _grounding_text(meta),
             "* oracle: " + (f"{oracle['matched']}/{oracle['candidates']} candidates' SharedStorage and stages "
                             f"reproduced by compiling against CUTLASS {oracle['cutlass_tree']} ({oracle['compiler']})"
                             if oracle else "not run for this table")]
    facts = _facts_note(meta)
    if facts:
        lines.append(f"* {facts}")
    lines.append("")
    for s in table["sections"]:
        note = level_note(s, meta.get("grounding"), g["full_name"])
        lines += [f"## {s['bucket']} GEMM{s['gemm']} ({s['problem']['label']})", ""] + ([f"*{note}*", ""] if note else [])
        regs_head, regs_rule = (" regs | spill B |", "---|---|") if facts else ("", "")
        lines += [f"| # | config | smem B | stages |{regs_head} predicted us | TRT-LLM 1.2 | reason (top) |",
                  f"|---|---|---|---|{regs_rule}---|---|---|"]
        for e in s["ranked"]:
            c = table["candidates"][e["candidate"]]
            fw = c.get("frameworks", {})
            trt = "n/a" if fw.get("trtllm_1_2") is None else ("yes" if fw["trtllm_1_2"] else "new")
            reason = e["reason"] if e["rank"] == 1 else ""
            regs = " {} | {} |".format(*_facts_cells(c)) if facts else ""
            lines.append(f"| {e['rank']} | `{c['short']}` | {c['total_bytes']} | {c['stages']} |{regs} "
                         f"{_fmt_us(e['predicted_us'])} | {trt} | {reason} |")
        for b in s.get("trtllm_1_2_best", [])[:1]:
            lines.append(f"| TRT-LLM | `{b['short']}` (auto stages) | {b['total_bytes']} | {b['stages']} |"
                         f"{' - | - |' if facts else ''} {_fmt_us(b['predicted_us'])} | yes | {b['vs_top']:.2f}x the #1 |")
        lines.append("")
    return "\n".join(lines)


def text(table: dict, buckets: Optional[Sequence[str]] = None, gemms: Optional[Sequence[int]] = None,
         top: Optional[int] = None) -> str:
    """The ranked table as plain text (what ``smem-tactics table`` prints)."""
    from .commands._common import table as fmt

    meta = check_shape(table)["metadata"]
    g, m, d = meta["gpu"], meta["model"], meta["dtype"]
    head = [f"{g['full_name']} ({g['arch']}, {meta['limit_bytes']} B/block) x {m['full_name']} x {d['name']}; "
            f"CUTLASS {meta['cutlass_version']}, cost model v{meta['cost_model_version']}, {meta['routing']} routing"]
    oracle = meta.get("oracle")
    if oracle:
        head.append(f"oracle: {oracle['matched']}/{oracle['candidates']} footprints reproduced against CUTLASS "
                    f"{oracle['cutlass_tree']}")
    head.append("evidence: " + _grounding_text(meta))
    facts = _facts_note(meta)
    if facts:
        head.append(facts)
    out = ["\n".join(head)]
    for s in table["sections"]:
        if buckets and s["bucket"] not in buckets:
            continue
        if gemms and s["gemm"] not in gemms:
            continue
        rows = []
        for e in s["ranked"][: top or None]:
            c = table["candidates"][e["candidate"]]
            fw = c.get("frameworks", {})
            trt = "-" if fw.get("trtllm_1_2") is None else ("yes" if fw["trtllm_1_2"] else "new")
            regs = _facts_cells(c) if facts else ()
            rows.append((e["rank"], c["short"], c["total_bytes"], c["stages"], *regs, _fmt_us(e["predicted_us"]), trt))
        out.append(f"\n{s['bucket']} GEMM{s['gemm']}: n={s['problem']['n']} k={s['problem']['k']}, "
                   f"{s['problem']['active_groups']:.1f} experts, {s['problem']['rows']:.0f} rows")
        heads = ("#", "config", "smem B", "stages", *(("regs", "spill B") if facts else ()), "pred. us", "TRT-LLM 1.2")
        out.append(fmt(rows, heads, "rllr" + ("rr" if facts else "") + "rl"))
        out.append(f"why #1: {s['ranked'][0]['reason']}")
        note = level_note(s, meta.get("grounding"), g["full_name"])
        if note:
            out.append(note)
        if s.get("trtllm_1_2_best"):
            b = s["trtllm_1_2_best"][0]
            out.append(f"TensorRT-LLM 1.2's best fitting kernel: {b['short']} ({b['total_bytes']} B, auto {b['stages']} "
                       f"stages) {_fmt_us(b['predicted_us'])} us = {b['vs_top']:.2f}x the #1")
    return "\n".join(out)


def render_png(table: dict, path: Union[str, Path]) -> Path:
    """Each candidate's shared memory as a bar stacked by part, against the device limit line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .footprint import PART_ORDER

    meta = table["metadata"]
    cands = sorted(table["candidates"].values(), key=lambda c: (-c["total_bytes"], c["short"]))
    parts = [p.value for p in PART_ORDER]
    height = max(3.0, 0.26 * len(cands) + 1.6)
    fig, ax = plt.subplots(figsize=(11, height))
    colors = plt.get_cmap("tab20").colors
    labels = [c["short"] for c in cands]
    left = [0] * len(cands)
    for i, part in enumerate(parts):
        widths = [c["breakdown"].get(part, 0) for c in cands]
        if not any(widths):
            continue
        ax.barh(range(len(cands)), widths, left=left, color=colors[i % len(colors)], label=part, height=0.75)
        left = [a + b for a, b in zip(left, widths)]
    limit = meta["limit_bytes"]
    ax.axvline(limit, color="black", linestyle="--", linewidth=1.2)
    ax.text(limit, len(cands) - 0.3, f" limit {limit} B", va="bottom", ha="right", fontsize=8)
    ax.set_yticks(range(len(cands)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("sizeof(GemmKernel::SharedStorage), bytes")
    ax.set_title(f"{meta['gpu']['full_name']} x {meta['model']['full_name']} x {meta['dtype']['name']} "
                 f"(CUTLASS {meta['cutlass_version']})", fontsize=10)
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    ax.set_xlim(0, max(limit, max(left)) * 1.08)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=72)
    plt.close(fig)
    return out


def write_png(table: dict, path: Union[str, Path]) -> tuple:
    """(path, how): copy the PNG shipped next to a loaded table, else render it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    src = Path(table.get("_path", "")).with_suffix(".png") if table.get("_path") else None
    if src is not None and src.is_file():
        shutil.copyfile(src, out)
        return out, "copied the shipped PNG"
    try:
        return render_png(table, out), "rendered"
    except ImportError:
        raise TableError("writing the PNG needs matplotlib (pip install matplotlib), or pass --no-png") from None


def table_candidates(directory: Optional[Union[str, Path]] = None, emitted_only: bool = False) -> tuple:
    """(candidates, CUTLASS version, table count): every distinct SM12x candidate of the shipped tables (or of the
    tables in ``directory``), sorted by name; ``emitted_only``: only those the tables emit as C++."""
    from .synthesis import Candidate

    d = Path(directory) if directory else shipped_dir()
    found: dict = {}
    versions = set()
    count = 0
    for path in sorted(d.glob("*.json")):
        table = load_table(path, cutlass=json.loads(path.read_text())["metadata"]["cutlass_version"])
        if not table["metadata"]["arch"].startswith("sm12"):
            continue
        count += 1
        versions.add(table["metadata"]["cutlass_version"])
        for s in table["sections"]:
            for e in s["ranked"]:
                if (e["emit"] or not emitted_only) and e["candidate"] not in found:
                    found[e["candidate"]] = Candidate.from_dict(table["candidates"][e["candidate"]])
    if len(versions) > 1:
        raise TableError(f"shipped tables target several CUTLASS releases: {', '.join(sorted(versions))}")
    if not found:
        raise TableError(f"no SM12x tables in {d}; run scripts/generate_tactic_table.py")
    return [found[k] for k in sorted(found)], versions.pop(), count


def emitted_candidates(directory: Optional[Union[str, Path]] = None) -> tuple:
    """(candidates, CUTLASS version, table count): every distinct SM12x candidate the shipped tables emit."""
    return table_candidates(directory, emitted_only=True)


__all__ = ["TableError", "SCHEMA", "build_table", "save_table", "load_table", "check_metadata", "markdown", "text",
           "render_png", "write_png", "verify_with_oracle", "emitted_candidates", "table_candidates",
           "annotate_compile_facts", "shipped_table_path",
           "shipped_dir", "table_key", "installed_cutlass_versions", "SHIPPED_GPUS", "SHIPPED_DTYPES", "ALL_GPUS"]
