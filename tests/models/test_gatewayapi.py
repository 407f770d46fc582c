"""The Gateway API models: every field of the CRDs, and what the API server rejects (schema and CEL rules)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from meshc.models import KINDS, validate
from meshc.models.gatewayapi import GROUP

FIELDS = Path(__file__).with_name("gatewayapi-fields.txt")


def _crd_paths() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in FIELDS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, path = line.split(" ", 1)
            out.setdefault(kind, set()).add(path)
    return out


def _schema_paths(schema: dict[str, Any], node: dict[str, Any], path: str, out: set[str]) -> None:
    """Field paths of a JSON Schema node, following `$ref`s and optional (`anyOf` with null) values."""
    out.add(path)
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for option in node.get("anyOf", ()):
        if option.get("type") != "null":
            _schema_paths(schema, option, path, out)
    for name, child in (node.get("properties") or {}).items():
        _schema_paths(schema, child, f"{path}.{name}", out)
    if isinstance(node.get("items"), dict):
        _schema_paths(schema, node["items"], f"{path}[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        _schema_paths(schema, node["additionalProperties"], f"{path}{{}}", out)


@pytest.mark.parametrize("kind", sorted(_crd_paths()))
def test_every_field_of_the_crd_and_no_other(kind: str) -> None:
    model = KINDS[(GROUP, kind)].model
    schema = model.model_json_schema(by_alias=True)
    found: set[str] = set()
    _schema_paths(schema, schema["properties"]["spec"], "spec", found)
    expected = _crd_paths()[kind]
    assert sorted(expected - found) == [], "fields of the CRD the model lacks"
    assert sorted(found - expected) == [], "fields of the model the CRD lacks"


GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "gw"},
    "spec": {
        "gatewayClassName": "istio",
        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
    },
}
ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "r"},
    "spec": {
        "parentRefs": [{"name": "gw"}],
        "rules": [
            {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": [{"name": "a", "port": 80}]}
        ],
    },
}
GRPC = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GRPCRoute",
    "metadata": {"name": "g"},
    "spec": {"rules": [{"matches": [{"method": {"service": "pkg.Svc", "method": "Get"}}]}]},
}
TLS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "TLSRoute",
    "metadata": {"name": "t"},
    "spec": {"hostnames": ["a.example.com"], "rules": [{"backendRefs": [{"name": "a", "port": 443}]}]},
}
GRANT = {
    "apiVersion": "gateway.networking.k8s.io/v1beta1",
    "kind": "ReferenceGrant",
    "metadata": {"name": "g", "namespace": "backend"},
    "spec": {
        "from": [{"group": GROUP, "kind": "HTTPRoute", "namespace": "front"}],
        "to": [{"group": "", "kind": "Service"}],
    },
}
CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "istio"},
    "spec": {"controllerName": "istio.io/gateway-controller"},
}


def _check(document: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    info = KINDS[(GROUP, document["kind"])]
    model, problems = validate(info.model, document)
    assert (model is None) == bool(problems)
    return [(p.loc, p.message) for p in problems]


def _with(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with the value at the dotted `path` (list indexes as numbers) replaced."""
    out = copy.deepcopy(document)
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = out
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return out


@pytest.mark.parametrize("document", [GATEWAY, ROUTE, GRPC, TLS, GRANT, CLASS], ids=lambda d: d["kind"])
def test_valid_documents_pass(document: dict[str, Any]) -> None:
    assert _check(document) == []


REJECTED = [
    # (document, path, value, where the problem is, words of the message)
    (
        GATEWAY,
        "spec.listeners.0.hostname",
        "Foo.example.com",
        ("spec", "listeners", 0, "hostname"),
        "not a valid hostname",
    ),
    (
        GATEWAY,
        "spec.listeners.0.tls",
        {"certificateRefs": [{"name": "c"}]},
        ("spec", "listeners", 0, "tls"),
        "must not be set on a `HTTP` listener",
    ),
    (GATEWAY, "spec.listeners.0.protocol", "TLS", ("spec", "listeners", 0), "needs `tls.mode`"),
    (GATEWAY, "spec.listeners.0.protocol", "TCP", None, None),
    (
        GATEWAY,
        "spec.listeners",
        [{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "a", "port": 81, "protocol": "HTTP"}],
        ("spec", "listeners", 1, "name"),
        "listener name `a` is defined twice",
    ),
    (
        GATEWAY,
        "spec.listeners",
        [{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "b", "port": 80, "protocol": "HTTP"}],
        ("spec", "listeners", 1, "port"),
        "defined twice",
    ),
    (GATEWAY, "spec.listeners", [], ("spec", "listeners"), "must not be empty"),
    (
        GATEWAY,
        "spec.listeners.0.tls",
        {"mode": "Terminate"},
        ("spec", "listeners", 0, "tls"),
        "set `certificateRefs` (or `options`)",
    ),
    (GATEWAY, "spec.listeners.0.port", 0, ("spec", "listeners", 0, "port"), "between 1 and 65535"),
    (
        GATEWAY,
        "spec.addresses",
        [{"type": "Hostname", "value": "Bad_Host"}],
        ("spec", "addresses", 0, "value"),
        "not a valid hostname",
    ),
    (
        GATEWAY,
        "spec.listeners.0.allowedRoutes",
        {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}},
        ("spec", "listeners", 0, "allowedRoutes", "namespaces", "selector", "matchExpressions", 0, "values"),
        "must not be empty",
    ),
    (
        GATEWAY,
        "spec.infrastructure",
        {"labels": {"-bad": "x"}},
        ("spec", "infrastructure", "labels", "-bad"),
        "not a valid label key",
    ),
    (GATEWAY, "spec.gatewayClassName", "", ("spec", "gatewayClassName"), "must not be empty"),
    (GATEWAY, "spec.listenerz", [], ("spec", "listenerz"), "unknown field"),
    (ROUTE, "spec.hostnames", ["a.example.com:80"], ("spec", "hostnames", 0), "not a valid hostname"),
    (ROUTE, "spec.hostnames", ["10.0.0.1"], None, None),  # the CRD pattern accepts digits-only labels
    (
        ROUTE,
        "spec.rules.0.matches.0.path.value",
        "api",
        ("spec", "rules", 0, "matches", 0, "path", "value"),
        "absolute path",
    ),
    (ROUTE, "spec.rules.0.matches.0.path.value", "/a//b", ("spec", "rules", 0, "matches", 0, "path", "value"), "`//`"),
    (ROUTE, "spec.rules.0.matches.0.path.value", "/a/..", ("spec", "rules", 0, "matches", 0, "path", "value"), "`/..`"),
    (
        ROUTE,
        "spec.rules.0.matches.0.path.value",
        "/a%2Fb",
        ("spec", "rules", 0, "matches", 0, "path", "value"),
        "encoded",
    ),
    (
        ROUTE,
        "spec.rules.0.matches.0.path.value",
        "/a b",
        ("spec", "rules", 0, "matches", 0, "path", "value"),
        "characters",
    ),
    (ROUTE, "spec.rules.0.matches.0.path", {"type": "RegularExpression", "value": "a b"}, None, None),
    (
        ROUTE,
        "spec.rules.0.matches.0.path.type",
        "Prefix",
        ("spec", "rules", 0, "matches", 0, "path", "type"),
        "not a valid `type`",
    ),
    (
        ROUTE,
        "spec.rules.0.matches.0.headers",
        [{"name": "x", "value": "a"}, {"name": "x", "value": "b"}],
        ("spec", "rules", 0, "matches", 0, "headers", 1, "name"),
        "header `x` is defined twice",
    ),
    (
        ROUTE,
        "spec.rules.0.matches.0.headers",
        [{"name": "a b", "value": "a"}],
        ("spec", "rules", 0, "matches", 0, "headers", 0, "name"),
        "not a valid header name",
    ),
    (ROUTE, "spec.rules.0.backendRefs.0.port", None, ("spec", "rules", 0, "backendRefs", 0), "port"),
    (
        ROUTE,
        "spec.rules.0.backendRefs.0.weight",
        1000001,
        ("spec", "rules", 0, "backendRefs", 0, "weight"),
        "between 0 and 1000000",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "RequestHeaderModifier", "responseHeaderModifier": {"set": [{"name": "a", "value": "b"}]}}],
        ("spec", "rules", 0, "filters", 0),
        "missing required field `requestHeaderModifier`",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "CORS", "cors": {}}, {"type": "CORS", "cors": {}}],
        ("spec", "rules", 0, "filters"),
        "`CORS` is used twice",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "URLRewrite", "urlRewrite": {}}, {"type": "RequestRedirect", "requestRedirect": {}}],
        ("spec", "rules", 0, "filters"),
        "cannot be used together",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}],
        ("spec", "rules", 0),
        "together with `backendRefs`",
    ),
    (
        ROUTE,
        "spec.rules.0.matches",
        [{"path": {"type": "Exact", "value": "/a"}}],
        None,
        None,
    ),
    (
        ROUTE,
        "spec.rules.0",
        {
            "matches": [{"path": {"type": "Exact", "value": "/a"}}],
            "filters": [
                {
                    "type": "URLRewrite",
                    "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}},
                }
            ],
        },
        ("spec", "rules", 0, "filters"),
        "exactly one match, of type `PathPrefix`",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replacePrefixMatch": "/b"}}}],
        ("spec", "rules", 0, "filters", 0, "urlRewrite", "path"),
        "missing required field `replaceFullPath`",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [
            {
                "type": "RequestMirror",
                "requestMirror": {"backendRef": {"name": "m", "port": 80}, "percent": 5, "fraction": {"numerator": 1}},
            }
        ],
        ("spec", "rules", 0, "filters", 0, "requestMirror"),
        "only one of `percent` and `fraction`",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": {"name": "m", "port": 80},
                    "fraction": {"numerator": 3, "denominator": 2},
                },
            }
        ],
        ("spec", "rules", 0, "filters", 0, "requestMirror", "fraction"),
        "greater than denominator",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "CORS", "cors": {"allowOrigins": ["*", "https://a.example"]}}],
        ("spec", "rules", 0, "filters", 0, "cors"),
        "`*` must be the only origin",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["a", "a"]}}],
        ("spec", "rules", 0, "filters", 0, "responseHeaderModifier", "remove", 1),
        "listed twice",
    ),
    (
        ROUTE,
        "spec.rules.0.filters",
        [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "a", "value": " x"}]}}],
        ("spec", "rules", 0, "filters", 0, "requestHeaderModifier", "set", 0, "value"),
        "not a valid header value",
    ),
    (
        ROUTE,
        "spec.rules.0.timeouts",
        {"request": "1s", "backendRequest": "2s"},
        ("spec", "rules", 0, "timeouts", "backendRequest"),
        "cannot be longer",
    ),
    (ROUTE, "spec.rules.0.timeouts", {"request": "0s", "backendRequest": "2s"}, None, None),
    (
        ROUTE,
        "spec.rules.0.timeouts",
        {"request": "1.5s"},
        ("spec", "rules", 0, "timeouts", "request"),
        "not a valid duration",
    ),
    (
        ROUTE,
        "spec.rules.0.retry",
        {"codes": [503, 200]},
        ("spec", "rules", 0, "retry", "codes", 1),
        "between 400 and 599",
    ),
    (
        ROUTE,
        "spec.rules.0.sessionPersistence",
        {"type": "Header", "cookieConfig": {}},
        ("spec", "rules", 0, "sessionPersistence", "cookieConfig"),
        "only be set with `type: Cookie`",
    ),
    (ROUTE, "spec.rules", [], ("spec", "rules"), "must not be empty"),
    (
        ROUTE,
        "spec.rules",
        [{"name": "a"}, {"name": "a"}],
        ("spec", "rules", 1, "name"),
        "rule name `a` is defined twice",
    ),
    (
        ROUTE,
        "spec.rules",
        [{"matches": [{}] * 64}, {"matches": [{}] * 64}, {"matches": [{}]}],
        ("spec", "rules"),
        "at most 128",
    ),
    (
        ROUTE,
        "spec.parentRefs",
        [{"name": "gw"}, {"name": "gw", "sectionName": "a"}],
        ("spec", "parentRefs", 1),
        "set `sectionName` or `port`",
    ),
    (
        ROUTE,
        "spec.parentRefs",
        [{"name": "gw", "port": 80}, {"name": "gw", "port": 80}],
        ("spec", "parentRefs", 1),
        "same `sectionName` and `port`",
    ),
    (ROUTE, "spec.parentRefs", [{"name": "gw", "port": 80}, {"name": "gw", "port": 81}], None, None),
    (ROUTE, "spec.parentRefs", [{"name": "gw"}, {"name": "gw", "namespace": "other"}], None, None),
    (
        GRPC,
        "spec.rules.0.matches.0.method",
        {"type": "Exact"},
        ("spec", "rules", 0, "matches", 0, "method"),
        "set `service`, `method` or both",
    ),
    (
        GRPC,
        "spec.rules.0.matches.0.method.method",
        "Get.All",
        ("spec", "rules", 0, "matches", 0, "method", "method"),
        "not a valid gRPC method",
    ),
    (GRPC, "spec.rules.0.matches.0.method", {"type": "RegularExpression", "method": "Get.*"}, None, None),
    (
        GRPC,
        "spec.rules.0.filters",
        [{"type": "URLRewrite", "urlRewrite": {}}],
        ("spec", "rules", 0, "filters", 0, "type"),
        "not a valid `type`",
    ),
    (TLS, "spec.hostnames", [], ("spec",), "missing required field `hostnames`"),
    (TLS, "spec.rules", [{"backendRefs": [{"name": "a", "port": 1}]}] * 2, ("spec", "rules"), "allows one"),
    (GRANT, "spec.to", [], ("spec", "to"), "must not be empty"),
    (GRANT, "spec.from.0.namespace", "Front", ("spec", "from", 0, "namespace"), "not a valid namespace"),
    (CLASS, "spec.controllerName", "istio", ("spec", "controllerName"), "not a valid controller name"),
    (CLASS, "spec.description", "x" * 65, ("spec", "description"), "too long"),
]


@pytest.mark.parametrize(("document", "path", "value", "loc", "words"), REJECTED)
def test_what_the_api_server_rejects_is_a_problem_at_its_field(
    document: dict[str, Any], path: str, value: Any, loc: tuple[str | int, ...] | None, words: str | None
) -> None:
    problems = _check(_with(document, path, value))
    if loc is None:
        assert problems == []
        return
    assert any(p_loc == loc and words in message for p_loc, message in problems), problems


def test_tls_route_versions_differ_only_in_their_limits() -> None:
    two_rules = _with(TLS, "spec.rules", [{"backendRefs": [{"name": "a", "port": 1}]}] * 2)
    assert _check(two_rules)
    for version in ("v1alpha2", "v1alpha3"):
        older = _with(two_rules, "apiVersion", f"gateway.networking.k8s.io/{version}")
        assert _check(older) == []
        assert _check(_with(older, "spec.hostnames", [])) == []
