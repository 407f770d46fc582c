"""Differential runs: the same Istio input through `meshc route` (the simulator) and through a real proxy.

A `Deployment` compiles an input once (`meshc.compile`), renders the proxy's configuration with every
listener moved to a free port on 127.0.0.1 and every endpoint pointed at a stub, starts the proxy
once, and then answers many requests: `observe()` sends one to the proxy, `predict()` asks the
simulator through `meshc.route.explain`, exactly what `meshc route` runs. `deploy()` runs Envoy;
the nginx scenario tests build a `Deployment` the same way with `plan()` and their own `send`.

The backend-neutral scenarios of tests/e2e/scenarios/ are read by `scenario_files()` /
`load_scenario()`, and `check_request()` compares one scenario request three ways (the proxy, the
simulator, the scenario's `expect`); every backend's scenario test uses it.

Stubs are named after the endpoint they stand for: the WorkloadEntry name, or
`<ServiceEntry name>[<k>]` for the k-th ServiceEntry endpoint, so scenarios say `backend: reviews-v2`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshc import ir
from meshc.backends import envoy as backend
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import Loaded, load
from meshc.route import RouteError, explain
from meshc.simulate import Decision, Request
from tests.e2e import envoy as harness
from tests.e2e import stubs as stubs_mod


def endpoint_name(ep: ir.Endpoint) -> str:
    """The stub name of an endpoint (see the module docstring)."""
    o = ep.origin
    if o is None:
        return ep.address
    if o.kind == "ServiceEntry" and o.field.startswith("spec.endpoints["):
        return f"{o.name}{o.field[len('spec.endpoints') :]}"
    return o.name


def load_text(text: str) -> Loaded:
    """Load an input given as YAML text (as `meshc route -` would)."""
    return load(["-"], Options(), stdin=text.encode("utf-8"))


@dataclass
class Observation:
    """What the proxy did with a request."""

    status: int
    backend: str | None
    """Stub that answered; None when the proxy answered itself."""
    path: str | None = None
    """:path the stub received (with the query string)."""
    authority: str | None = None
    """Host the stub received."""
    upstream_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    elapsed: float = 0.0


@dataclass
class Deployment:
    """A compiled input running in a proxy (Envoy by default), with its stubs."""

    loaded: Loaded
    compiled: ir.IR
    text: str
    diagnostics: list[Any]
    ports: dict[int, int]
    """IR listener port → the local port the proxy listens on (filled in once the proxy runs)."""
    stubs: dict[str, stubs_mod.Stub]
    cluster_backends: dict[str, list[str]]
    """Cluster name → stub names of its endpoints."""
    admin_port: int = 0
    """Envoy's admin port (0 for other proxies)."""
    envoy: harness.Envoy | None = None
    send: Callable[..., Any] = harness.request
    """Sends one request to 127.0.0.1:port (`tests.e2e.envoy.request` or `tests.e2e.nginx.request`);
    its answer has `status`, `headers`, `body`, `stub` and `elapsed`."""

    def observe(
        self,
        *,
        host: str,
        port: int,
        path: str = "/",
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        timeout: float = 10.0,
    ) -> Observation:
        resp = self.send(self.ports[port], path, host=host, method=method, headers=headers, timeout=timeout)
        obs = Observation(resp.status, resp.stub, response_headers=resp.headers, elapsed=resp.elapsed)
        obs.location = resp.headers.get("location")
        echo = _echo(resp.body)
        if echo is not None:
            # The body names the stub, so a route that removes the `x-stub` response header still tells.
            obs.backend = str(echo["stub"])
            query = str(echo.get("query") or "")
            obs.path = str(echo["path"]) + (f"?{query}" if query else "")
            hdrs = echo.get("headers")
            obs.upstream_headers = dict(hdrs) if isinstance(hdrs, dict) else {}
            obs.authority = obs.upstream_headers.get("host")
        return obs

    def predict(
        self,
        *,
        host: str,
        port: int,
        path: str = "/",
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        gateway: str = "mesh",
        claims: dict[str, Any] | None = None,
    ) -> Decision:
        request = Request(host, path, method, list(headers or []), port, gateway=gateway, claims=dict(claims or {}))
        try:
            return explain(self.loaded, request).decision
        except RouteError as exc:
            # `meshc route` refuses the request (a gateway that does not serve the host): the proxy answers 404.
            return Decision(request, "no_route", status=404, reason=f"meshc route: {exc}")

    def backends_of(self, decision: Decision) -> dict[str, list[str]]:
        """Cluster → stub names, for the destinations the simulator chose."""
        return {d.cluster.cluster: self.cluster_backends.get(d.cluster.cluster, []) for d in decision.destinations}


def _echo(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "stub" in data else None


def _stub_plan(compiled: ir.IR) -> tuple[dict[str, tuple[str, int]], dict[str, list[str]]]:
    """(stub name → the endpoint address it replaces, cluster → stub names)."""
    names: dict[str, tuple[str, int]] = {}
    clusters: dict[str, list[str]] = {}
    for ctx in compiled.contexts:
        for cl in ctx.clusters:
            found = []
            for ep in cl.endpoints:
                if ep.origin is None:
                    continue
                name = endpoint_name(ep)
                names[name] = (ep.address, ep.port)
                found.append(name)
            clusters.setdefault(cl.name, sorted(set(found)))
    return names, clusters


@dataclass
class Plan:
    """A compiled input and the stubs it needs (backend-neutral)."""

    loaded: Loaded
    compiled: ir.IR
    endpoints: dict[str, tuple[str, int]]
    """Stub name → the endpoint address it replaces."""
    cluster_backends: dict[str, list[str]]
    """Cluster name → stub names of its endpoints."""


def plan(text: str) -> Plan:
    """Load and compile `text` (it must have no errors) and name the stubs its endpoints become."""
    loaded = load_text(text)
    assert loaded.errors == 0, "the scenario input has errors; run `meshc lint` on it"
    compiled = compile_mesh(loaded.mesh)
    endpoints, cluster_backends = _stub_plan(compiled)
    return Plan(loaded, compiled, endpoints, cluster_backends)


@contextlib.contextmanager
def deploy(text: str, *, extra_stubs: dict[str, stubs_mod.Stub] | None = None) -> Iterator[Deployment]:
    """Compile `text`, start one stub per endpoint and Envoy; stop everything on exit."""
    p = plan(text)
    loaded, compiled, plan_, cluster_backends = p.loaded, p.compiled, p.endpoints, p.cluster_backends
    with stubs_mod.running(*sorted(plan_)) as stubs:
        dep = prepare(loaded, compiled, stubs, plan_, cluster_backends)
        with start(dep):
            yield dep


@contextlib.contextmanager
def start(dep: Deployment) -> Iterator[harness.Envoy]:
    """Run Envoy on a prepared deployment; fill in the ports it listens on; stop it on exit."""
    with harness.running(dep.text) as proc:
        dep.envoy = proc
        dep.admin_port = proc.admin_port
        dep.ports = listener_ports(dep.compiled, proc)
        yield proc


def listener_ports(compiled: ir.IR, proc: harness.Envoy) -> dict[int, int]:
    """IR listener port → the port the running Envoy's listener of that name got."""
    by_name = proc.listener_ports()
    out: dict[int, int] = {}
    for ctx in compiled.contexts:
        for lst in ctx.listeners:
            if lst.name in by_name:
                out.setdefault(lst.port, by_name[lst.name])
    return out


def prepare(
    loaded: Loaded,
    compiled: ir.IR,
    stubs: dict[str, stubs_mod.Stub],
    plan: dict[str, tuple[str, int]],
    cluster_backends: dict[str, list[str]],
) -> Deployment:
    """Render the bootstrap for local stubs, every port 0 (the kernel picks; `start` reads them back)."""
    ports = {lst.port: 0 for ctx in compiled.contexts for lst in ctx.listeners}
    opts = backend.EnvoyOptions(bind="127.0.0.1", port_map=ports, admin_port=0)
    for name, (address, port) in plan.items():
        opts.endpoints[f"{address}:{port}"] = backend.Address("127.0.0.1", stubs[name].port)
    text, diags = backend.render(compiled, opts)
    return Deployment(loaded, compiled, text, diags, {}, stubs, cluster_backends)


# --- Scenarios (tests/e2e/scenarios/, backend-neutral) --------------------------------------------

SCENARIOS = Path(__file__).parent / "scenarios"


def scenario_files() -> list[Path]:
    """Every scenario file, in name order."""
    return sorted(SCENARIOS.glob("*.yaml"))


def load_scenario(path: Path) -> dict[str, Any]:
    """A scenario file as data: `input` (text) and `requests`."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def scenario_input(data: dict[str, Any], signer: Signer) -> str:
    """The scenario's input with `{{JWKS}}` replaced by the signer's public keys."""
    return str(data["input"]).replace("{{JWKS}}", signer.jwks().replace("'", "''"))


def token_headers(req: dict[str, Any], signer: Signer) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(extra headers, claims the proxy will have validated) for a scenario request's `token`."""
    tok = req.get("token")
    if tok is None:
        return [], {}
    if tok == "invalid":
        return [("authorization", f"Bearer {signer.token({'iss': 'https://auth.meshc.test'})[:-8]}AAAAAAAA")], {}
    if tok == "expired":
        return [("authorization", f"Bearer {signer.token({'iss': 'https://auth.meshc.test'}, expires_in=-600)}")], {}
    if tok == "other-key":
        other = Signer.generate()
        return [("authorization", f"Bearer {other.token({'iss': 'https://auth.meshc.test'})}")], {}
    claims = dict(tok.get("claims") or {})
    return [("authorization", f"Bearer {signer.token(claims)}")], claims


def check_request(
    dep: Deployment,
    req: dict[str, Any],
    signer: Signer,
    *,
    sigmas: float = 4.0,
    workers: int = 1,
    proxy: str = "envoy",
) -> None:
    """Send a scenario request (`samples` times) and assert that the proxy, the simulator and `expect` agree.

    Three things must agree:
    - what the proxy did (the stub that answered, status, Location, the path/Host/headers the
      upstream saw);
    - what the simulator (`meshc.route.explain`, i.e. `meshc route`) predicts for the same request;
    - the scenario's own `expect` (Istio's answer, written by hand).

    Weights: each destination's count is within `sigmas` binomial standard deviations (+1) of
    `samples * share`. `workers` > 1 sends the samples that many at a time. Raises AssertionError.
    """
    expect = req["expect"]
    extra, claims = token_headers(req, signer)
    headers = [(str(k), str(v)) for k, v in req.get("headers", [])] + extra
    kwargs: dict[str, Any] = {
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
    if workers > 1 and samples > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            observed = list(pool.map(lambda _: dep.observe(**kwargs), range(samples)))
    else:
        observed = [dep.observe(**kwargs) for _ in range(samples)]
    first = observed[0]
    trace = "\n".join(f"  {s.route}: {'MATCH' if s.matched else 'no'} ({s.reason})" for s in decision.trace)
    context = (
        f"{label}: {proxy} status {first.status} backend {first.backend}; "
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

    # 2. The proxy against the simulator.
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
    forward = route.forward if route is not None else None
    if forward is not None and decision.destinations and not any(d.cluster.known for d in decision.destinations):
        # The chosen cluster does not exist: the proxy answers itself (`cluster_not_found_response_code`).
        status = forward.cluster_not_found_status
        assert all(o.status == status and o.backend is None for o in observed), f"{context}\nexpected {status}"
        return
    allowed = {b for names in sim_backends.values() for b in names}
    for o in observed:
        assert o.backend in allowed, f"{context}\n{proxy} chose {o.backend}, simulator allows {sorted(allowed)}"
    assert first.path == decision.forwarded_path, f"{context}\nupstream path {first.path}"
    assert first.authority == decision.forwarded_authority, f"{context}\nupstream authority {first.authority}"
    if len(decision.destinations) > 1 or "shares" in expect:
        counts = Counter(o.backend for o in observed)
        for dest in decision.destinations:
            names = sim_backends[dest.cluster.cluster]
            got = sum(counts[n] for n in names)
            p = dest.share / 100
            sd = math.sqrt(samples * p * (1 - p))
            assert abs(got - samples * p) <= sigmas * sd + 1, (
                f"{context}\n{dest.cluster.cluster}: {got}/{samples}, expected {p:.3f} "
                f"({sigmas:g} sigma = {sigmas * sd:.1f})"
            )
        for name, pct in (expect.get("shares") or {}).items():
            p = pct / 100
            sd = math.sqrt(samples * p * (1 - p))
            assert abs(counts[name] - samples * p) <= sigmas * sd + 1, f"{context}\n{name}: {counts[name]}/{samples}"


# --- JWT helpers (RSA key made in the test) -----------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Signer:
    """An RSA key pair: its public JWKS for the configuration, and tokens signed with it."""

    private_key: Any
    kid: str = "meshc-test"

    @classmethod
    def generate(cls) -> Signer:
        from cryptography.hazmat.primitives.asymmetric import rsa

        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwks(self) -> str:
        numbers = self.private_key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": _b64(n), "e": _b64(e)}
        return json.dumps({"keys": [key]})

    def token(self, claims: dict[str, Any], *, expires_in: int = 3600) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        body = {"iat": now, "exp": now + expires_in, **claims}
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
        signature = self.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"
