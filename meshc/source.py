"""Load YAML files into plain documents that remember where every key and value came from.

Two parsers produce the same result:

* a fast line-based parser for the block-style YAML that Kubernetes manifests are written in
  (block mappings and sequences, plain and quoted scalars, one-line flow collections, literal
  and folded block scalars, comments). It gives up (`_Bail`) on anything else, never guesses;
* ruamel.yaml's C event parser (libyaml), driven by an iterative builder, for everything the
  fast parser declines, and for every error message.

A property test checks that the two agree wherever the fast parser answers. Scalars are resolved
with YAML 1.1 rules (as Kubernetes' go-yaml and PyYAML do), except that timestamps stay strings.

Positions live in a side table keyed by the id of each container (mapping or list), so the
models never carry them. The table is not kept: it would be the largest thing meshc holds (about
15 bytes per byte of input). A document remembers where its text is (`Origin`), and the first
diagnostic that needs a position parses that piece of text again, with the same parser, into the
same structure (a few recent pieces are cached).
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from meshc.diagnostics import Span

MAX_DEPTH = 200
"""Deepest nesting of mappings and sequences a document may have."""

MAX_ALIAS_NODES = 100_000
"""Largest number of nodes a document may expand to through aliases (a "billion laughs" guard)."""

YAML_SUFFIXES = (".yaml", ".yml", ".json")

# A position entry: (key_line, key_col, key_len, value_line, value_col, value_len), 1-based.
# For list items the key fields are the item's own position. value_len is 0 when unknown.
Pos = tuple[int, int, int, int, int, int]

REPARSED_PIECES = 32
"""Pieces of text whose positions a file keeps at once (diagnostics come resource by resource)."""


class _Bail(Exception):
    """The fast parser met something it does not handle; the C parser takes the document."""


class LoadError(Exception):
    """A problem with one document or file, with its position."""

    def __init__(self, message: str, line: int, column: int, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.help = help


@dataclass(slots=True, eq=False)
class SourceFile:
    """One input file: its display path and its text, with line ends normalised to LF."""

    path: str
    text: str
    _lines: list[str] | None = None
    _parsed: dict[tuple[int, bool], list[tuple[Any, dict[int, Any]]]] | None = None

    def line_text(self, line: int) -> str:
        """Text of a 1-based line, without its line break ('' past the end)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        if 1 <= line <= len(self._lines):
            return self._lines[line - 1]
        return ""

    def reparse(self, origin: Origin) -> tuple[Any, dict[int, Any]]:
        """The document at `origin` parsed again: (root, positions), the same structure as loaded."""
        key = (origin.start, origin.fast)
        if self._parsed is None:
            self._parsed = {}
        cache = self._parsed
        docs = cache.pop(key, None)  # re-inserted below: the dict's order is the recency
        if docs is None:
            docs = _parse_piece(self.text[origin.start : origin.end], origin.first_line, origin.fast)
            while len(cache) >= REPARSED_PIECES:
                del cache[next(iter(cache))]
        cache[key] = docs
        return docs[origin.ordinal] if origin.ordinal < len(docs) else (None, {})


class Origin(NamedTuple):
    """Where a document's text is, to parse it again for its positions.

    The piece `text[start:end]` starts on `first_line`; `fast` names the parser that read it and
    `ordinal` the document's number among those the piece held.
    """

    start: int
    end: int
    first_line: int
    fast: bool
    ordinal: int


@dataclass(slots=True, eq=False)
class Document:
    """One YAML document (or one item of a `kind: List`) and its positions."""

    source: SourceFile
    index: int
    data: Any
    """The parsed document; `lint.read` drops it (None) once the document is validated."""
    line: int
    origin: Origin
    base: tuple[str | int, ...] = ()
    """Path of this document inside the parsed one (an item of a `kind: List`), else ()."""
    spans: dict[tuple[tuple[str | int, ...], bool], Span] | None = None
    """Spans already looked up: the compiler asks for the same few in passes over every resource."""
    problems: list[tuple[tuple[str | int, ...], LoadError]] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The file as given on the command line."""
        return self.source.path

    def span(self, loc: tuple[str | int, ...] = (), *, key: bool = False) -> Span:
        """Exact place of the value (or, with `key`, of the key) at field path `loc`.

        When the path leads past what the document holds (a missing field), the deepest
        existing parent is returned, which is where the missing field belongs.
        """
        memo = (tuple(loc), key)
        if self.spans is None:
            self.spans = {}
        elif memo in self.spans:
            return self.spans[memo]
        span = self.spans[memo] = self._span(memo[0], key)
        return span

    def _span(self, loc: tuple[str | int, ...], key: bool) -> Span:
        full = self.base + loc
        node, positions = self.source.reparse(self.origin)
        entry: Pos | None = None
        for i, part in enumerate(full):
            table = positions.get(id(node))
            if table is None:
                break
            try:
                here = table[part]
                child = node[part]
            except (KeyError, IndexError, TypeError):
                break
            entry = here
            node = child
            if i == len(full) - 1:
                kl, kc, klen, vl, vc, vlen = entry
                if key and not klen and isinstance(child, dict) and child:
                    # A list item has no key: point at its first key, which has an extent.
                    first = positions.get(id(child), {}).get(next(iter(child)))
                    if first is not None and first[2]:
                        return Span(self.path, first[0], first[1], first[0], first[1] + first[2])
                if key:
                    return Span(self.path, kl, kc, kl, kc + klen if klen else None)
                return Span(self.path, vl, vc, vl if vlen else None, vc + vlen if vlen else None)
        if entry is None:
            return Span(self.path, self.line, 1)
        kl, kc, klen, _, _, _ = entry
        return Span(self.path, kl, kc, kl, kc + klen if klen else None)


@dataclass(slots=True)
class LoadResult:
    """Everything read from the inputs."""

    documents: list[Document] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    errors: list[tuple[Span, str, str | None]] = field(default_factory=list)
    """File-level problems: (where, message, help). Syntax errors, bad encodings, unreadable files."""


# --- scalar resolution (YAML 1.1 as in PyYAML's SafeLoader; timestamps stay strings) ---------

_BOOL_NULL: dict[str, Any] = {
    "yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    "on": True, "On": True, "ON": True, "off": False, "Off": False, "OFF": False,
    "null": None, "Null": None, "NULL": None, "~": None, "": None,
}  # fmt: skip
_INT = re.compile(
    r"""[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+""",
    re.X,
)
_FLOAT = re.compile(
    r"""[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""",
    re.X,
)
_NUMERIC_START = frozenset("0123456789-+.")


def _sexagesimal(text: str) -> float:
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


def resolve_plain(text: str) -> Any:
    """Value of a plain (unquoted, untagged) scalar under YAML 1.1 rules."""
    if text in _BOOL_NULL:
        return _BOOL_NULL[text]
    if text[0] not in _NUMERIC_START:
        return text
    if _INT.fullmatch(text):
        body = text.replace("_", "")
        sign = -1 if body[0] == "-" else 1
        if body[0] in "+-":
            body = body[1:]
        if body.startswith("0b"):
            return sign * int(body[2:], 2)
        if body.startswith("0x"):
            return sign * int(body[2:], 16)
        if ":" in body:
            return sign * int(_sexagesimal(body))
        if body != "0" and body[0] == "0":
            return sign * int(body, 8)
        return sign * int(body)
    if _FLOAT.fullmatch(text):
        body = text.replace("_", "").lower()
        if body.endswith("inf"):
            return float("-inf") if body[0] == "-" else float("inf")
        if body.endswith("nan"):
            return float("nan")
        if ":" in body:
            sign = -1 if body[0] == "-" else 1
            return sign * _sexagesimal(body.lstrip("+-"))
        return float(body)
    return text


# --- the fast parser ----------------------------------------------------------------------------

_PLAIN_KEY = re.compile(
    r"""([^\s\-?:,\[\]{}#&*!|>'"%@`]   # first character: not an indicator
        [^:#\t]*?                        # rest (no ':' and no '#': keeps the grammar unambiguous)
       |[-?:][^\s:#,\[\]{}]              # '-', '?' or ':' followed by a safe character
        [^:#\t]*?)
       [ ]*:(?:[ ]+|$)""",
    re.X,
)
_KEY = r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`][^:#\t]*?|[-?:][^\s:#,\[\]{}][^:#\t]*?)"""
_LINE = re.compile(r"( *)(-(?: +|$))?(?:(" + _KEY + r")[ ]*:(?: +|$))?(.*)")
"""One line of block YAML: indentation, an optional "- ", an optional plain key and ":", the rest."""
_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPE_LEN = {"x": 2, "u": 4, "U": 8}
_FLOW_PLAIN_STOP = re.compile(r"[,\[\]{}?:]|\s#")
"""Where a plain scalar inside a flow collection ends (libyaml also stops at `?` and any `:`)."""
_DOC_START = re.compile(r"^---(?=[ \t]|$)", re.M)
_NEEDS_C = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff\u2028\u2029]")
"""Characters the fast parser leaves to libyaml: controls, odd line breaks (CR, NEL, LS, PS)."""
_VALUE_SPECIAL = frozenset("\"'[{|>&*!%@`#,?:-")
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)[ ]*(?:#.*)?$")


def _double_quoted(s: str, start: int) -> tuple[str, int]:
    """Parse a one-line double-quoted scalar starting at s[start] == '"'; return (value, end)."""
    out: list[str] = []
    i = start + 1
    n = len(s)
    while i < n:
        j_quote = s.find('"', i)
        j_esc = s.find("\\", i)
        if j_quote < 0:
            raise _Bail
        if j_esc < 0 or j_quote < j_esc:
            out.append(s[i:j_quote])
            return "".join(out), j_quote + 1
        out.append(s[i:j_esc])
        if j_esc + 1 >= n:
            raise _Bail
        c = s[j_esc + 1]
        if c in _DQ_ESCAPES:
            out.append(_DQ_ESCAPES[c])
            i = j_esc + 2
        elif c in _HEX_ESCAPE_LEN:
            width = _HEX_ESCAPE_LEN[c]
            digits = s[j_esc + 2 : j_esc + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise _Bail
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _Bail
            out.append(chr(code))
            i = j_esc + 2 + width
        else:
            raise _Bail
    raise _Bail


def _single_quoted(s: str, start: int) -> tuple[str, int]:
    """Parse a one-line single-quoted scalar starting at s[start] == "'"; return (value, end)."""
    out: list[str] = []
    i = start + 1
    while True:
        j = s.find("'", i)
        if j < 0:
            raise _Bail
        out.append(s[i:j])
        if s.startswith("'", j + 1):
            out.append("'")
            i = j + 2
        else:
            return "".join(out), j + 1


def _after_node(s: str, i: int) -> None:
    """Only blanks and an optional comment may follow a complete node on its line."""
    rest = s[i:]
    if not rest:
        return
    stripped = rest.lstrip(" ")
    if stripped and (stripped[0] != "#" or len(stripped) == len(rest)):
        raise _Bail


class _Fast:
    """Line-based parser for block-style YAML. Records positions as it goes."""

    __slots__ = ("depth", "line_no", "lines", "pos")

    def __init__(self, lines: list[str], first_line: int) -> None:
        self.lines = lines
        self.pos: dict[int, Any] = {}
        self.line_no = first_line  # 1-based number of lines[0]
        self.depth = 0

    # Flow collections on one line -------------------------------------------------------------

    def _flow(self, s: str, i: int, line: int, depth: int) -> tuple[Any, int]:
        """Parse the flow collection at s[i] ('[' or '{'); return (value, index after it)."""
        if depth > MAX_DEPTH:
            raise _Bail
        is_map = s[i] == "{"
        close = "}" if is_map else "]"
        result: Any = {} if is_map else []
        table: Any = {} if is_map else []
        self.pos[id(result)] = table
        i += 1
        n = len(s)
        while True:
            while i < n and s[i] == " ":
                i += 1
            if i >= n:
                raise _Bail
            if s[i] == close:
                return result, i + 1
            if is_map:
                kcol = i
                key, i, klen = self._flow_node(s, i, line, depth, key=True)
                if isinstance(key, (dict, list)):
                    raise _Bail
                while i < n and s[i] == " ":
                    i += 1
                if i < n and s[i] == ":":
                    i += 1
                    while i < n and s[i] == " ":
                        i += 1
                    if i < n and s[i] in ",}":
                        value, vcol, vlen = None, i, 0
                    else:
                        vcol = i
                        value, i, vlen = self._flow_node(s, i, line, depth, key=False)
                elif i < n and s[i] in ",}":
                    value, vcol, vlen = None, i, 0
                else:
                    raise _Bail
                if key in result:
                    raise _Bail
                result[key] = value
                table[key] = (line, kcol + 1, klen, line, vcol + 1, vlen)
            else:
                vcol = i
                value, i, vlen = self._flow_node(s, i, line, depth, key=False)
                while i < n and s[i] == " ":
                    i += 1
                if i < n and s[i] == ":":
                    raise _Bail  # single-pair mapping inside a sequence
                result.append(value)
                table.append((line, vcol + 1, vlen, line, vcol + 1, vlen))
            while i < n and s[i] == " ":
                i += 1
            if i < n and s[i] == ",":
                i += 1
            elif i < n and s[i] == close:
                return result, i + 1
            else:
                raise _Bail

    def _flow_node(self, s: str, i: int, line: int, depth: int, *, key: bool) -> tuple[Any, int, int]:
        if i >= len(s):
            raise _Bail  # `{key:` at the end of a line: a multi-line flow collection, left to the C parser
        c = s[i]
        if c == "[" or c == "{":
            value, end = self._flow(s, i, line, depth + 1)
            return value, end, 0
        if c == '"':
            value, end = _double_quoted(s, i)
            return value, end, end - i
        if c == "'":
            value, end = _single_quoted(s, i)
            return value, end, end - i
        if c in "#&*!|>%@`,?]}:" or (c == "-" and (i + 1 >= len(s) or s[i + 1] in " ,[]{}")):
            raise _Bail
        m = _FLOW_PLAIN_STOP.search(s, i + 1)
        end = m.start() if m else len(s)
        if m is not None:
            stop = m.group()
            if stop == "?" or stop[-1] == "#":
                raise _Bail
            if stop == ":" and (end + 1 >= len(s) or s[end + 1] != " "):
                raise _Bail  # `a:b`, `a:}` inside a flow collection: libyaml rejects them
        text = s[i:end].rstrip(" ")
        if not text or "\t" in text:
            raise _Bail
        return resolve_plain(text), i + len(text), len(text)

    # Block scalars ----------------------------------------------------------------------------

    def _block_scalar(self, style: str, chomp: str, idx: int, parent_indent: int) -> tuple[str, int]:
        """Read the block scalar whose header is on line idx-1; return (value, next line index)."""
        lines = self.lines
        n = len(lines)
        j = idx
        content_indent = -1
        body: list[str] = []
        while j < n:
            raw = lines[j]
            stripped = raw.lstrip(" ")
            if not stripped:
                # A blank line; spaces past the indentation would be content (or, before the
                # first content line, take part in indentation detection): leave those to libyaml.
                limit = content_indent if content_indent >= 0 else parent_indent + 1
                if len(raw) > limit:
                    raise _Bail
                body.append("")
                j += 1
                continue
            ind = len(raw) - len(stripped)
            if content_indent < 0:
                if ind <= parent_indent:
                    break
                if stripped[0] == "\t":
                    raise _Bail
                content_indent = ind
            elif ind < content_indent:
                break
            body.append(raw[content_indent:])
            j += 1
        # Trailing blank lines belong to the chomping, not to the content.
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        if not body:
            return ("\n" * trailing if chomp == "+" else ""), j
        if style == "|":
            text = "\n".join(body)
        else:
            parts: list[str] = []
            seen_text = False
            blanks = 0
            for part in body:
                if part == "":
                    blanks += 1
                    continue
                if part[0] in " \t":
                    raise _Bail  # more-indented lines keep their breaks: leave them to libyaml
                if seen_text:
                    parts.append("\n" * blanks if blanks else " ")
                else:
                    parts.append("\n" * blanks)
                parts.append(part)
                seen_text = True
                blanks = 0
            text = "".join(parts)
        if chomp == "-":
            return text, j
        if chomp == "+":
            return text + "\n" * (trailing + 1), j
        return text + "\n", j

    # Values on a line ---------------------------------------------------------------------------

    def _value(self, rest: str, col: int, idx: int, parent_indent: int) -> tuple[Any, int, int]:
        """Parse the value text `rest` found at 0-based column col of line idx-1.

        Returns (value, length of its text on the line or 0, index of the next line to read).
        """
        c = rest[0]
        line = self.line_no + idx - 1
        if c == '"':
            value, end = _double_quoted(rest, 0)
            _after_node(rest, end)
            return value, end, idx
        if c == "'":
            value, end = _single_quoted(rest, 0)
            _after_node(rest, end)
            return value, end, idx
        if c == "[" or c == "{":
            value, end = self._flow(rest, 0, line, self.depth + 1)
            _after_node(rest, end)
            # The flow parser recorded columns relative to `rest`; shift them to the line.
            self._shift_flow(value, col)
            return value, 0, idx
        if c == "|" or c == ">":
            m = _BLOCK_HEADER.match(rest)
            if m is None:
                raise _Bail
            value, nxt = self._block_scalar(m.group(1), m.group(2), idx, parent_indent)
            return value, 0, nxt
        if c in "&*!%@`#,?:-" and (c not in "?:-" or len(rest) == 1 or rest[1] == " "):
            raise _Bail
        k = rest.find(" #")
        text = rest if k < 0 else rest[:k]
        text = text.rstrip(" ")
        if ": " in text or text.endswith(":") or "\t" in text or " #" in text:
            raise _Bail
        return resolve_plain(text), len(text), idx

    def _shift_flow(self, value: Any, col: int) -> None:
        """Add `col` to the columns the flow parser recorded for `value` and its children."""
        stack = [value]
        while stack:
            node = stack.pop()
            table = self.pos.get(id(node))
            if table is None:
                continue
            if isinstance(node, dict):
                for k, (kl, kc, klen, vl, vc, vlen) in table.items():
                    table[k] = (kl, kc + col, klen, vl, vc + col, vlen)
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
            else:
                for k, (kl, kc, klen, vl, vc, vlen) in enumerate(table):
                    table[k] = (kl, kc + col, klen, vl, vc + col, vlen)
                stack.extend(v for v in node if isinstance(v, (dict, list)))

    # The block structure ----------------------------------------------------------------------

    def parse(self) -> tuple[Any, int, int]:
        """Parse the whole document; return (root, first content line, first content column)."""
        # This loop is the hot path of `meshc lint`: the current frame lives in local variables,
        # and only nesting changes touch the stack.
        lines = self.lines
        n = len(lines)
        pos = self.pos
        match_line = _LINE.match
        bool_null = _BOOL_NULL
        numeric = _NUMERIC_START
        special = _VALUE_SPECIAL
        intern = sys.intern
        none = _NONE
        root: Any = None
        root_line = root_col = 0
        # Frames below the current one: (indent, container, positions, is_map).
        stack: list[tuple[int, Any, Any, bool]] = []
        cur: Any = None
        cur_tab: Any = None
        cur_ind = -1
        cur_map = False
        # The key (or list index) of the current frame that waits for a nested block, else _NONE.
        pending: Any = none
        idx = 0
        if n and lines[0].startswith("---"):
            rest = lines[0][3:].lstrip(" \t")
            if rest and rest[0] != "#":
                raise _Bail
            idx = 1
        base = self.line_no - 1
        while idx < n:
            raw = lines[idx]
            idx += 1
            ind_s, dash, key_text, rest = match_line(raw).groups()  # type: ignore[union-attr]  # the pattern matches any line
            if dash is None and key_text is None:
                if not rest or rest[0] == "#":
                    continue
                if rest[0] == "\t":
                    if rest.isspace():
                        continue
                    raise _Bail
            ind = len(ind_s)
            line = base + idx
            if ind == 0 and (raw.startswith(("---", "...")) or raw[0] == "%"):
                raise _Bail
            is_item = dash is not None
            # Close the frames this line is outside of.
            while cur is not None and (cur_ind > ind or (cur_ind == ind and not is_item and not cur_map)):
                pending = none
                if stack:
                    cur_ind, cur, cur_tab, cur_map = stack.pop()
                else:
                    cur = None
            if cur is not None:
                if pending is not none:
                    if ind > cur_ind or (is_item and ind == cur_ind and cur_map):
                        # The key (or "-") waiting for a nested block gets it: this line opens it.
                        new: Any = [] if is_item else {}
                        table: Any = [] if is_item else {}
                        pos[id(new)] = table
                        cur[pending] = new
                        if cur_map:
                            old = cur_tab[pending]
                            cur_tab[pending] = (old[0], old[1], old[2], line, ind + 1, 0)
                        else:
                            cur_tab[pending] = (line, ind + 1, 0, line, ind + 1, 0)
                        stack.append((cur_ind, cur, cur_tab, cur_map))
                        if len(stack) >= MAX_DEPTH:
                            raise _Bail
                        cur, cur_tab, cur_ind, cur_map = new, table, ind, not is_item
                    pending = none
            else:
                if root is not None:
                    raise _Bail
                root = [] if is_item else {}
                root_line, root_col = line, ind + 1
                table = [] if is_item else {}
                pos[id(root)] = table
                cur, cur_tab, cur_ind, cur_map = root, table, ind, not is_item
            if cur_ind != ind:
                raise _Bail
            if is_item:
                if cur_map:
                    raise _Bail
                if key_text is None:
                    col = len(raw) - len(rest)
                    if not rest or rest[0] == "#":
                        pending = len(cur)
                        cur.append(None)
                        cur_tab.append((line, col + 1, 0, line, col + 1, 0))
                        continue
                    c = rest[0]
                    if c == "-" and (len(rest) == 1 or rest[1] == " "):
                        raise _Bail
                    quoted = self._quoted_key(rest) if c == '"' or c == "'" else None
                    if quoted is None:
                        value, vlen, idx = self._value(rest, col, idx, ind)
                        cur.append(value)
                        cur_tab.append((line, col + 1, vlen, line, col + 1, vlen))
                        continue
                    key, klen, rest_at = quoted
                    vcol = col + rest_at
                    rest = rest[rest_at:]
                else:
                    col = ind + len(dash)
                    key = resolve_plain(key_text) if key_text[0] in numeric else bool_null.get(key_text, key_text)
                    klen = len(key_text)
                    vcol = len(raw) - len(rest)
                # "- key: value": a mapping starts inside the item, at the key's column.
                new = {}
                table = {}
                pos[id(new)] = table
                cur.append(new)
                cur_tab.append((line, col + 1, 0, line, col + 1, 0))
                stack.append((cur_ind, cur, cur_tab, cur_map))
                if len(stack) >= MAX_DEPTH:
                    raise _Bail
                cur, cur_tab, cur_ind, cur_map = new, table, col, True
                kcol = col
            elif key_text is not None:
                if key_text[0] in numeric:
                    key = resolve_plain(key_text)
                else:  # keys repeat in every document: one string each, not one per occurrence
                    key = bool_null[key_text] if key_text in bool_null else intern(key_text)
                klen = len(key_text)
                kcol = ind
                vcol = len(raw) - len(rest)
            else:
                quoted = self._quoted_key(rest) if rest[0] == '"' or rest[0] == "'" else None
                if quoted is None:
                    raise _Bail
                key, klen, rest_at = quoted
                kcol = ind
                vcol = ind + rest_at
                rest = rest[rest_at:]
            if not cur_map:
                raise _Bail
            if key in cur or key_text == "<<":
                raise _Bail  # duplicates and merge keys: the C path reports and implements them
            if not rest or rest[0] == "#":
                pending = key
                cur[key] = None
                cur_tab[key] = (line, kcol + 1, klen, line, kcol + klen + 2, 0)
                continue
            if rest[0] in special:
                value, vlen, idx = self._value(rest, vcol, idx, kcol)
            else:
                # Inline fast path for the common case: a plain scalar.
                k = rest.find(" #")
                text = (rest if k < 0 else rest[:k]).rstrip(" ")
                if ": " in text or text[-1] == ":" or "\t" in text:
                    raise _Bail
                if text[0] in numeric:
                    value = resolve_plain(text)
                else:
                    value = bool_null[text] if text in bool_null else intern(text)
                vlen = len(text)
            cur[key] = value
            cur_tab[key] = (line, kcol + 1, klen, line, vcol + 1, vlen)
        if root is None:
            return None, 0, 0
        return root, root_line, root_col

    def _quoted_key(self, s: str) -> tuple[Any, int, int] | None:
        """Parse `"key":` or `'key':` at the start of s; return (key, key length, index after ':')."""
        if s[0] == '"':
            key, end = _double_quoted(s, 0)
        else:
            key, end = _single_quoted(s, 0)
        i = end
        while i < len(s) and s[i] == " ":
            i += 1
        if i < len(s) and s[i] == ":" and (i + 1 == len(s) or s[i + 1] == " "):
            j = i + 1
            while j < len(s) and s[j] == " ":
                j += 1
            return key, end, j
        if i >= len(s) or s[i] != ":":
            return None
        raise _Bail


_NONE = object()


# --- the C path (libyaml events) ----------------------------------------------------------------

_TAGGED: dict[str, type] = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


def _c_parse(text: str, first_line: int) -> Iterator[tuple[Any, dict[int, Any], int, list[Any]]]:
    """Parse text with libyaml; yield (root, positions, first line, duplicate keys) per document.

    Raises LoadError at the first syntax error (positions shifted by first_line).
    """
    from ruamel.yaml import error as yaml_error
    from ruamel.yaml.cyaml import CParser
    from ruamel.yaml.reader import ReaderError

    parser = CParser(text)
    try:
        yield from _CBuilder(parser, first_line - 1).documents()
    except yaml_error.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        col = (mark.column + 1) if mark else 1
        problem = exc.problem or "syntax error"
        context = f" ({exc.context})" if exc.context else ""
        raise LoadError(f"YAML syntax error: {problem}{context}", line, col) from None
    except ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + first_line
        col = exc.position - (before.rfind("\n") + 1) + 1
        raise LoadError(f"YAML error: unacceptable character U+{exc.character:04X} ({exc.reason})", line, col) from None
    except yaml_error.YAMLError as exc:
        raise LoadError(f"YAML error: {str(exc).splitlines()[0]}", first_line, 1) from None
    finally:
        parser.dispose()


class _Frame:
    """An open mapping or sequence while the C builder walks events."""

    __slots__ = ("anchor", "container", "is_map", "key", "key_at", "merges", "size", "table")

    def __init__(self, container: Any, table: Any, is_map: bool, anchor: str | None) -> None:
        self.container = container
        self.table = table
        self.is_map = is_map
        self.anchor = anchor
        self.key: Any = _NONE
        self.key_at: tuple[int, int, int] = (0, 0, 0)
        self.merges: list[Any] = []
        self.size = 1


class _CBuilder:
    """Builds plain data and positions from libyaml events, iteratively, with bounds."""

    def __init__(self, parser: Any, shift: int) -> None:
        from ruamel.yaml import events

        self.get_event = parser.get_event
        self.ev = events
        self.shift = shift

    def documents(self) -> Iterator[tuple[Any, dict[int, Any], int, list[Any]]]:
        ev = self.ev
        while True:
            event = self.get_event()
            if isinstance(event, ev.StreamEndEvent):
                return
            if isinstance(event, ev.DocumentStartEvent):
                yield self._document()

    def _document(self) -> tuple[Any, dict[int, Any], int, list[Any]]:
        ev = self.ev
        scalar_ev, alias_ev = ev.ScalarEvent, ev.AliasEvent
        map_start, seq_start = ev.MappingStartEvent, ev.SequenceStartEvent
        map_end, seq_end, doc_end = ev.MappingEndEvent, ev.SequenceEndEvent, ev.DocumentEndEvent
        pos: dict[int, Any] = {}
        anchors: dict[str, tuple[Any, int]] = {}
        duplicates: list[Any] = []
        stack: list[_Frame] = []
        root: Any = None
        root_line = 1
        total = 0
        while True:
            event = self.get_event()
            cls = event.__class__
            if cls is doc_end:
                return root, pos, root_line, duplicates
            mark = event.start_mark
            line, col = mark.line + 1 + self.shift, mark.column + 1
            if cls is map_start or cls is seq_start:
                if len(stack) >= MAX_DEPTH:
                    raise LoadError(f"document nests deeper than {MAX_DEPTH} levels", line, col)
                is_map = cls is map_start
                container: Any = {} if is_map else []
                table: Any = {} if is_map else []
                pos[id(container)] = table
                if stack:
                    self._attach(stack[-1], container, line, col, 0, duplicates)
                else:
                    root, root_line = container, line
                stack.append(_Frame(container, table, is_map, event.anchor))
                continue
            if cls is map_end or cls is seq_end:
                frame = stack.pop()
                for source in frame.merges:
                    if isinstance(source, dict):
                        for k, v in source.items():
                            frame.container.setdefault(k, v)
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size)
                if stack:
                    stack[-1].size += frame.size
                continue
            if cls is scalar_ev:
                value, vlen = _c_scalar(event)
                size = 1
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
            elif cls is alias_ev:
                if event.anchor not in anchors:
                    raise LoadError(f"YAML error: alias `*{event.anchor}` has no anchor before it", line, col)
                value, size = anchors[event.anchor]
                vlen = len(event.anchor) + 1
            else:
                continue
            total += size
            if total > MAX_ALIAS_NODES:
                raise LoadError(
                    f"aliases expand this document to more than {MAX_ALIAS_NODES:,} nodes",
                    line,
                    col,
                    help="this looks like a YAML bomb (billion laughs); meshc does not expand it",
                )
            if stack:
                stack[-1].size += size
                self._attach(stack[-1], value, line, col, vlen, duplicates)
            else:
                root, root_line = value, line

    @staticmethod
    def _attach(frame: _Frame, value: Any, line: int, col: int, vlen: int, duplicates: list[Any]) -> None:
        """Put value into the open container (as the next item, key or value)."""
        if not frame.is_map:
            frame.container.append(value)
            frame.table.append((line, col, vlen, line, col, vlen))
            return
        if frame.key is _NONE:
            try:
                hash(value)
            except TypeError:
                value = repr(value)  # a collection used as a key: never valid Istio, keep it readable
            frame.key = value
            frame.key_at = (line, col, vlen)
            return
        key = frame.key
        kl, kc, klen = frame.key_at
        frame.key = _NONE
        if key == "<<" and isinstance(key, str):
            frame.merges.extend(value if isinstance(value, list) else [value])
            return
        container, table = frame.container, frame.table
        if key in container:
            duplicates.append((id(container), key, kl, kc, klen, table[key][0]))
        container[key] = value
        table[key] = (kl, kc, klen, line, col, vlen)


def _c_scalar(event: Any) -> tuple[Any, int]:
    """Value of a scalar event: plain scalars are resolved, quoted ones stay strings."""
    value = event.value
    style = event.style
    tag = event.tag
    start, end = event.start_mark, event.end_mark
    vlen = end.column - start.column if end.line == start.line else 0
    if tag is None or tag == "!":
        if not style and tag is None:
            return (resolve_plain(value) if value else None), vlen
        return value, vlen
    if tag in _TAGGED:
        resolved = resolve_plain(value) if value else None
        want = _TAGGED[tag]
        if want is int and isinstance(resolved, int) and not isinstance(resolved, bool):
            return resolved, vlen
        if want is float and isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
            return float(resolved), vlen
        if want is bool and isinstance(resolved, bool):
            return resolved, vlen
        if want is type(None) and resolved is None:
            return None, vlen
    # `!!str`, unknown or application tags, or a tag that does not fit: keep the text.
    return value, vlen


# --- files, documents and the public entry point ------------------------------------------------


def decode(data: bytes) -> tuple[str, tuple[int, int, str] | None]:
    """Decode file bytes (UTF-8, or UTF-16/32 with a BOM); return (text, error position)."""
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        encoding = "utf-32"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as exc:
        good = data[: exc.start]
        line = good.count(b"\n") + 1
        col = exc.start - (good.rfind(b"\n") + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        return "", (line, col, f"file is not valid {encoding.replace('-sig', '').upper()}: byte 0x{bad}")


def _chunks(text: str) -> Iterator[tuple[int, int, int]]:
    """Split text at `---` lines; yield (start offset, end offset, 1-based first line)."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 1
    prev = 0
    for i, start in enumerate(starts):
        line += text.count("\n", prev, start)
        prev = start
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield start, end, line


def parse_text(source: SourceFile) -> tuple[list[Document], list[LoadError]]:
    """Parse every document of one file. A syntax error stops only the document it is in."""
    text = source.text
    docs: list[Document] = []
    errors: list[LoadError] = []
    if _NEEDS_C.search(text) or text.startswith("%") or "\n%" in text:
        pieces: Iterable[tuple[int, int, int]] = [(0, len(text), 1)]
        fast_ok = False
    else:
        pieces = _chunks(text)
        fast_ok = True
    index = 0
    for start, end, first_line in pieces:
        chunk = text[start:end]
        if fast_ok:
            lines = chunk.split("\n")
            if lines[-1] == "":
                lines.pop()
            parser = _Fast(lines, first_line)
            try:
                root, line, _col = parser.parse()
            except _Bail:
                pass
            else:
                if root is not None:
                    docs.append(Document(source, index, root, line, Origin(start, end, first_line, True, 0)))
                    index += 1
                    continue
                if not _has_content(lines):
                    continue
                # Content but no collection (a top-level scalar): libyaml reads it below.
        ordinal = 0
        try:
            for root, _pos, line, duplicates in _c_parse(chunk, first_line):
                if root is None:
                    continue
                doc = Document(source, index, root, line, Origin(start, end, first_line, False, ordinal))
                index += 1
                ordinal += 1
                for container_id, key, kl, kc, _klen, first_at in duplicates:
                    path = _path_to(root, container_id)
                    doc.problems.append(
                        (
                            (*path, key) if path is not None else (),
                            LoadError(
                                f"duplicate key `{key}` (first defined on line {first_at})",
                                kl,
                                kc,
                                help="YAML forbids duplicate keys; Kubernetes keeps only the last value",
                            ),
                        )
                    )
                docs.append(doc)
        except LoadError as exc:
            errors.append(exc)
    return docs, errors


def _parse_piece(chunk: str, first_line: int, fast: bool) -> list[tuple[Any, dict[int, Any]]]:
    """(root, positions) of every document in a piece of text, as `parse_text` read it."""
    if fast:
        lines = chunk.split("\n")
        if lines[-1] == "":
            lines.pop()
        parser = _Fast(lines, first_line)
        return [(parser.parse()[0], parser.pos)]
    out: list[tuple[Any, dict[int, Any]]] = []
    with contextlib.suppress(LoadError):  # the documents before the error are the ones loaded
        out.extend((root, pos) for root, pos, _line, _dups in _c_parse(chunk, first_line) if root is not None)
    return out


def _has_content(lines: list[str]) -> bool:
    for raw in lines:
        s = raw.strip()
        if s and not s.startswith("#") and s != "---":
            return True
    return False


def _path_to(root: Any, target: int) -> tuple[str | int, ...] | None:
    """Field path from root to the container whose id is target (iterative search)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) == target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node) if isinstance(v, (dict, list)))
    return None


def expand_paths(
    paths: Iterable[str], onerror: Callable[[OSError], None] | None = None
) -> Iterator[tuple[str, Path | None]]:
    """Turn command-line paths into (display path, file) pairs; folders are walked recursively.

    `-` means standard input (file None). Files inside folders are filtered by suffix and
    sorted; hidden folders (`.git`) are skipped. A path that does not exist is yielded as is
    so that the caller can report it. `onerror` is called with the OSError of a folder that
    cannot be listed (by default such a folder is skipped).
    """
    seen: set[str] = set()  # a file named twice (`deploy/ deploy/vs.yaml`) is read once

    def first(f: Path) -> bool:
        key = os.path.realpath(f)
        if key in seen:
            return False
        seen.add(key)
        return True

    for given in paths:
        if given == "-":
            yield "-", None
            continue
        p = Path(given)
        if _is_dir(p):
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(p, onerror=onerror):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(Path(dirpath, f) for f in filenames if f.lower().endswith(YAML_SUFFIXES))
            for f in sorted(found):
                if first(f):
                    yield str(f), f
        elif first(p):
            yield given, p


def _is_dir(p: Path) -> bool:
    """`p.is_dir()`, False where the name cannot even be looked up (too long, NUL): reading it reports why."""
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Loading and validating build millions of small acyclic objects; every automatic collection
    would walk all of them again (measured: a third of lint time on 9,000 documents).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Move what exists now out of the collector's sight, or the first collection after
            # re-enabling would walk it all (measured: 0.35 s on 9,000 documents).
            gc.freeze()
            gc.enable()


def load(paths: Iterable[str], *, stdin: bytes | None = None) -> LoadResult:
    """Read and parse every input; problems are collected, never raised.

    `stdin` holds the bytes of standard input for a path `-` (the CLI reads it; the core never does).
    """
    result = LoadResult()
    with no_gc():
        for display, file in expand_paths(paths):
            _load_one(result, display, file, stdin)
    return result


def _load_one(result: LoadResult, display: str, file: Path | None, stdin: bytes | None) -> None:
    if file is None:
        display = "<stdin>"
        if stdin is None:
            result.errors.append((Span(display, 1, 1), "standard input (`-`) was not given to the loader", None))
            return
        data = stdin
    else:
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            result.errors.append((Span(display, 1, 1), f"no such file or folder: `{display}`", None))
            return
        except IsADirectoryError:
            result.errors.append((Span(display, 1, 1), f"`{display}` is a folder that cannot be read", None))
            return
        except OSError as exc:
            result.errors.append((Span(display, 1, 1), f"cannot read `{display}`: {exc.strerror}", None))
            return
    text, bad = decode(data)
    source = SourceFile(display, text)
    result.files.append(source)
    if bad is not None:
        line, col, message = bad
        result.errors.append((Span(display, line, col), message, "save the file as UTF-8; YAML files must be Unicode"))
        return
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
        source.text = text
    docs, errors = parse_text(source)
    result.documents.extend(docs)
    for err in errors:
        result.errors.append((Span(display, err.line, err.column), err.message, err.help))
