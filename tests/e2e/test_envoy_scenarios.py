"""End to end with a real Envoy: every scenario in tests/e2e/scenarios/, Envoy versus `meshc route`.

For each scenario file: compile the input, start one stub per endpoint and one Envoy on 127.0.0.1,
then send every request. Each request checks three things that must agree:
- what Envoy did (the stub that answered, status, Location, the path/Host/headers the upstream saw);
- what the simulator (`meshc.route.explain`, i.e. `meshc route`) predicts for the same request;
- the scenario's own `expect` (Istio's answer, written by hand).

The simulator decides routing only: it does not validate JWTs or evaluate AuthorizationPolicies, so
for a request that Envoy rejects before routing (401/403) only `expect` is compared, and the test
says so in its assertion message.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import differential as diff

SCENARIOS = Path(__file__).parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
SIGMAS = 4.0
"""Tolerance of weight checks: |observed - expected| <= 4 binomial standard deviations (+1)."""


@pytest.fixture(scope="module")
def signer() -> diff.Signer:
    return diff.Signer.generate()


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


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
        data = _load(path)
        assert set(data) == {"input", "requests"}, path.name
        names = [r["name"] for r in data["requests"]]
        assert len(names) == len(set(names)), f"{path.name}: duplicate request names"
        for req in data["requests"]:
            assert set(req) <= request_keys, f"{path.name}: {req['name']}: {set(req) - request_keys}"
            assert req.get("expect"), f"{path.name}: {req['name']} has no `expect`"
            assert set(req["expect"]) <= expect_keys, f"{path.name}: {req['name']}"
            total += 1
    assert total >= 30, f"only {total} scenario requests"


def _token_header(req: dict[str, Any], signer: diff.Signer) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(extra headers, claims the proxy will have validated)."""
    tok = req.get("token")
    if tok is None:
        return [], {}
    if tok == "invalid":
        return [("authorization", f"Bearer {signer.token({'iss': 'https://auth.meshc.test'})[:-8]}AAAAAAAA")], {}
    if tok == "expired":
        return [("authorization", f"Bearer {signer.token({'iss': 'https://auth.meshc.test'}, expires_in=-600)}")], {}
    if tok == "other-key":
        other = diff.Signer.generate()
        return [("authorization", f"Bearer {other.token({'iss': 'https://auth.meshc.test'})}")], {}
    claims = dict(tok.get("claims") or {})
    return [("authorization", f"Bearer {signer.token(claims)}")], claims


def _check_request(dep: diff.Deployment, req: dict[str, Any], signer: diff.Signer) -> None:
    expect = req["expect"]
    extra, claims = _token_header(req, signer)
    headers = [(str(k), str(v)) for k, v in req.get("headers", [])] + extra
    kwargs = {
        "host": req["host"],
        "port": int(req["port"]),
        "path": req.get("path", "/"),
        "method": req.get("method", "GET"),
        "headers": headers,
    }
    label = f"request `{req['name']}`"
    decision = dep.predict(**kwargs, gateway=req.get("gateway", "mesh"), claims=claims)
    sim_backends = dep.backends_of(decision)
    samples = int(req.get("samples", 1))
    observed = [dep.observe(**kwargs) for _ in range(samples)]
    first = observed[0]
    trace = "\n".join(f"  {s.route}: {'MATCH' if s.matched else 'no'} ({s.reason})" for s in decision.trace)
    context = (
        f"{label}: envoy status {first.status} backend {first.backend}; "
        f"simulator {decision.action} {decision.status} {sim_backends}\n{trace}"
    )

    # 1. Istio's answer, as written in the scenario.
    if "status" in expect:
        assert first.status == expect["status"], context
    if "backend" in expect:
        assert first.backend == expect["backend"], context
    if "location" in expect:
        assert first.location == expect["location"], context
    if "path" in expect:
        assert first.path == expect["path"], context
    if "authority" in expect:
        assert first.authority == expect["authority"], context
    for name, value in (expect.get("upstream_headers") or {}).items():
        assert first.upstream_headers.get(name.lower()) == value, f"{context}\nupstream header {name}"
    for name, value in (expect.get("response_headers") or {}).items():
        assert first.response_headers.get(name.lower()) == value, f"{context}\nresponse header {name}"
    if "delay" in expect:
        want = float(expect["delay"])
        assert want * 0.95 <= first.elapsed < want + 3.0, f"{context}\nelapsed {first.elapsed:.3f}s"

    # 2. Envoy against the simulator.
    if first.status in (401, 403) and first.backend is None:
        # Rejected by jwt_authn or rbac before routing: not a routing decision, nothing to compare.
        assert expect.get("status") == first.status, f"{context}\nrejection must be expected explicitly"
        return
    route = decision.route
    abort = route.fault.abort if route is not None and route.fault is not None else None
    if decision.action in ("route", "default") and abort is not None and abort.percentage >= 100:
        assert first.status == abort.http_status and first.backend is None, context
        return
    if decision.action == "no_route":
        assert all(o.status == 404 and o.backend is None for o in observed), context
        return
    if decision.action == "redirect":
        assert first.status == decision.status and first.location == decision.location, context
        return
    if decision.action == "direct_response":
        assert first.status == decision.status and first.backend is None, context
        return
    assert decision.action in ("route", "default"), context
    allowed = {b for names in sim_backends.values() for b in names}
    for o in observed:
        assert o.backend in allowed, f"{context}\nenvoy chose {o.backend}, simulator allows {sorted(allowed)}"
    assert first.path == decision.forwarded_path, f"{context}\nupstream path {first.path}"
    assert first.authority == decision.forwarded_authority, f"{context}\nupstream authority {first.authority}"
    if len(decision.destinations) > 1 or "shares" in expect:
        counts = Counter(o.backend for o in observed)
        for dest in decision.destinations:
            names = sim_backends[dest.cluster.cluster]
            got = sum(counts[n] for n in names)
            p = dest.share / 100
            sd = math.sqrt(samples * p * (1 - p))
            assert abs(got - samples * p) <= SIGMAS * sd + 1, (
                f"{context}\n{dest.cluster.cluster}: {got}/{samples}, expected {p:.3f} (4 sigma = {SIGMAS * sd:.1f})"
            )
        for name, pct in (expect.get("shares") or {}).items():
            p = pct / 100
            sd = math.sqrt(samples * p * (1 - p))
            assert abs(counts[name] - samples * p) <= SIGMAS * sd + 1, f"{context}\n{name}: {counts[name]}/{samples}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, signer: diff.Signer) -> None:
    data = _load(path)
    text = data["input"].replace("{{JWKS}}", signer.jwks().replace("'", "''"))
    with diff.deploy(text) as dep:
        failures = []
        for req in data["requests"]:
            try:
                _check_request(dep, req, signer)
            except AssertionError as exc:
                failures.append(str(exc))
        assert not failures, f"{len(failures)} of {len(data['requests'])} requests failed:\n\n" + "\n\n".join(failures)
