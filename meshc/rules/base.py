"""The rule registry: a rule is a function of the Mesh that yields findings."""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from meshc.diagnostics import Severity

if TYPE_CHECKING:
    from meshc.mesh import Mesh, Resource


@dataclass(frozen=True, slots=True)
class Finding:
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


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule; `check` is None for codes produced by a pipeline stage (loader, models)."""

    code: str
    name: str
    severity: Severity
    istio_code: str | None
    check: Check | None
    requires: tuple[str, ...]
    """Inputs the rule needs (`services`, `workloads`, `namespaces`); skipped and reported when absent."""
    doc: str
    module: str = ""
    """The module that registered it (`meshc.rules.routing`): where its code lives (see `meshc.rules`)."""

    @property
    def summary(self) -> str:
        """First line of the documentation."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.name

    @property
    def family(self) -> str:
        """The family the code belongs to (its first digit)."""
        return FAMILIES.get(self.code[2:3], "other")


FAMILIES = {
    "0": "input",
    "1": "references",
    "2": "routing",
    "3": "policy",
    "4": "backends",
}

RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    severity: Severity = Severity.ERROR,
    *,
    istio: str | None = None,
    requires: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register a rule function under `code`; its docstring is its user documentation."""

    def register(check: Check) -> Check:
        _add(code, name, severity, istio, check, requires, inspect.getdoc(check) or "", check.__module__)
        return check

    return register


def stage(code: str, name: str, severity: Severity, doc: str, *, istio: str | None = None) -> Rule:
    """Register a code that a pipeline stage (not a rule function) emits, so it is listed."""
    module = str(inspect.currentframe().f_back.f_globals.get("__name__", ""))  # type: ignore[union-attr]
    return _add(code, name, severity, istio, None, (), inspect.cleandoc(doc), module)


def _add(
    code: str,
    name: str,
    severity: Severity,
    istio: str | None,
    check: Check | None,
    requires: tuple[str, ...],
    doc: str,
    module: str,
) -> Rule:
    if code in RULES:
        raise ValueError(f"rule code {code} registered twice")
    if any(r.name == name for r in RULES.values()):
        raise ValueError(f"rule name {name} registered twice")
    entry = Rule(code, name, severity, istio, check, requires, doc, module)
    RULES[code] = entry
    return entry


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
