"""The kind registry: lookup by apiVersion and kind, accepted versions, resource accessors."""

from __future__ import annotations

import pytest

from meshc.models import KINDS, lookup, validate, version_ok
from meshc.models.networking import VirtualService

ISTIO_KINDS = (
    {
        ("networking.istio.io", k)
        for k in (
            "VirtualService",
            "DestinationRule",
            "Gateway",
            "ServiceEntry",
            "Sidecar",
            "WorkloadEntry",
            "WorkloadGroup",
            "EnvoyFilter",
            "ProxyConfig",
        )
    }
    | {("security.istio.io", k) for k in ("AuthorizationPolicy", "RequestAuthentication", "PeerAuthentication")}
    | {("telemetry.istio.io", "Telemetry"), ("extensions.istio.io", "WasmPlugin")}
)
KUBE_KINDS = (
    {("", "Service"), ("", "Pod"), ("", "Namespace"), ("batch", "Job"), ("batch", "CronJob")}
    | {("apps", k) for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")}
    | {("apiextensions.k8s.io", "CustomResourceDefinition")}
)
GATEWAY_API_KINDS = {
    ("gateway.networking.k8s.io", k)
    for k in ("Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "TCPRoute", "TLSRoute")
}


def test_registry_holds_exactly_the_istio_and_kubernetes_kinds_meshc_reads() -> None:
    assert set(KINDS) == ISTIO_KINDS | KUBE_KINDS | GATEWAY_API_KINDS
    assert all(KINDS[key].istio for key in ISTIO_KINDS | GATEWAY_API_KINDS)
    assert not any(KINDS[key].istio for key in KUBE_KINDS)


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
def test_networking_versions_share_one_model(version: str) -> None:
    info = lookup(f"networking.istio.io/{version}", "VirtualService")
    assert info is not None and info.model is VirtualService
    assert version_ok(info, f"networking.istio.io/{version}")
    document = {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "VirtualService",
        "metadata": {"name": "r"},
        "spec": {"hosts": ["r"], "http": [{"route": [{"destination": {"host": "r"}}]}]},
    }
    model, problems = validate(info.model, document)
    assert problems == [] and model is not None


def test_unknown_version_is_found_by_lookup_but_rejected_by_version_ok() -> None:
    info = lookup("networking.istio.io/v2", "VirtualService")
    assert info is not None
    assert not version_ok(info, "networking.istio.io/v2")
    assert not version_ok(info, "security.istio.io/v1")
    assert version_ok(lookup("security.istio.io/v1beta1", "AuthorizationPolicy"), "security.istio.io/v1beta1")
    assert not version_ok(lookup("security.istio.io/v1", "PeerAuthentication"), "security.istio.io/v1alpha3")


def test_gateway_api_gateway_is_not_the_istio_gateway() -> None:
    kubernetes = lookup("gateway.networking.k8s.io/v1", "Gateway")
    istio = lookup("networking.istio.io/v1", "Gateway")
    assert kubernetes is KINDS[("gateway.networking.k8s.io", "Gateway")]
    assert istio is KINDS[("networking.istio.io", "Gateway")]
    assert kubernetes.model is not istio.model and kubernetes.kind == istio.kind == "Gateway"


@pytest.mark.parametrize(
    ("kind", "served"),
    [
        ("Gateway", ("v1", "v1beta1")),
        ("HTTPRoute", ("v1", "v1beta1")),
        ("GRPCRoute", ("v1",)),
        ("ReferenceGrant", ("v1", "v1beta1")),
        ("TCPRoute", ("v1", "v1alpha2")),
        ("TLSRoute", ("v1", "v1alpha3", "v1alpha2")),
    ],
)
def test_gateway_api_versions_are_the_ones_the_crds_serve(kind: str, served: tuple[str, ...]) -> None:
    info = lookup(f"gateway.networking.k8s.io/{served[0]}", kind)
    assert info is not None and info.versions == served
    assert all(version_ok(info, f"gateway.networking.k8s.io/{v}") for v in served)
    assert not version_ok(info, "gateway.networking.k8s.io/v1alpha1")


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        (None, "Service"),
        ("v1", None),
        (1, "Service"),
        ("v1", ["Service"]),
        ("v1", "ConfigMap"),
        ("", ""),
        ({}, {}),
    ],
)
def test_lookup_returns_none_for_anything_it_does_not_know(api_version: object, kind: object) -> None:
    assert lookup(api_version, kind) is None


def test_core_and_apps_kinds_resolve_by_group() -> None:
    assert lookup("v1", "Service").group == ""
    assert lookup("apps/v1", "Deployment").group == "apps"
    assert lookup("extensions/v1beta1", "Deployment") is None
    assert version_ok(lookup("batch/v1beta1", "CronJob"), "batch/v1beta1")
    assert KINDS[("", "Service")].api_versions == ("v1",)


def test_resource_name_and_namespace_properties() -> None:
    info = lookup("networking.istio.io/v1", "DestinationRule")
    spec = {"host": "reviews"}
    with_ns, _ = validate(
        info.model,
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "dr", "namespace": "prod"},
            "spec": spec,
        },
    )
    without_ns, _ = validate(
        info.model,
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "dr"},
            "spec": spec,
        },
    )
    assert (with_ns.name, with_ns.namespace) == ("dr", "prod")
    assert (without_ns.name, without_ns.namespace) == ("dr", None)
    service, _ = validate(
        lookup("v1", "Service").model, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    )
    assert (service.name, service.namespace) == ("s", None)


@pytest.mark.parametrize(
    ("api_version", "kind", "accepted"),
    [
        ("networking.istio.io/v1alpha3", "EnvoyFilter", True),
        ("networking.istio.io/v1", "EnvoyFilter", False),
        ("networking.istio.io/v1beta1", "ProxyConfig", True),
        ("networking.istio.io/v1", "ProxyConfig", False),
        ("networking.istio.io/v1", "WorkloadGroup", True),
        ("telemetry.istio.io/v1", "Telemetry", True),
        ("telemetry.istio.io/v1alpha1", "Telemetry", True),
        ("extensions.istio.io/v1alpha1", "WasmPlugin", True),
        ("extensions.istio.io/v1", "WasmPlugin", False),
    ],
)
def test_kinds_beside_the_routed_ones_have_their_own_versions(api_version: str, kind: str, accepted: bool) -> None:
    info = lookup(api_version, kind)
    assert info is not None and info.kind == kind
    assert version_ok(info, api_version) is accepted
