"""Typed models of VirtualService, the messages nested in it and those the `networking.istio.io` kinds share.

The other kinds of the group (DestinationRule, Gateway, ServiceEntry, Sidecar, WorkloadEntry,
WorkloadGroup) are in `meshc.models.traffic`. Each kind has one shape across `v1`, `v1beta1` and
`v1alpha3`. Field names are the YAML (protobuf JSON) names. Validators
mirror what Istio's `pkg/config/validation` checks on a single resource; the Go function is named
where the rule is not obvious.
"""

import bisect
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from meshc.diagnostics import close_matches
from meshc.hosts import host_subset_of, is_ip
from meshc.models.base import (
    MatchPort,
    Model,
    NonNegativeInt32,
    Percent,
    PortNumber,
    PositiveDuration,
    SecondsDuration,
    Weight,
    and_list,
    empty_dict,
    empty_list,
    fail,
    one_of,
    ticks,
)
from meshc.models.checks import (
    CorsHeaderName,
    DestinationHost,
    DnsLabel,
    EnvoyText,
    GatewayName,
    HeaderName,
    HeaderValue,
    HttpStatus,
    IpSubnet,
    Labels,
    MatchHeaderName,
    QueryParamName,
    RedirectCode,
    Regex,
    RegexOrStar,
    RequestHeaderName,
    SelectorLabels,
    is_authority_header,
    routing_claim,
    wildcard_domain_error,
)
from meshc.models.meta import IstioResource

NetworkingApiVersion = Literal["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"]

# --- protocols (pkg/config/protocol) -----------------------------------------------------------

PROTOCOLS = (
    "HTTP",
    "HTTPS",
    "HTTP2",
    "HTTP_PROXY",
    "GRPC",
    "GRPC-Web",
    "TCP",
    "TLS",
    "UDP",
    "Mongo",
    "Redis",
    "MySQL",
)
"""The protocol names Istio's `protocol.Parse` knows (matched case-insensitively)."""

_PROTOCOLS = {p.lower(): p for p in PROTOCOLS}
_HTTP_PROTOCOLS = frozenset({"http", "http2", "http_proxy", "grpc", "grpc-web"})
_TLS_PROTOCOLS = frozenset({"https", "tls"})


def _check_protocol(value: str) -> str:
    # ValidateProtocol: the empty string means "sniff"; anything else must be known.
    if value and value.lower() not in _PROTOCOLS:
        close = close_matches(value.upper(), [p.upper() for p in PROTOCOLS], n=1, cutoff=0.6)
        help_ = f"did you mean `{_PROTOCOLS[close[0].lower()]}`?" if close else None
        fail(
            "protocol",
            f"`{value}` is not a protocol Istio knows; expected one of {ticks(PROTOCOLS)}",
            help=help_,
        )
    return value


Protocol = Annotated[str, AfterValidator(_check_protocol)]
"""A port protocol name (`HTTP`, `TCP`, `GRPC`, ... any case)."""


def is_http_protocol(protocol: str | None) -> bool:
    """Whether Istio treats `protocol` as HTTP (HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-Web)."""
    return (protocol or "").lower() in _HTTP_PROTOCOLS


def is_tls_protocol(protocol: str | None) -> bool:
    """Whether Istio treats `protocol` as TLS (HTTPS, TLS)."""
    return (protocol or "").lower() in _TLS_PROTOCOLS


# --- common messages -----------------------------------------------------------------------------


class PortSelector(Model):
    """Selects a port of the destination host: `{number}`."""

    number: PortNumber


class StringMatch(Model):
    """Match a string exactly, by prefix or by RE2 regex; at most one may be set (`{}` tests presence)."""

    model_config = ConfigDict(json_schema_extra={"maxProperties": 1})

    exact: str | None = None
    prefix: str | None = None
    regex: Regex | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "StringMatch":
        one_of(self, ("exact", "prefix", "regex"))
        return self


class WithoutHeaderMatch(StringMatch):
    """A `withoutHeaders` match: like StringMatch, and `regex: "*"` tests that the header is present."""

    regex: RegexOrStar | None = None


def _non_empty_prefix(match: StringMatch) -> StringMatch:
    # validateStringMatch: scheme, method, authority, headers and query params reject `prefix: ""`.
    if match.prefix == "":
        fail("empty_prefix", "`prefix` must not be empty here", at=("prefix",))
    return match


def _non_empty_origin(match: StringMatch) -> StringMatch:
    # validateAllowOrigins: an origin needs a non-empty exact, prefix or regex.
    if not (match.exact or match.prefix or match.regex):
        fail("empty_origin", "an allowed origin needs a non-empty `exact`, `prefix` or `regex`")
    return match


HeaderStringMatch = Annotated[StringMatch, AfterValidator(_non_empty_prefix)]


class Destination(Model):
    """Where traffic goes: a host from the registry, an optional subset and port."""

    host: DestinationHost
    subset: DnsLabel | None = None
    port: PortSelector | None = None


class WorkloadSelector(Model):
    """Selects workloads by labels (`workloadSelector.labels` of Sidecar and ServiceEntry)."""

    labels: SelectorLabels = Field(default_factory=empty_dict)


class TypedWorkloadSelector(Model):
    """Selects workloads by labels (`matchLabels`; istio.type.v1beta1.WorkloadSelector)."""

    matchLabels: SelectorLabels = Field(default_factory=empty_dict)


# --- VirtualService ------------------------------------------------------------------------------


class HeaderOperations(Model):
    """Response header changes: `set` (overwrite), `add` (append), `remove`."""

    set: dict[HeaderName, HeaderValue] = Field(default_factory=empty_dict)
    add: dict[HeaderName, HeaderValue] = Field(default_factory=empty_dict)
    remove: list[HeaderName] = Field(default_factory=empty_list)


class RequestHeaderOperations(HeaderOperations):
    """Request header changes; `set` and `add` may also rewrite the authority (`:authority`, `Host`)."""

    set: dict[RequestHeaderName, HeaderValue] = Field(default_factory=empty_dict)
    add: dict[RequestHeaderName, HeaderValue] = Field(default_factory=empty_dict)


class Headers(Model):
    """Header manipulation for the request (before forwarding) and the response (before returning)."""

    request: RequestHeaderOperations | None = None
    response: HeaderOperations | None = None


class HTTPMatchRequest(Model):
    """Conditions on an HTTP request; all must hold (AND)."""

    name: str | None = None
    uri: StringMatch | None = None
    scheme: HeaderStringMatch | None = None
    method: HeaderStringMatch | None = None
    authority: HeaderStringMatch | None = None
    headers: dict[MatchHeaderName, HeaderStringMatch] = Field(default_factory=empty_dict)
    port: MatchPort | None = None
    sourceLabels: Labels = Field(default_factory=empty_dict)
    gateways: list[GatewayName] = Field(default_factory=empty_list)
    queryParams: dict[QueryParamName, HeaderStringMatch] = Field(default_factory=empty_dict)
    ignoreUriCase: bool | None = None
    withoutHeaders: dict[MatchHeaderName, Annotated[WithoutHeaderMatch, AfterValidator(_non_empty_prefix)]] = Field(
        default_factory=empty_dict
    )
    sourceNamespace: DnsLabel | None = None
    statPrefix: str | None = None


class HTTPRouteDestination(Model):
    """A weighted destination of an HTTP rule, with its own header manipulation."""

    destination: Destination
    weight: Weight | None = None
    headers: Headers | None = None


class RouteDestination(Model):
    """A weighted destination of a TCP or TLS rule."""

    destination: Destination
    weight: Weight | None = None


class HTTPRedirect(Model):
    """Answer with a redirect instead of forwarding."""

    uri: EnvoyText | None = None
    authority: EnvoyText | None = None
    port: PortNumber | None = None
    derivePort: Literal["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] | None = None
    scheme: Literal["http", "https"] | None = None
    redirectCode: RedirectCode | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPRedirect":
        one_of(self, ("port", "derivePort"))
        # validateHTTPRedirect
        if not (self.uri or self.authority or self.scheme) and self.port is None and self.derivePort is None:
            fail(
                "redirect_empty",
                "a `redirect` must set at least one of `uri`, `authority`, `scheme` or `port`",
            )
        return self


class HTTPBody(Model):
    """A direct response body: `string` or base64 `bytes`."""

    string: str | None = None
    bytes: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPBody":
        one_of(self, ("string", "bytes"))
        # validateHTTPDirectResponse: bodies over 1MB are rejected.
        size = len(self.string or self.bytes or "")
        if size > 1024 * 1024:
            fail("body_size", f"the direct response body is {size} bytes; Istio allows at most 1MB")
        return self


class HTTPDirectResponse(Model):
    """Answer directly with a status and an optional body."""

    status: HttpStatus
    body: HTTPBody | None = None


class Delegate(Model):
    """The VirtualService whose HTTP rules this rule delegates to."""

    name: str | None = None
    namespace: str | None = None


class RegexRewrite(Model):
    """Rewrite the path with an RE2 regex and a substitution."""

    match: Regex | None = None
    rewrite: EnvoyText | None = None

    @model_validator(mode="after")
    def _check(self) -> "RegexRewrite":
        # validateURIRegexRewrite
        if not self.match or not self.rewrite:
            fail("regex_rewrite", "`uriRegexRewrite` needs both `match` and `rewrite`")
        return self


class HTTPRewrite(Model):
    """Rewrite the path or the authority before forwarding."""

    uri: EnvoyText | None = None
    authority: EnvoyText | None = None
    uriRegexRewrite: RegexRewrite | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPRewrite":
        # validateHTTPRewrite
        if self.uri and self.uriRegexRewrite is not None:
            fail("one_of", "set only one of `uri`, `uriRegexRewrite` (found `uri` and `uriRegexRewrite`)")
        if not self.uri and self.uriRegexRewrite is None and not self.authority:
            fail(
                "rewrite_empty",
                "a `rewrite` must set at least one of `uri`, `uriRegexRewrite` or `authority`",
            )
        return self


RETRY_ON_POLICIES = (
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
)
"""Envoy retry conditions Istio accepts in `retryOn` (`supportedRetryOnPolicies`)."""

_RETRY_ON = frozenset(RETRY_ON_POLICIES)
# Go's http.StatusText knows these codes; Istio accepts any of them in `retryOn`.
_HTTP_STATUS_CODES = frozenset(
    (100, 101, 102, 103, *range(200, 209), 226, *range(300, 306), 307, 308, *range(400, 419))
).union((421, 422, 423, 424, 425, 426, 428, 429, 431, 451, *range(500, 509), 510, 511))


def _check_retry_on(value: str) -> str:
    # validateHTTPRetry: each comma-separated item is a known policy or an HTTP status code.
    for policy in value.split(","):
        if policy in _RETRY_ON or (policy.isdigit() and int(policy) in _HTTP_STATUS_CODES):
            continue
        close = close_matches(policy.strip(), RETRY_ON_POLICIES, n=1, cutoff=0.6)
        help_ = f"did you mean `{close[0]}`?" if close else f"expected HTTP status codes or {ticks(RETRY_ON_POLICIES)}"
        if policy != policy.strip():
            help_ = "remove the spaces around the commas"
        fail("retry_on", f"`{policy}` is not a valid `retryOn` condition", help=help_)
    return value


class HTTPRetry(Model):
    """Retry policy of an HTTP rule."""

    attempts: NonNegativeInt32 | None = None
    perTryTimeout: PositiveDuration | None = None
    retryOn: Annotated[str, AfterValidator(_check_retry_on)] | None = None
    retryRemoteLocalities: bool | None = None
    retryIgnorePreviousHosts: bool | None = None
    backoff: PositiveDuration | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPRetry":
        # validateHTTPRetry: settings with `attempts: 0` (retries disabled) are an error.
        if not self.attempts:
            extra = [n for n in ("perTryTimeout", "retryOn", "retryRemoteLocalities") if getattr(self, n) is not None]
            if extra:
                fail(
                    "retry_disabled",
                    f"{and_list(extra)} set while `attempts` is 0 (retries disabled)",
                    help="set `attempts` to the number of retries you want",
                )
        return self


CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*")
CorsMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"]


class CorsPolicy(Model):
    """Cross-Origin Resource Sharing policy."""

    allowOrigin: list[str] = Field(default_factory=empty_list)
    allowOrigins: list[Annotated[StringMatch, AfterValidator(_non_empty_origin)]] = Field(default_factory=empty_list)
    allowMethods: list[CorsMethod] = Field(default_factory=empty_list)
    allowHeaders: list[CorsHeaderName] = Field(default_factory=empty_list)
    exposeHeaders: list[CorsHeaderName] = Field(default_factory=empty_list)
    maxAge: SecondsDuration | None = None
    allowCredentials: bool | None = None
    unmatchedPreflights: Literal["UNSPECIFIED", "FORWARD", "IGNORE"] | None = None


GRPC_STATUSES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
GrpcStatus = Literal[GRPC_STATUSES]  # type: ignore[valid-type]  # the tuple above, as a Literal


def _fault_percentage(percentage: Percent) -> Percent:
    # validatePercentage: Envoy's fault filter counts in millionths, so a share below 0.0001 is 0.
    value = percentage.value
    if value is not None and 0 < value < 0.0001:
        fail(
            "percentage",
            f"percentage {value:g} is neither 0 nor between 0.0001 and 100",
            help="Envoy's fault filter has a resolution of 0.0001%",
            at=("value",),
        )
    return percentage


FaultPercentage = Annotated[Percent, AfterValidator(_fault_percentage)]
"""The share of requests a fault applies to: 0, or 0.0001 to 100."""


class FaultDelay(Model):
    """Delay injected before forwarding (`fault.delay`)."""

    fixedDelay: PositiveDuration | None = None
    exponentialDelay: PositiveDuration | None = None
    percent: Annotated[int, Field(ge=0, le=100)] | None = None
    percentage: FaultPercentage | None = None

    @model_validator(mode="after")
    def _check(self) -> "FaultDelay":
        one_of(self, ("fixedDelay", "exponentialDelay"))
        # validateHTTPFaultInjectionDelay
        if self.exponentialDelay is not None:
            fail("unsupported", "`exponentialDelay` is not supported by Istio yet", at=("exponentialDelay",))
        return self


class FaultAbort(Model):
    """Error returned instead of forwarding (`fault.abort`)."""

    httpStatus: HttpStatus | None = None
    grpcStatus: GrpcStatus | None = None
    http2Error: str | None = None
    percentage: FaultPercentage | None = None

    @model_validator(mode="after")
    def _check(self) -> "FaultAbort":
        one_of(self, ("httpStatus", "grpcStatus", "http2Error"))
        # validateHTTPFaultInjectionAbort
        if self.http2Error is not None:
            fail("unsupported", "`http2Error` aborts are not supported by Istio yet", at=("http2Error",))
        return self


class HTTPFaultInjection(Model):
    """Faults injected on the client side: a delay and/or an abort."""

    delay: FaultDelay | None = None
    abort: FaultAbort | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPFaultInjection":
        if self.delay is None and self.abort is None:
            fail("fault_empty", "a `fault` needs a `delay`, an `abort`, or both")
        return self


class HTTPMirrorPolicy(Model):
    """One of several mirror destinations (`mirrors`)."""

    destination: Destination
    percentage: Percent | None = None


class HTTPRoute(Model):
    """An HTTP rule: match conditions and one action (route, redirect, direct response or delegate)."""

    name: str | None = None
    match: list[HTTPMatchRequest] = Field(default_factory=empty_list)
    route: list[HTTPRouteDestination] = Field(default_factory=empty_list)
    redirect: HTTPRedirect | None = None
    directResponse: HTTPDirectResponse | None = None
    delegate: Delegate | None = None
    rewrite: HTTPRewrite | None = None
    timeout: PositiveDuration | None = None
    retries: HTTPRetry | None = None
    fault: HTTPFaultInjection | None = None
    mirror: Destination | None = None
    mirrorPercent: Annotated[int, Field(ge=0, le=100)] | None = None
    mirror_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    mirrorPercentage: Percent | None = None
    mirrors: list[HTTPMirrorPolicy] = Field(default_factory=empty_list)
    corsPolicy: CorsPolicy | None = None
    headers: Headers | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPRoute":
        # validateHTTPRouteConflict
        if self.delegate is not None:
            for other in ("redirect", "route"):
                if getattr(self, other):
                    fail(
                        "route_conflict",
                        f"an http rule with `delegate` cannot also set `{other}`",
                        at=(other,),
                    )
        elif self.redirect is not None:
            for other in ("route", "fault", "rewrite", "directResponse"):
                if getattr(self, other):
                    fail(
                        "route_conflict",
                        f"an http rule with `redirect` cannot also set `{other}`",
                        at=(other,),
                    )
        elif self.directResponse is not None:
            for other in ("route", "fault", "rewrite"):
                if getattr(self, other):
                    fail(
                        "route_conflict",
                        f"an http rule with `directResponse` cannot also set `{other}`",
                        at=(other,),
                    )
        elif not self.route:
            fail(
                "route_missing",
                "an http rule needs one of `route`, `redirect`, `directResponse` or `delegate`",
            )
        if self.mirror is not None and self.mirrors:
            fail(
                "one_of",
                "set only one of `mirror`, `mirrors` (found `mirror` and `mirrors`)",
                at=("mirrors",),
            )
        # validateAuthorityRewrite: the authority may be rewritten in one place only.
        current = self.rewrite.authority if self.rewrite else None
        request = self.headers.request if self.headers else None
        if request is not None:
            for op in ("set", "add"):
                for name in getattr(request, op):
                    if is_authority_header(name):
                        if current:
                            fail(
                                "authority_twice",
                                "the authority is rewritten twice (in `rewrite.authority` and in "
                                f"`headers.request.{op}`); keep one",
                                at=("headers", "request", op, name),
                            )
                        current = name
        _check_total_weight(self.route)
        return self


def _check_total_weight(route: list[HTTPRouteDestination] | list[RouteDestination]) -> None:
    # validateHTTPRouteDestinations / validateRouteDestinations
    if len(route) > 1 and not any(d.weight for d in route):
        fail(
            "total_weight",
            "the weights of the destinations of `route` add up to 0",
            help="give each destination a `weight` (they should add up to 100)",
            at=("route",),
        )


class TLSMatchAttributes(Model):
    """Conditions on a TLS connection (SNI, port, source)."""

    sniHosts: list[str]
    destinationSubnets: list[IpSubnet] = Field(default_factory=empty_list)
    port: MatchPort | None = None
    sourceLabels: Labels = Field(default_factory=empty_dict)
    gateways: list[GatewayName] = Field(default_factory=empty_list)
    sourceNamespace: DnsLabel | None = None

    @model_validator(mode="after")
    def _check(self) -> "TLSMatchAttributes":
        if not self.sniHosts:
            fail("sni_hosts", "a TLS match needs at least one host in `sniHosts`", at=("sniHosts",))
        return self


class L4MatchAttributes(Model):
    """Conditions on a TCP connection (destination subnet, port, source)."""

    destinationSubnets: list[IpSubnet] = Field(default_factory=empty_list)
    port: MatchPort | None = None
    sourceSubnet: str | None = None
    sourceLabels: Labels = Field(default_factory=empty_dict)
    gateways: list[GatewayName] = Field(default_factory=empty_list)
    sourceNamespace: DnsLabel | None = None


class TLSRoute(Model):
    """A rule for unterminated TLS traffic, routed by SNI."""

    match: list[TLSMatchAttributes]
    route: list[RouteDestination] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "TLSRoute":
        # validateTLSRoute
        if not self.match:
            fail("tls_match", "a `tls` rule needs at least one `match`", at=("match",))
        if not self.route:
            fail("tls_route", "a `tls` rule needs a `route`")
        _check_total_weight(self.route)
        return self


class TCPRoute(Model):
    """A rule for opaque TCP traffic."""

    match: list[L4MatchAttributes] = Field(default_factory=empty_list)
    route: list[RouteDestination] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "TCPRoute":
        # validateTCPRoute
        if not self.route:
            fail("tcp_route", "a `tcp` rule needs a `route`")
        _check_total_weight(self.route)
        return self


def first_overlap(hosts: list[str]) -> tuple[int, int] | None:
    """The first pair `(i, j)`, `i < j`, of hosts that overlap (`host_matches`): smallest `j`, then smallest `i`.

    The same answer as comparing every pair, in O(n log n + total length): a VirtualService with
    100,000 hosts is checked in a second, not in hours. A wildcard `*x` matches the names that end
    with `x`, so with every name reversed, "ends with" becomes "starts with": the names a wildcard
    matches form one range of the sorted reversed names (a range-minimum table gives the earliest
    index in it), and the wildcards that match a name are found among its suffixes.
    """
    n = len(hosts)
    keys = [h[1:] if h.startswith("*") else h for h in hosts]  # what a host must end with / ends with
    wild = [h.startswith("*") for h in hosts]
    exact: dict[str, int] = {}  # a plain host -> its first index
    patterns: dict[str, int] = {}  # a wildcard's key -> its first index
    for i, (key, is_wild) in enumerate(zip(keys, wild, strict=True)):
        (patterns if is_wild else exact).setdefault(key, i)
    lengths = sorted({len(k) for k in patterns})
    order = sorted(range(n), key=lambda i: keys[i][::-1]) if patterns else []
    reversed_sorted = [keys[i][::-1] for i in order]
    table = [order]  # table[k][p] = smallest index among sorted positions p .. p + 2**k - 1
    while patterns and 2 ** len(table) <= n:
        prev, half = table[-1], 2 ** (len(table) - 1)
        table.append([min(prev[p], prev[p + half]) for p in range(n - 2 * half + 1)])

    def earliest(lo: int, hi: int) -> int | None:
        if lo >= hi:
            return None
        k = (hi - lo).bit_length() - 1
        return min(table[k][lo], table[k][hi - 2**k])

    for j in range(n):
        key = keys[j]
        found: list[int] = []
        if not wild[j] and exact.get(key, j) < j:
            found.append(exact[key])
        for length in lengths:  # earlier wildcards whose key ends this key (they match this host)
            if length > len(key):
                break
            i = patterns.get(key[len(key) - length :], j)
            if i < j:
                found.append(i)
        if wild[j]:  # earlier hosts whose key ends with this wildcard's key (this wildcard matches them)
            prefix = key[::-1]
            lo = bisect.bisect_left(reversed_sorted, prefix)
            hi = bisect.bisect_left(reversed_sorted, prefix + "\U0010ffff")
            first = earliest(lo, hi)
            if first is not None and first < j:
                found.append(first)
        if found:
            return min(found), j
    return None


def _gateway_bound_host_error(host: str, sni: bool) -> str | None:
    # ValidateWildcardDomainForVirtualServiceBoundToGateway: SNI may use `outbound_.<port>_._.<host>`.
    if sni and host.startswith("outbound_"):
        parts = host.split("_")
        if len(parts) < 4 or not parts[1].strip(".")[:1].isdigit():
            return f"`{host}` must have the form `outbound_.<PORT>_._.<HOSTNAME>`"
        return None
    return wildcard_domain_error(host)


class VirtualServiceSpec(Model):
    """The `spec` of a VirtualService: hosts, gateways and ordered HTTP, TLS and TCP rules."""

    hosts: list[str] = Field(default_factory=empty_list)
    gateways: list[GatewayName] = Field(default_factory=empty_list)
    http: list[HTTPRoute] = Field(default_factory=empty_list)
    tls: list[TLSRoute] = Field(default_factory=empty_list)
    tcp: list[TCPRoute] = Field(default_factory=empty_list)
    exportTo: list[str] = Field(default_factory=empty_list)

    @property
    def applies_to_gateway(self) -> bool:
        """Whether the rules bind only to gateways (`gateways` set without `mesh`; Istio `isGateway`)."""
        return bool(self.gateways) and "mesh" not in self.gateways

    @model_validator(mode="after")
    def _check(self) -> "VirtualServiceSpec":
        # ValidateVirtualService
        if not self.hosts:  # a delegate VirtualService
            for field in ("gateways", "tls", "tcp"):
                if getattr(self, field):
                    fail(
                        "delegate",
                        f"a delegate VirtualService (one without `hosts`) cannot set `{field}`",
                        at=(field,),
                    )
            for i, rule in enumerate(self.http):
                if rule.delegate is not None:
                    fail(
                        "delegate",
                        "a delegate VirtualService cannot delegate again",
                        at=("http", i, "delegate"),
                    )
        if not (self.http or self.tls or self.tcp):
            fail("no_rules", "a VirtualService needs at least one of `http`, `tls` or `tcp`")
        gateway = self.applies_to_gateway
        if not gateway:
            self._check_no_claim_routes()
        sni = any(m.sniHosts for t in self.tls for m in t.match)
        all_valid = True
        for i, host in enumerate(self.hosts):
            error = _gateway_bound_host_error(host, sni) if gateway else wildcard_domain_error(host)
            if error and not is_ip(host):
                fail("host", error, at=("hosts", i))
            if not error and not gateway and host == "*":
                fail(
                    "host",
                    "the host `*` is not allowed in a VirtualService bound to the mesh",
                    help="bind it to a gateway with `gateways`, or name the hosts",
                    at=("hosts", i),
                )
            all_valid = all_valid and not error
        if all_valid:
            pair = first_overlap(self.hosts)
            if pair is not None:
                i, j = pair
                fail(
                    "duplicate_host",
                    f"hosts `{self.hosts[i]}` and `{self.hosts[j]}` overlap in the same VirtualService",
                    at=("hosts", j),
                )
        for i, tls_rule in enumerate(self.tls):
            for j, tls_match in enumerate(tls_rule.match):
                for k, sni_host in enumerate(tls_match.sniHosts):
                    self._check_sni_host(sni_host, gateway, ("tls", i, "match", j, "sniHosts", k))
        return self

    def _check_no_claim_routes(self) -> None:
        # JWT claim based routing is only supported for gateways.
        for i, rule in enumerate(self.http):
            for j, match in enumerate(rule.match):
                for field in ("headers", "withoutHeaders"):
                    for key in getattr(match, field):
                        if routing_claim(key) is not None:  # validation.go: `jwt.ToRoutingClaim(key).Match`
                            fail(
                                "claim_route",
                                f"routing on JWT claim `{key}` works only for VirtualServices bound to gateways",
                                at=("http", i, "match", j, field, key),
                                key=True,
                            )

    def _check_sni_host(self, sni_host: str, gateway: bool, at: tuple[str | int, ...]) -> None:
        # validateSniHost
        error = _gateway_bound_host_error(sni_host, True) if gateway else wildcard_domain_error(sni_host)
        if error:
            if is_ip(sni_host):
                return  # a warning in Istio
            fail("host", error, at=at)
        if not any(host_subset_of(sni_host, h) for h in self.hosts):
            fail(
                "sni_host",
                f"SNI host `{sni_host}` is not within any of the VirtualService hosts ({ticks(self.hosts)})",
                at=at,
            )


class VirtualService(IstioResource):
    """A `networking.istio.io` VirtualService: routing rules for a set of hosts."""

    apiVersion: NetworkingApiVersion
    kind: Literal["VirtualService"]
    spec: VirtualServiceSpec

    @model_validator(mode="after")
    def _export_to(self) -> "VirtualService":
        self._check_export_to(self.spec.exportTo)
        return self
