"""The registry of resource kinds meshc reads, and the public entry points of the models.

`lookup(apiVersion, kind)` finds the model for a document; `version_ok` tells whether its version
is one meshc accepts; `meshc.models.errors.validate` turns a document into a model or problems.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from meshc.models import extensions, gatewayapi, kube, networking, security
from meshc.models.errors import Problem, validate


@dataclass(frozen=True)
class KindInfo:
    """A resource kind meshc knows.

    Attributes:
        group: the API group: `networking.istio.io`, `security.istio.io`, `telemetry.istio.io`,
            `extensions.istio.io`, `""` for core, `apps`, `batch`.
        kind: the kind, e.g. `VirtualService`.
        versions: the accepted versions, newest first, e.g. `("v1", "v1beta1", "v1alpha3")`.
        model: the pydantic model of a whole document of this kind.
        istio: True for Istio kinds (strict), False for Kubernetes kinds (loose).
    """

    group: str
    kind: str
    versions: tuple[str, ...]
    model: type[BaseModel]
    istio: bool

    @property
    def api_versions(self) -> tuple[str, ...]:
        """The accepted `apiVersion` strings, e.g. `networking.istio.io/v1` (`v1` for the core group)."""
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)


def _kinds(group: str, versions: tuple[str, ...], istio: bool, *models: type[BaseModel]) -> list[KindInfo]:
    return [KindInfo(group, m.__name__, versions, m, istio) for m in models]


_ALL = [
    *_kinds(
        "networking.istio.io",
        networking.NETWORKING_VERSIONS,
        True,
        networking.VirtualService,
        networking.DestinationRule,
        networking.Gateway,
        networking.ServiceEntry,
        networking.Sidecar,
        networking.WorkloadEntry,
        networking.WorkloadGroup,
    ),
    *_kinds("networking.istio.io", ("v1alpha3",), True, extensions.EnvoyFilter),
    *_kinds("networking.istio.io", ("v1beta1",), True, extensions.ProxyConfig),
    *_kinds("telemetry.istio.io", ("v1", "v1alpha1"), True, extensions.Telemetry),
    *_kinds("extensions.istio.io", ("v1alpha1",), True, extensions.WasmPlugin),
    *_kinds(
        "security.istio.io",
        security.SECURITY_VERSIONS,
        True,
        security.AuthorizationPolicy,
        security.RequestAuthentication,
        security.PeerAuthentication,
    ),
    *_kinds("", ("v1",), False, kube.Service, kube.Pod, kube.Namespace),
    *_kinds("apps", ("v1",), False, kube.Deployment, kube.StatefulSet, kube.DaemonSet, kube.ReplicaSet),
    *_kinds("batch", ("v1",), False, kube.Job),
    *_kinds("batch", ("v1", "v1beta1"), False, kube.CronJob),
    *_kinds("apiextensions.k8s.io", ("v1",), False, kube.CustomResourceDefinition),
    *(KindInfo(gatewayapi.GROUP, kind, gatewayapi.VERSIONS[kind], m, True) for kind, m in gatewayapi.KINDS.items()),
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


__all__ = ["KINDS", "KindInfo", "Problem", "lookup", "validate", "version_ok"]
