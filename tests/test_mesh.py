"""The Mesh index: registry entries, workloads, namespaces, the default ingress gateway, salvage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meshc.config import Options
from meshc.lint import lint, read
from meshc.mesh import INGRESS_NAMESPACE, INGRESS_SERVICE, Mesh, ServiceHost
from meshc.resolve import Resolver

ROOT = Path(__file__).resolve().parents[1]


def mesh_of(text: str, **options: str) -> Mesh:
    opts = Options(**options)  # type: ignore[arg-type]
    inv = read(["-"], opts, stdin=text.encode("utf-8"))
    assert not inv.diagnostics, [d.message for d in inv.diagnostics]
    return Mesh(inv.indexed(), opts, defaults=True)


def lookup(mesh: Mesh, host: str, namespace: str) -> ServiceHost | None:
    return Resolver.of(mesh).resolve_host(host, namespace).service


REGISTRY = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata:
  name: details
  namespace: default
  annotations: {networking.istio.io/exportTo: "banana, ."}
spec:
  selector: {app: details}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: eu, namespace: other}
spec:
  hosts: ["*.eu.example.com", api.example.com]
  exportTo: [default]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: NONE
"""


def test_short_names_resolve_in_the_namespace_of_the_referring_resource() -> None:
    mesh = mesh_of(REGISTRY)
    found = lookup(mesh, "reviews", "default")
    assert found is not None and found.hostname == "reviews.default.svc.cluster.local"
    assert lookup(mesh, "reviews", "frontend") is None  # reviews.frontend.svc.cluster.local
    assert lookup(mesh, "reviews.default.svc.cluster.local", "frontend") is not None


def test_service_export_annotation_with_spaces_and_dot() -> None:
    mesh = mesh_of(REGISTRY)
    fqdn = "details.default.svc.cluster.local"
    assert lookup(mesh, fqdn, "banana") is not None
    assert lookup(mesh, fqdn, "default") is not None
    assert lookup(mesh, fqdn, "istio-system") is None
    assert [h.hostname for h in mesh.any_host(fqdn, "istio-system")] == [fqdn]


def test_service_entry_wildcards_and_export_to() -> None:
    mesh = mesh_of(REGISTRY)
    assert lookup(mesh, "shop.eu.example.com", "default") is None  # istiod routes to registry names only
    covering = Resolver.of(mesh).wildcards_covering("shop.eu.example.com", "default")
    assert [e.hostname for e in covering] == ["*.eu.example.com"]
    assert lookup(mesh, "api.example.com", "default") is not None
    assert lookup(mesh, "api.example.com", "other") is None  # exported to default only
    assert not Resolver.of(mesh).wildcards_covering("eu.example.com", "default")  # *.eu.example.com does not


def test_cluster_domain_option() -> None:
    mesh = mesh_of(REGISTRY, cluster_domain="corp.local")
    assert mesh.fqdn("reviews", "default") == "reviews.default.svc.corp.local"
    assert lookup(mesh, "reviews.default.svc.corp.local", "x") is not None
    assert lookup(mesh, "reviews.default.svc.cluster.local", "x") is None
    assert mesh.short_names("reviews.default.svc.corp.local") == ("reviews", "default")


WORKLOADS = """
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: apps, labels: {kind: pod}}
spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: apps}
spec:
  selector: {matchLabels: {kind: deployment}}
  template: {metadata: {labels: {kind: deployment}}, spec: {containers: [{name: c}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, namespace: apps}
spec:
  selector: {matchLabels: {kind: statefulset}}
  template: {metadata: {labels: {kind: statefulset}}, spec: {containers: [{name: c}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, namespace: apps}
spec:
  selector: {matchLabels: {kind: daemonset}}
  template: {metadata: {labels: {kind: daemonset}}, spec: {containers: [{name: c}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: apps}
spec:
  selector: {matchLabels: {kind: replicaset}}
  template: {metadata: {labels: {kind: replicaset}}, spec: {containers: [{name: c}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: apps}
spec:
  template: {metadata: {labels: {kind: job}}, spec: {containers: [{name: c}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: apps}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template: {metadata: {labels: {kind: cronjob}}, spec: {containers: [{name: c}]}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm, namespace: apps}
spec:
  address: 10.0.0.1
  labels: {kind: workloadentry}
"""


def test_workloads_are_pods_pod_templates_and_workload_entries() -> None:
    mesh = mesh_of(WORKLOADS)
    kinds = {w.labels.get("kind") for w in mesh.workloads_matching(None, "apps")}
    assert kinds == {"pod", "deployment", "statefulset", "daemonset", "replicaset", "job", "cronjob", "workloadentry"}
    assert mesh.capability("workloads")


def test_default_ingress_gateway_is_synthetic_and_not_counted() -> None:
    mesh = mesh_of(
        """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
"""
    )
    assert [w.resource.synthetic for w in mesh.workloads_matching({"istio": "ingressgateway"})] == [True]
    service = lookup(mesh, f"{INGRESS_SERVICE}.{INGRESS_NAMESPACE}.svc.cluster.local", "default")
    assert service is not None and service.resource.synthetic
    assert [p.number for p in service.ports] == [80, 443, 31400, 15443]
    assert not mesh.capability("services") and not mesh.capability("workloads")
    assert mesh.get("Service", INGRESS_NAMESPACE, INGRESS_SERVICE) is None  # not an input resource
    assert all(not r.synthetic for r in mesh.resources)


_WITH_DEFAULTS = ("synthetic", "namespaces", "hosts", "workloads", "workloads_by_ns", "services_by_ns")
_INGRESS_HOST = f"{INGRESS_SERVICE}.{INGRESS_NAMESPACE}.svc.cluster.local"


def _indexes(mesh: Mesh) -> tuple[object, ...]:
    return (
        [(r.kind, r.name) for r in mesh.synthetic],
        sorted(mesh.namespaces),
        {h: [(e.resource.kind, e.resource.name) for e in entries] for h, entries in mesh.hosts.items()},
        [(w.resource.kind, w.resource.name) for w in mesh.workloads],
        {ns: [w.resource.name for w in ws] for ns, ws in mesh.workloads_by_ns.items()},
        {ns: [r.name for r in rs] for ns, rs in mesh.services_by_ns.items()},
    )


@pytest.mark.parametrize("first", _WITH_DEFAULTS)
def test_the_default_ingress_is_added_whichever_index_is_read_first(first: str) -> None:
    """Proves: the default ingress gateway is built on the first read of any index that holds it, the same for all.

    A lint whose rules read none of these does not build it (two validated models and the
    Kubernetes models' import); every reader still sees it, after the input's own entries.
    """
    text = REGISTRY + "---\n" + WORKLOADS
    mesh = mesh_of(text)
    assert mesh._defaults_pending
    getattr(mesh, first)
    assert not mesh._defaults_pending
    assert _indexes(mesh) == _indexes(mesh_of(text)) == _indexes(_eager(text))
    assert mesh.synthetic[0].kind == "Pod" and mesh.workloads[-1].resource.synthetic
    assert mesh.hosts[_INGRESS_HOST][0].resource.synthetic and INGRESS_NAMESPACE in mesh.namespaces


def _eager(text: str) -> Mesh:
    mesh = mesh_of(text)
    mesh._add_default_ingress()
    return mesh


def test_a_lint_that_reads_no_registry_does_not_build_the_default_ingress() -> None:
    """Proves: a lint of a lone VirtualService leaves the default ingress unbuilt; a Gateway's lint builds it.

    The pre-commit case of issue 18: one VirtualService, no delegation, no Gateway.
    """
    built: list[Mesh] = []
    real = Mesh._add_default_ingress

    def recording(self: Mesh) -> None:
        built.append(self)
        real(self)

    head = "apiVersion: networking.istio.io/v1\nmetadata: {name: a, namespace: ns}\n"
    virtual_service = head + "kind: VirtualService\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n"
    gateway = (
        head + "kind: Gateway\nspec:\n  selector: {istio: ingressgateway}\n"
        "  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Mesh, "_add_default_ingress", recording)
        report = lint(["-"], Options(), stdin=virtual_service.encode("utf-8"))
        assert report.files == 1 and built == []
        lint(["-"], Options(), stdin=gateway.encode("utf-8"))
    assert len(built) == 1  # the Gateway's selector looks for its workload: the ingress gateway is built then


def test_default_ingress_is_replaced_by_the_input_service() -> None:
    mesh = mesh_of(
        """
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {app: my-ingress}
  ports: [{name: http2, port: 8080}]
"""
    )
    assert not mesh.synthetic
    service = lookup(mesh, "istio-ingressgateway.istio-system.svc.cluster.local", "x")
    assert service is not None and [p.number for p in service.ports] == [8080]


def test_namespaces_exist_when_a_resource_lives_there() -> None:
    mesh = mesh_of(REGISTRY)
    assert mesh.namespace_exists("default") and mesh.namespace_exists("other")
    assert mesh.namespace_exists("istio-system")  # the default ingress gateway lives there
    assert not mesh.namespace_exists("banana")
    assert not mesh.capability("namespaces")  # no Namespace object


def test_a_gateway_with_schema_errors_is_still_known() -> None:
    text = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway, bookinfo-gw]
  http: [{route: [{destination: {host: productpage}}]}]
"""
    report = lint(["-"], Options(), stdin=text.encode())
    codes = sorted((d.code, d.span.line) for d in report.diagnostics)
    # the Gateway has no servers (MC006) and serves no host (MC107); only the misspelled one is unknown
    assert codes == [("MC006", 5), ("MC105", 13), ("MC107", 13)]
    unknown = next(d for d in report.diagnostics if d.code == "MC105")
    assert "bookinfo-gw" in unknown.message and unknown.help == "did you mean `bookinfo-gateway`?"


def test_rules_resolve_hosts_only_through_the_mesh() -> None:
    """No rule module builds FQDNs or parses `ns/host` itself: that is the Mesh's job."""
    for name in ("references", "gateways", "security", "services"):
        source = (ROOT / "meshc" / "rules" / f"{name}.py").read_text(encoding="utf-8")
        code = re.sub(r'"""(?s:.*?)"""', "", source)
        assert ".svc." not in code, name
        assert "cluster.local" not in code, name
        assert 'partition("/")' not in code and 'split("/")' not in code, name


@pytest.mark.parametrize("path", ["examples/bookinfo"])
def test_clean_example_has_no_finding(path: str) -> None:
    report = lint([str(ROOT / path)], Options())
    assert report.diagnostics == []


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """`meshc lint deploy/ deploy/gw.yaml` (a hook's args plus its files) must not see duplicates."""
    (tmp_path / "gw.yaml").write_text(
        """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop.example.com]
    tls: {mode: SIMPLE, credentialName: shop-cert}
""",
        encoding="utf-8",
    )
    report = lint([str(tmp_path), str(tmp_path / "gw.yaml"), str(tmp_path / "." / "gw.yaml")], Options())
    assert report.files == 1
    assert report.diagnostics == []  # no conflict of the Gateway with its own copy (MC303, MC304)
