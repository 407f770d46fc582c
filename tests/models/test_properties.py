"""`validate` never raises: for any JSON-like input and every kind it returns a model or problems."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.models import KINDS, KindInfo, validate
from meshc.models.errors import Problem

FIELD_NAMES = st.sampled_from(
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "name",
        "hosts",
        "http",
        "route",
        "destination",
        "host",
        "port",
        "number",
        "match",
        "uri",
        "exact",
        "prefix",
        "regex",
        "timeout",
        "subsets",
        "labels",
        "selector",
        "servers",
        "tls",
        "mode",
        "ports",
        "rules",
        "from",
        "to",
        "when",
        "key",
        "values",
        "portLevelMtls",
        "template",
        "containers",
        "jobTemplate",
        "weight",
        "trafficPolicy",
        "loadBalancer",
        "simple",
        "headers",
        "x",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=12)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(FIELD_NAMES | st.text(max_size=6) | st.integers(-5, 70000), children, max_size=5)
    ),
    max_leaves=30,
)


def _document(info: KindInfo, body: Any) -> Any:
    if isinstance(body, dict):
        return {"apiVersion": info.api_versions[0], "kind": info.kind, "metadata": {"name": "n"}, **body}
    return body


def _assert_result(result: tuple[Any, list[Problem]]) -> None:
    model, problems = result
    assert (model is None) == bool(problems)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.message and "Input should" not in problem.message
        assert all(isinstance(segment, (str, int)) for segment in problem.loc)


@pytest.mark.parametrize("key", sorted(KINDS), ids=lambda k: k[1])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=JSON_LIKE)
def test_validate_never_raises_on_arbitrary_data(key: tuple[str, str], data: Any) -> None:
    _assert_result(validate(KINDS[key].model, data))


@pytest.mark.parametrize("key", sorted(KINDS), ids=lambda k: k[1])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=JSON_LIKE, extra=st.dictionaries(FIELD_NAMES, JSON_LIKE, max_size=3))
def test_validate_never_raises_on_well_headed_documents(key: tuple[str, str], spec: Any, extra: dict) -> None:
    info = KINDS[key]
    _assert_result(validate(info.model, _document(info, {"spec": spec, **extra})))


RICH_DOCUMENTS = [
    {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "r", "namespace": "prod", "labels": {"app": "r"}},
        "spec": {
            "hosts": ["reviews"],
            "gateways": ["mesh", "istio-system/gw"],
            "http": [
                {
                    "match": [{"uri": {"prefix": "/a"}, "headers": {"x": {"regex": "a.*"}}, "port": 80}],
                    "route": [
                        {
                            "destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}},
                            "weight": 90,
                        },
                        {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10},
                    ],
                    "timeout": "2s",
                    "retries": {"attempts": 2, "perTryTimeout": "1s", "retryOn": "5xx"},
                    "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 1}}},
                    "headers": {"request": {"set": {"x-a": "b"}}},
                    "corsPolicy": {"allowOrigins": [{"exact": "https://a"}], "maxAge": "24h"},
                },
                {"redirect": {"uri": "/b", "redirectCode": 301}},
            ],
            "tcp": [{"match": [{"port": 27017}], "route": [{"destination": {"host": "mongo"}}]}],
        },
    },
    {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "r"},
        "spec": {
            "host": "reviews",
            "trafficPolicy": {
                "loadBalancer": {
                    "consistentHash": {
                        "httpCookie": {"name": "c", "ttl": "0s"},
                        "maglev": {"tableSize": 65537},
                    }
                },
                "connectionPool": {"tcp": {"maxConnections": 1}, "http": {"h2UpgradePolicy": "UPGRADE"}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "1s"},
                "tls": {"mode": "ISTIO_MUTUAL"},
                "portLevelSettings": [{"port": {"number": 80}, "loadBalancer": {"simple": "RANDOM"}}],
            },
            "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
        },
    },
    {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": ["*.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": "c"},
                }
            ],
        },
    },
    {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "ap"},
        "spec": {
            "action": "DENY",
            "rules": [
                {
                    "from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}],
                    "to": [{"operation": {"ports": ["80"]}}],
                    "when": [{"key": "request.headers[x]", "values": ["1"]}],
                }
            ],
        },
    },
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _replace(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replace(node[head], tuple(rest), value)
    return copy


@pytest.mark.parametrize("base", RICH_DOCUMENTS, ids=lambda d: d["kind"])
def test_rich_documents_are_valid(base: dict) -> None:
    info = KINDS[(base["apiVersion"].split("/")[0], base["kind"])]
    assert validate(info.model, base)[1] == []


@pytest.mark.parametrize("base", RICH_DOCUMENTS, ids=lambda d: d["kind"])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validate_never_raises_when_any_part_of_a_valid_document_is_replaced(base: dict, data: st.DataObject) -> None:
    info = KINDS[(base["apiVersion"].split("/")[0], base["kind"])]
    path = data.draw(st.sampled_from(_paths(base)))
    mutated = _replace(base, path, data.draw(JSON_LIKE))
    _assert_result(validate(info.model, mutated))
