"""The catalog oracle: every cataloged tactic's footprint (the model, through :mod:`smem_tactics.catalogs.kernels`)
against ``sizeof(GemmKernel::SharedStorage)`` of the kernel composed the way the framework's launcher composes
it (:mod:`.compose_moe`), compiled host-only against a real CUTLASS tree.

Two independent derivations meet here: the catalog maps a tactic onto the footprint model's vocabulary, the
oracle composes the launcher's own template arguments. They agree or the tactic is reported as a mismatch.
Tactics whose kernel the model does not cover, and tactics the framework cannot dispatch, are skipped and
counted as such. Identical kernels (the same tile in several lists) are compiled once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from smem_tactics.catalogs import Tactic, kernel_for
from smem_tactics.config import KernelConfig
from smem_tactics.errors import SmemTacticsError
from smem_tactics.footprint import footprint
from smem_tactics.layout.sm80_grouped import GroupedSm80Config, sm80_footprint

from .compose_moe import MoeLauncherKernel, moe_tma_ws_recipe, sm80_recipe
from .probe import run_probe
from .trees import CutlassTree

AGREE, MISMATCH, SKIPPED = "agree", "MISMATCH", "skipped"


def launcher_kernel(t: Tactic, output: str) -> Optional[MoeLauncherKernel]:
    """The launcher's template arguments for a TMA warp-specialized tactic on SM90 / SM12x (else None)."""
    if t.family != "tma_ws" or t.dispatch_error or t.arch not in ("sm90", "sm120", "sm121"):
        return None
    act_weight = {"nvfp4": ("nvfp4", "nvfp4"), "mxfp8_mxfp4": ("e4m3", "nvfp4"), "fp8": ("e4m3", "e4m3"),
                  "bf16": ("bf16", "bf16"), "f16": ("f16", "f16")}.get(t.dtype)
    if act_weight is None:
        return None
    arch = "sm90" if t.arch == "sm90" else "sm120"
    return MoeLauncherKernel(arch, act_weight[0], act_weight[1], output, t.tile, t.cluster, t.finalize, t.swap_ab,
                             mxfpx=t.dtype == "mxfp8_mxfp4")


@dataclass
class OracleRow:
    key: object  # MoeLauncherKernel or GroupedSm80Config
    tactics: list  # the tactics that run this kernel
    predicted: Optional[dict]
    measured: Optional[dict]
    status: str
    detail: str = ""


def _predict(cfg) -> dict:
    if isinstance(cfg, GroupedSm80Config):
        fp = sm80_footprint(cfg)
        out = {"total": fp.total_bytes}
        if cfg.kernel == "moe_fc_gemm":
            out["epi_shared"] = fp.parts["epilogue (accumulator tile)"]
        return out
    fp = footprint(cfg)
    return {"total": fp.total_bytes, "stages": fp.stages, "epi_shared": fp.epilogue_shared_bytes}


def collect(listings: Iterable[Sequence[Tactic]], output: str, cutlass: str, activation: str = "swiglu") -> tuple:
    """(rows to probe keyed by kernel, skipped tactics with reasons) for the given tactic lists."""
    tma: dict = {}
    sm80: dict = {}
    skipped = []
    for listing in listings:
        for t in listing:
            tk = kernel_for(t, output=output, cutlass=cutlass, activation=activation)
            if t.dispatch_error:
                skipped.append((t, "not dispatchable: " + t.dispatch_error))
                continue
            if not tk.modelled:
                skipped.append((t, tk.not_modelled))
                continue
            if isinstance(tk.config, GroupedSm80Config):
                sm80.setdefault(tk.config, []).append(t)
                continue
            lk = launcher_kernel(t, output)
            if lk is None:
                skipped.append((t, "no launcher composition for this arch in the oracle (SM100 is verified by the "
                                   "footprint oracle, not here)"))
                continue
            tma.setdefault(lk, []).append((t, tk.config))
    return tma, sm80, skipped


def verify(listings: Iterable[Sequence[Tactic]], tree: CutlassTree, output: str = "bf16",
           activation: str = "swiglu", jobs: Optional[int] = None,
           progress: Optional[Callable[[int], None]] = None) -> tuple:
    """Probe every distinct kernel of ``listings`` against ``tree``; returns (rows, skipped). A tree that cannot build
    the known-good canary is refused as broken first (:func:`cpp_bindings.oracle.check_canary`)."""
    from .oracle import check_canary

    check_canary(tree)
    cutlass = tree.version
    tma, sm80, skipped = collect(listings, output, cutlass, activation)
    rows = []
    launchers = list(tma)
    if launchers:
        results = run_probe(launchers, tree, jobs=jobs, recipe=moe_tma_ws_recipe(), progress=progress)
        for lk, res in zip(launchers, results):
            pairs = tma[lk]
            configs = {cfg for _, cfg in pairs}
            rows.append(_compare(lk, [t for t, _ in pairs], configs, res))
    configs80 = list(sm80)
    if configs80:
        results = run_probe(configs80, tree, jobs=jobs, recipe=sm80_recipe(), progress=progress)
        for cfg, res in zip(configs80, results):
            rows.append(_compare(cfg, sm80[cfg], {cfg}, res))
    return rows, skipped


def _compare(key, tactic_list: list, configs: set, res) -> OracleRow:
    if len(configs) != 1:
        # two tactics that launch the same kernel must map to the same model config
        return OracleRow(key, tactic_list, None, res.measured, MISMATCH,
                         f"the catalog maps this one kernel to {len(configs)} different model configs")
    cfg = next(iter(configs))
    try:
        predicted = _predict(cfg)
    except SmemTacticsError as e:
        predicted = None
        if res.measured is None:
            return OracleRow(key, tactic_list, None, None, AGREE, f"both reject: {e}")
        return OracleRow(key, tactic_list, None, res.measured, MISMATCH, f"model rejects ({e}); CUTLASS compiles it")
    if res.measured is None:
        return OracleRow(key, tactic_list, predicted, None, MISMATCH, f"CUTLASS rejects: {res.error}")
    diffs = [f"{k}: model {v} vs CUTLASS {res.measured.get(k)}" for k, v in predicted.items()
             if res.measured.get(k) != v]
    return OracleRow(key, tactic_list, predicted, res.measured, MISMATCH if diffs else AGREE, "; ".join(diffs))


__all__ = ["OracleRow", "launcher_kernel", "collect", "verify", "AGREE", "MISMATCH", "SKIPPED"]

_ = KernelConfig
