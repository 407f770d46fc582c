"""Sidecar injection rules (MC323, MC324): namespaces not enabled for injection, pods without a proxy.

A port of istioctl's injection.Analyzer (pkg/config/analysis/analyzers/injection/injection.go),
IST0102 and IST0103; its IST0123 is MC322.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshc.diagnostics import Severity
from meshc.mesh import SYSTEM_NAMESPACES, Mesh, Workload
from meshc.rules.base import Finding, rule

INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"


@rule("MC323", "namespace-not-injected", Severity.INFO, istio="IST0102")
def namespace_not_injected(mesh: Mesh) -> Iterator[Finding]:
    """A Namespace has neither `istio-injection` nor `istio.io/rev`, so its pods get no sidecar.

    Namespaces in ambient mode (`istio.io/dataplane-mode: ambient`), `istio-system` and the
    Kubernetes system namespaces are not reported; label a namespace `istio-injection: disabled`
    to say it is deliberately outside the mesh. meshc reads no ConfigMap: when the sidecar
    injector is installed with `enableNamespacesByDefault`, ignore this rule.

    ## Why is this bad?
    Pods of the namespace run without a proxy: routing rules, mTLS and policies do not apply to
    them, usually because the label was forgotten.

    ## Example
    ```yaml
    kind: Namespace
    metadata:
      name: shop
    ```

    Use instead:
    ```yaml
    kind: Namespace
    metadata:
      name: shop
      labels:
        istio-injection: enabled
    ```
    """
    for ns in mesh.of_kind("Namespace", partial=True):
        labels = ns.labels
        if ns.name in SYSTEM_NAMESPACES or ns.name == mesh.options.root_namespace:
            continue
        if labels.get(DATAPLANE_MODE_LABEL) == "ambient":
            continue
        if labels.get(INJECTION_LABEL) or REVISION_LABEL in labels:
            continue
        yield Finding(
            ns,
            ("metadata", "name"),
            f"namespace `{ns.name}` is not enabled for sidecar injection",
            help=f"label it `{INJECTION_LABEL}: enabled` to inject its pods, or `{INJECTION_LABEL}: disabled` "
            "to mark it as deliberately outside the mesh",
        )


def _disabled(w: Workload) -> bool:
    """The pod opts out of injection (label `sidecar.istio.io/inject`, else the annotation, is `false`)."""
    value = w.labels.get("sidecar.istio.io/inject", w.annotations.get("sidecar.istio.io/inject", ""))
    return str(value).lower() == "false"


@rule("MC324", "pod-without-proxy", Severity.WARNING, istio="IST0103")
def pod_without_proxy(mesh: Mesh) -> Iterator[Finding]:
    """A Pod in a namespace labelled `istio-injection: enabled` has no `istio-proxy` container.

    Only Pods are checked (a cluster dump): a Deployment's pod template gets its proxy when its
    pods are created. Pods that opt out (`sidecar.istio.io/inject: "false"`) or use the host
    network are skipped.

    ## Why is this bad?
    The pod was created before injection was enabled, or injection failed: it is outside the
    mesh although its namespace is not.

    ## Example
    ```yaml
    kind: Pod
    metadata: {name: web, namespace: shop}   # shop is labelled istio-injection: enabled
    spec:
      containers:
      - {name: web, image: "web:1.0"}
    ```

    Use instead: restart the workload so that the injector adds the proxy.
    ```yaml
    kind: Pod
    metadata: {name: web, namespace: shop}
    spec:
      containers:
      - {name: web, image: "web:1.0"}
      - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.27.0"}
    ```
    """
    for w in mesh.workloads:
        if w.synthetic or w.resource.kind != "Pod" or w.template is None:
            continue
        if mesh.namespace_labels(w.namespace).get(INJECTION_LABEL) != "enabled" or _disabled(w):
            continue
        spec = w.template.spec
        if spec.hostNetwork:
            continue
        containers = [*(spec.containers or ()), *(spec.initContainers or ())]
        if any(c.name == "istio-proxy" and c.image for c in containers):
            continue
        yield Finding(
            w.resource,
            ("spec", "containers"),
            f"pod `{w.resource.full_name}` has no `istio-proxy` container although namespace `{w.namespace}` "
            "is enabled for injection",
            help="restart or redeploy the workload so that the injector adds the proxy",
            key=True,
        )
