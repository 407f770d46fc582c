"""The shadowing analysis (MC202 and its family) finds what comparing every pair finds, in linear time."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshc.rules.routing as routing
from meshc.config import Options
from meshc.lint import lint
from meshc.matchspace import contains
from meshc.render import json_


def _pairwise(mesh: Any, res: Any, spec: Any, blocks: list[Any], out: Any) -> None:
    """The analysis as first written: every block against every earlier one."""
    built: dict[int, Any] = {}
    context: list[Any] = []

    def block(n: int) -> Any:
        b = built.get(n)
        if b is None:
            if not context:
                key = routing._gateway_key(mesh, res.namespace)
                context[:] = [key, routing.vs_gateway_keys(spec.gateways, key)]
            b = built[n] = routing.block_of(blocks[n][2], context[1], context[0])
        return b

    counts: dict[int, int] = defaultdict(int)
    for n, (i, j, _, keys) in enumerate(blocks):
        counts[i] += 1
        for m in range(n):
            if not blocks[m][3] <= keys:
                continue
            here = block(n)
            if not here.gateways:
                counts[i] -= 1
                break
            if contains(block(m), here):
                fi, fj, fmatch, _ = blocks[m]
                out.shadows.append(routing.Shadow("http", i, j, fi, fj, routing.describe_match(fmatch)))
                break
    for i, count in counts.items():
        if count:
            out.blocks[("http", i)] = count


_text = st.sampled_from(["/", "/a", "/a/b", "/ab", "/A", "/b", "", "/a/"])
_test = st.one_of(
    st.builds(lambda k, v: {k: v}, st.sampled_from(["exact", "prefix"]), _text),
    st.sampled_from([{"regex": "/a.*"}, {"regex": "/a/b"}, {"regex": "(/a|/b)"}, {"regex": ".*"}]),
)
_match = st.fixed_dictionaries(
    {},
    optional={
        "uri": _test,
        "ignoreUriCase": st.booleans(),
        "headers": st.dictionaries(st.sampled_from(["x-a", "x-b"]), _test, max_size=2),
        "method": st.sampled_from([{"exact": "GET"}, {"prefix": "P"}]),
        "gateways": st.sampled_from([["mesh"], ["default/gw"], ["default/gw", "mesh"]]),
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


def _same_findings_as_comparing_every_pair(
    monkeypatch: pytest.MonkeyPatch, routes: list[dict[str, Any]], gateways: list[str]
) -> None:
    data = _doc(routes, gateways)
    indexed = _report(data)
    with monkeypatch.context() as m:
        m.setattr(routing, "_analyse_http", _pairwise)
        assert _report(data) == indexed


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_route, min_size=2, max_size=7), st.sampled_from([[], ["mesh"], ["default/gw", "mesh"]]))
def test_same_findings_as_comparing_every_pair(
    monkeypatch: pytest.MonkeyPatch, routes: list[dict[str, Any]], gateways: list[str]
) -> None:
    _same_findings_as_comparing_every_pair(monkeypatch, routes, gateways)


@pytest.mark.slow  # the long profile: 400 examples, about 10 s
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
    assert time.process_time() - start < 6
    assert json.loads(report) == []


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
