"""Golden nginx.conf per routing case: tests/cases/<case>/nginx.conf (`pytest --update-goldens`).

Compiled with the default options (the IR's addresses and ports, no overrides), so the goldens show
exactly what `meshc compile tests/cases/<case>/input.yaml --target nginx` writes. Compiling twice
must give identical bytes. That nginx accepts these files is proven in tests/e2e/test_nginx_live.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshc.backends import nginx
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import load

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
ALL = sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").is_file())


def _render(case: str) -> str:
    loaded = load([os.path.join("tests", "cases", case, "input.yaml")], Options())
    text, _ = nginx.render(compile_mesh(loaded.mesh))
    return text


@pytest.mark.parametrize("case", ALL)
def test_nginx_golden(case: str, golden, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # file paths in comments and diagnostics are relative, as a user types them
    first = _render(case)
    assert first == _render(case), "compiling twice must give identical bytes"
    golden.check(CASES / case / "nginx.conf", first)
