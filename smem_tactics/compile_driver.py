"""One driver for the project's compiles: submit jobs, run them on a local pool or a Ray cluster, report progress,
and keep results in a resumable store.

Every compile the project runs goes through :func:`run_jobs`: the oracle's host-only probes
(:func:`cpp_bindings.probe.run_probe`, so ``smem-tactics verify`` and the table oracle), the emitted kernels' device
builds (:func:`smem_tactics.emit.build.build_all`, so ``scripts/compile_emitted.py``) and the compile facts
(``smem-tactics compile-facts``). A :class:`Job` is a module-level function and its arguments, so the same job runs
in a thread here or as a task on another machine; its result comes back to the caller, which alone writes files.

* :class:`LocalPool` (the default): ``workers`` jobs at once on this machine. The workers are threads because every
  job's work is a compiler *process* (nvcc, g++) that the thread only waits for: N jobs are N compilers in
  parallel, and the results need no pickling, so a job may close over a progress callback.
* :class:`RayPool` (``--ray-address``): each job is a Ray task of one CPU; Ray is an optional extra
  (``pip install 'smem_tactics[ray]'``), imported only here. Every node needs the compiler and the CUTLASS tree at
  the paths the jobs name.
* :class:`ResultStore`: a JSON file rewritten atomically after every result, so a killed run loses only the jobs in
  flight and the next run skips the keys it already holds.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, Tuple

from .contract import MAX_JOBS, bad, require_int, require_str

#: How to install the optional Ray extra (printed when --ray-address is given without Ray).
RAY_INSTALL = "pip install 'smem_tactics[ray]' (or pip install ray)"


@dataclass(frozen=True)
class Job:
    """One unit of work: ``func(*args)`` under a key unique within its run (the store's key)."""

    key: str
    func: Callable[..., Any]  # module-level, so a Ray worker can import it
    args: tuple = ()


class Cancelled(Exception):
    """Raised inside a job whose run was left early (an interrupt, a deadline): its result is not wanted."""


_current = threading.local()  # the LocalPool whose thread runs this job (run_process registers its processes there)


class LocalPool:
    """Run jobs on this machine, ``workers`` at once (see the module docstring for why threads)."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = require_int("--jobs", workers, 1, MAX_JOBS, "a number of parallel compiles")
        self._lock = threading.Lock()
        self._live: set = set()
        self._cancelled = False

    def describe(self) -> str:
        return f"local pool of {self.workers}"

    def _call(self, job: Job) -> Any:
        _current.pool = self
        try:
            return job.func(*job.args)
        finally:
            _current.pool = None

    def spawn(self, cmd: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start a process this pool kills when its run is left early (a job's compiler)."""
        with self._lock:
            if self._cancelled:
                raise Cancelled()
            proc = subprocess.Popen(list(cmd), start_new_session=True, **kwargs)
            self._live.add(proc)
            return proc

    def forget(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(proc)

    def _cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            live = list(self._live)
        for proc in live:  # the whole process group: nvcc's cicc and ptxas too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def run(self, jobs: Sequence[Job], stop_at: Optional[float] = None) -> Iterator[Tuple[Job, Any]]:
        """(job, result) as each finishes, until ``stop_at`` (a ``time.monotonic()`` instant). Leaving early (an
        interrupt, the deadline) cancels the jobs not started and kills the compilers of those running, so the
        process exits at once; their results are never yielded, so none is recorded as a failure."""
        self._cancelled = False
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers)
        futures = {pool.submit(self._call, job): job for job in jobs}
        try:
            timeout = None if stop_at is None else max(0.0, stop_at - time.monotonic())
            for fut in concurrent.futures.as_completed(futures, timeout=timeout):
                yield futures[fut], fut.result()
        except concurrent.futures.TimeoutError:
            return
        finally:
            self._cancel()
            pool.shutdown(wait=False, cancel_futures=True)


def run_process(cmd: Sequence[str], timeout: Optional[float] = None, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)`` for jobs: inside a :class:`LocalPool` the
    process (and its children) is killed when the pool's run is left early. Raises ``subprocess.TimeoutExpired``
    like ``subprocess.run``."""
    pool = getattr(_current, "pool", None)
    popen = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    proc = pool.spawn(cmd, **popen) if pool is not None else subprocess.Popen(list(cmd), **popen)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, pool is not None)
            proc.communicate()
            raise
    finally:
        if pool is not None:
            pool.forget(proc)
    if pool is not None and pool._cancelled:
        raise Cancelled()
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen, own_group: bool) -> None:
    try:
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


def _import_ray(address: str):
    try:
        import ray  # noqa: PLC0415 -- optional extra, imported only on this path
    except ImportError:
        raise bad("--ray-address", address, f"an address of a running Ray cluster, with Ray installed: {RAY_INSTALL}",
                  "Ray is not installed") from None
    return ray


class RayPool:
    """Run jobs as tasks of a Ray cluster (one CPU each). ``address``: ``auto``, ``ray://host:10001``, or
    ``local`` to start a Ray instance on this machine (for a trial)."""

    name = "ray"

    def __init__(self, address: str, ray_module: Any = None):
        self.address = require_str("--ray-address", address, "a Ray cluster address (auto, ray://HOST:PORT, local)")
        self.ray = ray_module if ray_module is not None else _import_ray(self.address)

    def describe(self) -> str:
        return f"Ray cluster at {self.address}"

    def run(self, jobs: Sequence[Job], stop_at: Optional[float] = None) -> Iterator[Tuple[Job, Any]]:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(address=None if self.address == "local" else self.address, ignore_reinit_error=True)
        remote: dict = {}
        refs: dict = {}
        for job in jobs:
            if job.func not in remote:
                remote[job.func] = ray.remote(num_cpus=1)(job.func)
            refs[remote[job.func].remote(*job.args)] = job
        pending = list(refs)
        try:
            while pending:
                timeout = None if stop_at is None else stop_at - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return
                done, pending = ray.wait(pending, num_returns=1, timeout=timeout)
                for ref in done:
                    yield refs[ref], ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref)


def make_executor(jobs: Optional[int] = None, ray_address: Optional[str] = None):
    """:class:`RayPool` when a Ray address is given, else a :class:`LocalPool` of ``jobs`` (default: CPU count)."""
    if ray_address is not None:
        return RayPool(ray_address)
    return LocalPool(jobs if jobs is not None else max(1, os.cpu_count() or 1))


class ResultStore:
    """Records of a run in one JSON file, keyed by ``key(record)``; the file is rewritten (to a temporary file, then
    renamed over the old one) after every :meth:`put`, so it is always a whole document.

    ``render(records) -> text`` writes the document; the caller reads and checks an existing file and passes its
    records in, so the store knows nothing of their schema."""

    def __init__(self, path: "str | os.PathLike", records: Iterable[dict], key: Callable[[dict], str],
                 render: Callable[[list], str]):
        self.path = Path(path)
        self.key = key
        self.render = render
        self._records: Dict[str, dict] = {}
        for r in records:
            self._records[key(r)] = r

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def get(self, key: str) -> Optional[dict]:
        return self._records.get(key)

    def records(self) -> list:
        return list(self._records.values())

    def put(self, record: dict) -> None:
        self._records[self.key(record)] = record
        self.flush()

    def flush(self) -> None:
        text = self.render(self.records())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)


def run_jobs(jobs: Sequence[Job], executor=None, on_result: Optional[Callable[[Job, Any], None]] = None,
             deadline: Optional[float] = None) -> Dict[str, Any]:
    """Run ``jobs`` on ``executor`` (default: a local pool of the CPU count); ``{key: result}``.

    ``on_result(job, result)`` runs here, in the caller's thread, as each job finishes (write it to a store, advance
    a progress bar). ``deadline`` (seconds from now): stop taking results then; the jobs not finished are left out
    of the answer and their compilers killed (a resumable caller runs them next time). An interrupt does the same
    before it propagates. Duplicate keys are a bug of the caller."""
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"run_jobs: job key {dup!r} given twice")
    executor = executor or make_executor()
    stop_at = None if deadline is None else time.monotonic() + deadline
    results: Dict[str, Any] = {}
    if not jobs:
        return results
    stream = executor.run(list(jobs), stop_at)
    try:
        for job, result in stream:
            results[job.key] = result
            if on_result is not None:
                on_result(job, result)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return results


__all__ = ["Job", "Cancelled", "LocalPool", "RayPool", "ResultStore", "make_executor", "run_jobs", "run_process",
           "RAY_INSTALL"]
