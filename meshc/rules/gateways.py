"""Gateway rules (MC301–MC304, MC320): selectors, ports, conflicts, certificates and their Secrets.

Gateway selectors match workloads in any namespace (Istio's default,
`PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false`), including the default ingress gateway Pod that the
Mesh adds, as `istioctl analyze` does.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from meshc.diagnostics import Severity
from meshc.hosts import split_host
from meshc.mesh import Mesh, Resource, selector_text
from meshc.rules.base import Finding, rule


def _gateways(mesh: Mesh) -> Iterator[Resource]:
    return mesh.of_kind("Gateway", partial=True)


def _selector(gw: Resource) -> Mapping[str, str]:
    return getattr(gw.spec, "selector", None) or {}


@rule("MC301", "gateway-selects-no-workload", Severity.ERROR, istio="IST0101", requires=("gateway-workloads",))
def gateway_selects_no_workload(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway's `selector` matches no workload, so no gateway proxy serves it.

    Workloads are Pods, pod templates (Deployments, ...) and WorkloadEntries in any namespace,
    plus Istio's default ingress gateway (`istio: ingressgateway`). Gateway deployments are often
    installed apart from the applications, so the check runs only when the input holds gateway
    workloads itself: a Deployment (or other controller) whose pods run `istio-proxy` (a
    container of that name, or the annotation `inject.istio.io/templates: gateway`), or Pods (a
    dump of a cluster).

    ## Why is this bad?
    The Gateway configures nothing: its servers never become listeners and the VirtualServices
    bound to it are unreachable.

    ## Example
    ```yaml
    spec:
      selector:
        istio: ingress-gateway    # the pods are labelled istio: ingressgateway
    ```

    Use instead:
    ```yaml
    spec:
      selector:
        istio: ingressgateway
    ```
    """
    for gw in _gateways(mesh):
        selector = _selector(gw)
        if not selector or mesh.workloads_matching(selector):
            continue
        values: dict[str, set[str]] = defaultdict(set)
        for w in mesh.workloads:
            for k in selector:
                if k in w.labels:
                    values[k].add(w.labels[k])
        missing = next((k for k, v in selector.items() if v not in values.get(k, ())), None)
        loc: tuple[str | int, ...] = ("spec", "selector", missing) if missing else ("spec", "selector")
        known = [f"`{k}`: {', '.join(sorted(v))}" for k, v in sorted(values.items())]
        yield Finding(
            gw,
            loc,
            f"selector `{selector_text(selector)}` matches no workload",
            help=("workloads have " + "; ".join(known)) if known else "no workload has these label keys",
            key=missing is None,
        )


@rule("MC302", "gateway-port-not-exposed", Severity.WARNING, istio="IST0162")
def gateway_port_not_exposed(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway server port is not exposed by the Service in front of the gateway workload.

    The ports that count are the `port` and `targetPort` of the TCP ports of every Service that
    selects the Gateway's workloads (in their namespace), including Istio's default
    `istio-system/istio-ingressgateway` (80, 443, 31400, 15443) unless the input defines it.
    Not judged when no Service selects the gateway workloads.

    ## Why is this bad?
    The gateway listens on a port no client can reach: the server is dead configuration.

    ## Example
    ```yaml
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 8080, name: http, protocol: HTTP}
        hosts: ["*"]
    ```

    Use instead:
    ```yaml
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["*"]
    ```
    """
    for gw in _gateways(mesh):
        selector = _selector(gw)
        if not selector:
            continue
        allowed: set[int] = set()
        services: dict[str, list[int]] = {}
        for w in mesh.workloads_matching(selector):
            for svc in mesh.services_selecting(w):
                numbers = []
                for p in svc.spec.ports or ():
                    if (p.protocol or "TCP").upper() != "TCP":
                        continue
                    allowed.add(p.port)
                    numbers.append(p.port)
                    if isinstance(p.targetPort, int) and p.targetPort:
                        allowed.add(p.targetPort)
                services[svc.full_name] = numbers
        if not services:
            continue
        exposed = "; ".join(f"`{name}`: {', '.join(map(str, ports))}" for name, ports in sorted(services.items()))
        for i, server in enumerate(getattr(gw.spec, "servers", None) or ()):
            number = server.port.number
            if number in allowed:
                continue
            yield Finding(
                gw,
                ("spec", "servers", i, "port", "number"),
                f"port `{number}` is not exposed by the Service of the gateway workload",
                help=f"Service ports: {exposed}",
            )


def _share_workloads(mesh: Mesh, a: Mapping[str, str], b: Mapping[str, str], cache: dict[Any, bool]) -> bool:
    if a == b:
        return True
    key = (selector_text(a), selector_text(b))
    found = cache.get(key)
    if found is None:
        found = any(w.matches(a) and w.matches(b) for w in mesh.workloads)
        cache[key] = found
    return found


@rule("MC303", "conflicting-gateways", Severity.ERROR, istio="IST0145")
def conflicting_gateways(mesh: Mesh) -> Iterator[Finding]:
    """Two Gateways on the same workloads serve the same host on the same port.

    Gateways share workloads when their selectors are equal or some workload matches both.
    Hosts are compared as written, without their `namespace/` prefix, and with the same `bind`.

    ## Why is this bad?
    For HTTP, istiod merges the routes of the VirtualServices bound to either Gateway into one
    virtual host, so one VirtualService's routes can shadow the other's in an order you do not
    control; for HTTPS, TLS and TCP servers it keeps only one of them and ignores the other.

    ## Example
    ```yaml
    kind: Gateway
    metadata: {name: shop}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["shop.example.com"]}]
    ---
    kind: Gateway
    metadata: {name: shop-v2}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["shop.example.com"]}]
    ```

    Use instead: one Gateway per host and port (bind several VirtualServices to it).
    ```yaml
    kind: Gateway
    metadata: {name: shop}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["shop.example.com"]}]
    ```
    """
    # (port, host, bind) -> [(gateway, server index, host index)]
    slots: dict[tuple[int, str, str], list[tuple[Resource, int, int]]] = defaultdict(list)
    for gw in _gateways(mesh):
        if not _selector(gw):
            continue
        for i, server in enumerate(getattr(gw.spec, "servers", None) or ()):
            for j, host in enumerate(server.hosts or ()):
                name = split_host(host)[1].lower()
                slots[(server.port.number, name, server.bind or "")].append((gw, i, j))
    cache: dict[Any, bool] = {}
    conflicts: dict[tuple[int, int], tuple[Resource, int, int, list[tuple[Resource, int, int]]]] = {}
    for (_, _, _), entries in slots.items():
        if len({id(e[0]) for e in entries}) < 2:
            continue
        for gw, i, j in entries:
            others = [
                e for e in entries if e[0] is not gw and _share_workloads(mesh, _selector(gw), _selector(e[0]), cache)
            ]
            if not others:
                continue
            key = (id(gw), i)
            if key in conflicts:
                seen = {id(o[0]) for o in conflicts[key][3]}
                conflicts[key][3].extend(o for o in others if id(o[0]) not in seen)
            else:
                conflicts[key] = (gw, i, j, list(others))
    for gw, i, j, others in conflicts.values():
        server = gw.spec.servers[i]
        names = ", ".join(f"`{o[0].full_name}`" for o in others)
        first = others[0]
        yield Finding(
            gw,
            ("spec", "servers", i, "hosts", j),
            f"host `{server.hosts[j]}` on port `{server.port.number}` is also served by gateway {names} "
            "on the same workloads",
            help="merge the servers into one Gateway and bind the VirtualServices to it",
            related=((first[0], ("spec", "servers", first[1], "hosts", first[2]), "the other server"),),
        )


def _certificate(tls: Any) -> tuple[str, ...] | None:
    if tls is None:
        return None
    if tls.credentialName:
        return ("credentialName", tls.credentialName)
    if tls.serverCertificate and tls.privateKey:
        return ("files", tls.serverCertificate, tls.privateKey)
    return None


def _selector_subset(small: Mapping[str, str], big: Mapping[str, str]) -> bool:
    return all(big.get(k) == v for k, v in small.items())


@rule("MC304", "duplicate-gateway-certificate", Severity.WARNING, istio="IST0138")
def duplicate_gateway_certificate(mesh: Mesh) -> Iterator[Finding]:
    """Two Gateways on the same workloads serve TLS with the same certificate.

    The other Gateway counts when its selector includes every label of this one's (an empty
    selector includes all), as Istio checks.

    ## Why is this bad?
    Clients reuse an HTTP/2 connection for every host the certificate covers, but the gateway
    picks routes by the SNI of the connection's first request: requests for the other Gateway's
    hosts then get 404.

    ## Example
    ```yaml
    kind: Gateway
    metadata: {name: shop}
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        hosts: ["shop.example.com"]
        tls: {mode: SIMPLE, credentialName: wildcard-cert}
    ---
    kind: Gateway
    metadata: {name: blog}
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        hosts: ["blog.example.com"]
        tls: {mode: SIMPLE, credentialName: wildcard-cert}
    ```

    Use instead: one Gateway with one server for all the hosts of the certificate.
    ```yaml
    kind: Gateway
    metadata: {name: example}
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        hosts: ["shop.example.com", "blog.example.com"]
        tls: {mode: SIMPLE, credentialName: wildcard-cert}
    ```
    """
    by_cert: dict[tuple[str, ...], list[tuple[Resource, int]]] = defaultdict(list)
    for gw in _gateways(mesh):
        for i, server in enumerate(getattr(gw.spec, "servers", None) or ()):
            cert = _certificate(server.tls)
            if cert is not None:
                by_cert[cert].append((gw, i))
    for cert, entries in by_cert.items():
        if len({id(e[0]) for e in entries}) < 2:
            continue
        field = "credentialName" if cert[0] == "credentialName" else "serverCertificate"
        for gw, i in entries:
            reported: set[int] = set()
            for other, k in entries:
                if other is gw or id(other) in reported:
                    continue
                if not _selector_subset(_selector(gw), _selector(other)):
                    continue
                reported.add(id(other))
                yield Finding(
                    gw,
                    ("spec", "servers", i, "tls", field),
                    f"certificate `{cert[1]}` is also used by gateway `{other.full_name}` on the same workloads",
                    help="clients reuse HTTP/2 connections across the certificate's hosts and get 404 from the "
                    "other Gateway; serve all its hosts from one server",
                    related=((other, ("spec", "servers", k, "tls", field), "the same certificate"),),
                )


@rule("MC320", "unknown-gateway-credential", Severity.ERROR, istio="IST0101", requires=("secrets",))
def unknown_gateway_credential(mesh: Mesh) -> Iterator[Finding]:
    """A Gateway server's `credentialName` names a Secret that is not in the gateway's namespace.

    The Secret must live in the namespace of the gateway workload (for Istio's default ingress
    gateway, `istio-system`). Secrets count when the input defines them, or a cert-manager
    `Certificate` (`spec.secretName`), an `ExternalSecret` or a `SealedSecret` creates them.
    Skipped when the input has none of these.

    ## Why is this bad?
    The gateway has no certificate for the server: TLS handshakes for its hosts fail.

    ## Example
    ```yaml
    tls:
      mode: SIMPLE
      credentialName: bookinfo-cert     # the Secret in istio-system is bookinfo-credential
    ```

    Use instead:
    ```yaml
    tls:
      mode: SIMPLE
      credentialName: bookinfo-credential
    ```
    """
    for gw in _gateways(mesh):
        selector = _selector(gw)
        servers = getattr(gw.spec, "servers", None) or ()
        if not selector or not any(s.tls is not None for s in servers):
            continue
        namespaces = sorted({w.namespace for w in mesh.workloads_matching(selector)})
        for i, server in enumerate(servers):
            tls = server.tls
            if tls is None:
                continue
            names: list[tuple[tuple[str | int, ...], str | None]] = [(("credentialName",), tls.credentialName)]
            names.extend((("credentialNames", k), n) for k, n in enumerate(tls.credentialNames))
            for sub, name in names:
                if not name or "://" in name:
                    continue
                missing = [ns for ns in namespaces if (ns, name) not in mesh.secrets]
                if not missing:
                    continue
                known = sorted(n for ns, n in mesh.secrets if ns == missing[0])
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                yield Finding(
                    gw,
                    ("spec", "servers", i, "tls", *sub),
                    f"secret `{name}` does not exist in namespace `{missing[0]}` of the gateway workload",
                    help=f"did you mean `{close[0]}`?" if close else "create the Secret in the gateway's namespace",
                )
