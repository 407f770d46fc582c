"""Typed models of the `security.istio.io` kinds (AuthorizationPolicy, Request- and PeerAuthentication).

`v1` and `v1beta1` share one shape. Validators mirror Istio's `ValidateAuthorizationPolicy`,
`ValidateRequestAuthentication` and `ValidatePeerAuthentication`.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator

from meshc.models.base import Model, PositiveDuration, and_list, fail, one_of
from meshc.models.checks import StrictHeaderName, subnet_error
from meshc.models.meta import IstioResource
from meshc.models.networking import TypedWorkloadSelector

SECURITY_VERSIONS = ("v1", "v1beta1")
"""The `security.istio.io` versions meshc accepts; they share one schema."""

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


class _PolicyScope(Model):
    """Fields common to policies that select workloads: `selector`, `targetRef`, `targetRefs`."""

    selector: TypedWorkloadSelector | None = None
    targetRef: PolicyTargetReference | None = None
    targetRefs: list[PolicyTargetReference] = Field(default_factory=list)

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
)


class Source(Model):
    """Who sends the request: identities, namespaces, service accounts, IP blocks (and negations)."""

    principals: list[str] = Field(default_factory=list)
    notPrincipals: list[str] = Field(default_factory=list)
    requestPrincipals: list[str] = Field(default_factory=list)
    notRequestPrincipals: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    notNamespaces: list[str] = Field(default_factory=list)
    serviceAccounts: list[str] = Field(default_factory=list)
    notServiceAccounts: list[str] = Field(default_factory=list)
    ipBlocks: list[str] = Field(default_factory=list)
    notIpBlocks: list[str] = Field(default_factory=list)
    remoteIpBlocks: list[str] = Field(default_factory=list)
    notRemoteIpBlocks: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Source:
        # ValidateAuthorizationPolicy, `from.source` part
        if not any(getattr(self, f) for f in _SOURCE_FIELDS):
            fail("empty", "a `source` needs at least one condition")
        if (self.principals or self.notPrincipals or self.namespaces or self.notNamespaces) and (
            self.serviceAccounts or self.notServiceAccounts
        ):
            fail("conflict", "`serviceAccounts` cannot be combined with `namespaces` or `principals`")
        for field in _SOURCE_FIELDS:
            for i, value in enumerate(getattr(self, field)):
                if value == "":
                    fail("empty_value", f"values of `{field}` must not be empty", at=(field, i))
                if field.endswith(("IpBlocks", "ipBlocks")):
                    error = subnet_error(value)
                    if error:
                        fail("ip", error, at=(field, i))
                if field in ("serviceAccounts", "notServiceAccounts") and value.count("/") != 1:
                    fail(
                        "service_account",
                        f"`{value}` is not a service account; write `<namespace>/<name>`",
                        at=(field, i),
                    )
        return self


_OPERATION_FIELDS = ("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths")


class Operation(Model):
    """What the request does: hosts, ports, methods, paths (and negations)."""

    hosts: list[str] = Field(default_factory=list)
    notHosts: list[str] = Field(default_factory=list)
    ports: list[str] = Field(default_factory=list)
    notPorts: list[str] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=list)
    notMethods: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    notPaths: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Operation:
        # ValidateAuthorizationPolicy, `to.operation` part
        if not any(getattr(self, f) for f in _OPERATION_FIELDS):
            fail("empty", "an `operation` needs at least one condition")
        for field in _OPERATION_FIELDS:
            for i, value in enumerate(getattr(self, field)):
                if value == "":
                    fail("empty_value", f"values of `{field}` must not be empty", at=(field, i))
                if field in ("ports", "notPorts") and not (value.isdigit() and int(value) <= 65535):
                    fail("port", f"`{value}` is not a port number (0 to 65535)", at=(field, i))
                if field in ("paths", "notPaths") and ("{*" in value or "{**" in value):
                    error = _path_template_error(value)
                    if error:
                        fail("path_template", error, at=(field, i))
        return self


def _path_template_error(path: str) -> str | None:
    # security.CheckValidPathTemplate: `{*}` matches one segment, `{**}` the rest (last only).
    segments = path.strip("/").split("/")
    for i, segment in enumerate(segments):
        if "{" in segment or "}" in segment:
            if segment not in ("{*}", "{**}"):
                return f"`{path}`: a path template segment must be exactly `{{*}}` or `{{**}}`"
            if segment == "{**}" and i != len(segments) - 1:
                return f"`{path}`: `{{**}}` may only be the last segment"
    return None


class From(Model):
    """A list of sources (`rules[].from[]`)."""

    source: Source


class To(Model):
    """A list of operations (`rules[].to[]`)."""

    operation: Operation


_DISABLED_KEYS = (
    "source.user",
    "destination.labels",
    "destination.name",
    "destination.namespace",
    "destination.user",
)
_EXACT_KEYS = frozenset(
    {
        "source.ip",
        "remote.ip",
        "source.namespace",
        "source.principal",
        "source.serviceAccount",
        "request.auth.principal",
        "request.auth.audiences",
        "request.auth.presenter",
        "destination.ip",
        "destination.port",
        "connection.sni",
    }
)
_MAP_KEY = re.compile(r"(request\.headers|request\.auth\.claims)\[[^\]]+\](\[[^\]]+\])*\Z")


def _condition_key_error(key: str) -> str | None:
    # security.ValidateAttribute
    if not key:
        return "`key` must not be empty"
    if key.startswith(_DISABLED_KEYS):
        return f"`{key}` is not supported as a condition key"
    if key in _EXACT_KEYS or key.startswith("experimental.envoy.filters."):
        return None
    if key.startswith(("request.headers", "request.auth.claims")):
        return None if _MAP_KEY.match(key) else f"`{key}` must have the form `{key.split('[')[0]}[<name>]`"
    return f"`{key}` is not a known condition key"


class Condition(Model):
    """An extra condition: a request attribute and the values it must (not) have."""

    key: str
    values: list[str] = Field(default_factory=list)
    notValues: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Condition:
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
            for i, value in enumerate(getattr(self, field)):
                error = None
                if self.key in ("source.ip", "remote.ip", "destination.ip"):
                    error = subnet_error(value)
                elif self.key == "destination.port" and not (value.isdigit() and int(value) <= 65535):
                    error = f"`{value}` is not a port number (0 to 65535)"
                if error:
                    fail("condition_value", error, at=(field, i))
        return self


class Rule(Model):
    """A rule: who (`from`), what (`to`) and extra conditions (`when`); all must match."""

    from_: list[From] = Field(default_factory=list, alias="from")
    to: list[To] = Field(default_factory=list)
    when: list[Condition] = Field(default_factory=list)


class ExtensionProvider(Model):
    """The external authorizer of a CUSTOM policy, by its mesh config name."""

    name: str | None = None


class AuthorizationPolicySpec(_PolicyScope):
    """The `spec` of an AuthorizationPolicy."""

    rules: list[Rule] = Field(default_factory=list)
    action: Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"] | None = None
    provider: ExtensionProvider | None = None

    @model_validator(mode="after")
    def _check(self) -> AuthorizationPolicySpec:
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
        unsupported = ("namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "principals")
        unsupported += ("notPrincipals", "requestPrincipals", "notRequestPrincipals")
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
                if key in ("source.namespace", "source.serviceAccount", "source.principal") or key.startswith(
                    "request.auth."
                ):
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


def _jwks_uri_error(uri: str) -> str | None:
    # security.ParseJwksURI: an http(s) URL with a host.
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"`{uri}` is not a valid `jwksUri`; use an `http://` or `https://` URL"
    return None


class JWTRule(Model):
    """How to validate JWTs from one issuer."""

    issuer: str | None = None
    audiences: list[str] = Field(default_factory=list)
    jwksUri: str | None = None
    jwks_uri: str | None = None
    jwks: str | None = None
    fromHeaders: list[JWTHeader] = Field(default_factory=list)
    fromParams: list[str] = Field(default_factory=list)
    fromCookies: list[str] = Field(default_factory=list)
    outputPayloadToHeader: str | None = None
    forwardOriginalToken: bool | None = None
    outputClaimToHeaders: list[ClaimToHeader] = Field(default_factory=list)
    timeout: PositiveDuration | None = None
    spaceDelimitedClaims: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> JWTRule:
        # validateJwtRule
        one_of(self, ("jwksUri", "jwks_uri"))
        uri = self.jwksUri or self.jwks_uri
        if not self.issuer and not uri:
            fail("jwt_issuer", "a JWT rule needs `issuer` or `jwksUri`")
        if uri:
            error = _jwks_uri_error(uri)
            if error:
                fail("jwks_uri", error, at=("jwksUri" if self.jwksUri else "jwks_uri",))
        if self.jwks:
            try:
                keys = json.loads(self.jwks)
            except ValueError as exc:
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


class RequestAuthenticationSpec(_PolicyScope):
    """The `spec` of a RequestAuthentication."""

    jwtRules: list[JWTRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> RequestAuthenticationSpec:
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
    portLevelMtls: dict[PortKey, MutualTLS] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> PeerAuthenticationSpec:
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
