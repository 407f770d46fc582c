"""Explain one request: compile the slice of the mesh it needs, simulate, and render the decision.

`explain()` is shared by `meshc route` and `meshc test`; `to_json()` gives the shape of design.md §5
and `to_text()` the tree `meshc route` prints. Nothing here prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshc import ir
from meshc.compile import Compiler, Scope
from meshc.conversion import kubernetes_gateway
from meshc.display import Text, Tree, render
from meshc.hosts import domain_matches
from meshc.ir import Note
from meshc.mesh import Mesh, ServiceHost
from meshc.meshconfig import MeshConfig
from meshc.models.networking import is_http_protocol
from meshc.pipeline import Loaded
from meshc.resolve import MESH, Client, Resolver
from meshc.sidecar import client_for
from meshc.simulate import Decision, Request, elide, simulate, split_authority


class RouteError(Exception):
    """A request meshc cannot explain (unknown host or gateway, ambiguous port): one line, exit 2."""


@dataclass
class Explanation:
    """A decision and what it was computed from."""

    decision: Decision
    ir: ir.IR
    """The compiled slice (one context, one port, the vhosts that can serve the host)."""
    notes: list[Note] = field(default_factory=list)
    """Compile notes of that slice (unknown hosts, subsets, delegates)."""
    settings: MeshConfig = field(default_factory=MeshConfig)
    """The mesh settings the slice was compiled with."""


def explain(loaded: Loaded, request: Request) -> Explanation:
    """Resolve the defaults of `request` (port, gateway), compile the slice it needs and simulate it."""
    mesh = loaded.mesh
    request.host = request.host.strip()
    if not request.host and request.protocol != "tcp":
        raise RouteError("the host is empty")
    if not request.host and request.port is None:
        raise RouteError("a TCP connection without a host needs --port")
    hostname, host_port = split_authority(request.host)
    outside: ir.Note | None = None
    if not hostname:
        # A bare TCP connection (no Host, no SNI): the listener and chain that take its address and
        # port decide; the slice is the proxy's whole listener on that port.
        context = MESH if request.gateway == MESH else _gateway_key(mesh, request.gateway)
        request.gateway = context
    elif request.gateway == MESH:
        context = MESH
        # An absolute name (`reviews.default.svc.cluster.local.`) names the same host; the sidecar's
        # virtual hosts list it as a domain of its own (`GenerateAltVirtualHosts`).
        name = hostname[:-1] if hostname.endswith(".") and not hostname.startswith("[") else hostname
        client = client_for(mesh, request.source_namespace, request.source_labels)
        svc = _registry_entry(mesh, name, client)
        outside = _outside_registry(mesh, name, request.source_namespace) if svc is None else None
        if request.port is None:
            # A host outside the registry has no port to default to: the client's, or HTTP's 80.
            default = _mesh_port(mesh, name, request) if outside is None else 80
            request.port = host_port if host_port is not None else default
    else:
        context = _gateway_key(mesh, request.gateway)
        request.gateway = context
        if request.port is None:
            request.port = host_port if host_port is not None else _gateway_port(mesh, context, request)
    scope = Scope(
        request.source_namespace,
        dict(request.source_labels),
        context=context,
        host=hostname,
        port=request.port,
    )
    compiled = Compiler(mesh, scope).compile()
    decision = simulate(compiled, request, context=None)
    notes = [outside, *compiled.notes] if outside is not None else list(compiled.notes)
    if hostname and request.gateway != MESH and decision.virtual_host is None and decision.context is not None:
        # No server of the gateway serves the host on that port: Envoy has no virtual host for it (404).
        hint = _gateway_host_hint(mesh, decision.context, context, hostname, request.listener_port)
        if hint is not None:
            notes.insert(0, ir.Note("unserved-host", hint, context=decision.context.name))
    return Explanation(decision, compiled, notes, mesh.settings)


# --- defaults and checks -------------------------------------------------------------------------------


def _mesh_vs_hosts(mesh: Mesh, namespace: str) -> list[str]:
    return [h for vs in Resolver.of(mesh).virtual_services(namespace, MESH) for h in vs.hosts]


def _registry_entry(mesh: Mesh, hostname: str, client: Client) -> ServiceHost | None:
    """The registry entry a request's Host names for a client.

    An exact name, else a wildcard ServiceEntry host that covers it (its virtual host's `*.suffix`
    domain takes the request).
    """
    resolver = Resolver.of(mesh)
    found = resolver.resolve_authority(hostname, client).service
    if found is not None:
        return found
    covering = resolver.wildcards_covering(hostname, client)
    return covering[0] if covering else None


def _mesh_port(mesh: Mesh, hostname: str, request: Request) -> int:
    """The port of a registry host (or a VirtualService host), when it has only one."""
    ns = request.source_namespace
    svc = _registry_entry(mesh, hostname, client_for(mesh, ns, request.source_labels))
    if svc is not None:
        ports = [p.number for p in svc.ports if (p.protocol or "").upper() != "UDP"]
        if len(ports) == 1:
            return ports[0]
        listed = ", ".join(str(p) for p in ports) or "none"
        raise RouteError(f"host `{hostname}` has several ports ({listed}); choose one with --port")
    vs_ports = _vs_host_ports(mesh, hostname, ns) or [80]
    if len(vs_ports) == 1:
        return vs_ports[0]
    listed = ", ".join(str(p) for p in vs_ports)
    raise RouteError(f"host `{hostname}` is served on several ports ({listed}); choose one with --port")


def _outside_registry(mesh: Mesh, hostname: str, namespace: str) -> ir.Note | None:
    """A note when no VirtualService of the mesh knows `hostname` either, a host outside the registry.

    Such a host is not an error: the sidecar sends it where the outbound traffic policy of the mesh
    settings says (the route table's catch-all virtual host, or the passthrough filter chain).
    """
    if _vs_host_ports(mesh, hostname, namespace) is not None:
        return None
    settings = mesh.settings
    return ir.Note(
        "outside-registry",
        f"{_unknown_host(mesh, hostname, namespace)}; the sidecar handles it as a host outside the registry, "
        f"by {settings.describe()}",
        context=MESH,
    )


def _vs_host_ports(mesh: Mesh, hostname: str, namespace: str) -> list[int] | None:
    """Ports a sidecar serves a VirtualService host outside the registry on (None: no such host).

    istiod gives such a host a virtual host on the ports of the registry services of the same
    VirtualService, or on port 80 when it has none (`buildSidecarVirtualHostsForVirtualService`).
    """
    resolver = Resolver.of(mesh)
    found = False
    ports: set[int] = set()
    services = resolver.services(namespace)
    for vs in resolver.virtual_services(namespace, MESH):
        if not any(domain_matches(h, hostname) for h in vs.hosts):
            continue
        found = True
        for svc in (services[h] for h in vs.hosts if h in services):
            ports.update(p.number for p in svc.ports if p.protocol is None or is_http_protocol(p.protocol))
    if not found:
        return None
    return sorted(ports) or [80]


def _unknown_host(mesh: Mesh, hostname: str, namespace: str) -> str:
    resolver = Resolver.of(mesh)
    known: set[str] = set()
    for name in resolver.services(namespace):
        known.add(name)
        short = mesh.short_names(name)
        if short is not None:
            known.add(short[0] if short[1] == namespace else f"{short[0]}.{short[1]}")
    known.update(h for h in _mesh_vs_hosts(mesh, namespace) if h != "*")
    hidden = resolver.resolve_authority(hostname, namespace).hidden or tuple(
        e for e in mesh.any_host(hostname, namespace) if not resolver.visible(e, namespace)
    )
    if hidden:
        e = hidden[0]
        return (
            f"host `{e.hostname}` is not exported to namespace `{namespace}` "
            f"({e.resource.kind} {e.resource.namespace}/{e.resource.name} limits exportTo)"
        )
    close = difflib.get_close_matches(hostname, sorted(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    if not known:
        hint = "; the input defines no Service, ServiceEntry or VirtualService host"
    return f"unknown host `{hostname}` from namespace `{namespace}`{hint}"


def _gateway_key(mesh: Mesh, ref: str) -> str:
    """`ns/name` of the Istio Gateway `--gateway` names.

    A Kubernetes Gateway names the proxy of the Istio Gateways istiod makes of its listeners (when
    no Istio Gateway has that name).
    """
    ns, _, name = ref.rpartition("/")
    istio = [r for r in mesh.of_kind("Gateway") if r.spec is not None and r.translated_from is None]
    kube = [k for k in mesh.kube_gateways if k[1] == name and (not ns or k[0] == ns)]
    if len(kube) == 1 and not any(r.name == name and (not ns or r.namespace == ns) for r in istio):
        translated = kubernetes_gateway(mesh, *kube[0])
        if translated:
            return translated[0]
    gateways = [r for r in mesh.of_kind("Gateway") if r.spec is not None]
    if "/" in ref:
        ns, _, name = ref.partition("/")
        if any(r.namespace == ns and r.name == name for r in gateways):
            return ref
    else:
        found = [r for r in gateways if r.name == ref]
        if len(found) == 1:
            return f"{found[0].namespace}/{found[0].name}"
        if len(found) > 1:
            ambiguous = ", ".join(f"`{r.namespace}/{r.name}`" for r in found)
            raise RouteError(f"gateway `{ref}` is ambiguous: {ambiguous}; write NS/NAME")
    # Suggest names as written: Istio Gateways and Kubernetes Gateways, not the translated ones.
    names = sorted({f"{r.namespace}/{r.name}" for r in istio} | {f"{k[0]}/{k[1]}" for k in mesh.kube_gateways})
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
    if close:
        hint = f"; did you mean {', '.join(f'`{c}`' for c in close)}?"
    elif names:
        hint = f"; gateways: {', '.join(f'`{n}`' for n in names)}"
    else:
        hint = "; the input defines no Gateway"
    raise RouteError(f"unknown gateway `{ref}`{hint}")


def _gateway_servers(mesh: Mesh, key: str) -> list[Any]:
    plans = [p for p in Compiler(mesh, Scope(context=key)).plans() if p.kind == "gateway"]
    return [s for p in plans for g in p.gateways for s in g.res.spec.servers]


def _gateway_port(mesh: Mesh, key: str, request: Request) -> int:
    ports = sorted({s.port.number for s in _gateway_servers(mesh, key)})
    if len(ports) == 1:
        return ports[0]
    listed = ", ".join(str(p) for p in ports) or "none"
    raise RouteError(f"gateway `{key}` listens on several ports ({listed}); choose one with --port")


def _gateway_host_hint(mesh: Mesh, ctx: ir.Context, key: str, hostname: str, port: int) -> str | None:
    """Why a gateway has no virtual host for `hostname` on `port`, with the hosts it serves (None: it serves it)."""
    served = []
    for s in _gateway_servers(mesh, key):
        if port not in (s.port.number, ctx.port_map.get(s.port.number)):
            continue
        for raw in s.hosts:
            h = raw.split("/", 1)[-1].lower()
            served.append(h)
            if domain_matches(h, hostname):
                return None
    close = difflib.get_close_matches(hostname, sorted(set(served)), n=3, cutoff=0.5)
    shown = close or sorted(set(served))
    listed = ", ".join(f"`{h}`" for h in shown) or "none"
    return f"gateway `{key}` does not serve host `{hostname}` on port {port}; hosts served: {listed}"


# --- JSON (design.md §5) ---------------------------------------------------------------------------


def _headers_dict(headers: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers:
        out[k] = f"{out[k]},{v}" if k in out else v
    return out


def _ops(ops: ir.HeaderOps) -> dict[str, Any]:
    return {
        "set": {h.name: h.value for h in ops.set},
        "add": {h.name: h.value for h in ops.add},
        "remove": list(ops.remove),
    }


def _ops_empty(ops: ir.HeaderOps) -> bool:
    return not (ops.set or ops.add or ops.remove)


def to_json(exp: Explanation) -> dict[str, Any]:
    """The decision as design.md §5 promises (plus extra fields)."""
    d = exp.decision
    req = d.request
    route = d.route
    vs_ref = route.origin.virtual_service if route is not None and route.origin is not None else None
    delegate = route.origin.delegate if route is not None and route.origin is not None else None
    fwd = route.forward if route is not None else None
    vh = d.virtual_host
    out: dict[str, Any] = {
        "request": {
            "host": req.host,
            "port": req.port,
            "path": req.path,
            "method": req.method,
            "headers": _headers_dict(req.headers),
            "gateway": req.gateway,
            "scheme": req.scheme,
            "source_namespace": req.source_namespace,
            "source_labels": dict(req.source_labels),
            "address": req.address,
            "protocol": req.protocol,
            "tls": req.tls,
            "sni": req.sni,
            "alpn": req.alpn,
        },
        "host": vh.name.rsplit(":", 1)[0] if vh is not None and not _builtin_vhost(vh) else None,
        "context": d.context.name if d.context is not None else None,
        "sidecar": (
            {"namespace": d.context.sidecar.namespace, "name": d.context.sidecar.name}
            if d.context is not None and d.context.sidecar is not None
            else None
        ),
        "address": d.address,
        "listener": d.listener.name if d.listener is not None else None,
        "filter_chain": {"name": d.chain.name, "protocol": d.chain.protocol} if d.chain is not None else None,
        "route_config": d.chain.route_config.name if d.chain is not None and d.chain.route_config else None,
        "virtual_host": {"name": vh.name, "domains": list(vh.domains)} if vh is not None else None,
        "virtual_service": _answering_vs(d, vs_ref),
        "rule": {"index": vs_ref.rule, "name": vs_ref.rule_name} if vs_ref is not None else None,
        "match": {"index": vs_ref.match, "name": vs_ref.match_name} if vs_ref is not None else None,
        "delegate": (
            {"namespace": delegate.namespace, "name": delegate.name, "rule": delegate.rule, "match": delegate.match}
            if delegate is not None
            else None
        ),
        "route": {"id": route.id, "name": route.name} if route is not None else None,
        "action": d.action,
        "status": d.status,
        "reason": d.reason,
        "error": d.error,
        "destinations": [
            {
                "host": x.cluster.host,
                "port": x.cluster.port,
                "subset": x.cluster.subset,
                "weight": x.percent,
                "share": round(x.share, 4),
                "cluster": x.cluster.cluster,
                "known": x.cluster.known,
                **(
                    {
                        "headers": {
                            "request": _ops(x.cluster.request_headers),
                            "response": _ops(x.cluster.response_headers),
                        }
                    }
                    if not (_ops_empty(x.cluster.request_headers) and _ops_empty(x.cluster.response_headers))
                    else {}
                ),
            }
            for x in d.destinations
            if x.cluster.cluster not in ir.BUILTIN_CLUSTERS
        ],
        "egress": _egress(d),
        "redirect": None,
        "direct_response": None,
        "rewrite": None,
        "fault": None,
        "timeout": fwd.timeout if fwd is not None else None,
        "retries": None,
        "mirror": None,
        "headers": None,
        "cors": None,
        "hash_policy": None,
        "policy": {},
        "trace": [
            {
                "route": s.route,
                "virtual_service": s.virtual_service,
                "rule": s.rule,
                "match": s.match,
                "matched": s.matched,
                "removed": s.removed,
                "delegate": s.delegate,
                "reason": s.reason,
            }
            for s in d.trace
        ],
    }
    if d.action == "redirect":
        r = route.redirect if route is not None else None
        out["redirect"] = {
            "uri": r.path if r else None,
            "authority": r.authority if r else None,
            "scheme": r.scheme if r else "https",
            "port": r.port if r else None,
            "code": d.status,
            "location": d.location,
        }
    if route is not None and route.direct_response is not None and d.action == "direct_response":
        dr = route.direct_response
        out["direct_response"] = {"status": dr.status, "body": dr.body, "body_base64": dr.body_base64}
    if fwd is not None:
        if fwd.rewrite is not None:
            rw = fwd.rewrite
            out["rewrite"] = {
                "uri": rw.uri,
                "uri_regex": rw.uri_regex,
                "uri_regex_substitution": rw.uri_regex_substitution,
                "authority": rw.authority,
                "path": d.forwarded_path,
            }
        if fwd.retries is not None:
            out["retries"] = ir.to_dict(fwd.retries) | {"is_default": fwd.retries.is_default}
        if fwd.mirrors:
            out["mirror"] = [ir.to_dict(m) for m in fwd.mirrors]
        if fwd.hash_policy:
            out["hash_policy"] = [ir.to_dict(h) for h in fwd.hash_policy]
    if route is not None:
        if route.fault is not None:
            f = route.fault
            out["fault"] = {
                "delay": {"fixed_delay": f.delay.fixed_delay, "percentage": f.delay.percentage} if f.delay else None,
                "abort": (
                    {
                        "http_status": f.abort.http_status,
                        "grpc_status": f.abort.grpc_status,
                        "percentage": f.abort.percentage,
                    }
                    if f.abort
                    else None
                ),
            }
        if not (_ops_empty(route.request_headers) and _ops_empty(route.response_headers)):
            out["headers"] = {"request": _ops(route.request_headers), "response": _ops(route.response_headers)}
        if route.cors is not None:
            out["cors"] = ir.to_dict(route.cors)
    for name, cluster in d.clusters.items():
        out["policy"][name] = {
            "load_balancer": ir.to_dict(cluster.load_balancer),
            "connection_pool": ir.to_dict(cluster.connection_pool),
            "outlier_detection": ir.to_dict(cluster.outlier_detection) if cluster.outlier_detection else None,
            "tls": ir.to_dict(cluster.tls) if cluster.tls else None,
            "destination_rules": [f"{o.namespace}/{o.name}" for o in cluster.destination_rules],
            "discovery": cluster.discovery,
            "endpoints": [f"{e.address}:{e.port}" for e in cluster.endpoints],
        }
    out["notes"] = [n.message for n in exp.notes]
    return out


def _answering_vs(d: Decision, ref: ir.RuleRef | None) -> dict[str, str] | None:
    """The VirtualService whose virtual host answered (design.md §5); None when none built it.

    The matched rule's; for `no_route`, the first VirtualService of the virtual host.
    """
    if ref is not None:
        return {"namespace": ref.namespace, "name": ref.name}
    vh = d.virtual_host
    if vh is not None and vh.virtual_services:
        first = vh.virtual_services[0]
        return {"namespace": first.namespace, "name": first.name}
    return None


def _builtin_vhost(vh: ir.VirtualHost) -> bool:
    """A virtual host no registry host built: a gateway's `blackhole:PORT`, a sidecar's catch-all."""
    return vh.name.startswith("blackhole:") or vh.name in ir.CATCH_ALL_VHOSTS.values()


def _egress(d: Decision) -> dict[str, Any] | None:
    """How a request for a host outside the registry leaves the sidecar (None for the others).

    `cluster` is Istio's `PassthroughCluster`, `BlackHoleCluster` or `AllowAnyDynamicDNSCluster`
    (None when Envoy answers itself: `block_all`'s 502), `outbound_traffic_policy` the mode that
    decided it and `from` where the mode comes from.
    """
    ctx = d.context
    builtin = [x.cluster.cluster for x in d.destinations if x.cluster.cluster in ir.BUILTIN_CLUSTERS]
    catch_all = d.virtual_host is not None and d.virtual_host.name in ir.CATCH_ALL_VHOSTS.values()
    if ctx is None or not (builtin or catch_all):
        return None
    return {
        "cluster": builtin[0] if builtin else None,
        "outbound_traffic_policy": ctx.outbound_traffic_policy,
        "from": ctx.outbound_traffic_policy_from,
    }


def _policy_from(ctx: ir.Context) -> str:
    return f"from {ctx.outbound_traffic_policy_from}" if ctx.outbound_traffic_policy_from else "Istio's default"


_BUILTIN_TEXT = {
    ir.PASSTHROUGH_CLUSTER: "to the address the client connected to (ORIGINAL_DST)",
    ir.BLACKHOLE_CLUSTER: "a cluster without endpoints: the connection is dropped",
    ir.DYNAMIC_DNS_CLUSTER: "to the Host header's name, resolved by DNS (dynamic forward proxy)",
}


# --- text (rich tree) --------------------------------------------------------------------------------


def _where(file: str | None, line: int | None) -> str:
    if not file:
        return ""
    return f"  ({file}:{line})" if line else f"  ({file})"


def _request_line(req: Request) -> str:
    # Long values are cut (`elide`): the text output stays bounded whatever the request.
    if req.protocol == "tcp":
        parts = [f"TCP connection to {elide(req.host) or elide(req.address or 'an address no listener binds')}"]
    else:
        scheme = req.scheme or ("https" if req.tls else "http")
        parts = [f"{elide(req.method)} {scheme}://{elide(req.host)}{elide(req.path)}"]
    extra = [f"port {req.port}"]
    if req.address is not None:
        extra.append(f"address {elide(req.address)}")
    if req.protocol == "http2":
        extra.append("HTTP/2")
    if req.tls:
        sni = req.sni or split_authority(req.host)[0]
        extra.append(f"TLS, SNI {elide(sni) or 'none'}" + (f", ALPN {elide(req.alpn)}" if req.alpn else ""))
    elif req.tls is False:
        extra.append("plain text")
    if req.headers:
        extra.append("headers " + ", ".join(f"{elide(k)}: {elide(v)}" for k, v in req.headers))
    if req.claims:
        extra.append("claims " + ", ".join(f"{elide(k)}={elide(str(v))}" for k, v in sorted(req.claims.items())))
    return parts[0] + "  [" + "; ".join(extra) + "]"


def _lb_text(c: ir.Cluster) -> str:
    lb = c.load_balancer
    text: str = lb.policy
    if lb.hash is not None:
        text += f" on {lb.hash.kind}" + (f" {lb.hash.name}" if lb.hash.name else "")
    return text


def _policy_lines(c: ir.Cluster) -> list[str]:
    def src(o: ir.PolicyOrigin | None) -> str:
        if o is None:
            return "Istio default"
        return f"DestinationRule {o.namespace}/{o.name} {o.level}" + (f", {o.file}:{o.line}" if o.file else "")

    lines = [f"load balancer: {_lb_text(c)}  ({src(c.load_balancer.origin)})"]
    cp = c.connection_pool
    limits = []
    for label, value in (
        ("max connections", cp.max_connections),
        ("max pending", cp.max_pending_requests),
        ("max requests", cp.max_requests),
        ("max retries", cp.max_retries),
    ):
        if value != ir.UNLIMITED:
            limits.append(f"{label} {value}")
    limits.append(f"connect timeout {cp.connect_timeout}")
    if cp.max_requests_per_connection:
        limits.append(f"max requests per connection {cp.max_requests_per_connection}")
    if cp.idle_timeout:
        limits.append(f"idle timeout {cp.idle_timeout}")
    lines.append(f"connection pool: {', '.join(limits)}  ({src(cp.origin)})")
    od = c.outlier_detection
    if od is not None:
        lines.append(
            f"outlier detection: eject after {od.consecutive_5xx} consecutive 5xx"
            f" (enforcing {od.enforcing_consecutive_5xx}%), every {od.interval}, for {od.base_ejection_time},"
            f" at most {od.max_ejection_percent}%  ({src(od.origin)})"
        )
    if c.tls is not None:
        lines.append(f"tls: {c.tls.mode}" + (f" sni {c.tls.sni}" if c.tls.sni else "") + f"  ({src(c.tls.origin)})")
    return lines


def _retry_text(r: ir.RetryPolicy | None, settings: MeshConfig) -> tuple[str, str | None]:
    if r is None:
        return "retries: none (attempts 0)", None
    text = f"retries: {r.attempts}"
    if r.per_try_timeout:
        text += f", {r.per_try_timeout} per try"
    if r.is_default and settings.default_http_retry_policy is not None:
        text += f"  (the mesh's defaultHttpRetryPolicy, from {settings.source})"
    elif r.is_default:
        text += "  (Istio default)"
    on = f"on {', '.join(r.retry_on)}"
    if r.retriable_status_codes:
        on += f"; status codes {', '.join(str(c) for c in r.retriable_status_codes)}"
    return text, on


def _step_label(step: Any) -> Text:
    where = step.route
    if step.rule is not None:
        where = f"{step.virtual_service} rule {step.rule}" + (f" match {step.match}" if step.match is not None else "")
    if step.delegate:
        where += f" via {step.delegate}"
    mark = Text("✓", "ok") if step.matched else (Text("-") if step.removed else Text("✗", "fail"))
    return mark.append(f" {where}: {step.reason}")


def to_text(exp: Explanation, *, width: int = 80, color: bool = False) -> str:
    """The decision as a tree, wrapped to `width` (plain text unless `color`)."""
    d = exp.decision
    req = d.request
    root = Tree(_request_line(req))
    ctx = d.context
    if ctx is None:
        root.add(f"no proxy: {d.reason}")
        return _render(root, width, color)
    who = (
        f"sidecar in namespace {ctx.namespace}" + (f" with labels {_labels(ctx.labels)}" if ctx.labels else "")
        if ctx.kind == "sidecar"
        else f"gateway {', '.join(f'{g.namespace}/{g.name}' for g in ctx.gateways)} (workload in {ctx.namespace})"
    )
    node = root.add(f"proxy: {who}")
    if ctx.sidecar is not None:
        o = ctx.sidecar
        node.add(f"scoped by Sidecar {o.namespace}/{o.name}{_where(o.file, o.line)}: only what its egress hosts import")
    if d.error is not None:
        # No HTTP answer at all: the connection is closed (protocol_error, tls_error, no_filter_chain).
        where = f"listener {d.listener.name}" if d.listener is not None else "no listener"
        if d.chain is not None:
            where += f" › {d.chain.protocol} chain {d.chain.name}"
        node.add(where).add(f"{d.error}: {d.reason}")
        return _render(root, width, color)
    if d.listener is not None and d.chain is not None and d.chain.route_config is None and d.destinations:
        chain = node.add(f"listener {d.listener.name} › {d.chain.protocol} chain {d.chain.name} (no HTTP routing)")
        if d.chain.tcp_routes and d.chain.tcp_routes[0].origin is not None:
            o = d.chain.tcp_routes[0].origin
            chain.add(f"VirtualService {o.namespace}/{o.name} {o.field}{_where(o.file, o.line)}")
        if _egress(d) is not None:
            where = "no listener has this address and port" if d.listener.name == ir.VIRTUAL_OUTBOUND else "no chain"
            chain.add(
                f"{where}: the passthrough chain of outboundTrafficPolicy {ctx.outbound_traffic_policy} "
                f"({_policy_from(ctx)})"
            )
        for x in d.destinations:
            c = x.cluster
            text = _BUILTIN_TEXT.get(c.cluster)
            chain.add(f"{x.percent}% → {c.cluster}" + (f": {text}" if text else ""))
        chain.add(f"{d.action}: {d.reason}")
        return _render(root, width, color)
    if d.listener is None or d.chain is None or d.chain.route_config is None:
        node.add(f"{d.action}: {d.reason}")
        return _render(root, width, color)
    node = node.add(f"listener {d.listener.name} › route table {d.chain.route_config.name}")
    vh = d.virtual_host
    if vh is None:
        node.add(f"no_route (404): {d.reason}")
        return _render(root, width, color)
    host_node = node.add(f"virtual host {vh.name}")
    host_node.add(f"domains: {', '.join(vh.domains)}")
    for n in exp.notes:
        if n.code == "dropped-virtual-service":
            host_node.add(f"{n.message}{_where(n.origin.file, n.origin.line) if n.origin else ''}")
    route = d.route
    if vh.virtual_services:
        for o in vh.virtual_services:
            host_node.add(f"VirtualService {o.namespace}/{o.name}{_where(o.file, o.line)}")
    elif vh.name in ir.CATCH_ALL_VHOSTS.values():
        host_node.add(f"no registry host: outboundTrafficPolicy {ctx.outbound_traffic_policy} ({_policy_from(ctx)})")
    elif route is not None and route.origin is None:
        host_node.add("no VirtualService: the default route")
    if d.trace:
        tried = host_node.add("routes, in order (first match wins)")
        for step in d.trace:
            tried.add(_step_label(step))
    if d.action == "no_route":
        host_node.add(f"no_route (404): {d.reason}")
        return _render(root, width, color)
    if d.action == "redirect" and route is None:
        host_node.add(f"redirect {d.status} to {d.location}: {d.reason}")
        return _render(root, width, color)
    assert route is not None
    label = route.id if route.origin is None else f"rule {route.origin.virtual_service.rule}"
    if route.origin is not None:
        ref = route.origin.virtual_service
        if ref.rule_name:
            label += f" ({ref.rule_name})"
        if ref.match is not None:
            label += f" match {ref.match}" + (f" ({ref.match_name})" if ref.match_name else "")
        if route.origin.delegate is not None:
            dl = route.origin.delegate
            label += f" via delegate {dl.namespace}/{dl.name} rule {dl.rule}"
        label += _where(ref.file, ref.line)
    chosen = host_node.add(f"chosen: {label} → {d.action}", "chosen")
    if d.action == "redirect":
        chosen.add(f"redirect {d.status} to {d.location}")
    elif d.action == "direct_response":
        dr = route.direct_response
        body = f", body {dr.body!r}" if dr is not None and dr.body else ""
        chosen.add(f"direct response {d.status}{body}")
    else:
        fwd = route.forward
        assert fwd is not None
        for x in d.destinations:
            c = x.cluster
            if c.cluster in ir.BUILTIN_CLUSTERS:
                chosen.add(f"{x.percent}% → {c.cluster}: {_BUILTIN_TEXT[c.cluster]}")
                continue
            dest = chosen.add(
                f"{x.percent}% → {c.cluster}"
                + ("" if c.known else f"  (unknown cluster: Envoy answers {fwd.cluster_not_found_status})")
            )
            cluster = d.clusters.get(c.cluster)
            if cluster is not None:
                eps = ", ".join(f"{e.address}:{e.port}" for e in cluster.endpoints) or "none"
                dest.add(f"endpoints ({cluster.discovery}): {eps}")
                for line in _policy_lines(cluster):
                    dest.add(line)
        chosen.add(f"timeout: {fwd.timeout}" if fwd.timeout else "timeout: none (Istio default: disabled)")
        retry, retry_on = _retry_text(fwd.retries, exp.settings)
        retry_node = chosen.add(retry)
        if retry_on:
            retry_node.add(retry_on)
        if fwd.rewrite is not None:
            rw = fwd.rewrite
            parts = []
            if rw.uri is not None:
                parts.append(f"uri prefix → {rw.uri}")
            if rw.uri_regex is not None:
                parts.append(f"uri regex {rw.uri_regex} → {rw.uri_regex_substitution}")
            if rw.authority is not None:
                parts.append(f"authority → {rw.authority}")
            chosen.add(f"rewrite: {', '.join(parts)}; upstream sees {d.forwarded_authority}{d.forwarded_path}")
        for m in fwd.mirrors:
            chosen.add(f"mirror: {m.percentage:g}% → {m.cluster}")
        if fwd.hash_policy:
            chosen.add("hash: " + ", ".join(h.kind + (f" {h.name}" if h.name else "") for h in fwd.hash_policy))
    if route.fault is not None:
        f = route.fault
        if f.delay is not None:
            chosen.add(f"fault: delay {f.delay.fixed_delay} for {f.delay.percentage:g}% of requests")
        if f.abort is not None:
            status = f.abort.http_status if f.abort.http_status is not None else f"grpc {f.abort.grpc_status}"
            chosen.add(f"fault: abort with {status} for {f.abort.percentage:g}% of requests")
    for label_, ops in (("request headers", route.request_headers), ("response headers", route.response_headers)):
        if not _ops_empty(ops):
            parts = [f"set {h.name}: {h.value}" for h in ops.set]
            parts += [f"add {h.name}: {h.value}" for h in ops.add]
            parts += [f"remove {n}" for n in ops.remove]
            chosen.add(f"{label_}: {'; '.join(parts)}")
    if route.cors is not None:
        origins = ", ".join(f"{o.kind} {o.value}" for o in route.cors.allow_origins) or "none"
        chosen.add(f"cors: origins {origins}; methods {', '.join(route.cors.allow_methods) or 'none'}")
    return _render(root, width, color)


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _render(tree: Tree, width: int, color: bool) -> str:
    return render(tree.lines(width), color=color)
