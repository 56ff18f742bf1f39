"""``smem-tactics compile-facts``: compile SM120/SM121 kernels with nvcc and record, per kernel and target, what the
compiler reports -- registers per thread, spill stores/loads, stack frame, local memory, static shared memory, MMA
instructions in the SASS, compile seconds, or the error of a failed compile -- as the data `table` and `footprint`
read without a compiler (smem_tactics/data/compile_facts/).

Default set: every candidate of the shipped SM12x tactic tables, for sm_120a, against the CUTLASS release those
tables target (an installed tree of it, or --cutlass PATH); the unit compiled is the one `emit` writes. The output
(default: the shipped file of this CUTLASS and nvcc release) is rewritten after every compile: a run that is killed
or stops at --deadline loses only the compiles in flight, and the same command run again skips every kernel already
in the file (a failed one too, unless --retry-failed). Needs nvcc, cuobjdump and nvdisasm (CUDA toolkit; or pip
install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm). Exit 0: every kernel asked for has facts; 1: a compile failed
or was not reached before --deadline; 2: bad input or environment."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from ..contract import (EXIT_NEGATIVE, EXIT_OK, MAX_JOBS, bad, csv_values, float_arg, int_arg, refuse_conflicts,
                        require_together, str_arg)

#: The ptxas flag every facts compile adds to the emitted unit's nvcc flags.
PTXAS_VERBOSE = ("-Xptxas", "-v")


def register(sub) -> None:
    p = sub.add_parser("compile-facts", help="registers, spills and local memory of SM12x kernels from nvcc, as "
                                             "shipped data (resumable, parallel, Ray optional)", description=__doc__)
    which = p.add_argument_group("which kernels (default: every candidate of the shipped SM12x tables)")
    which.add_argument("--tables", metavar="DIR", type=str_arg("a folder of tactic tables"),
                       help="the candidates of the SM12x tables in this folder instead of the shipped ones")
    which.add_argument("--space", metavar="ARCH:DTYPE[,DTYPE]", type=str_arg("ARCH:DTYPE[,DTYPE]"),
                       help="every synthesized config of an SM12x arch and dtype(s) that fits --limit-bytes")
    which.add_argument("--limit-bytes", type=int_arg(1, 1 << 24, "bytes per block"), metavar="BYTES",
                       help="with --space: the limit (default 101376)")
    which.add_argument("--emitted", action="store_true",
                       help="only the candidates the tables emit as C++ (the set docs/emitted_compile_summary.md "
                            "lists; with --targets 120a,121a its compile summary can be written from the facts)")
    which.add_argument("--kernels", metavar="NAME[,NAME]", help="only these kernels of the set (by name)")
    which.add_argument("--limit", type=int_arg(1, 100_000, "a number of kernels"), metavar="N",
                       help="only the first N kernels (by name)")
    which.add_argument("--sample", type=int_arg(1, 100_000, "a number of kernels"), metavar="N",
                       help="N kernels evenly spaced over the set")
    p.add_argument("--targets", default="120a", help="comma-separated: 120a, 121a (default 120a)")
    p.add_argument("--cutlass", metavar="PATH", type=str_arg("a CUTLASS tree path"),
                   help="CUTLASS root or include/ folder (default: the installed tree of the kernels' release)")
    p.add_argument("--out", metavar="FILE", type=str_arg("a file path"),
                   help="facts file to write and resume (default: the shipped "
                        "smem_tactics/data/compile_facts/sm120_cutlass-<release>_nvcc-<release>.json)")
    p.add_argument("--retry-failed", action="store_true", help="compile again the kernels recorded as failed")
    p.add_argument("--jobs", type=int_arg(1, MAX_JOBS, "a number of parallel compiles"),
                   help="nvcc processes at once on this machine (default: CPU count; about 6 GB of memory each)")
    p.add_argument("--ray-address", metavar="ADDR", type=str_arg("a Ray cluster address"),
                   help="run the compiles as tasks of this Ray cluster (auto, ray://HOST:PORT); every node needs "
                        "smem_tactics, nvcc, cuobjdump and the CUTLASS tree at the same paths; needs "
                        "pip install 'smem_tactics[ray]'")
    p.add_argument("--nvcc", metavar="PATH", type=str_arg("an nvcc path"), help="nvcc to use (default: PATH)")
    p.add_argument("--cuobjdump", metavar="PATH", type=str_arg("a cuobjdump path"),
                   help="cuobjdump to use (default: PATH, or next to nvcc)")
    p.add_argument("--timeout", type=float_arg(1, 24 * 3600, "seconds"), default=1800.0, metavar="S",
                   help="longest one compile may take (default 1800 s); a compile that takes longer is recorded "
                        "as failed")
    p.add_argument("--deadline", type=float_arg(1, 7 * 24 * 3600, "seconds"), metavar="S",
                   help="stop after S seconds, killing the compiles in flight; run again to resume")
    p.add_argument("--dry-run", action="store_true", help="list what would be compiled, compile nothing")
    p.set_defaults(func=run)


def _targets(text: str) -> list:
    from ..compile_facts import TARGETS

    out = []
    for t in csv_values("--targets", text, allowed="120a, 121a"):
        name = "sm_" + t.lower().replace("sm_", "").replace("sm", "")
        if name not in TARGETS:
            raise bad("--targets", t, "120a, 121a")
        if name not in out:
            out.append(name)
    return out


def _kernels(args, tree):
    """(candidates, CUTLASS version, what they are) of the set the flags name."""
    from ..emit.build import sample_evenly, space_candidates
    from ..tables import table_candidates

    if args.space:
        from ..synthesis import DEFAULT_SYNTHESIS_CUTLASS

        arch = args.space.split(":")[0].strip().lower()
        if arch not in ("sm120", "sm121"):
            raise bad("--space", args.space, "an SM12x arch: sm120:DTYPE or sm121:DTYPE",
                      "compile facts are recorded for SM120/SM121 kernels")
        version = tree.version if tree else str(DEFAULT_SYNTHESIS_CUTLASS)
        limit = args.limit_bytes or 101376
        cands = space_candidates(args.space, limit, version)
        what = f"synthesized space {args.space} under {limit} B"
    else:
        cands, version, count = table_candidates(args.tables, emitted_only=args.emitted)
        what = (f"every {'emitted ' if args.emitted else ''}candidate of {count} SM12x tactic tables "
                f"({args.tables or 'shipped'})")
    if args.kernels is not None:
        names = csv_values("--kernels", args.kernels, allowed="kernel names of the set (see --dry-run)")
        by_name = {c.name: c for c in cands}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise bad("--kernels", unknown[0], f"a kernel of the set ({len(by_name)} kernels; --dry-run lists them)",
                      "unknown kernel")
        cands = [by_name[n] for n in dict.fromkeys(names)]
        what += f", {len(cands)} named"
    if args.sample:
        cands = sample_evenly(cands, args.sample)
        what += f", {len(cands)} evenly spaced"
    if args.limit:
        cands = cands[: args.limit]
        what += f", the first {len(cands)}"
    return cands, version, what


def _executable(flag: str, path):
    if path is not None and not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise bad(flag, path, "an executable file")
    return path


def _sass_tools(cuobjdump) -> str:
    """cuobjdump, required; nvdisasm too (cuobjdump -sass runs it), put on PATH if found beside cuobjdump."""
    _executable("--cuobjdump", cuobjdump)
    hint = "the CUDA toolkit's bin/, or pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm"
    if cuobjdump is None:
        raise bad("--cuobjdump", "<not found>", f"a cuobjdump (PATH, next to nvcc, or --cuobjdump PATH): {hint}",
                  "without it the local memory, static shared memory and SASS are not read")
    if not (shutil.which("nvdisasm") or os.environ.get("NVDISASM_PATH")):
        beside = Path(cuobjdump).resolve().parent / "nvdisasm"
        if not beside.is_file():
            raise bad("nvdisasm", "<not found>", f"nvdisasm on PATH or beside cuobjdump: {hint}",
                      "cuobjdump -sass needs it to count the MMA instructions")
        os.environ["PATH"] = f"{beside.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # inherited by cuobjdump
    return cuobjdump


def _open_store(path: Path, header: dict):
    """The store at ``path``: its records if the file exists (checked, and of the same key and flags), else none."""
    from ..compile_driver import ResultStore
    from ..compile_facts import load_facts, render_facts

    records = []
    if path.exists():
        existing = load_facts(path)
        for key in ("family", "cutlass", "nvcc", "flags"):
            if existing.header[key] != header[key]:
                raise bad("--out", str(path), f"a facts file of {key} {header[key]!r} (this run's), or a new file",
                          f"it holds facts of {key} {existing.header[key]!r}")
        records = [r.record() for r in existing.records]
        header = dict(existing.header, **{k: v for k, v in header.items() if k not in existing.header})
    return ResultStore(path, records, key=lambda r: f"{r['name']} {r['target']}",
                       render=lambda recs: render_facts(header, recs))


def run(args) -> int:
    from cpp_bindings.trees import resolve_tree

    from ..compile_driver import Job, make_executor, run_jobs
    from ..compile_facts import SCHEMA, file_name, shipped_dir
    from ..emit.build import facts_job, find_tools, nvcc_release
    from ..emit.cutlass_tu import NVCC_FLAGS
    from ..progress import ProgressBar

    refuse_conflicts(args, ("tables", "space"), ("emitted", "space"), ("limit", "sample"), ("jobs", "ray_address"))
    if args.limit_bytes is not None and not args.space:
        require_together(args, "space", "limit_bytes")
    targets = _targets(args.targets)
    given = resolve_tree(args.cutlass) if args.cutlass else None
    cands, version, what = _kernels(args, given)
    tree = given or resolve_tree(None, version)
    if tree.version != version:
        raise bad("--cutlass", args.cutlass, f"a CUTLASS {version} tree (the release the kernels are pinned to)",
                  f"it is CUTLASS {tree.version}")
    nvcc, cuobjdump = find_tools(args.nvcc, args.cuobjdump)
    release, build = nvcc_release(_executable("--nvcc", nvcc))
    header = {"schema": SCHEMA, "family": "sm120", "cutlass": version, "nvcc": release,
              "flags": " ".join((*NVCC_FLAGS, *PTXAS_VERBOSE)),
              "about": "Compile facts of SM12x CUTLASS grouped GEMM kernels (smem-tactics compile-facts): per kernel "
                       "and target, what ptxas -v and cuobjdump report about cutlass::device_kernel<GemmKernel> of "
                       "the unit smem_tactics.emit writes. static_smem is cuobjdump's SHARED, which includes the "
                       "1024 B the system reserves per block. Regenerate, do not edit."}
    out = Path(args.out) if args.out else shipped_dir() / file_name("sm120", version, release)
    if out.is_dir():
        raise bad("--out", str(out), "a file path", "a directory")
    store = _open_store(out, header)
    wanted = {f"{c.name} {t}": (c, t) for c in cands for t in targets}
    todo = {}
    for key, (c, t) in wanted.items():
        rec = store.get(key)
        if rec is None or (args.retry_failed and not rec["ok"]):
            todo[key] = (c, t)
    executor = make_executor(args.jobs, args.ray_address)
    print(f"{len(cands)} kernels ({what}) x {len(targets)} target(s) = {len(wanted)} compiles; "
          f"{len(wanted) - len(todo)} already in {out}, {len(todo)} to run on {executor.describe()}; "
          f"CUTLASS {tree.version} from {tree.source}; nvcc {build} ({nvcc})", file=sys.stderr)
    if args.dry_run:
        for key in todo:
            print(key)
        return EXIT_OK
    cuobjdump = _sass_tools(cuobjdump)
    try:
        store.flush()  # a path that cannot be written fails now, not after the first compile
    except OSError as e:
        raise bad("--out", str(out), "a writable file path", e.strerror or str(e)) from None
    bar = ProgressBar(len(todo), "nvcc")
    failed = []

    def record(job: Job, rec: dict) -> None:
        if rec["nvcc_version"].rsplit(".", 1)[0] != release:
            raise bad("--ray-address", args.ray_address, f"nodes with nvcc {release} (this machine's)",
                      f"a node compiled with nvcc {rec['nvcc_version']}")
        rec["machine"] += f", {executor.describe()}"
        store.put(rec)
        if not rec["ok"]:
            failed.append(rec)
            print(f"\nFAILED {rec['name']} {rec['target']}: {rec['error']}", file=sys.stderr)
        bar.advance()

    jobs = [Job(key, facts_job, (c, list(tree.include_flags()), t, nvcc, cuobjdump, args.timeout))
            for key, (c, t) in todo.items()]
    start = time.monotonic()
    done = run_jobs(jobs, executor, on_result=record, deadline=args.deadline)
    wall = time.monotonic() - start
    left = len(jobs) - len(done)
    bad_before = [key for key in wanted if key not in todo and not store.get(key)["ok"]]
    print(f"\n{len(done) - len(failed)} compiled, {len(failed)} failed, {left} not run; {wall:.0f} s wall; "
          f"{len(store.records())} records in {out}", file=sys.stderr)
    if bad_before:
        print(f"{len(bad_before)} kernels recorded as failed earlier (--retry-failed compiles them again)",
              file=sys.stderr)
    if left:
        print(f"incomplete: the deadline stopped the run with {left} compiles left; run the same command again to "
              f"resume", file=sys.stderr)
    return EXIT_NEGATIVE if failed or left or bad_before else EXIT_OK
