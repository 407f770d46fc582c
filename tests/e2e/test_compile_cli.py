"""`meshc compile` treats every target the same: gaps, --strict, the summary, -o, and --check on the real proxies.

- a gap is reported with file:line and its `help:` line, the configuration is written, and the last
  line counts the gaps (`meshc: N gaps: ...`); with `--strict` nothing is written and the exit code
  is 1, for Envoy as for nginx;
- an Envoy bootstrap written with `-o` must end in .yaml, .yml or .json (JSON for .json: Envoy picks
  its parser by the extension), anything else is a usage error before anything is read;
- `--check` runs `envoy --mode validate` / `nginx -t` on what was written: exit 1 when it refuses,
  a warning when the program is not installed.

These tests need the real Envoy and nginx and FAIL without them.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from meshc.cli import main
from tests.e2e import envoy as envoy_harness
from tests.e2e import nginx as ngx

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = str(ROOT / "examples" / "bookinfo")


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["compile", "--no-config", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("target", ["envoy", "nginx"])
def test_gaps_are_written_and_counted_alike(target: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / ("out.yaml" if target == "envoy" else "nginx.conf")
    code, out, err = _run([BOOKINFO, "-t", target, "-o", str(out_file)], capsys)
    assert code == 0 and out == "" and out_file.is_file()
    lines = err.splitlines()
    diagnostics = [line for line in lines if " [warning] " in line]
    assert diagnostics and all(line.split(":")[1].isdigit() for line in diagnostics), err
    assert any(line.startswith("  help: ") for line in lines), err
    n = len(diagnostics)
    assert lines[-1].startswith(f"meshc: {n} gaps: the {target} configuration differs from Istio where shown ("), err


@pytest.mark.parametrize("target", ["envoy", "nginx"])
def test_strict_writes_nothing_for_every_target(
    target: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / ("out.yaml" if target == "envoy" else "nginx.conf")
    code, out, err = _run([BOOKINFO, "-t", target, "--strict", "-o", str(out_file)], capsys)
    assert code == 1 and out == "" and not out_file.exists()
    assert err.splitlines()[-1].startswith("meshc: ") and "gaps: --strict: nothing written" in err
    code, out, err = _run([BOOKINFO, "-t", target, "--strict"], capsys)
    assert code == 1 and out == ""  # not on stdout either


@pytest.mark.parametrize("name", ["out.envoy", "bootstrap", "out.yaml.bak", "conf.txt"])
def test_envoy_output_needs_an_extension_envoy_reads(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / name
    code, out, err = _run([BOOKINFO, "-t", "envoy", "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and not out_file.exists()
    assert err.count("\n") == 1 and err.startswith("meshc: error: ")
    assert ".yaml, .yml or .json" in err


def test_envoy_json_output_is_json_that_envoy_reads(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    as_json, as_yaml = tmp_path / "boot.json", tmp_path / "boot.yml"
    assert _run([BOOKINFO, "-t", "envoy", "-o", str(as_json), "--check"], capsys)[0] == 0
    code, _, err = _run([BOOKINFO, "-t", "envoy", "-o", str(as_yaml), "--check"], capsys)
    assert code == 0 and "`envoy --mode validate" in err and "accepts it" in err
    assert json.loads(as_json.read_text(encoding="utf-8")) == yaml.safe_load(as_yaml.read_text(encoding="utf-8"))
    assert envoy_harness.validate(as_yaml.read_text(encoding="utf-8")).ok


@pytest.mark.parametrize("target", ["envoy", "nginx"])
def test_check_accepts_what_the_proxy_accepts(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([BOOKINFO, "-t", target, "--check"], capsys)  # stdout: checked from a temporary file
    assert code == 0 and out
    assert err.splitlines()[-1].startswith("meshc: --check: `") and err.endswith("accepts it\n"), err
    if target == "nginx":
        assert ngx.validate(out).ok


def _fake_validator(folder: Path, name: str, message: str) -> None:
    """A program `name` in `folder` that prints `message` and exits 1, as a refusing validator does."""
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("target", "name", "message"),
    [
        ("envoy", "envoy", "[critical][main] error initializing configuration: Not supported field in StreamInfo: FOO"),
        ("nginx", "nginx", 'nginx: [emerg] unknown directive "foo" in /x/nginx.conf:3'),
    ],
)
def test_check_fails_when_the_proxy_refuses(
    target: str,
    name: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_validator(tmp_path, name, message)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    out_file = tmp_path / ("out.yaml" if target == "envoy" else "nginx.conf")
    code, _, err = _run([BOOKINFO, "-t", target, "-o", str(out_file), "--check"], capsys)
    assert code == 1 and out_file.is_file()  # written, then refused
    last = err.splitlines()[-1]
    assert last.startswith(f"meshc: error: --check: `{name} ") and last.endswith(f"` rejects it: {message}"), err


@pytest.mark.parametrize("target", ["envoy", "nginx"])
def test_check_says_when_the_proxy_is_missing(
    target: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    module = importlib.import_module(f"meshc.backends.{target}")
    monkeypatch.setattr(module, "find_binary", lambda *names: None)
    code, out, err = _run([BOOKINFO, "-t", target, "--check"], capsys)
    assert code == 0 and out
    assert err.splitlines()[-1] == (
        f"meshc: warning: --check: `{target}` is not installed, so the configuration was not validated"
    )


def test_check_on_the_ir_says_there_is_no_validator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([BOOKINFO, "-t", "ir", "--check"], capsys)
    assert code == 0 and out
    assert "nothing validates the `ir` target but meshc itself" in err
