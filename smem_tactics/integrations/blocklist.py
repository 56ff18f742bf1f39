"""FlashInfer's offline tactic blocklist, written from the catalog: no GPU, no probing.

Since FlashInfer PR #2997 (``flashinfer/tactics_blocklist.py``, read in the 0.7.2.post1 wheel, git beabf500), the
autotuner loads the JSON file named by ``FLASHINFER_TACTICS_BLOCKLIST`` when it is created and drops the listed
tactics before profiling (``AutoTuner.choose_one``: ``valid_tactics = self._blocklist.filter(custom_op, r,
valid_tactics)``). What that file holds, as ``TacticsBlocklist.load`` reads it:

* ``_metadata``: every key of ``autotuner._collect_metadata()`` (``flashinfer_version``, ``cuda_version``,
  ``cublas_version``, ``cudnn_version``, ``cudnn_frontend_version``, ``cutlass_dsl_version``, ``gpu`` -- the name
  ``torch.cuda.get_device_name()`` reports) must equal the running process's value or be ``"*"``, else the file is
  skipped with a warning; other keys are ignored;
* ``invalid_tactics``: ``{"<custom_op>::<runner class name>": [tactic, ...]}``; other top-level keys are ignored.

The CUTLASS fused-MoE runner's key is ``trtllm::fused_moe::gemm1::MoERunner`` / ``...gemm2::MoERunner`` and its
tactics are the combined indices (GEMM2 values follow GEMM1's). The key names no dtype path, so one file describes
one runner configuration (dtype path, fused finalize): a process that runs another one must not load it. Only
``flashinfer_version`` and ``gpu`` are pinned; the CUDA/cuBLAS/cuDNN/CuTe-DSL versions do not change which CUTLASS
MoE kernels exist, so they are ``"*"``.
"""

from __future__ import annotations

import datetime
import json
from typing import Optional, Sequence

from ..errors import SmemTacticsError, VersionError
from . import GATED_ACTIVATIONS, MOE_OPS, judged_activations, resolve_device

#: What ``torch.cuda.get_device_name()`` reports, where a public source shows it: vLLM's and SGLang's tuned-config
#: file names embed it with spaces replaced by '_' (vLLM ``E=128,N=768,device_name=NVIDIA_GeForce_RTX_5090.json``
#: and ``..._RTX_PRO_6000_Blackwell_Workstation_Edition.json``; SGLang ``triton_3_6_0/E=128,N=768,
#: device_name=NVIDIA_GB10,dtype=fp8_w8a8.json``; see /work/shared/reference/landscape_2026-12.md). Other GPUs:
#: give ``device_name`` as the GPU's own ``torch.cuda.get_device_name()`` prints it.
CUDA_DEVICE_NAMES = {
    "gb10": "NVIDIA GB10",
    "rtx-5090": "NVIDIA GeForce RTX 5090",
    "rtx-pro-6000": "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
}
RUNNER_CLASS = "MoERunner"
_WILDCARD_KEYS = ("cuda_version", "cublas_version", "cudnn_version", "cudnn_frontend_version", "cutlass_dsl_version")


def flashinfer_blocklist(dtype: str, *, version: Optional[str] = None, gpu: Optional[str] = None,
                         arch: Optional[str] = None, limit: Optional[int] = None, device_name: Optional[str] = None,
                         finalize: Optional[bool] = None, output: str = "bf16", activation: Optional[str] = None,
                         cutlass: Sequence[str] = ()) -> dict:
    """The blocklist document for one FlashInfer CUTLASS MoE runner configuration on one device.

    A tactic is listed when it cannot run under every CUTLASS release considered (default: the one the FlashInfer
    version ships) and, when ``activation`` is None (unknown), under both the gated and the plain GEMM1 kernel;
    ``_smem_tactics`` (ignored by FlashInfer) explains every listed tactic and names those left in with why.
    Raises :class:`~smem_tactics.errors.VersionError` for a version without a blocklist reader or a catalog, and
    :class:`~smem_tactics.errors.DeviceError` / :class:`~smem_tactics.errors.ConfigError` for bad device input.
    """
    from ..catalogs import judge_all, normalize_dtype, resolve_version, tactics
    from ..contract import require_str
    from ..errors import DeviceError

    fv = resolve_version("flashinfer", version)
    if not fv.blocklist:
        readers = [k for k in _keys() if resolve_version("flashinfer", k).blocklist]
        raise VersionError(f"version: FlashInfer {fv.key} does not read a tactic blocklist "
                           f"(flashinfer/tactics_blocklist.py came with PR #2997; cataloged versions that read one: "
                           f"{', '.join(readers)}); install the plug-in instead "
                           f"(smem_tactics.integrations.flashinfer.install())")
    device = resolve_device(gpu, arch, limit)
    if not device.known:
        raise DeviceError("gpu: no device with a known arch and shared-memory limit; give --gpu (e.g. gb10) or "
                          "--limit-arch with --limit")
    if device_name is None:
        device_name = CUDA_DEVICE_NAMES.get(str(gpu or "").strip().lower())
        if device_name is None:
            raise DeviceError(f"device-name: the name torch.cuda.get_device_name() reports for "
                              f"{gpu or device.name} is not known here; give it (FlashInfer skips a blocklist whose "
                              f"'gpu' differs from the running device's); known: "
                              + ", ".join(f"{k} = {v!r}" for k, v in CUDA_DEVICE_NAMES.items()))
    device_name = require_str("device-name", device_name)
    dtype = normalize_dtype(dtype)
    if activation is not None:
        activation = require_str("activation", activation).lower()
    judged = judged_activations(None if activation is None else
                                (activation if activation in GATED_ACTIVATIONS else "identity"))
    versions = tuple(cutlass) or fv.default_cutlass
    invalid: dict = {}
    explained: dict = {}
    kept_note: dict = {}
    for gemm in (1, 2):
        listing = tactics(fv.framework, fv.key, device.arch, dtype, gemm, finalize)
        runs = [judge_all(listing, device.limit_bytes, v, output, a) for v in versions for a in judged]
        key = f"{MOE_OPS[gemm - 1]}::{RUNNER_CLASS}"
        invalid[key] = []
        for i, t in enumerate(listing):
            verdicts = [run[i] for run in runs]
            if all(not v.fits for v in verdicts):
                invalid[key].append(t.value)
                explained[str(t.value)] = {"gemm": gemm, "index": t.index, "tactic": t.short(),
                                           "kind": verdicts[0].kind, "why": verdicts[0].why(),
                                           "bytes": verdicts[0].total_bytes}
            elif any(v.kind == "unknown" for v in verdicts):
                kept_note[str(t.value)] = f"kept: {verdicts[0].why()}"
    meta = {k: "*" for k in _WILDCARD_KEYS}
    meta.update({
        "flashinfer_version": str(version or fv.key).strip().lstrip("v"),
        "gpu": device_name,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "generator_version": "smem-tactics",
    })
    return {
        "_metadata": meta,
        "invalid_tactics": invalid,
        "_smem_tactics": {
            "about": "written by smem-tactics from its tactic catalog and shared-memory model (no GPU run); "
                     "FlashInfer reads only _metadata and invalid_tactics",
            "catalog": fv.label, "catalog_status": fv.status, "arch": device.arch, "limit_bytes": device.limit_bytes,
            "dtype": dtype, "finalize": fv.finalize_default if finalize is None else bool(finalize),
            "output": output, "activation": activation or "unknown (judged gated and plain)",
            "cutlass": list(versions), "runner_configuration_only": (
                "the tactic numbers are this dtype path's and this fused-finalize setting's: do not load the file "
                "in a process that runs another CUTLASS MoE configuration"),
            "invalid": explained, "not_judged": kept_note,
        },
    }


def _keys() -> tuple:
    from ..catalogs import known_versions

    return known_versions("flashinfer")


def write_flashinfer_blocklist(path, document: dict) -> None:
    """Write ``document`` (from :func:`flashinfer_blocklist`) as JSON through the contract's file writer."""
    from ..contract import write_text

    if not isinstance(document, dict) or "invalid_tactics" not in document:
        raise SmemTacticsError("document: not a blocklist from flashinfer_blocklist()")
    write_text("--out", path, json.dumps(document, indent=2) + "\n")


__all__ = ["CUDA_DEVICE_NAMES", "RUNNER_CLASS", "flashinfer_blocklist", "write_flashinfer_blocklist"]
