"""What the command line says: --version, help metavars, bad values, flag suggestions, quiet success."""

from __future__ import annotations

import re

import pytest

from meshc import __version__
from meshc.cli import nearest_flag
from tests.test_cli import BOOKINFO, run

COMMANDS = ["lint", "rules", "rule", "schema", "route", "compile", "diff", "graph", "test", "completion"]


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run([flag], monkeypatch) == (0, f"meshc {__version__}\n", "")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_what_each_value_is_not_a_python_type(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run([command, "--help"], monkeypatch)
    assert code == 0
    assert not re.search(r"<(list\[\w+\]|str|int|path|bool)>", out), out


def test_help_metavars(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lint, _ = run(["lint", "--help"], monkeypatch)
    for shown in ("[PATHS]...", "--select CODES", "--ignore CODES", "--config FILE", "-o, --output FILE"):
        assert shown in lint, shown
    _, route, _ = run(["route", "--help"], monkeypatch)
    for shown in ("--host HOST[:PORT]", "--header K=V", "--port PORT", "--source-namespace NS"):
        assert shown in route, shown
    _, compile_, _ = run(["compile", "--help"], monkeypatch)
    assert "--upstream CLUSTER=HOST:PORT[,HOST:PORT]" in compile_ and "--overrides FILE" in compile_


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["lint", "-f", "xml"],
            "invalid value for --format: 'xml' (choose from text, full, json, github, sarif, junit)",
        ),
        (["lint", "--fail-on", "x"], "invalid value for --fail-on: 'x' (choose from error, warning, info)"),
        (["lint", "--color", "x"], "invalid value for --color: 'x' (choose from auto, always, never)"),
        (["route", "--host", "a", "-f", "yaml"], "invalid value for --format: 'yaml' (choose from text, json)"),
        (["diff", "-f", "html"], "invalid value for --format: 'html' (choose from text, json, markdown)"),
        (["graph", "-f", "svg"], "invalid value for --format: 'svg' (choose from mermaid, dot)"),
        (["compile", "-t", "haproxy"], "invalid value for --target: 'haproxy' (choose from ir, envoy, nginx)"),
    ],
)
def test_bad_values_name_the_choices(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run([*args, BOOKINFO], monkeypatch)
    assert (code, out, err) == (2, "", f"meshc: error: {message}\n")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("--formt", "--format"),
        ("--fromat", "--format"),  # a swap of two letters is one edit
        ("--selcet", "--select"),
        ("--ignroe", "--ignore"),
        ("--complete-registy", "--complete-registry"),
        ("--fail", "--fail-on"),  # the only flag it begins
        ("--frobnicate", None),
        ("--form", "--format"),
        ("--x", None),
        ("--conf", "--config"),  # the only flag it begins
        ("--co", None),  # begins --config, --complete-registry and --color
    ],
)
def test_a_flag_is_suggested_only_when_close(typed: str, meant: str | None) -> None:
    flags = ["--format", "--select", "--ignore", "--fail-on", "--config", "--no-config", "--complete-registry"]
    flags += ["--cluster-domain", "--show-skipped", "--verbose", "--color", "--output", "--help"]
    assert nearest_flag(typed, flags) == meant


def test_unknown_flag_message(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, err = run(["lint", "--formt", "text", BOOKINFO], monkeypatch)
    assert err == "meshc: error: no such option: --formt (did you mean --format?) (see `meshc lint --help`)\n"
    _, _, err = run(["lint", "--frobnicate", BOOKINFO], monkeypatch)
    assert err == "meshc: error: no such option: --frobnicate (see `meshc lint --help`)\n"


def test_a_clean_lint_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """One line for the result, one short line for the checks the input could not feed (pre-commit prints it)."""
    code, out, err = run(["lint", "--no-config", "examples/bookinfo/virtual-services.yaml"], monkeypatch)
    assert code == 0 and err == ""
    first, second = out.splitlines()
    assert first == "All checks passed: 4 resources in 1 file."
    assert re.fullmatch(
        r"\d+ checks skipped: no Service, DestinationRule, Gateway, workload, gateway workload, Namespace or "
        r"Secret in the input; --show-skipped for details\.",
        second,
    ), second
    _, verbose, _ = run(["lint", "--no-config", "-v", "examples/bookinfo/virtual-services.yaml"], monkeypatch)
    assert "the input has no Service or ServiceEntry: MC101, MC103, MC104, MC108" in verbose
    assert verbose.count("\n") > 5


def test_every_skip_reason_has_a_word_for_the_short_line() -> None:
    """A new registry capability needs its word in render._CAPABILITY_NOUNS (`no Gateway, ... in the input`)."""
    from meshc import render
    from meshc.mesh import Mesh

    assert set(Mesh.CAPABILITY_REASONS) <= set(render._CAPABILITY_NOUNS)
