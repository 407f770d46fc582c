"""meshc/gatewayapi.py: istiod's reading of Gateway API resources (attachment, listeners, backends, grants)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from meshc.config import Options
from meshc.gatewayapi import ListenerInfo, _conflict, analyze, selector_matches
from meshc.lint import read
from meshc.mesh import Mesh
from meshc.models.gatewayapi import LabelSelector


def _mesh(text: str) -> Mesh:
    inventory = read(["-"], Options(), stdin=text.encode("utf-8"))
    assert not inventory.diagnostics, [d.message for d in inventory.diagnostics]
    return Mesh(inventory.indexed(), Options())


GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: shop, port: 80, protocol: HTTP, hostname: "*.shop.example", allowedRoutes: {namespaces: {from: All}}}
  - {name: tcp, port: 9000, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: backend}
spec: {ports: [{name: http, port: 80}]}
"""


def test_a_route_attaches_to_every_listener_that_admits_it() -> None:
    mesh = _mesh(
        GATEWAY
        + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [www.shop.example]
"""
    )
    view = analyze(mesh)
    (route,) = view.routes
    (att,) = view.attachments(route)
    assert att.reason is None and [li.name for li in att.listeners] == ["http", "shop"]
    assert view.gateway_route(route)


def test_mesh_routes_need_no_reference_grant_and_gateway_routes_do() -> None:
    routes = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: {NAME}, namespace: shop}
spec:
  parentRefs: [{PARENT}]
  rules: [{backendRefs: [{name: cart, namespace: backend, port: 80}]}]
"""
    text = GATEWAY + routes.replace("{NAME}", "gw").replace("{PARENT}", "{name: gw, namespace: infra}")
    text += routes.replace("{NAME}", "mesh").replace(
        "{PARENT}", '{group: "", kind: Service, name: cart, namespace: backend}'
    )
    view = analyze(_mesh(text))
    permitted = {r.name: [b.permitted for b in view.backends(r)] for r in view.routes}
    assert permitted == {"gw": [False], "mesh": [True]}


def test_reference_grant_names_the_allowed_object() -> None:
    grant = """
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: backend}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: cart}]
"""
    view = analyze(_mesh(GATEWAY + grant))
    route = ("gateway.networking.k8s.io", "HTTPRoute")
    assert view.grant_allows(route, "shop", ("", "Service"), "backend", "cart")
    assert not view.grant_allows(route, "shop", ("", "Service"), "backend", "orders")
    assert not view.grant_allows(route, "other", ("", "Service"), "backend", "cart")
    assert not view.grant_allows(("gateway.networking.k8s.io", "GRPCRoute"), "shop", ("", "Service"), "backend", "cart")
    assert not view.grant_allows(route, "shop", ("", "Service"), "shop", "cart")


def test_only_a_winning_listener_blocks_a_later_one() -> None:
    mesh = _mesh(
        """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: istio
  listeners:
  - {name: a, port: 80, protocol: HTTP}
  - {name: b, port: 80, protocol: TCP}
  - {name: c, port: 443, protocol: HTTPS, hostname: x.example, tls: {certificateRefs: [{name: c}]}}
  - {name: d, port: 443, protocol: TLS, hostname: x.example, tls: {mode: Passthrough}}
  - {name: e, port: 443, protocol: TLS, hostname: y.example, tls: {mode: Passthrough}}
"""
    )
    view = analyze(mesh)
    (gw,) = view.gateways
    conflicts = {li.name: li.conflict for li in view.listeners(gw)}
    assert conflicts == {"a": None, "b": ("ProtocolConflict", 0), "c": None, "d": ("ProtocolConflict", 2), "e": None}


_PROTOCOLS = st.sampled_from(["HTTP", "HTTPS", "TLS", "TCP", "UDP", "HBONE"])
_HOSTS = st.sampled_from([None, "a.example", "*.example"])


def _listener(protocol: str, port: int, hostname: str | None) -> ListenerInfo:
    return ListenerInfo(None, 0, "l", port, protocol, hostname, "Same", None, ())  # type: ignore[arg-type]


@given(_PROTOCOLS, _PROTOCOLS, st.sampled_from([80, 443]), st.sampled_from([80, 443]), _HOSTS, _HOSTS)
def test_listener_conflicts_are_symmetric_and_need_one_port(
    p1: str, p2: str, port1: int, port2: int, h1: str | None, h2: str | None
) -> None:
    a, b = _listener(p1, port1, h1), _listener(p2, port2, h2)
    assert (_conflict(a, b) is None) == (_conflict(b, a) is None)
    if port1 != port2:
        assert _conflict(a, b) is None


_LABELS = st.dictionaries(st.sampled_from(["team", "env"]), st.sampled_from(["web", "prod"]), max_size=2)


@given(_LABELS, st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]), st.sampled_from([["web"], ["prod"]]))
def test_selector_expressions_follow_kubernetes(labels: dict[str, str], operator: str, values: list[str]) -> None:
    expression: dict[str, Any] = {"key": "team", "operator": operator}
    if operator in ("In", "NotIn"):
        expression["values"] = values
    selector = LabelSelector.model_validate({"matchExpressions": [expression]})
    present = "team" in labels
    expected = {
        "In": present and labels.get("team") in values,
        "NotIn": not present or labels["team"] not in values,
        "Exists": present,
        "DoesNotExist": not present,
    }[operator]
    assert selector_matches(selector, labels) is expected
