"""smem_tactics: exact shared-memory footprints of CUTLASS grouped GEMM kernels, and what to do with them.

Public API (no torch, CUDA or framework imports here)::

    from smem_tactics import KernelConfig, footprint, verdict, resolve_limit
    cfg = KernelConfig.create("sm120", "nvfp4", c="bf16", d="bf16", tile="CtaShape128x256x64B")
    fp = footprint(cfg)            # fp.total_bytes == sizeof(GemmKernel::SharedStorage)
    v = verdict(cfg, resolve_limit(gpu="gb10"))
"""

from .config import (
    ACTIVATIONS,
    Arch,
    DType,
    EpilogueSchedule,
    Fusion,
    FusionOp,
    KernelConfig,
    KernelSchedule,
    Kind,
    Layout,
    Mode,
    StageConvention,
)
from .devices import DeviceLimit, GpuFacts, detect_local_device, gpu_facts, resolve_limit
from .errors import (
    ConfigError,
    CutlassTreeError,
    DeviceError,
    ProbeError,
    SmemTacticsError,
    UnsupportedConfigError,
    VersionError,
)
from .footprint import Footprint, footprint, footprints
from .legality import violations
from .verdict import Verdict, max_fitting_stages, verdict
from .versions import RELEASES, CutlassVersion, DELTAS, VERIFIED_VERSIONS

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Arch", "DType", "EpilogueSchedule", "Fusion", "FusionOp", "KernelConfig", "KernelSchedule",
    "Kind", "Layout", "Mode", "StageConvention", "DeviceLimit", "GpuFacts", "detect_local_device", "gpu_facts",
    "resolve_limit", "ConfigError", "CutlassTreeError", "DeviceError", "ProbeError", "SmemTacticsError",
    "UnsupportedConfigError", "VersionError", "Footprint", "footprint", "footprints", "violations", "Verdict", "verdict",
    "max_fitting_stages", "CutlassVersion", "DELTAS", "RELEASES", "VERIFIED_VERSIONS", "__version__",
]
