"""Walk the IR with Envoy's semantics: which route a request takes, and why the earlier ones did not.

The simulator only reads the IR (`meshc.ir`), so `meshc route` explains exactly what `meshc compile`
emits. Order of the walk: context → listener (by port) → filter chain (plain HTTP, or TLS by SNI)
→ route table → virtual host (exact domain, longest `*.suffix`, longest `prefix.*`, `*`; the Host's
port is ignored) → routes in order, first match wins → action. Conditions follow Envoy's route.v3
matchers; the docstrings of `tests/test_simulate.py` name the doc or translation.md line each
behaviour follows.
"""

from __future__ import annotations

import ipaddress
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshc import ir
from meshc.matchspace import RouteIndex

_T = TypeVar("_T")

Headers = list[tuple[str, str]]


@dataclass
class Request:
    """An HTTP request as a client sends it."""

    host: str
    """Host / :authority as sent (may carry `:port`)."""
    path: str = "/"
    """:path, with the query string if any."""
    method: str = "GET"
    """:method."""
    headers: Headers = field(default_factory=list)
    """Other headers, in order; a name may repeat."""
    port: int | None = None
    """Destination port (the listener); None: the port in `host`, else 80."""
    scheme: str | None = None
    """:scheme; None: `https` on a TLS-terminating chain, else `http`."""
    gateway: str = "mesh"
    """`mesh` (from a sidecar) or `ns/name` of a Gateway."""
    source_namespace: str = "default"
    """Client namespace (mesh only)."""
    source_labels: dict[str, str] = field(default_factory=dict)
    """Client labels (mesh only)."""
    claims: dict[str, Any] = field(default_factory=dict)
    """Claims of a JWT the proxy validated (`@request.auth.claims.*` matches)."""
    address: str | None = None
    """Destination IP the client connects to; None: the address the context's DNS gives the host
    (the service's virtual IP), else one no listener binds (a host outside the registry, or a
    service without a virtual IP)."""
    protocol: str = "http"
    """What the client speaks: `http`, `http2`, or `tcp` (bytes Envoy's HTTP inspector does not
    recognise as HTTP)."""
    tls: bool | None = None
    """The client wraps the connection in TLS (True) or not (False). None: plain text from a
    sidecar's client; to a gateway, TLS where the server terminates it (as a browser does)."""
    sni: str | None = None
    """TLS server name; None: the host."""
    alpn: str | None = None
    """TLS ALPN; None: `http/1.1` or `h2` from the protocol (nothing for `tcp`)."""

    @property
    def hostname(self) -> str:
        """The Host without its port, lowercase (what vhost selection compares)."""
        return split_authority(self.host)[0]

    @property
    def listener_port(self) -> int:
        """The port the request arrives on."""
        if self.port is not None:
            return self.port
        port = split_authority(self.host)[1]
        return port if port is not None else 80

    @property
    def path_only(self) -> str:
        """The path without query string and fragment."""
        return ir.path_without_query(self.path)

    @property
    def query(self) -> list[tuple[str, str]]:
        """Raw query parameters (not percent-decoded), in order."""
        return ir.query_params(self.path)

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, in order (names compared ASCII case-folded, as Envoy does); pseudo-headers too."""
        lname = ir.ascii_lower(name)
        if lname == ":authority" or lname == "host":
            return [self.host]
        if lname == ":method":
            return [self.method]
        if lname == ":path":
            return [self.path]
        if lname == ":scheme":
            return [self.scheme or "http"]
        return [v for k, v in self.headers if ir.ascii_lower(k) == lname]


def _host_port(host: str) -> tuple[str, str]:
    """(host, `:port` or "") of a Host header as Envoy cuts it (the last `:`; after `]` for IPv6)."""
    end = host.rfind("]:") + 1 if host.startswith("[") else host.rfind(":")
    if end <= 0:
        return host, ""
    return host[:end], host[end:]


def split_authority(authority: str) -> tuple[str, int | None]:
    """(lowercase host, port or None) of a Host header value (IPv6 in brackets supported).

    Envoy lowers the Host to pick a virtual host with `absl::AsciiStrToLower`: ASCII only.
    """
    text = ir.ascii_lower(authority.strip())
    if text.startswith("["):
        end = text.find("]")
        host = text[: end + 1]
        rest = text[end + 1 :]
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, None


@dataclass
class Step:
    """One line of the trace: a route (or a match block removed at config time) and why it (did not) match."""

    route: str
    """Route id (`ns/vs/http/i/match/j`) or `default`."""
    matched: bool
    """True for the route taken."""
    reason: str
    """Why: the conditions that held, or the first one that did not."""
    rule: int | None = None
    """`http[]` index in the VirtualService."""
    match: int | None = None
    """`match[]` index."""
    virtual_service: str | None = None
    """`ns/name`."""
    removed: bool = False
    """The match block produced no route (removed when the configuration was generated)."""
    delegate: str | None = None
    """`ns/name rule k [match l]` of the delegate rule merged into the root rule, if any."""


@dataclass
class Destination:
    """One destination of the decision, with its share of the traffic."""

    cluster: ir.WeightedCluster
    """The IR destination."""
    percent: int
    """Share of traffic in whole percent (largest-remainder rounding; the shares add up to 100)."""
    share: float
    """Exact share, 0-100."""


@dataclass
class Decision:
    """What Envoy does with the request, and the trace that explains it."""

    request: Request
    """The request."""
    action: str
    """`route`, `redirect`, `direct_response`, `default` or `no_route`."""
    context: ir.Context | None = None
    """The proxy."""
    address: str | None = None
    """The destination address the connection went to (the request's, else the virtual IP the
    context's DNS gives for the host); None: an address no listener binds."""
    listener: ir.Listener | None = None
    """The listener (by address and port)."""
    chain: ir.FilterChain | None = None
    """The filter chain."""
    virtual_host: ir.VirtualHost | None = None
    """The virtual host picked."""
    route: ir.Route | None = None
    """The route taken."""
    destinations: list[Destination] = field(default_factory=list)
    """Where the traffic goes, with shares."""
    clusters: dict[str, ir.Cluster] = field(default_factory=dict)
    """The IR clusters of the destinations (absent: unknown cluster, Envoy answers 503)."""
    status: int | None = None
    """Status Envoy answers itself: 404 for no route, the redirect code, the direct response status."""
    location: str | None = None
    """Redirect target URL."""
    forwarded_path: str | None = None
    """The :path sent upstream after rewrites."""
    forwarded_authority: str | None = None
    """The Host sent upstream after rewrites."""
    reason: str = ""
    """One sentence: why this action."""
    error: str | None = None
    """Why the connection gets no HTTP answer at all: `no_filter_chain` (no chain takes it and the
    listener has no default: closed), `protocol_error` (TLS or non-HTTP bytes reach an HTTP
    connection manager) or `tls_error` (plain text to a chain that terminates TLS)."""
    trace: list[Step] = field(default_factory=list)
    """One step per route tried (and per match block removed at config time), in order."""

    def pick(self, seed: int) -> ir.WeightedCluster | None:
        """A weighted random pick among the destinations, reproducible for a seed (for tests)."""
        if not self.destinations:
            return None
        rng = random.Random(seed)
        weights = [d.cluster.weight for d in self.destinations]
        return rng.choices([d.cluster for d in self.destinations], weights=weights)[0]


# --- matching ---------------------------------------------------------------------------------------


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


SHOWN = 100
"""The longest value a trace line quotes whole (characters)."""


def elide(value: str, limit: int = SHOWN) -> str:
    """`value`, or its first characters and its size in bytes when it is longer than `limit`.

    A trace names a value once per route tried: a 100 KB path against 1,000 routes made `meshc route`
    print 250 MB. Cut, every line stays short whatever the request.
    """
    if len(value) <= limit:
        return value
    return f"{value[: limit // 2]}…({len(ir.wire_bytes(value)):,} bytes)"


def _shown(value: str) -> str:
    """`value` quoted for a trace line, cut as `elide` cuts it (the size stays outside the quotes)."""
    if len(value) <= SHOWN:
        return _q(value)
    return _q(value[: SHOWN // 2])[:-1] + f'…" ({len(ir.wire_bytes(value)):,} bytes)'


def _sm_text(sm: ir.StringMatch, quote: Callable[[str], str] = _q) -> str:
    if sm.kind == "present":
        return "present"
    return f"{sm.kind} {quote(sm.value)}"


def describe(match: ir.RouteMatch) -> list[str]:
    """The conditions of a route match, in words (empty: it matches every request)."""
    out: list[str] = []
    p = match.path
    if not (p.kind == "prefix" and p.value == "/"):
        out.append(f"uri {p.kind} {_q(p.value)}" + (" (ignoring case)" if p.ignore_case else ""))
    for hm in match.headers:
        word = "without header" if hm.invert else "header"
        out.append(f"{word} {hm.name} {_sm_text(hm.match)}")
    if match.method is not None:
        out.append(f"method {_sm_text(match.method)}")
    if match.authority is not None:
        out.append(f"authority {_sm_text(match.authority)}")
    if match.scheme is not None:
        out.append(f"scheme {_sm_text(match.scheme)}")
    for qm in match.query_params:
        out.append(f"query {qm.name} {_sm_text(qm.match)}")
    for cm in match.jwt_claims:
        word = "without claim" if cm.invert else "claim"
        out.append(f"{word} {'.'.join(cm.claim)} {_sm_text(cm.match)}")
    return out


def check(match: ir.RouteMatch, request: Request) -> str | None:
    """None when the match holds; otherwise the first condition that fails and what the request has.

    Whether it holds is `ir.RouteMatch.mismatch`'s answer; this only puts it in words.
    """
    miss = match.mismatch(request)
    if miss is None:
        return None
    cond = miss.condition
    have = "none" if miss.have is None else ", ".join(_shown(v) for v in miss.have)
    if isinstance(cond, ir.PathMatch):
        case = " (ignoring case)" if cond.ignore_case else ""
        return f"uri {cond.kind} {_shown(cond.value)}{case}, request path is {have}"
    if isinstance(cond, ir.HeaderMatch):
        word = "without header" if cond.invert else "header"
        return f"{word} {elide(cond.name)} {_sm_text(cond.match, _shown)}, request has {have}"
    if isinstance(cond, ir.QueryParamMatch):
        return f"query {elide(cond.name)} {_sm_text(cond.match, _shown)}, request has {have}"
    if isinstance(cond, ir.ClaimMatch):
        word = "without claim" if cond.invert else "claim"
        have = "no such claim" if miss.have is None else have
        return f"{word} {elide('.'.join(cond.claim))} {_sm_text(cond.match, _shown)}, request has {have}"
    return f"{miss.field} {_sm_text(cond, _shown)}, request has {have}"


# --- selection --------------------------------------------------------------------------------------


def select_virtual_host(vhosts: list[ir.VirtualHost], hostname: str) -> ir.VirtualHost | None:
    """Envoy's vhost choice: exact domain, then longest `*suffix`, then longest `prefix*`, then `*`.

    Ties go to the first vhost (in list order) and, within it, the first domain. The choice is made
    through an index of the table's domains, built once per table: `meshc diff` asks one table
    about every host it holds, which a scan made quadratic.
    """
    return _cached(vhosts, _VhostIndex).select(ir.ascii_lower(hostname))


class _VhostIndex:
    """The domains of one route table by kind, each mapped to the first vhost that has it."""

    def __init__(self, vhosts: list[ir.VirtualHost]) -> None:
        self.exact: dict[str, ir.VirtualHost] = {}
        self.suffix: dict[str, ir.VirtualHost] = {}
        self.prefix: dict[str, ir.VirtualHost] = {}
        self.any: ir.VirtualHost | None = None
        for vh in vhosts:
            for d in vh.domains:
                d = ir.ascii_lower(d)
                self.exact.setdefault(d, vh)
                if d == "*":
                    if self.any is None:
                        self.any = vh
                    continue
                if d.startswith("*"):
                    self.suffix.setdefault(d[1:], vh)
                if d.endswith("*"):  # `**x*`-like domains are tried as both, suffix first
                    self.prefix.setdefault(d[:-1], vh)
        # The host is cut only at the lengths the domains have, longest first: cutting it at every
        # length was quadratic in the host's length (a 200 KB host name: 25 s of `meshc diff`).
        self.suffix_lengths = sorted({len(k) for k in self.suffix}, reverse=True)
        self.prefix_lengths = sorted({len(k) for k in self.prefix}, reverse=True)

    def select(self, host: str) -> ir.VirtualHost | None:
        found = self.exact.get(host)
        if found is not None:
            return found
        n = len(host)
        for k in self.suffix_lengths:  # the longest proper suffix of the host that is a `*suffix` domain
            if 0 < k < n:
                found = self.suffix.get(host[n - k :])
                if found is not None:
                    return found
        for k in self.prefix_lengths:  # then the longest proper prefix that is a `prefix*` domain
            if 0 < k < n:
                found = self.prefix.get(host[:k])
                if found is not None:
                    return found
        return self.any


_INDEXES: dict[Callable[[Any], Any], dict[tuple[int, int], tuple[list[Any], Any]]] = {}


def _cached(items: list[Any], build: Callable[[list[Any]], _T]) -> _T:
    """`build(items)`, kept for the last 64 lists each kind of index was built for (the IR is not changed once built).

    `meshc diff` simulates thousands of requests on one IR; building an index per request made it
    quadratic. Each kind of index has its own 64 places: the route indexes of thousands of virtual
    hosts must not push out the virtual-host index of their route table.
    """
    cache = _INDEXES.setdefault(build, {})
    key = (id(items), len(items))
    cached = cache.get(key)
    if cached is None or cached[0] is not items:
        if len(cache) >= 64:
            del cache[next(iter(cache))]
        cached = cache[key] = (items, build(items))
    return cached[1]


def _clusters_by_name(clusters: list[ir.Cluster]) -> dict[str, ir.Cluster]:
    return {c.name: c for c in clusters}


def _sni_rank(names: list[str], sni: str | None) -> int:
    """How well a chain's server names hold the SNI: exact first, then the longest `*.suffix`; 0: not at all."""
    best = 0
    if sni is None:
        return best
    for n in names:
        if n == sni:
            return sys.maxsize
        if n.startswith("*.") and sni.endswith(n[1:]) and len(sni) > len(n) - 1:
            best = max(best, len(n))
    return best


def _sieve(items: list[_T], field_of: Callable[[_T], Any], rank: Callable[[Any], int]) -> list[_T]:
    """One step of Envoy's filter chain match: the best-ranked items that set the field and hold the connection.

    When none holds it: the items that do not set the field (one that sets it and fails is out).
    """
    if not any(field_of(c) for c in items):
        return items
    ranked = [(rank(field_of(c)), c) for c in items if field_of(c)]
    best = max(r for r, _ in ranked)
    if best > 0:
        return [c for r, c in ranked if r == best]
    return [c for c in items if not field_of(c)]


def _range_rank(cidrs: list[str], address: str | None) -> int:
    """How well destination ranges hold the address: 1 + the longest prefix that holds it; 0: none does."""
    if address is None:
        return 0
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return 0
    best = 0
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if ip.version == net.version and ip in net:
            best = max(best, net.prefixlen + 1)
    return best


def _alpn(request: Request, tls: bool, inspect_tls: bool, inspect_http: bool) -> str | None:
    """The application protocol Envoy's listener filters report (pilot/pkg/simulation/traffic.go `Run`).

    The TLS ALPN when the TLS inspector reads it, `http/1.1`/`h2c` when the HTTP inspector sees
    plain HTTP, else none.
    """
    if tls:
        if not inspect_tls:
            return None
        return request.alpn or {"http": "http/1.1", "http2": "h2"}.get(request.protocol)
    if inspect_http:
        return {"http": "http/1.1", "http2": "h2c"}.get(request.protocol)
    return None


def _chain(listener: ir.Listener, request: Request, address: str | None, *, tls: bool) -> ir.FilterChain | None:
    """Envoy's filter chain match for the connection, then the listener's default chain.

    The steps of Envoy's `FilterChainMatch` sieve, as Istio's simulation walks them
    (pilot/pkg/simulation/traffic.go `matchFilterChain`): destination address (the longest range
    that holds it, else the chains without one), server names (the SNI of a TLS client, when the
    listener has the TLS inspector), transport protocol (`tls` or `raw_buffer`), then application
    protocols (the ALPN, or what the HTTP inspector detects on plain HTTP: `http/1.1`, `h2c`).
    """
    chains = listener.filter_chains
    inspect_tls = any(c.needs_tls_inspector for c in chains)
    inspect_http = any(c.application_protocols for c in chains)
    chains = _sieve(chains, lambda c: c.destination_cidrs, lambda cidrs: _range_rank(cidrs, address))
    sni = (request.sni or request.hostname) if tls and inspect_tls else None
    chains = _sieve(chains, lambda c: c.match_server_names, lambda names: _sni_rank(names, sni))
    # Without the TLS inspector Envoy cannot tell TLS from other bytes: every connection is raw_buffer.
    transport = "tls" if tls and inspect_tls else "raw_buffer"
    chains = _sieve(chains, lambda c: c.transport_protocol, lambda t: int(t == transport))
    alpn = _alpn(request, tls, inspect_tls, inspect_http)
    chains = _sieve(chains, lambda c: c.application_protocols, lambda protocols: int(alpn in protocols))
    return chains[0] if chains else listener.default_chain


def _listener(ctx: ir.Context, port: int, address: str | None) -> ir.Listener | None:
    """The listener a connection reaches: its address and port, else the wildcard on the port.

    A sidecar's connection no listener takes goes to `virtualOutbound`; a gateway's listener is
    found by port.
    """
    on_port = [li for li in ctx.listeners if li.port == port and li.name != ir.VIRTUAL_OUTBOUND]
    if ctx.kind != "sidecar":
        if not on_port and port in ctx.port_map:
            # Sent to the gateway Service's port: it arrives on the targetPort the workload listens on.
            return next((li for li in ctx.listeners if li.port == ctx.port_map[port]), None)
        return on_port[0] if on_port else None
    exact = [li for li in on_port if address is not None and li.address == address]
    wildcard = [li for li in on_port if li.address in ("0.0.0.0", "::")]
    found = exact or wildcard
    if found:
        return found[0]
    return next((li for li in ctx.listeners if li.name == ir.VIRTUAL_OUTBOUND), None)


def _ref(route: ir.Route) -> tuple[int | None, int | None, str | None]:
    if route.origin is None:
        return None, None, None
    vs = route.origin.virtual_service
    return vs.rule, vs.match, f"{vs.namespace}/{vs.name}"


def _delegate_text(origin: ir.RouteOrigin | None) -> str | None:
    if origin is None or origin.delegate is None:
        return None
    d = origin.delegate
    return f"{d.namespace}/{d.name} rule {d.rule}" + (f" match {d.match}" if d.match is not None else "")


def _skipped_step(s: ir.SkippedMatch) -> Step:
    vs = s.origin.virtual_service
    rid = f"{vs.namespace}/{vs.name}/http/{vs.rule}" + (f"/match/{vs.match}" if vs.match is not None else "")
    if s.origin.delegate is not None:
        d = s.origin.delegate
        rid += f"/delegate/{d.namespace}/{d.name}/http/{d.rule}" + (f"/match/{d.match}" if d.match is not None else "")
    return Step(
        rid,
        False,
        f"removed at config time: {s.reason}",
        vs.rule,
        vs.match,
        f"{vs.namespace}/{vs.name}",
        True,
        _delegate_text(s.origin),
    )


def percents(weights: list[int]) -> list[tuple[int, float]]:
    """(whole percent, exact share) per weight; whole percents add up to 100 (largest remainder)."""
    if sum(weights) <= 0:
        return [(0, 0.0) for _ in weights]
    exact = [float(share * 100) for share in ir.weight_shares(weights)]
    floors = [int(e) for e in exact]
    rest = 100 - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:rest]:
        floors[i] += 1
    return list(zip(floors, exact, strict=True))


def _rewrite_path(route: ir.Route, request: Request) -> str:
    """The :path after `prefix_rewrite` / `regex_rewrite` (the query string is kept)."""
    fwd = route.forward
    path = request.path_only
    query = request.path[len(path) :]
    rw = fwd.rewrite if fwd is not None else None
    if rw is None:
        return request.path
    if rw.uri_regex is not None:
        path = ir.regex_replace_all(rw.uri_regex, path, rw.uri_regex_substitution or "")
    elif rw.uri is not None:
        pm = route.match.path
        path = rw.uri + path[len(pm.value) :] if pm.kind in ("prefix", "path_separated_prefix") else rw.uri
    return path + query


def _location(redirect: ir.Redirect, request: Request, scheme: str) -> str:
    """The Location of a redirect, as Envoy builds it (config_impl.cc `newUri`, `processRequestHost`).

    The request's Host keeps its port, except that a `port_redirect` replaces it and a scheme change
    drops only the default port of the request's scheme (`:80` from http, `:443` from https): a
    request to `portal:8080` redirected to https goes to `https://portal:8080/...`.
    """
    new_scheme = redirect.scheme or scheme
    if redirect.authority:
        host = redirect.authority
    else:
        host = request.host
        name, port = _host_port(host)
        default = {"http": ":80", "https": ":443"}.get(scheme)
        if port and (redirect.port is not None or (new_scheme != scheme and port == default)):
            host = name
    if redirect.port is not None:
        host = f"{host}:{redirect.port}"
    path = redirect.path if redirect.path is not None else request.path_only
    query = request.path[len(request.path_only) :]
    return f"{new_scheme}://{host}{path}{query}"


def simulate(ir_: ir.IR, request: Request, *, context: str | None = None, trace: bool = True) -> Decision:
    """Decide what the proxy does with `request` (context: `mesh`, or the one serving `request.gateway`).

    With `trace` False the decision has no trace: the route taken is found through an index of the
    virtual host's routes (`matchspace.RouteIndex`: the same first match, without trying every route
    before it), for callers that send many requests through one table (`meshc diff`).
    """
    ctx = _find_context(ir_, request, context)
    decision = Decision(request, "no_route", ctx)
    if ctx is None:
        decision.reason = f"no proxy serves gateway {request.gateway}"
        return decision
    port = request.listener_port
    decision.address = request.address or ctx.addresses.get(request.hostname)
    listener = _listener(ctx, port, decision.address)
    decision.listener = listener
    if listener is None:
        ports = ", ".join(str(li.port) for li in ctx.listeners)
        decision.reason = f"no listener on port {port}" + (f" (ports: {ports})" if ports else "")
        return decision
    # A request that says nothing of TLS is plain text from a sidecar's client; to a gateway, it is
    # TLS where the server terminates it and carries the host as SNI.
    explicit = request.tls is not None or request.protocol == "tcp"
    tls = bool(request.tls) if explicit else ctx.kind != "sidecar"
    chain = _chain(listener, request, decision.address, tls=tls)
    decision.chain = chain
    if chain is None:
        decision.error = "no_filter_chain"
        decision.reason = (
            f"no filter chain of listener {listener.name} takes the connection and it has no default: Envoy closes it"
        )
        return decision
    if explicit:
        broken = _connection_error(chain, request, tls)
        if broken is not None:
            decision.error, decision.reason = broken
            return decision
    if chain.route_config is None and chain.tcp_routes and (ctx.kind == "sidecar" or explicit):
        _tcp(decision, ctx, listener, chain, request, sni=(request.sni or request.hostname) if tls else None)
        return decision
    if chain.route_config is None:
        decision.reason = f"port {port} carries {listener.protocol}, not HTTP"
        return decision
    scheme = request.scheme or ("https" if chain.protocol == "HTTPS" else "http")
    request = _with_scheme(request, scheme)
    decision.request = request
    vh = select_virtual_host(chain.route_config.virtual_hosts, request.hostname)
    decision.virtual_host = vh
    if vh is None:
        decision.status = 404
        decision.reason = f"no virtual host of route table {chain.route_config.name} serves {request.hostname}"
        return decision
    if vh.require_tls and scheme == "http":
        decision.action = "redirect"
        decision.status = 301
        decision.location = f"https://{request.hostname}{request.path}"
        decision.reason = "the Gateway server sets httpsRedirect: plain HTTP gets a 301 to https"
        return decision
    if not trace:
        index = _cached(vh.routes, RouteIndex).first(request)
        if index is not None:
            _apply(decision, ctx, vh.routes[index], request, scheme)
            return decision
        return _no_route(decision, vh)
    skipped = sorted(vh.skipped, key=lambda s: s.before)
    k = 0
    for index, route in enumerate(vh.routes):
        while k < len(skipped) and skipped[k].before <= index:
            decision.trace.append(_skipped_step(skipped[k]))
            k += 1
        rule, match, vs = _ref(route)
        failed = check(route.match, request)
        if failed is not None:
            decision.trace.append(Step(route.id, False, failed, rule, match, vs, delegate=_delegate_text(route.origin)))
            continue
        conditions = describe(route.match)
        reason = " and ".join(conditions) if conditions else "matches every request"
        decision.trace.append(Step(route.id, True, reason, rule, match, vs, delegate=_delegate_text(route.origin)))
        # Blocks removed at config time after this route are listed too: they never apply.
        decision.trace.extend(_skipped_step(s) for s in skipped[k:])
        _apply(decision, ctx, route, request, scheme)
        return decision
    while k < len(skipped):
        decision.trace.append(_skipped_step(skipped[k]))
        k += 1
    return _no_route(decision, vh)


def _no_route(decision: Decision, vh: ir.VirtualHost) -> Decision:
    decision.status = 404
    if not vh.routes:
        decision.reason = f"virtual host {vh.name} has no routes: Envoy answers 404"
    else:
        decision.reason = f"no route of virtual host {vh.name} matches: Envoy answers 404"
    return decision


def _connection_error(chain: ir.FilterChain, request: Request, tls: bool) -> tuple[str, str] | None:
    """Why the chain cannot serve the connection at all (traffic.go `Run`), or None."""
    if chain.terminates_tls and not tls:
        return "tls_error", (
            f"filter chain {chain.name} terminates TLS and the client sends plain text: the handshake fails"
        )
    if chain.route_config is not None:
        if tls and not chain.terminates_tls:
            return "protocol_error", (
                f"filter chain {chain.name} is an HTTP connection manager that does not terminate TLS, and the "
                "client sends TLS: Envoy cannot decode it and closes the connection"
            )
        if request.protocol not in ("http", "http2"):
            return "protocol_error", (
                f"filter chain {chain.name} is an HTTP connection manager and the client does not speak HTTP: "
                "Envoy closes the connection"
            )
    return None


def _tcp_route(chain: ir.FilterChain, sni: str | None, address: str | None) -> ir.TcpRoute | None:
    """The chain's TCP/TLS route that takes the connection (None: no route holds it).

    Envoy picks among the filter chains the routes become, one per route (destination ranges, then
    server names, exact before `*.suffix`); a route that matches everything ends the list, as the
    routes after it are never reached (first match wins).
    """
    routes: list[ir.TcpRoute] = []
    for r in chain.tcp_routes:
        routes.append(r)
        if not r.destination_subnets and (not r.sni_hosts or "*" in r.sni_hosts):
            break
    routes = _sieve(routes, lambda r: r.destination_subnets, lambda cidrs: _range_rank(cidrs, address))
    routes = _sieve(routes, lambda r: [n for n in r.sni_hosts if n != "*"], lambda names: _sni_rank(names, sni))
    return routes[0] if routes else None


def _tcp(
    decision: Decision,
    ctx: ir.Context,
    listener: ir.Listener,
    chain: ir.FilterChain,
    request: Request,
    *,
    sni: str | None = None,
) -> None:
    """A chain that proxies TCP: the connection's bytes go to its route's clusters as they are.

    The HTTP request is not routed: no virtual host, no route. A `BlackHoleCluster` drops the
    connection; `PassthroughCluster` forwards it to the address the client connected to.
    """
    found = _tcp_route(chain, sni, decision.address)
    if found is None:
        decision.error = "no_filter_chain"
        decision.reason = f"no route of the {chain.name} chain takes SNI {sni or '(none)'}: Envoy closes the connection"
        return
    route = found
    clusters = route.clusters
    shares = percents([c.weight for c in clusters])
    decision.destinations = [Destination(c, p, s) for c, (p, s) in zip(clusters, shares, strict=True)]
    by_name = _cached(ctx.clusters, _clusters_by_name)
    for c in clusters:
        if c.cluster in by_name:
            decision.clusters[c.cluster] = by_name[c.cluster]
    where = f"listener {listener.name} proxies TCP ({chain.name} chain)"
    names = ", ".join(c.cluster for c in clusters)
    if any(c.cluster == ir.BLACKHOLE_CLUSTER for c in clusters):
        decision.action = "no_route"
        decision.reason = f"{where} to {ir.BLACKHOLE_CLUSTER}, which has no endpoints: the connection is closed"
    elif route.origin is not None:
        decision.action = "route"
        decision.reason = f"{where}: VirtualService {route.origin.namespace}/{route.origin.name} sends it to {names}"
    else:
        decision.action = "default"
        decision.reason = f"{where} to {names}; the HTTP request is not routed by its Host"
    decision.forwarded_path = request.path
    decision.forwarded_authority = request.host


def _with_scheme(request: Request, scheme: str) -> Request:
    if request.scheme == scheme:
        return request
    copy = Request(**{f: getattr(request, f) for f in request.__dataclass_fields__})
    copy.scheme = scheme
    return copy


def _find_context(ir_: ir.IR, request: Request, name: str | None) -> ir.Context | None:
    if name is not None:
        return ir_.context(name)
    if request.gateway == "mesh":
        return ir_.context("mesh")
    for ctx in ir_.contexts:
        if ctx.kind == "gateway" and any(f"{g.namespace}/{g.name}" == request.gateway for g in ctx.gateways):
            return ctx
    return None


def _apply(decision: Decision, ctx: ir.Context, route: ir.Route, request: Request, scheme: str) -> None:
    decision.route = route
    if route.action == "redirect" and route.redirect is not None:
        decision.action = "redirect"
        decision.status = route.redirect.code
        decision.location = _location(route.redirect, request, scheme)
        decision.reason = f"route {route.id} answers with a {route.redirect.code} redirect"
        return
    if route.action == "direct_response" and route.direct_response is not None:
        decision.action = "direct_response"
        decision.status = route.direct_response.status
        decision.reason = f"route {route.id} answers {route.direct_response.status} directly"
        return
    fwd = route.forward
    assert fwd is not None
    decision.action = "default" if route.origin is None else "route"
    shares = percents([c.weight for c in fwd.clusters])
    decision.destinations = [Destination(c, p, s) for c, (p, s) in zip(fwd.clusters, shares, strict=True)]
    by_name = _cached(ctx.clusters, _clusters_by_name)
    for d in fwd.clusters:
        if d.cluster in by_name:
            decision.clusters[d.cluster] = by_name[d.cluster]
    decision.forwarded_path = _rewrite_path(route, request)
    decision.forwarded_authority = fwd.rewrite.authority if fwd.rewrite and fwd.rewrite.authority else request.host
    if decision.action == "default":
        decision.reason = "no VirtualService applies to the host: traffic goes to the host as is"
    else:
        decision.reason = f"route {route.id} forwards the request"
