"""The parts of Kubernetes workload controllers and CustomResourceDefinitions that meshc reads.

Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob and CustomResourceDefinition: a
module of their own (Pods, Services and Namespaces are in `meshc.models.kube`): every lint
builds the default ingress Pod and Service, and a run whose input has none of these kinds does not
build their classes. The models are loose, as in `meshc.models.kube`.
"""

from typing import Literal

from pydantic import Field

from meshc.models.base import LooseModel, NullableDict, NullableList, empty_dict, empty_list
from meshc.models.kube import KubeObjectMeta, KubeResource, Pod, PodSpec


class PodTemplateSpec(LooseModel):
    """A pod template: the metadata and spec of the pods a controller creates."""

    metadata: KubeObjectMeta = Field(default_factory=KubeObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)


class LabelSelectorRequirement(LooseModel):
    """A set-based label requirement (`matchExpressions` item)."""

    key: str
    operator: str
    values: NullableList[str] = Field(default_factory=empty_list)


class LabelSelector(LooseModel):
    """A Kubernetes label selector."""

    matchLabels: NullableDict[str] = Field(default_factory=empty_dict)
    matchExpressions: NullableList[LabelSelectorRequirement] = Field(default_factory=empty_list)


class WorkloadSpec(LooseModel):
    """The `spec` of a Deployment, StatefulSet, DaemonSet or ReplicaSet."""

    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    replicas: int | None = None


class Deployment(KubeResource):
    """A Kubernetes Deployment."""

    apiVersion: Literal["apps/v1"]
    kind: Literal["Deployment"]
    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)


class StatefulSet(KubeResource):
    """A Kubernetes StatefulSet."""

    apiVersion: Literal["apps/v1"]
    kind: Literal["StatefulSet"]
    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)


class DaemonSet(KubeResource):
    """A Kubernetes DaemonSet."""

    apiVersion: Literal["apps/v1"]
    kind: Literal["DaemonSet"]
    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)


class ReplicaSet(KubeResource):
    """A Kubernetes ReplicaSet."""

    apiVersion: Literal["apps/v1"]
    kind: Literal["ReplicaSet"]
    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)


class JobSpec(LooseModel):
    """The `spec` of a Job (and of a CronJob's job template)."""

    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)


class Job(KubeResource):
    """A Kubernetes Job."""

    apiVersion: Literal["batch/v1"]
    kind: Literal["Job"]
    spec: JobSpec = Field(default_factory=JobSpec)


class JobTemplateSpec(LooseModel):
    """The job template of a CronJob."""

    metadata: KubeObjectMeta = Field(default_factory=KubeObjectMeta)
    spec: JobSpec = Field(default_factory=JobSpec)


class CronJobSpec(LooseModel):
    """The `spec` of a CronJob."""

    schedule: str | None = None
    jobTemplate: JobTemplateSpec = Field(default_factory=JobTemplateSpec)


class CronJob(KubeResource):
    """A Kubernetes CronJob."""

    apiVersion: Literal["batch/v1", "batch/v1beta1"]
    kind: Literal["CronJob"]
    spec: CronJobSpec = Field(default_factory=CronJobSpec)


class CustomResourceDefinitionNames(LooseModel):
    """The names of a CustomResourceDefinition's kind."""

    kind: str | None = None
    plural: str | None = None


class CustomResourceDefinitionVersion(LooseModel):
    """A version a CustomResourceDefinition serves (its schema is not read)."""

    name: str | None = None
    served: bool | None = None
    storage: bool | None = None


class CustomResourceDefinitionSpec(LooseModel):
    """The `spec` of a CustomResourceDefinition: its group, kind and versions."""

    group: str | None = None
    names: CustomResourceDefinitionNames = Field(default_factory=CustomResourceDefinitionNames)
    versions: NullableList[CustomResourceDefinitionVersion] = Field(default_factory=empty_list)


class CustomResourceDefinition(KubeResource):
    """A Kubernetes CustomResourceDefinition (the Gateway API CRDs carry their bundle version)."""

    apiVersion: Literal["apiextensions.k8s.io/v1"]
    kind: Literal["CustomResourceDefinition"]
    spec: CustomResourceDefinitionSpec = Field(default_factory=CustomResourceDefinitionSpec)


def pod_template(resource: KubeResource) -> PodTemplateSpec | None:
    """The pod template of a workload controller, the pod itself as a template, or None.

    Args:
        resource: a validated Kubernetes model.

    Returns:
        For Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs their `spec.template`; for
        CronJobs `spec.jobTemplate.spec.template`; for a Pod a template made of its metadata and
        spec; None for other kinds.
    """
    if isinstance(resource, (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job)):
        return resource.spec.template
    if isinstance(resource, CronJob):
        return resource.spec.jobTemplate.spec.template
    if isinstance(resource, Pod):
        return PodTemplateSpec(metadata=resource.metadata, spec=resource.spec)
    return None
