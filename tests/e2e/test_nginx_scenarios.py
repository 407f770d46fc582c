"""End to end with a real nginx: every scenario in tests/e2e/scenarios/, nginx versus `meshc route`.

The same backend-neutral scenarios as the Envoy tests (test_envoy_scenarios.py), with the same
loader and per-request check (`tests.e2e.differential.check_request`): for each scenario file,
compile the input with the nginx backend (what `meshc compile --target nginx --bind 127.0.0.1
--port-map ... --endpoint ADDR:PORT=127.0.0.1:STUB` writes), start one stub per endpoint and one
nginx on 127.0.0.1, and send every request. The stub that answered, the status, Location and the
path/Host/headers the upstream saw must equal `meshc route`'s prediction and the scenario's `expect`.

Weights: each destination's count must be within `SIGMAS` = 4.5 binomial standard deviations (+1)
of `samples * share` (a false failure per check has probability below 1e-5).

What nginx cannot express is not skipped silently: `EXCLUDED` names each such request with the gap
code the nginx backend reports for it (MC450-MC491, `meshc.rules.nginx`) and why, and the test
asserts that the backend still reports that code for that scenario, so an exclusion cannot outlive
its gap. A summary line gives the counts.

These tests FAIL when nginx is missing (tests/e2e/nginx.py).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from meshc.backends import nginx as backend
from tests.conftest import figures
from tests.e2e import differential as diff
from tests.e2e import nginx as ngx
from tests.e2e import stubs as stubs_mod

FILES = diff.scenario_files()
SIGMAS = 4.5
"""Tolerance of weight checks: |observed - expected| <= 4.5 binomial standard deviations (+1)."""
WORKERS = 8
"""Samples of one request are sent this many at a time."""


@dataclass(frozen=True)
class Exclusion:
    """A scenario request nginx cannot answer as Istio does, and the gap that says so."""

    code: str
    """The gap code the nginx backend reports for it."""
    where: str
    """The reported diagnostic's `<resource> <field>` starts with this: the resource (and rule) that
    makes the answer differ."""
    reason: str


_DENY = "AuthorizationPolicy istio-system/deny"
_ALLOW = "AuthorizationPolicy istio-system/allow"
_JWT = "RequestAuthentication istio-system/jwt spec.jwtRules[0]"
_CLAIM_ROUTE = "VirtualService default/api spec.http[0].match.headers"
_NOT_ENFORCED = "nginx forwards it (200 from the route's backend)"

EXCLUDED: dict[tuple[str, str], Exclusion] = {
    # AuthorizationPolicy (MC453): not enforced, so every request is forwarded. The requests the
    # policies allow (public-get-allowed, private-with-token-allowed) are run: nginx forwards them too.
    ("authz", "public-post-denied"): Exclusion(
        "MC453", _ALLOW, f"ALLOW only lets GET into /public/*: Istio answers 403, {_NOT_ENFORCED}"
    ),
    ("authz", "private-without-token-denied"): Exclusion(
        "MC453", _ALLOW, f"no ALLOW rule matches a request without a principal: Istio answers 403, {_NOT_ENFORCED}"
    ),
    ("authz", "deny-path-beats-allow"): Exclusion(
        "MC453", _DENY, f"DENY on /admin/* wins over ALLOW: Istio answers 403, {_NOT_ENFORCED}"
    ),
    ("authz", "deny-header"): Exclusion("MC453", _DENY, f"DENY on `x-block: yes`: Istio answers 403, {_NOT_ENFORCED}"),
    ("authz", "deny-claim"): Exclusion(
        "MC453",
        _DENY,
        f"DENY on the validated claim group=banned (needs JWTs too, MC452): Istio answers 403, {_NOT_ENFORCED}",
    ),
    # JWT (MC452): tokens are not validated and claims never match. missing-token-passes and
    # valid-user are run: without a claim route match both go to the catch-all, as in Istio.
    ("jwt", "valid-admin"): Exclusion(
        "MC452",
        _CLAIM_ROUTE,
        "the route on claim group=admin never matches in nginx: reviews-v1, not v2; no "
        "x-jwt-sub header (outputClaimToHeaders)",
    ),
    ("jwt", "valid-admin-in-list-claim"): Exclusion(
        "MC452", _CLAIM_ROUTE, "the route on claim group=admin never matches in nginx: reviews-v1, not v2"
    ),
    ("jwt", "invalid-signature"): Exclusion("MC452", _JWT, f"Istio answers 401 (bad signature), {_NOT_ENFORCED}"),
    ("jwt", "expired"): Exclusion("MC452", _JWT, f"Istio answers 401 (expired token), {_NOT_ENFORCED}"),
    ("jwt", "signed-by-another-key"): Exclusion(
        "MC452", _JWT, f"Istio answers 401 (key not in the JWKS), {_NOT_ENFORCED}"
    ),
    # Fault delay (MC450): the route is written without the delay; the answer comes at once.
    ("fault", "delay-observed"): Exclusion(
        "MC450",
        "VirtualService default/reviews spec.http[3].fault.delay",
        "core nginx cannot sleep before forwarding: reviews-v3 answers at once, not after 0.4s",
    ),
    # Empty header value (MC470): nginx cannot tell an empty header from an absent one.
    ("header-match", "present-empty-value"): Exclusion(
        "MC470",
        "VirtualService default/reviews spec.http[3].match.headers",
        "`x-debug:` (empty) is present for Istio (reviews-v3); nginx sees no header and falls to reviews-v1",
    ),
}
"""(scenario, request name) → why nginx answers differently; every entry is checked against the
backend's diagnostics for that scenario (code and `where`)."""


@dataclass
class Tally:
    """Requests of all scenarios: run, agreeing, and excluded per gap code."""

    run: int = 0
    agree: int = 0
    excluded: Counter[str] = field(default_factory=Counter)


TALLY = Tally()


@pytest.fixture(scope="module")
def signer() -> diff.Signer:
    return diff.Signer.generate()


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(TALLY.excluded.items()))
    line = (
        f"nginx scenarios: {TALLY.run} requests run, {TALLY.agree} agree, "
        f"{sum(TALLY.excluded.values())} excluded by gap code ({codes or 'none'})"
    )
    figures("nginx scenarios", [line])


def _render(p: diff.Plan, stubs: dict[str, stubs_mod.Stub], sockets: ngx.Sockets) -> tuple[str, list[Any]]:
    """nginx.conf for every context, listeners on the loopback sockets, endpoints on their stubs."""
    opts = backend.NginxOptions(bind="127.0.0.1", port_map=sockets.port_map())
    for name, (address, port) in p.endpoints.items():
        opts.endpoints[f"{address}:{port}"] = backend.Address("127.0.0.1", stubs[name].port)
    return backend.render(p.compiled, opts)


@contextlib.contextmanager
def deploy(text: str) -> Iterator[diff.Deployment]:
    """Compile `text` for nginx, start one stub per endpoint and nginx; stop everything on exit."""
    p = diff.plan(text)
    listeners = [lst.port for ctx in p.compiled.contexts for lst in ctx.listeners]
    with ngx.Sockets(listeners) as sockets, stubs_mod.running(*sorted(p.endpoints)) as stubs:
        conf, diags = _render(p, stubs, sockets)
        assert not [d for d in diags if d.code == "MC490"], f"nginx refused values: {diags}"
        ports = sockets.port_map()
        dep = diff.Deployment(p.loaded, p.compiled, conf, diags, ports, stubs, p.cluster_backends, send=ngx.request)
        with ngx.running(conf, sockets):
            yield dep


def _reported(diags: list[Any], ex: Exclusion) -> bool:
    return any(d.code == ex.code and f"{d.resource} {d.field or ''}".startswith(ex.where) for d in diags)


def test_exclusions_name_real_requests() -> None:
    names = {(f.stem, r["name"]) for f in FILES for r in diff.load_scenario(f)["requests"]}
    stale = sorted(set(EXCLUDED) - names)
    assert not stale, f"exclusions for requests that do not exist: {stale}"
    for key, ex in EXCLUDED.items():
        assert ex.code.startswith("MC4") and 450 <= int(ex.code[2:]) <= 491, (key, ex.code)
        assert ex.reason, key


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, signer: diff.Signer, capsys: pytest.CaptureFixture[str]) -> None:
    ngx.nginx_binary()
    data = diff.load_scenario(path)
    with deploy(diff.scenario_input(data, signer)) as dep:
        failures = []
        gone = []
        for req in data["requests"]:
            ex = EXCLUDED.get((path.stem, req["name"]))
            if ex is not None:
                if not _reported(dep.diagnostics, ex):
                    gone.append(f"{req['name']}: {ex.code} on `{ex.where}` is no longer reported")
                TALLY.excluded[ex.code] += 1
                figures("nginx scenarios", [f"excluded {path.stem}/{req['name']}: {ex.code}: {ex.reason}"])
                continue
            TALLY.run += 1
            try:
                diff.check_request(dep, req, signer, sigmas=SIGMAS, workers=WORKERS, proxy="nginx")
            except AssertionError as exc:
                failures.append(str(exc))
            else:
                TALLY.agree += 1
        assert not gone, "stale exclusions (the nginx backend expresses them now: run them):\n" + "\n".join(gone)
        assert not failures, (
            f"{len(failures)} of {len(data['requests'])} requests failed:\n\n"
            + "\n\n".join(failures)
            + f"\n\nnginx.conf:\n{dep.text}"
        )
