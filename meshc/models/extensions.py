"""Typed models of the kinds that extend or tune the proxies: EnvoyFilter, Telemetry, WasmPlugin, ProxyConfig.

meshc does not route with these kinds, but a mesh repository holds them beside the ones it
routes, so they are schema-checked (fields and values of istio/api's CRDs) and validated as
istiod's webhook does (`pkg/config/validation`: ValidateEnvoyFilter, ValidateTelemetry,
ValidateWasmPlugin, ValidateProxyConfig), and the analyzers of `meshc.rules.extensions` read them.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from meshc.models.base import (
    Int32,
    Model,
    PercentValue,
    PortNumber,
    PositiveDuration,
    empty_dict,
    empty_list,
    fail,
    one_of,
)
from meshc.models.checks import regex_error
from meshc.models.meta import IstioResource
from meshc.models.networking import TypedWorkloadSelector, WorkloadSelector
from meshc.models.security import PolicyScope, PolicyTargetReference

# --- EnvoyFilter -------------------------------------------------------------------------------------

APPLY_TO = (
    "INVALID",
    "LISTENER",
    "FILTER_CHAIN",
    "NETWORK_FILTER",
    "HTTP_FILTER",
    "ROUTE_CONFIGURATION",
    "VIRTUAL_HOST",
    "HTTP_ROUTE",
    "CLUSTER",
    "EXTENSION_CONFIG",
    "BOOTSTRAP",
    "LISTENER_FILTER",
)
ApplyTo = Literal[APPLY_TO]  # type: ignore[valid-type]  # the tuple above, as a Literal
PATCH_OPERATIONS = (
    "INVALID",
    "MERGE",
    "ADD",
    "REMOVE",
    "INSERT_BEFORE",
    "INSERT_AFTER",
    "INSERT_FIRST",
    "REPLACE",
    "MERGE_AND_REPLACE_LIST",
)
PatchOperation = Literal[PATCH_OPERATIONS]  # type: ignore[valid-type]  # the tuple above, as a Literal
PatchContext = Literal["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT"]

_LISTENER_CLASS = ("LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER")
_ROUTE_CLASS = ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE")
HTTP_CONNECTION_MANAGER = ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager")
MAX_PROXY_VERSION_LENGTH = 1024
"""envoyfilter.go `maxProxyVersionLen`: longer proxyVersion patterns are ignored (a warning)."""


class SubFilterMatch(Model):
    """An HTTP filter inside the HTTP connection manager, by name."""

    name: str | None = None


class FilterMatch(Model):
    """A network filter of a filter chain, by name (and an HTTP filter inside it)."""

    name: str | None = None
    subFilter: SubFilterMatch | None = None


class FilterChainMatch(Model):
    """A filter chain of a listener."""

    name: str | None = None
    sni: str | None = None
    transportProtocol: str | None = None
    applicationProtocols: str | None = None
    filter: FilterMatch | None = None
    destinationPort: Annotated[int, Field(ge=0, le=4294967295)] | None = None


class ListenerMatch(Model):
    """A listener, by port, name, filter chain or listener filter."""

    portNumber: Annotated[int, Field(ge=0, le=4294967295)] | None = None
    portName: str | None = None
    filterChain: FilterChainMatch | None = None
    listenerFilter: str | None = None
    name: str | None = None


class RouteMatch(Model):
    """A route of a virtual host, by name or action."""

    name: str | None = None
    action: Literal["ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE"] | None = None


class VirtualHostMatch(Model):
    """A virtual host of a route configuration."""

    name: str | None = None
    domainName: str | None = None
    route: RouteMatch | None = None


class RouteConfigurationMatch(Model):
    """A route configuration, by port, gateway, name or virtual host."""

    portNumber: Annotated[int, Field(ge=0, le=4294967295)] | None = None
    portName: str | None = None
    gateway: str | None = None
    vhost: VirtualHostMatch | None = None
    name: str | None = None


class ClusterMatch(Model):
    """A cluster, by port, service, subset or name."""

    portNumber: Annotated[int, Field(ge=0, le=4294967295)] | None = None
    service: str | None = None
    subset: str | None = None
    name: str | None = None


class WaypointRouteMatch(Model):
    """A route of a waypoint, by name."""

    name: str | None = None


class WaypointMatch(Model):
    """A waypoint's filter, route or port."""

    filter: FilterMatch | None = None
    route: WaypointRouteMatch | None = None
    portNumber: PortNumber | None = None


class ProxyMatch(Model):
    """The proxies a patch applies to: a version regex and metadata."""

    proxyVersion: str | None = None
    metadata: dict[str, str] = Field(default_factory=empty_dict)


class EnvoyConfigObjectMatch(Model):
    """Which generated Envoy object a patch applies to."""

    context: PatchContext | None = None
    proxy: ProxyMatch | None = None
    listener: ListenerMatch | None = None
    routeConfiguration: RouteConfigurationMatch | None = None
    cluster: ClusterMatch | None = None
    waypoint: WaypointMatch | None = None

    @model_validator(mode="after")
    def _check(self) -> "EnvoyConfigObjectMatch":
        one_of(self, ("listener", "routeConfiguration", "cluster", "waypoint"))
        # CRD: only support waypointMatch when context is WAYPOINT (and it needs one).
        if (self.context == "WAYPOINT") != (self.waypoint is not None):
            fail("waypoint", "`waypoint` is set exactly when `context` is `WAYPOINT`")
        version = self.proxy.proxyVersion if self.proxy is not None else None
        if version and len(version) <= MAX_PROXY_VERSION_LENGTH:
            error = regex_error(version)
            if error:
                fail("proxy_version", f"`proxyVersion`: {error}", at=("proxy", "proxyVersion"))
        return self

    @property
    def object_type(self) -> str | None:
        """The kind of object matched: `listener`, `routeConfiguration`, `cluster`, `waypoint` or None."""
        for name in ("listener", "routeConfiguration", "cluster", "waypoint"):
            if getattr(self, name) is not None:
                return name
        return None


class Patch(Model):
    """What to do to the matched object: an operation and a value (Envoy's JSON)."""

    operation: PatchOperation | None = None
    value: dict[str, Any] | None = None
    filterClass: Literal["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] | None = None


_APPLY_TO_MATCH = (
    (_LISTENER_CLASS, "listener", "listener class objects"),
    (_ROUTE_CLASS, "routeConfiguration", "http route class objects"),
    (("CLUSTER",), "cluster", "cluster class objects"),
)


class EnvoyConfigObjectPatch(Model):
    """One patch: the object kind (`applyTo`), which objects (`match`), and the change (`patch`)."""

    applyTo: ApplyTo | None = None
    match: EnvoyConfigObjectMatch | None = None
    patch: Patch | None = None

    @model_validator(mode="after")
    def _check(self) -> "EnvoyConfigObjectPatch":
        # envoyfilter.go validateEnvoyFilter
        match = self.match
        if match is not None and match.context == "WAYPOINT":
            return self
        if self.applyTo in (None, "INVALID"):
            fail("apply_to", "missing required field `applyTo`")
        if self.patch is None:
            fail("patch", "missing required field `patch`")
        if self.patch.operation in (None, "INVALID"):
            fail("patch", "missing required field `operation`", at=("patch",))
        if self.patch.operation != "REMOVE" and self.patch.value is None:
            fail("patch", f"a `{self.patch.operation}` patch needs a `value`", at=("patch",))
        found = match.object_type if match is not None else None
        for kinds, wanted, what in _APPLY_TO_MATCH:
            if self.applyTo in kinds and found is not None and found != wanted:
                fail(
                    "apply_to",
                    f"`applyTo: {self.applyTo}` needs a `{wanted}` match (applyTo for {what}), not `{found}`",
                    at=("match", found),
                    key=True,
                )
        chain = match.listener.filterChain if match is not None and match.listener is not None else None
        flt = chain.filter if chain is not None else None
        if flt is not None and self.applyTo in _LISTENER_CLASS:
            at: tuple[str | int, ...] = ("match", "listener", "filterChain", "filter")
            if not flt.name:
                fail("filter_match", "a filter match needs a `name` to match on", at=at)
            if flt.subFilter is not None:
                if self.applyTo != "HTTP_FILTER":
                    fail("filter_match", "a `subFilter` match only works with `applyTo: HTTP_FILTER`", at=at)
                if flt.name not in HTTP_CONNECTION_MANAGER:
                    fail(
                        "filter_match",
                        f"a `subFilter` match needs the filter `{HTTP_CONNECTION_MANAGER[0]}`, not `{flt.name}`",
                        at=(*at, "name"),
                    )
                if not flt.subFilter.name:
                    fail("filter_match", "a `subFilter` match needs a `name` to match on", at=(*at, "subFilter"))
        return self


class EnvoyFilterSpec(Model):
    """The `spec` of an EnvoyFilter: patches to the Envoy configuration istiod generates."""

    workloadSelector: WorkloadSelector | None = None
    targetRefs: list[PolicyTargetReference] = Field(default_factory=empty_list, max_length=16)
    configPatches: list[EnvoyConfigObjectPatch] = Field(default_factory=empty_list)
    priority: Int32 | None = None

    @model_validator(mode="after")
    def _check(self) -> "EnvoyFilterSpec":
        if self.workloadSelector is not None and self.targetRefs:
            fail(
                "one_of",
                "set only one of `workloadSelector`, `targetRefs` (found `workloadSelector` and `targetRefs`)",
            )
        for i, ref in enumerate(self.targetRefs):
            if ref.namespace:
                fail(
                    "target_ref",
                    "`namespace` must not be set; cross-namespace references are not supported",
                    at=("targetRefs", i, "namespace"),
                )
        return self


class EnvoyFilter(IstioResource):
    """A `networking.istio.io` EnvoyFilter."""

    apiVersion: Literal["networking.istio.io/v1alpha3"]
    kind: Literal["EnvoyFilter"]
    spec: EnvoyFilterSpec


# --- Telemetry ---------------------------------------------------------------------------------------

WorkloadMode = Literal["CLIENT_AND_SERVER", "CLIENT", "SERVER"]


class ProviderRef(Model):
    """A telemetry provider, by its name in the mesh config's `extensionProviders`."""

    name: Annotated[str, Field(min_length=1)]


class WorkloadModeSelector(Model):
    """Whether the setting applies to the client side, the server side or both."""

    mode: WorkloadMode | None = None


class AccessLoggingFilter(Model):
    """A CEL expression that selects the requests to log."""

    expression: str | None = None


class AccessLogging(Model):
    """Access log settings."""

    match: WorkloadModeSelector | None = None
    providers: list[ProviderRef] = Field(default_factory=empty_list)
    disabled: bool | None = None
    filter: AccessLoggingFilter | None = None


METRICS = (
    "ALL_METRICS",
    "REQUEST_COUNT",
    "REQUEST_DURATION",
    "REQUEST_SIZE",
    "RESPONSE_SIZE",
    "TCP_OPENED_CONNECTIONS",
    "TCP_CLOSED_CONNECTIONS",
    "TCP_SENT_BYTES",
    "TCP_RECEIVED_BYTES",
    "GRPC_REQUEST_MESSAGES",
    "GRPC_RESPONSE_MESSAGES",
)


class MetricSelector(Model):
    """A standard metric or a custom one, for the client, the server or both."""

    metric: Literal[METRICS] | None = None  # type: ignore[valid-type]  # the tuple above, as a Literal
    customMetric: Annotated[str, Field(min_length=1)] | None = None
    mode: WorkloadMode | None = None

    @model_validator(mode="after")
    def _check(self) -> "MetricSelector":
        one_of(self, ("metric", "customMetric"))
        return self


class TagOverride(Model):
    """Insert, change or remove a metric tag."""

    operation: Literal["UPSERT", "REMOVE"] | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "TagOverride":
        # validateTelemetryMetrics and the CRD's rules
        if (self.operation or "UPSERT") == "UPSERT" and not self.value:
            fail("tag_override", "`value` must be set when `operation` is `UPSERT`")
        if self.operation == "REMOVE" and self.value is not None:
            fail("tag_override", "`value` must not be set when `operation` is `REMOVE`", at=("value",))
        return self


class MetricsOverrides(Model):
    """Changes to the metrics a match selects."""

    match: MetricSelector | None = None
    disabled: bool | None = None
    tagOverrides: dict[str, TagOverride] = Field(default_factory=empty_dict)


class Metrics(Model):
    """Metric settings."""

    providers: list[ProviderRef] = Field(default_factory=empty_list)
    overrides: list[MetricsOverrides] = Field(default_factory=empty_list)
    reportingInterval: PositiveDuration | None = None


class Literal_(Model):
    """A constant tag value."""

    value: Annotated[str, Field(min_length=1)]


class EnvironmentTag(Model):
    """A tag read from an environment variable of the proxy."""

    name: Annotated[str, Field(min_length=1)]
    defaultValue: str | None = None


class RequestHeaderTag(Model):
    """A tag read from a request header."""

    name: Annotated[str, Field(min_length=1)]
    defaultValue: str | None = None


class FormatterTag(Model):
    """A tag made with an Envoy substitution format string."""

    value: Annotated[str, Field(min_length=1)]


class CustomTag(Model):
    """A custom tag of the spans: a literal, an environment variable, a header or a formatter."""

    literal: Literal_ | None = None
    environment: EnvironmentTag | None = None
    header: RequestHeaderTag | None = None
    formatter: FormatterTag | None = None

    @model_validator(mode="after")
    def _check(self) -> "CustomTag":
        one_of(self, ("literal", "environment", "header", "formatter"))
        return self


class Tracing(Model):
    """Tracing settings."""

    match: WorkloadModeSelector | None = None
    providers: list[ProviderRef] = Field(default_factory=empty_list)
    randomSamplingPercentage: PercentValue | None = None
    disableSpanReporting: bool | None = None
    customTags: dict[Annotated[str, Field(min_length=1)], CustomTag] = Field(default_factory=empty_dict)
    useRequestIdForTraceSampling: bool | None = None
    enableIstioTags: bool | None = None
    disableContextPropagation: bool | None = None


class TelemetrySpec(PolicyScope):
    """The `spec` of a Telemetry: tracing, metrics and access logs of the selected workloads."""

    tracing: list[Tracing] = Field(default_factory=empty_list)
    metrics: list[Metrics] = Field(default_factory=empty_list)
    accessLogging: list[AccessLogging] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "TelemetrySpec":
        self._check_scope()
        return self


class Telemetry(IstioResource):
    """A `telemetry.istio.io` Telemetry."""

    apiVersion: Literal["telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1"]
    kind: Literal["Telemetry"]
    spec: TelemetrySpec = Field(default_factory=TelemetrySpec)


# --- WasmPlugin --------------------------------------------------------------------------------------

_WASM_URL_SCHEMES = ("", "file", "http", "https", "oci")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _check_wasm_url(url: str) -> str:
    # validateWasmPluginURL: a URL with scheme file, http, https or oci, or a reference without scheme.
    if not url:
        fail("url", "`url` must be set")
    m = _URL_SCHEME.match(url)
    scheme = m.group(1).lower() if m and url[m.end() : m.end() + 2] == "//" else ""
    if scheme not in _WASM_URL_SCHEMES:
        fail("url", f"`url` has the scheme `{scheme}`; use `oci://`, `https://`, `http://` or `file://`")
    if re.search("[\\x00-\\x1f\\x7f ]", url):
        fail("url", "`url` contains a space or a control character")
    return url


class PortSelector(Model):
    """A port number."""

    number: PortNumber


class TrafficSelector(Model):
    """The traffic a plugin applies to: client or server side, and ports."""

    mode: Literal["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"] | None = None
    ports: list[PortSelector] = Field(default_factory=empty_list)


class EnvVar(Model):
    """An environment variable of the Wasm VM."""

    name: Annotated[str, Field(min_length=1, max_length=256)]
    valueFrom: Literal["INLINE", "HOST"] | None = None
    value: Annotated[str, Field(max_length=2048)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "EnvVar":
        if self.valueFrom == "HOST" and self.value is not None:
            fail("env", "`value` may only be set when `valueFrom` is `INLINE`", at=("value",))
        return self


class VmConfig(Model):
    """The Wasm VM's configuration: environment variables."""

    env: list[EnvVar] = Field(default_factory=empty_list, max_length=256)

    @model_validator(mode="after")
    def _check(self) -> "VmConfig":
        seen: set[str] = set()
        for i, env in enumerate(self.env):
            if env.name in seen:
                fail("env", f"environment variable `{env.name}` is defined twice", at=("env", i, "name"))
            seen.add(env.name)
        return self


class WasmPluginSpec(PolicyScope):
    """The `spec` of a WasmPlugin: a Wasm module added to the selected proxies."""

    url: Annotated[str, AfterValidator(_check_wasm_url)]
    sha256: Annotated[str, Field(pattern="^$|^[a-f0-9]{64}$")] | None = None
    imagePullPolicy: Literal["UNSPECIFIED_POLICY", "IfNotPresent", "Always"] | None = None
    imagePullSecret: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    pluginConfig: dict[str, Any] | None = None
    pluginName: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    phase: Literal["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"] | None = None
    priority: Int32 | None = None
    failStrategy: Literal["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] | None = None
    vmConfig: VmConfig | None = None
    match: list[TrafficSelector] = Field(default_factory=empty_list)
    type: Literal["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"] | None = None
    verificationKey: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "WasmPluginSpec":
        self._check_scope()
        return self


class WasmPlugin(IstioResource):
    """An `extensions.istio.io` WasmPlugin."""

    apiVersion: Literal["extensions.istio.io/v1alpha1"]
    kind: Literal["WasmPlugin"]
    spec: WasmPluginSpec


# --- ProxyConfig -------------------------------------------------------------------------------------


class ProxyImage(Model):
    """The proxy image flavour (`default`, `debug`, `distroless`)."""

    imageType: str | None = None


class ProxyConfigSpec(Model):
    """The `spec` of a ProxyConfig: settings of the selected proxies."""

    selector: TypedWorkloadSelector | None = None
    concurrency: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    environmentVariables: dict[str, Annotated[str, Field(max_length=2048)]] = Field(default_factory=empty_dict)
    image: ProxyImage | None = None


class ProxyConfig(IstioResource):
    """A `networking.istio.io` ProxyConfig."""

    apiVersion: Literal["networking.istio.io/v1beta1"]
    kind: Literal["ProxyConfig"]
    spec: ProxyConfigSpec = Field(default_factory=ProxyConfigSpec)


__all__ = [
    "APPLY_TO",
    "PATCH_OPERATIONS",
    "EnvoyConfigObjectPatch",
    "EnvoyFilter",
    "EnvoyFilterSpec",
    "ProxyConfig",
    "ProxyConfigSpec",
    "Telemetry",
    "TelemetrySpec",
    "WasmPlugin",
    "WasmPluginSpec",
]
