"""The one matcher (`meshc.ir` match types): Envoy's semantics, and every command asking it.

Envoy itself is asked in tests/e2e/test_envoy_matching.py; here the rules that follow from it (and
from istiod's source, cited in `meshc.ir`) are pinned down without a proxy, plus the two indexes
that must answer exactly what walking every route or block answers: `matchspace.RouteIndex`
(`meshc diff`'s requests) against the simulator's own walk, on random tables and on every golden case.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import ir, matchspace
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.matchspace import RouteIndex
from meshc.models.checks import routing_claim
from meshc.models.networking import HTTPMatchRequest
from meshc.pipeline import load
from meshc.simulate import Request, check, elide, simulate
from meshc.witness import witness

CASES = Path(__file__).parent / "cases"


def _match(spec: dict[str, Any] | None) -> ir.RouteMatch:
    return ir.RouteMatch.of(None if spec is None else HTTPMatchRequest.model_validate(spec))


# --- case folding: ASCII only ---------------------------------------------------------------------


def test_case_folding_is_ascii_only() -> None:
    """Proves: `ignoreUriCase`, header names and the Host fold A-Z only (Envoy absl::AsciiStrToLower)."""
    assert ir.ascii_lower("/API/É/\u212a") == "/api/É/\u212a"  # the Kelvin sign is not a K
    folded = ir.PathMatch("prefix", "/api", ignore_case=True)
    assert folded.matches("/API/v1") and folded.matches("/Api")
    assert not ir.PathMatch("exact", "/é", ignore_case=True).matches("/É")  # Unicode folding would say yes
    assert not ir.PathMatch("exact", "/k", ignore_case=True).matches("/\u212a")
    assert ir.PathMatch("exact", "/a", ignore_case=True).matches("/A?x=1")  # the query is not compared
    assert not ir.PathMatch("regex", "/a", ignore_case=True).matches("/A")  # no folding for a regex
    req = Request("h", headers=[("X-User", "a"), ("x-user", "b")])
    assert req.header_values("x-USER") == ["a", "b"]
    assert Request("H\u0130.example").hostname == "h\u0130.example"  # `İ` is not lowered


# --- regexes run on bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("caf.", "café", False),
        ("caf..", "café", True),
        (".{5}", "café", True),
        ("caf[^a]", "café", False),
        ("café", "café", True),
        ("caf\\x{e9}", "café", False),
        ("caf\\x{e9}", "caf\udce9", True),  # the Latin-1 byte, as it came from the command line
        ("caf.", "caf\udce9", True),
        ("[", "[", False),  # RE2 rejects it: it matches nothing
        ("a|b", "a", True),
        ("a", "ab", False),  # a whole-value match
    ],
)
def test_regexes_match_the_utf8_bytes(pattern: str, value: str, matches: bool) -> None:
    """Proves: RE2 sees one character per byte (measured on Envoy: tests/e2e/test_envoy_matching.py)."""
    assert ir.regex_fullmatch(pattern, value) is matches
    assert ir.StringMatch("regex", pattern).matches(value) is matches


def test_route_answers_two_for_cafe() -> None:
    """Proves: issue 20's `caf.` → ONE, `caf..` → TWO: a request with `café` takes TWO."""
    one = ir.Route("one", _match({"headers": {"x-name": {"regex": "caf."}}}), "direct_response")
    two = ir.Route("two", _match({"headers": {"x-name": {"regex": "caf.."}}}), "direct_response")
    req = Request("h", headers=[("x-name", "café")])
    assert RouteIndex([one, two]).first(req) == 1
    assert check(one.match, req) is not None and check(two.match, req) is None


# --- headers, query parameters, claims -------------------------------------------------------------------


def test_header_conditions() -> None:
    """Proves: any one value passes; an absent header passes only `withoutHeaders` forms (Envoy matchHeaders)."""
    exact = ir.HeaderMatch("x", ir.StringMatch("exact", "1"))
    assert exact.holds(["1", "2"]) and exact.holds(["2", "1"]) and not exact.holds([]) and not exact.holds(["1,2"])
    without = ir.HeaderMatch("x", ir.StringMatch("exact", "1"), invert=True, treat_missing_as_empty=True)
    assert without.holds([]) and without.holds(["2"]) and not without.holds(["2", "1"])
    absent = ir.HeaderMatch("x", ir.StringMatch("present"), invert=True)
    assert absent.holds([]) and not absent.holds([""])
    assert ir.HeaderMatch("x", ir.StringMatch("present")).holds([""])
    # Istio: `withoutHeaders` treats a missing header as empty except in the presence form.
    m = _match({"withoutHeaders": {"X-A": {"exact": "1"}, "x-b": {}, "x-c": {"regex": "*"}}})
    assert [(h.name, h.invert, h.treat_missing_as_empty, h.match.kind) for h in m.headers] == [
        ("x-a", True, True, "exact"),
        ("x-b", True, False, "present"),
        ("x-c", True, False, "present"),
    ]


def test_query_parameters_compare_the_first_value() -> None:
    q = ir.QueryParamMatch("q", ir.StringMatch("exact", "1"))
    assert q.holds(["1", "2"]) and not q.holds(["2", "1"]) and not q.holds([])
    assert ir.query_params("/p?q=1&r&q=2#f") == [("q", "1"), ("r", ""), ("q", "2")]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("@request.auth.claims.group", ["group"]),
        ("@request.auth.claims.group.id", ["group", "id"]),
        ("@request.auth.claims[group][id]", ["group", "id"]),
        ("@request.auth.claims[a.b]", ["a.b"]),
        ("@Request.Auth.Claims.Group", ["Group"]),  # ToRoutingClaim lowers the prefix only
        ("@request.auth.claims.a..b", ["a", "", "b"]),
        ("@request.auth.claims.", None),
        ("@request.auth.claims[]", None),
        ("@request.auth.claimsgroup", None),
        ("@request.auth.cla\u0130ms.x", None),
        ("x-claims", None),
    ],
)
def test_claim_names_follow_istio(name: str, path: list[str] | None) -> None:
    """Proves: one rule names claims for lint, compile and route (pkg/jwt/routing.go `ToRoutingClaim`)."""
    assert routing_claim(name) == path


def test_claim_headers_compile_to_claim_conditions() -> None:
    m = _match({"headers": {"@Request.Auth.Claims.group": {"exact": "admin"}}})
    assert not m.headers and [(c.claim, c.match.value) for c in m.jwt_claims] == [(["group"], "admin")]


def test_claim_conditions() -> None:
    """Proves: a string test passes a string or a list with one passing element; never a number or a bool."""
    c = ir.ClaimMatch(["g", "id"], ir.StringMatch("exact", "1"))
    assert c.holds({"g": {"id": "1"}}) and c.holds({"g": {"id": ["0", "1"]}})
    assert not c.holds({"g": {"id": 1}}) and not c.holds({"g": {"id": True}}) and not c.holds({"g": "1"})
    assert not c.holds({})
    assert ir.ClaimMatch(["g"], ir.StringMatch("present")).holds({"g": 7})
    assert ir.ClaimMatch(["g"], ir.StringMatch("exact", "1"), invert=True).holds({})


def test_scope_reasons() -> None:
    """Proves: port, gateways and source conditions (translateRoute, sourceMatchHTTP) in one place."""
    m = HTTPMatchRequest.model_validate({"port": 8080, "sourceLabels": {"app": "a"}, "sourceNamespace": "x"})
    scope = ir.MatchScope.of(m, lambda ref: ref)
    assert scope.reason(80, "mesh", {"app": "a"}, "x") == "port 8080 is not the listener port 80"
    assert scope.reason(8080, "mesh", {}, "x") == "sourceLabels app=a not on the client (client labels: none)"
    assert scope.reason(8080, "mesh", {"app": "a"}, "y") == "sourceNamespace x is not the client namespace y"
    assert scope.reason(8080, "mesh", {"app": "a", "v": "1"}, "x") is None
    gw = ir.MatchScope.of(HTTPMatchRequest.model_validate({"gateways": ["gw"], "sourceNamespace": "x"}), "ns/{}".format)
    assert gw.reason(80, "ns/gw", {}, "other") is None  # a block with gateways ignores the source
    assert gw.reason(80, "mesh", {}, "x") == "gateways [gw] do not include mesh"


# --- the route index answers as the walk does ------------------------------------------------------------

_values = st.sampled_from(["", "a", "ab", "A", "b", "café", "1,2"])
_paths = st.sampled_from(["/", "/a", "/ab", "/A", "/a/b", "/b", "/é"])
_sm = st.one_of(
    st.builds(lambda v: {"exact": v}, _values.filter(bool)),
    st.builds(lambda v: {"prefix": v}, _values.filter(bool)),
    st.sampled_from([{"regex": "a.*"}, {"regex": "caf.."}, {"regex": "[ab]+"}, {}]),
)
_uri = st.one_of(
    st.builds(lambda v: {"exact": v}, _paths),
    st.builds(lambda v: {"prefix": v}, _paths),
    st.sampled_from([{"regex": "/a.*"}, {"regex": "/[ab]"}, {"regex": "/."}]),
)
_spec = st.fixed_dictionaries(
    {},
    optional={
        "uri": _uri,
        "ignoreUriCase": st.booleans(),
        "headers": st.dictionaries(st.sampled_from(["x-a", "x-b", ":path"]), _sm, max_size=2),
        "withoutHeaders": st.dictionaries(st.sampled_from(["x-a", "x-b"]), _sm, max_size=1),
        "queryParams": st.dictionaries(st.sampled_from(["q"]), _sm, max_size=1),
        "method": st.sampled_from([{"exact": "GET"}, {"prefix": "P"}, {"regex": "GET|PUT"}]),
        "authority": st.sampled_from([{"exact": "h"}, {"prefix": "h:"}]),
        "scheme": st.sampled_from([{"exact": "https"}]),
    },
)
_requests = st.builds(
    lambda path, q, method, headers, host: Request(host, path + q, method, headers),
    _paths,
    st.sampled_from(["", "?q=a", "?q=ab&q=a", "?q", "?r=a"]),
    st.sampled_from(["GET", "POST", "PUT"]),
    st.lists(st.tuples(st.sampled_from(["x-a", "X-B", "x-a"]), _values), max_size=3),
    st.sampled_from(["h", "h:80", "H"]),
)


def valid_match_spec(spec: dict[str, Any]) -> bool:
    """Whether `spec` is a valid HTTPMatchRequest (a filter for generated matches; shared with test_routing_scale)."""
    try:
        HTTPMatchRequest.model_validate(spec)
    except Exception:
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), _spec.filter(valid_match_spec)), min_size=1, max_size=10),
    st.lists(_requests, max_size=8),
)
def test_route_index_takes_the_route_the_walk_takes(
    specs: list[dict[str, Any] | None], requests: list[Request]
) -> None:
    """Proves: `RouteIndex.first` (meshc diff's requests) is the first route whose match holds."""
    routes = [ir.Route(str(i), _match(s), "direct_response") for i, s in enumerate(specs)]
    walk = matchspace._WALK
    matchspace._WALK = 0  # look every request up, however short the table
    try:
        index = RouteIndex(routes)
        for req in requests:
            walked = next((i for i, r in enumerate(routes) if check(r.match, req) is None), None)
            assert index.first(req) == walked, (specs, req)
    finally:
        matchspace._WALK = walk


def _golden_irs() -> list[tuple[str, ir.IR]]:
    out = []
    for case in sorted(CASES.iterdir()):
        path = case / "input.yaml"
        if path.is_file():
            loaded = load([str(path)], Options())
            out.append((case.name, compile_mesh(loaded.mesh)))
    return out


def test_simulating_without_a_trace_decides_as_with_one() -> None:
    """Proves: on every golden case, for a witness of every route, both ways take the same route."""
    compared = 0
    for name, compiled in _golden_irs():
        for ctx in compiled.contexts:
            gateway = "mesh" if ctx.kind == "sidecar" else f"{ctx.gateways[0].namespace}/{ctx.gateways[0].name}"
            for listener in ctx.listeners:
                for chain in listener.filter_chains:
                    if chain.route_config is None:
                        continue
                    for vh in chain.route_config.virtual_hosts:
                        host = vh.domains[0].replace("*", "x")
                        for route in vh.routes:
                            probe = witness([route.match])
                            if probe is None:
                                continue
                            req = probe.request(host, listener.port, gateway=gateway, source_namespace=ctx.namespace)
                            with_trace = simulate(compiled, req)
                            without = simulate(compiled, req, trace=False)
                            assert (without.action, without.route, without.status) == (
                                with_trace.action,
                                with_trace.route,
                                with_trace.status,
                            ), (name, route.id, probe)
                            assert not without.trace
                            compared += 1
    assert compared > 50


# --- bounded output ------------------------------------------------------------------------------------


def test_elide_keeps_short_values_and_counts_the_bytes_of_long_ones() -> None:
    assert elide("short") == "short"
    assert elide("é" * 101) == "é" * 50 + "…(202 bytes)"


def test_route_text_is_bounded_for_a_long_path(tmp_path: Path) -> None:
    """Proves: a 100 KB `--path` against 1,000 rules prints a bounded trace (it printed 250 MB; issue 20 point 6)."""
    from typer.testing import CliRunner

    from meshc.cli import app

    routes = [{"match": [{"uri": {"exact": f"/p{i}"}}], "route": [{"destination": {"host": "r"}}]} for i in range(1000)]
    docs = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "r"}, "spec": {"ports": [{"port": 80}]}},
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "r"},
            "spec": {"hosts": ["r"], "http": routes},
        },
    ]
    path = tmp_path / "vs.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs), encoding="utf-8")
    long_path = "/" + "a" * 100_000
    start = time.process_time()
    result = CliRunner().invoke(app, ["route", "--no-config", str(path), "--host", "r", "--path", long_path])
    assert time.process_time() - start < 20
    assert result.exit_code == 0, result.output[:2000]
    assert len(result.output) < 400_000  # 1,000 trace lines of at most a few hundred characters
    assert "(100,001 bytes)" in result.output
    assert long_path not in result.output


def test_diff_of_a_virtual_service_with_thousands_of_routes_is_linear(tmp_path: Path) -> None:
    """Proves: `meshc diff` finds the route a request takes through the index (2,000 routes took 4 s, 5,000 29 s)."""
    from meshc.diff import compare_paths

    def write(name: str, n: int, changed: int) -> str:
        routes = [
            {
                "match": [{"headers": {"x-user": {"exact": f"u{i}"}}}],
                "route": [{"destination": {"host": "r", "subset": "b" if i == changed else "a"}}],
            }
            for i in range(n)
        ]
        vs = {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"hosts": ["r"], "http": routes},
        }
        p = tmp_path / name
        p.write_text(json.dumps(vs), encoding="utf-8")
        return str(p)

    old, new = write("old.yaml", 5_000, -1), write("new.yaml", 5_000, 4_321)
    start = time.process_time()
    result = compare_paths([old], [new], Options())
    assert time.process_time() - start < 15
    changes = [c for s in result.sections for c in s.requests]
    assert len(changes) == 1 and "u4321" in changes[0].description


def test_load_reads_the_request_bytes_back() -> None:
    """Proves: a header value that is not UTF-8 (read with surrogateescape) keeps its bytes for the regex."""
    assert ir.wire_bytes("caf\udce9") == b"caf\xe9"
    assert ir.wire_bytes("\ud800x") == "\ufffdx".encode()
