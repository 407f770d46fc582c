"""Fuzz profiles and the figures of a fuzz run.

Two profiles run the same properties:

* quick (default, part of `python -m pytest`): a few hundred inputs, well under a minute;
* long (`python -m pytest tests/fuzz -m slow`): at least 100,000 inputs in all, bombs at full size.

At the end of a run the terminal summary lists, per command, the inputs run, their exit codes and
the slowest input.
"""

from __future__ import annotations

import pytest

from tests.fuzz.harness import MEASURED, SLOWEST, STATS, rss_bound


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not STATS:
        return
    terminalreporter.section("meshc fuzz figures")
    total = 0
    for name in sorted(STATS):
        counts = STATS[name]
        total += counts["inputs"]
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "inputs")
        terminalreporter.write_line(f"{name:16} {counts['inputs']:>7} inputs   {codes}   slowest {SLOWEST[name]:.2f} s")
    terminalreporter.write_line(f"{'total':16} {total:>7} inputs")
    if MEASURED:
        terminalreporter.write_line("")
        terminalreporter.write_line("bombs run in a subprocess: input MB, seconds, peak RSS MB, bound MB, exit code")
        for name, bomb, size, seconds, rss, code in sorted(MEASURED, key=lambda m: (m[1], m[0])):
            figures = f"{size / 1e6:8.1f} {seconds:7.2f} {rss / 1e6:8.0f} {rss_bound(size) / 1e6:8.0f}"
            terminalreporter.write_line(f"{bomb:28} {name:14} {figures}   {code}")
