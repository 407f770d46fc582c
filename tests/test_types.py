"""`mypy meshc` passes with pyproject's settings (Optional dereferences and re-typed names are errors)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_package() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "No module named mypy" not in proc.stderr, "mypy is required (pip install -e '.[test]')"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Success: no issues found"), proc.stdout


def test_the_settings_catch_an_optional_dereference_and_a_retyped_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import re\n"
        "def f(text: str) -> str:\n"
        "    m = re.match('a', text)\n"
        "    return m.group(0)\n"
        "def g(items: list[int]) -> int:\n"
        "    total = 0\n"
        "    for total in ['x']:\n"
        "        pass\n"
        "    return len(items)\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(bad),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout
    assert "[union-attr]" in proc.stdout and "[assignment]" in proc.stdout, proc.stdout
