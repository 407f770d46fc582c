"""Lint one file in a new interpreter and report what the run left behind: its modules, classes or compiled patterns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = (
    "import sys\n"
    "import meshc.cli\n"
    "code = meshc.cli.main(['lint', '--no-config', sys.argv[1]])\n"
    "found = list({report})\n"
    "sys.stderr.write(f'PROBE {{code}} ' + ' '.join(found) + '\\n')\n"
)


def lint_then(path: Path, report: str) -> tuple[int, list[str], subprocess.CompletedProcess[str]]:
    """Run `meshc lint --no-config path` in a new interpreter (start-up included), then the expression `report`.

    `report` is Python that can read `sys` and yields strings (module names, class names...). Returns
    the lint's exit code, those strings and the finished process (its stdout is the lint's output).
    """
    env = {k: v for k, v in os.environ.items() if k != "MESHC_DEBUG"}
    run = subprocess.run(
        [sys.executable, "-c", _PROBE.format(report=report), str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    line = [x for x in run.stderr.splitlines() if x.startswith("PROBE ")]
    assert line, run.stderr
    code, *found = line[0].split()[1:]
    return int(code), found, run
