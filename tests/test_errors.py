"""Every user error of every command: one line naming the problem, exit code 2, never a traceback.

And internal errors: one line too, unless MESHC_DEBUG=1, which shows the traceback.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meshc.cli import main
from tests.conftest import ROOT
from tests.test_cli import run

BOOKINFO = str(ROOT / "examples" / "bookinfo")
TESTS = str(ROOT / "examples" / "bookinfo-tests")

# How each command is called on a valid input; `{}` stands for the paths under test.
COMMANDS: dict[str, Callable[[list[str]], list[str]]] = {
    "lint": lambda p: ["lint", "--no-config", *p],
    "route": lambda p: ["route", "--no-config", "--host", "reviews", *p],
    "compile": lambda p: ["compile", "--no-config", "--target", "ir", *p],
    "graph": lambda p: ["graph", "--no-config", *p],
    "diff": lambda p: ["diff", "--no-config", BOOKINFO, *p] if len(p) == 1 else ["diff", "--no-config", *p],
    "test": lambda p: ["test", *p, "--config", BOOKINFO],
}


def _files(tmp: Path) -> dict[str, str]:
    (tmp / "empty.yaml").write_text("")
    (tmp / "comments.yaml").write_text("# nothing here\n---\n...\n")
    (tmp / "notes").mkdir()
    (tmp / "notes" / "readme.txt").write_text("hi")
    return {
        "empty": str(tmp / "empty.yaml"),
        "comments": str(tmp / "comments.yaml"),
        "no-yaml": str(tmp / "notes"),
        "missing": str(tmp / "missing.yaml"),
    }


def check_usage_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert out == ""
    assert err.startswith("meshc: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# --- errors every command shares -----------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("problem", "fragment"),
    [
        ("missing", "no such file or folder: `"),
        ("no-yaml", "no .yaml, .yml or .json files under `"),
        ("empty", "the input is empty: no YAML document in `"),
        ("comments", "the input is empty: no YAML document in `"),
    ],
)
def test_bad_input_paths(
    command: str, problem: str, fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _files(tmp_path)[problem]
    args = COMMANDS[command]([path])
    if command == "diff" and problem in ("empty", "comments"):
        args = ["diff", "--no-config", path, path]  # one empty side is a comparison with nothing
    if command == "test" and problem in ("empty", "comments"):
        args = ["test", path]
    code, out, err = run(args, monkeypatch)
    check_usage_error(code, out, err, fragment, path if problem != "missing" or command != "test" else "")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_empty_stdin(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = COMMANDS[command](["-"]) if command != "diff" else ["diff", "--no-config", "-", "-"]
    code, out, err = run(args, monkeypatch, stdin=b"\n# only a comment\n")
    expected = (
        "can be given only once" if command == "diff" else "the input is empty: no YAML document in standard input"
    )
    check_usage_error(code, out, err, expected)


def test_diff_against_nothing_is_a_comparison(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = _files(tmp_path)["empty"]
    code, out, err = run(["diff", "--no-config", empty, BOOKINFO], monkeypatch)
    assert code == 1 and "Traceback" not in err and out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unreadable_folder_inside_the_input(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder that cannot be listed is an error, not silently skipped (simulated when running as root)."""
    top = tmp_path / "cfg"
    (top / "locked").mkdir(parents=True)
    (top / "a.yaml").write_text("kind: Service\n")
    (top / "locked" / "b.yaml").write_text("kind: Service\n")
    locked = str(top / "locked")
    if os.geteuid() == 0:
        real = os.scandir

        def scandir(path: Any = ".") -> Any:
            if os.fspath(path) == locked:
                raise PermissionError(13, "Permission denied", locked)
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        (top / "locked").chmod(0)
    try:
        code, out, err = run(COMMANDS[command]([str(top)]), monkeypatch)
    finally:
        (top / "locked").chmod(0o755)
    check_usage_error(code, out, err, f"cannot read folder `{locked}`: Permission denied")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unreadable_file(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("kind: Service\n")
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(path) else real(p, mode))
    else:
        path.chmod(0)
    code, out, err = run(COMMANDS[command]([str(path)]), monkeypatch)
    check_usage_error(code, out, err, f"cannot read `{path}`: permission denied")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unknown_flag(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run([*COMMANDS[command]([BOOKINFO if command != "test" else TESTS]), "--frobnicate"], monkeypatch)
    check_usage_error(code, out, err, "no such option: --frobnicate (see", f"(see `meshc {command} --help`)")
    assert "did you mean" not in err  # nothing is close to --frobnicate


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_format_value(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = [*COMMANDS[command]([BOOKINFO if command != "test" else TESTS]), "--format", "xml"]
    if command == "compile":  # compile has no --format; its choice is the target
        args = ["compile", "--no-config", "--target", "xml", BOOKINFO]
    code, out, err = run(args, monkeypatch)
    flag, choices = ("--target", "ir, envoy, nginx") if command == "compile" else ("--format", "")
    check_usage_error(code, out, err, f"meshc: error: invalid value for {flag}: 'xml' (choose from {choices}")


@pytest.mark.parametrize(
    "command", ["lint", "route", "compile", "graph", "diff"]
)  # `meshc test` reads no configuration file
def test_missing_configuration_file(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = [*COMMANDS[command]([BOOKINFO]), "--config", "missing.toml"]
    if "--no-config" in args:
        args.remove("--no-config")
    code, out, err = run(args, monkeypatch)
    check_usage_error(code, out, err, "configuration file `missing.toml` does")


@pytest.mark.parametrize("command", ["lint", "compile", "test"])
@pytest.mark.parametrize("where", ["missing-folder/out.txt", "."])
def test_unwritable_output(command: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(tmp_path / where)
    code, out, err = run([*COMMANDS[command]([BOOKINFO if command != "test" else TESTS]), "-o", target], monkeypatch)
    check_usage_error(code, out, err, f"cannot write `{target}`")


# --- errors of one command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["route", "--no-config", BOOKINFO], "--host is required"),
        (["route", "--no-config", "--host", "reviews", "--port", "abc", BOOKINFO], "invalid value for --port:"),
        (["route", "--no-config", "--host", "reviews", "--port", "0", BOOKINFO], "--port 0 is not a port number"),
        (["route", "--no-config", "--host", "reviews", "--path", "x", BOOKINFO], "--path `x` must start with `/`"),
        (["route", "--no-config", "--host", "reviews", "--header", "novalue", BOOKINFO], "--header `novalue` is not"),
        (["route", "--no-config", "--host", "reviews", "--header", "a\nb", BOOKINFO], "--header `a\\nb` is not"),
        (["route", "--no-config", "--host", "reviews", "--gateway", "a/b/c", BOOKINFO], "gateway"),
        (
            ["route", "--no-config", "--host", "reviews", "-f", "yaml", BOOKINFO],
            "invalid value for --format: 'yaml' (choose from text, json)",
        ),
        (["compile", "--no-config", BOOKINFO], "--target is required"),
        (["compile", "--no-config", "--target", "nope", BOOKINFO], "invalid value for --target: 'nope'"),
        (["compile", "--no-config", "-t", "ir", "--source-labels", "x", BOOKINFO], "--source-labels `x` is not"),
        (["compile", "--no-config", "--target"], "option '--target' requires an argument"),
        (["compile", "--no-config", "-t", "ir", str(ROOT / "examples" / "broken")], "the input has errors"),
        (["compile", "--no-config", "-t", "envoy", "--context", "nope", BOOKINFO], "--context `nope` names no proxy"),
        (["compile", "--no-config", "-t", "nginx", "--context", "nope", BOOKINFO], "--context `nope` names no proxy"),
        (
            ["compile", "--no-config", "-t", "nginx", "--port-offset", "-5", BOOKINFO],
            "--port-offset -5 must be 0-65535",
        ),
        (["compile", "--no-config", "-t", "envoy", "--port-offset", "70000", BOOKINFO], "must be 0-65535"),
        (["compile", "--no-config", "-t", "envoy", "--port-map", "80", BOOKINFO], "bad port mapping `80`"),
        (["compile", "--no-config", "-t", "nginx", "--upstream", "nope", BOOKINFO], "bad upstream `nope`"),
        (["compile", "--no-config", "-t", "nginx", "--resolver-valid", "abc", BOOKINFO], "bad duration `abc`"),
        (["compile", "--no-config", "-t", "envoy", "--admin-port", "0", BOOKINFO], "port 0 is not a port number"),
        (["compile", "--no-config", "-t", "envoy", "--overrides", "missing.yaml", BOOKINFO], "no such file or folder"),
        (["compile", "--no-config", "-t", "ir", "--bind", "127.0.0.1", BOOKINFO], "apply to --target envoy and nginx"),
        (["compile", "--no-config", "-t", "envoy", "--resolver", "1.1.1.1", BOOKINFO], "apply to --target nginx"),
        (["test"], "missing argument"),
        (["test", TESTS, "--format", "tap"], "invalid value for --format: 'tap' (choose from text, json, junit)"),
        (["diff", "--no-config", BOOKINFO], "expected OLD and NEW"),
        (["diff", "--no-config", "--base", "no-such-revision", BOOKINFO], "unknown git revision `no-such-revision`"),
        (["diff", "--no-config", "--base", "HEAD\n~1", BOOKINFO], "unknown git revision `HEAD\\n~1`"),
        (["diff", "--no-config", "--base", "--output=x", BOOKINFO], "unknown git revision `--output=x`"),
        (["lint", "--no-config", "--select", "MC999", BOOKINFO], "no rule matches `MC999`"),
        (
            ["lint", "--no-config", "--fail-on", "fatal", BOOKINFO],
            "invalid value for --fail-on: 'fatal' (choose from error, warning, info)",
        ),
        (["lint", "--no-config", "a\nb\x1b[2J"], "no such file or folder: `a\\nb\\x1b[2J`"),
        (
            ["graph", "--no-config", "-f", "png", BOOKINFO],
            "invalid value for --format: 'png' (choose from mermaid, dot)",
        ),
        (["rule", "nope"], "no rule matches `nope`"),
        (["schema", "Nope"], "unknown kind `Nope`"),
        (["frobnicate"], "no such command 'frobnicate'"),
    ],
    ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None,
)
def test_command_specific_errors(args: list[str], fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(args, monkeypatch)
    check_usage_error(code, out, err, fragment)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"\xff\xfe\x00garbage", "tests.yaml:1:"),
        (b"tests: [\n", "tests.yaml:2:"),
        (b"- just\n- a list\n", "a test file holds a mapping"),
        (b"kind: Service\n", "not a test file"),
        (b"tests:\n- name: x\n  request: {host: a, heders: {}}\n  expect: {action: route}\n", "tests.yaml:3:"),
        (b"tests: []\n", "no test cases in `"),
    ],
)
def test_malformed_test_files(text: bytes, fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tests.yaml"
    path.write_bytes(text)
    code, out, err = run(["test", str(path), "--config", BOOKINFO], monkeypatch)
    check_usage_error(code, out, err, fragment)


def test_diff_base_with_a_path_outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text("kind: Service\n")
    code, out, err = run(["diff", "--no-config", "--base", "HEAD", str(tmp_path / "a.yaml")], monkeypatch)
    check_usage_error(code, out, err, "is outside the git repository at")


@pytest.mark.parametrize("name", ["x" * 5000, "a/" + "b" * 300 + "/c"])
def test_a_config_path_that_cannot_be_looked_up(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the long fuzz profile: a test file's `config:` too long for the file system was an internal error."""
    path = tmp_path / "tests.yaml"
    path.write_text(f"config: {name}\ntests:\n- name: a\n  request: {{host: a}}\n  expect: {{action: route}}\n")
    out_, err_ = io.StringIO(), io.StringIO()
    monkeypatch.chdir(tmp_path)  # `config:` names configuration inside the current folder
    monkeypatch.setattr(sys, "stdout", out_)
    monkeypatch.setattr(sys, "stderr", err_)
    code, out, err = main(["test", "tests.yaml"]), out_.getvalue(), err_.getvalue()
    assert code == 1 and "internal error" not in err and "Traceback" not in err, err
    assert "the configuration to test does not exist:" in out and name[:20] in out, out


# --- internal errors -----------------------------------------------------------------------------

# A function each command calls after its input checks, replaced by one that raises.
CORE = {
    "lint": "meshc.lint.lint",
    "route": "meshc.route.explain",
    "compile": "meshc.compile.compile_mesh",
    "graph": "meshc.graph.build",
    "diff": "meshc.diff.compare_paths",
    "test": "meshc.routetest.run",
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_internal_errors_are_one_line_unless_debugging(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(CORE[command], boom)
    args = COMMANDS[command]([TESTS if command == "test" else BOOKINFO])
    monkeypatch.delenv("MESHC_DEBUG", raising=False)
    code, out, err = run(args, monkeypatch)
    assert code == 2 and out == ""
    assert err == "meshc: internal error: RuntimeError: kaboom\\nsecond line (set MESHC_DEBUG=1 for the traceback)\n"
    monkeypatch.setenv("MESHC_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"):
        run(args, monkeypatch)


def test_debug_prints_the_traceback_from_the_console_script() -> None:
    script = (
        "import sys, meshc.lint\n"
        "def boom(*a, **k): raise RuntimeError('kaboom')\n"
        "meshc.lint.lint = boom\n"
        "from meshc.cli import main\n"
        "sys.exit(main(['lint', '--no-config', 'examples/bookinfo']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MESHC_DEBUG"}
    quiet = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "MESHC_DEBUG": "1"},
        check=False,
    )
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr and "RuntimeError: kaboom" in loud.stderr
