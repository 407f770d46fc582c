"""Typed models of the `networking.istio.io` kinds other than VirtualService, and the messages nested in them.

DestinationRule, Gateway, ServiceEntry, WorkloadEntry, WorkloadGroup and Sidecar (their common
messages and VirtualService are in `meshc.models.networking`): a module of their own, so that a
run whose input has none of them does not build their classes (about 60% of the networking
models' import time). Validators mirror what Istio's `pkg/config/validation` checks on a single
resource; the Go function is named where the rule is not obvious.
"""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from meshc.hosts import host_matches, host_subset_of, is_ip
from meshc.models import NETWORKING_VERSIONS
from meshc.models.base import (
    DurationField,
    MatchPort,
    Model,
    NonNegativeInt32,
    PercentValue,
    PortNumber,
    PositiveDuration,
    UInt32,
    ZeroOrPositiveDuration,
    empty_dict,
    empty_list,
    fail,
    one_of,
    ticks,
)
from meshc.models.checks import (
    DnsLabel,
    GatewayHost,
    IpSubnet,
    Labels,
    ServiceEntryHost,
    SidecarHost,
    WildcardHost,
    fqdn_error,
    is_dns1123_label,
    is_prime,
)
from meshc.models.meta import IstioResource
from meshc.models.networking import (
    PROTOCOLS,
    Destination,
    HTTPMatchRequest,
    HTTPRoute,
    HTTPRouteDestination,
    NetworkingApiVersion,
    PortSelector,
    Protocol,
    StringMatch,
    TypedWorkloadSelector,
    VirtualService,
    VirtualServiceSpec,
    WorkloadSelector,
    is_http_protocol,
    is_tls_protocol,
)

UNIX_PREFIX = "unix://"


def _unix_path_error(path: str) -> str | None:
    # ValidateUnixAddress
    if not path:
        return "the unix socket address must not be empty"
    if path.startswith("@"):
        return None
    if not path.startswith("/") or path.endswith("/"):
        return f"`{path}` is not an absolute path to a file"
    return None


# --- DestinationRule -----------------------------------------------------------------------------


class TcpKeepalive(Model):
    """TCP keepalive probes."""

    probes: UInt32 | None = None
    time: PositiveDuration | None = None
    interval: PositiveDuration | None = None


class TCPSettings(Model):
    """Connection pool settings common to HTTP and TCP."""

    maxConnections: NonNegativeInt32 | None = None
    connectTimeout: PositiveDuration | None = None
    tcpKeepalive: TcpKeepalive | None = None
    maxConnectionDuration: PositiveDuration | None = None
    idleTimeout: ZeroOrPositiveDuration | None = None


class HTTP2KeepAlive(Model):
    """HTTP/2 keepalive pings on upstream connections."""

    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTP2KeepAlive":
        # validateConnectionPool: both durations are required.
        for name in ("interval", "timeout"):
            if getattr(self, name) is None:
                fail("missing", f"missing required field `{name}`")
        return self


class HTTPSettings(Model):
    """HTTP connection pool settings."""

    http1MaxPendingRequests: NonNegativeInt32 | None = None
    http2MaxRequests: NonNegativeInt32 | None = None
    maxRequestsPerConnection: NonNegativeInt32 | None = None
    maxRetries: NonNegativeInt32 | None = None
    idleTimeout: PositiveDuration | None = None
    h2UpgradePolicy: Literal["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] | None = None
    useClientProtocol: bool | None = None
    maxConcurrentStreams: NonNegativeInt32 | None = None
    http2KeepAlive: HTTP2KeepAlive | None = None

    @model_validator(mode="after")
    def _check(self) -> "HTTPSettings":
        if self.h2UpgradePolicy == "UPGRADE" and self.useClientProtocol:
            fail("conflict", "`useClientProtocol` must not be true when `h2UpgradePolicy` is `UPGRADE`")
        return self


class ConnectionPoolSettings(Model):
    """Limits on connections and requests to each host."""

    tcp: TCPSettings | None = None
    http: HTTPSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> "ConnectionPoolSettings":
        # validateConnectionPool
        if self.tcp is None and self.http is None:
            fail("empty", "a `connectionPool` needs `tcp` or `http` settings")
        return self


class OutlierDetection(Model):
    """Ejection of unhealthy hosts from the load-balancing pool."""

    consecutiveErrors: Annotated[int, Field(ge=-2147483648, le=2147483647)] | None = None
    splitExternalLocalOriginErrors: bool | None = None
    consecutiveLocalOriginFailures: UInt32 | None = None
    consecutiveGatewayErrors: UInt32 | None = None
    consecutive5xxErrors: UInt32 | None = None
    interval: PositiveDuration | None = None
    baseEjectionTime: PositiveDuration | None = None
    maxEjectionPercent: Annotated[int, Field(ge=0, le=100)] | None = None
    minHealthPercent: Annotated[int, Field(ge=0, le=100)] | None = None
    outlierDetectionHttpErrorCodes: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "OutlierDetection":
        # validateOutlierDetection
        if (self.consecutiveLocalOriginFailures or 0) > 0 and not self.splitExternalLocalOriginErrors:
            fail(
                "conflict",
                "`consecutiveLocalOriginFailures` needs `splitExternalLocalOriginErrors: true`",
                at=("consecutiveLocalOriginFailures",),
            )
        return self


class HTTPCookieAttribute(Model):
    """An attribute of the generated hash cookie."""

    name: str
    value: str | None = None


class HTTPCookie(Model):
    """Hash on a cookie; Envoy generates it when absent and `ttl` is set."""

    name: str
    path: str | None = None
    ttl: DurationField | None = None
    attributes: list[HTTPCookieAttribute] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "HTTPCookie":
        if not self.name:
            fail("empty", "the hash cookie needs a `name`", at=("name",))
        return self


class RingHash(Model):
    """Ring hash (ketama) consistent hashing."""

    minimumRingSize: Annotated[int, Field(ge=0)] | None = None


class MagLev(Model):
    """Maglev consistent hashing."""

    tableSize: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "MagLev":
        # validateLoadBalancer: tableSize must be set, below 5000011 and prime.
        size = self.tableSize or 0
        if size == 0:
            fail("maglev", "`tableSize` must be set for `maglev`", at=("tableSize",))
        if size >= 5000011:
            fail("maglev", f"`tableSize` must be less than 5000011, got {size}", at=("tableSize",))
        if not is_prime(size):
            fail("maglev", f"`tableSize` must be a prime number, got {size}", at=("tableSize",))
        return self


class ConsistentHashLB(Model):
    """Consistent hashing on a request property (affinity)."""

    httpHeaderName: str | None = None
    httpCookie: HTTPCookie | None = None
    useSourceIp: bool | None = None
    httpQueryParameterName: str | None = None
    ringHash: RingHash | None = None
    maglev: MagLev | None = None
    minimumRingSize: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "ConsistentHashLB":
        one_of(self, ("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"))
        one_of(self, ("ringHash", "maglev"))
        if self.minimumRingSize and (self.ringHash is not None or self.maglev is not None):
            fail("one_of", "set only one of `minimumRingSize` (deprecated), `ringHash`, `maglev`")
        return self


class LocalityFailover(Model):
    """Fail over from one region to another."""

    from_: str | None = Field(default=None, alias="from")
    to: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "LocalityFailover":
        # ValidateLocalityLbSetting, ValidateZoneAwareLbSetting
        source, target = self.from_ or "", self.to or ""
        if source == target:
            fail("failover", "`from` and `to` must name different regions")
        if "/" in source or "/" in target:
            fail("failover", "`failover` takes regions only (no `/`)")
        if "*" in source or "*" in target:
            fail("failover", "`failover` regions cannot contain `*`")
        return self


class LocalityDistribute(Model):
    """Distribute traffic from a locality to others by weight."""

    from_: str | None = Field(default=None, alias="from")
    to: dict[str, UInt32] = Field(default_factory=empty_dict)


_TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")
"""Node labels of a locality: region, zone, subzone (Istio `label.LabelTopology*`)."""


class LocalityLoadBalancerSetting(Model):
    """Locality-aware load balancing."""

    distribute: list[LocalityDistribute] = Field(default_factory=empty_list)
    failover: list[LocalityFailover] = Field(default_factory=empty_list)
    failoverPriority: list[str] = Field(default_factory=empty_list)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> "LocalityLoadBalancerSetting":
        # ValidateLocalityLbSetting
        if self.distribute and self.failover:
            fail("one_of", "set only one of `distribute`, `failover` (found `distribute` and `failover`)")
        if self.failover:
            for label in self.failoverPriority:
                if label in _TOPOLOGY_LABELS:
                    fail("conflict", f"`failoverPriority` cannot use `{label}` together with `failover`")
        for i, entry in enumerate(self.distribute):
            for locality, weight in entry.to.items():
                if not 1 <= weight <= 100:
                    fail(
                        "locality_weight",
                        f"locality weight must be between 1 and 100, got {weight}",
                        at=("distribute", i, "to", locality),
                    )
            total = sum(entry.to.values())
            if total != 100:
                fail(
                    "locality_weight",
                    f"the weights in `to` add up to {total}, not 100",
                    at=("distribute", i, "to"),
                )
        return self


class ZoneAwareLoadBalancerSetting(Model):
    """Zone-aware load balancing: Envoy keeps traffic in the zone; `failover` orders regions."""

    enabled: bool | None = None
    failover: list[LocalityFailover] = Field(default_factory=empty_list)
    failoverPriority: list[str] = Field(default_factory=empty_list)
    minClusterSize: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "ZoneAwareLoadBalancerSetting":
        # ValidateZoneAwareLbSetting
        for i, label in enumerate(self.failoverPriority):
            if label in _TOPOLOGY_LABELS:
                fail(
                    "failover_priority",
                    f"`failoverPriority` of a zone-aware setting cannot use `{label}`; region and zone routing "
                    "is automatic",
                    at=("failoverPriority", i),
                )
        return self


class WarmupConfiguration(Model):
    """Slow start for new endpoints."""

    duration: PositiveDuration
    minimumPercent: PercentValue | None = None
    aggression: Annotated[float, Field(ge=1)] | None = None


class LoadBalancerSettings(Model):
    """The load-balancing algorithm: `simple` or `consistentHash`."""

    simple: Literal["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] | None = None
    consistentHash: ConsistentHashLB | None = None
    localityLbSetting: LocalityLoadBalancerSetting | None = None
    zoneAwareLbSetting: ZoneAwareLoadBalancerSetting | None = None
    warmupDurationSecs: PositiveDuration | None = None
    warmup: WarmupConfiguration | None = None

    @model_validator(mode="after")
    def _check(self) -> "LoadBalancerSettings":
        one_of(self, ("simple", "consistentHash"))
        one_of(self, ("localityLbSetting", "zoneAwareLbSetting"))
        return self


class ClientTLSSettings(Model):
    """TLS settings for upstream connections."""

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] | None = None
    clientCertificate: str | None = None
    privateKey: str | None = None
    caCertificates: str | None = None
    credentialName: str | None = None
    subjectAltNames: list[str] = Field(default_factory=empty_list)
    sni: str | None = None
    insecureSkipVerify: bool | None = None
    caCrl: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "ClientTLSSettings":
        # agent.ValidateTLS
        mode = self.mode
        if self.insecureSkipVerify:
            if mode == "SIMPLE" and (self.caCertificates or self.credentialName or self.subjectAltNames):
                fail(
                    "tls",
                    "`caCertificates`, `credentialName` and `subjectAltNames` cannot be set "
                    "with `insecureSkipVerify: true`",
                )
            if mode == "MUTUAL" and (self.caCertificates or self.subjectAltNames):
                fail(
                    "tls",
                    "`caCertificates` and `subjectAltNames` cannot be set with `insecureSkipVerify: true`",
                )
        if mode in ("SIMPLE", "MUTUAL") and self.credentialName:
            if self.clientCertificate or self.caCertificates or self.privateKey or self.caCrl:
                fail(
                    "tls",
                    "`clientCertificate`, `privateKey`, `caCertificates` and `caCrl` cannot be set "
                    "with `credentialName`",
                )
            return self
        if mode == "MUTUAL":
            if not self.clientCertificate:
                fail("tls", "`mode: MUTUAL` needs `clientCertificate` (or `credentialName`)")
            if not self.privateKey:
                fail("tls", "`mode: MUTUAL` needs `privateKey` (or `credentialName`)")
        return self


class TunnelSettings(Model):
    """Tunnel TCP over HTTP CONNECT or POST."""

    protocol: Literal["CONNECT", "POST", ""] | None = None
    targetHost: str
    targetPort: PortNumber

    @model_validator(mode="after")
    def _check(self) -> "TunnelSettings":
        # validateTunnelSettings
        if fqdn_error(self.targetHost) and not is_ip(self.targetHost):
            fail("host", f"`{self.targetHost}` is neither a host name nor an IP address", at=("targetHost",))
        return self


class ProxyProtocol(Model):
    """Send the PROXY protocol header upstream."""

    version: Literal["V1", "V2"] | None = None


class RetryBudget(Model):
    """Limit concurrent retries to a share of active requests."""

    percent: PercentValue | None = None
    minRetryConcurrency: UInt32 | None = None
    budgetInterval: PositiveDuration | None = None


class PortTrafficPolicy(Model):
    """Traffic policy for one port of the destination."""

    port: PortSelector
    loadBalancer: LoadBalancerSettings | None = None
    connectionPool: ConnectionPoolSettings | None = None
    outlierDetection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> "PortTrafficPolicy":
        # validatePortTrafficPolicies
        if (
            self.loadBalancer is None
            and self.connectionPool is None
            and self.outlierDetection is None
            and self.tls is None
        ):
            fail(
                "empty",
                "a port traffic policy needs at least one of `loadBalancer`, `connectionPool`, "
                "`outlierDetection` or `tls`",
            )
        return self


class TrafficPolicy(Model):
    """Policies applied to traffic for a host (or a subset): load balancing, pools, TLS, ..."""

    loadBalancer: LoadBalancerSettings | None = None
    connectionPool: ConnectionPoolSettings | None = None
    outlierDetection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None
    portLevelSettings: list[PortTrafficPolicy] = Field(default_factory=empty_list)
    tunnel: TunnelSettings | None = None
    proxyProtocol: ProxyProtocol | None = None
    retryBudget: RetryBudget | None = None

    @model_validator(mode="after")
    def _check(self) -> "TrafficPolicy":
        # validateTrafficPolicy
        if not self.model_fields_set - {"portLevelSettings"} and not self.portLevelSettings:
            fail("empty", "a `trafficPolicy` needs at least one setting")
        if self.tunnel is not None and self.proxyProtocol is not None:
            fail("one_of", "set only one of `tunnel`, `proxyProtocol` (found `tunnel` and `proxyProtocol`)")
        return self


class Subset(Model):
    """A named set of endpoints of the host, selected by labels."""

    name: DnsLabel
    labels: Labels = Field(default_factory=empty_dict)
    trafficPolicy: TrafficPolicy | None = None


class DestinationRuleSpec(Model):
    """The `spec` of a DestinationRule: policies for traffic to `host`, and its subsets."""

    host: WildcardHost
    trafficPolicy: TrafficPolicy | None = None
    subsets: list[Subset] = Field(default_factory=empty_list)
    exportTo: list[str] = Field(default_factory=empty_list)
    workloadSelector: TypedWorkloadSelector | None = None

    @model_validator(mode="after")
    def _check(self) -> "DestinationRuleSpec":
        seen: set[str] = set()
        for i, subset in enumerate(self.subsets):
            if subset.name in seen:
                fail("duplicate", f"subset `{subset.name}` is defined twice", at=("subsets", i, "name"))
            seen.add(subset.name)
        return self


class DestinationRule(IstioResource):
    """A `networking.istio.io` DestinationRule: policies applied after routing."""

    apiVersion: NetworkingApiVersion
    kind: Literal["DestinationRule"]
    spec: DestinationRuleSpec

    @model_validator(mode="after")
    def _export_to(self) -> "DestinationRule":
        spec = self.spec
        self._check_export_to(spec.exportTo)
        # validateExportTo: a DestinationRule with a workload selector stays in its namespace.
        if spec.workloadSelector is not None and spec.exportTo:
            own = {".", self.namespace} if self.namespace else {"."}
            if not set(spec.exportTo) <= own or len(set(spec.exportTo)) > 1:
                fail(
                    "export_to",
                    "a DestinationRule with `workloadSelector` can only be exported to its own namespace",
                    at=("spec", "exportTo"),
                )
        return self


# --- Gateway -------------------------------------------------------------------------------------


class Port(Model):
    """A port a Gateway server listens on."""

    number: MatchPort
    protocol: Protocol
    name: str
    targetPort: MatchPort | None = None


class ServerTLSCertificate(Model):
    """One server certificate of a Gateway server (`tlsCertificates`)."""

    serverCertificate: str | None = None
    privateKey: str | None = None
    caCertificates: str | None = None


TlsVersion = Literal["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]


class ServerTLSSettings(Model):
    """TLS settings of a Gateway server or a Sidecar ingress listener."""

    httpsRedirect: bool | None = None
    mode: Literal["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"] | None = (
        None
    )
    serverCertificate: str | None = None
    privateKey: str | None = None
    caCertificates: str | None = None
    caCrl: str | None = None
    credentialName: str | None = None
    credentialNames: list[str] = Field(default_factory=empty_list)
    tlsCertificates: list[ServerTLSCertificate] = Field(default_factory=empty_list)
    subjectAltNames: list[str] = Field(default_factory=empty_list)
    verifyCertificateSpki: list[str] = Field(default_factory=empty_list)
    verifyCertificateHash: list[str] = Field(default_factory=empty_list)
    minProtocolVersion: TlsVersion | None = None
    maxProtocolVersion: TlsVersion | None = None
    cipherSuites: list[str] = Field(default_factory=empty_list)
    caCertCredentialName: str | None = None
    insecureSkipVerify: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> "ServerTLSSettings":
        _check_server_tls(self)
        return self


def _check_server_tls(tls: ServerTLSSettings) -> None:
    # validateTLSOptions (errors only; Istio's warnings are left to the rules).
    mode = tls.mode or "PASSTHROUGH"
    if mode == "ISTIO_MUTUAL":
        for field in (
            "serverCertificate",
            "privateKey",
            "caCertificates",
            "tlsCertificates",
            "credentialName",
        ):
            if getattr(tls, field):
                fail("tls", f"`mode: ISTIO_MUTUAL` cannot have `{field}`", at=(field,))
        if tls.credentialNames:
            fail("tls", "`mode: ISTIO_MUTUAL` cannot have `credentialNames`", at=("credentialNames",))
        return
    sources = [
        bool(tls.serverCertificate and tls.privateKey),
        bool(tls.credentialName),
        bool(tls.credentialNames),
        bool(tls.tlsCertificates),
    ]
    if sum(sources) > 1:
        fail(
            "tls",
            "set only one certificate source: `credentialName`, `credentialNames`, "
            "`serverCertificate`/`privateKey` or `tlsCertificates`",
        )
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL") and not (tls.credentialName or tls.credentialNames):
        what = "SIMPLE" if mode == "SIMPLE" else mode
        if mode != "SIMPLE" and not tls.caCertificates:
            fail("tls", f"`mode: {what}` needs `caCertificates` (the client CA bundle) or `credentialName`")
        certs = tls.tlsCertificates or [
            ServerTLSCertificate(serverCertificate=tls.serverCertificate, privateKey=tls.privateKey)
        ]
        for cert in certs:
            if not cert.serverCertificate:
                fail("tls", f"`mode: {what}` needs `serverCertificate` (or `credentialName`)")
            if not cert.privateKey:
                fail("tls", f"`mode: {what}` needs `privateKey` (or `credentialName`)")
    if tls.caCrl:
        if tls.credentialName:
            fail(
                "tls",
                "`caCrl` cannot be used with `credentialName`; put the CRL in the credential",
                at=("caCrl",),
            )
        if mode == "SIMPLE":
            fail("tls", "`caCrl` is not supported with `mode: SIMPLE`", at=("caCrl",))


def _bind_error(bind: str | None) -> str | None:
    if not bind:
        return None
    if bind.startswith(UNIX_PREFIX):
        return _unix_path_error(bind[len(UNIX_PREFIX) :])
    return None if is_ip(bind) else f"`{bind}` is not a valid IP address"


class Server(Model):
    """A Gateway server: a port, the hosts it serves, and TLS settings."""

    port: Port
    bind: str | None = None
    hosts: list[GatewayHost]
    tls: ServerTLSSettings | None = None
    defaultEndpoint: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Server":
        # validateServer, validateServerPort, validateServerBind
        port = self.port
        if not self.hosts:
            fail("hosts", "a server needs at least one host in `hosts`", at=("hosts",))
        unix = (self.bind or "").startswith(UNIX_PREFIX)
        if (port.number > 0 or not unix) and not 1 <= port.number <= 65535:
            fail("port", f"`number` must be between 1 and 65535, got {port.number}", at=("port", "number"))
        if port.targetPort:
            fail("port", "`targetPort` has no effect on Gateways; remove it", at=("port", "targetPort"))
        if not port.name:
            fail("port", "the server port needs a `name`", at=("port", "name"))
        error = _bind_error(self.bind)
        if error:
            fail("bind", error, at=("bind",))
        if unix and port.number != 0:
            fail("bind", "the port `number` must be 0 for a unix domain socket", at=("port", "number"))
        if is_tls_protocol(port.protocol) and self.tls is None:
            fail("tls", f"a `{port.protocol}` server needs `tls` settings")
        if self.tls is not None and not is_tls_protocol(port.protocol):
            if not is_http_protocol(port.protocol):
                fail("tls", f"a `{port.protocol}` server cannot have `tls` settings", at=("tls",))
            tls = self.tls
            # gateway.IsPassThroughServer: the default mode is PASSTHROUGH.
            passthrough = tls.mode in (None, "PASSTHROUGH", "AUTO_PASSTHROUGH")
            if not passthrough or tls.caCertificates or tls.privateKey or tls.serverCertificate:
                fail(
                    "tls",
                    "a plain-text HTTP server can only set `tls.httpsRedirect`",
                    at=("tls",),
                )
        return self


class GatewaySpec(Model):
    """The `spec` of a Gateway: the proxies it selects and the servers they expose."""

    servers: list[Server] = Field(default_factory=empty_list)
    selector: dict[str, str] = Field(default_factory=empty_dict)

    @model_validator(mode="after")
    def _check(self) -> "GatewaySpec":
        # ValidateGateway
        if not self.servers:
            fail("servers", "a Gateway needs at least one server in `servers`", at=("servers",))
        names: set[str] = set()
        for i, server in enumerate(self.servers):
            if server.port.name in names:
                fail(
                    "duplicate",
                    f"server port name `{server.port.name}` is used twice; port names must be unique",
                    at=("servers", i, "port", "name"),
                )
            names.add(server.port.name)
        return self


class Gateway(IstioResource):
    """A `networking.istio.io` Gateway: a load balancer at the edge of the mesh."""

    apiVersion: NetworkingApiVersion
    kind: Literal["Gateway"]
    spec: GatewaySpec

    @model_validator(mode="after")
    def _name(self) -> "Gateway":
        # ValidateGateway: the name must be a DNS label (no dots).
        if self.metadata.name and not is_dns1123_label(self.metadata.name):
            fail(
                "gateway_name",
                f"`{self.metadata.name}` is not a valid Gateway name; use a DNS label (no dots)",
                at=("metadata", "name"),
            )
        return self


# --- WorkloadEntry and ServiceEntry --------------------------------------------------------------


class WorkloadEntrySpec(Model):
    """A workload outside Kubernetes (VM, bare metal): its address, ports and labels."""

    address: str | None = None
    ports: dict[str, PortNumber] = Field(default_factory=empty_dict)
    labels: Labels = Field(default_factory=empty_dict)
    network: str | None = None
    locality: str | None = None
    weight: UInt32 | None = None
    serviceAccount: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "WorkloadEntrySpec":
        # validateWorkloadEntry (with FQDN addresses allowed)
        address = self.address or ""
        if not address and not self.network:
            fail("address", "missing required field `address` (or set `network`)")
        if address.startswith(UNIX_PREFIX):
            error = _unix_path_error(address[len(UNIX_PREFIX) :])
            if error:
                fail("address", error, at=("address",))
            if self.ports:
                fail("address", f"the unix endpoint `{address}` cannot have `ports`", at=("ports",))
        elif address and not is_ip(address) and fqdn_error(address):
            fail("address", f"`{address}` is neither an IP address nor a host name", at=("address",))
        for name in self.ports:
            if not is_dns1123_label(name):
                fail("port_name", f"`{name}` is not a valid port name", at=("ports", name))
        return self


class WorkloadEntry(IstioResource):
    """A `networking.istio.io` WorkloadEntry."""

    apiVersion: NetworkingApiVersion
    kind: Literal["WorkloadEntry"]
    spec: WorkloadEntrySpec


class WorkloadTemplate(Model):
    """The template of a WorkloadGroup's WorkloadEntries (the address is filled in when a VM joins)."""

    address: Annotated[str, Field(max_length=256)] | None = None
    ports: dict[str, PortNumber] = Field(default_factory=empty_dict)
    labels: Labels = Field(default_factory=empty_dict)
    network: Annotated[str, Field(max_length=2048)] | None = None
    locality: Annotated[str, Field(max_length=2048)] | None = None
    weight: UInt32 | None = None
    serviceAccount: Annotated[str, Field(max_length=253)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "WorkloadTemplate":
        # The CRD's rules (ValidateWorkloadGroup does not validate the template further).
        address = self.address or ""
        if address.startswith(UNIX_PREFIX):
            error = _unix_path_error(address[len(UNIX_PREFIX) :])
            if error:
                fail("address", error, at=("address",))
            if self.ports:
                fail("address", f"the unix endpoint `{address}` cannot have `ports`", at=("ports",))
        for name in self.ports:
            if not is_dns1123_label(name):
                fail("port_name", f"`{name}` is not a valid port name", at=("ports", name), key=True)
        return self


class WorkloadGroupMetadata(Model):
    """Labels and annotations given to the WorkloadEntries of the group."""

    labels: Labels = Field(default_factory=empty_dict)
    annotations: dict[str, str] = Field(default_factory=empty_dict)


class HTTPHeader(Model):
    """A header a readiness probe sends."""

    name: Annotated[str, Field(pattern=r"^[-_A-Za-z0-9]+$")] | None = None
    value: str | None = None


class HTTPHealthCheckConfig(Model):
    """An HTTP GET readiness probe."""

    path: str | None = None
    port: PortNumber
    host: str | None = None
    scheme: Literal["", "HTTP", "HTTPS"] | None = None
    httpHeaders: list[HTTPHeader] = Field(default_factory=empty_list)


class TCPHealthCheckConfig(Model):
    """A TCP connect readiness probe."""

    host: str | None = None
    port: PortNumber


class ExecHealthCheckConfig(Model):
    """A command run as a readiness probe."""

    command: list[Annotated[str, Field(min_length=1)]]

    @model_validator(mode="after")
    def _check(self) -> "ExecHealthCheckConfig":
        if not self.command:
            fail("exec", "`command` must not be empty", at=("command",))
        return self


class GrpcHealthCheckConfig(Model):
    """A gRPC health check readiness probe."""

    port: PortNumber | None = None
    service: str | None = None


class ReadinessProbe(Model):
    """How the agent on the VM checks that the workload is ready."""

    initialDelaySeconds: NonNegativeInt32 | None = None
    timeoutSeconds: NonNegativeInt32 | None = None
    periodSeconds: NonNegativeInt32 | None = None
    successThreshold: NonNegativeInt32 | None = None
    failureThreshold: NonNegativeInt32 | None = None
    httpGet: HTTPHealthCheckConfig | None = None
    tcpSocket: TCPHealthCheckConfig | None = None
    exec: ExecHealthCheckConfig | None = None
    grpc: GrpcHealthCheckConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> "ReadinessProbe":
        one_of(self, ("httpGet", "tcpSocket", "exec", "grpc"), required=True)
        # validateReadinessProbe knows httpGet, tcpSocket and exec; any other method is rejected.
        if self.grpc is not None:
            fail("probe", "istiod's validation rejects `grpc` readiness probes; use `httpGet`, `tcpSocket` or `exec`")
        return self


class WorkloadGroupSpec(Model):
    """The `spec` of a WorkloadGroup: the template of the WorkloadEntries of VMs that join the mesh."""

    metadata: WorkloadGroupMetadata | None = None
    template: WorkloadTemplate
    probe: ReadinessProbe | None = None


class WorkloadGroup(IstioResource):
    """A `networking.istio.io` WorkloadGroup."""

    apiVersion: NetworkingApiVersion
    kind: Literal["WorkloadGroup"]
    spec: WorkloadGroupSpec


class ServicePort(Model):
    """A port of a ServiceEntry."""

    number: PortNumber
    protocol: Protocol | None = None
    name: DnsLabel
    targetPort: MatchPort | None = None


class ServiceEntrySpec(Model):
    """The `spec` of a ServiceEntry: hosts added to Istio's service registry."""

    hosts: list[ServiceEntryHost]
    addresses: list[IpSubnet] = Field(default_factory=empty_list)
    ports: list[ServicePort] = Field(default_factory=empty_list)
    location: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] | None = None
    resolution: Literal["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"] | None = None
    endpoints: list[WorkloadEntrySpec] = Field(default_factory=empty_list)
    workloadSelector: WorkloadSelector | None = None
    exportTo: list[str] = Field(default_factory=empty_list)
    subjectAltNames: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _check(self) -> "ServiceEntrySpec":
        # ValidateServiceEntry
        if not self.hosts:
            fail("hosts", "a ServiceEntry needs at least one host in `hosts`", at=("hosts",))
        if self.workloadSelector is not None and "endpoints" in self.model_fields_set:
            fail(
                "one_of",
                "set only one of `workloadSelector`, `endpoints` (found `workloadSelector` and `endpoints`)",
            )
        resolution = self.resolution or "NONE"
        if any("/" in a for a in self.addresses) and resolution not in ("NONE", "STATIC"):
            fail("addresses", "CIDR `addresses` need `resolution: NONE` or `STATIC`", at=("addresses",))
        names: set[str] = set()
        numbers: set[int] = set()
        for i, port in enumerate(self.ports):
            if port.name in names:
                fail("duplicate", f"port name `{port.name}` is defined twice", at=("ports", i, "name"))
            if port.number in numbers:
                fail("duplicate", f"port {port.number} is defined twice", at=("ports", i, "number"))
            names.add(port.name)
            numbers.add(port.number)
        if resolution == "NONE" and self.endpoints:
            fail(
                "endpoints",
                "`endpoints` need `resolution: STATIC` or `DNS`; `NONE` takes none",
                at=("endpoints",),
            )
        for i, endpoint in enumerate(self.endpoints):
            address = endpoint.address or ""
            if resolution == "STATIC" and address and not address.startswith(UNIX_PREFIX) and not is_ip(address):
                fail(
                    "address",
                    f"`{address}` is not an IP address; `resolution: STATIC` needs IP endpoints",
                    at=("endpoints", i, "address"),
                )
            for name in endpoint.ports:
                if name not in names:
                    fail(
                        "port_name",
                        f"endpoint port `{name}` is not a port of the ServiceEntry",
                        help=f"ports defined: {ticks(sorted(names))}" if names else None,
                        at=("endpoints", i, "ports", name),
                    )
        if resolution in ("DNS", "DNS_ROUND_ROBIN"):
            if not self.endpoints:
                for i, host in enumerate(self.hosts):
                    if fqdn_error(host):
                        fail(
                            "host",
                            f"`{host}` must be a fully qualified name without wildcard when "
                            f"`resolution: {resolution}` has no `endpoints`",
                            at=("hosts", i),
                        )
            if resolution == "DNS_ROUND_ROBIN" and len(self.endpoints) > 1:
                fail("endpoints", "`resolution: DNS_ROUND_ROBIN` takes at most one endpoint", at=("endpoints",))
        if resolution != "NONE" and len(self.hosts) > 1:
            for i, port in enumerate(self.ports):
                if not is_http_protocol(port.protocol) and not is_tls_protocol(port.protocol):
                    fail(
                        "multiple_hosts",
                        "several `hosts` need HTTP or TLS ports to tell them apart; "
                        f"port `{port.name}` is {port.protocol or 'unset'}",
                        at=("ports", i, "protocol"),
                    )
        return self


class ServiceEntry(IstioResource):
    """A `networking.istio.io` ServiceEntry."""

    apiVersion: NetworkingApiVersion
    kind: Literal["ServiceEntry"]
    spec: ServiceEntrySpec

    @model_validator(mode="after")
    def _export_to(self) -> "ServiceEntry":
        self._check_export_to(self.spec.exportTo, service_entry=True)
        return self


# --- Sidecar -------------------------------------------------------------------------------------


class SidecarPort(Model):
    """A port of a Sidecar listener (number 0 with a `unix://` bind for a socket)."""

    number: MatchPort | None = None
    protocol: Protocol | None = None
    name: str | None = None
    targetPort: MatchPort | None = None

    @model_validator(mode="after")
    def _check(self) -> "SidecarPort":
        if self.name and not is_dns1123_label(self.name):
            fail("port_name", f"`{self.name}` is not a valid port name", at=("name",))
        if self.targetPort:
            fail("port", "`targetPort` has no effect on Sidecars; remove it", at=("targetPort",))
        return self


CaptureMode = Literal["DEFAULT", "IPTABLES", "NONE"]


class IstioIngressListener(Model):
    """An inbound listener of the sidecar."""

    port: SidecarPort
    bind: str | None = None
    captureMode: CaptureMode | None = None
    defaultEndpoint: str | None = None
    tls: ServerTLSSettings | None = None
    connectionPool: ConnectionPoolSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> "IstioIngressListener":
        # ValidateSidecar, ingress part
        if not 1 <= (self.port.number or 0) <= 65535:
            fail(
                "port",
                f"`number` must be between 1 and 65535, got {self.port.number or 0}",
                at=("port", "number"),
            )
        if self.bind and not is_ip(self.bind):
            fail("bind", f"`{self.bind}` is not a valid IP address", at=("bind",))
        endpoint = self.defaultEndpoint
        if endpoint:
            if endpoint.startswith(UNIX_PREFIX):
                error = _unix_path_error(endpoint[len(UNIX_PREFIX) :])
            else:
                host, _, port = endpoint.rpartition(":")
                host = host.strip("[]")
                if host not in ("", "127.0.0.1", "0.0.0.0", "::1", "::"):
                    error = (
                        "`defaultEndpoint` must be `127.0.0.1:<port>`, `0.0.0.0:<port>`, `[::1]:<port>`, "
                        "`[::]:<port>` or `unix://<path>`"
                    )
                elif not port.isdigit() or not 1 <= int(port) <= 65535:
                    error = f"`{endpoint}` does not end with a valid port number"
                else:
                    error = None
            if error:
                fail("default_endpoint", error, at=("defaultEndpoint",))
        tls = self.tls
        if tls is not None:
            for field in (
                "subjectAltNames",
                "httpsRedirect",
                "credentialName",
                "credentialNames",
                "tlsCertificates",
            ):
                if getattr(tls, field):
                    fail("tls", f"`{field}` is not supported in a Sidecar ingress `tls`", at=("tls", field))
            if tls.mode in ("ISTIO_MUTUAL", "AUTO_PASSTHROUGH"):
                fail("tls", f"`mode: {tls.mode}` is not allowed in a Sidecar ingress `tls`", at=("tls", "mode"))
            if not is_tls_protocol(self.port.protocol):
                fail("tls", "`tls` needs a port with protocol `HTTPS` or `TLS`", at=("tls",))
        return self


class IstioEgressListener(Model):
    """An outbound listener of the sidecar and the hosts it may reach."""

    port: SidecarPort | None = None
    bind: str | None = None
    captureMode: CaptureMode | None = None
    hosts: list[SidecarHost]

    @model_validator(mode="after")
    def _check(self) -> "IstioEgressListener":
        # validateSidecarEgressPortBindAndCaptureMode
        if not self.hosts:
            fail("hosts", "an egress listener needs at least one host in `hosts`", at=("hosts",))
        port, bind = self.port, self.bind or ""
        if port is None:
            return self
        if not port.number:
            if not bind.startswith(UNIX_PREFIX):
                fail("bind", "a port `number` of 0 needs a `unix://` socket in `bind`", at=("bind",))
            error = _unix_path_error(bind[len(UNIX_PREFIX) :])
            if error:
                fail("bind", error, at=("bind",))
            if self.captureMode not in (None, "DEFAULT", "NONE"):
                fail(
                    "capture_mode",
                    "unix socket listeners need `captureMode` `DEFAULT` or `NONE`",
                    at=("captureMode",),
                )
        elif bind and not is_ip(bind):
            fail("bind", f"`{bind}` is not a valid IP address", at=("bind",))
        return self


class OutboundTrafficPolicy(Model):
    """What the sidecar does with traffic to unknown destinations."""

    mode: Literal["REGISTRY_ONLY", "ALLOW_ANY"] | None = None
    egressProxy: Destination | None = None

    @model_validator(mode="after")
    def _check(self) -> "OutboundTrafficPolicy":
        # validateSidecarOutboundTrafficPolicy
        proxy = self.egressProxy
        if proxy is not None:
            if self.mode != "ALLOW_ANY":
                fail(
                    "egress_proxy",
                    "`egressProxy` can only be used with `mode: ALLOW_ANY`",
                    at=("egressProxy",),
                )
            error = fqdn_error(proxy.host)
            if error:
                fail("host", error, at=("egressProxy", "host"))
            if proxy.port is None:
                fail("egress_proxy", "missing required field `port`", at=("egressProxy",))
        return self


class SidecarSpec(Model):
    """The `spec` of a Sidecar: which traffic a workload's proxy handles, in and out."""

    workloadSelector: WorkloadSelector | None = None
    ingress: list[IstioIngressListener] = Field(default_factory=empty_list)
    egress: list[IstioEgressListener] = Field(default_factory=empty_list)
    inboundConnectionPool: ConnectionPoolSettings | None = None
    outboundTrafficPolicy: OutboundTrafficPolicy | None = None

    @model_validator(mode="after")
    def _check(self) -> "SidecarSpec":
        # ValidateSidecar
        if not (self.ingress or self.egress or self.outboundTrafficPolicy or self.inboundConnectionPool):
            fail(
                "empty",
                "a Sidecar needs at least one of `ingress`, `egress`, `outboundTrafficPolicy` or "
                "`inboundConnectionPool`",
            )
        ports: set[int] = set()
        for i, listener in enumerate(self.ingress):
            number = listener.port.number or 0
            if number in ports:
                fail("duplicate", f"ingress port {number} is used twice", at=("ingress", i, "port", "number"))
            ports.add(number)
        ports.clear()
        sockets: set[str] = set()
        for i, egress in enumerate(self.egress):
            if egress.port is None:
                if i != len(self.egress) - 1:
                    fail(
                        "catch_all",
                        "the egress listener without `port` (the catch-all) must be the last one",
                        at=("egress", i),
                    )
                continue
            number = egress.port.number or 0
            if number == 0:
                if (egress.bind or "") in sockets:
                    fail(
                        "duplicate",
                        "unix socket binds of egress listeners must be unique",
                        at=("egress", i, "bind"),
                    )
                sockets.add(egress.bind or "")
            elif number in ports:
                fail("duplicate", f"egress port {number} is used twice", at=("egress", i, "port", "number"))
            else:
                ports.add(number)
        return self


class Sidecar(IstioResource):
    """A `networking.istio.io` Sidecar."""

    apiVersion: NetworkingApiVersion
    kind: Literal["Sidecar"]
    spec: SidecarSpec


__all__ = [
    "NETWORKING_VERSIONS",
    "PROTOCOLS",
    "Destination",
    "DestinationRule",
    "DestinationRuleSpec",
    "Gateway",
    "GatewaySpec",
    "HTTPMatchRequest",
    "HTTPRoute",
    "HTTPRouteDestination",
    "ServiceEntry",
    "ServiceEntrySpec",
    "Sidecar",
    "SidecarSpec",
    "StringMatch",
    "TrafficPolicy",
    "VirtualService",
    "VirtualServiceSpec",
    "WorkloadEntry",
    "WorkloadEntrySpec",
    "WorkloadGroup",
    "WorkloadGroupSpec",
    "host_matches",
    "host_subset_of",
    "is_http_protocol",
    "is_tls_protocol",
]
