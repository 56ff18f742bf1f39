"""Device limits: offline table, arch table, detection fallbacks, unknown limits."""

import sys
import types

import pytest

from smem_tactics import DeviceError, resolve_limit
from smem_tactics import devices
from smem_tactics.devices import arch_limit, gpu_facts, gpu_names, match_device_name


def test_every_sm12x_part_has_the_99kib_limit():
    for name in ("gb10", "rtx-pro-6000", "rtx-5090"):
        f = gpu_facts(name)
        assert f.smem_per_block_optin == 101376 and f.smem_per_sm == 102400 and f.arch.startswith("sm12")
    for name in ("h100", "h200", "b200"):
        assert gpu_facts(name).smem_per_block_optin == 232448
    assert set(gpu_names()) >= {"gb10", "rtx-pro-6000", "rtx-5090", "h100", "h200", "b200", "a100", "l40s"}


def test_arch_table_and_aliases():
    assert arch_limit("sm121").smem_per_block_optin == 101376
    assert arch_limit("120").smem_per_block_optin == 101376
    assert arch_limit("sm80").smem_per_block_optin == 166912
    assert gpu_facts("DGX-Spark").key == "gb10"
    assert match_device_name("NVIDIA GB10") == "gb10"
    assert match_device_name("NVIDIA H100 80GB HBM3") == "h100"
    assert match_device_name("NVIDIA RTX PRO 6000 Blackwell Workstation Edition") == "rtx-pro-6000"
    assert match_device_name("Some Future GPU") is None


def test_priority_limit_gpu_arch():
    assert resolve_limit(gpu="gb10", limit=90000).smem_per_block_optin == 90000
    assert resolve_limit(gpu="h100", arch="sm120").smem_per_block_optin == 232448
    assert resolve_limit(arch="sm120").source == "arch:sm120"


@pytest.mark.parametrize("kwargs", [{"gpu": "rtx-9090"}, {"arch": "sm75"}, {"limit": -3}, {"limit": True}])
def test_bad_names_are_device_errors(kwargs):
    with pytest.raises(DeviceError) as err:
        resolve_limit(**kwargs)
    assert "known" in str(err.value) or "positive" in str(err.value)


def test_no_gpu_and_no_name_is_unknown(monkeypatch):
    monkeypatch.setattr(devices, "detect_local_device", lambda index=0: None)
    lim = resolve_limit()
    assert not lim.known and lim.smem_per_block_optin is None and "unknown" in lim.describe()


def test_cuda_bindings_detection_path(monkeypatch):
    """Detection reads the opt-in limit, SM count and capability through cuda.bindings (faked here)."""
    class Attr:
        cudaDevAttrMaxSharedMemoryPerBlockOptin = "optin"
        cudaDevAttrMaxSharedMemoryPerMultiprocessor = "persm"
        cudaDevAttrComputeCapabilityMajor = "maj"
        cudaDevAttrComputeCapabilityMinor = "min"
        cudaDevAttrMultiProcessorCount = "sms"

    values = {"optin": 101376, "persm": 102400, "maj": 12, "min": 1, "sms": 48}
    runtime = types.SimpleNamespace(
        cudaDeviceAttr=Attr,
        cudaGetDeviceCount=lambda: (0, 1),
        cudaDeviceGetAttribute=lambda a, i: (0, values[a]),
        cudaGetDeviceProperties=lambda i: (0, types.SimpleNamespace(name=b"NVIDIA GB10")),
    )
    pkg = types.ModuleType("cuda")
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime = runtime
    pkg.bindings = bindings
    monkeypatch.setitem(sys.modules, "cuda", pkg)
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", runtime)
    lim = devices._detect_cuda_bindings(0)
    assert (lim.smem_per_block_optin, lim.arch, lim.sms, lim.source) == (101376, "sm121", 48, "cuda.bindings")
    assert lim.gpu.key == "gb10"


def test_detection_on_this_machine_does_not_crash():
    devices.detect_local_device.cache_clear()
    lim = devices.detect_local_device()
    assert lim is None or lim.smem_per_block_optin > 0
