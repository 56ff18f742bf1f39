"""Compile facts: the loader (exact fields, bad files refused naming the field, unknown kernels unknown), the shipped
file, the compile driver (local pool, a stand-in executor, Ray's API through a stand-in, deadlines, the resumable
store), the compile-facts command end to end with stand-in nvcc/cuobjdump (resume, failures recorded and not
retried, --retry-failed, bad input), and the display in `table` and `footprint`. No real compile here: the one CI
device compile is tests/test_emit.py::test_device_compile_sample, which also checks the shipped facts."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smem_tactics import compile_facts as cf
from smem_tactics.cli import main
from smem_tactics.compile_driver import Job, LocalPool, RayPool, ResultStore, run_jobs, run_process
from smem_tactics.config import KernelConfig
from smem_tactics.errors import ConfigError
from smem_tactics.tables import shipped_dir as tables_dir
from smem_tactics.tables import table_candidates

from fake_cuda_tools import install as install_fake_tools

ROOT = Path(__file__).resolve().parent.parent
#: The shipped table the command tests compile from (one table keeps candidate loading fast).
TABLE = "rtx-5090__qwen3-30b-a3b__nvfp4"


def _record(name, target="sm_120a", ok=True, registers=168, **kw):
    r = {"name": name, "target": target, "ok": ok, "registers": registers if ok else None,
         "spill_stores": 0 if ok else None, "spill_loads": 0 if ok else None, "stack_frame": 0 if ok else None,
         "local_bytes": 0 if ok else None, "static_smem": 1024 if ok else None, "mma_instructions": 64 if ok else None,
         "compile_seconds": 61.5, "error": None if ok else "static assertion failed", "total_bytes": 78848,
         "stages": 2, "nvcc_version": "13.0.88", "machine": "x86_64, 2 CPUs, local pool of 2"}
    r.update(kw)
    return r


def _doc(records, **header):
    doc = {"schema": 1, "family": "sm120", "cutlass": "4.5.0", "nvcc": "13.0", "flags": "-std=c++17 -Xptxas -v",
           "records": records}
    doc.update(header)
    return doc


def _write(tmp_path, doc, name="facts.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


# ---------------------------------------------------------------------------------------------------- loader


def test_facts_are_found_by_name_candidate_and_config(tmp_path):
    cands, _, _ = table_candidates()
    swap = next(c for c in cands if c.swap_ab and c.name.startswith("sm120"))
    plain = next(c for c in cands if not c.swap_ab and c.name.startswith("sm121"))
    facts = cf.load_facts(_write(tmp_path, _doc([_record(swap.name, registers=119),
                                                 _record(plain.name, registers=200, spill_stores=8, spill_loads=12),
                                                 _record(plain.name, target="sm_121a", registers=201)])))
    src = [facts]
    assert cf.facts_for(swap.name, "4.5.0", sources=src).registers == 119
    assert cf.facts_for(swap, "4.5.0", sources=src).registers == 119
    # a config's name lacks the swap-AB suffix; its unit is the same C++ (see _names_of)
    assert cf.facts_for(swap.config, "4.5.0", sources=src).registers == 119
    # an sm121 kernel: its own target first, sm_120a on request
    f = cf.facts_for(plain, "4.5.0", sources=src)
    assert (f.target, f.registers) == ("sm_121a", 201)
    f = cf.facts_for(plain, "4.5.0", target="sm_120a", sources=src)
    assert (f.registers, f.spill_bytes) == (200, 20)
    assert f.describe() == ("registers per thread: 200 (sm_120a, nvcc 13.0, CUTLASS 4.5.0), spills: 8 B stored, "
                            "12 B loaded per thread")
    assert cf.facts_for(swap, "4.5.0", sources=src).describe() == \
        "registers per thread: 119 (sm_120a, nvcc 13.0, CUTLASS 4.5.0), spills: 0 B"
    # other CUTLASS or nvcc releases, and kernels never compiled: unknown, never guessed
    assert cf.facts_for(swap, "4.4.2", sources=src) is None
    assert cf.facts_for(swap, "4.5.0", nvcc="12.9", sources=src) is None
    other = next(c for c in cands if c.name not in (swap.name, plain.name))
    assert cf.facts_for(other, "4.5.0", sources=src) is None
    cfg = KernelConfig.create("sm120", "nvfp4", tile="CtaShape128x256x64B", cutlass="4.5.0")
    assert cf.facts_for(cfg, "4.5.0", sources=src) is None


def test_newest_nvcc_wins_and_a_failed_compile_is_a_fact(tmp_path):
    old = cf.load_facts(_write(tmp_path, _doc([_record("k1", registers=100, nvcc_version="12.9.86")], nvcc="12.9"),
                               "a.json"))
    new = cf.load_facts(_write(tmp_path, _doc([_record("k1", registers=110),
                                               _record("k2", ok=False, error="nvcc timed out after 1800 s")]),
                               "b.json"))
    assert cf.facts_for("k1", "4.5.0", sources=[old, new]).registers == 110
    assert cf.facts_for("k1", "4.5.0", nvcc="12.9", sources=[old, new]).registers == 100
    failed = cf.facts_for("k2", "4.5.0", sources=[old, new])
    assert failed.ok is False and failed.registers is None
    assert failed.describe() == "registers unknown: the compile failed (sm_120a, nvcc 13.0, CUTLASS 4.5.0): nvcc " \
                                "timed out after 1800 s"
    assert failed.summary()["known"] is False


@pytest.mark.parametrize("mutate, field, detail", [
    (lambda d: d["records"][0].pop("registers"), "records[0].registers", "missing field"),
    (lambda d: d["records"][0].update(registers="168"), "records[0].registers", "a str"),
    (lambda d: d["records"][0].update(registers=True), "records[0].registers", "a bool"),
    (lambda d: d["records"][0].update(spill_loads=-4), "records[0].spill_loads", "negative"),
    (lambda d: d["records"][0].update(ok="yes"), "records[0].ok", "a str"),
    (lambda d: d["records"][0].update(registers=None), "records[0].registers", "null"),
    (lambda d: d["records"][0].update(target="sm_90a"), "records[0].target", "sm_90a"),
    (lambda d: d["records"][0].update(colour="red"), "records[0].colour", "unknown field"),
    (lambda d: d["records"][0].update(nvcc_version="12.8.93"), "records[0].nvcc_version", "12.8.93"),
    (lambda d: d["records"].append(dict(d["records"][0])), "records[1]", "given twice"),
    (lambda d: d["records"].append(_record("k9", ok=False, error="")), "records[1].error", "empty"),
    (lambda d: d.pop("cutlass"), "cutlass", "missing field"),
    (lambda d: d.update(records={}), "records", "a dict"),
    (lambda d: d.update(schema=2), "schema", "another smem_tactics"),
    (lambda d: d.update(nvcc="13"), "nvcc", "MAJOR.MINOR"),
    (lambda d: d.update(cutlass="9.9.9"), "cutlass", "9.9.9"),
])
def test_bad_files_are_refused_naming_the_field(tmp_path, mutate, field, detail):
    doc = _doc([_record("k1")])
    mutate(doc)
    with pytest.raises(ConfigError) as e:
        cf.load_facts(_write(tmp_path, doc))
    msg = str(e.value)
    assert msg.startswith(f"facts.json: {field}") and detail in msg, msg


def test_unreadable_files_are_refused(tmp_path):
    p = tmp_path / "facts.json"
    p.write_text("{oops")
    with pytest.raises(ConfigError, match="malformed JSON"):
        cf.load_facts(p)
    with pytest.raises(ConfigError, match="No such file"):
        cf.load_facts(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="kernel"):
        cf.facts_for(3.5, "4.5.0", sources=[])
    with pytest.raises(ConfigError, match="target"):
        cf.facts_for("k", "4.5.0", target="sm_90a", sources=[])


def test_render_round_trips_one_record_per_line(tmp_path):
    doc = _doc([_record("b"), _record("a"), _record("a", target="sm_121a")], about="x")
    text = cf.render_facts({k: v for k, v in doc.items()}, doc["records"])
    lines = text.splitlines()
    assert [json.loads(line.rstrip(","))["name"] for line in lines if line.startswith('  {"name"')] == ["a", "a", "b"]
    p = tmp_path / "r.json"
    p.write_text(text)
    assert {(r.name, r.target) for r in cf.load_facts(p).records} == {("a", "sm_120a"), ("a", "sm_121a"),
                                                                     ("b", "sm_120a")}


def test_shipped_facts_are_exact_records_of_shipped_candidates():
    """The shipped files (from `smem-tactics compile-facts`) hold real compiles of synthesized candidates: each
    record names a candidate of its CUTLASS release, its footprint equals the model's, and a compiled kernel has
    registers and MMA instructions in its SASS. 4.5.0: the tables' release; 4.7.0: the kernels of the published
    RTX 5090 tile sweep (kekzl/imp#1842), which the SM12x fit uses."""
    from smem_tactics.measurements import load_measurements
    from smem_tactics.synthesis import synthesize

    files = {f.cutlass: f for f in cf.shipped_facts()}
    assert sorted(f.path for f in files.values()) == ["sm120_cutlass-4.5.0_nvcc-13.0.json",
                                                      "sm120_cutlass-4.7.0_nvcc-13.0.json"]
    for version, f in files.items():
        cands = {c.name: c for c in table_candidates()[0]} if version == "4.5.0" else {}
        for arch in ("sm120", "sm121"):  # a kernel the tables no longer keep is still a synthesized candidate
            for dtype in ("nvfp4", "mxfp8xmxfp4"):
                cands.update({c.name: c for c in synthesize(arch, dtype, 101376, cutlass=version)})
        assert f.records
        for r in f.records:
            c = cands[r.name]
            assert (r.total_bytes, r.stages) == (c.total_bytes, c.stages)
            assert r.ok and 0 < r.registers <= 255 and r.mma_instructions > 0 and r.nvcc_version.startswith("13.0.")
            assert r.spill_stores is not None and r.stack_frame is not None and r.static_smem is not None
    measured = {m.candidate().name for m in load_measurements().records if m.has_kernel}
    assert measured and measured <= {r.name for r in files["4.7.0"].records}


def test_every_shipped_table_candidate_has_facts():
    """Issue 9's bar: every candidate of the shipped SM12x tables has sm_120a facts, and every kernel they emit
    also sm_121a facts (the emitted compile summary is written from them)."""
    keys = {k for f in cf.shipped_facts() for k in f.by_kernel}
    assert all((c.name, "sm_120a") in keys for c in table_candidates()[0])
    assert all((c.name, "sm_121a") in keys for c in table_candidates(emitted_only=True)[0])


# ---------------------------------------------------------------------------------------------------- driver


def _square(x):
    return x * x


def _sleep_in_a_process(seconds):
    return run_process([sys.executable, "-c", f"import time; time.sleep({seconds})"]).returncode


class SerialExecutor:
    """A stand-in executor: runs jobs one by one in this thread (the dispatcher must not care which executor)."""

    name = "serial"

    def __init__(self):
        self.ran = []

    def describe(self):
        return "serial stand-in"

    def run(self, jobs, stop_at=None):
        for job in jobs:
            self.ran.append(job.key)
            yield job, job.func(*job.args)


def test_run_jobs_on_the_local_pool_and_a_stand_in_executor():
    jobs = [Job(str(i), _square, (i,)) for i in range(7)]
    seen = []
    assert run_jobs(jobs, LocalPool(3), on_result=lambda j, r: seen.append(j.key)) == {str(i): i * i for i in range(7)}
    assert sorted(seen, key=int) == [str(i) for i in range(7)]
    serial = SerialExecutor()
    assert run_jobs(jobs, serial) == {str(i): i * i for i in range(7)}
    assert serial.ran == [str(i) for i in range(7)]
    with pytest.raises(ValueError, match="given twice"):
        run_jobs([Job("a", _square, (1,)), Job("a", _square, (2,))], serial)
    with pytest.raises(ConfigError, match="--jobs"):
        LocalPool(0)


def test_deadline_kills_the_compilers_in_flight():
    start = time.monotonic()
    results = run_jobs([Job("fast", _square, (3,)), Job("slow", _sleep_in_a_process, (60,))], LocalPool(2),
                       deadline=1.0)
    assert results == {"fast": 9}
    assert time.monotonic() - start < 10  # the 60 s process was killed, not waited for


class FakeRay:
    """Ray's task API as the driver uses it (ray.init, ray.is_initialized, ray.remote(num_cpus=...)(f).remote(*args),
    ray.wait(refs, *, num_returns=1, timeout=None) -> (ready, not_ready), ray.get, ray.cancel), from the API reference
    docs.ray.io/en/latest/ray-core/api/doc/ray.wait.html and ray.get.html and ray-project/ray
    python/ray/_private/worker.py at commit 004a39064004de15dc24e98bb52efb1c64b6765e. Tasks finish in reverse
    submission order, as a cluster may finish them."""

    def __init__(self):
        self.initialized_with = None
        self.options = []
        self.cancelled = []

    def is_initialized(self):
        return self.initialized_with is not None

    def init(self, address=None, ignore_reinit_error=False):
        self.initialized_with = address

    def remote(self, **options):
        self.options.append(options)
        ray = self

        class RemoteFunction:
            def __init__(self, func):
                self.func = func

            def remote(self, *args):
                return ("ref", len(ray.options), self.func(*args), object())

        return RemoteFunction

    def wait(self, refs, *, num_returns=1, timeout=None, fetch_local=True):
        assert num_returns == 1
        return [refs[-1]], list(refs[:-1])

    def get(self, ref):
        return ref[2]

    def cancel(self, ref):
        self.cancelled.append(ref)


def test_ray_pool_submits_tasks_and_collects_them_as_they_finish():
    fake = FakeRay()
    pool = RayPool("auto", ray_module=fake)
    jobs = [Job(str(i), _square, (i,)) for i in range(4)]
    order = []
    assert run_jobs(jobs, pool, on_result=lambda j, r: order.append(j.key)) == {str(i): i * i for i in range(4)}
    assert fake.initialized_with == "auto" and fake.options == [{"num_cpus": 1}]
    assert order == ["3", "2", "1", "0"]


def test_ray_address_without_ray_names_the_install_command(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, whether or not it is installed
    with pytest.raises(ConfigError, match=r"pip install 'smem_tactics\[ray\]'"):
        RayPool("auto")
    tools = install_fake_tools(tmp_path / "bin")
    code = main(["compile-facts", "--tables", str(_one_table(tmp_path)), "--nvcc", tools["nvcc"], "--ray-address",
                 "auto", "--out", str(tmp_path / "f.json")])
    assert code == 2 and "Ray is not installed" in capsys.readouterr().err


def test_result_store_rewrites_a_whole_file_after_every_result(tmp_path):
    path = tmp_path / "store.json"
    render = lambda recs: json.dumps(sorted(recs, key=lambda r: r["k"]))  # noqa: E731
    store = ResultStore(path, [], key=lambda r: r["k"], render=render)
    store.put({"k": "a", "v": 1})
    store.put({"k": "b", "v": 2})
    assert json.loads(path.read_text()) == [{"k": "a", "v": 1}, {"k": "b", "v": 2}]
    again = ResultStore(path, json.loads(path.read_text()), key=lambda r: r["k"], render=render)
    assert "a" in again and "c" not in again and again.get("b") == {"k": "b", "v": 2}
    assert not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------------------------------------------- command


def _one_table(tmp_path):
    d = tmp_path / "tables"
    if not d.is_dir():
        d.mkdir()
        shutil.copy(tables_dir() / f"{TABLE}.json", d)
    return d


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    tools = install_fake_tools(tmp_path / "bin")
    log = tmp_path / "compiles.log"
    monkeypatch.setenv("FAKE_NVCC_LOG", str(log))
    monkeypatch.delenv("FAKE_NVCC_FAIL", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")  # nvdisasm
    base = ["compile-facts", "--tables", str(_one_table(tmp_path)), "--nvcc", tools["nvcc"], "--cuobjdump",
            tools["cuobjdump"], "--out", str(tmp_path / "facts.json"), "--jobs", "2"]

    def compiles():
        n = len(log.read_text().splitlines()) if log.exists() else 0
        log.write_text("")
        return n

    return base, compiles, tmp_path / "facts.json"


def test_command_records_facts_and_resumes(fake_env, capsys, monkeypatch):
    base, compiles, out = fake_env
    names = sorted(json.loads((tables_dir() / f"{TABLE}.json").read_text())["candidates"])[:3]
    two = ",".join(names[:2])
    assert main(base + ["--kernels", two]) == 0
    assert compiles() == 2
    facts = cf.load_facts(out)
    assert {r.name for r in facts.records} == set(names[:2])
    r = facts.records[0]
    assert (r.ok, r.registers, r.spill_stores, r.spill_loads, r.stack_frame, r.local_bytes, r.static_smem,
            r.mma_instructions, r.nvcc_version) == (True, 119, 0, 0, 0, 0, 1024, 3, "13.0.88")
    assert "local pool of 2" in r.machine and facts.header["cutlass"] == "4.5.0" and "-Xptxas -v" in facts.flags
    # the same command again: nothing to compile
    assert main(base + ["--kernels", two]) == 0
    assert compiles() == 0
    assert "2 already in" in capsys.readouterr().err
    # a third kernel whose compile fails: recorded with the compiler's message, exit 1
    monkeypatch.setenv("FAKE_NVCC_FAIL", names[2])
    assert main(base + ["--kernels", ",".join(names)]) == 1
    assert compiles() == 1
    failed = cf.facts_for(names[2], "4.5.0", sources=[cf.load_facts(out)])
    assert failed.ok is False and "SharedStorage differs" in failed.error
    assert "FAILED " + names[2] in capsys.readouterr().err
    # not retried unless asked (and still a failure of the set)
    monkeypatch.delenv("FAKE_NVCC_FAIL")
    assert main(base + ["--kernels", ",".join(names)]) == 1
    assert compiles() == 0
    assert "recorded as failed earlier" in capsys.readouterr().err
    assert main(base + ["--kernels", ",".join(names), "--retry-failed"]) == 0
    assert compiles() == 1
    assert cf.facts_for(names[2], "4.5.0", sources=[cf.load_facts(out)]).registers == 119
    # a second target is new work for every kernel
    assert main(base + ["--kernels", two, "--targets", "120a,sm_121a"]) == 0
    assert compiles() == 2
    assert len(cf.load_facts(out).records) == 5


def test_command_deadline_keeps_what_finished(fake_env, capsys, monkeypatch):
    base, compiles, out = fake_env
    monkeypatch.setenv("FAKE_NVCC_SLEEP", "30")
    start = time.monotonic()
    assert main(base + ["--limit", "2", "--deadline", "1"]) == 1
    assert time.monotonic() - start < 15
    assert "incomplete" in capsys.readouterr().err
    assert cf.load_facts(out).records == ()  # a whole file, with no half-compiled kernel in it


def test_command_bad_input(fake_env, capsys, tmp_path):
    base, compiles, out = fake_env
    cases = [
        (["--limit", "1", "--sample", "1"], "--limit / --sample"),
        (["--kernels", "sm120_no_such_kernel"], "unknown kernel"),
        (["--kernels", ","], "--kernels"),
        (["--targets", "90a"], "--targets"),
        (["--space", "sm120:nvfp4"], "--tables / --space"),
        (["--limit-bytes", "1000"], "--space"),
        (["--cutlass", str(tmp_path / "nowhere")], "does not exist"),
        (["--jobs", "0"], "--jobs"),
    ]
    for extra, needle in cases:
        assert main(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and "Traceback" not in err, (extra, err)
    untabled = base[:1] + base[3:]
    for extra, needle in ((["--space", "sm90:fp8"], "SM12x arch"), (["--space", "sm120"], "ARCH:DTYPE"),
                          (["--space", "sm120:nvfp9"], "nvfp9")):
        assert main(untabled + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err, (extra, err)
    assert compiles() == 0
    # an --out of another CUTLASS release, or a broken one, is refused before compiling
    out.write_text(json.dumps(_doc([], cutlass="4.4.2")))
    assert main(base + ["--limit", "1"]) == 2
    assert "cutlass '4.4.2'" in capsys.readouterr().err
    out.write_text(json.dumps(_doc([_record("k", registers="many")])))
    assert main(base + ["--limit", "1"]) == 2
    assert "records[0].registers" in capsys.readouterr().err
    # a CUTLASS tree of another release than the kernels'
    from cpp_bindings.trees import installed_trees

    other = next(t for t in installed_trees() if t.version != "4.5.0")
    out.unlink()
    assert main(base + ["--limit", "1", "--cutlass", str(other.include)]) == 2
    assert f"it is CUTLASS {other.version}" in capsys.readouterr().err
    assert compiles() == 0


def test_command_without_cuobjdump_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    tools = install_fake_tools(tmp_path / "bin")
    os.remove(tools["cuobjdump"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert main(["compile-facts", "--tables", str(_one_table(tmp_path)), "--nvcc", tools["nvcc"], "--limit", "1",
                 "--out", str(tmp_path / "f.json")]) == 2
    assert "pip install nvidia-cuda-cuobjdump" in capsys.readouterr().err


def test_dry_run_lists_every_candidate_of_the_shipped_tables(capsys, tmp_path):
    tools = install_fake_tools(tmp_path / "bin")
    assert main(["compile-facts", "--dry-run", "--nvcc", tools["nvcc"], "--out", str(tmp_path / "f.json")]) == 0
    listed = capsys.readouterr().out.split()
    names = {c.name for c in table_candidates()[0]}
    assert len(names) >= 80 and set(listed[0::2]) == names and set(listed[1::2]) == {"sm_120a"}


# ---------------------------------------------------------------------------------------------------- display


@pytest.fixture
def known_facts(tmp_path, monkeypatch):
    """Shipped facts replaced by a file that knows the first two candidates of TABLE, one of them failed."""
    names = sorted(json.loads((tables_dir() / f"{TABLE}.json").read_text())["candidates"])
    facts = cf.load_facts(_write(tmp_path, _doc([_record(names[0], registers=177, spill_stores=4, spill_loads=8),
                                                 _record(names[1], ok=False)])))
    monkeypatch.setattr(cf, "shipped_facts", lambda: (facts,))
    return names[:2]


def test_table_rows_show_registers_or_say_unknown(known_facts, capsys):
    assert main(["table", "--gpu", "rtx-5090", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4", "--no-png"]) == 0
    out = capsys.readouterr().out
    assert "regs  spill B" in out
    assert "registers / spill B: compile facts of 1 of" in out and "'?' = registers unknown" in out
    t = json.loads((tables_dir() / f"{TABLE}.json").read_text())
    short = {n: c["short"] for n, c in t["candidates"].items()}
    rows = [line for line in out.splitlines() if short[known_facts[0]] + "  " in line]  # not its swapAB twin
    assert rows and all(" 177 " in r and " 12 " in r for r in rows)
    failed_rows = [line for line in out.splitlines() if short[known_facts[1]] + "  " in line]
    assert failed_rows and all(" failed " in r for r in failed_rows)
    assert any(" ? " in line for line in out.splitlines())
    assert main(["table", "--gpu", "rtx-5090", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4", "--no-png",
                 "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    known = table["candidates"][known_facts[0]]["compile_facts"]
    assert known["known"] is True and known["registers"] == 177 and known["target"] == "sm_120a"
    other = next(n for n in table["candidates"] if n not in known_facts)
    assert table["candidates"][other]["compile_facts"] == cf.unknown_summary(other, "4.5.0")
    rows = [e for s in table["sections"] for e in s["ranked"]]
    assert {(e["registers"], e["spill_bytes"]) for e in rows if e["candidate"] == known_facts[0]} == {(177, 12)}
    assert all(e["registers"] is None for e in rows if e["candidate"] not in (known_facts[0],))


def test_markdown_rows_carry_registers(known_facts):
    from smem_tactics.tables import annotate_compile_facts, load_table, markdown

    md = markdown(annotate_compile_facts(load_table(tables_dir() / f"{TABLE}.json", cutlass="4.5.0")))
    assert "| regs | spill B |" in md and "| 177 | 12 |" in md and "| ? | ? |" in md


def test_footprint_shows_shipped_registers_or_unknown(capsys):
    rec = cf.shipped_facts()[0].records[0]
    cand = next(c for c in table_candidates()[0] if c.name == rec.name)
    cfg = json.dumps(cand.config.to_dict())
    assert main(["footprint", "--config", cfg, "--gpu", "gb10"]) == 0
    out = capsys.readouterr().out
    want = rec.describe()
    assert want.startswith(f"registers per thread: {rec.registers} (sm_120a, nvcc 13.0, CUTLASS 4.5.0), spills: ")
    assert want in out
    assert main(["footprint", "--config", cfg, "--gpu", "gb10", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert ans["compile_facts"]["registers"] == rec.registers and ans["compile_facts"]["known"] is True
    # the same config under another release, and a config nobody compiled: unknown
    assert main(["footprint", "--arch", "sm120", "--a", "nvfp4", "--tile", "128x128x128", "--gpu", "gb10"]) == 0
    assert "registers per thread: unknown (no compile facts for sm120_nvfp4_128x128x128" in capsys.readouterr().out
    # not an SM12x kernel: no registers line (the facts are SM12x only)
    assert main(["footprint", "--arch", "sm90", "--a", "e4m3", "--tile", "128x128x128", "--gpu", "h100"]) == 0
    assert "registers" not in capsys.readouterr().out


def test_import_stays_light():
    code = ("import sys, smem_tactics.compile_facts, smem_tactics.compile_driver; "
            "print(any(m in sys.modules for m in ('ray', 'torch', 'triton', 'flashinfer')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT))).stdout.strip() == "False"
