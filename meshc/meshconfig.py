"""Mesh-wide settings (Istio's MeshConfig) from `--mesh-config` or the `istio` ConfigMap, with Istio's defaults.

istiod reads its MeshConfig from the ConfigMap `istio` (key `mesh`) in its own namespace, on top of
`mesh.DefaultMeshConfig()` (pkg/config/mesh/mesh.go). meshc reads the same settings from the file
given with `--mesh-config` (a MeshConfig YAML, an `istio` ConfigMap, or an IstioOperator's
`spec.meshConfig`), else from an `istio` ConfigMap among the inputs, else uses those defaults. Only
the fields meshc uses are read (the others are ignored, as they do not change routing):

- `outboundTrafficPolicy.mode`: what a sidecar does with a host outside the registry
  (`ALLOW_ANY`: `PassthroughCluster`; `REGISTRY_ONLY`: `BlackHoleCluster` / 502;
  `ALLOW_ANY_DYNAMIC_DNS`: `AllowAnyDynamicDNSCluster` for plain HTTP);
- `rootNamespace`: where mesh-wide Sidecars, DestinationRules and policies live;
- `defaultHttpRetryPolicy`: the retries of a route whose VirtualService sets none;
- `defaultServiceExportTo`, `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo`:
  the visibility of a resource whose `exportTo` is empty.

`Mesh.settings` holds the effective settings of a run; every stage reads them there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict

from meshc.diagnostics import Span, format_field
from meshc.models.checks import DnsLabel
from meshc.models.errors import validate
from meshc.models.networking import HTTPRetry

if TYPE_CHECKING:
    from meshc.source import Document

DEFAULT_ROOT_NAMESPACE = "istio-system"
"""`constants.IstioSystemNamespace`, MeshConfig's default `rootNamespace`."""
CONFIGMAP_NAME = "istio"
"""The ConfigMap istiod reads its MeshConfig from (`mesh` key), in its own namespace."""
CONFIGMAP_KEY = "mesh"
OutboundMode = Literal["ALLOW_ANY", "REGISTRY_ONLY", "ALLOW_ANY_DYNAMIC_DNS"]


class MeshConfigError(Exception):
    """A mesh configuration that cannot be used: one line with its place, exit code 2."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        if self.span is None:
            return self.message
        return f"{self.span.path}:{self.span.line}: {self.message}"


class _OutboundTrafficPolicy(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    mode: OutboundMode | None = None


class MeshConfigSpec(BaseModel):
    """The MeshConfig fields meshc reads (YAML names); every other field is ignored."""

    # Its validator is built when a run reads mesh settings (most read none): about 10 ms at import.
    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    outboundTrafficPolicy: _OutboundTrafficPolicy | None = None
    rootNamespace: DnsLabel | None = None
    defaultHttpRetryPolicy: HTTPRetry | None = None
    defaultServiceExportTo: list[str] | None = None
    defaultVirtualServiceExportTo: list[str] | None = None
    defaultDestinationRuleExportTo: list[str] | None = None


_NOT_COMPARED = frozenset({"problems", "configmap"})
"""The MeshConfig fields equality and hash leave out (what was `field(compare=False)`)."""


class MeshConfig(msgspec.Struct, frozen=True):
    """The mesh settings of a run; the defaults are Istio's (`mesh.DefaultMeshConfig()`)."""

    outbound_traffic_policy: OutboundMode = "ALLOW_ANY"
    """`outboundTrafficPolicy.mode`."""
    root_namespace: str | None = None
    """`rootNamespace` when the settings name one; None: the configured root namespace
    (`root-namespace` in the meshc configuration, else `istio-system`)."""
    default_http_retry_policy: HTTPRetry | None = None
    """`defaultHttpRetryPolicy`; None: Istio's built-in default (2 attempts)."""
    default_service_export_to: tuple[str, ...] = ("*",)
    """`defaultServiceExportTo`."""
    default_virtual_service_export_to: tuple[str, ...] = ("*",)
    """`defaultVirtualServiceExportTo`."""
    default_destination_rule_export_to: tuple[str, ...] = ("*",)
    """`defaultDestinationRuleExportTo`."""
    source: str | None = None
    """Where the settings come from (`mesh.yaml`, `ConfigMap istio-system/istio (mesh.yaml:3)`);
    None: Istio's defaults."""
    problems: tuple[tuple[Span, str], ...] = ()
    """What was wrong with an `istio` ConfigMap of the input (its settings were then not used)."""
    configmap: Any = None
    """The `mesh.Resource` of the `istio` ConfigMap of the input the settings were read from (or that
    was unusable); typed loosely, as this module sits below the Mesh."""

    def _compared(self) -> tuple[Any, ...]:
        # The settings themselves: `problems` and `configmap` say where they came from, not what they are.
        # Every other field is compared, a field added later included (field(compare=False) did this).
        return tuple(getattr(self, name) for name in self.__struct_fields__ if name not in _NOT_COMPARED)

    def __eq__(self, other: object) -> bool:
        if type(other) is not MeshConfig:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    @property
    def allows_any(self) -> bool:
        """Whether traffic to a host outside the registry leaves the mesh (ALLOW_ANY or ALLOW_ANY_DYNAMIC_DNS)."""
        return self.outbound_traffic_policy != "REGISTRY_ONLY"

    def describe(self) -> str:
        """`outboundTrafficPolicy REGISTRY_ONLY from ConfigMap istio-system/istio (mesh.yaml:5)`, for explanations."""
        where = f"from {self.source}" if self.source else "(Istio's default)"
        return f"outboundTrafficPolicy {self.outbound_traffic_policy} {where}"


def _export(values: list[str] | None) -> tuple[str, ...]:
    return tuple(values) if values else ("*",)


def from_data(data: Any, source: str, span_of: Any) -> MeshConfig:
    """Settings from a parsed MeshConfig mapping; `span_of(loc)` places a problem (MeshConfigError)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise MeshConfigError("the mesh configuration must be a mapping of MeshConfig fields", span_of(()))
    spec, problems = validate(MeshConfigSpec, dict(data))
    if spec is None:
        p = problems[0]
        text = p.message + (f" ({p.help})" if p.help else "")
        where = f" `{format_field(p.loc)}`" if p.loc else ""
        raise MeshConfigError(f"mesh configuration{where}: {text}", span_of(p.loc))
    assert isinstance(spec, MeshConfigSpec)
    otp = spec.outboundTrafficPolicy
    return MeshConfig(
        otp.mode if otp is not None and otp.mode is not None else "ALLOW_ANY",
        spec.rootNamespace or None,
        spec.defaultHttpRetryPolicy,
        _export(spec.defaultServiceExportTo),
        _export(spec.defaultVirtualServiceExportTo),
        _export(spec.defaultDestinationRuleExportTo),
        source,
    )


def _embedded(text: Any, doc_path: str, span: Span, source: str) -> MeshConfig:
    """Settings from the `mesh` string of a ConfigMap (YAML inside YAML), placed at that string."""
    from meshc.source import SourceFile, parse_text

    if not isinstance(text, str):
        raise MeshConfigError(f"`data.{CONFIGMAP_KEY}` must be a string holding MeshConfig YAML", span)
    docs, errors = parse_text(SourceFile(doc_path, text))
    # A block scalar (`mesh: |`) starts on the line after the key; a quoted one on its line.
    shift = span.line if text.count("\n") else span.line - 1

    def place(line: int) -> Span:
        return Span(span.path, line + shift, 1)

    if errors:
        raise MeshConfigError(f"`data.{CONFIGMAP_KEY}` is not valid YAML: {errors[0].message}", place(errors[0].line))
    data = docs[0].data if docs else {}
    inner = docs[0] if docs else None
    return from_data(data, source, lambda loc: place(inner.span(loc).line) if inner is not None else span)


def from_document(doc: Document, data: Any) -> MeshConfig:
    """Settings from one YAML document: an `istio` ConfigMap, an IstioOperator, or a MeshConfig."""
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "ConfigMap":
        meta = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
        where = f"ConfigMap {meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
        cm_data = data.get("data") if isinstance(data.get("data"), Mapping) else {}
        if CONFIGMAP_KEY not in cm_data:
            raise MeshConfigError(f"{where} has no `data.{CONFIGMAP_KEY}` (the MeshConfig YAML)", doc.span(()))
        span = doc.span(("data", CONFIGMAP_KEY))
        return _embedded(cm_data[CONFIGMAP_KEY], doc.path, span, f"{where} ({doc.path}:{span.line})")
    if kind == "IstioOperator":
        spec = data.get("spec") if isinstance(data.get("spec"), Mapping) else {}
        return from_data(spec.get("meshConfig"), doc.path, lambda loc: doc.span(("spec", "meshConfig", *loc)))
    return from_data(data, doc.path, lambda loc: doc.span(loc))


def load_file(path: str) -> MeshConfig:
    """The settings of `--mesh-config FILE` (MeshConfigError when it cannot be used)."""
    import os

    from meshc.source import load

    if not os.path.isfile(path):
        what = "does not exist" if not os.path.exists(path) else "is not a file"
        raise MeshConfigError(f"mesh configuration file `{path}` {what}")
    loaded = load([path])
    if loaded.errors:
        span, message, _help = loaded.errors[0]
        raise MeshConfigError(message, span)
    docs = [d for d in loaded.documents if d.data is not None]
    if not docs:
        raise MeshConfigError(f"`{path}` holds no mesh configuration", Span(path, 1, 1))
    if len(docs) > 1:
        # Several documents: the `istio` ConfigMap among them (a whole install manifest).
        maps = [d for d in docs if _is_mesh_configmap(d.data)]
        if len(maps) != 1:
            raise MeshConfigError(
                f"`{path}` holds {len(docs)} documents; give one MeshConfig or one `{CONFIGMAP_NAME}` ConfigMap",
                docs[1].span(()),
            )
        docs = maps
    return from_document(docs[0], docs[0].data)


def _is_mesh_configmap(data: Any) -> bool:
    if not isinstance(data, Mapping) or data.get("kind") != "ConfigMap":
        return False
    meta = data.get("metadata")
    return isinstance(meta, Mapping) and meta.get("name") == CONFIGMAP_NAME


def in_input(configmaps: Iterable[Any], root_namespace: str) -> MeshConfig | None:
    """The settings of the `istio` ConfigMap among the inputs (the one in `root_namespace` first), or None.

    A ConfigMap whose settings cannot be used gives Istio's defaults with the problem recorded
    (`MeshConfig.problems`), which `meshc lint` reports.
    """
    found = [r for r in configmaps if r.name == CONFIGMAP_NAME]
    if not found:
        return None
    found.sort(key=lambda r: (r.namespace != root_namespace, r.namespace != DEFAULT_ROOT_NAMESPACE, r.namespace))
    res = found[0]
    doc = res.doc
    data = getattr(res.model, "data", None)
    if doc is None or not isinstance(data, Mapping):
        return None
    try:
        return msgspec.structs.replace(from_document(doc, data), configmap=res)
    except MeshConfigError as exc:
        span = exc.span or doc.span(())
        where = f"ConfigMap {res.namespace}/{res.name}"
        return MeshConfig(source=f"Istio defaults: {where} is unusable", problems=((span, exc.message),), configmap=res)


def effective(explicit: MeshConfig | None, found: MeshConfig | None) -> MeshConfig:
    """`--mesh-config` wins over an `istio` ConfigMap of the input, which wins over Istio's defaults."""
    if explicit is not None:
        return explicit
    if found is not None:
        return found
    return MeshConfig()
