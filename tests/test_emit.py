"""Emission: translation units carry the oracle's composition and static_asserts of the model's numbers; the
TensorRT-LLM additions carry verified footprints; a small sample compiles with device code for sm_120a and
sm_121a (CI's device-compile sample; needs nvcc >= 12.8 and the CUTLASS 4.5.0 headers of flashinfer-python)."""

import shutil

import pytest

from cpp_bindings.compose import compose
from smem_tactics.cli import main
from smem_tactics.emit import compile_command, translation_unit
from smem_tactics.emit.build import (build_all, first_error, mma_counts, nvcc_release, ptxas_registers, ptxas_usage,
                                     resource_usage)
from smem_tactics.emit.trtllm import framework_status, trtllm_baselines, trtllm_patch, trtllm_twin
from smem_tactics.errors import ConfigError
from smem_tactics.synthesis import synthesize
from smem_tactics.tables import emitted_candidates


def _pick(short, dtype="nvfp4"):
    return next(c for c in synthesize("sm120", dtype, 101376) if c.short() == short)


def test_unit_holds_the_composition_and_the_models_numbers():
    c = _pick("pp 128x32x128 s7 swapAB")
    tu = translation_unit(c)
    assert compose(c.config) in tu
    assert f"static_assert(sizeof(typename GemmKernel::SharedStorage) == {c.total_bytes}," in tu
    assert "StageCount<7>" in tu and "CollectiveMainloop::DispatchPolicy::Stages == 7" in tu
    assert "gemm.run(stream)" in tu and "swap-AB" in tu


def test_compile_command_builds_device_code_for_sm120a_and_sm121a():
    cmd = compile_command("k.cu", ["-I/c/include"], "sm120")
    joined = " ".join(cmd)
    assert "-gencode arch=compute_120a,code=sm_120a" in joined
    assert "-gencode arch=compute_121a,code=sm_121a" in joined
    assert "-DNDEBUG" in cmd and "-c" in cmd


def test_framework_status_recognises_trtllm_kernels_and_names_what_is_new():
    base, notes = trtllm_baselines("sm120", "nvfp4", "4.5.0", 101376)
    assert len(base) == 8 and all(n["fits"] for n in notes)  # 4 tiles x swap-AB, all fit under 4.5.0
    assert all(framework_status(b)["trtllm_1_2"] for b in base)
    new = framework_status(_pick("pp 128x32x128 s7 swapAB"))
    assert new["trtllm_1_2"] is False and new["flashinfer_0_7_2"] is False
    assert "pingpong" in new["why_new"] and "C = void" in new["why_new"]


def test_trtllm_twin_and_patch_carry_verified_footprints():
    c = _pick("pp 128x64x128 s6 swapAB")
    twin = trtllm_twin(c)
    assert twin.epilogue == "c_eq_d" and twin.config.c is not None and twin.total_bytes <= 101376
    assert twin.total_bytes > c.total_bytes - 12288  # C staging costs at most a stage's worth here
    patch = trtllm_patch([twin])
    assert "CtaShape128x64x64B = 128064064," in patch
    assert f"StageCount<{twin.stages}> = {twin.total_bytes} B" in patch
    assert f"(128, 64, 128, {twin.stages}, \"KernelPtrArrayTmaWarpSpecializedPingpong\", True, \"e2m1\")" in patch
    assert "MainloopScheduleType::PINGPONG" in patch


def test_shipped_patch_file_is_current(tmp_path):
    """docs/trtllm_sm120_additions.txt names every emitted tile (regenerated with the tables)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "trtllm_sm120_additions.txt").read_text()
    from smem_tactics.emit.trtllm import tile_enum_name

    cands, _, _ = emitted_candidates()
    for c in cands:
        assert tile_enum_name(c) in text, c.name


def test_build_output_parsing():
    stderr = ("ptxas info    : Compiling entry function '_ZN7cutlass13device_kernelIN1k' for 'sm_120a'\n"
              "ptxas info    : Used 168 registers, used 1 barriers\n"
              "ptxas info    : Compiling entry function '_ZN7cutlass13device_kernelIN1k' for 'sm_121a'\n"
              "ptxas info    : Used 166 registers\n")
    assert ptxas_registers(stderr) == {"sm_120a": 168, "sm_121a": 166}
    assert first_error('x.cu(3): error: static assertion failed with "Nope"\n') == 'static assertion failed with "Nope"'


def test_resource_usage_parsing():
    """ptxas -v and cuobjdump output in the format nvcc 13.0.88 / cuobjdump 13.2.51 print it for an emitted sm_120a
    unit (names shortened); a helper function's numbers must not be taken for the kernel's."""
    k = "_ZN7cutlass13device_kernelIN1kEEEvNT_6ParamsE"
    stderr = ("ptxas info    : 11 bytes gmem\n"
              "ptxas info    : Function properties for _Z6helperv\n"
              "    64 bytes stack frame, 32 bytes spill stores, 32 bytes spill loads\n"
              f"ptxas info    : Compiling entry function '{k}' for 'sm_120a'\n"
              f"ptxas info    : Function properties for {k}\n"
              "    16 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\n"
              "ptxas info    : Used 119 registers, used 8 barriers\n"
              "ptxas info    : Compile time = 606.030 ms\n")
    assert ptxas_usage(stderr) == {"sm_120a": {"registers": 119, "stack_frame": 16, "spill_stores": 8,
                                               "spill_loads": 12}}
    usage = ("\nFatbin elf code:\n================\narch = sm_120a\ncode version = [1,8]\n\nResource usage:\n Common:\n"
             "  GLOBAL:11 CONSTANT[4]:88\n Function _Z6helperv:\n  REG:200 STACK:64 SHARED:0 LOCAL:64\n"
             f" Function {k}:\n  REG:119 STACK:16 SHARED:1024 LOCAL:16 CONSTANT[2]:16 CONSTANT[0]:3200 TEXTURE:0\n")
    assert resource_usage(usage) == {"sm_120a": {"registers": 119, "stack_bytes": 16, "local_bytes": 16,
                                                 "static_smem": 1024}}
    sass = ("\tcode for sm_120a\narch = sm_120a\n        /*3f90*/   OMMA.SF.16864.F32.E2M1.E2M1.UE4M3.4X R20, R64 ;\n"
            "        /*3fb0*/   OMMA.SF.16864.F32.E2M1.E2M1.UE4M3.4X R24, R64 ;\n        /*4100*/   EXIT ;\n")
    assert mma_counts(sass) == {"sm_120a": 2}


def test_cli_emit_writes_units_and_trtllm_file(tmp_path, capsys):
    assert main(["emit", "--gpu", "rtx-5090", "--model", "gpt-oss-120b", "--dtype", "nvfp4",
                 "--out", str(tmp_path / "cu"), "--trtllm", str(tmp_path / "trt.txt")]) == 0
    units = list((tmp_path / "cu").glob("*.cu"))
    assert units and all("static_assert(sizeof(typename GemmKernel::SharedStorage)" in u.read_text() for u in units)
    assert "CutlassTileConfigSM120" in (tmp_path / "trt.txt").read_text()
    assert main(["emit", "--gpu", "h100", "--model", "qwen3-30b-a3b", "--dtype", "fp8", "--out",
                 str(tmp_path / "h"), "--trtllm", str(tmp_path / "x.txt"), "--cutlass", "4.5.0"]) == 2
    assert "SM120/SM121 only" in capsys.readouterr().err


def test_cli_emit_needs_a_table():
    with pytest.raises(ConfigError):
        from smem_tactics.commands.emit import _table_candidates

        _table_candidates(type("A", (), {"all": False, "gpu": "gb10", "model": None, "dtype": None,
                                         "cutlass": None})())


def _nvcc_for_sm120():
    from cpp_bindings.trees import find_toolchain

    nvcc = find_toolchain().nvcc or shutil.which("nvcc")
    return nvcc


def test_device_compile_sample(tmp_path):
    """CI's device-code sample: two emitted kernels (an NVFP4 swap-AB pingpong 128x32 tile no framework builds, and
    an MXFP8 x MXFP4 one), each for sm_120a and sm_121a, static_asserts included. A missing nvcc is a failure here
    (as a missing CUTLASS tree is for the oracle), not a skip."""
    if _nvcc_for_sm120() is None:
        pytest.fail("nvcc is not installed: this test compiles device code for sm_120a/sm_121a (CUDA 13.0, see .ci/run)")
    from cpp_bindings.trees import resolve_tree

    cands, version, _ = emitted_candidates()
    sample = [next(c for c in cands if c.short().startswith("pp 128x32x128") and c.swap_ab and c.dtype == "nvfp4"),
              next(c for c in cands if c.dtype == "mxfp8xmxfp4" and c.tile[1] == 32)]
    results = build_all(sample, resolve_tree(version=version), tmp_path, jobs=2)
    for r in results:
        assert r.ok, f"{r.name}: {r.error}"
        assert set(r.registers) == {"sm_120a", "sm_121a"}
    # The shipped compile facts of these kernels (smem-tactics compile-facts, one nvcc per target) must be what
    # this compile reports for sm_120a: same unit, same flags, same ptxas, whichever machine compiled them.
    from smem_tactics.compile_facts import facts_for

    nvcc_here = nvcc_release(_nvcc_for_sm120())[0]
    checked = 0
    for c, r in zip(sample, results):
        facts = facts_for(c, version, nvcc=nvcc_here, target="sm_120a")
        if facts is None:
            continue
        checked += 1
        got = r.usage["sm_120a"]
        assert (facts.registers, facts.spill_stores, facts.spill_loads, facts.stack_frame) == \
            (got["registers"], got["spill_stores"], got["spill_loads"], got["stack_frame"]), c.name
    if nvcc_here == "13.0":  # the shipped facts are of nvcc 13.0 and hold both sample kernels
        assert checked == 2


def test_committed_compile_summary_covers_exactly_the_emitted_set():
    """docs/emitted_compile_summary.md (from scripts/compile_emitted.py) lists every kernel the shipped tables emit,
    each compiled for sm_120a and sm_121a; regenerate it when the tables change."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "emitted_compile_summary.md").read_text()
    rows = doc.split("## Kernels")[1].split("## Earlier")[0].splitlines()
    compiled = {r.split("`")[1]: r for r in rows if r.startswith("| `")}
    cands, _, _ = emitted_candidates()
    assert set(compiled) == {c.name for c in cands}
    for c in cands:
        row = compiled[c.name]
        assert row.rstrip().endswith("| yes |") and "sm_120a" in row and "sm_121a" in row
        assert f"| {c.total_bytes} | {c.stages} |" in row
    assert f"**{len(cands)} compiled, 0 failed**" in doc


def _compile_emitted_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "compile_emitted.py"
    spec = importlib.util.spec_from_file_location("compile_emitted", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_summary_from_the_shipped_facts_covers_the_emitted_set(tmp_path):
    """scripts/compile_emitted.py --from-facts: every emitted kernel has sm_120a and sm_121a facts in the shipped
    file, so the summary it writes says all compiled, with the registers of both targets."""
    from smem_tactics.compile_facts import file_name, shipped_dir

    facts = shipped_dir() / file_name("sm120", "4.5.0", "13.0")
    out = tmp_path / "summary.md"
    assert _compile_emitted_script().main(["--from-facts", str(facts), "--summary", str(out)]) == 0
    cands, _, _ = emitted_candidates()
    doc = out.read_text()
    assert f"**{len(cands)} compiled, 0 failed**" in doc
    for c in cands:
        assert f"| `{c.name}` | {c.total_bytes} | {c.stages} | sm_120a: " in doc


def test_summary_from_facts_fails_a_kernel_whose_target_is_missing(tmp_path):
    """A target without a record is a failed kernel (exit 1, named with the missing target), never a pass."""
    import json

    from smem_tactics.compile_facts import file_name, render_facts, shipped_dir

    data = json.loads((shipped_dir() / file_name("sm120", "4.5.0", "13.0")).read_text())
    victim = emitted_candidates()[0][0].name
    records = [r for r in data["records"] if not (r["name"] == victim and r["target"] == "sm_121a")]
    path = tmp_path / "facts.json"
    path.write_text(render_facts(data, records))
    out = tmp_path / "summary.md"
    assert _compile_emitted_script().main(["--from-facts", str(path), "--summary", str(out)]) == 1
    doc = out.read_text()
    assert f"| `{victim}` | sm_121a: no compile facts |" in doc
    assert "1 failed**" in doc
