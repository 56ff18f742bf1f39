"""Tactic tables are integrity-checked on load (issue 10.7): a sealed table whose stored numbers were edited is
refused with a reason naming the file; what is cheap to recompute is recomputed; damaged files are field errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smem_tactics.errors import ConfigError
from smem_tactics.tables import (TableError, load_table, save_table, seal, shipped_dir, table_digest)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(shipped_dir().glob("*.json"))


@pytest.fixture()
def table_file(tmp_path):
    """A copy of a shipped table (sealed by the generator)."""
    src = shipped_dir() / "gb10__qwen3-30b-a3b__nvfp4.json"
    dst = tmp_path / src.name
    dst.write_text(src.read_text())
    return dst


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return data


def test_every_shipped_table_is_sealed_and_loads():
    assert len(SHIPPED) >= 30
    for path in SHIPPED:
        data = json.loads(path.read_text())
        assert data["metadata"]["integrity"] == table_digest(data), path.name
    load_table(SHIPPED[0], cutlass=json.loads(SHIPPED[0].read_text())["metadata"]["cutlass_version"])


def _first_candidate(data):
    return data["candidates"][next(iter(data["candidates"]))]


@pytest.mark.parametrize("change", [
    lambda d: _first_candidate(d)["breakdown"].update(A=_first_candidate(d)["breakdown"]["A"] - 1024),
    lambda d: d["metadata"].update(limit_bytes=d["metadata"]["limit_bytes"] + 4096),
    lambda d: d["sections"][0]["ranked"][0].update(predicted_us=1.0),
    lambda d: d["sections"][0]["ranked"].reverse(),
], ids=["breakdown", "limit", "predicted_us", "order"])
def test_an_edited_table_is_refused_naming_the_file(table_file, change):
    _edit(table_file, change)
    with pytest.raises(TableError) as e:
        load_table(table_file, cutlass="4.5.0")
    assert isinstance(e.value, ConfigError) and e.value.field == table_file.name
    assert table_file.name in str(e.value) and "edited" in str(e.value)


def test_an_unsealed_table_is_refused_and_reseal_fixes_it(table_file):
    _edit(table_file, lambda d: d["metadata"].pop("integrity"))
    with pytest.raises(TableError, match="no integrity seal"):
        load_table(table_file, cutlass="4.5.0")
    before = table_file.read_text()
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_tactic_table.py"), "--reseal", str(table_file)],
                       capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    after = table_file.read_text()
    assert after != before and json.loads(after)["metadata"]["integrity"].startswith("sha256:")
    load_table(table_file, cutlass="4.5.0")


def test_recomputation_catches_a_resealed_edit(table_file):
    """An edit that was resealed (a hand-made table) still has to agree with the model where that is cheap to check."""
    def shrink_limit(d):
        d["metadata"]["limit_bytes"] = 1024
    data = _edit(table_file, shrink_limit)
    table_file.write_text(json.dumps(seal(data)))
    with pytest.raises(TableError, match="more than the table's limit 1024 B"):
        load_table(table_file, cutlass="4.5.0")

    def move_bytes(d):
        b = _first_candidate(d)["breakdown"]
        b["A"] -= 128
        b["B"] += 128
    data = _edit(table_file, move_bytes)
    table_file.write_text(json.dumps(seal(data)))
    with pytest.raises(TableError, match="breakdown"):
        load_table(table_file, cutlass="4.5.0")


@pytest.mark.parametrize("content", [b"", b"\xff\xfe", b"[1, 2]", b"{" * 200 + b"}" * 200, b'{"metadata": 3}',
                                     b'{"metadata": {"schema": 1, "cutlass_version": "4.5.0"}}', b"1" * 5000])
def test_damaged_files_are_field_errors(tmp_path, content):
    path = tmp_path / "t.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError):
        load_table(path, cutlass="4.5.0")


def test_damaged_sections_are_field_errors(table_file):
    for change in (lambda d: d["sections"][0].pop("ranked"),
                   lambda d: d["sections"][0]["ranked"][0].update(candidate="nope"),
                   lambda d: d["candidates"].update({next(iter(d["candidates"])): []}),
                   lambda d: d["metadata"]["gpu"].update(sms="48")):
        src = table_file.read_text()
        data = _edit(table_file, change)
        table_file.write_text(json.dumps(seal(data)))
        with pytest.raises(TableError):
            load_table(table_file, cutlass="4.5.0")
        table_file.write_text(src)


def test_save_table_seals(tmp_path, table_file):
    table = load_table(table_file, cutlass="4.5.0")
    table["metadata"].pop("integrity")
    path = save_table(table, tmp_path / "out", png=False)[0]
    assert json.loads(path.read_text())["metadata"]["integrity"] == table_digest(json.loads(path.read_text()))
