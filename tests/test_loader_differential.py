"""The loader reads YAML as the reference parser does, with or without PyYAML's C extension.

Three readings of the same text are compared, data and positions of every key and value:

* the loader (`meshc.source.parse_text`): its fast line parser, or the reference parser driven by
  its own builder;
* an independent reading (tests/loader_oracle.py): PyYAML's composer over libyaml's events;
* both again with meshc's pure-Python parser in place of libyaml (what runs where the C extension
  is missing).

Inputs: generated YAML in the styles real manifests use (tests/yaml_writer.py: flow collections
with `:` inside plain scalars, quoted and plain keys, anchors, aliases and merges, multi-line
scalars, comments), the whole shared corpus, and broken variants of both (the verdicts and error
positions must agree too). The quick profile runs in the default suite; the long one is
`@pytest.mark.slow` (`pytest -m slow tests/test_loader_differential.py -s` prints its figures).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc import source, yamlref
from meshc.source import SourceFile, parse_text
from tests import loader_oracle as oracle
from tests.yaml_writer import documents

ROOT = Path(__file__).resolve().parents[1]
FIGURES: Counter[str] = Counter()


@pytest.fixture
def pure(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The loader with the pure-Python parser, as where PyYAML's C extension is missing."""
    monkeypatch.setattr(yamlref, "_parser_class", yamlref.pure_parser_class())
    yield


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*path, k)
            yield from _paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*path, i)
            yield from _paths(v, (*path, i))


def loader_read(
    text: str, *, pure: bool = False
) -> tuple[list[tuple[Any, oracle.Positions]], list[tuple[int, int, str]]]:
    """What the loader makes of `text`: (data, positions) per document, and its errors' positions."""
    old = yamlref._parser_class
    if pure:
        yamlref._parser_class = yamlref.pure_parser_class()
    try:
        docs, errors = parse_text(SourceFile("t.yaml", text))
        out = []
        for doc in docs:
            positions: oracle.Positions = {}
            for p in _paths(doc.data):
                # A list item has no key: its position is its value's (Document.span with `key`
                # points at the first key of a mapping item, for diagnostics about the whole item).
                value = doc.span(p)
                key = value if isinstance(p[-1], int) else doc.span(p, key=True)
                positions[p] = (key.line, key.column, value.line, value.column)
            FIGURES["fast" if doc.origin.fast else "reference"] += 1
            out.append((doc.data, positions))
    finally:
        yamlref._parser_class = old
    return out, [(e.line, e.column, e.message) for e in errors]


def oracle_read(text: str, *, pure: bool = False) -> tuple[list[tuple[Any, oracle.Positions]], tuple[int, int] | None]:
    try:
        return [(d, p) for d, p in oracle.read(text, pure=pure) if d is not None], None
    except oracle.Failed as exc:
        return [], (exc.line, exc.column)


def check(text: str, *, without_c: bool = True) -> None:
    """The loader agrees with the independent reading of `text`; with `without_c`, also with the pure-Python parser."""
    expected, failed = oracle_read(text)
    if without_c:
        expected_pure, failed_pure = oracle_read(text, pure=True)
        assert failed_pure == failed, f"pure-Python parser and libyaml disagree on where {text!r} is broken"
        assert [oracle.comparable(d) for d, _ in expected_pure] == [oracle.comparable(d) for d, _ in expected]
        assert [p for _, p in expected_pure] == [p for _, p in expected]
    readings = []
    for use_pure in (False, True) if without_c else (False,):
        docs, errors = loader_read(text, pure=use_pure)
        readings.append(errors)
        if failed is None:
            FIGURES["valid"] += 1
            assert not errors, f"the loader rejects {text!r} at {errors}; libyaml reads it"
            assert [oracle.comparable(d) for d, _ in docs] == [oracle.comparable(d) for d, _ in expected], text
            for (_, got), (_, want) in zip(docs, expected, strict=True):
                assert got == want, text
        else:
            FIGURES["broken"] += 1
            assert errors, f"the loader accepts {text!r}; libyaml stops at {failed}"
            line, column, message = errors[0]
            if message.startswith("this looks like an unrendered Helm template"):
                # source._explain: a syntax error in a document that holds a template action is
                # reported at the action, its likely cause (a mutation can write `{{...}}`).
                raw = text.replace("\r\n", "\n").split("\n")[line - 1]
                assert source.TEMPLATE_ACTION.match(raw, column - 1), f"no action at {errors[0]}: {text!r}"
            elif failed != (0, 0):  # (0, 0): a recursive alias, which the composer finds without a position
                assert errors[0][:2] == failed, f"the loader stops at {errors[0]}, libyaml at {failed}: {text!r}"
    if without_c:  # the same errors, in the same words, whichever parser found them
        assert readings[1] == readings[0], text


def _mutate(text: str, data: st.DataObject) -> str:
    pos = data.draw(st.integers(min_value=0, max_value=len(text)))
    junk = data.draw(st.text(alphabet=" \t\n:-#[]{}'\"&*!|>%@`?,.x0\\", max_size=4))
    cut = data.draw(st.integers(min_value=0, max_value=4))
    return text[:pos] + junk + text[pos + cut :]


_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
LONG = settings(max_examples=20_000, deadline=None, suppress_health_check=_SLOW_OK)


@QUICK
@given(documents())
def test_generated_yaml_reads_the_same_everywhere(text: str) -> None:
    check(text)


@QUICK
@given(documents(), st.data())
def test_broken_yaml_is_refused_at_the_same_place_everywhere(text: str, data: st.DataObject) -> None:
    check(_mutate(text, data))


@pytest.mark.slow
@LONG
@given(documents())
def test_long_profile_generated_yaml(text: str) -> None:
    check(text)


@pytest.mark.slow
@LONG
@given(documents(), st.data())
def test_long_profile_broken_yaml(text: str, data: st.DataObject) -> None:
    check(_mutate(text, data))


@pytest.mark.slow
def test_long_profile_figures() -> None:
    """Run last in the slow profile: prints how many inputs each path read (pytest -s)."""
    print(f"\nloader differential figures: {dict(FIGURES)}")


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))


def test_the_whole_corpus_reads_the_same(corpus: Path) -> None:
    """Every corpus file with libyaml; one in eight also without the C extension (all of them: the long profile)."""
    files = _corpus_files(corpus)
    assert len(files) > 150
    reference = 0
    for i, path in enumerate(files):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        check(text, without_c=i % 8 == 0)
        reference += sum(1 for _ in _pieces_for_reference(text))
    assert reference > 0, "some corpus documents need the reference parser (anchors, multi-line flow)"


@pytest.mark.slow
def test_long_profile_the_whole_corpus_without_the_c_extension(corpus: Path) -> None:
    for path in _corpus_files(corpus):
        check(path.read_text(encoding="utf-8").replace("\r\n", "\n"))
        FIGURES["corpus files"] += 1


def _pieces_for_reference(text: str) -> Iterator[int]:
    docs, _ = parse_text(SourceFile("c.yaml", text))
    for doc in docs:
        if not doc.origin.fast:
            yield doc.index


# --- the YAML that issue 15 found refused ----------------------------------------------------------


@pytest.mark.parametrize("use_pure", [False, True], ids=["libyaml", "pure-python"])
def test_colons_inside_flow_collections_are_read_as_kubernetes_reads_them(use_pure: bool) -> None:
    text = (
        "spec:\n"
        "  corsPolicy:\n"
        "    allowOrigins: [{exact: https://example.com}]\n"
        "  containers: [{name: web, image: nginx:1.27}]\n"
        "  hosts: [reviews.default.svc.cluster.local:9080, 'x']\n"
        "  multi: [{exact: https://a.example.com:8443/p?q=1},\n"
        "          {prefix: /api}]\n"
    )
    docs, errors = loader_read(text, pure=use_pure)
    assert errors == []
    [(data, positions)] = docs
    assert data["spec"]["corsPolicy"]["allowOrigins"] == [{"exact": "https://example.com"}]
    assert data["spec"]["containers"] == [{"name": "web", "image": "nginx:1.27"}]
    assert data["spec"]["hosts"] == ["reviews.default.svc.cluster.local:9080", "x"]
    assert data["spec"]["multi"] == [{"exact": "https://a.example.com:8443/p?q=1"}, {"prefix": "/api"}]
    assert positions[("spec", "containers", 0, "image")] == (4, 28, 4, 35)
    assert positions[("spec", "multi", 1, "prefix")] == (7, 12, 7, 20)
    check(text)


def test_one_line_flow_collections_with_colons_stay_on_the_fast_path() -> None:
    [doc] = parse_text(SourceFile("f.yaml", "a: [{exact: https://example.com}]\nb: {image: nginx:1.27}\n"))[0]
    assert doc.origin.fast
    assert doc.data == {"a": [{"exact": "https://example.com"}], "b": {"image": "nginx:1.27"}}


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("a: [x:, y]\n", "YAML syntax error: found unexpected ':' (while scanning a plain scalar)", (1, 6)),
        ("a: {x:}\n", "YAML syntax error: found unexpected ':' (while scanning a plain scalar)", (1, 6)),
    ],
)
@pytest.mark.parametrize("use_pure", [False, True], ids=["libyaml", "pure-python"])
def test_what_libyaml_refuses_in_flow_collections_is_refused(
    text: str, message: str, where: tuple[int, int], use_pure: bool
) -> None:
    old = yamlref._parser_class
    if use_pure:
        yamlref._parser_class = yamlref.pure_parser_class()
    try:
        docs, [err] = parse_text(SourceFile("f.yaml", text))
    finally:
        yamlref._parser_class = old
    assert not docs
    assert (err.message, err.line, err.column) == (message, *where)


_COLLECTION_KEY = "YAML error: a mapping or a list cannot be a mapping key (Kubernetes refuses it)"


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        # Found by the long profile (seed 247138670474075733304353669818019810198): the builder keyed
        # these as the text '{}' or '[]'; go-yaml v2 fails with "invalid map key".
        ("{a: 1, {b: c}: 2}\n", _COLLECTION_KEY, (1, 8)),
        ("? {b: c}\n: 1\n", _COLLECTION_KEY, (1, 3)),
        ("? [x]\n: 1\n", _COLLECTION_KEY, (1, 3)),
        ("a: 1\n[x, y]: 2\n", _COLLECTION_KEY, (2, 1)),
        ("a: &k [x]\nb: {*k : 1}\n", _COLLECTION_KEY, (1, 4)),  # an alias is where its anchor is
        # go-yaml parses the whole document before it decodes: a syntax error further on comes first.
        ("? [x]\n: 1\nb: [\n", "YAML syntax error: did not find expected node content (while parsing a flow node)",
         (4, 1)),
        ("a: {<<: 1}\nb: [\n", "YAML syntax error: did not find expected node content (while parsing a flow node)",
         (3, 1)),
    ],
)  # fmt: skip
@pytest.mark.parametrize("use_pure", [False, True], ids=["libyaml", "pure-python"])
def test_a_collection_as_a_key_is_refused_as_kubernetes_refuses_it(
    text: str, message: str, where: tuple[int, int], use_pure: bool
) -> None:
    docs, errors = loader_read(text, pure=use_pure)
    assert docs == []
    assert errors[0] == (*where, message)
    check(text)


def test_the_reference_parser_is_libyaml_0_2_5_or_later() -> None:
    """ruamel.yaml.clib bundles libyaml 0.1.7, which refuses `:` in flow plain scalars; meshc must not use it."""
    from yaml._yaml import get_version

    assert yamlref.c_available()
    assert get_version() >= (0, 2, 5)
    assert yamlref.parser_class().__module__ == "yaml._yaml"


# --- without the C extension at all ----------------------------------------------------------------

_NO_C = "import sys; sys.modules['yaml._yaml'] = None; from meshc.cli import run; sys.argv[0] = 'meshc'; run()"


def _meshc(args: list[str], *, no_c: bool, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    code = _NO_C if no_c else "import sys; from meshc.cli import run; sys.argv[0] = 'meshc'; run()"
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, input=stdin, cwd=ROOT, env=env, check=False
    )


def test_without_the_c_extension_every_command_gives_the_same_answer(tmp_path: Path, corpus: Path) -> None:
    """Import of `yaml._yaml` blocked: same output, same exit codes, no internal error."""
    f = tmp_path / "vs.yaml"
    f.write_text(
        "apiVersion: networking.istio.io/v1\n"
        "kind: VirtualService\n"
        "metadata: {name: reviews, namespace: default}\n"
        "spec:\n"
        "  hosts: [reviews]\n"
        "  http:\n"
        "  - route: &r\n"
        "    - destination: {host: reviews, subset: v9}\n"
        "    corsPolicy:\n"
        "      allowOrigins: [{exact: https://example.com},\n"
        "                     {exact: http://b.example.com:8080}]\n"
        "  - route: *r\n"
        "---\n"
        "broken: [\n"
    )
    samples = sorted(p for p in (corpus / "istio-samples").rglob("*.yaml"))[:40]
    runs = [
        ["lint", "--no-config", "--format", "json", str(f)],
        ["lint", "--no-config", "--format", "text", *map(str, samples)],
        ["route", "--no-config", str(f), "--host", "reviews"],
    ]
    for args in runs:
        with_c = _meshc(args, no_c=False)
        without = _meshc(args, no_c=True)
        assert b"internal error" not in without.stderr, without.stderr
        assert (without.returncode, without.stdout, without.stderr) == (with_c.returncode, with_c.stdout, with_c.stderr)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['yaml._yaml'] = None; from meshc import yamlref; "
         "cls = yamlref.parser_class(); print(yamlref.c_available(), cls.__name__, "
         "[c.__module__ for c in cls.__mro__[1:4]], cls.events_module.__name__)"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    # ruamel.yaml's pure-Python reader, scanner and parser, with libyaml's rules (meshc/yamlref.py).
    assert probe.stdout == (
        "False _PureParser ['ruamel.yaml.reader', 'ruamel.yaml.scanner', 'ruamel.yaml.parser'] ruamel.yaml.events\n"
    )


def test_pure_parser_is_used_only_for_what_the_fast_parser_hands_off() -> None:
    text = "a: 1\n---\nb: &x 2\nc: *x\n"
    docs, _ = parse_text(SourceFile("t.yaml", text))
    assert [d.origin.fast for d in docs] == [True, False]
    assert source.MAX_ALIAS_TEXT == 1_000_000


@pytest.mark.parametrize("text", [">\n'a': 1\n", " \n> # c\nkey: v\n  x: 1\n", "--- |\nabc\n"])
def test_a_top_level_block_scalar_needs_indented_content(text: str) -> None:
    """Found by the long profile: ruamel.yaml read column-0 lines as a top-level block scalar's content (YAML 1.2)."""
    check(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: !e &a1 [1]\nb: *a1\n",
        "a: !e &a1\n  x: 1\nb: *a1\n",
        "- !e &a1 x\n- *a1\n",
        "null: {'?k': 1,\n !'e: &a1 \"https://example.com\",\n  x: 2}\nname: *a1\n",
    ],
)
def test_a_node_written_tag_then_anchor_starts_at_its_tag(text: str) -> None:
    """Found by the broken-YAML profile: ruamel.yaml started a `!tag &anchor` node at its anchor; libyaml at its tag."""
    check(text)


def test_a_syntax_error_beside_a_template_action_is_reported_at_the_action() -> None:
    """Found by the broken-YAML profile: a mutation wrote `{{"'q'": .nan}}` before an unclosed flow mapping."""
    check("---\n{oP: [{L: [], k#: {{\"'q'\": .nan}}]}")


# --- the non-specific tag `!` ----------------------------------------------------------------------

_ANCHORED = "a: &x {b: 1}\nc:\n  "


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # resolve.go `resolvableTag`: `!` is not resolved, the scalar is its text.
        ("x: ! 1\n", {"x": "1"}),
        ("x: ! true\n", {"x": "true"}),
        ("x: !\n", {"x": ""}),
        ("! : []\n", {"": []}),  # a stored hypothesis example: PyYAML's composer made this key null
        ("x: [! , 1]\n", {"x": ["", 1]}),
        # parserc.go makes a `!` scalar plain-implicit, quoted or not, so decode.go `isMerge` holds.
        (_ANCHORED + "! <<: *x\n", {"a": {"b": 1}, "c": {"b": 1}}),
        (_ANCHORED + '! "<<": *x\n', {"a": {"b": 1}, "c": {"b": 1}}),
        # Not merges: a quoted `<<` without a tag, and `!!str <<`.
        (_ANCHORED + '"<<": *x\n', {"a": {"b": 1}, "c": {"<<": {"b": 1}}}),
        (_ANCHORED + "!!str <<: *x\n", {"a": {"b": 1}, "c": {"<<": {"b": 1}}}),
        ("x: !!str 1\n", {"x": "1"}),
    ],
)
def test_the_non_specific_tag_is_read_as_go_yaml_v2_reads_it(text: str, want: Any) -> None:
    """go-yaml v2 (what sigs.k8s.io/yaml gives Kubernetes) reads `!` unlike PyYAML; loader and oracle follow it."""
    check(text)
    for use_pure in (False, True):
        docs, errors = loader_read(text, pure=use_pure)
        assert not errors
        assert docs[0][0] == want
