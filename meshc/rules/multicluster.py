"""Multicluster rule (MC334): a Service defined differently in the clusters of one mesh.

A port of istioctl's services.MultiClusterServiceAnalyzer (pkg/config/analysis/analyzers/multicluster/service.go,
IST0170). A Service belongs to a cluster through the `clusters` option (`[tool.meshc] clusters =
{east = ["clusters/east/**"]}`, globs of the files that hold each cluster), or through its label
`topology.istio.io/cluster` (Istio's cluster label); without either the rule has nothing to compare.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from meshc.diagnostics import Severity
from meshc.mesh import Mesh, Resource, cluster_of
from meshc.rules.base import Finding, rule


def _ports(svc: Resource) -> list[tuple[Any, ...]]:
    """The Service's ports by name, with the API server's defaults (protocol TCP, targetPort = port)."""
    out = []
    for p in svc.spec.ports or ():
        target = p.targetPort if p.targetPort not in (None, 0, "") else p.port
        out.append((p.name or "", p.port, str(target), (p.protocol or "TCP").upper(), p.appProtocol, p.nodePort))
    return sorted(out, key=lambda port: port[0])


def _headless(svc: Resource) -> bool:
    return svc.spec.clusterIP == "None"


def _inconsistencies(services: list[tuple[str, Resource]]) -> tuple[list[str], list[str]]:
    """(clusters, reasons) of a Service that differs between clusters (service.go `findInconsistencies`)."""
    first_cluster, first = services[0]
    clusters: set[str] = set()
    reasons: set[str] = set()
    for cluster, svc in services[1:]:
        if _headless(svc) != _headless(first):
            clusters.update(c for c, _ in services)
            reasons.add("service has mixed mode like headless and clusterIP")
        if (svc.spec.type or "ClusterIP") != (first.spec.type or "ClusterIP"):
            clusters.add(cluster)
            reasons.add("service type is inconsistent")
        if _ports(svc) != _ports(first):
            clusters.add(cluster)
            reasons.add("service ports are inconsistent")
    if clusters:
        clusters.add(first_cluster)
    return sorted(clusters), sorted(reasons)


@rule("MC334", "inconsistent-multicluster-service", Severity.WARNING, istio="IST0170")
def inconsistent_multicluster_service(mesh: Mesh) -> Iterator[Finding]:
    """A Service with the same namespace and name differs between the clusters of the mesh.

    Compared: headless or not, `type`, and the ports (by name: number, target port, protocol,
    `appProtocol`, node port). Clusters come from the `clusters` option, which maps each
    cluster to globs of the files that hold its resources, or from the Service's
    `topology.istio.io/cluster` label.

    ## Why is this bad?
    In a multicluster mesh the Service is one host: istiod merges the endpoints of every
    cluster, so ports or modes that differ make traffic behave differently depending on which
    cluster's endpoint answers.

    ## Example
    ```yaml
    # clusters/east/reviews.yaml
    kind: Service
    metadata: {name: reviews, namespace: bookinfo}
    spec: {ports: [{name: http, port: 9080}]}
    ---
    # clusters/west/reviews.yaml
    kind: Service
    metadata: {name: reviews, namespace: bookinfo}
    spec: {ports: [{name: http, port: 8080}]}
    ```

    Use instead: the same Service definition in every cluster.
    ```yaml
    # clusters/west/reviews.yaml
    kind: Service
    metadata: {name: reviews, namespace: bookinfo}
    spec: {ports: [{name: http, port: 9080}]}
    ```
    """
    by_name: dict[tuple[str, str], dict[str, Resource]] = defaultdict(dict)
    for svc in mesh.of_kind("Service", partial=False):
        cluster = cluster_of(svc, mesh.options)
        if cluster:
            by_name[(svc.namespace, svc.name)].setdefault(cluster, svc)
    for (namespace, name), per_cluster in by_name.items():
        if len(per_cluster) < 2:
            continue
        services = list(per_cluster.items())
        clusters, reasons = _inconsistencies(services)
        if not clusters:
            continue
        first = services[0][1]
        yield Finding(
            first,
            ("metadata", "name"),
            f"Service `{namespace}/{name}` differs between clusters {', '.join(f'`{c}`' for c in clusters)}: "
            + "; ".join(reasons),
            help="define the Service identically in every cluster of the mesh",
            related=tuple((svc, ("spec",), f"the definition in cluster `{c}`") for c, svc in services[1:]),
        )
