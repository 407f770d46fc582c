"""Annotation rules (MC008–MC011): Istio annotations that are unknown, misplaced, invalid or deprecated.

A port of istioctl's annotations.K8sAnalyzer (pkg/config/analysis/analyzers/annotations/annotations.go)
over the table of istio/api's annotations (`annotation_table`), with the value checks of the
sidecar injector (pkg/kube/inject/validate.go `AnnotationValidation`). istioctl reads Namespaces,
Services, Pods and Deployments; meshc also reads the other workload controllers and their pod
templates, whose annotations are the pods' annotations.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

import msgspec

from meshc.diagnostics import Severity, close_matches
from meshc.mesh import WORKLOAD_KINDS, Mesh, Resource
from meshc.rules.annotation_table import ANNOTATIONS
from meshc.rules.base import Finding, rule

Loc = tuple[str | int, ...]

# maturity.AlwaysIgnoredAnnotations: set by istiod or a controller, never reported.
ALWAYS_IGNORED = frozenset({"sidecar.istio.io/status", "gateway.istio.io/controller-version", "istio.io/rev"})
# annotations.go deprecationExtraMessages
DEPRECATION_EXTRA = {"sidecar.istio.io/inject": ' in favor of the "sidecar.istio.io/inject" label'}


def is_istio_annotation(name: str) -> bool:
    """Whether `name` is in Istio's namespace (annotations.go `istioAnnotation`)."""
    return name == "kubernetes.io/ingress.class" or name.split("/", 1)[0].endswith("istio.io")


# --- value checks (pkg/kube/inject/validate.go) ------------------------------------------------------


def _port(text: str) -> str | None:
    # parsePort: strconv.ParseUint(strings.TrimSpace(port), 10, 16)
    value = text.strip()
    if not re.fullmatch("[0-9]+", value) or int(value) > 65535:
        return f"`{text}` is not a port number"
    return None


def _port_list(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    return next((e for e in (_port(p) for p in text.split(",")) if e), None)


def _port_list_or_star(text: str) -> str | None:
    return None if text == "*" else _port_list(text)


def _cidr_list(text: str) -> str | None:
    # validateCIDRList: netip.ParsePrefix of each comma-separated item (an address needs its `/bits`).
    if not text:
        return None
    for cidr in text.split(","):
        address, slash, bits = cidr.partition("/")
        try:
            if not slash or not re.fullmatch("[0-9]+", bits):
                raise ValueError
            ipaddress.ip_network(cidr, strict=False)
            if "%" in address:
                raise ValueError
        except ValueError:
            return f"`{cidr}` is not a CIDR block such as `10.0.0.0/8`"
    return None


def _cidr_list_or_star(text: str) -> str | None:
    return None if text == "*" else _cidr_list(text)


def _uint32(text: str) -> str | None:
    if not re.fullmatch("[0-9]+", text) or int(text) > 4294967295:
        return f"`{text}` is not a non-negative integer"
    return None


_BOOLS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


def _bool(text: str) -> str | None:
    # strconv.ParseBool
    return None if text in _BOOLS else f"`{text}` is not a boolean (`true` or `false`)"


def _interception_mode(text: str) -> str | None:
    return None if text in ("REDIRECT", "TPROXY", "NONE") else f"`{text}` is not one of `REDIRECT`, `TPROXY`, `NONE`"


_INTERFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_.\-]*\Z")


def _interfaces(text: str) -> str | None:
    # pkg/util/net ValidateInterfaceNames
    if not text:
        return None
    for name in (n.strip() for n in text.split(",")):
        if not name:
            return "an interface name is empty"
        if len(name) > 15:
            return f"interface name `{name}` is longer than 15 characters"
        if not _INTERFACE.match(name):
            return f"interface name `{name}` has characters that are not allowed"
    return None


_QUANTITY = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?\Z"
)


def _quantity(text: str) -> str | None:
    # validateResourceQuantity: Kubernetes resource.ParseQuantity
    return None if _QUANTITY.match(text) else f"`{text}` is not a Kubernetes quantity such as `100m` or `128Mi`"


def _proxy_config(text: str) -> str | None:
    # validateProxyConfig applies the YAML over the default ProxyConfig: it must be a mapping.
    # Read with meshc's own loader, as Kubernetes reads YAML (meshc/source.py).
    from meshc.source import SourceFile, parse_text

    docs, errors = parse_text(SourceFile("proxy.istio.io/config", text.replace("\r\n", "\n")))
    if errors:
        return "the value is not valid YAML"
    data = docs[0].data if docs else None
    return None if data is None or isinstance(data, dict) else "the value is not a YAML mapping of ProxyConfig fields"


VALUE_CHECKS: dict[str, Callable[[str], str | None]] = {
    "sidecar.istio.io/interceptionMode": _interception_mode,
    "status.sidecar.istio.io/port": _port,
    "readiness.status.sidecar.istio.io/initialDelaySeconds": _uint32,
    "readiness.status.sidecar.istio.io/periodSeconds": _uint32,
    "readiness.status.sidecar.istio.io/failureThreshold": _uint32,
    "traffic.sidecar.istio.io/includeOutboundIPRanges": _cidr_list_or_star,
    "traffic.sidecar.istio.io/excludeOutboundIPRanges": _cidr_list,
    "traffic.sidecar.istio.io/includeInboundPorts": _port_list_or_star,
    "traffic.sidecar.istio.io/excludeInboundPorts": _port_list,
    "traffic.sidecar.istio.io/excludeOutboundPorts": _port_list,
    "traffic.sidecar.istio.io/excludeInterfaces": _interfaces,
    "traffic.sidecar.istio.io/kubevirtInterfaces": _interfaces,
    "istio.io/reroute-virtual-interfaces": _interfaces,
    "prometheus.istio.io/merge-metrics": _bool,
    "proxy.istio.io/config": _proxy_config,
    "sidecar.istio.io/proxyCPU": _quantity,
    "sidecar.istio.io/proxyMemory": _quantity,
    "sidecar.istio.io/proxyCPULimit": _quantity,
    "sidecar.istio.io/proxyMemoryLimit": _quantity,
}
"""Annotation -> its value check (inject.AnnotationValidation), returning why a value is invalid."""


# --- the walk -----------------------------------------------------------------------------------------


class _Annotated(msgspec.Struct, frozen=True):
    """One Istio annotation on one object: where it is written and as what kind of object."""

    resource: Resource
    loc: Loc
    """Path of the annotation's key."""
    kind: str
    """The kind the annotation applies as: the resource's kind, or `Pod` for a pod template."""
    name: str
    value: str
    labels: dict[str, str]


def _objects(mesh: Mesh) -> Iterator[tuple[Resource, Loc, str, dict[str, str], dict[str, str]]]:
    """(resource, metadata path, kind, annotations, labels) of every object whose annotations are read."""
    for r in mesh.of_kind("Namespace", "Service", *WORKLOAD_KINDS, partial=True):
        yield r, ("metadata",), r.kind, dict(r.annotations), dict(r.labels)
    for w in mesh.workloads:
        if w.synthetic or w.template is None or not w.template_loc:
            continue
        yield w.resource, (*w.template_loc, "metadata"), "Pod", dict(w.annotations), dict(w.labels)


def _annotations(mesh: Mesh) -> list[_Annotated]:
    out = []
    for resource, meta, kind, notes, labels in _objects(mesh):
        for name, value in notes.items():
            if is_istio_annotation(name) and name not in ALWAYS_IGNORED:
                out.append(_Annotated(resource, (*meta, "annotations", name), kind, name, str(value), labels))
    return out


def _istio_annotations(mesh: Mesh) -> list[_Annotated]:
    return mesh.memo("istio-annotations", _annotations)


def _placement(a: _Annotated) -> tuple[str, ...] | None:
    """The kinds a known annotation applies to, or None when it applies here (or anywhere)."""
    kinds, _ = ANNOTATIONS[a.name]
    return None if "Any" in kinds or a.kind in kinds else kinds


@rule("MC008", "unknown-annotation", Severity.WARNING, istio="IST0108")
def unknown_annotation(mesh: Mesh) -> Iterator[Finding]:
    """An annotation in Istio's namespace (`*.istio.io/...`) that Istio does not define.

    Checked on Namespaces, Services, Pods, workload controllers and their pod templates.

    ## Why is this bad?
    Istio ignores annotations it does not know, so the setting you meant (usually a typo of a
    real annotation) is not applied.

    ## Example
    ```yaml
    metadata:
      annotations:
        sidecar.istio.io/injet: "false"
    ```

    Use instead:
    ```yaml
    metadata:
      labels:
        sidecar.istio.io/inject: "false"
    ```
    """
    for a in _istio_annotations(mesh):
        if a.name in ANNOTATIONS:
            continue
        close = close_matches(a.name, list(ANNOTATIONS), n=1, cutoff=0.8)
        yield Finding(
            a.resource,
            a.loc,
            f"`{a.name}` is not an Istio annotation",
            help=f"did you mean `{close[0]}`?"
            if close
            else "see https://istio.io/latest/docs/reference/config/annotations/",
            key=True,
        )


@rule("MC009", "misplaced-annotation", Severity.WARNING, istio="IST0107")
def misplaced_annotation(mesh: Mesh) -> Iterator[Finding]:
    """An Istio annotation written on a kind of object it does not apply to.

    Pod annotations (`sidecar.istio.io/...`, `proxy.istio.io/config`, ...) on a Deployment's own
    `metadata` are the common case: they belong in `spec.template.metadata.annotations`.

    ## Why is this bad?
    Istio reads the annotation only on the kinds it is defined for, so here it has no effect.

    ## Example
    ```yaml
    kind: Deployment
    metadata:
      annotations:
        proxy.istio.io/config: "holdApplicationUntilProxyStarts: true"
    ```

    Use instead:
    ```yaml
    kind: Deployment
    spec:
      template:
        metadata:
          annotations:
            proxy.istio.io/config: "holdApplicationUntilProxyStarts: true"
    ```
    """
    for a in _istio_annotations(mesh):
        if a.name not in ANNOTATIONS:
            continue
        kinds = _placement(a)
        if kinds is None:
            continue
        where = " or ".join(kinds)
        moved = "Pod" in kinds and a.resource.kind in WORKLOAD_KINDS and a.resource.kind != "Pod"
        yield Finding(
            a.resource,
            a.loc,
            f"`{a.name}` applies to {where}, not to {a.kind}",
            help="move it to the pod template's `metadata.annotations`"
            if moved
            else "it has no effect here; remove it",
            key=True,
        )


@rule("MC010", "invalid-annotation-value", Severity.WARNING, istio="IST0125")
def invalid_annotation_value(mesh: Mesh) -> Iterator[Finding]:
    """An Istio annotation whose value the sidecar injector cannot use.

    Checked as the injector does (pkg/kube/inject/validate.go): ports and port lists, CIDR
    lists, integers, booleans, interception modes, interface names, resource quantities and
    `proxy.istio.io/config`.

    ## Why is this bad?
    The injector rejects the pod (injection fails) or ignores the setting.

    ## Example
    ```yaml
    annotations:
      traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.1"
    ```

    Use instead:
    ```yaml
    annotations:
      traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.1/32"
    ```
    """
    for a in _istio_annotations(mesh):
        check = VALUE_CHECKS.get(a.name)
        if check is None or _placement(a) is not None:
            continue
        error = check(a.value)
        if error:
            yield Finding(a.resource, a.loc, f"invalid value for `{a.name}`: {error}")


@rule("MC011", "deprecated-annotation", Severity.INFO, istio="IST0135")
def deprecated_annotation(mesh: Mesh) -> Iterator[Finding]:
    """An Istio annotation that Istio deprecated.

    `sidecar.istio.io/inject` as an annotation is not reported when the object also has the
    `sidecar.istio.io/inject` label (both are kept for old Istio versions).

    ## Why is this bad?
    Deprecated annotations may stop working in a later Istio release.

    ## Example
    ```yaml
    metadata:
      annotations:
        sidecar.istio.io/inject: "true"
    ```

    Use instead:
    ```yaml
    metadata:
      labels:
        sidecar.istio.io/inject: "true"
    ```
    """
    for a in _istio_annotations(mesh):
        known = ANNOTATIONS.get(a.name)
        if known is None or not known[1]:
            continue
        if a.name == "sidecar.istio.io/inject" and "sidecar.istio.io/inject" in a.labels:
            continue
        yield Finding(
            a.resource,
            a.loc,
            f"annotation `{a.name}` is deprecated{DEPRECATION_EXTRA.get(a.name, '')} and may stop working in a "
            "later Istio release",
            key=True,
        )
