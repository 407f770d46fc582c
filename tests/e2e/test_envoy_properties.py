"""Property-based differential test: Envoy does what `meshc route` predicts, for random configurations.

Random VirtualServices and DestinationRules, random requests; what a real Envoy does must be what
`meshc route` (the simulator) predicts.

The alphabet is small on purpose (two services, three versions, paths `/`, `/a`, `/a/b`, `/b`,
header values `""`, `1`, `12`, `A`) so that matches overlap, VirtualServices collide on hosts and
rules shadow each other. Endpoints are fixed WorkloadEntries, so one stub per endpoint serves every
example; each generated configuration gets its own Envoy, and all its requests go to that process.

Profiles:
- quick (default, in CI): a derandomized run of `QUICK_EXAMPLES` configurations;
- long (`python -m pytest -m slow tests/e2e/test_envoy_properties.py -s`): at least 1,000
  (configuration, request) pairs; it prints the agreement figures.

A pair agrees when: the simulator says `no_route` and Envoy answers 404 from itself; or it says
`route`/`default` and the stub that answered is an endpoint of one of the predicted clusters (503
is accepted only when a predicted cluster does not exist), with the path and Host the upstream
received equal to the predicted rewrite. Any disagreement fails the test with the configuration,
the request and the simulator's trace (not shrunk: each attempt would start an Envoy).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from meshc.compile import compile_mesh
from tests.conftest import figures
from tests.e2e import differential as diff
from tests.e2e import stubs as stubs_mod

QUICK_EXAMPLES = 40
LONG_EXAMPLES = 160
REQUESTS_PER_CONFIG = (6, 10)

SERVICES = ("alpha", "beta")
VERSIONS = ("v1", "v2", "v3")
PATHS = ("/", "/a", "/a/b", "/b", "/A")
HEADER_NAMES = ("x-a", "x-b")
VALUES = ("", "1", "12", "A")
REGEXES = ("1+", "[0-9]*", "A|12", ".*")
PATH_REGEXES = ("/a.*", "/[ab]", "/a/b", "/.*")


def _base() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    address = 1
    for svc in SERVICES:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": svc, "namespace": "default"},
                "spec": {"selector": {"app": svc}, "ports": [{"name": "http", "port": 9080}]},
            }
        )
        for version in VERSIONS:
            docs.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "WorkloadEntry",
                    "metadata": {"name": f"{svc}-{version}", "namespace": "default"},
                    "spec": {"address": f"10.3.0.{address}", "labels": {"app": svc, "version": version}},
                }
            )
            address += 1
    return docs


# --- strategies ---------------------------------------------------------------------------------------


def _string_match(values: tuple[str, ...], regexes: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(
        st.builds(lambda v: {"exact": v}, st.sampled_from(values)),
        st.builds(lambda v: {"prefix": v}, st.sampled_from(values)),
        st.builds(lambda v: {"regex": v}, st.sampled_from(regexes)),
    )


_uri = st.one_of(
    st.builds(lambda v: {"exact": v}, st.sampled_from(PATHS)),
    st.builds(lambda v: {"prefix": v}, st.sampled_from(PATHS)),
    st.builds(lambda v: {"regex": v}, st.sampled_from(PATH_REGEXES)),
)
_header_value = st.one_of(_string_match(VALUES[1:], REGEXES), st.just({}))
_headers = st.dictionaries(st.sampled_from(HEADER_NAMES), _header_value, max_size=2)


@st.composite
def _match(draw: st.DrawFn) -> dict[str, Any]:
    m: dict[str, Any] = {}
    if draw(st.integers(0, 4)) > 0:
        m["uri"] = draw(_uri)
        if draw(st.integers(0, 3)) == 0:
            m["ignoreUriCase"] = True
    headers = draw(_headers)
    if headers:
        m["headers"] = headers
    if draw(st.integers(0, 3)) == 0:
        without = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), _string_match(VALUES[1:], REGEXES), max_size=1))
        if without:
            m["withoutHeaders"] = without
    if draw(st.integers(0, 3)) == 0:
        m["queryParams"] = {"q": draw(_header_value)}
    if draw(st.integers(0, 4)) == 0:
        m["method"] = {"exact": draw(st.sampled_from(("GET", "POST")))}
    return m


@st.composite
def _destinations(draw: st.DrawFn, subsets: dict[str, list[str]]) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 3))
    out = []
    for _ in range(count):
        host = draw(st.sampled_from(SERVICES))
        dest: dict[str, Any] = {"host": host}
        choice = draw(st.sampled_from([None, *subsets[host]]))
        if choice is not None:
            dest["subset"] = choice
        out.append({"destination": dest})
    if count > 1:
        weights = draw(st.lists(st.integers(0, 100), min_size=count, max_size=count).filter(lambda w: sum(w) > 0))
        for entry, w in zip(out, weights, strict=True):
            entry["weight"] = w
    return out


@st.composite
def _rule(draw: st.DrawFn, subsets: dict[str, list[str]], index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": f"r{index}"}
    # Mostly rules with conditions: a rule without `match` is a catch-all that drops the rules after it.
    matches = draw(st.lists(_match(), min_size=0 if draw(st.integers(0, 6)) == 0 else 1, max_size=2))
    if matches:
        rule["match"] = matches
    kind = draw(st.integers(0, 9))
    if kind == 0:
        rule["redirect"] = {"uri": "/moved", "redirectCode": draw(st.sampled_from((301, 302)))}
    elif kind == 1:
        rule["directResponse"] = {"status": 418}
    else:
        rule["route"] = draw(_destinations(subsets))
        if kind == 2:
            rule["rewrite"] = {"uri": "/rw"}
        elif kind == 3:
            rule["rewrite"] = {"authority": "rewritten.internal"}
    return rule


@st.composite
def configs(draw: st.DrawFn) -> str:
    docs = _base()
    subsets: dict[str, list[str]] = {}
    for svc in SERVICES:
        defined = draw(st.lists(st.sampled_from(VERSIONS), unique=True, max_size=3))
        subsets[svc] = sorted(defined)
        if defined:
            docs.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "DestinationRule",
                    "metadata": {"name": svc, "namespace": "default"},
                    "spec": {
                        "host": svc,
                        "subsets": [{"name": v, "labels": {"version": v}} for v in sorted(defined)],
                    },
                }
            )
    for i in range(draw(st.integers(1, 3))):
        hosts = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2, unique=True))
        rules = [draw(_rule(subsets, j)) for j in range(draw(st.integers(1, 4)))]
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": {
                    "name": f"vs{i}",
                    "namespace": "default",
                    "creationTimestamp": f"2024-01-0{i + 1}T00:00:00Z",
                },
                "spec": {"hosts": hosts, "http": rules},
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


@dataclass
class Req:
    host: str
    path: str
    method: str
    headers: list[tuple[str, str]] = field(default_factory=list)


_hosts = st.sampled_from(
    ("alpha", "beta", "alpha.default", "beta.default.svc.cluster.local", "ALPHA", "beta:9080", "alpha.default.svc")
)
_query = st.sampled_from(("", "?q=1", "?q=12", "?q", "?q=A&q=1", "?r=1"))
requests = st.builds(
    Req,
    _hosts,
    st.builds(lambda p, q: p + q, st.sampled_from((*PATHS, "/a/bc", "/ab")), _query),
    st.sampled_from(("GET", "POST")),
    st.lists(st.tuples(st.sampled_from(HEADER_NAMES), st.sampled_from(VALUES)), max_size=2, unique_by=lambda h: h[0]),
)


# --- the property --------------------------------------------------------------------------------------


@dataclass
class Stats:
    configs: int = 0
    pairs: int = 0
    agreed: int = 0
    actions: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def _started(text: str, running: dict[str, stubs_mod.Stub]) -> Iterator[diff.Deployment]:
    loaded = diff.load_text(text)
    assert loaded.errors == 0, text
    compiled = compile_mesh(loaded.mesh)
    plan, clusters = diff._stub_plan(compiled)
    dep = diff.prepare(loaded, compiled, running, plan, clusters)
    with diff.start(dep):
        yield dep


def _agree(dep: diff.Deployment, req: Req) -> tuple[bool, str]:
    kwargs = {"host": req.host, "port": 9080, "path": req.path, "method": req.method, "headers": req.headers}
    decision = dep.predict(**kwargs)
    obs = dep.observe(**kwargs)
    backends = dep.backends_of(decision)
    trace = "\n".join(f"    {s.route}: {'MATCH' if s.matched else 'no'} ({s.reason})" for s in decision.trace)
    why = (
        f"request {req}\n  simulator: {decision.action} status={decision.status} {backends} ({decision.reason})\n"
        f"{trace}\n  envoy: status={obs.status} backend={obs.backend} path={obs.path} authority={obs.authority}"
    )
    if decision.action == "no_route":
        return obs.status == 404 and obs.backend is None, why
    if decision.action == "redirect":
        return (obs.status, obs.location) == (decision.status, decision.location), why
    if decision.action == "direct_response":
        return obs.status == decision.status and obs.backend is None, why
    allowed = {b for names in backends.values() for b in names}
    if obs.backend is None:
        unknown = any(not d.cluster.known or not backends.get(d.cluster.cluster) for d in decision.destinations)
        return obs.status == 503 and unknown, why
    ok = obs.backend in allowed
    ok = ok and obs.path == decision.forwarded_path and obs.authority == decision.forwarded_authority
    return ok, why


def _check(text: str, reqs: list[Req], running: dict[str, stubs_mod.Stub], stats: Stats) -> None:
    with _started(text, running) as dep:
        stats.configs += 1
        for req in reqs:
            ok, why = _agree(dep, req)
            stats.pairs += 1
            decision_kind = why.split("simulator: ", 1)[1].split(" ", 1)[0]
            stats.actions[decision_kind] = stats.actions.get(decision_kind, 0) + 1
            assert ok, f"Envoy and meshc route disagree\n--- configuration ---\n{text}\n--- {why}"
            stats.agreed += 1


@pytest.fixture(scope="module")
def endpoint_stubs() -> Iterator[dict[str, stubs_mod.Stub]]:
    names = [f"{s}-{v}" for s in SERVICES for v in VERSIONS]
    with stubs_mod.running(*names) as running:
        yield running


def _run(examples: int, endpoint_stubs: dict[str, stubs_mod.Stub], *, derandomize: bool) -> Stats:
    stats = Stats()

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        # No shrinking: each attempt starts an Envoy, and the failure message already shows the
        # configuration, the request and the simulator's trace.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    @given(configs(), st.lists(requests, min_size=REQUESTS_PER_CONFIG[0], max_size=REQUESTS_PER_CONFIG[1]))
    def prop(text: str, reqs: list[Req]) -> None:
        _check(text, reqs, endpoint_stubs, stats)

    prop()
    return stats


def _report(stats: Stats, label: str, capsys: pytest.CaptureFixture[str]) -> None:
    actions = ", ".join(f"{k} {v}" for k, v in sorted(stats.actions.items()))
    figures(
        "envoy agrees with the simulator",
        [
            f"[{label}] {stats.configs} configurations, {stats.pairs} (configuration, request) pairs, "
            f"{stats.agreed} agree ({100 * stats.agreed / max(stats.pairs, 1):.1f}%); simulator actions: {actions}"
        ],
    )


def test_envoy_agrees_with_simulator_quick(endpoint_stubs: dict[str, stubs_mod.Stub], capsys) -> None:
    stats = _run(QUICK_EXAMPLES, endpoint_stubs, derandomize=True)
    _report(stats, "quick", capsys)
    assert stats.pairs >= QUICK_EXAMPLES * REQUESTS_PER_CONFIG[0] and stats.agreed == stats.pairs


@pytest.mark.slow
def test_envoy_agrees_with_simulator_long(endpoint_stubs: dict[str, stubs_mod.Stub], capsys) -> None:
    stats = _run(LONG_EXAMPLES, endpoint_stubs, derandomize=False)
    _report(stats, "long", capsys)
    assert stats.pairs >= 1000 and stats.agreed == stats.pairs
