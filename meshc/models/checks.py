"""Istio's single-resource validation rules, as small checks and constrained field types.

Each check mirrors a function of Istio's `pkg/config/validation` (named in its docstring) and
returns an error sentence, or None when the value is valid. The `Annotated` types below attach
the checks to fields, so an error points at the offending value.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Annotated

import re2
from pydantic import AfterValidator, Field

from meshc.hosts import is_ip
from meshc.models.base import fail
from meshc.patterns import lazy

# --- regular expressions (RE2, the engine Envoy uses) ----------------------------------------

MAX_REGEX_LENGTH = 1024
"""Istio rejects longer regexes (`validateStringRegexp`): Envoy caps the RE2 program size."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=4096)
def regex_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid RE2 regex, or None (Istio `validateStringRegexp`)."""
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"regex is too long ({len(pattern)} characters); Istio allows at most {MAX_REGEX_LENGTH}"
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"`{pattern}` is not a valid RE2 regex ({reason})"
    except Exception as exc:  # re2 may raise TypeError/ValueError on odd input
        return f"`{pattern}` is not a valid RE2 regex ({exc})"
    return None


def _check_regex(value: str) -> str:
    if not value:
        fail("regex", "regex must not be empty")
    error = regex_error(value)
    if error:
        fail("regex", error, help="Istio uses RE2 syntax: no lookaround, no backreferences")
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]
"""A non-empty RE2 regex of at most 1024 characters."""


def _check_regex_or_star(value: str) -> str:
    # validateHTTPRouteMatchRequest: in `withoutHeaders`, `regex: "*"` means "header present".
    return value if value == "*" else _check_regex(value)


RegexOrStar = Annotated[str, AfterValidator(_check_regex_or_star)]
"""An RE2 regex, or `*` (header presence in `withoutHeaders`)."""

# --- DNS names and hosts ---------------------------------------------------------------------

_DNS_LABEL = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL + r"\Z")
_WILDCARD_LABEL_RE = re.compile(r"(?:\*|(?:\*|\*-)?" + _DNS_LABEL + r")\Z")
_LOWER_DNS_LABEL_RE = lazy(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\Z")


@functools.lru_cache(maxsize=8192)
def is_dns1123_label(value: str) -> bool:
    """Whether `value` is a DNS-1123 label of at most 63 characters (Istio `labels.IsDNS1123Label`)."""
    return len(value) <= 63 and _DNS_LABEL_RE.match(value) is not None


def subnet_error(value: str) -> str | None:
    """Why `value` is neither an IP nor a CIDR block, or None (Istio `ValidateIPSubnet`)."""
    if value.count("/") == 1:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"`{value}` is not a valid CIDR block"
        return None
    return None if is_ip(value) else f"`{value}` is not a valid IP address"


def _labels_error(domain: str, whole: str) -> str | None:
    # ValidateDNS1123Labels
    parts = domain.split(".")
    tld = parts[-1]
    if tld.lstrip("+-").isdigit():
        return f"`{whole}` is not a valid host name (its top-level domain `{tld}` is all digits)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None
        if not is_dns1123_label(label):
            return f"`{whole}` is not a valid host name (label `{label}` is invalid)"
    return None


@functools.lru_cache(maxsize=8192)
def fqdn_error(name: str) -> str | None:
    """Why `name` is not a valid domain name, or None (Istio `ValidateFQDN`)."""
    if not name:
        return "host name must not be empty"
    if len(name) > 255:
        return f"host name `{name[:40]}...` is too long (at most 255 characters)"
    return _labels_error(name, name)


@functools.lru_cache(maxsize=8192)
def wildcard_domain_error(domain: str) -> str | None:
    """Why `domain` is not a domain with an optional wildcard first label (Istio `ValidateWildcardDomain`)."""
    if not domain:
        return "host name must not be empty"
    if len(domain) > 255:
        return f"host name `{domain[:40]}...` is too long (at most 255 characters)"
    first, dot, rest = domain.partition(".")
    if len(first) > 63 or not _WILDCARD_LABEL_RE.match(first):
        return f"`{domain}` is not a valid host name (label `{first}` is invalid)"
    return _labels_error(rest, domain) if dot else None


def _check_wildcard_host(value: str) -> str:
    error = wildcard_domain_error(value)
    if error:
        fail("host", error)
    return value


WildcardHost = Annotated[str, AfterValidator(_check_wildcard_host)]
"""A host name, short or fully qualified, with an optional wildcard first label (`*.example.com`)."""


def _check_destination_host(value: str) -> str:
    # validateDestination: `*` is rejected, otherwise ValidateWildcardDomain.
    if value == "*":
        fail("host", "`*` is not a valid destination host; name one service")
    return _check_wildcard_host(value)


DestinationHost = Annotated[str, AfterValidator(_check_destination_host)]
"""A destination host: a service name, never `*`."""


def _check_service_entry_host(value: str) -> str:
    # ValidateServiceEntry: the full wildcard `*` is not allowed.
    if value == "*":
        fail("host", "`*` is not allowed as a ServiceEntry host")
    return _check_wildcard_host(value)


ServiceEntryHost = Annotated[str, AfterValidator(_check_service_entry_host)]
"""A ServiceEntry host: a domain with an optional wildcard first label, never `*` alone."""


def _check_fqdn(value: str) -> str:
    error = fqdn_error(value)
    if error:
        fail("host", error)
    return value


Fqdn = Annotated[str, AfterValidator(_check_fqdn)]
"""A domain name without wildcard."""


def _check_label_name(value: str) -> str:
    # validateSubsetName, ValidatePortName, sourceNamespace: DNS-1123 labels.
    if not is_dns1123_label(value):
        fail(
            "dns_label",
            f"`{value}` is not a valid name; use at most 63 letters, digits and `-`, "
            "starting and ending with a letter or digit",
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_check_label_name)]
"""A DNS-1123 label (subset names, port names, namespaces)."""


@functools.lru_cache(maxsize=8192)
def namespace_slash_host_error(value: str, gateway: bool) -> str | None:
    """Why `value` is not a `namespace/host` entry, or None (Istio `ValidateNamespaceSlashWildcardHostname`).

    Args:
        value: the entry, e.g. `istio-system/*.example.com`; a Gateway also accepts a bare host.
        gateway: True for Gateway server hosts, False for Sidecar egress hosts.
    """
    namespace, slash, host = value.partition("/")
    if not slash:
        if not gateway:
            return f"`{value}` must have the form `namespace/host` (e.g. `./*` or `istio-system/*`)"
        namespace, host = "", value
    elif not namespace or not host:
        return f"`{value}`: the namespace and the host of `namespace/host` must not be empty"
    elif namespace not in ("*", ".") and not (namespace == "~" and not gateway) and not is_dns1123_label(namespace):
        return f"`{value}`: `{namespace}` is not a valid namespace"
    # validateSidecarOrGatewayHostnamePart
    if host != "*" and "." not in host:
        return f"`{value}`: short host names are not allowed here; use a fully qualified name"
    error = wildcard_domain_error(host)
    if error and not (gateway and is_ip(host)):
        return error
    if "*" in host and host != "*" and not host.startswith("*."):
        return f"`{value}`: partial wildcard `{host}` is not allowed"
    return None


def _check_gateway_host(value: str) -> str:
    error = namespace_slash_host_error(value, gateway=True)
    if error:
        fail("host", error)
    return value


def _check_sidecar_host(value: str) -> str:
    error = namespace_slash_host_error(value, gateway=False)
    if error:
        fail("host", error)
    return value


GatewayHost = Annotated[str, AfterValidator(_check_gateway_host)]
"""A Gateway server host: `host` or `namespace/host`."""

SidecarHost = Annotated[str, AfterValidator(_check_sidecar_host)]
"""A Sidecar egress host: `namespace/host`."""


@functools.lru_cache(maxsize=8192)
def gateway_name_error(name: str) -> str | None:
    """Why `name` is not a gateway reference, or None (Istio `validateGatewayNames`)."""
    namespace, slash, gw = name.partition("/")
    if not slash:
        return fqdn_error(name)
    if not namespace or not gw:
        return f"gateway `{name}`: the namespace and the name must not be empty"
    if not is_dns1123_label(namespace):
        return f"gateway `{name}`: `{namespace}` is not a valid namespace"
    if not is_dns1123_label(gw):
        return f"gateway `{name}`: `{gw}` is not a valid gateway name"
    return None


def _check_gateway_name(value: str) -> str:
    error = gateway_name_error(value)
    if error:
        fail("gateway_name", error, help="write `mesh`, `<name>` or `<namespace>/<name>`")
    return value


GatewayName = Annotated[str, AfterValidator(_check_gateway_name)]
"""A gateway reference in a VirtualService: `mesh`, `name` or `namespace/name`."""


def _check_ip_subnet(value: str) -> str:
    error = subnet_error(value)
    if error:
        fail("ip", error)
    return value


IpSubnet = Annotated[str, AfterValidator(_check_ip_subnet)]
"""An IP address or CIDR block."""


def _check_ip(value: str) -> str:
    if not is_ip(value):
        fail("ip", f"`{value}` is not a valid IP address")
    return value


IpAddress = Annotated[str, AfterValidator(_check_ip)]
"""An IPv4 or IPv6 address."""

# --- Kubernetes labels and selectors ---------------------------------------------------------

_QUALIFIED_NAME_RE = lazy(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_DNS_PREFIX_RE = lazy(_DNS_LABEL + r"(?:\." + _DNS_LABEL + r")*\Z")


def label_key_error(key: str) -> str | None:
    """Why `key` is not a Kubernetes label key, or None (Istio `labels.validateTagKey`)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _DNS_PREFIX_RE.match(prefix) or "/" in prefix):
        return f"`{key}` is not a valid label key (bad prefix `{prefix}`)"
    if len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        return f"`{key}` is not a valid label key"
    return None


def label_value_error(value: str) -> str | None:
    """Why `value` is not a Kubernetes label value, or None."""
    if value and (len(value) > 63 or not _QUALIFIED_NAME_RE.match(value)):
        return f"`{value}` is not a valid label value"
    return None


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    # labels.Instance.Validate
    for key, value in labels.items():
        error = label_key_error(key) or label_value_error(value)
        if error:
            fail(
                "label",
                error,
                help="use at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
            )
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]
"""Kubernetes labels that Istio checks for syntax (subset labels, `sourceLabels`)."""


def _check_selector(labels: dict[str, str]) -> dict[str, str]:
    # validateWorkloadSelector / ValidateAlphaWorkloadSelector
    for key, value in labels.items():
        if not key:
            fail("selector", "a selector label key must not be empty")
        if "*" in key or "*" in value:
            fail("selector", f"wildcards are not supported in selectors (`{key}: {value}`)")
    return labels


SelectorLabels = Annotated[dict[str, str], AfterValidator(_check_selector)]
"""Workload selector labels: no empty key, no `*`."""

# --- HTTP headers ----------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~A-Za-z0-9]+\Z")
_PSEUDO_HEADERS = frozenset({":method", ":scheme", ":authority", ":path", ":status"})
_HEADER_VALUE_RE = lazy("[^\x00-\x08\x0a-\x1f\x7f]*\\Z")
JWT_CLAIM_HEADER = "@request.auth.claims"
"""The match header name prefix that routes on a claim of a validated JWT (Istio `jwt.HeaderJWTClaim`)."""


def routing_claim(name: str) -> list[str] | None:
    """The claim path a match header name stands for, or None when it names a real header.

    Istio pkg/jwt/routing.go `ToRoutingClaim`, the one rule for lint, compile and route: the prefix
    `@request.auth.claims` is compared lower-cased (`@Request.Auth.Claims.x` is a claim), the rest is
    kept as written; `.a.b` splits at every dot (empty names included), `[a][b]` at every `][`.
    (Go lowers the whole name before the prefix test; the only non-ASCII letter it lowers into the
    prefix, `İ`, is two bytes long, which shifts the rest so that it never parses: lowering the
    prefix's characters, as here, gives the same answers.)
    """
    head = name[: len(JWT_CLAIM_HEADER)]
    if head.lower() != JWT_CLAIM_HEADER:
        return None
    rest = name[len(JWT_CLAIM_HEADER) :]
    if rest.startswith(".") and len(rest) > 1:
        return rest[1:].split(".")
    if rest.startswith("[") and rest.endswith("]") and len(rest) > 2:
        return rest[1:-1].split("][")
    return None


def match_header_name_error(name: str) -> str | None:
    """Why `name` cannot be matched on, or None (Istio `ValidateHTTPHeaderNameOrJwtClaimRoute`)."""
    if not name:
        return "header name must not be empty"
    if routing_claim(name) is not None:
        return None
    if name in _PSEUDO_HEADERS or _TOKEN_RE.match(name):
        return None
    return f"`{name}` is not a valid header name"


def _check_match_header_name(name: str) -> str:
    error = match_header_name_error(name)
    if error:
        fail("header_name", error)
    return name


MatchHeaderName = Annotated[str, AfterValidator(_check_match_header_name)]
"""A header name in a match: a token, a pseudo-header, or `@request.auth.claims.<claim>`."""


def _check_cors_header(name: str) -> str:
    # ValidateCORSHTTPHeaderName
    if not name:
        fail("header_name", "header name must not be empty")
    if name != "*" and not _TOKEN_RE.match(name):
        fail("header_name", f"`{name}` is not a valid header name")
    return name


CorsHeaderName = Annotated[str, AfterValidator(_check_cors_header)]
"""A header name in a CORS policy, or `*`."""


def _check_strict_header(name: str) -> str:
    # ValidateStrictHTTPHeaderName
    if not name:
        fail("header_name", "header name must not be empty")
    if not re.fullmatch(r"[-A-Za-z0-9]+", name):
        fail("header_name", f"`{name}` is not a valid header name; use letters, digits and `-`")
    return name


StrictHeaderName = Annotated[str, AfterValidator(_check_strict_header)]
"""A header name of letters, digits and `-` only."""


MAX_HEADER_BYTES = 16384
"""Bytes of a header name or value Envoy loads (`config.core.v3.HeaderValue`: `max_bytes: 16384` on
`key` and `value`); istiod's webhook has no limit, so a longer one passes `kubectl apply` and Envoy
rejects the whole route configuration."""


def oversized_header(value: str) -> int | None:
    """The size in bytes of a header name or value longer than Envoy loads (`MAX_HEADER_BYTES`), else None."""
    size = len(value.encode("utf-8", "surrogatepass"))
    return size if size > MAX_HEADER_BYTES else None


def header_bytes_error(value: str, what: str) -> str | None:
    """Why Envoy rejects `value` as a header name or value for its size, or None."""
    size = oversized_header(value)
    if size is None:
        return None
    return f"{what} {shown(value)} has {size} bytes; Envoy accepts at most {MAX_HEADER_BYTES}"


def header_value_error(value: str) -> str | None:
    """Why `value` cannot be a header value, or None.

    Istio's `ValidateHTTPHeaderValue` (validation.go: no control characters but tab, and the
    `%VARIABLE%` syntax of header_value_validator.go), then Envoy's substitution format parser
    (a `%` starts a command `%NAME%`, `%NAME(args)%` or `%NAME(args):length%`; `%%` is a `%`), and
    Envoy's size limit (`MAX_HEADER_BYTES`).
    """
    if not _HEADER_VALUE_RE.match(value):
        return f"header value {shown(value)} contains control characters"
    too_long = header_bytes_error(value, "header value")
    if too_long:
        return too_long
    error = _istio_header_value_error(value) or _envoy_header_value_error(value)
    if error:
        return f"header value {shown(value)} is invalid: {error}"
    return None


def shown(value: str, limit: int = 60) -> str:
    """A value quoted for a message: control characters escaped (a line feed as backslash-n), long values cut."""
    text = value if len(value) <= limit else value[: limit - 3] + "..."
    if not _CONTROL.search(text):
        return f"`{text}`"
    return '`"' + _CONTROL.sub(_escape, text.replace("\\", "\\\\")) + '"`'


_CONTROL = lazy("[\x00-\x1f\x7f-\x9f\u2028\u2029`]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "`": "\\`"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


_UNESCAPED_PERCENT = "an unescaped `%` (write `%%` for a percent sign)"


def _istio_header_value_error(value: str) -> str | None:
    # header_value_validator.go `validateHeaderValue`, a port of Envoy's old header_parser.cc.
    literal, name, expect_array, expect_string, string, delimiter, args_end, var_end = range(8)
    state = literal
    pos = 0
    while pos < len(value):
        ch = value[pos]
        has_next = pos + 1 < len(value)
        if state == literal:
            if ch == "%":
                if not has_next:
                    return _UNESCAPED_PERCENT
                if value[pos + 1] == "%":
                    pos += 1
                else:
                    state = name
        elif state == name:
            if ch == "%":
                state = literal
            elif ch == "(":
                state = expect_array
        elif state == expect_array:
            if ch == "[":
                state = expect_string
            elif ch != " ":
                state = string
        elif state == delimiter:
            if ch == ",":
                state = expect_string
            elif ch == "]":
                state = args_end
            elif ch != " ":
                return "expected `,`, `]` or a space in the arguments of a `%VARIABLE(...)%`"
        elif state == expect_string:
            if ch == '"':
                state = string
            elif ch != " ":
                return 'expected `"` in the arguments of a `%VARIABLE(...)%`'
        elif state == string:
            if ch == "\\":
                if not has_next:
                    return "a backslash ends the value"
                pos += 1
            elif ch == ")":
                state = var_end
            elif ch == '"':
                state = delimiter
        elif state == args_end:
            if ch == ")":
                state = var_end
            elif ch != " ":
                return "expected `)` after the arguments of a `%VARIABLE(...)%`"
        elif state == var_end:
            if ch == "%":
                state = literal
            elif ch != " ":
                return "expected `%` to close a `%VARIABLE(...)%`"
        pos += 1
    if state != literal:
        return _UNESCAPED_PERCENT if state == name and "(" not in value else "a `%VARIABLE%` is not closed"
    return None


# Envoy's SubstitutionFormatParser: `%COMMAND%`, `%COMMAND(args)%`, `%COMMAND(args):length%`.
_ENVOY_COMMAND = lazy(r"%[A-Z0-9_]+(?:\([^)]*\))?(?::[0-9]+)?%")


def _envoy_header_value_error(value: str) -> str | None:
    pos = value.find("%")
    while pos >= 0:
        if value.startswith("%%", pos):
            pos = value.find("%", pos + 2)
            continue
        m = _ENVOY_COMMAND.match(value, pos)
        if m is None:
            return (
                f"Envoy finds no command `%NAME%` at position {pos} "
                "(write `%%` for a percent sign; command names are upper case)"
            )
        pos = value.find("%", m.end())
    return None


_ENVOY_FORBIDDEN = lazy("[\x00\n\r]")


def envoy_string_error(value: str, what: str) -> str | None:
    """Why Envoy rejects `value` as a header-like string (PGV `HTTP_HEADER_VALUE`, not strict: no NUL, CR, LF)."""
    m = _ENVOY_FORBIDDEN.search(value)
    if m is None:
        return None
    name = {"\x00": "a NUL character", "\n": "a line feed", "\r": "a carriage return"}[m.group()]
    return f"{what} {shown(value)} contains {name}, which Envoy rejects"


def _check_request_header_name(name: str) -> str:
    # ValidateHTTPHeaderWithAuthorityOperationName: request `set`/`add` may rewrite the authority.
    error = _operation_name_error(name, allow_authority=True)
    if error:
        fail("header_name", error)
    return name


def _check_header_name(name: str) -> str:
    # ValidateHTTPHeaderOperationName: request `remove` and every response operation.
    error = _operation_name_error(name, allow_authority=False)
    if error:
        fail("header_name", error)
    return name


def _check_header_value(value: str) -> str:
    error = header_value_error(value)
    if error:
        fail("header_value", error)
    return value


def _check_envoy_text(value: str) -> str:
    error = envoy_string_error(value, "value")
    if error:
        fail("envoy_string", error)
    return value


EnvoyText = Annotated[str, AfterValidator(_check_envoy_text)]
"""A string Envoy takes as a header-like value (redirect and rewrite paths and authorities): no NUL, CR, LF."""

MAX_QUERY_NAME_BYTES = 1024
"""Envoy's `QueryParameterMatcher.name`: 1 to 1024 bytes."""


def _check_query_name(name: str) -> str:
    if not name:
        fail("query_name", "a query parameter name must not be empty")
    size = len(name.encode("utf-8"))
    if size > MAX_QUERY_NAME_BYTES:
        fail(
            "query_name",
            f"query parameter name {shown(name, 40)} is {size} bytes long; "
            f"Envoy accepts at most {MAX_QUERY_NAME_BYTES}",
        )
    return name


QueryParamName = Annotated[str, AfterValidator(_check_query_name)]
"""A query parameter name in a match: 1 to 1024 bytes (Envoy's limit)."""


RequestHeaderName = Annotated[str, AfterValidator(_check_request_header_name)]
"""A header a request `set`/`add` may change: not empty, no `:` prefix but `:authority`."""

HeaderName = Annotated[str, AfterValidator(_check_header_name)]
"""A header a request `remove` or a response operation may change: not `Host`, no `:` prefix."""

HeaderValue = Annotated[str, AfterValidator(_check_header_value)]
"""A header value: no control characters, `%` only in `%%` or an Envoy `%COMMAND%`."""


def _operation_name_error(name: str, allow_authority: bool) -> str | None:
    if not name:
        return "header name must not be empty"
    lower = name.lower()
    is_authority = lower in (":authority", "host")
    if allow_authority and is_authority:
        return None
    if lower == "host":
        return "the `Host` header cannot be changed here"
    if name.startswith(":"):
        return f"header `{name}` cannot be changed: names starting with `:` are internal"
    return envoy_string_error(name, "header name") or header_bytes_error(name, "header name")


def is_authority_header(name: str) -> bool:
    """Whether `name` designates the authority (`:authority` or `host`, any case)."""
    return name.lower() in (":authority", "host")


# --- numbers ---------------------------------------------------------------------------------


def is_prime(value: int) -> bool:
    """Envoy's primality test, as Istio copies it for Maglev table sizes."""
    if 0 < value < 4:
        return True
    if value % 2 == 0:
        return False
    factor = 3
    while factor * factor <= value:
        if value % factor == 0:
            return False
        factor += 2
    return True


HttpStatus = Annotated[int, Field(ge=200, le=600)]
"""An HTTP status Istio accepts for aborts and direct responses (`validateHTTPStatus`: 200..600)."""

RedirectCode = Annotated[int, Field(ge=300, le=399)]
"""An HTTP redirect status, 3xx."""


def export_to_error(values: list[str], namespace: str | None, service_entry: bool) -> str | None:
    """Why an `exportTo` list is invalid, or None (Istio `validateExportTo`)."""
    seen: set[str] = set()
    for value in values:
        key = namespace if value == "." and namespace else value
        if key in seen:
            return f"`{value}` appears more than once in `exportTo`"
        special = value in (".", "*") or (service_entry and value == "~")
        if not special and (not _LOWER_DNS_LABEL_RE.match(value) or len(value) > 63):
            return f"`{value}` is not a valid `exportTo` entry; use `.`, `*` or a namespace name"
        seen.add(key)
    if "*" in seen and len(values) > 1:
        return "`exportTo` cannot mix `*` with other entries"
    if "~" in seen and len(values) > 1:
        return "`exportTo` cannot mix `~` (export to no one) with other entries"
    return None
