"""Compile the Mesh into the IR: every Istio default, name and route order is decided here, once.

The passes follow istiod (`pilot/pkg/networking/core`): contexts (the sidecar of a client namespace,
and one per gateway workload), listeners per port, route tables per listener, virtual hosts per
host, routes per VirtualService match block, then the clusters the routes use with their resolved
DestinationRule policy, then the security policies of each workload. translation.md §1 and §4 give
the rules; comments name the istiod function a step mirrors where it is not obvious.

`Scope` narrows a compile to what `meshc route` needs (one context, one port, the virtual hosts
that could serve one host and the clusters they use). Every decision that shapes a route table
(which services and VirtualServices a proxy has, which virtual hosts exist, which domains each
keeps) is still taken over the whole mesh; only the virtual hosts whose domains cannot match the
asked host are left out. tests/test_route_slice.py checks that `meshc route` answers exactly as
the full IR does.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from meshc import ir
from meshc.delegation import dropped_because, find_delegate, merge_matches
from meshc.hosts import (
    domain_matches,
    host_matches,
    host_subset_of,
    is_ip,
    is_wildcard,
    most_specific_match,
    split_host,
)
from meshc.mesh import UNSPECIFIED_IP, Mesh, Resource, ServiceHost
from meshc.models.base import Duration
from meshc.models.networking import is_http_protocol, is_tls_protocol
from meshc.resolve import (
    MESH,
    Client,
    ConsolidatedRule,
    Resolver,
    VirtualServiceView,
    order_key,
    resolve_gateway,
)
from meshc.sidecar import SidecarScope, client_for
from meshc.source import no_gc

DEFAULT_RETRY_ON = ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"]


def _status_code(token: str) -> bool:
    """`parseRetryOn`'s test for a status code: an integer Go's `http.StatusText` knows."""
    import http

    if not token.isdigit():
        return False
    try:
        http.HTTPStatus(int(token))
    except ValueError:
        return False
    return True


DEFAULT_SPACE_DELIMITED_CLAIMS = ("permission", "scope")
"""Claims istiod always lists in `normalize_payload_in_metadata.space_delimited_claims`."""


def space_delimited_claims(listed: Iterable[str]) -> list[str]:
    """The claims Envoy splits at spaces: the rule's and `permission` and `scope`, sorted, no repeats.

    As `buildSpaceDelimitedClaims` (pilot/pkg/security/authn/policy_applier.go); the two defaults
    alone when the rule lists none.
    """
    given = list(listed)
    if not given:
        return list(DEFAULT_SPACE_DELIMITED_CLAIMS)
    return sorted({*given, *DEFAULT_SPACE_DELIMITED_CLAIMS})


DISABLE_PORT_TRANSLATION = "experimental.istio.io/disable-gateway-port-translation"
"""A gateway Service with this label keeps Gateway server ports as they are (gateway.go)."""
GATEWAY_SERVICE = "internal.istio.io/gateway-service"
"""istiod's annotation naming a Gateway's Services (comma-separated hostnames); set for the Gateways it
derives from Gateway API ones, whose ports follow those Services only (model/gateway.go)."""
INGRESS_SELECTORS = ({"istio": "ingressgateway"}, {"istio": "egressgateway"})
REDIRECT_CODES = {0: 301, 301: 301, 302: 302, 303: 303, 307: 307, 308: 308}


@dataclass(frozen=True)
class Scope:
    """What to compile: everything (the default), or the slice one request needs."""

    source_namespace: str = "default"
    """Namespace of the client sidecar (short names, exportTo, `sourceNamespace` matches)."""
    source_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the client workload (`sourceLabels` matches)."""
    context: str | None = None
    """None: every context; `mesh`: the sidecar only; `ns/name`: the context serving that Gateway."""
    host: str | None = None
    """Only the virtual hosts whose domains can serve this host (and the clusters they use)."""
    port: int | None = None
    """Only listeners on this port."""


# --- small helpers -----------------------------------------------------------------------------


def cluster_name(port: int | str, subset: str | None, host: str) -> str:
    """Istio's outbound cluster name `outbound|PORT|SUBSET|FQDN` (`model.BuildSubsetKey`).

    Interned: the IR holds a cluster's name once for the cluster and once per route to it.
    """
    return sys.intern(f"outbound|{port}|{subset or ''}|{host}")


def _origin(res: Resource, loc: tuple[str | int, ...] = ()) -> ir.Origin:
    if res.doc is None:
        return ir.Origin(res.kind, res.namespace, res.name, _field(loc))
    # Document.span, the one place every command takes positions from, when the line is first read.
    return ir.Origin.located(res.doc, loc, res.kind, res.namespace, res.name, _field(loc))


@functools.lru_cache(maxsize=4096)
def _field(loc: tuple[str | int, ...]) -> str:
    """`spec.http[0].route` of a field path; remembered: every VirtualService has the same few."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _duration(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is Duration:
        return _envoy_duration(value)
    envoy = getattr(value, "envoy", None)
    return envoy if envoy is not None else str(value)


@functools.lru_cache(maxsize=4096)
def _envoy_duration(value: Duration) -> str:
    """`Duration.envoy`, remembered: a mesh writes the same few durations (a Duration is frozen, equal by value)."""
    return value.envoy


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    return int(getattr(value, "seconds", 0))


def _percent(p: Any) -> float:
    """Istio `Percent` → float (unset value → 0)."""
    value = getattr(p, "value", None)
    return float(value) if value is not None else 0.0


def _header_ops(ops: Any) -> tuple[ir.HeaderOps, str | None]:
    """(operations, authority) of one HeaderOperations (`TranslateHeadersOperations`)."""
    if ops is None:
        return ir.NO_HEADER_OPS, None
    authority = None
    set_: list[ir.HeaderValue] = []
    add: list[ir.HeaderValue] = []
    for target, values in ((set_, ops.set), (add, ops.add)):
        for key in sorted(values):
            if key.lower() in (":authority", "host") and (target is set_ or authority is None):
                authority = values[key]
            if key.startswith(":") or key.lower() == "host":
                continue
            target.append(ir.HeaderValue(key, values[key]))
    # `set` wins over `add` for the authority.
    set_auth = next((ops.set[k] for k in sorted(ops.set) if k.lower() in (":authority", "host")), None)
    if set_auth is not None:
        authority = set_auth
    remove = [k for k in ops.remove if not (k.startswith(":") or k.lower() == "host")]
    if not (set_ or add or remove):
        return ir.NO_HEADER_OPS, authority
    return ir.HeaderOps(set_, add, remove), authority


def _merge_ops(a: ir.HeaderOps, b: ir.HeaderOps) -> ir.HeaderOps:
    if b == ir.NO_HEADER_OPS:
        return a
    if a == ir.NO_HEADER_OPS:
        return b
    return ir.HeaderOps([*a.set, *b.set], [*a.add, *b.add], [*a.remove, *b.remove])


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# --- VirtualServices ------------------------------------------------------------------------------


_VS = VirtualServiceView


@dataclass
class _Item:
    """A route or a skipped match block of one VirtualService, in the order they were produced."""

    route: ir.Route | None = None
    skipped: ir.SkippedMatch | None = None


# --- sidecar listeners ------------------------------------------------------------------------------


def _listener_protocol(protocol: str | None) -> str | None:
    """`ModelProtocolToListenerProtocol`: HTTP, TCP (TCP, TLS, HTTPS, Mongo, ...), AUTO (sniffed), None (UDP)."""
    if protocol is None:
        return "AUTO"
    if is_http_protocol(protocol):
        return "HTTP"
    if protocol.upper() == "UDP":
        return None
    return "TCP"


@dataclass
class _ChainPlan:
    """A sidecar filter chain before it is built: what selects it and where it goes."""

    kind: str
    """`http`, `tcp` or `tls`."""
    sni: list[str] = field(default_factory=list)
    cidrs: list[str] = field(default_factory=list)
    alpn: tuple[str, ...] = ()
    table: str | None = None
    """HTTP: a route table of its own (`host:port`, a sniffed port on a service address)."""
    service: ServiceHost | None = None
    port: Any = None
    """TCP/TLS without VirtualService: the service port whose cluster takes the connection."""
    vs: tuple[_VS, str, int, int | None] | None = None
    """TCP/TLS: (VirtualService, `tcp`/`tls`, rule index, match index) whose routes take it."""

    def match_key(self) -> tuple[Any, ...]:
        """What Envoy selects the chain by; two chains with one key conflict (`conflictsWith`)."""
        return (tuple(sorted(self.sni)), tuple(sorted(self.cidrs)), self.alpn)


@dataclass
class _ListenerEntry:
    """The chains planned for one (address, port) of a sidecar (`outboundListenerEntry`)."""

    protocol: str
    chains: list[_ChainPlan]

    def merge(self, incoming: list[_ChainPlan]) -> None:
        """`mergeTCPFilterChains`: a chain whose match an earlier chain already has is dropped."""
        for chain in incoming:
            if all(c.match_key() != chain.match_key() for c in self.chains):
                self.chains.append(chain)


def _matches_all(chain: ir.FilterChain) -> bool:
    """A chain without any match condition (`filterChainOpts.isMatchAll`)."""
    return not (chain.server_names or chain.destination_cidrs or chain.application_protocols)


# --- the compiler -----------------------------------------------------------------------------------


@dataclass
class _Gateway:
    """A Gateway resource with its servers."""

    res: Resource
    key: str
    """`ns/name`."""


@dataclass
class _ContextPlan:
    """A context before compilation: who it is and which Gateways it serves."""

    name: str
    kind: str
    namespace: str
    labels: dict[str, str]
    gateways: list[_Gateway]
    namespace_reason: str | None = None


@dataclass
class _State:
    """Per-context compile state."""

    plan: _ContextPlan
    client: Client
    """The proxy as the resolver sees it (namespace, labels, gateway or sidecar)."""
    services: dict[str, ServiceHost]
    """The registry entry the proxy uses for each host name (`Resolver.services`)."""
    clusters: dict[str, ir.Cluster | None] = field(default_factory=dict)
    """Clusters by name (None: referenced but unknown)."""
    rules: dict[str, ConsolidatedRule] = field(default_factory=dict)
    """`Compiler.merged_rules` by host: the resolver's answer for this proxy, asked once per host (routes,
    clusters and hash policies all ask it)."""
    hashes: dict[tuple[str, str | None, int | None], ir.HashPolicy | None] = field(default_factory=dict)
    """`Compiler.destination_hash` by (host, subset, port)."""


class Compiler:
    """Mesh → IR. One instance per compile; `compile()` runs the passes."""

    def __init__(self, mesh: Mesh, scope: Scope | None = None) -> None:
        self.mesh = mesh
        self.scope = scope or Scope()
        self.notes: dict[tuple[Any, ...], ir.Note] = {}
        self.policies: dict[tuple[str, int, int, str], Any] = {}
        """DestinationRule blocks already made (`policy`)."""
        self.port_maps: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, int]] = {}
        """`gateway_port_map` by workload (namespace, labels)."""
        self.policy_sets: dict[tuple[int, int, int], list[tuple[str, Any]]] = {}
        """`apply_policy`'s blocks by (top-level rule, port, subset policy) ids."""
        self.default_retries: dict[bool, ir.RetryPolicy | None] = {}
        """`retry_policy(None, consistent_hash)` by `consistent_hash`, made once."""
        self.resolver = Resolver.of(mesh)
        self.host_filter = self.scope.host.lower().rsplit(":", 1)[0] if self.scope.host else None
        if self.scope.host and self.scope.host.startswith("["):
            self.host_filter = self.scope.host.lower()
        self.vs_resources = {(r.namespace, r.name): r for r in mesh.of_kind("VirtualService") if r.spec is not None}
        self._origins: dict[int, ir.Origin] = {}
        """`origin` by resource id: a whole resource's origin is the same object wherever the IR names it."""

    def origin(self, res: Resource) -> ir.Origin:
        """`_origin(res)`, made once per resource.

        A Service's origin is in each of its clusters, a DestinationRule's in each cluster it applies
        to. The IR is read-only once compiled, and the Mesh (whose resources are the keys) outlives
        the compile.
        """
        found = self._origins.get(id(res))
        if found is None:
            found = self._origins[id(res)] = _origin(res)
        return found

    def _asked(self, domain: str) -> bool:
        """Whether a vhost with this domain can answer the host a narrowed compile asks about (always, unnarrowed)."""
        return self.host_filter is None or domain_matches(domain, self.host_filter)

    def virtual_service(self, namespace: str, name: str) -> _VS | None:
        """The VirtualService `namespace/name` (delegates included), resolved on first use."""
        res = self.vs_resources.get((namespace, name))
        return self.resolver.view(res) if res is not None else None

    # --- entry point ------------------------------------------------------------------------------

    def compile(self) -> ir.IR:
        """Run every pass and return the IR."""
        contexts: list[ir.Context] = []
        for plan in self.plans():
            contexts.append(self.context(plan))
        notes = sorted(
            self.notes.values(),
            key=lambda n: (
                (n.origin.file or "") if n.origin else "",
                (n.origin.line or 0) if n.origin else 0,
                n.code,
                n.message,
            ),
        )
        return ir.IR(contexts, self.mesh.domain, notes)

    def note(self, code: str, message: str, origin: ir.Origin | None, context: str | None = None) -> None:
        """Record something compile could not decide (deduplicated)."""
        key = (code, message, origin.file if origin else None, origin.line if origin else None, context)
        self.notes.setdefault(key, ir.Note(code, message, origin, context))

    # --- contexts ---------------------------------------------------------------------------------

    def plans(self) -> list[_ContextPlan]:
        """The contexts to compile: the sidecar, then one per gateway workload (sorted by name)."""
        wanted = self.scope.context
        out: list[_ContextPlan] = []
        if wanted in (None, MESH):
            out.append(_ContextPlan(MESH, "sidecar", self.scope.source_namespace, dict(self.scope.source_labels), []))
        if wanted == MESH:
            return out
        groups: dict[tuple[str, tuple[tuple[str, str], ...]], _ContextPlan] = {}
        for res in self.mesh.of_kind("Gateway"):
            if res.spec is None:
                continue
            selector = dict(res.spec.selector or {})
            ns, reason, labels = self._gateway_workload(res, selector)
            key = (ns, tuple(sorted(selector.items())))
            plan = groups.get(key)
            if plan is None:
                name = f"gateway:{ns}/{_labels_text(selector)}"
                plan = _ContextPlan(name, "gateway", ns, labels, [], reason)
                groups[key] = plan
            plan.gateways.append(_Gateway(res, f"{res.namespace}/{res.name}"))
        for plan in sorted(groups.values(), key=lambda p: p.name):
            plan.gateways.sort(key=lambda g: order_key(g.res))
            if wanted is None or any(g.key == wanted for g in plan.gateways):
                out.append(plan)
        return out

    def _gateway_workload(self, res: Resource, selector: dict[str, str]) -> tuple[str, str, dict[str, str]]:
        """(namespace, how it was decided, labels) of the workload a Gateway selects."""
        found = self.mesh.workloads_matching(selector) if selector else []
        if found:
            namespaces = sorted({w.namespace for w in found})
            ns = res.namespace if res.namespace in namespaces else namespaces[0]
            w = next(w for w in found if w.namespace == ns)
            return ns, f"{w.resource.kind} {w.namespace}/{w.resource.name} matches the selector", dict(w.labels)
        if selector in INGRESS_SELECTORS:
            root = self.mesh.options.root_namespace
            return root, f"assumed: Istio's default gateway runs in `{root}`", dict(selector)
        return res.namespace, "assumed: no workload in the input matches the selector", dict(selector)

    def context(self, plan: _ContextPlan) -> ir.Context:
        """Compile one context."""
        if plan.kind == "sidecar":
            client = client_for(self.mesh, plan.namespace, plan.labels)  # with the Sidecar that scopes it
        else:
            client = Client(plan.namespace, plan.labels, gateway=True)
        state = _State(plan, client, self.resolver.services(client))
        listeners = self.sidecar_listeners(state) if plan.kind == "sidecar" else self.gateway_listeners(state)
        if self.host_filter is None and plan.kind == "sidecar":
            # A full compile has a cluster per service port and subset, as istiod builds them.
            for svc in sorted(state.services.values(), key=lambda s: s.hostname):
                for p in svc.ports:
                    if (p.protocol or "").upper() == "UDP":
                        continue
                    self.cluster(state, svc.hostname, p.number, None)
                    merged = self.merged_rules(state, svc.hostname)
                    for subset in merged.subsets:
                        self.cluster(state, svc.hostname, p.number, subset)
            # ... and Istio's own clusters for traffic outside the registry (cluster.go `BuildClusters`).
            for name in (ir.BLACKHOLE_CLUSTER, ir.PASSTHROUGH_CLUSTER):
                self.builtin_cluster(state, name)
            if self.outbound_mode(state) == "ALLOW_ANY_DYNAMIC_DNS":
                self.builtin_cluster(state, ir.DYNAMIC_DNS_CLUSTER)
        clusters = sorted(
            (c for c in state.clusters.values() if c is not None), key=lambda c: (c.host, c.port, c.subset or "")
        )
        providers, policies = self.security(plan)
        ctx = ir.Context(
            plan.name,
            plan.kind,  # type: ignore[arg-type]
            plan.namespace,
            plan.labels,
            [_origin(g.res) for g in plan.gateways],
            plan.namespace_reason,
            listeners,
            clusters,
            providers,
            policies,
        )
        if plan.kind == "gateway":
            ctx.port_map = self.gateway_port_map(plan)
            for gw in plan.gateways:
                named = self.gateway_service_ports(plan, gw)
                for k, v in (named or {}).items():
                    if k != v:
                        ctx.port_map.setdefault(k, v)
        if plan.kind == "sidecar":
            scope = self.sidecar_scope(state)
            ctx.outbound_traffic_policy = self.outbound_mode(state)
            if scope is not None and scope.outbound_traffic_policy is not None:
                ctx.outbound_traffic_policy_from = scope.described
            else:
                ctx.outbound_traffic_policy_from = self.mesh.settings.source
            if scope is not None:
                ctx.sidecar = _origin(scope.resource)
            for svc in sorted(state.services.values(), key=lambda s: s.hostname):
                address = svc.address
                if address == UNSPECIFIED_IP or "/" in address or svc.hostname.startswith("*"):
                    continue  # no one address: a range, or none
                for name in self.service_domains(svc, plan.namespace):
                    if self.host_filter is None or name == self.host_filter:
                        ctx.addresses.setdefault(name, address)
        return ctx

    # --- sidecar ------------------------------------------------------------------------------------

    def sidecar_listeners(self, state: _State) -> list[ir.Listener]:
        """The outbound listeners of a sidecar, then `virtualOutbound` (listener.go `buildSidecarOutboundListeners`).

        Every visible service port gets a listener by its protocol (`ModelProtocolToListenerProtocol`):
        HTTP ports share `0.0.0.0_PORT`, whose HTTP chain (route table `PORT`) takes plain HTTP;
        TCP and TLS ports listen on the service's address (`0.0.0.0` without one) with a TCP proxy
        chain; sniffed ports (no protocol) get both chains. Services that meet on one address and
        port merge their chains (`buildSidecarOutboundListener`). A connection no chain takes gets the
        passthrough chain of the outbound traffic policy, and a port no listener has goes to
        `virtualOutbound`.
        """
        vss = self.mesh_virtual_services(state)
        entries: dict[tuple[str, int], _ListenerEntry] = {}
        services = sorted(state.services.values(), key=lambda s: (order_key(s.resource), s.hostname))
        for svc in services:
            for p in svc.ports:
                if svc.alias_of is not None:
                    continue  # an ExternalName alias gets no listener (`buildSidecarOutboundListener`)
                if (self.scope.port is None or p.number == self.scope.port) and self.routable(state, svc, p.number):
                    self._plan_listener(state, entries, svc, p, vss)
        if self.scope.port in (None, 80) and any(not any(h in state.services for h in v.hosts) for v in vss):
            # VirtualService hosts outside the registry live on port 80 (istiod's "gross HACK").
            self._merge(entries, ("0.0.0.0", 80), "HTTP", [_ChainPlan("http", alpn=ir.PLAINTEXT_HTTP_ALPNS)])
        tables: dict[int, list[ir.VirtualHost]] = {}
        listeners = []
        for (bind, port), entry in sorted(entries.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            chains = [self._sidecar_chain(state, vss, plan, bind, port, tables) for plan in entry.chains]
            listeners.append(self._finish_listener(state, f"{bind}_{port}", bind, port, chains))
        listeners.append(self.virtual_outbound(state))
        return listeners

    def mesh_virtual_services(self, state: _State, port: int | None = None) -> list[_VS]:
        """The VirtualServices bound to `mesh` the sidecar imports (its Sidecar's `SelectVirtualServices`)."""
        vss = self.resolver.virtual_services(state.plan.namespace, MESH, within=self.vs_resources.values())
        scope = self.sidecar_scope(state)
        return vss if scope is None else scope.select_virtual_services(vss, port)

    def routable(self, state: _State, svc: ServiceHost, port: int | None = None) -> bool:
        """Whether the sidecar builds listeners and virtual hosts for the service.

        Its Sidecar's egress listener for `port` must import it; a service an imported VirtualService
        routes to only gets clusters.
        """
        scope = self.sidecar_scope(state)
        return scope is None or scope.routes_to(svc, port)

    def _plan_listener(
        self,
        state: _State,
        entries: dict[tuple[str, int], _ListenerEntry],
        svc: ServiceHost,
        port: Any,
        vss: list[_VS],
    ) -> None:
        """One service port's listener and chains, merged into `entries` (`buildSidecarOutboundListener`)."""
        protocol = _listener_protocol(port.protocol)
        if protocol is None:
            return
        address = svc.address
        cidrs: list[str] = []
        if protocol == "HTTP":
            bind = UNSPECIFIED_IP
        elif "/" in address:
            bind, cidrs = UNSPECIFIED_IP, [address]  # a CIDR: the wildcard listener, a chain per range
        else:
            bind = address
        chains: list[_ChainPlan] = []
        if protocol in ("TCP", "AUTO"):
            chains += self._tcp_chain_plans(state, svc, port, bind, cidrs, vss)
        if protocol in ("HTTP", "AUTO"):
            # buildSidecarOutboundHTTPListenerOpts: a sniffed port on a service address has a route
            # table of its own (`host:port`); the others share the port's.
            table = f"{svc.hostname}:{port.number}" if protocol == "AUTO" and bind != UNSPECIFIED_IP else None
            alpn = ir.PLAINTEXT_HTTP_ALPNS if bind == UNSPECIFIED_IP or protocol == "AUTO" else ()
            chains.append(_ChainPlan("http", alpn=alpn, table=table, service=svc))
        self._merge(entries, (bind, port.number), protocol, chains)

    @staticmethod
    def _merge(
        entries: dict[tuple[str, int], _ListenerEntry], key: tuple[str, int], protocol: str, chains: list[_ChainPlan]
    ) -> None:
        """The conflict rules of `buildSidecarOutboundListener` (HTTP over TCP, TCP over auto, ...)."""
        # An HTTP listener on the wildcard also carries the passthrough chain: it counts as sniffed.
        current = entries.get(key)
        kind = "AUTO" if protocol == "HTTP" and key[0] == UNSPECIFIED_IP else protocol
        if current is None:
            entries[key] = _ListenerEntry(kind, chains)
            return
        if protocol == "HTTP":
            if current.protocol != "TCP":
                return  # the port already has its HTTP chain
            current.merge(chains)
            current.protocol = "AUTO"
        elif protocol == "TCP":
            if current.protocol == "HTTP":
                current.protocol = "AUTO"
            current.merge(chains)
        elif current.protocol == "HTTP":
            entries[key] = _ListenerEntry("AUTO", chains)  # AutoOverHTTP replaces it
        elif current.protocol == "TCP":
            current.merge(chains)
            current.protocol = "AUTO"
        else:
            current.merge([c for c in chains if c.kind != "http"])  # AUTO over AUTO: the TCP chains only

    def _tcp_chain_plans(
        self, state: _State, svc: ServiceHost, port: Any, bind: str, cidrs: list[str], vss: list[_VS]
    ) -> list[_ChainPlan]:
        """`buildSidecarOutboundTLSFilterChainOpts` / `buildSidecarOutboundTCPFilterChainOpts` for one service port."""
        mine = [v for v in vss if any(host_matches(h, svc.hostname) for h in v.hosts)]
        tls = is_tls_protocol(port.protocol)
        out: list[_ChainPlan] = []
        if tls:
            handled: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
            for vs in mine:
                for i, rule in enumerate(vs.spec.tls):
                    if not rule.route:
                        continue
                    for j, m in enumerate(rule.match):
                        if not self._l4_match_ok(state, m, vs, port.number):
                            continue
                        key = (tuple(m.sniHosts), tuple(m.destinationSubnets))
                        if key not in handled:
                            tls_cidrs = list(m.destinationSubnets) or cidrs
                            out.append(_ChainPlan("tls", sni=list(m.sniHosts), cidrs=tls_cidrs, vs=(vs, "tls", i, j)))
                        handled.add(key)
            if out:
                return out
            address = svc.address
            # The host is the SNI to match when the listener cannot tell the service by address.
            by_name = bool(cidrs) or (address == UNSPECIFIED_IP and bind == UNSPECIFIED_IP)
            return [_ChainPlan("tls", sni=[svc.hostname] if by_name else [], cidrs=cidrs, service=svc, port=port)]
        for vs in mine:
            for i, rule in enumerate(vs.spec.tcp):
                if not rule.route:
                    continue
                if not rule.match:
                    out.append(_ChainPlan("tcp", cidrs=cidrs, vs=(vs, "tcp", i, None)))
                    return out
                subnets: list[str] = []
                for j, m in enumerate(rule.match):
                    if not self._l4_match_ok(state, m, vs, port.number):
                        continue
                    if not m.destinationSubnets:
                        out.append(_ChainPlan("tcp", cidrs=cidrs, vs=(vs, "tcp", i, j)))
                        return out
                    subnets += m.destinationSubnets
                if subnets:
                    out.append(_ChainPlan("tcp", cidrs=subnets, vs=(vs, "tcp", i, None)))
                    if sorted(subnets) == sorted(cidrs):
                        return out
        out.append(_ChainPlan("tcp", cidrs=cidrs, service=svc, port=port))
        return out

    def _l4_match_ok(self, state: _State, m: Any, vs: _VS, port: int) -> bool:
        """`matchTLS` / `matchTCP`: gateways include mesh, the port, the client's labels and namespace.

        Unlike `sourceMatchHTTP`, route/route.go's L4 matches check the source even when the block
        lists gateways, so the scope's reason is asked without them.
        """
        scope = ir.MatchScope.of(m, lambda ref: resolve_gateway(ref, vs.namespace, self.mesh))
        if scope.gateways and MESH not in scope.gateways:
            return False
        plan = state.plan
        return msgspec.structs.replace(scope, gateways=[]).reason(port, MESH, plan.labels, plan.namespace) is None

    def _sidecar_chain(
        self,
        state: _State,
        vss: list[_VS],
        plan: _ChainPlan,
        bind: str,
        port: int,
        tables: dict[int, list[ir.VirtualHost]],
    ) -> ir.FilterChain:
        """The IR filter chain of a planned chain (HTTP chains get their route table)."""
        if plan.kind == "http":
            vhosts = tables.get(port)
            if vhosts is None:
                vhosts = tables[port] = self.sidecar_virtual_hosts(state, vss, port)
            name = str(port)
            if plan.table is not None and plan.service is not None:
                # getVirtualHostsForSniffedServicePort: only the service's virtual host, for any Host.
                name = plan.table
                host = plan.service.hostname
                own = [v for v in vhosts if host in v.domains]
                vhosts = [dataclasses.replace(own[0], domains=["*"])] if len(own) == 1 else own
            return ir.FilterChain(
                "http",
                "HTTP",
                route_config=ir.RouteConfig(name, vhosts),
                destination_cidrs=list(plan.cidrs),
                application_protocols=list(plan.alpn),
            )
        routes: list[ir.TcpRoute]
        if plan.vs is not None:
            vs, section, i, j = plan.vs
            rule = getattr(vs.spec, section)[i]
            loc: tuple[str | int, ...] = ("spec", section, i) + (("match", j) if j is not None else ())
            clusters = self.weighted(state, vs, rule.route, ("spec", section, i, "route"), port)[0]
            route_id = f"{vs.namespace}/{vs.name}/{section}/{i}" + (f"/match/{j}" if j is not None else "")
            routes = [ir.TcpRoute(route_id, clusters, list(plan.sni), list(plan.cidrs), _origin(vs.res, loc))]
        else:
            svc = plan.service
            assert svc is not None and plan.port is not None
            number = svc.ports[0].number if len(svc.ports) == 1 else plan.port.number
            name = cluster_name(number, None, svc.hostname)
            self.cluster(state, svc.hostname, number, None)
            wc = ir.WeightedCluster(name, 100, svc.hostname, number)
            routes = [ir.TcpRoute(name, [wc], list(plan.sni), list(plan.cidrs))]
        return ir.FilterChain(
            plan.kind,
            "TLS" if plan.kind == "tls" else "TCP",
            server_names=list(plan.sni),
            tcp_routes=routes,
            destination_cidrs=list(plan.cidrs),
        )

    def _finish_listener(
        self, state: _State, name: str, bind: str, port: int, chains: list[ir.FilterChain]
    ) -> ir.Listener:
        """`buildListenerFromEntry`: a chain that matches everything is the default, else the passthrough chain."""
        catch_all = [c for c in chains if _matches_all(c)]
        default: ir.FilterChain | None
        if len(chains) == 1 and catch_all:
            default = None
        elif catch_all:
            default = catch_all[0]
            chains = [c for c in chains if c is not default]
        else:
            default = self.passthrough_chain(state, "PassthroughFilterChain")
        first = chains[0] if chains else default
        assert first is not None, "a listener has at least one chain"
        protocol = "HTTP" if any(c.protocol == "HTTP" for c in chains) else first.protocol
        return ir.Listener(name, bind, port, protocol, chains, default)

    def passthrough_chain(self, state: _State, name: str) -> ir.FilterChain:
        """`buildOutboundCatchAllNetworkFiltersOnly`: TCP to `PassthroughCluster` (ALLOW_ANY*) or `BlackHoleCluster`."""
        if self.outbound_mode(state) == "REGISTRY_ONLY":
            wc = ir.WeightedCluster(self.builtin_cluster(state, ir.BLACKHOLE_CLUSTER).name, 100, "", 0)
        else:
            wc = self.egress_destination(state)
        route = ir.TcpRoute(wc.cluster, [wc])
        return ir.FilterChain(name, "TCP", tcp_routes=[route])

    def virtual_outbound(self, state: _State) -> ir.Listener:
        """`virtualOutbound` (listener_builder.go `buildOutboundCatchAllNetworkFilterChains`).

        It takes the connections whose address and port no other listener has: plain HTTP goes to
        the dynamic forward proxy under ALLOW_ANY_DYNAMIC_DNS; everything else to the passthrough chain.
        """
        chains: list[ir.FilterChain] = []
        if self.outbound_mode(state) == "ALLOW_ANY_DYNAMIC_DNS":
            vhost = self.catch_all_vhost(state)
            chains.append(
                ir.FilterChain(
                    "virtualOutbound-catchall-tcp-http",
                    "HTTP",
                    route_config=ir.RouteConfig(vhost.name, [vhost]),
                    application_protocols=list(ir.PLAINTEXT_HTTP_ALPNS),
                )
            )
        default = self.passthrough_chain(state, "virtualOutbound-catchall-tcp")
        return ir.Listener(ir.VIRTUAL_OUTBOUND, UNSPECIFIED_IP, ir.VIRTUAL_OUTBOUND_PORT, "TCP", chains, default)

    @staticmethod
    def _http_port(protocol: str | None) -> bool:
        # Undeclared protocols are sniffed, and sniffed ports get HTTP routes (IsHTTPOrSniffed).
        return protocol is None or is_http_protocol(protocol)

    def sidecar_virtual_hosts(self, state: _State, vss: list[_VS], port: int) -> list[ir.VirtualHost]:
        """`BuildSidecarOutboundVirtualHosts` for one port."""
        ns = state.plan.namespace
        if self.sidecar_scope(state) is not None:
            vss = self.mesh_virtual_services(state, port)  # the egress listener of the port
        listener_services = {h: s for h, s in state.services.items() if self.routable(state, s, port)}
        by_name = {h: s for h, s in listener_services.items() if (p := s.port(port)) and self._http_port(p.protocol)}
        wildcard_services = [h for h in by_name if h.startswith("*")]
        # The egress listener's index, over all its services and VirtualServices (sidecar.go).
        best_wildcard = self._wildcard_index(vss, listener_services)
        if port != 80:
            # selectVirtualServices: only VirtualServices with a host that matches a service on the port.
            vss = [v for v in vss if self._selects(v, by_name, wildcard_services)]
        wrappers: list[tuple[list[str], list[ServiceHost], _VS | None]] = []
        covered: set[str] = set()
        for selected in vss:
            if not self._has_routes(selected, port, MESH, state.plan):
                self._dropped(state, selected, port, MESH)
                continue
            plain, services = self._separate(selected, by_name, best_wildcard)
            if selected.res.gateway_semantics and not any(selected.namespace in (s.namespace, ns) for s in services):
                # route.go buildSidecarVirtualHostsForVirtualService: a Gateway API route applies only
                # from its own namespace or its Service's ("Gateway allows only routes from ...").
                continue
            if not services and port != 80:
                continue
            wrappers.append((plain, services, selected))
            covered.update(s.hostname for s in services)
        for hostname in sorted(by_name):
            if hostname not in covered and by_name[hostname].alias_of is None:
                # An ExternalName alias has no default virtual host: its service's answers for it.
                wrappers.append(([], [by_name[hostname]], None))
        names: set[str] = set()
        taken: set[str] = set()
        vhosts: list[ir.VirtualHost] = []
        for plain, services, vs in wrappers:
            candidates: list[tuple[str, list[str], ServiceHost | None]] = [(h, [h], None) for h in plain]
            candidates += [(s.hostname, self.service_domains(s, ns), s) for s in services]
            for hostname, domains, svc in candidates:
                name = f"{hostname}:{port}"
                if name in names:
                    self._duplicate(state, name, vs)
                    continue
                names.add(name)
                kept = []
                for d in domains:
                    if d.lower() in taken:
                        continue
                    taken.add(d.lower())
                    kept.append(d)
                if len(kept) != len(domains):
                    self._duplicate(state, name, vs)
                if not kept:
                    continue
                if self.host_filter is not None and not any(self._asked(d.lower()) for d in kept):
                    continue
                vh = ir.VirtualHost(name, kept)
                if svc is not None:
                    vh.services = [self.origin(svc.resource)]
                if vs is None:
                    assert svc is not None
                    vh.routes = [self.default_route(state, svc, port)]
                else:
                    items = self.vs_items(state, vs, port, MESH, is_tls=False)
                    self._fill(vh, [(vs, items)], sort_catch_all=False)
                vhosts.append(vh)
        vhosts.sort(key=lambda v: v.name)
        if "*" not in taken:
            vhosts.append(self.catch_all_vhost(state))
        return vhosts

    def catch_all_vhost(self, state: _State) -> ir.VirtualHost:
        """The last virtual host of a sidecar route table, for hosts outside the registry.

        httproute.go `buildCatchAllVirtualHost`, by the outbound traffic policy of the mesh settings:
        `allow_any` forwards to `PassthroughCluster` (the address the client connected to),
        `block_all` answers 502, `allow_any_dynamic_dns` forwards to `AllowAnyDynamicDNSCluster`
        (which resolves the Host header). Its route has no timeout and no retries.
        """
        mode = self.outbound_mode(state)
        name = ir.CATCH_ALL_VHOSTS[mode]
        if mode == "REGISTRY_ONLY":
            route = ir.Route(
                name,
                ir.RouteMatch(),
                "direct_response",
                name=name,
                direct_response=ir.DirectResponse(502),
                catch_all=True,
            )
            return ir.VirtualHost(name, ["*"], [route])
        if mode == "ALLOW_ANY_DYNAMIC_DNS":
            wc = ir.WeightedCluster(self.builtin_cluster(state, ir.DYNAMIC_DNS_CLUSTER).name, 100, "", 0)
        else:
            wc = self.egress_destination(state)
        forward = ir.Forward([wc])
        route = ir.Route(name, ir.RouteMatch(), "forward", name=name, forward=forward, catch_all=True)
        return ir.VirtualHost(name, ["*"], [route])

    def sidecar_scope(self, state: _State) -> SidecarScope | None:
        """The Sidecar resource's scope of this proxy (None: no Sidecar applies, everything is imported)."""
        scope = state.client.scope
        return scope if isinstance(scope, SidecarScope) else None

    def outbound_mode(self, state: _State) -> str:
        """The proxy's outbound traffic policy: its Sidecar's, else the mesh's (`initSidecarScopeInternalIndexes`)."""
        scope = self.sidecar_scope(state)
        if scope is not None and scope.outbound_traffic_policy is not None:
            return scope.outbound_traffic_policy
        return self.mesh.settings.outbound_traffic_policy

    def egress_destination(self, state: _State) -> ir.WeightedCluster:
        """Where ALLOW_ANY sends a host outside the registry.

        `PassthroughCluster`, or the cluster of the Sidecar's `outboundTrafficPolicy.egressProxy`
        (`GetDestinationCluster(egressProxy, nil, 0)`).
        """
        scope = self.sidecar_scope(state)
        proxy = scope.egress_proxy if scope is not None else None
        if proxy is None:
            return ir.WeightedCluster(self.builtin_cluster(state, ir.PASSTHROUGH_CLUSTER).name, 100, "", 0)
        port = proxy.port.number if proxy.port is not None else 0
        name = cluster_name(port, proxy.subset, proxy.host)
        wc = ir.WeightedCluster(name, 100, proxy.host, port, proxy.subset)
        wc.known = self.cluster(state, proxy.host, port, proxy.subset) is not None
        return wc

    @staticmethod
    def builtin_cluster(state: _State, name: str) -> ir.Cluster:
        """Istio's `PassthroughCluster`, `BlackHoleCluster` or `AllowAnyDynamicDNSCluster` (cluster_builder.go)."""
        found = state.clusters.get(name)
        if found is not None:
            return found
        if name == ir.PASSTHROUGH_CLUSTER:
            # buildDefaultPassthroughCluster: ORIGINAL_DST, CLUSTER_PROVIDED load balancing.
            cluster = ir.Cluster(name, "", 0, "ORIGINAL_DST", load_balancer=ir.LoadBalancer("PASSTHROUGH"))
        elif name == ir.DYNAMIC_DNS_CLUSTER:
            cluster = ir.Cluster(name, "", 0, "DYNAMIC_FORWARD_PROXY", load_balancer=ir.LoadBalancer("PASSTHROUGH"))
        else:
            # buildBlackHoleCluster: STATIC without endpoints.
            cluster = ir.Cluster(name, "", 0, "STATIC")
        state.clusters[name] = cluster
        return cluster

    def _duplicate(self, state: _State, name: str, vs: _VS | None) -> None:
        if vs is None:
            return
        self.note(
            "duplicate-domain",
            f"`{name}` is already served by an earlier VirtualService on this sidecar; "
            f"VirtualService {vs.namespace}/{vs.name} does not apply to it (IST0109)",
            _origin(vs.res, ("spec", "hosts")),
            state.plan.name,
        )

    @staticmethod
    def _selects(vs: _VS, by_name: Mapping[str, ServiceHost], wildcard_services: list[str]) -> bool:
        for h in vs.hosts:
            if h in by_name:
                return True
            if h.startswith("*"):
                if any(host_matches(h, s) for s in by_name):
                    return True
            elif any(host_matches(h, s) for s in wildcard_services):
                return True
        return False

    @staticmethod
    def _wildcard_index(vss: list[_VS], services: Mapping[str, ServiceHost]) -> dict[str, _VS]:
        """Service → the VirtualService naming it most specifically (`computeWildcardHostVirtualServiceIndex`).

        An exact VirtualService host beats a wildcard one whatever their order, and for one host the
        first VirtualService (istiod's order) keeps it (config.go `MostSpecificHostMatch`): a wildcard
        VirtualService takes only the services no more specific VirtualService host names.
        """
        exact: dict[str, _VS] = {}
        wild: dict[str, _VS] = {}
        for vs in vss:
            for h in vs.hosts:
                (wild if is_wildcard(h) else exact).setdefault(h, vs)
        out: dict[str, _VS] = {}
        for s in services:
            found = most_specific_match(s, exact, wild)
            if found is not None:
                out[s] = found[1]
        return out

    @staticmethod
    def _separate(
        vs: _VS, by_name: Mapping[str, ServiceHost], best_wildcard: Mapping[str, _VS]
    ) -> tuple[list[str], list[ServiceHost]]:
        """`separateVSHostsAndServices`: (hosts outside the registry, registry services)."""
        plain: list[str] = []
        services: list[ServiceHost] = []
        seen: set[str] = set()
        for h in vs.hosts:
            if h.startswith("*"):
                continue
            svc = by_name.get(h)
            if svc is not None:
                if h not in seen:
                    services.append(svc)
                    seen.add(h)
            else:
                plain.append(h)
        for h in vs.hosts:
            if not h.startswith("*"):
                continue
            found = False
            for s in sorted(by_name):
                if not host_matches(s, h):
                    continue
                found = True
                if best_wildcard.get(s) is vs and s not in seen:
                    services.append(by_name[s])
                    seen.add(s)
            if not found:
                plain.append(h)
        return plain, services

    def service_domains(self, svc: ServiceHost, namespace: str) -> list[str]:
        """The FQDN and the other forms a client in `namespace` may use (`generateVirtualHostDomains`).

        The absolute name (`name.ns.svc.cluster.local.`, trailing dot) comes right after the FQDN
        (httproute.go `GenerateAltVirtualHosts`; PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN is on by
        default), then the short forms of a Kubernetes name.
        """
        out: list[str] = []
        for h in (svc.hostname, *svc.aliases):  # the names of ExternalName aliases too
            out += [h] if is_ip(h) else [h, f"{h}."]
            short = self.mesh.short_names(h)
            if short is not None:
                name, svc_ns = short
                if svc_ns == namespace:
                    out += [name, f"{name}.{svc_ns}.svc", f"{name}.{svc_ns}"]
                else:
                    out += [f"{name}.{svc_ns}", f"{name}.{svc_ns}.svc"]
        return out

    def default_route(self, state: _State, svc: ServiceHost, port: int) -> ir.Route:
        """The route a sidecar has for a service without VirtualService (`BuildDefaultHTTPOutboundRoute`)."""
        name = cluster_name(port, None, svc.hostname)
        self.cluster(state, svc.hostname, port, None)
        hash_ = self.service_hash(state, svc.hostname, port)
        forward = ir.Forward(
            [ir.WeightedCluster(name, 100, svc.hostname, port)],
            retries=self.retry_policy(None, False),
            hash_policy=[hash_] if hash_ else [],
        )
        return ir.Route("default", ir.RouteMatch(), "forward", name="default", forward=forward, catch_all=True)

    # --- gateways -----------------------------------------------------------------------------------

    def gateway_listeners(self, state: _State) -> list[ir.Listener]:
        """Listeners of a gateway workload: Gateway servers merged by port (`MergeGateways`)."""
        plan = state.plan
        port_map = self.gateway_port_map(plan)
        named = {gw.key: self.gateway_service_ports(plan, gw) for gw in plan.gateways}
        asked = self.scope.port
        wanted = None
        if asked is not None:
            wanted = {asked, port_map.get(asked), *((m or {}).get(asked) for m in named.values())}
        by_port: dict[tuple[str, int], list[tuple[_Gateway, int, Any]]] = {}
        for gw in plan.gateways:
            ports = named[gw.key]
            for i, server in enumerate(gw.res.spec.servers):
                bind = server.bind or "0.0.0.0"
                # The workload listens on the gateway Service's targetPort for a server port (resolvePorts).
                if ports is not None:
                    # A Gateway naming its Services: a server port none of them has gets no listener.
                    if server.port.number not in ports:
                        continue
                    port = ports[server.port.number]
                else:
                    port = port_map.get(server.port.number, server.port.number)
                if wanted is not None and port not in wanted:
                    continue
                by_port.setdefault((bind, port), []).append((gw, i, server))
        listeners = []
        for (bind, port), servers in sorted(by_port.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            chains = self.gateway_chains(state, port, servers)
            if not chains:
                continue
            listeners.append(ir.Listener(f"{bind}_{port}", bind, port, chains[0].protocol, chains))
        return listeners

    @functools.cached_property
    def _registry_resources(self) -> list[ServiceHost]:
        """One registry entry per Service or ServiceEntry (its last host), in istiod's config order.

        What the gateway port translations scan, for each gateway workload and Gateway: sorted once.
        """
        entries = {id(e.resource): e for found in self.mesh.hosts.values() for e in found}
        return sorted(entries.values(), key=lambda e: (order_key(e.resource), e.hostname))

    def gateway_port_map(self, plan: _ContextPlan) -> dict[int, int]:
        """Server port → the port the gateway workload listens on (gateway.go `resolvePorts`, label selector).

        The gateway's Services are the Kubernetes Services of the workload's namespace that select
        its labels, and the ServiceEntries there whose `workloadSelector` or endpoint labels it has
        (istiod knows them by the proxy's address, which the input does not give). The first one
        with the port translates it to its `targetPort`, unless it carries the label
        `experimental.istio.io/disable-gateway-port-translation`.

        Found once per workload (context() and gateway_listeners() both ask); each caller gets its own dict.
        """
        key = (plan.namespace, tuple(sorted(plan.labels.items())))
        found = self.port_maps.get(key)
        if found is None:
            found = self.port_maps[key] = self._gateway_port_map(plan.namespace, plan.labels)
        return dict(found)

    def _gateway_port_map(self, namespace: str, labels: Mapping[str, str]) -> dict[int, int]:
        out: dict[int, int] = {}
        for e in self._registry_resources:
            res = e.resource
            if res.namespace != namespace or DISABLE_PORT_TRANSLATION in res.labels:
                continue
            if e.is_service_entry:
                selectors = [e.selector] if e.selector else [dict(ep.labels) for ep in res.spec.endpoints]
            else:
                selectors = [e.selector] if e.selector else []
            if not any(sel and all(labels.get(k) == v for k, v in sel.items()) for sel in selectors):
                continue
            for p in e.ports:
                if isinstance(p.target_port, int) and p.target_port:
                    out.setdefault(p.number, p.target_port)
                else:
                    out.setdefault(p.number, p.number)
        return {k: v for k, v in out.items() if k != v}

    def gateway_service_ports(self, plan: _ContextPlan, gw: _Gateway) -> dict[int, int] | None:
        """Server port → listener port of a Gateway that names its Services (`GATEWAY_SERVICE`); None: it does not.

        gateway.go `resolvePorts` without the legacy label selector: only the ports of the named
        Services in the workload's namespace, each translated to its `targetPort` (the port itself
        when unset); no fallback to the server port and no disable label.
        """
        text = gw.res.annotations.get(GATEWAY_SERVICE)
        if not text:
            return None
        names = {h.strip().lower() for h in text.split(",") if h.strip()}
        out: dict[int, int] = {}
        for e in self._registry_resources:
            if e.hostname.lower() not in names or e.resource.namespace != plan.namespace:
                continue
            for p in e.ports:
                target = p.target_port if isinstance(p.target_port, int) and p.target_port else p.number
                out.setdefault(p.number, target)
        return out

    @staticmethod
    def _server_family(server: Any) -> str:
        proto = (server.port.protocol or "").upper()
        mode = server.tls.mode if server.tls is not None else None
        if is_http_protocol(proto):
            return "HTTP"
        if proto == "HTTPS" and mode not in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
            return "HTTPS"
        if is_tls_protocol(proto):
            return "TLS"
        return "TCP"

    def gateway_chains(
        self, state: _State, port: int, servers: list[tuple[_Gateway, int, Any]]
    ) -> list[ir.FilterChain]:
        """Filter chains of one gateway port."""
        chains: list[ir.FilterChain] = []
        # model/gateway.go `mergeGateways`: the first plain-text server on a port (gateways in config
        # order) decides; a later server joins it only when both are HTTP (`canMergeProtocols`), so a
        # plain TCP server keeps the port to itself.
        plain = [(g, i, s) for g, i, s in servers if self._server_family(s) in ("HTTP", "TCP") and s.tls is None]
        if plain and self._server_family(plain[0][2]) == "TCP" and len(servers) > 1:
            g, i, _ = next((g, i, s) for g, i, s in servers if (g, i, s) is not plain[0])
            self.note(
                "port-conflict",
                f"port {port} has several servers and the first plain-text one is TCP; istiod keeps only that one",
                _origin(g.res, ("spec", "servers", i)),
                state.plan.name,
            )
            servers = [plain[0]]
        plain_http = [(g, i, s) for g, i, s in servers if self._server_family(s) == "HTTP"]
        families = {self._server_family(s) for _, _, s in servers}
        if "HTTP" in families and len(families) > 1:
            g, i, _ = next((g, i, s) for g, i, s in servers if self._server_family(s) != "HTTP")
            self.note(
                "port-conflict",
                f"port {port} mixes plain HTTP and TLS servers; istiod keeps the plain HTTP servers",
                _origin(g.res, ("spec", "servers", i)),
                state.plan.name,
            )
            servers = plain_http
        if plain_http:
            vhosts = self.gateway_virtual_hosts(state, port, plain_http, is_tls=False)
            redirect = any(s.tls is not None and s.tls.httpsRedirect for _, _, s in plain_http)
            g0, i0, _ = plain_http[0]
            chains.append(
                ir.FilterChain(
                    "http",
                    "HTTP",
                    https_redirect=redirect,
                    route_config=ir.RouteConfig(f"http.{port}", vhosts),
                    origin=_origin(g0.res, ("spec", "servers", i0)),
                )
            )
            return chains
        for gw, i, server in servers:
            family = self._server_family(server)
            names = self._sni_hosts(server)
            origin = _origin(gw.res, ("spec", "servers", i))
            gw_ns, gw_name = gw.key.split("/", 1)
            suffix = f"{server.port.number}.{server.port.name}.{gw_name}.{gw_ns}"  # the server's port
            if family == "HTTPS":
                route_name = f"https.{suffix}"
                vhosts = self.gateway_virtual_hosts(state, port, [(gw, i, server)], is_tls=True)
                chains.append(
                    ir.FilterChain(
                        route_name,
                        "HTTPS",
                        server_names=names,
                        tls=self.server_tls(server.tls),
                        route_config=ir.RouteConfig(route_name, vhosts),
                        origin=origin,
                    )
                )
            else:
                kind = "tls" if family == "TLS" else "tcp"
                terminate = (
                    family == "TLS"
                    and server.tls is not None
                    and server.tls.mode
                    not in (
                        "PASSTHROUGH",
                        "AUTO_PASSTHROUGH",
                    )
                )
                routes = self.gateway_tcp_routes(
                    state, gw, server, server.port.number, passthrough=family == "TLS" and not terminate
                )
                auto = server.tls is not None and server.tls.mode == "AUTO_PASSTHROUGH"
                if not routes and not auto:
                    # gateway.go `createGatewayTCPFilterChainOpts`: no route, no filter chain ("listener
                    # missed network filter"); a port left without chains has no listener. AUTO_PASSTHROUGH
                    # routes by SNI to the mesh's clusters without VirtualServices.
                    continue
                chains.append(
                    ir.FilterChain(
                        f"{kind}.{suffix}",
                        family,  # type: ignore[arg-type]
                        server_names=names if family == "TLS" else [],
                        tls=self.server_tls(server.tls) if family == "TLS" else None,
                        tcp_routes=routes,
                        origin=origin,
                    )
                )
        return chains

    @staticmethod
    def _sni_hosts(server: Any) -> list[str]:
        hosts = [split_host(h)[1].lower() for h in server.hosts]
        return [] if "*" in hosts else hosts

    @staticmethod
    def server_tls(tls: Any) -> ir.ServerTLS | None:
        """Gateway server TLS settings → IR."""
        if tls is None or (tls.mode is None and not tls.credentialName and not tls.serverCertificate):
            return None
        mode: Any = tls.mode or "SIMPLE"
        return ir.ServerTLS(
            mode,
            tls.serverCertificate,
            tls.privateKey,
            tls.caCertificates,
            tls.credentialName,
            list(tls.credentialNames),
            list(tls.subjectAltNames),
            tls.minProtocolVersion,
            tls.maxProtocolVersion,
            list(tls.cipherSuites),
            mode == "MUTUAL",
        )

    def _gateway_vss(self, state: _State, gateway: str) -> list[_VS]:
        return self.resolver.virtual_services(state.plan.namespace, gateway, within=self.vs_resources.values())

    def gateway_virtual_hosts(
        self, state: _State, port: int, servers: list[tuple[_Gateway, int, Any]], *, is_tls: bool
    ) -> list[ir.VirtualHost]:
        """`buildGatewayHTTPRouteConfig`: VirtualService hosts ∩ server hosts, routes merged per host.

        Routes and virtual host names take the server's port (`host:80`), even when the workload
        listens on the gateway Service's targetPort (the route table is then `http.8080`).
        """
        by_host: dict[str, ir.VirtualHost] = {}
        sequences: dict[str, list[tuple[_VS, list[_Item]]]] = {}
        built: dict[tuple[str, str, str], list[_Item]] = {}
        has_routes: dict[tuple[str, str, str], bool] = {}
        unasked = False  # a vhost of the full route table that a narrowed compile (`Scope.host`) leaves out
        for gw, _i, server in servers:
            gw_ns = gw.res.namespace
            sport = server.port.number
            for vs in self._gateway_vss(state, gw.key):
                server_hosts = self._server_hosts(server, gw_ns, vs.namespace)
                common = [h.lower() for h in _intersection(server_hosts, vs.hosts)]
                if not common:
                    continue
                key = (gw.key, vs.namespace, vs.name)
                if key not in has_routes:
                    has_routes[key] = self._has_routes(vs, sport, gw.key, state.plan)
                    if not has_routes[key]:
                        self._dropped(state, vs, sport, gw.key)
                if not has_routes[key]:
                    continue
                asked = [h for h in common if self._asked(h)]
                unasked = unasked or len(asked) < len(common)
                if not asked:
                    continue
                items = built.get(key)
                if items is None:
                    items = built[key] = self.vs_items(state, vs, sport, gw.key, is_tls=is_tls)
                for h in asked:
                    vh = by_host.get(h)
                    if vh is None:
                        vh = ir.VirtualHost(f"{h}:{sport}", [h])
                        by_host[h] = vh
                        sequences[h] = []
                    sequences[h].append((vs, items))
                    if server.tls is not None and server.tls.httpsRedirect:
                        vh.require_tls = True
            if server.tls is not None and server.tls.httpsRedirect:
                for raw in server.hosts:
                    h = split_host(raw)[1].lower()
                    if not self._asked(h):
                        unasked = True
                        continue
                    vh = by_host.get(h)
                    if vh is None:
                        by_host[h] = ir.VirtualHost(f"{h}:{sport}", [h], require_tls=True)
                        sequences[h] = []
                    else:
                        vh.require_tls = True
        for h, vh in by_host.items():
            self._fill(vh, sequences[h], sort_catch_all=True)
        if not by_host and not unasked:
            # No VirtualService for this port: Envoy answers 404 to everything.
            return [ir.VirtualHost(f"blackhole:{servers[0][2].port.number}", ["*"])]
        return sorted(by_host.values(), key=lambda v: v.name)

    @staticmethod
    def _server_hosts(server: Any, gateway_ns: str, vs_ns: str) -> list[str]:
        """Server hosts a VirtualService in `vs_ns` may bind to (`NamesForNamespace`)."""
        out = []
        for raw in server.hosts:
            ns, h = split_host(raw)
            if ns == ".":
                ns = gateway_ns
            if ns is not None and ns not in ("*", vs_ns):
                continue
            out.append(h)
        return out

    def gateway_tcp_routes(
        self, state: _State, gw: _Gateway, server: Any, port: int, *, passthrough: bool
    ) -> list[ir.TcpRoute]:
        """TLS-passthrough (`tls[]`) or TCP (`tcp[]`) routes of VirtualServices bound to the Gateway."""
        routes: list[ir.TcpRoute] = []
        for vs in self._gateway_vss(state, gw.key):
            server_hosts = self._server_hosts(server, gw.res.namespace, vs.namespace)
            if not _intersection(server_hosts, vs.hosts):
                continue
            routes.extend(self.tcp_routes(state, vs, port, gw.key, tls=passthrough))
        return routes

    def tcp_routes(self, state: _State, vs: _VS, port: int, gateway: str, *, tls: bool) -> list[ir.TcpRoute]:
        """Routes of `spec.tls` (tls=True) or `spec.tcp`."""
        out: list[ir.TcpRoute] = []
        section = "tls" if tls else "tcp"
        for i, rule in enumerate(getattr(vs.spec, section)):
            matches = list(rule.match) or [None]
            for j, m in enumerate(matches):
                if self._config_time_reason(m, vs.namespace, port, gateway, state.plan) is not None:
                    continue
                loc: tuple[str | int, ...] = ("spec", section, i) + (("match", j) if m is not None else ())
                clusters = self.weighted(state, vs, rule.route, (*loc[:3], "route"), port)[0]
                out.append(
                    ir.TcpRoute(
                        f"{vs.namespace}/{vs.name}/{section}/{i}" + (f"/match/{j}" if m is not None else ""),
                        clusters,
                        sni_hosts=[h.lower() for h in getattr(m, "sniHosts", None) or []] if m is not None else [],
                        destination_subnets=list(m.destinationSubnets) if m is not None else [],
                        origin=_origin(vs.res, loc),
                    )
                )
        return out

    # --- routes -------------------------------------------------------------------------------------

    def _config_time_reason(self, m: Any, vs_ns: str, port: int, gateway: str, plan: _ContextPlan) -> str | None:
        """Why a match block produces no route for this proxy (`ir.MatchScope.reason`), or None."""
        scope = ir.MatchScope.of(m, lambda ref: resolve_gateway(ref, vs_ns, self.mesh))
        return scope.reason(port, gateway, plan.labels, plan.namespace)

    def _dropped(self, state: _State, vs: _VS, port: int, gateway: str) -> None:
        """Note a VirtualService that serves hosts here but whose rules were all dropped, with the reasons.

        istiod leaves such a VirtualService out without a word (`BuildHTTPRoutesForVirtualService`
        gives no route): delegate rules whose match conflicts with the root's, a missing or
        unexported delegate, no rule for this port, gateway or client.
        """
        if not vs.spec.http:
            return
        reasons: list[str] = []
        for it in self.vs_items(state, vs, port, gateway, is_tls=False):
            if it.skipped is None:
                continue
            ref = it.skipped.origin.virtual_service
            text = f"rule {ref.rule}: {it.skipped.reason}"
            if text not in reasons:
                reasons.append(text)
        shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
        hosts = ", ".join(vs.hosts)
        proxy = "this sidecar" if gateway == MESH else f"gateway {gateway}"
        self.note(
            "dropped-virtual-service",
            f"VirtualService {vs.namespace}/{vs.name} serves {hosts} but all its rules were dropped on port "
            f"{port} for {proxy}: {shown or 'no rule has a route'}",
            _origin(vs.res, ("spec", "http")),
            state.plan.name,
        )

    def _has_routes(self, vs: _VS, port: int, gateway: str, plan: _ContextPlan) -> bool:
        """Cheap check: does the VirtualService produce at least one route here?"""
        for rule in vs.spec.http:
            if rule.delegate is not None:
                if any(it.route is not None for it in self._delegate_items(None, vs, rule, 0, port, gateway, plan)):
                    return True
                continue
            if not rule.match:
                return True
            for m in rule.match:
                if self._config_time_reason(m, vs.namespace, port, gateway, plan) is None:
                    return True
        return False

    def vs_items(self, state: _State, vs: _VS, port: int, gateway: str, *, is_tls: bool) -> list[_Item]:
        """`BuildHTTPRoutesForVirtualService`: routes in order, stopping after a catch-all."""
        items: list[_Item] = []
        catch_all: str | None = None
        for i, rule in enumerate(vs.spec.http):
            if catch_all is not None:
                items.extend(self._after_catch_all(vs, rule, i, catch_all))
                continue
            if rule.delegate is not None:
                produced = self._delegate_items(state, vs, rule, i, port, gateway, state.plan, is_tls=is_tls)
                for it in produced:
                    if catch_all is not None and it.route is not None:
                        it = _Item(skipped=ir.SkippedMatch(it.route.origin, f"after catch-all route {catch_all}", 0))  # type: ignore[arg-type]
                    items.append(it)
                    if it.route is not None and it.route.catch_all and catch_all is None:
                        catch_all = it.route.id
                continue
            blocks: list[tuple[int | None, Any]] = list(enumerate(rule.match)) or [(None, None)]
            for j, m in blocks:
                ref = self._rule_ref(vs, rule, i, j, m)
                origin = ir.RouteOrigin(ref)
                if catch_all is not None:
                    items.append(_Item(skipped=ir.SkippedMatch(origin, f"after catch-all route {catch_all}", 0)))
                    continue
                reason = self._config_time_reason(m, vs.namespace, port, gateway, state.plan)
                if reason is not None:
                    items.append(_Item(skipped=ir.SkippedMatch(origin, reason, 0)))
                    continue
                route = self.translate(state, vs, rule, m, port, origin, vs.namespace, vs, is_tls=is_tls)
                if route is None:
                    continue
                items.append(_Item(route=route))
                if route.catch_all:
                    catch_all = route.id
            if not rule.match and catch_all is None:
                # A rule without match ends the VirtualService even if it produced nothing.
                catch_all = f"{vs.namespace}/{vs.name}/http/{i}"
        return items

    def _after_catch_all(self, vs: _VS, rule: Any, i: int, catch_all: str) -> list[_Item]:
        out = []
        blocks: list[tuple[int | None, Any]] = list(enumerate(rule.match)) or [(None, None)]
        for j, m in blocks:
            ref = self._rule_ref(vs, rule, i, j, m)
            out.append(_Item(skipped=ir.SkippedMatch(ir.RouteOrigin(ref), f"after catch-all route {catch_all}", 0)))
        return out

    def _rule_ref(self, vs: _VS, rule: Any, i: int, j: int | None, m: Any) -> ir.RuleRef:
        loc: tuple[str | int, ...] = ("spec", "http", i) + (("match", j) if j is not None else ())
        args = (vs.namespace, vs.name, i, j, rule.name, getattr(m, "name", None) if m is not None else None)
        if vs.res.doc is None:
            return ir.RuleRef(*args)
        return ir.RuleRef.located(vs.res.doc, loc, *args)

    def _fill(self, vh: ir.VirtualHost, sequences: list[tuple[_VS, list[_Item]]], *, sort_catch_all: bool) -> None:
        """Put the routes of one or more VirtualServices into a vhost, in final order."""
        routes: list[ir.Route] = []
        pending: list[tuple[ir.SkippedMatch, int, int]] = []  # (skipped, sequence index, position in sequence)
        positions: dict[int, tuple[int, int]] = {}
        for s, (vs, items) in enumerate(sequences):
            origin = self.origin(vs.res)
            if origin not in vh.virtual_services:
                vh.virtual_services.append(origin)
            for k, it in enumerate(items):
                if it.route is not None:
                    positions[id(it.route)] = (s, k)
                    routes.append(it.route)
                elif it.skipped is not None:
                    pending.append((it.skipped, s, k))
        if sort_catch_all:
            # route.SortVHostRoutes: catch-all routes move to the end, keeping their relative order.
            routes = [r for r in routes if not r.catch_all] + [r for r in routes if r.catch_all]
        # Dedupe shared route objects (the same VirtualService bound twice) while keeping order.
        seen: set[int] = set()
        unique = []
        for r in routes:
            if id(r) not in seen:
                seen.add(id(r))
                unique.append(r)
        vh.routes = unique
        final_index = {id(r): n for n, r in enumerate(unique)}
        for skipped, s, k in pending:
            before = len(unique)
            for r in unique:
                pos = positions.get(id(r))
                if pos is not None and pos[0] == s and pos[1] > k:
                    before = min(before, final_index[id(r)])
            vh.skipped.append(ir.SkippedMatch(skipped.origin, skipped.reason, before))

    def translate(
        self,
        state: _State,
        vs: _VS,
        rule: Any,
        m: Any,
        port: int,
        origin: ir.RouteOrigin,
        dest_ns: str,
        owner: _VS,
        *,
        is_tls: bool,
        mirror_ns: str | None = None,
    ) -> ir.Route | None:
        """`translateRoute`: one match block of one rule → one route (None when it has no action)."""
        match = ir.RouteMatch.of(m)
        if vs.res.gateway_semantics and match.path.kind == "prefix" and match.path.value != "/":
            # route.go TranslateRouteMatch with Gateway API semantics: a prefix matches whole segments.
            match.path = ir.PathMatch(
                "path_separated_prefix", match.path.value.removesuffix("/"), match.path.ignore_case
            )
        route_id = self._route_id(origin)
        name = rule.name
        if m is not None and getattr(m, "name", None):
            name = f"{name or ''}.{m.name}"
        headers = rule.headers
        if headers:
            req_ops, authority = _header_ops(headers.request)
            resp_ops, _ = _header_ops(headers.response)
        else:
            req_ops, authority, resp_ops = ir.NO_HEADER_OPS, None, ir.NO_HEADER_OPS
        route = ir.Route(
            route_id,
            match,
            "forward",
            name=name,
            origin=origin,
            request_headers=req_ops,
            response_headers=resp_ops,
            catch_all=match.catches_all,
        )
        loc = ("spec", "http", origin.virtual_service.rule if origin.delegate is None else origin.delegate.rule)
        if rule.redirect is not None:
            redirect = self.redirect(rule.redirect, port, is_tls)
            if redirect is None:
                self.note(
                    "unsupported-redirect-code",
                    f"redirectCode {rule.redirect.redirectCode} is not supported by Istio; the rule gets no "
                    "action and Envoy rejects it, so meshc leaves it out",
                    _origin(owner.res, (*loc, "redirect", "redirectCode")),
                    state.plan.name,
                )
                return None
            route.action = "redirect"
            route.redirect = redirect
        elif rule.directResponse is not None:
            body = rule.directResponse.body
            route.action = "direct_response"
            route.direct_response = ir.DirectResponse(
                rule.directResponse.status,
                body.string if body is not None else None,
                body.bytes if body is not None else None,
            )
        else:
            route.forward = self.forward(state, vs, rule, port, authority, route, dest_ns, owner, loc, mirror_ns)
        if rule.fault is not None:
            route.fault = self.fault(rule.fault)
        if rule.corsPolicy is not None:
            route.cors = self.cors(rule.corsPolicy)
        return route

    @staticmethod
    def _route_id(origin: ir.RouteOrigin) -> str:
        text = _rule_id(origin.virtual_service)
        if origin.delegate is not None:
            text += "/delegate/" + _rule_id(origin.delegate)
        return text

    @staticmethod
    def redirect(r: Any, port: int, is_tls: bool) -> ir.Redirect | None:
        """`ApplyRedirect`."""
        code = REDIRECT_CODES.get(r.redirectCode or 0)
        if code is None:
            return None
        out = ir.Redirect(code, r.uri or None, r.authority or None, r.scheme or None)
        if r.port is not None or r.derivePort is not None:
            new_port = r.port if r.port is not None else (port if r.derivePort == "FROM_REQUEST_PORT" else None)
            scheme = r.scheme or ("https" if is_tls else "http")
            if (new_port == 80 and scheme == "http") or (new_port == 443 and scheme == "https"):
                new_port = None
            out.port = new_port
        return out

    def forward(
        self,
        state: _State,
        vs: _VS,
        rule: Any,
        port: int,
        authority: str | None,
        route: ir.Route,
        dest_ns: str,
        owner: _VS,
        loc: tuple[str | int, ...],
        mirror_ns: str | None,
    ) -> ir.Forward:
        """`applyHTTPRouteDestination`."""
        fwd = ir.Forward([])
        if vs.res.gateway_semantics:
            # "return 500 for invalid backends" (applyHTTPRouteDestination, Gateway API semantics)
            fwd.cluster_not_found_status = 500
        fwd.timeout = _duration(rule.timeout)
        host_rewrite = authority
        rewrite = None
        if rule.rewrite is not None:
            rw = rule.rewrite
            rewrite = ir.Rewrite()
            if rw.uriRegexRewrite is not None:
                rewrite.uri_regex = rw.uriRegexRewrite.match
                rewrite.uri_regex_substitution = rw.uriRegexRewrite.rewrite
            elif rw.uri == "/" and route.match.path.kind == "path_separated_prefix":
                # applyHTTPRouteDestination, Gateway API semantics: replacing the prefix by `/` removes it.
                rewrite.uri_regex = f"^{ir.quote_meta(route.match.path.value)}(/?)(.*)"
                rewrite.uri_regex_substitution = "/\\2"
            elif rw.uri:
                rewrite.uri = rw.uri
            if rw.authority:
                host_rewrite = rw.authority
        clusters, hashes, single_ops = self.weighted(
            state, vs, rule.route, (*loc, "route"), port, dest_ns=dest_ns, owner=owner
        )
        fwd.clusters = clusters
        fwd.hash_policy = hashes
        if single_ops is not None:
            req, resp, dest_authority = single_ops
            route.request_headers = _merge_ops(route.request_headers, req)
            route.response_headers = _merge_ops(route.response_headers, resp)
            if dest_authority and host_rewrite is None:
                host_rewrite = dest_authority
        if host_rewrite is not None:
            rewrite = rewrite or ir.Rewrite()
            rewrite.authority = host_rewrite
        fwd.rewrite = rewrite
        consistent = len(rule.route) == 1 and bool(hashes)
        fwd.retries = self.retry_policy(rule.retries, consistent)
        fwd.mirrors = self.mirrors(state, rule, port, mirror_ns or dest_ns, owner, loc)
        return fwd

    def weighted(
        self,
        state: _State,
        vs: _VS,
        destinations: list[Any],
        loc: tuple[str | int, ...],
        port: int,
        *,
        dest_ns: str | None = None,
        owner: _VS | None = None,
    ) -> tuple[list[ir.WeightedCluster], list[ir.HashPolicy], tuple[ir.HeaderOps, ir.HeaderOps, str | None] | None]:
        """Destinations → weighted clusters, hash policies, and (single destination) its header ops."""
        ns = dest_ns or vs.namespace
        owner = owner or vs
        out: list[ir.WeightedCluster] = []
        hashes: list[ir.HashPolicy] = []
        single = len(destinations) == 1
        single_ops = None
        for k, d in enumerate(destinations):
            if not single and not d.weight:
                continue  # zero or missing weight: no traffic (the entry is dropped)
            wc = self.destination(state, d.destination, port, ns, owner, (*loc, k, "destination"))
            wc.weight = 100 if single else d.weight
            headers = getattr(d, "headers", None)
            if headers is not None:
                req, authority = _header_ops(headers.request)
                resp, _ = _header_ops(headers.response)
                if single:
                    single_ops = (req, resp, authority)
                else:
                    wc.request_headers, wc.response_headers, wc.host_rewrite = req, resp, authority
            h = self.destination_hash(state, wc.host, d.destination)
            if h is not None:
                hashes.append(h)
            out.append(wc)
        return out, hashes, single_ops

    def destination(
        self, state: _State, dest: Any, port: int, ns: str, owner: _VS, loc: tuple[str | int, ...]
    ) -> ir.WeightedCluster:
        """`GetDestinationCluster`: the cluster of one destination (noting unknown hosts and subsets)."""
        host = self.mesh.fqdn(dest.host, ns)  # interned by Mesh.fqdn: kept by every route to it
        svc = state.services.get(host)
        if dest.port is not None:
            number = dest.port.number
        elif svc is not None and len(svc.ports) == 1:
            number = svc.ports[0].number
        else:
            number = port
        name = cluster_name(number, dest.subset, host)
        wc = ir.WeightedCluster(name, 100, host, number, dest.subset)
        cluster = self.cluster(state, host, number, dest.subset, owner, loc, name=name)
        wc.known = cluster is not None
        return wc

    def mirrors(
        self, state: _State, rule: Any, port: int, ns: str, owner: _VS, loc: tuple[str | int, ...]
    ) -> list[ir.Mirror]:
        """`MirrorPercent` / `MirrorPercentByPolicy`: mirrors with a percentage > 0."""
        out: list[ir.Mirror] = []
        if rule.mirror is None and not rule.mirrors:
            return out
        entries: list[tuple[Any, float | None, tuple[str | int, ...]]] = []
        if rule.mirror is not None:
            if rule.mirrorPercentage is not None:
                pct: float | None = _percent(rule.mirrorPercentage)
            elif rule.mirrorPercent is not None or rule.mirror_percent is not None:
                pct = float(rule.mirrorPercent if rule.mirrorPercent is not None else rule.mirror_percent)
            else:
                pct = 100.0
            entries.append((rule.mirror, pct, (*loc, "mirror")))
        for k, mp in enumerate(rule.mirrors):
            pct = _percent(mp.percentage) if mp.percentage is not None else 100.0
            entries.append((mp.destination, pct, (*loc, "mirrors", k, "destination")))
        for dest, pct, where in entries:
            if not pct or pct <= 0:
                continue
            wc = self.destination(state, dest, port, ns, owner, where)
            out.append(ir.Mirror(wc.cluster, wc.host, wc.port, pct, wc.subset, wc.known))
        return out

    def retry_policy(self, retries: Any, consistent_hash: bool) -> ir.RetryPolicy | None:
        """The route's retry policy: none when `attempts` is 0, the user's, else the mesh's default.

        As `ConvertPolicy` (pilot/pkg/networking/core/route/retry/retry.go). When the VirtualService
        sets none, the mesh settings' `defaultHttpRetryPolicy` applies (route.go
        `applyHTTPRouteDestination`, `BuildDefaultHTTPOutboundRoute`), else Istio's own default. The
        default (`cachedDefaultPolicy`) and a policy without `retryOn` carry no status codes: since
        Istio 1.24 `retriable-status-codes` stays in `retry_on` without `retriable_status_codes`, so no
        answer is retried for its status.
        """
        if retries is None:
            # The same for every route without retries: made once (the IR is read-only once compiled).
            if consistent_hash not in self.default_retries:
                self.default_retries[consistent_hash] = self._default_retry_policy(consistent_hash)
            return self.default_retries[consistent_hash]
        out = ir.RetryPolicy(2, list(DEFAULT_RETRY_ON), [], previous_hosts_predicate=not consistent_hash)
        if not retries.attempts or retries.attempts <= 0:
            return None
        out.attempts = retries.attempts
        if retries.retryOn:
            tokens: list[str] = []
            codes: list[int] = []
            for part in retries.retryOn.split(","):
                part = part.strip()
                if not part:
                    continue
                if _status_code(part):  # retry.go `parseRetryOn`: integers with a status text
                    codes.append(int(part))
                else:
                    tokens.append(part)
            if codes and "retriable-status-codes" not in ",".join(tokens):
                tokens.append("retriable-status-codes")
            out.retry_on = tokens
            out.retriable_status_codes = codes
        out.per_try_timeout = _duration(retries.perTryTimeout)
        if retries.retryIgnorePreviousHosts is not None:
            out.previous_hosts_predicate = bool(retries.retryIgnorePreviousHosts)
        out.retry_remote_localities = bool(retries.retryRemoteLocalities)
        out.backoff_base_interval = _duration(retries.backoff)
        return out

    def _default_retry_policy(self, consistent_hash: bool) -> ir.RetryPolicy | None:
        """The policy of a route that sets no retries: the mesh settings' default, else Istio's own."""
        mesh_default = self.mesh.settings.default_http_retry_policy
        if mesh_default is None:
            out = ir.RetryPolicy(2, list(DEFAULT_RETRY_ON), [], previous_hosts_predicate=not consistent_hash)
            out.is_default = True
            return out
        converted = self.retry_policy(mesh_default, consistent_hash)
        if converted is not None:
            converted.is_default = True
        return converted

    @staticmethod
    def fault(f: Any) -> ir.Fault | None:
        """`TranslateFault`: a delay without percentage delays nothing; an abort without one aborts nothing."""
        out = ir.Fault()
        if f.delay is not None and f.delay.fixedDelay is not None:
            pct = _percent(f.delay.percentage) if f.delay.percentage is not None else float(f.delay.percent or 0)
            out.delay = ir.FaultDelay(_duration(f.delay.fixedDelay) or "0s", pct)
        if f.abort is not None and (f.abort.httpStatus is not None or f.abort.grpcStatus is not None):
            pct = _percent(f.abort.percentage) if f.abort.percentage is not None else 0.0
            out.abort = ir.FaultAbort(pct, f.abort.httpStatus, f.abort.grpcStatus)
        if out.delay is None and out.abort is None:
            return None
        return out

    @staticmethod
    def cors(c: Any) -> ir.Cors:
        """`TranslateCORSPolicy`."""
        if c.allowOrigins:
            origins = [ir.StringMatch.of(o) for o in c.allowOrigins]
        else:
            origins = [ir.StringMatch("exact", o) for o in c.allowOrigin]
        return ir.Cors(
            origins,
            list(c.allowMethods),
            list(c.allowHeaders),
            list(c.exposeHeaders),
            _seconds(c.maxAge),
            c.allowCredentials,
            c.unmatchedPreflights != "IGNORE",
        )

    # --- delegation ---------------------------------------------------------------------------------

    def _delegate_items(
        self,
        state: _State | None,
        root: _VS,
        rule: Any,
        i: int,
        port: int,
        gateway: str,
        plan: _ContextPlan,
        *,
        is_tls: bool = False,
    ) -> list[_Item]:
        """A delegating rule replaced by the delegate's rules merged with it (translation.md §4.5)."""
        root_ref = self._rule_ref(root, rule, i, None, None)
        delegate, reason = find_delegate(self.virtual_service, root, rule)
        if reason is not None:
            if state is not None:
                self.note(
                    "missing-delegate",
                    f"{reason}; the rule is dropped",
                    _origin(root.res, ("spec", "http", i, "delegate")),
                    plan.name,
                )
            return [_Item(skipped=ir.SkippedMatch(ir.RouteOrigin(root_ref), reason, 0))]
        assert delegate is not None
        items: list[_Item] = []
        root_matches = list(rule.match)
        for k, drule in enumerate(delegate.spec.http):
            if drule.delegate is not None:
                items.append(
                    _Item(
                        skipped=ir.SkippedMatch(
                            ir.RouteOrigin(root_ref, self._rule_ref(delegate, drule, k, None, None)),
                            "delegation is one level only",
                            0,
                        )
                    )
                )
                continue
            pairs = merge_matches(root_matches, list(drule.match))
            if pairs is None:
                found = dropped_because(root_matches, list(drule.match))
                why = f" ({found[1]})" if found is not None else ""
                items.append(
                    _Item(
                        skipped=ir.SkippedMatch(
                            ir.RouteOrigin(root_ref, self._rule_ref(delegate, drule, k, None, None)),
                            f"delegate {delegate.namespace}/{delegate.name} rule {k} conflicts with the root's "
                            f"match{why}",
                            0,
                        )
                    )
                )
                continue
            merged_rule = MergedRule(rule, drule)
            for root_j, del_j, merged in pairs:
                vs_ref = self._rule_ref(root, rule, i, root_j, root_matches[root_j] if root_j is not None else None)
                d_ref = self._rule_ref(delegate, drule, k, del_j, drule.match[del_j] if del_j is not None else None)
                origin = ir.RouteOrigin(vs_ref, d_ref)
                reason = self._config_time_reason(merged, delegate.namespace, port, gateway, plan)
                if reason is not None:
                    items.append(_Item(skipped=ir.SkippedMatch(origin, reason, 0)))
                    continue
                if state is None:
                    items.append(_Item(route=ir.Route("probe", ir.RouteMatch(), "forward")))
                    return items
                route = self.translate(
                    state,
                    delegate,
                    merged_rule,
                    merged,
                    port,
                    origin,
                    delegate.namespace,
                    delegate,
                    is_tls=is_tls,
                    mirror_ns=root.namespace if drule.mirror is None and not drule.mirrors else None,
                )
                if route is not None:
                    items.append(_Item(route=route))
        return items

    # --- clusters -----------------------------------------------------------------------------------

    def merged_rules(self, state: _State, host: str) -> ConsolidatedRule:
        """The DestinationRule this proxy applies to `host`, merged (`Resolver.destination_rule`); empty if none."""
        found = state.rules.get(host)
        if found is None:
            found = self.resolver.destination_rule(host, state.client)
            if found is None:
                found = ConsolidatedRule(host, [], frozenset(), None)
            state.rules[host] = found
        return found

    def cluster(
        self,
        state: _State,
        host: str,
        port: int,
        subset: str | None,
        owner: _VS | None = None,
        loc: tuple[str | int, ...] = (),
        *,
        name: str | None = None,
    ) -> ir.Cluster | None:
        """The cluster `outbound|port|subset|host` (built once per context); None when it cannot exist.

        `name` is that name when the caller has made it already.
        """
        if name is None:
            name = cluster_name(port, subset, host)
        if name in state.clusters:
            return state.clusters[name]
        svc = state.services.get(host)
        # Each note points where `meshc lint` reports the same problem (MC101-MC103): the field at fault.
        if svc is None:
            state.clusters[name] = None
            if owner is not None:
                where = _origin(owner.res, (*loc, "host"))
                known = self.mesh.any_host(host, state.plan.namespace)
                why = (
                    f"host `{host}` is not visible from namespace `{state.plan.namespace}` (exportTo)"
                    if any(k.hostname == host for k in known)
                    else f"host `{host}` is not in the registry (no Service or ServiceEntry)"
                )
                self.note("unknown-host", f"{why}; Envoy answers 503 for traffic sent to it", where, state.plan.name)
            return None
        sport = svc.port(port)
        if sport is None:
            state.clusters[name] = None
            if owner is not None:
                ports = ", ".join(str(p.number) for p in svc.ports) or "none"
                self.note(
                    "unknown-port",
                    f"`{host}` has no port {port} (ports: {ports}); Envoy answers 503 for traffic sent to it",
                    _origin(owner.res, (*loc, "port", "number")),
                    state.plan.name,
                )
            return None
        merged = self.merged_rules(state, host)
        subset_entry = None
        if subset:
            subset_entry = merged.subsets.get(subset)
            if subset_entry is None:
                state.clusters[name] = None
                if owner is not None:
                    defined = ", ".join(sorted(merged.subsets)) or "none"
                    self.note(
                        "unknown-subset",
                        f"subset `{subset}` is not defined for host `{host}` (subsets: {defined}); "
                        "Envoy answers 503 for traffic sent to it",
                        _origin(owner.res, (*loc, "subset")),
                        state.plan.name,
                    )
                return None
        cluster = ir.Cluster(
            name,
            host,
            port,
            "STATIC",
            subset,
            protocol=sport.protocol,
            service=self.origin(svc.entry_for(port).resource),
            destination_rules=[self.origin(r) for r in merged.rules],
        )
        if subset_entry is not None:
            r, idx = subset_entry
            cluster.subset_labels = dict(r.spec.subsets[idx].labels)
        self.apply_policy(cluster, merged, subset_entry, port)
        self.endpoints(cluster, svc, sport)
        state.clusters[name] = cluster
        return cluster

    def apply_policy(
        self, cluster: ir.Cluster, merged: ConsolidatedRule, subset_entry: tuple[Resource, int] | None, port: int
    ) -> None:
        """`MergeTrafficPolicy`: top level (or its port entry), the subset's blocks, the subset's port entry.

        The blocks depend only on the rule with the top-level policy, the port and the subset's policy:
        a service's cluster and its subsets without a policy of their own take the same ones, chosen once.
        """
        top = merged.top
        stp = None
        if subset_entry is not None:
            r, idx = subset_entry
            stp = r.spec.subsets[idx].trafficPolicy
        key = (id(top), port, id(stp))
        chosen = self.policy_sets.get(key)
        if chosen is None:
            chosen = self.policy_sets[key] = self._policy_set(top, subset_entry if stp is not None else None, port)
        for attr, value in chosen:
            setattr(cluster, attr, value)
            if attr == "load_balancer" and value.policy == "PASSTHROUGH":
                cluster.discovery = "ORIGINAL_DST"

    def _policy_set(
        self, top: Resource | None, subset_entry: tuple[Resource, int] | None, port: int
    ) -> list[tuple[str, Any]]:
        """(Cluster field, block) of each block a DestinationRule sets for the cluster (`apply_policy`)."""
        # Per block (in `_POLICY_BLOCKS` order): (model, DestinationRule, level, field path of its parent).
        blocks: list[tuple[Any, Resource, str, tuple[str | int, ...]] | None] = [None, None, None, None]
        if top is not None:
            tp = top.spec.trafficPolicy
            entry = _port_entry(tp.portLevelSettings, port)
            if entry is not None:
                where: tuple[str | int, ...] = ("spec", "trafficPolicy", "portLevelSettings", entry[0])
                pls = entry[1]
                for n, b in enumerate(_POLICY_BLOCKS):
                    value = getattr(pls, b)
                    blocks[n] = (value, top, "port", where) if value is not None else None
            else:
                where = ("spec", "trafficPolicy")
                for n, b in enumerate(_POLICY_BLOCKS):
                    value = getattr(tp, b)
                    if value is not None:
                        blocks[n] = (value, top, "top", where)
        if subset_entry is not None:
            r, idx = subset_entry
            stp = r.spec.subsets[idx].trafficPolicy
            if stp is not None:
                base: tuple[str | int, ...] = ("spec", "subsets", idx, "trafficPolicy")
                for n, b in enumerate(_POLICY_BLOCKS):
                    value = getattr(stp, b)
                    if value is not None:
                        blocks[n] = (value, r, "subset", base)
                entry = _port_entry(stp.portLevelSettings, port)
                if entry is not None:
                    where = (*base, "portLevelSettings", entry[0])
                    pls = entry[1]
                    for n, b in enumerate(_POLICY_BLOCKS):
                        value = getattr(pls, b)
                        blocks[n] = (value, r, "subset-port", where) if value is not None else None
        lb, pool, outlier, tls = blocks
        out: list[tuple[str, Any]] = []
        if lb is not None:
            out.append(("load_balancer", self.policy(_load_balancer, "loadBalancer", *lb)))
        if pool is not None:
            out.append(("connection_pool", self.policy(_connection_pool, "connectionPool", *pool)))
        if outlier is not None:
            out.append(("outlier_detection", self.policy(_outlier, "outlierDetection", *outlier)))
        if tls is not None:
            out.append(("tls", self.policy(_upstream_tls, "tls", *tls)))
        return out

    def policy(
        self,
        build: Callable[[Any, ir.PolicyOrigin], Any],
        block: str,
        value: Any,
        res: Resource,
        level: str,
        where: tuple[str | int, ...],
    ) -> Any:
        """`build(value, origin)` of the DestinationRule block `block` under `where`, made once for all its clusters.

        A service's cluster and its subsets' clusters share their blocks (3,000 services: 9,000
        blocks instead of 27,000): the IR is read-only once compiled. `value` is a model of the Mesh,
        which outlives the compile, so its id is a key: one model object is one node of the input, so
        it names the field path too.
        """
        key = (block, id(value), id(res), level)
        if key not in self.policies:  # a block may build to None (`tls` with mode DISABLE)
            self.policies[key] = build(value, _policy_origin(res, level, (*where, block)))
        return self.policies[key]

    def endpoints(self, cluster: ir.Cluster, svc: ServiceHost, sport: Any) -> None:
        """Endpoints from WorkloadEntries and ServiceEntry endpoints, filtered by the subset's labels."""
        svc = svc.entry_for(sport.number)
        res = svc.resource
        labels = cluster.subset_labels
        found: list[ir.Endpoint] = []
        dns = False
        if svc.is_service_entry:
            spec = res.spec
            resolution = spec.resolution or "NONE"
            if resolution == "NONE":
                if cluster.discovery == "STATIC":
                    cluster.discovery = "ORIGINAL_DST"
                return
            dns = resolution in ("DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")
            for k, ep in enumerate(spec.endpoints):
                if not ep.address:
                    continue
                if any(ep.labels.get(a) != b for a, b in labels.items()):
                    continue
                ep_port = ep.ports.get(sport.name) if sport.name else None
                found.append(
                    ir.Endpoint(
                        ep.address,
                        ep_port or (sport.target_port if isinstance(sport.target_port, int) else None) or sport.number,
                        ep.weight,
                        dict(ep.labels),
                        _origin(res, ("spec", "endpoints", k)),
                    )
                )
        if svc.selector is not None:
            for w in self.mesh.workloads_by_ns.get(svc.namespace, ()):
                if w.resource.kind != "WorkloadEntry" or not w.address:
                    continue
                if not w.matches(svc.selector) or any(w.labels.get(a) != b for a, b in labels.items()):
                    continue
                port = None
                if sport.name and sport.name in w.ports:
                    port = w.ports[sport.name]
                elif isinstance(sport.target_port, str) and sport.target_port in w.ports:
                    port = w.ports[sport.target_port]
                elif isinstance(sport.target_port, int):
                    port = sport.target_port
                found.append(
                    ir.Endpoint(
                        w.address,
                        port or sport.number,
                        getattr(w.resource.spec, "weight", None),
                        dict(w.labels),
                        self.origin(w.resource),
                    )
                )
        if not found and (dns or not svc.is_service_entry) and not svc.hostname.startswith("*"):
            # No address known: resolve the name itself (a Kubernetes Service's FQDN, a DNS ServiceEntry host).
            target = sport.target_port if isinstance(sport.target_port, int) else sport.number
            found.append(ir.Endpoint(svc.hostname, target if not svc.is_service_entry else sport.number))
            dns = True
        if cluster.discovery != "ORIGINAL_DST":
            addressed = not dns and all(is_ip(e.address) or e.address.startswith("unix://") for e in found)
            cluster.discovery = "STATIC" if addressed else "STRICT_DNS"
        if len(found) > 1:
            found.sort(key=lambda e: (e.address, e.port))
        cluster.endpoints = found

    def destination_hash(self, state: _State, host: str, dest: Any) -> ir.HashPolicy | None:
        """`hashForHTTPDestination`: subset port entry, subset, DR port entry (explicit port only), DR.

        Made once per proxy, host, subset and port (the IR is read-only once compiled).
        """
        key = (host, dest.subset, dest.port.number if dest.port is not None else None)
        if key not in state.hashes:
            state.hashes[key] = self._destination_hash(state, host, dest)
        return state.hashes[key]

    def _destination_hash(self, state: _State, host: str, dest: Any) -> ir.HashPolicy | None:
        merged = self.merged_rules(state, host)
        if not merged.rules:
            return None
        top = merged.top
        found: tuple[Any, ir.PolicyOrigin] | None = None
        if top is not None:
            tp = top.spec.trafficPolicy
            if tp.loadBalancer is not None and tp.loadBalancer.consistentHash is not None:
                found = (
                    tp.loadBalancer.consistentHash,
                    _policy_origin(top, "top", ("spec", "trafficPolicy", "loadBalancer", "consistentHash")),
                )
            if dest.port is not None:
                entry = _port_entry(tp.portLevelSettings, dest.port.number)
                if entry is not None and entry[1].loadBalancer is not None and entry[1].loadBalancer.consistentHash:
                    found = (
                        entry[1].loadBalancer.consistentHash,
                        _policy_origin(
                            top,
                            "port",
                            ("spec", "trafficPolicy", "portLevelSettings", entry[0], "loadBalancer", "consistentHash"),
                        ),
                    )
        if dest.subset and dest.subset in merged.subsets:
            r, idx = merged.subsets[dest.subset]
            stp = r.spec.subsets[idx].trafficPolicy
            if stp is not None:
                base = ("spec", "subsets", idx, "trafficPolicy")
                if stp.loadBalancer is not None and stp.loadBalancer.consistentHash is not None:
                    found = (
                        stp.loadBalancer.consistentHash,
                        _policy_origin(r, "subset", (*base, "loadBalancer", "consistentHash")),
                    )
                if dest.port is not None:
                    entry = _port_entry(stp.portLevelSettings, dest.port.number)
                    if entry is not None and entry[1].loadBalancer is not None and entry[1].loadBalancer.consistentHash:
                        found = (
                            entry[1].loadBalancer.consistentHash,
                            _policy_origin(
                                r,
                                "subset-port",
                                (*base, "portLevelSettings", entry[0], "loadBalancer", "consistentHash"),
                            ),
                        )
        return _hash_policy(*found) if found is not None else None

    def service_hash(self, state: _State, host: str, port: int) -> ir.HashPolicy | None:
        """`hashForService`: the DR's consistentHash, overridden by its entry for the port."""
        merged = self.merged_rules(state, host)
        top = merged.top
        if top is None:
            return None
        tp = top.spec.trafficPolicy
        found = None
        if tp.loadBalancer is not None and tp.loadBalancer.consistentHash is not None:
            found = (
                tp.loadBalancer.consistentHash,
                _policy_origin(top, "top", ("spec", "trafficPolicy", "loadBalancer", "consistentHash")),
            )
        entry = _port_entry(tp.portLevelSettings, port)
        if entry is not None and entry[1].loadBalancer is not None and entry[1].loadBalancer.consistentHash:
            found = (
                entry[1].loadBalancer.consistentHash,
                _policy_origin(
                    top,
                    "port",
                    ("spec", "trafficPolicy", "portLevelSettings", entry[0], "loadBalancer", "consistentHash"),
                ),
            )
        return _hash_policy(*found) if found is not None else None

    # --- security -----------------------------------------------------------------------------------

    def security(self, plan: _ContextPlan) -> tuple[list[ir.JwtProvider], list[ir.AuthorizationPolicy]]:
        """RequestAuthentications and AuthorizationPolicies that select the context's workload."""
        providers: list[ir.JwtProvider] = []
        for res in self.mesh.of_kind("RequestAuthentication"):
            if not self._selects_workload(res, plan):
                continue
            for k, rule in enumerate(res.spec.jwtRules):
                providers.append(
                    ir.JwtProvider(
                        f"{res.namespace}/{res.name}/{k}",
                        rule.issuer,
                        list(rule.audiences),
                        rule.jwks,
                        rule.jwksUri or rule.jwks_uri,
                        [ir.JwtHeader(h.name, h.prefix) for h in rule.fromHeaders],
                        list(rule.fromParams),
                        list(rule.fromCookies),
                        bool(rule.forwardOriginalToken),
                        rule.outputPayloadToHeader,
                        [ir.ClaimToHeader(c.header, c.claim) for c in rule.outputClaimToHeaders],
                        _duration(rule.timeout),
                        space_delimited_claims(rule.spaceDelimitedClaims),
                        _origin(res, ("spec", "jwtRules", k)),
                    )
                )
        policies: list[ir.AuthorizationPolicy] = []
        for policy in self.mesh.of_kind("AuthorizationPolicy"):
            if not self._selects_workload(policy, plan):
                continue
            spec = policy.spec
            rules = []
            for authz in spec.rules:
                rules.append(
                    ir.AuthzRule(
                        [_authz_source(f.source) for f in authz.from_],
                        [_authz_operation(t.operation) for t in authz.to],
                        [ir.AuthzCondition(c.key, list(c.values), list(c.notValues)) for c in authz.when],
                    )
                )
            policies.append(
                ir.AuthorizationPolicy(
                    f"{policy.namespace}/{policy.name}",
                    spec.action or "ALLOW",
                    rules,
                    spec.provider.name if spec.provider is not None else None,
                    dict(spec.selector.matchLabels) if spec.selector is not None else {},
                    str(policy.annotations.get("istio.io/dry-run", "")).lower() == "true",
                    _origin(policy),
                )
            )
        providers.sort(key=lambda p: p.name)
        policies.sort(key=lambda p: p.name)
        return providers, policies

    def _selects_workload(self, res: Resource, plan: _ContextPlan) -> bool:
        spec = res.spec
        if spec is None:
            return False
        if spec.targetRef is not None or spec.targetRefs:
            # Gateway API attachment: only the gateways named by the reference.
            refs = [spec.targetRef] if spec.targetRef is not None else list(spec.targetRefs)
            return plan.kind == "gateway" and any(
                r.kind == "Gateway" and any(g.key == f"{r.namespace or res.namespace}/{r.name}" for g in plan.gateways)
                for r in refs
            )
        selector = dict(spec.selector.matchLabels) if spec.selector is not None else {}
        if res.namespace == self.mesh.options.root_namespace and not selector:
            return True
        if res.namespace != plan.namespace:
            return False
        return all(plan.labels.get(k) == v for k, v in selector.items())


class MergedRule:
    """A root rule and a delegate rule merged (`mergeHTTPRoute`): delegate fields win, the root fills gaps."""

    _FILLED = (
        "rewrite",
        "directResponse",
        "timeout",
        "retries",
        "fault",
        "mirror",
        "mirrorPercent",
        "mirror_percent",
        "mirrorPercentage",
        "corsPolicy",
        "headers",
    )

    def __init__(self, root: Any, delegate: Any) -> None:
        self.root = root
        self.delegate = delegate
        if delegate.name and root.name:
            self.name = f"{root.name}-{delegate.name}"
        else:
            self.name = delegate.name or root.name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self.delegate, attr)
        if attr in self._FILLED and value is None:
            return getattr(self.root, attr)
        if attr == "mirrors" and not value:
            return self.root.mirrors
        return value


def _rule_id(ref: ir.RuleRef) -> str:
    """`ns/name/http/RULE[/match/MATCH]`: one part of a route's id."""
    text = f"{ref.namespace}/{ref.name}/http/{ref.rule}"
    return text + (f"/match/{ref.match}" if ref.match is not None else "")


def _intersection(server_hosts: Iterable[str], vs_hosts: Iterable[str]) -> list[str]:
    """`host.Names.Intersection`: for each overlapping pair, the more specific host."""
    out: list[str] = []
    vs_list = list(vs_hosts)
    for s in server_hosts:
        for v in vs_list:
            if host_subset_of(s, v):
                pick = s
            elif host_subset_of(v, s):
                pick = v
            else:
                continue
            if pick not in out:
                out.append(pick)
    return out


_POLICY_BLOCKS = ("loadBalancer", "connectionPool", "outlierDetection", "tls")
"""The DestinationRule traffic policy blocks a cluster takes, each from the most specific level that sets it."""


def _port_entry(settings: list[Any], port: int) -> tuple[int, Any] | None:
    for k, p in enumerate(settings or ()):
        if p.port is not None and p.port.number == port:
            return k, p
    return None


def _policy_origin(res: Resource, level: str, loc: tuple[str | int, ...]) -> ir.PolicyOrigin:
    if res.doc is None:
        return ir.PolicyOrigin(res.namespace, res.name, level, _field(loc))  # type: ignore[arg-type]
    return ir.PolicyOrigin.located(res.doc, loc, res.namespace, res.name, level, _field(loc))


def _hash_policy(ch: Any, origin: ir.PolicyOrigin) -> ir.HashPolicy | None:
    """`consistentHashToHashPolicy`."""
    if ch.httpHeaderName:
        return ir.HashPolicy("header", ch.httpHeaderName, origin=origin)
    if ch.httpCookie is not None:
        return ir.HashPolicy("cookie", ch.httpCookie.name, ch.httpCookie.path, _duration(ch.httpCookie.ttl), origin)
    if ch.useSourceIp:
        return ir.HashPolicy("source_ip", origin=origin)
    if ch.httpQueryParameterName:
        return ir.HashPolicy("query_parameter", ch.httpQueryParameterName, origin=origin)
    return None


def _load_balancer(lb: Any, origin: ir.PolicyOrigin) -> ir.LoadBalancer:
    out = ir.LoadBalancer("LEAST_REQUEST", origin=origin)
    if lb is None:
        out.origin = None
        return out
    simple = lb.simple
    if simple == "ROUND_ROBIN":
        out.policy = "ROUND_ROBIN"
    elif simple == "RANDOM":
        out.policy = "RANDOM"
    elif simple == "PASSTHROUGH":
        out.policy = "PASSTHROUGH"
    ch = lb.consistentHash
    if ch is not None:
        out.hash = _hash_policy(ch, origin)
        if ch.maglev is not None:
            out.policy = "MAGLEV"
            out.table_size = ch.maglev.tableSize or None
        else:
            out.policy = "RING_HASH"
            size = ch.ringHash.minimumRingSize if ch.ringHash is not None else ch.minimumRingSize
            out.minimum_ring_size = size or 1024
    if lb.localityLbSetting is not None:
        out.locality_enabled = lb.localityLbSetting.enabled
    if lb.warmup is not None:
        out.warmup = _duration(lb.warmup.duration)
    elif lb.warmupDurationSecs is not None:
        out.warmup = _duration(lb.warmupDurationSecs)
    return out


def _connection_pool(cp: Any, origin: ir.PolicyOrigin) -> ir.ConnectionPool:
    out = ir.ConnectionPool(origin=origin)
    if cp is None:
        out.origin = None
        return out
    tcp, http = cp.tcp, cp.http
    if tcp is not None:
        if tcp.maxConnections:
            out.max_connections = tcp.maxConnections
        if tcp.connectTimeout is not None:
            out.connect_timeout = _duration(tcp.connectTimeout) or out.connect_timeout
        if tcp.tcpKeepalive is not None:
            ka = tcp.tcpKeepalive
            out.tcp_keepalive = ir.TcpKeepalive(ka.probes, _duration(ka.time), _duration(ka.interval))
        out.max_connection_duration = _duration(tcp.maxConnectionDuration)
        out.idle_timeout = _duration(tcp.idleTimeout)
    if http is not None:
        if http.http1MaxPendingRequests:
            out.max_pending_requests = http.http1MaxPendingRequests
        if http.http2MaxRequests:
            out.max_requests = http.http2MaxRequests
        if http.maxRetries:
            out.max_retries = http.maxRetries
        if http.maxRequestsPerConnection:
            out.max_requests_per_connection = http.maxRequestsPerConnection
        if http.idleTimeout is not None:
            out.idle_timeout = _duration(http.idleTimeout)
        out.h2_upgrade_policy = getattr(http, "h2UpgradePolicy", None)
        out.use_client_protocol = bool(http.useClientProtocol)
        out.max_concurrent_streams = http.maxConcurrentStreams or None
    return out


def _outlier(od: Any, origin: ir.PolicyOrigin) -> ir.OutlierDetection | None:
    if od is None:
        return None
    out = ir.OutlierDetection(origin=origin)
    c5 = getattr(od, "consecutive5xxErrors", None)
    if c5 is not None:
        out.consecutive_5xx = c5
        out.enforcing_consecutive_5xx = 100 if c5 > 0 else 0
    if od.consecutiveGatewayErrors is not None:
        out.consecutive_gateway_failure = od.consecutiveGatewayErrors
        out.enforcing_consecutive_gateway_failure = 100 if od.consecutiveGatewayErrors > 0 else 0
    if od.interval is not None:
        out.interval = _duration(od.interval) or out.interval
    if od.baseEjectionTime is not None:
        out.base_ejection_time = _duration(od.baseEjectionTime) or out.base_ejection_time
    if od.maxEjectionPercent:
        out.max_ejection_percent = od.maxEjectionPercent
    if od.minHealthPercent is not None:
        out.min_health_percent = od.minHealthPercent
    out.split_external_local_origin_errors = bool(od.splitExternalLocalOriginErrors)
    if od.consecutiveLocalOriginFailures is not None:
        out.consecutive_local_origin_failure = od.consecutiveLocalOriginFailures
    return out


def _upstream_tls(tls: Any, origin: ir.PolicyOrigin) -> ir.UpstreamTLS | None:
    if tls is None or not tls.mode or tls.mode == "DISABLE":
        return None
    return ir.UpstreamTLS(
        tls.mode,
        tls.sni,
        tls.clientCertificate,
        tls.privateKey,
        tls.caCertificates,
        tls.credentialName,
        list(tls.subjectAltNames),
        bool(tls.insecureSkipVerify),
        origin,
    )


def _authz_source(s: Any) -> ir.AuthzSource:
    return ir.AuthzSource(
        list(s.principals),
        list(s.notPrincipals),
        list(s.requestPrincipals),
        list(s.notRequestPrincipals),
        list(s.namespaces),
        list(s.notNamespaces),
        list(s.serviceAccounts),
        list(s.notServiceAccounts),
        list(s.ipBlocks),
        list(s.notIpBlocks),
        list(s.remoteIpBlocks),
        list(s.notRemoteIpBlocks),
        list(s.trustDomains),
        list(s.notTrustDomains),
    )


def _authz_operation(o: Any) -> ir.AuthzOperation:
    return ir.AuthzOperation(
        list(o.hosts),
        list(o.notHosts),
        list(o.ports),
        list(o.notPorts),
        list(o.methods),
        list(o.notMethods),
        list(o.paths),
        list(o.notPaths),
    )


def compile_mesh(mesh: Mesh, scope: Scope | None = None) -> ir.IR:
    """Compile a Mesh (or the slice of it `scope` asks for) into the IR.

    The cyclic collector is paused meanwhile, as while loading (`no_gc`): compiling builds hundreds
    of thousands of small objects (the IR, its origins) and almost no cycles, and each automatic
    collection walked the young ones again (3,000 services: 6 collections, 4% of the compile).
    """
    with no_gc():
        return Compiler(mesh, scope).compile()
