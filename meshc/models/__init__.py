"""The registry of resource kinds meshc reads, and the public entry points of the models.

`lookup(apiVersion, kind)` finds the model for a document; `version_ok` tells whether its version
is one meshc accepts; `meshc.models.errors.validate` turns a document into a model or problems.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import msgspec

from meshc.models.errors import Problem, validate

if TYPE_CHECKING:
    from pydantic import BaseModel

NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
"""Versions of networking.istio.io that meshc accepts, newest first."""

SECURITY_VERSIONS = ("v1", "v1beta1")
"""Versions of security.istio.io that meshc accepts, newest first."""

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
"""The Gateway API group."""

GATEWAY_API_VERSIONS: dict[str, tuple[str, ...]] = {
    "Gateway": ("v1", "v1beta1"),
    "GatewayClass": ("v1", "v1beta1"),
    "HTTPRoute": ("v1", "v1beta1"),
    "GRPCRoute": ("v1",),
    "ReferenceGrant": ("v1", "v1beta1"),
    "TCPRoute": ("v1", "v1alpha2"),
    "TLSRoute": ("v1", "v1alpha3", "v1alpha2"),
}
"""Versions each Gateway API kind's CRD serves in Gateway API v1.6.0, newest first."""


class KindInfo(msgspec.Struct, frozen=True):
    """A resource kind meshc knows.

    Attributes:
        group: the API group: `networking.istio.io`, `security.istio.io`, `telemetry.istio.io`,
            `extensions.istio.io`, `""` for core, `apps`, `batch`.
        kind: the kind, e.g. `VirtualService`.
        versions: the accepted versions, newest first, e.g. `("v1", "v1beta1", "v1alpha3")`.
        module: the module of `meshc.models` that defines the kind's model, e.g. `networking`.
        istio: True for Istio kinds (strict), False for Kubernetes kinds (loose).
    """

    group: str
    kind: str
    versions: tuple[str, ...]
    module: str
    istio: bool

    def __repr__(self) -> str:  # every field but `module`, an implementation detail (was field(repr=False))
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "module")
        return f"KindInfo({shown})"

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model of a whole document of this kind.

        Its module is imported on first use: building the 253 model classes of every kind took
        about 40% of a lint of one small file, which needs one or two kinds.
        """
        model: type[BaseModel] = getattr(importlib.import_module(f"meshc.models.{self.module}"), self.kind)
        return model

    @property
    def api_versions(self) -> tuple[str, ...]:
        """The accepted `apiVersion` strings, e.g. `networking.istio.io/v1` (`v1` for the core group)."""
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)


def _kinds(group: str, versions: tuple[str, ...], istio: bool, module: str, *kinds: str) -> list[KindInfo]:
    return [KindInfo(group, kind, versions, module, istio) for kind in kinds]


_ALL = [
    *_kinds("networking.istio.io", NETWORKING_VERSIONS, True, "networking", "VirtualService"),
    *_kinds(
        "networking.istio.io",
        NETWORKING_VERSIONS,
        True,
        "traffic",
        "DestinationRule",
        "Gateway",
        "ServiceEntry",
        "Sidecar",
        "WorkloadEntry",
        "WorkloadGroup",
    ),
    *_kinds("networking.istio.io", ("v1alpha3",), True, "extensions", "EnvoyFilter"),
    *_kinds("networking.istio.io", ("v1beta1",), True, "extensions", "ProxyConfig"),
    *_kinds("telemetry.istio.io", ("v1", "v1alpha1"), True, "extensions", "Telemetry"),
    *_kinds("extensions.istio.io", ("v1alpha1",), True, "extensions", "WasmPlugin"),
    *_kinds(
        "security.istio.io",
        SECURITY_VERSIONS,
        True,
        "security",
        "AuthorizationPolicy",
        "RequestAuthentication",
        "PeerAuthentication",
    ),
    *_kinds("", ("v1",), False, "kube", "Service", "Pod", "Namespace"),
    *_kinds("apps", ("v1",), False, "workloads", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"),
    *_kinds("batch", ("v1",), False, "workloads", "Job"),
    *_kinds("batch", ("v1", "v1beta1"), False, "workloads", "CronJob"),
    *_kinds("apiextensions.k8s.io", ("v1",), False, "workloads", "CustomResourceDefinition"),
    *(
        KindInfo(GATEWAY_API_GROUP, kind, versions, "gatewayapi", True)
        for kind, versions in GATEWAY_API_VERSIONS.items()
    ),
]

KINDS: dict[tuple[str, str], KindInfo] = {(info.group, info.kind): info for info in _ALL}
"""Every kind meshc reads, keyed by (group, kind)."""


def _split(api_version: str) -> tuple[str, str]:
    group, slash, version = api_version.rpartition("/")
    return (group, version) if slash else ("", api_version)


def lookup(api_version: object, kind: object) -> KindInfo | None:
    """The kind a document declares, or None when meshc does not know it (never raises).

    The version is not checked here (see `version_ok`): `networking.istio.io/v2` still finds
    VirtualService, so the caller can report a bad version rather than skip the document. A kind
    of another group than the ones registered (e.g. `telemetry.istio.io` Telemetry) is unknown.

    Args:
        api_version: the document's `apiVersion` (any value; non-strings give None).
        kind: the document's `kind` (any value; non-strings give None).

    Returns:
        The KindInfo, or None for a kind meshc does not read (the caller skips and counts it).
    """
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return KINDS.get((_split(api_version)[0], kind))


def version_ok(info: KindInfo, api_version: str) -> bool:
    """Whether `api_version` is `group/version` for an accepted version of the kind."""
    group, version = _split(api_version)
    return group == info.group and version in info.versions


__all__ = [
    "GATEWAY_API_GROUP",
    "GATEWAY_API_VERSIONS",
    "KINDS",
    "NETWORKING_VERSIONS",
    "SECURITY_VERSIONS",
    "KindInfo",
    "Problem",
    "lookup",
    "validate",
    "version_ok",
]
