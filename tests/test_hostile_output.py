r"""Hostile strings from a pull request never reach a terminal or a CI log raw (issue 20, point 3).

The strings of the report: an unknown field key `"bad\n::error file=x::INJECTED\u001b[2J"`, the
same through a file name, a `uri.exact` value in `meshc diff` (text and markdown), a test name and
a header value in `meshc test`, match values after the tree characters of `meshc route`, graph
labels, and error lines. For every output:

- no raw ESC, CR, NEL, line or paragraph separator, or bidi control: they are shown escaped;
- no line the input controls begins a CI workflow command (`::…`, `##[…`), even after indentation;
- `--format github` has exactly one command line per diagnostic, its values encoded per the
  workflow-command rules; markdown keeps its table rows whole.

Goldens (tests/goldens/hostile/<case>.txt, a `# Proves:` line each) show what the user sees.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from meshc import display
from meshc.cli import main
from tests.conftest import ROOT, Golden

GOLDENS = ROOT / "tests" / "goldens" / "hostile"
HOSTILE = "bad\n::error file=x::INJECTED\u001b[2J"
"""The string of issue 20: a line break, a GitHub workflow command and a terminal escape (clear screen)."""
MORE = "\r\n##[error]old-style\u2028::warning::sep\u0085\u202eevil\x07"
"""More of the same family: CR, the old `##[` command form, U+2028, NEL, a bidi override, BEL."""

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
COMMAND = re.compile(r"^[ \t]*(::|##\[|##vso\[)")


def yq(text: str) -> str:
    """A YAML double-quoted scalar holding `text` exactly."""
    return json.dumps(text)


VS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: default}}
spec:
  hosts: [reviews]
  http:
  - name: {name}
    match:
    - uri: {{exact: {uri}}}
      headers:
        x-user: {{exact: {header}}}
    route:
    - destination: {{host: reviews, subset: v1}}
  - route:
    - destination: {{host: reviews, subset: v2}}
"""
REGISTRY = """apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""


def mesh(root: Path, *, uri: str = "/a", header: str = "jason", name: str = "jason") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    (root / "vs.yaml").write_text(VS.format(uri=yq(uri), header=yq(header), name=yq(name)), encoding="utf-8")
    return root


def run(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run meshc in `cwd`; with `--color always` in `args`, run it again without and check both.

    The coloured run may hold meshc's own SGR codes (the palette) and nothing else raw: once they
    are removed it must be the uncoloured run, which is returned.
    """
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(args)
    if "always" not in args:
        return code, out.getvalue(), err.getvalue()
    colored = out.getvalue() + err.getvalue()
    plain_args = [a if a != "always" else "never" for a in args]
    code2, plain_out, plain_err = run(plain_args, cwd, monkeypatch)
    assert code2 == code
    assert PALETTE_CODES.sub("", colored) == plain_out + plain_err
    return code, plain_out, plain_err


PALETTE_CODES = re.compile("\x1b\\[(?:" + "|".join(re.escape(c) for c in [*display.PALETTE.values(), "0"]) + ")m")


def assert_safe(text: str, *, github_commands: int = 0) -> None:
    """No raw control characters; no line starts a workflow command except `github_commands` of meshc's own."""
    raw = RAW.findall(text)
    assert not raw, f"raw control characters {raw!r} in:\n{text}"
    commands = [line for line in text.split("\n") if COMMAND.match(line)]
    assert len(commands) == github_commands, f"lines that start a workflow command: {commands!r}"
    for line in commands:
        assert re.match(r"::(error|warning|notice) file=[^,:]*,line=\d+,col=\d+,", line), line


def check(golden: Golden, case: str, proves: str, args: list[str], out: str, err: str) -> None:
    shown = f"# Proves: {proves}\n$ meshc {' '.join(json.dumps(a) if RAW.search(a) or ' ' in a else a for a in args)}\n"
    golden.check(GOLDENS / f"{case}.txt", shown + out + ("--- stderr\n" + err if err else ""))


# --- lint ----------------------------------------------------------------------------------------


def _unknown_field(tmp: Path) -> Path:
    text = VS.format(uri='"/a"', header='"jason"', name='"jason"').replace(
        "  hosts: [reviews]\n", f"  hosts: [reviews]\n  {yq(HOSTILE)}: 1\n  {yq(MORE)}: 2\n"
    )
    (tmp / "vs.yaml").write_text(text, encoding="utf-8")
    return tmp


@pytest.mark.parametrize("fmt", ["text", "full", "github"])
def test_lint_unknown_field_key(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    root = _unknown_field(tmp_path)
    args = ["lint", "--no-config", "-f", fmt, "--color", "always", "vs.yaml"]
    code, out, err = run(args, root, monkeypatch)
    assert code == 1
    assert_safe(out + err, github_commands=2 if fmt == "github" else 0)
    assert "INJECTED" in out and ("\\x1b[2J" in out or "%5Cx1b[2J" in out)
    if fmt == "github":
        first = out.splitlines()[0]
        # The message is data: `%`, CR and LF encoded (CR/LF are escapes by then); the title is a property.
        assert "::error file=vs.yaml,line=6,col=3," in first and "title=meshc MC005 (unknown-field)::" in first
        assert "unknown field `bad\\n::error file=x::INJECTED\\x1b[2J` in `spec`" in first
    check(
        golden,
        f"lint-unknown-field-{fmt}",
        f"an unknown field key with a workflow command and ESC, --format {fmt}",
        args,
        out,
        err,
    )


@pytest.mark.parametrize("fmt", ["text", "full", "github"])
def test_lint_file_name(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    name = "::error file=y::NAME\x1b[2J\n::warning::x.yaml"
    (tmp_path / name).write_text("kind: VirtualService\napiVersion: networking.istio.io/v1\nlables: {}\n")
    args = ["lint", "--no-config", "-f", fmt, "--color", "always", "."]
    code, out, err = run(args, tmp_path, monkeypatch)
    assert code == 1
    assert_safe(out + err, github_commands=out.count("\n::") + out.startswith("::") if fmt == "github" else 0)
    if fmt == "github":
        assert all(line.startswith("::error file=%3A%3Aerror file=y%3A%3ANAME") for line in out.splitlines()[:-2])
    elif fmt == "text":
        assert out.startswith("\\x3a:error file=y::NAME\\x1b[2J\\n::warning::x.yaml:")  # the guard, then escapes
    else:
        assert " --> ::error file=y::NAME\\x1b[2J\\n::warning::x.yaml:" in out
    check(
        golden,
        f"lint-file-name-{fmt}",
        f"a file name holding workflow commands and ESC, --format {fmt}",
        args,
        out,
        err,
    )


def test_lint_summary_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    """The `Not checked` line names the kinds of other documents: a kind is the author's string too."""
    (tmp_path / "x.yaml").write_text(f"apiVersion: v1\nkind: {yq(HOSTILE)}\nmetadata: {{name: a}}\n")
    args = ["lint", "--no-config", "-f", "text", "--show-skipped", "x.yaml"]
    _, out, err = run(args, tmp_path, monkeypatch)
    assert_safe(out + err)
    assert "bad\\n::error file=x::INJECTED\\x1b[2J (1)" in out
    check(golden, "lint-kind", "a document kind with a workflow command in the summary", args, out, err)


# --- route, graph -----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 120])
def test_route_tree(width: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    root = mesh(tmp_path / "m", uri="/a" + HOSTILE, header=MORE, name=HOSTILE)
    monkeypatch.setenv("COLUMNS", str(width))
    args = ["route", "--no-config", ".", "--host", "reviews", "--path", "/a", "--header", "x-user=::error ::HDR"]
    code, out, err = run(args, root, monkeypatch)
    assert code == 0
    assert_safe(out + err)
    assert 'exact "/abad\\n::error file=x::INJECTED\\x1b[2J"' in " ".join(out.split()).replace("│ ", "")
    check(
        golden,
        f"route-{width}",
        f"match values with commands and ESC after the tree characters ({width} columns)",
        args,
        out,
        err,
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    root = mesh(tmp_path / "m", uri="/a" + HOSTILE, header=MORE, name=HOSTILE)
    args = ["graph", "--no-config", "-f", fmt, "."]
    code, out, err = run(args, root, monkeypatch)
    assert code == 0
    assert_safe(out + err)
    assert "\\x1b" in out and "\\u2028" in out
    check(golden, f"graph-{fmt}", f"graph labels with commands, ESC and U+2028 ({fmt})", args, out, err)


# --- diff ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_diff_uri_exact(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    mesh(tmp_path / "old")
    mesh(tmp_path / "new", uri="/a" + HOSTILE + MORE)
    args = ["diff", "--no-config", "-f", fmt, "--color", "always", "old", "new"]
    code, out, err = run(args, tmp_path, monkeypatch)
    assert code == 1
    assert_safe(out + err)
    if fmt == "markdown":
        for line in out.splitlines():
            if line.startswith("| "):
                # A row keeps its three cells: no raw `|` or line break from the input splits it.
                assert len(re.findall(r"(?<!\\)\|", line)) == 4, line
        assert "\\\\r\\\\n\\#\\#\\[error\\]" in out  # `\r\n##[error]`: escapes, then markdown escapes
    check(golden, f"diff-{fmt}", f"a uri.exact with commands, ESC, CR and U+2028 in meshc diff ({fmt})", args, out, err)


# --- meshc test ----------------------------------------------------------------------------------------


def test_test_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    mesh(tmp_path / "m", header=HOSTILE)
    suite = f"""config: m
tests:
- name: {yq(HOSTILE)}
  request: {{host: reviews, headers: {{x-user: {yq(HOSTILE)}}}}}
  expect: {{destinations: [{{subset: v3}}]}}
- name: {yq(MORE)}
  request: {{host: reviews, headers: {{x-user: {yq(MORE)}}}}}
  expect: {{rule: {yq(MORE)}}}
"""
    (tmp_path / "suite.yaml").write_text(suite, encoding="utf-8")
    args = ["test", "--color", "always", "suite.yaml"]
    code, out, err = run(args, tmp_path, monkeypatch)
    assert code == 1
    assert_safe(out + err)
    assert "FAIL" in out and "x-user=bad\\n::error" in " ".join(out.split())
    check(
        golden,
        "test-report",
        "test names and header values with commands and ESC in a meshc test report",
        args,
        out,
        err,
    )


# --- error lines --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["lint", "--no-config", HOSTILE],
        ["route", "--no-config", ".", "--host", "reviews", "--gateway", HOSTILE],
        ["lint", "--no-config", "--select", HOSTILE, "."],
        ["lint", "--no-config", f"--{HOSTILE}"],
        ["lint", "--no-config", "--format", HOSTILE, "."],
    ],
    ids=["path", "gateway", "select", "flag", "value"],
)
def test_error_lines(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mesh(tmp_path)
    code, out, err = run(args, tmp_path, monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("meshc: error: ") and err.count("\n") == 1, err
    assert_safe(err)
    assert "\\n::error" in err


def test_a_hostile_host_outside_the_registry_is_explained_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host outside the registry is explained (issue 13), not an error: the tree and the warning stay escaped."""
    mesh(tmp_path)
    code, out, err = run(["route", "--no-config", ".", "--host", HOSTILE], tmp_path, monkeypatch)
    assert code == 0 and err.startswith("meshc: warning: ") and err.count("\n") == 1, err
    assert_safe(out + err)


def test_warning_lines_of_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`meshc: warning:` lines quote notes of the compiler; a hostile subset name stays escaped."""
    root = mesh(tmp_path)
    vs = (root / "vs.yaml").read_text(encoding="utf-8").replace("subset: v2", f"subset: {yq('v9' + MORE)}")
    (root / "vs.yaml").write_text(vs, encoding="utf-8")
    code, out, err = run(["route", "--no-config", ".", "--host", "reviews"], root, monkeypatch)
    assert code in (0, 2)
    assert_safe(out + err)
