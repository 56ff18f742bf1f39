"""Tactic tables: round trip, metadata checks (CUTLASS version, schema, footprints), the shipped SM12x set, the CLI
(ranked table + PNG, fast), and bad input."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smem_tactics.cli import main
from smem_tactics.problems import model_names
from smem_tactics.tables import (SHIPPED_DTYPES, SHIPPED_GPUS, TableError, build_table, check_metadata,
                                 emitted_candidates, load_table, save_table, seal, shipped_table_path)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_table():
    return build_table("rtx-5090", "qwen3-30b-a3b", "nvfp4", buckets=["decode-8", "prefill-4096"], top=4)


def _strip(t):
    return {k: v for k, v in t.items() if not k.startswith("_")}


def test_round_trip(tmp_path, small_table):
    paths = save_table(small_table, tmp_path)
    assert [p.suffix for p in paths] == [".json", ".md", ".png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = load_table(paths[0], cutlass="4.5.0")
    assert json.loads(json.dumps(_strip(loaded))) == json.loads(json.dumps(small_table))


def test_cutlass_mismatch_is_refused_with_a_reason(tmp_path, small_table):
    path = save_table(small_table, tmp_path, png=False)[0]
    with pytest.raises(TableError) as e:
        load_table(path, cutlass="4.2.0")
    msg = str(e.value)
    assert "4.5.0" in msg and "4.2.0" in msg and "regenerate" in msg
    data = json.loads(path.read_text())
    data["metadata"]["cutlass_version"] = "4.7.0"  # no such tree installed here
    path.write_text(json.dumps(data))
    if {"4.7.0"} & {v for v, _ in __import__("smem_tactics.tables", fromlist=["x"]).installed_cutlass_versions()}:
        pytest.fail("test assumes CUTLASS 4.7.0 is not installed")
    with pytest.raises(TableError, match="built for CUTLASS 4.7.0, but the installed CUTLASS is"):
        load_table(path)


def test_schema_and_footprint_drift_are_refused(tmp_path, small_table):
    path = save_table(small_table, tmp_path, png=False)[0]
    data = json.loads(path.read_text())
    name = next(iter(data["candidates"]))
    data["candidates"][name]["total_bytes"] += 128
    path.write_text(json.dumps(seal(data)))  # sealed as it is: what a model that changed since generation sees
    with pytest.raises(TableError, match="no longer matches the footprint model"):
        load_table(path, cutlass="4.5.0")
    data["metadata"]["schema"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(TableError, match="schema"):
        load_table(path, cutlass="4.5.0")
    with pytest.raises(TableError, match="no metadata"):
        check_metadata({"sections": []})


def test_every_ranked_entry_fits_and_is_sorted(small_table):
    limit = small_table["metadata"]["limit_bytes"]
    for s in small_table["sections"]:
        times = [e["predicted_us"] for e in s["ranked"]]
        assert times == sorted(times)
        for e in s["ranked"]:
            c = small_table["candidates"][e["candidate"]]
            assert c["total_bytes"] <= limit and e["reason"]


@pytest.mark.parametrize("gpu", SHIPPED_GPUS)
@pytest.mark.parametrize("dtype", SHIPPED_DTYPES)
def test_shipped_tables_load_and_were_verified_by_the_oracle(gpu, dtype):
    for model in model_names():
        t = load_table(shipped_table_path(gpu, model, dtype), cutlass="4.5.0")
        oracle = t["metadata"]["oracle"]
        assert oracle and oracle["matched"] == oracle["candidates"] == len(t["candidates"])
        assert all(c["oracle"]["match"] for c in t["candidates"].values())
        assert shipped_table_path(gpu, model, dtype).with_suffix(".png").is_file()


@pytest.mark.parametrize("gpu", SHIPPED_GPUS)
@pytest.mark.parametrize("model", ["qwen3-30b-a3b", "gpt-oss-120b"])
def test_nvfp4_tables_hold_oracle_verified_configs_trtllm_1_2_does_not_build(gpu, model):
    t = load_table(shipped_table_path(gpu, model, "nvfp4"), cutlass="4.5.0")
    new = [c for c in t["candidates"].values() if c["frameworks"]["trtllm_1_2"] is False and c["oracle"]["match"]]
    assert len(new) >= 5
    new_tiles = {tuple(c["config"]["tile"]) for c in new} - {(128, 128, 256), (128, 128, 128), (128, 256, 128),
                                                              (256, 128, 128)}
    assert new_tiles, "new tiles, not only new stage counts"
    assert all(c["frameworks"]["why_new"] for c in new)


def test_emitted_set_is_the_top_of_every_sm12x_bucket():
    cands, version, count = emitted_candidates()
    assert version == "4.5.0" and count == len(SHIPPED_GPUS) * len(SHIPPED_DTYPES) * len(model_names())
    assert all(c.config.arch.is_sm12x and c.total_bytes <= 101376 for c in cands)


def test_cli_prints_a_ranked_table_and_writes_its_png_quickly(tmp_path):
    png = tmp_path / "t.png"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "smem_tactics", "table", "--gpu", "gb10", "--model",
                           "qwen3-30b-a3b", "--dtype", "nvfp4", "--png", str(png)], capture_output=True, text=True,
                          cwd=ROOT)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "decode-8 GEMM1" in out and "prefill-4096 GEMM2" in out and "why #1:" in out
    assert "shipped table" in out and png.read_bytes()[:4] == b"\x89PNG"
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_cli_computes_tables_that_do_not_ship(capsys, tmp_path):
    assert main(["table", "--gpu", "h100", "--model", "qwen3-30b-a3b", "--dtype", "fp8", "--bucket", "decode-8",
                 "--gemm", "1", "--top", "3", "--no-png", "--cutlass", "4.5.0"]) == 0
    out = capsys.readouterr().out
    assert "computed now" in out and "swapAB" in out


@pytest.mark.parametrize("argv,needle", [
    (["--gpu", "tpu-v5", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4"], "gpu"),
    (["--gpu", "gb10", "--model", "llama-2-7b", "--dtype", "nvfp4"], "model"),
    (["--gpu", "gb10", "--model", "qwen3-30b-a3b", "--dtype", "int4"], "dtype"),
    (["--gpu", "gb10", "--model", "qwen3-30b-a3b", "--dtype", "bf16"], "not available on sm121"),
    (["--gpu", "gb10", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4", "--bucket", "lunch"], "bucket"),
    (["--gpu", "gb10", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4", "--limit", "9000"], "no nvfp4 config"),
    (["--gpu", "gb10", "--model", "qwen3-30b-a3b", "--dtype", "nvfp4", "--cutlass", "4.2.0"], "built for CUTLASS"),
])
def test_cli_bad_input_is_a_clear_error(capsys, argv, needle):
    assert main(["table", *argv, "--no-png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err and "Traceback" not in err


@pytest.mark.parametrize("gpu,dtype", [("h100", "fp8"), ("b200", "nvfp4")])
def test_non_sm12x_tables_build_and_render(tmp_path, gpu, dtype):
    t = build_table(gpu, "gpt-oss-120b", dtype, buckets=["decode-8"], top=3)
    paths = save_table(t, tmp_path, png=False)
    assert "decode-8 GEMM1" in paths[1].read_text()
    assert all(c["total_bytes"] <= 232448 for c in t["candidates"].values())
