"""The Envoy bootstrap does what istiod's configuration does, measured on a real Envoy (issue 16, points 1-5).

Each test runs the compiled input on Envoy with upstream stubs and measures the behaviour istiod's
translation gives (pilot/pkg/networking/core/route/retry/retry.go, route/route.go `setTimeout`,
pilot/pkg/security/authn/policy_applier.go, pilot/pkg/security/authz/model/generator.go,
pilot/pkg/networking/core/listener.go `toFilterChainMatch`):

1. the default retry policy (and one with only `attempts`) does not retry a 503: the upstream sees a
   POST once; `retryOn: "503"` makes it see the POST three times;
2. `scope` and `permission` claims are split at spaces, so `request.auth.claims[scope]: read` holds
   for a token with `scope: "read write"`;
3. `requestPrincipals: ["*"]` needs both `iss` and `sub`;
4. a gRPC request's `grpc-timeout` bounds the route (`max_grpc_timeout`), also when the
   VirtualService sets no timeout;
5. TLS passthrough with `sniHosts: ["*"]` has no SNI match: Envoy accepts the configuration and
   forwards a ClientHello with any SNI, or none.
6. (issue 13) TLS routes by SNI: the exact server name wins over a wildcard whatever the route
   order, and the simulator that `meshc route` uses names the same upstream.

These tests FAIL when Envoy is missing (tests/e2e/envoy.py).
"""

from __future__ import annotations

import contextlib
import socket
import ssl

import yaml

from meshc.backends import envoy as backend
from tests.e2e import differential as diff
from tests.e2e import envoy as harness
from tests.e2e import stubs as stubs_mod

WEB = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web-1, namespace: default}
spec: {address: 10.0.0.1, labels: {app: web}}
"""


def _routes(dep: diff.Deployment, host: str) -> list[dict]:
    """The Envoy routes of a virtual host whose domains include `host`."""
    boot = yaml.safe_load(dep.text)
    for lst in boot["static_resources"]["listeners"]:
        for chain in lst["filter_chains"]:
            for f in chain["filters"]:
                for vh in f["typed_config"].get("route_config", {}).get("virtual_hosts", []):
                    if host in vh["domains"]:
                        return vh["routes"]
    raise AssertionError(f"no virtual host for {host}")


# --- 1. default retry policy -------------------------------------------------------------------------


def _web(rules: str) -> str:
    """Service `web` with one endpoint, and a VirtualService for it with these `http` rules."""
    vs = "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
    vs += "metadata: {name: web, namespace: default}\nspec:\n  hosts: [web]\n  http:\n"
    return WEB + vs + rules


RETRIES = _web(
    """\
  - name: mesh-default
    match: [{uri: {prefix: /default}}]
    route: [{destination: {host: web}}]
  - name: attempts-only
    match: [{uri: {prefix: /attempts}}]
    retries: {attempts: 2}
    route: [{destination: {host: web}}]
  - name: on-503
    match: [{uri: {prefix: /on-503}}]
    retries: {attempts: 2, retryOn: "503"}
    route: [{destination: {host: web}}]
"""
)


def test_default_retry_policy_does_not_retry_a_503() -> None:
    with diff.deploy(RETRIES) as dep:
        routes = {r["name"]: r["route"]["retry_policy"] for r in _routes(dep, "web")}
        assert "retriable_status_codes" not in routes["mesh-default"]
        assert "retriable_status_codes" not in routes["attempts-only"]
        assert routes["on-503"]["retriable_status_codes"] == [503]
        stub = dep.stubs["web-1"]
        stub.status = 503
        seen = {}
        for path in ("/default", "/attempts", "/on-503"):
            before = len(stub.requests)
            resp = harness.request(dep.ports[8080], path, host="web", method="POST", body=b"x")
            assert resp.status == 503 and resp.stub == "web-1", (path, resp.status)
            seen[path] = len(stub.requests) - before
    # istiod's default and a policy with only `attempts`: the POST reaches the upstream once
    # (meshc's old `retriable_status_codes: [503]` made it 3); an explicit 503 in retryOn: 1 + 2 retries
    assert seen == {"/default": 1, "/attempts": 1, "/on-503": 3}, seen


# --- 2. and 3. JWT claims and request principals ------------------------------------------------------

JWT = (
    WEB
    + """\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [scope.example.com, principal.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [scope.example.com, principal.example.com]
  gateways: [istio-system/gw]
  http:
  - route: [{destination: {host: web}}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules:
  - issuer: https://auth.meshc.test
    jwks: '{{JWKS}}'
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: ALLOW
  rules:
  - to: [{operation: {hosts: [scope.example.com]}}]
    when: [{key: "request.auth.claims[scope]", values: [read]}]
  - to: [{operation: {hosts: [principal.example.com]}}]
    from: [{source: {requestPrincipals: ["*"]}}]
"""
)

ISS = "https://auth.meshc.test"


def test_scope_claims_are_space_delimited_and_request_principals_need_iss_and_sub() -> None:
    signer = diff.Signer.generate()
    text = JWT.replace("{{JWKS}}", signer.jwks())
    with diff.deploy(text) as dep:
        boot = yaml.safe_load(dep.text)
        gateway = next(li for li in boot["static_resources"]["listeners"] if li["name"] == "0.0.0.0_80")
        filters = gateway["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
        jwt = next(f for f in filters if f["name"] == "envoy.filters.http.jwt_authn")
        (provider,) = jwt["typed_config"]["providers"].values()
        assert provider["normalize_payload_in_metadata"] == {"space_delimited_claims": ["permission", "scope"]}

        def status(host: str, claims: dict | None) -> int:
            headers = [] if claims is None else [("authorization", f"Bearer {signer.token(claims)}")]
            return harness.request(dep.ports[80], "/", host=host, headers=headers).status

        # 2. `scope: "read write"` holds `read` (meshc's old config: 403, the claim was one string)
        assert status("scope.example.com", {"iss": ISS, "sub": "alice", "scope": "read write"}) == 200
        assert status("scope.example.com", {"iss": ISS, "sub": "alice", "scope": "write admin"}) == 403
        assert status("scope.example.com", {"iss": ISS, "sub": "alice", "scope": ["read"]}) == 200
        # 3. `requestPrincipals: ["*"]`: a valid token without `sub` is refused (meshc's old config: 200)
        assert status("principal.example.com", {"iss": ISS}) == 403
        assert status("principal.example.com", {"iss": ISS, "sub": ""}) == 403
        assert status("principal.example.com", {"iss": ISS, "sub": "alice"}) == 200
        assert status("principal.example.com", None) == 403


# --- 4. gRPC timeouts ----------------------------------------------------------------------------------

GRPC = _web(
    """\
  - name: no-timeout
    match: [{uri: {prefix: /none}}]
    route: [{destination: {host: web}}]
  - name: ten-seconds
    match: [{uri: {prefix: /ten}}]
    timeout: 10s
    route: [{destination: {host: web}}]
"""
)

GRPC_HEADERS = [("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "1S")]


def test_grpc_timeout_header_bounds_the_route() -> None:
    with diff.deploy(GRPC) as dep:
        routes = {r["name"]: r["route"] for r in _routes(dep, "web")}
        assert routes["no-timeout"]["max_grpc_timeout"] == "0s" and routes["no-timeout"]["timeout"] == "0s"
        assert routes["ten-seconds"]["max_grpc_timeout"] == "10s"
        stub = dep.stubs["web-1"]
        stub.hold_requests()  # the upstream answers only when released (at most 30 s)
        try:
            for path in ("/none/M", "/ten/M"):
                before = len(stub.requests)
                resp = harness.request(dep.ports[8080], path, host="web", method="POST", headers=GRPC_HEADERS)
                # Envoy ended the call after the 1 s of `grpc-timeout` while the upstream still held it
                # (meshc's old config waited for the upstream: 3.0 s for a 3 s upstream)
                assert stub.active >= 1 and len(stub.requests) == before, path
                assert resp.headers.get("grpc-status") == "14", (path, resp.headers)
                assert resp.headers.get("grpc-message") == "upstream request timeout", (path, resp.headers)
                assert resp.elapsed >= 0.95, (path, resp.elapsed)
        finally:
            stub.release()


# --- 5. TLS passthrough with sniHosts "*" -------------------------------------------------------------

PASSTHROUGH = """\
apiVersion: v1
kind: Service
metadata: {name: tls-app, namespace: default}
spec:
  selector: {app: tls-app}
  ports: [{name: tls, port: 8443}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: tls-app-1, namespace: default}
spec: {address: 10.0.0.7, labels: {app: tls-app}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tls-app, namespace: default}
spec:
  hosts: ["*"]
  gateways: [istio-system/gw]
  tls:
  - match: [{port: 15443, sniHosts: ["*"]}]
    route: [{destination: {host: tls-app, port: {number: 8443}}}]
"""


def _client_hello(sni: str | None) -> bytes:
    """The first flight of a TLS client (its ClientHello), with or without an SNI."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server's answer
        conn.do_handshake()
    return outgoing.read()


def test_tls_passthrough_with_any_sni_has_no_server_names() -> None:
    compiled = diff.plan(PASSTHROUGH).compiled
    with stubs_mod.tcp_recorder() as recorder:
        opts = backend.EnvoyOptions(bind="127.0.0.1", port_map={15443: 0}, admin_port=0)
        opts.endpoints["10.0.0.7:8443"] = backend.Address("127.0.0.1", recorder.port)
        text, _ = backend.render(compiled, opts)
        listeners = yaml.safe_load(text)["static_resources"]["listeners"]
        # The gateway's listener (the sidecar has its own, for the TLS service port).
        chains = next(li for li in listeners if li["name"].endswith("_15443"))["filter_chains"]
        assert all("server_names" not in c.get("filter_chain_match", {}) for c in chains), chains
        result = harness.validate(text)
        assert result.ok, result.output  # meshc's old `server_names: ["*"]`: "partial wildcards are not supported"
        with harness.running(text) as proc:
            port = diff.listener_ports(compiled, proc)[15443]
            hellos = [_client_hello(sni) for sni in ("anything.example.org", "istiod.istio-system.svc", None)]
            for k, hello in enumerate(hellos, start=1):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(hello)
                    assert recorder.wait_for(k), f"ClientHello {k} did not reach the upstream:\n{proc.log()}"
            assert recorder.received == hellos


# --- 6. SNI: the exact server name wins over a wildcard, whatever the route order --------------------

SNI_ROUTES = """\
apiVersion: v1
kind: Service
metadata: {name: wild, namespace: default}
spec:
  selector: {app: wild}
  ports: [{name: tls, port: 8443}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: wild-1, namespace: default}
spec: {address: 10.0.0.8, labels: {app: wild}}
---
apiVersion: v1
kind: Service
metadata: {name: exact, namespace: default}
spec:
  selector: {app: exact}
  ports: [{name: tls, port: 8443}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: exact-1, namespace: default}
spec: {address: 10.0.0.9, labels: {app: exact}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: ["*.b.example"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: sni, namespace: default}
spec:
  hosts: ["*.b.example"]
  gateways: [istio-system/gw]
  tls:
  - match: [{port: 15443, sniHosts: ["*.b.example"]}]
    route: [{destination: {host: wild, port: {number: 8443}}}]
  - match: [{port: 15443, sniHosts: ["a.b.example"]}]
    route: [{destination: {host: exact, port: {number: 8443}}}]
"""


def test_tls_routes_are_chosen_by_the_most_specific_sni_as_meshc_route_says() -> None:
    """Proves: `meshc route --tls` names the cluster a real Envoy sends each ClientHello to.

    Envoy takes the chain of the exact server name before a `*.suffix` one, though the wildcard
    route comes first (simulate's filter chain match, traffic.go `matchFilterChain`).
    """
    from meshc.simulate import Request, simulate

    compiled = diff.plan(SNI_ROUTES).compiled
    with stubs_mod.tcp_recorder() as wild, stubs_mod.tcp_recorder() as exact:
        opts = backend.EnvoyOptions(bind="127.0.0.1", port_map={15443: 0}, admin_port=0)
        opts.endpoints["10.0.0.8:8443"] = backend.Address("127.0.0.1", wild.port)
        opts.endpoints["10.0.0.9:8443"] = backend.Address("127.0.0.1", exact.port)
        text, _ = backend.render(compiled, opts)
        recorders = {"outbound|8443||wild.default.svc.cluster.local": wild}
        recorders["outbound|8443||exact.default.svc.cluster.local"] = exact
        with harness.running(text) as proc:
            port = diff.listener_ports(compiled, proc)[15443]
            for sni in ("a.b.example", "x.b.example", "a.b.example"):
                request = Request(sni, port=15443, gateway="istio-system/gw", protocol="tcp", tls=True)
                decision = simulate(compiled, request)
                assert decision.error is None, decision.reason
                (cluster,) = [d.cluster.cluster for d in decision.destinations]
                recorder = recorders[cluster]
                before = len(recorder.received)
                hello = _client_hello(sni)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(hello)
                    assert recorder.wait_for(before + 1), f"SNI {sni}: {cluster} got nothing:\n{proc.log()}"
                assert recorder.received[-1] == hello
    assert len(wild.received) == 1 and len(exact.received) == 2
