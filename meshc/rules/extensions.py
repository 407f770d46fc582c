"""EnvoyFilter and Telemetry rules (MC325–MC333): patches istiod ignores or applies unreliably, telemetry conflicts.

Ports of istioctl's envoyfilter.EnvoyPatchAnalyzer (IST0151–IST0155) and telemetry.ProviderAnalyzer,
SelectorAnalyzer and DefaultSelectorAnalyzer (IST0157, IST0101, IST0159, IST0160), under
pkg/config/analysis/analyzers/{envoyfilter,telemetry}/. Salvaged (invalid) resources are read too:
their schema errors are reported by the input stage, their analyzer findings here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import msgspec

from meshc.diagnostics import Severity
from meshc.mesh import Mesh, Resource, Workload, selector_text
from meshc.rules.base import Finding, rule
from meshc.rules.services import overlapping_selections

Loc = tuple[str | int, ...]

# --- EnvoyFilter ------------------------------------------------------------------------------------

_ROUTE_OBJECTS = ("ROUTE_CONFIGURATION", "HTTP_ROUTE")
_REPLACEABLE = ("NETWORK_FILTER", "HTTP_FILTER", "VIRTUAL_HOST")
_RELATIVE = ("REMOVE", "REPLACE", "INSERT_BEFORE", "INSERT_AFTER")


class _PatchFinding(msgspec.Struct, frozen=True):
    code: str
    resource: Resource
    index: int
    operation: str
    apply_to: str


def _instance_name(patch: object) -> str:
    """What envoyfilter.go compares filters by: the value's `name`, else the matched filter's name."""
    value = patch.patch.value if patch.patch is not None else None  # type: ignore[attr-defined]
    if isinstance(value, dict) and value:
        if "name" in value:
            return repr(value["name"])
        match = patch.match  # type: ignore[attr-defined]
        listener = match.listener if match is not None else None
        chain = listener.filterChain if listener is not None else None
        if chain is not None and chain.filter is not None:
            return chain.filter.name or ""
    return ""


def _envoy_filter_findings(mesh: Mesh) -> list[_PatchFinding]:
    # envoyfilter.go Analyze: the names of patched filters whose match sets a proxyVersion are
    # collected across EnvoyFilters, in order, and make a later relative patch IST0155.
    versioned: list[str] = []
    out: list[_PatchFinding] = []
    for ef in mesh.of_kind("EnvoyFilter", partial=True):
        spec = ef.spec
        priority = getattr(spec, "priority", None) or 0
        for i, cp in enumerate(getattr(spec, "configPatches", None) or ()):
            if cp.patch is None:
                break
            name = _instance_name(cp)
            operation = cp.patch.operation or "INVALID"
            apply_to = cp.applyTo or "INVALID"
            code = None
            if operation == "ADD" and apply_to in _ROUTE_OBJECTS:
                code = "MC328"
            elif operation == "REMOVE" and apply_to in _ROUTE_OBJECTS:
                code = "MC329"
            elif operation == "REPLACE" and apply_to not in _REPLACEABLE:
                code = "MC327"
            elif operation in _RELATIVE and priority == 0:
                code = "MC326" if name in versioned else "MC325"
            if code is not None:
                out.append(_PatchFinding(code, ef, i, operation, apply_to))
            proxy = cp.match.proxy if cp.match is not None else None
            if proxy is not None and proxy.proxyVersion:
                versioned.append(name)
    return out


def _patches(mesh: Mesh, code: str) -> Iterator[_PatchFinding]:
    return (f for f in mesh.memo("envoy-filter-patches", _envoy_filter_findings) if f.code == code)


def _operation_loc(f: _PatchFinding) -> Loc:
    return ("spec", "configPatches", f.index, "patch", "operation")


_RELATIVE_HELP = "set `priority` on the EnvoyFilter, or use an absolute operation (`INSERT_FIRST`, `ADD`)"


@rule("MC325", "envoy-filter-relative-operation", Severity.WARNING, istio="IST0151")
def envoy_filter_relative_operation(mesh: Mesh) -> Iterator[Finding]:
    """An EnvoyFilter without `priority` uses a relative patch operation.

    Relative operations are `INSERT_BEFORE`, `INSERT_AFTER`, `REPLACE` and `REMOVE`.

    ## Why is this bad?
    A relative operation needs its anchor (the filter to insert next to, replace or remove) to
    be present when the patch is applied; without a `priority` the order in which EnvoyFilters
    are applied is not defined, so the patch may silently not apply.

    ## Example
    ```yaml
    kind: EnvoyFilter
    spec:
      configPatches:
      - applyTo: HTTP_FILTER
        match:
          listener:
            filterChain:
              filter:
                name: envoy.filters.network.http_connection_manager
                subFilter: {name: envoy.filters.http.router}
        patch:
          operation: INSERT_BEFORE
          value: {name: envoy.lua}
    ```

    Use instead:
    ```yaml
    kind: EnvoyFilter
    spec:
      priority: 10
      configPatches:
      - applyTo: HTTP_FILTER
        patch:
          operation: INSERT_FIRST
          value: {name: envoy.lua}
    ```
    """
    for f in _patches(mesh, "MC325"):
        yield Finding(
            f.resource,
            _operation_loc(f),
            f"`{f.operation}` is a relative operation and this EnvoyFilter has no `priority`: the patch may not apply",
            help=_RELATIVE_HELP,
        )


@rule("MC326", "envoy-filter-relative-operation-with-proxy-version", Severity.WARNING, istio="IST0155")
def envoy_filter_relative_operation_with_proxy_version(mesh: Mesh) -> Iterator[Finding]:
    """A relative patch, without `priority`, of a filter that an earlier patch adds for a `proxyVersion`.

    ## Why is this bad?
    During an upgrade, proxies of the other version do not get the earlier patch, so the filter
    this relative operation anchors on is missing and the patch is not applied.

    ## Example
    ```yaml
    kind: EnvoyFilter
    metadata: {name: add-lua}
    spec:
      configPatches:
      - applyTo: HTTP_FILTER
        match: {proxy: {proxyVersion: '^1[.]26[.].*'}}
        patch: {operation: INSERT_FIRST, value: {name: envoy.lua}}
    ---
    kind: EnvoyFilter
    metadata: {name: replace-lua}
    spec:
      configPatches:
      - applyTo: HTTP_FILTER
        patch: {operation: REPLACE, value: {name: envoy.lua}}
    ```

    Use instead:
    ```yaml
    kind: EnvoyFilter
    metadata: {name: replace-lua}
    spec:
      priority: 10
      configPatches:
      - applyTo: HTTP_FILTER
        patch: {operation: REPLACE, value: {name: envoy.lua}}
    ```
    """
    for f in _patches(mesh, "MC326"):
        yield Finding(
            f.resource,
            _operation_loc(f),
            f"`{f.operation}` is a relative operation on a filter that another patch adds only for a "
            "`proxyVersion`, and this EnvoyFilter has no `priority`: the patch may not apply during an upgrade",
            help=_RELATIVE_HELP,
        )


@rule("MC327", "envoy-filter-replace-not-applicable", Severity.ERROR, istio="IST0152")
def envoy_filter_replace_not_applicable(mesh: Mesh) -> Iterator[Finding]:
    """`REPLACE` on an object other than a network filter, an HTTP filter or a virtual host.

    ## Why is this bad?
    istiod applies `REPLACE` only to `HTTP_FILTER`, `NETWORK_FILTER` and `VIRTUAL_HOST`; on any
    other object the patch does nothing.

    ## Example
    ```yaml
    configPatches:
    - applyTo: CLUSTER
      patch: {operation: REPLACE, value: {connect_timeout: 1s}}
    ```

    Use instead:
    ```yaml
    configPatches:
    - applyTo: CLUSTER
      patch: {operation: MERGE, value: {connect_timeout: 1s}}
    ```
    """
    for f in _patches(mesh, "MC327"):
        yield Finding(
            f.resource,
            _operation_loc(f),
            f"`REPLACE` does nothing on `applyTo: {f.apply_to}`; it works on `HTTP_FILTER`, `NETWORK_FILTER` and "
            "`VIRTUAL_HOST` only",
            help="use `MERGE` to change the object",
        )


@rule("MC328", "envoy-filter-add-ignored", Severity.ERROR, istio="IST0153")
def envoy_filter_add_ignored(mesh: Mesh) -> Iterator[Finding]:
    """`ADD` on a route configuration or an HTTP route, where istiod ignores it.

    ## Why is this bad?
    Route configurations and routes are generated from VirtualServices; an `ADD` patch of them
    is silently dropped.

    ## Example
    ```yaml
    configPatches:
    - applyTo: HTTP_ROUTE
      patch: {operation: ADD, value: {name: extra}}
    ```

    Use instead: add the route in a VirtualService, or `MERGE` into the generated one.
    ```yaml
    configPatches:
    - applyTo: HTTP_ROUTE
      patch: {operation: MERGE, value: {decorator: {operation: extra}}}
    ```
    """
    for f in _patches(mesh, "MC328"):
        yield Finding(
            f.resource,
            _operation_loc(f),
            f"`ADD` is ignored on `applyTo: {f.apply_to}`",
            help="add routes with a VirtualService, or `MERGE` into the generated object",
        )


@rule("MC329", "envoy-filter-remove-ignored", Severity.ERROR, istio="IST0154")
def envoy_filter_remove_ignored(mesh: Mesh) -> Iterator[Finding]:
    """`REMOVE` on a route configuration or an HTTP route, where istiod ignores it.

    ## Why is this bad?
    Route configurations and routes come from VirtualServices; a `REMOVE` patch of them is
    silently dropped, so the route you meant to remove still serves traffic.

    ## Example
    ```yaml
    configPatches:
    - applyTo: HTTP_ROUTE
      patch: {operation: REMOVE}
    ```

    Use instead: remove the rule from the VirtualService.
    ```yaml
    kind: VirtualService
    spec:
      http:
      - route:
        - destination: {host: reviews}
    ```
    """
    for f in _patches(mesh, "MC329"):
        yield Finding(
            f.resource,
            _operation_loc(f),
            f"`REMOVE` is ignored on `applyTo: {f.apply_to}`",
            help="remove the route from the VirtualService that generates it",
        )


# --- Telemetry --------------------------------------------------------------------------------------


def _telemetries(mesh: Mesh) -> Iterator[Resource]:
    return mesh.of_kind("Telemetry", partial=True)


def _selector(t: Resource) -> dict[str, str] | None:
    """The Telemetry's `selector.matchLabels`; None when it has no `selector`."""
    selector = getattr(t.spec, "selector", None)
    return None if selector is None else dict(selector.matchLabels or {})


def _targeted(t: Resource) -> bool:
    return getattr(t.spec, "targetRef", None) is not None or bool(getattr(t.spec, "targetRefs", None))


@rule("MC330", "telemetry-without-providers", Severity.WARNING, istio="IST0157")
def telemetry_without_providers(mesh: Mesh) -> Iterator[Finding]:
    """An `accessLogging` entry of a Telemetry names no `providers` (and is not `disabled`).

    meshc reads no MeshConfig: when `defaultProviders.accessLogging` is set mesh-wide, such an
    entry uses those providers; ignore this rule then.

    ## Why is this bad?
    With no default access log provider in the mesh config, an entry without providers is
    ignored: no access log is written.

    ## Example
    ```yaml
    spec:
      accessLogging:
      - filter:
          expression: response.code >= 400
    ```

    Use instead:
    ```yaml
    spec:
      accessLogging:
      - providers:
        - name: envoy
        filter:
          expression: response.code >= 400
    ```
    """
    for t in _telemetries(mesh):
        for i, entry in enumerate(getattr(t.spec, "accessLogging", None) or ()):
            if entry.disabled or entry.providers:
                continue
            yield Finding(
                t,
                ("spec", "accessLogging", i),
                f"access logging entry {i} of Telemetry `{t.full_name}` has no `providers` and is ignored",
                help="name a provider of the mesh config's `extensionProviders` (e.g. `envoy`)",
            )


def _selected(mesh: Mesh) -> tuple[list[tuple[Resource, dict[str, str]]], dict[int, tuple[Workload, list[Resource]]]]:
    """Telemetries with a non-empty selector and no workload, and the workloads several telemetries select."""
    unmatched: list[tuple[Resource, dict[str, str]]] = []
    by_workload: dict[int, tuple[Workload, list[Resource]]] = {}
    for t in _telemetries(mesh):
        labels = _selector(t)
        if not labels:
            continue
        found = [w for w in mesh.workloads_matching(labels, t.namespace) if not w.synthetic]
        if not found:
            unmatched.append((t, labels))
        for w in found:
            by_workload.setdefault(id(w), (w, []))[1].append(t)
    return unmatched, by_workload


def _selections(mesh: Mesh) -> tuple[list[tuple[Resource, dict[str, str]]], dict[int, tuple[Workload, list[Resource]]]]:
    return mesh.memo("telemetry-selections", _selected)


@rule("MC331", "conflicting-telemetry-selectors", Severity.ERROR, istio="IST0159", requires=("workloads",))
def conflicting_telemetry_selectors(mesh: Mesh) -> Iterator[Finding]:
    """A workload is selected by several Telemetries of its namespace.

    Reported once on each Telemetry for each set of Telemetries that overlap (a Deployment and
    its Pod do not make two findings).

    ## Why is this bad?
    istiod uses one Telemetry per workload and scope; which of the overlapping ones applies is
    not defined, so the other's tracing, metrics or access log settings are lost.

    ## Example
    ```yaml
    kind: Telemetry
    metadata: {name: reviews}
    spec: {selector: {matchLabels: {app: reviews}}, tracing: [{randomSamplingPercentage: 10}]}
    ---
    kind: Telemetry
    metadata: {name: reviews-v2}
    spec: {selector: {matchLabels: {version: v2}}, tracing: [{randomSamplingPercentage: 100}]}
    ```

    Use instead: selectors that do not overlap.
    ```yaml
    kind: Telemetry
    metadata: {name: reviews-v2}
    spec: {selector: {matchLabels: {app: reviews, version: v2}}, tracing: [{randomSamplingPercentage: 100}]}
    ```
    """
    _, by_workload = _selections(mesh)
    for w, t, others in overlapping_selections(by_workload):
        yield Finding(
            t,
            ("spec", "selector", "matchLabels"),
            f"{w.resource.kind} `{w.resource.full_name}` is also selected by Telemetry "
            + ", ".join(f"`{o.name}`" for o in others),
            help="a workload takes its telemetry settings from one Telemetry; make the selectors disjoint",
            key=True,
            related=tuple((o, ("spec", "selector", "matchLabels"), "the other selector") for o in others),
        )


@rule("MC332", "multiple-default-telemetries", Severity.ERROR, istio="IST0160")
def multiple_default_telemetries(mesh: Mesh) -> Iterator[Finding]:
    """A namespace has several Telemetries without `selector` (and without `targetRefs`).

    ## Why is this bad?
    A Telemetry without selector is the namespace default; with two of them istiod picks one and
    ignores the other.

    ## Example
    ```yaml
    kind: Telemetry
    metadata: {name: tracing, namespace: shop}
    spec: {tracing: [{randomSamplingPercentage: 10}]}
    ---
    kind: Telemetry
    metadata: {name: logs, namespace: shop}
    spec: {accessLogging: [{providers: [{name: envoy}]}]}
    ```

    Use instead:
    ```yaml
    kind: Telemetry
    metadata: {name: default, namespace: shop}
    spec:
      tracing: [{randomSamplingPercentage: 10}]
      accessLogging: [{providers: [{name: envoy}]}]
    ```
    """
    by_ns: dict[str, list[Resource]] = defaultdict(list)
    for t in _telemetries(mesh):
        if _selector(t) is None and not _targeted(t):
            by_ns[t.namespace].append(t)
    for ns, telemetries in by_ns.items():
        if len(telemetries) < 2:
            continue
        names = ", ".join(f"`{t.name}`" for t in sorted(telemetries, key=lambda t: t.name))
        for t in telemetries:
            yield Finding(
                t,
                ("metadata", "name"),
                f"namespace `{ns}` has several Telemetries without `selector`: {names}",
                help="keep one default Telemetry per namespace; give the others a `selector`",
            )


@rule("MC333", "telemetry-selects-no-workload", Severity.ERROR, istio="IST0101", requires=("workloads",))
def telemetry_selects_no_workload(mesh: Mesh) -> Iterator[Finding]:
    """A Telemetry's `selector` matches no workload in its namespace.

    ## Why is this bad?
    The Telemetry configures nothing (a Telemetry only selects workloads of its own namespace),
    usually because of a label typo.

    ## Example
    ```yaml
    kind: Telemetry
    metadata: {name: reviews, namespace: bookinfo}
    spec:
      selector:
        matchLabels: {app: review}
    ```

    Use instead:
    ```yaml
    kind: Telemetry
    metadata: {name: reviews, namespace: bookinfo}
    spec:
      selector:
        matchLabels: {app: reviews}
    ```
    """
    unmatched, _ = _selections(mesh)
    for t, labels in unmatched:
        yield Finding(
            t,
            ("spec", "selector", "matchLabels"),
            f"selector `{selector_text(labels)}` matches no workload in namespace `{t.namespace}`",
            help="check the labels against the pod template labels of the workloads",
            key=True,
        )
