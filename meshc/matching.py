"""How Envoy matches a request: the match types and string tests every command asks.

The one place meshc decides whether a request passes a condition: the simulator (`meshc route`,
`meshc test`), witness requests (`meshc diff`) and the shadowing analysis (MC202-MC204) all call
these methods. The semantics are Envoy's, as istiod configures it
(pilot/pkg/networking/core/route/route.go `TranslateRouteMatch`).

The IR (`meshc.ir`) holds these types in its routes and re-exports them (`ir.RouteMatch` is
`matching.RouteMatch`); they live apart so that a lint, whose shadowing analysis needs only them,
does not import the fifty other node types of the IR.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import msgspec
import re2

from meshc.models.checks import routing_claim
from meshc.patterns import lazy

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_LONE_SURROGATE = lazy("[\ud800-\udfff]")


def ascii_lower(text: str) -> str:
    """`A`-`Z` lowered, every other character kept: how Envoy folds case.

    Envoy folds ASCII only: `absl::AsciiStrToLower` for header names (`Http::LowerCaseString`) and
    the Host, `absl::StartsWithIgnoreCase` / `absl::EqualsIgnoreCase` for a path matcher with
    `case_sensitive: false` (Istio `ignoreUriCase`). `É` stays `É`, the Kelvin sign stays itself.
    """
    if text.isascii():
        return text.lower()  # the same thing, and a hundred times faster than translate
    return text.translate(_ASCII_LOWER)


def wire_bytes(text: str) -> bytes:
    """The bytes of a value on the wire and in Envoy's configuration: its UTF-8 encoding.

    A value read from the command line keeps the bytes it had (`surrogateescape`); a lone surrogate
    (a JSON escape) becomes U+FFFD, as Go's JSON decoder makes it in istiod.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


REGEX_OPTIONS = re2.Options()
"""How Envoy's regexes are compiled here: Latin-1, so that RE2 reads one character per byte (`regex_fullmatch`)."""
REGEX_OPTIONS.encoding = re2.Options.Encoding.LATIN1
REGEX_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=4096)
def compiled_regex(pattern: str) -> Any | None:
    """`pattern` compiled as Envoy runs it (see `regex_fullmatch`), or None when RE2 rejects it."""
    try:
        return re2.compile(wire_bytes(pattern), REGEX_OPTIONS)
    except re2.error:
        return None


def regex_fullmatch(pattern: str, value: str) -> bool:
    r"""Envoy `safe_regex`: RE2 matches the WHOLE value, one byte at a time.

    Envoy hands RE2 the bytes of the header (or path) and RE2 reads one character per byte: the
    pattern's UTF-8 bytes, compiled in RE2's Latin-1 mode, against the value's UTF-8 bytes. Measured
    on Envoy 1.40 (tests/e2e/test_envoy_matching.py): `caf.` does not match `café` and `caf..`
    does, `.{5}` matches `café`, `caf[^a]` does not, and `caf.` matches the Latin-1 byte `caf\xe9`.
    A pattern RE2 rejects matches nothing (Envoy rejects the configuration).
    """
    compiled = compiled_regex(pattern)
    return compiled is not None and compiled.fullmatch(wire_bytes(value)) is not None


def quote_meta(text: str) -> str:
    """Go's `regexp.QuoteMeta`: literal text in a regex, escaped as istiod escapes it.

    It escapes fewer characters than Python's `re.escape`, so the patterns meshc writes are istiod's.
    """
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def regex_replace_all(pattern: str, value: str, substitution: str) -> str:
    r"""Envoy `regex_rewrite`: every match of `pattern` in `value` replaced (`re2::RE2::GlobalReplace`, `\1` groups)."""
    compiled = compiled_regex(pattern)
    if compiled is None:
        return value
    return compiled.sub(wire_bytes(substitution), wire_bytes(value)).decode("utf-8", "surrogateescape")


class StringMatch(msgspec.Struct):
    """Envoy's StringMatcher plus presence: how one value is compared."""

    kind: Literal["exact", "prefix", "regex", "present"]
    """`exact`/`prefix`: case-sensitive comparison; `regex`: RE2 that must match the WHOLE value
    (byte by byte, `regex_fullmatch`); `present`: the value exists (an empty value counts)."""
    value: str = ""
    """The string or RE2 pattern; empty for `present`."""
    ignore_case: bool = False
    """`exact`/`prefix` compare with ASCII case folded (Envoy `ignore_case`; never on a regex). Istio sets
    it on no header condition; the path matcher of `ignoreUriCase` is one (see `PathMatch`)."""

    @classmethod
    def of(cls, m: Any) -> StringMatch:
        """A VirtualService `StringMatch` of a header, query parameter or claim condition.

        None, `{}` and `regex: "*"` are presence (route.go `canBeConvertedToPresentMatch`); the rest
        `util.ConvertToEnvoyMatch`.
        """
        if m is None:
            return cls("present")
        if m.exact is not None:
            return cls("exact", m.exact)
        if m.prefix is not None:
            return cls("prefix", m.prefix)
        if m.regex is not None and m.regex != "*":
            return cls("regex", m.regex)
        return cls("present")

    def matches(self, value: str) -> bool:
        """Whether a value that is there passes (Envoy `StringMatcherImpl::match`; `present`: any value)."""
        kind = self.kind
        if kind == "regex":
            return regex_fullmatch(self.value, value)
        if kind == "present":
            return True
        want = self.value
        if self.ignore_case:  # absl::EqualsIgnoreCase / absl::StartsWithIgnoreCase: ASCII only
            value, want = ascii_lower(value), ascii_lower(want)
        return value == want if kind == "exact" else value.startswith(want)


class PathMatch(msgspec.Struct):
    """How the request path (without the query string) is matched."""

    kind: Literal["exact", "prefix", "path_separated_prefix", "regex"]
    """`exact` (Envoy `path`), `prefix` (`prefix`), `path_separated_prefix` (whole path segments: the
    path without its query is the value or starts with the value and `/`; a Gateway API `PathPrefix`)
    or `regex` (`safe_regex`, whole-path RE2)."""
    value: str
    """Path, prefix or RE2 pattern."""
    ignore_case: bool = False
    """VirtualService `ignoreUriCase` (Envoy `case_sensitive: false`); no effect on `regex`."""

    def matches(self, path: str) -> bool:
        """Whether a request `:path` (query string included) passes.

        Envoy (source/common/router/config_impl.cc): `prefix` tests the whole `:path`; `path` and
        `safe_regex` test it without the query string and fragment (`PathUtil::removeQueryAndFragment`).
        `case_sensitive: false` folds ASCII only and does not apply to a regex. `path_separated_prefix`
        (PathSeparatedPrefixMatcher) holds when the path without its query is the value, or the value
        and then `/`.
        """
        if self.kind == "path_separated_prefix":
            tested, want = self.tested_part(path), self.value
            if self.ignore_case:
                tested, want = ascii_lower(tested), ascii_lower(want)
            return tested == want or tested.startswith(want + "/")
        return self.string_match.matches(self.tested_part(path))

    @property
    def string_match(self) -> StringMatch:
        """The StringMatcher Envoy builds for this path condition (`case_sensitive: false` → `ignore_case`).

        For `path_separated_prefix`, the plain prefix every path it admits starts with (what an index
        of candidate routes may use; `matches` decides).
        """
        kind = "prefix" if self.kind == "path_separated_prefix" else self.kind
        return StringMatch(kind, self.value, self.ignore_case and self.kind != "regex")

    def tested_part(self, path: str) -> str:
        """The part of `:path` this matcher looks at (all of it for a prefix; else without the query)."""
        return path if self.kind == "prefix" else path_without_query(path)


def path_without_query(path: str) -> str:
    """`:path` without its query string and fragment (Envoy `PathUtil::removeQueryAndFragment`)."""
    cut = len(path)
    for mark in ("?", "#"):
        at = path.find(mark)
        if at != -1 and at < cut:
            cut = at
    return path[:cut]


def query_params(path: str) -> list[tuple[str, str]]:
    """The raw (not percent-decoded) query parameters of a `:path`, in order.

    Envoy `QueryParamsMulti::parseQueryString`: split at `&`, each at its first `=`.
    """
    at = path.find("?")
    if at == -1:
        return []
    raw = path[at + 1 :].split("#", 1)[0]
    out = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.append((name, value))
    return out


class HeaderMatch(msgspec.Struct):
    """One header condition (from `headers` or `withoutHeaders`)."""

    name: str
    """Header name, lowercase (ASCII: Envoy `Http::LowerCaseString`)."""
    match: StringMatch
    """How the value is compared (`present` for `{}` or `regex: "*"`)."""
    invert: bool = False
    """`withoutHeaders`: the condition holds when the match does NOT (Envoy `invert_match`)."""
    treat_missing_as_empty: bool = False
    """A missing header is compared as `""` (Envoy `treat_missing_header_as_empty`); set for
    `withoutHeaders` except the presence form, so `withoutHeaders: {x: {exact: v}}` holds when x is
    absent."""

    def holds(self, values: Sequence[str]) -> bool:
        """Whether the condition holds for a request with these values of the header (none: absent).

        Envoy `HeaderUtility::matchHeaders`: the test passes when any one value passes it (measured
        on Envoy 1.40 with `x-a: 1` and `x-a: 2`: `exact: "1"` and `exact: "2"` match, `exact: "1,2"`
        does not: tests/e2e/test_envoy_matching.py); an absent header passes only an inverted presence
        test (with `treat_missing_header_as_empty` it is tested as `""`); `invert_match` flips the result.
        """
        if not values:
            if not self.treat_missing_as_empty:
                return self.invert and self.match.kind == "present"
            values = ("",)
        return any(self.match.matches(v) for v in values) != self.invert


class QueryParamMatch(msgspec.Struct):
    """One query parameter condition; the name is case-sensitive and the value raw (not decoded)."""

    name: str
    """Parameter name as written."""
    match: StringMatch
    """How the (first) value is compared (`present` for `{}` or `regex: "*"`)."""

    def holds(self, values: Sequence[str]) -> bool:
        """Whether the condition holds for these values of the parameter, in request order (none: absent).

        Envoy `QueryParameterMatcher::matches`: only the first value is tested; an absent parameter fails.
        """
        return bool(values) and self.match.matches(values[0])


class ClaimMatch(msgspec.Struct):
    """A JWT claim condition (`headers["@request.auth.claims.X"]`).

    Envoy matches it on the dynamic metadata of `envoy.filters.http.jwt_authn`, path `payload.X...`;
    it needs a JwtProvider that validated the token.
    """

    claim: list[str]
    """Claim path, outermost first (`@request.auth.claims.group.id` → `[group, id]`)."""
    match: StringMatch
    """How the claim (a string, or any element of a list of strings) is compared."""
    invert: bool = False
    """From `withoutHeaders`: holds when the claim does not match."""

    def value(self, claims: Mapping[str, Any]) -> tuple[bool, Any]:
        """(found, value) of this claim path in the validated claims."""
        node: Any = claims
        for part in self.claim:
            if not isinstance(node, Mapping) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def holds(self, claims: Mapping[str, Any]) -> bool:
        """Whether the condition holds for the claims of a validated JWT.

        Istio writes a metadata matcher whose value is a string test OR a list whose elements one
        passes (pilot/pkg/security/authz/matcher/metadata.go `MetadataListValueMatcher`); Envoy's
        string test fails on a number, a boolean or an object, and `present_match` holds for any
        value. A missing claim fails; `invert` flips the result.
        """
        found, node = self.value(claims)
        if not found:
            ok = False
        elif self.match.kind == "present":
            ok = True
        elif isinstance(node, str):
            ok = self.match.matches(node)
        elif isinstance(node, list):
            ok = any(isinstance(v, str) and self.match.matches(v) for v in node)
        else:
            ok = False
        return ok != self.invert


class HttpRequest(Protocol):
    """What a route match reads of a request (`meshc.simulate.Request` is one)."""

    @property
    def path(self) -> str:
        """`:path`, query string included."""
        ...

    @property
    def method(self) -> str:
        """`:method`."""
        ...

    @property
    def host(self) -> str:
        """`:authority` as sent."""
        ...

    @property
    def scheme(self) -> str | None:
        """`:scheme` (None: `http`)."""
        ...

    @property
    def claims(self) -> dict[str, Any]:
        """Claims of a validated JWT."""
        ...

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The other headers, in order."""
        ...

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive name)."""
        ...


class Mismatch(msgspec.Struct, frozen=True):
    """The first condition of a route match a request fails, and what the request has there."""

    field: Literal["path", "header", "method", "authority", "scheme", "query", "claim"]
    """Which part of the request."""
    condition: PathMatch | HeaderMatch | StringMatch | QueryParamMatch | ClaimMatch
    """The condition that failed."""
    have: tuple[str, ...] | None
    """What the request has there (None: absent, or no such claim)."""


class RouteMatch(msgspec.Struct):
    """Conditions of one route; all must hold (AND). Several routes express OR."""

    path: PathMatch = msgspec.field(default_factory=lambda: PathMatch("prefix", "/"))
    """Path condition; a match block without `uri` gets prefix `/`."""
    headers: list[HeaderMatch] = msgspec.field(default_factory=list)
    """Header conditions, sorted by name (`headers` and `withoutHeaders` together)."""
    method: StringMatch | None = None
    """`:method` condition."""
    authority: StringMatch | None = None
    """`:authority` (Host) condition; the value includes any `:port` the client sent."""
    scheme: StringMatch | None = None
    """`:scheme` condition (`http`/`https`)."""
    query_params: list[QueryParamMatch] = msgspec.field(default_factory=list)
    """Query parameter conditions, sorted by name."""
    jwt_claims: list[ClaimMatch] = msgspec.field(default_factory=list)
    """JWT claim conditions, in the order written."""

    @classmethod
    def of(cls, m: Any) -> RouteMatch:
        """An `HTTPMatchRequest` (or None: a rule without `match`) as Envoy gets it (route.go `TranslateRouteMatch`).

        Header names are lowered (ASCII) as Envoy does; `@request.auth.claims…` names become claim
        conditions (`routing_claim`); `withoutHeaders` inverts, and treats a missing header as empty
        except in the presence form.
        """
        out = cls()
        if m is None:
            return out
        uri = m.uri
        if uri is not None:
            kind, value = "prefix", "/"
            if uri.exact is not None:
                kind, value = "exact", uri.exact
            elif uri.prefix is not None:
                kind, value = "prefix", uri.prefix
            elif uri.regex is not None:
                kind, value = "regex", uri.regex
            out.path = PathMatch(kind, value, bool(m.ignoreUriCase))  # type: ignore[arg-type]
        elif m.ignoreUriCase:
            out.path = PathMatch("prefix", "/", True)
        headers: list[HeaderMatch] = []
        for invert, table in ((False, m.headers), (True, m.withoutHeaders)):
            if not table:
                continue
            for name, sm in table.items():
                match = StringMatch.of(sm)
                claim = routing_claim(name)
                if claim is not None:
                    out.jwt_claims.append(ClaimMatch(claim, match, invert))
                else:
                    headers.append(HeaderMatch(ascii_lower(name), match, invert, invert and match.kind != "present"))
        if len(headers) > 1:
            headers.sort(key=lambda h: h.name)
        out.headers = headers
        if m.method is not None:
            out.method = StringMatch.of(m.method)
        if m.authority is not None:
            out.authority = StringMatch.of(m.authority)
        if m.scheme is not None:
            out.scheme = StringMatch.of(m.scheme)
        if m.queryParams:
            out.query_params = [QueryParamMatch(k, StringMatch.of(v)) for k, v in sorted(m.queryParams.items())]
        return out

    def mismatch(self, request: HttpRequest) -> Mismatch | None:
        """The first condition `request` fails, or None when the route matches (`RouteEntryImplBase::matchRoute`)."""
        if not self.path.matches(request.path):
            return Mismatch("path", self.path, (self.path.tested_part(request.path),))
        for hm in self.headers:
            values = request.header_values(hm.name)
            if not hm.holds(values):
                return Mismatch("header", hm, tuple(values) or None)
        for label, sm, value in (
            ("method", self.method, request.method),
            ("authority", self.authority, request.host),
            ("scheme", self.scheme, request.scheme or "http"),
        ):
            # Istio matches these as the pseudo-headers `:method`, `:authority` and `:scheme`.
            if sm is not None and not sm.matches(value):
                return Mismatch(label, sm, (value,))  # type: ignore[arg-type]
        if self.query_params:
            query = query_params(request.path)
            for qm in self.query_params:
                values = [v for k, v in query if k == qm.name]
                if not qm.holds(values):
                    return Mismatch("query", qm, (values[0],) if values else None)
        for cm in self.jwt_claims:
            if not cm.holds(request.claims):
                found, node = cm.value(request.claims)
                have = None if not found else tuple(str(v) for v in node) if isinstance(node, list) else (str(node),)
                return Mismatch("claim", cm, have)
        return None

    def matches(self, request: HttpRequest) -> bool:
        """Whether every condition holds for `request`."""
        return self.mismatch(request) is None

    @property
    def catches_all(self) -> bool:
        """The route matches every request: route.go `IsCatchAllRoute` (prefix `/` or regex `.*`, nothing else)."""
        p = self.path
        path_all = (p.kind == "prefix" and p.value == "/") or (p.kind == "regex" and p.value == ".*")
        return (
            path_all
            and not self.headers
            and self.method is None
            and self.authority is None
            and self.scheme is None
            and not self.query_params
            and not self.jwt_claims
        )


class MatchScope(msgspec.Struct):
    """Where a match block exists: the config-time conditions Istio uses to keep or drop it for a proxy.

    pilot/pkg/networking/core/route/route.go: `translateRoute` drops a block whose `port` is not the
    listener's, and `sourceMatchHTTP` one whose `gateways`, `sourceLabels` or `sourceNamespace` do not
    fit the proxy (a block that lists `gateways` is not checked for the source).
    """

    port: int | None = None
    """`port`; None: any port."""
    gateways: list[str] = msgspec.field(default_factory=list)
    """`gateways`, resolved (`mesh` or `ns/name`); empty: every gateway of the VirtualService."""
    gateway_names: list[str] = msgspec.field(default_factory=list)
    """`gateways` as written (for messages)."""
    source_labels: dict[str, str] = msgspec.field(default_factory=dict)
    """`sourceLabels`: the client must have every one."""
    source_namespace: str | None = None
    """`sourceNamespace`: the client's namespace."""

    @classmethod
    def of(cls, m: Any, resolve_gateway: Callable[[str], str]) -> MatchScope:
        """The scope of an `HTTPMatchRequest` (or TCP/TLS match); `resolve_gateway` gives a reference's `ns/name`."""
        if m is None or not (m.port or m.gateways or m.sourceLabels or m.sourceNamespace):
            return cls()
        return cls(
            m.port or None,
            [resolve_gateway(g) for g in m.gateways],
            list(m.gateways),
            dict(m.sourceLabels),
            m.sourceNamespace or None,
        )

    def reason(self, port: int, gateway: str, labels: Mapping[str, str], namespace: str) -> str | None:
        """Why the block produces no route on `port` of a proxy (`gateway`: `mesh` or `ns/name`), or None."""
        if self.port is not None and self.port != port:
            return f"port {self.port} is not the listener port {port}"
        if self.gateways:
            if gateway in self.gateways:
                return None
            return f"gateways [{', '.join(self.gateway_names)}] do not include {gateway}"
        if self.source_labels:
            missing = [f"{k}={v}" for k, v in sorted(self.source_labels.items()) if labels.get(k) != v]
            if missing:
                have = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
                return f"sourceLabels {', '.join(missing)} not on the client (client labels: {have})"
        if self.source_namespace and self.source_namespace != namespace:
            return f"sourceNamespace {self.source_namespace} is not the client namespace {namespace}"
        return None
