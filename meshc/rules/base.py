"""The rule registry: a rule is a function of the Mesh that yields findings."""

from __future__ import annotations

import functools
import importlib
import inspect
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from meshc.diagnostics import Severity

if TYPE_CHECKING:
    from meshc.mesh import Mesh, Resource


class Finding(msgspec.Struct, frozen=True):
    """All a rule can say: where (resource + field path), what, and how to fix it.

    The engine adds code, name and severity, so a rule cannot misreport its own identity.
    """

    resource: Resource
    loc: tuple[str | int, ...]
    message: str
    help: str | None = None
    key: bool = False
    """Point at the key of `loc` instead of its value (e.g. a field that should not be there)."""
    related: tuple[tuple[Resource, tuple[str | int, ...], str], ...] = ()


Check = Callable[["Mesh"], Iterable[Finding]]

_T = TypeVar("_T")


def per_mesh(compute: Callable[[Mesh], _T]) -> Callable[[Mesh], _T]:
    """`compute(mesh)` at most once per Mesh: an analysis that several rules read.

    It runs when the first rule that reads it runs, never otherwise, so `--select` of one rule
    does not pay for the analyses of the others.
    """
    done: weakref.WeakKeyDictionary[Mesh, _T] = weakref.WeakKeyDictionary()

    @functools.wraps(compute)
    def once(mesh: Mesh) -> _T:
        try:
            return done[mesh]
        except KeyError:
            value = done[mesh] = compute(mesh)
            return value

    return once


class Rule(msgspec.Struct, frozen=True):
    """A registered rule; `check` is None for codes produced by a pipeline stage (loader, models)."""

    code: str
    name: str
    severity: Severity
    istio_code: str | None
    check: Check | None
    requires: tuple[str, ...]
    """Inputs the rule needs (`services`, `workloads`, `namespaces`); skipped and reported when absent."""
    module: str = ""
    """The module that registered it (`meshc.rules.routing`): where its code lives (see `meshc.rules`)."""
    text: str = ""
    """A stage code's documentation as written (a rule's is its function's docstring)."""

    def __repr__(self) -> str:  # every field but `text`, a whole page of documentation (was field(repr=False))
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "text")
        return f"Rule({shown})"

    @property
    def doc(self) -> str:
        """The user documentation: the rule function's docstring (its module is imported), or the stage's text."""
        if isinstance(self.check, Deferred):
            return inspect.getdoc(self.check.function) or ""
        return inspect.cleandoc(self.text) if self.text else ""

    @property
    def summary(self) -> str:
        """First line of the documentation."""
        doc = self.doc
        return doc.strip().splitlines()[0] if doc.strip() else self.name

    @property
    def family(self) -> str:
        """The family the code belongs to (its first digit)."""
        return FAMILIES.get(self.code[2:3], "other")


class Deferred:
    """The check of a rule known from `meshc.rules`' table, its module imported when it must run.

    A lint calls it with the Mesh: when the input holds no resource of a kind in `reads` (the kinds
    the module's findings are about), the rule cannot fire and its module is not imported; else
    the module is imported (its `@rule` binds the function) and the function runs.
    """

    __slots__ = ("code", "module", "reads")

    def __init__(self, code: str, module: str, reads: frozenset[str] | None) -> None:
        self.code = code
        self.module = module
        self.reads = reads

    @property
    def function(self) -> Check:
        """The rule function (its module is imported on first use)."""
        if self.code not in _CHECKS:
            importlib.import_module(self.module)
        return _CHECKS[self.code]

    def __call__(self, mesh: Mesh) -> Iterable[Finding]:
        """The rule's findings on `mesh` (none, without importing it, when the input has no kind it reads)."""
        if self.reads is not None and self.reads.isdisjoint(input_kinds(mesh)):
            return ()
        return self.function(mesh)


FAMILIES = {
    "0": "input",
    "1": "references",
    "2": "routing",
    "3": "policy",
    "4": "backends",
}

RULES: dict[str, Rule] = {}
_CHECKS: dict[str, Check] = {}
"""Rule functions by code, bound when their module is imported."""
_NAMES: set[str] = set()
READS: dict[str, frozenset[str] | None] = {}
"""The rule modules of the table, with the kinds their findings are about (None: any input)."""


def declare(module: str, reads: frozenset[str] | None, entries: Iterable[tuple[Any, ...]]) -> None:
    """Register the rules of `meshc.rules.<module>` from `meshc.rules`' table, without importing it.

    Each entry is (code, name, severity, istio code, requires); the module's `@rule` decorators
    must say the same when it is imported (`rule` checks it).
    """
    full = f"meshc.rules.{module}"
    READS[full] = reads
    for code, name, severity, istio, requires in entries:
        _add(code, name, severity, istio, Deferred(code, full, reads), requires, "", full)


def rule(
    code: str,
    name: str,
    severity: Severity = Severity.ERROR,
    *,
    istio: str | None = None,
    requires: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Bind a rule function to `code`, declared in `meshc.rules`' table; its docstring is its user documentation.

    The table says what the decorator says (name, severity, istioctl code, inputs, module): a rule
    missing from the table, or that says otherwise, is an error when its module is imported.
    """

    def register(check: Check) -> Check:
        entry = RULES.get(code)
        module = check.__module__
        said = (code, name, severity, istio, requires, module)
        if entry is None or not isinstance(entry.check, Deferred):
            raise ValueError(f"rule {said} is not in the table of meshc/rules/__init__.py")
        known = (entry.code, entry.name, entry.severity, entry.istio_code, entry.requires, entry.check.module)
        if known != said:
            raise ValueError(f"rule {code}: meshc/rules/__init__.py says {known}, its decorator {said}")
        if code in _CHECKS:
            raise ValueError(f"rule code {code} registered twice")
        _CHECKS[code] = check
        return check

    return register


def stage(code: str, name: str, severity: Severity, doc: str, *, istio: str | None = None) -> Rule:
    """Register a code that a pipeline stage (not a rule function) emits, so it is listed."""
    module = str(inspect.currentframe().f_back.f_globals.get("__name__", ""))  # type: ignore[union-attr]
    return _add(code, name, severity, istio, None, (), doc, module)


def _add(
    code: str,
    name: str,
    severity: Severity,
    istio: str | None,
    check: Check | None,
    requires: tuple[str, ...],
    text: str,
    module: str,
) -> Rule:
    if code in RULES:
        raise ValueError(f"rule code {code} registered twice")
    if name in _NAMES:
        raise ValueError(f"rule name {name} registered twice")
    entry = Rule(code, name, severity, istio, check, requires, module, text)
    RULES[code] = entry
    _NAMES.add(name)
    return entry


def input_kinds(mesh: Mesh) -> frozenset[str]:
    """The kinds of the resources of the input (valid, salvaged, Gateway API and foreign), not the synthetic ones."""
    return _input_kinds(mesh)


@per_mesh
def _input_kinds(mesh: Mesh) -> frozenset[str]:
    tables = (mesh.by_kind, mesh.partial_by_kind, mesh.gateway_api, mesh.foreign)
    return frozenset(kind for table in tables for kind, found in table.items() if found)


def find(token: str) -> list[Rule]:
    """Rules a selector token names: a code (`MC102`), a prefix (`MC1`), a name, or an istioctl code."""
    t = token.strip()
    upper = t.upper()
    out = [r for r in RULES.values() if r.code == upper or r.name == t.lower() or r.istio_code == upper]
    if out:
        return out
    if upper.startswith("MC"):
        return [r for r in RULES.values() if r.code.startswith(upper)]
    if upper.startswith("IST"):
        return [r for r in RULES.values() if r.istio_code and r.istio_code.startswith(upper)]
    return []


def describe(entry: Rule) -> dict[str, Any]:
    """A rule as a JSON-friendly record (for `meshc rules --format json`)."""
    return {
        "code": entry.code,
        "name": entry.name,
        "severity": entry.severity.label,
        "istio_code": entry.istio_code,
        "family": entry.family,
        "summary": entry.summary,
        "requires": list(entry.requires),
    }
