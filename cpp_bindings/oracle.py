"""Predicted vs measured: run the probe on configs and compare with the footprint model.

Agreement means: the same total bytes and stage count (and, where the probe can read them, the same
epilogue tile and stages, epilogue SharedStorage and mainloop TensorStorage sizes), or both the model
and CUTLASS reject the config. Any other outcome is a mismatch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from smem_tactics.config import KernelConfig
from smem_tactics.errors import CutlassTreeError, UnsupportedConfigError
from smem_tactics.footprint import footprint
from smem_tactics.layout.epilogue import epilogue_layout
from smem_tactics.layout.mainloop import mainloop_storage
from smem_tactics.layout.struct import layout
from smem_tactics.versions import CutlassVersion

from .probe import ProbeResult, run_probe
from .trees import CutlassTree

AGREE, MISMATCH, BOTH_REJECT = "agree", "MISMATCH", "both reject"
#: The model rejects by a rule that only a device compile shows; the host-only probe cannot see it.
DEVICE_REJECT = "device-only reject"


@dataclass
class Comparison:
    config: KernelConfig
    status: str  # AGREE | MISMATCH | BOTH_REJECT
    predicted: Optional[dict]
    measured: Optional[dict]
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.config.name(), "config": self.config.to_dict(), "status": self.status,
                "predicted": self.predicted, "measured": self.measured, "detail": self.detail}


def predict(cfg: KernelConfig) -> dict:
    """The model's numbers in the probe's vocabulary (raises UnsupportedConfigError if it rejects)."""
    fp = footprint(cfg)
    out = {"total": fp.total_bytes, "stages": fp.stages}
    if cfg.arch.family.value != "sm100":  # the SM100 collectives expose the same pieces; compare totals there
        epi = epilogue_layout(cfg)
        tensors, _, _ = mainloop_storage(cfg, fp.stages)
        out.update(epi_shared=epi.shared_storage_bytes, ml_tensors=layout(tensors, fp.stages).size)
        if fp.epilogue_tile != (0, 0):
            out.update(epi_tile=list(fp.epilogue_tile), epi_stages_c=fp.epilogue_stages_c,
                       epi_stages_d=fp.epilogue_stages_d)
    return out


def compare_one(result: ProbeResult) -> Comparison:
    cfg = result.config
    try:
        pred = predict(cfg)
        model_error, device_only = None, False
    except UnsupportedConfigError as e:
        pred, model_error, device_only = None, str(e), e.device_only
    if not result.ok:
        if pred is None:
            return Comparison(cfg, BOTH_REJECT, None, None, f"model: {model_error} | CUTLASS: {result.error}")
        return Comparison(cfg, MISMATCH, pred, None, f"model accepts ({pred['total']} B) but CUTLASS fails: "
                                                     f"{result.error}")
    m = result.measured
    if pred is None:
        if device_only:
            return Comparison(cfg, DEVICE_REJECT, None, m, f"host probe builds {m['total']} B; the model rejects it "
                                                           f"for a device-compile failure: {model_error}")
        return Comparison(cfg, MISMATCH, None, m, f"model rejects ({model_error}) but CUTLASS builds {m['total']} B")
    diffs = [f"{k} {pred[k]} != {m[k]}" for k in pred if k in m and m[k] not in (-1, [-1, -1]) and pred[k] != m[k]]
    if diffs:
        return Comparison(cfg, MISMATCH, pred, m, "; ".join(diffs))
    return Comparison(cfg, AGREE, pred, m)


#: The known-good canary: SM90 BF16 128x128x64 with CUTLASS's automatic stage count, a kernel every modelled
#: release builds (215040 B, 6 stages in each of 4.2.0 .. 4.7.0, docs/verification.md). A tree that cannot build it,
#: or builds it at another size, is broken (or not CUTLASS): its results would be N false mismatches.
CANARY = KernelConfig.create("sm90", "bf16", tile=(128, 128, 64))
_canary_checked: set = set()


def check_canary(tree: CutlassTree, compiler: str = "g++", version: Optional[CutlassVersion] = None) -> None:
    """Compile :data:`CANARY` against ``tree`` first; raise :class:`~smem_tactics.errors.CutlassTreeError` saying the
    tree is broken (with the compiler's first error line) if it does not compile or disagrees with the model.
    Checked once per (tree, compiler, version) in a process."""
    version = version if version is not None else tree.modelled_version()
    key = (str(tree.include), compiler, str(version))
    if key in _canary_checked:
        return
    canary = dataclasses.replace(CANARY, cutlass=version)
    expected = predict(canary)
    result = run_probe([canary], tree, compiler=compiler, jobs=1)[0]
    where = f"the CUTLASS tree at {tree.include} ({tree.source or 'given'}, version.h {tree.version}) is broken"
    if not result.ok:
        raise CutlassTreeError(f"cutlass: {where}: {result.error} (the known-good canary {canary.name()} does not "
                               f"compile with {compiler}; no config was compared)")
    measured = result.measured
    if (measured["total"], measured["stages"]) != (expected["total"], expected["stages"]):
        raise CutlassTreeError(f"cutlass: {where}: the known-good canary {canary.name()} builds at "
                               f"{measured['total']} B / {measured['stages']} stages, where every modelled CUTLASS "
                               f"release gives {expected['total']} B / {expected['stages']} stages (no config was "
                               f"compared)")
    _canary_checked.add(key)


def verify(configs: Sequence[KernelConfig], tree: CutlassTree, compiler: str = "g++", jobs: Optional[int] = None,
           progress: Optional[Callable[[int], None]] = None, version: Optional[CutlassVersion] = None,
           canary: bool = True) -> list:
    """Probe ``configs`` against ``tree``; each config is judged under the version the tree is modelled as (its
    release and the deltas its headers carry, :meth:`CutlassTree.modelled_version`), or under ``version``.

    With ``canary`` (the default) the tree first compiles :data:`CANARY` (:func:`check_canary`): a broken tree is
    reported as broken (:class:`~smem_tactics.errors.CutlassTreeError`), never as a mismatch per config."""
    if version is None:
        version = tree.modelled_version()
    if canary:
        check_canary(tree, compiler, version)
    configs = [dataclasses.replace(c, cutlass=version) for c in configs]
    results = run_probe(configs, tree, compiler=compiler, jobs=jobs, progress=progress)
    return [compare_one(r) for r in results]


__all__ = ["Comparison", "verify", "check_canary", "CANARY", "compare_one", "predict", "AGREE", "MISMATCH", "BOTH_REJECT", "DEVICE_REJECT"]
