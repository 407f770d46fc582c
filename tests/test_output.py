"""Output files are written atomically; inputs are never touched; empty input is a usage error."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import render
from meshc.diagnostics import Diagnostic, Severity, Span
from meshc.output import OutputError, write_atomic
from meshc.render import indented_json
from tests.test_cli import BROKEN, run


def test_write_replaces_the_file_in_one_step_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_an_interrupted_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.yaml"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder/out.json", "."])
def test_unwritable_targets_are_one_line_errors(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(tmp_path / where)
    code, out, err = run(["lint", "--no-config", "-f", "json", "-o", target, BROKEN], monkeypatch)
    assert code == 2
    assert out == ""
    assert err.startswith("meshc: error: cannot write `") and err.count("\n") == 1


def test_lint_never_modifies_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    files = sorted((ROOT / BROKEN).iterdir())
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files}
    for fmt in ("text", "full", "json", "sarif"):
        run(["lint", "--no-config", "-f", fmt, BROKEN], monkeypatch)
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files} == before


def test_a_folder_without_yaml_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    code, _, err = run(["lint", str(tmp_path)], monkeypatch)
    assert code == 2
    assert err == f"meshc: error: no .yaml, .yml or .json files under `{tmp_path}`\n"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(_JSON)
def test_indented_json_is_byte_for_byte_json_dumps(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_a_large_json_report_is_rendered_in_memory_close_to_its_size() -> None:
    """Found by the fuzz bombs: json.dumps(indent=2) needed ~10 bytes per byte of a 26 MB report."""
    diags = [
        Diagnostic("MC005", "unknown-field", Severity.ERROR, f"unknown field `f{i}` in `spec`", Span("a.yaml", i, 3))
        for i in range(5_000)
    ]
    tracemalloc.start()
    try:
        text = render.json_(diags)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert json.loads(text)[4_999]["line"] == 4_999
    assert peak < 4 * len(text)
