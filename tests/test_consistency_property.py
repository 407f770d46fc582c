"""One truth on random meshes: lint, route, the IR and Envoy use the same host, port, DestinationRule and subset.

Hypothesis builds meshes with the same host defined in several namespaces (Kubernetes Services and
ServiceEntries, several ports, exportTo, creation times), DestinationRules with and without
`workloadSelector` (in the client's, the service's and the root namespace, exact and wildcard
hosts, exportTo), and VirtualServices with exact and wildcard hosts routing to those hosts with or
without port and subset. For a client (namespace, labels), every destination the compiled sidecar
routes to must be judged alike by:

- the resolver (`Resolver.resolve_host`, `Resolver.destination_rule`),
- the IR (`meshc compile --target ir`): the cluster exists, from that Service and DestinationRules,
- the Envoy bootstrap: the cluster is there exactly when the IR has it,
- `meshc lint`: MC101 / MC103 / MC102 on that destination exactly when the cluster cannot exist,
- `meshc route`: the narrowed compile answers every witness request as the full IR does.

The quick profile runs in the default suite; the long one (`@pytest.mark.slow`) runs thousands.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc import ir
from meshc.backends import envoy
from meshc.compile import Scope, compile_mesh
from meshc.config import Options
from meshc.lint import lint
from meshc.pipeline import Loaded, load
from meshc.resolve import Client, Resolver
from tests.test_route_slice import check as slice_check

NAMESPACES = ["a", "b", "istio-system"]
CLIENT_NAMESPACES = ["a", "b"]
PORTS = [80, 8080, 9090]
SUBSETS = ["v1", "v2", "v3"]
# Not `y`: PyYAML writes it plain, and Kubernetes (go-yaml v2, YAML 1.1) reads a plain `y` as true.
SELECTORS = [None, {"app": "x"}, {"app": "z"}]
TIMES = [None, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"]
# Host names a registry entry can have: Kubernetes names (a Service of that namespace, or a
# ServiceEntry anywhere) and external names (ServiceEntries only).
K8S = [("svc", "a"), ("svc", "b")]
EXTERNAL = ["api.example.com", "web.example.com"]


def _meta(name: str, ns: str, created: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if created:
        meta["creationTimestamp"] = created
    return meta


export_to = st.sampled_from([None, None, None, ["."], ["*"], ["a"], ["b"], ["a", "b"], ["~"]])
rule_export_to = st.sampled_from([None, None, ["."], ["*"], ["a"], ["b"], ["a", "b"]])
ports = st.lists(st.sampled_from(PORTS), min_size=1, max_size=2, unique=True)


@st.composite
def registry(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name, ns in K8S:
        if draw(st.integers(0, 3)) > 0:
            meta = _meta(name, ns, draw(st.sampled_from(TIMES)))
            export = draw(export_to)
            if export:
                meta["annotations"] = {"networking.istio.io/exportTo": ",".join(export)}
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta,
                    "spec": {
                        "selector": {"app": name},
                        "ports": [{"name": f"http-{p}", "port": p} for p in draw(ports)],
                    },
                }
            )
    hosts = [f"{n}.{ns}.svc.cluster.local" for n, ns in K8S] + EXTERNAL
    for k in range(draw(st.integers(0, 4))):
        spec: dict[str, Any] = {
            "hosts": [draw(st.sampled_from([*hosts, *EXTERNAL, *EXTERNAL]))],
            "ports": [{"number": p, "name": f"http-{p}", "protocol": "HTTP"} for p in draw(ports)],
            "resolution": "DNS",
        }
        export = draw(export_to)
        if export:
            spec["exportTo"] = export
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "ServiceEntry",
                "metadata": _meta(f"se{k}", draw(st.sampled_from(NAMESPACES)), draw(st.sampled_from(TIMES))),
                "spec": spec,
            }
        )
    return docs


@st.composite
def destination_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs = []
    for k in range(draw(st.integers(0, 5))):
        ns = draw(st.sampled_from(NAMESPACES))
        names = ["svc", "svc", "svc.a.svc.cluster.local", "svc.b.svc.cluster.local", "*.svc.cluster.local"]
        host = draw(st.sampled_from([*names, "*.example.com", *EXTERNAL]))
        spec: dict[str, Any] = {
            "host": host,
            "subsets": [
                {"name": s, "labels": {"version": s}} for s in draw(st.lists(st.sampled_from(SUBSETS), unique=True))
            ],
        }
        selector = draw(st.sampled_from(SELECTORS))
        if selector is not None:
            spec["workloadSelector"] = {"matchLabels": dict(selector)}
        else:
            export = draw(rule_export_to)
            if export:
                spec["exportTo"] = export
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": _meta(f"dr{k}", ns, draw(st.sampled_from(TIMES))),
                "spec": spec,
            }
        )
    return docs


@st.composite
def virtual_services(draw: st.DrawFn, namespace: str) -> list[dict[str, Any]]:
    docs = []
    targets = ["svc", "svc", "svc.a.svc.cluster.local", "svc.b.svc.cluster.local", *EXTERNAL, "nothing.example.com"]
    for k in range(draw(st.integers(1, 2))):
        hosts = [draw(st.sampled_from(["svc", *EXTERNAL, "*.example.com", "other.example.com"]))]
        rules = []
        for _ in range(draw(st.integers(1, 2))):
            dest: dict[str, Any] = {"host": draw(st.sampled_from(targets))}
            port = draw(st.sampled_from([None, None, *PORTS]))
            if port is not None:
                dest["port"] = {"number": port}
            subset = draw(st.sampled_from([None, None, *SUBSETS]))
            if subset is not None:
                dest["subset"] = subset
            rules.append({"route": [{"destination": dest}]})
        # Only the last rule has no match: the others match a header, so every rule produces a route.
        for i, rule in enumerate(rules[:-1]):
            rule["match"] = [{"headers": {"x-rule": {"exact": str(i)}}}]
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": _meta(f"vs{k}", namespace, None),
                "spec": {"hosts": hosts, "http": rules},
            }
        )
    return docs


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    namespace = draw(st.sampled_from(CLIENT_NAMESPACES))
    labels = draw(st.sampled_from(SELECTORS)) or {}
    docs = [*draw(registry()), *draw(destination_rules()), *draw(virtual_services(namespace))]
    return yaml.safe_dump_all(docs, sort_keys=False), namespace, dict(labels)


# --- the judges --------------------------------------------------------------------------------------


def _lint_index(text: str, options: Options) -> tuple[dict[tuple[str, str], list[tuple[str, str]]], bool]:
    """(resource name, field) → [(code, message)] of the reference findings; and whether MC102 ran."""
    report = lint(["-"], options, stdin=text.encode("utf-8"))
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for d in report.diagnostics:
        if d.code in ("MC101", "MC102", "MC103") and d.resource is not None and d.field is not None:
            out[(d.resource.name or "", d.field)].append((d.code, d.message))
    ran = all(rule.code != "MC102" for rule, _ in report.skipped_rules)
    return out, ran


def _subset_flagged(findings: list[tuple[str, str]], labels: dict[str, str]) -> bool:
    """Whether lint says the subset is missing for a client with these labels."""
    for code, message in findings:
        if code != "MC102":
            continue
        m = re.search(r" for (clients without labels|workloads with labels) (.*?)(: no DestinationRule .*)?$", message)
        if m is None:
            return True  # missing for every client
        if m.group(1) == "clients without labels":
            if not any(f"`app={v}`" in m.group(2) for v in labels.values()):
                return True
        elif labels and m.group(2) == f"`app={labels['app']}`":
            return True
    return False


def judge(text: str, namespace: str, labels: dict[str, str]) -> int:
    """Assert one truth for every destination the client's sidecar routes to; return how many were judged."""
    options = Options(complete_registry=True)
    loaded: Loaded = load(["-"], options, stdin=text.encode("utf-8"))
    assert loaded.errors == 0, loaded.first_error
    mesh = loaded.mesh
    resolver = Resolver.of(mesh)
    client = Client(namespace, labels)
    full = compile_mesh(mesh, Scope(namespace, labels))
    sidecar = full.context("mesh")
    assert sidecar is not None
    clusters = {c.name: c for c in sidecar.clusters}
    boot, _ = envoy.bootstrap(ir.IR([sidecar], full.cluster_domain, []))
    envoy_clusters = {c["name"] for c in boot["static_resources"]["clusters"]}
    findings, mc102_ran = _lint_index(text, options)
    judged = 0
    for listener in sidecar.listeners:
        for chain in listener.filter_chains:
            for vh in chain.route_config.virtual_hosts if chain.route_config else ():
                for route in vh.routes:
                    if route.forward is None or route.origin is None:
                        continue
                    ref = route.origin.virtual_service
                    vs = mesh.get("VirtualService", ref.namespace, ref.name)
                    assert vs is not None
                    for j, wc in enumerate(route.forward.clusters):
                        dest = vs.spec.http[ref.rule].route[j].destination
                        where = f"spec.http[{ref.rule}].route[{j}].destination"
                        judged += 1
                        _judge_one(
                            resolver, client, wc, dest, clusters, envoy_clusters, findings, (ref.name, where), mc102_ran
                        )
    # `meshc route`: every witness request of every vhost answered as the full IR does.
    count, bad = slice_check(loaded, full, namespace, labels)
    assert not bad, f"{len(bad)} of {count} requests differ:\n" + "\n".join(bad[:5])
    return judged


def _judge_one(
    resolver: Resolver,
    client: Client,
    wc: ir.WeightedCluster,
    dest: Any,
    clusters: dict[str, ir.Cluster],
    envoy_clusters: set[str],
    findings: dict[tuple[str, str], list[tuple[str, str]]],
    at: tuple[str, str],
    mc102_ran: bool,
) -> None:
    vs_name, where = at
    on_host = findings.get((vs_name, f"{where}.host"), [])
    on_port = findings.get((vs_name, f"{where}.port.number"), [])
    on_subset = findings.get((vs_name, f"{where}.subset"), [])
    found = resolver.resolve_host(wc.host, client)
    service = found.service
    rule = resolver.destination_rule(wc.host, client)
    subsets = set(rule.subsets) if rule is not None else set()
    exists = service is not None and service.port(wc.port) is not None and (not wc.subset or wc.subset in subsets)
    # the IR and Envoy
    assert wc.known == exists, (wc.cluster, service, subsets)
    assert (wc.cluster in clusters) == exists
    assert (wc.cluster in envoy_clusters) == exists
    if exists:
        assert service is not None
        cluster = clusters[wc.cluster]
        owner = service.entry_for(wc.port).resource
        assert cluster.service is not None
        assert (cluster.service.kind, cluster.service.namespace, cluster.service.name) == (
            owner.kind,
            owner.namespace,
            owner.name,
        )
        want = [(r.namespace, r.name) for r in (rule.rules if rule is not None else [])]
        assert [(o.namespace, o.name) for o in cluster.destination_rules] == want
    # lint: the reference rules on this destination
    assert any(c == "MC101" for c, _ in on_host) == (service is None), (on_host, service)
    if service is not None and dest.port is not None:
        assert any(c == "MC103" for c, _ in on_port) == (service.port(dest.port.number) is None), on_port
    if service is not None and wc.subset and mc102_ran:
        assert _subset_flagged(on_subset, dict(client.labels)) == (wc.subset not in subsets), (on_subset, subsets)


QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(scenarios())
def test_one_truth_quick(scenario: tuple[str, str, dict[str, str]]) -> None:
    judge(*scenario)


@pytest.mark.slow
@LONG
@given(scenarios())
def test_one_truth_long(scenario: tuple[str, str, dict[str, str]]) -> None:
    judge(*scenario)


def test_the_judge_judges() -> None:
    """A hand-made mesh whose destinations are each unknown for a different reason, and one that works."""
    text = """
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: a}
spec: {selector: {app: svc}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: a}
spec: {host: svc, subsets: [{name: v1, labels: {version: v1}}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: a}
spec:
  hosts: [svc]
  http:
  - match: [{headers: {x-rule: {exact: "0"}}}]
    route: [{destination: {host: nothing.example.com}}]
  - match: [{headers: {x-rule: {exact: "1"}}}]
    route: [{destination: {host: svc, port: {number: 9090}}}]
  - match: [{headers: {x-rule: {exact: "2"}}}]
    route: [{destination: {host: svc, subset: v2}}]
  - route: [{destination: {host: svc, subset: v1}}]
"""
    assert judge(text, "a", {}) == 4
