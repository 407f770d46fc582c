"""Golden cases for routing: tests/cases/<case>/ input.yaml → ir.yaml and route.txt.

Each case folder holds `input.yaml` (first line `# Proves: ...`) and optionally `requests.yaml`, a
list of `meshc route` argument strings. `ir.yaml` is the full compile; `route.txt` holds, for each
request, the command, its text output (plain, width 120), and its stderr and exit code when they are
not empty/0. `pytest --update-goldens` rewrites them. Every case also checks that compiling twice
gives identical bytes and that each request's `--format json` output follows route.schema.json.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from meshc import ir
from meshc.cli import main
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import load

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
CONTRACTS = (ROOT / ".." / "shared" / "docs" / "contracts").resolve()
ALL = sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").is_file()) if CASES.is_dir() else []


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths in the goldens are relative to the repository root, as a user would type them.
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _input(case: str) -> str:
    return os.path.join("tests", "cases", case, "input.yaml")


def _compile(case: str) -> str:
    loaded = load([_input(case)], Options())
    return ir.to_yaml(compile_mesh(loaded.mesh))


@pytest.mark.parametrize("case", ALL)
def test_proves_line(case: str) -> None:
    first = (CASES / case / "input.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Proves: "), f"{case}/input.yaml must start with `# Proves: ...`"


@pytest.mark.parametrize("case", ALL)
def test_ir_golden(case: str, golden) -> None:
    first = _compile(case)
    second = _compile(case)
    assert first == second, "compiling twice must give identical bytes"
    golden.check(CASES / case / "ir.yaml", first)
    assert ir.to_dict(ir.from_dict(ir.IR, yaml.safe_load(first))) == yaml.safe_load(first), "ir.yaml round-trips"


def _requests(case: str) -> list[list[str]]:
    path = CASES / case / "requests.yaml"
    if not path.is_file():
        return []
    return [shlex.split(item) for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", [c for c in ALL if (CASES / c / "requests.yaml").is_file()])
def test_route_golden(case: str, golden, capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads((CONTRACTS / "route.schema.json").read_text(encoding="utf-8"))
    parts = []
    for args in _requests(case):
        code, out, err = _run(["route", _input(case), *args], capsys)
        block = f"$ meshc route {shlex.join(args)}\n{out}"
        if err:
            block += "".join(f"! {line}\n" for line in err.splitlines())
        if code:
            block += f"[exit {code}]\n"
        parts.append(block)
        if code == 0:
            jcode, jout, _ = _run(["route", _input(case), *args, "--format", "json"], capsys)
            assert jcode == 0
            jsonschema.validate(json.loads(jout), schema)
    golden.check(CASES / case / "route.txt", "\n".join(parts))
