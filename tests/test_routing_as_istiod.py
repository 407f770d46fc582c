"""Routing as istiod builds it (issue 13 points 1-5), through `meshc route --format json`.

1. Sidecar scoping (sidecar.go `convertIstioListenerToWrapper`, virtualservice.go `SelectVirtualServices`,
   push_context.go `doGetSidecarScope`); 2. exact host beats wildcard (`computeWildcardHostVirtualServiceIndex`);
3. ServiceEntry hosts are literal, wildcard ServiceEntries, ExternalName aliases (`resolveServiceAliases`);
4. absolute names (`GenerateAltVirtualHosts`); 5. gateway port translation (gateway.go `resolvePorts`)
and hosts no server serves.
"""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from meshc.cli import main
from meshc.config import Options
from meshc.pipeline import load
from meshc.sidecar import client_for, sidecar_for


def _route(path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["route", str(path), "--no-config", "--format", "json", *args])
    return code, json.loads(out.getvalue()) if code == 0 else {}, err.getvalue()


def _input(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _clusters(data: dict[str, Any]) -> list[str]:
    return [d["cluster"] for d in data["destinations"]]


SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: quotes, namespace: rates}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: quotes-v2, namespace: rates}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: quotes, namespace: rates}
spec:
  hosts: [quotes.rates.svc.cluster.local]
  http:
  - name: to-v2
    route:
    - destination: {host: quotes-v2.rates.svc.cluster.local}
"""


# --- 1. Sidecar scoping ------------------------------------------------------------------------------


def test_a_sidecar_that_does_not_import_a_namespace_does_not_use_its_virtual_services(tmp_path: Path) -> None:
    path = _input(
        tmp_path,
        SERVICES
        + """\
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: only-own, namespace: shop}
spec:
  egress:
  - hosts: ["./*", "rates/quotes-v2.rates.svc.cluster.local"]
""",
    )
    # Without a Sidecar (namespace `web`), the VirtualService of `rates` routes quotes to v2.
    _, data, _ = _route(path, "--host", "quotes.rates", "--source-namespace", "web")
    assert data["virtual_service"] == {"namespace": "rates", "name": "quotes"} and data["sidecar"] is None
    assert _clusters(data) == ["outbound|80||quotes-v2.rates.svc.cluster.local"]
    # `shop`'s Sidecar imports neither quotes nor its VirtualService: quotes is a host outside the registry.
    code, data, err = _route(path, "--host", "quotes.rates", "--port", "80", "--source-namespace", "shop")
    assert code == 0 and data["sidecar"] == {"namespace": "shop", "name": "only-own"}
    assert data["virtual_host"]["name"] == "allow_any" and data["virtual_service"] is None
    assert "outside the registry" in err
    # quotes-v2 is imported: its own virtual host, the default route.
    _, data, _ = _route(path, "--host", "quotes-v2.rates", "--source-namespace", "shop")
    assert data["action"] == "default" and _clusters(data) == ["outbound|80||quotes-v2.rates.svc.cluster.local"]


def test_an_imported_virtual_service_brings_its_destinations_clusters_not_their_virtual_hosts(tmp_path: Path) -> None:
    """`collectImportedServices`: a destination of an imported VirtualService gets its cluster (not a 503)."""
    path = _input(
        tmp_path,
        SERVICES
        + """\
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: quotes-only, namespace: shop}
spec:
  egress:
  - hosts: ["rates/quotes.rates.svc.cluster.local"]
""",
    )
    _, data, _ = _route(path, "--host", "quotes.rates", "--source-namespace", "shop")
    assert data["virtual_service"] == {"namespace": "rates", "name": "quotes"}
    assert data["destinations"][0]["known"] is True  # the cluster exists: Envoy forwards
    _, data, _ = _route(path, "--host", "quotes-v2.rates", "--port", "80", "--source-namespace", "shop")
    assert data["virtual_host"]["name"] == "allow_any"  # no virtual host of its own


def test_which_sidecar_scopes_a_proxy(tmp_path: Path) -> None:
    """A workloadSelector Sidecar of the namespace, else its plain one, else the root namespace's."""
    path = _input(
        tmp_path,
        """\
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: mesh-default, namespace: istio-system}
        spec: {egress: [{hosts: ["./*"]}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: plain, namespace: shop}
        spec: {egress: [{hosts: ["./*"]}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: cart, namespace: shop}
        spec:
          workloadSelector: {labels: {app: cart}}
          egress: [{hosts: ["*/*"]}]
        """,
    )
    mesh = load([str(path)], Options()).mesh
    assert sidecar_for(mesh, "shop", {"app": "cart"}).name == "cart"  # type: ignore[union-attr]
    assert sidecar_for(mesh, "shop", {"app": "web"}).name == "plain"  # type: ignore[union-attr]
    assert sidecar_for(mesh, "other", {}).name == "mesh-default"  # type: ignore[union-attr]
    assert client_for(mesh, "shop", {"app": "cart"}) is client_for(mesh, "shop", {"app": "cart"})


def test_a_sidecar_outbound_traffic_policy_wins_over_the_mesh_settings(tmp_path: Path) -> None:
    path = _input(
        tmp_path,
        SERVICES
        + """\
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: locked, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: proxied, namespace: egress}
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: quotes-v2.rates.svc.cluster.local, port: {number: 80}}
""",
    )
    _, data, _ = _route(path, "--host", "example.com", "--port", "80", "--source-namespace", "shop")
    assert data["virtual_host"]["name"] == "block_all" and data["status"] == 502
    assert data["egress"] == {
        "cluster": None,
        "outbound_traffic_policy": "REGISTRY_ONLY",
        "from": "Sidecar shop/locked",
    }
    _, data, _ = _route(path, "--host", "example.com", "--port", "80", "--source-namespace", "egress")
    assert data["virtual_host"]["name"] == "allow_any"
    assert _clusters(data) == ["outbound|80||quotes-v2.rates.svc.cluster.local"]


# --- 2. exact beats wildcard -------------------------------------------------------------------------


@pytest.mark.parametrize("wildcard_first", [True, False])
def test_an_exact_virtual_service_host_beats_a_wildcard_one_whatever_their_age(
    tmp_path: Path, wildcard_first: bool
) -> None:
    old, new = '"2019-01-01T00:00:00Z"', '"2021-01-01T00:00:00Z"'
    path = _input(
        tmp_path,
        f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: api, namespace: default}}
        spec: {{ports: [{{name: http, port: 80}}]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: web, namespace: default}}
        spec: {{ports: [{{name: http, port: 80}}]}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {{name: wild, namespace: default, creationTimestamp: {old if wildcard_first else new}}}
        spec:
          hosts: ["*.default.svc.cluster.local"]
          http: [{{route: [{{destination: {{host: wild.example.com}}}}]}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {{name: exact, namespace: default, creationTimestamp: {new if wildcard_first else old}}}
        spec:
          hosts: [api.default.svc.cluster.local]
          http: [{{route: [{{destination: {{host: exact.example.com}}}}]}}]
        """,
    )
    _, data, _ = _route(path, "--host", "api", "--port", "80")
    assert data["virtual_service"] == {"namespace": "default", "name": "exact"}
    _, data, _ = _route(path, "--host", "web", "--port", "80")
    assert data["virtual_service"] == {"namespace": "default", "name": "wild"}
    # The wildcard host covers registry services: it is folded into them, no `*.default...` virtual host.
    assert data["virtual_host"]["name"] == "web.default.svc.cluster.local:80"


# --- 3. ServiceEntry hosts, ExternalName -----------------------------------------------------------------


def test_service_entry_hosts_are_literal_and_wildcard_ones_serve_their_names(tmp_path: Path) -> None:
    path = _input(
        tmp_path,
        """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: ext-db, namespace: default}
        spec: {hosts: [ext-db], resolution: DNS, ports: [{name: http, number: 5000, protocol: HTTP}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: cdn, namespace: default}
        spec: {hosts: ["*.cdn.example"], resolution: NONE, ports: [{name: http, number: 80, protocol: HTTP}]}
        """,
    )
    code, data, err = _route(path, "--host", "ext-db")
    assert code == 0 and err == "" and data["request"]["port"] == 5000
    assert _clusters(data) == ["outbound|5000||ext-db"]
    code, data, err = _route(path, "--host", "img.cdn.example")
    assert code == 0 and err == "" and data["virtual_host"]["name"] == "*.cdn.example:80"
    assert _clusters(data) == ["outbound|80||*.cdn.example"] and data["action"] == "default"


def test_an_external_name_service_routes_like_the_service_it_names(tmp_path: Path) -> None:
    """TestExternalNameServices: the alias's names are domains of the concrete service's virtual host."""
    path = _input(
        tmp_path,
        """\
        apiVersion: v1
        kind: Service
        metadata: {name: alias, namespace: default}
        spec: {type: ExternalName, externalName: concrete.default.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: concrete, namespace: default}
        spec: {ports: [{name: http, port: 80}]}
        """,
    )
    for host in ("alias", "alias.default", "alias.default.svc.cluster.local"):
        _, data, _ = _route(path, "--host", host, "--port", "80")
        assert data["virtual_host"]["name"] == "concrete.default.svc.cluster.local:80", host
        assert _clusters(data) == ["outbound|80||concrete.default.svc.cluster.local"]


# --- 4. absolute names ---------------------------------------------------------------------------------


def test_an_absolute_name_reaches_the_service(tmp_path: Path) -> None:
    path = _input(tmp_path, SERVICES)
    code, data, err = _route(path, "--host", "quotes-v2.rates.svc.cluster.local.", "--source-namespace", "web")
    assert code == 0 and err == ""
    assert "quotes-v2.rates.svc.cluster.local." in data["virtual_host"]["domains"]
    assert _clusters(data) == ["outbound|80||quotes-v2.rates.svc.cluster.local"]


# --- 5. gateways ---------------------------------------------------------------------------------------

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: istio-system}
spec:
  hosts: [shop.example.com]
  gateways: [public]
  http: [{route: [{destination: {host: shop.web.svc.cluster.local, port: {number: 80}}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system%(labels)s}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
"""


def test_a_gateway_listens_on_its_services_target_port(tmp_path: Path) -> None:
    path = _input(tmp_path, GATEWAY % {"labels": ""})
    for port in ("8080", "80"):  # the listener's port, or the Service port the client connects to
        _, data, _ = _route(path, "--gateway", "istio-system/public", "--host", "shop.example.com", "--port", port)
        assert data["listener"] == "0.0.0.0_8080" and data["route_config"] == "http.8080"
        assert data["virtual_host"]["name"] == "shop.example.com:80"  # named by the server's port


def test_the_disable_label_keeps_the_server_port(tmp_path: Path) -> None:
    labels = ", labels: {experimental.istio.io/disable-gateway-port-translation: 'true'}"
    path = _input(tmp_path, GATEWAY % {"labels": labels})
    _, data, _ = _route(path, "--gateway", "istio-system/public", "--host", "shop.example.com", "--port", "80")
    assert data["listener"] == "0.0.0.0_80" and data["route_config"] == "http.80"


def test_a_host_no_server_serves_has_no_virtual_host(tmp_path: Path) -> None:
    """TestHTTPGateway 'host mismatch': no virtual host (Envoy 404), not a catch-all `blackhole:80`."""
    path = _input(tmp_path, GATEWAY % {"labels": ""})
    code, data, err = _route(path, "--gateway", "istio-system/public", "--host", "bad.example.com", "--port", "80")
    assert code == 0 and data["listener"] == "0.0.0.0_8080" and data["virtual_host"] is None
    assert data["action"] == "no_route" and data["status"] == 404
    assert "does not serve host `bad.example.com` on port 80; hosts served: `shop.example.com`" in err


# --- 7. what Istio drops silently, 9. the VirtualService of a no_route -------------------------------------

DELEGATION = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: merchants, namespace: example}
spec:
  hosts: [example.org]
  http:
  - match: [{uri: {regex: "/merchants/.*"}}]
    delegate: {name: merchants-delegate}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: merchants-delegate, namespace: example}
spec:
  http:
  - match: [{uri: {prefix: /merchants/v2}}]
    route: [{destination: {host: merchants-v2}}]
"""


def test_a_virtual_service_whose_rules_were_all_dropped_is_named_with_the_reason(tmp_path: Path) -> None:
    path = _input(tmp_path, DELEGATION)
    args = ("--host", "example.org", "--path", "/merchants/v2", "--source-namespace", "example")
    code, data, err = _route(path, *args)
    assert code == 0 and data["virtual_host"]["name"] == "allow_any" and data["virtual_service"] is None
    expected = (
        "VirtualService example/merchants serves example.org but all its rules were dropped on port 80 for this "
        "sidecar: rule 0: delegate example/merchants-delegate rule 0 conflicts with the root's match (`uri`: the "
        "root matches regex `/merchants/.*`, so the delegate may not match it (prefix `/merchants/v2`))"
    )
    assert expected in data["notes"] and expected in err
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["route", str(path), "--no-config", *args])
    assert "all its rules were dropped" in out.getvalue()  # in the explanation itself, not only on stderr


def test_no_route_names_the_virtual_service_whose_virtual_host_answered(tmp_path: Path) -> None:
    path = _input(
        tmp_path,
        SERVICES.replace("  - name: to-v2\n", "  - name: to-v2\n    match: [{uri: {prefix: /v2}}]\n"),
    )
    _, data, _ = _route(path, "--host", "quotes.rates", "--path", "/other", "--source-namespace", "rates")
    assert data["action"] == "no_route" and data["rule"] is None
    assert data["virtual_service"] == {"namespace": "rates", "name": "quotes"}
    _, data, _ = _route(path, "--host", "quotes-v2.rates", "--source-namespace", "rates")
    assert data["action"] == "default" and data["virtual_service"] is None


# --- 8. redirects keep the port Envoy keeps (checked on real Envoy: tests/e2e/scenarios/redirect-direct.yaml) --


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("portal:8080", "https://portal:8080/a?b=1"),  # not http's default port: kept
        ("portal:80", "https://portal/a?b=1"),  # http's default port: dropped
        ("portal", "https://portal/a?b=1"),
    ],
)
def test_a_redirect_to_https_drops_only_the_default_port(tmp_path: Path, host: str, location: str) -> None:
    path = _input(
        tmp_path,
        """\
        apiVersion: v1
        kind: Service
        metadata: {name: portal, namespace: default}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: portal, namespace: default}
        spec:
          hosts: [portal]
          http: [{redirect: {scheme: https, derivePort: FROM_PROTOCOL_DEFAULT}}]
        """,
    )
    _, data, _ = _route(path, "--host", host, "--port", "8080", "--path", "/a?b=1")
    assert data["action"] == "redirect" and data["redirect"]["location"] == location


# --- connections: TCP, TLS, SNI and ALPN (Envoy's filter chain match) -------------------------------

CONNECTIONS = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.0.0.5, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {clusterIP: 10.0.0.6, ports: [{name: tcp, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: tls-a, namespace: default}
spec:
  hosts: [a.example]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: tls-b, namespace: default}
spec:
  hosts: ["*.b.example"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
"""


def test_a_connection_takes_the_chain_envoy_matches(tmp_path: Path) -> None:
    """Proves: the filter chain follows Envoy's sieve (traffic.go `matchFilterChain`).

    Plain HTTP takes the HTTP chain, TCP bytes the TCP chain, TLS the chain of its SNI (exact before
    `*.suffix`), and an SNI no chain names the passthrough chain.
    """
    path = _input(tmp_path, CONNECTIONS)
    code, http, _ = _route(path, "--host", "web", "--port", "80", "--address", "1.3.3.7")
    assert (
        code == 0
        and http["filter_chain"]["protocol"] == "HTTP"
        and _clusters(http) == ["outbound|80||web.default.svc.cluster.local"]
    )
    code, tcp, _ = _route(path, "--host", "db", "--port", "80", "--protocol", "tcp")
    assert code == 0 and tcp["error"] is None
    assert _clusters(tcp) == ["outbound|80||db.default.svc.cluster.local"]
    assert tcp["request"]["protocol"] == "tcp"
    code, tls_a, _ = _route(path, "--host", "a.example", "--port", "443", "--tls")
    assert code == 0 and _clusters(tls_a) == ["outbound|443||a.example"]
    code, tls_b, _ = _route(path, "--host", "x.b.example", "--port", "443", "--tls")
    assert code == 0 and _clusters(tls_b) == ["outbound|443||*.b.example"]
    code, other, _ = _route(path, "--host", "a.example", "--port", "443", "--tls", "--sni", "c.example")
    assert code == 0 and other["filter_chain"]["name"] == "PassthroughFilterChain"
    assert other["egress"]["cluster"] == "PassthroughCluster"


def test_a_connection_an_http_chain_cannot_decode_is_a_protocol_error(tmp_path: Path) -> None:
    """Proves: TCP bytes or TLS reaching an HTTP connection manager get `error: protocol_error`.

    As Istio's simulation reports (traffic.go `Run`): no virtual host; a plain-text client of a
    gateway's TLS-terminating server gets `tls_error`; an unqualified request to it is TLS.
    """
    path = _input(
        tmp_path,
        """\
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: default}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: 443, name: https, protocol: HTTPS}
            hosts: ["*"]
            tls: {mode: SIMPLE, credentialName: cert}
        """,
    )
    for extra in (["--protocol", "tcp"], ["--tls"]):
        code, data, _ = _route(path, "--gateway", "default/gw", "--host", "x.example", "--port", "80", *extra)
        assert code == 0 and data["error"] == "protocol_error", extra
        assert data["virtual_host"] is None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "route",
                str(path),
                "--no-config",
                "--gateway",
                "default/gw",
                "--host",
                "x",
                "--port",
                "80",
                "--protocol",
                "tcp",
            ]
        )
    assert code == 0 and "TCP connection to x  [port 80]" in out.getvalue()
    assert "HTTP chain http" in out.getvalue() and "protocol_error: " in out.getvalue()
    assert "sends TLS" not in out.getvalue()  # TCP without --tls is plain text, also to a gateway
    code, plain, _ = _route(path, "--gateway", "default/gw", "--host", "x.example", "--port", "443", "--plaintext")
    assert code == 0 and plain["error"] == "tls_error"
    code, default, _ = _route(path, "--gateway", "default/gw", "--host", "x.example", "--port", "443")
    assert code == 0 and default["error"] is None and default["filter_chain"]["protocol"] == "HTTPS"


def test_the_first_plain_tcp_gateway_server_keeps_the_port(tmp_path: Path) -> None:
    """Proves: on a gateway port whose first plain-text server is TCP, the later servers are dropped.

    model/gateway.go `mergeGateways` (`canMergeProtocols`); and a TCP server no VirtualService routes
    has no chain (gateway.go `createGatewayTCPFilterChainOpts`), so the port has no listener.
    """
    path = _input(
        tmp_path,
        """\
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: alpha, namespace: default}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: tcp, protocol: TCP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: beta, namespace: default}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: web, namespace: default}
        spec:
          hosts: ["*"]
          gateways: [beta]
          http:
          - route:
            - destination: {host: web}
        """,
    )
    code, data, err = _route(path, "--gateway", "default/beta", "--host", "x.example", "--port", "80")
    assert "first plain-text one is TCP" in err
    assert code == 2 or data["listener"] is None, data


def test_a_gateway_naming_its_services_listens_on_their_ports_only(tmp_path: Path) -> None:
    """Proves: a Gateway with `internal.istio.io/gateway-service` takes its ports from the Services it names.

    gateway.go `resolvePorts` without the legacy selector: port 80 of the named Service becomes its
    targetPort 8080; server port 82, which no named Service has, gets no listener (Istio's
    `TestGatewayServices`); a Service of another namespace does not count.
    """
    path = _input(
        tmp_path,
        """\
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: gw
          namespace: istio-system
          annotations: {internal.istio.io/gateway-service: "ingress.istio-system.svc.cluster.local,other.example"}
        spec:
          servers:
          - port: {number: 80, name: http-80, protocol: HTTP}
            hosts: ["*.example.com"]
          - port: {number: 82, name: http-82, protocol: HTTP}
            hosts: ["*.example.com"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ingress, namespace: istio-system}
        spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: other, namespace: elsewhere}
        spec:
          hosts: [other.example]
          ports: [{number: 82, name: http, protocol: HTTP, targetPort: 8082}]
          resolution: STATIC
          endpoints: [{address: 1.1.1.1}]
        """,
    )
    code, data, _ = _route(path, "--gateway", "istio-system/gw", "--host", "a.example.com", "--port", "8080")
    assert code == 0 and data["listener"] == "0.0.0.0_8080" and data["route_config"] == "http.8080"
    assert data["virtual_host"]["name"] == "blackhole:80"  # no VirtualService; named by the server port
    code, none, _ = _route(path, "--gateway", "istio-system/gw", "--host", "a.example.com", "--port", "82")
    assert code == 0 and none["listener"] is None and "no listener on port 82" in none["reason"]
