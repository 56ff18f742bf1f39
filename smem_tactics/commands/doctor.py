"""``smem-tactics doctor``: this machine's GPU (or "no GPU"), the installed TensorRT-LLM / FlashInfer / CUTLASS
versions, which of their MoE tactics will fail on this device and why, and what to do about it. Imports no
framework (versions come from package metadata) and works with no GPU and nothing installed; ``--gpu NAME``
asks about another device (e.g. ``--gpu gb10`` from a laptop)."""

from __future__ import annotations

import json
from typing import Optional

from ..catalogs import DTYPE_PATHS, catalog_for, find_version, judge_all, tactics
from ..devices import DeviceLimit, detect_local_device, resolve_limit
from ..errors import SmemTacticsError, VersionError
from ..integrations import package_version
from ._common import add_limit_flags

#: Which MoE backend serves which dtype on SM120/SM121 (details and sources: docs/sm12x_guide.md).
SM12X_BACKENDS = (
    ("nvfp4", "CUTLASS fused MoE (TensorRT-LLM moe_config.backend CUTLASS, FlashInfer cutlass_fused_moe) with the "
              "plug-in installed: only the FINALIZE 128x256 / 256x128 tiles cannot fit; TensorRT-LLM >= 1.3.0rc17 "
              "routes decode to FlashInfer's b12x kernels"),
    ("mxfp8_mxfp4", "CUTLASS fused MoE; FlashInfer 0.6.4 offers tiles that throw at dispatch, prefer 0.7.2.post1"),
    ("fp8", "CUTLASS 2.x SM89 kernels (no SM120 TMA path): the 16x256x128 tile needs 2 stages"),
    ("bf16 / f16", "CUTLASS 2.x SM80 kernels: the largest stage counts do not fit; GEMM1 with SwiGLU/GeGLU runs the "
                   "fused gate kernel, which needs more"),
)


def register(sub) -> None:
    p = sub.add_parser("doctor", help="device, installed frameworks and which MoE tactics will fail here",
                       description=__doc__)
    add_limit_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _device(args) -> tuple:
    """(DeviceLimit or None, how it was found)."""
    if args.gpu or args.limit is not None or getattr(args, "limit_arch", None):
        lim = resolve_limit(gpu=args.gpu, arch=getattr(args, "limit_arch", None), limit=args.limit, detect=False)
        return lim, "named on the command line"
    local = detect_local_device()
    return local, ("detected" if local is not None else "none")


def _cutlass_trees() -> list:
    try:
        from cpp_bindings.trees import installed_trees
    except ImportError:  # the model installed without the oracle package
        return []
    try:
        trees = installed_trees()
    except SmemTacticsError as e:
        return [{"version": None, "source": f"unusable: {e}"}]
    out = []
    for t in trees:
        entry = {"version": t.version, "source": t.source, "include": str(t.include)}
        try:  # what the tree is modelled as: its release and the deltas its headers carry
            contents = t.contents()
            entry["deltas"] = sorted(contents.present)
            version = t.modelled_version()
            entry.update(modelled_as=str(version), modelled=version.describe())
        except SmemTacticsError as e:
            entry.update(modelled_as=None, modelled=f"not modelled: {e}")
        out.append(entry)
    return out


def _lists_for(fv, arch: str, dtype: str, gemm: int):
    """(catalog, listing) the plug-in would judge by default: the entry's own lists, else (runtime-checked entries)
    its alternates'; None if none has this arch and dtype."""
    candidates = [fv] + ([find_version(fv.framework, k) for k in fv.alternates] if fv.runtime_check else [])
    for cand in candidates:
        try:
            return cand, tactics(cand.framework, cand.key, arch, dtype, gemm)
        except VersionError:
            continue
    return None


def _framework_findings(framework: str, version: Optional[str], lim: Optional[DeviceLimit]) -> dict:
    out: dict = {"framework": framework, "installed": version, "catalog": None, "findings": []}
    if version is None:
        return out
    fv, how = catalog_for(framework, version)
    if fv is None:
        out["catalog"] = (f"no catalog for {version} ({how}): nothing would be pruned (the plug-in passes tactics "
                          f"through with one warning)")
        return out
    out["catalog"] = fv.label
    if how == "newer":
        out["detection"] = (f"{version} is newer than every cataloged version: the {fv.label} lists are used only "
                            f"where the runner's own tactic counts and values match them at run time")
    elif fv.runtime_check:
        out["detection"] = (f"{fv.label} lists were not read at this version's tag: they (or "
                            f"{', '.join(fv.alternates)}'s) are used only where the runner's tactic counts match")
    out["cutlass"] = fv.cutlass or f"not confirmed ({fv.cutlass_note})"
    out["activation"] = fv.activation_source
    out["empty_list"] = fv.empty_list
    out["cache"] = ("writable: " + fv.cache.get("key", "")) if fv.cache.get("writable") else \
        ("not written: " + fv.cache.get("reason", ""))
    if framework == "flashinfer":
        out["blocklist"] = ("smem-tactics blocklist --framework flashinfer --gpu NAME --dtype D --out FILE, then "
                            "FLASHINFER_TACTICS_BLOCKLIST=FILE") if fv.blocklist else \
            f"FlashInfer {fv.key} reads no tactic blocklist (use the plug-in)"
    if lim is None or not lim.known or not lim.arch:
        return out
    for dtype in DTYPE_PATHS:
        for gemm in (1, 2):
            found = _lists_for(fv, lim.arch, dtype, gemm)
            if found is None:
                continue
            cat, listing = found
            runs = [judge_all(listing, lim.smem_per_block_optin, v, "bf16", a) for v in cat.default_cutlass
                    for a in ("swiglu", "identity")]
            failing = [i for i in range(len(listing)) if all(not run[i].fits for run in runs)]
            unknown = sum(1 for x in runs[0] if x.kind == "unknown")
            kinds: dict = {}
            for i in failing:
                v = runs[0][i]
                kinds.setdefault(v.kind, []).append(f"{listing[i].value} {listing[i].short()}"
                                                    + (f" {v.total_bytes} B" if v.total_bytes else ""))
            out["findings"].append({"dtype": dtype, "gemm": gemm, "tactics": len(listing), "fail": len(failing),
                                    "not_modelled": unknown, "causes": kinds,
                                    "lists": cat.label if cat is not fv else None})
    return out


def run(args) -> int:
    lim, how = _device(args)
    frameworks = [
        _framework_findings("trtllm", package_version("tensorrt_llm", "tensorrt-llm"), lim),
        _framework_findings("flashinfer", package_version("flashinfer-python", "flashinfer"), lim),
    ]
    trees = _cutlass_trees()
    if args.json:
        dev = None if lim is None else {"name": lim.name, "arch": lim.arch, "smem_per_block_optin":
                                        lim.smem_per_block_optin, "sms": lim.sms, "found": how}
        print(json.dumps({"device": dev, "frameworks": frameworks, "cutlass_trees": trees}, indent=2))
        return 0
    print("device")
    if lim is None:
        print("  no GPU found (no CUDA device through cuda-python or torch); verdicts need a device: rerun with "
              "--gpu gb10 (or rtx-pro-6000, rtx-5090, h100, ...) to see them for one")
    else:
        sms = f", {lim.sms} SMs" if lim.sms else ""
        print(f"  {lim.name or 'unnamed'}: {lim.arch or 'arch unknown'}, {lim.smem_per_block_optin} B shared memory "
              f"per block (opt-in){sms} ({how})")
    print("\ninstalled")
    for f in frameworks:
        name = {"trtllm": "TensorRT-LLM", "flashinfer": "FlashInfer"}[f["framework"]]
        if f["installed"] is None:
            print(f"  {name}: not installed")
            continue
        cat = f["catalog"]
        print(f"  {name} {f['installed']}: {cat}" + (f"; CUTLASS {f['cutlass']}" if f.get("cutlass") else ""))
        for label in ("detection", "cache", "blocklist"):
            if f.get(label):
                print(f"    {label}: {f[label]}")
    if trees:
        for t in trees:
            print(f"  CUTLASS headers {t['version']} ({t['source']})")
            if t.get("modelled"):
                print(f"    modelled as: {t['modelled']}")
            if t.get("deltas") is not None:
                print(f"    deltas found in its headers: {', '.join(t['deltas']) or 'none'}")
    else:
        print("  CUTLASS headers: none found (pip install nvidia-cutlass or flashinfer-python to run the oracle)")
    shown = [f for f in frameworks if f["findings"]]
    if shown:
        print("\nMoE tactics on this device")
        for f in shown:
            for x in f["findings"]:
                line = f"  {f['catalog']} {x['dtype']} GEMM{x['gemm']}: {x['fail']} of {x['tactics']} fail"
                if x.get("lists"):
                    line += f" (if the runner carries {x['lists']}'s lists)"
                if x["not_modelled"]:
                    line += f" ({x['not_modelled']} unknown, not judged)"
                print(line)
                for cause, items in x["causes"].items():
                    print(f"    {cause}: " + "; ".join(items[:4]) + (f"; +{len(items) - 4} more" if len(items) > 4
                                                                       else ""))
    elif lim is not None and any(f["installed"] for f in frameworks):
        print("\nMoE tactics on this device: no cataloged framework version installed, or no arch known")
    print("\nwhat to do")
    print("  prune tactics that cannot run before the autotuner profiles them (the installed version picks its "
          "catalog;")
    print("  an unknown or mismatching runner is passed through with one warning, never an error):")
    print("    from smem_tactics.integrations import tensorrt_llm; tensorrt_llm.install()   # or: flashinfer")
    print("    (SMEM_TACTICS_DISABLE=1 or `with smem_tactics.integrations.disabled():` turns it off)")
    print("  FlashInfer >= 0.7.2: no code change -- write its tactic blocklist for this GPU and dtype path:")
    print("    smem-tactics blocklist --framework flashinfer --gpu gb10 --dtype nvfp4 --out bl.json; "
          "FLASHINFER_TACTICS_BLOCKLIST=bl.json")
    print("  pre-write the tuner's cache so inference never tries a tactic that cannot run:")
    print("    smem_tactics.integrations.cache.choose_tactics(...) + write_flashinfer_cache / write_trtllm_cache "
          "(TensorRT-LLM main line only: 1.2.x keys hold hash(runner) and are per process; TensorRT-LLM reads "
          "TLLM_AUTOTUNER_CACHE_PATH)")
    print("  see every tactic: smem-tactics tactics --framework trtllm --gpu gb10 --dtype nvfp4 --gemm 2")
    if lim is None or (lim.arch or "").startswith("sm12"):
        print("  MoE backends on SM120/SM121 (docs/sm12x_guide.md):")
        for dtype, advice in SM12X_BACKENDS:
            print(f"    {dtype}: {advice}")
    return 0


