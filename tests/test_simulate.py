"""The simulator's behaviour, one test per rule it follows.

Tests build IR directly where the rule is Envoy's (route matching), and go through compile where the
rule is istiod's (which match blocks exist at all). Docstrings name the Envoy doc or the
translation.md line a non-obvious behaviour follows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import ir
from meshc.compile import Scope, compile_mesh
from meshc.config import Options
from meshc.pipeline import load
from meshc.simulate import Request, check, percents, select_virtual_host, simulate

# --- helpers ------------------------------------------------------------------------------------------


def _cluster(name: str = "outbound|80||svc.default.svc.cluster.local", weight: int = 100) -> ir.WeightedCluster:
    host = name.split("|")[3]
    subset = name.split("|")[2] or None
    return ir.WeightedCluster(name, weight, host, int(name.split("|")[1]), subset)


def _route(rid: str, match: ir.RouteMatch | None = None, **kw) -> ir.Route:
    fwd = kw.pop("forward", None) or ir.Forward([_cluster()])
    origin = ir.RouteOrigin(ir.RuleRef("default", "vs", int(rid.split("-")[-1]) if "-" in rid else 0, 0))
    return ir.Route(rid, match or ir.RouteMatch(), kw.pop("action", "forward"), origin=origin, forward=fwd, **kw)


def _ir(routes: list[ir.Route], domains: list[str] | None = None, *, vhosts: list[ir.VirtualHost] | None = None):
    vhs = vhosts or [ir.VirtualHost("svc:80", domains or ["svc"], routes)]
    chain = ir.FilterChain("http", "HTTP", route_config=ir.RouteConfig("80", vhs))
    listener = ir.Listener("0.0.0.0_80", "0.0.0.0", 80, "HTTP", [chain])
    ctx = ir.Context("mesh", "sidecar", "default", listeners=[listener])
    return ir.IR([ctx])


def _go(routes: list[ir.Route], **request) -> object:
    request.setdefault("host", "svc")
    request.setdefault("port", 80)
    return simulate(_ir(routes), Request(**request))


def _match(**kw) -> ir.RouteMatch:
    return ir.RouteMatch(**kw)


def _hdr(name: str, kind: str, value: str = "", invert: bool = False, missing_empty: bool = False) -> ir.HeaderMatch:
    return ir.HeaderMatch(name, ir.StringMatch(kind, value), invert, missing_empty)


def _req(**kw) -> Request:
    kw.setdefault("host", "svc")
    return Request(**kw)


# --- virtual host selection ---------------------------------------------------------------------------


def _vh(name: str, *domains: str) -> ir.VirtualHost:
    return ir.VirtualHost(name, list(domains))


def test_vhost_exact_beats_wildcards() -> None:
    """Envoy route.v3 VirtualHost.domains: exact names are searched first."""
    vhs = [_vh("star", "*"), _vh("suffix", "*.example.com"), _vh("exact", "api.example.com")]
    assert select_virtual_host(vhs, "api.example.com").name == "exact"


def test_vhost_longest_suffix_wildcard_wins() -> None:
    """Envoy: suffix wildcards (`*.foo.com`, `*-bar.foo.com`) next, the longest first."""
    vhs = [_vh("short", "*.example.com"), _vh("long", "*.eu.example.com"), _vh("star", "*")]
    assert select_virtual_host(vhs, "shop.eu.example.com").name == "long"
    assert select_virtual_host(vhs, "shop.us.example.com").name == "short"


def test_vhost_suffix_wildcard_needs_a_nonempty_label() -> None:
    """Envoy: the wildcard must match at least one character, so `*.example.com` misses `example.com`."""
    vhs = [_vh("suffix", "*.example.com")]
    assert select_virtual_host(vhs, "example.com") is None


def test_vhost_prefix_wildcard_after_suffix_and_before_star() -> None:
    """Envoy: prefix wildcards (`foo.*`) come after suffix wildcards, and `*` last."""
    vhs = [_vh("prefix", "shop.*"), _vh("suffix", "*.com"), _vh("star", "*")]
    assert select_virtual_host(vhs, "shop.com").name == "suffix"
    assert select_virtual_host(vhs, "shop.org").name == "prefix"
    assert select_virtual_host(vhs, "cart.org").name == "star"


def _scan(vhosts: list[ir.VirtualHost], hostname: str) -> ir.VirtualHost | None:
    """The rule as first written: every domain of every vhost ranked, the best first one kept."""
    host = hostname.lower()
    best: tuple[int, int, ir.VirtualHost] | None = None
    for vh in vhosts:
        for d in vh.domains:
            d = d.lower()
            if d == host:
                rank = (3, len(d))
            elif d == "*":
                rank = (0, 0)
            elif d.startswith("*") and len(host) > len(d) - 1 and host.endswith(d[1:]):
                rank = (2, len(d))
            elif d.endswith("*") and len(host) > len(d) - 1 and host.startswith(d[:-1]):
                rank = (1, len(d))
            else:
                continue
            if best is None or rank > best[:2]:
                best = (rank[0], rank[1], vh)
    return best[2] if best is not None else None


_domain = st.text("ab.*", min_size=1, max_size=5)


def _vhost_index_chooses_as_the_scan(domains: list[list[str]], host: str) -> None:
    """The indexed choice (built once per table, for `meshc diff`) is the scan's, ties included."""
    vhs = [_vh(f"vh{i}", *ds) for i, ds in enumerate(domains)]
    assert select_virtual_host(vhs, host) is _scan(vhs, host)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_domain, min_size=1, max_size=3), max_size=5), st.text("aAb.*", max_size=5))
def test_vhost_index_chooses_as_the_scan(domains: list[list[str]], host: str) -> None:
    _vhost_index_chooses_as_the_scan(domains, host)


@pytest.mark.slow  # the long profile: 2,000 examples, about 14 s
@settings(max_examples=2000, deadline=None)
@given(st.lists(st.lists(_domain, min_size=1, max_size=3), max_size=5), st.text("aAb.*", max_size=5))
def test_vhost_index_chooses_as_the_scan_long(domains: list[list[str]], host: str) -> None:
    _vhost_index_chooses_as_the_scan(domains, host)


def test_a_long_host_is_cut_only_at_the_lengths_of_the_domains() -> None:
    """Found by the long fuzz profile: every length was tried, quadratic (diff on a 200 KB host: 25 s)."""
    import time

    vhs = [_vh("suffix", "*.example.com"), _vh("prefix", "shop.*"), _vh("star", "*")]
    hosts = ["a" * 150_000 + ".example.com", "shop." + "b" * 150_000, "c" * 150_000]
    start = time.process_time()
    chosen = [select_virtual_host(vhs, h).name for h in hosts]  # type: ignore[union-attr]
    assert time.process_time() - start < 0.5  # before: 13 s of CPU
    assert chosen == ["suffix", "prefix", "star"]


def test_vhost_matching_ignores_case_and_port() -> None:
    """translation.md §4.2: matching is case-insensitive; Istio ≥1.16 sets ignore_port_in_host_matching."""
    d = simulate(_ir([_route("r")], ["api.example.com"]), Request("API.Example.COM:8080", port=80))
    assert d.virtual_host is not None and d.action == "route"


def test_no_virtual_host_is_a_404() -> None:
    d = _go([_route("r")], host="other")
    assert d.action == "no_route" and d.status == 404 and d.virtual_host is None


def test_listener_is_chosen_by_port() -> None:
    d = _go([_route("r")], port=8080)
    assert d.action == "no_route" and "no listener on port 8080" in d.reason


# --- order ------------------------------------------------------------------------------------------------


def test_first_matching_route_wins_and_earlier_ones_get_a_why_not_line() -> None:
    routes = [
        _route("r-0", _match(path=ir.PathMatch("prefix", "/api"))),
        _route("r-1", _match(path=ir.PathMatch("prefix", "/"))),
        _route("r-2", _match(path=ir.PathMatch("prefix", "/"))),
    ]
    d = _go(routes, path="/books")
    assert d.route.id == "r-1"
    assert [s.matched for s in d.trace] == [False, True]
    assert d.trace[0].reason == 'uri prefix "/api", request path is "/books"'


def test_conditions_in_one_route_are_anded() -> None:
    m = _match(path=ir.PathMatch("prefix", "/api"), headers=[_hdr("end-user", "exact", "jason")])
    assert check(m, _req(path="/api/x", headers=[("end-user", "jason")])) is None
    assert check(m, _req(path="/api/x")) == 'header end-user exact "jason", request has none'
    assert check(m, _req(path="/x", headers=[("end-user", "jason")])).startswith("uri prefix")


def test_match_blocks_are_ored_as_separate_routes() -> None:
    """translation.md §1.2: each match block is one Envoy route, in order."""
    routes = [
        _route("r-0", _match(headers=[_hdr("a", "exact", "1")])),
        _route("r-1", _match(headers=[_hdr("b", "exact", "1")])),
    ]
    assert _go(routes, headers=[("b", "1")]).route.id == "r-1"
    assert _go(routes, headers=[("a", "1")]).route.id == "r-0"
    assert _go(routes).action == "no_route"


def test_no_match_is_404_without_fallback() -> None:
    """translation.md §4.3: no match → 404, no fallback to the default route."""
    d = _go([_route("r", _match(path=ir.PathMatch("exact", "/only")))], path="/other")
    assert d.action == "no_route" and d.status == 404


# --- uri ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "path", "ok"),
    [
        ("exact", "/a", "/a", True),
        ("exact", "/a", "/a/", False),
        ("exact", "/a", "/A", False),
        ("exact", "/a", "/a?x=1", True),
        ("prefix", "/a", "/ab", True),
        ("prefix", "/a", "/A", False),
        ("regex", "/r[0-9]", "/r1", True),
        ("regex", "/r[0-9]", "/r1x", False),
        ("regex", "/a|/b", "/a/xyz", False),
        ("regex", "/a|/b", "/b", True),
        ("regex", "/r[0-9]", "/r1?q=2", True),
    ],
)
def test_uri_matching(kind: str, value: str, path: str, ok: bool) -> None:
    """Envoy RouteMatch: `path` and `safe_regex` use the path without the query string.

    Regexes are RE2 and must match the whole path (translation.md §4.6: `/r1x` did not match `/r[0-9]`).
    """
    m = _match(path=ir.PathMatch(kind, value))
    assert (check(m, _req(path=path)) is None) is ok


def test_ignore_uri_case_for_exact_and_prefix() -> None:
    """translation.md §1.2: `case_sensitive: !ignoreUriCase`."""
    assert check(_match(path=ir.PathMatch("prefix", "/Api", True)), _req(path="/aPI/x")) is None
    assert check(_match(path=ir.PathMatch("exact", "/Api", True)), _req(path="/API")) is None


def test_ignore_uri_case_has_no_effect_on_regex() -> None:
    """Envoy RouteMatch.case_sensitive: 'has no effect for the safe_regex match'."""
    assert check(_match(path=ir.PathMatch("regex", "/api", True)), _req(path="/API")) is not None


# --- headers -----------------------------------------------------------------------------------------------


def test_header_names_are_case_insensitive_values_case_sensitive() -> None:
    """translation.md §4.6 [tested]: names case-insensitive, values case-sensitive."""
    m = _match(headers=[_hdr("end-user", "exact", "jason")])
    assert check(m, _req(headers=[("End-User", "jason")])) is None
    assert check(m, _req(headers=[("end-user", "JASON")])) == 'header end-user exact "jason", request has "JASON"'


@pytest.mark.parametrize(
    ("kind", "value", "sent", "ok"),
    [
        ("prefix", "v2", "v2.1", True),
        ("prefix", "v2", "v1", False),
        ("regex", "t-[0-9]+", "t-12", True),
        ("regex", "t-[0-9]+", "t-12x", False),
        ("present", "", "", True),
        ("present", "", "anything", True),
    ],
)
def test_header_prefix_regex_presence(kind: str, value: str, sent: str, ok: bool) -> None:
    """HeaderMatcher: regex is a whole-value RE2 match; `present_match` holds for an empty value too."""
    m = _match(headers=[_hdr("x", kind, value)])
    assert (check(m, _req(headers=[("x", sent)])) is None) is ok


def test_header_present_fails_when_absent() -> None:
    assert check(_match(headers=[_hdr("x", "present")]), _req()) == "header x present, request has none"


def test_header_with_several_values_matches_any() -> None:
    """translation.md §3.2 [tested]: with several same-name headers Envoy 1.40 matched any single value."""
    m = _match(headers=[_hdr("x", "exact", "b")])
    assert check(m, _req(headers=[("x", "a"), ("X", "b")])) is None


def test_without_headers_value_form_holds_when_absent() -> None:
    """translation.md §1.2/§4.6: withoutHeaders → invert_match + treat_missing_header_as_empty.

    So `withoutHeaders: {x: {exact: v}}` holds when x is absent or different, and fails when x == v.
    """
    m = _match(headers=[_hdr("x-block", "exact", "yes", invert=True, missing_empty=True)])
    assert check(m, _req()) is None
    assert check(m, _req(headers=[("x-block", "no")])) is None
    assert check(m, _req(headers=[("x-block", "yes")])) is not None


def test_without_headers_value_form_with_empty_exact_is_false_when_absent() -> None:
    """treat_missing_header_as_empty: a missing header compares as "" (so `exact: ""` matches, inverted → false)."""
    m = _match(headers=[_hdr("x", "exact", "", invert=True, missing_empty=True)])
    assert check(m, _req()) is not None


def test_without_headers_presence_form() -> None:
    """translation.md §4.6: the presence form of withoutHeaders holds exactly when the header is absent."""
    m = _match(headers=[_hdr("x-ban", "present", invert=True)])
    assert check(m, _req()) is None
    assert check(m, _req(headers=[("x-ban", "")])) is not None


# --- query, method, authority, scheme -------------------------------------------------------------------


def test_query_params_exact_names_case_sensitive_values_raw_first_value() -> None:
    """translation.md §4.6 [tested]: names case-sensitive, values raw; QueryParameterMatcher uses the first value."""
    m = _match(query_params=[ir.QueryParamMatch("v", ir.StringMatch("exact", "a%20b"))])
    assert check(m, _req(path="/?v=a%20b")) is None
    assert check(m, _req(path="/?V=a%20b")) == 'query v exact "a%20b", request has none'
    assert check(m, _req(path="/?v=a b")) is not None
    assert check(m, _req(path="/?v=x&v=a%20b")) is not None


def test_query_param_presence() -> None:
    m = _match(query_params=[ir.QueryParamMatch("debug", ir.StringMatch("present"))])
    assert check(m, _req(path="/?debug")) is None
    assert check(m, _req(path="/?debug=")) is None
    assert check(m, _req(path="/?other=1")) is not None


def test_method_match() -> None:
    m = _match(method=ir.StringMatch("exact", "POST"))
    assert check(m, _req(method="POST")) is None
    assert check(m, _req(method="GET")) == 'method exact "POST", request has "GET"'


def test_authority_includes_the_port_the_client_sent() -> None:
    """translation.md §4.6: `authority` includes any port the client sent."""
    m = _match(authority=ir.StringMatch("exact", "svc:9080"))
    assert check(m, _req(host="svc:9080")) is None
    assert check(m, _req(host="svc")) is not None


def test_scheme_match_defaults_to_the_listener_scheme() -> None:
    m = _match(scheme=ir.StringMatch("exact", "https"))
    assert check(m, _req(scheme="https")) is None
    d = _go([_route("r", m)])
    assert d.action == "no_route" and d.trace[0].reason == 'scheme exact "https", request has "http"'


def test_jwt_claim_match_on_validated_claims() -> None:
    """translation.md §1.2: `@request.auth.claims.X` matches jwt_authn dynamic metadata (a list matches any element)."""
    m = _match(jwt_claims=[ir.ClaimMatch(["groups"], ir.StringMatch("exact", "admin"))])
    assert check(m, _req(claims={"groups": ["dev", "admin"]})) is None
    assert check(m, _req()) == 'claim groups exact "admin", request has no such claim'


# --- actions ---------------------------------------------------------------------------------------------


def test_weighted_destinations_are_reported_as_a_split() -> None:
    """translation.md §4.7: weights are relative (w / Σw); 1:2 gives 33% / 67%."""
    fwd = ir.Forward([_cluster("outbound|80|v1|s", 1), _cluster("outbound|80|v2|s", 2)])
    d = _go([_route("r", forward=fwd)])
    assert [(x.percent, round(x.share, 2)) for x in d.destinations] == [(33, 33.33), (67, 66.67)]


def test_percents_add_up_to_100() -> None:
    assert sum(p for p, _ in percents([1, 1, 1])) == 100
    assert percents([90, 10]) == [(90, 90.0), (10, 10.0)]


def test_seeded_pick_is_reproducible_and_follows_weights() -> None:
    fwd = ir.Forward([_cluster("outbound|80|v1|s", 90), _cluster("outbound|80|v3|s", 10)])
    d = _go([_route("r", forward=fwd)])
    assert d.pick(7) == d.pick(7)
    picks = [d.pick(seed).subset for seed in range(2000)]
    assert 0.85 < picks.count("v1") / len(picks) < 0.95


def test_redirect_keeps_the_query_and_rewrites_parts() -> None:
    """translation.md §1.2 [tested]: the query string is kept; host_redirect replaces host and port."""
    r = _route("r", action="redirect", forward=None, redirect=ir.Redirect(302, "/new", "other.example.com"))
    r.forward = None
    d = _go([r], path="/old?a=1", host="svc:8080")
    assert (d.action, d.status, d.location) == ("redirect", 302, "http://other.example.com/new?a=1")


def test_redirect_scheme_and_port() -> None:
    r = _route("r", action="redirect", redirect=ir.Redirect(301, scheme="https", port=8443))
    r.forward = None
    assert _go([r], path="/p").location == "https://svc:8443/p"


def test_direct_response() -> None:
    r = _route("r", action="direct_response", direct_response=ir.DirectResponse(503, "down"))
    r.forward = None
    d = _go([r])
    assert (d.action, d.status) == ("direct_response", 503)


def test_https_redirect_virtual_host() -> None:
    """Gateway `tls.httpsRedirect` → VirtualHost.require_tls ALL: plain HTTP gets a 301 to https."""
    vh = ir.VirtualHost("svc:80", ["svc"], [_route("r")], require_tls=True)
    d = simulate(_ir([], vhosts=[vh]), Request("svc", "/login?x=1", port=80))
    assert (d.action, d.status, d.location) == ("redirect", 301, "https://svc/login?x=1")


def test_prefix_rewrite_replaces_the_matched_prefix() -> None:
    """Envoy prefix_rewrite: replaces the matched prefix; the query string is kept."""
    fwd = ir.Forward([_cluster()], rewrite=ir.Rewrite(uri="/"))
    d = _go([_route("r", _match(path=ir.PathMatch("prefix", "/v1/")), forward=fwd)], path="/v1/users?id=7")
    assert d.forwarded_path == "/users?id=7"


def test_prefix_rewrite_on_exact_match_replaces_the_whole_path() -> None:
    fwd = ir.Forward([_cluster()], rewrite=ir.Rewrite(uri="/modern"))
    d = _go([_route("r", _match(path=ir.PathMatch("exact", "/legacy")), forward=fwd)], path="/legacy")
    assert d.forwarded_path == "/modern"


def test_regex_rewrite_and_authority() -> None:
    """Envoy regex_rewrite: RE2 substitution with numbered groups; host_rewrite_literal sets the Host."""
    rw = ir.Rewrite(uri_regex="^/items/([0-9]+)$", uri_regex_substitution="/catalog/\\1", authority="catalog")
    d = _go([_route("r", forward=ir.Forward([_cluster()], rewrite=rw))], path="/items/42")
    assert (d.forwarded_path, d.forwarded_authority) == ("/catalog/42", "catalog")


def test_fault_timeout_retries_mirror_headers_cors_reach_the_decision() -> None:
    fwd = ir.Forward(
        [_cluster()],
        timeout="3s",
        retries=ir.RetryPolicy(3, ["5xx"], per_try_timeout="1s"),
        mirrors=[ir.Mirror("outbound|80|canary|s", "s", 80, 25.0, "canary")],
    )
    route = _route(
        "r",
        forward=fwd,
        fault=ir.Fault(ir.FaultDelay("5s", 10.0), ir.FaultAbort(0.5, 503)),
        request_headers=ir.HeaderOps([ir.HeaderValue("x-env", "prod")]),
        cors=ir.Cors([ir.StringMatch("exact", "https://a")]),
    )
    d = _go([route])
    taken = d.route
    assert taken.forward.timeout == "3s" and taken.forward.retries.attempts == 3
    assert taken.fault.abort.percentage == 0.5 and taken.forward.mirrors[0].percentage == 25.0
    assert taken.request_headers.set[0].name == "x-env" and taken.cors is not None


# --- config-time removal (through compile) ------------------------------------------------------------


MESH_YAML = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: default}
spec:
  hosts: [ratings]
  gateways: [mesh, web/public]
  http:
  - match: [{port: 9090}]
    route: [{destination: {host: ratings, port: {number: 9090}}}]
  - match: [{gateways: [web/public]}]
    route: [{destination: {host: ratings, subset: edge}}]
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: ratings, subset: pp}}]
  - match: [{sourceNamespace: frontend}]
    route: [{destination: {host: ratings, subset: fe}}]
  - route: [{destination: {host: ratings, subset: v1}}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {ports: [{name: http, port: 9080}, {name: http-admin, port: 9090}]}
"""


@pytest.fixture
def mesh_config(tmp_path: Path):
    path = tmp_path / "mesh.yaml"
    path.write_text(MESH_YAML, encoding="utf-8")
    return load([str(path)], Options()).mesh


def _sim(mesh, **kw) -> object:
    req = Request(**kw)
    scope = Scope(req.source_namespace, req.source_labels, context="mesh")
    return simulate(compile_mesh(mesh, scope), req)


def test_match_port_other_than_the_listener_is_removed(mesh_config) -> None:
    """translation.md §4.1: a block with `port` ≠ listener port is removed at config time."""
    d = _sim(mesh_config, host="ratings", port=9080)
    assert d.trace[0].removed and "port 9090 is not the listener port 9080" in d.trace[0].reason
    assert _sim(mesh_config, host="ratings", port=9090).route.origin.virtual_service.rule == 0


def test_match_gateways_override_the_virtual_service_gateways(mesh_config) -> None:
    """translation.md §4.1: a block's own `gateways` replaces the VirtualService's list."""
    d = _sim(mesh_config, host="ratings", port=9080)
    assert d.trace[1].removed and "do not include mesh" in d.trace[1].reason


def test_source_labels_and_namespace(mesh_config) -> None:
    """translation.md §4.1: sourceLabels ⊆ client labels and sourceNamespace = client namespace."""
    assert _sim(mesh_config, host="ratings", port=9080).route.forward.clusters[0].subset == "v1"
    d = _sim(mesh_config, host="ratings", port=9080, source_labels={"app": "productpage", "v": "1"})
    assert d.route.forward.clusters[0].subset == "pp"
    d = _sim(mesh_config, host="ratings.default", port=9080, source_namespace="frontend")
    assert d.route.forward.clusters[0].subset == "fe"


def test_virtual_service_gateways_select_the_context(mesh_config) -> None:
    """A VirtualService whose `gateways` omit `mesh` does not apply to sidecars (translation.md §4.1)."""
    text = MESH_YAML.replace("gateways: [mesh, web/public]", "gateways: [web/public]")
    path = Path(mesh_config.resources[0].doc.path).with_name("gw-only.yaml")
    path.write_text(text, encoding="utf-8")
    mesh = load([str(path)], Options()).mesh
    d = _sim(mesh, host="ratings", port=9080)
    assert d.action == "default" and d.route.id == "default"


def test_indexes_are_built_once_per_compiled_configuration(mesh_config, monkeypatch: pytest.MonkeyPatch) -> None:
    """`meshc diff` simulates thousands of requests on one IR: per request index builds made it quadratic."""
    import meshc.simulate as sim

    built: list[str] = []
    real = sim._clusters_by_name

    def counting(clusters: list[ir.Cluster]) -> dict[str, ir.Cluster]:
        built.append("clusters")
        return real(clusters)

    monkeypatch.setattr(sim, "_clusters_by_name", counting)
    compiled = compile_mesh(mesh_config, Scope("default", {}, context="mesh"))
    for path in ("/", "/a", "/b"):
        assert simulate(compiled, Request(host="ratings", port=9080, path=path)).action == "route"
    assert built == ["clusters"]
