"""A finding's place is found by walking the document's text exactly where the parse with positions finds it.

`Document.span` first asks `source._walk`, which reads only the lines on a field path of a document
the fast parser read, and falls back to parsing the document again with positions (`_follow` over
`SourceFile.reparse`) when the walker declines. These tests hold the walker to that parse for every
path of every document the suite and the shared corpus hold, and of generated block YAML: every
existing field (its key and its value), and paths that lead past what is there (a missing key, an
index past the end, an index into a mapping, a field of a scalar). They also check that the walker
answers the common cases instead of declining, and that a lint of block YAML parses nothing again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc import source
from meshc.source import SourceFile, parse_text
from tests.yaml_writer import Writer, data, keys

ROOT = Path(__file__).resolve().parents[1]


def _probes(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a node, and paths just past each: a missing key or index, the wrong kind of part."""
    yield path
    if isinstance(node, dict):
        yield (*path, "zz-not-a-key")
        yield (*path, 0)
        for k, v in node.items():
            yield from _probes(v, (*path, k))
    elif isinstance(node, list):
        yield (*path, len(node))
        yield (*path, 10**6)
        yield (*path, "name")
        for i, v in enumerate(node):
            yield from _probes(v, (*path, i))
    else:
        yield (*path, "name")
        yield (*path, 0)


PROBES_PER_DOCUMENT = 400
"""Probes of one document in the default run: a large one (a 50 KB test table) gets every n-th of its
paths, as each walk reads the document's text again; the slow profile probes every path."""


def _compare(text: str, every: bool = False) -> tuple[int, int]:
    """Walk the probes of every fast-parsed document of `text`; (probes, answered). Fails on a difference."""
    src = SourceFile("t.yaml", text)
    docs, _ = parse_text(src)
    probes = answered = 0
    for doc in docs:
        if not doc.origin.fast:
            continue
        node, positions = src.reparse(doc.origin)
        paths = list(_probes(node))
        stride = 1 if every else -(-len(paths) // PROBES_PER_DOCUMENT)
        for path in paths[::stride]:
            if None in path:
                continue  # a `null:` or `~:` key: no field of a resource has it (the walker declines)
            for key in (False, True):
                probes += 1
                walked = source._walk(text, doc.origin, path, key)
                if walked is None:
                    continue
                answered += 1
                want = source._follow(node, positions, path, key, None)
                assert walked == want, f"path {path} (key={key}): walker {walked}, parse {want}\n{text}"
    return probes, answered


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def _compare_files(files: list[Path], every: bool = False) -> tuple[int, int]:
    probes = answered = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError:
            continue  # the loader refuses it (tests of bad encodings)
        p, a = _compare(text, every)
        probes += p
        answered += a
    return probes, answered


def test_the_walker_finds_every_place_of_the_examples_as_the_parse_does() -> None:
    probes, answered = _compare_files(_files(ROOT / "examples"))
    assert probes > 2000
    # The examples are manifests as people write them: the walker must answer them, not decline.
    assert answered > 0.9 * probes, f"the walker answered {answered} of {probes} probes"


def test_the_walker_finds_every_place_of_the_test_cases_as_the_parse_does() -> None:
    probes, answered = _compare_files(_files(ROOT / "tests" / "cases"))
    assert answered > 0.9 * probes, f"the walker answered {answered} of {probes} probes"


def test_the_walker_finds_every_place_of_the_shared_corpus_as_the_parse_does(corpus: Path) -> None:
    probes, answered = _compare_files(_files(corpus))
    assert answered > 0.9 * probes, f"the walker answered {answered} of {probes} probes"


@pytest.mark.slow
def test_long_profile_the_walker_finds_every_place_of_every_document(corpus: Path) -> None:
    """Every path of every document, however large (the default run samples the large ones)."""
    for root in (ROOT / "examples", ROOT / "tests" / "cases", corpus):
        probes, answered = _compare_files(_files(root), every=True)
        assert answered > 0.9 * probes, f"the walker answered {answered} of {probes} probes in {root}"


class _BlockWriter(Writer):
    """The test writer without anchors and aliases, so that most documents are the fast parser's."""

    def anchor(self, value: Any) -> str:
        return ""

    def alias(self) -> str | None:
        return None


_ODD_LINES = ["", "   ", "# a comment", "      # deeper comment", "  \t  ", "#"]


@st.composite
def block_documents(draw: st.DrawFn) -> str:
    """One or two documents of block YAML in random styles, with comments and blank lines between any lines."""
    out: list[str] = []
    for i in range(draw(st.integers(min_value=1, max_value=2))):
        writer = _BlockWriter(draw)
        lines: list[str] = []
        if i or draw(st.booleans()):
            lines.append("---" + draw(st.sampled_from(["", " # doc"])))
        indent = draw(st.sampled_from([0, 0, 2]))
        if draw(st.floats(0, 1)) < 0.2:
            writer.sequence(draw(st.lists(data, min_size=1, max_size=4)), indent, lines)
        else:
            writer.mapping(draw(st.dictionaries(keys, data, min_size=1, max_size=5)), indent, lines)
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            lines.insert(draw(st.integers(min_value=1, max_value=len(lines))), draw(st.sampled_from(_ODD_LINES)))
        out.extend(lines)
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\n\n# end\n"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(block_documents())
def test_the_walker_finds_every_place_of_generated_block_yaml_as_the_parse_does(text: str) -> None:
    _compare(text)


def test_the_walker_reads_every_style_of_block_yaml() -> None:
    """One document with each construct the walker reads (and one it declines), probed exhaustively."""
    text = (
        "---  # start\n"
        "# comment\n"
        "apiVersion: v1\n"
        "'quoted': 1\n"
        '"dq key" :  2  # trailing\n'
        "1: one\n"
        "yes: resolved\n"
        "~: null key\n"
        "empty:\n"
        "empty2:   # comment\n"
        "compact:\n"
        "- a\n"
        "-\n"
        "- # empty item\n"
        "-\n"
        "  nested: map\n"
        "- key: v\n"
        "  other: w\n"
        "  deeper:\n"
        "    - 1\n"
        "- 'q': 1\n"
        '- "str"\n'
        "- [a, {b: c}]\n"
        "- {k: v, l: [1, 2]}\n"
        "block: |\n"
        "  not: a key\n"
        "  - not an item\n"
        "  # not a comment\n"
        "\n"
        "folded: >-\n"
        "   text\n"
        "flow: {a: [1, 2], b: {c: d}}\n"
        "indented:\n"
        "    - a\n"
        "    -   b\n"
        "    - c: d\n"
        "      e: f\n"
        "spaced   :   value\n"
        "last: -5\n"
    )
    probes, answered = _compare(text, every=True)
    assert answered == probes, f"the walker declined {probes - answered} of {probes} probes"


def test_a_lint_of_block_yaml_parses_no_document_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The places of every finding of block YAML come from the walker, not from a second parse."""
    from meshc.config import Options
    from meshc.lint import lint

    def refuse(self: SourceFile, origin: source.Origin) -> Any:
        raise AssertionError(f"{self.path} was parsed again for a position")

    monkeypatch.setattr(SourceFile, "reparse", refuse)
    monkeypatch.setattr(source, "WALKED_SPANS", 10**6)  # however many spans a document is asked for
    broken = ROOT / "examples" / "broken"
    report = lint([str(broken / "virtual-service.yaml"), str(broken / "references.yaml")], Options())
    assert len(report.diagnostics) > 5, "examples/broken has findings"
    assert all(d.span.line > 1 and d.span.column > 1 for d in report.diagnostics)


def test_a_document_asked_for_many_spans_is_parsed_again_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `WALKED_SPANS` look-ups a document is parsed once with positions, and answers the same."""
    text = "kind: VirtualService\nspec:\n  http:\n" + "".join(f"  - name: r{i}\n    timeout: {i}s\n" for i in range(20))
    paths = [("spec", "http", i, "timeout") for i in range(20)]
    walked = [source._walk(text, parse_text(SourceFile("t.yaml", text))[0][0].origin, p, False) for p in paths]
    calls: list[int] = []
    parse_piece = source._parse_piece

    def counted(chunk: str, first_line: int, fast: bool) -> Any:
        calls.append(first_line)
        return parse_piece(chunk, first_line, fast)

    monkeypatch.setattr(source, "_parse_piece", counted)
    doc = parse_text(SourceFile("t.yaml", text))[0][0]
    spans = [doc.span(p) for p in paths]
    assert len(calls) == 1
    assert [(s.line, s.column, s.end_line, s.end_column) for s in spans] == walked
