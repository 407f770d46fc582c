"""Kubernetes object metadata and the common shape of an Istio resource document."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from meshc.models.base import Model, fail
from meshc.models.checks import export_to_error

Timestamp = str | datetime.datetime
"""An RFC 3339 timestamp: text, or the datetime a YAML loader may have made of it."""


class OwnerReference(Model):
    """A Kubernetes `OwnerReference`: the object that owns this one."""

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    blockOwnerDeletion: bool | None = None


class ManagedFieldsEntry(Model):
    """A Kubernetes `ManagedFieldsEntry` (server-side apply bookkeeping)."""

    manager: str | None = None
    operation: str | None = None
    apiVersion: str | None = None
    time: Timestamp | None = None
    fieldsType: str | None = None
    fieldsV1: dict[str, Any] | None = None
    subresource: str | None = None


class ObjectMeta(Model):
    """Kubernetes `ObjectMeta` with all its fields; an unknown field is an error."""

    name: str | None = None
    generateName: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    uid: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None
    creationTimestamp: Timestamp | None = None
    deletionTimestamp: Timestamp | None = None
    deletionGracePeriodSeconds: int | None = None
    ownerReferences: list[OwnerReference] = Field(default_factory=list)
    finalizers: list[str] = Field(default_factory=list)
    managedFields: list[ManagedFieldsEntry] = Field(default_factory=list)
    selfLink: str | None = None


def _named(meta: ObjectMeta) -> ObjectMeta:
    if not meta.name and not meta.generateName:
        fail("missing_name", "missing required field `name`")
    return meta


class IstioResource(Model):
    """Fields and accessors shared by every Istio resource: `apiVersion`, `kind`, `metadata`, `status`.

    Subclasses narrow `apiVersion` and `kind` to `Literal`s and add a typed `spec`.
    """

    apiVersion: str
    kind: str
    metadata: Annotated[ObjectMeta, AfterValidator(_named)]
    status: Any = None

    @property
    def name(self) -> str:
        """`metadata.name` (or `generateName` when only that is set; empty when neither is)."""
        return self.metadata.name or self.metadata.generateName or ""

    @property
    def namespace(self) -> str | None:
        """`metadata.namespace`, or None when absent (the caller decides the default)."""
        return self.metadata.namespace

    def _check_export_to(self, export_to: list[str], service_entry: bool = False) -> None:
        if export_to:
            error = export_to_error(export_to, self.metadata.namespace, service_entry)
            if error:
                fail("export_to", error, at=("spec", "exportTo"))
