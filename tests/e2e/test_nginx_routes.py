"""nginx routes every request of every routing case as `meshc route` predicts (real nginx, loopback).

Scenarios: the backend-neutral routing cases in tests/cases/ (input.yaml + requests.yaml).
Requests that take a route with a documented nginx gap (JWT claims, sourceLabels, header names
nginx cannot read, delay faults) are skipped and listed in the test's output, never passed silently;
the test also fails when too few requests were really checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import figures
from tests.e2e import nginx as ngx
from tests.e2e.nginx_routes import run_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "tests" / "cases").iterdir() if (p / "requests.yaml").is_file())


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_nginx_matches_meshc_route(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ngx.nginx_binary()
    outcome = run_scenario(folder, capsys)
    figures(
        "nginx routes (tests/cases)",
        [f"{folder.name}: {outcome.checked} requests checked, {len(outcome.skipped)} skipped"]
        + [f"  skipped {folder.name}: {line}" for line in outcome.skipped],
    )
    assert not outcome.failures, "\n".join(outcome.failures)
    assert outcome.checked > 0 or outcome.skipped, "the scenario sent no request"
