"""The Kubernetes Gateway API as istiod reads it: classes, listeners, route attachment, backends, grants.

One place decides, for the whole program, which listener of a Gateway a route attaches to (and
why not), which backend a `backendRef` names and whether a ReferenceGrant permits it. It follows
istiod's translation (istio/istio pilot/pkg/config/kube/gateway and gatewaycommon at 86c9f01fd735);
each function names the Go function it mirrors. Lint rules (`meshc.rules.gatewayapi`) report what it
finds; nothing else re-derives these semantics.

`analyze(mesh)` builds the view once per Mesh (memoised).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from meshc.hosts import host_matches
from meshc.mesh import GATEWAY_API_GROUP, Mesh, Resource, ServiceHost
from meshc.resolve import Resolver

ISTIO_NETWORKING_GROUP = "networking.istio.io"
GATEWAY_CONTROLLER = "istio.io/gateway-controller"
MESH_CONTROLLER = "istio.io/mesh-controller"
UNMANAGED_CONTROLLER = "istio.io/unmanaged-gateway"
EASTWEST_CONTROLLER = "istio.io/eastwest-controller"
BUILTIN_CLASSES: Mapping[str, str] = {
    "istio": GATEWAY_CONTROLLER,
    "istio-remote": UNMANAGED_CONTROLLER,
    "istio-waypoint": MESH_CONTROLLER,
    "istio-east-west": EASTWEST_CONTROLLER,
}
"""The GatewayClasses istiod creates itself, by name (gatewaycommon.GetBuiltinGatewayClasses)."""
ISTIO_CONTROLLERS = frozenset(BUILTIN_CLASSES.values())
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")

GroupKind = tuple[str, str]
"""(group, kind) of a Kubernetes object; `""` is the core group."""

SERVICE: GroupKind = ("", "Service")
SERVICE_ENTRY: GroupKind = (ISTIO_NETWORKING_GROUP, "ServiceEntry")
HOSTNAME: GroupKind = (ISTIO_NETWORKING_GROUP, "Hostname")
SERVICE_IMPORT: GroupKind = ("multicluster.x-k8s.io", "ServiceImport")
GATEWAY: GroupKind = (GATEWAY_API_GROUP, "Gateway")
LISTENER_SET: GroupKind = (GATEWAY_API_GROUP, "ListenerSet")
X_BACKEND: GroupKind = ("gateway.networking.x-k8s.io", "XBackend")
INFERENCE_POOL: GroupKind = ("inference.networking.k8s.io", "InferencePool")

SUPPORTED_PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP", "HBONE")


# --- label selectors -------------------------------------------------------------------------------


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (`matchLabels` and `matchExpressions`, every term must hold)."""
    for key, value in (getattr(selector, "matchLabels", None) or {}).items():
        if labels.get(key) != value:
            return False
    for expression in getattr(selector, "matchExpressions", None) or ():
        present = expression.key in labels
        if expression.operator == "In" and labels.get(expression.key) not in expression.values:
            return False
        if expression.operator == "NotIn" and present and labels[expression.key] in expression.values:
            return False
        if expression.operator == "Exists" and not present:
            return False
        if expression.operator == "DoesNotExist" and present:
            return False
    return True


def _selector_keys(selector: Any) -> set[str]:
    keys = set((getattr(selector, "matchLabels", None) or {}).keys())
    keys.update(e.key for e in getattr(selector, "matchExpressions", None) or ())
    return keys


# --- listeners ---------------------------------------------------------------------------------------


class ListenerInfo(msgspec.Struct, eq=False):
    """A listener of a Gateway, as istiod builds it (`buildListener`, `GatewayCollection`)."""

    gateway: Resource
    index: int
    name: str
    port: int
    protocol: str
    hostname: str | None
    from_: str
    """`allowedRoutes.namespaces.from`: `Same`, `All` or `Selector`."""
    selector: Any
    kinds: tuple[GroupKind, ...]
    """The route kinds the listener admits (gatewaycommon.GenerateGatewaySupportedKinds)."""
    invalid_kinds: tuple[int, ...] = ()
    """Indexes of `allowedRoutes.kinds` that the protocol does not support."""
    problem: str | None = None
    """Why istiod builds no server for the listener (unsupported protocol, missing TLS), if it does not."""
    conflict: tuple[str, int] | None = None
    """(reason, index of the earlier listener) when it loses to an earlier listener on its port."""

    @property
    def usable(self) -> bool:
        """Whether istiod serves this listener (routes can attach to it)."""
        return self.problem is None and self.conflict is None

    @property
    def loc(self) -> tuple[str | int, ...]:
        """Field path of the listener in its Gateway."""
        return ("spec", "listeners", self.index)

    def admits_namespace(self, mesh: Mesh, namespace: str) -> bool | None:
        """Whether routes of `namespace` may attach (`namespacesFromSelector`); None when it cannot be told.

        `Selector` is run against the Namespace's labels plus `kubernetes.io/metadata.name`; when
        the input lacks the Namespace object and the selector needs other labels, it is unknown
        (unless the input is taken as the whole registry).
        """
        if self.from_ == "All":
            return True
        if self.from_ == "Same":
            return namespace == self.gateway.namespace
        if self.selector is None:
            return True  # istiod: "should never happen, invalid config" -> all namespaces
        labels = dict(mesh.namespace_labels(namespace))
        labels[NAMESPACE_NAME_LABEL] = namespace
        known = namespace in mesh.namespace_objects or mesh.options.complete_registry
        if not known and _selector_keys(self.selector) - {NAMESPACE_NAME_LABEL}:
            return None
        return selector_matches(self.selector, labels)


def _supported_kinds(listener: Any) -> tuple[tuple[GroupKind, ...], tuple[int, ...]]:
    # gatewaycommon.GenerateGatewaySupportedKinds
    protocol = listener.protocol
    supported: list[GroupKind] = []
    if protocol in ("HTTP", "HTTPS"):
        supported = [(GATEWAY_API_GROUP, "HTTPRoute"), (GATEWAY_API_GROUP, "GRPCRoute")]
    elif protocol == "TCP":
        supported = [(GATEWAY_API_GROUP, "TCPRoute")]
    elif protocol == "TLS":
        supported = [(GATEWAY_API_GROUP, "TLSRoute")]
        if listener.tls is not None and listener.tls.mode == "Terminate":
            supported.append((GATEWAY_API_GROUP, "TCPRoute"))
    allowed = list(getattr(listener.allowedRoutes, "kinds", None) or ())
    if not allowed:
        return tuple(supported), ()
    wanted = [(k.group, k.kind) for k in allowed]
    kept = tuple(s for s in supported if s in wanted)
    invalid = tuple(i for i, w in enumerate(wanted) if w not in supported)
    return kept, invalid


def _protocol_problem(protocol: str, controller: str | None) -> str | None:
    # conversion.go listenerProtocolToIstio
    if protocol in ("HTTP", "HTTPS", "TLS", "TCP"):
        return None
    if protocol == "HBONE":
        if controller in (MESH_CONTROLLER, EASTWEST_CONTROLLER):
            return None
        return "protocol `HBONE` is only supported for waypoint proxies"
    if protocol.upper() in SUPPORTED_PROTOCOLS:
        return f"protocol `{protocol}` is unsupported; `{protocol.upper()}` (uppercase) is"
    return f"protocol `{protocol}` is unsupported by Istio"


def _tcp_udp(protocol: str) -> bool:
    return protocol in ("TCP", "UDP")


def _http_like(protocol: str) -> bool:
    return protocol in ("HTTP", "HTTPS", "TLS")


def _conflict(a: ListenerInfo, b: ListenerInfo) -> str | None:
    """Why two listeners of one Gateway cannot coexist (gatewaycommon.listenersDistinct), or None."""
    if a.port != b.port:
        return None
    if (_tcp_udp(a.protocol) and _http_like(b.protocol)) or (_http_like(a.protocol) and _tcp_udp(b.protocol)):
        return "ProtocolConflict"
    if _tcp_udp(a.protocol) and _tcp_udp(b.protocol):
        return "ProtocolConflict"
    if _http_like(a.protocol) and _http_like(b.protocol):
        if (a.hostname or "*") != (b.hostname or "*"):
            return None
        return "ProtocolConflict" if a.protocol != b.protocol else "HostnameConflict"
    if a.protocol == b.protocol:
        return "HostnameConflict"
    return None


# --- route attachment --------------------------------------------------------------------------------


class Attachment(msgspec.Struct, eq=False):
    """What became of one `parentRefs` entry of a route (`extractParentReferenceInfo`, `referenceAllowed`)."""

    route: Resource
    index: int
    """Index in `spec.parentRefs`."""
    ref: Any
    group_kind: GroupKind
    namespace: str
    """The parent's namespace (the route's when the reference does not say)."""
    parent: Resource | None = None
    """The Gateway, Service or ServiceEntry named, when the input has it."""
    listeners: list[ListenerInfo] = msgspec.field(default_factory=list)
    """The listeners of a Gateway parent that admit the route."""
    reason: str | None = None
    """Why the reference attaches to nothing: `not-found`, `section`, `port`, `namespace`,
    `hostname`, `kind`, `unusable` (the named listeners are not served), `service-port`; None when
    it attaches, or when the parent is of a kind Istio does not handle (`supported` False)."""
    detail: str = ""
    """A sentence about the reason (the listener's hostnames, the allowed kinds, ...)."""
    supported: bool = True
    unknown: bool = False
    """True when the answer depends on what the input lacks (a Namespace's labels)."""

    @property
    def mesh(self) -> bool:
        """A mesh (GAMMA) parent: a Service or ServiceEntry."""
        return self.group_kind in (SERVICE, SERVICE_ENTRY)

    @property
    def loc(self) -> tuple[str | int, ...]:
        """Field path of the parent reference."""
        return ("spec", "parentRefs", self.index)


_CHECK_ORDER = ("port", "section", "hostname", "namespace", "kind")


def _listener_denial(
    mesh: Mesh, listener: ListenerInfo, ref: Any, route_kind: GroupKind, hostnames: list[str], namespace: str
) -> tuple[str, str] | None:
    """Why `listener` does not admit the route (`referenceAllowed`), or None."""
    if ref.port is not None and ref.port != listener.port:
        return "port", f"no listener on port {ref.port}"
    if ref.sectionName and ref.sectionName != listener.name:
        return "section", f"no listener named `{ref.sectionName}`"
    names = hostnames or ["*"]
    parent_host = listener.hostname or "*"
    if not any(host_matches(parent_host, h) for h in names):
        return "hostname", f"listener `{listener.name}` serves `{parent_host}`"
    admitted = listener.admits_namespace(mesh, namespace)
    if admitted is False:
        return "namespace", f"listener `{listener.name}` admits routes from {_namespaces_text(listener)}"
    if route_kind not in listener.kinds:
        kinds = ", ".join(f"`{k}`" for _, k in listener.kinds) or "none"
        return "kind", f"listener `{listener.name}` admits {kinds}"
    return None


def _namespaces_text(listener: ListenerInfo) -> str:
    if listener.from_ == "Same":
        return f"its own namespace `{listener.gateway.namespace}` only (`from: Same`)"
    return "the namespaces its selector picks (`from: Selector`)"


def _route_hostnames(route: Resource) -> list[str]:
    return [h for h in getattr(route.spec, "hostnames", None) or () if isinstance(h, str)]


# --- backends ----------------------------------------------------------------------------------------


class Backend(msgspec.Struct, eq=False):
    """One backend reference of a route: a `backendRefs` entry or a mirror's `backendRef` (`buildDestination`)."""

    route: Resource
    loc: tuple[str | int, ...]
    """Field path of the reference."""
    ref: Any
    group_kind: GroupKind
    namespace: str
    host: str | None = None
    """The host istiod routes to (`name.ns.svc.<domain>` for a Service), when the kind has one."""
    service: ServiceHost | None = None
    """The registry entry of the host, when the input has it."""
    found: bool = False
    """Whether the input defines the backend (Service object, or a registry host)."""
    unsupported: str | None = None
    """Why istiod cannot use the reference at all (kind, feature flag, malformed), if so."""
    hard: bool = False
    """True when istiod rejects the whole route for it, not just this backend."""
    permitted: bool = True
    """False for a cross-namespace reference from a gateway route without a ReferenceGrant."""
    mirror: bool = False

    @property
    def port(self) -> int | None:
        """The port of the reference."""
        return getattr(self.ref, "port", None)


def normalize(group: str | None, kind: str | None, default: GroupKind) -> GroupKind:
    """(group, kind) of a reference, with the API's defaults (gatewaycommon.NormalizeReference)."""
    return (default[0] if group is None else group, default[1] if kind is None else kind)


# --- the view ----------------------------------------------------------------------------------------


class GatewayApi:
    """The Gateway API resources of a Mesh, with istiod's reading of them. Build with `analyze`."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.classes: dict[str, Resource] = {}
        for r in mesh.gateway_api.get("GatewayClass", ()):
            self.classes.setdefault(r.name, r)
        self.gateways: list[Resource] = list(mesh.gateway_api.get("Gateway", ()))
        self.routes: list[Resource] = [r for kind in ROUTE_KINDS for r in mesh.gateway_api.get(kind, ())]
        self.grants: list[Resource] = list(mesh.gateway_api.get("ReferenceGrant", ()))
        self._listeners: dict[int, list[ListenerInfo]] = {}
        self._attachments: dict[int, list[Attachment]] = {}
        self._backends: dict[int, list[Backend]] = {}

    # --- classes ---------------------------------------------------------------------------------

    def controller(self, gateway: Resource) -> str | None:
        """The controller of a Gateway's class: the input's GatewayClass, else istiod's built-in one."""
        name = getattr(gateway.spec, "gatewayClassName", None)
        if not isinstance(name, str):
            return None
        found = self.classes.get(name)
        if found is not None:
            controller = getattr(found.spec, "controllerName", None)
            return controller if isinstance(controller, str) else None
        return BUILTIN_CLASSES.get(name)

    def is_waypoint(self, gateway: Resource) -> bool:
        """A waypoint (or east-west) Gateway: istiod builds no routes from its listeners."""
        return self.controller(gateway) in (MESH_CONTROLLER, EASTWEST_CONTROLLER)

    # --- listeners -------------------------------------------------------------------------------

    def listeners(self, gateway: Resource) -> list[ListenerInfo]:
        """The listeners of a Gateway, with what istiod makes of each."""
        cached = self._listeners.get(id(gateway))
        if cached is not None:
            return cached
        controller = self.controller(gateway)
        out: list[ListenerInfo] = []
        for i, listener in enumerate(getattr(gateway.spec, "listeners", None) or ()):
            if not isinstance(getattr(listener, "name", None), str) or not isinstance(
                getattr(listener, "port", None), int
            ):
                continue
            protocol = listener.protocol if isinstance(getattr(listener, "protocol", None), str) else ""
            namespaces = getattr(listener.allowedRoutes, "namespaces", None)
            kinds, invalid = _supported_kinds(listener)
            info = ListenerInfo(
                gateway,
                i,
                listener.name,
                listener.port,
                protocol,
                listener.hostname or None,
                getattr(namespaces, "from_", "Same") or "Same",
                getattr(namespaces, "selector", None),
                kinds,
                invalid,
                problem=_protocol_problem(protocol, controller),
            )
            if info.problem is None and protocol in ("HTTPS", "TLS") and listener.tls is None:
                # buildListener: "protocol is HTTPS but no TLS section is defined, skipping listener creation"
                info.problem = f"a `{protocol}` listener without `tls` is not served"
            for earlier in out:
                if earlier.conflict is not None:
                    continue  # only winning listeners block (ComputeGatewayListenerConflicts)
                reason = _conflict(info, earlier)
                if reason is not None:
                    info.conflict = (reason, earlier.index)
                    break
            out.append(info)
        self._listeners[id(gateway)] = out
        return out

    # --- attachment ------------------------------------------------------------------------------

    def attachments(self, route: Resource) -> list[Attachment]:
        """Every parent reference of a route and what it attaches to."""
        cached = self._attachments.get(id(route))
        if cached is None:
            cached = self._attachments[id(route)] = list(self._attach(route))
        return cached

    def _attach(self, route: Resource) -> Iterator[Attachment]:
        route_kind: GroupKind = (GATEWAY_API_GROUP, route.kind)
        hostnames = _route_hostnames(route)
        for i, ref in enumerate(getattr(route.spec, "parentRefs", None) or ()):
            if not isinstance(getattr(ref, "name", None), str):
                continue
            gk = normalize(ref.group, ref.kind, GATEWAY)
            namespace = ref.namespace or route.namespace
            att = Attachment(route, i, ref, gk, namespace)
            if gk in (SERVICE, SERVICE_ENTRY):
                self._attach_mesh(att)
            elif gk == GATEWAY:
                self._attach_gateway(att, route_kind, hostnames)
            else:
                # toInternalParentReference: "unsupported parent", maybe for another controller (ListenerSet
                # parents are not read by meshc).
                att.supported = False
            yield att

    def _attach_mesh(self, att: Attachment) -> None:
        # referenceAllowed, case gvk.Service / gvk.ServiceEntry: the object must exist.
        kind = "Service" if att.group_kind == SERVICE else "ServiceEntry"
        parent = self.mesh.find(kind, att.namespace, att.ref.name)
        if parent is None:
            att.reason = "not-found"
            att.detail = f"{kind} `{att.namespace}/{att.ref.name}` does not exist"
            return
        att.parent = parent
        port = att.ref.port
        if port is None:
            return
        if kind == "Service":
            ports = [getattr(p, "port", None) for p in getattr(parent.spec, "ports", None) or ()]
        else:
            ports = [getattr(p, "number", None) for p in getattr(parent.spec, "ports", None) or ()]
        if ports and port not in ports:
            att.reason = "service-port"
            att.detail = f"{kind} `{parent.full_name}` has ports {', '.join(str(p) for p in ports)}"

    def _attach_gateway(self, att: Attachment, route_kind: GroupKind, hostnames: list[str]) -> None:
        gateway = self.mesh.kube_gateways.get((att.namespace, att.ref.name))
        if gateway is None:
            att.reason = "not-found"
            att.detail = f"Gateway `{att.namespace}/{att.ref.name}` does not exist"
            return
        att.parent = gateway
        if self.is_waypoint(gateway):
            return  # GatewayCollection: waypoints build no route parents; ambient attaches them elsewhere
        usable = [li for li in self.listeners(gateway) if li.usable]
        named = [
            li
            for li in self.listeners(gateway)
            if (att.ref.port is None or li.port == att.ref.port)
            and (not att.ref.sectionName or li.name == att.ref.sectionName)
        ]
        if named and not any(li.usable for li in named):
            att.reason = "unusable"
            att.detail = "the listeners it names are not served (see the Gateway)"
            return
        best: tuple[int, str, str] | None = None
        for listener in usable:
            denial = _listener_denial(self.mesh, listener, att.ref, route_kind, hostnames, att.route.namespace)
            if denial is None:
                if listener.admits_namespace(self.mesh, att.route.namespace) is None:
                    att.unknown = True
                att.listeners.append(listener)
                continue
            rank = _CHECK_ORDER.index(denial[0])
            if best is None or rank > best[0]:
                best = (rank, *denial)
        if not att.listeners and best is not None:
            att.reason, att.detail = best[1], best[2]

    # --- backends --------------------------------------------------------------------------------

    def backends(self, route: Resource) -> list[Backend]:
        """Every backend reference of a route (rule backends, then mirror filters), resolved."""
        cached = self._backends.get(id(route))
        if cached is None:
            cached = self._backends[id(route)] = list(self._resolve_backends(route))
        return cached

    def gateway_route(self, route: Resource) -> bool:
        """Whether a route has a Gateway parent: istiod then enforces ReferenceGrants (`enforceRefGrant`)."""
        return any(not a.mesh and a.supported for a in self.attachments(route))

    def _resolve_backends(self, route: Resource) -> Iterator[Backend]:
        enforce = self.gateway_route(route)
        for i, rule in enumerate(getattr(route.spec, "rules", None) or ()):
            for j, ref in enumerate(getattr(rule, "backendRefs", None) or ()):
                if isinstance(getattr(ref, "name", None), str):
                    yield self._backend(route, ("spec", "rules", i, "backendRefs", j), ref, enforce)
            for j, filter_ in enumerate(getattr(rule, "filters", None) or ()):
                mirror = getattr(filter_, "requestMirror", None)
                ref = getattr(mirror, "backendRef", None)
                if isinstance(getattr(ref, "name", None), str):
                    loc = ("spec", "rules", i, "filters", j, "requestMirror", "backendRef")
                    yield self._backend(route, loc, ref, enforce, mirror=True)

    def _backend(
        self, route: Resource, loc: tuple[str | int, ...], ref: Any, enforce: bool, mirror: bool = False
    ) -> Backend:
        # conversion.go buildDestination
        mesh = self.mesh
        gk = normalize(ref.group, ref.kind, SERVICE)
        namespace = ref.namespace or route.namespace
        b = Backend(route, loc, ref, gk, namespace, mirror=mirror)
        if enforce and ref.namespace and ref.namespace != route.namespace:
            b.permitted = self.grant_allows((GATEWAY_API_GROUP, route.kind), route.namespace, gk, namespace, ref.name)
        name = ref.name
        resolver = Resolver.of(mesh)
        if gk in (SERVICE, SERVICE_IMPORT):
            if "." in name:
                b.unsupported = "the name of the Service must be used, not a host name"
                b.hard = True
                return b
            b.host = mesh.fqdn(name, namespace)
            b.found = mesh.exists("Service", namespace, name)
            # The entry the route's proxies use for that host (its ports decide the clusters).
            b.service = resolver.resolve_host(b.host, route.namespace).service
        elif gk == HOSTNAME:
            if ref.namespace is not None:
                b.unsupported = "`namespace` may not be set with kind `Hostname`"
                b.hard = True
                return b
            b.host = name.lower()
            # RouteContext.LookupHostname: ServiceIndex.HostnameAndNamespace[host][namespace], the
            # entry of that exact name defined in the route's namespace.
            resolution = resolver.resolve_host(b.host, route.namespace)
            b.service = next((e for e in (*resolution.visible, *resolution.hidden) if e.namespace == namespace), None)
            b.found = b.service is not None
        elif gk == X_BACKEND:
            b.unsupported = "XBackend needs the alpha Gateway API (`PILOT_ENABLE_ALPHA_GATEWAY_API=true` in istiod)"
            return b
        elif gk == INFERENCE_POOL:
            b.unsupported = "InferencePool needs `ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true` in istiod"
            return b
        else:
            group = f"{gk[0]}/" if gk[0] else ""
            b.unsupported = f"Istio does not support backends of kind `{group}{gk[1]}`"
            return b
        if ref.port is None:
            b.unsupported = "`port` is required"
            b.hard = True
        return b

    # --- ReferenceGrants -------------------------------------------------------------------------

    def grant_allows(
        self, source: GroupKind, source_namespace: str, target: GroupKind, namespace: str, name: str
    ) -> bool:
        """Whether a ReferenceGrant in `namespace` lets `source` objects of `source_namespace` refer to `name`.

        gatewaycommon.ReferenceGrantsCollection and BackendAllowed: the grant lives in the target's
        namespace; a `to` entry without `name` allows every object of its kind.
        """
        for grant in self.grants:
            if grant.namespace != namespace:
                continue
            spec = grant.spec
            sources = [(f.group, f.kind, f.namespace) for f in getattr(spec, "from_", None) or ()]
            if (source[0], source[1], source_namespace) not in sources:
                continue
            for to in getattr(spec, "to", None) or ():
                if (to.group, to.kind) == target and (to.name is None or to.name == name):
                    return True
        return False


def analyze(mesh: Mesh) -> GatewayApi:
    """The Gateway API view of a Mesh, built once and shared by every rule."""
    return mesh.memo("gateway-api", GatewayApi)


def routes_of(mesh: Mesh, kinds: Iterable[str] = ROUTE_KINDS) -> list[Resource]:
    """The routes of the input, of the given kinds, in input order."""
    return [r for kind in kinds for r in mesh.gateway_api.get(kind, ())]
