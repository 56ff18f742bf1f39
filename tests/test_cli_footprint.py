"""The footprint command: flags, TensorRT-LLM tile names, JSON, JSON lines, bad input without tracebacks."""

import json
import subprocess
import sys

import pytest

from smem_tactics.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_and_verdict(capsys):
    code, out, _ = run_cli(capsys, "footprint", "--arch", "sm120", "--a", "mxfp4", "--c", "bf16", "--d", "bf16",
                           "--tile", "128x128x128", "--gpu", "gb10")
    assert code == 1  # a negative verdict the user asked about (issue 10's exit codes); the answer is printed
    assert "102400" in out and "does not fit" in out and "StageCount<4>" in out
    assert "alignment padding" in out and "tensormaps" in out


def test_json_answer_keys(capsys):
    cfg = {"arch": "sm120", "a": "nvfp4", "c": "f16", "d": "e2m1", "tile": [128, 128, 128],
           "fusion": {"op": "LinCombBlockScaleFactor", "sf_vector": 16, "sf_layout": "row", "sf_type": "ue4m3"}}
    code, out, _ = run_cli(capsys, "footprint", "--config", json.dumps(cfg), "--limit", "101376", "--json")
    ans = json.loads(out)
    assert code == 0
    assert ans["total_bytes"] == 87040 and ans["stages"] == 4 and ans["fits"] is True
    assert ans["limit_bytes"] == 101376 and ans["error"] is None
    assert sum(ans["breakdown"].values()) == 87040


def test_jsonl_in_order_with_errors_in_place(tmp_path, capsys):
    lines = [json.dumps({"arch": "sm90", "a": "e4m3", "tile": [128, 128, 128]}), "{not json",
             json.dumps({"arch": "sm120", "a": "nvfp4", "cluster": [2, 1, 1]}),
             json.dumps({"arch": "sm120", "a": "nvfp4", "tile": "CtaShape128x256x64B", "c": "bf16"})]
    f = tmp_path / "cfgs.jsonl"
    f.write_text("\n".join(lines) + "\n")
    code, out, _ = run_cli(capsys, "footprint", "--configs", str(f), "--gpu", "gb10")
    answers = [json.loads(x) for x in out.splitlines()]
    assert len(answers) == 4 and code == 1
    assert answers[0]["total_bytes"] == 215040 and answers[0]["fits"] is False
    assert "malformed JSON" in answers[1]["error"]
    assert "no programmatic multicast" in answers[2]["error"]
    assert answers[3]["total_bytes"] == 98304 and answers[3]["fits"] is True


@pytest.mark.parametrize("argv, needle", [
    (["footprint", "--arch", "sm120", "--a", "nvfp5"], "a: 'nvfp5'"),
    (["footprint", "--arch", "sm120", "--a", "nvfp4", "--tile", "12x"], "tile"),
    (["footprint", "--config", "{oops"], "malformed JSON"),
    (["footprint", "--configs", "/no/such/file"], "configs"),
    (["footprint", "--arch", "sm120", "--a", "nvfp4", "--gpu", "rtx-9090"], "rtx-9090"),
    (["footprint", "--a", "nvfp4"], "--arch"),
    (["verify", "--cutlass", "/no/such/cutlass"], "does not exist"),
    (["verify", "--sample", "0"], "sample"),
    (["verify", "--archs", ",", "--sample", "1"], "--archs"),
    (["footprint", "--config", "[" * 1000 + "]" * 1000], "nested"),
    (["footprint", "--config", "{\"arch\": \"sm120\", \"a\": \"nvfp4\", \"cutlass\": [4, 5, 0]}"], "cutlass"),
    (["footprint", "--gpu", "", "--arch", "sm120", "--a", "nvfp4"], "--gpu"),
    (["footprint", "--config", "{\"arch\": \"sm120\", \"a\": \"nvfp4\"}", "--tile", "128x128x128"], "conflicting"),
    (["footprint", "--gpu", "gb10", "--limit", "1000", "--arch", "sm120", "--a", "nvfp4"], "conflicting"),
    (["footprint", "--limit", "-1", "--arch", "sm120", "--a", "nvfp4"], "--limit"),
    ([], "no command"),
])
def test_bad_input_is_one_clear_line(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and needle in err and "Traceback" not in err


def test_module_entry_point_runs():
    p = subprocess.run([sys.executable, "-m", "smem_tactics", "footprint", "--arch", "sm90", "--a", "bf16",
                        "--tile", "128x128x64", "--limit", "232448", "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["total_bytes"] > 0


def test_import_is_light():
    code = ("import sys, time; t = time.perf_counter(); import smem_tactics; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('torch', 'cuda', 'flashinfer', 'tensorrt_llm', 'triton') if m in sys.modules]; "
            "print(dt, heavy)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    dt, heavy = p.stdout.split(" ", 1)
    assert heavy.strip() == "[]"
    assert float(dt) < 0.5  # ~0.07 s measured; generous for loaded CI machines
