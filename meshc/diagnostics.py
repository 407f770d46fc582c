"""The diagnostic record every stage produces: severity, source span, message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

import msgspec


class Severity(IntEnum):
    """How bad a finding is; ordered so that `max()` gives the worst."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        """The lowercase name used in every output format (`error`, `warning`, `info`)."""
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read `error`, `warning` or `info` (any case); raises ValueError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity `{text}`; expected `error`, `warning` or `info`") from None


_LABELS = {s: s.name.lower() for s in Severity}
"""`Severity.label` of each member (an enum's `name` is a descriptor: reading it per diagnostic costs)."""


class Span(msgspec.Struct, frozen=True):
    """A place in a source file; lines and columns are 1-based, ends are inclusive-exclusive."""

    path: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None


class ResourceRef(msgspec.Struct, frozen=True):
    """Which resource a diagnostic is about."""

    kind: str
    namespace: str | None
    name: str | None

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of design.md §4."""
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


class Related(msgspec.Struct, frozen=True):
    """A secondary location that explains a diagnostic ("subset list defined here")."""

    span: Span
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form of a related location."""
        return {
            "file": self.span.path,
            "line": self.span.line,
            "column": self.span.column,
            "message": self.message,
        }


class Diagnostic(msgspec.Struct, frozen=True):
    """One finding, stamped with its rule's code, name and severity."""

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    resource: ResourceRef | None = None
    field: str | None = None
    istio_code: str | None = None
    help: str | None = None
    related: tuple[Related, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order of every output: file, line, column, code, message."""
        return (self.span.path, self.span.line, self.span.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of design.md §4."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.label,
            "message": self.message,
            "file": self.span.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "resource": self.resource.to_dict() if self.resource else None,
            "field": self.field,
            "istio_code": self.istio_code,
            "help": self.help,
            "related": [r.to_dict() for r in self.related],
        }


def format_field(loc: tuple[str | int, ...]) -> str | None:
    """Render a field path as `spec.http[1].route[0].destination.subset`."""
    if not loc:
        return None
    out: list[str] = []
    for part in loc:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(("." if out else "") + str(part))
    return "".join(out)


def close_matches(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """`difflib.get_close_matches`, without its cost on a word far longer than every candidate.

    difflib indexes the word before looking at any candidate (tens of bytes of memory per
    character: gigabytes for a 100 MB unknown key). A similarity ratio is at most
    2·min(a, b)/(a + b), so a word more than (2 − cutoff)/cutoff times longer than every candidate
    matches none of them: then the answer is known to be empty, and is returned at once.
    """
    candidates = list(candidates)
    longest = max(map(len, candidates), default=0)
    if len(word) * cutoff > (2 - cutoff) * longest + 1:
        return []
    return difflib.get_close_matches(word, candidates, n, cutoff)
