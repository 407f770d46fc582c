"""The parts of Kubernetes objects that meshc reads: Services, Pods and Namespaces.

Workload controllers and CustomResourceDefinitions are in `meshc.models.workloads`.

The models are loose: the fields meshc uses are typed and checked, every other field is
tolerated, and an explicit `null` on a list or map reads as empty (as the API server does).
"""

from typing import Any, Literal

from pydantic import Field, model_validator

from meshc.models.base import LooseModel, NullableDict, NullableList, empty_dict, empty_list
from meshc.models.meta import LABEL, LABEL_1035, SUBDOMAIN, check_names

_CLUSTER_SCOPED = frozenset({"Namespace", "CustomResourceDefinition"})

Timestamp = Any
"""Kubernetes timestamps are tolerated in any form (text, datetime, `null`)."""


class KubeObjectMeta(LooseModel):
    """Kubernetes `ObjectMeta`: the fields meshc reads."""

    name: str | None = None
    generateName: str | None = None
    namespace: str | None = None
    labels: NullableDict[str] = Field(default_factory=empty_dict)
    annotations: NullableDict[str] = Field(default_factory=empty_dict)
    uid: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None
    creationTimestamp: Timestamp = None
    deletionTimestamp: Timestamp = None
    deletionGracePeriodSeconds: int | None = None
    ownerReferences: NullableList[dict[str, Any]] = Field(default_factory=empty_list)
    finalizers: NullableList[str] = Field(default_factory=empty_list)
    selfLink: str | None = None


class KubeResource(LooseModel):
    """Fields and accessors shared by the Kubernetes kinds."""

    apiVersion: str
    kind: str
    metadata: KubeObjectMeta = Field(default_factory=KubeObjectMeta)

    @model_validator(mode="after")
    def _names(self) -> "KubeResource":
        # ValidateObjectMeta with each kind's name function (a Service's name is a DNS-1035 label,
        # a Namespace's a DNS-1123 label, the rest DNS-1123 subdomains); cluster-scoped kinds have
        # no namespace to check.
        meta = self.metadata
        rule = {"Service": LABEL_1035, "Namespace": LABEL}.get(self.kind, SUBDOMAIN)
        namespace = None if self.kind in _CLUSTER_SCOPED else meta.namespace
        check_names(meta.name, meta.generateName, namespace, rule, under=("metadata",))
        return self

    @property
    def name(self) -> str:
        """`metadata.name` (or `generateName`; empty when neither is set)."""
        return self.metadata.name or self.metadata.generateName or ""

    @property
    def namespace(self) -> str | None:
        """`metadata.namespace`, or None when absent (the caller decides the default)."""
        return self.metadata.namespace


# --- Service -------------------------------------------------------------------------------------


class ServicePort(LooseModel):
    """A port of a Service."""

    name: str | None = None
    port: int
    targetPort: int | str | None = None
    protocol: str | None = None
    appProtocol: str | None = None
    nodePort: int | None = None


class ServiceSpec(LooseModel):
    """The `spec` of a Service: the pods it selects and the ports it exposes."""

    selector: NullableDict[str] = Field(default_factory=empty_dict)
    ports: NullableList[ServicePort] = Field(default_factory=empty_list)
    type: str | None = None
    externalName: str | None = None
    clusterIP: str | None = None
    clusterIPs: NullableList[str] = Field(default_factory=empty_list)


class Service(KubeResource):
    """A Kubernetes Service."""

    apiVersion: Literal["v1"]
    kind: Literal["Service"]
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


# --- Pods and pod templates ----------------------------------------------------------------------


class SecurityContext(LooseModel):
    """The part of a (pod or container) security context meshc reads."""

    runAsUser: int | None = None


class ContainerPort(LooseModel):
    """A port a container listens on."""

    containerPort: int
    name: str | None = None
    protocol: str | None = None
    hostPort: int | None = None


class Container(LooseModel):
    """A container of a pod."""

    name: str
    image: str | None = None
    ports: NullableList[ContainerPort] = Field(default_factory=empty_list)
    securityContext: SecurityContext | None = None


class PodSpec(LooseModel):
    """The `spec` of a Pod (or a pod template)."""

    containers: NullableList[Container] = Field(default_factory=empty_list)
    initContainers: NullableList[Container] = Field(default_factory=empty_list)
    securityContext: SecurityContext | None = None
    serviceAccountName: str | None = None
    hostNetwork: bool | None = None


class Pod(KubeResource):
    """A Kubernetes Pod."""

    apiVersion: Literal["v1"]
    kind: Literal["Pod"]
    spec: PodSpec = Field(default_factory=PodSpec)


class Namespace(KubeResource):
    """A Kubernetes Namespace (its labels decide injection and ambient mode)."""

    apiVersion: Literal["v1"]
    kind: Literal["Namespace"]
