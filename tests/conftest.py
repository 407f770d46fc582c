"""Shared test fixtures: paths to the corpus and examples, the `--update-goldens` flag, a fixed terminal, figures.

Figures (agreement ratios, request counts, fuzz tallies) go through `figures()` into one
`meshc figures` section at the end of the run, also under pytest-xdist; `-q` leaves it out, so the
default `python -m pytest -q` prints one progress line and the summary.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
EXAMPLES = ROOT / "examples"


FIGURES = "MESHC_TEST_FIGURES"
"""Environment variable naming the folder where every process of the run writes its figures."""


def pytest_configure(config: pytest.Config) -> None:
    # The first process (the controller under xdist) makes the folder; workers inherit the variable.
    if not hasattr(config, "workerinput") and FIGURES not in os.environ:
        os.environ[FIGURES] = tempfile.mkdtemp(prefix="meshc-figures-")
        config.stash[_OWNER] = os.environ[FIGURES]


_OWNER = pytest.StashKey[str]()


def figures(title: str, lines: Iterable[str]) -> None:
    """Record figures for the `meshc figures` section of the terminal summary (left out under -q)."""
    folder = os.environ.get(FIGURES)
    if folder and os.path.isdir(folder):
        with open(Path(folder) / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps([title, list(lines)]) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    folder = config.stash.get(_OWNER, None)
    if folder is None:
        return
    entries: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("*.jsonl")):
        for row in path.read_text(encoding="utf-8").splitlines():
            title, lines = json.loads(row)
            entries.setdefault(title, []).extend(lines)
    shutil.rmtree(folder, ignore_errors=True)
    os.environ.pop(FIGURES, None)
    if entries and config.getoption("verbose") >= 0:
        terminalreporter.section("meshc figures")
        for title in sorted(entries):
            terminalreporter.write_line(title)
            for line in entries[title]:
                terminalreporter.write_line(f"  {line}")


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """Under -q a passing test prints nothing: the progress is one line (failures still print `F`).

    1,400 dots were 20 lines of progress; with `-q` the run now shows the failures, skips and
    errors as they happen, the final percentage, and the summary.
    """
    if config.getoption("verbose") < 0 and report.passed and report.when == "call":
        return "passed", "", "PASSED"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under -q, pytest-xdist's "bringing up nodes..." status lines are left out of a log (not a terminal)."""
    config = session.config
    reporter = config.pluginmanager.getplugin("terminaldistreporter")
    if reporter is not None and config.getoption("verbose") < 0 and not getattr(reporter, "_isatty", True):
        reporter.write_line = lambda msg: None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files with the current output instead of comparing",
    )


@pytest.fixture(autouse=True)
def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the same terminal: 120 columns, no NO_COLOR or FORCE_COLOR from the caller's shell.

    Tests of width and colour set their own (tests/test_terminal.py).
    """
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}; CI and tests expect ../shared/corpus")
    return CORPUS


class Golden:
    """Compare text with a golden file, or rewrite it under --update-goldens."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, path: Path, actual: str) -> None:
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != actual:
                path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {path.relative_to(ROOT)} is missing; run `pytest --update-goldens`")
        expected = path.read_text(encoding="utf-8")
        if expected != actual:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    fromfile=f"{path.relative_to(ROOT)} (golden)",
                    tofile="actual",
                )
            )
            pytest.fail(
                f"output differs from {path.relative_to(ROOT)}; run `pytest --update-goldens` if intended\n{diff}"
            )


@pytest.fixture
def golden(update_goldens: bool) -> Golden:
    return Golden(update_goldens)
