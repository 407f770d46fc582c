"""Who sees what: the registry entry, DestinationRule and VirtualServices a proxy gets, with istiod's precedence.

Every command asks here: lint's reference rules, the compiler (and through it `meshc route`,
`diff`, `graph` and `test`). Nothing else decides visibility or precedence.

- `Resolver.resolve_host(host, namespace, port)`: the Service or ServiceEntry a proxy in
  `namespace` uses for a host name. istiod keeps one per host name and proxy
  (pilot/pkg/model/sidecar.go `selectServices` and `appendSidecarServices`, over the creation-ordered
  `servicesExportedToNamespace` of push_context.go): an entry in the proxy's own namespace wins,
  then a Kubernetes Service over a ServiceEntry, then the oldest (creation time, then name, then
  namespace: `SortServicesByCreationTime`). Entries of the winning namespace with the same shape
  are merged (their ports combined: `canMergeServices`).
- `Resolver.destination_rule(host, client)`: the merged DestinationRule a proxy applies to a host
  (push_context.go `destinationRule`, `getExportedDestinationRuleFromNamespace`,
  `setDestinationRules`; destination_rule.go `mergeDestinationRule`; sidecar.go
  `SidecarScope.DestinationRule` for `workloadSelector`).
- `Resolver.virtual_services(namespace, gateway)`: the VirtualServices a proxy of `namespace`
  imports for a gateway (`mesh` for sidecars), in istiod's order.

A `Client` (the proxy's view) carries the namespace and labels; `Client.scope` is where a
Sidecar's egress hosts plug in, and `MeshDefaults` carries the MeshConfig settings the rules read
(root namespace, default exportTo).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, Protocol

import msgspec

from meshc.config import Options
from meshc.hosts import host_subset_of, is_wildcard, most_specific_match
from meshc.mesh import Mesh, Resource, ServiceHost, ServicePort, export_set
from meshc.models.base import shared_set

MESH = "mesh"
"""The gateway name of sidecars (`gateways: [mesh]`)."""
ANY_NAMESPACE = "*"
"""A client namespace no exportTo names: it sees only what is exported to every namespace."""
_EXPORT_OWN = frozenset({"."})
"""The export set of a DestinationRule with a workloadSelector: its own namespace only."""


# --- settings and clients ----------------------------------------------------------------------


class MeshDefaults(msgspec.Struct, frozen=True):
    """The MeshConfig settings resolution reads (Istio's defaults unless the input says otherwise)."""

    root_namespace: str = "istio-system"
    """meshConfig.rootNamespace: DestinationRules there apply to every namespace."""
    destination_rule_export_to: frozenset[str] = frozenset({"*"})
    """meshConfig.defaultDestinationRuleExportTo (only `.` and `*` are honoured, as in istiod)."""
    virtual_service_export_to: frozenset[str] = frozenset({"*"})
    """meshConfig.defaultVirtualServiceExportTo."""

    @classmethod
    def from_options(cls, options: Options) -> MeshDefaults:
        """The settings of a run (today: the root namespace of `Options`)."""
        return cls(root_namespace=options.root_namespace)

    @classmethod
    def of(cls, mesh: Mesh) -> MeshDefaults:
        """The settings of a Mesh: its mesh settings (`Mesh.settings`, `meshc.meshconfig`)."""
        settings = mesh.settings
        return cls(
            root_namespace=mesh.options.root_namespace,
            destination_rule_export_to=frozenset(settings.default_destination_rule_export_to),
            virtual_service_export_to=frozenset(settings.default_virtual_service_export_to),
        )


class EgressScope(Protocol):
    """What a proxy may import beyond exportTo (a Sidecar's `egress[].hosts`); absent means `*/*`."""

    def imports(self, entry: ServiceHost) -> bool:
        """Whether the proxy imports this registry entry."""
        ...


class Client(msgspec.Struct, frozen=True, eq=False):
    """A proxy asking: its namespace and labels, whether it is a gateway, and its egress scope."""

    namespace: str
    labels: Mapping[str, str] = msgspec.field(default_factory=dict)
    gateway: bool = False
    """Gateways take istiod's default gateway scope (`DefaultSidecarScopeForGateway`)."""
    scope: EgressScope | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """What the resolver's caches are keyed by."""
        return (self.namespace, tuple(sorted(self.labels.items())), self.gateway, id(self.scope))


def _client(client: Client | str) -> Client:
    return client if isinstance(client, Client) else Client(client)


def _registry_key(client: Client) -> tuple[Any, ...]:
    """What a client's registry (`Resolver.services`) depends on: `_imports` and `_choose` read no labels.

    Every gateway workload of a namespace shares one (their labels differ).
    """
    return (client.namespace, client.gateway, id(client.scope))


# --- answers -----------------------------------------------------------------------------------


class Resolution(msgspec.Struct, frozen=True):
    """What a host name is for one client."""

    host: str
    """The name asked about, as an FQDN (`reviews` written in `default` → `reviews.default.svc.cluster.local`)."""
    service: ServiceHost | None
    """The entry the proxy uses (with the ports of the entries merged into it); None if it sees none."""
    visible: tuple[ServiceHost, ...] = ()
    """Entries with this exact name the client can see, in istiod's order (the winner's namespace first)."""
    hidden: tuple[ServiceHost, ...] = ()
    """Entries with this exact name the client cannot see (exportTo, Sidecar scope)."""
    port: ServicePort | None = None
    """The asked port of `service`, when a port was asked and the service has it."""


class ConsolidatedRule(msgspec.Struct):
    """DestinationRules of one namespace for one host, merged as istiod merges them (`mergeDestinationRule`)."""

    host: str
    """The resolved host the rules are written for (exact or wildcard)."""
    rules: list[Resource]
    """The first rule, then the rules merged into it (`ConsolidatedDestRule.from`)."""
    export: frozenset[str]
    """The first rule's exportTo as written (`.` kept; a rule with workloadSelector: `{.}`)."""
    selector: Mapping[str, str] | None
    """The first rule's workloadSelector labels (None: no selector)."""
    subsets: dict[str, tuple[Resource, int]] = msgspec.field(default_factory=dict)
    """Subset name → (rule, index in its spec.subsets); a repeated name keeps the first."""
    top: Resource | None = None
    """The first rule with a top-level trafficPolicy: the merged rule's trafficPolicy."""

    def add(self, rule: Resource) -> None:
        """Merge one more rule in: its new subsets, and its trafficPolicy when none is set yet."""
        self.rules.append(rule)
        for i, s in enumerate(rule.spec.subsets):
            self.subsets.setdefault(s.name, (rule, i))
        if self.top is None and rule.spec.trafficPolicy is not None:
            self.top = rule


class _RuleIndex(msgspec.Struct):
    specific: dict[str, list[ConsolidatedRule]] = msgspec.field(default_factory=dict)
    wildcard: dict[str, list[ConsolidatedRule]] = msgspec.field(default_factory=dict)

    def match(self, host: str) -> list[ConsolidatedRule] | None:
        found = most_specific_match(host, self.specific, self.wildcard)
        return found[1] if found is not None else None


# --- ordering ----------------------------------------------------------------------------------


def created(res: Resource) -> str:
    """metadata.creationTimestamp as sortable text ('' when absent: the oldest)."""
    meta = getattr(res.model, "metadata", None)
    ts = getattr(meta, "creationTimestamp", None) if meta is not None else None
    if ts is None:
        return ""
    if isinstance(ts, datetime.datetime):
        return ts.isoformat()
    return str(ts)


def order_key(res: Resource) -> tuple[str, str, str]:
    """Istiod's config order (`sortConfigByCreationTime`): creation time, then name, then namespace."""
    return (created(res), res.name, res.namespace)


def _service_key(entry: ServiceHost) -> tuple[str, str, str]:
    # SortServicesByCreationTime: creation time, then Attributes.Name (a Service's name, a
    # ServiceEntry host: serviceentry/conversion.go), then namespace.
    res = entry.resource
    return (created(res), entry.hostname if entry.is_service_entry else res.name, entry.namespace)


def _dr_key(res: Resource) -> tuple[int, str, str, str]:
    # sortConfigBySelectorAndCreationTime: rules with a workloadSelector first.
    return (0 if res.spec.workloadSelector is not None else 1, *order_key(res))


# --- VirtualServices ---------------------------------------------------------------------------


def resolve_gateway(ref: str, namespace: str, mesh: Mesh) -> str:
    """`mesh`, or `ns/name` of the Gateway a VirtualService reference points to."""
    if ref == MESH:
        return MESH
    ns, name = mesh.gateway_ref(ref, namespace)
    return f"{ns}/{name}"


class VirtualServiceView:
    """A VirtualService with hosts and gateway references resolved (`resolveVirtualServiceShortnames`)."""

    __slots__ = ("export", "gateways", "hosts", "key", "name", "namespace", "res", "spec")

    def __init__(self, res: Resource, mesh: Mesh, defaults: MeshDefaults | None = None) -> None:
        self.res = res
        self.spec = res.spec
        self.namespace = res.namespace
        self.name = res.name
        self.hosts = [mesh.fqdn(h, res.namespace) if h != "*" else "*" for h in self.spec.hosts]
        self.gateways = [resolve_gateway(g, res.namespace, mesh) for g in self.spec.gateways] or [MESH]
        written = self.spec.exportTo or sorted((defaults or MeshDefaults()).virtual_service_export_to)
        self.export = export_set(written, res.namespace)
        self.key = order_key(res)

    def visible_from(self, namespace: str) -> bool:
        """Whether a proxy in `namespace` imports this VirtualService (exportTo)."""
        return "*" in self.export or namespace in self.export

    def group(self, namespace: str) -> int:
        """0: private to `namespace`; 1: exported to it by name; 2: public (`VirtualServicesForGateway`)."""
        if "*" in self.export:
            return 2
        if self.export == frozenset({self.namespace}) and self.namespace == namespace:
            return 0
        return 1


# --- the resolver ------------------------------------------------------------------------------


class Resolver:
    """The one place that decides who sees what; built once per Mesh (`Resolver.of`)."""

    def __init__(self, mesh: Mesh, defaults: MeshDefaults | None = None) -> None:
        self.mesh = mesh
        self.defaults = defaults or MeshDefaults.of(mesh)
        self._services: dict[tuple[Any, ...], dict[str, ServiceHost]] = {}
        self._resolved: dict[tuple[Any, ...], Resolution] = {}
        self._rules: dict[tuple[Any, ...], ConsolidatedRule | None] = {}
        self._views: dict[int, VirtualServiceView] = {}
        """Views by their resource's id (a view holds its resource, so the id stays that resource's)."""
        self._build_rule_index()

    @classmethod
    def of(cls, mesh: Mesh) -> Resolver:
        """The resolver of a Mesh (built on first use, then shared by every caller)."""
        return mesh.memo("resolver", cls)

    @cached_property
    def _entries(self) -> dict[str, list[ServiceHost]]:
        """The registry entries of each host name, in the order a proxy prefers them; built on the first lookup.

        A rule that builds the resolver only for its VirtualService views (MC230 on a file without
        delegation) never reads it; reading `mesh.hosts` is what adds Istio's default ingress gateway
        to a lint's Mesh (`meshc.mesh._WithDefaults`).
        """
        return _with_aliases({h: sorted(entries, key=_service_key) for h, entries in self.mesh.hosts.items()})

    # --- visibility ----------------------------------------------------------------------------

    @staticmethod
    def visible(entry: ServiceHost, namespace: str) -> bool:
        """`IsServiceVisible`: the entry is exported to `namespace` (or to every namespace)."""
        export = entry.export_to
        return "*" in export or namespace in export

    # --- services ------------------------------------------------------------------------------

    def resolve_host(
        self,
        host: str,
        client: Client | str,
        port: int | None = None,
        *,
        written_in: str | None = None,
        literal: bool = False,
    ) -> Resolution:
        """The registry entry `client` uses for `host`.

        A short name is expanded in `written_in` (the namespace of the resource that wrote it),
        else in the client's namespace; with `literal`, it is looked up as written (a request's Host).
        """
        c = _client(client)
        fqdn = host.lower() if literal else self.mesh.fqdn(host, written_in or c.namespace)
        key = (fqdn, port, *c.key)
        found = self._resolved.get(key)
        if found is None:
            entries = self._entries.get(fqdn, ())
            visible, service = self._chosen(entries, c)
            sport = service.port(port) if service is not None and port is not None else None
            hidden = tuple(e for e in entries if e not in visible)
            if service is not None:
                visible.sort(key=lambda e: e.namespace != service.namespace)
            found = self._resolved[key] = Resolution(fqdn, service, tuple(visible), hidden, sport)
        return found

    def resolve_authority(self, hostname: str, client: Client | str) -> Resolution:
        """What a request's Host names for a client: an FQDN, or a short form its sidecar accepts.

        `name` (in the client's namespace), `name.ns` and `name.ns.svc` name a Kubernetes Service
        as the domains of its virtual host do (`generateVirtualHostDomains`).
        """
        c = _client(client)
        hostname = hostname.lower()
        candidates = [self.mesh.fqdn(hostname, c.namespace)]
        parts = hostname.split(".")
        if len(parts) == 2:
            candidates.append(f"{hostname}.svc.{self.mesh.domain}")
        elif len(parts) == 3 and parts[2] == "svc":
            candidates.append(f"{hostname}.{self.mesh.domain}")
        found = [self.resolve_host(name, c) for name in candidates]
        if hostname not in candidates:
            # A ServiceEntry host is literal: `ext-db` is the domain of the ServiceEntry `ext-db`
            # (while a VirtualService that writes `ext-db` means `ext-db.<its namespace>.svc...`).
            found.append(self.resolve_host(hostname, c, literal=True))
        return next((r for r in found if r.service is not None), None) or next((r for r in found if r.hidden), found[0])

    def services(self, client: Client | str) -> dict[str, ServiceHost]:
        """Every host name the client's proxy knows, with the entry it uses (`SidecarScope.servicesByHostname`)."""
        c = _client(client)
        key = _registry_key(c)
        found = self._services.get(key)
        if found is None:
            found = {}
            for hostname, entries in self._entries.items():
                chosen = self._chosen(entries, c)[1]
                if chosen is not None:
                    found[hostname] = chosen
            self._services[key] = found
        return found

    def wildcards_covering(
        self, host: str, client: Client | str, *, written_in: str | None = None
    ) -> list[ServiceHost]:
        """Visible wildcard ServiceEntry hosts that cover `host`, most specific first.

        istiod routes only to exact registry names; `istioctl analyze` (`GetDestinationHost`) also
        accepts a name a wildcard ServiceEntry covers, so the reference rules ask this too.
        """
        c = _client(client)
        fqdn = self.mesh.fqdn(host, written_in or c.namespace)
        out = [
            e
            for e in self.mesh.wildcard_hosts
            if e.hostname != fqdn and host_subset_of(fqdn, e.hostname) and self._imports(e, c)
        ]
        out.sort(key=lambda e: -len(e.hostname))
        return out

    def is_cluster_local(self, host: str, namespace: str) -> bool:
        """Whether `host`, written in `namespace`, names something inside the cluster.

        True for `*.svc.<domain>` names (short names included), Kubernetes Services and
        `MESH_INTERNAL` ServiceEntries.
        """
        mesh = self.mesh
        if mesh.fqdn(host, namespace).endswith(f".svc.{mesh.domain}"):
            return True
        found = self.resolve_host(host, namespace)
        service = found.service
        if service is None:
            covering = self.wildcards_covering(host, namespace)
            service = covering[0] if covering else None
        if service is None:
            return False
        return not service.is_service_entry or service.resource.spec.location == "MESH_INTERNAL"

    def _imports(self, entry: ServiceHost, client: Client) -> bool:
        if not self.visible(entry, client.namespace):
            return False
        return client.scope is None or client.scope.imports(entry)

    def _chosen(self, entries: Iterable[ServiceHost], client: Client) -> tuple[list[ServiceHost], ServiceHost | None]:
        """The entries of one host name the client imports, and the one it uses (None: none visible).

        The one choice `resolve_host`, `services` and `destination_rule` all read.
        """
        visible = [e for e in entries if self._imports(e, client)]
        return visible, (self._choose(visible, client) if visible else None)

    def _choose(self, visible: list[ServiceHost], client: Client) -> ServiceHost:
        """The entry a proxy keeps among the visible entries of one host name (creation-ordered)."""
        ns = client.namespace
        # servicesExportedToNamespace: entries exported to the namespace by name (or private to it)
        # come first, then the public ones; each list in creation order.
        ordered = [e for e in visible if "*" not in e.export_to] + [e for e in visible if "*" in e.export_to]
        if client.gateway:
            # DefaultSidecarScopeForGateway: appendSidecarServices over that order, no namespace preference.
            return _append_services(ordered)
        # selectServices (UnifiedSidecarScoping): one namespace per host name: the client's own,
        # else a Kubernetes Service's (unless that would preempt the client's own namespace), else the first.
        chosen_ns, chosen_kube = ordered[0].namespace, not ordered[0].is_service_entry
        for e in ordered[1:]:
            kube = not e.is_service_entry
            if e.namespace == ns or (not chosen_kube and kube and chosen_ns != ns):
                chosen_ns, chosen_kube = e.namespace, kube
        return _append_services([e for e in ordered if e.namespace == chosen_ns])

    # --- DestinationRules -------------------------------------------------------------------------

    def _build_rule_index(self) -> None:
        """`setDestinationRules`: rules indexed by namespace, local and exported, merged per host."""
        root = self.defaults.root_namespace
        self._local: dict[str, _RuleIndex] = defaultdict(_RuleIndex)
        self._exported: dict[str, _RuleIndex] = defaultdict(_RuleIndex)
        self._root_local = _RuleIndex()
        rules = [r for r in self.mesh.of_kind("DestinationRule", partial=False) if r.spec is not None and r.spec.host]
        for r in sorted(rules, key=_dr_key):
            ns = r.namespace
            host = self.mesh.fqdn(r.spec.host, ns)
            selector = r.spec.workloadSelector
            # A rule with a workloadSelector is never exported to other namespaces.
            export = shared_set(
                frozenset(v.strip() for v in r.spec.exportTo if v.strip()) if selector is None else _EXPORT_OWN
            )
            if not export or "*" in export or "." in export or ns in export:
                _merge_rule(self._local[ns], host, r, export)
            private_only = (not export and "." in self.defaults.destination_rule_export_to) or (
                len(export) == 1 and ("." in export or ns in export)
            )
            if not private_only:
                _merge_rule(self._exported[ns], host, r, export)
            elif ns == root:
                _merge_rule(self._root_local, host, r, export)

    def destination_rule(
        self, host: str, client: Client | str, *, service_namespace: str | None = None
    ) -> ConsolidatedRule | None:
        """The merged DestinationRule a proxy applies to traffic for registry host `host` (an FQDN).

        Only hosts the proxy knows get one, as in istiod (the rules are selected per service of the
        proxy's scope). `service_namespace` stands in for the Service's namespace when the input
        does not hold it (lint of a repository whose Services live elsewhere).
        """
        c = _client(client)
        host = host.lower()
        key = (host, service_namespace, *c.key)
        if key in self._rules:
            return self._rules[key]
        fqdn = self.mesh.fqdn(host, c.namespace)
        known = self._services.get(_registry_key(c))
        # The entry `resolve_host` gives: from the client's registry when `services` has made it.
        service = known.get(fqdn) if known is not None else self._chosen(self._entries.get(fqdn, ()), c)[1]
        svc_ns = service.namespace if service is not None else service_namespace
        found = None
        if service is not None or service_namespace is not None:
            found = _pick_rule(self._rule_candidates(host, c.namespace, svc_ns), c)
        self._rules[key] = found
        return found

    def destination_rules(self, host: str, namespace: str, labels: Mapping[str, str] | None = None) -> list[Resource]:
        """The DestinationRules that apply to traffic from a workload (`namespace`, `labels`) to `host`, merge order."""
        found = self.destination_rule(host, Client(namespace, dict(labels or {})))
        return list(found.rules) if found is not None else []

    def _rule_candidates(self, host: str, namespace: str, svc_ns: str | None) -> list[ConsolidatedRule]:
        """`PushContext.destinationRule`: the proxy's namespace, the service's, then the root namespace."""
        root = self.defaults.root_namespace
        # 1. the proxy's namespace (every rule visible there); in the root namespace, its private rules
        local = self._local.get(namespace) if namespace != root else self._root_local
        if local is not None:
            found = local.match(host)
            if found is not None:
                return found
        # 2-4. rules exported to the proxy: the service's namespace, then the root namespace
        for owner in (svc_ns, root):
            if owner is None:
                continue
            index = self._exported.get(owner)
            found = index.match(host) if index is not None else None
            if found:
                out = [cr for cr in found if not cr.export or "*" in cr.export or namespace in cr.export]
                if out:
                    return out
        return []

    # --- VirtualServices ---------------------------------------------------------------------------

    def view(self, res: Resource) -> VirtualServiceView:
        """The resolved view of one VirtualService (built once)."""
        found = self._views.get(id(res))
        if found is None:
            found = self._views[id(res)] = VirtualServiceView(res, self.mesh, self.defaults)
        return found

    def virtual_services(
        self, namespace: str, gateway: str, *, within: Iterable[Resource] | None = None
    ) -> list[VirtualServiceView]:
        """VirtualServices bound to `gateway` that a proxy of `namespace` imports, in istiod's order.

        Gateway API routes of `namespace` first, then private ones, then those exported to the
        namespace by name, then public ones; each group in creation order
        (`VirtualServicesForGateway`, `SelectVirtualServices`). Delegates
        (no hosts) are left out.
        """
        pool = within if within is not None else (r for r in self.mesh.of_kind("VirtualService") if r.spec is not None)
        views = [self.view(r) for r in pool]
        # With PILOT_UNIFIED_SIDECAR_SCOPE (istiod's default), Gateway API routes of the proxy's own
        # namespace come first, the "consumer override" (SelectVirtualServices' gwExact pass).
        return sorted(
            (v for v in views if gateway in v.gateways and v.hosts and v.visible_from(namespace)),
            key=lambda v: (not (v.res.gateway_semantics and v.namespace == namespace), v.group(namespace), v.key),
        )


def _with_aliases(entries: dict[str, list[ServiceHost]]) -> dict[str, list[ServiceHost]]:
    """`resolveServiceAliases` (push_context.go): the services `ExternalName` Services point to list them.

    Chains of aliases are followed to the concrete service (loops are dropped); the aliases are
    sorted by namespace and name.
    """
    raw: dict[str, tuple[str, str]] = {}
    for found in entries.values():
        for e in found:
            if e.alias_of:
                raw[e.hostname] = (e.namespace, e.alias_of)
    if not raw:
        return entries
    concrete_of: dict[str, list[tuple[str, str]]] = {}
    for alias, (ns, target) in raw.items():
        seen = {alias}
        while target in raw and target not in seen:
            seen.add(target)
            target = raw[target][1]
        if target in raw:
            continue  # a loop: Kubernetes answers NXDOMAIN, as if it did not exist
        concrete_of.setdefault(target, []).append((ns, alias))
    out = dict(entries)
    for target, aliases in concrete_of.items():
        names = tuple(h for _, h in sorted(aliases))
        if target in out:
            out[target] = [msgspec.structs.replace(e, aliases=names) for e in out[target]]
    return out


def _append_services(ordered: list[ServiceHost]) -> ServiceHost:
    """`appendSidecarServices` for one host name: the first entry, Kubernetes first, mergeable ports merged."""
    current = ordered[0]
    merged: list[tuple[int, ServiceHost]] = []
    for e in ordered[1:]:
        if not current.is_service_entry and e.is_service_entry:
            continue  # a Kubernetes Service is never merged with another registry's entry
        if current.is_service_entry and not e.is_service_entry:
            current, merged = e, []  # a Kubernetes Service replaces a ServiceEntry of the same name
            continue
        if not _can_merge(current, e):
            continue
        known = {p.number for p in current.ports} | {n for n, _ in merged}
        merged.extend((p.number, e) for p in e.ports if p.number not in known)
    if not merged:
        return current
    ports = list(current.ports) + [p for n, e in merged if (p := e.port(n)) is not None]
    return msgspec.structs.replace(current, ports=ports, merged=tuple(merged))


def _can_merge(a: ServiceHost, b: ServiceHost) -> bool:
    """`canMergeServices`: same namespace, registry, resolution, labels, selector and exportTo."""
    if a.namespace != b.namespace or a.is_service_entry != b.is_service_entry:
        return False
    ra, rb = a.resource, b.resource
    if a.is_service_entry and (ra.spec.resolution or "NONE") != (rb.spec.resolution or "NONE"):
        return False
    return (
        dict(ra.labels) == dict(rb.labels)
        and dict(a.selector or {}) == dict(b.selector or {})
        and a.export_to == b.export_to
    )


def _merge_rule(index: _RuleIndex, host: str, rule: Resource, export: frozenset[str]) -> None:
    """`mergeDestinationRule` (with ENABLE_ENHANCED_DESTINATIONRULE_MERGE, istiod's default)."""
    table = index.wildcard if is_wildcard(host) else index.specific
    selector = rule.spec.workloadSelector
    labels = dict(selector.matchLabels) if selector is not None else None
    existing = table.get(host)
    if existing is None:
        table[host] = [_consolidated(host, rule, export, labels)]
        return
    separately = True
    for cr in existing:
        if export == cr.export:
            separately = False
        elif cr.export and export >= cr.export:
            separately = True
        else:
            separately = True
            continue
        both_with = labels is not None and cr.selector is not None
        if both_with and dict(cr.selector or {}) != labels:
            separately = True
            continue
        if (labels is None and cr.selector is None) or both_with:
            separately = False
        # Note: a rule without selector whose exportTo equals a selector rule's (`.`) is merged into
        # it and not kept on its own, exactly as istiod does.
        cr.add(rule)
    if separately:
        existing.append(_consolidated(host, rule, export, labels))


def _consolidated(
    host: str, rule: Resource, export: frozenset[str], labels: Mapping[str, str] | None
) -> ConsolidatedRule:
    out = ConsolidatedRule(host, [], export, labels)
    out.add(rule)
    return out


def _pick_rule(candidates: list[ConsolidatedRule], client: Client) -> ConsolidatedRule | None:
    """`SidecarScope.DestinationRule`: a matching workloadSelector rule of the proxy's namespace, else the catch-all."""
    catch_all = None
    for cr in candidates:
        if cr.selector is None:
            catch_all = cr
        elif cr.rules[0].namespace == client.namespace and all(
            client.labels.get(k) == v for k, v in cr.selector.items()
        ):
            return cr
    return catch_all
