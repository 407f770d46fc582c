"""Cross-reference rules (MC1xx): hosts, ports, subsets and gateways that a resource names must exist.

Every host and DestinationRule goes through `meshc.resolve.Resolver` (short names, FQDNs,
exportTo, istiod's precedence), so the rules never re-implement resolution. Checks that need the
service registry declare `requires=("services",)` and are skipped, with a note in the summary, when the input has none.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from meshc.diagnostics import Severity
from meshc.hosts import host_matches
from meshc.mesh import (
    GATEWAY_API_GROUP,
    INTERNAL_GATEWAY_MARK,
    Mesh,
    Resource,
    ServiceHost,
    destination_entries,
    export_set,
    reference_scopes,
    scopes_overlap,
    selector_text,
)
from meshc.rules.base import Finding, rule

if TYPE_CHECKING:
    # The rules that resolve import meshc.resolve when they run: a lint of VirtualServices alone runs
    # none of them (each needs Services or DestinationRules), and saves its import (about 6 ms).
    from meshc.resolve import Resolver

# Node labels Istio adds to pods for locality; meshc has no Nodes, so subsets on them are not judged.
TOPOLOGY_LABELS = frozenset(
    {
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
        "kubernetes.io/hostname",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
    }
)


def _ports(service: ServiceHost) -> str:
    return ", ".join(str(p.number) for p in service.ports)


def _exported(service: ServiceHost) -> str:
    return ", ".join(f"`{ns}`" for ns in sorted(service.export_to))


def _virtual_services(mesh: Mesh) -> Iterator[Resource]:
    return mesh.of_kind("VirtualService", partial=True)


class ResolvedDestination(NamedTuple):
    """A VirtualService destination with the registry entry it resolves to."""

    vs: Resource
    loc: tuple[str | int, ...]
    destination: Any
    mirror: bool
    scopes: frozenset[str]
    """Namespaces where the VirtualService applies (its exportTo, else its namespace)."""
    fqdn: str
    """The host resolved in the VirtualService's namespace (`reviews` → `reviews.default.svc.cluster.local`)."""
    service: ServiceHost | None
    """The entry a proxy where the VirtualService applies uses for the host; None if none."""


class SubsetProblem(NamedTuple):
    """A destination subset some clients of the VirtualService's namespace do not have."""

    destination: ResolvedDestination
    rules: list[Resource]
    """The DestinationRules those clients apply (empty: none)."""
    defined: list[str]
    """The subsets they define."""
    who: str | None
    """Which clients lack it (None: every client)."""
    elsewhere: Resource | None
    """A DestinationRule of other clients of the namespace that defines it (workloadSelector)."""


class _DestinationProblems(msgspec.Struct):
    """Destinations of every VirtualService that MC101-MC104 report, found in one walk."""

    unknown_host: list[ResolvedDestination] = msgspec.field(default_factory=list)
    unknown_port: list[ResolvedDestination] = msgspec.field(default_factory=list)
    port_required: list[ResolvedDestination] = msgspec.field(default_factory=list)
    unknown_subset: list[SubsetProblem] = msgspec.field(default_factory=list)


def _clients(scopes: frozenset[str], namespace: str) -> list[str]:
    """Client namespaces a VirtualService applies to: its own first (`*`: a namespace exportTo does not name)."""
    from meshc.resolve import ANY_NAMESPACE

    out = sorted(scopes, key=lambda ns: (ns != namespace, ns))
    return [ANY_NAMESPACE if ns == "*" else ns for ns in out]


def _resolve(
    resolver: Resolver, host: str, namespace: str, clients: list[str]
) -> tuple[str, ServiceHost | None, ServiceHost | None]:
    """(FQDN, the entry a client uses, a wildcard ServiceEntry covering the name) for a host a resource names.

    The first client namespace where the host resolves decides. istiod routes only to exact
    registry names, but `istioctl analyze` (`GetDestinationHost`) also accepts a name a visible
    wildcard ServiceEntry covers, so the reference rules count such a name as known.
    """
    fqdn = resolver.mesh.fqdn(host, namespace)
    for client in clients:
        found = resolver.resolve_host(host, client, written_in=namespace)
        if found.service is not None:
            return found.host, found.service, None
    for client in clients:
        covering = resolver.wildcards_covering(host, client, written_in=namespace)
        if covering:
            return fqdn, None, covering[0]
    return fqdn, None, None


def _selector_classes(mesh: Mesh) -> dict[str, list[dict[str, str]]]:
    """Per namespace, the workloadSelector labels of its DestinationRules (each a class of clients)."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in mesh.of_kind("DestinationRule", partial=False):
        selector = r.spec.workloadSelector
        if selector is not None:
            labels = dict(selector.matchLabels)
            if labels not in out[r.namespace]:
                out[r.namespace].append(labels)
    return out


def _subset_views(
    resolver: Resolver, fqdn: str, namespace: str, classes: list[dict[str, str]]
) -> list[tuple[dict[str, str] | None, list[Resource], list[str]]]:
    """(client labels, rules, subsets) for the clients of `namespace`: plain ones, then each workloadSelector class."""
    from meshc.resolve import Client

    short = resolver.mesh.short_names(fqdn)
    assumed = short[1] if short is not None else namespace
    out: list[tuple[dict[str, str] | None, list[Resource], list[str]]] = []
    for labels in [None, *classes]:
        cr = resolver.destination_rule(fqdn, Client(namespace, labels or {}), service_namespace=assumed)
        rules = list(cr.rules) if cr is not None else []
        out.append((labels, rules, list(cr.subsets) if cr is not None else []))
    return out


def _check_destinations(mesh: Mesh) -> _DestinationProblems:
    from meshc.resolve import Resolver

    out = _DestinationProblems()
    resolver = Resolver.of(mesh)
    resolved: dict[tuple[str, str, frozenset[str]], tuple[str, ServiceHost | None, ServiceHost | None]] = {}
    subsets: dict[tuple[str, str], list[tuple[dict[str, str] | None, list[Resource], list[str]]]] = {}
    untrusted = mesh.partial_destination_rule_hosts
    classes = _selector_classes(mesh)
    for vs in mesh.of_kind("VirtualService"):
        spec = vs.model.spec
        ns = vs.namespace
        scopes = reference_scopes(spec.exportTo, ns)
        for loc, dest, mirror in destination_entries(spec, vs.valid):
            key = (dest.host, ns, scopes)
            found = resolved.get(key)
            if found is None:
                found = resolved[key] = _resolve(resolver, dest.host, ns, _clients(scopes, ns))
            fqdn, service, cover = found
            d = ResolvedDestination(vs, loc, dest, mirror, scopes, fqdn, service)
            if service is None and cover is None:
                out.unknown_host.append(d)
            elif service is not None:
                port = dest.port
                if port is None:
                    if len(service.ports) > 1:
                        out.port_required.append(d)
                elif service.ports and isinstance(port.number, int) and service.port(port.number) is None:
                    out.unknown_port.append(d)
            subset = dest.subset
            # A DestinationRule with schema errors is reported by the schema checks (one root cause).
            if not subset or fqdn in untrusted:
                continue
            views = subsets.get((fqdn, ns))
            if views is None:
                views = subsets[(fqdn, ns)] = _subset_views(resolver, fqdn, ns, classes.get(ns, []))
            out.unknown_subset.extend(_subset_problems(d, subset, views))
    return out


def _subset_problems(
    d: ResolvedDestination, subset: str, views: list[tuple[dict[str, str] | None, list[Resource], list[str]]]
) -> list[SubsetProblem]:
    """One problem per class of clients that lacks `subset` (one for all when no class has it)."""
    lacking = [v for v in views if subset not in v[2]]
    if not lacking:
        return []
    having = [v for v in views if subset in v[2]]
    _, plain_rules, plain_defined = views[0]
    if not having:
        return [SubsetProblem(d, plain_rules, plain_defined, None, None)]
    out = []
    selectors = [labels for labels, _, _ in views[1:] if labels is not None]
    for labels, rules, defined in lacking:
        if labels is None:
            who = "clients without labels " + " or ".join(f"`{selector_text(s)}`" for s in selectors)
        else:
            who = f"workloads with labels `{selector_text(labels)}`"
        out.append(SubsetProblem(d, rules, defined, who, having[0][1][0] if having[0][1] else None))
    return out


def _destination_problems(mesh: Mesh) -> _DestinationProblems:
    return mesh.memo("destination-problems", _check_destinations)


# --- destinations ----------------------------------------------------------------------------


@rule("MC101", "unknown-destination-host", Severity.ERROR, istio="IST0101", requires=("services",))
def unknown_destination_host(mesh: Mesh) -> Iterator[Finding]:
    """A route or mirror destination names a host that no Service or ServiceEntry defines.

    The host is resolved as Istio does: a short name in the VirtualService's namespace, an FQDN
    as written, a wildcard ServiceEntry host covering the names below it; the Service or
    ServiceEntry must be exported (`exportTo`, or the Service annotation
    `networking.istio.io/exportTo`) to the namespaces where the VirtualService applies.

    A Kubernetes name in a namespace that has no Service or ServiceEntry in the input is not
    judged (that namespace's registry may live in another repository).

    ## Why is this bad?
    Envoy has no cluster for the host, so every request routed there fails with 503 (or the
    mirror copy is silently dropped).

    ## Example
    ```yaml
    http:
    - route:
      - destination:
          host: reviewz        # no Service `reviewz` in this namespace
    ```

    Use instead:
    ```yaml
    http:
    - route:
      - destination:
          host: reviews
    ```
    """
    for d in _destination_problems(mesh).unknown_host:
        vs = d.vs
        host = d.destination.host
        if d.fqdn in mesh.partial_hostnames or not mesh.registry_covers(d.fqdn):
            continue
        what = "mirror host" if d.mirror else "host"
        hidden = mesh.any_host(host, vs.namespace)
        loc = (*d.loc, "host")
        if hidden:
            other = hidden[0]
            where = ", ".join(f"`{s}`" for s in sorted(d.scopes))
            yield Finding(
                vs,
                loc,
                f"{what} `{host}` is not exported to namespace {where}",
                help=f"{other.described} is exported only to {_exported(other)}",
                related=((other.resource, (), "the host is defined here"),),
            )
            continue
        guess = mesh.suggest_host(host, vs.namespace)
        yield Finding(
            vs,
            loc,
            f"{what} `{host}` matches no Service or ServiceEntry",
            help=f"did you mean `{guess}`?" if guess else "define a Service, or a ServiceEntry for an external host",
        )


@rule("MC102", "unknown-subset", Severity.ERROR, istio="IST0101", requires=("destination-rules",))
def unknown_subset(mesh: Mesh) -> Iterator[Finding]:
    """A route or mirror destination names a subset that no DestinationRule defines for its host.

    The DestinationRules considered are the ones istiod applies to the VirtualService's
    namespace: rules in that namespace, then in the service's namespace, then in the root
    namespace (`istio-system`), exported to the VirtualService's namespace, exact host before
    wildcard. A host whose DestinationRule has schema errors is not judged (the schema error is
    the root cause).

    ## Why is this bad?
    Envoy has no cluster for the subset: every request routed there fails with 503
    ("no healthy upstream"), and a mirror to it is dropped.

    ## Example
    ```yaml
    route:
    - destination:
        host: reviews
        subset: v3     # the DestinationRule for reviews defines v1 and v2
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: reviews
        subset: v2
    ```
    """
    for (vs, where, dest, _, _, fqdn, _), rules, defined, who, elsewhere in _destination_problems(mesh).unknown_subset:
        subset = dest.subset
        loc = (*where, "subset")
        for_whom = f" for {who}" if who else ""
        related: tuple[tuple[Resource, tuple[str | int, ...], str], ...] = ()
        if elsewhere is not None:
            related = ((elsewhere, ("spec", "workloadSelector"), "other workloads get the subset from here"),)
        if not rules:
            yield Finding(
                vs,
                loc,
                f"subset `{subset}` is not defined{for_whom}: no DestinationRule applies to host `{fqdn}`",
                help=f"add a DestinationRule with `host: {dest.host}` and subset `{subset}`",
                related=related,
            )
            continue
        close = difflib.get_close_matches(subset, defined, n=1, cutoff=0.6)
        listing = f"subsets defined: {', '.join(defined)}" if defined else "the DestinationRule defines no subsets"
        yield Finding(
            vs,
            loc,
            f"subset `{subset}` is not defined for host `{fqdn}`{for_whom}",
            help=f"did you mean `{close[0]}`? ({listing})" if close else listing,
            related=(
                (rules[0], ("spec", "subsets") if defined else ("spec", "host"), "subsets are defined here"),
                *related,
            ),
        )


@rule("MC103", "unknown-destination-port", Severity.ERROR, istio="IST0101", requires=("services",))
def unknown_destination_port(mesh: Mesh) -> Iterator[Finding]:
    """A destination `port` is not a port of the Service or ServiceEntry it names.

    The port must be one of the Service's `port` values (not a `targetPort`), or one of the
    ServiceEntry's `ports[].number`.

    ## Why is this bad?
    Envoy has no cluster for that host and port: requests fail with 503.

    ## Example
    ```yaml
    route:
    - destination:
        host: reviews
        port:
          number: 8080   # the Service exposes 9080 (targetPort 8080)
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: reviews
        port:
          number: 9080
    ```
    """
    for d in _destination_problems(mesh).unknown_port:
        port = d.destination.port
        service = d.service
        assert service is not None
        yield Finding(
            d.vs,
            (*d.loc, "port", "number"),
            f"port `{port.number}` is not a port of {service.described}",
            help=f"ports of `{service.hostname}`: {_ports(service)}",
            related=((service.resource, ("spec", "ports"), "ports are defined here"),),
        )


@rule("MC104", "destination-port-required", Severity.ERROR, istio="IST0112", requires=("services",))
def destination_port_required(mesh: Mesh) -> Iterator[Finding]:
    """A destination has no `port`, but its Service or ServiceEntry has several ports.

    ## Why is this bad?
    istiod cannot tell which port the route is for; Istio requires the port to be set whenever
    the destination exposes more than one.

    ## Example
    ```yaml
    route:
    - destination:
        host: reviews     # the Service exposes 80 and 443
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: reviews
        port:
          number: 80
    ```
    """
    for d in _destination_problems(mesh).port_required:
        service = d.service
        assert service is not None
        yield Finding(
            d.vs,
            d.loc,
            f"destination `{d.destination.host}` needs a `port`: {service.described} has several ports",
            help=f"set `port.number` to one of: {_ports(service)}",
            key=True,
        )


# --- gateways --------------------------------------------------------------------------------


def _gateway_exists(mesh: Mesh, namespace: str, name: str) -> bool:
    return mesh.exists("Gateway", namespace, name) or (namespace, name) in mesh.kube_gateways


def _gateway_refs(mesh: Mesh) -> Iterator[tuple[Resource, int, str]]:
    for vs in _virtual_services(mesh):
        for i, ref in enumerate(vs.spec.gateways or ()):
            if ref == "mesh" or not ref:
                continue
            yield vs, i, ref


@rule("MC105", "unknown-gateway", Severity.ERROR, istio="IST0101", requires=("gateways",))
def unknown_gateway(mesh: Mesh) -> Iterator[Finding]:
    """A VirtualService is bound to a Gateway that does not exist.

    `gateways` entries are `<name>` (in the VirtualService's namespace) or `<namespace>/<name>`;
    Istio Gateways and Gateway API Gateways both count. Skipped when the input has no Gateway
    at all (they may be managed elsewhere).

    ## Why is this bad?
    The routes are attached to nothing: no gateway serves them, and traffic reaching the real
    gateway gets 404.

    ## Example
    ```yaml
    spec:
      gateways:
      - bookinfo-gw        # the Gateway is named bookinfo-gateway
    ```

    Use instead:
    ```yaml
    spec:
      gateways:
      - bookinfo-gateway
    ```
    """
    known: list[str] | None = None
    by_name: dict[str, str] = {}
    """The first known `ns/name` (in sorted order) of each name."""
    guesses: dict[str, list[str]] = {}
    """The close match of each unknown `ns/name` (many VirtualServices may name one missing Gateway)."""
    for vs, i, ref in _gateway_refs(mesh):
        if INTERNAL_GATEWAY_MARK in ref:
            continue
        ns, name = mesh.gateway_ref(ref, vs.namespace)
        if _gateway_exists(mesh, ns, name):
            continue
        if known is None:
            known = sorted(
                {f"{r.namespace}/{r.name}" for r in mesh.of_kind("Gateway", partial=True)}
                | {f"{ns_}/{n}" for ns_, n in mesh.kube_gateways}
            )
            for k in known:
                by_name.setdefault(k.split("/", 1)[1], k)
        wanted = f"{ns}/{name}"
        if name in by_name:
            close = [by_name[name]]
        elif wanted in guesses:
            close = guesses[wanted]
        else:
            close = guesses[wanted] = difflib.get_close_matches(wanted, known, n=1, cutoff=0.75)
        help_text = None
        if close:
            guess = close[0]
            if guess.startswith(f"{vs.namespace}/") and "/" not in ref:
                guess = guess.split("/", 1)[1]
            help_text = f"did you mean `{guess}`?"
        yield Finding(vs, ("spec", "gateways", i), f"gateway `{ns}/{name}` does not exist", help=help_text)


@rule("MC106", "legacy-gateway-reference", Severity.WARNING, istio="IST0133")
def legacy_gateway_reference(mesh: Mesh) -> Iterator[Finding]:
    """A gateway is referenced in the legacy `name.namespace` form.

    ## Why is this bad?
    The form is deprecated and ambiguous: a Gateway whose name contains a dot cannot be told
    apart from a name in another namespace. Istio warns about it.

    ## Example
    ```yaml
    gateways:
    - bookinfo-gateway.istio-system
    ```

    Use instead:
    ```yaml
    gateways:
    - istio-system/bookinfo-gateway
    ```
    """
    for vs, i, ref in _gateway_refs(mesh):
        if "/" in ref or "." not in ref:
            continue
        ns, name = mesh.gateway_ref(ref, vs.namespace)
        yield Finding(
            vs,
            ("spec", "gateways", i),
            f"gateway reference `{ref}` uses the legacy `name.namespace` form",
            help=f"write `{ns}/{name}`",
        )


@rule("MC107", "host-not-in-gateway", Severity.WARNING, istio="IST0132")
def host_not_in_gateway(mesh: Mesh) -> Iterator[Finding]:
    """None of a VirtualService's hosts is served by a Gateway it is bound to.

    A Gateway server host `ns/host` only admits VirtualServices of namespace `ns` (`./host`: the
    Gateway's namespace; `*/host`: any namespace). Short VirtualService hosts are compared both
    as written and as `name.<namespace>.svc.<domain>`, as istiod does.

    ## Why is this bad?
    The gateway never uses this VirtualService: requests to it get 404.

    ## Example
    ```yaml
    # Gateway servers[].hosts: ["bookinfo.example.com"]
    spec:
      hosts: ["shop.example.com"]
      gateways: ["bookinfo-gateway"]
    ```

    Use instead:
    ```yaml
    spec:
      hosts: ["bookinfo.example.com"]
      gateways: ["bookinfo-gateway"]
    ```
    """
    for vs, i, ref in _gateway_refs(mesh):
        if INTERNAL_GATEWAY_MARK in ref:
            continue
        ns, name = mesh.gateway_ref(ref, vs.namespace)
        gateway = mesh.find("Gateway", ns, name) or mesh.kube_gateways.get((ns, name))
        if gateway is None:
            continue
        gw_hosts = mesh.gateway_hosts(gateway, vs.namespace)
        if mesh.serves(gw_hosts, vs.spec.hosts or (), vs.namespace):
            continue
        where = ("spec", "listeners") if gateway.group == GATEWAY_API_GROUP else ("spec", "servers")
        served = ", ".join(f"`{h}`" for h in gw_hosts) if gw_hosts else "none"
        yield Finding(
            vs,
            ("spec", "gateways", i),
            f"no host of this VirtualService is served by gateway `{ns}/{name}`",
            help=f"hosts the gateway serves to namespace `{vs.namespace}`: {served}",
            related=((gateway, where, "the gateway's hosts are defined here"),),
        )


# --- DestinationRules ------------------------------------------------------------------------


@rule("MC108", "unknown-destination-rule-host", Severity.WARNING, istio="IST0174", requires=("services",))
def unknown_destination_rule_host(mesh: Mesh) -> Iterator[Finding]:
    """A DestinationRule's `host` matches no Service or ServiceEntry visible from its namespace.

    A wildcard host is accepted when it covers at least one host of the registry. A Kubernetes
    name in a namespace with no Service in the input is not judged.

    ## Why is this bad?
    The rule applies to nothing: its traffic policy and subsets are silently ignored.

    ## Example
    ```yaml
    kind: DestinationRule
    spec:
      host: ratngs
    ```

    Use instead:
    ```yaml
    kind: DestinationRule
    spec:
      host: ratings
    ```
    """
    from meshc.resolve import Resolver

    resolver = Resolver.of(mesh)
    for dr in mesh.of_kind("DestinationRule"):
        spec = dr.model.spec
        host = spec.host
        if not isinstance(host, str) or not host:
            continue
        direct = mesh.hosts.get(mesh.fqdn(host, dr.namespace))
        if direct and any("*" in c.export_to for c in direct):
            continue  # the common case: a host visible everywhere
        clients = _clients(reference_scopes(dr.spec.exportTo, dr.namespace), dr.namespace)
        _, service, cover = _resolve(resolver, host, dr.namespace, clients)
        if service is not None or cover is not None or mesh.is_partially_known(host, dr.namespace):
            continue
        fqdn = mesh.fqdn(host, dr.namespace)
        if fqdn.startswith("*"):
            if any(host_matches(fqdn, h) for h in mesh.hosts):
                continue
            if not mesh.has_services:
                continue
        elif not mesh.registry_covers(fqdn):
            continue
        hidden = mesh.any_host(host, dr.namespace)
        if hidden:
            other = hidden[0]
            yield Finding(
                dr,
                ("spec", "host"),
                f"host `{host}` is not exported to namespace `{dr.namespace}`",
                help=f"{other.described} is exported only to {_exported(other)}",
                related=((other.resource, (), "the host is defined here"),),
            )
            continue
        guess = mesh.suggest_host(host, dr.namespace)
        yield Finding(
            dr,
            ("spec", "host"),
            f"host `{host}` matches no Service or ServiceEntry",
            help=f"did you mean `{guess}`?" if guess else "define a Service, or a ServiceEntry for an external host",
        )


@rule("MC109", "subset-selects-no-workload", Severity.ERROR, istio="IST0173", requires=("workloads",))
def subset_selects_no_workload(mesh: Mesh) -> Iterator[Finding]:
    """A DestinationRule subset's labels match none of the workloads behind its host.

    The workloads are those the Service selects (or the ServiceEntry's `workloadSelector`), in
    the Service's namespace: Pods, the pod templates of Deployments and other controllers, and
    WorkloadEntries. The check runs only when the input holds at least one workload of that
    Service, so a Service whose Deployments live elsewhere is not judged. Node topology labels
    (`topology.kubernetes.io/region`, ...) are not judged, except an empty value, which matches
    no node. An error, as in istioctl; to treat an unused subset as a warning, write
    `severity = {MC109 = "warning"}` (or `IST0173`) in the configuration.

    ## Why is this bad?
    The subset has no endpoints: traffic routed to it fails with 503.

    ## Example
    ```yaml
    subsets:
    - name: v3
      labels:
        version: v3     # the reviews Deployments are v1 and v2
    ```

    Use instead:
    ```yaml
    subsets:
    - name: v2
      labels:
        version: v2
    ```
    """
    from meshc.resolve import Resolver

    resolver = Resolver.of(mesh)
    for dr in mesh.of_kind("DestinationRule", partial=True):
        host = getattr(dr.spec, "host", None)
        if not isinstance(host, str) or not host or not dr.spec.subsets:
            continue
        clients = _clients(reference_scopes(dr.spec.exportTo, dr.namespace), dr.namespace)
        _, found, cover = _resolve(resolver, host, dr.namespace, clients)
        service = found or cover
        if service is None:
            continue
        workloads = [w for w in mesh.workloads_of(service) if not w.synthetic]
        if not workloads and not mesh.options.complete_registry:
            continue  # the service's workloads may be defined elsewhere: not judged
        for i, subset in enumerate(dr.spec.subsets):
            labels = dict(subset.labels or {})
            if not labels:
                continue
            if any(k in TOPOLOGY_LABELS and not v for k, v in labels.items()):
                empty = next(k for k, v in labels.items() if k in TOPOLOGY_LABELS and not v)
                yield Finding(
                    dr,
                    ("spec", "subsets", i, "labels", empty),
                    f"subset `{subset.name}` selects no workload: node label `{empty}` is empty",
                    help="give the topology label a value, or remove it",
                )
                continue
            wanted = {k: v for k, v in labels.items() if k not in TOPOLOGY_LABELS}
            if any(w.matches(wanted) for w in workloads):
                continue
            seen: dict[str, set[str]] = defaultdict(set)
            for w in workloads:
                for k in wanted:
                    if k in w.labels:
                        seen[k].add(w.labels[k])
            parts = [f"`{k}`: {', '.join(sorted(v))}" for k, v in sorted(seen.items())]
            yield Finding(
                dr,
                ("spec", "subsets", i, "labels"),
                f"subset `{subset.name}` selects no workload of {service.described}",
                help=("its workloads have " + "; ".join(parts))
                if parts
                else "no workload of the service has these labels",
            )


@rule("MC110", "multiple-destination-rules", Severity.WARNING)
def multiple_destination_rules(mesh: Mesh) -> Iterator[Finding]:
    """Several DestinationRules in one namespace configure the same host for the same namespaces.

    Rules with a `workloadSelector` are not compared (each applies to its own workloads).

    ## Why is this bad?
    istiod merges them unpredictably: subsets are combined, but only the oldest rule's
    `trafficPolicy` applies, and a subset defined twice keeps the first definition. The policy
    that wins depends on creation time, not on the files.

    ## Example
    ```yaml
    kind: DestinationRule
    metadata: {name: reviews-lb}
    spec: {host: reviews, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
    ---
    kind: DestinationRule
    metadata: {name: reviews-subsets}
    spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
    ```

    Use instead:
    ```yaml
    kind: DestinationRule
    metadata: {name: reviews}
    spec:
      host: reviews
      trafficPolicy: {loadBalancer: {simple: RANDOM}}
      subsets: [{name: v1, labels: {version: v1}}]
    ```
    """
    for fqdn, all_rules in mesh.destination_rules.items():
        if len(all_rules) < 2:
            continue
        by_ns: dict[str, list[Resource]] = defaultdict(list)
        for dr in all_rules:
            if dr.spec.workloadSelector is None:
                by_ns[dr.namespace].append(dr)
        for rules in by_ns.values():
            for k, dr in enumerate(rules[1:], start=1):
                scope = export_set(dr.spec.exportTo, dr.namespace)
                first = next(
                    (
                        r
                        for r in rules[:k]
                        # the same name twice is one object written twice (the last apply wins), not two rules
                        if r.name != dr.name and scopes_overlap(scope, export_set(r.spec.exportTo, r.namespace))
                    ),
                    None,
                )
                if first is None:
                    continue
                yield Finding(
                    dr,
                    ("spec", "host"),
                    f"host `{fqdn}` is already configured by DestinationRule `{first.full_name}`",
                    help="istiod merges them: subsets are combined, but only the oldest rule's `trafficPolicy` "
                    "applies; keep one DestinationRule per host",
                    related=((first, ("spec", "host"), "the first DestinationRule for this host"),),
                )


@rule("MC111", "subset-without-labels", Severity.WARNING)
def subset_without_labels(mesh: Mesh) -> Iterator[Finding]:
    """A DestinationRule subset has no `labels`.

    ## Why is this bad?
    A subset without labels selects every endpoint of the host, so routing to it does not
    split traffic at all; it is almost always a forgotten `labels` block (or labels written at
    the wrong indentation).

    ## Example
    ```yaml
    subsets:
    - name: v2
    ```

    Use instead:
    ```yaml
    subsets:
    - name: v2
      labels:
        version: v2
    ```
    """
    for dr in mesh.of_kind("DestinationRule", partial=True):
        for i, subset in enumerate(getattr(dr.spec, "subsets", None) or ()):
            if subset.labels:
                continue
            yield Finding(
                dr,
                ("spec", "subsets", i, "name"),
                f"subset `{subset.name}` has no `labels`, so it selects every endpoint of the host",
                help="add `labels` that pick the subset's workloads (e.g. `version: v2`)",
            )
