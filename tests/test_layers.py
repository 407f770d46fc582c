"""The layers hold: import contracts kept, no private names imported across modules, stdin read by the CLI only."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "meshc"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is required (pip install -e '.[test]')")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and "BROKEN" not in proc.stdout


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "meshc":
            out += [f"line {node.lineno}: {node.module}.{a.name}" for a in node.names if _private(a.name)]
    return out


def test_no_module_imports_another_modules_private_names() -> None:
    found = {str(p.relative_to(ROOT)): _private_imports(ast.parse(p.read_text(encoding="utf-8"))) for p in _modules()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_checker_sees_a_private_import() -> None:
    assert _private_imports(ast.parse("from meshc.compile import _VS\nfrom meshc import _x, __version__\n")) == [
        "line 1: meshc.compile._VS",
        "line 2: meshc._x",
    ]


def _reads_stdin(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("stdin", "__stdin__")
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]


def test_only_the_cli_reads_standard_input() -> None:
    assert _reads_stdin(ast.parse("import sys\ndata = sys.stdin.buffer.read()\n")) == [2]
    found = {
        str(p.relative_to(ROOT)): lines
        for p in _modules()
        if p.name != "cli.py" and (lines := _reads_stdin(ast.parse(p.read_text(encoding="utf-8"))))
    }
    assert found == {}
