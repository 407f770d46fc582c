"""The Mesh: one index over every resource, and the one place hosts are resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from meshc.config import Options
from meshc.diagnostics import ResourceRef, Span
from meshc.source import Document

EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"
WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")

# Protocols Istio recognises in a Service port name prefix or appProtocol (protocol.Parse).
_PROTOCOLS = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "grpc-web": "GRPC-Web",
    "tcp": "TCP",
    "udp": "UDP",
    "tls": "TLS",
    "mongo": "Mongo",
    "mysql": "MySQL",
    "redis": "Redis",
    "http_proxy": "HTTP_PROXY",
    "h2c": "HTTP2",
    "kubernetes.io/h2c": "HTTP2",
    "kubernetes.io/ws": "HTTP",
    "kubernetes.io/wss": "HTTPS",
}


def protocol_of(name: str | None, app_protocol: str | None = None) -> str | None:
    """Istio's protocol for a Service port: appProtocol first, then the name prefix (`http-web`)."""
    if app_protocol:
        found = _PROTOCOLS.get(app_protocol.lower())
        if found:
            return found
    if name:
        prefix = name.lower().split("-", 1)[0]
        if name.lower() in _PROTOCOLS:
            return _PROTOCOLS[name.lower()]
        return _PROTOCOLS.get(prefix)
    return None


@dataclass(eq=False, slots=True)
class Resource:
    """A validated resource: the document it came from, its kind and its model."""

    doc: Document | None
    kind: str
    group: str
    model: Any
    namespace: str
    """Effective namespace (the document's, else Options.default_namespace)."""
    namespace_given: bool
    synthetic: bool = False
    """Made up by meshc (the default ingress gateway), never reported on."""

    @property
    def name(self) -> str:
        """metadata.name (empty when absent)."""
        meta = getattr(self.model, "metadata", None)
        return (getattr(meta, "name", None) or "") if meta is not None else ""

    @property
    def spec(self) -> Any:
        """The model's spec."""
        return getattr(self.model, "spec", None)

    @property
    def labels(self) -> Mapping[str, str]:
        """metadata.labels."""
        meta = getattr(self.model, "metadata", None)
        return (getattr(meta, "labels", None) or {}) if meta is not None else {}

    @property
    def annotations(self) -> Mapping[str, str]:
        """metadata.annotations."""
        meta = getattr(self.model, "metadata", None)
        return (getattr(meta, "annotations", None) or {}) if meta is not None else {}

    @property
    def ref(self) -> ResourceRef:
        """Kind, namespace and name for diagnostics (namespace as written, else the effective one)."""
        return ResourceRef(self.kind, self.namespace, self.name)

    @property
    def key(self) -> str:
        """`Kind ns/name`, how istioctl names an origin."""
        return f"{self.kind} {self.namespace}/{self.name}"

    def span(self, loc: tuple[str | int, ...] = (), *, key: bool = False) -> Span:
        """Exact source position of the field at `loc` (or of its key)."""
        if self.doc is None:
            return Span("<default>", 1, 1)
        return self.doc.span(loc, key=key)


@dataclass(frozen=True, slots=True)
class ServicePort:
    """A port of a Service or ServiceEntry."""

    number: int
    name: str | None
    protocol: str | None
    target_port: int | str | None = None


@dataclass(eq=False, slots=True)
class ServiceHost:
    """A host in the registry: a Kubernetes Service's FQDN or one ServiceEntry host."""

    hostname: str
    namespace: str
    resource: Resource
    ports: list[ServicePort]
    export_to: frozenset[str]
    """Namespaces that see it; `*` for all."""
    selector: Mapping[str, str] | None
    """Labels of the workloads behind it (Service selector, ServiceEntry workloadSelector)."""
    is_service_entry: bool

    def visible_from(self, scopes: Iterable[str]) -> bool:
        """True when one of the namespaces in `scopes` (or `*`) can see this host."""
        if "*" in self.export_to:
            return True
        return any(s != "*" and s in self.export_to for s in scopes)

    def port(self, number: int) -> ServicePort | None:
        """The port with this number, if any."""
        for p in self.ports:
            if p.number == number:
                return p
        return None


@dataclass(eq=False, slots=True)
class Workload:
    """Something that runs pods with labels: a Pod, a controller's pod template, a WorkloadEntry."""

    namespace: str
    labels: Mapping[str, str]
    resource: Resource
    annotations: Mapping[str, str] = field(default_factory=dict)
    address: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    containers: tuple[Any, ...] = ()

    def matches(self, selector: Mapping[str, str] | None) -> bool:
        """Kubernetes matchLabels semantics: every selector label is present with its value."""
        if not selector:
            return True
        labels = self.labels
        return all(labels.get(k) == v for k, v in selector.items())


def split_host(host: str) -> tuple[str | None, str]:
    """Split a Gateway server host `ns/host` into (namespace or None, host)."""
    if "/" in host:
        ns, _, h = host.partition("/")
        return ns, h
    return None, host


def host_matches(a: str, b: str) -> bool:
    """Istio's symmetric wildcard match of two hosts (`host.Name.Matches`).

    `*` matches anything; `*.x.com` matches `a.x.com` and `*.b.x.com` but not `x.com`; two
    wildcards match when one's suffix contains the other's.
    """
    a = a.lower()
    b = b.lower()
    if a == b or a == "*" or b == "*":
        return True
    a_wild = a.startswith("*")
    b_wild = b.startswith("*")
    if a_wild and b_wild:
        sa, sb = a[1:], b[1:]
        return sa.endswith(sb) or sb.endswith(sa)
    if a_wild:
        return b.endswith(a[1:])
    if b_wild:
        return a.endswith(b[1:])
    return False


def host_covers(pattern: str, host: str) -> bool:
    """True when every name `host` stands for is also matched by `pattern` (subset relation)."""
    pattern = pattern.lower()
    host = host.lower()
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        suffix = pattern[1:]
        if host.startswith("*"):
            return host[1:].endswith(suffix)
        return host.endswith(suffix)
    return False


def export_set(values: Iterable[str] | None, namespace: str) -> frozenset[str]:
    """Normalise an exportTo list: `.` becomes the own namespace, `~` hides it, empty means `*`."""
    vals = [v.strip() for v in values or () if v and v.strip()]
    if not vals:
        return frozenset({"*"})
    out = set()
    for v in vals:
        if v == ".":
            out.add(namespace)
        elif v == "~":
            continue
        else:
            out.add(v)
    return frozenset(out)


def reference_scopes(export_to: Iterable[str] | None, namespace: str) -> frozenset[str]:
    """Namespaces a referring resource applies in: its exportTo, or its own namespace when unset.

    This is how istioctl decides visibility of a destination (`GetDestinationHost`): the host
    must be visible where the referring VirtualService is.
    """
    vals = [v.strip() for v in export_to or () if v and v.strip()]
    if not vals:
        return frozenset({namespace})
    return frozenset(namespace if v == "." else v for v in vals if v != "~")


class Mesh:
    """Index of every resource of one run; built once, read by rules and by the compiler."""

    def __init__(self, resources: list[Resource], options: Options | None = None) -> None:
        self.options = options or Options()
        self.domain = self.options.cluster_domain
        self.resources = resources
        self.by_kind: dict[str, list[Resource]] = defaultdict(list)
        self.by_name: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        self.namespaces: set[str] = set()
        self.namespace_objects: dict[str, Resource] = {}
        self.hosts: dict[str, list[ServiceHost]] = defaultdict(list)
        self.wildcard_hosts: list[ServiceHost] = []
        self.workloads: list[Workload] = []
        self._synthetic: list[Resource] = []
        for r in resources:
            self.by_kind[r.kind].append(r)
            self.by_name[(r.kind, r.namespace, r.name)].append(r)
            self.namespaces.add(r.namespace)
            if r.kind == "Namespace":
                self.namespace_objects[r.name] = r
                self.namespaces.add(r.name)
        for r in self.by_kind.get("Service", ()):
            self._add_service(r)
        for r in self.by_kind.get("ServiceEntry", ()):
            self._add_service_entry(r)
        for kind in WORKLOAD_KINDS:
            for r in self.by_kind.get(kind, ()):
                self._add_workload(r)
        for r in self.by_kind.get("WorkloadEntry", ()):
            spec = r.spec
            if spec is None:
                continue
            self.workloads.append(
                Workload(
                    r.namespace,
                    dict(spec.labels or {}),
                    r,
                    address=spec.address,
                    ports=dict(spec.ports or {}),
                )
            )
        self.has_services = bool(self.by_kind.get("Service") or self.by_kind.get("ServiceEntry"))
        self.has_workloads = bool(self.workloads)
        self.has_namespaces = bool(self.namespace_objects)

    # --- capabilities ------------------------------------------------------------------------

    def capability(self, name: str) -> bool:
        """Whether the input holds the registry a check needs (`services`, `workloads`, ...)."""
        if name == "services":
            return self.has_services
        if name == "workloads":
            return self.has_workloads
        if name == "namespaces":
            return self.has_namespaces
        if name == "kube-services":
            return bool(self.by_kind.get("Service"))
        raise ValueError(f"unknown capability {name}")

    CAPABILITY_REASONS: Mapping[str, str] = {
        "services": "the input has no Service or ServiceEntry",
        "workloads": "the input has no Pod, Deployment, StatefulSet, DaemonSet, Job or WorkloadEntry",
        "namespaces": "the input has no Namespace",
        "kube-services": "the input has no Service",
    }

    # --- building ------------------------------------------------------------------------------

    def _add_service(self, r: Resource) -> None:
        spec = r.spec
        ports = []
        for p in getattr(spec, "ports", None) or ():
            ports.append(
                ServicePort(
                    p.port,
                    p.name,
                    protocol_of(p.name, getattr(p, "appProtocol", None)),
                    getattr(p, "targetPort", None),
                )
            )
        annotation = r.annotations.get(EXPORT_TO_ANNOTATION)
        export = export_set(annotation.split(",") if annotation else None, r.namespace)
        host = ServiceHost(
            self.fqdn(r.name, r.namespace),
            r.namespace,
            r,
            ports,
            export,
            dict(spec.selector) if spec is not None and spec.selector else None,
            False,
        )
        self.hosts[host.hostname].append(host)

    def _add_service_entry(self, r: Resource) -> None:
        spec = r.spec
        if spec is None:
            return
        ports = [ServicePort(p.number, p.name, (p.protocol or "").upper() or None, p.targetPort) for p in spec.ports]
        export = export_set(spec.exportTo, r.namespace)
        selector = dict(spec.workloadSelector.labels or {}) if spec.workloadSelector is not None else None
        for h in spec.hosts:
            host = ServiceHost(h.lower(), r.namespace, r, ports, export, selector, True)
            if host.hostname.startswith("*"):
                self.wildcard_hosts.append(host)
            self.hosts[host.hostname].append(host)

    def _add_workload(self, r: Resource) -> None:
        model = r.model
        if r.kind == "Pod":
            meta = model.metadata
            spec = model.spec
        else:
            spec = model.spec
            if spec is None:
                return
            if r.kind == "CronJob":
                job = getattr(spec, "jobTemplate", None)
                spec = getattr(job, "spec", None) if job is not None else None
                if spec is None:
                    return
            template = getattr(spec, "template", None)
            if template is None:
                return
            meta = template.metadata
            spec = template.spec
        labels = dict(getattr(meta, "labels", None) or {}) if meta is not None else {}
        annotations = dict(getattr(meta, "annotations", None) or {}) if meta is not None else {}
        containers = tuple(getattr(spec, "containers", None) or ()) if spec is not None else ()
        self.workloads.append(Workload(r.namespace, labels, r, annotations, containers=containers))

    # --- names and hosts -----------------------------------------------------------------------

    def fqdn(self, host: str, namespace: str) -> str:
        """Resolve a host as Istio does: a short name (no dot, no wildcard) gets `.ns.svc.<domain>`."""
        if "." not in host and not host.startswith("*"):
            return f"{host}.{namespace}.svc.{self.domain}".lower()
        return host.lower()

    def short_names(self, fqdn: str) -> tuple[str, str] | None:
        """(name, namespace) when fqdn is a Kubernetes service name `name.ns.svc.<domain>`."""
        suffix = f".svc.{self.domain}"
        if fqdn.endswith(suffix):
            parts = fqdn[: -len(suffix)].split(".")
            if len(parts) == 2:
                return parts[0], parts[1]
        return None

    def lookup_host(self, host: str, namespace: str, scopes: Iterable[str] | None = None) -> ServiceHost | None:
        """The Service or ServiceEntry that `host`, written in `namespace`, refers to.

        `scopes` are the namespaces the reference must work in (default: `namespace`). Exact
        hosts win over wildcard ServiceEntry hosts; among wildcards the most specific wins.
        """
        scope = frozenset(scopes) if scopes is not None else frozenset({namespace})
        name = self.fqdn(host, namespace)
        for candidate in self.hosts.get(name, ()):
            if candidate.visible_from(scope):
                return candidate
        best: ServiceHost | None = None
        for candidate in self.wildcard_hosts:
            if candidate.hostname == name or not candidate.visible_from(scope):
                continue
            if host_covers(candidate.hostname, name) and (best is None or len(candidate.hostname) > len(best.hostname)):
                best = candidate
        return best

    def any_host(self, host: str, namespace: str) -> list[ServiceHost]:
        """Every registry entry for `host` regardless of visibility (for better messages)."""
        name = self.fqdn(host, namespace)
        found = list(self.hosts.get(name, ()))
        found.extend(c for c in self.wildcard_hosts if c.hostname != name and host_covers(c.hostname, name))
        return found

    def known_hostnames(self) -> list[str]:
        """Every hostname in the registry (for did-you-mean suggestions)."""
        return sorted(self.hosts)

    # --- workloads -----------------------------------------------------------------------------

    def workloads_matching(self, selector: Mapping[str, str] | None, namespace: str | None = None) -> list[Workload]:
        """Workloads whose labels satisfy `selector`, in `namespace` (None: any namespace)."""
        return [w for w in self.workloads if (namespace is None or w.namespace == namespace) and w.matches(selector)]

    # --- resources -----------------------------------------------------------------------------

    def of_kind(self, *kinds: str) -> Iterator[Resource]:
        """Resources of the given kinds, in input order."""
        for kind in kinds:
            yield from self.by_kind.get(kind, ())

    def get(self, kind: str, namespace: str, name: str) -> Resource | None:
        """The resource with this kind, namespace and name (the first one if repeated)."""
        found = self.by_name.get((kind, namespace, name))
        return found[0] if found else None

    def gateway_ref(self, ref: str, namespace: str) -> tuple[str, str]:
        """(namespace, name) a VirtualService's gateway reference points to.

        `ns/name` or a bare `name` (in the VirtualService's namespace); the legacy
        `name.namespace[.svc.cluster.local]` form is resolved as istiod does.
        """
        if "/" in ref:
            ns, _, name = ref.partition("/")
            return ns, name
        if "." in ref:
            parts = ref.split(".")
            return parts[1], parts[0]
        return namespace, ref

    @cached_property
    def destination_rules(self) -> dict[str, list[Resource]]:
        """DestinationRules by resolved host (short names resolved in the rule's namespace)."""
        out: dict[str, list[Resource]] = defaultdict(list)
        for r in self.by_kind.get("DestinationRule", ()):
            spec = r.spec
            if spec is not None and spec.host:
                out[self.fqdn(spec.host, r.namespace)].append(r)
        return out

    def destination_rules_for(self, fqdn: str, client_namespace: str) -> list[Resource]:
        """The DestinationRules that apply to traffic from `client_namespace` to `fqdn`.

        istiod's precedence: rules in the client's namespace, then in the service's namespace,
        then in the root namespace; the first namespace with a match wins, and within it the
        exact host beats the most specific wildcard. Only rules exported to the client count.
        """
        service = self.lookup_host(fqdn, client_namespace, ["*", client_namespace])
        service_ns = service.namespace if service is not None else None
        order = [client_namespace]
        if service_ns and service_ns not in order:
            order.append(service_ns)
        if self.options.root_namespace not in order:
            order.append(self.options.root_namespace)
        for ns in order:
            exact: list[Resource] = []
            wild: list[tuple[int, Resource]] = []
            for host, rules in self.destination_rules.items():
                if not host_covers(host, fqdn):
                    continue
                for r in rules:
                    if r.namespace != ns:
                        continue
                    if ns != client_namespace and not export_set(r.spec.exportTo, r.namespace) & {
                        "*",
                        client_namespace,
                    }:
                        continue
                    if host == fqdn:
                        exact.append(r)
                    else:
                        wild.append((len(host), r))
            if exact:
                return exact
            if wild:
                best = max(length for length, _ in wild)
                return [r for length, r in wild if length == best]
        return []
