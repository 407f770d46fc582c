"""Hostile strings from the input cannot add a directive to nginx.conf or change another route.

Every string field of the IR that reaches nginx.conf (hosts, header names and values, paths,
regexes, redirect targets, rewrite URIs, bodies, query names, endpoint addresses) is filled with
hostile values: quotes, `;`, `{`, `}`, `$`, `#`, backslashes, newlines, NUL, very long strings.
For each, the backend must either refuse the value (an `MC490` error, and the value does not
appear in the file) or write a file that the real `nginx -t` accepts and whose parsed structure
(crossplane: every directive, its block and its number of arguments) is exactly the structure
written for a harmless value. A live run then checks that a hostile route leaves the others alone.
These tests need the real nginx and FAIL without it.
"""

from __future__ import annotations

import copy
from typing import Any

import crossplane
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc import ir
from meshc.backends import nginx as backend
from tests.e2e import nginx as ngx
from tests.e2e import stubs

BENIGN = "benign"
TABLES = {"map", "geo", "split_clients"}
REFUSED = {"MC490", "MC464", "MC469"}
"""Codes that leave a value out: unsafe value, unreadable header name, host no server_name can hold."""

HOSTILE = [
    '"',
    "'",
    ";",
    "{",
    "}",
    "$",
    "#",
    "\\",
    '"; return 200 "owned',
    "x; } server { listen 1; } #",
    "$host",
    "${meshc_dollar}",
    "${meshc_c0}",
    "a\nb",
    "a\r\nX-Admin: 1",
    "a\x00b",
    "a\\",
    '\\\\"',
    "~^.*$",
    "(?P<host>x)",
    "(?<meshc_route_v9080_0>x)",
    "\x7f\t\x01",
    "é漢字",
    "x" * 5000,
    "$" * 3000,
    '"' * 3000,
]


def _base() -> dict[str, Any]:
    """IR of two hosts: `target` (whose fields are attacked) and `other` (which must not change)."""

    def route(rid: str, cluster: str, **extra: Any) -> dict[str, Any]:
        r = {
            "id": rid,
            "match": extra.pop("match", {}),
            "action": "forward",
            "forward": {"clusters": [{"cluster": cluster, "weight": 100, "host": "svc", "port": 80}]},
        }
        r.update(extra)
        return r

    target_routes = [
        route(
            "ns/target/http/0/match/0",
            "c-a",
            match={
                "path": {"kind": "prefix", "value": "/p-" + BENIGN},
                "headers": [{"name": "x-h", "match": {"kind": "exact", "value": BENIGN}}],
                "query_params": [{"name": "q" + BENIGN, "match": {"kind": "regex", "value": BENIGN}}],
            },
            request_headers={"set": [{"name": "x-set", "value": BENIGN}], "add": [{"name": "x-add", "value": BENIGN}]},
            response_headers={"set": [{"name": "x-resp", "value": BENIGN}]},
        ),
        {
            "id": "ns/target/http/1/match/0",
            "match": {"path": {"kind": "exact", "value": "/redirect"}},
            "action": "redirect",
            "redirect": {"code": 302, "path": "/to-" + BENIGN, "authority": BENIGN + ".example"},
        },
        {
            "id": "ns/target/http/2/match/0",
            "match": {"path": {"kind": "regex", "value": "/re-" + BENIGN}},
            "action": "direct_response",
            "direct_response": {"status": 200, "body": BENIGN},
        },
        route(
            "ns/target/http/3/match/0",
            "c-a",
            match={"path": {"kind": "prefix", "value": "/rw/"}},
            forward={
                "clusters": [{"cluster": "c-a", "weight": 100, "host": "svc", "port": 80}],
                "rewrite": {"uri": "/new-" + BENIGN + "/"},
            },
        ),
    ]
    other_routes = [
        route("ns/other/http/0/match/0", "c-b", match={"path": {"kind": "prefix", "value": "/"}}),
    ]
    return {
        "contexts": [
            {
                "name": "mesh",
                "kind": "sidecar",
                "namespace": "ns",
                "listeners": [
                    {
                        "name": "0.0.0.0_80",
                        "address": "0.0.0.0",
                        "port": 80,
                        "protocol": "HTTP",
                        "filter_chains": [
                            {
                                "name": "http",
                                "protocol": "HTTP",
                                "route_config": {
                                    "name": "80",
                                    "virtual_hosts": [
                                        {"name": "other:80", "domains": ["other"], "routes": other_routes},
                                        {
                                            "name": "target:80",
                                            "domains": ["target", BENIGN + ".target"],
                                            "routes": target_routes,
                                        },
                                    ],
                                },
                            }
                        ],
                    }
                ],
                "clusters": [
                    {
                        "name": "c-a",
                        "host": "a." + BENIGN,
                        "port": 80,
                        "discovery": "STATIC",
                        "endpoints": [{"address": "127.0.0.1", "port": 9}],
                    },
                    {
                        "name": "c-b",
                        "host": "b",
                        "port": 80,
                        "discovery": "STATIC",
                        "endpoints": [{"address": "127.0.0.1", "port": 9}],
                    },
                ],
            }
        ]
    }


def _walk(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(path, value) of every string that holds BENIGN."""
    out: list[tuple[tuple[Any, ...], str]] = []

    def visit(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, (*path, i))
        elif isinstance(node, str) and BENIGN in node:
            out.append((path, node))

    visit(data, ())
    return out


SITES = _walk(_base())


def _with(path: tuple[Any, ...], value: str) -> dict[str, Any]:
    data = copy.deepcopy(_base())
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = node[path[-1]].replace(BENIGN, value)
    return data


def _render(data: dict[str, Any]) -> tuple[str, list[Any]]:
    return backend.render(ir.from_dict(ir.IR, data), backend.NginxOptions(bind="127.0.0.1", port_offset=30000))


def _structure(text: str) -> list[Any]:
    """Every directive with its nesting and argument count (arguments' contents left out)."""
    ngx.nginx_binary()
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False, encoding="utf-8") as f:
        f.write(text)
        name = f.name
    try:
        parsed = crossplane.parse(name, single=True, comments=False, check_ctx=False, check_args=False)
    finally:
        os.unlink(name)
    assert parsed["status"] == "ok", parsed["errors"]

    def literal(d: dict[str, Any]) -> bool:
        # a long or multi-line value is split into `geo $meshc_litN { default "..."; }` blocks
        if d["directive"] != "geo" or not d["args"][0].startswith("$meshc_lit"):
            return False
        entries = d.get("block", [])
        assert len(d["args"]) == 1 and len(entries) == 1, d
        assert entries[0]["directive"] == "default" and len(entries[0]["args"]) == 1, d
        return True

    def shape(block: list[dict[str, Any]], table: bool = False) -> list[Any]:
        # inside map/geo/split_clients the first word of an entry is data (a key), not a directive
        return [
            (
                "<entry>" if table else d["directive"],
                len(d["args"]),
                shape(d.get("block", []), d["directive"] in TABLES),
            )
            for d in block
            if not literal(d)
        ]

    return shape(parsed["config"][0]["parsed"])


BASELINE = None


def _baseline() -> list[Any]:
    global BASELINE
    if BASELINE is None:
        text, diags = _render(_base())
        assert not [d for d in diags if d.code != "MC471"], diags  # MC471: `x-h` also reads `x_h`
        assert ngx.validate(text).ok
        BASELINE = _structure(text)
    return BASELINE


def _check(site: int, value: str) -> None:
    path, _ = SITES[site]
    text, diags = _render(_with(path, value))
    result = ngx.validate(text)
    assert result.ok, f"nginx -t refused {value!r} at {path}:\n{result.output}"
    if any(d.code in REFUSED for d in diags):
        # left out with a diagnostic: the rest of the file is still valid, and the value is gone
        base_text, _ = _render(_base())
        assert len(value) < 4 or text.count(value) <= base_text.count(value), f"refused value written at {path}"
        return
    assert _structure(text) == _baseline(), f"{value!r} at {path} changed the configuration's structure"


def test_every_site_is_attacked() -> None:
    fields = {p[-1] for p, _ in SITES}
    assert {"value", "name", "path", "authority", "body", "uri", "host"} <= fields, fields
    assert len(SITES) >= 12


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:30] for v in HOSTILE])
def test_hostile_values_everywhere(value: str) -> None:
    for site in range(len(SITES)):
        _check(site, value)


hostile_text = st.text(
    alphabet=st.sampled_from(list("\"';{}$#\\\n\r\t\x00 ~^()[]|*?+.azAZ09é-_/:=&%@!")), min_size=1, max_size=40
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=st.integers(min_value=0, max_value=len(SITES) - 1), value=hostile_text)
def test_hypothesis_hostile_value(site: int, value: str) -> None:
    _check(site, value)


def test_hostile_route_leaves_other_routes_alone() -> None:
    """A hostile header value in one route: nginx -t passes, and live requests still go where they should."""
    value = 'x"; } location @owned { return 200 "owned"; } #$host{'
    data = _base()
    target = data["contexts"][0]["listeners"][0]["filter_chains"][0]["route_config"]["virtual_hosts"][1]
    target["routes"][0]["match"]["headers"][0]["match"]["value"] = value
    target["routes"][0]["request_headers"]["set"][0]["value"] = value
    with ngx.Sockets([80]) as sockets, stubs.running("c-a", "c-b") as running:
        for cl in data["contexts"][0]["clusters"]:
            cl["endpoints"] = [{"address": "127.0.0.1", "port": running[cl["name"]].port}]
        port = sockets[80]
        text, diags = backend.render(
            ir.from_dict(ir.IR, data), backend.NginxOptions(bind="127.0.0.1", port_map={80: port})
        )
        assert not [d for d in diags if d.code == "MC490"]
        assert _structure(text) == _baseline()
        with ngx.running(text, sockets):
            hit = ngx.request(port, "/p-benign/x?qbenign=benign", host="target", headers=[("x-h", value)])
            assert hit.stub == "c-a"
            assert hit.json()["headers"]["x-set"] == value  # sent as one header, byte for byte
            assert ngx.request(port, "/p-benign/x?qbenign=benign", host="target", headers=[("x-h", "x")]).status == 404
            assert ngx.request(port, "/anything", host="other").stub == "c-b"
            assert ngx.request(port, "/p-benign/x", host="other", headers=[("x-h", value)]).stub == "c-b"
            owned = ngx.request(port, "/", host="target", headers=[("x-h", value)])
            assert owned.body != b"owned"
