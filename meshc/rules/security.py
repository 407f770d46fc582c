"""Security rules (MC305–MC308, MC321): client TLS without server verification, AuthorizationPolicy scope."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

from meshc.diagnostics import Severity
from meshc.mesh import Mesh, Resource, Workload, namespace_pattern_matches, selector_text
from meshc.resolve import Resolver
from meshc.rules.base import Finding, rule

_VERIFYING_MODES = ("SIMPLE", "MUTUAL")


def _unverified(tls: Any, dr: Resource) -> bool:
    """Client TLS that originates SIMPLE/MUTUAL without a CA to verify the server with."""
    if tls.mode not in _VERIFYING_MODES or tls.caCertificates or tls.insecureSkipVerify:
        return False
    # A credentialName Secret may carry the CA (`ca.crt`), but istiod only reads it for a
    # DestinationRule with a workloadSelector (Istio's CaCertificateAnalyzer makes the same exception).
    return not (tls.credentialName and dr.spec.workloadSelector is not None)


def _unverified_tls(mesh: Mesh) -> list[tuple[Resource, tuple[str | int, ...], Any, Any]]:
    """(DestinationRule, policy path, policy, port-level setting or None) of every TLS without a CA."""
    out: list[tuple[Resource, tuple[str | int, ...], Any, Any]] = []
    for dr in mesh.of_kind("DestinationRule"):
        spec = dr.model.spec
        if not isinstance(spec.host, str):
            continue
        policies: list[tuple[tuple[str | int, ...], Any]] = []
        top = spec.trafficPolicy
        if top is not None and (top.tls is not None or top.portLevelSettings):
            policies.append((("spec", "trafficPolicy"), top))
        for i, subset in enumerate(spec.subsets):
            tp = subset.trafficPolicy
            if tp is not None and (tp.tls is not None or tp.portLevelSettings):
                policies.append((("spec", "subsets", i, "trafficPolicy"), tp))
        if not policies:
            continue
        found: list[tuple[Resource, tuple[str | int, ...], Any, Any]] = []
        for loc, policy in policies:
            if policy.tls is not None and _unverified(policy.tls, dr):
                found.append((dr, loc, policy, None))
            for i, port in enumerate(policy.portLevelSettings):
                if port.tls is not None and _unverified(port.tls, dr):
                    found.append((dr, (*loc, "portLevelSettings", i), policy, port))
        if found and Resolver.of(mesh).is_cluster_local(dr.spec.host, dr.namespace):
            out.extend(found)
    return out


_TLS_HELP = (
    "set `caCertificates` to the CA that signed the server's certificate (or use `credentialName` with a "
    "`workloadSelector`); `insecureSkipVerify: true` opts out explicitly"
)


@rule("MC305", "tls-without-ca-certificates", Severity.WARNING, istio="IST0128")
def tls_without_ca_certificates(mesh: Mesh) -> Iterator[Finding]:
    """A DestinationRule originates TLS (`SIMPLE` or `MUTUAL`) without `caCertificates`.

    Checked on the rule's `trafficPolicy.tls` and on each subset's; port-level settings are
    MC306. Only hosts inside the cluster are checked: `*.svc.<cluster-domain>` names,
    Kubernetes Services and `MESH_INTERNAL` ServiceEntries.

    ## Why is this bad?
    Without `caCertificates` the server's certificate is checked against the proxy's OS trust
    store (Istio 1.20 and later) or not at all (earlier versions); a cluster-internal server's
    certificate comes from a private CA that the OS trust store does not hold. TLS to external
    hosts (public CAs) is verified by the OS trust store and not reported.

    ## Example
    ```yaml
    trafficPolicy:
      tls:
        mode: SIMPLE
    ```

    Use instead:
    ```yaml
    trafficPolicy:
      tls:
        mode: SIMPLE
        caCertificates: /etc/certs/ca.pem
    ```
    """
    for dr, loc, policy, port in mesh.memo("unverified-tls", _unverified_tls):
        if port is None:
            yield Finding(
                dr,
                (*loc, "tls", "mode"),
                f"`{policy.tls.mode}` TLS to `{dr.spec.host}` has no `caCertificates` to verify the server with",
                help=_TLS_HELP,
            )


@rule("MC306", "port-tls-without-ca-certificates", Severity.WARNING, istio="IST0129")
def port_tls_without_ca_certificates(mesh: Mesh) -> Iterator[Finding]:
    """A DestinationRule port-level TLS setting (`SIMPLE` or `MUTUAL`) has no `caCertificates`.

    Only hosts inside the cluster are checked, as for MC305.

    ## Why is this bad?
    Without `caCertificates` the server's certificate is checked against the proxy's OS trust
    store (Istio 1.20 and later) or not at all (earlier versions); a cluster-internal server's
    certificate comes from a private CA that the OS trust store does not hold.

    ## Example
    ```yaml
    trafficPolicy:
      portLevelSettings:
      - port: {number: 443}
        tls:
          mode: MUTUAL
          clientCertificate: /etc/certs/client.pem
          privateKey: /etc/certs/client-key.pem
    ```

    Use instead:
    ```yaml
    trafficPolicy:
      portLevelSettings:
      - port: {number: 443}
        tls:
          mode: MUTUAL
          clientCertificate: /etc/certs/client.pem
          privateKey: /etc/certs/client-key.pem
          caCertificates: /etc/certs/ca.pem
    ```
    """
    for dr, loc, _, port in mesh.memo("unverified-tls", _unverified_tls):
        if port is not None:
            yield Finding(
                dr,
                (*loc, "tls", "mode"),
                f"`{port.tls.mode}` TLS to `{dr.spec.host}` port `{port.port.number}` has no `caCertificates` "
                "to verify the server with",
                help=_TLS_HELP,
            )


def _authorization_policies(mesh: Mesh) -> Iterator[Resource]:
    return mesh.of_kind("AuthorizationPolicy", partial=True)


@rule("MC307", "authorization-policy-selects-no-workload", Severity.WARNING, istio="IST0127", requires=("workloads",))
def authorization_policy_selects_no_workload(mesh: Mesh) -> Iterator[Finding]:
    """An AuthorizationPolicy applies to no workload of the input.

    A policy in the root namespace (`istio-system`) with a selector must match a workload in
    any namespace; elsewhere, a selector must match a workload of the policy's namespace, and a
    policy without selector needs some workload in its namespace. Policies with `targetRef(s)`
    are skipped. Only workloads in the mesh count (istioctl's `PodInMesh`): an `istio-proxy`
    container, the `sidecar.istio.io/inject` label or annotation, else the namespace's
    `istio-injection: enabled` or `istio.io/rev` label; a workload whose Namespace the input
    lacks counts as in the mesh, and so do ambient pods.

    ## Why is this bad?
    The policy enforces nothing: an ALLOW or DENY you rely on is not applied, usually because
    of a label typo or a wrong namespace.

    ## Example
    ```yaml
    kind: AuthorizationPolicy
    metadata: {name: httpbin, namespace: httpbin}
    spec:
      selector:
        matchLabels: {app: http-bin}
    ```

    Use instead:
    ```yaml
    kind: AuthorizationPolicy
    metadata: {name: httpbin, namespace: httpbin}
    spec:
      selector:
        matchLabels: {app: httpbin}
    ```
    """
    root = mesh.options.root_namespace
    for ap in _authorization_policies(mesh):
        spec = ap.spec
        if spec.targetRef is not None or spec.targetRefs:
            continue
        selector = dict(spec.selector.matchLabels or {}) if spec.selector is not None else {}
        if not selector:
            if ap.namespace == root:
                continue
            found = mesh.workloads_matching(None, ap.namespace)
            if any(w.injected or w.ambient for w in found):
                continue
            loc: tuple[str | int, ...] = ("metadata", "namespace") if ap.namespace_given else ("metadata", "name")
            yield Finding(
                ap,
                loc,
                f"policy applies to namespace `{ap.namespace}`, which has no workload"
                + (" in the mesh" if found else ""),
                help=_outside_mesh(found) or "add a `selector`, or move the policy to the namespace of its workloads",
            )
            continue
        namespace = None if ap.namespace == root else ap.namespace
        found = mesh.workloads_matching(selector, namespace)
        if any(w.injected or w.ambient for w in found):
            continue
        where = "any namespace" if namespace is None else f"namespace `{namespace}`"
        yield Finding(
            ap,
            ("spec", "selector", "matchLabels"),
            f"selector `{selector_text(selector)}` matches no workload in the mesh in {where}"
            if found
            else f"selector `{selector_text(selector)}` matches no workload in {where}",
            help=_outside_mesh(found) or "check the labels against the pod template labels of the workload",
            key=True,
        )


def _outside_mesh(workloads: Sequence[Workload]) -> str | None:
    """Why the workloads a policy selects are outside the mesh (no sidecar), or None when there are none."""
    if not workloads:
        return None
    first = workloads[0]
    what = f"{first.resource.kind} `{first.resource.full_name}`" + (
        f" and {len(workloads) - 1} more" if len(workloads) > 1 else ""
    )
    return (
        f"{what} runs without a sidecar: label namespace `{first.namespace}` `istio-injection: enabled`, "
        'or the pods `sidecar.istio.io/inject: "true"`'
    )


@rule("MC308", "unknown-source-namespace", Severity.ERROR, istio="IST0101", requires=("namespaces",))
def unknown_source_namespace(mesh: Mesh) -> Iterator[Finding]:
    """An AuthorizationPolicy source names a namespace that does not exist.

    Values of `from[].source.namespaces` and `notNamespaces` may be exact names or use `*` as a
    prefix or suffix; each must match a Namespace of the input or a namespace that some
    resource of the input lives in. Skipped when the input has no Namespace object. An error,
    as in istioctl (IST0101); `severity = {MC308 = "warning"}` in the configuration softens it.

    ## Why is this bad?
    The condition never matches: an ALLOW rule admits nobody from there, a DENY rule protects
    nothing, usually because of a typo.

    ## Example
    ```yaml
    rules:
    - from:
      - source:
          namespaces: ["fronted"]
    ```

    Use instead:
    ```yaml
    rules:
    - from:
      - source:
          namespaces: ["frontend"]
    ```
    """
    namespaces = sorted(mesh.namespaces)
    verdicts: dict[str, str | None] = {}
    """Per pattern: None when it matches a namespace, else the help (policies repeat a few patterns)."""
    for ap in _authorization_policies(mesh):
        for i, r in enumerate(ap.spec.rules or ()):
            for j, source_from in enumerate(r.from_ or ()):
                source = source_from.source
                for field in ("namespaces", "notNamespaces"):
                    for k, pattern in enumerate(getattr(source, field, None) or ()):
                        if pattern in verdicts:
                            help_text = verdicts[pattern]
                        else:
                            help_text = verdicts[pattern] = _unmatched_namespace_help(pattern, namespaces)
                        if help_text is None:
                            continue
                        yield Finding(
                            ap,
                            ("spec", "rules", i, "from", j, "source", field, k),
                            f"namespace `{pattern}` matches no namespace",
                            help=help_text,
                        )


def _unmatched_namespace_help(pattern: str, namespaces: list[str]) -> str | None:
    """None when `pattern` matches one of `namespaces`; else the help of MC308's finding."""
    if any(namespace_pattern_matches(pattern, ns) for ns in namespaces):
        return None
    close = difflib.get_close_matches(pattern, namespaces, n=1, cutoff=0.7)
    listing = ", ".join(f"`{ns}`" for ns in namespaces[:8]) + (", ..." if len(namespaces) > 8 else "")
    return f"did you mean `{close[0]}`?" if close else f"namespaces of the input: {listing}"


GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


@rule("MC321", "selector-on-gateway-api-workload", Severity.WARNING, istio="IST0166")
def selector_on_gateway_api_workload(mesh: Mesh) -> Iterator[Finding]:
    """A policy uses `selector` to pick a gateway deployed for a Gateway API Gateway.

    Checked on AuthorizationPolicy, RequestAuthentication, Telemetry and WasmPlugin without
    `targetRef`/`targetRefs`, against workloads labelled `gateway.networking.k8s.io/gateway-name`
    in the policy's namespace.

    ## Why is this bad?
    Istio ignores workload selectors for gateways it deploys for the Gateway API: such policies
    must attach with `targetRefs`, so this one has no effect.

    ## Example
    ```yaml
    kind: AuthorizationPolicy
    spec:
      selector:
        matchLabels:
          gateway.networking.k8s.io/gateway-name: bookinfo-gateway
    ```

    Use instead:
    ```yaml
    kind: AuthorizationPolicy
    spec:
      targetRefs:
      - kind: Gateway
        group: gateway.networking.k8s.io
        name: bookinfo-gateway
    ```
    """
    candidates = [w for w in mesh.workloads if GATEWAY_NAME_LABEL in w.labels]
    if not candidates:
        return
    policies: list[tuple[Resource, dict[str, str], bool]] = []
    for r in mesh.of_kind("AuthorizationPolicy", "RequestAuthentication", "Telemetry", "WasmPlugin", partial=True):
        spec = r.spec
        labels = dict(spec.selector.matchLabels or {}) if spec.selector is not None else {}
        policies.append((r, labels, spec.targetRef is not None or bool(spec.targetRefs)))
    for r, labels, targeted in policies:
        if not labels or targeted:
            continue
        hit = next((w for w in candidates if w.namespace == r.namespace and w.matches(labels)), None)
        if hit is None:
            continue
        yield Finding(
            r,
            ("spec", "selector", "matchLabels"),
            f"selector picks gateway `{hit.labels[GATEWAY_NAME_LABEL]}`, which is deployed for a Gateway API Gateway",
            help="Istio ignores selectors for such gateways; attach the policy with `targetRefs` to the Gateway",
            key=True,
        )
