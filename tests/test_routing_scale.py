"""The shadowing analysis (MC202-MC204) finds what comparing every pair finds, in near-linear time.

`matchspace.Containers` files each match block under one condition and compares a block only with
the earlier blocks whose condition it satisfies; the reference below compares it with every earlier
block. Two properties hold them to the same answers: on random lists of compiled blocks
(`Containers.first` against the reference), and on random VirtualServices through `meshc lint`
(the JSON report with the index and with the reference swapped in).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc import ir, matchspace
from meshc.config import Options
from meshc.lint import lint
from meshc.matchspace import Containers, block_of, contains
from meshc.models.networking import HTTPMatchRequest
from meshc.render import json_
from tests.test_matching import valid_match_spec


def _every_earlier(self: Containers, n: int) -> int | None:
    """The reference: the first earlier block that contains block `n`, trying every one."""
    return next((m for m in range(n) if contains(self.blocks[m], self.blocks[n])), None)


_text = st.sampled_from(["/", "/a", "/a/b", "/ab", "/A", "/b", "", "/a/"])
_test = st.one_of(
    st.builds(lambda k, v: {k: v}, st.sampled_from(["exact", "prefix"]), _text),
    st.sampled_from([{"regex": "/a.*"}, {"regex": "/a/b"}, {"regex": "(/a|/b)"}, {"regex": ".*"}, {"regex": "/a[/b]"}]),
)
_presence = st.sampled_from([{}, {"regex": "*"}])
_match = st.fixed_dictionaries(
    {},
    optional={
        "uri": _test,
        "ignoreUriCase": st.booleans(),
        "headers": st.dictionaries(
            st.sampled_from(["x-a", "x-b", "@request.auth.claims.g"]), st.one_of(_test, _presence), max_size=2
        ),
        "withoutHeaders": st.dictionaries(st.sampled_from(["x-a", "x-b"]), st.one_of(_test, _presence), max_size=1),
        "queryParams": st.dictionaries(st.sampled_from(["q"]), st.one_of(_test, _presence), max_size=1),
        "method": st.sampled_from([{"exact": "GET"}, {"prefix": "P"}, {"regex": "GET|POST"}]),
        "gateways": st.sampled_from([["mesh"], ["default/gw"], ["default/gw", "mesh"]]),
        "port": st.sampled_from([80, 9080]),
        "sourceLabels": st.sampled_from([{"app": "a"}, {"app": "a", "v": "1"}]),
        "sourceNamespace": st.sampled_from(["default", "other"]),
    },
)
_route = st.fixed_dictionaries(
    {"route": st.just([{"destination": {"host": "r"}}])}, optional={"match": st.lists(_match, min_size=1, max_size=3)}
)


def _doc(routes: list[dict[str, Any]], gateways: list[str]) -> bytes:
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "r", "namespace": "default"},
        "spec": {"hosts": ["r"], "gateways": gateways, "http": routes},
    }
    gw = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": 80, "name": "h", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }
    return (json.dumps(vs) + "\n---\n" + json.dumps(gw)).encode()


def _report(data: bytes) -> str:
    return json_(lint(["-"], Options(), stdin=data).diagnostics)


def _blocks(matches: list[dict[str, Any] | None]) -> list[matchspace.Block]:
    vs = frozenset({"mesh", "default/gw"})
    out = []
    for spec in matches:
        m = None if spec is None else HTTPMatchRequest.model_validate(spec)
        out.append(block_of(ir.RouteMatch.of(m), ir.MatchScope.of(m, lambda ref: ref), vs))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), _match.filter(valid_match_spec)), min_size=1, max_size=12))
def test_containers_find_the_first_container_as_every_pair_does(matches: list[dict[str, Any] | None]) -> None:
    blocks = _blocks(matches)
    walk = matchspace._WALK
    matchspace._WALK = 0  # file every block, however few (a VirtualService's usual few are compared directly)
    try:
        index = Containers(blocks)
    finally:
        matchspace._WALK = walk
    assert not index.walk
    walked = Containers(blocks)
    for n in range(len(blocks)):
        assert index.first(n) == _every_earlier(index, n), (n, matches)
        assert walked.first(n) == index.first(n), (n, matches)


def _same_findings_as_comparing_every_pair(
    monkeypatch: pytest.MonkeyPatch, routes: list[dict[str, Any]], gateways: list[str]
) -> None:
    data = _doc(routes, gateways)
    indexed = _report(data)
    with monkeypatch.context() as m:
        m.setattr(Containers, "first", _every_earlier)
        assert _report(data) == indexed


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_route, min_size=2, max_size=7), st.sampled_from([[], ["mesh"], ["default/gw", "mesh"]]))
def test_same_findings_as_comparing_every_pair(
    monkeypatch: pytest.MonkeyPatch, routes: list[dict[str, Any]], gateways: list[str]
) -> None:
    _same_findings_as_comparing_every_pair(monkeypatch, routes, gateways)


@pytest.mark.slow  # the long profile: 400 examples, about 10 s
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_route, min_size=2, max_size=7), st.sampled_from([[], ["mesh"], ["default/gw", "mesh"]]))
def test_same_findings_as_comparing_every_pair_long(
    monkeypatch: pytest.MonkeyPatch, routes: list[dict[str, Any]], gateways: list[str]
) -> None:
    _same_findings_as_comparing_every_pair(monkeypatch, routes, gateways)


def test_five_thousand_routes_are_analysed_in_linear_time() -> None:
    """Found by the fuzz bombs: 5,000 routes took 14.5 s to lint, quadratic."""
    routes = [
        {
            "match": [{"uri": {"prefix": f"/p{i}"}, "headers": {"x-a": {"exact": f"v{i}"}}}],
            "route": [{"destination": {"host": "r"}}],
        }
        for i in range(5_000)
    ]
    start = time.process_time()  # CPU time: other processes on the machine do not count
    report = _report(_doc(routes, []))
    assert time.process_time() - start < 6  # about 1 s of CPU
    assert json.loads(report) == []


def test_ten_thousand_header_rules_are_analysed_in_near_linear_time() -> None:
    """Issue 20 point 6: 2,500 header-exact rules took 10 s, 5,000 43 s, 10,000 173 s (every pair compared)."""
    routes = [
        {"match": [{"headers": {"x-user": {"exact": f"u{i}"}}}], "route": [{"destination": {"host": "r"}}]}
        for i in range(10_000)
    ]
    routes.append({"match": [{"headers": {"x-user": {"exact": "u7"}}}], "route": [{"destination": {"host": "r"}}]})
    start = time.process_time()
    report = json.loads(_report(_doc(routes, [])))
    assert time.process_time() - start < 10  # about 1.6 s of CPU
    assert [(d["code"], d["field"]) for d in report] == [
        ("MC202", "spec.http[10000]"),
        ("MC203", "spec.http[10000].match[0]"),
    ]


def test_a_long_path_is_not_cut_at_every_length() -> None:
    """A path is cut only at the lengths of the known prefixes.

    Found by the long fuzz profile: each block tried every prefix of its path, quadratic in the
    path's length (a 250 KB input took 6 s to diff).
    """
    long = "/" + "a" * 150_000
    routes = [
        {"match": [{"uri": {"prefix": p}}], "route": [{"destination": {"host": "r"}}]}
        for p in ("/b", long + "b", long + "c", long + "d")
    ]
    start = time.process_time()  # CPU time: other processes on the machine do not count
    report = _report(_doc(routes, []))
    assert time.process_time() - start < 2  # before: 8 s of CPU
    assert json.loads(report) == []
