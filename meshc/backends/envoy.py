"""The Envoy backend: the IR as one static Envoy v3 bootstrap (`meshc compile --target envoy`).

One bootstrap holds every context of the IR (the sidecar and each gateway): their listeners side by
side, their clusters merged by name. Field by field it follows what istiod writes
(shared/research/translation.md §1): `timeout: 0s` when unset, the mesh default retry policy,
per-route fault and CORS configs, circuit breakers with Istio's unlimited thresholds, outlier
detection with Istio's enforcing values, and the HTTP filters in Istio's order
(`rbac` CUSTOM stand-in → `jwt_authn` → `rbac` LOG → DENY → ALLOW → `fault` → `cors` → `router`).

The backend never reorders routes or invents Istio defaults: the IR has decided them. What a static
bootstrap cannot express offline is reported as an `MC4xx` diagnostic (see `meshc.rules.envoy`) and
replaced by the documented fallback; the rest is still written.

`EnvoyOptions` adapts the bootstrap to where it runs: bind address, port remapping, the admin port,
and upstream overrides that point clusters or endpoints at other addresses (local stubs in tests).
The output is deterministic: the same IR and options give the same bytes.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meshc import ir as irm
from meshc.backends import Check, Flags, written
from meshc.backends.gaps import GapReport
from meshc.backends.options import (
    Address,
    OptionError,
    find_binary,
    parse_address,
    parse_endpoint,
    parse_port_map,
    parse_upstream,
    port_offset,
    refuse,
    run_check,
)
from meshc.backends.regexes import MAX_PROGRAM_SIZE, program_size
from meshc.diagnostics import Diagnostic
from meshc.hosts import is_ip
from meshc.models.checks import MAX_HEADER_BYTES, oversized_header
from meshc.rules import envoy as codes

# --- type URLs and names ------------------------------------------------------------------------

_EXT = "type.googleapis.com/envoy.extensions"
HCM = "envoy.filters.network.http_connection_manager"
HCM_TYPE = f"{_EXT}.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "envoy.filters.network.tcp_proxy"
TCP_PROXY_TYPE = f"{_EXT}.filters.network.tcp_proxy.v3.TcpProxy"
FAULT = "envoy.filters.http.fault"
FAULT_TYPE = f"{_EXT}.filters.http.fault.v3.HTTPFault"
CORS = "envoy.filters.http.cors"
CORS_TYPE = f"{_EXT}.filters.http.cors.v3.Cors"
CORS_POLICY_TYPE = f"{_EXT}.filters.http.cors.v3.CorsPolicy"
JWT = "envoy.filters.http.jwt_authn"
JWT_TYPE = f"{_EXT}.filters.http.jwt_authn.v3.JwtAuthentication"
RBAC = "envoy.filters.http.rbac"
RBAC_TYPE = f"{_EXT}.filters.http.rbac.v3.RBAC"
ROUTER = "envoy.filters.http.router"
ROUTER_TYPE = f"{_EXT}.filters.http.router.v3.Router"
TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"
TLS_INSPECTOR_TYPE = f"{_EXT}.filters.listener.tls_inspector.v3.TlsInspector"
HTTP_INSPECTOR = "envoy.filters.listener.http_inspector"
HTTP_INSPECTOR_TYPE = f"{_EXT}.filters.listener.http_inspector.v3.HttpInspector"
DFP_FILTER = "envoy.filters.http.dynamic_forward_proxy"
DFP_FILTER_TYPE = f"{_EXT}.filters.http.dynamic_forward_proxy.v3.FilterConfig"
DFP_CLUSTER = "envoy.clusters.dynamic_forward_proxy"
DFP_CLUSTER_TYPE = f"{_EXT}.clusters.dynamic_forward_proxy.v3.ClusterConfig"
DFP_DNS_CACHE = {"name": "allow_any_dfp_dns_cache", "dns_lookup_family": "V4_ONLY"}
"""The DNS cache the dynamic forward proxy filter and cluster share (istiod's `allow_any_dfp_dns_cache`)."""
TLS_SOCKET = "envoy.transport_sockets.tls"
UPSTREAM_TLS_TYPE = f"{_EXT}.transport_sockets.tls.v3.UpstreamTlsContext"
DOWNSTREAM_TLS_TYPE = f"{_EXT}.transport_sockets.tls.v3.DownstreamTlsContext"
PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts"
PREVIOUS_HOSTS_TYPE = f"{_EXT}.retry.host.previous_hosts.v3.PreviousHostsPredicate"
PREVIOUS_PRIORITIES = "envoy.retry_priorities.previous_priorities"
PREVIOUS_PRIORITIES_TYPE = f"{_EXT}.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig"
HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
HTTP_OPTIONS_TYPE = f"{_EXT}.upstreams.http.v3.HttpProtocolOptions"

JWT_PAYLOAD_KEY = "payload"
"""`payload_in_metadata` of every provider: claims live at `envoy.filters.http.jwt_authn` / `payload`."""

_REDIRECT_CODES = {
    301: "MOVED_PERMANENTLY",
    302: "FOUND",
    303: "SEE_OTHER",
    307: "TEMPORARY_REDIRECT",
    308: "PERMANENT_REDIRECT",
}

_GRPC_CODES = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}

FAKE_JWKS = json.dumps(
    {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": "meshc-fake-key",
                "e": "AQAB",
                "n": (
                    "vxiHuLEr_CQOOJLYxA4AOspHr_3qqXcQSg-PlMcqaBd75J_hWRgL7zLNy7a_T5Qf-au8gQp1PBB8KLY-D67PF1nyqLPEhnWDw"
                    "joFmb8LnRZQ4MjnjYetR4MBRtM9RmwsLgniZN_q5AQUtKjIksEX_i03Ylz7YsqAyJi63NagZfeBjJE72gqIYcG-A7-1suTF6NN"
                    "XuPGPWZw4GpPIARFnj5gaIh1CrOxo5q5qVFgGpg0HQqNKtW4MqvVh7qkX2PKHsJ_qYDwlEvrr_g6KqOJKB7oWXfDjbzZtsRfbU"
                    "w6ch3qL3JY4HLwkNrJYbv6o6zIcIXjn6GgubyMx5UHuEQNwSw"
                ),
            }
        ]
    },
    separators=(",", ":"),
)
"""A public key whose private half was thrown away: a provider with it rejects every token, which is
what istiod does when it cannot get a provider's keys."""


# --- what Envoy refuses to load ------------------------------------------------------------------

_FORBIDDEN = re.compile("[\x00\r\n]")
"""NUL, CR, LF: Envoy's `HTTP_HEADER_NAME`/`HTTP_HEADER_VALUE` checks (not strict) refuse them in header
names and values, redirect and rewrite paths and hosts."""

_COMMANDS = frozenset(
    """
    ACCESS_LOG_TYPE BYTES_RECEIVED BYTES_RETRANSMITTED BYTES_SENT CONNECTION_ID
    CONNECTION_TERMINATION_DETAILS DOWNSTREAM_DETECTED_CLOSE_TYPE DOWNSTREAM_DIRECT_LOCAL_ADDRESS
    DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT DOWNSTREAM_DIRECT_LOCAL_PORT
    DOWNSTREAM_DIRECT_REMOTE_ADDRESS DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT
    DOWNSTREAM_DIRECT_REMOTE_PORT DOWNSTREAM_HANDSHAKE_DURATION DOWNSTREAM_HEADER_BYTES_RECEIVED
    DOWNSTREAM_HEADER_BYTES_SENT DOWNSTREAM_LOCAL_ADDRESS DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT
    DOWNSTREAM_LOCAL_DNS_SAN DOWNSTREAM_LOCAL_EMAIL_SAN DOWNSTREAM_LOCAL_IP_SAN
    DOWNSTREAM_LOCAL_OTHERNAME_SAN DOWNSTREAM_LOCAL_PORT DOWNSTREAM_LOCAL_SUBJECT
    DOWNSTREAM_LOCAL_URI_SAN DOWNSTREAM_PEER_CERT DOWNSTREAM_PEER_CERT_V_END
    DOWNSTREAM_PEER_CERT_V_START DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1
    DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256 DOWNSTREAM_PEER_CHAIN_SERIALS DOWNSTREAM_PEER_DNS_SAN
    DOWNSTREAM_PEER_EMAIL_SAN DOWNSTREAM_PEER_FINGERPRINT_1 DOWNSTREAM_PEER_FINGERPRINT_256
    DOWNSTREAM_PEER_IP_SAN DOWNSTREAM_PEER_ISSUER DOWNSTREAM_PEER_OTHERNAME_SAN
    DOWNSTREAM_PEER_SERIAL DOWNSTREAM_PEER_SUBJECT DOWNSTREAM_PEER_URI_SAN DOWNSTREAM_REMOTE_ADDRESS
    DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT DOWNSTREAM_REMOTE_PORT DOWNSTREAM_TLS_CIPHER
    DOWNSTREAM_TLS_SESSION_ID DOWNSTREAM_TLS_VERSION DOWNSTREAM_TRANSPORT_FAILURE_REASON
    DOWNSTREAM_WIRE_BYTES_RECEIVED DOWNSTREAM_WIRE_BYTES_SENT DURATION EMIT_TIME EMIT_TIME_LOCAL
    FILTER_CHAIN_NAME HOSTNAME LOCAL_REPLY_BODY PACKETS_RETRANSMITTED PATH PROTOCOL
    REQUESTED_SERVER_NAME REQUEST_DURATION REQUEST_HEADERS_BYTES REQUEST_TX_DURATION RESPONSE_CODE
    RESPONSE_CODE_DETAILS RESPONSE_DURATION RESPONSE_FLAGS RESPONSE_FLAGS_LONG
    RESPONSE_HEADERS_BYTES RESPONSE_TRAILERS_BYTES RESPONSE_TX_DURATION ROUNDTRIP_DURATION
    ROUTE_NAME START_TIME START_TIME_LOCAL STREAM_ID TRACE_ID UNIQUE_ID UPSTREAM_CLUSTER
    UPSTREAM_CLUSTER_RAW UPSTREAM_CONNECTION_ID UPSTREAM_DETECTED_CLOSE_TYPE
    UPSTREAM_HEADER_BYTES_RECEIVED UPSTREAM_HEADER_BYTES_SENT UPSTREAM_HOST UPSTREAM_HOST_NAME
    UPSTREAM_HOST_NAME_WITHOUT_PORT UPSTREAM_LOCAL_ADDRESS UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT
    UPSTREAM_LOCAL_DNS_SAN UPSTREAM_LOCAL_IP_SAN UPSTREAM_LOCAL_PORT UPSTREAM_LOCAL_URI_SAN
    UPSTREAM_PEER_CERT UPSTREAM_PEER_CERT_V_END UPSTREAM_PEER_CERT_V_START UPSTREAM_PEER_DNS_SAN
    UPSTREAM_PEER_IP_SAN UPSTREAM_PEER_ISSUER UPSTREAM_PEER_SUBJECT UPSTREAM_PEER_URI_SAN
    UPSTREAM_PROTOCOL UPSTREAM_REMOTE_ADDRESS UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT
    UPSTREAM_REMOTE_PORT UPSTREAM_REQUEST_ATTEMPT_COUNT UPSTREAM_TLS_CIPHER UPSTREAM_TLS_SESSION_ID
    UPSTREAM_TLS_VERSION UPSTREAM_TRANSPORT_FAILURE_REASON UPSTREAM_WIRE_BYTES_RECEIVED
    UPSTREAM_WIRE_BYTES_SENT VIRTUAL_CLUSTER_NAME
    """.split()  # noqa: SIM905
)
"""Envoy 1.40's substitution commands without a parameter (each checked with `envoy --mode validate`)."""

_ARG = {
    "header": r"[A-Za-z0-9_:.-]+(?:\?[A-Za-z0-9_:.-]+)?",
    "metadata": r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*",
    "state": r"[A-Za-z0-9_.-]+(?::(?:PLAIN|TYPED))?",
    "variable": r"[A-Za-z_][A-Za-z0-9_]*",
    "time": r"[^()%\x00-\x1f]*(?:%[A-Za-z0-9.][^()%\x00-\x1f]*)*",
}
_COMMANDS_WITH_ARG = {
    **dict.fromkeys(("REQ", "RESP", "TRAILER", "REQUEST_HEADER", "RESPONSE_HEADER", "RESPONSE_TRAILER"), "header"),
    **dict.fromkeys(("DYNAMIC_METADATA", "CLUSTER_METADATA", "UPSTREAM_METADATA"), "metadata"),
    **dict.fromkeys(("FILTER_STATE", "UPSTREAM_FILTER_STATE"), "state"),
    "ENVIRONMENT": "variable",
    **dict.fromkeys(
        (
            "START_TIME",
            "START_TIME_LOCAL",
            "EMIT_TIME",
            "EMIT_TIME_LOCAL",
            "DOWNSTREAM_PEER_CERT_V_START",
            "DOWNSTREAM_PEER_CERT_V_END",
            "UPSTREAM_PEER_CERT_V_START",
            "UPSTREAM_PEER_CERT_V_END",
        ),
        "time",
    ),
}
"""Commands that take a parameter → the parameters meshc lets through (a conservative subset of Envoy's)."""

_COMMAND = re.compile(r"%([A-Z][A-Z0-9_]*)(?:\(([^()]*)\))?(?::(\d+))?%")


def header_value_error(value: str) -> str | None:
    """Why Envoy refuses `value` as a header value (`request_headers_to_add`), or None.

    A `%` starts a substitution command; `%%` is a percent sign. A command must be one Envoy knows,
    with a parameter only where it takes one: Envoy refuses the whole bootstrap otherwise.
    """
    forbidden = _FORBIDDEN.search(value)
    if forbidden:
        return f"it holds {_CHAR_NAMES[forbidden.group()]}"
    pos = value.find("%")
    while pos >= 0:
        if value.startswith("%%", pos):
            pos = value.find("%", pos + 2)
            continue
        m = _COMMAND.match(value, pos)
        if m is None:
            return f"the `%` at position {pos} starts no command Envoy knows (write `%%` for a percent sign)"
        name, arg, length = m.group(1), m.group(2), m.group(3)
        if arg is None and name not in _COMMANDS:
            return f"`%{name}%` is not a command Envoy knows (write `%%` for a percent sign)"
        if arg is not None:
            kind = _COMMANDS_WITH_ARG.get(name)
            if kind is None or not re.fullmatch(_ARG[kind], arg):
                return f"`{m.group()}`: meshc does not let this command or its parameter through"
        if length is not None and arg is None:
            return f"`{m.group()}`: `{name}` takes no length"
        pos = value.find("%", m.end())
    return None


_CHAR_NAMES = {"\x00": "a NUL character", "\r": "a carriage return", "\n": "a line feed"}


def text_error(value: str) -> str | None:
    """Why Envoy refuses `value` where it checks `HTTP_HEADER_VALUE`/`HTTP_HEADER_NAME` (not strict), or None."""
    forbidden = _FORBIDDEN.search(value)
    return f"it holds {_CHAR_NAMES[forbidden.group()]}" if forbidden else None


RUNTIME = {
    "re2.max_program_size.error_level": str(MAX_PROGRAM_SIZE),
    "envoy.deprecated_features:envoy.config.listener.v3.Listener.hidden_envoy_deprecated_use_original_dst": True,
    "envoy.reloadable_features.http_reject_path_with_fragment": False,
    "envoy.reloadable_features.fixed_heap_use_allocated": True,
    "envoy.reloadable_features.coalesce_lb_rebuilds_on_batch_update": False,
}
"""The runtime flags of every Istio proxy (pilot's bootstrap, `extractRuntimeFlags` in pkg/bootstrap/config.go):
regexes up to RE2 program size 32768 (Envoy's own limit is 100), paths with a `#fragment` not refused."""

MAX_QUERY_NAME = 1024
"""Bytes of a `query_parameters` name Envoy accepts."""

MAX_BODY = 1048576
"""Bytes of a direct response body (`max_direct_response_body_size_bytes`, as istiod sets it)."""


def _too_long(text: str) -> str | None:
    """Why Envoy refuses `text` as a header name or value for its size (`HeaderValue`: at most 16384 bytes)."""
    size = oversized_header(text)
    return None if size is None else f"it has {size} bytes (Envoy: at most {MAX_HEADER_BYTES})"


_NONE: dict[str, Any] = {}
"""What `route_refusals` reads where a route has no such part (never written to)."""


def _ops_refusals(where: str, target: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for key in ("request_headers_to_add", "response_headers_to_add"):
        for entry in target.get(key, ()):
            name, value = entry["header"]["key"], entry["header"]["value"]
            why = text_error(name) or _too_long(name) or ("" if name else "it is empty")
            if why:
                out.append((f"{where}header name", name, why))
            value_why = header_value_error(value) or _too_long(value)
            if value_why:
                out.append((f"{where}value of header `{name}`", value, value_why))
    for key in ("request_headers_to_remove", "response_headers_to_remove"):
        for name in target.get(key, ()):
            if not name or text_error(name):
                out.append((f"{where}header name", name, text_error(name) or "it is empty"))
    if "host_rewrite_literal" in target and text_error(target["host_rewrite_literal"]):
        out.append(
            (
                f"{where}authority rewrite",
                target["host_rewrite_literal"],
                text_error(target["host_rewrite_literal"]) or "",
            )
        )
    return out


def route_refusals(route: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, value, why) for each value of a built Envoy route that Envoy refuses to load."""
    out = _ops_refusals("", route)
    match = route.get("match", _NONE)
    for h in match.get("headers", ()):
        if not h["name"] or text_error(h["name"]):
            out.append(("match on header name", h["name"], text_error(h["name"]) or "it is empty"))
    for q in match.get("query_parameters", ()):
        size = len(q["name"].encode("utf-8", "surrogatepass"))
        if not 0 < size <= MAX_QUERY_NAME:
            out.append(("query parameter name", q["name"], f"it has {size} bytes (Envoy: 1 to {MAX_QUERY_NAME})"))
    redirect = route.get("redirect", _NONE)
    for key, what in (
        ("host_redirect", "redirect authority"),
        ("path_redirect", "redirect path"),
        ("prefix_rewrite", "redirect prefix"),
    ):
        if key in redirect and text_error(redirect[key]):
            out.append((what, redirect[key], text_error(redirect[key]) or ""))
    action = route.get("route", _NONE)
    if "prefix_rewrite" in action and text_error(action["prefix_rewrite"]):
        out.append(("rewrite.uri", action["prefix_rewrite"], text_error(action["prefix_rewrite"]) or ""))
    substitution = action.get("regex_rewrite", _NONE).get("substitution")
    if substitution is not None and text_error(substitution):
        out.append(("uriRegexRewrite.rewrite", substitution, text_error(substitution) or ""))
    if "host_rewrite_literal" in action and text_error(action["host_rewrite_literal"]):
        out.append(
            ("rewrite.authority", action["host_rewrite_literal"], text_error(action["host_rewrite_literal"]) or "")
        )
    for wc in action.get("weighted_clusters", _NONE).get("clusters", ()):
        out += _ops_refusals(f"destination {wc['name']}: ", wc)
    regexes: list[str | None] = [match.get("safe_regex", _NONE).get("regex")]
    for x in (*match.get("headers", ()), *match.get("query_parameters", ())):
        regexes.append(x.get("string_match", _NONE).get("safe_regex", _NONE).get("regex"))
    regexes.append(action.get("regex_rewrite", _NONE).get("pattern", _NONE).get("regex"))
    for regex in filter(None, regexes):
        program = program_size(regex, MAX_PROGRAM_SIZE)
        if program is None or program > MAX_PROGRAM_SIZE:
            why = (
                "RE2 cannot compile it"
                if program is None
                else f"its RE2 program size is {program} (at most {MAX_PROGRAM_SIZE})"
            )
            out.append(("regex", regex, why))
    body = route.get("direct_response", _NONE).get("body", _NONE).get("inline_string")
    if body is not None and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY:
        out.append(("directResponse body", body, f"it is longer than {MAX_BODY} bytes"))
    return out


# --- options ------------------------------------------------------------------------------------


@dataclass(slots=True)
class EnvoyOptions:
    """Where the bootstrap runs; everything defaults to what istiod would do in a cluster."""

    bind: str | None = None
    """Bind every listener to this address (e.g. `127.0.0.1`); None: the IR's address (`0.0.0.0`)."""
    port_offset: int = 0
    """Added to every listener port that `port_map` does not name (`10000`: 80 → 10080)."""
    port_map: dict[int, int] = field(default_factory=dict)
    """Listener port → port to bind instead (wins over `port_offset`); 0: a free port the kernel picks
    (read it from the admin `/listeners` endpoint)."""
    admin_port: int = 15000
    """Port of the admin interface, which always listens on 127.0.0.1 (Istio's proxies use 15000); 0: a
    free port the kernel picks (`envoy --admin-address-path FILE` writes it)."""
    contexts: list[str] = field(default_factory=list)
    """Contexts (proxies) to include, by name (`mesh`, `gateway:<ns>/<k=v>`); empty: all."""
    upstreams: list[tuple[str, list[Address]]] = field(default_factory=list)
    """(cluster name or glob, addresses): the matching clusters get exactly these endpoints. The first
    matching entry wins."""
    endpoints: dict[str, Address] = field(default_factory=dict)
    """`host` or `host:port` of an endpoint → the address to use instead, in every cluster."""
    json: bool = False
    """Write JSON instead of YAML (Envoy picks its parser by the file's extension: `.json`)."""

    def listen_port(self, port: int) -> int:
        """The port a listener for `port` binds."""
        return self.port_map.get(port, port + self.port_offset)


def load_overrides(data: Any, base: EnvoyOptions | None = None) -> EnvoyOptions:
    """Options from an overrides document (the `--overrides FILE` YAML), on top of `base`.

    ```yaml
    bind: 127.0.0.1
    port_offset: 10000
    ports: {80: 18080}
    admin_port: 15000
    contexts: [mesh]
    upstreams:
      "outbound|9080|v1|reviews.default.svc.cluster.local": ["127.0.0.1:19081"]
      "outbound|*|ratings.default.svc.cluster.local": "127.0.0.1:19090"
    endpoints:
      "10.0.0.11:9080": "127.0.0.1:19081"
    ```
    """
    opts = base if base is not None else EnvoyOptions()
    if data is None:
        return opts
    if not isinstance(data, dict):
        raise OptionError("the overrides file must hold a mapping")
    known = {"bind", "port_offset", "ports", "admin_port", "contexts", "upstreams", "endpoints"}
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise OptionError(f"unknown key `{unknown[0]}` in the overrides file; known: {', '.join(sorted(known))}")
    if "bind" in data:
        opts.bind = str(data["bind"])
    if "port_offset" in data:
        if not isinstance(data["port_offset"], int):
            raise OptionError("`port_offset` must be an integer")
        opts.port_offset = data["port_offset"]
    if "admin_port" in data:
        if not isinstance(data["admin_port"], int):
            raise OptionError("`admin_port` must be an integer")
        opts.admin_port = data["admin_port"]
    if "ports" in data:
        ports = data["ports"] or {}
        if not isinstance(ports, dict):
            raise OptionError("`ports` must map ports to ports")
        opts.port_map.update(parse_port_map([f"{k}={v}" for k, v in ports.items()]))
    if "contexts" in data:
        ctxs = data["contexts"] or []
        opts.contexts = [str(c) for c in (ctxs if isinstance(ctxs, list) else [ctxs])]
    if "upstreams" in data:
        ups = data["upstreams"] or {}
        if not isinstance(ups, dict):
            raise OptionError("`upstreams` must map cluster names (or globs) to addresses")
        for pattern, addrs in ups.items():
            values = addrs if isinstance(addrs, list) else [addrs]
            opts.upstreams.append((str(pattern), [parse_address(str(a)) for a in values]))
    if "endpoints" in data:
        eps = data["endpoints"] or {}
        if not isinstance(eps, dict):
            raise OptionError("`endpoints` must map endpoint addresses to addresses")
        for key, value in eps.items():
            opts.endpoints[str(key)] = parse_address(str(value))
    return opts


# --- small helpers ------------------------------------------------------------------------------


def _pct(value: float) -> dict[str, Any]:
    """A percentage (0-100) as an Envoy FractionalPercent over a million, as istiod writes it."""
    return {"numerator": round(value * 10000), "denominator": "MILLION"}


def _string_matcher(m: irm.StringMatch, *, ignore_case: bool = False) -> dict[str, Any]:
    """An `envoy.type.matcher.v3.StringMatcher` (callers handle `present`)."""
    if m.kind == "regex":
        return {"safe_regex": {"regex": m.value}}
    out: dict[str, Any] = {m.kind: m.value}
    if ignore_case:
        out["ignore_case"] = True
    return out


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _header_ops(ops: irm.HeaderOps) -> dict[str, Any]:
    """`*_headers_to_add` / `*_headers_to_remove` entries (keys without the request/response prefix)."""
    add: list[dict[str, Any]] = []
    for h in ops.set:
        add.append({"header": {"key": h.name, "value": h.value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"})
    for h in ops.add:
        add.append({"header": {"key": h.name, "value": h.value}, "append_action": "APPEND_IF_EXISTS_OR_ADD"})
    out: dict[str, Any] = {}
    if add:
        out["add"] = add
    if ops.remove:
        out["remove"] = list(ops.remove)
    return out


def _put_header_ops(target: dict[str, Any], req: irm.HeaderOps, resp: irm.HeaderOps) -> None:
    r = _header_ops(req)
    s = _header_ops(resp)
    if "add" in r:
        target["request_headers_to_add"] = r["add"]
    if "remove" in r:
        target["request_headers_to_remove"] = r["remove"]
    if "add" in s:
        target["response_headers_to_add"] = s["add"]
    if "remove" in s:
        target["response_headers_to_remove"] = s["remove"]


# --- the renderer -------------------------------------------------------------------------------


class _Renderer(GapReport):
    """One bootstrap; collects diagnostics on the way.

    With `lazy`, the long lists (listeners, clusters, the virtual hosts of a route table) are
    `ir.Items`, made while they are written: a bootstrap of 3,000 services was 50 MB as data.
    Diagnostics are then complete once the bootstrap is written.
    """

    def __init__(self, ir: irm.IR, options: EnvoyOptions, *, lazy: bool = False) -> None:
        self.ir = ir
        self.opts = options
        self.lazy = lazy
        super().__init__()
        self.extra_clusters: dict[str, dict[str, Any]] = {}
        """Clusters meshc adds (remote JWKS)."""
        self.bound: dict[tuple[str, int], str] = {}
        """(address, port) → the context whose listener binds it (-IR port for port 0)."""
        self.blocks: dict[Callable[..., dict[str, Any]], _Parts] = {}
        """The parts each builder made, given again wherever they recur (see `block`)."""

    def block(self, build: Callable[..., dict[str, Any]], *values: Any) -> dict[str, Any]:
        """`build(*values)` as an `ir.Block`: made once, then the same object for the same values.

        The writer repeats a recurring block's text instead of walking it again. `build` sees nothing
        but `values`, so equal values make equal parts. A builder whose parts seldom recur (more
        than half of its first `_TRIAL` calls made a new one: a mesh of all different
        DestinationRules) gives plain dicts from then on, as before blocks: keeping and marking
        parts that are written once costs more than it saves. At most `_BLOCKS_MAX` are kept.

        A cluster's endpoints are not shared: they recur (in the cluster of each subset of a host)
        only as far apart as the mesh has hosts (clusters are sorted by name), and keeping them that
        long cost more memory (2.6 KB a host) than walking them again costs time.
        """
        parts = self.blocks.get(build)
        if parts is None:
            parts = self.blocks[build] = _Parts()
        if not parts.shared:
            return build(*values)
        made = parts.made.get(values)
        parts.calls += 1
        if made is None:
            parts.new += 1
            if parts.calls >= _TRIAL and parts.new * 2 > parts.calls:
                parts.shared = False
                parts.made.clear()
                return build(*values)
            if len(parts.made) >= _BLOCKS_MAX:
                parts.made.clear()
            made = parts.made[values] = irm.Block(build(*values))
        return made

    # top level -----------------------------------------------------------------------------------

    def items(self, items: Iterator[Any]) -> list[Any] | irm.Items:
        """A list of `items`, made now, or (`lazy`) as it is written."""
        return irm.Items(items) if self.lazy else list(items)

    def bootstrap(self) -> dict[str, Any]:
        contexts = self.ir.contexts
        if self.opts.contexts:
            wanted = set(self.opts.contexts)
            contexts = [c for c in contexts if c.name in wanted]
        clusters: dict[str, list[tuple[irm.Cluster, irm.Context]]] = {}
        for ctx in contexts:
            for cl in ctx.clusters:
                clusters.setdefault(cl.name, []).append((cl, ctx))
        # Listeners are made before clusters (a remote JWKS adds one), as they are written.
        return {
            "node": {"id": "meshc", "cluster": "meshc"},
            "admin": {"address": _socket("127.0.0.1", self.opts.admin_port)},
            "layered_runtime": {
                "layers": [
                    {"name": "global config", "static_layer": dict(RUNTIME)},
                    {"name": "admin", "admin_layer": {}},
                ]
            },
            "static_resources": {
                "listeners": self.items(self.listeners(contexts)),
                "clusters": self.items(self.clusters(clusters)),
            },
        }

    def listeners(self, contexts: list[irm.Context]) -> Iterator[dict[str, Any]]:
        for ctx in contexts:
            for lst in ctx.listeners:
                built = self.listener(lst, ctx)
                if built is not None:
                    yield built

    def clusters(self, by_name: dict[str, list[tuple[irm.Cluster, irm.Context]]]) -> Iterator[dict[str, Any]]:
        """Clusters by name, then the ones meshc adds; a name several contexts define is written as the first one's."""
        for name in sorted(by_name):
            (first, ctx), *others = by_name[name]
            built = self.cluster(first)
            for cl, other in others:
                if self.cluster(cl) != built:
                    origin = cl.destination_rules[0] if cl.destination_rules else cl.service
                    self.at_origin(
                        codes.CLUSTER_CONFLICT,
                        f"cluster {cl.name} of `{other.name}` differs from the one of `{ctx.name}`, "
                        "which is the one written",
                        origin,
                        help="compile one proxy at a time with `--context NAME`",
                    )
            yield built
        for name in sorted(self.extra_clusters):
            yield self.extra_clusters[name]

    # listeners -----------------------------------------------------------------------------------

    def listener(self, lst: irm.Listener, ctx: irm.Context) -> dict[str, Any] | None:
        if lst.name == irm.VIRTUAL_OUTBOUND:
            # It only receives connections iptables redirects; a static bootstrap's listeners bind
            # their own ports, so nothing would reach it.
            return None
        address = self.opts.bind or lst.address
        port = self.opts.listen_port(lst.port)
        origin = next((fc.origin for fc in lst.filter_chains if fc.origin is not None), None)
        # Port 0: the kernel picks a free port per listener; listeners of one IR port still conflict.
        slot = (address, port if port else -lst.port)
        owner = self.bound.get(slot)
        if owner is not None:
            self.at_origin(
                codes.LISTENER_CONFLICT,
                f"listener {lst.name} of `{ctx.name}` binds {address}:{port}, already bound by `{owner}`; "
                "it is left out",
                origin,
                help="compile one proxy with `--context NAME`, or move it with `--port-map PORT=PORT`",
            )
            return None
        chains: list[dict[str, Any]] = []
        inspect_tls = inspect_http = False
        for fc in lst.filter_chains:
            built = self.filter_chains(fc, ctx, lst)
            chains.extend(built)
            if built and fc.needs_tls_inspector:
                inspect_tls = True
            if built and fc.application_protocols:
                inspect_http = True
        if not chains:
            return None
        self.bound[slot] = ctx.name
        out: dict[str, Any] = {"name": lst.name, "address": _socket(address, port)}
        filters = []
        if inspect_tls:
            filters.append({"name": TLS_INSPECTOR, "typed_config": {"@type": TLS_INSPECTOR_TYPE}})
        if inspect_http:
            filters.append({"name": HTTP_INSPECTOR, "typed_config": {"@type": HTTP_INSPECTOR_TYPE}})
        if filters:
            out["listener_filters"] = filters
        out["filter_chains"] = chains
        if lst.default_chain is not None:
            default = self.filter_chains(lst.default_chain, ctx, lst)
            if default:
                out["default_filter_chain"] = default[0]
        return out

    def filter_chains(self, fc: irm.FilterChain, ctx: irm.Context, lst: irm.Listener) -> list[dict[str, Any]]:
        if fc.tls is not None and fc.protocol in ("HTTPS", "TLS"):
            socket = self.downstream_tls(fc)
            if socket is None:
                return []
        else:
            socket = None
        match: dict[str, Any] = {}
        names = _server_names(fc.match_server_names)
        if names:
            match["server_names"] = names
        if fc.destination_cidrs and fc.protocol in ("HTTP", "HTTPS"):
            match["prefix_ranges"] = [self.cidr(c) for c in fc.destination_cidrs]
        if fc.application_protocols:
            # Plain HTTP as the HTTP inspector detects it; the rest goes to the other chains.
            match["transport_protocol"] = fc.transport_protocol
            match["application_protocols"] = list(fc.application_protocols)
        if fc.protocol in ("HTTP", "HTTPS"):
            chain: dict[str, Any] = {"name": fc.name}
            if match:
                chain["filter_chain_match"] = match
            chain["filters"] = [self.hcm(fc, ctx, lst)]
            if socket is not None:
                chain["transport_socket"] = socket
            return [chain]
        return self.tcp_chains(fc, match, socket)

    def downstream_tls(self, fc: irm.FilterChain) -> dict[str, Any] | None:
        tls = fc.tls
        assert tls is not None
        if tls.mode == "PASSTHROUGH":
            return None if fc.protocol == "HTTPS" else {}
        if tls.mode == "AUTO_PASSTHROUGH":
            self.at_origin(
                codes.AUTO_PASSTHROUGH,
                f"server `{fc.name}` uses AUTO_PASSTHROUGH, which needs istiod; it is left out",
                fc.origin,
                help="use `tls.mode: PASSTHROUGH` with VirtualService `tls` routes",
            )
            return None
        if tls.mode == "ISTIO_MUTUAL":
            self.at_origin(
                codes.ISTIO_MUTUAL,
                f"server `{fc.name}` uses ISTIO_MUTUAL, which needs mesh certificates; it is left out",
                fc.origin,
                help="give `serverCertificate`, `privateKey` and `caCertificates` files with mode MUTUAL",
            )
            return None
        if not (tls.server_certificate and tls.private_key):
            secret = tls.credential_name or ", ".join(tls.credential_names) or "(none)"
            self.at_origin(
                codes.CREDENTIAL_NAME,
                f"server `{fc.name}` takes its certificate from Secret `{secret}`, which a static bootstrap "
                "cannot read; it is left out",
                fc.origin,
                help="mount the Secret and set `serverCertificate` and `privateKey` to the files",
            )
            return None
        common: dict[str, Any] = {
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": tls.server_certificate},
                    "private_key": {"filename": tls.private_key},
                }
            ],
            "alpn_protocols": ["h2", "http/1.1"] if fc.protocol == "HTTPS" else [],
        }
        if not common["alpn_protocols"]:
            del common["alpn_protocols"]
        params: dict[str, Any] = {}
        if tls.min_protocol_version:
            params["tls_minimum_protocol_version"] = _tls_version(tls.min_protocol_version)
        if tls.max_protocol_version:
            params["tls_maximum_protocol_version"] = _tls_version(tls.max_protocol_version)
        if tls.cipher_suites:
            params["cipher_suites"] = list(tls.cipher_suites)
        if params:
            common["tls_params"] = params
        if tls.mode in ("MUTUAL", "OPTIONAL_MUTUAL") and tls.ca_certificates:
            validation: dict[str, Any] = {"trusted_ca": {"filename": tls.ca_certificates}}
            if tls.subject_alt_names:
                validation["match_typed_subject_alt_names"] = [
                    {"san_type": "DNS", "matcher": {"exact": san}} for san in tls.subject_alt_names
                ]
            common["validation_context"] = validation
        context: dict[str, Any] = {"@type": DOWNSTREAM_TLS_TYPE, "common_tls_context": common}
        if tls.mode == "MUTUAL" or tls.require_client_certificate:
            context["require_client_certificate"] = True
        return {"name": TLS_SOCKET, "typed_config": context}

    def tcp_chains(self, fc: irm.FilterChain, match: dict[str, Any], socket: dict[str, Any] | None) -> list[Any]:
        """One filter chain per TCP/TLS route, skipping routes an earlier one shadows (first match wins)."""
        out: list[dict[str, Any]] = []
        claimed: set[str] = set()
        catch_all = False
        for route in fc.tcp_routes:
            if catch_all:
                break
            route_match: dict[str, Any] = {}
            names = [n for n in route.sni_hosts if n not in claimed]
            if route.sni_hosts and not names:
                continue
            claimed.update(names)
            names = _server_names(names)
            if names:
                route_match["server_names"] = names
            elif "server_names" in match and "*" not in route.sni_hosts:
                route_match["server_names"] = match["server_names"]
            if route.destination_subnets:
                route_match["prefix_ranges"] = [self.cidr(s) for s in route.destination_subnets]
            if not names and not route.destination_subnets:
                catch_all = True
            chain: dict[str, Any] = {"name": f"{fc.name}|{route.id}"}
            if route_match:
                chain["filter_chain_match"] = route_match
            chain["filters"] = [{"name": TCP_PROXY, "typed_config": self.tcp_proxy(route)}]
            if socket:
                chain["transport_socket"] = socket
            out.append(chain)
        return out

    def tcp_proxy(self, route: irm.TcpRoute) -> dict[str, Any]:
        proxy: dict[str, Any] = {"@type": TCP_PROXY_TYPE, "stat_prefix": route.id}
        if len(route.clusters) == 1:
            proxy["cluster"] = route.clusters[0].cluster
        else:
            proxy["weighted_clusters"] = {
                "clusters": [{"name": wc.cluster, "weight": wc.weight} for wc in route.clusters]
            }
        return proxy

    @staticmethod
    def cidr(text: str) -> dict[str, Any]:
        net = ipaddress.ip_network(text, strict=False)
        return {"address_prefix": str(net.network_address), "prefix_len": net.prefixlen}

    # HTTP connection manager -----------------------------------------------------------------------

    def hcm(self, fc: irm.FilterChain, ctx: irm.Context, lst: irm.Listener) -> dict[str, Any]:
        rc = fc.route_config or irm.RouteConfig(name=fc.name, virtual_hosts=[])
        uses_claims = any(r.match.jwt_claims for vh in rc.virtual_hosts for r in vh.routes)
        config: dict[str, Any] = {
            "@type": HCM_TYPE,
            "stat_prefix": rc.name,
            "codec_type": "AUTO",
            "use_remote_address": ctx.kind == "gateway",
            "normalize_path": True,
            "route_config": self.route_config(rc, lst),
            "http_filters": self.http_filters(ctx, uses_claims),
        }
        return {"name": HCM, "typed_config": config}

    def http_filters(self, ctx: irm.Context, uses_claims: bool) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        by_action: dict[str, list[irm.AuthorizationPolicy]] = {"CUSTOM": [], "AUDIT": [], "DENY": [], "ALLOW": []}
        for pol in ctx.authorization_policies:
            by_action[pol.action].append(pol)
        if by_action["CUSTOM"]:
            filters.append(self.rbac_filter(by_action["CUSTOM"], "DENY", custom=True))
        if ctx.jwt_providers:
            filters.append(self.jwt_filter(ctx.jwt_providers, uses_claims))
        if by_action["AUDIT"]:
            filters.append(self.rbac_filter(by_action["AUDIT"], "LOG"))
        if by_action["DENY"]:
            filters.append(self.rbac_filter(by_action["DENY"], "DENY"))
        if by_action["ALLOW"]:
            filters.append(self.rbac_filter(by_action["ALLOW"], "ALLOW"))
        filters.append({"name": FAULT, "typed_config": {"@type": FAULT_TYPE}})
        filters.append({"name": CORS, "typed_config": {"@type": CORS_TYPE}})
        if ctx.outbound_traffic_policy == "ALLOW_ANY_DYNAMIC_DNS":
            # AllowAnyDynamicDNSCluster resolves the Host header through this filter's DNS cache.
            filters.append(
                {"name": DFP_FILTER, "typed_config": {"@type": DFP_FILTER_TYPE, "dns_cache_config": DFP_DNS_CACHE}}
            )
        filters.append({"name": ROUTER, "typed_config": {"@type": ROUTER_TYPE}})
        return filters

    # routes -----------------------------------------------------------------------------------------

    def route_config(self, rc: irm.RouteConfig, lst: irm.Listener) -> dict[str, Any]:
        return {
            "name": rc.name,
            "validate_clusters": False,
            "ignore_port_in_host_matching": True,
            "max_direct_response_body_size_bytes": 1048576,
            "virtual_hosts": self.items(self.virtual_host(vh, lst) for vh in rc.virtual_hosts),
        }

    def virtual_host(self, vh: irm.VirtualHost, lst: irm.Listener) -> dict[str, Any]:
        out: dict[str, Any] = {"name": vh.name, "domains": list(vh.domains)}
        routes = [self.route(r, lst) for r in vh.routes]
        if routes:
            out["routes"] = routes
        if vh.require_tls:
            out["require_tls"] = "ALL"
        return out

    def route(self, r: irm.Route, lst: irm.Listener) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if r.name:
            out["name"] = r.name
        out["match"] = self.route_match(r.match)
        if r.action == "redirect" and r.redirect is not None:
            redirect = self.redirect(r.redirect)
            if redirect is None:
                out["direct_response"] = {"status": 404}
            else:
                out["redirect"] = redirect
        elif r.action == "direct_response" and r.direct_response is not None:
            dr: dict[str, Any] = {"status": r.direct_response.status}
            if r.direct_response.body is not None:
                dr["body"] = {"inline_string": r.direct_response.body}
            elif r.direct_response.body_base64 is not None:
                dr["body"] = {"inline_bytes": r.direct_response.body_base64}
            out["direct_response"] = dr
        elif r.forward is not None:
            out["route"] = self.forward(r.forward)
        else:
            # No action the IR can give: Envoy answers 404 rather than guessing.
            out["direct_response"] = {"status": 404}
        per_filter: dict[str, Any] = {}
        if r.fault is not None and (r.fault.delay is not None or r.fault.abort is not None):
            per_filter[FAULT] = self.fault(r.fault)
        if r.cors is not None:
            per_filter[CORS] = self.cors(r.cors)
        if per_filter:
            out["typed_per_filter_config"] = per_filter
        _put_header_ops(out, r.request_headers, r.response_headers)
        for what, value, why in route_refusals(out):
            shown = value[:60] + ("..." if len(value) > 60 else "")
            self.at_route(
                codes.UNSAFE_VALUE,
                f"{what} {shown!r} cannot be written: {why}; Envoy would refuse the whole bootstrap",
                r,
            )
        return out

    def route_match(self, m: irm.RouteMatch) -> dict[str, Any]:
        path = m.path
        if not (m.headers or m.query_params or m.jwt_claims) and m.authority is m.method is m.scheme is None:
            return self.block(_path_match, path.kind, path.value, path.ignore_case)
        out = _path_match(path.kind, path.value, path.ignore_case)
        headers = [self.header_matcher(h) for h in m.headers]
        for name, sm in ((":authority", m.authority), (":method", m.method), (":scheme", m.scheme)):
            if sm is not None:
                headers.append(self.header_matcher(irm.HeaderMatch(name, sm)))
        if headers:
            out["headers"] = headers
        if m.query_params:
            qps = []
            for q in m.query_params:
                if q.match.kind == "present":
                    qps.append({"name": q.name, "present_match": True})
                else:
                    qps.append({"name": q.name, "string_match": _string_matcher(q.match)})
            out["query_parameters"] = qps
        if m.jwt_claims:
            out["dynamic_metadata"] = [self.claim_matcher(c) for c in m.jwt_claims]
        return out

    @staticmethod
    def header_matcher(h: irm.HeaderMatch) -> dict[str, Any]:
        out: dict[str, Any] = {"name": h.name}
        if h.match.kind == "present":
            out["present_match"] = True
        else:
            out["string_match"] = _string_matcher(h.match)
        if h.invert:
            out["invert_match"] = True
        if h.treat_missing_as_empty:
            out["treat_missing_header_as_empty"] = True
        return out

    @staticmethod
    def claim_value(sm: irm.StringMatch) -> dict[str, Any]:
        """A ValueMatcher for a claim: a string claim, or any string of a list claim."""
        if sm.kind == "present":
            return {"present_match": True}
        single = {"string_match": _string_matcher(sm)}
        return {"or_match": {"value_matchers": [single, {"list_match": {"one_of": single}}]}}

    def claim_matcher(self, c: irm.ClaimMatch) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filter": JWT,
            "path": [{"key": JWT_PAYLOAD_KEY}, *({"key": k} for k in c.claim)],
            "value": self.claim_value(c.match),
        }
        if c.invert:
            out["invert"] = True
        return out

    def redirect(self, rd: irm.Redirect) -> dict[str, Any] | None:
        code = _REDIRECT_CODES.get(rd.code)
        if code is None:
            return None
        out: dict[str, Any] = {}
        if rd.scheme:
            out["scheme_redirect"] = rd.scheme
        if rd.authority:
            out["host_redirect"] = rd.authority
        if rd.port:
            out["port_redirect"] = rd.port
        if rd.path is not None:
            out["path_redirect"] = rd.path
        out["response_code"] = code
        return out

    def forward(self, fw: irm.Forward) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if len(fw.clusters) == 1:
            out["cluster"] = fw.clusters[0].cluster
        else:
            weighted = []
            for wc in fw.clusters:
                entry: dict[str, Any] = {"name": wc.cluster, "weight": wc.weight}
                _put_header_ops(entry, wc.request_headers, wc.response_headers)
                if wc.host_rewrite:
                    entry["host_rewrite_literal"] = wc.host_rewrite
                weighted.append(entry)
            out["weighted_clusters"] = {"clusters": weighted}
        if fw.cluster_not_found_status == 500:
            out["cluster_not_found_response_code"] = "INTERNAL_SERVER_ERROR"
        out["timeout"] = fw.timeout or "0s"
        # route.go `setTimeout`: the deprecated `max_grpc_timeout` gets the route timeout, so that a gRPC
        # request's `grpc-timeout` header bounds it (0s: the header alone, no cap). istiod still writes this
        # field (Envoy warns that it is deprecated); `max_stream_duration.grpc_timeout_header_max` would
        # answer DEADLINE_EXCEEDED instead of istiod's UNAVAILABLE "upstream request timeout".
        out["max_grpc_timeout"] = fw.timeout or "0s"
        rw = fw.rewrite
        if rw is not None:
            if rw.uri_regex is not None:
                out["regex_rewrite"] = {
                    "pattern": {"regex": rw.uri_regex},
                    "substitution": rw.uri_regex_substitution or "",
                }
            elif rw.uri is not None:
                out["prefix_rewrite"] = rw.uri
            if rw.authority:
                out["host_rewrite_literal"] = rw.authority
        if fw.retries is not None:
            rp = fw.retries
            out["retry_policy"] = self.block(
                _retry_policy,
                rp.attempts,
                tuple(rp.retry_on),
                tuple(rp.retriable_status_codes),
                rp.per_try_timeout,
                rp.backoff_base_interval,
                rp.previous_hosts_predicate,
                rp.host_selection_retry_max_attempts,
                rp.retry_remote_localities,
            )
        if fw.mirrors:
            out["request_mirror_policies"] = [
                {
                    "cluster": m.cluster,
                    "runtime_fraction": {"default_value": _pct(m.percentage)},
                    "trace_sampled": False,
                }
                for m in fw.mirrors
            ]
        if fw.hash_policy:
            out["hash_policy"] = [self.hash_policy(h) for h in fw.hash_policy]
        return out

    @staticmethod
    def hash_policy(h: irm.HashPolicy) -> dict[str, Any]:
        if h.kind == "header":
            return {"header": {"header_name": h.name}}
        if h.kind == "cookie":
            cookie: dict[str, Any] = {"name": h.name}
            if h.cookie_path:
                cookie["path"] = h.cookie_path
            if h.cookie_ttl:
                cookie["ttl"] = h.cookie_ttl
            return {"cookie": cookie}
        if h.kind == "query_parameter":
            return {"query_parameter": {"name": h.name}}
        return {"connection_properties": {"source_ip": True}}

    @staticmethod
    def fault(f: irm.Fault) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": FAULT_TYPE}
        if f.delay is not None:
            out["delay"] = {"fixed_delay": f.delay.fixed_delay, "percentage": _pct(f.delay.percentage)}
        if f.abort is not None:
            abort: dict[str, Any] = {}
            if f.abort.http_status is not None:
                abort["http_status"] = f.abort.http_status
            elif f.abort.grpc_status is not None:
                abort["grpc_status"] = _GRPC_CODES.get(f.abort.grpc_status.upper(), 2)
            abort["percentage"] = _pct(f.abort.percentage)
            out["abort"] = abort
        return out

    @staticmethod
    def cors(c: irm.Cors) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": CORS_POLICY_TYPE}
        if c.allow_origins:
            out["allow_origin_string_match"] = [
                {"safe_regex": {"regex": ".*"}} if o.kind == "present" else _string_matcher(o) for o in c.allow_origins
            ]
        if c.allow_methods:
            out["allow_methods"] = ",".join(c.allow_methods)
        if c.allow_headers:
            out["allow_headers"] = ",".join(c.allow_headers)
        if c.expose_headers:
            out["expose_headers"] = ",".join(c.expose_headers)
        if c.max_age is not None:
            out["max_age"] = str(c.max_age)
        if c.allow_credentials is not None:
            out["allow_credentials"] = c.allow_credentials
        out["filter_enabled"] = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
        out["forward_not_matching_preflights"] = c.forward_not_matching_preflights
        return out

    # JWT --------------------------------------------------------------------------------------------

    def jwt_filter(self, providers: list[irm.JwtProvider], uses_claims: bool) -> dict[str, Any]:
        built: dict[str, Any] = {}
        for p in providers:
            built[p.name] = self.jwt_provider(p, uses_claims)
        names = list(built)
        if len(names) == 1:
            requires: dict[str, Any] = {
                "requires_any": {"requirements": [{"provider_name": names[0]}, {"allow_missing": {}}]}
            }
        else:
            requires = {
                "requires_any": {
                    "requirements": [
                        *({"provider_name": n} for n in names),
                        {
                            "requires_all": {
                                "requirements": [
                                    {"requires_any": {"requirements": [{"provider_name": n}, {"allow_missing": {}}]}}
                                    for n in names
                                ]
                            }
                        },
                    ]
                }
            }
        config = {
            "@type": JWT_TYPE,
            "providers": built,
            "rules": [{"match": {"prefix": "/"}, "requires": requires}],
            "bypass_cors_preflight": True,
        }
        return {"name": JWT, "typed_config": config}

    def jwt_provider(self, p: irm.JwtProvider, uses_claims: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if p.issuer:
            out["issuer"] = p.issuer
        if p.audiences:
            out["audiences"] = list(p.audiences)
        if p.jwks is not None:
            if _jwks_ok(p.jwks):
                out["local_jwks"] = {"inline_string": p.jwks}
            else:
                self.at_origin(
                    codes.INVALID_JWKS,
                    f"JWT provider `{p.name}` has no usable key in its inline `jwks`; every token of it is rejected",
                    p.origin,
                    help='give a JSON Web Key Set with at least one key: `{"keys": [{"kty": "RSA", ...}]}`',
                )
                out["local_jwks"] = {"inline_string": FAKE_JWKS}
        elif p.jwks_uri:
            remote = self.remote_jwks(p)
            if remote is None:
                out["local_jwks"] = {"inline_string": FAKE_JWKS}
            else:
                out["remote_jwks"] = remote
        else:
            self.at_origin(
                codes.INVALID_JWKS,
                f"JWT provider `{p.name}` has neither `jwks` nor `jwksUri`; every token of it is rejected",
                p.origin,
                help="add the issuer's keys as `jwks`",
            )
            out["local_jwks"] = {"inline_string": FAKE_JWKS}
        if p.from_headers:
            out["from_headers"] = [
                {"name": h.name, **({"value_prefix": h.prefix} if h.prefix else {})} for h in p.from_headers
            ]
        if p.from_params:
            out["from_params"] = list(p.from_params)
        if p.from_cookies:
            out["from_cookies"] = list(p.from_cookies)
        if p.forward_original_token:
            out["forward"] = True
        if p.output_payload_to_header:
            out["forward_payload_header"] = p.output_payload_to_header
        if p.output_claim_to_headers:
            out["claim_to_headers"] = [
                {"header_name": c.header, "claim_name": c.claim} for c in p.output_claim_to_headers
            ]
        names = [h["name"] for h in out.get("from_headers", [])]
        names += [c["header_name"] for c in out.get("claim_to_headers", [])]
        names += [out["forward_payload_header"]] if "forward_payload_header" in out else []
        for name in names:
            why = text_error(name) or ("" if name else "it is empty")
            if why:
                self.at_origin(
                    codes.UNSAFE_VALUE,
                    f"JWT provider `{p.name}`: header name {name[:60]!r} cannot be written: {why}; Envoy would "
                    "refuse the whole bootstrap",
                    p.origin,
                )
        out["payload_in_metadata"] = JWT_PAYLOAD_KEY
        if p.space_delimited_claims:
            out["normalize_payload_in_metadata"] = {"space_delimited_claims": list(p.space_delimited_claims)}
        if uses_claims:
            out["clear_route_cache"] = True
        return out

    def remote_jwks(self, p: irm.JwtProvider) -> dict[str, Any] | None:
        assert p.jwks_uri is not None
        problem = None
        try:
            url = urlsplit(p.jwks_uri)
            explicit = url.port  # ValueError for `:99999`, `:abc`, `:80%0a`
        except ValueError as exc:
            problem = str(exc)
        else:
            if url.scheme not in ("http", "https") or not url.hostname:
                problem = "not an http(s) URL"
            elif text_error(p.jwks_uri) or not (is_ip(url.hostname) or _dns_name(url.hostname)):
                problem = "its host is not a DNS name or IP address"
        if problem is not None:
            shown = repr(p.jwks_uri[:80])
            self.at_origin(
                codes.REMOTE_JWKS,
                f"JWT provider `{p.name}`: `jwksUri` {shown} is not usable ({problem}); every token of it is rejected",
                p.origin,
                help="give the keys inline as `jwks`",
            )
            return None
        host = url.hostname
        assert host is not None
        port = explicit or (443 if url.scheme == "https" else 80)
        name = f"meshc-jwks|{host}|{port}"
        self.at_origin(
            codes.REMOTE_JWKS,
            f"JWT provider `{p.name}`: the keys at {p.jwks_uri} are not inline; Envoy fetches them at run time "
            f"(cluster `{name}`) and rejects tokens until it has them",
            p.origin,
            help="copy the key set into the RequestAuthentication as `jwks`",
        )
        if name not in self.extra_clusters:
            cluster: dict[str, Any] = {
                "name": name,
                "type": "STRICT_DNS",
                "connect_timeout": "10s",
                "dns_lookup_family": "V4_ONLY",
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
                },
            }
            if url.scheme == "https":
                cluster["transport_socket"] = {
                    "name": TLS_SOCKET,
                    "typed_config": {
                        "@type": UPSTREAM_TLS_TYPE,
                        "sni": host,
                        "common_tls_context": {"validation_context": {"system_root_certs": {}}},
                    },
                }
            self.extra_clusters[name] = cluster
        return {
            "http_uri": {"uri": p.jwks_uri, "cluster": name, "timeout": p.timeout or "5s"},
            "cache_duration": "300s",
        }

    # RBAC -------------------------------------------------------------------------------------------

    def rbac_filter(self, policies: list[irm.AuthorizationPolicy], action: str, *, custom: bool = False) -> Any:
        rules: dict[str, Any] = {}
        shadow: dict[str, Any] = {}
        for pol in policies:
            if custom:
                self.at_origin(
                    codes.CUSTOM_AUTHORIZATION,
                    f"AuthorizationPolicy {pol.name} delegates to provider `{pol.provider or '?'}`, "
                    "unknown offline; requests matching its rules are denied",
                    pol.origin,
                    help="state the decision as an ALLOW or DENY policy",
                )
            ns, _, name = pol.name.partition("/")
            for i, rule in enumerate(pol.rules):
                policy = self.rbac_policy(pol, rule, i, action)
                if policy is None:
                    continue
                key = f"ns[{ns}]-policy[{name}]-rule[{i}]"
                (shadow if pol.dry_run else rules)[key] = policy
        config: dict[str, Any] = {"@type": RBAC_TYPE, "rules": {"action": action, "policies": rules}}
        if shadow:
            config["shadow_rules"] = {"action": action, "policies": shadow}
        return {"name": RBAC, "typed_config": config}

    def _unsupported(self, pol: irm.AuthorizationPolicy, what: str, action: str) -> None:
        effect = "the rule is dropped" if action == "ALLOW" else "the condition is dropped"
        self.at_origin(
            codes.UNSUPPORTED_AUTHZ,
            f"AuthorizationPolicy {pol.name}: {what} cannot be checked by Envoy's RBAC filter; {effect}",
            pol.origin,
            help="use a supported condition (request.headers[...], source.ip, request.auth.claims[...], ...)",
        )

    def rbac_policy(
        self, pol: irm.AuthorizationPolicy, rule: irm.AuthzRule, index: int, action: str
    ) -> dict[str, Any] | None:
        perms: list[dict[str, Any]] = []
        ids: list[dict[str, Any]] = []
        ok = True
        if rule.operations:
            ops = []
            for op in rule.operations:
                built = self.operation(pol, op, action)
                if built is None:
                    ok = False
                    continue
                ops.append(built)
            if ops:
                perms.append(ops[0] if len(ops) == 1 else {"or_rules": {"rules": ops}})
        if rule.sources:
            srcs = []
            for src in rule.sources:
                built_src = self.source(pol, src, action)
                if built_src is None:
                    ok = False
                    continue
                srcs.append(built_src)
            if srcs:
                ids.append(srcs[0] if len(srcs) == 1 else {"or_ids": {"ids": srcs}})
        for cond in rule.conditions:
            kind, built_cond = self.condition(pol, cond, action)
            if built_cond is None:
                ok = False
                continue
            (perms if kind == "permission" else ids).append(built_cond)
        if not ok and action == "ALLOW":
            return None
        permission = {"any": True} if not perms else perms[0] if len(perms) == 1 else {"and_rules": {"rules": perms}}
        principal = {"any": True} if not ids else ids[0] if len(ids) == 1 else {"and_ids": {"ids": ids}}
        return {"permissions": [permission], "principals": [principal]}

    @staticmethod
    def _any_of(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        if len(items) == 1:
            return items[0]
        return {"or_rules": {"rules": items}} if key == "rules" else {"or_ids": {"ids": items}}

    def _field(self, values: list[str], negated: list[str], build: Any, key: str) -> list[dict[str, Any]]:
        """[OR over values, NOT(OR over negated)] as permission or principal entries."""
        out: list[dict[str, Any]] = []
        if values:
            out.append(self._any_of([build(v) for v in values], key))
        if negated:
            inner = self._any_of([build(v) for v in negated], key)
            out.append({"not_rule": inner} if key == "rules" else {"not_id": inner})
        return out

    def operation(self, pol: irm.AuthorizationPolicy, op: irm.AuthzOperation, action: str) -> Any:
        parts: list[dict[str, Any]] = []
        parts += self._field(op.hosts, op.not_hosts, lambda v: {"header": _host_header(v)}, "rules")
        bad_ports = [p for p in [*op.ports, *op.not_ports] if not str(p).isdigit()]
        if bad_ports:
            self._unsupported(pol, f"port `{bad_ports[0]}`", action)
            return None
        parts += self._field(op.ports, op.not_ports, lambda v: {"destination_port": int(v)}, "rules")
        parts += self._field(
            op.methods,
            op.not_methods,
            lambda v: {"header": {"name": ":method", "string_match": {"exact": v}}},
            "rules",
        )
        templated = [p for p in [*op.paths, *op.not_paths] if "{" in p]
        if templated:
            self._unsupported(pol, f"path template `{templated[0]}`", action)
            return None
        parts += self._field(op.paths, op.not_paths, lambda v: {"url_path": {"path": _glob(v)}}, "rules")
        if not parts:
            return {"any": True}
        return parts[0] if len(parts) == 1 else {"and_rules": {"rules": parts}}

    def source(self, pol: irm.AuthorizationPolicy, src: irm.AuthzSource, action: str) -> Any:
        parts: list[dict[str, Any]] = []
        peer = [*src.principals, *src.not_principals, *src.namespaces, *src.not_namespaces]
        peer += [*src.service_accounts, *src.not_service_accounts, *src.trust_domains, *src.not_trust_domains]
        if peer:
            self.at_origin(
                codes.PEER_IDENTITY,
                f"AuthorizationPolicy {pol.name} checks mesh identities (principals/namespaces/serviceAccounts/"
                "trustDomains), "
                "which no connection to this bootstrap carries",
                pol.origin,
                help="check a JWT principal or a request header instead",
            )
        parts += self._field(
            src.principals,
            src.not_principals,
            lambda v: {"authenticated": {"principal_name": _glob(v if v == "*" else "spiffe://" + v)}},
            "ids",
        )
        parts += self._field(
            src.namespaces,
            src.not_namespaces,
            lambda v: {"authenticated": {"principal_name": {"safe_regex": {"regex": f".*/ns/{_re_glob(v)}/.*"}}}},
            "ids",
        )

        def sa(v: str) -> dict[str, Any]:
            ns, _, name = v.partition("/")
            regex = f".*/ns/{_re_glob(ns)}/sa/{_re_glob(name)}"
            return {"authenticated": {"principal_name": {"safe_regex": {"regex": regex}}}}

        parts += self._field(src.service_accounts, src.not_service_accounts, sa, "ids")
        parts += self._field(src.request_principals, src.not_request_principals, _request_principal, "ids")
        parts += self._field(src.ip_blocks, src.not_ip_blocks, lambda v: {"direct_remote_ip": self.cidr(v)}, "ids")
        parts += self._field(
            src.remote_ip_blocks, src.not_remote_ip_blocks, lambda v: {"remote_ip": self.cidr(v)}, "ids"
        )
        if not parts:
            return {"any": True}
        return parts[0] if len(parts) == 1 else {"and_ids": {"ids": parts}}

    def condition(self, pol: irm.AuthorizationPolicy, cond: irm.AuthzCondition, action: str) -> tuple[str, Any]:
        key = cond.key.strip()
        kind = "principal"
        build: Any = None
        if key.startswith("request.headers[") and key.endswith("]"):
            name = key[len("request.headers[") : -1]
            build = lambda v: {"header": {"name": name, "string_match": _glob(v)}}  # noqa: E731
        elif key == "source.ip":
            build = lambda v: {"direct_remote_ip": self.cidr(v)}  # noqa: E731
        elif key == "remote.ip":
            build = lambda v: {"remote_ip": self.cidr(v)}  # noqa: E731
        elif key == "source.namespace":
            build = lambda v: {  # noqa: E731
                "authenticated": {"principal_name": {"safe_regex": {"regex": f".*/ns/{_re_glob(v)}/.*"}}}
            }
        elif key == "source.principal":
            build = lambda v: {  # noqa: E731
                "authenticated": {"principal_name": _glob(v if v == "*" else "spiffe://" + v)}
            }
        elif key == "request.auth.principal":
            build = _request_principal
        elif key in ("request.auth.audiences", "request.auth.presenter"):
            claim = "aud" if key.endswith("audiences") else "azp"
            build = lambda v: _claim_id([claim], v)  # noqa: E731
        elif key.startswith("request.auth.claims[") and key.endswith("]"):
            path = [p for p in key[len("request.auth.claims[") : -1].split("][")]
            build = lambda v: _claim_id(path, v)  # noqa: E731
        elif key == "destination.port" and all(str(v).isdigit() for v in [*cond.values, *cond.not_values]):
            kind = "permission"
            build = lambda v: {"destination_port": int(v)}  # noqa: E731
        elif key == "destination.ip":
            kind = "permission"
            build = lambda v: {"destination_ip": self.cidr(v)}  # noqa: E731
        elif key == "connection.sni":
            kind = "permission"
            build = lambda v: {"requested_server_name": _glob(v)}  # noqa: E731
        if build is None:
            self._unsupported(pol, f"condition `{key}`", action)
            return kind, None
        if key in ("source.namespace", "source.principal"):
            self.at_origin(
                codes.PEER_IDENTITY,
                f"AuthorizationPolicy {pol.name} checks `{key}`, a mesh identity no connection to this bootstrap "
                "carries",
                pol.origin,
                help="check a JWT principal or a request header instead",
            )
        group = "rules" if kind == "permission" else "ids"
        parts = self._field(list(cond.values), list(cond.not_values), build, group)
        if not parts:
            return kind, {"any": True}
        if len(parts) == 1:
            return kind, parts[0]
        return kind, {"and_rules": {"rules": parts}} if group == "rules" else {"and_ids": {"ids": parts}}

    # clusters ---------------------------------------------------------------------------------------

    def override(self, cl: irm.Cluster) -> list[Address] | None:
        for pattern, addrs in self.opts.upstreams:
            if pattern == cl.name or fnmatch.fnmatchcase(cl.name, pattern):
                return addrs
        return None

    def cluster_endpoints(self, cl: irm.Cluster) -> tuple[list[tuple[Address, int | None]], bool]:
        """((address, weight) list, overridden)."""
        forced = self.override(cl)
        if forced is not None:
            return [(a, None) for a in forced], True
        moved = self.opts.endpoints
        out: list[tuple[Address, int | None]] = []
        for ep in cl.endpoints:
            addr = Address(ep.address, ep.port)
            mapped = moved and (moved.get(f"{ep.address}:{ep.port}") or moved.get(ep.address))
            out.append((mapped or addr, ep.weight))
        if not out and cl.discovery == "STRICT_DNS" and not cl.subset:
            # A Kubernetes Service without known endpoints: resolve its own name, as kube-proxy would.
            addr = Address(cl.host, cl.port)
            mapped = moved and (moved.get(f"{cl.host}:{cl.port}") or moved.get(cl.host))
            out.append((mapped or addr, None))
        return out, False

    def cluster(self, cl: irm.Cluster) -> dict[str, Any]:
        if cl.discovery == "DYNAMIC_FORWARD_PROXY":
            return {
                "name": cl.name,
                "connect_timeout": cl.connection_pool.connect_timeout,
                "lb_policy": "CLUSTER_PROVIDED",
                "cluster_type": {
                    "name": DFP_CLUSTER,
                    "typed_config": {"@type": DFP_CLUSTER_TYPE, "dns_cache_config": DFP_DNS_CACHE},
                },
            }
        endpoints, overridden = self.cluster_endpoints(cl)
        lb = cl.load_balancer
        original_dst = (cl.discovery == "ORIGINAL_DST" or lb.policy == "PASSTHROUGH") and not overridden
        if original_dst:
            kind = "ORIGINAL_DST"
        elif (cl.discovery == "STATIC" or overridden) and all(is_ip(a.host) for a, _ in endpoints):
            kind = "STATIC"
        else:
            kind = "STRICT_DNS" if endpoints else ("STATIC" if cl.discovery != "STRICT_DNS" else "STRICT_DNS")
        origin = cl.destination_rules[0] if cl.subset and cl.destination_rules else cl.service
        hint = f"add WorkloadEntries, or run with `--upstream '{cl.name}=HOST:PORT'`"
        if not endpoints and not original_dst and cl.name != irm.BLACKHOLE_CLUSTER:
            what = f"subset `{cl.subset}` of {cl.host}" if cl.subset else cl.host
            self.at_origin(
                codes.CLUSTER_WITHOUT_ENDPOINTS,
                f"cluster {cl.name}: no endpoint address is known for {what}; Envoy answers 503 for traffic to it",
                origin,
                help=hint,
            )
        elif cl.subset and not overridden and cl.endpoints and all(_is_name_fallback(cl, e) for e in cl.endpoints):
            self.at_origin(
                codes.CLUSTER_WITHOUT_ENDPOINTS,
                f"cluster {cl.name}: no endpoint address is known for subset `{cl.subset}`; the cluster resolves "
                f"{cl.host}, which reaches every version, not only the subset",
                origin,
                help=hint,
            )
        out: dict[str, Any] = {"name": cl.name, "type": kind}
        out["connect_timeout"] = cl.connection_pool.connect_timeout
        if original_dst:
            out["lb_policy"] = "CLUSTER_PROVIDED"
        else:
            policy = lb.policy if lb.policy != "PASSTHROUGH" else "ROUND_ROBIN"
            out["lb_policy"] = policy
            if policy == "RING_HASH":
                out["ring_hash_lb_config"] = {"minimum_ring_size": lb.minimum_ring_size or 1024}
            elif policy == "MAGLEV" and lb.table_size:
                out["maglev_lb_config"] = {"table_size": lb.table_size}
            elif policy in ("ROUND_ROBIN", "LEAST_REQUEST") and lb.warmup:
                key = "round_robin_lb_config" if policy == "ROUND_ROBIN" else "least_request_lb_config"
                out[key] = {"slow_start_config": {"slow_start_window": lb.warmup}}
        if lb.locality_enabled:
            self.at_origin(
                codes.LOCALITY_LB,
                f"cluster {cl.name}: locality load balancing needs endpoint localities, which the input lacks; "
                "it is not applied",
                lb.origin,
                help="remove `localityLbSetting` from configuration meant to run outside a cluster",
            )
        if kind == "STRICT_DNS":
            out["dns_lookup_family"] = "V4_ONLY"
        pool = cl.connection_pool
        out["circuit_breakers"] = self.block(
            _circuit_breakers, pool.max_connections, pool.max_pending_requests, pool.max_requests, pool.max_retries
        )
        od = cl.outlier_detection
        if od is not None:
            out["outlier_detection"] = self.block(
                _outlier_detection,
                od.consecutive_5xx,
                od.enforcing_consecutive_5xx,
                od.consecutive_gateway_failure,
                od.enforcing_consecutive_gateway_failure,
                od.enforcing_success_rate,
                od.interval,
                od.base_ejection_time,
                od.max_ejection_percent,
                od.split_external_local_origin_errors,
                od.consecutive_local_origin_failure,
            )
            out["common_lb_config"] = self.block(_common_lb_config, od.min_health_percent)
        if pool.tcp_keepalive is not None:
            ka: dict[str, Any] = {}
            if pool.tcp_keepalive.probes is not None:
                ka["keepalive_probes"] = pool.tcp_keepalive.probes
            if pool.tcp_keepalive.time:
                ka["keepalive_time"] = _seconds(pool.tcp_keepalive.time)
            if pool.tcp_keepalive.interval:
                ka["keepalive_interval"] = _seconds(pool.tcp_keepalive.interval)
            out["upstream_connection_options"] = {"tcp_keepalive": ka}
        options = self.block(
            _protocol_options,
            pool.idle_timeout,
            pool.max_requests_per_connection,
            pool.max_connection_duration,
            (pool.h2_upgrade_policy or "").upper() == "UPGRADE" or (cl.protocol or "").upper() in ("HTTP2", "GRPC"),
            pool.use_client_protocol,
            pool.max_concurrent_streams,
        )
        if options:
            out["typed_extension_protocol_options"] = options
        if cl.tls is not None:
            socket = self.upstream_tls(cl)
            if socket is not None:
                out["transport_socket"] = socket
        if not original_dst:
            out["load_assignment"] = {
                "cluster_name": cl.name,
                "endpoints": [_lb_endpoints(endpoints)] if endpoints else [],
            }
        return out

    def upstream_tls(self, cl: irm.Cluster) -> dict[str, Any] | None:
        tls = cl.tls
        assert tls is not None
        if tls.mode == "ISTIO_MUTUAL":
            self.at_origin(
                codes.ISTIO_MUTUAL,
                f"cluster {cl.name}: ISTIO_MUTUAL needs mesh certificates; it is written without TLS (plaintext)",
                tls.origin,
                help="use mode MUTUAL with `clientCertificate`, `privateKey` and `caCertificates` files",
            )
            return None
        common: dict[str, Any] = {}
        if tls.credential_name and tls.mode == "SIMPLE" and not tls.ca_certificates:
            self.at_origin(
                codes.CREDENTIAL_NAME,
                f"cluster {cl.name}: the CA certificate is in Secret `{tls.credential_name}`, which a static "
                "bootstrap cannot read; the server is verified against the system's roots",
                tls.origin,
                help="set `caCertificates` to a file",
            )
        if tls.mode == "MUTUAL":
            if tls.client_certificate and tls.private_key:
                common["tls_certificates"] = [
                    {
                        "certificate_chain": {"filename": tls.client_certificate},
                        "private_key": {"filename": tls.private_key},
                    }
                ]
            else:
                self.at_origin(
                    codes.CREDENTIAL_NAME,
                    f"cluster {cl.name}: the client certificate is in Secret `{tls.credential_name or '?'}`, which a "
                    "static bootstrap cannot read; TLS is written without a client certificate",
                    tls.origin,
                    help="set `clientCertificate` and `privateKey` to files",
                )
        if not tls.insecure_skip_verify:
            validation: dict[str, Any] = (
                {"trusted_ca": {"filename": tls.ca_certificates}} if tls.ca_certificates else {"system_root_certs": {}}
            )
            if tls.subject_alt_names:
                validation["match_typed_subject_alt_names"] = [
                    {"san_type": "DNS", "matcher": {"exact": san}} for san in tls.subject_alt_names
                ]
            common["validation_context"] = validation
        context: dict[str, Any] = {"@type": UPSTREAM_TLS_TYPE}
        if tls.sni:
            context["sni"] = tls.sni
        context["common_tls_context"] = common
        return {"name": TLS_SOCKET, "typed_config": context}


# --- parts built from values alone (`_Renderer.block` shares them) -----------------------------

_BLOCKS_MAX = 1 << 12
"""Parts a renderer keeps for reuse, per builder (`_Renderer.block`)."""

_TRIAL = 128
"""Calls of a builder after which `_Renderer.block` stops sharing its parts if most were new."""


class _Parts:
    """What `_Renderer.block` knows of one builder: the parts it made, by values, and how often they recurred."""

    __slots__ = ("calls", "made", "new", "shared")

    def __init__(self) -> None:
        self.made: dict[tuple[Any, ...], irm.Block] = {}
        self.calls = 0
        self.new = 0
        self.shared = True


def _path_match(kind: str, value: str, ignore_case: bool) -> dict[str, Any]:
    """The path condition of a route's `match`, and its case sensitivity."""
    out: dict[str, Any] = {}
    if kind == "regex":
        out["safe_regex"] = {"regex": value}
    else:
        out[{"exact": "path", "prefix": "prefix"}.get(kind, kind)] = value
    out["case_sensitive"] = not ignore_case
    return out


def _retry_policy(
    attempts: int,
    retry_on: tuple[str, ...],
    status_codes: tuple[int, ...],
    per_try_timeout: str | None,
    backoff: str | None,
    previous_hosts: bool,
    max_attempts: int,
    remote_localities: bool,
) -> dict[str, Any]:
    """A route's `retry_policy` (the fields of an `ir.RetryPolicy`)."""
    out: dict[str, Any] = {"retry_on": ",".join(retry_on), "num_retries": attempts}
    if per_try_timeout:
        out["per_try_timeout"] = per_try_timeout
    if status_codes:
        out["retriable_status_codes"] = list(status_codes)
    if backoff:
        out["retry_back_off"] = {"base_interval": backoff}
    if previous_hosts:
        out["retry_host_predicate"] = [{"name": PREVIOUS_HOSTS, "typed_config": {"@type": PREVIOUS_HOSTS_TYPE}}]
    out["host_selection_retry_max_attempts"] = max_attempts
    if remote_localities:
        out["retry_priority"] = {
            "name": PREVIOUS_PRIORITIES,
            "typed_config": {"@type": PREVIOUS_PRIORITIES_TYPE, "update_frequency": 2},
        }
    return out


def _circuit_breakers(max_connections: int, max_pending: int, max_requests: int, max_retries: int) -> dict[str, Any]:
    """Istio's one threshold of a cluster's connection pool (`track_remaining`, as istiod writes it)."""
    return {
        "thresholds": [
            {
                "max_connections": max_connections,
                "max_pending_requests": max_pending,
                "max_requests": max_requests,
                "max_retries": max_retries,
                "track_remaining": True,
            }
        ]
    }


def _outlier_detection(
    consecutive_5xx: int,
    enforcing_5xx: int,
    gateway_failures: int,
    enforcing_gateway_failures: int,
    enforcing_success_rate: int,
    interval: str,
    base_ejection_time: str,
    max_ejection_percent: int,
    split: bool,
    local_origin_failures: int | None,
) -> dict[str, Any]:
    """A cluster's `outlier_detection` (the fields of an `ir.OutlierDetection` but `min_health_percent`)."""
    detection: dict[str, Any] = {
        "consecutive_5xx": consecutive_5xx,
        "enforcing_consecutive_5xx": enforcing_5xx,
        "consecutive_gateway_failure": gateway_failures,
        "enforcing_consecutive_gateway_failure": enforcing_gateway_failures,
        "enforcing_success_rate": enforcing_success_rate,
        "interval": interval,
        "base_ejection_time": base_ejection_time,
        "max_ejection_percent": max_ejection_percent,
    }
    if split:
        detection["split_external_local_origin_errors"] = True
        if local_origin_failures is not None:
            detection["consecutive_local_origin_failure"] = local_origin_failures
        detection["enforcing_consecutive_local_origin_failure"] = 100
        detection["enforcing_local_origin_success_rate"] = 0
    return detection


def _common_lb_config(min_health_percent: int) -> dict[str, Any]:
    return {"healthy_panic_threshold": {"value": min_health_percent}}


def _protocol_options(
    idle_timeout: str | None,
    max_requests_per_connection: int | None,
    max_connection_duration: str | None,
    h2: bool,
    use_client_protocol: bool,
    max_concurrent_streams: int | None,
) -> dict[str, Any]:
    """A cluster's `typed_extension_protocol_options` (empty: none), from its connection pool and protocol."""
    common: dict[str, Any] = {}
    if idle_timeout:
        common["idle_timeout"] = idle_timeout
    if max_requests_per_connection:
        common["max_requests_per_connection"] = max_requests_per_connection
    if max_connection_duration:
        common["max_connection_duration"] = max_connection_duration
    if not common and not h2 and not use_client_protocol and max_concurrent_streams is None:
        return {}
    out: dict[str, Any] = {"@type": HTTP_OPTIONS_TYPE}
    if common:
        out["common_http_protocol_options"] = common
    h2_options: dict[str, Any] = {}
    if max_concurrent_streams is not None:
        h2_options["max_concurrent_streams"] = max_concurrent_streams
    if use_client_protocol:
        out["use_downstream_protocol_config"] = {
            "http_protocol_options": {},
            "http2_protocol_options": h2_options,
        }
    elif h2:
        out["explicit_http_config"] = {"http2_protocol_options": h2_options}
    else:
        out["explicit_http_config"] = {"http_protocol_options": {}}
    return {HTTP_OPTIONS: out}


def _lb_endpoints(endpoints: list[tuple[Address, int | None]]) -> dict[str, Any]:
    """The one locality of a cluster's `load_assignment`: its endpoints and their weights."""
    lb_endpoints = []
    for addr, weight in endpoints:
        entry: dict[str, Any] = {"endpoint": {"address": _socket(addr.host, addr.port)}}
        if weight:
            entry["load_balancing_weight"] = weight
        lb_endpoints.append(entry)
    return {"lb_endpoints": lb_endpoints}


# --- RBAC helpers -------------------------------------------------------------------------------


def _glob(value: str) -> dict[str, Any]:
    """Istio's string glob (`*`, `prefix*`, `*suffix`, exact) as a StringMatcher."""
    if value == "*":
        return {"safe_regex": {"regex": ".+"}}
    if value.endswith("*"):
        return {"prefix": value[:-1]}
    if value.startswith("*"):
        return {"suffix": value[1:]}
    return {"exact": value}


def _host_header(value: str) -> dict[str, Any]:
    matcher = _glob(value)
    if "safe_regex" not in matcher:
        matcher["ignore_case"] = True
    return {"name": ":authority", "string_match": matcher}


def _re_glob(value: str) -> str:
    """A glob piece as RE2 (`*` → `.*`, the rest escaped)."""
    import re

    return ".*".join(re.escape(p) for p in value.split("*"))


def _metadata(path: list[str], value: dict[str, Any]) -> dict[str, Any]:
    """An RBAC principal on the validated JWT payload (dynamic metadata of `jwt_authn`)."""
    matcher = {"filter": JWT, "path": [{"key": JWT_PAYLOAD_KEY}, *({"key": k} for k in path)], "value": value}
    return {"sourced_metadata": {"metadata_matcher": matcher}}


def _claim_id(path: list[str], value: str) -> dict[str, Any]:
    single = {"string_match": _glob(value)}
    if value == "*":
        return _metadata(path, {"present_match": True})
    return _metadata(path, {"or_match": {"value_matchers": [single, {"list_match": {"one_of": single}}]}})


_ANY: dict[str, Any] = {"safe_regex": {"regex": ".+"}}


def _request_principal(value: str) -> dict[str, Any]:
    """`iss/sub` of a validated JWT: both claims of the jwt_authn payload must match.

    As `requestPrincipalGenerator.extendedPrincipal` (pilot/pkg/security/authz/model/generator.go):
    the value splits at its last `/`; `*` needs a non-empty `iss` AND `sub` (`.+`), `*x` and `x*`
    are suffix and prefix matches, and a value without `/` is the issuer with an empty subject.
    """
    iss, found, sub = value.rpartition("/")
    if not found:
        iss, sub = value, ""
    match_iss: dict[str, Any]
    match_sub: dict[str, Any]
    if value == "*":
        match_iss, match_sub = _ANY, _ANY
    elif value.startswith("*"):
        if found:
            match_iss = _ANY if iss == "*" else {"suffix": iss[1:]}
            match_sub = {"exact": sub}
        else:
            match_iss, match_sub = _ANY, {"suffix": value[1:]}
    elif value.endswith("*"):
        if found:
            match_iss = {"exact": iss}
            match_sub = _ANY if sub == "*" else {"prefix": sub[:-1]}
        else:
            match_iss, match_sub = {"prefix": value[:-1]}, _ANY
    else:
        match_iss, match_sub = {"exact": iss}, {"exact": sub}
    iss_m = _metadata(["iss"], {"string_match": match_iss})
    sub_m = _metadata(["sub"], {"string_match": match_sub})
    return {"and_ids": {"ids": [iss_m, sub_m]}}


def _server_names(hosts: list[str]) -> list[str]:
    """`filter_chain_match.server_names` for SNI hosts: sorted, none at all when one is `*`.

    As `toFilterChainMatch` (pilot/pkg/networking/core/listener.go): Envoy refuses `*` as a partial
    wildcard, so Istio drops the SNI match instead.
    """
    return [] if "*" in hosts else sorted(hosts)


_DNS_NAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?\Z"
)


def _dns_name(host: str) -> bool:
    return bool(_DNS_NAME.match(host))


def _tls_version(name: str) -> str:
    """Istio's `TLSV1_2` as Envoy's `TLSv1_2` (`TLS_AUTO` unchanged)."""
    upper = name.upper()
    return "TLSv" + upper[4:] if upper.startswith("TLSV") else upper


def _is_name_fallback(cl: irm.Cluster, ep: irm.Endpoint) -> bool:
    """The endpoint compile adds when no address is known: the service's own DNS name."""
    return ep.origin is None and ep.address == cl.host


def _seconds(duration: str) -> int:
    """Whole seconds of a protobuf duration string (`90s`, `1.5s` → 1)."""
    text = duration.strip().rstrip("s")
    try:
        return max(0, int(float(text)))
    except ValueError:
        return 0


def _jwks_ok(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    keys = data.get("keys") if isinstance(data, dict) else None
    if isinstance(keys, list):
        return any(isinstance(k, dict) and k.get("kty") for k in keys)
    return isinstance(data, dict) and bool(data.get("kty"))


# --- entry points -------------------------------------------------------------------------------

HEADER = "# Envoy v3 static bootstrap generated by `meshc compile --target envoy`. Do not edit.\n"


def bootstrap(ir: irm.IR, options: EnvoyOptions | None = None) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The bootstrap as plain data, and the MC4xx diagnostics."""
    r = _Renderer(ir, options or EnvoyOptions())
    data = r.bootstrap()
    return data, sorted(r.diags, key=Diagnostic.sort_key)


def write(ir: irm.IR, options: EnvoyOptions | None, out: Callable[[str], Any]) -> list[Diagnostic]:
    """`render`'s text given to `out` piece by piece as it is made (never whole), and the MC4xx diagnostics."""
    r = _Renderer(ir, options or EnvoyOptions(), lazy=True)
    data = r.bootstrap()
    if options is not None and options.json:
        irm.write_json(data, out)
    else:
        irm.write_yaml(data, out, HEADER)
    return sorted(r.diags, key=Diagnostic.sort_key)


def render(ir: irm.IR, options: EnvoyOptions | None = None) -> tuple[str, list[Diagnostic]]:
    """The bootstrap as YAML, or JSON with `options.json` (deterministic bytes), and the MC4xx diagnostics."""
    return written(write, ir, options)


# --- the target contract (see meshc.backends) ----------------------------------------------------

VALIDATOR = "envoy"
SUFFIXES = (".yaml", ".yml", ".json")
"""Envoy reads a bootstrap by its file's extension: YAML for `.yaml`/`.yml`, JSON for `.json`."""


def options(flags: Flags) -> EnvoyOptions:
    """EnvoyOptions from the `--overrides` file, then the flags (which win); OptionError for a bad value."""
    refuse(flags, ("resolver", "resolver_valid"), "--resolver and --resolver-valid apply to --target nginx")
    if flags.output is not None and flags.output.suffix.lower() not in SUFFIXES:
        raise OptionError(
            f"-o {flags.output}: an Envoy bootstrap must end in .yaml, .yml or .json (Envoy picks its parser "
            "by the extension)"
        )
    opts = EnvoyOptions()
    if flags.overrides is not None:
        # The project's own loader: PyYAML is only a test dependency.
        from meshc.source import load as load_yaml

        read = load_yaml([str(flags.overrides)])
        if read.errors:
            span, message, _ = read.errors[0]
            raise OptionError(f"{span.path}:{span.line}:{span.column}: {message}")
        opts = load_overrides(read.documents[0].data if read.documents else None, opts)
    if flags.bind is not None:
        opts.bind = flags.bind
    if flags.port_offset is not None:
        opts.port_offset = port_offset(flags)
    if flags.port_map:
        opts.port_map.update(parse_port_map(list(flags.port_map)))
    if flags.admin_port is not None:
        opts.admin_port = flags.admin_port
    if flags.upstream:
        opts.upstreams = [parse_upstream(u) for u in flags.upstream] + opts.upstreams
    if flags.endpoint:
        opts.endpoints.update(dict(parse_endpoint(e) for e in flags.endpoint))
    if flags.contexts:
        opts.contexts = list(flags.contexts)
    for port in [opts.admin_port, *opts.port_map.values()]:
        if not 0 < port < 65536:
            raise OptionError(f"port {port} is not a port number (1-65535)")
    if not 0 <= opts.port_offset <= 65535:
        raise OptionError(f"--port-offset {opts.port_offset} must be 0-65535")
    opts.json = flags.output is not None and flags.output.suffix.lower() == ".json"
    return opts


def check(path: Path) -> Check | None:
    """`envoy --mode validate` on a written bootstrap; None when the `envoy` command is not installed."""
    binary = find_binary("envoy")
    if binary is None:
        return None
    return run_check(
        [binary, "--mode", "validate", "-c", str(path), "-l", "error", "--disable-hot-restart"],
        f"envoy --mode validate -c {path}",
        lambda code, out: code == 0 and out.rstrip().endswith("OK"),
    )
