"""Warnings of istiod's validation webhook (MC219, MC220, MC335–MC338): settings accepted that do not work (IST0133).

istiod's admission webhook (pkg/config/validation) answers some resources with warnings rather than
errors; `istioctl analyze` reports them as IST0133 SchemaWarning. Each rule here is one family of
those warnings, citing the Go function it follows; MC106 (legacy gateway reference) is another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshc.diagnostics import Severity
from meshc.mesh import Mesh, Resource
from meshc.rules.base import Finding, rule

Loc = tuple[str | int, ...]

# --- deprecated settings ------------------------------------------------------------------------------


def _deprecated(res: Resource, loc: Loc, field: str, replacement: str, why: str = "") -> Finding:
    return Finding(res, loc, f"`{field}` is deprecated{why}", help=f"use `{replacement}` instead", key=True)


def _policies(spec: Any) -> Iterator[tuple[Loc, Any]]:
    """(path, policy) of a DestinationRule's traffic policies: top level, subsets, and their port levels."""
    found: list[tuple[Loc, Any]] = []
    if spec.trafficPolicy is not None:
        found.append((("spec", "trafficPolicy"), spec.trafficPolicy))
    for i, subset in enumerate(spec.subsets or ()):
        if subset.trafficPolicy is not None:
            found.append((("spec", "subsets", i, "trafficPolicy"), subset.trafficPolicy))
    for loc, policy in found:
        yield loc, policy
        for k, port in enumerate(getattr(policy, "portLevelSettings", None) or ()):
            yield (*loc, "portLevelSettings", k), port


def _destination_rule_policies(mesh: Mesh) -> Iterator[tuple[Resource, Loc, Any]]:
    for dr in mesh.of_kind("DestinationRule", partial=True):
        if dr.spec is not None:
            for loc, policy in _policies(dr.spec):
                yield dr, loc, policy


@rule("MC220", "deprecated-setting", Severity.WARNING, istio="IST0133")
def deprecated_setting(mesh: Mesh) -> Iterator[Finding]:
    """A deprecated setting: one istiod's webhook warns about, or one the API marks deprecated.

    istiod warns about `mirrorPercent` (validateHTTPRoute), `outlierDetection.consecutiveErrors`
    (validateOutlierDetection) and `consistentHash.minimumRingSize` (validateLoadBalancer);
    meshc also reports `corsPolicy.allowOrigin`, `loadBalancer.warmupDurationSecs` and
    RequestAuthentication `jwks_uri`, deprecated in the API. The deprecations `istioctl analyze`
    itself reports (`fault.delay.percent`, Sidecar `egressProxy`) are MC207 (IST0002).

    ## Why is this bad?
    Deprecated fields may be removed in a later Istio release; their replacements are more
    precise (`mirrorPercentage` takes fractions, `consecutive5xxErrors` says which errors count).

    ## Example
    ```yaml
    http:
    - mirror: {host: reviews, subset: v2}
      mirrorPercent: 10
    ```

    Use instead:
    ```yaml
    http:
    - mirror: {host: reviews, subset: v2}
      mirrorPercentage:
        value: 10
    ```
    """
    for vs in mesh.of_kind("VirtualService", partial=True):
        for i, http in enumerate(getattr(vs.spec, "http", None) or ()):
            fields = http.model_fields_set
            for name in ("mirrorPercent", "mirror_percent"):
                if name in fields and getattr(http, name) is not None:
                    yield _deprecated(vs, ("spec", "http", i, name), name, "mirrorPercentage")
            cors = http.corsPolicy if "corsPolicy" in fields else None
            if cors is not None and "allowOrigin" in cors.model_fields_set:
                yield _deprecated(
                    vs, ("spec", "http", i, "corsPolicy", "allowOrigin"), "corsPolicy.allowOrigin", "allowOrigins"
                )
    for dr, loc, policy in _destination_rule_policies(mesh):
        outlier = policy.outlierDetection
        if outlier is not None and outlier.consecutiveErrors:
            yield _deprecated(
                dr,
                (*loc, "outlierDetection", "consecutiveErrors"),
                "outlierDetection.consecutiveErrors",
                "consecutiveGatewayErrors` (502, 503, 504) or `consecutive5xxErrors",
            )
        lb = policy.loadBalancer
        if lb is None:
            continue
        if lb.consistentHash is not None and lb.consistentHash.minimumRingSize:
            yield _deprecated(
                dr,
                (*loc, "loadBalancer", "consistentHash", "minimumRingSize"),
                "consistentHash.minimumRingSize",
                "ringHash.minimumRingSize",
            )
        if getattr(lb, "warmupDurationSecs", None) is not None:
            yield _deprecated(dr, (*loc, "loadBalancer", "warmupDurationSecs"), "warmupDurationSecs", "warmup.duration")
    for ra in mesh.of_kind("RequestAuthentication", partial=True):
        for i, jwt in enumerate(getattr(ra.spec, "jwtRules", None) or ()):
            if jwt.jwks_uri is not None:
                yield _deprecated(ra, ("spec", "jwtRules", i, "jwks_uri"), "jwks_uri", "jwksUri")


# --- faults ---------------------------------------------------------------------------------------------


@rule("MC219", "abort-without-error-type", Severity.WARNING, istio="IST0133")
def abort_without_error_type(mesh: Mesh) -> Iterator[Finding]:
    """A fault `abort` that sets neither `httpStatus` nor `grpcStatus`.

    istiod warns "abort configured, but error type not set" (validateHTTPFaultInjectionAbort).

    ## Why is this bad?
    Without an error type the abort has nothing to answer with, so no request is aborted.

    ## Example
    ```yaml
    fault:
      abort:
        percentage: {value: 10}
    ```

    Use instead:
    ```yaml
    fault:
      abort:
        httpStatus: 503
        percentage: {value: 10}
    ```
    """
    for vs in mesh.of_kind("VirtualService", partial=True):
        for i, http in enumerate(getattr(vs.spec, "http", None) or ()):
            fault = http.fault if "fault" in http.model_fields_set else None
            abort = fault.abort if fault is not None else None
            if abort is None or abort.httpStatus is not None or abort.grpcStatus is not None:
                continue
            if abort.http2Error is not None:
                continue  # an error of its own (MC006)
            yield Finding(
                vs,
                ("spec", "http", i, "fault", "abort"),
                "`fault.abort` sets no `httpStatus` or `grpcStatus`, so it aborts nothing",
                help="add `httpStatus: 503` (or the status to answer with)",
                key=True,
            )


# --- selectors ------------------------------------------------------------------------------------------

_TYPED_SELECTORS = (
    ("AuthorizationPolicy", "selector"),
    ("RequestAuthentication", "selector"),
    ("PeerAuthentication", "selector"),
    ("Telemetry", "selector"),
    ("WasmPlugin", "selector"),
    ("ProxyConfig", "selector"),
    ("DestinationRule", "workloadSelector"),
)
_LABEL_SELECTORS = (
    ("Sidecar", "workloadSelector"),
    ("ServiceEntry", "workloadSelector"),
    ("EnvoyFilter", "workloadSelector"),
)


@rule("MC336", "selector-without-labels", Severity.WARNING, istio="IST0133")
def selector_without_labels(mesh: Mesh) -> Iterator[Finding]:
    """A workload selector with no labels.

    istiod warns "workload selector specified without labels" (validateWorkloadSelector,
    ValidateAlphaWorkloadSelector) for AuthorizationPolicy, RequestAuthentication,
    PeerAuthentication, Telemetry, WasmPlugin, ProxyConfig and DestinationRule `selector` /
    `workloadSelector`, and Sidecar, ServiceEntry and EnvoyFilter `workloadSelector`.

    ## Why is this bad?
    An empty selector selects every workload of the namespace: the resource applies far more
    widely than a selector suggests, usually because the labels were forgotten.

    ## Example
    ```yaml
    kind: PeerAuthentication
    spec:
      selector:
        matchLabels: {}
      mtls: {mode: DISABLE}
    ```

    Use instead:
    ```yaml
    kind: PeerAuthentication
    spec:
      selector:
        matchLabels: {app: legacy}
      mtls: {mode: DISABLE}
    ```
    """
    for kinds, labels_field in ((_TYPED_SELECTORS, "matchLabels"), (_LABEL_SELECTORS, "labels")):
        for kind, field in kinds:
            for r in mesh.of_kind(kind, partial=True):
                selector = getattr(r.spec, field, None)
                if selector is None or getattr(selector, labels_field, None):
                    continue
                yield Finding(
                    r,
                    ("spec", field),
                    f"`{field}` has no labels, so it selects every workload of namespace `{r.namespace}`",
                    help=f"add the labels of the workloads to select under `{labels_field}`, or remove `{field}`",
                    key=True,
                )


# --- AuthorizationPolicy ----------------------------------------------------------------------------------

# ValidateAuthorizationPolicy: the source fields that a TCP connection carries.
_TCP_SOURCE_FIELDS = (
    "principals",
    "notPrincipals",
    "ipBlocks",
    "notIpBlocks",
    "namespaces",
    "notNamespaces",
    "remoteIpBlocks",
    "notRemoteIpBlocks",
    "serviceAccounts",
    "notServiceAccounts",
)


@rule("MC335", "deny-rule-only-http-attributes", Severity.WARNING, istio="IST0133")
def deny_rule_only_http_attributes(mesh: Mesh) -> Iterator[Finding]:
    """A DENY rule that matches on HTTP attributes only and names no ports.

    istiod's ValidateAuthorizationPolicy warns when a DENY rule's `from` uses no attribute a TCP
    connection carries (principals, namespaces, service accounts, IP blocks) and it has no
    `to`, or its `to` sets no `ports`/`notPorts`.

    ## Why is this bad?
    On a TCP (non-HTTP) port Istio cannot evaluate HTTP attributes, so a DENY rule that uses
    only them denies every connection to the TCP ports of the selected workloads.

    ## Example
    ```yaml
    action: DENY
    rules:
    - to:
      - operation:
          paths: ["/admin"]
    ```

    Use instead:
    ```yaml
    action: DENY
    rules:
    - to:
      - operation:
          ports: ["8080"]
          paths: ["/admin"]
    ```
    """
    for ap in mesh.of_kind("AuthorizationPolicy", partial=True):
        spec = ap.spec
        if getattr(spec, "action", None) != "DENY":
            continue
        for i, r in enumerate(spec.rules or ()):
            sources = [f.source for f in r.from_ or () if f.source is not None]
            operations = [t.operation for t in r.to or () if t.operation is not None]
            tcp_from = any(getattr(s, f) for s in sources for f in _TCP_SOURCE_FIELDS)
            tcp_to = any(o.ports or o.notPorts for o in operations)
            if not ((sources and not operations and not tcp_from) or (operations and not tcp_to)):
                continue
            yield Finding(
                ap,
                ("spec", "rules", i),
                f"DENY rule {i} uses only HTTP attributes, so it denies every connection to TCP ports of the "
                "workloads it applies to",
                help="name the HTTP ports in `to[].operation.ports`",
            )


# --- TLS of gateway servers and sidecar ingress ------------------------------------------------------------

VALID_CIPHER_SUITES = frozenset(
    {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES256-SHA",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-SHA",
        "AES256-SHA",
        "DES-CBC3-SHA",
    }
)
"""security.go `ValidCipherSuites`: the cipher suites a Gateway's Envoy (BoringSSL) knows."""


def is_valid_cipher_suite(name: str) -> bool:
    """security.go `IsValidCipherSuite`: known suites, `ALL`, and expressions starting with an operator."""
    if name in ("", "ALL") or not name[0].isalnum():
        return True
    return name in VALID_CIPHER_SUITES


_CERTIFICATE_FIELDS = (
    "caCrl",
    "serverCertificate",
    "privateKey",
    "caCertificates",
    "tlsCertificates",
    "credentialName",
    "credentialNames",
)


def _tls_warnings(tls: Any) -> Iterator[tuple[Loc, str, str]]:
    """(path below `tls`, message, help) of validateTLSOptions' warnings."""
    if tls.minProtocolVersion in ("TLSV1_0", "TLSV1_1") and not tls.cipherSuites:
        yield (
            ("minProtocolVersion",),
            f"`minProtocolVersion: {tls.minProtocolVersion}` without `cipherSuites`: the default suites do not "
            "include ones those versions can use",
            "list `cipherSuites` compatible with TLS below 1.2, or raise `minProtocolVersion` to `TLSV1_2`",
        )
    seen: set[str] = set()
    for i, suite in enumerate(tls.cipherSuites or ()):
        if not is_valid_cipher_suite(suite):
            yield (("cipherSuites", i), f"unknown cipher suite `{suite}` is ignored", "remove it")
        elif suite in seen:
            yield (("cipherSuites", i), f"cipher suite `{suite}` is listed twice", "remove the duplicate")
        seen.add(suite)
    mode = tls.mode or "PASSTHROUGH"
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        for field in _CERTIFICATE_FIELDS:
            if getattr(tls, field, None):
                yield (
                    (field,),
                    f"`mode: {mode}` does not terminate TLS, so `{field}` is ignored"
                    + ("" if tls.mode else " (`mode` defaults to `PASSTHROUGH`)"),
                    "set `mode: SIMPLE` (or `MUTUAL`) to terminate TLS with this certificate, or remove it",
                )
                break
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL") and len(tls.tlsCertificates or ()) > 2:
        yield (("tlsCertificates",), "a server can use at most 2 `tlsCertificates`", "keep one RSA and one ECDSA")


@rule("MC337", "ignored-tls-setting", Severity.WARNING, istio="IST0133")
def ignored_tls_setting(mesh: Mesh) -> Iterator[Finding]:
    """A TLS setting of a Gateway server or Sidecar ingress listener that istiod ignores.

    istiod's webhook warns (ValidateGateway, validateTLSOptions): `httpsRedirect` on a server
    that is not plain HTTP, certificates with `PASSTHROUGH` (the default `mode`) or
    `AUTO_PASSTHROUGH`, `minProtocolVersion` `TLSV1_0`/`TLSV1_1` without `cipherSuites`,
    unknown or repeated cipher suites, and more than 2 `tlsCertificates`.

    ## Why is this bad?
    The setting looks effective but is not applied: a certificate on a passthrough server is
    never presented, an HTTPS server never redirects.

    ## Example
    ```yaml
    servers:
    - port: {number: 443, name: https, protocol: HTTPS}
      hosts: [shop.example.com]
      tls:
        credentialName: shop-cert      # no mode: PASSTHROUGH, the certificate is ignored
    ```

    Use instead:
    ```yaml
    servers:
    - port: {number: 443, name: https, protocol: HTTPS}
      hosts: [shop.example.com]
      tls:
        mode: SIMPLE
        credentialName: shop-cert
    ```
    """
    from meshc.models.networking import is_http_protocol

    for gw in mesh.of_kind("Gateway", partial=True):
        for i, server in enumerate(getattr(gw.spec, "servers", None) or ()):
            tls = server.tls
            if tls is None:
                continue
            base: Loc = ("spec", "servers", i, "tls")
            protocol = server.port.protocol if server.port is not None else None
            if tls.httpsRedirect and not is_http_protocol(protocol):
                yield Finding(
                    gw,
                    (*base, "httpsRedirect"),
                    f"`httpsRedirect` has no effect on a `{protocol}` server; it redirects plain HTTP servers only",
                    help="remove it, and set it on the port 80 HTTP server instead",
                )
            for loc, message, help_text in _tls_warnings(tls):
                yield Finding(gw, (*base, *loc), message, help=help_text)
    for sc in mesh.of_kind("Sidecar", partial=True):
        for i, listener in enumerate(getattr(sc.spec, "ingress", None) or ()):
            if listener.tls is not None:
                for loc, message, help_text in _tls_warnings(listener.tls):
                    yield Finding(sc, ("spec", "ingress", i, "tls", *loc), message, help=help_text)


# --- locality failover ---------------------------------------------------------------------------------------


@rule("MC338", "failover-without-outlier-detection", Severity.WARNING, istio="IST0133")
def failover_without_outlier_detection(mesh: Mesh) -> Iterator[Finding]:
    """Locality `failover` (or `failoverPriority`) in a traffic policy without `outlierDetection`.

    istiod warns "outlier detection policy must be provided for failover"
    (ValidateLocalityLbSetting, ValidateZoneAwareLbSetting); the policy checked is the one that
    holds the load balancer setting (top level, subset or port level).

    ## Why is this bad?
    Envoy fails over only from endpoints that outlier detection has ejected; without it, the
    failover order is never used and traffic stays on failing endpoints.

    ## Example
    ```yaml
    trafficPolicy:
      loadBalancer:
        localityLbSetting:
          failover: [{from: us-east, to: us-west}]
    ```

    Use instead:
    ```yaml
    trafficPolicy:
      loadBalancer:
        localityLbSetting:
          failover: [{from: us-east, to: us-west}]
      outlierDetection:
        consecutive5xxErrors: 5
        interval: 10s
        baseEjectionTime: 30s
    ```
    """
    for dr, loc, policy in _destination_rule_policies(mesh):
        lb = policy.loadBalancer
        if lb is None or policy.outlierDetection is not None:
            continue
        for field in ("localityLbSetting", "zoneAwareLbSetting"):
            setting = getattr(lb, field, None)
            if setting is not None and (setting.failover or setting.failoverPriority):
                yield Finding(
                    dr,
                    (*loc, "loadBalancer", field),
                    "locality failover needs `outlierDetection` in the same traffic policy to ever fail over",
                    help="add `outlierDetection` (e.g. `consecutive5xxErrors`, `interval`, `baseEjectionTime`)",
                    key=True,
                )
