"""Render lint results: one function per output format, each returning text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring as _encode_str  # the C encoder when _json is built
from typing import TYPE_CHECKING, Any, Protocol

from meshc import __version__
from meshc.diagnostics import Diagnostic, Related, Severity
from meshc.patterns import lazy

if TYPE_CHECKING:
    from meshc.lint import LintReport
    from meshc.rules.base import Rule

FORMATS = ("text", "full", "json", "github", "sarif", "junit")
MACHINE_FORMATS = ("json", "sarif", "junit")
"""Formats whose stdout must hold only the document: the summary goes to stderr."""

DOCS_URL = "https://github.com/meshc-dev/meshc/blob/main/docs/rules.md"


class Lines(Protocol):
    """Anything that gives the text of a 1-based line (a SourceFile)."""

    def line_text(self, line: int) -> str:
        """Text of a 1-based line."""
        ...


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_CAPABILITY_NOUNS = {
    "services": "Service",
    "kube-services": "Service",
    "workloads": "workload",
    "gateway-workloads": "gateway workload",
    "namespaces": "Namespace",
    "gateways": "Gateway",
    "destination-rules": "DestinationRule",
    "secrets": "Secret",
    "gateway-classes": "GatewayClass",
}
"""What a skipped check lacks, in a word, by `Mesh.CAPABILITY_REASONS` key (for the one-line summary)."""


def _missing_nouns(reasons: Iterable[str]) -> list[str]:
    from meshc.mesh import Mesh

    noun_of = {why: _CAPABILITY_NOUNS.get(key) for key, why in Mesh.CAPABILITY_REASONS.items()}
    out: list[str] = []
    for why in reasons:
        noun = noun_of.get(why) or why.removeprefix("the input has no ")
        if noun not in out:
            out.append(noun)
    return out


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def summary(report: LintReport, *, verbose: bool = False, width: int = 80) -> str:
    """The closing lines: one line of counts, one short line for skipped checks.

    `verbose` (`--show-skipped`, `-v`) explains instead which checks were skipped and why, which
    documents were not checked and how many diagnostics were suppressed.
    """
    from meshc import display

    errors = report.count(Severity.ERROR)
    warnings = report.count(Severity.WARNING)
    infos = report.count(Severity.INFO)
    where = f"{_plural(report.files, 'file')}"
    if report.diagnostics:
        parts = [_plural(errors, "error"), _plural(warnings, "warning")]
        if infos:
            parts.append(_plural(infos, "info"))
        head = f"Found {', '.join(parts)} in {where}"
    else:
        head = f"All checks passed: {_plural(report.resources, 'resource')} in {where}"
    others = sum(report.skipped.values())
    extras = []
    if report.suppressed and not verbose:
        extras.append(f"{_plural(report.suppressed, 'diagnostic')} suppressed")
    if others and not verbose:
        extras.append(f"{_plural(others, 'document')} of other kinds not checked")
    lines = [display.Text(head + (f" ({', '.join(extras)})" if extras else "") + ".")]
    by_reason: dict[str, list[str]] = {}
    for r, why in report.skipped_rules:
        by_reason.setdefault(why, []).append(r.code)
    if by_reason and not verbose:
        n = len(report.skipped_rules)
        nouns = _or_list(_missing_nouns(by_reason))
        lines.append(
            display.Text(f"{_plural(n, 'check')} skipped: no {nouns} in the input; --show-skipped for details.")
        )
    if verbose:
        if by_reason:
            lines.append(display.Text("Skipped checks (--complete-registry runs them):"))
            for why, codes in by_reason.items():
                lines.extend(display.wrap(f"{why}: {', '.join(codes)}", width, "  ", "    "))
        if others:
            kinds = ", ".join(f"{k} ({n})" for k, n in sorted(report.skipped.items()))
            lines.extend(display.wrap(f"Not checked: {_plural(others, 'document')} of other kinds: {kinds}.", width))
        if report.suppressed:
            lines.append(
                display.Text(f"Suppressed: {_plural(report.suppressed, 'diagnostic')} (annotations, comments, config).")
            )
    return display.render(lines, color=False).rstrip("\n")


def text(diagnostics: Iterable[Diagnostic]) -> str:
    """One line per diagnostic: `path:line:col: CODE [severity] message` (escaped, never wrapped)."""
    from meshc.display import plain

    out = []
    for d in diagnostics:
        s = d.span
        out.append(plain(f"{s.path}:{s.line}:{s.column}: {d.code} [{d.severity.label}] {d.message}"))
    return "\n".join(out) + ("\n" if out else "")


def json_(diagnostics: Iterable[Diagnostic]) -> str:
    """The JSON array of design.md §4: `indented_json([d.to_dict() for d in diagnostics])` and a newline."""
    items = [_diagnostic_json(d) for d in diagnostics]
    return ("[\n  " + ",\n  ".join(items) + "\n]\n") if items else "[]\n"


def _scalar(value: object, newline: str) -> str:
    """A string, None or int as `_indented` writes it (the common cases first); any other value through it."""
    cls = value.__class__
    if cls is str:
        return _encode_str(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if cls is int:
        return int.__repr__(value)
    return _indented(value, newline)


def _diagnostic_json(d: Diagnostic) -> str:
    """`indented_json(d.to_dict(), 1)` without building the dict: a diagnostic's shape is fixed.

    Each value is written as `_indented` writes it (`_scalar`); `tests/test_output.py` compares the two.
    """
    nl = "\n    "
    span = d.span
    res = d.resource
    if res is None:
        resource = "null"
    else:
        resource = (
            f'{{\n      "kind": {_scalar(res.kind, nl)},\n      "namespace": {_scalar(res.namespace, nl)},'
            f'\n      "name": {_scalar(res.name, nl)}\n    }}'
        )
    related = ("[\n      " + ",\n      ".join(map(_related_json, d.related)) + "\n    ]") if d.related else "[]"
    return (
        f'{{{nl}"code": {_scalar(d.code, nl)},{nl}"name": {_scalar(d.name, nl)},'
        f'{nl}"severity": {_scalar(d.severity.label, nl)},{nl}"message": {_scalar(d.message, nl)},'
        f'{nl}"file": {_scalar(span.path, nl)},{nl}"line": {_scalar(span.line, nl)},'
        f'{nl}"column": {_scalar(span.column, nl)},{nl}"end_line": {_scalar(span.end_line, nl)},'
        f'{nl}"end_column": {_scalar(span.end_column, nl)},{nl}"resource": {resource},'
        f'{nl}"field": {_scalar(d.field, nl)},{nl}"istio_code": {_scalar(d.istio_code, nl)},'
        f'{nl}"help": {_scalar(d.help, nl)},{nl}"related": {related}\n  }}'
    )


def _related_json(r: Related) -> str:
    """`indented_json(r.to_dict(), 3)`: a related location, an item of a diagnostic's `related`."""
    nl = "\n        "
    span = r.span
    return (
        f'{{{nl}"file": {_scalar(span.path, nl)},{nl}"line": {_scalar(span.line, nl)},'
        f'{nl}"column": {_scalar(span.column, nl)},{nl}"message": {_scalar(r.message, nl)}\n      }}'
    )


def indented_json(value: object, depth: int = 0) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, as nested `depth` levels deep, in bounded memory.

    json.dumps with an indent runs the pure-Python encoder, which joins one small string per token:
    about 10 bytes of memory per byte of output (270 MB for the 26 MB report of 50,000
    diagnostics), and builds an encoder per call. Here each list and object is joined from its
    finished items, and strings go through the standard library's C string encoder; the layout,
    the number forms and the order of keys are json's own (a property test compares them).
    """
    return _indented(value, "\n" + "  " * depth)


def _float(value: float) -> str:
    """A float as json writes it (`allow_nan=True`: NaN and the infinities as JavaScript names)."""
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


_INF = float("inf")


def _indented(value: object, newline: str) -> str:
    """One JSON value whose lines after the first start with `newline` (json.encoder's _iterencode order)."""
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    inner = newline + "  "
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join([_indented(v, inner) for v in value]) + newline + "]"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if not value:
            return "{}"
        items = [_encode_str(k) + ": " + _indented(v, inner) for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    # Keys that are not strings, or values json converts itself: json's own encoder, indented.
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", newline)


_STYLE = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def full(diagnostics: Iterable[Diagnostic], sources: Mapping[str, Lines], *, color: bool, width: int = 80) -> str:
    """A header, the location, the source line with a caret, and help; wrapped to `width`.

    Only the severity and the caret are coloured (and the gutter, blue): the source line keeps the
    terminal's default colour, and it is never wrapped, so the caret stays under the problem.
    """
    from meshc.display import Text, render, wrap

    lines: list[Text] = []
    for d in diagnostics:
        s = d.span
        style = _STYLE[d.severity]
        gutter = len(str(s.line))
        pad = " " * gutter
        head = Text(f"{d.severity.label}[{d.code}]", style).append(f" {d.name}: ", "heading")
        head.append(d.message, "heading")
        lines.extend(wrap(head, width, rest="  "))
        loc = Text(f"{s.path}:{s.line}:{s.column}")
        if d.resource is not None:
            loc.append("  ").append(f"({d.resource})", "note", keep=True)
        arrow = Text(f"{pad}--> ", "gutter")
        lines.extend(wrap(loc, width, arrow, pad + "    "))
        src = sources.get(s.path)
        line_text = src.line_text(s.line) if src is not None else ""
        if line_text:
            lines.append(Text(f"{pad} |", "gutter"))
            lines.append(Text(f"{s.line} | ", "gutter").append(line_text.expandtabs(1)))
            width_ = 1
            if s.end_line == s.line and s.end_column and s.end_column > s.column:
                width_ = s.end_column - s.column
            # The caret goes under the escaped source: a control character before it takes more columns.
            before = len(Text(line_text.expandtabs(1)[: s.column - 1]))
            lines.append(Text(f"{pad} | ", "gutter").append(" " * before).append("^" * width_, style))
        if d.help:
            h = Text(f"{pad} = ", "gutter").append("help: ", "heading")
            lines.extend(wrap(d.help, width, h, pad + "         "))
        for rel in d.related:
            r = Text(f"{pad} = ", "gutter").append("note: ", "heading")
            where = f"{rel.message} ({rel.span.path}:{rel.span.line}:{rel.span.column})"
            lines.extend(wrap(where, width, r, pad + "         "))
        lines.append(Text())
    return render(lines, color=color)


def _escape_data(value: str) -> str:
    r"""A workflow command's message: control characters shown as escapes (`\x1b`), then `%`, CR, LF encoded.

    The encoding is the runner's (actions/toolkit `escapeData`); CR and LF are already escapes by
    then, so a message is one line whatever the YAML held.
    """
    from meshc.display import escape

    return escape(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    """A workflow command's property value: as data, and `:` and `,` encoded (actions/toolkit `escapeProperty`)."""
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands (`::error file=...,line=...::message`)."""
    out = []
    for d in diagnostics:
        s = d.span
        props = [f"file={_escape_property(s.path)}", f"line={s.line}", f"col={s.column}"]
        if s.end_line is not None and s.end_column is not None:
            props += [f"endLine={s.end_line}", f"endColumn={s.end_column}"]
        props.append(f"title={_escape_property(f'meshc {d.code} ({d.name})')}")
        message = d.message + (f" (help: {d.help})" if d.help else "")
        out.append(f"::{_GITHUB_LEVEL[d.severity]} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    from urllib.parse import quote

    if path == "<stdin>":
        return "stdin"
    return quote(path.replace("\\", "/"), safe="/:._-~")


def sarif(diagnostics: list[Diagnostic], rules: Iterable[Rule]) -> str:
    """SARIF 2.1.0: one run, every rule described, one result per diagnostic."""
    rule_list = sorted(rules, key=lambda r: r.code)
    index = {r.code: i for i, r in enumerate(rule_list)}
    driver = {
        "name": "meshc",
        "version": __version__,
        "informationUri": DOCS_URL,
        "rules": [
            {
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.doc or r.summary},
                "help": {"text": r.doc or r.summary, "markdown": r.doc or r.summary},
                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                "properties": {"istio_code": r.istio_code} if r.istio_code else {},
            }
            for r in rule_list
        ],
    }
    results = []
    for d in diagnostics:
        s = d.span
        region: dict[str, int] = {"startLine": s.line, "startColumn": s.column}
        if s.end_line is not None and s.end_column is not None:
            region["endLine"] = s.end_line
            region["endColumn"] = s.end_column
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" (help: {d.help})" if d.help else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(s.path)}, "region": region}}],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "message": {"text": rel.message},
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(rel.span.path)},
                        "region": {"startLine": rel.span.line, "startColumn": rel.span.column},
                    },
                }
                for i, rel in enumerate(d.related)
            ]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}],
    }
    return indented_json(doc) + "\n"


_XML_INVALID = lazy("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 cannot hold: the complement of its `Char` production, written as such (`re` compiles a
negated class reaching U+10FFFF 13 times slower, at every start)."""


def xml_text(value: str) -> str:
    """`value` with the characters XML 1.0 cannot hold, even escaped (controls, surrogates), as Python escapes."""
    return _XML_INVALID.sub(lambda m: repr(m.group())[1:-1], value)


def junit(diagnostics: list[Diagnostic], files: Iterable[str]) -> str:
    """JUnit XML: a test suite per file, a failing test case per diagnostic, a passing one per clean file."""
    import xml.etree.ElementTree as ET  # only this format needs it; keeps start-up short

    by_file: dict[str, list[Diagnostic]] = {f: [] for f in files}
    for d in diagnostics:
        by_file.setdefault(d.span.path, []).append(d)
    root = ET.Element("testsuites", name="meshc", tests="0", failures="0")
    total = failures = 0
    for path in sorted(by_file):
        diags = by_file[path]
        suite = ET.SubElement(root, "testsuite", name=xml_text(path))
        if not diags:
            ET.SubElement(suite, "testcase", name="meshc lint", classname=xml_text(path))
            total += 1
            suite.set("tests", "1")
            suite.set("failures", "0")
            continue
        for d in diags:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{d.code} {d.name} at {d.span.line}:{d.span.column}",
                classname=xml_text(path),
            )
            fail = ET.SubElement(case, "failure", message=xml_text(d.message), type=d.severity.label)
            body = f"{path}:{d.span.line}:{d.span.column}: {d.code} [{d.severity.label}] {d.message}"
            if d.help:
                body += f"\nhelp: {d.help}"
            fail.text = xml_text(body)
        total += len(diags)
        failures += len(diags)
        suite.set("tests", str(len(diags)))
        suite.set("failures", str(len(diags)))
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
