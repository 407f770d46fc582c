"""Gateway API rules (MC150–MC161, MC250–MC252, MC350–MC353): routes that attach, backends that resolve.

What a route attaches to, what a backend names and whether a ReferenceGrant permits it is decided
once, by `meshc.gatewayapi` (istiod's reading of the resources); these rules only report it. Checks
that need the registry (Services, Gateways, Secrets) run when the input holds that registry, and
judge a namespace only when the input has objects of that kind there, as the MC1xx rules do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from meshc.diagnostics import Severity
from meshc.gatewayapi import (
    BUILTIN_CLASSES,
    GATEWAY,
    GATEWAY_NAME_LABEL,
    HOSTNAME,
    SERVICE,
    SERVICE_ENTRY,
    Attachment,
    Backend,
    analyze,
)
from meshc.hosts import host_matches, split_host
from meshc.mesh import GATEWAY_API_GROUP, Mesh, Resource
from meshc.resolve import Resolver
from meshc.rules.base import Finding, rule


def _attachments(mesh: Mesh, *reasons: str) -> Iterator[Attachment]:
    view = analyze(mesh)
    for route in view.routes:
        for att in view.attachments(route):
            if att.reason in reasons:
                yield att


def _gateway_namespace_known(mesh: Mesh, namespace: str) -> bool:
    """Whether the input holds the Gateways of `namespace`, so that a missing one means something."""
    return mesh.options.complete_registry or any(ns == namespace for ns, _ in mesh.kube_gateways)


def _listener_related(att: Attachment, text: str) -> tuple[tuple[Resource, tuple[str | int, ...], str], ...]:
    if att.parent is None:
        return ()
    return ((att.parent, ("spec", "listeners"), text),)


# --- parents -------------------------------------------------------------------------------------------


@rule("MC150", "unknown-parent-gateway", Severity.ERROR, requires=("gateways",))
def unknown_parent_gateway(mesh: Mesh) -> Iterator[Finding]:
    """A route's `parentRefs` entry names a Gateway that does not exist.

    The Gateway is looked up in the reference's `namespace`, else the route's. A namespace with no
    Gateway API Gateway in the input is not judged (its Gateways may live in another repository).

    ## Why is this bad?
    The route attaches to nothing: no proxy serves its rules, and requests get 404.

    ## Example
    ```yaml
    kind: HTTPRoute
    spec:
      parentRefs:
      - name: bookinfo-gw        # the Gateway is named bookinfo-gateway
    ```

    Use instead:
    ```yaml
    kind: HTTPRoute
    spec:
      parentRefs:
      - name: bookinfo-gateway
    ```
    """
    known: list[str] | None = None
    for att in _attachments(mesh, "not-found"):
        if att.mesh or not _gateway_namespace_known(mesh, att.namespace):
            continue
        if known is None:
            known = sorted(f"{ns}/{name}" for ns, name in mesh.kube_gateways)
        wanted = f"{att.namespace}/{att.ref.name}"
        close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.75)
        guess = close[0] if close else None
        if guess is not None and guess.startswith(f"{att.route.namespace}/") and att.ref.namespace is None:
            guess = guess.split("/", 1)[1]
        yield Finding(
            att.route,
            (*att.loc, "name"),
            f"Gateway `{wanted}` does not exist",
            help=f"did you mean `{guess}`?" if guess else "create the Gateway, or set `namespace` to where it is",
        )


@rule("MC151", "unknown-parent-listener", Severity.ERROR)
def unknown_parent_listener(mesh: Mesh) -> Iterator[Finding]:
    """A route's `parentRefs` entry names a listener (`sectionName` or `port`) the Gateway does not have.

    ## Why is this bad?
    istiod attaches the route to no listener of the Gateway ("sectionName not found" in the
    route's status): its rules are served nowhere.

    ## Example
    ```yaml
    # the Gateway's listeners are named http and https
    parentRefs:
    - name: bookinfo-gateway
      sectionName: web
    ```

    Use instead:
    ```yaml
    parentRefs:
    - name: bookinfo-gateway
      sectionName: http
    ```
    """
    view = analyze(mesh)
    for att in _attachments(mesh, "section", "port"):
        assert att.parent is not None
        listeners = view.listeners(att.parent)
        field = "sectionName" if att.reason == "section" else "port"
        if att.reason == "section":
            names = [li.name for li in listeners]
            close = difflib.get_close_matches(att.ref.sectionName, names, n=1, cutoff=0.6)
            help_ = (
                f"did you mean `{close[0]}`? (listeners: {', '.join(names)})"
                if close
                else f"listeners: {', '.join(names)}"
            )
            message = f"Gateway `{att.parent.full_name}` has no listener named `{att.ref.sectionName}`"
            if att.ref.port is not None and any(li.name == att.ref.sectionName for li in listeners):
                field = "port"
                help_ = ", ".join(f"`{li.name}`: {li.port}" for li in listeners)
                message = (
                    f"listener `{att.ref.sectionName}` of Gateway `{att.parent.full_name}` "
                    f"is not on port {att.ref.port}"
                )
        else:
            ports = sorted({li.port for li in listeners})
            help_ = f"listener ports: {', '.join(map(str, ports))}"
            message = f"Gateway `{att.parent.full_name}` has no listener on port {att.ref.port}"
        yield Finding(
            att.route,
            (*att.loc, field),
            message,
            help=help_,
            related=_listener_related(att, "the listeners"),
        )


@rule("MC152", "parent-rejects-namespace", Severity.ERROR)
def parent_rejects_namespace(mesh: Mesh) -> Iterator[Finding]:
    """No listener the route names admits routes from the route's namespace (`allowedRoutes.namespaces`).

    A listener admits routes of its own namespace by default (`from: Same`); `from: All` admits
    every namespace, `from: Selector` the namespaces whose labels match the selector (with the
    `kubernetes.io/metadata.name` label every namespace has). A selector on other labels is only
    judged when the input has the route's Namespace object.

    ## Why is this bad?
    istiod refuses the attachment ("namespace is not allowed by the parent"): the route is served
    nowhere. Cross-namespace attachment must be opened by the Gateway's owner.

    ## Example
    ```yaml
    kind: Gateway
    metadata: {name: shared, namespace: infra}
    spec:
      listeners:
      - {name: http, port: 80, protocol: HTTP}      # from: Same by default
    ---
    kind: HTTPRoute
    metadata: {name: shop, namespace: shop}
    spec:
      parentRefs: [{name: shared, namespace: infra}]
    ```

    Use instead:
    ```yaml
    spec:
      listeners:
      - name: http
        port: 80
        protocol: HTTP
        allowedRoutes:
          namespaces: {from: All}
    ```
    """
    for att in _attachments(mesh, "namespace"):
        yield Finding(
            att.route,
            att.loc,
            f"Gateway `{att.namespace}/{att.ref.name}` does not admit routes from namespace `{att.route.namespace}`",
            help=att.detail,
            key=True,
            related=_listener_related(att, "`allowedRoutes` of the listeners"),
        )


@rule("MC153", "parent-rejects-route-kind", Severity.ERROR)
def parent_rejects_route_kind(mesh: Mesh) -> Iterator[Finding]:
    """No listener the route names admits routes of its kind.

    A listener's protocol decides the kinds it can serve (HTTP and HTTPS: HTTPRoute and
    GRPCRoute; TCP: TCPRoute; TLS: TLSRoute, and TCPRoute when it terminates TLS), and
    `allowedRoutes.kinds` narrows them further.

    ## Why is this bad?
    istiod refuses the attachment ("kind is not allowed"): the route is served nowhere.

    ## Example
    ```yaml
    # the only listener is `{name: tcp, port: 31400, protocol: TCP}`
    kind: HTTPRoute
    spec:
      parentRefs: [{name: tcp-gateway}]
    ```

    Use instead: a TCPRoute, or an HTTP listener for the HTTPRoute.
    """
    for att in _attachments(mesh, "kind"):
        yield Finding(
            att.route,
            att.loc,
            f"Gateway `{att.namespace}/{att.ref.name}` has no listener that admits a {att.route.kind}",
            help=att.detail,
            key=True,
            related=_listener_related(att, "the listeners"),
        )


@rule("MC154", "no-matching-listener-hostname", Severity.ERROR)
def no_matching_listener_hostname(mesh: Mesh) -> Iterator[Finding]:
    """None of the route's `hostnames` matches the hostname of a listener it names.

    Hostnames match as Istio compares them: equal, or one a wildcard (`*.example.com`) that covers
    the other; a listener or route without hostnames matches every host.

    ## Why is this bad?
    istiod refuses the attachment ("no hostnames matched parent hostname"): the route is served
    nowhere.

    ## Example
    ```yaml
    # listener: {name: https, port: 443, protocol: HTTPS, hostname: "*.shop.example"}
    kind: HTTPRoute
    spec:
      parentRefs: [{name: shop-gateway, sectionName: https}]
      hostnames: ["shop.example"]
    ```

    Use instead:
    ```yaml
      hostnames: ["www.shop.example"]
    ```
    """
    for att in _attachments(mesh, "hostname"):
        yield Finding(
            att.route,
            ("spec", "hostnames"),
            f"no hostname of this route matches a listener of Gateway `{att.namespace}/{att.ref.name}`",
            help=att.detail,
            key=True,
            related=_listener_related(att, "the listeners' hostnames"),
        )


@rule("MC155", "unknown-parent-service", Severity.ERROR, requires=("services",))
def unknown_parent_service(mesh: Mesh) -> Iterator[Finding]:
    """A mesh route's parent Service (or ServiceEntry) does not exist, or does not have the `port` it names.

    A route whose parent is a Service applies to requests to that Service from the mesh (GAMMA):
    the Service must exist, and a `port` must be one of its ports. A namespace with no Service in
    the input is not judged.

    ## Why is this bad?
    istiod attaches the route to nothing ("parent service not found"), or only to requests on a
    port the Service does not serve: the rules never apply.

    ## Example
    ```yaml
    kind: HTTPRoute
    spec:
      parentRefs:
      - {group: "", kind: Service, name: reviews, port: 8080}   # reviews serves 9080
    ```

    Use instead:
    ```yaml
      parentRefs:
      - {group: "", kind: Service, name: reviews, port: 9080}
    ```
    """
    for att in _attachments(mesh, "not-found", "service-port"):
        if not att.mesh:
            continue
        if att.reason == "not-found":
            if att.group_kind == SERVICE and not mesh.registry_covers(mesh.fqdn(att.ref.name, att.namespace)):
                continue
            if att.group_kind == SERVICE_ENTRY and att.namespace not in mesh.service_namespaces:
                continue
            guess = mesh.suggest_host(att.ref.name, att.namespace) if att.group_kind == SERVICE else None
            yield Finding(
                att.route,
                (*att.loc, "name"),
                f"parent {att.detail}",
                help=f"did you mean `{guess}`?" if guess and "." not in guess else None,
            )
        else:
            assert att.parent is not None
            yield Finding(
                att.route,
                (*att.loc, "port"),
                f"port {att.ref.port} is not a port of {att.group_kind[1]} `{att.parent.full_name}`",
                help=att.detail,
                related=((att.parent, ("spec", "ports"), "ports are defined here"),),
            )


# --- backends ------------------------------------------------------------------------------------------


def _backends(mesh: Mesh) -> Iterator[Backend]:
    view = analyze(mesh)
    for route in view.routes:
        yield from view.backends(route)


def _what(b: Backend) -> str:
    return "mirror backend" if b.mirror else "backend"


@rule("MC156", "unknown-backend", Severity.ERROR, requires=("services",))
def unknown_backend(mesh: Mesh) -> Iterator[Finding]:
    """A route's backend names a Service (or, with `kind: Hostname`, a host) that does not exist.

    A `Service` backend is the Service of that name in the reference's `namespace` (else the
    route's). A `networking.istio.io` `Hostname` backend is a host of a ServiceEntry (or a
    Service's name `name.ns.svc.cluster.local`) defined in the route's own namespace, as istiod
    looks it up. A Kubernetes name in a namespace with no Service in the input is not judged.

    ## Why is this bad?
    istiod keeps the route but has no endpoints for the backend: its share of the requests fails
    with 500 (the Gateway API's answer for an invalid backend) or 503.

    ## Example
    ```yaml
    backendRefs:
    - name: reviewz          # the Service is named reviews
      port: 9080
    ```

    Use instead:
    ```yaml
    backendRefs:
    - name: reviews
      port: 9080
    ```
    """
    for b in _backends(mesh):
        if b.found or b.unsupported or b.host is None:
            continue
        if b.host in mesh.partial_hostnames or not mesh.registry_covers(b.host):
            continue
        if b.group_kind == HOSTNAME:
            resolution = Resolver.of(mesh).resolve_host(b.host, b.route.namespace)
            elsewhere = [e for e in (*resolution.visible, *resolution.hidden) if e.namespace != b.namespace]
            yield Finding(
                b.route,
                (*b.loc, "name"),
                f"{_what(b)} host `{b.ref.name}` is not defined in namespace `{b.namespace}`",
                help=(
                    f"{elsewhere[0].described} defines it, but istiod looks `Hostname` backends up "
                    "in the route's namespace"
                    if elsewhere
                    else "define a ServiceEntry for the host in the route's namespace"
                ),
            )
            continue
        guess = mesh.suggest_host(b.ref.name, b.namespace)
        yield Finding(
            b.route,
            (*b.loc, "name"),
            f"{_what(b)} Service `{b.namespace}/{b.ref.name}` does not exist",
            help=f"did you mean `{guess}`?" if guess and "." not in guess else None,
        )


@rule("MC157", "unknown-backend-port", Severity.ERROR, requires=("services",))
def unknown_backend_port(mesh: Mesh) -> Iterator[Finding]:
    """A route's backend `port` is not a port of its Service (or ServiceEntry).

    The port is the Service's `port`, not its `targetPort`.

    ## Why is this bad?
    istiod routes to a cluster for that port, which does not exist: requests to the backend fail
    with 503.

    ## Example
    ```yaml
    backendRefs:
    - name: reviews
      port: 8080           # the Service exposes 9080 (targetPort 8080)
    ```

    Use instead:
    ```yaml
    backendRefs:
    - name: reviews
      port: 9080
    ```
    """
    for b in _backends(mesh):
        service = b.service
        if not b.found or service is None or b.port is None or not service.ports:
            continue
        if service.port(b.port) is not None:
            continue
        yield Finding(
            b.route,
            (*b.loc, "port"),
            f"port {b.port} is not a port of {service.described}",
            help=f"ports of `{service.hostname}`: {', '.join(str(p.number) for p in service.ports)}",
            related=((service.resource, ("spec", "ports"), "ports are defined here"),),
        )


@rule("MC158", "backend-not-permitted", Severity.ERROR)
def backend_not_permitted(mesh: Mesh) -> Iterator[Finding]:
    """A route attached to a Gateway refers to a backend in another namespace that no ReferenceGrant permits.

    The ReferenceGrant must be in the backend's namespace, list the route's kind and namespace in
    `from` and the backend's kind (and name, or no name) in `to`. Routes whose parents are all
    Services (mesh routes) need no grant, as in istiod. A backend namespace with no Service in the
    input is not judged (its ReferenceGrants may live with it).

    ## Why is this bad?
    istiod drops the backend ("not accessible ... missing a ReferenceGrant?"): its share of the
    requests gets 500.

    ## Example
    ```yaml
    kind: HTTPRoute
    metadata: {name: shop, namespace: frontend}
    spec:
      rules:
      - backendRefs: [{name: cart, namespace: backend, port: 80}]
    ```

    Use instead: allow it in the backend's namespace.
    ```yaml
    kind: ReferenceGrant
    metadata: {name: frontend-routes, namespace: backend}
    spec:
      from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: frontend}]
      to: [{group: "", kind: Service}]
    ```
    """
    for b in _backends(mesh):
        if b.permitted:
            continue
        if b.host is not None and not mesh.registry_covers(b.host):
            continue
        yield Finding(
            b.route,
            (*b.loc, "namespace"),
            f"{_what(b)} `{b.namespace}/{b.ref.name}` is in another namespace and no ReferenceGrant permits it",
            help=f"add a ReferenceGrant in namespace `{b.namespace}` from {b.route.kind}s of `{b.route.namespace}` "
            f"to {b.group_kind[1]}s",
        )


@rule("MC159", "unsupported-backend", Severity.ERROR)
def unsupported_backend(mesh: Mesh) -> Iterator[Finding]:
    """A route's backend is of a kind istiod does not route to, or is malformed for istiod.

    istiod routes to `Service` backends, to `networking.istio.io` `Hostname` backends and to
    `multicluster.x-k8s.io` `ServiceImport`s; `XBackend` and `InferencePool` need feature flags.
    A Service backend must be the Service's name (not a host name), and every backend needs a
    `port`.

    ## Why is this bad?
    An unsupported kind gets 500 for its share of the requests; a malformed reference makes
    istiod reject the whole route, so none of its rules is served.

    ## Example
    ```yaml
    backendRefs:
    - name: reviews.bookinfo.svc.cluster.local
      port: 9080
    ```

    Use instead:
    ```yaml
    backendRefs:
    - name: reviews
      namespace: bookinfo
      port: 9080
    ```
    """
    for b in _backends(mesh):
        if not b.unsupported:
            continue
        consequence = "istiod rejects the whole route" if b.hard else "requests to it get 500"
        loc: tuple[str | int, ...] = b.loc
        if "namespace" in b.unsupported:
            loc = (*b.loc, "namespace")
        elif "name of the Service" in b.unsupported:
            loc = (*b.loc, "name")
        elif "kind" in b.unsupported or "needs" in b.unsupported:
            loc = (*b.loc, "kind")
        yield Finding(b.route, loc, f"{_what(b)} `{b.ref.name}`: {b.unsupported}", help=consequence, key=loc == b.loc)


# --- classes and listeners ---------------------------------------------------------------------------


@rule("MC160", "unknown-gateway-class", Severity.WARNING, requires=("gateway-classes",))
def unknown_gateway_class(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway's `gatewayClassName` is neither a GatewayClass of the input nor one istiod creates.

    istiod creates the classes `istio`, `istio-remote`, `istio-waypoint` and `istio-east-west`.
    Checked when the input defines at least one GatewayClass (the classes are cluster-wide and
    often installed apart).

    ## Why is this bad?
    No controller implements the Gateway: it gets no proxy and its routes are served nowhere.

    ## Example
    ```yaml
    spec:
      gatewayClassName: isito
    ```

    Use instead:
    ```yaml
    spec:
      gatewayClassName: istio
    ```
    """
    view = analyze(mesh)
    known = sorted(set(BUILTIN_CLASSES) | set(view.classes))
    for gw in view.gateways:
        name = getattr(gw.spec, "gatewayClassName", None)
        if not isinstance(name, str) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        yield Finding(
            gw,
            ("spec", "gatewayClassName"),
            f"GatewayClass `{name}` does not exist",
            help=f"did you mean `{close[0]}`?" if close else f"classes: {', '.join(known)}",
        )


def _secret_ref_namespace(ref: Any, gateway: Resource) -> str:
    return ref.namespace or gateway.namespace


@rule("MC161", "unknown-listener-certificate", Severity.ERROR)
def unknown_listener_certificate(mesh: Mesh) -> Iterator[Finding]:
    """A listener's `tls.certificateRefs` names a missing Secret, or one another namespace does not grant.

    The Secret is looked up in the reference's `namespace`, else the Gateway's; it counts when the
    input defines it, or a cert-manager `Certificate`, an `ExternalSecret` or a `SealedSecret`
    creates it (checked only when the input has one of these). A Secret in another namespace needs
    a ReferenceGrant there, from Gateways of the Gateway's namespace to Secrets.

    ## Why is this bad?
    istiod cannot load the certificate ("invalid certificate reference"): the listener is not
    programmed and TLS handshakes for its hosts fail.

    ## Example
    ```yaml
    tls:
      certificateRefs:
      - name: shop-cert          # the Secret is shop-credential
    ```

    Use instead:
    ```yaml
    tls:
      certificateRefs:
      - name: shop-credential
    ```
    """
    view = analyze(mesh)
    check_existence = mesh.capability("secrets") or mesh.options.complete_registry
    for gw in view.gateways:
        for li in view.listeners(gw):
            tls = getattr(gw.spec.listeners[li.index], "tls", None)
            for k, ref in enumerate(getattr(tls, "certificateRefs", None) or ()):
                if (ref.group, ref.kind) != ("", "Secret"):
                    continue
                namespace = _secret_ref_namespace(ref, gw)
                loc = (*li.loc, "tls", "certificateRefs", k)
                if namespace != gw.namespace and not view.grant_allows(
                    GATEWAY, gw.namespace, ("", "Secret"), namespace, ref.name
                ):
                    yield Finding(
                        gw,
                        (*loc, "namespace"),
                        f"Secret `{namespace}/{ref.name}` is in another namespace and no ReferenceGrant permits it",
                        help=f"add a ReferenceGrant in namespace `{namespace}` from Gateways of `{gw.namespace}` "
                        "to Secrets",
                    )
                    continue
                if check_existence and (namespace, ref.name) not in mesh.secrets:
                    known = sorted(n for ns, n in mesh.secrets if ns == namespace)
                    close = difflib.get_close_matches(ref.name, known, n=1, cutoff=0.6)
                    yield Finding(
                        gw,
                        (*loc, "name"),
                        f"Secret `{namespace}/{ref.name}` does not exist",
                        help=f"did you mean `{close[0]}`?" if close else "create the Secret",
                    )


@rule("MC350", "gateway-api-crd-too-old", Severity.WARNING, istio="IST0176")
def gateway_api_crd_too_old(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway API CustomResourceDefinition is older than the version this Istio requires.

    The version is the CRD's `gateway.networking.k8s.io/bundle-version` annotation; Istio 1.30
    requires GRPCRoute 1.1, BackendTLSPolicy 1.4, TLSRoute 1.5 and TCPRoute 1.6 at least
    (pkg/config/schema/gatewayapi MinimumCRDVersions).

    ## Why is this bad?
    istiod does not watch a CRD below its minimum version: resources of that kind are ignored,
    and, for example, TLS passthrough Gateways never program a listener.

    ## Example
    ```yaml
    kind: CustomResourceDefinition
    metadata:
      name: tlsroutes.gateway.networking.k8s.io
      annotations:
        gateway.networking.k8s.io/bundle-version: v1.4.1
    ```

    Use instead: install the Gateway API CRDs of the version your Istio release names.
    """
    for crd in mesh.of_kind("CustomResourceDefinition", partial=False):
        minimum = MINIMUM_CRD_VERSIONS.get(crd.name)
        text = crd.annotations.get(BUNDLE_VERSION_ANNOTATION)
        if minimum is None or not isinstance(text, str):
            continue
        installed = _semver(text)
        if installed is None or installed >= minimum:
            continue
        wanted = ".".join(map(str, minimum))
        yield Finding(
            crd,
            ("metadata", "annotations", BUNDLE_VERSION_ANNOTATION),
            f"Gateway API CRD `{crd.name}` is at version `{text}` but Istio requires at least `{wanted}`; "
            "resources of this kind will not be processed",
            help="upgrade the Gateway API CRDs",
        )


BUNDLE_VERSION_ANNOTATION = "gateway.networking.k8s.io/bundle-version"
MINIMUM_CRD_VERSIONS: dict[str, tuple[int, int, int]] = {
    "grpcroutes.gateway.networking.k8s.io": (1, 1, 0),
    "backendtlspolicies.gateway.networking.k8s.io": (1, 4, 0),
    "tlsroutes.gateway.networking.k8s.io": (1, 5, 0),
    "tcproutes.gateway.networking.k8s.io": (1, 6, 0),
}
"""pkg/config/schema/gatewayapi/minimumversions.go MinimumCRDVersions."""


def _semver(text: str) -> tuple[int, int, int] | None:
    """major.minor.patch of a semantic version (`v1.4.1`, `1.5.0-rc.1`: the pre-release is dropped, as Istio does)."""
    core = text.strip().lstrip("vV").split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]


@rule("MC351", "unserved-listener", Severity.ERROR)
def unserved_listener(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway listener that istiod does not serve: an unsupported protocol, or TLS without `tls`.

    Istio serves `HTTP`, `HTTPS`, `TLS` and `TCP` listeners (protocols are case-sensitive), and
    `HBONE` on waypoints; an `HTTPS` or `TLS` listener needs a `tls` section.

    ## Why is this bad?
    istiod builds no server for the listener: routes attached to it are served nowhere.

    ## Example
    ```yaml
    listeners:
    - name: web
      port: 443
      protocol: HTTPS         # no tls: certificateRefs
    ```

    Use instead:
    ```yaml
    listeners:
    - name: web
      port: 443
      protocol: HTTPS
      tls:
        certificateRefs: [{name: web-credential}]
    ```
    """
    view = analyze(mesh)
    for gw in view.gateways:
        for li in view.listeners(gw):
            if li.problem is None:
                continue
            field = "protocol" if "protocol" in li.problem else "name"
            yield Finding(gw, (*li.loc, field), f"listener `{li.name}` is not served: {li.problem}")


@rule("MC352", "conflicting-listeners", Severity.ERROR)
def conflicting_listeners(mesh: Mesh) -> Iterator[Finding]:
    """Two listeners of a Gateway on the same port cannot coexist; the later one is not served.

    Listeners on one port conflict when one is TCP or UDP and the other HTTP, HTTPS or TLS, when
    both are TCP or UDP, or when both are HTTP-like with the same hostname (gatewaycommon
    `listenersDistinct`).

    ## Why is this bad?
    istiod marks the later listener `Conflicted` and does not program it: routes attached to it
    are served nowhere.

    ## Example
    ```yaml
    listeners:
    - {name: http, port: 80, protocol: HTTP}
    - {name: tcp, port: 80, protocol: TCP}
    ```

    Use instead: give each listener its own port.
    ```yaml
    listeners:
    - {name: http, port: 80, protocol: HTTP}
    - {name: tcp, port: 9000, protocol: TCP}
    ```
    """
    view = analyze(mesh)
    for gw in view.gateways:
        listeners = view.listeners(gw)
        for li in listeners:
            if li.conflict is None or li.problem is not None:
                continue
            reason, earlier = li.conflict
            other = next(x for x in listeners if x.index == earlier)
            why = "protocols conflict" if reason == "ProtocolConflict" else "hostnames conflict"
            yield Finding(
                gw,
                (*li.loc, "port"),
                f"listener `{li.name}` conflicts with listener `{other.name}` on port {li.port} ({why}) "
                "and is not served",
                help="use another port, or distinct hostnames for HTTP, HTTPS and TLS listeners",
                related=((gw, (*other.loc, "port"), "the earlier listener"),),
            )


@rule("MC353", "unsupported-allowed-route-kind", Severity.WARNING)
def unsupported_allowed_route_kind(mesh: Mesh) -> Iterator[Finding]:
    """`allowedRoutes.kinds` lists a route kind the listener's protocol cannot serve.

    ## Why is this bad?
    istiod ignores that kind and reports the listener's references as unresolved ("Invalid route
    kinds"); routes of that kind never attach to it.

    ## Example
    ```yaml
    - name: tcp
      port: 31400
      protocol: TCP
      allowedRoutes:
        kinds: [{kind: HTTPRoute}]
    ```

    Use instead:
    ```yaml
      allowedRoutes:
        kinds: [{kind: TCPRoute}]
    ```
    """
    view = analyze(mesh)
    for gw in view.gateways:
        for li in view.listeners(gw):
            kinds = gw.spec.listeners[li.index].allowedRoutes.kinds
            for k in li.invalid_kinds:
                yield Finding(
                    gw,
                    (*li.loc, "allowedRoutes", "kinds", k, "kind"),
                    f"a `{li.protocol}` listener cannot serve `{kinds[k].kind}` routes",
                    help=f"kinds a `{li.protocol}` listener serves: "
                    + (", ".join(f"`{kd}`" for _, kd in _protocol_kinds(li.protocol)) or "none"),
                )


def _protocol_kinds(protocol: str) -> list[tuple[str, str]]:
    if protocol in ("HTTP", "HTTPS"):
        return [(GATEWAY_API_GROUP, "HTTPRoute"), (GATEWAY_API_GROUP, "GRPCRoute")]
    if protocol == "TCP":
        return [(GATEWAY_API_GROUP, "TCPRoute")]
    if protocol == "TLS":
        return [(GATEWAY_API_GROUP, "TLSRoute"), (GATEWAY_API_GROUP, "TCPRoute")]
    return []


# --- routing -------------------------------------------------------------------------------------------


@rule("MC250", "route-and-virtual-service-for-host", Severity.WARNING)
def route_and_virtual_service_for_host(mesh: Mesh) -> Iterator[Finding]:
    """An HTTPRoute and a VirtualService both route the same host for the same proxies.

    Mesh routes (parent: a Service) apply to requests to that Service from sidecars, like a mesh
    VirtualService for its host. A route attached to a Gateway API Gateway shares proxies with a
    VirtualService when an Istio Gateway the VirtualService is bound to selects the pods deployed
    for that Gateway (label `gateway.networking.k8s.io/gateway-name`) and serves the same port.

    ## Why is this bad?
    istiod gives each host of a proxy one set of routes: it takes the routes of one of them (for
    sidecars, HTTPRoutes of the client's own namespace first, then the oldest) and ignores the
    other, so which rules apply depends on creation order, not on the files.

    ## Example
    ```yaml
    kind: VirtualService
    spec:
      hosts: [reviews]
      http: [{route: [{destination: {host: reviews, subset: v1}}]}]
    ---
    kind: HTTPRoute
    spec:
      parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
      rules: [{backendRefs: [{name: reviews-v2, port: 9080}]}]
    ```

    Use instead: one of the two APIs per host.
    """
    view = analyze(mesh)
    if not any(r.kind in ("HTTPRoute", "GRPCRoute") for r in view.routes):
        return
    mesh_vs: dict[str, list[Resource]] = {}
    for vs in mesh.of_kind("VirtualService", partial=False):
        gateways = vs.spec.gateways or ["mesh"]
        if "mesh" not in gateways:
            continue
        for h in vs.spec.hosts or ():
            mesh_vs.setdefault(mesh.fqdn(h, vs.namespace), []).append(vs)
    for route in view.routes:
        if route.kind not in ("HTTPRoute", "GRPCRoute"):
            continue
        for att in view.attachments(route):
            if not att.mesh or att.reason is not None or att.parent is None:
                if not att.mesh and att.parent is not None and att.listeners:
                    yield from _gateway_conflicts(mesh, att)
                continue
            hosts = (
                [mesh.fqdn(att.ref.name, att.namespace)] if att.group_kind == SERVICE else list(att.parent.spec.hosts)
            )
            for host in hosts:
                others = [vs for pattern, vss in mesh_vs.items() if host_matches(pattern, host) for vs in vss]
                if not others:
                    continue
                vs = others[0]
                yield Finding(
                    route,
                    att.loc,
                    f"VirtualService `{vs.full_name}` also routes `{host}` for sidecars; "
                    "istiod applies only one of them",
                    help="keep one API per host: move the rules into the HTTPRoute or into the VirtualService",
                    key=True,
                    related=((vs, ("spec", "hosts"), "the VirtualService for the same host"),),
                )
                break


def _gateway_conflicts(mesh: Mesh, att: Attachment) -> Iterator[Finding]:
    gateway = att.parent
    assert gateway is not None
    infra = getattr(gateway.spec, "infrastructure", None)
    pod_labels = {GATEWAY_NAME_LABEL: gateway.name, **(dict(getattr(infra, "labels", None) or {}))}
    route_hosts = [h for h in getattr(att.route.spec, "hostnames", None) or ()] or ["*"]
    ports = {li.port for li in att.listeners}
    for istio_gw in mesh.of_kind("Gateway", partial=False):
        selector = istio_gw.spec.selector or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            continue
        served = [(s.port.number, split_host(h)[1]) for s in istio_gw.spec.servers for h in s.hosts]
        for vs in mesh.of_kind("VirtualService", partial=False):
            refs = {mesh.gateway_ref(g, vs.namespace) for g in vs.spec.gateways or ()}
            if (istio_gw.namespace, istio_gw.name) not in refs:
                continue
            for h in vs.spec.hosts or ():
                clash = any(
                    port in ports and host_matches(host, h) and any(host_matches(h, r) for r in route_hosts)
                    for port, host in served
                )
                if clash:
                    yield Finding(
                        att.route,
                        att.loc,
                        f"VirtualService `{vs.full_name}` also routes `{h}` on the proxies of Gateway "
                        f"`{gateway.full_name}` (through Istio Gateway `{istio_gw.full_name}`); "
                        "istiod applies only one",
                        help="keep one API per host and proxy",
                        key=True,
                        related=((vs, ("spec", "hosts"), "the VirtualService for the same host"),),
                    )
                    return


@rule("MC251", "route-backend-weights-zero", Severity.WARNING)
def route_backend_weights_zero(mesh: Mesh) -> Iterator[Finding]:
    """Every backend of a route rule has `weight: 0`.

    ## Why is this bad?
    With no backend of positive weight, the Gateway API (and istiod) answer every request of the
    rule with 500; TCP and TLS connections are refused. A weight of 0 usually marks a backend
    being drained, not all of them.

    ## Example
    ```yaml
    backendRefs:
    - {name: reviews-v1, port: 9080, weight: 0}
    - {name: reviews-v2, port: 9080, weight: 0}
    ```

    Use instead:
    ```yaml
    backendRefs:
    - {name: reviews-v1, port: 9080, weight: 0}
    - {name: reviews-v2, port: 9080, weight: 100}
    ```
    """
    view = analyze(mesh)
    for route in view.routes:
        for i, rule_ in enumerate(getattr(route.spec, "rules", None) or ()):
            backends = list(getattr(rule_, "backendRefs", None) or ())
            if backends and all(getattr(b, "weight", 1) == 0 for b in backends):
                yield Finding(
                    route,
                    ("spec", "rules", i, "backendRefs"),
                    "every backend of this rule has weight 0: requests get 500",
                    help="give at least one backend a positive weight",
                    key=True,
                )


_HEADER_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier")
_ROUTE_FILTERS = {
    "HTTPRoute": (
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "RequestRedirect",
        "RequestMirror",
        "URLRewrite",
        "CORS",
    ),
    "GRPCRoute": ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"),
}
"""Filters istiod translates on a rule (conversion.go convertHTTPRoute, convertGRPCRoute)."""


@rule("MC252", "unsupported-route-filter", Severity.ERROR)
def unsupported_route_filter(mesh: Mesh) -> Iterator[Finding]:
    """A route filter istiod does not implement: `ExtensionRef`, `ExternalAuth`, or a backend filter.

    istiod translates `RequestHeaderModifier`, `ResponseHeaderModifier`, `RequestRedirect`,
    `RequestMirror`, `URLRewrite` and `CORS` on HTTPRoute rules (header modifiers and
    `RequestMirror` on GRPCRoute rules), and only the header modifiers on `backendRefs`.

    ## Why is this bad?
    istiod rejects the whole route ("unsupported filter type"): none of its rules is served.

    ## Example
    ```yaml
    backendRefs:
    - name: reviews
      port: 9080
      filters:
      - type: URLRewrite
        urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /v2}}
    ```

    Use instead: the filter on the rule.
    ```yaml
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /v2}}
    backendRefs:
    - {name: reviews, port: 9080}
    ```
    """
    view = analyze(mesh)
    for route in view.routes:
        allowed = _ROUTE_FILTERS.get(route.kind)
        if allowed is None:
            continue
        for i, rule_ in enumerate(getattr(route.spec, "rules", None) or ()):
            for j, f in enumerate(getattr(rule_, "filters", None) or ()):
                if f.type not in allowed:
                    yield Finding(
                        route,
                        ("spec", "rules", i, "filters", j, "type"),
                        f"istiod does not implement filter `{f.type}`: it rejects the whole {route.kind}",
                        help=f"filters istiod implements on a rule: {', '.join(allowed)}",
                    )
            for j, backend in enumerate(getattr(rule_, "backendRefs", None) or ()):
                for k, f in enumerate(getattr(backend, "filters", None) or ()):
                    if f.type not in _HEADER_FILTERS:
                        yield Finding(
                            route,
                            ("spec", "rules", i, "backendRefs", j, "filters", k, "type"),
                            f"istiod does not implement filter `{f.type}` on a backend: "
                            f"it rejects the whole {route.kind}",
                            help="only RequestHeaderModifier and ResponseHeaderModifier work on a backend; "
                            "move the filter to the rule",
                        )
