"""Typed models of the `security.istio.io` kinds (AuthorizationPolicy, Request- and PeerAuthentication).

`v1` and `v1beta1` share one shape. Validators mirror Istio's `ValidateAuthorizationPolicy`,
`ValidateRequestAuthentication` and `ValidatePeerAuthentication`.
"""

import json
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from meshc.models import SECURITY_VERSIONS
from meshc.models.base import Model, PositiveDuration, and_list, empty_dict, empty_list, fail, one_of
from meshc.models.checks import StrictHeaderName, shown, subnet_error
from meshc.models.meta import IstioResource
from meshc.models.networking import TypedWorkloadSelector

SecurityApiVersion = Literal["security.istio.io/v1", "security.istio.io/v1beta1"]


class PolicyTargetReference(Model):
    """A reference to the resource a policy attaches to (a Service, ServiceEntry or Gateway API Gateway)."""

    group: str | None = None
    kind: str
    name: str
    namespace: str | None = None


# validatePolicyTargetReference: the kinds a policy may target, by (group, kind); "" is the core group.
_TARGET_KINDS = {
    ("", "Service"),
    ("networking.istio.io", "ServiceEntry"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
}


def _check_target(ref: PolicyTargetReference, at: tuple[str | int, ...]) -> None:
    if not ref.name:
        fail("target_ref", "`name` must be set", at=(*at, "name"))
    if ref.namespace:
        fail(
            "target_ref",
            "`namespace` must not be set; cross-namespace references are not supported",
            at=(*at, "namespace"),
        )
    group = ref.group or ""
    if (group, ref.kind) not in _TARGET_KINDS:
        fail(
            "target_ref",
            f"a policy cannot target `{group + '/' if group else ''}{ref.kind}`; "
            "expected `Service`, `networking.istio.io/ServiceEntry` or `gateway.networking.k8s.io/Gateway`",
            at=at,
        )


class PolicyScope(Model):
    """Fields common to policies that select workloads: `selector`, `targetRef`, `targetRefs`."""

    selector: TypedWorkloadSelector | None = None
    targetRef: PolicyTargetReference | None = None
    targetRefs: list[PolicyTargetReference] = Field(default_factory=empty_list)

    def _check_scope(self) -> None:
        # validateOneOfSelectorType, validatePolicyTargetReference(s)
        found = [n for n in ("selector", "targetRef", "targetRefs") if getattr(self, n)]
        if len(found) > 1:
            fail("one_of", f"set only one of `selector`, `targetRef`, `targetRefs` (found {and_list(found)})")
        if self.targetRef is not None:
            _check_target(self.targetRef, ("targetRef",))
        for i, ref in enumerate(self.targetRefs):
            _check_target(ref, ("targetRefs", i))


# --- AuthorizationPolicy -------------------------------------------------------------------------

_SOURCE_FIELDS = (
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
    "serviceAccounts",
    "notServiceAccounts",
    "ipBlocks",
    "notIpBlocks",
    "remoteIpBlocks",
    "notRemoteIpBlocks",
    "trustDomains",
    "notTrustDomains",
)

MAX_SERVICE_ACCOUNTS = 16
"""security.CheckServiceAccount: at most 16 values (an arbitrary bound of Istio's)."""


def service_account_error(value: str) -> str | None:
    """Why `value` is not a service account, or None (Istio `security.CheckServiceAccount`).

    `name` (in the policy's namespace) or `namespace/name`, no wildcard, at most 320 characters.
    """
    if "*" in value:
        return f"`{value}`: wildcards are not allowed in service accounts"
    if value.count("/") > 1:
        return f"`{value}` is not a service account; write `<name>` or `<namespace>/<name>`"
    if len(value) > 320:
        return f"`{value[:40]}...` is longer than 320 characters"
    namespace, slash, name = value.partition("/")
    if slash and not namespace:
        return f"`{value}`: the namespace of `<namespace>/<name>` must not be empty"
    if slash and not name:
        return f"`{value}`: the name of `<namespace>/<name>` must not be empty"
    return None


def wildcard_value_error(value: str) -> str | None:
    """Why `value` is not an exact, `prefix*`, `*suffix` or `*` value, or None (`security.CheckWildcardValues`)."""
    count = value.count("*")
    if count > 1:
        return f"`{value}`: at most one `*` is allowed"
    if count == 1 and value != "*" and not value.startswith("*") and not value.endswith("*"):
        return f"`{value}`: `*` is only allowed at the start or the end"
    return None


def trust_domain_error(value: str) -> str | None:
    """Why `value` is not a trust domain pattern, or None (`security.CheckTrustDomainValues`)."""
    error = wildcard_value_error(value)
    if error:
        return error
    return f"`{value}`: a trust domain must not contain `/`" if "/" in value else None


class Source(Model):
    """Who sends the request: identities, namespaces, service accounts, IP blocks (and negations)."""

    principals: list[str] = Field(default_factory=empty_list)
    notPrincipals: list[str] = Field(default_factory=empty_list)
    requestPrincipals: list[str] = Field(default_factory=empty_list)
    notRequestPrincipals: list[str] = Field(default_factory=empty_list)
    namespaces: list[str] = Field(default_factory=empty_list)
    notNamespaces: list[str] = Field(default_factory=empty_list)
    serviceAccounts: list[str] = Field(default_factory=empty_list)
    notServiceAccounts: list[str] = Field(default_factory=empty_list)
    ipBlocks: list[str] = Field(default_factory=empty_list)
    notIpBlocks: list[str] = Field(default_factory=empty_list)
    remoteIpBlocks: list[str] = Field(default_factory=empty_list)
    notRemoteIpBlocks: list[str] = Field(default_factory=empty_list)
    trustDomains: list[str] = Field(default_factory=empty_list)
    notTrustDomains: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "Source":
        # ValidateAuthorizationPolicy, `from.source` part
        if not any(getattr(self, f) for f in _SOURCE_FIELDS):
            fail("empty", "a `source` needs at least one condition")
        if (self.principals or self.notPrincipals or self.namespaces or self.notNamespaces) and (
            self.serviceAccounts or self.notServiceAccounts
        ):
            fail("conflict", "`serviceAccounts` cannot be combined with `namespaces` or `principals`")
        for field in _SOURCE_FIELDS:
            values = getattr(self, field)
            if field in ("serviceAccounts", "notServiceAccounts") and len(values) > MAX_SERVICE_ACCOUNTS:
                fail(
                    "service_account",
                    f"`{field}` has {len(values)} values; Istio allows at most {MAX_SERVICE_ACCOUNTS}",
                    at=(field,),
                )
            for i, value in enumerate(values):
                if value == "":
                    fail("empty_value", f"values of `{field}` must not be empty", at=(field, i))
                error = None
                if field.endswith(("IpBlocks", "ipBlocks")):
                    error = subnet_error(value)
                elif field in ("serviceAccounts", "notServiceAccounts"):
                    error = service_account_error(value)
                elif field in ("trustDomains", "notTrustDomains"):
                    error = trust_domain_error(value)
                if error:
                    fail("source", error, at=(field, i))
        return self


_OPERATION_FIELDS = ("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths")


class Operation(Model):
    """What the request does: hosts, ports, methods, paths (and negations)."""

    hosts: list[str] = Field(default_factory=empty_list)
    notHosts: list[str] = Field(default_factory=empty_list)
    ports: list[str] = Field(default_factory=empty_list)
    notPorts: list[str] = Field(default_factory=empty_list)
    methods: list[str] = Field(default_factory=empty_list)
    notMethods: list[str] = Field(default_factory=empty_list)
    paths: list[str] = Field(default_factory=empty_list)
    notPaths: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "Operation":
        # ValidateAuthorizationPolicy, `to.operation` part
        if not any(getattr(self, f) for f in _OPERATION_FIELDS):
            fail("empty", "an `operation` needs at least one condition")
        for field in _OPERATION_FIELDS:
            for i, value in enumerate(getattr(self, field)):
                if value == "":
                    fail("empty_value", f"values of `{field}` must not be empty", at=(field, i))
                if field in ("ports", "notPorts") and not (value.isdigit() and int(value) <= 65535):
                    fail("port", f"`{value}` is not a port number (0 to 65535)", at=(field, i))
                if field in ("paths", "notPaths"):
                    error = _path_template_error(value)
                    if error:
                        fail("path_template", error, at=(field, i))
        return self


_PATH_LITERAL = re.compile(r"[a-zA-Z0-9\-._~%!$&'()+,;:@=]+\Z")
"""A path segment of a template: RFC 3986 `pchar`s (security.go `validLiteral`)."""


def _path_template_error(path: str) -> str | None:
    # security.CheckValidPathTemplate: `{*}` matches one segment, `{**}` the rest; after a `{**}`
    # no other operator may follow, and the other segments must be plain path characters.
    template = "{*}" in path or "{**}" in path
    any_seen = False
    for segment in path.strip("/").split("/"):
        if segment in ("{*}", "{**}"):
            if any_seen:
                return f"`{path}`: no `{{*}}` or `{{**}}` may follow `{{**}}`"
            any_seen = segment == "{**}"
            continue
        if "{" in segment or "}" in segment:
            return f"`{path}`: a path template segment must be exactly `{{*}}` or `{{**}}`"
        if template and not _PATH_LITERAL.match(segment):
            return f"`{path}`: segment `{segment}` has characters a path template does not allow"
    return None


class From(Model):
    """A list of sources (`rules[].from[]`)."""

    source: Source


class To(Model):
    """A list of operations (`rules[].to[]`)."""

    operation: Operation


# security.ValidateAttribute: keys compared exactly, keys with a `[name]` part, keys Istio retired.
_EXACT_KEYS = frozenset(
    {
        "source.ip",
        "remote.ip",
        "source.namespace",
        "source.principal",
        "source.serviceAccount",
        "source.trustDomain",
        "request.auth.principal",
        "request.auth.audiences",
        "request.auth.presenter",
        "destination.ip",
        "destination.port",
        "connection.sni",
    }
)
_MAP_KEYS = ("request.headers", "request.auth.claims", "experimental.envoy.filters.")
_RETIRED_KEYS = {
    "destination.namespace": "is replaced by the policy's `metadata.namespace`",
    "destination.labels": "is replaced by the workload `selector`",
    "destination.name": "is no longer supported",
    "destination.user": "is no longer supported",
}


def _condition_key_error(key: str) -> str | None:
    # security.ValidateAttribute, the key part.
    if not key:
        return "`key` must not be empty"
    prefix = next((p for p in _MAP_KEYS if key.startswith(p)), None)
    if prefix is not None:
        # validateMapKey: `a[b]`, with a non-empty name in brackets.
        bracket = key.find("[")
        if key.endswith("]") and 0 < bracket < len(key) - 2:
            return None
        return f"`{key}` must have the form `{key.split('[')[0]}[<name>]`"
    if key in _EXACT_KEYS:
        return None
    for retired, why in _RETIRED_KEYS.items():
        if key == retired or (retired == "destination.labels" and key.startswith(retired)):
            return f"`{key}` {why}"
    return f"`{key}` is not a known condition key"


def _condition_value_error(key: str, value: str) -> str | None:
    # security.ValidateAttribute, the values part.
    if key in ("source.ip", "remote.ip", "destination.ip"):
        return subnet_error(value)
    if key == "destination.port" and not (value.isdigit() and int(value) <= 65535):
        return f"`{value}` is not a port number (0 to 65535)"
    if key == "source.serviceAccount":
        return service_account_error(value)
    if key == "source.trustDomain":
        return wildcard_value_error(value)
    return None


class Condition(Model):
    """An extra condition: a request attribute and the values it must (not) have."""

    key: str
    values: list[str] = Field(default_factory=empty_list)
    notValues: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "Condition":
        error = _condition_key_error(self.key)
        if error:
            fail(
                "condition_key",
                error,
                help="see https://istio.io/latest/docs/reference/config/security/conditions/",
                at=("key",),
            )
        if not self.values and not self.notValues:
            fail("condition_values", f"set `values` or `notValues` for key `{self.key}`")
        for field in ("values", "notValues"):
            values = getattr(self, field)
            if self.key == "source.serviceAccount" and len(values) > MAX_SERVICE_ACCOUNTS:
                fail(
                    "condition_value",
                    f"`{field}` has {len(values)} values; Istio allows at most {MAX_SERVICE_ACCOUNTS}",
                    at=(field,),
                )
            for i, value in enumerate(values):
                error = "values must not be empty" if value == "" else _condition_value_error(self.key, value)
                if error:
                    fail("condition_value", error, at=(field, i))
        return self


class Rule(Model):
    """A rule: who (`from`), what (`to`) and extra conditions (`when`); all must match."""

    from_: list[From] = Field(default_factory=empty_list, alias="from")
    to: list[To] = Field(default_factory=empty_list)
    when: list[Condition] = Field(default_factory=empty_list)


class ExtensionProvider(Model):
    """The external authorizer of a CUSTOM policy, by its mesh config name."""

    name: str | None = None


class AuthorizationPolicySpec(PolicyScope):
    """The `spec` of an AuthorizationPolicy."""

    rules: list[Rule] = Field(default_factory=empty_list)
    action: Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"] | None = None
    provider: ExtensionProvider | None = None

    @model_validator(mode="after")
    def _check(self) -> "AuthorizationPolicySpec":
        self._check_scope()
        action = self.action or "ALLOW"
        if action in ("CUSTOM", "DENY") and not self.rules:
            fail(
                "rules",
                f"a `{action}` policy without `rules` never applies",
                help="add an empty rule `rules: [{}]` to apply it to every request",
            )
        if action == "CUSTOM":
            if not self.provider or not self.provider.name:
                fail("provider", "a `CUSTOM` policy needs `provider.name`")
            self._check_custom_rules()
        elif self.provider is not None:
            fail(
                "provider",
                f"`provider` can only be used with `action: CUSTOM` (found `{action}`)",
                at=("provider",),
            )
        return self

    def _check_custom_rules(self) -> None:
        unsupported: tuple[str, ...] = ("namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts")
        unsupported += ("principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals")
        unsupported += ("trustDomains", "notTrustDomains")
        for i, rule in enumerate(self.rules):
            for j, source in enumerate(rule.from_):
                for field in unsupported:
                    if getattr(source.source, field):
                        fail(
                            "custom",
                            f"`{field}` is not supported with `action: CUSTOM`",
                            at=("rules", i, "from", j, "source", field),
                        )
            for j, condition in enumerate(rule.when):
                key = condition.key
                if key in (
                    "source.namespace",
                    "source.serviceAccount",
                    "source.trustDomain",
                    "source.principal",
                ) or key.startswith("request.auth."):
                    fail(
                        "custom",
                        f"condition key `{key}` is not supported with `action: CUSTOM`",
                        at=("rules", i, "when", j, "key"),
                    )


class AuthorizationPolicy(IstioResource):
    """A `security.istio.io` AuthorizationPolicy."""

    apiVersion: SecurityApiVersion
    kind: Literal["AuthorizationPolicy"]
    spec: AuthorizationPolicySpec = Field(default_factory=AuthorizationPolicySpec)


# --- RequestAuthentication -----------------------------------------------------------------------


class JWTHeader(Model):
    """A header a JWT is read from, with an optional prefix to strip (e.g. `Bearer `)."""

    name: str
    prefix: str | None = None


class ClaimToHeader(Model):
    """Copy a JWT claim to a request header."""

    header: StrictHeaderName
    claim: str


_URL_CONTROL = re.compile("[\x00-\x1f\x7f]")


def jwks_uri_error(uri: str) -> str | None:
    """Why `uri` cannot be a `jwksUri`, or None.

    Istio's `security.ParseJwksURI` parses it with Go's `url.Parse` (no control characters, a
    numeric port, no `%` escape of an ASCII byte in the host) and wants `http` or `https`; the
    port becomes an Envoy cluster port, which must be between 1 and 65535.
    """
    if _URL_CONTROL.search(uri):
        return f"`jwksUri` {shown(uri)} contains a control character"
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("http", "https") or not rest.startswith("//"):
        return f"`{uri}` is not a valid `jwksUri`; use an `http://` or `https://` URL"
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        host, bracket, port_part = hostport[1:].partition("]")
        if not bracket or (port_part and not port_part.startswith(":")):
            return f"`jwksUri` `{uri}` has an invalid IPv6 host"
        port = port_part[1:] if port_part else None
    else:
        host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", None)
    if port and not re.fullmatch("[0-9]+", port):
        return f"`jwksUri` `{uri}` has an invalid port `{port}`"
    if port and not 1 <= int(port) <= 65535:
        return f"`jwksUri` `{uri}` has port {int(port)}; a port is between 1 and 65535"
    # Go's unescape(host, encodeHost): `%XX` must be hex, and only `%25` may escape an ASCII byte.
    for m in re.finditer("%", host):
        code = host[m.start() + 1 : m.start() + 3]
        if not re.fullmatch("[0-9A-Fa-f]{2}", code) or (int(code, 16) < 0x80 and code != "25"):
            return f"`jwksUri` `{uri}` has an invalid `%` escape in its host"
    if not host:
        return f"`jwksUri` `{uri}` has no host"
    return None


class JWTRule(Model):
    """How to validate JWTs from one issuer."""

    issuer: str | None = None
    audiences: list[str] = Field(default_factory=empty_list)
    jwksUri: str | None = None
    jwks_uri: str | None = None
    jwks: str | None = None
    fromHeaders: list[JWTHeader] = Field(default_factory=empty_list)
    fromParams: list[str] = Field(default_factory=empty_list)
    fromCookies: list[str] = Field(default_factory=empty_list)
    outputPayloadToHeader: str | None = None
    forwardOriginalToken: bool | None = None
    outputClaimToHeaders: list[ClaimToHeader] = Field(default_factory=empty_list)
    timeout: PositiveDuration | None = None
    spaceDelimitedClaims: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "JWTRule":
        # validateJwtRule
        one_of(self, ("jwksUri", "jwks_uri"))
        uri = self.jwksUri or self.jwks_uri
        if not self.issuer and not uri:
            fail("jwt_issuer", "a JWT rule needs `issuer` or `jwksUri`")
        if uri:
            error = jwks_uri_error(uri)
            if error:
                fail("jwks_uri", error, at=("jwksUri" if self.jwksUri else "jwks_uri",))
        if self.jwks:
            try:
                keys = json.loads(self.jwks)
            except json.JSONDecodeError as exc:
                fail("jwks", f"`jwks` is not valid JSON ({exc.msg})", at=("jwks",))
            if not isinstance(keys, dict):
                fail("jwks", "`jwks` must be a JSON Web Key Set object", at=("jwks",))
        for field in ("audiences", "fromParams", "fromCookies"):
            for i, value in enumerate(getattr(self, field)):
                if not value:
                    fail("empty_value", f"values of `{field}` must not be empty", at=(field, i))
        for i, header in enumerate(self.fromHeaders):
            if not header.name:
                fail("empty_value", "`name` must not be empty", at=("fromHeaders", i, "name"))
        for i, claim in enumerate(self.outputClaimToHeaders):
            if not claim.claim:
                fail("empty_value", "`claim` must not be empty", at=("outputClaimToHeaders", i, "claim"))
        return self


class RequestAuthenticationSpec(PolicyScope):
    """The `spec` of a RequestAuthentication."""

    jwtRules: list[JWTRule] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "RequestAuthenticationSpec":
        self._check_scope()
        return self


class RequestAuthentication(IstioResource):
    """A `security.istio.io` RequestAuthentication."""

    apiVersion: SecurityApiVersion
    kind: Literal["RequestAuthentication"]
    spec: RequestAuthenticationSpec = Field(default_factory=RequestAuthenticationSpec)


# --- PeerAuthentication --------------------------------------------------------------------------

MtlsMode = Literal["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]


class MutualTLS(Model):
    """The mutual TLS mode for the selected workloads (or one port)."""

    mode: MtlsMode | None = None


def _port_key(value: object) -> object:
    # Map keys are strings in JSON and may be integers in YAML (`8080:`); both name a port.
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


PortKey = Annotated[int, BeforeValidator(_port_key), Field(ge=1, le=65535)]


class PeerAuthenticationSpec(Model):
    """The `spec` of a PeerAuthentication."""

    selector: TypedWorkloadSelector | None = None
    mtls: MutualTLS | None = None
    portLevelMtls: dict[PortKey, MutualTLS] = Field(default_factory=empty_dict)

    @model_validator(mode="after")
    def _check(self) -> "PeerAuthenticationSpec":
        # ValidatePeerAuthentication
        if self.portLevelMtls and (self.selector is None or not self.selector.matchLabels):
            fail(
                "port_level_mtls",
                "`portLevelMtls` needs a `selector` with `matchLabels`; mesh- and namespace-wide policies "
                "cannot set it",
                at=("portLevelMtls",),
            )
        if "portLevelMtls" in self.model_fields_set and not self.portLevelMtls:
            fail("port_level_mtls", "`portLevelMtls`, when set, needs at least one port", at=("portLevelMtls",))
        return self


class PeerAuthentication(IstioResource):
    """A `security.istio.io` PeerAuthentication."""

    apiVersion: SecurityApiVersion
    kind: Literal["PeerAuthentication"]
    spec: PeerAuthenticationSpec = Field(default_factory=PeerAuthenticationSpec)


__all__ = [
    "SECURITY_VERSIONS",
    "AuthorizationPolicy",
    "AuthorizationPolicySpec",
    "Condition",
    "JWTRule",
    "Operation",
    "PeerAuthentication",
    "PeerAuthenticationSpec",
    "PolicyTargetReference",
    "RequestAuthentication",
    "RequestAuthenticationSpec",
    "Rule",
    "Source",
]
