"""The loader: both parsers agree, positions are exact, bad input never raises."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc import source
from meshc.source import SourceFile, load, parse_text, resolve_plain
from tests.yaml_writer import documents


def _parse(text: str) -> list[source.Document]:
    docs, errors = parse_text(SourceFile("t.yaml", text))
    assert not errors, errors
    return docs


def _both(text: str) -> tuple[Any, Any]:
    """Parse one document with the fast parser (None if it declines) and with libyaml."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    fast = source._Fast(lines, 1)
    try:
        froot, _, _ = fast.parse()
        fast_result: Any = (froot, fast.pos)
    except source._Bail:
        fast_result = None
    docs = list(source._ref_parse(text, 1))
    c_result = (docs[0][0], docs[0][1]) if docs else (None, {})
    return fast_result, c_result


def _positions(root: Any, pos: dict[int, Any]) -> list[tuple[Any, ...]]:
    """Flatten a position table into (path, entry) pairs so two parses can be compared."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        table = pos.get(id(node))
        if table is None:
            continue
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for k in keys:
            kl, kc, _klen, vl, vc, _vlen = table[k]
            out.append(((*path, k), kl, kc, vl, vc))
            stack.append((node[k], (*path, k)))
    return sorted(out, key=repr)


def _nan_safe(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, dict):
        return {k: _nan_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_safe(v) for v in x]
    return x


# --- scalar resolution ---------------------------------------------------------------------------


# Each value is what Kubernetes makes of the plain scalar: go-yaml v2's `resolve` (go.yaml.in/yaml/v2
# v2.4.2 resolve.go, the parser behind sigs.k8s.io/yaml), read from its source: the resolveMap table,
# then Go's strconv.ParseInt(s, 0, 64) with `_` removed, ParseUint, then yamlStyleFloat.
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("on", True),  # YAML 1.1 booleans: `on`, `yes`, `y` are true for kubectl (YAML 1.2 would say strings)
        ("y", True),
        ("N", False),
        ("Off", False),
        ("~", None),
        ("null", None),
        ("42", 42),
        ("-17", -17),
        ("+12", 12),
        ("0x1F", 31),
        ("0X1f", 31),
        ("-0x10", -16),
        ("0o17", 15),  # Go's 0o prefix (PyYAML's YAML 1.1 resolver keeps it a string)
        ("0O17", 15),
        ("017", 15),  # a leading zero is octal
        ("0b101", 5),
        ("1_000", 1000),  # go-yaml removes every `_` first
        ("08", 8.0),  # not octal, not an int: yamlStyleFloat reads it
        ("9223372036854775808", 9223372036854775808),  # ParseUint
        ("18446744073709551616", 1.8446744073709552e19),  # too large for uint64: a float
        ("1.5", 1.5),
        ("1.", 1.0),
        ("+.5", 0.5),
        ("1e3", 1000.0),  # YAML 1.2-style float (PyYAML's 1.1 resolver keeps it a string)
        ("1e400", "1e400"),  # ParseFloat's range error: the text stays
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        (".5_5", 0.55),
        ("._5", "._5"),
        ("1:20", "1:20"),  # go-yaml has no base-60 numbers (PyYAML reads 80)
        ("190:20:30", "190:20:30"),
        ("2001-12-14", "2001-12-14"),  # timestamps stay strings (go-yaml v2 into interface{})
        ("0x", "0x"),
        ("-", "-"),
        ("5s", "5s"),
        ("v1", "v1"),
    ],
)
def test_plain_scalars_resolve_as_kubernetes_reads_them(text: str, value: Any) -> None:
    got = resolve_plain(text)
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("on", "true"),
        ("y", "true"),
        ("no", "false"),
        ("1", "1"),
        ("0x10", "16"),
        ("1.5", "1.5"),
        ("1e6", "1e+06"),  # Go's %g switches to an exponent at 1e6
        ("123456", "123456"),
        ("0.1", "0.1"),  # float32 precision: the shortest text that reads back the same
        ("~", None),
        ("name", "name"),
    ],
)
def test_keys_become_the_json_text_kubernetes_writes(key: str, text: Any) -> None:
    """sigs.k8s.io/yaml turns non-string keys into strings (yaml.go, convertToJSONableObject)."""
    [doc] = _parse(f"{key}: v\nz: [{{{key}: w}}]\n")
    assert doc.data == {text: "v", "z": [{text: "w"}]}
    assert doc.origin.fast
    [ref] = _parse(f"{key}: &a v\n")  # an anchor: the reference parser reads it
    assert ref.data == {text: "v"} and not ref.origin.fast


# --- agreement between the two parsers -------------------------------------------------------------


def test_fast_parser_handles_the_generated_bench_corpus_and_agrees_with_libyaml() -> None:
    from bench.generate import generate

    text = generate(20, deployments=True)
    chunks = list(source._chunks(text))
    assert len(chunks) == 100
    for start, end, _line in chunks:
        fast, c = _both(text[start:end])
        assert fast is not None, "the fast parser must handle plain Kubernetes YAML"
        assert fast[0] == c[0]
        assert _positions(*fast) == _positions(*c)


def test_corpus_files_parse_the_same_with_both_parsers(corpus: Path) -> None:
    files = sorted(corpus.rglob("*.yaml"))
    assert len(files) > 150
    fast_used = 0
    for path in files:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        for start, end, line in source._chunks(text):
            chunk = text[start:end]
            lines = chunk.split("\n")
            if lines[-1] == "":
                lines.pop()
            fast = source._Fast(lines, line)
            try:
                froot, _, _ = fast.parse()
            except source._Bail:
                continue
            docs = list(source._ref_parse(chunk, line))
            croot = docs[0][0] if docs else None
            assert _nan_safe(froot) == _nan_safe(croot), f"{path}:{line}"
            if froot is not None:
                assert _positions(froot, fast.pos) == _positions(croot, docs[0][1]), f"{path}:{line}"
                fast_used += 1
    assert fast_used > 500


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(blob: bytes) -> None:
    result = load(["-"], stdin=blob)
    for span, message, _help in result.errors:
        assert span.line >= 1 and span.column >= 1
        assert message


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_yaml_never_raises(data: st.DataObject) -> None:
    from bench.generate import generate

    text = generate(1)
    pos = data.draw(st.integers(min_value=0, max_value=len(text)))
    junk = data.draw(st.text(alphabet=" \t\n:-#[]{}'\"&*!|>%@`?,.x0\\", max_size=6))
    cut = data.draw(st.integers(min_value=0, max_value=5))
    mutated = text[:pos] + junk + text[pos + cut :]
    result = load(["-"], stdin=mutated.encode())
    assert result.documents or result.errors or not mutated.strip()


# --- positions -------------------------------------------------------------------------------------

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews, "ratings"]
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
      weight: 100
"""


@pytest.mark.parametrize("force_c", [False, True])
def test_every_key_and_value_has_its_exact_position(force_c: bool) -> None:
    text = VS if not force_c else VS.replace("kind: VirtualService", "kind: &k VirtualService")
    [doc] = _parse(text)
    span = doc.span(("spec", "http", 0, "route", 0, "destination", "subset"))
    assert (span.line, span.column, span.end_line, span.end_column) == (15, 17, 15, 19)
    key = doc.span(("spec", "http", 0, "route", 0, "destination", "subset"), key=True)
    assert (key.line, key.column, key.end_column) == (15, 9, 15)
    flow = doc.span(("spec", "hosts", 1))
    assert (flow.line, flow.column, flow.end_column) == (6, 20, 29)
    item = doc.span(("spec", "http", 0, "match", 0))
    assert (item.line, item.column) == (9, 7)
    assert doc.span(("spec", "http", 0, "route", 0, "weight")).line == 16


def test_missing_field_points_at_the_deepest_existing_parent() -> None:
    [doc] = _parse(VS)
    span = doc.span(("spec", "http", 0, "route", 0, "destination", "port", "number"))
    assert (span.line, span.column) == (13, 7)


@pytest.mark.parametrize("force_c", [False, True])
def test_positions_outlive_the_data_and_the_reparse_cache(force_c: bool) -> None:
    """Positions are parsed again on demand (they are not kept).

    After the data is dropped, and for more documents than the cache holds, in any order, each
    span is the one the first parse saw.
    """
    n = source.REPARSED_PIECES * 2 + 3
    text = "".join(VS.replace("name: reviews", f"name: r{i}") + "---\n" for i in range(n))
    if force_c:  # one anchor anywhere: libyaml reads the whole file as one piece
        text = text.replace("kind: VirtualService", "kind: &k VirtualService", 1)
    docs = _parse(text)
    assert len(docs) == n
    expected = [d.span(("metadata", "name")) for d in docs]
    assert [e.line for e in expected] == [4 + 17 * i for i in range(n)]
    for d in docs:
        d.data = None
    order = [*range(n - 1, -1, -1), *range(0, n, 7)]  # backwards (every lookup misses), then strided
    for i in order:
        assert docs[i].span(("metadata", "name")) == expected[i]
        assert docs[i].span(("spec", "hosts", 1)).column == 20


def test_list_items_and_a_syntax_error_keep_their_positions() -> None:
    """A `kind: List` item is found under its path in the parsed List.

    The documents libyaml read before a syntax error keep their positions.
    """
    text = "kind: List\nitems:\n- a: 1\n- b:\n    c: &x 2\n---\nd: 3\n---\ne: [\n"
    docs, errors = parse_text(SourceFile("l.yaml", text))
    assert len(errors) == 1 and [d.data for d in docs][1] == {"d": 3}
    item = source.Document(docs[0].source, 0, None, 1, docs[0].origin, base=("items", 1))
    assert (item.span(("b", "c")).line, item.span(("b", "c")).column) == (5, 8)
    assert docs[1].span(("d",)).line == 7


# --- odd but valid input ---------------------------------------------------------------------------


def test_bom_crlf_tabs_empty_and_null_documents() -> None:
    raw = "\ufeffa: 1\r\nb:\t2\r\n---\r\n---\r\n~\r\n--- \r\n# only a comment\r\n---\r\nc: [1,\r\n  2]\r\n"
    result = load(["-"], stdin=raw.encode("utf-8"))
    assert not result.errors
    assert [d.data for d in result.documents] == [{"a": 1, "b": 2}, {"c": [1, 2]}]
    assert [d.line for d in result.documents] == [1, 9]


def test_utf16_with_bom_is_read() -> None:
    result = load(["-"], stdin="kind: Service\n".encode("utf-16"))
    assert [d.data for d in result.documents] == [{"kind": "Service"}]


def test_top_level_scalars_and_lists_are_documents_not_errors() -> None:
    result = load(["-"], stdin=b"hello\n---\n- a\n- b\n")
    assert not result.errors
    assert [d.data for d in result.documents] == ["hello", ["a", "b"]]


def test_block_scalars_match_libyaml() -> None:
    text = "a: |\n  one\n  two\n\nb: >-\n  folded\n  text\n\n  para\nc: |+\n  keep\n\nd: x\n"
    fast, c = _both(text)
    assert fast is not None
    assert fast[0] == c[0] == yaml.safe_load(text)


# --- errors ----------------------------------------------------------------------------------------


def test_syntax_error_has_line_and_column_and_other_documents_still_load() -> None:
    text = "a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n"
    docs, errors = parse_text(SourceFile("f.yaml", text))
    assert [d.data for d in docs] == [{"a": 1}, {"d": 4}]
    [err] = errors
    assert err.message.startswith("YAML syntax error")
    assert (err.line, err.column) == (4, 2)


def test_non_utf8_file_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: caf\xe9\n")
    good = tmp_path / "good.yaml"
    good.write_text("c: 1\n")
    result = load([str(tmp_path)])
    [(span, message, help_text)] = result.errors
    assert (span.path, span.line, span.column) == (str(bad), 2, 7)
    assert "not valid UTF-8" in message and help_text
    assert [d.data for d in result.documents] == [{"c": 1}]


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    [doc] = _parse("spec:\n  host: a\n  subsets: []\n  host: b\n")
    assert doc.data == {"spec": {"host": "b", "subsets": []}}
    [(loc, err)] = doc.problems
    assert loc == ("spec", "host")
    assert (err.line, err.column) == (4, 3)
    assert "first defined on line 2" in err.message


def test_billion_laughs_fails_fast_with_a_clear_message() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.process_time()  # CPU time: other processes on the machine do not count
    docs, errors = parse_text(SourceFile("bomb.yaml", "\n".join(lines) + "\n"))
    elapsed = time.process_time() - start
    assert not docs
    [err] = errors
    assert err.message == "aliases repeat 141,148 nodes; meshc expands at most 100,000 in one document"
    assert "YAML bomb" in (err.help or "")
    assert elapsed < 2.0, "the bomb must be refused without expanding it"


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_nesting_is_refused_not_a_crash(depth: int) -> None:
    docs, errors = parse_text(SourceFile("deep.yaml", "[" * depth + "]" * depth + "\n"))
    assert not docs
    [err] = errors
    assert "nests deeper" in err.message


def test_load_never_writes_its_inputs(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\n")
    before = (f.stat().st_mtime_ns, f.read_bytes())
    load([str(tmp_path)])
    assert (f.stat().st_mtime_ns, f.read_bytes()) == before


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab1:?#,-'\" []{}", min_size=1, max_size=14))
def test_flow_collections_parse_the_same_or_the_fast_parser_declines(body: str) -> None:
    """Wherever the fast parser answers for a one-line flow value, libyaml gives the same data."""
    for opener, closer in (("[", "]"), ("{", "}")):
        text = f"k: {opener}{body}{closer}\n"
        fast = source._Fast([text.rstrip("\n")], 1)
        try:
            froot, _, _ = fast.parse()
        except source._Bail:
            continue
        try:
            docs = list(source._ref_parse(text, 1))
        except source.LoadError as exc:
            raise AssertionError(f"fast parser accepted {text!r}, libyaml rejects it: {exc.message}") from None
        assert docs[0][0] == froot, text


@pytest.mark.parametrize("name", ["x" * 5000, "a/" + "b" * 300 + "/c"])
def test_a_path_the_file_system_cannot_look_up_is_an_error_not_a_crash(name: str) -> None:
    """Found by the long fuzz profile (a `config:` path in a test file): `Path.is_dir` raised ENAMETOOLONG."""
    result = load([name])
    assert not result.documents
    [(span, message, _)] = result.errors
    assert span.path == name and ("no such file or folder" in message or "cannot read" in message), message


def test_the_one_scan_for_special_characters_finds_exactly_what_the_two_checks_find() -> None:
    """parse_text scans the text once (`_SPECIAL`); the precise checks run only when it finds something."""
    edges = [0x00, 0x08, 0x09, 0x0A, 0x0B, 0x0D, 0x1F, 0x20, 0x7E, 0x7F, 0x84, 0x85, 0x86, 0x9F, 0xA0, 0xE9,
             0x2027, 0x2028, 0x2029, 0x202A, 0xD7FF, 0xE000, 0xFEFE, 0xFEFF, 0xFF00, 0xFFFD, 0xFFFE, 0xFFFF,
             0x10000, 0x1F600, 0x10FFFF]  # fmt: skip
    for code in edges:
        ch = chr(code)
        either = source._WHOLE.match(ch) is not None or source._NON_PRINTABLE.match(ch) is not None
        assert (source._SPECIAL.match(ch) is not None) == either, hex(code)


def test_ascii_text_is_scanned_for_exactly_the_ascii_characters_of_the_one_scan() -> None:
    """Proves: `_SPECIAL_ASCII`, which parse_text scans ASCII text with, holds the ASCII characters of `_SPECIAL`."""
    ascii_chars = "".join(map(chr, range(0x80)))
    assert source._SPECIAL_ASCII.findall(ascii_chars) == source._SPECIAL.findall(ascii_chars)


def test_the_character_classes_are_the_complements_of_the_printable_sets_they_stand_for() -> None:
    """Proves: written as complements (fast to compile), the classes hold exactly what the sets leave out.

    The printable sets of YAML (`_NON_PRINTABLE`), of YAML plus its whole-file triggers (`_SPECIAL`)
    and of XML 1.0 (`render._XML_INVALID`), compared over every code point.
    """
    import re

    from meshc import render

    every = "".join(map(chr, range(0x110000)))
    yaml_printable = "\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff"
    cases = [
        (source._NON_PRINTABLE, f"[^{yaml_printable}]"),
        (source._SPECIAL, "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"),
        (render._XML_INVALID, "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"),
    ]
    for fast, negated in cases:
        assert fast.findall(every) == re.findall(negated, every), fast.pattern


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab\n ", max_size=60),
    st.integers(min_value=1, max_value=12),
    st.lists(st.integers(min_value=-2, max_value=40), max_size=30),
)
def test_line_text_is_the_line_of_the_split_text(text: str, block: int, asked: list[int]) -> None:
    """Proves: lines looked up by blocks of whole lines (any block size, any order) are those of a split at LF."""
    lines = text.split("\n")
    with mock.patch.object(source, "LINE_BLOCK", block), mock.patch.object(source, "LINE_BLOCKS_KEPT", 2):
        src = SourceFile("t.yaml", text)
        for line in [*asked, *range(len(lines) + 2)]:
            assert src.line_text(line) == (lines[line - 1] if 1 <= line <= len(lines) else "")


@settings(max_examples=150, deadline=None)
@given(documents())
def test_the_fast_parser_reads_the_same_data_without_positions(text: str) -> None:
    """Proves: loading (positions off) and finding positions (on) read the same data, and decline the same input."""
    readings = []
    for positions in (True, False):
        parser = source._fast_parser(text, 1, positions=positions)
        try:
            readings.append(parser.parse())
        except source._Bail:
            readings.append(None)
    assert repr(readings[0]) == repr(readings[1])  # repr: NaN equals itself, and key order counts


def test_each_document_is_handed_over_before_the_next_is_parsed(tmp_path: Path) -> None:
    """Proves: `load(each=...)` streams: a document reaches `each` before the next one is parsed, in input order."""
    docs = [f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\n" for i in range(5)]
    broken = "kind: [\n"  # a syntax error in the middle: it stops only its own document
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join([*docs[:2], broken, *docs[2:]]))
    parses: list[int] = []
    seen: list[tuple[str, int]] = []
    real = source._Fast.parse

    def counting(parser: source._Fast) -> Any:
        parses.append(parser.line_no)
        return real(parser)

    with mock.patch.object(source._Fast, "parse", counting):
        result = load([str(path)], each=lambda doc: seen.append((doc.data["metadata"]["name"], len(parses))))
    assert seen == [(f"s{i}", i + 1 + (i >= 2)) for i in range(5)]
    assert [d.index for d in result.documents] == list(range(5))
    assert len(result.errors) == 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-._eExXoObB:aY~n", min_size=1, max_size=12))
def test_a_remembered_plain_scalar_resolves_as_when_first_seen(text: str) -> None:
    """Proves: the values `resolve_plain` remembers are the ones go-yaml's resolution gives, and keep their type."""
    first, again = resolve_plain(text), resolve_plain(text)
    expected = source._resolve_plain(text)
    assert repr(first) == repr(again) == repr(expected)  # repr: NaN, and 1 vs 1.0 vs True
    assert type(first) is type(again) is type(expected)


def test_a_line_repeated_across_documents_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_Fast.parse` reads what a line says by itself once per text, however many documents repeat it."""
    calls: list[str] = []
    read_line = source._read_line

    def counted(raw: str) -> Any:
        calls.append(raw)
        return read_line(raw)

    monkeypatch.setattr(source, "_read_line", counted)
    monkeypatch.setattr(source, "_LINES_READ", {})
    doc = "kind: Service\nspec:\n  ports:\n  - port: 80\n    name: http  # web\n\n# note\n"
    long_line = "x: " + "a" * source.LINE_READ_LENGTH
    docs = _parse("---\n".join([doc + long_line + "\n"] * 50))
    assert len(docs) == 50
    assert all(
        d.data
        == {"kind": "Service", "spec": {"ports": [{"port": 80, "name": "http"}]}, "x": "a" * source.LINE_READ_LENGTH}
        for d in docs
    )
    # Seven distinct short lines (the blank one included), and the long one each time: it is not kept.
    assert sorted(set(calls)) == sorted({*doc.split("\n")[:-1], long_line})
    assert calls.count(long_line) == 50
    assert len(calls) == 7 + 50


def test_the_lines_read_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The readings kept never pass `LINES_READ_KEPT`: past it, they start again."""
    monkeypatch.setattr(source, "_LINES_READ", {})
    monkeypatch.setattr(source, "LINES_READ_KEPT", 10)
    docs = _parse("".join(f"key{i}: value{i}\n" for i in range(25)))
    assert docs[0].data == {f"key{i}": f"value{i}" for i in range(25)}
    assert 0 < len(source._LINES_READ) <= 10
