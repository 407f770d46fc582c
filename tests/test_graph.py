"""`meshc graph`: goldens, determinism, and validity of the Mermaid and DOT it emits.

Validity is checked three ways:
- a parser of the Mermaid flowchart grammar covering every construct meshc emits (node shapes, quoted
  labels with entity codes and `<br/>`, the three arrows with `|"label"|`, classDef, class,
  linkStyle), which also decodes each label and compares it with the text meshc meant to show;
- the real Mermaid parser (mermaid 11 under node + jsdom) when `npm ci --prefix tests/graph` was run
  (skipped outside CI when absent; CI installs it, so there the test runs or fails);
- a parser of the DOT subset meshc emits, and Graphviz's `dot` (same rule as Mermaid).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from meshc import graph
from meshc.cli import main
from meshc.compile import Scope, compile_mesh
from meshc.config import Options
from meshc.pipeline import load

from .conftest import EXAMPLES, ROOT

GRAPH = ROOT / "tests" / "graph"
INPUTS = {"bookinfo": EXAMPLES / "bookinfo", "labels": GRAPH / "labels.yaml"}


def _graph(path: Path) -> graph.Graph:
    loaded = load([str(path)], Options())
    return graph.build(compile_mesh(loaded.mesh, Scope()))


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


# --- goldens and determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_goldens(
    name: str, fmt: str, golden, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = _cli(["graph", str(INPUTS[name].relative_to(ROOT)), "--format", fmt], capsys)
    golden.check(GRAPH / f"{name}.{'mmd' if fmt == 'mermaid' else 'dot'}", out)
    assert _cli(["graph", str(INPUTS[name].relative_to(ROOT)), "--format", fmt], capsys) == out


def test_mermaid_is_the_default_format(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert _cli(["graph", "examples/bookinfo"], capsys).startswith("flowchart LR\n")


def test_file_layout_does_not_change_the_graph(tmp_path: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((EXAMPLES / "bookinfo").glob("*.yaml"))]
    (tmp_path / "all.yaml").write_text("\n---\n".join(reversed(texts)), encoding="utf-8")
    assert graph.mermaid(_graph(tmp_path)) == graph.mermaid(_graph(EXAMPLES / "bookinfo"))
    assert graph.dot(_graph(tmp_path)) == graph.dot(_graph(EXAMPLES / "bookinfo"))


def test_bookinfo_shows_the_routing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    edges = _mermaid_edges(_cli(["graph", "examples/bookinfo"], capsys))
    assert ("vs_default_reviews", "-->", 'header end-user exact "jason"', "subset_reviews_default_v2") in edges
    assert ("vs_default_reviews", "-->", "other requests", "subset_reviews_default_v1") in edges
    assert ("vs_default_ratings", "-->", "all requests · fault: delay 2s 100%", "subset_ratings_default_v1") in edges
    assert ("gw_default_bookinfo_gateway", "-->", "*:80", "vs_default_bookinfo") in edges
    assert ("vs_default_bookinfo", "-->", 'uri exact "/old-path"', "redirect_redirect_301_new_path") in edges
    assert ("host_reviews_default", "-.-", "", "subset_reviews_default_v2") in edges


def test_labels_survive_escaping(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    edges = _mermaid_edges(_cli(["graph", "tests/graph/labels.yaml"], capsys))
    quirky = next(label for _, _, label, dst in edges if dst.startswith("redirect_"))
    assert quirky == (
        'uri regex "/a\\\\|b/\\"q\\"/<x>/\\\\[1\\\\]\\\\{2\\\\}\\\\(3\\\\)#4;&`t`"'
        ' and header x-user exact "o\\"neil | <admin> #1"'
    )
    nodes = _mermaid_nodes(_cli(["graph", "tests/graph/labels.yaml"], capsys))
    assert nodes["redirect_redirect_308_moved_x_1_y_2"] == ("{{", 'redirect 308 /moved?x="1"&y=<2>')
    assert nodes["subset_api_shop_v9"] == ("(", "api.shop v9 (unknown)")
    dot_edges = _dot(_cli(["graph", "tests/graph/labels.yaml", "--format", "dot"], capsys))[1]
    assert quirky in {attrs.get("label") for _, _, attrs in dot_edges}


# --- a parser of the Mermaid flowchart subset meshc emits ----------------------------------------------------

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_RESERVED = {"end", "graph", "flowchart", "subgraph", "class", "classDef", "style", "linkStyle", "click", "direction"}
_SHAPES = {"((": "))", "[[": "]]", "([": "])", "{{": "}}", "[": "]", "(": ")"}
_NODE = re.compile(rf"^  ({_ID})(\(\(|\[\[|\(\[|\{{\{{|\[|\()\"([^\"]*)\"(\)\)|\]\]|\]\)|\}}\}}|\]|\))$")
_EDGE = re.compile(rf"^  ({_ID}) (-->|-\.->|-\.-)(?:\|\"([^\"]*)\"\|)? ({_ID})$")
_CLASSDEF = re.compile(rf"^  classDef ({_ID}) ([a-z-]+:[#A-Za-z0-9 .]+)(,[a-z-]+:[#A-Za-z0-9 .]+)*$")
_CLASS = re.compile(rf"^  class ({_ID}(?:,{_ID})*) ({_ID})$")
_LINKSTYLE = re.compile(r"^  linkStyle (\d+(?:,\d+)*) ([a-z-]+:[#A-Za-z0-9 .]+)(,[a-z-]+:[#A-Za-z0-9 .]+)*$")
# Inside a quoted label: no raw `"`; `#` only in entity codes; `<` only in `<br/>`; no raw `|` `[` `]`
# `{` `}` `(` `)` or backtick (they end a shape or an edge label, or start markdown, in some contexts).
_ENTITY = re.compile(r"#([a-z]+|[0-9]+);")
_FORBIDDEN = set('"|[]{}()`;&>')


def _decode(text: str) -> str:
    """A label's text as Mermaid shows it; fails on anything the grammar does not allow."""
    assert "\n" not in text
    rest = _ENTITY.sub("", text.replace("<br/>", ""))
    assert "#" not in rest, f"raw # in {text!r}"
    assert "<" not in rest, f"raw < in {text!r}"
    assert not (_FORBIDDEN & set(rest)), f"unescaped {_FORBIDDEN & set(rest)} in {text!r}"

    def entity(m: re.Match[str]) -> str:
        code = m.group(1)
        if code.isdigit():
            return chr(int(code))
        decoded = html.unescape(f"&{code};")
        assert decoded != f"&{code};", f"unknown entity #{code};"
        return decoded

    return "\n".join(_ENTITY.sub(entity, part) for part in text.split("<br/>"))


def check_mermaid(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str, str]]]:
    """Parse meshc's Mermaid output; return nodes (id → shape, label) and edges (src, arrow, label, dst)."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str, str]] = []
    classes: set[str] = set()
    phase = 0  # nodes, then edges, then classDef, class, linkStyle
    for line in lines[1:]:
        if m := _NODE.match(line):
            assert phase == 0, line
            node_id, left, label, right = m.groups()
            assert _SHAPES[left] == right, line
            assert node_id not in nodes and node_id not in _RESERVED, line
            nodes[node_id] = (left, _decode(label))
        elif m := _EDGE.match(line):
            assert phase <= 1, line
            phase = 1
            src, arrow, label, dst = m.groups()
            assert src in nodes and dst in nodes, line
            edges.append((src, arrow, _decode(label) if label is not None else "", dst))
        elif m := _CLASSDEF.match(line):
            assert phase <= 2, line
            phase = 2
            classes.add(m.group(1))
        elif m := _CLASS.match(line):
            assert phase in (2, 3), line
            phase = 3
            assert m.group(2) in classes, line
            assert all(i in nodes for i in m.group(1).split(",")), line
        elif m := _LINKSTYLE.match(line):
            assert phase in (2, 3), line
            phase = 4
            assert all(int(i) < len(edges) for i in m.group(1).split(",")), line
        else:
            raise AssertionError(f"not in meshc's Mermaid grammar: {line!r}")
    return nodes, edges


def _mermaid_edges(text: str) -> list[tuple[str, str, str, str]]:
    return check_mermaid(text)[1]


def _mermaid_nodes(text: str) -> dict[str, tuple[str, str]]:
    return check_mermaid(text)[0]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_mermaid_grammar(name: str) -> None:
    g = _graph(INPUTS[name])
    nodes, edges = check_mermaid(graph.mermaid(g))
    assert len(nodes) == len(g.nodes)
    assert len(edges) == len(g.edges)


def test_mermaid_escaping_round_trips() -> None:
    nasty = 'a"b|c[d]e{f}g(h)i#j<k>l&m;n`o\np #quot; <br/> %% end'
    assert _decode(graph.mermaid_text(nasty)) == nasty


def test_mermaid_grammar_check_rejects_bad_output() -> None:
    for bad in (
        'flowchart LR\n  a["x"y"]\n',
        'flowchart LR\n  a["x#y"]\n',
        'flowchart LR\n  a["<b>"]\n',
        'flowchart LR\n  a["x"]\n  a -->|"p|q"| a\n',
        'flowchart LR\n  a["x"]\n  a --> b\n',
        'flowchart LR\n  end["x"]\n',
        'flowchart LR\n  a["x"]\n  a --> a\n  linkStyle 1 stroke:#f00\n',
    ):
        with pytest.raises(AssertionError):
            check_mermaid(bad)


_MERMAID_JS = GRAPH / "mermaid_check.mjs"


@pytest.mark.skipif(
    not os.environ.get("CI") and (shutil.which("node") is None or not (GRAPH / "node_modules" / "mermaid").is_dir()),
    reason="the real Mermaid parser is optional locally: npm ci --prefix tests/graph (CI installs it and runs this)",
)
def test_real_mermaid_parses_the_output(tmp_path: Path) -> None:
    files = []
    for name, path in sorted(INPUTS.items()):
        f = tmp_path / f"{name}.mmd"
        f.write_text(graph.mermaid(_graph(path)), encoding="utf-8")
        files.append(str(f))
    bad = tmp_path / "bad.mmd"
    bad.write_text('flowchart LR\n  a["x"] --> |', encoding="utf-8")
    proc = subprocess.run(["node", str(_MERMAID_JS), *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK flowchart") == len(files)
    proc = subprocess.run(["node", str(_MERMAID_JS), str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout.startswith("ERROR")


# --- a parser of the DOT subset meshc emits --------------------------------------------------------------

_DOT_TOKEN = re.compile(r'\s*(?:(->)|([{}\[\];,=])|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*|-?[0-9.]+))', re.S)


def _dot_tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        assert m is not None, f"bad DOT at {text[pos : pos + 40]!r}"
        pos = m.end()
        if m.group(1):
            out.append(("op", "->"))
        elif m.group(2):
            out.append(("op", m.group(2)))
        elif m.group(3) is not None:
            raw = m.group(3)
            assert "\n" not in raw
            assert re.fullmatch(r'(?:[^"\\]|\\["\\n])*', raw), f"unknown escape in {raw!r}"
            out.append(("str", re.sub(r"\\(.)", lambda x: "\n" if x.group(1) == "n" else x.group(1), raw)))
        else:
            out.append(("id", m.group(4)))
    return out


def _dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """Parse `digraph ID { stmt* }` with node, edge, attribute and default-attribute statements."""
    toks = _dot_tokens(text)
    i = 0

    def take(kind: str, value: str | None = None) -> str:
        nonlocal i
        k, v = toks[i]
        assert k == kind and (value is None or v == value), f"expected {kind} {value}, got {k} {v}"
        i += 1
        return v

    def attrs() -> dict[str, str]:
        nonlocal i
        out: dict[str, str] = {}
        take("op", "[")
        while toks[i] != ("op", "]"):
            key = take("id")
            take("op", "=")
            k, v = toks[i]
            assert k in ("id", "str")
            i += 1
            out[key] = v
            if toks[i] == ("op", ","):
                i += 1
        take("op", "]")
        return out

    take("id", "digraph")
    take("id")
    take("op", "{")
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    while toks[i] != ("op", "}"):
        k, v = toks[i]
        if k == "id" and v in ("node", "edge", "graph"):
            i += 1
            attrs()
        elif k == "id" and toks[i + 1] == ("op", "="):
            i += 2
            assert toks[i][0] in ("id", "str")
            i += 1
        else:
            src = take("str")
            if toks[i] == ("op", "->"):
                i += 1
                dst = take("str")
                assert src in nodes and dst in nodes, f"edge to an undeclared node: {src} -> {dst}"
                edges.append((src, dst, attrs() if toks[i] == ("op", "[") else {}))
            else:
                assert src not in nodes
                nodes[src] = attrs()
        take("op", ";")
    take("op", "}")
    assert i == len(toks)
    return nodes, edges


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_dot_grammar(name: str) -> None:
    g = _graph(INPUTS[name])
    nodes, edges = _dot(graph.dot(g))
    assert len(nodes) == len(g.nodes) and len(edges) == len(g.edges)
    assert all("label" in a for a in nodes.values())


def test_dot_escaping_round_trips() -> None:
    nasty = 'a"b\\c\nd{e}[f] -> g; h=i'
    toks = _dot_tokens(f'"{graph.dot_text(nasty)}"')
    assert toks == [("str", nasty)]


@pytest.mark.skipif(
    not os.environ.get("CI") and shutil.which("dot") is None,
    reason="Graphviz is optional locally (apt-get install graphviz); CI installs it and runs this",
)
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_graphviz_accepts_the_dot(name: str) -> None:
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=graph.dot(_graph(INPUTS[name])), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "<svg" in proc.stdout


def test_an_edge_standing_for_many_rules_keeps_its_labels_once_in_linear_time() -> None:
    """Found by the fuzz bombs: a VirtualService with 40,000 hosts took 14 s in a list lookup."""
    import time

    g = graph.Graph()
    start = time.process_time()  # CPU time: other processes on the machine do not count
    for i in range(50_000):
        g.edge("vs", "host", "route", f"rule {i}")
        g.edge("vs", "host", "route", "rule 0")
    assert time.process_time() - start < 2
    [edge] = g.edges.values()
    assert edge.labels[:2] == ["rule 0", "rule 1"] and len(edge.labels) == 50_000
