"""End to end with a real Envoy: every scenario in tests/e2e/scenarios/, Envoy versus `meshc route`.

For each scenario file: compile the input, start one stub per endpoint and one Envoy on 127.0.0.1,
then send every request. Each request checks three things that must agree:
- what Envoy did (the stub that answered, status, Location, the path/Host/headers the upstream saw);
- what the simulator (`meshc.route.explain`, i.e. `meshc route`) predicts for the same request;
- the scenario's own `expect` (Istio's answer, written by hand).

The simulator decides routing only: it does not validate JWTs or evaluate AuthorizationPolicies, so
for a request that Envoy rejects before routing (401/403) only `expect` is compared, and the test
says so in its assertion message. The scenario loader and the per-request check are shared with
the other backends' scenario tests (`tests.e2e.differential`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import differential as diff

FILES = diff.scenario_files()
SIGMAS = 4.0
"""Tolerance of weight checks: |observed - expected| <= 4 binomial standard deviations (+1)."""


@pytest.fixture(scope="module")
def signer() -> diff.Signer:
    return diff.Signer.generate()


def test_scenarios_are_well_formed() -> None:
    total = 0
    request_keys = {"name", "host", "port", "gateway", "path", "method", "headers", "token", "samples", "expect"}
    expect_keys = {
        "backend",
        "status",
        "shares",
        "location",
        "path",
        "authority",
        "upstream_headers",
        "response_headers",
        "delay",
    }
    for path in FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Proves: "), f"{path.name} must start with `# Proves: ...`"
        data = diff.load_scenario(path)
        assert set(data) == {"input", "requests"}, path.name
        names = [r["name"] for r in data["requests"]]
        assert len(names) == len(set(names)), f"{path.name}: duplicate request names"
        for req in data["requests"]:
            assert set(req) <= request_keys, f"{path.name}: {req['name']}: {set(req) - request_keys}"
            assert req.get("expect"), f"{path.name}: {req['name']} has no `expect`"
            assert set(req["expect"]) <= expect_keys, f"{path.name}: {req['name']}"
            total += 1
    assert total >= 30, f"only {total} scenario requests"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, signer: diff.Signer) -> None:
    data = diff.load_scenario(path)
    with diff.deploy(diff.scenario_input(data, signer)) as dep:
        failures = []
        for req in data["requests"]:
            try:
                diff.check_request(dep, req, signer, sigmas=SIGMAS)
            except AssertionError as exc:
                failures.append(str(exc))
        assert not failures, f"{len(failures)} of {len(data['requests'])} requests failed:\n\n" + "\n\n".join(failures)
