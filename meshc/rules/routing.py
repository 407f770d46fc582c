"""Routing-logic rules (MC201-MC218): shadowed and unreachable rules, conflicting hosts, weights, faults.

Each rule computes its own findings. What several rules read is computed once per Mesh by a named
analysis (`base.per_mesh`) and handed over as typed records (`Shadow`, `MeshHost`, `RouteList`):
`_shadows` (MC202-MC204) compares match blocks, `_mesh_hosts` (MC201, MC205) resolves the hosts of
mesh-bound VirtualServices, `_route_lists` (MC208-MC211) and `_http_rules` (MC206, MC207, MC212-MC218)
only list what the VirtualServices hold. An analysis runs only when a selected rule reads it:
`--select MC208` reads the route lists and nothing else (tests/test_rule_units.py counts).

The shadowing analysis compares the COMPILED matches (`RouteMatch.of`, `MatchScope.of` of `meshc.matching`:
what `meshc compile` emits) through `meshc.matchspace`, which files each block under one condition
(`matchspace.Containers`) so that a VirtualService of 100,000 rules is analysed in near-linear time.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import msgspec

from meshc import matchspace
from meshc.diagnostics import Severity
from meshc.hosts import host_matches
from meshc.matching import MatchScope, RouteMatch
from meshc.matchspace import Containers, block_of, string_test, vs_gateway_keys
from meshc.mesh import Mesh, Resource, export_set
from meshc.models.checks import routing_claim
from meshc.rules.base import Finding, per_mesh, rule

Loc = tuple[str | int, ...]
MESH = matchspace.MESH

# --- shared helpers ------------------------------------------------------------------------------


def _dest_key(mesh: Mesh, dest: Any, namespace: str) -> tuple[str, str, int | None]:
    return (
        mesh.fqdn(dest.host, namespace),
        dest.subset or "",
        dest.port.number if dest.port is not None else None,
    )


def _dest_text(dest: Any) -> str:
    text = f"`{dest.host}`"
    if dest.subset:
        text += f" subset `{dest.subset}`"
    if dest.port is not None:
        text += f" port {dest.port.number}"
    return text


def _tick(value: str) -> str:
    return f"`{value}`"


def _string_match_text(sm: Any) -> str:
    if sm is None or (sm.exact is None and sm.prefix is None and sm.regex is None) or sm.regex == "*":
        return "present"
    if sm.exact is not None:
        return f"exact {_tick(sm.exact)}"
    if sm.prefix is not None:
        return f"prefix {_tick(sm.prefix)}"
    return f"regex {_tick(sm.regex)}"


def describe_match(match: Any) -> str:
    """A short summary of an HTTP match block's conditions (`prefix `/api`, method `GET``)."""
    if match is None:
        return "no `match`"
    parts: list[str] = []
    uri = match.uri
    if uri is not None and not (uri.exact is None and uri.prefix is None and uri.regex is None):
        text = _string_match_text(uri)
        if match.ignoreUriCase and uri.regex is None:
            text += " ignoring case"
        parts.append(text)
    for name in ("method", "authority", "scheme"):
        sm = getattr(match, name)
        if sm is not None:
            parts.append(f"{name} {_string_match_text(sm).removeprefix('exact ')}")
    for name, sm in (match.headers or {}).items():
        parts.append(f"header {_tick(name)} {_string_match_text(sm)}")
    for name, sm in (match.withoutHeaders or {}).items():
        parts.append(f"without header {_tick(name)} {_string_match_text(sm)}")
    for name, sm in (match.queryParams or {}).items():
        parts.append(f"query {_tick(name)} {_string_match_text(sm)}")
    if match.port:
        parts.append(f"port {match.port}")
    if match.gateways:
        parts.append("gateways " + ", ".join(_tick(g) for g in match.gateways))
    if match.sourceLabels:
        parts.append("source labels " + ", ".join(_tick(f"{k}={v}") for k, v in match.sourceLabels.items()))
    if match.sourceNamespace:
        parts.append(f"source namespace {_tick(match.sourceNamespace)}")
    if not parts:
        return "no conditions"
    if len(parts) > 3:
        parts = [*parts[:3], "..."]
    return ", ".join(parts)


# --- what the rules read -------------------------------------------------------------------------


@per_mesh
def _virtual_services(mesh: Mesh) -> list[Resource]:
    """The VirtualServices of the input (valid, not made up by meshc), in input order."""
    return [res for res in mesh.of_kind("VirtualService") if res.spec is not None and not res.synthetic]


class HttpRule(msgspec.Struct, frozen=True):
    """One `http[]` rule of a VirtualService."""

    resource: Resource
    index: int
    rule: Any
    fields: frozenset[str]
    """The fields written in the rule (`model_fields_set`): a rule reads only what is there."""


@per_mesh
def _http_rules(mesh: Mesh) -> list[HttpRule]:
    """Every `http[]` rule of every VirtualService."""
    return [
        HttpRule(res, i, http, frozenset(http.model_fields_set))
        for res in _virtual_services(mesh)
        for i, http in enumerate(res.spec.http)
    ]


class RouteList(msgspec.Struct, frozen=True):
    """The `route` of one `http[]`, `tcp[]` or `tls[]` rule."""

    resource: Resource
    kind: str
    index: int
    route: list[Any]


@per_mesh
def _route_lists(mesh: Mesh) -> list[RouteList]:
    """The non-empty `route` lists of every rule, HTTP first."""
    out = [RouteList(r.resource, "http", r.index, r.rule.route) for r in _http_rules(mesh) if r.rule.route]
    for res in _virtual_services(mesh):
        for kind in ("tcp", "tls"):
            out.extend(RouteList(res, kind, i, r.route) for i, r in enumerate(getattr(res.spec, kind)) if r.route)
    return out


class MeshHost(msgspec.Struct, frozen=True):
    """A host of a VirtualService bound to the mesh, resolved."""

    resource: Resource
    index: int
    """Index in `hosts`."""
    fqdn: str
    scopes: frozenset[str]
    """Namespaces it is exported to (`*`: all)."""


@per_mesh
def _mesh_hosts(mesh: Mesh) -> list[MeshHost]:
    """The hosts of every VirtualService bound to the mesh (and exported somewhere)."""
    out: list[MeshHost] = []
    for res in _virtual_services(mesh):
        spec = res.spec
        if spec.hosts and (not spec.gateways or MESH in spec.gateways):
            scopes = export_set(spec.exportTo, res.namespace)
            if scopes:
                out.extend(MeshHost(res, k, mesh.fqdn(h, res.namespace), scopes) for k, h in enumerate(spec.hosts))
    return out


# --- shadowing analysis --------------------------------------------------------------------------


class Shadow(msgspec.Struct, frozen=True):
    """A match block (or a rule without `match`) that an earlier one makes unreachable."""

    kind: str
    """`http`, `tcp` or `tls`."""
    rule: int
    match: int | None
    """Index in `match` (None: the rule has no `match`)."""
    by_rule: int
    by_match: int | None
    why: str
    """How the earlier block is described (`prefix `/api``, `no `match``); empty: identical."""


class Analysis(msgspec.Struct):
    """What the shadowing analysis found in one VirtualService."""

    resource: Resource
    shadows: list[Shadow] = msgspec.field(default_factory=list)
    blocks: dict[tuple[str, int], int] = msgspec.field(default_factory=dict)
    """Number of analysed blocks per rule (rules the analysis skips are absent)."""


@per_mesh
def _shadows(mesh: Mesh) -> list[Analysis]:
    """The shadowed blocks of every VirtualService that has some."""
    out = []
    for res in _virtual_services(mesh):
        analysis = Analysis(res)
        spec = res.spec
        for kind in ("tcp", "tls"):
            _analyse_identical(getattr(spec, kind), kind, analysis)
        if spec.hosts:
            _analyse_http(mesh, res, spec, analysis)
        else:
            # A delegate: its blocks are merged field by field into the root's, the delegate's field
            # replacing the root's, and pairs that conflict are dropped, so only identical blocks are
            # certainly redundant.
            _analyse_identical(spec.http, "http", analysis, catch_all_shadows=False)
        if analysis.shadows:
            out.append(analysis)
    return out


def gateway_resolver(mesh: Mesh, namespace: str) -> Any:
    """`mesh`, or `ns/name` of the Gateway a reference of a VirtualService in `namespace` names (`resolve_gateway`)."""

    def resolve(ref: str) -> str:
        # meshc.resolve is imported by the first VirtualService that names a gateway, not by every lint.
        from meshc.resolve import resolve_gateway

        return resolve_gateway(ref, namespace, mesh)

    return resolve


def _analyse_http(mesh: Mesh, res: Resource, spec: Any, out: Analysis) -> None:
    """Each block against the earlier blocks that can contain it (`matchspace.Containers`)."""
    entries: list[tuple[int, int | None, Any]] = []
    for i, http in enumerate(spec.http):
        if http.delegate is not None:
            continue
        if http.match:
            entries.extend((i, j, m) for j, m in enumerate(http.match))
        else:
            entries.append((i, None, None))
    if len(entries) < 2:
        return
    resolve = gateway_resolver(mesh, res.namespace)
    vs_gateways = vs_gateway_keys(spec.gateways, resolve)
    blocks = [
        block_of(RouteMatch.of(m), MatchScope.of(m, resolve), vs_gateways) if m is not None else _no_match(vs_gateways)
        for _, _, m in entries
    ]
    containers = Containers(blocks)
    counts: dict[int, int] = defaultdict(int)
    for n, (i, j, _) in enumerate(entries):
        if not blocks[n].gateways:
            continue  # applies nowhere: not a question of order
        counts[i] += 1
        first = containers.first(n)
        if first is not None:
            fi, fj, fmatch = entries[first]
            out.shadows.append(Shadow("http", i, j, fi, fj, describe_match(fmatch)))
    for i, count in counts.items():
        out.blocks[("http", i)] = count


@functools.lru_cache(maxsize=64)
def _no_match(vs_gateways: frozenset[str]) -> matchspace.Block:
    """The block of a rule without `match` (it depends only on the VirtualService's gateways): made once, shared."""
    return block_of(RouteMatch.of(None), MatchScope.of(None, lambda ref: ref), vs_gateways)


def _analyse_identical(rules: list[Any], kind: str, out: Analysis, *, catch_all_shadows: bool = True) -> None:
    # Istio's own check (analyzeUnreachable*Rules): a block identical to an earlier one, or any
    # block after a rule without `match`, is never used. In a delegate only a second rule without
    # `match` is certainly dead: merged with the root's block, a later block may be broader.
    if len(rules) < 2:
        return
    seen: dict[str, tuple[int, int | None]] = {}
    catch_all: int | None = None
    for i, r in enumerate(rules):
        if getattr(r, "delegate", None) is not None:
            continue
        matches = list(enumerate(r.match)) if r.match else [(None, None)]
        for j, match in matches:
            if catch_all is not None and (catch_all_shadows or match is None):
                out.shadows.append(Shadow(kind, i, j, catch_all, None, "no `match`"))
                continue
            if match is None:
                continue
            text = match.model_dump_json(exclude={"name"} if kind == "http" else None, exclude_defaults=True)
            if text in seen:
                out.shadows.append(Shadow(kind, i, j, *seen[text], ""))
            else:
                seen[text] = (i, j)
        if not r.match and catch_all is None:
            catch_all = i
        out.blocks[(kind, i)] = len(matches)


def _rule_ref(kind: str, index: int, spec: Any) -> str:
    name = getattr(getattr(spec, kind)[index], "name", None)
    ref = f"`{kind}[{index}]`"
    return f"{ref} (`{name}`)" if name else ref


def _block_ref(kind: str, rule_index: int, match_index: int | None) -> str:
    if match_index is None:
        return f"`{kind}[{rule_index}]`"
    return f"`{kind}[{rule_index}].match[{match_index}]`"


def _block_loc(kind: str, rule_index: int, match_index: int | None) -> Loc:
    if match_index is None:
        return ("spec", kind, rule_index)
    return ("spec", kind, rule_index, "match", match_index)


def _shadower_text(shadow: Shadow, spec: Any) -> str:
    ref = _block_ref(shadow.kind, shadow.by_rule, shadow.by_match)
    name = getattr(getattr(spec, shadow.kind)[shadow.by_rule], "name", None)
    if shadow.why == "":
        return f"{ref} (" + (f"rule `{name}`, " if name else "") + "an identical match)"
    detail = f"rule `{name}`: {shadow.why}" if name else shadow.why
    return f"{ref} ({detail})"


def _unreachable_rules(analysis: Analysis) -> dict[tuple[str, int], list[Shadow]]:
    by_rule: dict[tuple[str, int], list[Shadow]] = defaultdict(list)
    for s in analysis.shadows:
        by_rule[(s.kind, s.rule)].append(s)
    return {
        k: shadows
        for k, shadows in by_rule.items()
        if len(shadows) == analysis.blocks.get(k, -1) and any(s.by_rule != s.rule for s in shadows)
    }


def _unreachable_findings(mesh: Mesh) -> Iterator[Finding]:
    for analysis in _shadows(mesh):
        res = analysis.resource
        spec = res.spec
        for (kind, i), shadows in sorted(_unreachable_rules(analysis).items()):
            outside = [s for s in shadows if s.by_rule != i]
            rules = sorted({s.by_rule for s in outside})
            first = outside[0]
            if first.why == "no `match`":
                why = f"{_rule_ref(kind, first.by_rule, spec)} has no `match` and catches every request"
            elif len(rules) == 1 and len(outside) == 1:
                why = f"{_shadower_text(first, spec)} catches every request it matches"
            else:
                refs = ", ".join(f"`{kind}[{r}]`" for r in rules)
                why = f"every request it matches is caught by an earlier rule ({refs})"
            related = tuple(
                (
                    res,
                    _block_loc(kind, s.by_rule, s.by_match),
                    f"catches every request of {_block_ref(kind, s.rule, s.match)}",
                )
                for s in outside
            )
            yield Finding(
                res,
                _block_loc(kind, i, None),
                f"{_rule_ref(kind, i, spec)} is never reached: {why}",
                help="move it before the rules that catch its requests, narrow them, or delete it",
                related=related,
            )


def _block_findings(mesh: Mesh, *, same_rule: bool) -> Iterator[Finding]:
    for analysis in _shadows(mesh):
        res = analysis.resource
        spec = res.spec
        dead = _unreachable_rules(analysis)
        for s in analysis.shadows:
            if s.match is None or (s.by_rule == s.rule) != same_rule:
                continue
            # validation.go analyzeUnreachable{HTTP,TCP,TLS}Rules: a rule whose every match is used
            # before is IST0130 (MC202) and each of its duplicated matches IST0131 (here) too; after
            # a rule without `match`, only the rule is reported.
            if (s.kind, s.rule) in dead and s.by_match is None:
                continue
            here = _block_ref(s.kind, s.rule, s.match)
            yield Finding(
                res,
                _block_loc(s.kind, s.rule, s.match),
                f"{here} is never reached: {_shadower_text(s, spec)} catches every request it matches",
                help="delete this match block"
                if same_rule
                else "move this block to a rule before the one that catches it, or narrow that rule",
                related=((res, _block_loc(s.kind, s.by_rule, s.by_match), f"catches every request of {here}"),),
            )


# --- per-rule checks ---------------------------------------------------------------------------------


def _weights_not_100(mesh: Mesh) -> Iterator[Finding]:
    for r in _route_lists(mesh):
        route = r.route
        if len(route) < 2:
            continue
        total = sum(d.weight for d in route if d.weight is not None)
        if total not in (0, 100):
            shares = ", ".join(f"{_dest_text(d.destination)} {100 * d.weight / total:.0f}%" for d in route if d.weight)
            yield Finding(
                r.resource,
                ("spec", r.kind, r.index, "route"),
                f"the weights of `route` add up to {total}, not 100",
                help=f"Envoy splits by relative weight ({shares}); make the weights add up to 100",
                key=True,
            )


def _destinations_without_weight(mesh: Mesh) -> Iterator[Finding]:
    for r in _route_lists(mesh):
        route = r.route
        if r.kind != "http" or len(route) < 2 or all(d.weight is not None for d in route):
            continue
        if not sum(d.weight for d in route if d.weight is not None):
            continue
        for j, d in enumerate(route):
            if d.weight is None:
                yield Finding(
                    r.resource,
                    ("spec", "http", r.index, "route", j),
                    f"destination {_dest_text(d.destination)} has no `weight`, so it receives no traffic",
                    help="give it a `weight` (the weights should add up to 100), or remove it",
                )


def _weight_on_single_destination(mesh: Mesh) -> Iterator[Finding]:
    for r in _route_lists(mesh):
        if len(r.route) == 1:
            weight = r.route[0].weight
            if weight is not None and weight != 100:
                yield Finding(
                    r.resource,
                    ("spec", r.kind, r.index, "route", 0, "weight"),
                    f"`weight: {weight}` is ignored on the only destination, which receives all traffic",
                    help="remove the weight, or add the destinations that should share the traffic",
                )


def _duplicate_destinations(mesh: Mesh) -> Iterator[Finding]:
    for r in _route_lists(mesh):
        route, res, kind, i = r.route, r.resource, r.kind, r.index
        if len(route) < 2:
            continue
        # Two entries can only name one destination if their subsets and ports agree; resolve
        # hosts (the costly part) only then.
        shapes = [
            (d.destination.subset or "", d.destination.port.number if d.destination.port else None) for d in route
        ]
        if len(set(shapes)) == len(shapes):
            continue
        seen: dict[tuple[str, str, int | None], int] = {}
        for j, d in enumerate(route):
            first = seen.setdefault(_dest_key(mesh, d.destination, res.namespace), j)
            if first != j:
                yield Finding(
                    res,
                    ("spec", kind, i, "route", j, "destination"),
                    f"destination {_dest_text(d.destination)} is already `route[{first}]` of this rule",
                    help="merge the two entries (add their weights), or fix the subset or port",
                    key=True,
                    related=((res, ("spec", kind, i, "route", first, "destination"), "first listed here"),),
                )


def _fault_percentages(mesh: Mesh, *, zero: bool) -> Iterator[Finding]:
    """MC213 (`zero` False: no percentage) or MC214 (`zero` True: a percentage of 0)."""
    for r in _http_rules(mesh):
        fault = r.rule.fault if "fault" in r.fields else None
        if fault is None:
            continue
        base: Loc = ("spec", "http", r.index, "fault")
        for part, verb in (("abort", "aborts"), ("delay", "delays")):
            item = getattr(fault, part)
            if item is None:
                continue
            percent = getattr(item, "percent", None)
            if item.percentage is None and percent is None:
                if not zero:
                    yield Finding(
                        r.resource,
                        (*base, part),
                        f"`fault.{part}` has no `percentage`, so Envoy {verb} no request",
                        help=f"add `percentage: {{value: 100}}` (or the share of requests it {verb})",
                        key=True,
                    )
            elif not zero:
                continue
            elif item.percentage is not None and not item.percentage.value:
                loc = (
                    (*base, part, "percentage", "value")
                    if item.percentage.value is not None
                    else (*base, part, "percentage")
                )
                yield Finding(
                    r.resource,
                    loc,
                    f"`fault.{part}.percentage` is 0, so Envoy {verb} no request",
                    help="set the share of requests to affect, or remove the fault",
                )
            elif item.percentage is None and percent == 0:
                yield Finding(
                    r.resource,
                    (*base, part, "percent"),
                    f"`fault.{part}.percent` is 0, so Envoy {verb} no request",
                    help="set `percentage.value` to the share of requests to delay, or remove the fault",
                )


def _retries_over_timeout(mesh: Mesh) -> Iterator[Finding]:
    for r in _http_rules(mesh):
        http = r.rule
        if not (
            "retries" in r.fields and "timeout" in r.fields and http.retries is not None and http.timeout is not None
        ):
            continue
        retries = http.retries
        if not retries.attempts or retries.perTryTimeout is None:
            continue
        total = retries.attempts * retries.perTryTimeout.seconds
        timeout = http.timeout.seconds
        if timeout > 0 and total > timeout + 1e-9:
            yield Finding(
                r.resource,
                ("spec", "http", r.index, "retries", "perTryTimeout"),
                f"`retries` allow {retries.attempts} × `{retries.perTryTimeout}` = {_seconds(total)} but the "
                f"rule `timeout` is `{http.timeout}`",
                help=f"raise `timeout` above {_seconds(total)}, or lower `attempts` or `perTryTimeout`",
                related=((r.resource, ("spec", "http", r.index, "timeout"), "the timeout that bounds every try"),),
            )


def _seconds(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _mirrors_to_routed(mesh: Mesh) -> Iterator[Finding]:
    for r in _http_rules(mesh):
        http, res, i = r.rule, r.resource, r.index
        if not ("mirror" in r.fields or "mirrors" in r.fields) or not http.route:
            continue
        routed = {_dest_key(mesh, d.destination, res.namespace): j for j, d in enumerate(http.route)}
        mirrors: list[tuple[Loc, Any]] = []
        if http.mirror is not None:
            mirrors.append((("spec", "http", i, "mirror"), http.mirror))
        mirrors += [
            (("spec", "http", i, "mirrors", k, "destination"), m.destination) for k, m in enumerate(http.mirrors)
        ]
        for loc, dest in mirrors:
            j = routed.get(_dest_key(mesh, dest, res.namespace))
            if j is not None:
                yield Finding(
                    res,
                    loc,
                    f"mirror to {_dest_text(dest)} copies requests to a destination this rule already routes to",
                    help="mirror to another subset or service, or remove the mirror",
                    key=True,
                    related=((res, ("spec", "http", i, "route", j, "destination"), "routed here"),),
                )


def _rewrites_on_regex(mesh: Mesh) -> Iterator[Finding]:
    for r in _http_rules(mesh):
        http = r.rule
        if "rewrite" not in r.fields or http.rewrite is None or not http.rewrite.uri:
            continue
        for j, match in enumerate(http.match):
            uri = match.uri
            if uri is None or uri.regex is None or string_test("regex", uri.regex).kind == "exact":
                continue  # a regex for one path: replacing it whole is what was asked
            yield Finding(
                r.resource,
                ("spec", "http", r.index, "rewrite", "uri"),
                f"`rewrite.uri` replaces the whole path of every request matched by regex `{uri.regex}` "
                f"(`match[{j}]`) with `{http.rewrite.uri}`",
                help="use `rewrite.uriRegexRewrite` to rewrite part of the path",
                related=((r.resource, ("spec", "http", r.index, "match", j, "uri", "regex"), "regex match here"),),
            )
            break


def _deprecated_in_virtual_services(mesh: Mesh) -> Iterator[Finding]:
    for r in _http_rules(mesh):
        http, res = r.rule, r.resource
        base: Loc = ("spec", "http", r.index)
        if "fault" in r.fields and http.fault is not None:
            for part in ("abort", "delay"):
                item = getattr(http.fault, part)
                if item is not None and getattr(item, "percent", None):  # deprecation.go reports `percent > 0`
                    yield _deprecated(res, (*base, "fault", "delay", "percent"), "fault.delay.percent", "percentage")


def _deprecated(res: Resource, loc: Loc, field: str, replacement: str) -> Finding:
    return Finding(res, loc, f"`{field}` is deprecated", help=f"use `{replacement}` instead", key=True)


def _source_match_with_gateways(mesh: Mesh) -> Iterator[Finding]:
    for r in _http_rules(mesh):
        if r.rule.delegate is not None or "match" not in r.fields:
            continue
        for j, match in enumerate(r.rule.match):
            if not match.gateways or not (match.sourceLabels or match.sourceNamespace):
                continue
            for name in ("sourceLabels", "sourceNamespace"):
                if getattr(match, name):
                    yield Finding(
                        r.resource,
                        ("spec", "http", r.index, "match", j, name),
                        f"`{name}` is ignored because this match block sets `gateways`",
                        help=f"split the block: one with `gateways`, one with `{name}`",
                        key=True,
                        related=((r.resource, ("spec", "http", r.index, "match", j, "gateways"), "gateways set here"),),
                    )


# --- checks that need the whole mesh --------------------------------------------------------------


def _conflicts(mesh: Mesh) -> Iterator[Finding]:
    entries = _mesh_hosts(mesh)
    exact: dict[str, list[int]] = defaultdict(list)
    wild: list[int] = []
    for index, entry in enumerate(entries):
        (wild if entry.fqdn.startswith("*") else exact[entry.fqdn]).append(index)
    pairs: dict[int, list[int]] = defaultdict(list)

    def check(x: int, y: int) -> None:
        rx, sx = entries[x].resource, entries[x].scopes
        ry, sy = entries[y].resource, entries[y].scopes
        if rx is ry or (rx.namespace, rx.name) == (ry.namespace, ry.name):
            return  # one resource (or two versions of it): never a conflict with itself
        # analyzers/virtualservice/conflictingmeshgatewayhosts.go (Analyze,
        # getExportToAllNamespacesVSListForScopedHost): hosts are compared as strings, and a wildcard
        # overlap counts only between a VirtualService exported everywhere and one limited to some
        # namespaces (istiod builds a virtual host per domain, and the more specific one wins).
        if entries[x].fqdn != entries[y].fqdn and ("*" in sx) == ("*" in sy):
            return
        if "*" in sx or "*" in sy or sx & sy:
            pairs[x].append(y)
            pairs[y].append(x)

    for indexes in exact.values():
        if len(indexes) > 1:
            for a in range(len(indexes)):
                for b in range(a + 1, len(indexes)):
                    check(indexes[a], indexes[b])
    for a_pos, a in enumerate(wild):
        for b in wild[a_pos + 1 :]:
            if host_matches(entries[a].fqdn, entries[b].fqdn):
                check(a, b)
        for host, indexes in exact.items():
            if host_matches(entries[a].fqdn, host):
                for b in indexes:
                    check(a, b)
    for x in sorted(pairs):
        res, k, host = entries[x].resource, entries[x].index, entries[x].fqdn
        others = sorted(
            set(pairs[x]), key=lambda y: (entries[y].resource.namespace, entries[y].resource.name, entries[y].index)
        )
        names = ", ".join(
            dict.fromkeys(f"`{entries[y].resource.namespace}/{entries[y].resource.name}`" for y in others)
        )
        if all(entries[y].fqdn == host for y in others):
            message = f"host `{host}` is also claimed by mesh VirtualService {names}"
            help_text = "sidecars use only one VirtualService per host (the oldest); merge their rules into one"
        else:
            message = f"host `{host}` overlaps hosts of mesh VirtualService {names}"
            help_text = (
                "for names both hosts cover, sidecars use only the VirtualService of the more specific host; "
                "merge them or make the hosts disjoint"
            )
        yield Finding(
            res,
            ("spec", "hosts", k),
            message,
            help=help_text,
            related=tuple(
                (entries[y].resource, ("spec", "hosts", entries[y].index), f"`{entries[y].fqdn}` claimed here")
                for y in others
            ),
        )


def _ingress_without_subset(mesh: Mesh) -> Iterator[Finding]:
    no_subset: list[tuple[Resource, Loc, str]] = []
    for r in _http_rules(mesh):
        gateways = r.resource.spec.gateways
        if "route" not in r.fields or not any(g != MESH for g in gateways):
            continue
        for j, dest in enumerate(r.rule.route):
            if not dest.destination.subset:
                host = mesh.fqdn(dest.destination.host, r.resource.namespace)
                no_subset.append((r.resource, ("spec", "http", r.index, "route", j, "destination", "host"), host))
    wanted = {host for _, _, host in no_subset}
    if not wanted:
        return
    with_subset: dict[str, list[tuple[Resource, Loc, str]]] = defaultdict(list)
    visited: set[int] = set()
    for entry in _mesh_hosts(mesh):
        res = entry.resource
        if entry.fqdn not in wanted or id(res) in visited:
            continue
        visited.add(id(res))
        hosts = {mesh.fqdn(h, res.namespace) for h in res.spec.hosts}
        for i, http in enumerate(res.spec.http):
            for j, dest in enumerate(http.route):
                d = dest.destination
                if d.subset:
                    target = mesh.fqdn(d.host, res.namespace)
                    if target in hosts and target in wanted:
                        loc: Loc = ("spec", "http", i, "route", j, "destination", "subset")
                        with_subset[target].append((res, loc, d.subset))
    for res, loc, host in no_subset:
        others = [entry for entry in with_subset.get(host, ()) if entry[0] is not res]
        if not others:
            continue
        other, other_loc, subset = others[0]
        yield Finding(
            res,
            loc,
            f"gateway route to `{host}` has no `subset`, so it bypasses the subsets of mesh "
            f"VirtualService `{other.namespace}/{other.name}`",
            help=f"route to a subset here too (e.g. `subset: {subset}`)",
            related=((other, other_loc, f"routes `{host}` to subset `{subset}` for sidecars only"),),
        )


def _claim_routes(mesh: Mesh) -> Iterator[tuple[Resource, Loc]]:
    """(VirtualService, location of its first JWT claim match), for each VirtualService that has one."""
    for res in _virtual_services(mesh):
        found = None
        for i, http in enumerate(res.spec.http):
            if http.delegate is not None:
                continue
            for j, match in enumerate(http.match):
                for table in ("headers", "withoutHeaders"):
                    for name in getattr(match, table):
                        if routing_claim(name) is not None:
                            found = ("spec", "http", i, "match", j, table, name)
                            break
                    if found:
                        break
                if found:
                    break
            if found:
                break
        if found:
            yield res, found


def _claim_findings(mesh: Mesh) -> Iterator[Finding]:
    claims = list(_claim_routes(mesh))
    if not claims:
        return
    authns = [r for r in mesh.of_kind("RequestAuthentication") if r.spec is not None]
    root = mesh.options.root_namespace
    for res, claim_loc in claims:
        claim_name = claim_loc[-1]
        for ref in res.spec.gateways:
            if ref == MESH:
                continue
            ns, name = mesh.gateway_ref(ref, res.namespace)
            gateway = mesh.get("Gateway", ns, name)
            if gateway is None or gateway.spec is None or not gateway.spec.selector:
                continue
            selector = gateway.spec.selector
            uncovered = [
                w for w in mesh.workloads_matching(selector) if not any(_authn_selects(a, w, root) for a in authns)
            ]
            if not uncovered:
                continue
            names = ", ".join(f"`{w.resource.key}`" for w in uncovered[:3])
            labels = ", ".join(f"{k}: {v}" for k, v in selector.items())
            yield Finding(
                res,
                claim_loc,
                f"routing on JWT claim `{claim_name}` at gateway `{ns}/{name}` needs a RequestAuthentication "
                f"for its workloads, and none selects {names}",
                help=f"add a RequestAuthentication with `matchLabels: {{{labels}}}` in `{root}` or in the "
                "workloads' namespace",
                key=True,
                related=((gateway, ("spec", "selector"), "gateway workloads selected here"),),
            )


def _port_findings(mesh: Mesh) -> Iterator[Finding]:
    cache: dict[tuple[int, str], set[int] | None] = {}
    for res in _virtual_services(mesh):
        spec = res.spec
        if not spec.hosts:
            continue
        blocks = [
            ("http", i, j, m) for i, r in enumerate(spec.http) if r.delegate is None for j, m in enumerate(r.match)
        ]
        blocks += [
            (kind, i, j, m)
            for kind in ("tcp", "tls")
            for i, r in enumerate(getattr(spec, kind))
            for j, m in enumerate(r.match)
        ]
        blocks = [b for b in blocks if b[3].port]
        if not blocks:
            continue
        key = gateway_resolver(mesh, res.namespace)
        vs_gateways = vs_gateway_keys(spec.gateways, key)
        for kind, i, j, match in blocks:
            gateways = frozenset(key(g) for g in match.gateways) & vs_gateways if match.gateways else vs_gateways
            ports: set[int] = set()
            known = bool(gateways)
            for g in gateways:
                if (id(res), g) not in cache:
                    cache[(id(res), g)] = _ports_of(mesh, res, spec, g)
                found = cache[(id(res), g)]
                if found is None:
                    known = False
                    break
                ports |= found
            if not known or match.port in ports:
                continue
            listed = ", ".join(str(p) for p in sorted(ports)) or "none"
            yield Finding(
                res,
                ("spec", kind, i, "match", j, "port"),
                f"no listener of this VirtualService is on port {match.port} (ports: {listed}), so this match never "
                "applies",
                help="use one of the service or gateway server ports, or remove `port`",
            )


def _authn_selects(authn: Resource, workload: Any, root: str) -> bool:
    if authn.namespace not in (root, workload.namespace):
        return False
    spec = authn.spec
    if spec.targetRef is not None or spec.targetRefs:
        return True  # attached by reference; not decided offline, so assume it applies
    if spec.selector is None:
        return True
    return bool(workload.matches(spec.selector.matchLabels))


def _deprecated_elsewhere(mesh: Mesh) -> Iterator[Finding]:
    for sidecar in mesh.of_kind("Sidecar"):
        otp = sidecar.spec.outboundTrafficPolicy if sidecar.spec is not None else None
        if otp is not None and otp.egressProxy is not None:
            yield Finding(
                sidecar,
                ("spec", "outboundTrafficPolicy", "egressProxy"),
                "`outboundTrafficPolicy.egressProxy` is deprecated and ignored by Istio",
                help="remove it; route unknown destinations with a ServiceEntry and a VirtualService instead",
                key=True,
            )


def _ports_of(mesh: Mesh, res: Resource, spec: Any, gateway: str) -> set[int] | None:
    if gateway == MESH:
        ports: set[int] = set()
        for h in spec.hosts:
            if h.startswith("*"):
                return None
            entries = mesh.any_host(h, res.namespace)
            if not entries:
                return None
            for entry in entries:
                ports.update(p.number for p in entry.ports)
        return ports
    ns, _, name = gateway.partition("/")
    gw = mesh.get("Gateway", ns, name)
    if gw is None or gw.spec is None:
        return None
    return {s.port.number for s in gw.spec.servers}


# --- the rules ------------------------------------------------------------------------------------


@rule("MC201", "conflicting-mesh-virtual-services", Severity.ERROR, istio="IST0109")
def conflicting_mesh_virtual_services(mesh: Mesh) -> Iterator[Finding]:
    """Two VirtualServices bound to the mesh claim the same host for the same namespaces.

    Hosts are compared after resolving short names in each VirtualService's namespace; `exportTo`
    decides where each one is visible (`.`, `*` and named namespaces). As in istioctl, wildcards
    (`*.example.com` overlaps `a.example.com`) count only between a VirtualService exported to
    every namespace and one exported to some: two VirtualServices both exported everywhere (or
    both to namespaces) conflict on the same host only, since istiod builds a virtual host per
    domain and the exact one wins. A VirtualService never conflicts with itself.

    ## Why is this bad?
    Sidecars do not merge VirtualServices: for each host only one of them (the oldest) is used
    and the other is silently ignored. With overlapping wildcards, the more specific host takes
    the traffic, so the broader VirtualService's rules never apply to it.

    ## Example
    ```yaml
    # namespace foo
    kind: VirtualService
    metadata:
      name: ratings
    spec:
      hosts: [ratings]
    ---
    # namespace bar
    kind: VirtualService
    metadata:
      name: ratings-canary
    spec:
      hosts: [ratings.foo.svc.cluster.local]
    ```

    Use instead: merge the rules into one VirtualService, or export each to different namespaces:
    ```yaml
    spec:
      hosts: [ratings]
      exportTo: ["."]
    ```
    """
    yield from _conflicts(mesh)


@rule("MC202", "unreachable-rule", Severity.WARNING, istio="IST0130")
def unreachable_rule(mesh: Mesh) -> Iterator[Finding]:
    """A rule of a VirtualService that no request can reach: earlier rules catch all it matches.

    meshc decides it by comparing match blocks field by field (uri exact, prefix and regex with
    `ignoreUriCase`; headers, `withoutHeaders`, query parameters, method, authority and scheme;
    port, gateways, source labels and namespace), so it finds far more than identical matches
    and never reports a block it cannot prove unreachable.

    ## Why is this bad?
    Envoy takes the first route that matches. A rule whose every match block is covered by an
    earlier block never applies: its destinations, rewrites and retries are dead configuration,
    and requests you meant for it go elsewhere. A rule after a rule without `match` is not even
    sent to Envoy.

    ## Example
    ```yaml
    http:
    - match:
      - uri:
          prefix: /api
      route:
      - destination:
          host: api
    - match:
      - uri:
          prefix: /api/v2      # never reached: /api catches it
      route:
      - destination:
          host: api-v2
    ```

    Use instead:
    ```yaml
    http:
    - match:
      - uri:
          prefix: /api/v2
      route:
      - destination:
          host: api-v2
    - match:
      - uri:
          prefix: /api
      route:
      - destination:
          host: api
    ```
    """
    yield from _unreachable_findings(mesh)


@rule("MC203", "shadowed-match", Severity.INFO, istio="IST0131")
def shadowed_match(mesh: Mesh) -> Iterator[Finding]:
    """A match block that an earlier rule's match block catches completely.

    When every block of the rule is caught, the rule is also MC202 (IST0130), as istioctl reports
    both. Info, as istioctl's IST0131.

    ## Why is this bad?
    Requests this block was written for are taken by the earlier rule, so they never get this
    rule's destinations or policies. Usually the rules are in the wrong order or the earlier
    match is broader than intended.

    ## Example
    ```yaml
    http:
    - match:
      - uri:
          prefix: /reviews
      route:
      - destination:
          host: reviews
    - match:
      - uri:
          prefix: /ratings
      - uri:
          exact: /reviews/top    # never reached: /reviews catches it
      route:
      - destination:
          host: ratings
    ```

    Use instead:
    ```yaml
    http:
    - match:
      - uri:
          exact: /reviews/top
      - uri:
          prefix: /ratings
      route:
      - destination:
          host: ratings
    - match:
      - uri:
          prefix: /reviews
      route:
      - destination:
          host: reviews
    ```
    """
    yield from _block_findings(mesh, same_rule=False)


@rule("MC204", "redundant-match", Severity.INFO, istio="IST0131")
def redundant_match(mesh: Mesh) -> Iterator[Finding]:
    """A match block covered by an earlier match block of the same rule.

    ## Why is this bad?
    The block adds nothing: every request it matches already takes the same rule through the
    earlier block. It makes the rule harder to read and hints at a typo in one of the two.

    ## Example
    ```yaml
    - match:
      - uri:
          prefix: /static
      - uri:
          prefix: /static/img    # already matched by /static
      route:
      - destination:
          host: assets
    ```

    Use instead:
    ```yaml
    - match:
      - uri:
          prefix: /static
      route:
      - destination:
          host: assets
    ```
    """
    yield from _block_findings(mesh, same_rule=True)


@rule("MC205", "ingress-route-without-subset", Severity.WARNING, istio="IST0140")
def ingress_route_without_subset(mesh: Mesh) -> Iterator[Finding]:
    """A gateway route to a host without `subset`, while the host's mesh VirtualService uses subsets.

    ## Why is this bad?
    VirtualService rules are applied once, by the proxy that sends the request. The gateway
    sends this traffic straight to every endpoint of the host, so the version split that the
    host's own (mesh) VirtualService defines does not apply to requests entering through the
    gateway.

    ## Example
    ```yaml
    # gateway VirtualService
    route:
    - destination:
        host: reviews          # all versions
    ---
    # mesh VirtualService for reviews
    route:
    - destination:
        host: reviews
        subset: v1
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: reviews
        subset: v1
    ```
    """
    yield from _ingress_without_subset(mesh)


@rule(
    "MC206",
    "jwt-claim-route-without-request-authentication",
    Severity.ERROR,
    istio="IST0149",
    requires=("workloads",),
)
def jwt_claim_route_without_request_authentication(mesh: Mesh) -> Iterator[Finding]:
    """Routing on a JWT claim at a gateway whose workloads no RequestAuthentication selects.

    ## Why is this bad?
    `@request.auth.claims.*` matches read the claims that the JWT filter extracts. Without a
    RequestAuthentication for the gateway's pods there is no JWT filter, the claims are never
    available, and the match never succeeds.

    ## Example
    ```yaml
    kind: VirtualService
    spec:
      gateways: [istio-system/ingressgateway]
      http:
      - match:
        - headers:
            "@request.auth.claims.group":
              exact: admin
    ```

    Use instead: add a RequestAuthentication for the gateway's workloads:
    ```yaml
    apiVersion: security.istio.io/v1
    kind: RequestAuthentication
    metadata:
      namespace: istio-system
    spec:
      selector:
        matchLabels:
          istio: ingressgateway
      jwtRules:
      - issuer: https://auth.example.com
    ```
    """
    yield from _claim_findings(mesh)


@rule("MC207", "deprecated-field", Severity.WARNING, istio="IST0002")
def deprecated_field(mesh: Mesh) -> Iterator[Finding]:
    """A field Istio keeps only for compatibility (deprecated, or ignored), as `istioctl analyze` reports it.

    Covers what istioctl's deprecation.FieldAnalyzer reports: `fault.delay.percent` (above 0)
    and Sidecar `outboundTrafficPolicy.egressProxy`. The deprecations istiod's webhook warns
    about (`mirrorPercent`, `outlierDetection.consecutiveErrors`, ...) are MC220 (IST0133).

    ## Why is this bad?
    Deprecated fields may be removed in a later Istio release, and some are already ignored
    (`egressProxy`). Their replacements are more precise (`percentage` takes fractions).

    ## Example
    ```yaml
    fault:
      delay:
        fixedDelay: 5s
        percent: 10
    ```

    Use instead:
    ```yaml
    fault:
      delay:
        fixedDelay: 5s
        percentage:
          value: 10
    ```
    """
    yield from _deprecated_in_virtual_services(mesh)
    yield from _deprecated_elsewhere(mesh)


@rule("MC208", "route-weights-not-100", Severity.WARNING)
def route_weights_not_100(mesh: Mesh) -> Iterator[Finding]:
    """The weights of a route's destinations do not add up to 100.

    ## Why is this bad?
    Envoy uses the weights as relative shares, so `90` and `20` send 82% and 18% rather than
    what the numbers suggest. A total other than 100 is almost always an editing mistake.

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 20
    ```

    Use instead:
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20
    ```
    """
    yield from _weights_not_100(mesh)


@rule("MC209", "destination-without-weight", Severity.WARNING)
def destination_without_weight(mesh: Mesh) -> Iterator[Finding]:
    """A destination without `weight` next to weighted destinations receives no traffic.

    ## Why is this bad?
    With several destinations, Istio drops those whose weight is 0 or missing. The unweighted
    destination looks like a default or an equal share, but it gets nothing.

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
    - destination: {host: reviews, subset: v2}
      weight: 50
    ```

    Use instead:
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v2}
      weight: 50
    ```
    """
    yield from _destinations_without_weight(mesh)


@rule("MC210", "weight-on-single-destination", Severity.WARNING)
def weight_on_single_destination(mesh: Mesh) -> Iterator[Finding]:
    """A `weight` other than 100 on a route's only destination, which Istio ignores.

    ## Why is this bad?
    A single destination always receives all the traffic: `weight: 10` does not send 10% there
    and the rest elsewhere. (`weight: 100` is harmless and not reported.)

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v2}
      weight: 10
    ```

    Use instead:
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
    ```
    """
    yield from _weight_on_single_destination(mesh)


@rule("MC211", "duplicate-route-destination", Severity.WARNING)
def duplicate_route_destination(mesh: Mesh) -> Iterator[Finding]:
    """The same destination (host, subset and port) appears twice in one route.

    ## Why is this bad?
    The two entries split the same traffic to the same place; the real share is their sum,
    which hides the intended weights. It is usually a copy-paste slip (a subset not renamed).

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v1}
      weight: 50
    ```

    Use instead:
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v2}
      weight: 50
    ```
    """
    yield from _duplicate_destinations(mesh)


@rule("MC212", "retries-exceed-timeout", Severity.WARNING)
def retries_exceed_timeout(mesh: Mesh) -> Iterator[Finding]:
    """`retries.attempts × retries.perTryTimeout` is longer than the rule's `timeout`.

    ## Why is this bad?
    All tries share the route `timeout`. When tries time out, retry number `n` starts after
    `n × perTryTimeout`, so the retries past `timeout` never happen: the configuration promises
    more retries than it can make.

    ## Example
    ```yaml
    timeout: 5s
    retries:
      attempts: 3
      perTryTimeout: 2s     # 3 × 2s = 6s > 5s
    ```

    Use instead:
    ```yaml
    timeout: 8s
    retries:
      attempts: 3
      perTryTimeout: 2s
    ```
    """
    yield from _retries_over_timeout(mesh)


@rule("MC213", "fault-without-percentage", Severity.WARNING)
def fault_without_percentage(mesh: Mesh) -> Iterator[Finding]:
    """A fault `abort` or `delay` without `percentage`, which Envoy then never injects.

    ## Why is this bad?
    Istio sends the fault to Envoy with a 0% share when no percentage is given, so the fault
    you are testing with does not happen at all.

    ## Example
    ```yaml
    fault:
      abort:
        httpStatus: 503
    ```

    Use instead:
    ```yaml
    fault:
      abort:
        httpStatus: 503
        percentage:
          value: 100
    ```
    """
    yield from _fault_percentages(mesh, zero=False)


@rule("MC214", "zero-fault-percentage", Severity.WARNING)
def zero_fault_percentage(mesh: Mesh) -> Iterator[Finding]:
    """A fault `abort` or `delay` whose percentage is 0.

    ## Why is this bad?
    A fault injected into 0% of requests does nothing; it is dead configuration or a typo for
    a small share such as `0.1`.

    ## Example
    ```yaml
    fault:
      delay:
        fixedDelay: 7s
        percentage:
          value: 0
    ```

    Use instead:
    ```yaml
    fault:
      delay:
        fixedDelay: 7s
        percentage:
          value: 10
    ```
    """
    yield from _fault_percentages(mesh, zero=True)


@rule("MC215", "mirror-to-route-destination", Severity.INFO)
def mirror_to_route_destination(mesh: Mesh) -> Iterator[Finding]:
    """A rule mirrors traffic to a destination it already routes to.

    Info only: a canary that gets a share of live traffic and a full shadow copy is a common
    pattern; check that the destination can take the extra load and repeated writes.

    ## Why is this bad?
    The destination receives the requests routed to it twice (the routed one and the shadow
    copy), which adds load and repeats side effects such as writes. Mirroring is usually meant
    for a different version or service.

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
    mirror: {host: reviews, subset: v1}
    ```

    Use instead:
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
    mirror: {host: reviews, subset: v2}
    ```
    """
    yield from _mirrors_to_routed(mesh)


@rule("MC216", "uri-rewrite-on-regex-match", Severity.WARNING)
def uri_rewrite_on_regex_match(mesh: Mesh) -> Iterator[Finding]:
    """`rewrite.uri` on a rule that matches the uri by regex, so the whole path is replaced.

    ## Why is this bad?
    `rewrite.uri` replaces the matched prefix of a prefix match, but with a regex match Envoy
    replaces the whole path: `/api/v1/users/7` matched by `/api/v1/.*` and rewritten to `/v1`
    arrives as `/v1`, and every request of the block reaches the same path.

    ## Example
    ```yaml
    - match:
      - uri:
          regex: /api/v1/.*
      rewrite:
        uri: /v1
    ```

    Use instead:
    ```yaml
    - match:
      - uri:
          regex: /api/v1/.*
      rewrite:
        uriRegexRewrite:
          match: ^/api/v1/
          rewrite: /v1/
    ```
    """
    yield from _rewrites_on_regex(mesh)


@rule("MC217", "match-port-not-served", Severity.WARNING, requires=("services",))
def match_port_not_served(mesh: Mesh) -> Iterator[Finding]:
    """A match `port` that none of the VirtualService's hosts or gateways listens on.

    Checked only when every host resolves to a Service or ServiceEntry and every gateway the
    block applies to is in the input.

    ## Why is this bad?
    Istio keeps a match block only on listeners of that port. For sidecars the listeners are
    the ports of the destination service; for gateways, the server ports. A port that is none
    of them makes the block, and the rule if it is the only block, never apply.

    ## Example
    ```yaml
    hosts: [reviews]          # Service port 9080
    http:
    - match:
      - port: 8080
    ```

    Use instead:
    ```yaml
    http:
    - match:
      - port: 9080
    ```
    """
    yield from _port_findings(mesh)


@rule("MC218", "source-match-ignored-with-gateways", Severity.WARNING)
def source_match_ignored_with_gateways(mesh: Mesh) -> Iterator[Finding]:
    """`sourceLabels` or `sourceNamespace` in an HTTP match block that also sets `gateways`.

    ## Why is this bad?
    When a match block lists `gateways`, Istio checks only the gateway and skips the source
    conditions (`sourceMatchHTTP`), so the block also matches requests from other workloads or
    namespaces.

    ## Example
    ```yaml
    - match:
      - gateways: [mesh]
        sourceLabels:
          app: frontend
    ```

    Use instead:
    ```yaml
    - match:
      - sourceLabels:
          app: frontend
    ```
    """
    yield from _source_match_with_gateways(mesh)
