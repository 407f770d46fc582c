"""The IR: what `meshc compile` decides about a mesh, as plain data that backends translate.

Structure (every name, default and order is decided once, in `meshc.compile`):

```
IR
├─ contexts: [Context]                 one per proxy: the sidecar ("mesh") and each gateway workload
│   ├─ listeners: [Listener]           one per (bind address, port), sorted by port (a sidecar's
│   │   │                              `virtualOutbound` last)
│   │   └─ filter_chains: [FilterChain]    plain HTTP, one per HTTPS server (SNI), TLS/TCP; plus the
│   │                                      default chain (a sidecar's passthrough)
│   │       ├─ route_config: RouteConfig   HTTP only
│   │       │   └─ virtual_hosts: [VirtualHost]   sorted by name; domains picked by Envoy's rules
│   │       │       ├─ routes: [Route]     FINAL order: first match wins; backends never reorder
│   │       │       │   ├─ match: RouteMatch          path, headers, method, authority, scheme, query, JWT claims
│   │       │       │   ├─ forward | redirect | direct_response
│   │       │       │   ├─ request_headers / response_headers: HeaderOps
│   │       │       │   └─ fault, cors
│   │       │       └─ skipped: [SkippedMatch]   match blocks removed at config time, with the reason
│   │       └─ tcp_routes: [TcpRoute]      TLS passthrough / TCP
│   ├─ clusters: [Cluster]             `outbound|PORT|SUBSET|FQDN`, sorted by host, port, subset, with the
│   │                                  resolved DestinationRule policy (load balancer, connection pool, outlier
│   │                                  detection, TLS), each block with its origin
│   ├─ jwt_providers: [JwtProvider]    RequestAuthentications selecting the workload
│   └─ authorization_policies: [AuthorizationPolicy]
└─ notes: [Note]                       what compile could not decide (unknown host, subset, delegate)
```

Conventions:
- Durations are protobuf JSON strings (`"10s"`, `"0.5s"`); `None` means "not set" where the field
  says what that implies. Percentages are floats from 0 to 100.
- Header names in matchers are lowercase (Envoy compares names case-insensitively, folding ASCII);
  values are kept as written (compared case-sensitively, regexes byte by byte).
- Whether a request passes a condition is decided by the match types' own methods (`StringMatch.matches`,
  `PathMatch.matches`, `HeaderMatch.holds`, `RouteMatch.mismatch`, `MatchScope.reason`, ...): every
  command asks them, nothing else re-implements Envoy's matching. They live in `meshc.matching`
  and are re-exported here (`ir.RouteMatch` is `matching.RouteMatch`).
- Every node that comes from a resource carries an origin (`Origin`, `RouteOrigin`,
  `PolicyOrigin`) so a backend can write comments and the simulator can explain a decision.
- `to_dict` omits a field whose value equals the field's default (None, empty list, False, ...),
  so `ir.yaml` stays readable; `from_dict` restores the defaults. Key order is declaration order.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal, Union

import msgspec

# The match types and string tests live in `meshc.matching` (a lint needs them without the rest of
# the IR); the IR holds them in its routes, and `ir.RouteMatch` etc. are the same objects.
from meshc.matching import REGEX_OPTIONS as REGEX_OPTIONS
from meshc.matching import ClaimMatch as ClaimMatch
from meshc.matching import HeaderMatch as HeaderMatch
from meshc.matching import HttpRequest as HttpRequest
from meshc.matching import MatchScope as MatchScope
from meshc.matching import Mismatch as Mismatch
from meshc.matching import PathMatch as PathMatch
from meshc.matching import QueryParamMatch as QueryParamMatch
from meshc.matching import RouteMatch as RouteMatch
from meshc.matching import StringMatch as StringMatch
from meshc.matching import ascii_lower as ascii_lower
from meshc.matching import compiled_regex as compiled_regex
from meshc.matching import path_without_query as path_without_query
from meshc.matching import query_params as query_params
from meshc.matching import quote_meta as quote_meta
from meshc.matching import regex_fullmatch as regex_fullmatch
from meshc.matching import regex_replace_all as regex_replace_all
from meshc.matching import wire_bytes as wire_bytes

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

IR_VERSION = 1
"""Bumped on any incompatible change of the IR's shape or meaning."""

UNLIMITED = 4294967295
"""Istio's value for a circuit-breaker threshold that is not set (`math.MaxUint32`)."""

PASSTHROUGH_CLUSTER = "PassthroughCluster"
"""Istio's cluster to the address the client connected to (outboundTrafficPolicy ALLOW_ANY)."""
BLACKHOLE_CLUSTER = "BlackHoleCluster"
"""Istio's cluster without endpoints: the connection is dropped (REGISTRY_ONLY)."""
DYNAMIC_DNS_CLUSTER = "AllowAnyDynamicDNSCluster"
"""Istio's dynamic forward proxy cluster, which resolves the Host header (ALLOW_ANY_DYNAMIC_DNS)."""
BUILTIN_CLUSTERS = frozenset({PASSTHROUGH_CLUSTER, BLACKHOLE_CLUSTER, DYNAMIC_DNS_CLUSTER})
"""Clusters istiod adds to every sidecar for traffic outside the registry; they have no service,
their `host` is empty and their `port` 0."""
VIRTUAL_OUTBOUND = "virtualOutbound"
"""The sidecar listener (port 15001) iptables sends every outbound connection to; it hands a
connection to the listener of its original address and port, and keeps those no listener takes."""
VIRTUAL_OUTBOUND_PORT = 15001
PLAINTEXT_HTTP_ALPNS = ("http/1.1", "h2c")
"""What Envoy's HTTP inspector reports for plain HTTP (listener.go `plaintextHTTPALPNs`)."""
CATCH_ALL_VHOSTS = {
    "ALLOW_ANY": "allow_any",
    "REGISTRY_ONLY": "block_all",
    "ALLOW_ANY_DYNAMIC_DNS": "allow_any_dynamic_dns",
}
"""Name of the last virtual host of a sidecar route table (domain `*`), by outbound traffic policy
(httproute.go `buildCatchAllVirtualHost`)."""

# --- origins ------------------------------------------------------------------------------------

_LOCS: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
"""Field paths of located origins, each kept once (emptied when it reaches `_LOCS_MAX`)."""
_LOCS_MAX = 1 << 14


class _Located:
    """Where a field is in its file, found only when first read (`located`).

    Compile records the origin of every route, match and policy block, but most commands and
    targets read few of them (an Envoy bootstrap holds none): finding a field's line parses its
    document again, which was a fifth of `meshc compile --target envoy`. The values are the same
    whenever they are read; `_in` and `_at` hold how to find them until then.
    """

    __slots__ = ()
    _LAZY: tuple[str, ...] = ()

    @classmethod
    def located(cls, where: Any, loc: tuple[str | int, ...], *args: Any) -> Self:
        """An instance of `args` whose `file`, `line` (and `column`) are `where.span(loc)`'s, found on first read.

        `where` is the document (`meshc.source.Document`, or anything with its `span`); it and the
        field path are all an instance keeps until then. Equal paths are kept once (`_LOCS`): the
        IR of 3,000 services holds 40,000 origins and a few dozen distinct paths.
        """
        obj = cls(*args)
        shared = _LOCS.get(loc)
        if shared is None:
            if len(_LOCS) >= _LOCS_MAX:
                _LOCS.clear()
            shared = _LOCS[loc] = loc
        obj._in = where  # type: ignore[attr-defined]
        obj._at = shared  # type: ignore[attr-defined]
        for name in cls._LAZY:
            delattr(obj, name)
        return obj

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Called only for an attribute that is not set: a lazy one not yet located.
            if name in type(self)._LAZY:
                at = object.__getattribute__(self, "_at")
                if at is not None:
                    where = self._in
                    self._in = self._at = None
                    span = where.span(at)
                    self.file = span.path
                    self.line = span.line
                    if "column" in type(self)._LAZY:
                        self.column = span.column
                    return getattr(self, name)
            raise AttributeError(name)


@dataclass(slots=True)
class Origin(_Located):
    """A resource (and optionally a field in it) an IR node comes from."""

    kind: str
    """Resource kind: `VirtualService`, `DestinationRule`, `Gateway`, `Service`, ..."""
    namespace: str
    """Resource namespace (the effective one)."""
    name: str
    """Resource name."""
    field: str = ""
    """Field path inside the resource (`spec.http[1].match[0]`); empty for the whole resource."""
    file: str | None = None
    """Source file as given on the command line; None for resources meshc made up."""
    line: int | None = None
    """1-based line of `field` in `file`."""
    column: int | None = dataclasses.field(default=None, metadata={"ir": False})
    """1-based column of `field` on `line`, for messages (the position `meshc lint` reports); not written in the IR."""
    _in: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    _at: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    """With `_in`, the field path and document: how to find `file`, `line` and `column` when they are first
    read (`_Located`); None once found."""

    _LAZY = ("file", "line", "column")


@dataclass(slots=True)
class RuleRef(_Located):
    """One HTTP match block of one VirtualService: `spec.http[rule].match[match]`."""

    namespace: str
    """VirtualService namespace."""
    name: str
    """VirtualService name."""
    rule: int
    """Index in `spec.http`."""
    match: int | None = None
    """Index in `spec.http[rule].match`; None when the rule has no `match` (it matches everything)."""
    rule_name: str | None = None
    """`spec.http[rule].name`."""
    match_name: str | None = None
    """`spec.http[rule].match[match].name`."""
    file: str | None = None
    """Source file of the VirtualService."""
    line: int | None = None
    """Line of the match block (or of the rule when it has no match)."""
    _in: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    _at: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    """With `_in`, the field path and document: how to find `file` and `line` when they are first read
    (`_Located`); None once found."""

    _LAZY = ("file", "line")


@dataclass(slots=True)
class RouteOrigin:
    """Where a route comes from: the root VirtualService rule and, for delegation, the delegate's."""

    virtual_service: RuleRef
    """The VirtualService bound to the host (the root when delegating)."""
    delegate: RuleRef | None = None
    """The delegate VirtualService's rule merged into the root rule (translation.md §4.5)."""


@dataclass(slots=True)
class PolicyOrigin(_Located):
    """Which DestinationRule, and which level of it, a policy block comes from."""

    namespace: str
    """DestinationRule namespace."""
    name: str
    """DestinationRule name."""
    level: Literal["top", "port", "subset", "subset-port"]
    """`top`: spec.trafficPolicy; `port`: its portLevelSettings; `subset`: a subset's
    trafficPolicy; `subset-port`: that subset's portLevelSettings."""
    field: str = ""
    """Field path of the block (`spec.subsets[1].trafficPolicy.loadBalancer`)."""
    file: str | None = None
    """Source file of the DestinationRule."""
    line: int | None = None
    """Line of the block."""
    _in: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    _at: Any = dataclasses.field(default=None, repr=False, compare=False, metadata={"ir": False})
    """With `_in`, the field path and document: how to find `file` and `line` when they are first read
    (`_Located`); None once found."""

    _LAZY = ("file", "line")


# --- actions ------------------------------------------------------------------------------------


@dataclass(slots=True)
class HeaderValue:
    """A header name and value."""

    name: str
    """Header name as written."""
    value: str
    """Header value (may hold Envoy `%VAR%` substitutions, passed through)."""


@dataclass(slots=True, frozen=True)
class HeaderOps:
    """Header manipulation; applied in this order: remove, set, add.

    Read-only, as the whole IR once compiled: routes and destinations without header operations
    share `NO_HEADER_OPS` (3,000 services: 42,000 of them, each with three empty lists, were 9 MB).
    """

    set: list[HeaderValue] = field(default_factory=list)
    """Overwrite or add (Envoy `OVERWRITE_IF_EXISTS_OR_ADD`), sorted by name. `:`-prefixed names and
    `host` are not here: a Host change is a `Rewrite.authority`."""
    add: list[HeaderValue] = field(default_factory=list)
    """Append a value (Envoy `APPEND_IF_EXISTS_OR_ADD`), sorted by name."""
    remove: list[str] = field(default_factory=list)
    """Names to remove, as written (`:`-prefixed names and `host` dropped)."""


NO_HEADER_OPS = HeaderOps()
"""No header operation (shared: never change its lists)."""


def _no_header_ops() -> HeaderOps:
    return NO_HEADER_OPS


@dataclass(slots=True)
class WeightedCluster:
    """One destination of a forwarding route."""

    cluster: str
    """Cluster name `outbound|PORT|SUBSET|FQDN` (see `Cluster`)."""
    weight: int
    """Relative weight (> 0). A route with one destination has weight 100. The share of traffic
    is weight / sum of the route's weights."""
    host: str
    """Destination FQDN (short names resolved in the VirtualService namespace)."""
    port: int
    """Destination port (destination.port, else the service's only port, else the listener port)."""
    subset: str | None = None
    """DestinationRule subset name."""
    request_headers: HeaderOps = field(default_factory=_no_header_ops)
    """Per-destination request header operations (only with several destinations; with one, Istio
    folds them into the route's operations)."""
    response_headers: HeaderOps = field(default_factory=_no_header_ops)
    """Per-destination response header operations (as above)."""
    host_rewrite: str | None = None
    """Per-destination Host rewrite from `headers.request.set.host` (several destinations only)."""
    known: bool = True
    """False when the context has no such cluster (unknown host or subset): Envoy answers 503
    (no healthy upstream / cluster not found) for the traffic that picks it."""


def weight_shares(weights: typing.Sequence[int]) -> list[Fraction]:
    """Each destination's exact share of a route's traffic: weight / sum of weights (all 0 when the sum is 0).

    The one computation of a weighted split (Envoy's `weighted_clusters`); route, diff, graph and
    the nginx backend all read it from here.
    """
    total = sum(weights)
    return [Fraction(w, total) if total > 0 else Fraction(0) for w in weights]


def percent_text(share: Fraction) -> str:
    """A share as people read it: `50%`, `33.3%`."""
    pct = share * 100
    return f"{pct.numerator}%" if pct.denominator == 1 else f"{float(pct):.1f}%"


@dataclass(slots=True)
class RetryPolicy:
    """Envoy retry policy of a route."""

    attempts: int
    """Retries after the first try (Envoy `num_retries`)."""
    retry_on: list[str]
    """Envoy retry conditions (`connect-failure`, `5xx`, `retriable-status-codes`, ...), in order."""
    retriable_status_codes: list[int] = field(default_factory=list)
    """Status codes retried under `retriable-status-codes`."""
    per_try_timeout: str | None = None
    """Timeout of each try; None: the route timeout bounds each try."""
    backoff_base_interval: str | None = None
    """Envoy `retry_back_off.base_interval`; None: Envoy's default (25ms)."""
    previous_hosts_predicate: bool = True
    """Retries avoid hosts already tried (`envoy.retry_host_predicates.previous_hosts`)."""
    host_selection_retry_max_attempts: int = 5
    """Envoy `host_selection_retry_max_attempts`."""
    retry_remote_localities: bool = False
    """Add the `envoy.retry_priorities.previous_priorities` retry priority."""
    is_default: bool = False
    """True when this is Istio's mesh default (the VirtualService sets no `retries`)."""


@dataclass(slots=True)
class FaultDelay:
    """A fixed delay injected before forwarding."""

    fixed_delay: str
    """The delay."""
    percentage: float
    """Share of requests delayed, 0-100 (0 when the VirtualService sets no percentage)."""


@dataclass(slots=True)
class FaultAbort:
    """An error answered instead of forwarding; no retries follow."""

    percentage: float
    """Share of requests aborted, 0-100 (0 when no percentage is set: nothing is aborted)."""
    http_status: int | None = None
    """HTTP status returned."""
    grpc_status: str | None = None
    """gRPC status name returned (`UNAVAILABLE`, ...), for gRPC requests."""


@dataclass(slots=True)
class Fault:
    """Fault injection of a route (Envoy `envoy.filters.http.fault` per-route config)."""

    delay: FaultDelay | None = None
    """Delay, applied first."""
    abort: FaultAbort | None = None
    """Abort."""


@dataclass(slots=True)
class Mirror:
    """A mirror (shadow) destination; the copy's Host gets a `-shadow` suffix."""

    cluster: str
    """Cluster name."""
    host: str
    """Destination FQDN."""
    port: int
    """Destination port."""
    percentage: float
    """Share of requests mirrored, 0 < p <= 100 (100 when unset; 0 mirrors are dropped)."""
    subset: str | None = None
    """Subset name."""
    known: bool = True
    """False when the context has no such cluster."""


@dataclass(slots=True)
class Rewrite:
    """Rewrites applied to a forwarded request."""

    uri: str | None = None
    """Replace the matched path prefix (the whole path for exact/regex matches): Envoy `prefix_rewrite`."""
    uri_regex: str | None = None
    """RE2 pattern for Envoy `regex_rewrite` (every match is replaced)."""
    uri_regex_substitution: str | None = None
    """Substitution for `uri_regex` (`\\1` refers to groups)."""
    authority: str | None = None
    """New Host/:authority: `rewrite.authority`, else `headers.request.set` of `host`/`:authority`
    (Envoy `host_rewrite_literal`)."""


@dataclass(slots=True)
class HashPolicy:
    """A consistent-hash key from a DestinationRule `loadBalancer.consistentHash`."""

    kind: Literal["header", "cookie", "source_ip", "query_parameter"]
    """What is hashed."""
    name: str | None = None
    """Header, cookie or query parameter name."""
    cookie_path: str | None = None
    """Cookie path (cookie only)."""
    cookie_ttl: str | None = None
    """Cookie TTL: Envoy generates the cookie when it is absent (cookie only)."""
    origin: PolicyOrigin | None = None
    """The DestinationRule block it comes from."""


@dataclass(slots=True)
class Forward:
    """Forward the request to one or more clusters (Envoy `route` action)."""

    clusters: list[WeightedCluster]
    """Destinations with relative weights (zero-weight destinations removed). One entry means a
    single cluster (Envoy `cluster`); several mean `weighted_clusters`."""
    timeout: str | None = None
    """Whole-request timeout including retries; None: no timeout (Istio emits `0s`; Envoy's own
    default of 15s does NOT apply)."""
    retries: RetryPolicy | None = None
    """Retry policy; None: no retries (`retries.attempts: 0`)."""
    rewrite: Rewrite | None = None
    """Path and Host rewrites."""
    mirrors: list[Mirror] = field(default_factory=list)
    """Mirror destinations."""
    hash_policy: list[HashPolicy] = field(default_factory=list)
    """Consistent-hash keys, one per destination that has one, in destination order."""
    cluster_not_found_status: int = 503
    """What Envoy answers when the chosen cluster does not exist (`cluster_not_found_response_code`):
    500 for Gateway API routes (route.go `applyHTTPRouteDestination`), else Envoy's 503."""


@dataclass(slots=True)
class Redirect:
    """Answer with a redirect; the query string is kept."""

    code: int
    """Status: 301, 302, 303, 307 or 308."""
    path: str | None = None
    """New path (replaces the whole path); None: keep the request path."""
    authority: str | None = None
    """New host; None: keep the request's."""
    scheme: str | None = None
    """New scheme; None: keep the request's."""
    port: int | None = None
    """New port; None: the scheme's default (port 80 with http and 443 with https are dropped;
    `derivePort: FROM_REQUEST_PORT` is resolved to the listener port)."""


@dataclass(slots=True)
class DirectResponse:
    """Answer directly, without forwarding."""

    status: int
    """HTTP status."""
    body: str | None = None
    """Body text (`body.string`)."""
    body_base64: str | None = None
    """Body bytes, base64 as written (`body.bytes`)."""


@dataclass(slots=True)
class Cors:
    """CORS policy of a route (Envoy per-route `CorsPolicy`)."""

    allow_origins: list[StringMatch] = field(default_factory=list)
    """Allowed origins (`allowOrigins`, else the deprecated `allowOrigin` as exact matches)."""
    allow_methods: list[str] = field(default_factory=list)
    """Allowed methods."""
    allow_headers: list[str] = field(default_factory=list)
    """Allowed request headers."""
    expose_headers: list[str] = field(default_factory=list)
    """Exposed response headers."""
    max_age: int | None = None
    """Preflight cache time in seconds."""
    allow_credentials: bool | None = None
    """`Access-Control-Allow-Credentials`; None: not set."""
    forward_not_matching_preflights: bool = True
    """Forward preflights whose origin does not match (False for `unmatchedPreflights: IGNORE`)."""


@dataclass(slots=True)
class Route:
    """One Envoy route: a match and an action. Routes are tried in list order; the first match wins."""

    id: str
    """Unique, stable id: `<ns>/<vs>/http/<i>/match/<j>` (`.../http/<i>` without match), with
    `/delegate/<ns>/<vs>/http/<k>/match/<l>` appended for delegated rules; `default` for the route
    meshc makes when no VirtualService exists."""
    match: RouteMatch
    """Conditions."""
    action: Literal["forward", "redirect", "direct_response"]
    """Which of `forward`, `redirect`, `direct_response` is set (redirect > directResponse > route)."""
    name: str | None = None
    """Envoy route name: `http[i].name`, plus `.` + `match[j].name` when the block has one."""
    origin: RouteOrigin | None = None
    """The VirtualService rule; None for the `default` route."""
    forward: Forward | None = None
    """Forwarding action."""
    redirect: Redirect | None = None
    """Redirect action."""
    direct_response: DirectResponse | None = None
    """Direct response action."""
    request_headers: HeaderOps = field(default_factory=_no_header_ops)
    """Request header operations of the rule (plus those of its single destination)."""
    response_headers: HeaderOps = field(default_factory=_no_header_ops)
    """Response header operations of the rule (plus those of its single destination)."""
    fault: Fault | None = None
    """Fault injection."""
    cors: Cors | None = None
    """CORS policy."""
    catch_all: bool = False
    """The route matches every request (prefix `/` or regex `.*`, no other condition)."""


@dataclass(slots=True)
class SkippedMatch:
    """A match block (or rule) that produced no route, kept so the simulator can say why."""

    origin: RouteOrigin
    """The rule and match block."""
    reason: str
    """Why, in words (`gateways [x] do not include mesh`, `port 8080 is not the listener port 80`,
    `after catch-all route ...`, `conflicts with the root match`, `delegate not found`)."""
    before: int
    """Index in `VirtualHost.routes` of the first route that comes after it (len(routes) at the end)."""


@dataclass(slots=True)
class VirtualHost:
    """A set of domains with their routes (Envoy `VirtualHost`)."""

    name: str
    """`<host>:<port>`; `blackhole:<port>` for a gateway route table with no VirtualService;
    `allow_any`, `block_all` or `allow_any_dynamic_dns` for the last virtual host of a sidecar route
    table (domain `*`), which serves the hosts outside the registry (`CATCH_ALL_VHOSTS`)."""
    domains: list[str]
    """Lowercase domains: exact names, `*.suffix`, `prefix.*` or `*`. Envoy picks the vhost by
    exact domain, then longest suffix wildcard, then longest prefix wildcard, then `*`; the port
    of the Host header is ignored."""
    routes: list[Route] = field(default_factory=list)
    """Routes in final order (empty: every request gets 404)."""
    require_tls: bool = False
    """Gateway `tls.httpsRedirect`: every plain-HTTP request gets a 301 to `https://`."""
    virtual_services: list[Origin] = field(default_factory=list)
    """VirtualServices whose rules are in `routes`, in merge order."""
    services: list[Origin] = field(default_factory=list)
    """Registry entries (Service, ServiceEntry) this vhost serves on a sidecar."""
    skipped: list[SkippedMatch] = field(default_factory=list)
    """Match blocks removed at config time, in the order they would have appeared."""


@dataclass(slots=True)
class RouteConfig:
    """An HTTP route table (Envoy `RouteConfiguration`)."""

    name: str
    """Sidecar: the port (`9080`); gateway: `http.<port>` or `https.<port>.<portName>.<gw>.<ns>`."""
    virtual_hosts: list[VirtualHost]
    """Virtual hosts, sorted by name (a sidecar's catch-all virtual host last); domains are unique
    across them."""


# --- listeners ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ServerTLS:
    """TLS settings of a gateway server (downstream)."""

    mode: Literal["SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "PASSTHROUGH", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL"]
    """Gateway `tls.mode` (SIMPLE when unset)."""
    server_certificate: str | None = None
    """Certificate file path."""
    private_key: str | None = None
    """Private key file path."""
    ca_certificates: str | None = None
    """CA bundle to verify client certificates (MUTUAL, OPTIONAL_MUTUAL)."""
    credential_name: str | None = None
    """Kubernetes Secret holding key, certificate (and CA); served by SDS."""
    credential_names: list[str] = field(default_factory=list)
    """Several Secrets (e.g. RSA and ECDSA)."""
    subject_alt_names: list[str] = field(default_factory=list)
    """Accepted client certificate SANs."""
    min_protocol_version: str | None = None
    """`TLSV1_2`, ...; None: Envoy's default."""
    max_protocol_version: str | None = None
    """Maximum TLS version; None: Envoy's default."""
    cipher_suites: list[str] = field(default_factory=list)
    """Allowed cipher suites; empty: Envoy's default."""
    require_client_certificate: bool = False
    """True for MUTUAL."""


@dataclass(slots=True)
class TcpRoute:
    """A TCP or TLS-passthrough route (VirtualService `tcp[]`/`tls[]`): first match wins."""

    id: str
    """`<ns>/<vs>/tls/<i>/match/<j>` or `.../tcp/<i>/match/<j>`."""
    clusters: list[WeightedCluster]
    """Destinations with relative weights."""
    sni_hosts: list[str] = field(default_factory=list)
    """SNI names that select this route (TLS); empty: any."""
    destination_subnets: list[str] = field(default_factory=list)
    """Destination IP ranges; empty: any."""
    origin: Origin | None = None
    """The VirtualService and field."""


@dataclass(slots=True)
class FilterChain:
    """What a listener does with a connection: TLS termination, HTTP routing or TCP proxying."""

    name: str
    """Stable name: `http`, `https.<port>.<portName>.<gw>.<ns>`, `tls.<...>` or `tcp`."""
    protocol: Literal["HTTP", "HTTPS", "TLS", "TCP"]
    """`HTTP`: plain HTTP; `HTTPS`: TLS terminated then HTTP; `TLS`: SNI-routed TLS (passthrough or
    terminated then TCP); `TCP`: plain TCP."""
    server_names: list[str] = field(default_factory=list)
    """SNI names selecting this chain (TLS/HTTPS); empty: any."""
    tls: ServerTLS | None = None
    """Downstream TLS settings (None: plaintext or passthrough without inspection)."""
    https_redirect: bool = False
    """Gateway `tls.httpsRedirect` on a plain-HTTP server."""
    route_config: RouteConfig | None = None
    """HTTP route table (HTTP, HTTPS)."""
    tcp_routes: list[TcpRoute] = field(default_factory=list)
    """TCP/TLS routes (TLS, TCP), first match wins."""
    origin: Origin | None = None
    """The Gateway server (`spec.servers[i]`); None on a sidecar."""
    destination_cidrs: list[str] = field(default_factory=list)
    """Destination IP ranges selecting this chain (a service whose address is a CIDR); empty: any."""
    application_protocols: list[str] = field(default_factory=list)
    """Protocols selecting this chain, as Envoy's HTTP inspector detects them on plain connections
    (`http/1.1`, `h2c`: the HTTP chain of a sidecar listener that also carries TCP); empty: any."""

    @property
    def transport_protocol(self) -> str | None:
        """Envoy's `transport_protocol` match: `raw_buffer` with the HTTP inspector's protocols, else None (any).

        listener.go `buildSidecarOutboundListener` sets both on the HTTP chains of a sniffed port.
        """
        return "raw_buffer" if self.application_protocols else None

    @property
    def match_server_names(self) -> list[str]:
        """The SNI names Envoy matches (`server_names`): only TLS and HTTPS chains have them."""
        return list(self.server_names) if self.protocol in ("HTTPS", "TLS") else []

    @property
    def needs_tls_inspector(self) -> bool:
        """The listener needs Envoy's TLS inspector (SNI and ALPN) for this chain."""
        return self.protocol in ("HTTPS", "TLS")

    @property
    def terminates_tls(self) -> bool:
        """The chain terminates TLS itself (a gateway server's certificate), so it expects a TLS client."""
        return self.tls is not None and self.tls.mode not in ("PASSTHROUGH", "AUTO_PASSTHROUGH")


@dataclass(slots=True)
class Listener:
    """A listening socket (Envoy `Listener`)."""

    name: str
    """`<address>_<port>` (`0.0.0.0_80`)."""
    address: str
    """Bind address (`0.0.0.0` unless the Gateway server sets `bind`)."""
    port: int
    """Port."""
    protocol: Literal["HTTP", "HTTPS", "TLS", "TCP"]
    """Protocol of the first filter chain (a port serves one protocol family)."""
    filter_chains: list[FilterChain]
    """Filter chains: HTTP chains first, then by SNI names."""
    default_chain: FilterChain | None = None
    """Envoy's `default_filter_chain`: what a connection no chain matches gets (on a sidecar, the
    passthrough chain to `PassthroughCluster` or `BlackHoleCluster`); None: such a connection is
    closed."""


# --- clusters -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Endpoint:
    """An upstream address of a cluster."""

    address: str
    """IP address or DNS name."""
    port: int
    """Port."""
    weight: int | None = None
    """Load-balancing weight (WorkloadEntry `weight`); None: equal."""
    labels: dict[str, str] = field(default_factory=dict)
    """Workload labels (what subsets select on)."""
    origin: Origin | None = None
    """WorkloadEntry, ServiceEntry endpoint or Service."""


@dataclass(slots=True)
class LoadBalancer:
    """Load-balancing policy of a cluster."""

    policy: Literal["LEAST_REQUEST", "ROUND_ROBIN", "RANDOM", "PASSTHROUGH", "RING_HASH", "MAGLEV"]
    """Envoy lb policy; LEAST_REQUEST when unset (Istio's default, also for LEAST_CONN)."""
    hash: HashPolicy | None = None
    """Consistent-hash key (RING_HASH, MAGLEV); the routes carry it as `Forward.hash_policy`."""
    minimum_ring_size: int | None = None
    """RING_HASH ring size (1024 when unset)."""
    table_size: int | None = None
    """MAGLEV table size (None: Envoy's default 65537)."""
    locality_enabled: bool | None = None
    """`localityLbSetting.enabled`; None: not set."""
    warmup: str | None = None
    """Slow-start window (`warmup.duration` or `warmupDurationSecs`)."""
    origin: PolicyOrigin | None = None
    """DestinationRule block; None: defaults."""


@dataclass(slots=True)
class TcpKeepalive:
    """TCP keepalive of upstream connections; None fields use the OS defaults."""

    probes: int | None = None
    """Unanswered probes before the connection is dropped."""
    time: str | None = None
    """Idle time before the first probe."""
    interval: str | None = None
    """Time between probes."""


@dataclass(slots=True)
class ConnectionPool:
    """Connection limits and timeouts of a cluster (effective values: Istio defaults filled in)."""

    max_connections: int = UNLIMITED
    """`tcp.maxConnections` (Envoy `max_connections`)."""
    max_pending_requests: int = UNLIMITED
    """`http.http1MaxPendingRequests`."""
    max_requests: int = UNLIMITED
    """`http.http2MaxRequests`."""
    max_retries: int = UNLIMITED
    """`http.maxRetries` (concurrent retries)."""
    connect_timeout: str = "10s"
    """`tcp.connectTimeout`; mesh default 10s."""
    tcp_keepalive: TcpKeepalive | None = None
    """`tcp.tcpKeepalive`."""
    max_connection_duration: str | None = None
    """`tcp.maxConnectionDuration`."""
    max_requests_per_connection: int | None = None
    """`http.maxRequestsPerConnection`; None: unlimited."""
    idle_timeout: str | None = None
    """`http.idleTimeout`, else `tcp.idleTimeout`; None: Envoy's default (1h)."""
    h2_upgrade_policy: str | None = None
    """`http.h2UpgradePolicy`."""
    use_client_protocol: bool = False
    """`http.useClientProtocol`."""
    max_concurrent_streams: int | None = None
    """`http.maxConcurrentStreams`."""
    origin: PolicyOrigin | None = None
    """DestinationRule block; None: defaults."""


@dataclass(slots=True)
class OutlierDetection:
    """Passive health checking (effective values: Envoy's defaults filled in where Istio leaves them)."""

    consecutive_5xx: int = 5
    """Consecutive 5xx before ejection (`consecutive5xxErrors`; Envoy default 5)."""
    enforcing_consecutive_5xx: int = 100
    """Percent chance to eject on `consecutive_5xx` (0 when `consecutive5xxErrors: 0`)."""
    consecutive_gateway_failure: int = 5
    """Consecutive 502/503/504 before ejection (`consecutiveGatewayErrors`)."""
    enforcing_consecutive_gateway_failure: int = 0
    """Percent chance to eject on gateway failures (100 when `consecutiveGatewayErrors` > 0)."""
    enforcing_success_rate: int = 0
    """Always 0: Istio disables success-rate ejection."""
    interval: str = "10s"
    """Sweep interval."""
    base_ejection_time: str = "30s"
    """Base ejection time (multiplied by the number of ejections)."""
    max_ejection_percent: int = 10
    """Maximum share of hosts ejected."""
    min_health_percent: int = 0
    """Below this share of healthy hosts, ejection stops (Envoy `healthy_panic_threshold`; 0 when unset)."""
    split_external_local_origin_errors: bool = False
    """Count local-origin failures (connect errors, timeouts) separately."""
    consecutive_local_origin_failure: int | None = None
    """Consecutive local-origin failures before ejection (with the split)."""
    origin: PolicyOrigin | None = None
    """DestinationRule block."""


@dataclass(slots=True)
class UpstreamTLS:
    """TLS from the proxy to the upstream (DestinationRule `trafficPolicy.tls`)."""

    mode: Literal["SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]
    """TLS mode (`DISABLE` gives no UpstreamTLS)."""
    sni: str | None = None
    """SNI sent."""
    client_certificate: str | None = None
    """Client certificate file (MUTUAL)."""
    private_key: str | None = None
    """Client private key file (MUTUAL)."""
    ca_certificates: str | None = None
    """CA bundle to verify the server."""
    credential_name: str | None = None
    """Secret holding client certificate, key and CA (gateways only)."""
    subject_alt_names: list[str] = field(default_factory=list)
    """Accepted server SANs."""
    insecure_skip_verify: bool = False
    """Do not verify the server certificate."""
    origin: PolicyOrigin | None = None
    """DestinationRule block."""


@dataclass(slots=True)
class Cluster:
    """An upstream cluster (Envoy `Cluster`), one per (host, port, subset)."""

    name: str
    """`outbound|<port>|<subset>|<fqdn>` (subset empty for the whole service)."""
    host: str
    """Service FQDN (or ServiceEntry host)."""
    port: int
    """Service port."""
    discovery: Literal["STATIC", "STRICT_DNS", "ORIGINAL_DST", "DYNAMIC_FORWARD_PROXY"]
    """STATIC: `endpoints` are IPs; STRICT_DNS: `endpoints` are names resolved by DNS (a Kubernetes
    Service without known endpoints resolves its own FQDN); ORIGINAL_DST: forward to the address the
    client connected to (PASSTHROUGH load balancing, ServiceEntry `resolution: NONE`,
    `PassthroughCluster`); DYNAMIC_FORWARD_PROXY: resolve the request's Host header
    (`AllowAnyDynamicDNSCluster`)."""
    subset: str | None = None
    """Subset name."""
    subset_labels: dict[str, str] = field(default_factory=dict)
    """Labels the subset selects (endpoints are already filtered)."""
    protocol: str | None = None
    """Service port protocol (`HTTP`, `HTTP2`, `GRPC`, `TCP`, ...); None: not declared (sniffed)."""
    endpoints: list[Endpoint] = field(default_factory=list)
    """Upstream addresses, sorted by (address, port)."""
    load_balancer: LoadBalancer = field(default_factory=lambda: LoadBalancer("LEAST_REQUEST"))
    """Load balancing."""
    connection_pool: ConnectionPool = field(default_factory=ConnectionPool)
    """Connection limits and timeouts."""
    outlier_detection: OutlierDetection | None = None
    """Outlier detection; None when no DestinationRule level sets it (no ejection)."""
    tls: UpstreamTLS | None = None
    """Upstream TLS; None: plaintext (meshc does not model Istio's automatic mTLS)."""
    service: Origin | None = None
    """The Service or ServiceEntry."""
    destination_rules: list[Origin] = field(default_factory=list)
    """DestinationRules that apply (the first gives the top-level policy; subsets are merged)."""


# --- security -----------------------------------------------------------------------------------


@dataclass(slots=True)
class JwtHeader:
    """Where a JWT is read from a header."""

    name: str
    """Header name."""
    prefix: str | None = None
    """Value prefix to strip (`Bearer `)."""


@dataclass(slots=True)
class ClaimToHeader:
    """Copy a validated claim to a request header."""

    header: str
    """Header name."""
    claim: str
    """Claim name."""


@dataclass(slots=True)
class JwtProvider:
    """One `jwtRules` entry of a RequestAuthentication selecting the context's workload."""

    name: str
    """Stable provider name: `<ns>/<name>/<index>`."""
    issuer: str | None = None
    """Expected `iss`."""
    audiences: list[str] = field(default_factory=list)
    """Accepted `aud` values; empty: any."""
    jwks: str | None = None
    """Inline JWKS (JSON text)."""
    jwks_uri: str | None = None
    """URL of the JWKS (fetched by the proxy)."""
    from_headers: list[JwtHeader] = field(default_factory=list)
    """Token locations in headers; empty (and no params/cookies): `Authorization: Bearer`."""
    from_params: list[str] = field(default_factory=list)
    """Query parameters holding the token; empty: `access_token` when no header is given."""
    from_cookies: list[str] = field(default_factory=list)
    """Cookies holding the token."""
    forward_original_token: bool = False
    """Keep the token in the forwarded request."""
    output_payload_to_header: str | None = None
    """Header that receives the base64 payload."""
    output_claim_to_headers: list[ClaimToHeader] = field(default_factory=list)
    """Claims copied to headers."""
    timeout: str | None = None
    """JWKS fetch timeout."""
    space_delimited_claims: list[str] = field(default_factory=list)
    """Claims whose value is a space-separated list."""
    origin: Origin | None = None
    """The RequestAuthentication and field."""


@dataclass(slots=True)
class AuthzSource:
    """`from[].source`: every non-empty field must hold (AND); values within a field are OR."""

    principals: list[str] = field(default_factory=list)
    """Peer identities (`cluster.local/ns/x/sa/y`, `*` globs)."""
    not_principals: list[str] = field(default_factory=list)
    """Negated principals."""
    request_principals: list[str] = field(default_factory=list)
    """JWT `iss/sub`."""
    not_request_principals: list[str] = field(default_factory=list)
    """Negated request principals."""
    namespaces: list[str] = field(default_factory=list)
    """Peer namespaces (mTLS)."""
    not_namespaces: list[str] = field(default_factory=list)
    """Negated namespaces."""
    service_accounts: list[str] = field(default_factory=list)
    """Peer service accounts (`ns/sa`)."""
    not_service_accounts: list[str] = field(default_factory=list)
    """Negated service accounts."""
    ip_blocks: list[str] = field(default_factory=list)
    """Peer IPs/CIDRs."""
    not_ip_blocks: list[str] = field(default_factory=list)
    """Negated IP blocks."""
    remote_ip_blocks: list[str] = field(default_factory=list)
    """Original client IPs (X-Forwarded-For)."""
    not_remote_ip_blocks: list[str] = field(default_factory=list)
    """Negated remote IP blocks."""
    trust_domains: list[str] = field(default_factory=list)
    """Trust domains of the peer identity (`cluster.local`, `*` globs)."""
    not_trust_domains: list[str] = field(default_factory=list)
    """Negated trust domains."""


@dataclass(slots=True)
class AuthzOperation:
    """`to[].operation`: every non-empty field must hold (AND); values within a field are OR."""

    hosts: list[str] = field(default_factory=list)
    """Host header values (case-insensitive, `*` globs)."""
    not_hosts: list[str] = field(default_factory=list)
    """Negated hosts."""
    ports: list[str] = field(default_factory=list)
    """Destination ports."""
    not_ports: list[str] = field(default_factory=list)
    """Negated ports."""
    methods: list[str] = field(default_factory=list)
    """HTTP methods."""
    not_methods: list[str] = field(default_factory=list)
    """Negated methods."""
    paths: list[str] = field(default_factory=list)
    """Paths (`*` prefix/suffix globs, `{*}`/`{**}` templates)."""
    not_paths: list[str] = field(default_factory=list)
    """Negated paths."""


@dataclass(slots=True)
class AuthzCondition:
    """`when[]`: a condition on a request attribute."""

    key: str
    """Attribute (`request.headers[x]`, `request.auth.claims[groups]`, `source.ip`, ...)."""
    values: list[str] = field(default_factory=list)
    """Accepted values (OR)."""
    not_values: list[str] = field(default_factory=list)
    """Rejected values."""


@dataclass(slots=True)
class AuthzRule:
    """One `rules[]` entry: a request matches when `sources`, `operations` and `conditions` all hold."""

    sources: list[AuthzSource] = field(default_factory=list)
    """`from[]` (OR); empty: any source."""
    operations: list[AuthzOperation] = field(default_factory=list)
    """`to[]` (OR); empty: any operation."""
    conditions: list[AuthzCondition] = field(default_factory=list)
    """`when[]` (AND); empty: no condition."""


@dataclass(slots=True)
class AuthorizationPolicy:
    """An AuthorizationPolicy that applies to the context's workload, in Istio terms."""

    name: str
    """`<ns>/<name>`."""
    action: Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"]
    """Action (ALLOW when unset). Evaluation: CUSTOM, then DENY, then ALLOW; with any ALLOW policy,
    a request that matches none is denied."""
    rules: list[AuthzRule] = field(default_factory=list)
    """Rules (OR). Empty: matches no request (an ALLOW policy with no rules denies everything)."""
    provider: str | None = None
    """Extension provider name (CUSTOM)."""
    selector: dict[str, str] = field(default_factory=dict)
    """Workload selector; empty: every workload of the namespace (mesh-wide in the root namespace)."""
    dry_run: bool = False
    """`istio.io/dry-run: "true"`: evaluated and logged, never enforced."""
    origin: Origin | None = None
    """The AuthorizationPolicy."""


# --- contexts -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Context:
    """One proxy: a sidecar (`mesh`) for a client namespace and labels, or a gateway workload."""

    name: str
    """`mesh`, or `gateway:<ns>/<k=v,...>` (the gateway workload's namespace and selector)."""
    kind: Literal["sidecar", "gateway"]
    """Sidecar (outbound traffic of a workload) or gateway."""
    namespace: str
    """Sidecar: the client namespace (short names, exportTo, `sourceNamespace`); gateway: the
    namespace of the gateway workload."""
    labels: dict[str, str] = field(default_factory=dict)
    """Sidecar: the client's labels (`sourceLabels`); gateway: the Gateway selector."""
    gateways: list[Origin] = field(default_factory=list)
    """Gateway resources served by this proxy (Gateways with the same selector share it)."""
    namespace_reason: str | None = None
    """Gateway: how `namespace` was decided (workload found in the input, or assumed)."""
    listeners: list[Listener] = field(default_factory=list)
    """Listeners, sorted by (port, address)."""
    clusters: list[Cluster] = field(default_factory=list)
    """Clusters referenced by routes (and, for a full compile, every service port and subset),
    sorted by (host, port, subset)."""
    jwt_providers: list[JwtProvider] = field(default_factory=list)
    """JWT providers from RequestAuthentications that select this workload, sorted by name."""
    authorization_policies: list[AuthorizationPolicy] = field(default_factory=list)
    """AuthorizationPolicies that select this workload, sorted by name."""
    port_map: dict[int, int] = field(default_factory=dict)
    """Gateway: a port of the gateway's Service → the targetPort its workload listens on (where the
    Gateway server's listener is); a request sent to the Service port arrives there."""
    sidecar: Origin | None = None
    """Sidecar: the Sidecar resource that scopes this proxy (its namespace's for the client's labels,
    else the root namespace's); None: no Sidecar, the proxy imports everything exported to it."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Sidecar: the virtual IP a client connects to for a registry host that has one (its FQDN and
    the short forms the client may write), as the cluster's DNS answers; a request for another host
    goes to an address no listener binds."""
    outbound_traffic_policy: str | None = None
    """Sidecar: `ALLOW_ANY`, `REGISTRY_ONLY` or `ALLOW_ANY_DYNAMIC_DNS`, what the proxy does with a
    host outside the registry (the mesh settings' `outboundTrafficPolicy.mode`)."""
    outbound_traffic_policy_from: str | None = None
    """Sidecar: where that mode comes from (`mesh.yaml`, `ConfigMap istio-system/istio (mesh.yaml:5)`, ...);
    None: Istio's default."""


@dataclass(slots=True)
class Note:
    """Something compile could not decide; the bad piece was dropped and compile went on."""

    code: str
    """Short kebab-case reason: `unknown-host`, `unknown-subset`, `missing-delegate`,
    `unsupported-redirect-code`, `duplicate-domain`, ..."""
    message: str
    """One sentence for humans."""
    origin: Origin | None = None
    """Where in the input."""
    context: str | None = None
    """Context name, when it is specific to one."""

    def located(self) -> str:
        """`file:line:col: message` (the position every command gives for this place), or the message."""
        o = self.origin
        if o is None or not o.file:
            return self.message
        return f"{o.file}:{o.line}:" + (f"{o.column}:" if o.column else "") + f" {self.message}"


@dataclass(slots=True)
class IR:
    """Everything `meshc compile` decided."""

    contexts: list[Context]
    """The sidecar context first, then gateway contexts sorted by name."""
    cluster_domain: str = "cluster.local"
    """Kubernetes cluster domain used for FQDNs."""
    notes: list[Note] = field(default_factory=list)
    """What compile could not decide, sorted by (file, line, code)."""
    version: int = IR_VERSION
    """IR format version."""

    def context(self, name: str) -> Context | None:
        """The context with this name."""
        for c in self.contexts:
            if c.name == name:
                return c
        return None


# --- serialisation ------------------------------------------------------------------------------

_DEFAULTS: dict[type, list[tuple[str, Any]]] = {}


def _is_record(tp: Any) -> bool:
    """Whether `tp` is a record class: a dataclass, or a `msgspec.Struct` (the match types of `meshc.matching`)."""
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or issubclass(tp, msgspec.Struct))


def _fields(cls: type) -> list[tuple[str, Any]]:
    """(name, default or MISSING) of a record class (see `_is_record`), cached."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = []
        # (name, default, default factory, what the record type puts in either when there is none)
        specs: list[tuple[str, Any, Any, Any]]
        if issubclass(cls, msgspec.Struct):
            specs = [(s.name, s.default, s.default_factory, msgspec.NODEFAULT) for s in msgspec.structs.fields(cls)]
        else:
            specs = [
                (f.name, f.default, f.default_factory, dataclasses.MISSING)
                for f in dataclasses.fields(typing.cast(Any, cls))
                if f.metadata.get("ir") is not False  # kept for messages only
            ]
        for name, default, factory, none in specs:
            if default is not none:
                found.append((name, default))
            elif factory is not none:
                found.append((name, factory()))
            else:
                found.append((name, dataclasses.MISSING))
        _DEFAULTS[cls] = found
    return found


def to_dict(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) of an IR node; fields equal to their default are left out."""
    if _is_record(type(obj)):
        out: dict[str, Any] = {}
        for name, default in _fields(type(obj)):
            value = getattr(obj, name)
            if default is not dataclasses.MISSING and value == default:
                continue
            out[name] = to_dict(value)
        return out
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type, data: Any) -> Any:
    """Rebuild an IR node of type `cls` from `to_dict` output (missing fields get their defaults)."""
    return _build(cls, data)


_HINTS: dict[type, dict[str, Any]] = {}


def _build(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Union or (sys.version_info >= (3, 10) and origin is types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return _build(args[0], data)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_build(item, v) for v in data]
    if origin is dict:
        _, value = typing.get_args(tp)
        return {k: _build(value, v) for k, v in data.items()}
    if origin is Literal:
        return data
    if _is_record(tp):
        hints = _HINTS.get(tp)
        if hints is None:
            hints = typing.get_type_hints(tp)
            _HINTS[tp] = hints
        kwargs = {name: _build(hints[name], value) for name, value in data.items()}
        return tp(**kwargs)
    if tp is float and isinstance(data, int):
        return float(data)
    return data


# --- YAML ---------------------------------------------------------------------------------------

# A plain scalar: starts with a letter, `_` or `/`; a `:` inside is fine, at the end it would be a
# mapping indicator (found by the long fuzz profile: `uri: https://x/c:` in an Envoy bootstrap).
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:|@=+\-]*(?<!:)\Z")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})
"""Plain scalars YAML reads as booleans or null, in any case (none is longer than 5 characters)."""


def _scalar(value: Any) -> str:
    if type(value) is str:
        # Most scalars are strings, and the same few repeat (keys, types, cluster names): their
        # text is remembered (compile of 3,000 services wrote 300,000 scalars through the regex).
        text = _SCALARS.get(value)
        if text is None:
            text = _string(value)
            if len(_SCALARS) >= _SCALARS_MAX:
                _SCALARS.clear()
            _SCALARS[value] = text
        return text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return _string(str(value))


def _string(text: str) -> str:
    if _PLAIN.match(text) and (len(text) > 5 or text.lower() not in _RESERVED):
        return text
    return _YAML_UNSAFE.sub(_yaml_escape, json.dumps(text, ensure_ascii=False))


_SCALARS: dict[str, str] = {}
"""Strings already written, and their YAML text (emptied when it reaches `_SCALARS_MAX`)."""
_SCALARS_MAX = 1 << 14


# Characters a YAML double-quoted scalar cannot hold as they are but JSON leaves unescaped: C1
# controls and DEL (not printable), NEL and the Unicode line and paragraph separators (YAML line
# breaks: they would be folded into spaces), surrogates, the BOM and the two non-characters.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _yaml_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Items:
    """A list whose items are made while it is written (`write_yaml`, `write_json`), one at a time.

    A renderer puts one where a list would hold thousands of large items (the virtual hosts of a
    route table, the clusters of a bootstrap): only the item being written is held, not the list
    nor its whole text. It can be iterated once; its truth value tells whether it has an item.
    """

    __slots__ = ("_head", "_rest")

    def __init__(self, items: Iterable[Any]) -> None:
        self._rest = iter(items)
        self._head: list[Any] = []

    def __bool__(self) -> bool:
        if not self._head:
            for item in self._rest:
                self._head.append(item)
                break
        return bool(self._head)

    def __iter__(self) -> Iterator[Any]:
        if self._head:
            yield self._head.pop()
        yield from self._rest


class Block(dict[str, Any]):
    """A mapping that recurs unchanged in one document: `write_yaml` makes its text once per indent and repeats it.

    A renderer gives the same `Block` wherever the same value recurs (a DestinationRule's circuit
    breakers in each cluster of its host, the mesh default retry policy in every route): from its
    second appearance at an indent, the writer repeats the text it made instead of walking the
    mapping again. Any other reader sees a dict. It cannot be changed once made (its text would be
    stale): item assignment, deletion and the updating methods raise TypeError.
    """

    _texts: dict[int, str | None] | None = None
    """Indent → its text (None: written once there, no text made yet); made when the block is first written."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a Block cannot be changed once made")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> Any:
        return (Block, (dict(self),))


def _block(data: Block, indent: int, lead: str, lines: list[str]) -> bool:
    """Write a `Block` by its text at `indent` (made on its second appearance there); False the first time."""
    texts = data._texts
    if texts is None:
        data._texts = {indent: None}
        return False
    text = texts.get(indent)
    if text is None:
        if indent not in texts:
            texts[indent] = None
            return False
        pieces: list[str] = []
        own: list[str] = []
        _emit(dict(data), indent, "", own, pieces.append)
        pieces.append("\n".join(own))
        text = texts[indent] = "".join(pieces)
    lines.append(lead + text)
    return True


def dump_yaml(data: Any, prefix: str = "") -> str:
    """Block-style YAML of plain data after `prefix`, byte-for-byte deterministic (no dependency, no anchors)."""
    chunks: list[str] = []
    write_yaml(data, chunks.append, prefix)
    return "".join(chunks)


def write_yaml(data: Any, write: Callable[[str], Any], prefix: str = "") -> None:
    """`dump_yaml`'s text, given to `write` in pieces as it is made (an `Items` is made as it is written).

    Lines are joined in chunks of `_CHUNK_LINES`: a list of every line of a 20 MB document would
    cost three times its size.
    """
    lines: list[str] = []
    write(prefix)
    _emit(data, 0, "", lines, write)
    write("\n".join(lines))
    write("\n")


_CHUNK_LINES = 4096


def _emit(data: Any, indent: int, lead: str, lines: list[str], write: Callable[[str], Any]) -> None:
    """Append the lines of `data` at `indent`; the first line starts with `lead` instead of the indent.

    (`lead` carries the "- " of the list item this node is the first line of.) Values of the exact
    types str, int, bool, dict and list are written without a call (the hot path of writing a
    bootstrap: 300,000 scalars at 3,000 services); anything else goes through `_inline`. A `Block`
    that recurs is written as its text.
    """
    if type(data) is Block and _block(data, indent, lead, lines):
        return
    pad = " " * indent
    append = lines.append
    scalars = _SCALARS
    if isinstance(data, dict):
        if not data:
            append(lead + "{}")
            return
        p = lead
        for key, value in data.items():
            k = (scalars.get(key) if type(key) is str else None) or _scalar(key)
            t = type(value)
            if t is str:
                append(f"{p}{k}: {scalars.get(value) or _scalar(value)}")
            elif t is int:
                append(f"{p}{k}: {value}")
            elif t is bool:
                append(f"{p}{k}: true" if value else f"{p}{k}: false")
            elif t is Block and value._texts and (text := value._texts.get(indent + 2)) is not None:
                append(f"{p}{k}:\n{pad}  {text}")
            elif (t is dict or isinstance(value, dict)) and value:
                append(f"{p}{k}:")
                _emit(value, indent + 2, pad + "  ", lines, write)
            elif (t is list or isinstance(value, (list, Items))) and value:
                append(f"{p}{k}:")
                _emit(value, indent, pad, lines, write)
            else:
                append(f"{p}{k}: {_inline(value)}")
            p = pad
        return
    if isinstance(data, (list, Items)):
        if not data:
            append(lead + "[]")
            return
        p = lead
        for item in data:
            t = type(item)
            if t is str:
                append(f"{p}- {scalars.get(item) or _scalar(item)}")
            elif t is Block and item._texts and (text := item._texts.get(indent + 2)) is not None:
                append(f"{p}- {text}")
            elif (t is dict or t is list or isinstance(item, (dict, list, Items))) and item:
                _emit(item, indent + 2, p + "- ", lines, write)
            else:
                append(f"{p}- {_inline(item)}")
            p = pad
            if len(lines) >= _CHUNK_LINES:
                write("\n".join(lines))
                write("\n")
                lines.clear()
        return
    append(lead + _scalar(data))


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, (list, Items)):
        return "[]"
    return _scalar(value)


class _ItemsAsList(list[Any]):
    """An `Items` as json's encoder sees it: a list (so it is written as an array) whose items come one at a time.

    The pure-Python encoder (the one `json.dumps` uses with an indent) asks a list only whether it
    is empty and for its items, which `Items` answers; nothing else reads this object.
    """

    def __init__(self, items: Items) -> None:
        super().__init__()
        self.items = items

    def __len__(self) -> int:
        return 1 if self.items else 0

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


def _json_default(value: Any) -> Any:
    if isinstance(value, Items):
        return _ItemsAsList(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def write_json(data: Any, write: Callable[[str], Any]) -> None:
    """`json.dumps(data, indent=2, ensure_ascii=False)` and a newline, given to `write` in pieces (`Items` as arrays).

    With an indent, `json.dumps` joins what the encoder's `iterencode` makes; this writes the same
    pieces, a few thousand at a time.
    """
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=_json_default)
    pieces: list[str] = []
    for piece in encoder.iterencode(data):
        pieces.append(piece)
        if len(pieces) >= _CHUNK_LINES * 4:
            write("".join(pieces))
            pieces.clear()
    pieces.append("\n")
    write("".join(pieces))


def to_yaml(ir: IR) -> str:
    """The IR as YAML (`meshc compile --target ir`): deterministic bytes for the same input."""
    return dump_yaml(to_dict(ir))
