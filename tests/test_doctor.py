"""``smem-tactics doctor``: works with no GPU and no frameworks, reports installed versions and per-device verdicts."""

import json
import subprocess
import sys

import smem_tactics.commands.doctor as doctor
from smem_tactics.cli import main


def _no_gpu(monkeypatch):
    monkeypatch.setattr(doctor, "detect_local_device", lambda index=0: None)


def test_no_gpu_and_no_frameworks(monkeypatch, capsys):
    _no_gpu(monkeypatch)
    monkeypatch.setattr(doctor, "package_version", lambda *dists: None)
    monkeypatch.setattr(doctor, "_cutlass_trees", lambda: [])
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "no GPU found" in out and "--gpu gb10" in out
    assert "TensorRT-LLM: not installed" in out and "FlashInfer: not installed" in out
    assert "CUTLASS headers: none found" in out
    assert "tensorrt_llm.install()" in out and "TLLM_AUTOTUNER_CACHE_PATH" in out
    assert "MoE backends on SM120/SM121" in out


def test_named_device_and_installed_frameworks(monkeypatch, capsys):
    _no_gpu(monkeypatch)
    versions = {"tensorrt_llm": "1.2.1", "flashinfer-python": "0.6.4"}
    monkeypatch.setattr(doctor, "package_version", lambda *dists: next((versions[d] for d in dists
                                                                        if d in versions), None))
    assert main(["doctor", "--gpu", "gb10"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA GB10 (DGX Spark): sm121, 101376 B shared memory per block (opt-in), 48 SMs" in out
    assert "TensorRT-LLM 1.2.1: TensorRT-LLM 1.2; CUTLASS not confirmed" in out
    assert "FlashInfer 0.6.4: FlashInfer (CUTLASS fused MoE) 0.6.4; CUTLASS 4.2.1" in out
    assert "TensorRT-LLM 1.2 nvfp4 GEMM2: 2 of 16 fail" in out
    assert "FlashInfer (CUTLASS fused MoE) 0.6.4 mxfp8_mxfp4 GEMM2: 12 of 16 fail" in out
    assert "no dispatch case:" in out and "shared memory:" in out
    assert "cache: not written: TensorRT-LLM 1.2.x keys hold hash(runner)" in out
    assert "FlashInfer 0.6.4 reads no tactic blocklist" in out and "smem-tactics blocklist --framework flashinfer" in out


def test_unknown_framework_version_says_so(monkeypatch, capsys):
    _no_gpu(monkeypatch)
    monkeypatch.setattr(doctor, "package_version", lambda *dists: "1.1.0" if "tensorrt_llm" in dists else None)
    assert main(["doctor", "--gpu", "rtx-pro-6000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    trt = data["frameworks"][0]
    assert trt["installed"] == "1.1.0" and "no catalog for 1.1.0" in trt["catalog"] and not trt["findings"]
    assert data["device"]["arch"] == "sm120" and data["device"]["smem_per_block_optin"] == 101376


def test_main_line_and_newer_versions_say_how_they_are_detected(monkeypatch, capsys):
    _no_gpu(monkeypatch)
    versions = {"tensorrt_llm": "1.3.0rc17", "flashinfer-python": "0.9.0"}
    monkeypatch.setattr(doctor, "package_version", lambda *dists: next((versions[d] for d in dists
                                                                        if d in versions), None))
    assert main(["doctor", "--gpu", "gb10", "--json"]) == 0
    trt, fi = json.loads(capsys.readouterr().out)["frameworks"]
    assert trt["catalog"] == "TensorRT-LLM 1.3" and "runner's tactic counts match" in trt["detection"]
    nvfp4 = [x for x in trt["findings"] if x["dtype"] == "nvfp4"]
    assert [(x["gemm"], x["tactics"], x["fail"]) for x in nvfp4] == [(1, 6, 0), (2, 12, 2)]
    bf16 = [x for x in trt["findings"] if x["dtype"] == "bf16"]
    assert bf16 and all(x["lists"] == "TensorRT-LLM 1.2" for x in bf16)
    assert fi["catalog"] == "FlashInfer (CUTLASS fused MoE) 0.7.4" and "newer than every cataloged" in fi["detection"]


def test_doctor_runs_as_a_program_on_this_machine():
    out = subprocess.run([sys.executable, "-m", "smem_tactics", "doctor"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("device\n") and "what to do" in out.stdout and "Traceback" not in out.stderr


def test_bad_gpu_is_one_line(capsys):
    assert main(["doctor", "--gpu", "nope"]) == 2
    err = capsys.readouterr().err
    assert "gpu: 'nope' is not in the device table" in err and "Traceback" not in err
