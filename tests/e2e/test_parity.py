"""Behavioural parity: the same scenarios on a real Envoy and a real nginx, the outcome of each stated per backend.

One input holds every scenario, each on a Service of its own (port 8080, endpoints are
WorkloadEntries, a `-dead` endpoint is a port that refuses connections). It is compiled once per
backend, both proxies run on 127.0.0.1 with their endpoints on local stubs, and each scenario
measures an outcome with counts and state (requests an upstream received, requests in progress,
statuses), never with sleeps. For every scenario and backend the test states the outcome:
the same as the other backend, or a named gap (the MC4xx code the backend reports for it, and the
outcome it gives instead). A gap whose code the backend no longer reports fails the test, so a
gap cannot outlive its cause.

The table printed at the end (scenario × backend × measured outcome) is the one in the closing
note of issue 16. These tests FAIL when Envoy or nginx is missing.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from meshc.backends import envoy as envoy_backend
from meshc.backends import nginx as nginx_backend
from tests.e2e import differential as diff
from tests.e2e import envoy as envoy_harness
from tests.e2e import nginx as ngx
from tests.e2e import stubs as stubs_mod
from tests.e2e.client import Response, request

# --- the input: one Service per scenario -----------------------------------------------------------

_ADDRESS = iter(f"10.77.{i // 200}.{i % 200 + 1}" for i in range(10_000))


def _service(name: str, endpoints: list[str], *, dr: str = "", vs: str = "") -> str:
    """Service `name` (port 8080), one WorkloadEntry per endpoint, and an optional DR and VS spec body."""
    docs = [
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n"
        f"spec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 8080}}]}}\n"
    ]
    for ep in endpoints:
        docs.append(
            "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
            f"metadata: {{name: {name}-{ep}, namespace: default}}\n"
            f"spec: {{address: {next(_ADDRESS)}, labels: {{app: {name}}}}}\n"
        )
    if dr:
        docs.append(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
            f"metadata: {{name: {name}, namespace: default}}\nspec:\n  host: {name}\n{dr}"
        )
    if vs:
        docs.append(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            f"metadata: {{name: {name}, namespace: default}}\nspec:\n  hosts: [{name}]\n  http:\n{vs}"
        )
    return "---\n".join(docs)


def _route(name: str, extra: str = "") -> str:
    """One `http` rule to `name`, with extra rule fields (YAML lines at rule level)."""
    return f"  - route: [{{destination: {{host: {name}}}}}]\n{extra}"


ROUND_ROBIN = "  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n"
OUTLIER = (
    "  trafficPolicy:\n"
    "    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}\n"
)
OUTLIER_ROUND_ROBIN = OUTLIER + "    loadBalancer: {simple: ROUND_ROBIN}\n"


# --- the proxies ---------------------------------------------------------------------------------------


@dataclass
class Proxy:
    """A proxy running the parity input, its stubs and its diagnostics."""

    backend: str
    port: int
    stubs: dict[str, stubs_mod.Stub]
    diagnostics: list[Any]
    text: str
    send_one: Callable[..., Response]
    pending: Callable[[str], int] = lambda service: 0
    """Requests the proxy holds in a queue for a service's cluster (Envoy's pending requests; nginx has none)."""

    def send(self, host: str, path: str = "/", **kwargs: Any) -> Response:
        return self.send_one(self.port, path, host=host, timeout=kwargs.pop("timeout", 20.0), **kwargs)

    def stub(self, service: str, endpoint: str = "a") -> stubs_mod.Stub:
        return self.stubs[f"{service}-{endpoint}"]


@contextlib.contextmanager
def _endpoints(plan: diff.Plan) -> Iterator[tuple[dict[str, stubs_mod.Stub], dict[str, envoy_backend.Address]]]:
    """Stubs for the live endpoints, refusing ports for the `-dead` ones; (stubs, endpoint → local address)."""
    live = sorted(n for n in plan.endpoints if not n.endswith("-dead"))
    dead = sorted(n for n in plan.endpoints if n.endswith("-dead"))
    with stubs_mod.running(*live) as running, contextlib.ExitStack() as stack:
        local = {n: envoy_backend.Address("127.0.0.1", running[n].port) for n in live}
        for n in dead:
            local[n] = envoy_backend.Address("127.0.0.1", stack.enter_context(stubs_mod.refusing()))
        mapping = {f"{a}:{p}": local[n] for n, (a, p) in plan.endpoints.items()}
        yield running, mapping


@contextlib.contextmanager
def _envoy(text: str) -> Iterator[Proxy]:
    plan = diff.plan(text)
    with _endpoints(plan) as (running, mapping):
        opts = envoy_backend.EnvoyOptions(bind="127.0.0.1", port_map={8080: 0}, admin_port=0, endpoints=mapping)
        conf, diags = envoy_backend.render(plan.compiled, opts)
        with envoy_harness.running(conf) as proc:
            port = diff.listener_ports(plan.compiled, proc)[8080]

            def pending(service: str) -> int:
                name = f"cluster.outbound|8080||{service}.default.svc.cluster.local.upstream_rq_pending_active"
                _, body = proc.admin(f"/stats?filter=^{name.replace('|', '[|]')}$")
                return sum(int(line.rsplit(":", 1)[1]) for line in body.splitlines() if ":" in line)

            yield Proxy("envoy", port, running, diags, conf, request, pending)


@contextlib.contextmanager
def _nginx(text: str) -> Iterator[Proxy]:
    plan = diff.plan(text)
    with _endpoints(plan) as (running, mapping), ngx.Sockets([8080]) as sockets:
        opts = nginx_backend.NginxOptions(bind="127.0.0.1", port_map=sockets.port_map(), endpoints=mapping)
        conf, diags = nginx_backend.render(plan.compiled, opts)
        assert not [d for d in diags if d.code == "MC490"], diags
        with ngx.running(conf, sockets):
            yield Proxy("nginx", sockets[8080], running, diags, conf, ngx.request)


# --- scenarios -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """The backend answers differently, and says so with this code."""

    code: str
    outcome: dict[str, Any]
    """What the backend does instead (measured)."""
    match: str = ""
    """Text of the diagnostic that reports it, when it is not about the scenario's service (a
    configuration-wide diagnostic); empty: one that names the scenario's service."""


@dataclass
class Scenario:
    """An input piece, a measurement, and the expected outcome per backend."""

    name: str
    input: str
    measure: Callable[[Proxy], tuple[dict[str, Any], dict[str, Any]]]
    """Proxy → (outcome compared with the expectation, figures reported only)."""
    expect: dict[str, Any]
    """The outcome both backends give, unless `nginx` names a gap."""
    nginx: Gap | None = None
    about: str = ""


SCENARIOS: list[Scenario] = []


def scenario(name: str, input: str, expect: dict[str, Any], *, nginx: Gap | None = None, about: str = "") -> Any:
    def register(measure: Callable[[Proxy], tuple[dict[str, Any], dict[str, Any]]]) -> Any:
        SCENARIOS.append(Scenario(name, input, measure, expect, nginx, about))
        return measure

    return register


def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll a state (requests held, queued or answered) until `predicate()` holds; False after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # polling a state, not waiting for one to happen by itself
    return True


def _hits(stub: stubs_mod.Stub, action: Callable[[], Any]) -> tuple[int, Any]:
    """(requests that reached `stub` during `action`, what `action` returned)."""
    before = stub.arrived
    result = action()
    return stub.arrived - before, result


# retries by retryOn kind ---------------------------------------------------------------------------------


@scenario(
    "retry-default-503",
    _service("rt-default", ["a"], vs=_route("rt-default")),
    {"status": 503, "tries": 1},
    about="mesh default retries, POST answered 503 (issue 16.1)",
)
def _retry_default(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-default")
    stub.status = 503
    tries, resp = _hits(stub, lambda: p.send("rt-default", method="POST", body=b"x"))
    return {"status": resp.status, "tries": tries}, {}


@scenario(
    "retry-on-503",
    _service("rt-503", ["a"], vs=_route("rt-503", '    retries: {attempts: 2, retryOn: "503"}\n')),
    {"status": 503, "tries": 3},
    about="retryOn 503, one endpoint: Envoy retries it; nginx lists it once per try",
)
def _retry_503(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-503")
    stub.status = 503
    tries, resp = _hits(stub, lambda: p.send("rt-503", method="POST", body=b"x"))
    return {"status": resp.status, "tries": tries}, {}


@scenario(
    "retry-5xx",
    _service("rt-5xx", ["a"], vs=_route("rt-5xx", "    retries: {attempts: 2, retryOn: 5xx}\n")),
    {"tries after 500": 3, "tries after 501": 3, "tries after 505": 3},
    nginx=Gap("MC459", {"tries after 500": 3, "tries after 501": 1, "tries after 505": 1}),
    about="retryOn 5xx (issue 16.7)",
)
def _retry_5xx(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-5xx")
    out = {}
    for status in (500, 501, 505):
        stub.status = status
        out[f"tries after {status}"], _ = _hits(stub, lambda: p.send("rt-5xx"))
    return out, {}


@scenario(
    "retry-gateway-error-dead-endpoint",
    _service(
        "rt-gw",
        ["a", "dead"],
        dr=ROUND_ROBIN,
        vs=_route("rt-gw", "    retries: {attempts: 2, retryOn: gateway-error}\n"),
    ),
    {"answers": {200: 40}},
    about="retryOn gateway-error, one dead and one live endpoint, 40 requests (issue 16.8)",
)
def _retry_gateway_error(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = Counter(p.send("rt-gw", f"/{i}").status for i in range(40))
    return {"answers": dict(answers)}, {}


@scenario(
    "retry-default-dead-endpoint",
    _service("rt-dead", ["a", "dead"], dr=ROUND_ROBIN, vs=_route("rt-dead")),
    {"answers": {200: 40}},
    about="mesh default retries (connect-failure), one dead and one live endpoint, 40 requests",
)
def _retry_default_dead(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = Counter(p.send("rt-dead", f"/{i}").status for i in range(40))
    return {"answers": dict(answers)}, {}


@scenario(
    "retry-retriable-4xx",
    _service("rt-4xx", ["a"], vs=_route("rt-4xx", "    retries: {attempts: 2, retryOn: retriable-4xx}\n")),
    {"status": 409, "tries": 3},
    nginx=Gap("MC459", {"status": 409, "tries": 1}),
    about="retryOn retriable-4xx, the upstream answers 409",
)
def _retry_4xx(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-4xx")
    stub.status = 409
    tries, resp = _hits(stub, lambda: p.send("rt-4xx"))
    return {"status": resp.status, "tries": tries}, {}


@scenario(
    "per-try-timeout",
    _service(
        "rt-ptt",
        ["a"],
        vs=_route("rt-ptt", "    retries: {attempts: 2, perTryTimeout: 1s, retryOn: gateway-error}\n"),
    ),
    {"status": 504, "tries": 3},
    about="perTryTimeout 1s, attempts 2, an upstream that never answers in time",
)
def _per_try_timeout(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-ptt")
    stub.hold_requests()
    try:
        tries, resp = _hits(stub, lambda: p.send("rt-ptt"))
    finally:
        stub.release()
    return {"status": resp.status, "tries": tries}, {"seconds": round(resp.elapsed, 2)}


@scenario(
    "retry-default-reset",
    _service("rt-reset", ["a"], vs=_route("rt-reset")),
    {"status": 503, "tries": 1},
    nginx=Gap("MC459", {"status": 503, "tries": 3}, match="mesh default retry policy"),
    about="mesh default retries, an upstream that resets the connection after reading the request",
)
def _retry_default_reset(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-reset")
    stub.reset = True
    tries, resp = _hits(stub, lambda: p.send("rt-reset"))
    return {"status": resp.status, "tries": tries}, {}


@scenario(
    "retry-attempts-0-dead-endpoint",
    _service("rt-none", ["a", "dead"], dr=ROUND_ROBIN, vs=_route("rt-none", "    retries: {attempts: 0}\n")),
    {"answers": {200: 10, 503: 10}},
    about="retries attempts 0, one dead and one live endpoint, 20 requests: the dead one's share fails with 503",
)
def _retry_none(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"answers": dict(Counter(p.send("rt-none", f"/{i}").status for i in range(20)))}, {}


@scenario(
    "dead-endpoint-only",
    _service("dead-only", ["dead"], vs=_route("dead-only")),
    {"status": 503},
    about="the only endpoint refuses connections: no upstream answers",
)
def _dead_only(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"status": p.send("dead-only").status}, {}


@scenario(
    "route-timeout",
    _service("rt-timeout", ["a"], vs=_route("rt-timeout", "    timeout: 1s\n    retries: {attempts: 0}\n")),
    {"status": 504, "tries": 1},
    about="timeout 1s, an upstream that never answers in time",
)
def _route_timeout(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("rt-timeout")
    stub.hold_requests()
    try:
        tries, resp = _hits(stub, lambda: p.send("rt-timeout"))
    finally:
        stub.release()
    return {"status": resp.status, "tries": tries}, {"seconds": round(resp.elapsed, 2)}


# circuit breaker ----------------------------------------------------------------------------------------

CIRCUIT_BREAKER = (
    "  trafficPolicy:\n"
    "    connectionPool:\n"
    "      tcp: {maxConnections: 1}\n"
    "      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}\n"
)


@scenario(
    "circuit-breaker",
    _service("cb", ["a"], dr=CIRCUIT_BREAKER, vs=_route("cb")),
    {"upstream concurrency": 1, "answers": {200: 2, 503: 3}},
    nginx=Gap("MC456", {"upstream concurrency": 1, "answers": {200: 1, 503: 4}}),
    about="maxConnections 1, http1MaxPendingRequests 1 (the httpbin tutorial), 5 concurrent requests (issue 16.6)",
)
def _circuit_breaker(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("cb")
    stub.hold_requests()
    with ThreadPoolExecutor(max_workers=5) as pool:
        try:
            first = pool.submit(p.send, "cb", "/0")
            assert stub.wait_for(lambda s: s.active == 1), "the first request never reached the upstream"
            rest: list[Future[Response]] = [pool.submit(p.send, "cb", f"/{i}") for i in range(1, 5)]
            # every request is decided before the upstream is released: held at the upstream, queued
            # by the proxy, or answered (a proxy without the limits holds all 5 at the upstream)
            assert _until(lambda: stub.active + p.pending("cb") + sum(f.done() for f in rest) == 5), (
                "a request was never decided"
            )
            held, early = stub.active, sum(f.done() for f in rest)
        finally:
            stub.release()
        answers = Counter(f.result().status for f in [first, *rest])
    # `peak` also covers the queued request, sent once the first is answered (stubs.py counts an
    # answer done before it leaves, so that request cannot overlap it in the count)
    return {"upstream concurrency": stub.peak, "answers": dict(answers)}, {
        "held": held,
        "answered before release": early,
    }


@scenario(
    "circuit-breaker-two-endpoints",
    _service(
        "cb-two",
        ["a", "b"],
        # round robin: with least-request, Envoy may open a third connection (it always allows one
        # to an endpoint that has none, even over the limit)
        dr=ROUND_ROBIN + "    connectionPool: {tcp: {maxConnections: 2}}\n",
        vs=_route("cb-two", "    retries: {attempts: 0}\n"),
    ),
    {"upstream concurrency": 2, "answers": {200: 6}},
    nginx=Gap("MC456", {"upstream concurrency": 2, "answers": {200: 2, 503: 4}}),
    about="maxConnections 2 over two endpoints, no pending limit, 6 concurrent requests",
)
def _circuit_breaker_two(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = p.stub("cb-two", "a"), p.stub("cb-two", "b")
    for s in (a, b):
        s.hold_requests()
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures: list[Future[Response]] = []
        try:
            for i in range(6):
                futures.append(pool.submit(p.send, "cb-two", f"/{i}"))
                # each request is decided before the next: it reaches an endpoint, waits in Envoy's
                # queue, or is answered at once
                assert _until(
                    lambda n=i + 1: a.active + b.active + p.pending("cb-two") + sum(f.done() for f in futures) == n
                ), f"request {i} was never decided"
            concurrency = a.active + b.active
        finally:
            a.release()
            b.release()
        answers = Counter(f.result().status for f in futures)
    return {"upstream concurrency": concurrency, "answers": dict(answers)}, {}


# outlier detection ---------------------------------------------------------------------------------------


@scenario(
    "outlier-one-endpoint",
    _service("od-one", ["a"], dr=OUTLIER, vs=_route("od-one")),
    {"ejected": True, "next 10 answers": {503: 10}},
    nginx=Gap("MC457", {"ejected": False, "next 10 answers": {500: 10}}),
    about="consecutive5xxErrors 1, one endpoint answering 500 (issue 16.9)",
)
def _outlier_one(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("od-one")
    stub.status = 500
    sent, ejected = 0, False
    while sent < 30 and not ejected:  # until one answer does not reach the endpoint
        hits, resp = _hits(stub, lambda path=f"/{sent}": p.send("od-one", path))
        sent += 1
        ejected = hits == 0 and resp.status == 503
    answers = Counter(p.send("od-one", f"/next{i}").status for i in range(10))
    return {"ejected": ejected, "next 10 answers": dict(answers)}, {"requests until ejected": sent}


@scenario(
    "outlier-two-endpoints",
    _service("od-two", ["a", "b"], dr=OUTLIER, vs=_route("od-two")),
    {"bad endpoint served at most 3 of 60": True},
    nginx=Gap("MC457", {"bad endpoint served at most 3 of 60": False}),
    about="consecutive5xxErrors 1, endpoint b answers 500, 60 requests (issue 16.9)",
)
def _outlier_two(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    bad = p.stub("od-two", "b")
    bad.status = 500
    answers = Counter(p.send("od-two", f"/{i}").status for i in range(60))
    served = len(bad.requests)
    return {"bad endpoint served at most 3 of 60": served <= 3}, {"bad served": served, "answers": dict(answers)}


def _until_ejected(p: Proxy, service: str, stub: stubs_mod.Stub) -> tuple[bool, int]:
    """Send requests until one is answered 503 without reaching the endpoint (at most 30); (ejected, sent)."""
    sent, ejected = 0, False
    while sent < 30 and not ejected:
        hits, resp = _hits(stub, lambda path=f"/{sent}": p.send(service, path))
        sent += 1
        ejected = hits == 0 and resp.status == 503
    return ejected, sent


@scenario(
    "outlier-dead-endpoint",
    _service(
        "od-dead",
        ["a", "dead"],
        dr=OUTLIER_ROUND_ROBIN,
        vs=_route("od-dead", "    retries: {attempts: 0}\n"),
    ),
    {"ejected": True, "503 in the next 20": 0},
    about="consecutive5xxErrors 1, no retries, one dead and one live endpoint: a refused connection counts",
)
def _outlier_dead(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    # round robin alternates: once 10 answers in a row are 200, the dead endpoint is out of the rotation
    # (Envoy ejects it on its main thread, a moment after the failure)
    streak, sent, before = 0, 0, Counter[int]()
    while streak < 10 and sent < 60:
        status = p.send("od-dead", f"/w{sent}").status
        before[status] += 1
        streak = streak + 1 if status == 200 else 0
        sent += 1
    answers = Counter(p.send("od-dead", f"/{i}").status for i in range(20))
    return {"ejected": streak == 10, "503 in the next 20": answers[503]}, {"before": dict(before)}


@scenario(
    "outlier-one-reset-endpoint",
    _service("od-reset", ["a"], dr=OUTLIER, vs=_route("od-reset")),
    {"ejected": True, "next 9 reached the endpoint": 0, "next 9 answers": {503: 9}},
    about="consecutive5xxErrors 1, mesh default retries, the only endpoint resets connections",
)
def _outlier_reset(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("od-reset")
    stub.reset = True
    ejected, sent = _until_ejected(p, "od-reset", stub)
    hits, answers = _hits(stub, lambda: Counter(p.send("od-reset", f"/next{i}").status for i in range(9)))
    return {"ejected": ejected, "next 9 reached the endpoint": hits, "next 9 answers": dict(answers)}, {
        "requests until ejected": sent
    }


@scenario(
    "outlier-one-endpoint-no-retries",
    _service("od-single", ["a"], dr=OUTLIER, vs=_route("od-single", "    retries: {attempts: 0}\n")),
    {"ejected": True},
    nginx=Gap("MC457", {"ejected": False}),
    about="consecutive5xxErrors 1, no retries, the only endpoint resets connections: one server line",
)
def _outlier_single(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("od-single")
    stub.reset = True
    ejected, sent = _until_ejected(p, "od-single", stub)
    return {"ejected": ejected}, {"requests sent": sent, "reached the endpoint": stub.arrived}


# faults and mirror ---------------------------------------------------------------------------------------


@scenario(
    "fault-abort",
    _service("fa", ["a"], vs=_route("fa", "    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}\n")),
    {"status": 418, "reached upstream": 0},
    about="abort 100%",
)
def _fault_abort(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    hits, resp = _hits(p.stub("fa"), lambda: p.send("fa"))
    return {"status": resp.status, "reached upstream": hits}, {}


@scenario(
    "fault-delay",
    _service("fd", ["a"], vs=_route("fd", "    fault: {delay: {fixedDelay: 2s, percentage: {value: 100}}}\n")),
    {"status": 200, "delayed 2s": True},
    nginx=Gap("MC450", {"status": 200, "delayed 2s": False}),
    about="fixedDelay 2s at 100%",
)
def _fault_delay(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    resp = p.send("fd")
    return {"status": resp.status, "delayed 2s": resp.elapsed >= 2.0}, {"seconds": round(resp.elapsed, 2)}


@scenario(
    "mirror",
    _service("mr", ["a"], vs=_route("mr", "    mirror: {host: mr-shadow}\n    mirrorPercentage: {value: 100}\n"))
    + "---\n"
    + _service("mr-shadow", ["a"]),
    {"answered by": "mr-a", "copies": 1, "copy host": "mr-shadow"},
    about="mirror 100% to another service",
)
def _mirror(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    shadow = p.stub("mr-shadow")
    before = len(shadow.requests)
    resp = p.send("mr", "/m")
    got = shadow.wait_for(lambda s: len(s.requests) > before)
    copies = shadow.requests[before:]
    host = str(copies[0]["headers"].get("host", "")).rsplit(":", 1)[0] if got else None
    return {"answered by": resp.stub, "copies": len(copies), "copy host": host}, {}


# request details ----------------------------------------------------------------------------------------


@scenario(
    "double-slash",
    _service(
        "dslash",
        ["a"],
        vs="  - match: [{uri: {prefix: /a}}]\n    directResponse: {status: 201}\n  - directResponse: {status: 202}\n",
    ),
    {"/a": 201, "//a": 202},
    about="slashes are not merged before matching: //a does not match prefix /a",
)
def _double_slash(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    return {path: p.send("dslash", path).status for path in ("/a", "//a")}, {}


@scenario(
    "header-underscore",
    _service(
        "hdr",
        ["a"],
        vs="  - match: [{headers: {x-user: {exact: admin}}}]\n    directResponse: {status: 201}\n"
        "  - route: [{destination: {host: hdr}}]\n",
    ),
    {"x-user: admin": 201, "x_user: admin": 200, "x_extra forwarded": True},
    nginx=Gap("MC471", {"x-user: admin": 201, "x_user: admin": 201, "x_extra forwarded": True}),
    about="a route on header x-user; requests with x-user and with x_user (issue 20.7)",
)
def _header_underscore(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    out: dict[str, Any] = {}
    for name in ("x-user", "x_user"):
        out[f"{name}: admin"] = p.send("hdr", headers=[(name, "admin")]).status
    resp = p.send("hdr", headers=[("x_extra", "1")])
    out["x_extra forwarded"] = resp.status == 200 and resp.json()["headers"].get("x_extra") == "1"
    return out, {}


@scenario(
    "streaming",
    _service("stream", ["a"], vs=_route("stream")),
    {"first half before the rest was sent": True},
    about="an answer is passed on as it arrives (nginx: proxy_buffering off)",
)
def _streaming(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    stub = p.stub("stream")
    stub.pause = threading.Event()
    try:
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
            sock.sendall(b"GET /s HTTP/1.1\r\nHost: stream\r\n\r\n")
            data = b""
            while b"\r\n\r\n{" not in data:  # the headers and the start of the body
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            # the stub still waits to send the rest: what arrived was passed on, not buffered
            early = stub.pause is not None and not stub.pause.is_set() and b"\r\n\r\n{" in data
    finally:
        pause, stub.pause = stub.pause, None
        if pause is not None:
            pause.set()
    return {"first half before the rest was sent": early}, {}


# load balancers -----------------------------------------------------------------------------------------


@scenario(
    "lb-round-robin",
    _service("lb-rr", ["a", "b"], dr=ROUND_ROBIN, vs=_route("lb-rr")),
    {"answers": {"lb-rr-a": 10, "lb-rr-b": 10}},
    about="ROUND_ROBIN, 20 requests",
)
def _lb_round_robin(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"answers": dict(Counter(p.send("lb-rr", f"/{i}").stub for i in range(20)))}, {}


@scenario(
    "lb-least-request",
    _service("lb-lr", ["a", "b"], vs=_route("lb-lr")),
    {"both endpoints hold some of 8": True},
    about="LEAST_REQUEST (Istio's default), 8 requests held one after the other: both endpoints get some "
    "(nginx always picks the less busy endpoint; Envoy the less busy of two random picks, which may be the same)",
)
def _lb_least_request(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = p.stub("lb-lr", "a"), p.stub("lb-lr", "b")
    for s in (a, b):
        s.hold_requests()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        try:
            for i in range(8):
                futures.append(pool.submit(p.send, "lb-lr", f"/{i}"))
                assert a.wait_for(lambda _, n=i + 1: a.active + b.active == n), "a held request got lost"
            held = sorted([a.active, b.active])
        finally:
            a.release()
            b.release()
        for f in futures:
            f.result()
    return {"both endpoints hold some of 8": held[0] > 0}, {"held": held}


@scenario(
    "lb-random",
    _service("lb-rnd", ["a", "b"], dr="  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n", vs=_route("lb-rnd")),
    {"both endpoints used in 40": True},
    about="RANDOM, 40 requests",
)
def _lb_random(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    seen = Counter(p.send("lb-rnd", f"/{i}").stub for i in range(40))
    return {"both endpoints used in 40": len(seen) == 2}, {"answers": dict(seen)}


@scenario(
    "lb-consistent-hash",
    _service(
        "lb-hash",
        ["a", "b", "c"],
        dr="  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}\n",
        vs=_route("lb-hash"),
    ),
    {"sticky": True, "endpoints used by 12 users": ">1"},
    about="consistentHash on header x-user: 12 users, 3 requests each (hosts are placed differently: MC458 doc)",
)
def _lb_hash(p: Proxy) -> tuple[dict[str, Any], dict[str, Any]]:
    chosen: dict[str, set[str | None]] = {}
    for user in range(12):
        for _ in range(3):
            resp = p.send("lb-hash", headers=[("x-user", f"user-{user}")])
            chosen.setdefault(f"user-{user}", set()).add(resp.stub)
    used = {s for v in chosen.values() for s in v}
    sticky = all(len(v) == 1 for v in chosen.values())
    placement = {user: sorted(map(str, chosen[user]))[0] for user in chosen}
    return {"sticky": sticky, "endpoints used by 12 users": ">1" if len(used) > 1 else "1"}, {"placement": placement}


# --- running them -----------------------------------------------------------------------------------------

INPUT = "---\n".join(s.input for s in SCENARIOS)
RESULTS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}


@pytest.fixture(scope="module")
def envoy() -> Iterator[Proxy]:
    with _envoy(INPUT) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def nginx() -> Iterator[Proxy]:
    with _nginx(INPUT) as proxy:
        yield proxy


@pytest.fixture(scope="module", autouse=True)
def _table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = ["", "parity: scenario × backend × measured outcome"]
    for s in SCENARIOS:
        for backend in ("envoy", "nginx"):
            if (s.name, backend) not in RESULTS:
                continue
            outcome, figures = RESULTS[(s.name, backend)]
            gap = f"  [gap {s.nginx.code}]" if backend == "nginx" and s.nginx else ""
            shown = {k: v for k, v in figures.items() if k != "placement"}
            extra = f"  ({', '.join(f'{k}: {v}' for k, v in shown.items())})" if shown else ""
            lines.append(f"  {s.name:36} {backend:6} {outcome}{gap}{extra}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n".join(lines))


def _normal(outcome: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in outcome.items()}


@pytest.mark.parametrize("case", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_envoy(case: Scenario, envoy: Proxy) -> None:
    outcome, figures = case.measure(envoy)
    RESULTS[(case.name, "envoy")] = (outcome, figures)
    assert _normal(outcome) == case.expect, f"{case.name} ({case.about}): envoy {outcome} {figures}"


@pytest.mark.parametrize("case", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_nginx(case: Scenario, nginx: Proxy) -> None:
    outcome, figures = case.measure(nginx)
    RESULTS[(case.name, "nginx")] = (outcome, figures)
    if case.nginx is None:
        assert _normal(outcome) == case.expect, f"{case.name} ({case.about}): nginx {outcome} {figures}"
        return
    gap = case.nginx
    service = case.input.split("name: ", 1)[1].split(",", 1)[0]
    reported = [
        d
        for d in nginx.diagnostics
        if d.code == gap.code and (gap.match or service) in (d.message if gap.match else f"{d.message} {d.resource}")
    ]
    assert reported, f"{case.name}: the nginx backend no longer reports {gap.code} for it: run it as `same`"
    assert _normal(outcome) == gap.outcome, f"{case.name} ({case.about}): nginx {outcome} {figures}"


def test_every_scenario_has_its_own_service() -> None:
    names = [s.input.split("name: ", 1)[1].split(",", 1)[0] for s in SCENARIOS]
    assert len(names) == len(set(names)), names
    assert all(s.about for s in SCENARIOS)


# --- every comment of nginx.conf that says what nginx does is checked by an end-to-end test -------------

PARITY = "tests/e2e/test_parity.py::test_nginx"
COMMENTS: list[tuple[str, list[str]]] = [
    (r"Envoy answers 503 when no upstream answers", [f"{PARITY}[dead-endpoint-only]", f"{PARITY}[circuit-breaker]"]),
    (r"no upstream answered: Envoy answers 503", [f"{PARITY}[dead-endpoint-only]"]),
    (r"a route's own error_page works after the dispatch", [f"{PARITY}[dead-endpoint-only]"]),
    (r"Istio does not merge slashes before matching", [f"{PARITY}[double-slash]"]),
    (r"forward headers with `_` as Envoy; `x_a` also reads as `x-a` \(MC471\)", [f"{PARITY}[header-underscore]"]),
    (r"stream answers through, as Envoy does", [f"{PARITY}[streaming]"]),
    (r"a literal `\$` inside values", ["tests/test_nginx_injection.py::test_hostile_route_leaves_other_routes_alone"]),
    (r"round robin \(nginx's default\)", [f"{PARITY}[lb-round-robin]"]),
    (r"LEAST_REQUEST \(nginx: the server", [f"{PARITY}[lb-least-request]"]),
    (
        r"consistentHash: sticky like Envoy's \w+, but hosts are placed differently",
        [f"{PARITY}[lb-consistent-hash]", "tests/e2e/test_parity.py::test_hash_placement_differs"],
    ),
    (
        r"outlierDetection \(approximation\): a server is skipped",
        [f"{PARITY}[outlier-two-endpoints]", f"{PARITY}[outlier-dead-endpoint]"],
    ),
    (
        r"outlierDetection \(approximation\): the endpoint is listed \d+ times",
        [f"{PARITY}[outlier-one-endpoint]", f"{PARITY}[outlier-one-reset-endpoint]"],
    ),
    (
        r"outlierDetection \(approximation\): the only server of an upstream is never skipped",
        [f"{PARITY}[outlier-one-endpoint-no-retries]"],
    ),
    (
        r"tcp\.maxConnections \d+: max_conns=\d+: at most \d+ connections? to the endpoint",
        [f"{PARITY}[circuit-breaker]"],
    ),
    (
        r"tcp\.maxConnections \d+: max_conns=\d+: at most \d+ connections to each of",
        [f"{PARITY}[circuit-breaker-two-endpoints]"],
    ),
    (r"one endpoint, listed \d+ times so that retries can happen \(Envoy retries it\)", [f"{PARITY}[retry-on-503]"]),
    (
        r"mesh default retries: error: a refused or reset connection \(Envoy retries a failed connection only",
        [f"{PARITY}[retry-default-dead-endpoint]", f"{PARITY}[retry-default-reset]", f"{PARITY}[retry-default-503]"],
    ),
    (
        r"retries: (error|timeout|\d)",
        [f"{PARITY}[retry-gateway-error-dead-endpoint]", f"{PARITY}[retry-on-503]", f"{PARITY}[retry-5xx]"],
    ),
    (r"retries: no retry condition nginx knows", [f"{PARITY}[retry-retriable-4xx]"]),
    (r"no retries", [f"{PARITY}[retry-attempts-0-dead-endpoint]"]),
    (r"retries\.perTryTimeout \S+: nginx bounds the wait between two reads", [f"{PARITY}[per-try-timeout]"]),
    (r"no timeout set \(Istio: none\): nginx waits at most", [f"{PARITY}[per-try-timeout]"]),
    (
        r"timeout \S+: nginx bounds the wait between two reads \(MC460\)",
        ["tests/e2e/test_nginx_routes.py::test_nginx_matches_meshc_route"],
    ),
    (
        r"fault\.abort \d+(\.\d+)?%",
        [f"{PARITY}[fault-abort]", "tests/e2e/test_nginx_live.py::test_abort_percentage_within_tolerance"],
    ),
    (
        r"mirror \d+(\.\d+)?% to ",
        [f"{PARITY}[mirror]", "tests/e2e/test_nginx_live.py::test_mirror_and_header_operations"],
    ),
    (r"headers\.request\.add", ["tests/e2e/test_nginx_live.py::test_mirror_and_header_operations"]),
    (r"nginx would send the upstream name otherwise", ["tests/e2e/test_nginx_scenarios.py::test_scenario"]),
    (
        r"rewrite\.uri \((prefix|whole path)\)|rewrite\.uriRegexRewrite",
        ["tests/e2e/test_nginx_scenarios.py::test_scenario"],
    ),
    (
        r"the first route that matches|no route matches: Envoy answers 404",
        ["tests/e2e/test_nginx_scenarios.py::test_scenario"],
    ),
    (r"unknown Host: Envoy answers 404", ["tests/e2e/test_nginx_scenarios.py::test_scenario"]),
    (r"unknown cluster: Envoy answers 503", ["tests/e2e/test_nginx_routes.py::test_nginx_matches_meshc_route"]),
    (r"unknown cluster: Envoy answers 500", ["tests/e2e/test_nginx_scenarios.py::test_scenario[gateway-api]"]),
    (
        r"outside the registry: Envoy sends it to \w+, nginx cannot",
        ["tests/e2e/test_nginx_live.py::test_bookinfo_jason_reaches_reviews_v2"],
    ),
    (r"Host for a redirect to https?", ["tests/e2e/test_nginx_scenarios.py::test_scenario"]),
    (r"route \d+ `[^`]*` can never match in nginx", ["tests/e2e/test_nginx_scenarios.py::test_scenario"]),
    (r"tls\.httpsRedirect", ["tests/e2e/test_nginx_routes.py::test_nginx_matches_meshc_route"]),
    (
        r"DNS endpoints, resolved at request time \(MC466\)|resolved at request time \(resolver\)|--resolver: DNS",
        ["tests/e2e/test_nginx_dns.py::test_dns_names_resolve_at_request_time"],
    ),
    (
        r"the subset shares the Service's name",
        ["tests/e2e/test_nginx_dns.py::test_bookinfo_jason_reaches_reviews_v2_through_dns"],
    ),
]
"""Each comment that says what nginx does → the end-to-end tests that check it on a real nginx."""

LABELS = re.compile(
    r"^(Generated by|Run: nginx|Approximations are commented|---- context|routes of |its first value|add to header "
    r"|query parameter |(path|header [^ ]+|method|authority|scheme|query [^ ]+) "
    r"(exact|prefix|path_separated_prefix|regex|present)"
    r"|outbound\||[a-z0-9*.-]+:\d+$|[a-z0-9-]+/[a-z0-9.~*-]+/(http|tls|tcp)/\d+|default( \(default\))?$|blackhole:"
    r"|(allow_any|block_all|allow_any_dynamic_dns)( \(\w+\))?$"
    r"|[^ ]+\.svc\.cluster\.local:\d+|mirror to unknown cluster|redirect left out|.*: DNS endpoints, resolved)"
)
"""Comments that only name what follows (a route id, a host, a cluster, a condition)."""


def _nginx_comments() -> set[str]:
    from pathlib import Path

    from meshc.compile import compile_mesh
    from meshc.config import Options
    from meshc.pipeline import load

    root = Path(__file__).resolve().parents[2]
    texts = [nginx_backend.render(diff.plan(INPUT).compiled)[0]]
    for path in [*sorted(root.glob("tests/cases/*/input.yaml")), *sorted((root / "examples").iterdir())]:
        texts.append(nginx_backend.render(compile_mesh(load([str(path)], Options()).mesh))[0])
    return {line.split("#", 1)[1].strip() for t in texts for line in t.splitlines() if "#" in line}


def test_every_nginx_comment_is_checked_end_to_end() -> None:
    import importlib

    unchecked = sorted(
        c for c in _nginx_comments() if not LABELS.match(c) and not any(re.search(rx, c) for rx, _ in COMMENTS)
    )
    assert not unchecked, "comments in nginx.conf that no end-to-end test checks:\n" + "\n".join(unchecked)
    names = {s.name for s in SCENARIOS}
    for _, refs in COMMENTS:
        for ref in refs:
            path, _, test = ref.partition("::")
            func, _, param = test.partition("[")
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            assert callable(getattr(module, func, None)), ref
            if path.endswith("test_parity.py") and param:
                assert param.rstrip("]") in names, ref


def test_hash_placement_differs(envoy: Proxy, nginx: Proxy) -> None:
    """Both proxies are sticky (lb-consistent-hash), and place keys on hosts differently (MC458's note)."""
    case = next(s for s in SCENARIOS if s.name == "lb-consistent-hash")
    envoy_map = case.measure(envoy)[1]["placement"]
    nginx_map = case.measure(nginx)[1]["placement"]
    assert envoy_map != nginx_map, (envoy_map, nginx_map)  # 12 users on 3 endpoints: equal by chance ~ 2e-6
