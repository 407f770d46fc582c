"""Registry and workload rules (MC309–MC319, MC322): ServiceEntries, Sidecars, Services and Deployments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from meshc.diagnostics import Severity
from meshc.mesh import (
    SYSTEM_NAMESPACES,
    Mesh,
    Resource,
    Workload,
    export_set,
    scopes_overlap,
    selector_text,
    service_port_protocol,
)
from meshc.rules.base import Finding, rule

# --- ServiceEntry ----------------------------------------------------------------------------


@rule("MC309", "service-entry-without-addresses", Severity.WARNING, istio="IST0134")
def service_entry_without_addresses(mesh: Mesh) -> Iterator[Finding]:
    """A ServiceEntry has a TCP port (or one without protocol) but no `addresses`.

    Reported once per such port. A ServiceEntry whose `status.addresses` were allocated by
    istiod is not reported.

    ## Why is this bad?
    For plain TCP the proxy cannot see a host name, only the destination address and port:
    without `addresses` istiod builds a listener on `0.0.0.0:<port>`, which captures every
    TCP connection to that port in the mesh (or conflicts with other services on it), unless DNS
    auto-allocation is enabled in the mesh config.

    ## Example
    ```yaml
    spec:
      hosts: [db.example.com]
      ports:
      - {number: 5432, name: tcp-postgres, protocol: TCP}
      resolution: DNS
    ```

    Use instead:
    ```yaml
    spec:
      hosts: [db.example.com]
      addresses: [192.0.2.10]
      ports:
      - {number: 5432, name: tcp-postgres, protocol: TCP}
      resolution: DNS
    ```
    """
    for se in mesh.of_kind("ServiceEntry", partial=True):
        spec = se.spec
        if spec.addresses:
            continue
        status = getattr(se.model, "status", None)
        if isinstance(status, dict) and status.get("addresses"):
            continue
        for i, port in enumerate(spec.ports or ()):
            protocol = (port.protocol or "").upper()
            if protocol not in ("", "TCP"):
                continue
            field = "protocol" if port.protocol else "number"
            yield Finding(
                se,
                ("spec", "ports", i, field),
                f"TCP port `{port.number}` needs `addresses`: without them it captures all traffic to port "
                f"`{port.number}`",
                help="add the service's IP addresses or CIDRs in `addresses`, or declare the protocol (`TLS`, `HTTP`)",
            )


@rule("MC310", "conflicting-service-entry-protocols", Severity.WARNING, istio="IST0177")
def conflicting_service_entry_protocols(mesh: Mesh) -> Iterator[Finding]:
    """ServiceEntries visible in the same namespace declare one host and port with different protocols.

    ## Why is this bad?
    istiod builds one listener and one cluster per host and port: only one of the protocols is
    used (which one depends on creation time), so the other ServiceEntry's traffic breaks.

    ## Example
    ```yaml
    kind: ServiceEntry
    metadata: {name: api-https}
    spec: {hosts: [api.example.com], ports: [{number: 8443, name: https, protocol: HTTPS}]}
    ---
    kind: ServiceEntry
    metadata: {name: api-http}
    spec: {hosts: [api.example.com], ports: [{number: 8443, name: http, protocol: HTTP}]}
    ```

    Use instead: one protocol per host and port.
    ```yaml
    kind: ServiceEntry
    metadata: {name: api}
    spec: {hosts: [api.example.com], ports: [{number: 8443, name: https, protocol: HTTPS}]}
    ```
    """
    slots: dict[tuple[str, int], list[tuple[Resource, int, int, str, frozenset[str]]]] = defaultdict(list)
    for se in mesh.of_kind("ServiceEntry", partial=True):
        spec = se.spec
        scope = export_set(spec.exportTo, se.namespace)
        for h, host in enumerate(spec.hosts or ()):
            for i, port in enumerate(spec.ports or ()):
                protocol = (port.protocol or "").upper()
                slots[(host.lower(), port.number)].append((se, h, i, protocol, scope))
    reported: set[int] = set()
    for (host, number), entries in slots.items():
        if len({e[3] for e in entries}) < 2:
            continue
        for se, _, i, protocol, scope in entries:
            if id(se) in reported:
                continue
            others = [e for e in entries if e[3] != protocol and e[0] is not se and scopes_overlap(scope, e[4])]
            if not others:
                continue
            reported.add(id(se))
            other = others[0]
            yield Finding(
                se,
                ("spec", "ports", i, "protocol") if se.spec.ports[i].protocol else ("spec", "ports", i, "number"),
                f"host `{host}` port `{number}` is `{protocol or 'unset'}` here but `{other[3] or 'unset'}` in "
                f"ServiceEntry `{other[0].full_name}`",
                help="declare each host and port with one protocol",
                related=((other[0], ("spec", "ports", other[2]), "the other declaration"),),
            )


# --- Sidecar ---------------------------------------------------------------------------------


def _sidecar_selector(sc: Resource) -> dict[str, str]:
    ws = getattr(sc.spec, "workloadSelector", None)
    return dict(ws.labels or {}) if ws is not None else {}


def _ambient_namespace(mesh: Mesh, namespace: str) -> bool:
    labels = mesh.namespace_labels(namespace)
    if labels.get("istio.io/dataplane-mode") != "ambient":
        return False
    return labels.get("istio-injection") != "enabled" and not labels.get("istio.io/rev")


def _describe(w: Workload) -> str:
    return f"{w.resource.kind} `{w.resource.full_name}`"


@rule("MC311", "sidecar-selects-no-workload", Severity.ERROR, istio="IST0101", requires=("workloads",))
def sidecar_selects_no_workload(mesh: Mesh) -> Iterator[Finding]:
    """A Sidecar's `workloadSelector` matches no workload in its namespace.

    ## Why is this bad?
    The Sidecar configures nothing (a Sidecar only selects workloads of its own namespace):
    the egress and ingress limits you wrote are not applied.

    ## Example
    ```yaml
    kind: Sidecar
    metadata: {name: ratings, namespace: bookinfo}
    spec:
      workloadSelector:
        labels: {app: rating}
    ```

    Use instead:
    ```yaml
    kind: Sidecar
    metadata: {name: ratings, namespace: bookinfo}
    spec:
      workloadSelector:
        labels: {app: ratings}
    ```
    """
    for sc in mesh.of_kind("Sidecar", partial=True):
        selector = _sidecar_selector(sc)
        if not selector or mesh.workloads_matching(selector, sc.namespace):
            continue
        elsewhere = [w for w in mesh.workloads_matching(selector) if not w.synthetic]
        yield Finding(
            sc,
            ("spec", "workloadSelector", "labels"),
            f"selector `{selector_text(selector)}` matches no workload in namespace `{sc.namespace}`",
            help=f"{_describe(elsewhere[0])} matches, but a Sidecar only applies in its own namespace"
            if elsewhere
            else "check the labels against the pod template labels of the workloads",
        )


@rule("MC312", "conflicting-sidecar-selectors", Severity.ERROR, istio="IST0110", requires=("workloads",))
def conflicting_sidecar_selectors(mesh: Mesh) -> Iterator[Finding]:
    """A workload is selected by several Sidecars.

    Reported once on each Sidecar for each set of Sidecars it overlaps with (a Deployment and
    its Pods do not make two findings).

    ## Why is this bad?
    A proxy takes its configuration from one Sidecar only; which one istiod picks is not
    defined, so the other's settings are silently ignored.

    ## Example
    ```yaml
    kind: Sidecar
    metadata: {name: reviews}
    spec: {workloadSelector: {labels: {app: reviews}}, egress: [{hosts: ["./*"]}]}
    ---
    kind: Sidecar
    metadata: {name: reviews-v2}
    spec: {workloadSelector: {labels: {version: v2}}, egress: [{hosts: ["istio-system/*"]}]}
    ```

    Use instead: selectors that do not overlap (one Sidecar per workload).
    ```yaml
    kind: Sidecar
    metadata: {name: reviews}
    spec: {workloadSelector: {labels: {app: reviews}}, egress: [{hosts: ["./*", "istio-system/*"]}]}
    ```
    """
    by_workload: dict[int, tuple[Workload, list[Resource]]] = {}
    for sc in mesh.of_kind("Sidecar", partial=True):
        selector = _sidecar_selector(sc)
        if not selector:
            continue
        for w in mesh.workloads_matching(selector, sc.namespace):
            by_workload.setdefault(id(w), (w, []))[1].append(sc)
    for w, sc, others in overlapping_selections(by_workload):
        yield Finding(
            sc,
            ("spec", "workloadSelector", "labels"),
            f"{_describe(w)} is also selected by Sidecar " + ", ".join(f"`{o.full_name}`" for o in others),
            help="a workload takes its configuration from one Sidecar only; make the selectors disjoint",
            related=tuple((o, ("spec", "workloadSelector", "labels"), "the other selector") for o in others),
        )


def overlapping_selections(
    by_workload: dict[int, tuple[Workload, list[Resource]]],
) -> Iterator[tuple[Workload, Resource, list[Resource]]]:
    """(workload, resource, the other resources) for each resource that shares a workload with others.

    Once per resource and set of others: a Deployment and its Pods (several workloads, same
    selectors) are one conflict, not one per workload.
    """
    done: set[tuple[int, frozenset[int]]] = set()
    for w, selecting in by_workload.values():
        if len(selecting) < 2:
            continue
        for r in selecting:
            others = [o for o in selecting if o is not r]
            conflict = (id(r), frozenset(id(o) for o in others))
            if conflict not in done:
                done.add(conflict)
                yield w, r, others


@rule("MC313", "multiple-default-sidecars", Severity.ERROR, istio="IST0111")
def multiple_default_sidecars(mesh: Mesh) -> Iterator[Finding]:
    """A namespace has several Sidecars without `workloadSelector`.

    ## Why is this bad?
    A Sidecar without selector is the namespace default; with two of them istiod picks one
    arbitrarily and ignores the other.

    ## Example
    ```yaml
    kind: Sidecar
    metadata: {name: default, namespace: shop}
    spec: {egress: [{hosts: ["./*"]}]}
    ---
    kind: Sidecar
    metadata: {name: egress, namespace: shop}
    spec: {egress: [{hosts: ["istio-system/*"]}]}
    ```

    Use instead:
    ```yaml
    kind: Sidecar
    metadata: {name: default, namespace: shop}
    spec: {egress: [{hosts: ["./*", "istio-system/*"]}]}
    ```
    """
    by_ns: dict[str, list[Resource]] = defaultdict(list)
    for sc in mesh.of_kind("Sidecar", partial=True):
        if not _sidecar_selector(sc) and not _ambient_namespace(mesh, sc.namespace):
            by_ns[sc.namespace].append(sc)
    for ns, sidecars in by_ns.items():
        if len(sidecars) < 2:
            continue
        for sc in sidecars:
            others = [o for o in sidecars if o is not sc]
            yield Finding(
                sc,
                ("spec",),
                f"namespace `{ns}` has another Sidecar without `workloadSelector`: "
                + ", ".join(f"`{o.name}`" for o in others),
                help="keep one default Sidecar per namespace; give the others a `workloadSelector`",
                key=True,
                related=tuple((o, ("spec",), "another Sidecar without `workloadSelector`") for o in others),
            )


@rule("MC314", "sidecar-in-ambient-mode", Severity.WARNING, istio="IST0167")
def sidecar_in_ambient_mode(mesh: Mesh) -> Iterator[Finding]:
    """A Sidecar applies to an ambient namespace or to ambient workloads.

    A namespace is ambient when labelled `istio.io/dataplane-mode: ambient` (and not also
    `istio-injection: enabled` or `istio.io/rev`); a workload when annotated
    `ambient.istio.io/redirection: enabled`.

    ## Why is this bad?
    Ambient workloads have no sidecar proxy: the Sidecar resource has no effect on them.

    ## Example
    ```yaml
    kind: Sidecar
    metadata: {name: default, namespace: ambient-apps}   # namespace labelled dataplane-mode: ambient
    spec: {egress: [{hosts: ["./*"]}]}
    ```

    Use instead: scope egress with waypoints or AuthorizationPolicies, or remove the Sidecar.
    ```yaml
    kind: Sidecar
    metadata: {name: default, namespace: sidecar-apps}
    spec: {egress: [{hosts: ["./*"]}]}
    ```
    """
    for sc in mesh.of_kind("Sidecar", partial=True):
        selector = _sidecar_selector(sc)
        if _ambient_namespace(mesh, sc.namespace):
            yield Finding(
                sc,
                ("metadata", "namespace") if sc.namespace_given else ("metadata", "name"),
                f"namespace `{sc.namespace}` uses the ambient data plane, where Sidecars have no effect",
                help="remove the Sidecar, or take the namespace out of ambient mode",
            )
            continue
        if not selector:
            continue
        ambient = [w for w in mesh.workloads_matching(selector, sc.namespace) if w.ambient]
        if ambient:
            yield Finding(
                sc,
                ("spec", "workloadSelector", "labels"),
                f"{_describe(ambient[0])} runs in ambient mode, where Sidecars have no effect",
                help="remove the Sidecar, or take the workload out of ambient mode",
            )


# --- Services and Deployments ----------------------------------------------------------------


def _control_plane(svc: Resource) -> bool:
    labels = svc.labels
    return (
        svc.namespace in SYSTEM_NAMESPACES
        or "istio" in labels
        or labels.get("release") == "istio"
        or "gateway.istio.io/managed" in labels
    )


def _services(mesh: Mesh) -> Iterator[Resource]:
    return mesh.of_kind("Service", partial=True)


def _unknown_service_ports(mesh: Mesh) -> list[tuple[Resource, int, Any]]:
    """(Service, index, port) of every port whose protocol Istio cannot tell, control plane excluded."""
    out = []
    for svc in _services(mesh):
        for i, port in enumerate(svc.spec.ports):
            if service_port_protocol(port.port, port.name, port.protocol, port.appProtocol) is None:
                out.append((svc, i, port))
    return [entry for entry in out if not _control_plane(entry[0])]


@rule("MC315", "port-name-without-protocol", Severity.INFO, istio="IST0118")
def port_name_without_protocol(mesh: Mesh) -> Iterator[Finding]:
    """A Service port's name (or `appProtocol`) does not tell Istio its protocol.

    Istio reads the protocol from `appProtocol`, else from the name's prefix before `-`
    (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`, `mongo`, `mysql`, `redis`, ...).
    UDP ports, ports 25, 53, 3306 and 27017, ExternalName Services (MC316) and control-plane
    Services are not reported.

    ## Why is this bad?
    Istio falls back to protocol sniffing, which adds latency to server-first protocols and
    disables HTTP routing features (retries, header matches) when detection fails.

    ## Example
    ```yaml
    ports:
    - name: web
      port: 8080
    ```

    Use instead:
    ```yaml
    ports:
    - name: http-web
      port: 8080
    ```
    """
    for svc, i, port in mesh.memo("unknown-service-ports", _unknown_service_ports):
        if svc.spec.type == "ExternalName":
            continue
        if port.appProtocol is not None:
            loc: tuple[str | int, ...] = ("spec", "ports", i, "appProtocol")
            message = f"`appProtocol: {port.appProtocol}` of port `{port.port}` is not a protocol Istio knows"
        elif port.name:
            loc = ("spec", "ports", i, "name")
            message = f"port name `{port.name}` does not start with a protocol Istio knows"
        else:
            loc = ("spec", "ports", i, "port")
            message = f"port `{port.port}` has no name, so Istio cannot tell its protocol"
        yield Finding(
            svc,
            loc,
            message,
            help="name it `<protocol>[-<suffix>]` (e.g. `http-web`, `grpc`, `tcp-db`) or set `appProtocol`",
        )


@rule("MC316", "external-name-port-without-protocol", Severity.WARNING, istio="IST0150")
def external_name_port_without_protocol(mesh: Mesh) -> Iterator[Finding]:
    """A port of an `ExternalName` Service has no protocol Istio knows, or is named `tcp`.

    ## Why is this bad?
    Istio forwards TCP to an ExternalName Service by port alone: with no protocol (or plain
    `tcp`) every connection to that port in the mesh is sent to the external name.

    ## Example
    ```yaml
    spec:
      type: ExternalName
      externalName: api.example.com
      ports:
      - name: tcp
        port: 443
    ```

    Use instead:
    ```yaml
    spec:
      type: ExternalName
      externalName: api.example.com
      ports:
      - name: https
        port: 443
    ```
    """
    for svc in _services(mesh):
        if svc.spec.type != "ExternalName" or _control_plane(svc):
            continue
        for i, port in enumerate(svc.spec.ports or ()):
            known = service_port_protocol(port.port, port.name, port.protocol, port.appProtocol) is not None
            if known and port.name != "tcp":
                continue
            loc: tuple[str | int, ...] = ("spec", "ports", i, "name") if port.name else ("spec", "ports", i, "port")
            what = f"port name `{port.name}`" if port.name else f"unnamed port `{port.port}`"
            yield Finding(
                svc,
                loc,
                f"{what} of ExternalName Service gives Istio no application protocol",
                help="name it after the protocol spoken to the external name, e.g. `https`, `http`, `tls`",
            )


def _mesh_workloads(mesh: Mesh) -> Iterator[tuple[Workload, list[Resource]]]:
    """Non-synthetic pod workloads in the mesh, with the Services selecting them."""
    for w in mesh.workloads:
        if w.synthetic or w.template is None or not w.injected or w.namespace in SYSTEM_NAMESPACES:
            continue
        services = mesh.services_selecting(w)
        if len(services) >= 2:
            yield w, services


def _transport(port: Any) -> str:
    k8s = (port.protocol or "TCP").upper()
    if k8s != "TCP":
        return k8s
    return service_port_protocol(port.port, port.name, port.protocol, port.appProtocol) or "TCP"


@rule("MC317", "workload-port-protocol-conflict", Severity.WARNING, istio="IST0116")
def workload_port_protocol_conflict(mesh: Mesh) -> Iterator[Finding]:
    """Services selecting the same workload declare one port number with different protocols.

    The protocol of a port is its Kubernetes `protocol` (TCP by default) refined by Istio's
    reading of the port name or `appProtocol`.

    ## Why is this bad?
    The workload's sidecar builds one inbound listener per port: only one protocol wins, so
    traffic through the other Service is handled with the wrong protocol.

    ## Example
    ```yaml
    kind: Service
    metadata: {name: details-tcp}
    spec: {selector: {app: details}, ports: [{name: tcp, port: 9080}]}
    ---
    kind: Service
    metadata: {name: details-http}
    spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
    ```

    Use instead: the same protocol for the port in every Service.
    ```yaml
    kind: Service
    metadata: {name: details}
    spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
    ```
    """
    for w, services in _mesh_workloads(mesh):
        protocols: dict[int, dict[str, list[tuple[Resource, int]]]] = defaultdict(lambda: defaultdict(list))
        for svc in services:
            for i, port in enumerate(svc.spec.ports or ()):
                protocols[port.port][_transport(port)].append((svc, i))
        for number, by_protocol in sorted(protocols.items()):
            if len(by_protocol) < 2:
                continue
            parts = "; ".join(
                f"{p}: {', '.join(f'`{svc.name}`' for svc, _ in entries)}" for p, entries in sorted(by_protocol.items())
            )
            yield Finding(
                w.resource,
                (*w.template_loc, "metadata", "labels"),
                f"port `{number}` of this workload is exposed with different protocols by several Services",
                help=f"use one protocol for port `{number}` in every Service ({parts})",
                key=True,
                related=tuple(
                    (svc, ("spec", "ports", i), f"`{svc.name}` declares port {number} as {p}")
                    for p, entries in sorted(by_protocol.items())
                    for svc, i in entries
                ),
            )


@rule("MC318", "workload-target-port-conflict", Severity.WARNING, istio="IST0137")
def workload_target_port_conflict(mesh: Mesh) -> Iterator[Finding]:
    """Services selecting the same workload map different ports to the same `targetPort`.

    ## Why is this bad?
    Istio keys the workload's inbound configuration by service port: two service ports feeding
    one container port get conflicting listeners, and one of them does not receive traffic as
    configured.

    ## Example
    ```yaml
    kind: Service
    metadata: {name: api}
    spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
    ---
    kind: Service
    metadata: {name: api-internal}
    spec: {selector: {app: api}, ports: [{name: http, port: 8000, targetPort: 8080}]}
    ```

    Use instead: the same `port` for a `targetPort` in every Service.
    ```yaml
    kind: Service
    metadata: {name: api-internal}
    spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
    ```
    """
    for w, services in _mesh_workloads(mesh):
        targets: dict[str, dict[int, tuple[Resource, int]]] = defaultdict(dict)
        for svc in services:
            for i, port in enumerate(svc.spec.ports or ()):
                target = port.targetPort if port.targetPort not in (None, 0, "") else port.port
                targets[str(target)].setdefault(port.port, (svc, i))
        for target, ports in sorted(targets.items()):
            if len(ports) < 2:
                continue
            listing = ", ".join(f"`{svc.name}` port {number}" for number, (svc, _) in sorted(ports.items()))
            yield Finding(
                w.resource,
                (*w.template_loc, "metadata", "labels"),
                f"target port `{target}` of this workload is reached through different Service ports",
                help=f"use the same Service port for target port `{target}` everywhere ({listing})",
                key=True,
                related=tuple(
                    (svc, ("spec", "ports", i), f"`{svc.name}` maps port {number} to {target}")
                    for number, (svc, i) in sorted(ports.items())
                ),
            )


@rule("MC319", "application-uid-1337", Severity.WARNING, istio="IST0144")
def application_uid_1337(mesh: Mesh) -> Iterator[Finding]:
    """A pod or one of its application containers runs as user ID 1337.

    The container's own `securityContext.runAsUser` wins over the pod's; the `istio-proxy`
    container and control-plane workloads are not checked.

    ## Why is this bad?
    1337 is the sidecar proxy's UID: the iptables rules let its traffic bypass the proxy, so the
    application's traffic escapes the mesh (no mTLS, no policy).

    ## Example
    ```yaml
    spec:
      securityContext:
        runAsUser: 1337
    ```

    Use instead:
    ```yaml
    spec:
      securityContext:
        runAsUser: 1000
    ```
    """
    for w in mesh.workloads:
        if w.synthetic or w.template is None or _control_plane(w.resource):
            continue
        spec = getattr(w.template, "spec", None)
        if spec is None:
            continue
        base = (*w.template_loc, "spec")
        pod_uid = spec.securityContext.runAsUser if spec.securityContext is not None else None
        inherits = False
        for i, container in enumerate(spec.containers or ()):
            if container.name in ("istio-proxy", "istio-operator"):
                continue
            own = container.securityContext.runAsUser if container.securityContext is not None else None
            if own is None:
                inherits = inherits or pod_uid == 1337
            elif own == 1337:
                yield Finding(
                    w.resource,
                    (*base, "containers", i, "securityContext", "runAsUser"),
                    f"container `{container.name}` runs as UID `1337`, the sidecar proxy's user",
                    help="use another UID: traffic of UID 1337 bypasses the proxy",
                )
        if inherits:
            yield Finding(
                w.resource,
                (*base, "securityContext", "runAsUser"),
                "the pod runs as UID `1337`, the sidecar proxy's user",
                help="use another UID: traffic of UID 1337 bypasses the proxy",
            )


@rule("MC322", "namespace-multiple-injection-labels", Severity.WARNING, istio="IST0123")
def namespace_multiple_injection_labels(mesh: Mesh) -> Iterator[Finding]:
    """A Namespace asks for more than one data plane: `istio-injection`, `istio.io/rev`, ambient.

    Counted: `istio-injection` (unless `disabled`), `istio.io/rev`, and
    `istio.io/dataplane-mode: ambient`.

    ## Why is this bad?
    Only one applies: `istio-injection` wins over `istio.io/rev` (the pods get the default
    revision's sidecar, not the one you named), and injected sidecars win over ambient mode.

    ## Example
    ```yaml
    kind: Namespace
    metadata:
      name: shop
      labels:
        istio-injection: enabled
        istio.io/rev: canary
    ```

    Use instead:
    ```yaml
    kind: Namespace
    metadata:
      name: shop
      labels:
        istio.io/rev: canary
    ```
    """
    for ns in mesh.of_kind("Namespace", partial=True):
        labels = ns.labels
        present = []
        if "istio-injection" in labels and labels["istio-injection"] != "disabled":
            present.append("istio-injection")
        if "istio.io/rev" in labels:
            present.append("istio.io/rev")
        if labels.get("istio.io/dataplane-mode") == "ambient":
            present.append("istio.io/dataplane-mode")
        if len(present) < 2:
            continue
        yield Finding(
            ns,
            ("metadata", "labels", present[1]),
            f"namespace `{ns.name}` sets both `{present[0]}` and `{present[1]}`",
            help=f"keep one: `{present[0]}` takes precedence and `{present[1]}` is ignored",
            key=True,
        )
