"""Width and colour of every human-readable output, at 60, 80 and 120 columns, with and without colour.

Goldens live in tests/goldens/terminal/<output>-<width>[-color].txt: a `# Proves:` line, the
command as a user would type it, then the output (ESC written as `␛` so the codes can be reviewed).
Beside the goldens, properties that hold at every width: no line is wider than the terminal unless
it is one word that cannot be split, identifiers are never split, and colour is exactly the palette.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from meshc import display
from meshc.cli import main
from tests.conftest import ROOT, Golden

GOLDENS = ROOT / "tests" / "goldens" / "terminal"
WIDTHS = (60, 80, 120)

# output name → (command, what its goldens prove)
OUTPUTS: dict[str, tuple[list[str], str]] = {
    "route": (
        ["route", "--no-config", "examples/bookinfo", "--host", "reviews", "--header", "end-user=jason"],
        "the route tree wraps at word boundaries under its guides; ✓ green, ✗ red, the chosen rule bold",
    ),
    "rules": (
        ["rules"],
        "the rules table fits the terminal: the summary wraps in its column, or under the row when narrow",
    ),
    "full": (
        [
            "lint",
            "--no-config",
            "-f",
            "full",
            "--select",
            "MC006,MC102,MC202,MC208",
            "examples/broken/destination-rule.yaml",
            "examples/broken/references.yaml",
        ],
        "full diagnostics wrap headings and help; errors red, warnings yellow, only the caret coloured in the source",
    ),
    "diff": (
        ["diff", "--no-config", "tests/diff/bookinfo-2-jason-v2", "tests/diff/bookinfo-3-v1-v3-split"],
        "diff text wraps each item under its marker; added green, removed red, changed yellow",
    ),
    "test": (
        ["test", "tests/terminal/suite.yaml"],
        "a test report wraps names, requests and failures under their case; PASS green, FAIL red",
    ),
}

CASES = [(name, width, color) for name in OUTPUTS for width in WIDTHS for color in (False, True)]


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, *, columns: int | None) -> tuple[int, str, str]:
    """Run meshc in-process at the repository root with a given COLUMNS (None: unset)."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(ROOT)
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("name", "width", "color"), CASES, ids=[f"{n}-{w}{'-color' if c else ''}" for n, w, c in CASES]
)
def test_golden(name: str, width: int, color: bool, monkeypatch: pytest.MonkeyPatch, golden: Golden) -> None:
    args, proves = OUTPUTS[name]
    args = [*args, "--color", "always" if color else "never"]
    _, out, _ = run(args, monkeypatch, columns=width)
    shown = out.replace("\x1b", "␛")
    header = f"# Proves: {proves} ({width} columns, {'colour' if color else 'no colour'}).\n"
    header += f"$ COLUMNS={width} meshc {' '.join(args)}\n"
    golden.check(GOLDENS / f"{name}-{width}{'-color' if color else ''}.txt", header + shown)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_is_wider_than_the_terminal_unless_it_is_one_word(
    name: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run([*OUTPUTS[name][0], "--color", "never"], monkeypatch, columns=width)
    source_lines = re.compile(r"^\d+ \| ")  # a source excerpt is never wrapped: the caret must stay under it
    for line in out.splitlines():
        if display.cell_width(line) <= width or source_lines.match(line):
            continue
        content = line.lstrip(" │├└─")
        words = content.split(" ")
        assert len(words) == 1 or (len(words) == 2 and words[0] in ("✓", "✗", "-", "+", "~")), (
            f"a line of {display.cell_width(line)} columns at {width} that could have been wrapped: {line!r}"
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_identifiers_are_never_split(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run([*OUTPUTS["route"][0], "--color", "never"], monkeypatch, columns=width)
    for word in (
        "outbound|9080|v2|reviews.default.svc.cluster.local",
        "reviews.default.svc.cluster.local:9080",
        "(examples/bookinfo/virtual-services.yaml:30)",
        "retriable-status-codes",
    ):
        assert word in out.split(), f"`{word}` split at {width} columns"
    for line in out.splitlines():
        assert not line.endswith(("reviews.def", "cancell")), line


def test_width_is_80_when_unknown_and_columns_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COLUMNS and no terminal: 80. COLUMNS given: honoured (no minimum of 100 or 120 any more)."""
    _, out80, _ = run([*OUTPUTS["route"][0], "--color", "never"], monkeypatch, columns=None)
    _, golden80, _ = run([*OUTPUTS["route"][0], "--color", "never"], monkeypatch, columns=80)
    assert out80 == golden80
    assert max(display.cell_width(line) for line in out80.splitlines()) <= 80
    _, out100, _ = run([*OUTPUTS["route"][0], "--color", "never"], monkeypatch, columns=100)
    assert out100 != out80 and max(display.cell_width(line) for line in out100.splitlines()) > 80


def _codes(text: str) -> set[str]:
    return set(re.findall(r"\x1b\[([0-9;]*)m", text))


def test_palette(monkeypatch: pytest.MonkeyPatch) -> None:
    """One palette: ✓ green, ✗ red, chosen bold, errors red, warnings yellow, source code uncoloured."""
    _, route, _ = run([*OUTPUTS["route"][0], "--color", "always"], monkeypatch, columns=120)
    assert "\x1b[32m✓\x1b[0m" in route
    _, everyone, _ = run(
        ["route", "--no-config", "examples/bookinfo", "--host", "reviews", "--color", "always"],
        monkeypatch,
        columns=120,
    )
    assert "\x1b[31m✗\x1b[0m" in everyone
    assert re.search(r"\x1b\[1mchosen: rule 1 \(everyone-else\)", everyone)
    _, full, _ = run([*OUTPUTS["full"][0], "--color", "always"], monkeypatch, columns=120)
    assert "\x1b[1;31merror[MC006]\x1b[0m" in full and "\x1b[1;33mwarning[MC202]\x1b[0m" in full
    for line in full.splitlines():
        m = re.match(r"\x1b\[34m(\d+) \| \x1b\[0m(.*)$", line)
        if m:
            assert "\x1b" not in m.group(2), f"the source line must keep the default colour: {line!r}"
        if "^" in line:
            assert re.search(r"\x1b\[1;3[13]m\^+\x1b\[0m$", line), f"only the caret is coloured: {line!r}"
    palette = {code for text in (route, everyone, full) for code in _codes(text)}
    assert palette <= set(display.PALETTE.values()) | {"0"}


@pytest.mark.parametrize(
    ("flag", "env", "colored"),
    [
        ("auto", {}, False),  # not a terminal: no escape codes
        ("auto", {"FORCE_COLOR": "1"}, True),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ("always", {"NO_COLOR": "1"}, True),
        ("never", {"FORCE_COLOR": "1"}, False),
        ("auto", {"NO_COLOR": ""}, False),
    ],
)
def test_color_flag_and_environment(
    flag: str, env: dict[str, str], colored: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for name in OUTPUTS:
        _, out, _ = run([*OUTPUTS[name][0], "--color", flag], monkeypatch, columns=80)
        assert ("\x1b[" in out) is colored, (name, flag, env)


def test_a_pipe_gets_no_escape_codes() -> None:
    """The console script writing into a pipe (no NO_COLOR, no flag): plain text."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run(
        [sys.executable, "-m", "meshc", *OUTPUTS["route"][0]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and "✓" in proc.stdout and "\x1b" not in proc.stdout


@pytest.mark.parametrize(("value", "width"), [("0", 80), ("abc", 80), ("", 80), ("20", 40), ("200", 200)])
def test_columns_values(value: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """COLUMNS that is not a positive number is ignored (80 without a terminal); below 40 counts as 40."""
    monkeypatch.setenv("COLUMNS", value)
    assert display.terminal_width(io.StringIO()) == width


def test_wrap_keeps_words_and_indentation() -> None:
    lines = display.wrap("alpha beta gamma-delta-epsilon-zeta eta", 16, "├── ", "│   ")
    assert [line.plain for line in lines] == ["├── alpha beta", "│   gamma-delta-epsilon-zeta", "│   eta"]
    assert [line.plain for line in display.wrap("a (Istio default) b", 12)] == ["a", "(Istio default)", "b"]
