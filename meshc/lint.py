"""The lint pipeline: load, validate, index, run the rules, filter and sort the diagnostics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec

from meshc import models
from meshc.config import Options
from meshc.diagnostics import Diagnostic, Related, ResourceRef, Severity, Span, close_matches, format_field
from meshc.mesh import FOREIGN_KINDS, Mesh, Resource, cluster_of, raw_object, salvage
from meshc.patterns import lazy
from meshc.rules import RULES, Rule, find
from meshc.rules import input as stage
from meshc.rules.base import Finding
from meshc.source import TEMPLATE_ACTION, TEMPLATE_HELP, Document, LoadResult, SourceFile, load, no_gc, template_error

ISTIO_GROUPS = ("networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io")
# Kinds of Istio's API groups that meshc does not check: skipped, counted, never an error.
ISTIO_UNMODELED = {"extensions.istio.io": {"TrafficExtension"}}
SUPPRESS_ANNOTATIONS = ("meshc.dev/ignore", "galley.istio.io/analyze-suppress")
_IGNORE_COMMENT = lazy(r"#\s*meshc:\s*ignore(?:\[([^\]]*)\])?")


class Inventory(msgspec.Struct):
    """What the loader and the models made of the input."""

    loaded: LoadResult
    resources: list[Resource] = msgspec.field(default_factory=list)
    diagnostics: list[Diagnostic] = msgspec.field(default_factory=list)
    skipped: Counter[str] = msgspec.field(default_factory=Counter)
    """Documents not checked, by kind (or by a description such as `(not a resource)`)."""
    partial: list[Resource] = msgspec.field(default_factory=list)
    """Documents that failed validation, salvaged (`Resource.valid` False) so references to them resolve."""
    annotations: dict[int, Any] = msgspec.field(default_factory=dict)
    """Annotations of the document each input diagnostic is about, by `id(diagnostic)` (for suppression)."""
    foreign: list[Resource] = msgspec.field(default_factory=list)
    """Documents of kinds meshc does not check but indexes (`mesh.FOREIGN_KINDS`: Gateway API Gateways, ...)."""
    replaced: list[tuple[Resource, Resource]] = msgspec.field(default_factory=list)
    """(kept, dropped): a resource defined twice; only the later definition is indexed (MC012)."""

    def indexed(self) -> list[Resource]:
        """Everything the Mesh indexes: valid resources, then salvaged and foreign ones."""
        return [*self.resources, *self.partial, *self.foreign]


class LintReport(msgspec.Struct):
    """The result of `meshc lint`."""

    diagnostics: list[Diagnostic]
    files: int
    resources: int
    skipped: Counter[str]
    skipped_rules: list[tuple[Rule, str]]
    suppressed: int
    options: Options
    sources: dict[str, SourceFile] = msgspec.field(default_factory=dict)
    """Every file read, by display path (for snippets and per-file formats)."""

    def count(self, severity: Severity) -> int:
        """Number of diagnostics of one severity."""
        return sum(1 for d in self.diagnostics if d.severity == severity)

    @property
    def worst(self) -> Severity | None:
        """The most severe diagnostic, if any."""
        return max((d.severity for d in self.diagnostics), default=None)

    def failed(self) -> bool:
        """True when a diagnostic is at or above `fail_on` (exit code 1)."""
        worst = self.worst
        return worst is not None and worst >= self.options.fail_on


def read(paths: Iterable[str], options: Options, *, stdin: bytes | None = None) -> Inventory:
    """Load the inputs (`stdin`: the bytes of a path `-`) and validate every resource document against its model.

    Each document is validated as soon as it is parsed, and its data dropped: what meshc keeps of a
    document is its model, and the data of a whole file would double the memory.
    """
    inv = Inventory(LoadResult())
    inv.loaded = load(paths, stdin=stdin, each=lambda doc: _read_parsed(inv, doc, options))
    # File-level problems come first, as when every file was read before any document was validated.
    inv.diagnostics[:0] = [
        _stage_diag(stage.UNRENDERED_TEMPLATE if help == TEMPLATE_HELP else stage.YAML_SYNTAX, span, message, help=help)
        for span, message, help in inv.loaded.errors
    ]
    _one_per_identity(inv, options)
    return inv


def _read_parsed(inv: Inventory, doc: Document, options: Options) -> None:
    """Validate one parsed document (each item of a `kind: List`), then drop its data."""
    for loc, err in doc.problems:
        inv.diagnostics.append(
            _stage_diag(
                stage.DUPLICATE_KEY,
                Span(doc.path, err.line, err.column),
                err.message,
                help=err.help,
                field=format_field(loc),
            )
        )
    data = doc.data
    action = _unrendered_action(doc, data) if doc.template is not None else None
    if action is not None:
        err = template_error(action)
        inv.diagnostics.append(
            _stage_diag(stage.UNRENDERED_TEMPLATE, Span(doc.path, err.line, err.column), err.message, help=err.help)
        )
    elif _is_list(data):
        # `kind: List` and `<Kind>List` (what `kubectl get vs -o yaml` prints): each item is a
        # document, found under `items[i]`; an item without apiVersion or kind has the list's.
        of_kind = data["kind"][: -len("List")]
        for i, item in enumerate(data["items"]):
            if of_kind and isinstance(item, dict) and ("kind" not in item or "apiVersion" not in item):
                item = {"apiVersion": data.get("apiVersion"), "kind": of_kind, **item}
            sub = Document(doc.source, doc.index, item, doc.line, doc.origin, base=("items", i))
            sub.line = sub.span(()).line
            _read_document(inv, sub, options)
    else:
        _read_document(inv, doc, options)
    doc.data = None


def _is_list(data: Any) -> bool:
    kind = data.get("kind") if isinstance(data, dict) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)


def _unrendered_action(doc: Document, data: Any) -> tuple[int, int, str] | None:
    """(line, column, text) of the unrendered Go template action that makes `doc` MC013, if one does.

    Only a parsed key or string that holds a whole action (`{{ .Values.host }}`) counts: the text
    scan behind `doc.template` sees raw lines, where a hostile string and flow punctuation can look
    like one (`uri: '/{{'}}]}}`). A document of a kind meshc skips stays skipped. In an Istio resource
    an action anywhere is unrendered; in a platform resource (Pod, Deployment, Service...) only one
    in `metadata` is: a container's `args` or a ConfigMap's data may hold Go templates for the
    program that runs them (`'http://grafana:{{ .Values.port }}'` in Istio's own analyzer tests is a
    valid Pod).
    """
    value: Any = data
    scope: tuple[str | int, ...] = ()
    api_version, kind = (data.get("apiVersion"), data.get("kind")) if isinstance(data, dict) else (None, None)
    if (
        isinstance(api_version, str)
        and isinstance(kind, str)
        and "{{" not in api_version + kind
        and not _is_list(data)
        and api_version.rpartition("/")[0] not in ISTIO_GROUPS
    ):
        if models.lookup(api_version, kind) is None:
            return None
        value, scope = data.get("metadata"), ("metadata",)
    found = [(doc.span(path, key=is_key), action) for path, is_key, action in _actions(value, scope)]
    if not found:
        return None
    first, action = min(found, key=lambda item: (item[0].line, item[0].column))
    # The action's own column: the scalar starts at its quote, or with text before the action.
    m = TEMPLATE_ACTION.search(doc.source.line_text(first.line), first.column - 1)
    if m is None or m.group() != action:  # a multi-line scalar or an escape: the scalar's position
        return first.line, first.column, action
    return first.line, m.start() + 1, action


def _actions(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], bool, str]]:
    """(field path, is a key, action) of the keys and strings under `value` that hold a whole template action."""
    out: list[tuple[tuple[str | int, ...], bool, str]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    seen: set[int] = set()
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            m = TEMPLATE_ACTION.search(node)
            if m is not None:
                out.append((at, False, m.group()))
        elif isinstance(node, (dict, list)) and id(node) not in seen:
            seen.add(id(node))  # an aliased container: its actions are reported where its anchor is
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                m = TEMPLATE_ACTION.search(k) if isinstance(k, str) else None
                if m is not None:
                    out.append(((*at, k), True, m.group()))
                stack.append((v, (*at, k)))
    return out


def _one_per_identity(inv: Inventory, options: Options) -> None:
    """Two documents of one kind, namespace and name (in one cluster): MC012, and only the later one is kept.

    `kubectl apply` keeps the last one it applies; so does meshc, in input order, for every
    command (`route`, `compile`, `diff` and `graph` say so in a warning).
    """
    order = {id(d): i for i, d in enumerate(inv.loaded.documents)}

    def position(res: Resource) -> tuple[int, tuple[Any, ...]]:
        doc = res.doc
        return (order.get(id(doc), -1), doc.base) if doc is not None else (-1, ())

    first: dict[tuple[str, str, str, str, str | None], Resource] = {}
    dropped: set[int] = set()
    for res in sorted(inv.indexed(), key=position):
        if not res.name or res.doc is None:
            continue  # `generateName` makes a new object each time
        key = (res.group, res.kind, res.namespace, res.name, cluster_of(res, options))
        earlier = first.get(key)
        first[key] = res
        if earlier is None:
            continue
        dropped.add(id(earlier))
        was = earlier.span(("metadata", "name"))
        inv.replaced.append((res, earlier))
        inv.diagnostics.append(
            Diagnostic(
                stage.DUPLICATE_RESOURCE.code,
                stage.DUPLICATE_RESOURCE.name,
                stage.DUPLICATE_RESOURCE.severity,
                f"{res.kind} `{res.namespace}/{res.name}` is defined twice: here and at "
                f"{was.path}:{was.line}:{was.column}; `kubectl apply` keeps only the later one (this one)",
                res.span(("metadata", "name")),
                resource=res.ref,
                field="metadata.name",
                help="keep one document per resource: delete or rename the other copy",
                related=(Related(was, "the earlier definition, which `kubectl apply` replaces"),),
            )
        )
    if dropped:
        inv.resources = [r for r in inv.resources if id(r) not in dropped]
        inv.partial = [r for r in inv.partial if id(r) not in dropped]
        inv.foreign = [r for r in inv.foreign if id(r) not in dropped]


def _read_document(inv: Inventory, doc: Document, options: Options) -> None:
    data = doc.data
    if not isinstance(data, dict):
        inv.skipped["(not a mapping)"] += 1
        return
    api_version = data.get("apiVersion")
    kind = data.get("kind")
    info = models.lookup(api_version, kind)
    if info is None:
        _unknown_kind(inv, doc, api_version, kind, options)
        return
    if not isinstance(api_version, str) or not models.version_ok(info, api_version):
        versions = ", ".join(f"`{_api(info.group, v)}`" for v in info.versions)
        inv.diagnostics.append(
            _stage_diag(
                stage.UNSUPPORTED_API_VERSION,
                doc.span(("apiVersion",)),
                f"`{api_version}` does not serve kind `{kind}`",
                help=f"use one of {versions}",
                field="apiVersion",
                resource=_ref_from_data(data, kind),
            )
        )
        return
    model, problems = models.validate(info.model, data)
    ref = _ref_from_data(data, kind)
    meta = data.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    for p in _merge_typos(problems):
        code = _problem_code(p)
        # A missing field is reported on the key of the object that lacks it (on `kind` for a
        # field the document itself lacks).
        at_key = p.at_key or code is stage.MISSING_FIELD
        loc = p.loc if p.loc or code is not stage.MISSING_FIELD else ("kind",)
        diag = _stage_diag(
            code,
            doc.span(loc, key=at_key),
            p.message,
            help=p.help,
            field=format_field(p.loc),
            resource=ref,
        )
        inv.diagnostics.append(diag)
        if isinstance(notes, dict):
            inv.annotations[id(diag)] = notes
    valid = model is not None
    if model is None:
        model = salvage(info.model, data)
        if model is None:
            return
    model_meta = getattr(model, "metadata", None)
    given = getattr(model_meta, "namespace", None)
    if not valid and not getattr(model_meta, "name", None):
        return
    resource = Resource(doc, info.kind, info.group, model, given or options.default_namespace, bool(given), valid=valid)
    (inv.resources if valid else inv.partial).append(resource)


_MISSING = lazy(r"missing required field `([^`]+)`")
_DID_YOU_MEAN = lazy(r"did you mean `([^`]+)`\?")


def _merge_typos(problems: list[Any]) -> list[Any]:
    """Drop "missing `host`" when the same object has an unknown field that is a typo of `host`.

    One mistake (`hostt: r`) then gives one diagnostic, on the misspelled key, not two.
    """
    suggested = set()
    for p in problems:
        if p.at_key and p.help:
            m = _DID_YOU_MEAN.search(p.help)
            if m:
                suggested.add((p.loc[:-1], m.group(1)))
    if not suggested:
        return problems
    out = []
    for p in problems:
        m = _MISSING.fullmatch(p.message)
        if m and (tuple(p.loc), m.group(1)) in suggested:
            continue
        out.append(p)
    return out


def _problem_code(problem: Any) -> Rule:
    code = getattr(problem, "code", None)
    if code == "unknown" or (code is None and problem.at_key):
        return stage.UNKNOWN_FIELD
    if code == "missing" or (code is None and problem.message.startswith("missing required field")):
        return stage.MISSING_FIELD
    return stage.INVALID_VALUE


def _unknown_kind(inv: Inventory, doc: Document, api_version: Any, kind: Any, options: Options) -> None:
    label = kind if isinstance(kind, str) and kind else "(no kind)"
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) and "/" in api_version else ""
    if group in ISTIO_GROUPS and isinstance(kind, str) and kind not in ISTIO_UNMODELED.get(group, ()):
        known = [info.kind for info in models.KINDS.values() if info.group == group]
        close = close_matches(kind, known, n=1, cutoff=0.6)
        inv.diagnostics.append(
            _stage_diag(
                stage.UNKNOWN_KIND,
                doc.span(("kind",)),
                f"`{group}` has no kind `{kind}`",
                help=f"did you mean `{close[0]}`?" if close else f"kinds of `{group}`: {', '.join(sorted(known))}",
                field="kind",
            )
        )
    inv.skipped[label] += 1
    if (group, kind) in FOREIGN_KINDS:
        raw = raw_object(doc.data)
        if raw is not None:
            ns = raw.metadata.namespace
            inv.foreign.append(Resource(doc, kind, group, raw, ns or options.default_namespace, bool(ns), valid=False))


def _api(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _ref_from_data(data: dict[str, Any], kind: Any) -> ResourceRef:
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name")
    ns = meta.get("namespace")
    return ResourceRef(str(kind), ns if isinstance(ns, str) else None, name if isinstance(name, str) else None)


def _stage_diag(
    entry: Rule,
    span: Span,
    message: str,
    *,
    help: str | None = None,
    field: str | None = None,
    resource: ResourceRef | None = None,
) -> Diagnostic:
    return Diagnostic(
        entry.code,
        entry.name,
        entry.severity,
        message,
        span,
        resource=resource,
        field=field,
        istio_code=entry.istio_code,
        help=help,
    )


def selected_rules(options: Options) -> list[Rule]:
    """Rules enabled by `select`/`ignore` (all rules when `select` is empty)."""
    chosen: dict[str, Rule] = {}
    if options.select:
        for token in options.select:
            for r in find(token):
                chosen[r.code] = r
    else:
        chosen = dict(RULES)
    for token in options.ignore:
        for r in find(token):
            chosen.pop(r.code, None)
    return [chosen[c] for c in sorted(chosen)]


def validate_selectors(options: Options) -> list[str]:
    """Selectors that name no rule (the CLI reports them as usage errors), `severity` keys included."""
    return [t for t in (*options.select, *options.ignore, *options.severity) if not find(t)]


def configured_severity(options: Options, entry: Rule) -> Severity:
    """The severity of a rule's findings: the `severity` table's, else the rule's own.

    A key may be a code (`MC109`), a name, an istioctl code (`IST0173`) or a code prefix (`MC3`);
    the most specific key that names the rule wins (code, then name, then istioctl code, then prefix).
    """
    table = options.severity
    if not table:
        return entry.severity
    for key in (entry.code, entry.name.upper(), entry.istio_code or ""):
        if key in table:
            return table[key]
    prefixes = [k for k in table if k.startswith("MC") and entry.code.startswith(k)]
    return table[max(prefixes, key=len)] if prefixes else entry.severity


def run_rules(mesh: Mesh, rules: list[Rule]) -> tuple[list[tuple[Rule, Finding]], list[tuple[Rule, str]]]:
    """Run each rule whose inputs are present; return findings and the rules skipped (with why).

    With `complete_registry` every rule runs: the input is taken to be the whole registry.
    """
    findings: list[tuple[Rule, Finding]] = []
    skipped: list[tuple[Rule, str]] = []
    complete = mesh.options.complete_registry
    for r in rules:
        if r.check is None:
            continue
        missing = [] if complete else [need for need in r.requires if not mesh.capability(need)]
        if missing:
            skipped.append((r, mesh.CAPABILITY_REASONS[missing[0]]))
            continue
        findings.extend((r, f) for f in r.check(mesh))
    return findings, skipped


def to_diagnostic(entry: Rule, finding: Finding, options: Options) -> Diagnostic:
    """Stamp a finding with its rule's identity and the configured severity."""
    res = finding.resource
    return Diagnostic(
        entry.code,
        entry.name,
        configured_severity(options, entry),
        finding.message,
        res.span(finding.loc, key=finding.key),
        resource=res.ref,
        field=format_field(finding.loc),
        istio_code=entry.istio_code,
        help=finding.help,
        related=tuple(Related(other.span(loc), msg) for other, loc, msg in finding.related),
    )


def _suppressed_codes(annotations: Any) -> set[str]:
    """Codes listed in the suppression annotations (`meshc.dev/ignore`, `galley.istio.io/analyze-suppress`)."""
    if not annotations:
        return set()
    out: set[str] = set()
    for key in SUPPRESS_ANNOTATIONS:
        value = annotations.get(key)
        if value:
            out.update(v.strip().upper() for v in str(value).split(",") if v.strip())
    return out


def _matches(codes: Iterable[str], diag: Diagnostic) -> bool:
    for c in codes:
        if c in ("*", "ALL") or c == diag.code or (diag.istio_code and c == diag.istio_code):
            return True
        if c.lower() == diag.name:
            return True
        if c.startswith("MC") and diag.code.startswith(c):
            return True
    return False


def _line_ignored(diag: Diagnostic, line_text: str) -> bool:
    m = _IGNORE_COMMENT.search(line_text)
    if m is None:
        return False
    if m.group(1) is None:
        return True
    return _matches([c.strip().upper() for c in m.group(1).split(",") if c.strip()], diag)


def lint(
    paths: Iterable[str], options: Options, *, stdin: bytes | None = None, inventory: Inventory | None = None
) -> LintReport:
    """Run the whole lint pipeline and return the sorted, filtered diagnostics.

    With `inventory` (what `read` returned for the same paths and options) the inputs are not read again.
    """
    rules = selected_rules(options)
    enabled = {r.code for r in rules}
    with no_gc():
        inv = inventory if inventory is not None else read(paths, options, stdin=stdin)
        # Like istioctl analyze, assume Istio's default ingress gateway (Mesh docstring).
        mesh = Mesh(inv.indexed(), options, defaults=True)
        findings, skipped_rules = run_rules(mesh, rules)
        # What the rules memoised refers back to the Mesh: without it, the Mesh and every model are
        # freed when this returns (a cycle would outlive it, as the collector is frozen below).
        mesh.forget()
    sources = {f.path: f for f in inv.loaded.files}
    # Only a file whose text holds `meshc` can hold an ignore comment: the others' lines are not looked up.
    commented = {path: f for path, f in sources.items() if "meshc" in f.text}
    out: list[Diagnostic] = []
    suppressed = 0
    candidates: list[tuple[Diagnostic, Any, bool]] = [(d, inv.annotations.get(id(d)), True) for d in inv.diagnostics]
    candidates.extend((to_diagnostic(r, f, options), f.resource.annotations, False) for r, f in findings)
    seen: set[tuple[Any, ...]] = set()
    for diag, notes, from_stage in candidates:
        if diag.code not in enabled:
            continue
        # A YAML alias puts one node at several field paths: one finding there, not one per path.
        identity = (diag.code, diag.span, diag.message)
        if identity in seen:
            continue
        seen.add(identity)
        if options.severity and from_stage:
            level = configured_severity(options, RULES[diag.code])
            if level != diag.severity:
                diag = msgspec.structs.replace(diag, severity=level)
        ignored = _suppressed_codes(notes)
        if ignored and _matches(ignored, diag):
            suppressed += 1
            continue
        per_path = options.path_ignores(diag.span.path)
        if per_path and _matches([p.upper() for p in per_path], diag):
            suppressed += 1
            continue
        src = commented.get(diag.span.path)
        if src is not None and _line_ignored(diag, src.line_text(diag.span.line)):
            suppressed += 1
            continue
        out.append(diag)
    out.sort(key=Diagnostic.sort_key)
    out = _once(out)
    return LintReport(
        out,
        len(inv.loaded.files),
        len(inv.resources),
        inv.skipped,
        skipped_rules,
        suppressed,
        options,
        sources,
    )


def _once(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Each finding once: the same code and message at the same place is one finding.

    A value reached through YAML aliases is reported where its anchor wrote it, from every path
    through the aliases: one diagnostic, not one per alias.
    """
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diags:
        key = (d.code, d.span.path, d.span.line, d.span.column, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
