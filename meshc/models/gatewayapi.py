"""Typed models of the Kubernetes Gateway API kinds (`gateway.networking.k8s.io`) that Istio reads.

Gateway, GatewayClass, HTTPRoute, GRPCRoute, ReferenceGrant, TCPRoute and TLSRoute, with every
field of the experimental channel of Gateway API v1.6.0 (the version Istio 86c9f01fd735 builds
against; the standard channel is a subset). The constraints are the CRDs' OpenAPI schema (types,
patterns, lengths, enums, list sizes, `set` and `map` list types) and their CEL rules
(`x-kubernetes-validations`): what the API server rejects, meshc reports, with the CRD's message
in meshc's words. The shapes of the served versions are identical; where a version narrows a limit
(TLSRoute and TCPRoute `v1` allow one rule), the document model checks it.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from meshc.models import GATEWAY_API_GROUP, GATEWAY_API_VERSIONS
from meshc.models.base import Int32, Model, PortNumber, empty_dict, empty_list, fail, ticks
from meshc.models.meta import IstioResource

GROUP = GATEWAY_API_GROUP
"""The Gateway API group."""

VERSIONS = GATEWAY_API_VERSIONS
"""Versions each kind's CRD serves in Gateway API v1.6.0, newest first."""

# --- constrained strings -------------------------------------------------------------------------

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
DNS_LABEL = rf"^{_LABEL}$"
DNS_SUBDOMAIN = rf"^{_SUBDOMAIN}$"
GROUP_PATTERN = rf"^$|^{_SUBDOMAIN}$"
KIND_PATTERN = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
HOSTNAME_PATTERN = rf"^(\*\.)?{_SUBDOMAIN}$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$"
HEADER_VALUE_PATTERN = r"^[!-~]+([\t ]?[!-~]+)*$"
DURATION_PATTERN = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"
CONTROLLER_PATTERN = rf"^{_SUBDOMAIN}\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
ADDRESS_TYPE_PATTERN = rf"^Hostname|IPAddress|NamedAddress|{_SUBDOMAIN}\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
PROTOCOL_PATTERN = rf"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|{_SUBDOMAIN}\/[A-Za-z0-9]+$"
PATH_CHARS_PATTERN = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"
LABEL_KEY_PATTERN = rf"^({_SUBDOMAIN}/)?([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9]$"
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
ORIGIN_PATTERN = r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)"


class _Constraint:
    """Annotation metadata that checks a value after its type and adds keywords to its JSON Schema."""

    def schema_keywords(self) -> dict[str, Any]:
        """The JSON Schema keywords of the constraint."""
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        """Return `value`, or fail with a sentence saying what is wrong with it."""
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.update(self.schema_keywords())
        return out


class _Text(_Constraint):
    """The CRD's pattern and length limits of a string, with one sentence about `what`.

    The pattern is searched, as OpenAPI does (the CRD patterns anchor themselves); the JSON
    Schema gets the same `pattern`, `minLength` and `maxLength`.
    """

    def __init__(
        self,
        what: str,
        pattern: str | None = None,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.pattern = pattern
        self.compiled = re.compile(pattern) if pattern else None
        self.min_length = min_length
        self.max_length = max_length
        self.hint = hint

    def schema_keywords(self) -> dict[str, Any]:
        """`pattern`, `minLength` and `maxLength`."""
        found = {"pattern": self.pattern, "minLength": self.min_length, "maxLength": self.max_length}
        return {k: v for k, v in found.items() if v is not None}

    def check(self, value: str) -> str:
        """Return `value`, or fail on its length or pattern."""
        what = self.what
        if self.min_length and len(value) < self.min_length:
            fail("empty", f"{what} must not be empty")
        if self.max_length is not None and len(value) > self.max_length:
            shown = value if len(value) <= 40 else value[:37] + "..."
            fail("too_long", f"{what} `{shown}` is too long ({len(value)} characters; at most {self.max_length})")
        if self.compiled is not None and value and not self.compiled.search(value):
            fail("pattern", f"`{value}` is not a valid {what}", help=self.hint or f"it must match `{self.pattern}`")
        return value


class _Items(_Constraint):
    """The CRD's `minItems`/`maxItems` of a list, and `set` lists (no value twice)."""

    def __init__(self, *, max_items: int | None = None, min_items: int | None = None, unique: bool = False) -> None:
        self.max_items = max_items
        self.min_items = min_items
        self.unique = unique

    def schema_keywords(self) -> dict[str, Any]:
        """`maxItems`, `minItems` and `uniqueItems`."""
        found = {"maxItems": self.max_items, "minItems": self.min_items, "uniqueItems": self.unique or None}
        return {k: v for k, v in found.items() if v is not None}

    def check(self, values: list[Any]) -> list[Any]:
        """Return `values`, or fail on the first limit they break."""
        if self.min_items and len(values) < self.min_items:
            fail(
                "too_short",
                "must not be empty" if self.min_items == 1 else f"must have at least {self.min_items} items",
            )
        if self.max_items is not None and len(values) > self.max_items:
            fail("too_long", f"has {len(values)} items; at most {self.max_items} are allowed")
        if self.unique:
            seen: set[Any] = set()
            for i, v in enumerate(values):
                if v in seen:
                    fail("duplicate", f"`{v}` is listed twice", at=(i,))
                seen.add(v)
        return values


Group = Annotated[
    str,
    _Text(
        "API group",
        GROUP_PATTERN,
        max_length=253,
        hint="a DNS subdomain such as `gateway.networking.k8s.io`, or empty for the core group",
    ),
]
KindName = Annotated[str, _Text("kind", KIND_PATTERN, min_length=1, max_length=63, hint="a kind such as `Service`")]
ObjectName = Annotated[str, _Text("object name", min_length=1, max_length=253)]
NamespaceName = Annotated[
    str,
    _Text(
        "namespace",
        DNS_LABEL,
        min_length=1,
        max_length=63,
        hint="a namespace is a DNS label: lowercase letters, digits, `-`",
    ),
]
SectionName = Annotated[
    str,
    _Text("section name", DNS_SUBDOMAIN, min_length=1, max_length=253, hint="lowercase letters, digits, `-` and `.`"),
]
Hostname = Annotated[
    str,
    _Text(
        "hostname",
        HOSTNAME_PATTERN,
        min_length=1,
        max_length=253,
        hint="a lowercase DNS name, with an optional `*.` first label; no IP address, no port",
    ),
]
PreciseHostname = Annotated[
    str, _Text("hostname", DNS_SUBDOMAIN, min_length=1, max_length=253, hint="a lowercase DNS name without wildcard")
]
HeaderName = Annotated[
    str,
    _Text(
        "header name",
        HEADER_NAME_PATTERN,
        min_length=1,
        max_length=256,
        hint="an HTTP token: letters, digits and !#$%&'*+-.^_`|~",
    ),
]
HeaderValue = Annotated[
    str,
    _Text(
        "header value",
        HEADER_VALUE_PATTERN,
        min_length=1,
        max_length=4096,
        hint="visible ASCII characters, with single spaces or tabs between words",
    ),
]
GatewayDuration = Annotated[
    str,
    _Text(
        "duration",
        DURATION_PATTERN,
        hint="the Gateway API duration format: up to four `<number><unit>` parts, units h, m, s, ms (`10s`, `1m30s`)",
    ),
]
ControllerName = Annotated[
    str,
    _Text(
        "controller name",
        CONTROLLER_PATTERN,
        min_length=1,
        max_length=253,
        hint="a domain-prefixed path such as `istio.io/gateway-controller`",
    ),
]
ProtocolType = Annotated[
    str, _Text("protocol", PROTOCOL_PATTERN, min_length=1, max_length=255, hint="e.g. `HTTP`, `HTTPS`, `TLS`, `TCP`")
]
AddressType = Annotated[
    str,
    _Text(
        "address type",
        ADDRESS_TYPE_PATTERN,
        min_length=1,
        max_length=253,
        hint="`IPAddress`, `Hostname`, `NamedAddress` or a domain-prefixed type",
    ),
]
AnnotationValue = Annotated[str, _Text("annotation value", max_length=4096)]
LabelValue = Annotated[
    str,
    _Text(
        "label value",
        LABEL_VALUE_PATTERN,
        max_length=63,
        hint="letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
    ),
]
Origin = Annotated[
    str,
    _Text(
        "origin",
        ORIGIN_PATTERN,
        min_length=1,
        max_length=253,
        hint="`*`, or `http://` or `https://` and a host (`*.` allowed), with an optional port",
    ),
]
AuthPath = Annotated[str, _Text("path", PATH_CHARS_PATTERN, max_length=1024)]
RuleName = SectionName
Text1024 = Annotated[str, _Text("value", max_length=1024)]

Weight = Annotated[int, Field(ge=0, le=1000000)]
"""A backend weight, 0 to 1,000,000."""

PositiveInt32 = Annotated[int, Field(ge=1, le=2147483647)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=2147483647)]

_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)


def _duration_ms(text: str) -> int:
    """Milliseconds of a Gateway API duration (already checked against DURATION_PATTERN)."""
    units = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|h|m|s)", text))


def unique_by(
    values: Sequence[Any], key: Callable[[Any], Any], what: str, field: str, at: tuple[str | int, ...]
) -> None:
    """Fail when two entries of `values` share `key` (a `map` list type, or a CEL uniqueness rule)."""
    seen: dict[Any, int] = {}
    for i, v in enumerate(values):
        k = key(v)
        if k is None:
            continue
        if k in seen:
            fail("duplicate", f"{what} `{k}` is defined twice (entries {seen[k]} and {i})", at=(*at, i, field))
        seen[k] = i


# --- references ----------------------------------------------------------------------------------


class ParentReference(Model):
    """A route's parent: a Gateway (default), a listener of it, or a Service (a mesh route)."""

    group: Group = GROUP
    kind: KindName = "Gateway"
    namespace: NamespaceName | None = None
    name: ObjectName
    sectionName: SectionName | None = None
    port: PortNumber | None = None


class BackendObjectReference(Model):
    """A backend: a Service by default (`group: ""`, `kind: Service`), with a port."""

    group: Group = ""
    kind: KindName = "Service"
    name: ObjectName
    namespace: NamespaceName | None = None
    port: PortNumber | None = None

    @model_validator(mode="after")
    def _port_for_service(self) -> "BackendObjectReference":
        # CEL: (size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true
        if not self.group and self.kind == "Service" and self.port is None:
            fail("required", "missing required field `port` (a Service backend needs a port)")
        return self


class BackendRef(BackendObjectReference):
    """A weighted backend of a TCPRoute or TLSRoute."""

    weight: Weight = 1


class LocalObjectReference(Model):
    """A reference to an object in the same namespace (`extensionRef`, `parametersRef` of a Gateway)."""

    group: Group
    kind: KindName
    name: ObjectName


class SecretObjectReference(Model):
    """A reference to a Secret (by default) holding a certificate."""

    group: Group = ""
    kind: KindName = "Secret"
    name: ObjectName
    namespace: NamespaceName | None = None


class ObjectReference(Model):
    """A reference to an object of any kind, possibly in another namespace (CA certificates)."""

    group: Group
    kind: KindName
    name: ObjectName
    namespace: NamespaceName | None = None


# --- filters -------------------------------------------------------------------------------------


class HTTPHeader(Model):
    """A header name and value to set or add."""

    name: HeaderName
    value: HeaderValue


class HTTPHeaderFilter(Model):
    """Header changes: `set` (overwrite), `add` (append), `remove`."""

    set: Annotated[list[HTTPHeader], _Items(max_items=16)] = Field(default_factory=empty_list)
    add: Annotated[list[HTTPHeader], _Items(max_items=16)] = Field(default_factory=empty_list)
    remove: Annotated[list[str], _Items(max_items=16, unique=True)] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _unique(self) -> "HTTPHeaderFilter":
        # `set` and `add` are map lists keyed by name.
        unique_by(self.set, lambda h: h.name, "header", "name", ("set",))
        unique_by(self.add, lambda h: h.name, "header", "name", ("add",))
        return self


PathModifierType = Literal["ReplaceFullPath", "ReplacePrefixMatch"]


class HTTPPathModifier(Model):
    """How a redirect or rewrite changes the path."""

    type: PathModifierType
    replaceFullPath: Text1024 | None = None
    replacePrefixMatch: Text1024 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "HTTPPathModifier":
        for kind, name in (("ReplaceFullPath", "replaceFullPath"), ("ReplacePrefixMatch", "replacePrefixMatch")):
            present = getattr(self, name) is not None
            if self.type == kind and not present:
                fail("required", f"missing required field `{name}` (type is `{kind}`)")
            if present and self.type != kind:
                fail("path_modifier", f"`{name}` is set, but `type` is `{self.type}`", help=f"set `type: {kind}`")
        return self


class HTTPRequestRedirectFilter(Model):
    """A redirect answered by the proxy instead of forwarding."""

    scheme: Literal["http", "https"] | None = None
    hostname: PreciseHostname | None = None
    path: HTTPPathModifier | None = None
    port: PortNumber | None = None
    statusCode: Literal[301, 302, 303, 307, 308] = 302


class HTTPURLRewriteFilter(Model):
    """A rewrite of the host and path before forwarding."""

    hostname: PreciseHostname | None = None
    path: HTTPPathModifier | None = None


class Fraction(Model):
    """`numerator / denominator` of the requests (mirroring)."""

    numerator: NonNegativeInt32
    denominator: PositiveInt32 = 100

    @model_validator(mode="after")
    def _proper(self) -> "Fraction":
        if self.numerator > self.denominator:
            fail("fraction", f"numerator {self.numerator} is greater than denominator {self.denominator}")
        return self


class HTTPRequestMirrorFilter(Model):
    """A copy of the requests sent to another backend (responses are ignored)."""

    backendRef: BackendObjectReference
    percent: Annotated[int, Field(ge=0, le=100)] | None = None
    fraction: Fraction | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "HTTPRequestMirrorFilter":
        if self.percent is not None and self.fraction is not None:
            fail("one_of", "set only one of `percent` and `fraction`")
        return self


CorsMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"]


def _star_alone(values: list[Any], what: str) -> None:
    if "*" in values and len(values) > 1:
        fail("wildcard", f"`*` must be the only {what} when it is used")


class HTTPCORSFilter(Model):
    """Cross-origin resource sharing, answered by the proxy."""

    allowOrigins: Annotated[list[Origin], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)
    allowCredentials: bool | None = None
    allowMethods: Annotated[list[CorsMethod], _Items(max_items=9, unique=True)] = Field(default_factory=empty_list)
    allowHeaders: Annotated[list[HeaderName], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)
    exposeHeaders: Annotated[list[HeaderName], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)
    maxAge: PositiveInt32 = 5

    @model_validator(mode="after")
    def _wildcards(self) -> "HTTPCORSFilter":
        _star_alone(self.allowOrigins, "origin")
        _star_alone(self.allowMethods, "method")
        _star_alone(self.allowHeaders, "header")
        return self


class GRPCAuthConfig(Model):
    """What a gRPC external authorization service receives."""

    allowedHeaders: Annotated[list[str], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)


class HTTPAuthConfig(Model):
    """What an HTTP external authorization service receives and returns."""

    path: AuthPath | None = None
    allowedHeaders: Annotated[list[str], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)
    allowedResponseHeaders: Annotated[list[str], _Items(max_items=64, unique=True)] = Field(default_factory=empty_list)


class ForwardBodyConfig(Model):
    """Whether, and how much of, the request body goes to the authorization service."""

    maxSize: Int32 | None = None


class HTTPExternalAuthFilter(Model):
    """External authorization (experimental channel)."""

    protocol: Literal["HTTP", "GRPC"]
    backendRef: BackendObjectReference
    grpc: GRPCAuthConfig | None = None
    http: HTTPAuthConfig | None = None
    forwardBody: ForwardBodyConfig | None = None

    @model_validator(mode="after")
    def _protocol(self) -> "HTTPExternalAuthFilter":
        for proto, name in (("GRPC", "grpc"), ("HTTP", "http")):
            present = getattr(self, name) is not None
            if self.protocol == proto and not present:
                fail("required", f"missing required field `{name}` (protocol is `{proto}`)")
            if present and self.protocol != proto:
                fail("auth_protocol", f"`{name}` is set, but `protocol` is `{self.protocol}`")
        return self


HTTPFilterType = Literal[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
    "ExternalAuth",
]

_FILTER_FIELDS = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestMirror": "requestMirror",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
    "ExtensionRef": "extensionRef",
    "CORS": "cors",
    "ExternalAuth": "externalAuth",
}
"""Filter type → the field that configures it."""


def _check_filter_fields(filter_: Any, types: Iterable[str]) -> None:
    # CEL: filter.<field> must be specified for its type, and nil for every other type.
    for kind in types:
        name = _FILTER_FIELDS[kind]
        present = getattr(filter_, name) is not None
        if filter_.type == kind and not present:
            fail("required", f"missing required field `{name}` (type is `{kind}`)")
        if present and filter_.type != kind:
            fail("filter_field", f"`{name}` is set, but `type` is `{filter_.type}`", help=f"set `type: {kind}`")


class HTTPRouteFilter(Model):
    """One filter of an HTTPRoute rule or backend: `type` and the field of that type."""

    type: HTTPFilterType
    requestHeaderModifier: HTTPHeaderFilter | None = None
    responseHeaderModifier: HTTPHeaderFilter | None = None
    requestMirror: HTTPRequestMirrorFilter | None = None
    requestRedirect: HTTPRequestRedirectFilter | None = None
    urlRewrite: HTTPURLRewriteFilter | None = None
    extensionRef: LocalObjectReference | None = None
    cors: HTTPCORSFilter | None = None
    externalAuth: HTTPExternalAuthFilter | None = None

    @model_validator(mode="after")
    def _fields(self) -> "HTTPRouteFilter":
        _check_filter_fields(self, _FILTER_FIELDS)
        return self


def _check_filters(filters: list[Any], once: Iterable[str]) -> None:
    # CEL: each of these types at most once; RequestRedirect and URLRewrite not together.
    types = [f.type for f in filters]
    for kind in once:
        if types.count(kind) > 1:
            fail("duplicate", f"filter `{kind}` is used twice; it may appear once")
    if "RequestRedirect" in types and "URLRewrite" in types:
        fail("filters", "`RequestRedirect` and `URLRewrite` cannot be used together")


_HTTP_ONCE = ("CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")


def _http_filters(filters: list[HTTPRouteFilter]) -> list[HTTPRouteFilter]:
    _check_filters(filters, _HTTP_ONCE)
    return filters


HTTPRouteFilters = Annotated[Annotated[list[HTTPRouteFilter], _Items(max_items=16)], AfterValidator(_http_filters)]


class HTTPBackendRef(BackendRef):
    """A weighted backend of an HTTPRoute rule, with its own filters."""

    filters: HTTPRouteFilters = Field(default_factory=empty_list)


# --- HTTPRoute -----------------------------------------------------------------------------------

PathMatchType = Literal["Exact", "PathPrefix", "RegularExpression"]
_PATH_CHARS = re.compile(PATH_CHARS_PATTERN)


class HTTPPathMatch(Model):
    """A path match: `PathPrefix` (whole path segments, the default), `Exact` or `RegularExpression`."""

    type: PathMatchType = "PathPrefix"
    value: Text1024 = "/"

    @model_validator(mode="after")
    def _path(self) -> "HTTPPathMatch":
        # The CEL rules of HTTPPathMatch, in the CRD's order.
        if self.type not in ("Exact", "PathPrefix"):
            return self
        v = self.value
        problems = (
            (not v.startswith("/"), "must be an absolute path: start it with `/`"),
            ("//" in v, "must not contain `//`"),
            ("/./" in v, "must not contain `/./`"),
            ("/../" in v, "must not contain `/../`"),
            ("%2f" in v or "%2F" in v, "must not contain an encoded `/` (`%2F`)"),
            ("#" in v, "must not contain `#`"),
            (v.endswith("/.."), "must not end with `/..`"),
            (v.endswith("/."), "must not end with `/.`"),
        )
        for bad, why in problems:
            if bad:
                fail("path", f"path `{v}` {why}", at=("value",))
        if not _PATH_CHARS.match(v):
            fail(
                "path",
                f"path `{v}` has characters a path cannot hold",
                help="percent-encode them; allowed: letters, digits and -._~!$&'()*+,;=:@/",
                at=("value",),
            )
        return self


class HTTPHeaderMatch(Model):
    """A request header test: `Exact` (the default) or `RegularExpression`."""

    type: Literal["Exact", "RegularExpression"] = "Exact"
    name: HeaderName
    value: HeaderValue


class HTTPQueryParamMatch(Model):
    """A query parameter test: `Exact` (the default) or `RegularExpression`."""

    type: Literal["Exact", "RegularExpression"] = "Exact"
    name: HeaderName
    value: Annotated[str, _Text("query parameter value", min_length=1, max_length=1024)]


HTTPMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]


class HTTPRouteMatch(Model):
    """One match of a rule: every condition must hold."""

    path: HTTPPathMatch | None = None
    headers: Annotated[list[HTTPHeaderMatch], _Items(max_items=16)] = Field(default_factory=empty_list)
    queryParams: Annotated[list[HTTPQueryParamMatch], _Items(max_items=16)] = Field(default_factory=empty_list)
    method: HTTPMethod | None = None

    @model_validator(mode="after")
    def _unique(self) -> "HTTPRouteMatch":
        unique_by(self.headers, lambda h: h.name, "header", "name", ("headers",))
        unique_by(self.queryParams, lambda q: q.name, "query parameter", "name", ("queryParams",))
        return self

    @property
    def effective_path(self) -> HTTPPathMatch:
        """The path match, with the CRD default (`PathPrefix /`) when absent."""
        return self.path if self.path is not None else HTTPPathMatch()


class HTTPRouteTimeouts(Model):
    """Timeouts of a rule: the whole `request`, and each `backendRequest` (one try)."""

    request: GatewayDuration | None = None
    backendRequest: GatewayDuration | None = None

    @model_validator(mode="after")
    def _order(self) -> "HTTPRouteTimeouts":
        if self.request is None or self.backendRequest is None:
            return self
        request, backend = _duration_ms(self.request), _duration_ms(self.backendRequest)
        if request != 0 and backend > request:
            fail(
                "timeouts",
                f"`backendRequest` ({self.backendRequest}) cannot be longer than `request` ({self.request})",
                at=("backendRequest",),
            )
        return self


class HTTPRouteRetry(Model):
    """Retries of a rule (experimental channel)."""

    codes: Annotated[list[Annotated[int, Field(ge=400, le=599)]], _Items(unique=True)] = Field(
        default_factory=empty_list
    )
    attempts: PositiveInt32 | None = None
    backoff: GatewayDuration | None = None


class CookieConfig(Model):
    """Cookie lifetime of session persistence."""

    lifetimeType: Literal["Permanent", "Session"] = "Session"


class SessionPersistence(Model):
    """Session affinity by cookie or header (experimental channel)."""

    sessionName: Annotated[str, _Text("session name", max_length=128)] | None = None
    absoluteTimeout: GatewayDuration | None = None
    type: Literal["Cookie", "Header"] = "Cookie"
    cookieConfig: CookieConfig | None = None

    @model_validator(mode="after")
    def _cookie(self) -> "SessionPersistence":
        if self.cookieConfig is not None and self.type != "Cookie":
            fail("session", "`cookieConfig` can only be set with `type: Cookie`", at=("cookieConfig",))
        if self.cookieConfig is not None and self.cookieConfig.lifetimeType == "Permanent" and not self.absoluteTimeout:
            fail("required", "missing required field `absoluteTimeout` (the cookie lifetime is `Permanent`)")
        return self


def _prefix_replacement(filters: list[Any]) -> bool:
    """Whether a redirect or rewrite of these filters uses `path.replacePrefixMatch`."""
    for f in filters:
        for spec in (getattr(f, "requestRedirect", None), getattr(f, "urlRewrite", None)):
            path = getattr(spec, "path", None)
            if path is not None and path.type == "ReplacePrefixMatch" and path.replacePrefixMatch is not None:
                return True
    return False


DEFAULT_MATCH: Any = {"path": {"type": "PathPrefix", "value": "/"}}
"""The CRD default of `rules[].matches` is this one match (and of `rules`, one rule with it)."""


class HTTPRouteRule(Model):
    """A rule: matches (any may hold), filters, backends and timeouts."""

    name: RuleName | None = None
    matches: Annotated[list[HTTPRouteMatch], _Items(max_items=64)] = Field(
        default_factory=lambda: [HTTPRouteMatch(path=HTTPPathMatch())],
        json_schema_extra={"default": [DEFAULT_MATCH]},
    )
    filters: HTTPRouteFilters = Field(default_factory=empty_list)
    backendRefs: Annotated[list[HTTPBackendRef], _Items(max_items=16)] = Field(default_factory=empty_list)
    timeouts: HTTPRouteTimeouts | None = None
    retry: HTTPRouteRetry | None = None
    sessionPersistence: SessionPersistence | None = None

    @model_validator(mode="after")
    def _cel(self) -> "HTTPRouteRule":
        if self.backendRefs and any(f.type == "RequestRedirect" for f in self.filters):
            fail("redirect_backends", "a `RequestRedirect` filter cannot be used together with `backendRefs`")
        one_prefix = (
            len(self.matches) == 1 and self.matches[0].path is not None and self.matches[0].path.type == "PathPrefix"
        )
        if not one_prefix:
            if _prefix_replacement(self.filters):
                fail(
                    "replace_prefix",
                    "`path.replacePrefixMatch` needs exactly one match, of type `PathPrefix`",
                    at=("filters",),
                )
            for i, backend in enumerate(self.backendRefs):
                if _prefix_replacement(backend.filters):
                    fail(
                        "replace_prefix",
                        "`path.replacePrefixMatch` needs exactly one match, of type `PathPrefix`",
                        at=("backendRefs", i, "filters"),
                    )
        return self


def _check_parent_refs(refs: list[ParentReference]) -> list[ParentReference]:
    # CEL: two references to the same parent need (different) sectionName or port, on both.
    for i, a in enumerate(refs):
        for j in range(i):
            b = refs[j]
            if (a.group, a.kind, a.name, a.namespace or "") != (b.group, b.kind, b.name, b.namespace or ""):
                continue
            if (a.sectionName is None) != (b.sectionName is None) or (a.port is None) != (b.port is None):
                fail(
                    "parent_refs",
                    f"parent `{a.name}` is referenced twice: set `sectionName` or `port` on every reference to it",
                    at=(i,),
                )
            if a.sectionName == b.sectionName and a.port == b.port:
                fail(
                    "parent_refs",
                    f"parent `{a.name}` is referenced twice with the same `sectionName` and `port`",
                    at=(i,),
                )
    return refs


ParentRefs = Annotated[Annotated[list[ParentReference], _Items(max_items=32)], AfterValidator(_check_parent_refs)]


def _unique_rule_names(rules: list[Any]) -> list[Any]:
    unique_by(rules, lambda r: r.name, "rule name", "name", ())
    return rules


def _match_budget(rules: list[Any]) -> list[Any]:
    total = sum(len(r.matches) for r in rules)
    if total > 128:
        fail("too_many_matches", f"the rules have {total} matches in all; a route may have at most 128")
    return rules


class HTTPRouteSpec(Model):
    """The `spec` of an HTTPRoute."""

    parentRefs: ParentRefs = Field(default_factory=empty_list)
    hostnames: Annotated[list[Hostname], _Items(max_items=16)] = Field(default_factory=empty_list)
    rules: Annotated[
        Annotated[list[HTTPRouteRule], _Items(min_items=1, max_items=16)],
        AfterValidator(_unique_rule_names),
        AfterValidator(_match_budget),
    ] = Field(
        default_factory=lambda: [HTTPRouteRule()],
        json_schema_extra={"default": [{"matches": [DEFAULT_MATCH]}]},
    )
    useDefaultGateways: Literal["All", "None"] | None = None


class GatewayApiResource(IstioResource):
    """Fields shared by every Gateway API document: `apiVersion`, `kind`, `metadata`, `status`."""

    def _version(self) -> str:
        return self.apiVersion.rpartition("/")[2]


class HTTPRoute(GatewayApiResource):
    """A Gateway API HTTPRoute: HTTP routing for Gateways (and for Services, as a mesh route)."""

    apiVersion: Literal["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]
    kind: Literal["HTTPRoute"]
    spec: HTTPRouteSpec


# --- GRPCRoute -----------------------------------------------------------------------------------

_GRPC_SERVICE = re.compile(r"\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*\Z", re.IGNORECASE)
_GRPC_METHOD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")


class GRPCMethodMatch(Model):
    """A gRPC service and method test: `Exact` (the default) or `RegularExpression`."""

    type: Literal["Exact", "RegularExpression"] = "Exact"
    service: Text1024 | None = None
    method: Text1024 | None = None

    @model_validator(mode="after")
    def _cel(self) -> "GRPCMethodMatch":
        if "type" in self.model_fields_set and self.service is None and self.method is None:
            fail("required", "set `service`, `method` or both")
        if self.type == "Exact":
            if self.service is not None and not _GRPC_SERVICE.match(self.service):
                fail("grpc_service", f"`{self.service}` is not a valid gRPC service name", at=("service",))
            if self.method is not None and not _GRPC_METHOD.match(self.method):
                fail("grpc_method", f"`{self.method}` is not a valid gRPC method name", at=("method",))
        return self


class GRPCHeaderMatch(Model):
    """A gRPC metadata (header) test."""

    type: Literal["Exact", "RegularExpression"] = "Exact"
    name: HeaderName
    value: Annotated[str, _Text("header value", min_length=1, max_length=4096)]


class GRPCRouteMatch(Model):
    """One match of a gRPC rule."""

    method: GRPCMethodMatch | None = None
    headers: Annotated[list[GRPCHeaderMatch], _Items(max_items=16)] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _unique(self) -> "GRPCRouteMatch":
        unique_by(self.headers, lambda h: h.name, "header", "name", ("headers",))
        return self


_GRPC_FILTER_TYPES = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef")


class GRPCRouteFilter(Model):
    """One filter of a GRPCRoute rule or backend."""

    type: Literal["ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef"]
    requestHeaderModifier: HTTPHeaderFilter | None = None
    responseHeaderModifier: HTTPHeaderFilter | None = None
    requestMirror: HTTPRequestMirrorFilter | None = None
    extensionRef: LocalObjectReference | None = None

    @model_validator(mode="after")
    def _fields(self) -> "GRPCRouteFilter":
        _check_filter_fields(self, _GRPC_FILTER_TYPES)
        return self


def _grpc_filters(filters: list[GRPCRouteFilter]) -> list[GRPCRouteFilter]:
    _check_filters(filters, ("RequestHeaderModifier", "ResponseHeaderModifier"))
    return filters


GRPCRouteFilters = Annotated[Annotated[list[GRPCRouteFilter], _Items(max_items=16)], AfterValidator(_grpc_filters)]


class GRPCBackendRef(BackendRef):
    """A weighted backend of a GRPCRoute rule, with its own filters."""

    filters: GRPCRouteFilters = Field(default_factory=empty_list)


class GRPCRouteRule(Model):
    """A gRPC rule: matches, filters and backends."""

    name: RuleName | None = None
    matches: Annotated[list[GRPCRouteMatch], _Items(max_items=64)] = Field(default_factory=empty_list)
    filters: GRPCRouteFilters = Field(default_factory=empty_list)
    backendRefs: Annotated[list[GRPCBackendRef], _Items(max_items=16)] = Field(default_factory=empty_list)
    sessionPersistence: SessionPersistence | None = None


class GRPCRouteSpec(Model):
    """The `spec` of a GRPCRoute."""

    parentRefs: ParentRefs = Field(default_factory=empty_list)
    hostnames: Annotated[list[Hostname], _Items(max_items=16)] = Field(default_factory=empty_list)
    rules: Annotated[
        Annotated[list[GRPCRouteRule], _Items(max_items=16)],
        AfterValidator(_unique_rule_names),
        AfterValidator(_match_budget),
    ] = Field(default_factory=empty_list)
    useDefaultGateways: Literal["All", "None"] | None = None


class GRPCRoute(GatewayApiResource):
    """A Gateway API GRPCRoute: gRPC routing by service and method."""

    apiVersion: Literal["gateway.networking.k8s.io/v1"]
    kind: Literal["GRPCRoute"]
    spec: GRPCRouteSpec


# --- TCPRoute and TLSRoute -----------------------------------------------------------------------


class TCPRouteRule(Model):
    """A TCP (or TLS) rule: the weighted backends connections go to."""

    name: RuleName | None = None
    backendRefs: Annotated[list[BackendRef], _Items(min_items=1, max_items=16)]


TLSRouteRule = TCPRouteRule

_L4Rules = Annotated[
    Annotated[list[TCPRouteRule], _Items(min_items=1, max_items=16)], AfterValidator(_unique_rule_names)
]


class TCPRouteSpec(Model):
    """The `spec` of a TCPRoute."""

    parentRefs: ParentRefs = Field(default_factory=empty_list)
    rules: _L4Rules
    useDefaultGateways: Literal["All", "None"] | None = None


def _one_rule_in_v1(resource: GatewayApiResource, rules: list[Any]) -> None:
    # The v1 CRDs of TCPRoute and TLSRoute allow a single rule (maxItems: 1).
    if resource._version() == "v1" and len(rules) > 1:
        fail(
            "too_long",
            f"has {len(rules)} rules; `{resource.apiVersion}` {resource.kind} allows one",
            help="merge the backends into one rule",
            at=("spec", "rules"),
        )


class TCPRoute(GatewayApiResource):
    """A Gateway API TCPRoute: connections of a TCP listener to backends."""

    apiVersion: Literal["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"]
    kind: Literal["TCPRoute"]
    spec: TCPRouteSpec

    @model_validator(mode="after")
    def _version_limits(self) -> "TCPRoute":
        _one_rule_in_v1(self, self.spec.rules)
        return self


class TLSRouteSpec(Model):
    """The `spec` of a TLSRoute."""

    parentRefs: ParentRefs = Field(default_factory=empty_list)
    hostnames: Annotated[list[Hostname], _Items(max_items=1024)] = Field(default_factory=empty_list)
    rules: _L4Rules
    useDefaultGateways: Literal["All", "None"] | None = None


class TLSRoute(GatewayApiResource):
    """A Gateway API TLSRoute: TLS connections routed by SNI, without terminating them."""

    apiVersion: Literal[
        "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha3", "gateway.networking.k8s.io/v1alpha2"
    ]
    kind: Literal["TLSRoute"]
    spec: TLSRouteSpec

    @model_validator(mode="after")
    def _version_limits(self) -> "TLSRoute":
        _one_rule_in_v1(self, self.spec.rules)
        if self._version() == "v1" and not self.spec.hostnames:
            fail(
                "required",
                "missing required field `hostnames` (`v1` TLSRoutes must name their SNI hosts)",
                at=("spec",),
            )
        return self


# --- ReferenceGrant ------------------------------------------------------------------------------


class ReferenceGrantFrom(Model):
    """Who may refer: a kind of a group, in a namespace."""

    group: Group
    kind: KindName
    namespace: NamespaceName


class ReferenceGrantTo(Model):
    """What may be referred to in the grant's namespace: a kind, optionally one name."""

    group: Group
    kind: KindName
    name: ObjectName | None = None


class ReferenceGrantSpec(Model):
    """The `spec` of a ReferenceGrant."""

    from_: Annotated[list[ReferenceGrantFrom], _Items(min_items=1, max_items=16)] = Field(alias="from")
    to: Annotated[list[ReferenceGrantTo], _Items(min_items=1, max_items=16)]


class ReferenceGrant(GatewayApiResource):
    """A Gateway API ReferenceGrant: lets objects of another namespace refer to objects of this one."""

    apiVersion: Literal["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]
    kind: Literal["ReferenceGrant"]
    spec: ReferenceGrantSpec


# --- GatewayClass --------------------------------------------------------------------------------


class ParametersReference(Model):
    """A reference to a class's parameters (a ConfigMap for Istio)."""

    group: Group
    kind: KindName
    name: ObjectName
    namespace: NamespaceName | None = None


class GatewayClassSpec(Model):
    """The `spec` of a GatewayClass."""

    controllerName: ControllerName
    parametersRef: ParametersReference | None = None
    description: Annotated[str, _Text("description", max_length=64)] | None = None


class GatewayClass(GatewayApiResource):
    """A Gateway API GatewayClass: the controller that implements the Gateways of the class."""

    apiVersion: Literal["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]
    kind: Literal["GatewayClass"]
    spec: GatewayClassSpec


# --- Gateway -------------------------------------------------------------------------------------


class LabelSelectorRequirement(Model):
    """A `matchExpressions` entry of a Kubernetes label selector."""

    key: str
    operator: str
    values: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _operator(self) -> "LabelSelectorRequirement":
        # metav1.LabelSelectorAsSelector, which Istio runs (namespacesFromSelector): an error
        # there makes the listener admit no namespace.
        if self.operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            fail(
                "operator",
                f"`{self.operator}` is not a label selector operator; expected one of "
                + ticks(("In", "NotIn", "Exists", "DoesNotExist")),
                at=("operator",),
            )
        if self.operator in ("In", "NotIn") and not self.values:
            fail("required", f"`values` must not be empty for operator `{self.operator}`", at=("values",))
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            fail("values", f"`values` must be empty for operator `{self.operator}`", at=("values",))
        return self


class LabelSelector(Model):
    """A Kubernetes label selector (`matchLabels` and `matchExpressions`)."""

    matchLabels: dict[str, str] = Field(default_factory=empty_dict)
    matchExpressions: list[LabelSelectorRequirement] = Field(default_factory=empty_list)


class RouteNamespaces(Model):
    """Which namespaces' routes a listener admits: `Same` (the default), `All` or `Selector`."""

    from_: Literal["All", "Selector", "Same"] = Field(default="Same", alias="from")
    selector: LabelSelector | None = None


class RouteGroupKind(Model):
    """A route kind a listener admits."""

    group: Group = GROUP
    kind: KindName


class AllowedRoutes(Model):
    """Which routes may attach to a listener."""

    namespaces: RouteNamespaces = Field(
        default_factory=RouteNamespaces, json_schema_extra={"default": {"from": "Same"}}
    )
    kinds: Annotated[list[RouteGroupKind], _Items(max_items=8)] = Field(default_factory=empty_list)


class GatewayTLSConfig(Model):
    """TLS of a listener: terminate with certificates, or pass through."""

    mode: Literal["Terminate", "Passthrough"] = "Terminate"
    certificateRefs: Annotated[list[SecretObjectReference], _Items(max_items=64)] = Field(default_factory=empty_list)
    options: dict[str, AnnotationValue] = Field(default_factory=empty_dict)

    @model_validator(mode="after")
    def _terminate(self) -> "GatewayTLSConfig":
        if self.mode == "Terminate" and not self.certificateRefs and not self.options:
            fail("required", "set `certificateRefs` (or `options`) when `mode` is `Terminate`")
        return self


class Listener(Model):
    """A listener of a Gateway: a port, a protocol, an optional hostname and the routes it admits."""

    name: SectionName
    hostname: Hostname | None = None
    port: PortNumber
    protocol: ProtocolType
    tls: GatewayTLSConfig | None = None
    allowedRoutes: AllowedRoutes = Field(
        default_factory=AllowedRoutes, json_schema_extra={"default": {"namespaces": {"from": "Same"}}}
    )


def _check_listeners(listeners: list[Listener]) -> list[Listener]:
    # The CEL rules of spec.listeners, in the CRD's order.
    for i, listener in enumerate(listeners):
        protocol = listener.protocol
        if protocol in ("HTTP", "TCP", "UDP") and listener.tls is not None:
            fail("tls", f"`tls` must not be set on a `{protocol}` listener", at=(i, "tls"))
        if protocol == "HTTPS" and listener.tls is not None and listener.tls.mode != "Terminate":
            fail("tls", "an `HTTPS` listener must use `tls.mode: Terminate`", at=(i, "tls", "mode"))
        if protocol == "TLS" and (listener.tls is None or "mode" not in listener.tls.model_fields_set):
            fail("required", "a `TLS` listener needs `tls.mode` (`Passthrough` or `Terminate`)", at=(i,))
        if protocol in ("TCP", "UDP") and listener.hostname:
            fail("hostname", f"`hostname` must not be set on a `{protocol}` listener", at=(i, "hostname"))
    unique_by(listeners, lambda lst: lst.name, "listener name", "name", ())
    unique_by(
        listeners,
        lambda lst: (lst.port, lst.protocol, lst.hostname or ""),
        "listener with this port, protocol and hostname",
        "port",
        (),
    )
    return listeners


class GatewaySpecAddress(Model):
    """An address requested for the Gateway."""

    type: AddressType = "IPAddress"
    value: Annotated[str, _Text("address", max_length=253)] | None = None

    @model_validator(mode="after")
    def _hostname(self) -> "GatewaySpecAddress":
        if self.type == "Hostname" and self.value and not re.search(HOSTNAME_PATTERN, self.value):
            fail("pattern", f"`{self.value}` is not a valid hostname", at=("value",))
        return self


def _unique_addresses(addresses: list[GatewaySpecAddress]) -> list[GatewaySpecAddress]:
    for kind in ("IPAddress", "Hostname"):

        def value(address: GatewaySpecAddress, kind: str = kind) -> str | None:
            return address.value if address.type == kind and address.value else None

        unique_by(addresses, value, f"{kind} value", "value", ())
    return addresses


def _check_meta_keys(values: dict[str, str], what: str) -> dict[str, str]:
    for key in values:
        if not _LABEL_KEY.match(key) or len(key.split("/")[0]) >= 253:
            fail(
                "key",
                f"`{key}` is not a valid {what} key",
                help="an optional DNS subdomain prefix and `/`, then a name of at most 63 characters",
                at=(key,),
            )
    return values


class GatewayInfrastructure(Model):
    """Labels, annotations and parameters for what the controller deploys for the Gateway."""

    labels: Annotated[dict[str, LabelValue], AfterValidator(lambda v: _check_meta_keys(v, "label"))] = Field(
        default_factory=empty_dict
    )
    annotations: Annotated[dict[str, AnnotationValue], AfterValidator(lambda v: _check_meta_keys(v, "annotation"))] = (
        Field(default_factory=empty_dict)
    )
    parametersRef: LocalObjectReference | None = None


class ListenerNamespaces(Model):
    """Which namespaces' ListenerSets may attach: `None` (the default), `Same`, `All` or `Selector`."""

    from_: Literal["All", "Selector", "Same", "None"] = Field(default="None", alias="from")
    selector: LabelSelector | None = None


class AllowedListeners(Model):
    """Which ListenerSets may add listeners to the Gateway."""

    namespaces: ListenerNamespaces = Field(default_factory=ListenerNamespaces)


class FrontendTLSValidation(Model):
    """Client certificate validation of a Gateway's TLS listeners."""

    caCertificateRefs: Annotated[list[ObjectReference], _Items(min_items=1, max_items=16)]
    mode: Literal["AllowValidOnly", "AllowInsecureFallback"] = "AllowValidOnly"


class TLSConfig(Model):
    """Frontend TLS settings."""

    validation: FrontendTLSValidation | None = None


class TLSPortConfig(Model):
    """Frontend TLS settings of one port."""

    port: PortNumber
    tls: TLSConfig


class FrontendTLSConfig(Model):
    """Frontend TLS settings: the default, and per port."""

    default: TLSConfig
    perPort: Annotated[list[TLSPortConfig], _Items(max_items=64)] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _unique(self) -> "FrontendTLSConfig":
        unique_by(self.perPort, lambda p: p.port, "port", "port", ("perPort",))
        return self


class GatewayBackendTLS(Model):
    """TLS from the Gateway to its backends."""

    clientCertificateRef: SecretObjectReference | None = None


class GatewayTLS(Model):
    """Gateway-wide TLS: to clients (`frontend`) and to backends (`backend`)."""

    backend: GatewayBackendTLS | None = None
    frontend: FrontendTLSConfig | None = None


class GatewaySpec(Model):
    """The `spec` of a Gateway."""

    gatewayClassName: ObjectName
    listeners: Annotated[Annotated[list[Listener], _Items(min_items=1, max_items=64)], AfterValidator(_check_listeners)]
    addresses: Annotated[
        Annotated[list[GatewaySpecAddress], _Items(max_items=16)], AfterValidator(_unique_addresses)
    ] = Field(default_factory=empty_list)
    infrastructure: GatewayInfrastructure | None = None
    allowedListeners: AllowedListeners | None = None
    tls: GatewayTLS | None = None
    defaultScope: Literal["All", "None"] | None = None


class Gateway(GatewayApiResource):
    """A Gateway API Gateway: listeners that a controller (Istio: a deployed proxy) serves."""

    apiVersion: Literal["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]
    kind: Literal["Gateway"]
    spec: GatewaySpec


KINDS: dict[str, type[GatewayApiResource]] = {
    "Gateway": Gateway,
    "GatewayClass": GatewayClass,
    "HTTPRoute": HTTPRoute,
    "GRPCRoute": GRPCRoute,
    "ReferenceGrant": ReferenceGrant,
    "TCPRoute": TCPRoute,
    "TLSRoute": TLSRoute,
}
"""The Gateway API document models by kind, registered by `meshc.models` under GROUP."""

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")
"""The route kinds Istio reads."""
