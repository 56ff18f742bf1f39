"""Which kernels to build for the benchmark, and what the cost model predicts for them (pure Python).

Contender (c) comes from the synthesizer and the cost model, as the project would ship it: for every scenario,
``smem_tactics.synthesis.synthesize("sm90", dtype, 101376, cutlass="4.2.0", problem=...)`` (C = void, cluster 1x1,
the SM12x proxy's constraints) ranked by ``smem_tactics.cost.rank`` on the proxy GPU (H100 facts with SM12x's
shared memory); the top ``top`` of every scenario are built. Every capped kernel built ((b) and (c)) is then
measured on every scenario of its dtype, which is what the model's ranking is judged against.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence

from ..config import KernelConfig
from ..errors import ConfigError
from ..verdict import max_fitting_stages
from ..footprint import footprint
from .contenders import (SM12X_BLOCK_LIMIT, SM12X_SM_LIMIT, dedupe, dtype_of, is_swap_ab, short_name,
                         trtllm_capped, unconstrained)
from .scenarios import Scenario

#: The CUTLASS release the extension is compiled against (the nvidia-cutlass 4.2.0.0 wheel's headers).
BUILD_CUTLASS = "4.2.0"
#: The synthesis epilogue variants contender (c) may use: both have C = void, as the benchmark's kernels do
#: (``no_smem`` stores from registers and gives the epilogue's shared memory to the mainloop).
SYNTH_EPILOGUES = ("void_c", "no_smem")
#: smem_tactics.synthesis recipe names of the benchmark dtypes.
RECIPE = {"e4m3": "fp8", "bf16": "bf16"}


def proxy_gpu(base: str = "h100"):
    """The GPU facts the cost model sees for the SM12x proxy: the card's, with SM12x's shared memory."""
    from ..devices import gpu_facts

    return dataclasses.replace(gpu_facts(base), smem_per_sm=SM12X_SM_LIMIT, smem_per_block_optin=SM12X_BLOCK_LIMIT)


def problem_of(s: Scenario):
    """The cost model's problem for a scenario: its N, K and the measured rows of every active expert."""
    from ..problems import Problem

    return Problem.explicit(n=s.n, k=s.k, group_rows=[c for c in s.counts if c], label=s.key)


def candidate_of(cfg: KernelConfig, limit: int = SM12X_BLOCK_LIMIT):
    """A config of ours as a synthesis Candidate (what ``rank`` takes)."""
    from ..synthesis import Candidate

    pingpong = cfg.kernel_schedule.is_pingpong
    epilogue = "no_smem" if cfg.epilogue_schedule.no_smem else "void_c"
    return Candidate(cfg, is_swap_ab(cfg), RECIPE[dtype_of(cfg)], epilogue, "pingpong" if pingpong else "cooperative",
                     limit, 1, footprint(cfg))


def unbuildable(cfg: KernelConfig) -> Optional[str]:
    """Why the extension cannot build ``cfg`` although the synthesizer proposes it (None if it can).

    Seen on the device builds (nvcc 13.0, CUTLASS 4.2.0 headers, H100 runs of this benchmark): SM90 kernels with
    tile N = 8 fail to compile with ``static assertion failed with "Shape Divisibility Condition"`` while
    CollectiveMma slices its shared-memory layout -- for bf16 with either schedule (cooperative 128x8x32 s11,
    128x8x64 s5, 256x8x32 s5; pingpong 128x8x64 s5) and for e4m3 with the pingpong schedule (128x8x128 s5).
    e4m3 cooperative N = 8 tiles (128x8x128, 128x8x64, 256x8x64) compile and pass the checks. The host-only oracle
    does not instantiate kernel bodies, so it cannot see this.
    """
    if cfg.arch.family.value == "sm90" and cfg.tile[1] == 8 and (cfg.kernel_schedule.is_pingpong
                                                                 or cfg.a.value == "bf16"):
        return ("SM90 tile N = 8 does not compile for bf16, nor for e4m3 with the pingpong schedule "
                "(Shape Divisibility Condition in CollectiveMma; CUTLASS 4.2.0)")
    return None


def synthesized(s: Scenario, limit: int = SM12X_BLOCK_LIMIT) -> list:
    """The synthesizer's candidates for a scenario, less those the extension cannot build (:func:`unbuildable`)."""
    from ..synthesis import synthesize

    cands = synthesize("sm90", RECIPE[s.dtype], limit, cutlass=BUILD_CUTLASS, problem=problem_of(s),
                       clusters=[(1, 1, 1)], epilogues=SYNTH_EPILOGUES)
    return [c for c in cands if unbuildable(c.config) is None]


def ranked(s: Scenario, candidates: Sequence, gpu=None) -> list:
    from ..cost import rank

    return rank(problem_of(s), gpu if gpu is not None else proxy_gpu(), list(candidates))


def epilogue_twin(cfg: KernelConfig, limit: int = SM12X_BLOCK_LIMIT) -> Optional[KernelConfig]:
    """The same kernel with the other C = void epilogue (TMA-staged ``auto`` <-> ``PtrArrayNoSmemWarpSpecialized``)
    and the largest stage count that then fits ``limit``; None if none fits or the extension cannot build it."""
    from ..config import EpilogueSchedule

    other = EpilogueSchedule.AUTO if cfg.epilogue_schedule.no_smem else EpilogueSchedule.PTR_ARRAY_NO_SMEM
    twin = cfg.replace(epilogue_schedule=other, stages=2)
    stages = max_fitting_stages(twin, limit)
    if stages is None:
        return None
    twin = twin.with_stages(stages)
    return twin if unbuildable(twin) is None else None


#: Which scenarios' picks get an epilogue twin built (``select(twins=...)``).
TWIN_MODES = ("none", "prefill", "all")


def select(scenarios: Iterable[Scenario], top: int = 3, gpu=None, twins: str = "none") -> dict:
    """Per dtype: the kernels to build for (a), (b) and (c), and the model's top choices per scenario.

    ``twins`` (``none``, ``prefill`` or ``all``): for the picks of those scenarios also build each pick's
    :func:`epilogue_twin` as set ``"t"`` -- measured and ranked with the capped kernels, but not part of (c).

    Returns ``{dtype: {"a": [cfg], "b": [cfg], "c": [cfg], "t": [cfg], "c_top": {scenario key: [names in model
    order]}, "dropped_b": [Dropped]}}``.
    """
    if twins not in TWIN_MODES:
        raise ConfigError("twins", twins, TWIN_MODES)
    out: dict = {}
    for s in scenarios:
        d = out.get(s.dtype)
        if d is None:
            b, dropped = trtllm_capped(s.dtype)
            d = out[s.dtype] = {"a": unconstrained(s.dtype), "b": b, "c": [], "t": [], "c_top": {},
                                "dropped_b": dropped}
        r = ranked(s, synthesized(s), gpu)
        picks = [x.candidate.config for x in r[:top]]
        d["c_top"][s.key] = [short_name(c) for c in picks]
        d["c"] = dedupe(d["c"] + picks)
        if twins == "all" or (twins == "prefill" and s.phase == "prefill"):
            d["t"] = dedupe(d["t"] + [t for t in map(epilogue_twin, picks) if t is not None])
    for d in out.values():
        d["t"] = [t for t in d["t"] if t not in set(d["c"])]
    return out


def predictions(s: Scenario, configs: Sequence[KernelConfig], gpu=None, params=None) -> dict:
    """``{short name: predicted us}`` of the cost model for ``configs`` on scenario ``s``."""
    from ..cost import rank

    r = rank(problem_of(s), gpu if gpu is not None else proxy_gpu(), [candidate_of(c) for c in configs], params)
    return {short_name(x.candidate.config): x.predicted_us for x in r}


def build_list(selection: dict, dtypes: Optional[Sequence[str]] = None) -> list:
    """Every kernel to build, (a) then (b) then (c) then the epilogue twins per dtype, each once."""
    out = []
    for dtype, d in selection.items():
        if dtypes is None or dtype in dtypes:
            out += d["a"] + d["b"] + d["c"] + d.get("t", [])
    return dedupe(out)


__all__ = ["BUILD_CUTLASS", "RECIPE", "SYNTH_EPILOGUES", "proxy_gpu", "problem_of", "candidate_of", "unbuildable", "synthesized", "ranked",
           "epilogue_twin", "TWIN_MODES",
           "select",
           "predictions", "build_list"]
