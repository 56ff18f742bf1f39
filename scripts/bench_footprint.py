#!/usr/bin/env python3
"""Benchmark (not a test): how fast is ``footprint(config)``?

Three workloads of 100,000 evaluations each, timed with ``time.perf_counter`` after building the configs, each
both one ``footprint()`` call at a time and as one ``footprints()`` batch (which pauses the cyclic garbage
collector for the batch: with 100,000 live configs its full passes otherwise cost as much as the work):

* distinct: 100,000 *different* configurations (2,000+ tiles/dtypes/epilogues x stage counts), every cache
  cleared first -- the cost of a cold evaluation;
* search: a synthesizer-like sweep, stage counts 2..S for each config (the stage-free work is shared);
* repeat: the same 1,000 configurations asked 100 times each (what an autotuner plug-in does).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from smem_tactics.errors import UnsupportedConfigError  # noqa: E402
from smem_tactics.footprint import footprint, footprints  # noqa: E402
from smem_tactics.sampling import random_configs  # noqa: E402


def clear_caches() -> None:
    import smem_tactics.footprint as fpmod  # noqa: F401 -- module, for its caches
    from smem_tactics import legality
    from smem_tactics.layout import epilogue, mainloop, resolve

    mod = sys.modules["smem_tactics.footprint"]
    for fn in (mod._sm90_family_plan, mod._sm90_array_kernel_template, epilogue._epilogue_layout, mainloop._mainloop_shape,
               mainloop._stage_parametric_storage, resolve._resolve, legality._first_broken):
        fn.cache_clear()


def forget(configs) -> None:
    """Drop the answers kept on the config objects (and every cache) so the next pass computes them again."""
    for c in configs:
        c.__dict__.pop("_footprint", None)
    clear_caches()


def timed(configs) -> tuple:
    """One footprint() call per config, as a caller loop would make them."""
    t = time.perf_counter()
    ok = 0
    for cfg in configs:
        try:
            footprint(cfg)
            ok += 1
        except UnsupportedConfigError:
            pass
    return time.perf_counter() - t, ok


def timed_batch(configs) -> tuple:
    """One footprints() call for the whole list (the collector paused for the batch)."""
    t = time.perf_counter()
    out = footprints(configs, errors="keep")
    dt = time.perf_counter() - t
    return dt, sum(1 for x in out if not isinstance(x, Exception))


def report(label: str, configs) -> None:
    forget(configs)
    dt1, ok1 = timed(configs)
    forget(configs)
    dt2, ok2 = timed_batch(configs)
    assert ok1 == ok2
    n = len(configs)
    print(f"{label}: {n} evaluations ({ok1} accepted): one call each {dt1:.2f} s ({dt1 / n * 1e6:.1f} us); "
          f"footprints() batch {dt2:.2f} s ({dt2 / n * 1e6:.1f} us)")


def main() -> int:
    base = random_configs(3000, seed=11, archs=("sm90", "sm120"))
    distinct = []
    seen = set()
    for cfg in base:
        for s in range(2, 40):
            c = cfg.with_stages(s)
            if c not in seen:
                seen.add(c)
                distinct.append(c)
            if len(distinct) == 100_000:
                break
        if len(distinct) == 100_000:
            break
    for c in distinct:
        hash(c)  # hashing is part of building a config, not of evaluating it
    report("distinct configs, cold caches", distinct)
    search = [c.with_stages(s) for c in base[:1000] for s in range(2, 102)]
    for c in search:
        hash(c)
    report("search (1000 configs x 100 stage counts), cold caches", search)
    repeat = base[:1000] * 100
    forget(repeat)
    footprints(repeat[:1000], errors="keep")
    dt, _ = timed(repeat)
    print(f"repeat: {len(repeat)} evaluations of 1000 configs already answered: {dt:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
