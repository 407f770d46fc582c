"""Which Sidecar resource scopes a proxy, and what its egress listeners import (pilot/pkg/model/sidecar.go).

A sidecar's proxy sees only the services and VirtualServices its Sidecar imports
(`egress[].hosts`, `namespace/dnsName` with `*` and `.` for the namespace and `~` to exclude),
chosen per proxy as istiod does (push_context.go `doGetSidecarScope`): a Sidecar of the proxy's
namespace whose `workloadSelector` matches its labels (oldest first), else the namespace's Sidecar
without selector, else the root namespace's Sidecar without selector (mesh-wide default), else
everything (`*/*`). The scope plugs into the resolver (`resolve.Client.scope`): every command
that asks what a proxy sees gets the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshc.hosts import host_matches, host_subset_of, is_wildcard
from meshc.resolve import MESH, Client, Resolver, VirtualServiceView, order_key

if TYPE_CHECKING:
    from meshc.mesh import Mesh, Resource, ServiceHost

WILDCARD_NAMESPACE = "*"
CURRENT_NAMESPACE = "."
EXCLUDE_PREFIX = "~"


@dataclass
class _Hosts:
    """The hosts one egress listener imports from one namespace (`hostClassification`)."""

    exact: set[str] = field(default_factory=set)
    all: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def is_excluded(self, h: str) -> bool:
        """`Excluded`: a `~`-prefixed entry covers the host."""
        return any(host_subset_of(h, e) for e in self.excluded)

    def matches(self, h: str) -> bool:
        """`Matches`: a service host the listener imports (exact, or covered by an imported wildcard)."""
        if h in self.exact:
            return True
        return any((is_wildcard(h) or is_wildcard(i)) and host_subset_of(h, i) for i in self.all)

    def vs_matches(self, h: str) -> bool:
        """`VSMatches` (not Gateway API semantics): a VirtualService host overlapping an imported host."""
        if h in self.exact:
            return True
        return any((is_wildcard(h) or is_wildcard(i)) and host_matches(h, i) for i in self.all)


@dataclass
class EgressListener:
    """One `egress[]` entry as it applies to a config namespace (`IstioEgressListenerWrapper`)."""

    index: int
    """Position in `spec.egress`."""
    port: int | None
    """The listener's port (None: the catch-all listener, every port)."""
    hosts: dict[str, _Hosts]
    """Imported hosts by namespace (`*` for any)."""

    def imports(self, entry: ServiceHost) -> bool:
        """`selectServices` + `matchingService`: the service is imported (its own namespace's entry, else `*/`)."""
        if self.port is not None and entry.port(self.port) is None:
            return False  # serviceMatchingListenerPort
        name = entry.hostname
        own, anyns = self.hosts.get(entry.namespace), self.hosts.get(WILDCARD_NAMESPACE)
        if any(h is not None and h.is_excluded(name) for h in (own, anyns)):
            return False
        return any(h is not None and h.matches(name) for h in (own, anyns))

    def selects(self, vs: VirtualServiceView) -> bool:
        """`SelectVirtualServices`: a host of the VirtualService overlaps a host imported from its namespace or `*`."""
        own, anyns = self.hosts.get(vs.namespace), self.hosts.get(WILDCARD_NAMESPACE)
        for h in vs.hosts:
            if (own is not None and own.is_excluded(h)) or (anyns is not None and anyns.is_excluded(h)):
                continue
            if any(c is not None and c.vs_matches(h) for c in (own, anyns)):
                return True
        return False


class SidecarScope:
    """What a Sidecar lets one proxy see (`SidecarScope`); the resolver's `EgressScope` for a client."""

    def __init__(self, resource: Resource, namespace: str, resolver: Resolver) -> None:
        self.resource = resource
        self.resolver = resolver
        self.namespace = namespace
        """The config namespace the scope is built for (the proxy's, even for a root-namespace Sidecar)."""
        spec = resource.spec
        egress = list(spec.egress) or [None]
        self.listeners = [_listener(i, e, namespace) for i, e in enumerate(egress)]
        otp = spec.outboundTrafficPolicy
        self.outbound_traffic_policy: str | None = otp.mode if otp is not None else None
        """The Sidecar's own `outboundTrafficPolicy.mode` (None: the mesh settings')."""
        self.egress_proxy: Any = otp.egressProxy if otp is not None else None
        """`outboundTrafficPolicy.egressProxy` (ALLOW_ANY): where traffic outside the registry goes instead."""
        self._inferred: dict[str, ServiceHost] | None = None

    @property
    def described(self) -> str:
        """`Sidecar ns/name`, for explanations."""
        return f"Sidecar {self.resource.namespace}/{self.resource.name}"

    def imports(self, entry: ServiceHost) -> bool:
        """Whether the proxy knows the registry entry (`SidecarScope.services`: clusters, DestinationRules).

        An egress listener imports it, or an imported VirtualService routes to it.
        """
        if self.routes_to(entry):
            return True
        inferred = self.inferred_services().get(entry.hostname)
        return inferred is not None and inferred.namespace == entry.namespace

    def routes_to(self, entry: ServiceHost, port: int | None = None) -> bool:
        """Whether the proxy builds virtual hosts and listeners for the entry.

        The entry is one of an egress listener's services (`IstioEgressListenerWrapper.services`;
        for `port`, the egress listener of that port).
        """
        if port is not None:
            return self.listener_for_port(port).imports(entry)
        return any(li.imports(entry) for li in self.listeners)

    def listener_for_port(self, port: int) -> EgressListener:
        """`GetEgressListenerForRDS`: the egress listener of that port, else the catch-all one."""
        for li in self.listeners:
            if li.port is None or li.port == port:
                return li
        return self.listeners[-1]

    def select_virtual_services(
        self, views: Iterable[VirtualServiceView], port: int | None = None
    ) -> list[VirtualServiceView]:
        """The VirtualServices the proxy imports (for `port`: its egress listener's only), in the given order."""
        if port is not None:
            listener = self.listener_for_port(port)
            return [v for v in views if listener.selects(v)]
        return [v for v in views if any(li.selects(v) for li in self.listeners)]

    def inferred_services(self) -> dict[str, ServiceHost]:
        """Services the imported VirtualServices route to that no egress host imports (`collectImportedServices`).

        They get clusters (a route to them works) but no virtual host or listener of their own.
        """
        if self._inferred is not None:
            return self._inferred
        self._inferred = {}  # no recursion: the lookups below ask as a client without a scope
        resolver = self.resolver
        mesh = resolver.mesh
        out: dict[str, ServiceHost] = {}
        plain = Client(self.namespace)
        views = self.select_virtual_services(resolver.virtual_services(self.namespace, MESH))
        for vs in views:
            for host in _destinations(vs, self.namespace, mesh):
                if host in out:
                    continue
                entries = resolver.resolve_host(host, plain).visible
                if any(self.routes_to(e) for e in entries):
                    continue  # the egress hosts name it already: that entry stays
                by_ns = {e.namespace: e for e in entries}
                if not by_ns:
                    continue
                # Default to the config namespace, else the first visible namespace alphabetically
                # (pickFirstVisibleNamespace).
                ns = self.namespace if self.namespace in by_ns else sorted(by_ns)[0]
                out[host] = by_ns[ns]
        self._inferred = out
        return out


def _listener(index: int, egress: Any, namespace: str) -> EgressListener:
    """`convertIstioListenerToWrapper` for one egress listener (None: the default `*/*`)."""
    raw = list(egress.hosts) if egress is not None else ["*/*"]
    hosts: dict[str, _Hosts] = {}
    for h in raw:
        if h.count("/") != 1:
            continue
        ns, _, name = h.partition("/")
        excluded = ns.startswith(EXCLUDE_PREFIX)
        if excluded:
            ns = ns[len(EXCLUDE_PREFIX) :] or WILDCARD_NAMESPACE
        if ns == CURRENT_NAMESPACE:
            ns = namespace
        name = name.lower()
        hc = hosts.setdefault(ns, _Hosts())
        if excluded:
            hc.excluded.append(name)
            continue
        if not is_wildcard(name):
            hc.exact.add(name)
        hc.all.append(name)
    port = egress.port.number if egress is not None and egress.port is not None and egress.port.number else None
    if port is not None and egress is not None and (egress.port.protocol or "").upper() == "HTTP_PROXY":
        port = None  # needsPortMatch: an HTTP_PROXY listener takes every service
    return EgressListener(index, port, hosts)


def _destinations(vs: VirtualServiceView, namespace: str, mesh: Mesh) -> list[str]:
    """`virtualServiceDestinationsFilteredBySourceNamespace`: route destinations of rules that apply to `namespace`."""
    out: list[str] = []
    spec = vs.spec
    for section in (spec.http, spec.tcp, spec.tls):
        for rule in section:
            matches = list(getattr(rule, "match", None) or [])
            sources = [getattr(m, "sourceNamespace", None) for m in matches]
            if matches and not any(not src or src == namespace for src in sources):
                continue
            for dest in getattr(rule, "route", None) or []:
                host = mesh.fqdn(dest.destination.host, vs.namespace)
                if host not in out:
                    out.append(host)
    return out


def sidecar_for(mesh: Mesh, namespace: str, labels: Mapping[str, str]) -> Resource | None:
    """The Sidecar resource that scopes a proxy of `namespace` with `labels` (`doGetSidecarScope`), or None."""
    sidecars = [r for r in mesh.of_kind("Sidecar", partial=False) if r.spec is not None]
    own = sorted(
        (r for r in sidecars if r.namespace == namespace),
        key=lambda r: (r.spec.workloadSelector is None, order_key(r)),  # selectors first, then the oldest
    )
    for r in own:
        selector = r.spec.workloadSelector
        if selector is None:
            return r
        if all(labels.get(k) == v for k, v in (selector.labels or {}).items()):
            return r
    root = mesh.options.root_namespace
    mesh_wide = sorted((r for r in sidecars if r.namespace == root and r.spec.workloadSelector is None), key=order_key)
    return mesh_wide[0] if mesh_wide else None


def client_for(mesh: Mesh, namespace: str, labels: Mapping[str, str] | None = None) -> Client:
    """The resolver's client for a sidecar proxy: its namespace, labels and Sidecar scope (one per proxy)."""
    labels = dict(labels or {})
    key = f"sidecar-client:{namespace}:{sorted(labels.items())}"
    return mesh.memo(key, lambda m: _client(m, namespace, labels))


def _client(mesh: Mesh, namespace: str, labels: dict[str, str]) -> Client:
    res = sidecar_for(mesh, namespace, labels)
    scope = SidecarScope(res, namespace, Resolver.of(mesh)) if res is not None else None
    return Client(namespace, labels, scope=scope)
