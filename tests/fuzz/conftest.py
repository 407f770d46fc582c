"""Fuzz profiles and the figures of a fuzz run.

Two profiles run the same properties:

* quick (default, part of `python -m pytest`): a few hundred inputs, well under a minute;
* long (`python -m pytest tests/fuzz -m slow`): at least 100,000 inputs in all, bombs at full size.

At the end of a run the `meshc figures` section of the terminal summary (not under `-q`) lists,
per command, the inputs run, their exit codes and the slowest input (per test process under xdist).
"""

from __future__ import annotations

import pytest

from tests.conftest import figures
from tests.fuzz.harness import MEASURED, SLOWEST, STATS, rss_bound


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The figures of the fuzz tests this process ran, for the `meshc figures` section (tests/conftest.py)."""
    if not STATS:
        return
    lines = []
    total = 0
    for name in sorted(STATS):
        counts = STATS[name]
        total += counts["inputs"]
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "inputs")
        lines.append(f"{name:16} {counts['inputs']:>7} inputs   {codes}   slowest {SLOWEST[name]:.2f} s")
    lines.append(f"{'total':16} {total:>7} inputs")
    if MEASURED:
        lines.append("")
        lines.append("bombs run in a subprocess: input MB, seconds, peak RSS MB, bound MB, exit code")
        for name, bomb, size, seconds, rss, code in sorted(MEASURED, key=lambda m: (m[1], m[0])):
            figures_ = f"{size / 1e6:8.1f} {seconds:7.2f} {rss / 1e6:8.0f} {rss_bound(size) / 1e6:8.0f}"
            lines.append(f"{bomb:28} {name:14} {figures_}   {code}")
    figures("meshc fuzz figures", lines)
