"""Kubernetes object metadata and the common shape of an Istio resource document."""

import datetime
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from meshc.models.base import Model, empty_dict, empty_list, fail
from meshc.models.checks import export_to_error
from meshc.patterns import lazy

Timestamp = str | datetime.datetime
"""An RFC 3339 timestamp: text, or the datetime a YAML loader may have made of it."""


# --- names as the API server validates them (k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain,
# IsDNS1123Label, IsDNS1035Label; api/validation/objectmeta.go: ValidateObjectMeta) ---------------------

_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\Z")
_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\Z")
_LABEL_1035 = lazy(r"[a-z](?:[-a-z0-9]*[a-z0-9])?\Z")

SUBDOMAIN, LABEL, LABEL_1035 = "subdomain", "label", "1035"
"""How a kind's names are checked: most kinds (and every custom resource) take an RFC 1123 subdomain,
a Namespace an RFC 1123 label, a Service an RFC 1035 label (ValidateServiceName)."""

_RULES = {
    SUBDOMAIN: (_SUBDOMAIN, 253, "lowercase letters, digits, `-` and `.`, at most 253, starting and ending with a "
                "letter or digit (an RFC 1123 subdomain)"),
    LABEL: (_LABEL, 63, "lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit "
            "(an RFC 1123 label)"),
    LABEL_1035: (_LABEL_1035, 63, "lowercase letters, digits and `-`, at most 63, starting with a letter and ending "
                 "with a letter or digit (an RFC 1035 label)"),
}  # fmt: skip


def name_error(name: str, rule: str = SUBDOMAIN, *, prefix: bool = False) -> str | None:
    """Why the API server refuses `name` as a name of this `rule`, or None.

    With `prefix` (a `generateName`) a final `-` is allowed: the server appends random characters.
    """
    pattern, limit, words = _RULES[rule]
    checked = name[:-1] + "a" if prefix and name.endswith("-") else name  # maskTrailingDash
    if len(name) <= limit and pattern.match(checked):
        return None
    return f"`{name}` is not a valid name: use {words}"


def namespace_error(namespace: str) -> str | None:
    """Why `namespace` is not a namespace name (ValidateNamespaceName: an RFC 1123 label), or None."""
    pattern, limit, words = _RULES[LABEL]
    if len(namespace) <= limit and pattern.match(namespace):
        return None
    return f"`{namespace}` is not a valid namespace: use {words}"


def check_names(name: str | None, generate_name: str | None, namespace: str | None, rule: str, *, under: tuple[str, ...]
                ) -> None:  # fmt: skip
    """Fail (MC006, at the field) on a name, generateName or namespace the API server would refuse."""
    if isinstance(name, str) and name:
        error = name_error(name, rule)
        if error:
            fail("name", error, at=(*under, "name"))
    if isinstance(generate_name, str) and generate_name and not name:
        error = name_error(generate_name, rule, prefix=True)
        if error:
            fail("name", error, at=(*under, "generateName"))
    if isinstance(namespace, str):
        error = namespace_error(namespace)
        if error:
            fail("namespace", error, at=(*under, "namespace"))


def _cr_name(value: str | None) -> str | None:
    # Istio's and the Gateway API's kinds are custom resources: their names are RFC 1123 subdomains.
    error = name_error(value) if value else None
    if error:
        fail("name", error)
    return value


def _cr_generate_name(value: str | None) -> str | None:
    error = name_error(value, prefix=True) if value else None
    if error:
        fail("name", error)
    return value


def _namespace(value: str | None) -> str | None:
    error = namespace_error(value) if value is not None else None
    if error:
        fail("namespace", error)
    return value


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

    name: Annotated[str | None, AfterValidator(_cr_name)] = None
    generateName: Annotated[str | None, AfterValidator(_cr_generate_name)] = None
    namespace: Annotated[str | None, AfterValidator(_namespace)] = None
    labels: dict[str, str] = Field(default_factory=empty_dict)
    annotations: dict[str, str] = Field(default_factory=empty_dict)
    uid: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None
    creationTimestamp: Timestamp | None = None
    deletionTimestamp: Timestamp | None = None
    deletionGracePeriodSeconds: int | None = None
    ownerReferences: list[OwnerReference] = Field(default_factory=empty_list)
    finalizers: list[str] = Field(default_factory=empty_list)
    managedFields: list[ManagedFieldsEntry] = Field(default_factory=empty_list)
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
