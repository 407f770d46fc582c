"""Differential runs: the same Istio input through `meshc route` (the simulator) and through a real Envoy.

A `Deployment` compiles an input once (`meshc.compile`), renders the Envoy bootstrap with every
listener moved to a free port on 127.0.0.1 and every endpoint pointed at a stub, starts Envoy once,
and then answers many requests: `observe()` sends one to Envoy, `predict()` asks the simulator
through `meshc.route.explain`, exactly what `meshc route` runs.

Stubs are named after the endpoint they stand for: the WorkloadEntry name, or
`<ServiceEntry name>[<k>]` for the k-th ServiceEntry endpoint, so scenarios say `backend: reviews-v2`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from meshc import ir
from meshc.backends import envoy as backend
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.route import Loaded, RouteError, explain, load
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
    import io

    return load(["-"], Options(), stdin=io.BytesIO(text.encode("utf-8")))


@dataclass
class Observation:
    """What Envoy did with a request."""

    status: int
    backend: str | None
    """Stub that answered; None when Envoy answered itself."""
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
    """A compiled input running in Envoy, with its stubs."""

    loaded: Loaded
    compiled: ir.IR
    text: str
    diagnostics: list[Any]
    ports: dict[int, int]
    """IR listener port → the local port Envoy listens on."""
    stubs: dict[str, stubs_mod.Stub]
    cluster_backends: dict[str, list[str]]
    """Cluster name → stub names of its endpoints."""
    admin_port: int
    """Envoy's admin port."""
    envoy: harness.Envoy | None = None

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
        resp = harness.request(self.ports[port], path, host=host, method=method, headers=headers, timeout=timeout)
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
            # `meshc route` refuses the request (a gateway that does not serve the host): Envoy answers 404.
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


@contextlib.contextmanager
def deploy(text: str, *, extra_stubs: dict[str, stubs_mod.Stub] | None = None) -> Iterator[Deployment]:
    """Compile `text`, start one stub per endpoint and Envoy; stop everything on exit."""
    loaded = load_text(text)
    assert loaded.errors == 0, "the scenario input has errors; run `meshc lint` on it"
    compiled = compile_mesh(loaded.mesh)
    plan, cluster_backends = _stub_plan(compiled)
    with stubs_mod.running(*sorted(plan)) as stubs:
        dep = prepare(loaded, compiled, stubs, plan, cluster_backends)
        with harness.running(dep.text, dep.admin_port) as proc:
            dep.envoy = proc
            yield dep


def prepare(
    loaded: Loaded,
    compiled: ir.IR,
    stubs: dict[str, stubs_mod.Stub],
    plan: dict[str, tuple[str, int]],
    cluster_backends: dict[str, list[str]],
) -> Deployment:
    """Render the bootstrap for local stubs and free ports."""
    ports: dict[int, int] = {}
    for ctx in compiled.contexts:
        for lst in ctx.listeners:
            ports.setdefault(lst.port, stubs_mod.free_port())
    opts = backend.EnvoyOptions(bind="127.0.0.1", port_map=dict(ports), admin_port=stubs_mod.free_port())
    for name, (address, port) in plan.items():
        opts.endpoints[f"{address}:{port}"] = backend.Address("127.0.0.1", stubs[name].port)
    text, diags = backend.render(compiled, opts)
    return Deployment(loaded, compiled, text, diags, ports, stubs, cluster_backends, opts.admin_port)


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
