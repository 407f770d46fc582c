"""Load YAML files into plain documents that remember where every key and value came from.

Two parsers produce the same result:

* a fast line-based parser for the block-style YAML that Kubernetes manifests are written in
  (block mappings and sequences, plain and quoted scalars, one-line flow collections, literal
  and folded block scalars, comments). It gives up (`_Bail`) on anything else, never guesses;
* the reference parser (meshc/yamlref.py: libyaml 0.2.5 or later through PyYAML, or ruamel.yaml's pure-Python
  parser that reads as libyaml does), driven by an iterative builder, for everything the fast
  parser declines, and for every error message.

Differential tests (tests/test_loader_differential.py) hold the two, and the reference parser with
and without PyYAML's C extension, to the same data and positions. Scalars and keys are read as
Kubernetes reads them (go-yaml v2 through sigs.k8s.io/yaml: see `resolve_plain`).

Positions live in a side table keyed by the id of each container (mapping or list), so the
models never carry them. The table is not kept: it would be the largest thing meshc holds (about
15 bytes per byte of input). A document remembers where its text is (`Origin`), and the first
diagnostic that needs a position parses that piece of text again, with the same parser, into the
same structure (a few recent pieces are cached). For a document the fast parser read, the first
few look-ups do without that parse: `_walk` reads only the lines on the field path.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import gc
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from meshc import inputs
from meshc.diagnostics import Span
from meshc.inputs import expand_paths
from meshc.patterns import lazy

MAX_DEPTH = 200
"""Deepest nesting of mappings and sequences a document may have."""

MAX_ALIAS_NODES = 100_000
"""Most nodes the aliases of one document may repeat (a "billion laughs" guard)."""

MAX_ALIAS_TEXT = 1_000_000
"""Most characters of scalar text the aliases of one document may repeat: a 500 KB anchored value
aliased in 2,000 rules is 1 GB once expanded, and every command's output grows with it."""


# A position entry: (key_line, key_col, key_len, value_line, value_col, value_len), 1-based.
# For list items the key fields are the item's own position. value_len is 0 when unknown.
Pos = tuple[int, int, int, int, int, int]

WALKED_SPANS = 4
"""Spans of one document found by walking its text (`_walk`); the next ones parse it again with
positions, once: each walk reads the lines on its path again, and a document asked for many spans
(a large one with many findings, or the compiler's passes) is then answered from the cached parse."""

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


LINE_BLOCK = 1 << 16
"""Characters of text (whole lines) that `SourceFile.line_text` splits into lines at a time."""

LINE_BLOCKS_KEPT = 4
"""Blocks whose lines a file keeps at once (diagnostics are looked up in runs of nearby lines)."""


class SourceFile(msgspec.Struct, eq=False):
    """One input file: its display path and its text, with line ends normalised to LF."""

    path: str
    text: str
    _blocks: tuple[list[int], list[int]] | None = None
    """(start offset, first line) of each block of about `LINE_BLOCK` characters of whole lines."""
    _split: dict[int, list[str]] | None = None
    """The lines of the blocks looked up last, by block number (the dict's order is the recency)."""
    _parsed: dict[tuple[int, bool], list[tuple[Any, dict[int, Any]]]] | None = None

    def line_text(self, line: int) -> str:
        """Text of a 1-based line, without its line break ('' past the end).

        A list of every line would be the largest thing a lint holds after the models (a string
        per line: 19 MiB for a 4.6 MB file); only the lines of the few blocks looked up last are
        kept.
        """
        if self._blocks is None:
            self._blocks = _line_blocks(self.text, LINE_BLOCK)
        starts, firsts = self._blocks
        if line < 1:
            return ""
        k = bisect.bisect_right(firsts, line) - 1
        cache = self._split
        if cache is None:
            cache = self._split = {}
        lines = cache.pop(k, None)  # re-inserted below: the dict's order is the recency
        if lines is None:
            end = starts[k + 1] - 1 if k + 1 < len(starts) else len(self.text)  # without the block's last LF
            lines = self.text[starts[k] : end].split("\n")
            while len(cache) >= LINE_BLOCKS_KEPT:
                del cache[next(iter(cache))]
        cache[k] = lines
        at = line - firsts[k]
        return lines[at] if at < len(lines) else ""

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


def _line_blocks(text: str, size: int) -> tuple[list[int], list[int]]:
    """(start offset, first line number) of consecutive blocks of whole lines of about `size` characters."""
    starts = [0]
    firsts = [1]
    at = 0
    while True:
        end = text.find("\n", at + size)
        if end < 0:
            return starts, firsts
        firsts.append(firsts[-1] + text.count("\n", at, end + 1))
        at = end + 1
        starts.append(at)


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


class Document(msgspec.Struct, eq=False):
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
    problems: Sequence[tuple[tuple[str | int, ...], LoadError]] = ()
    """Duplicate keys the reference parser found: (field path, error); one shared empty tuple for most
    documents (a list each was 0.5 MB for 9,000 documents, kept as long as their resources)."""
    template: tuple[int, int, str] | None = None
    """(line, column, text) of a Go template action (`{{ .Values.x }}`) in the document's text, if any."""

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
        if not full:
            return Span(self.path, self.line, 1)  # the document itself: where it starts, no parse needed
        origin = self.origin
        place = None
        if origin.fast and len(self.spans or ()) < WALKED_SPANS:
            # Most documents are asked for a span or two: reading the lines on the path is cheaper
            # than parsing the document again (measured: a third of the time for a VirtualService).
            place = _walk(self.source.text, origin, full, key)
        if place is None:
            node, positions = self.source.reparse(origin)
            place = _follow(node, positions, full, key, None)
        if place is _DOCUMENT:
            return Span(self.path, self.line, 1)
        return Span(self.path, *place)


class LoadResult(msgspec.Struct):
    """Everything read from the inputs."""

    documents: list[Document] = msgspec.field(default_factory=list)
    files: list[SourceFile] = msgspec.field(default_factory=list)
    errors: list[tuple[Span, str, str | None]] = msgspec.field(default_factory=list)
    """File-level problems: (where, message, help). Syntax errors, bad encodings, unreadable files."""


# --- scalar resolution: as Kubernetes reads YAML (go-yaml v2 through sigs.k8s.io/yaml) ----------
#
# kubectl and the API server turn YAML into JSON with sigs.k8s.io/yaml, which resolves plain
# scalars with go-yaml v2's `resolve` (go.yaml.in/yaml/v2 v2.4.2, resolve.go) and then converts map
# keys to strings (yaml.go, convertToJSONableObject). Both are ported here, so that meshc reads
# every value as the cluster will: YAML 1.1 booleans (`on`, `yes`, `y`), Go's integer syntax (`0o17`,
# `0x1F`, `017`, `1_000`), no sexagesimal numbers (`1:20` stays a string), `1e3` a float, and
# timestamps kept as text (go-yaml v2 decodes them into interface{} as strings).

_MAPPED: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
}
"""go-yaml v2's resolveMap: the plain scalars that are looked up, not parsed."""
_BOOL_NULL = {k: v for k, v in _MAPPED.items() if v is None or isinstance(v, bool)}
_NUMERIC_START = frozenset("0123456789-+.")
"""go-yaml v2 tries numbers only for scalars that start with a digit, a sign or a dot."""
_GO_INT = re.compile(r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[bB]([01]+)|0[oO]([0-7]+)|(0[0-7]*)|([1-9][0-9]*))")
"""Go's strconv.ParseInt(s, 0, 64) syntax, after go-yaml has removed every `_`."""
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
"""go-yaml v2's yamlStyleFloat."""
_GO_DOT_FLOAT = lazy(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?")
"""What strconv.ParseFloat accepts of a scalar that starts with `.` (go-yaml passes those as they are)."""
_INT64 = 1 << 63


RESOLVED_KEPT = 4096
"""Most plain scalars whose value `resolve_plain` remembers (ports, weights, durations repeat in every document)."""
RESOLVED_LENGTH = 64
"""Longest plain scalar whose value is remembered."""
_RESOLVED: dict[str, Any] = {}


def resolve_plain(text: str) -> Any:
    """Value of a plain (unquoted, untagged) scalar, as go-yaml v2's `resolve` gives it to Kubernetes.

    The values are immutable (text, numbers, booleans, null), so a short scalar's is remembered.
    """
    found = _RESOLVED.get(text, _UNSEEN)
    if found is _UNSEEN:
        found = _resolve_plain(text)
        if len(text) <= RESOLVED_LENGTH and len(_RESOLVED) < RESOLVED_KEPT:
            _RESOLVED[text] = found
    return found


_UNSEEN = object()


def _resolve_plain(text: str) -> Any:
    if text in _MAPPED:
        return _MAPPED[text]
    first = text[0]
    if first not in _NUMERIC_START:
        return text
    if first == ".":
        if _GO_DOT_FLOAT.fullmatch(text):
            value = float(text)
            if not math.isinf(value):  # ParseFloat's ErrRange: go-yaml keeps the text
                return value
        return text
    plain = text.replace("_", "")
    m = _GO_INT.fullmatch(plain)
    if m is not None:
        sign, hexa, binary, octal, octal0, decimal = m.groups()
        if hexa:
            value = int(hexa, 16)
        elif binary:
            value = int(binary, 2)
        elif octal:
            value = int(octal, 8)
        elif octal0:
            value = int(octal0, 8)
        else:
            value = int(decimal)
        if sign == "-":
            value = -value
        if -_INT64 <= value < _INT64 or (not sign and value < 2 * _INT64):  # ParseInt, then ParseUint
            return value
    if _GO_FLOAT.fullmatch(plain):
        value = float(plain)
        if not math.isinf(value):
            return value
    return text


def json_key(value: Any) -> Any:
    """A mapping key as sigs.k8s.io/yaml writes it into JSON: numbers and booleans become their text.

    (`convertToJSONableObject`: ints in decimal, floats with Go's `%g` at float32 precision, booleans
    `true`/`false`.) Strings and null are returned as they are.
    """
    if value is None or isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float32(value)
    return value


def _go_float32(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32), with go-yaml's names for the special values."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    import struct

    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):  # the shortest decimal that reads back as the same float32
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    numerals = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if exp < -4 or exp >= 6:  # Go's %g with the shortest precision switches to %e at these exponents
        rest = f".{numerals[1:]}" if len(numerals) > 1 else ""
        return f"{sign}{numerals[0]}{rest}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{numerals}"
    whole, frac = numerals[: exp + 1], numerals[exp + 1 :]
    return f"{sign}{whole.ljust(exp + 1, '0')}{'.' + frac if frac else ''}"


def _plain_key(text: str) -> Any:
    """A plain mapping key: its text, or the JSON text of the number or boolean it resolves to."""
    return json_key(resolve_plain(text))


# --- the fast parser ----------------------------------------------------------------------------

# A plain key: its first character is not an indicator (or is '-', '?' or ':' followed by a safe
# character), and it holds no ':' or '#' (which keeps the grammar unambiguous).
_KEY = r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`][^:#\t]*?|[-?:][^\s:#,\[\]{}][^:#\t]*?)"""
_LINE = re.compile(r"( *)(-(?: +|$))?(?:(" + _KEY + r")[ ]*:(?: +|$))?(.*)")
"""One line of block YAML: indentation, an optional "- ", an optional plain key and ":", the rest."""
_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPE_LEN = {"x": 2, "u": 4, "U": 8}
_FLOW_PLAIN_STOP = lazy(r"[,\[\]{}]|:(?=[ ,?\[\]{}]|$)|\s#")
"""Where a plain scalar inside a flow collection ends (libyaml 0.2.5, yaml_parser_scan_plain_scalar).

A `:` followed by anything else is part of the scalar (`https://x`, `nginx:1.27`); followed by one of
`,?[]{}` it is an error, which the fast parser leaves to the reference parser to report."""
_DOC_START = re.compile(r"\n---(?=[ \t\n]|\Z)")
"""A `---` line, found by its line break before (a `^` with re.M is tried at every character: 3x slower)."""
_VALUE_SPECIAL = frozenset("\"'[{|>&*!%@`#,?:-")
_BLOCK_HEADER = lazy(r"([|>])([-+]?)[ ]*(?:#.*)?$")


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


_SKIP: Any = object()
"""`_read_line`'s answer for a blank line or a comment."""
LINES_READ_KEPT = 2048
"""Most lines whose reading `_Fast.parse` remembers (then it starts again: the common ones come back first)."""
LINE_READ_LENGTH = 120
"""Longest line whose reading is remembered."""
_LINES_READ: dict[str, Any] = {}


def _key_of(key_text: str) -> Any:
    """The key a plain key text makes, as Kubernetes reads it (`_plain_key`); text is interned (keys repeat)."""
    return _plain_key(key_text) if key_text[0] in _NUMERIC_START or key_text in _BOOL_NULL else sys.intern(key_text)


def _plain_text(rest: str) -> str | None:
    """The plain scalar `rest` (the rest of a line, after its key or "- ") holds, without a comment or trailing blanks.

    None for one the fast parser gives up on: a `: `, a trailing `:` or a tab in it.
    """
    k = rest.find(" #")
    text = (rest if k < 0 else rest[:k]).rstrip(" ")
    if ": " in text or text[-1] == ":" or "\t" in text:
        return None
    return text


def _plain_value(text: str) -> Any:
    """`resolve_plain(text)`, without the resolver's work for text that cannot be a number, and interned."""
    if text[0] in _NUMERIC_START:
        return resolve_plain(text)
    return _BOOL_NULL[text] if text in _BOOL_NULL else sys.intern(text)


def _read_line(raw: str) -> Any:
    """What one line says by itself to `_Fast.parse`; raises `_Bail` for a line the fast parser gives up on.

    `_SKIP` for a blank line or a comment, else (indentation, "- " or None, plain key text or None,
    the rest, the key it makes, (value, length) of the plain scalar after a key or None, the key
    text's length, the rest's column).
    Everything here is a function of the line's text alone, and immutable (text, numbers, booleans,
    null), so a reading is shared by every line with the same text.
    """
    ind_s, dash, key_text, rest = _LINE.match(raw).groups()  # type: ignore[union-attr]  # the pattern matches any line
    if dash is None and key_text is None:
        if not rest or rest[0] == "#":
            return _SKIP
        if rest[0] == "\t":
            if rest.isspace():
                return _SKIP
            raise _Bail
    ind = len(ind_s)
    if ind == 0 and (raw.startswith(("---", "...")) or raw[0] == "%"):
        raise _Bail
    key = plain = None
    if key_text is not None:
        key = _key_of(key_text)
        if rest and rest[0] != "#" and rest[0] not in _VALUE_SPECIAL:
            # The common value: a plain scalar (one that would make the parser give up is left to it).
            text = _plain_text(rest)
            if text is not None:
                plain = (_plain_value(text), len(text))
    return ind, dash, key_text, rest, key, plain, len(key_text) if key_text is not None else 0, len(raw) - len(rest)


class _Fast:
    """Line-based parser for block-style YAML. Records positions as it goes (unless told not to)."""

    __slots__ = ("depth", "line_no", "lines", "open_end", "pos", "positions")

    def __init__(self, lines: list[str], first_line: int, open_end: bool = False, positions: bool = True) -> None:
        self.lines = lines
        self.open_end = open_end
        """The text does not end with a line break (a block scalar on the last line then has none)."""
        self.pos: dict[int, Any] = {}
        self.positions = positions
        """Whether to fill `pos` for the block structure: loading keeps no positions, so it skips them
        (about 15% of the parse); a position is found by parsing the text again with them."""
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
                key = json_key(key)
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
            if stop[-1] == "#":
                raise _Bail  # a comment inside a one-line flow collection
            if stop == ":" and end + 1 < len(s) and s[end + 1] != " ":
                raise _Bail  # `a:,` or `a:}` inside a flow collection: libyaml reports "found unexpected ':'"
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
        if j == n and self.open_end:
            raise _Bail  # the last line has no line break: leave the chomping to the reference parser
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
        text = _plain_text(rest)
        if text is None:
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
        track = self.positions
        special = _VALUE_SPECIAL
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
        seen = _LINES_READ
        skip = _SKIP
        while idx < n:
            raw = lines[idx]
            idx += 1
            # Lines repeat across documents (`spec:`, `  - destination:`, `    port: 80`): what a
            # line says by itself is read once (`_read_line`), then looked up.
            got = seen.get(raw)
            if got is None:
                got = _read_line(raw)
                if len(raw) <= LINE_READ_LENGTH:
                    if len(seen) >= LINES_READ_KEPT:
                        seen.clear()
                    seen[raw] = got
            if got is skip:
                continue
            ind, dash, key_text, rest, key, plain, klen, vcol = got
            line = base + idx
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
                        table: Any = None
                        if track:
                            table = pos[id(new)] = [] if is_item else {}
                            if cur_map:
                                old = cur_tab[pending]
                                cur_tab[pending] = (old[0], old[1], old[2], line, ind + 1, 0)
                            else:
                                cur_tab[pending] = (line, ind + 1, 0, line, ind + 1, 0)
                        cur[pending] = new
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
                table = None
                if track:
                    table = pos[id(root)] = [] if is_item else {}
                cur, cur_tab, cur_ind, cur_map = root, table, ind, not is_item
            if cur_ind != ind:
                raise _Bail
            if is_item:
                if cur_map:
                    raise _Bail
                if key_text is None:
                    col = vcol
                    if not rest or rest[0] == "#":
                        pending = len(cur)
                        cur.append(None)
                        # An empty item is where the `-` ends (libyaml puts the empty scalar there).
                        if track:
                            cur_tab.append((line, ind + 2, 0, line, ind + 2, 0))
                        continue
                    c = rest[0]
                    if c == "-" and (len(rest) == 1 or rest[1] == " "):
                        raise _Bail
                    quoted = _quoted_key(rest) if c == '"' or c == "'" else None
                    if quoted is None:
                        value, vlen, idx = self._value(rest, col, idx, ind)
                        cur.append(value)
                        if track:
                            cur_tab.append((line, col + 1, vlen, line, col + 1, vlen))
                        continue
                    key, klen, rest_at = quoted
                    vcol = col + rest_at
                    rest = rest[rest_at:]
                else:
                    col = ind + len(dash)
                # "- key: value": a mapping starts inside the item, at the key's column.
                new = {}
                table = None
                if track:
                    table = pos[id(new)] = {}
                cur.append(new)
                if track:
                    cur_tab.append((line, col + 1, 0, line, col + 1, 0))
                stack.append((cur_ind, cur, cur_tab, cur_map))
                if len(stack) >= MAX_DEPTH:
                    raise _Bail
                cur, cur_tab, cur_ind, cur_map = new, table, col, True
                kcol = col
            elif key_text is not None:
                kcol = ind
            else:
                quoted = _quoted_key(rest) if rest[0] == '"' or rest[0] == "'" else None
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
                # An empty value is where the `:` ends (libyaml puts the empty scalar there).
                if track:
                    cur_tab[key] = (line, kcol + 1, klen, line, raw.index(":", kcol + klen) + 2, 0)
                continue
            if plain is not None:
                value, vlen = plain
            elif rest[0] in special:
                value, vlen, idx = self._value(rest, vcol, idx, kcol)
            else:
                # A plain scalar `_read_line` did not read: after a quoted key, or one that makes the parser give up.
                text = _plain_text(rest)
                if text is None:
                    raise _Bail
                value = _plain_value(text)
                vlen = len(text)
            cur[key] = value
            if track:
                cur_tab[key] = (line, kcol + 1, klen, line, vcol + 1, vlen)
        if root is None:
            return None, 0, 0
        return root, root_line, root_col


def _quoted_key(s: str) -> tuple[Any, int, int] | None:
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


# --- a position without a parse: the path walker ------------------------------------------------
#
# A document the fast parser read is block YAML whose structure is its indentation: in a mapping
# whose keys stand at column I, an entry is a line indented by I that is not a "- " item, and every
# line until the next such one (deeper lines, the "- " items of a list written at I, comments,
# block scalar bodies, which are always deeper than their key or "-") belongs to that entry's
# value; the mapping ends at a line indented less. A sequence at I is the same with "- " lines.
# Since the fast parser read the whole text without giving up, nothing else can be there (no tab
# that indents, no anchor, tag, multi-line plain scalar, duplicate or merge key), so `_walk` finds
# a path's place by reading only the lines of the mappings and sequences on the path (a regular
# expression skips the deeper ones), and makes the position entries `_Fast.parse` would record for
# them, without building any data. A one-line flow collection on the path is parsed alone, by the
# fast parser's own `_flow`. The walker declines (None) on a line it does not expect and on path
# parts that are neither text nor an index; the parse with positions then answers.

_Entry = tuple[int, int, int, int, int, int]
"""A position entry, as `_Fast` records it (see `Pos`); `_walk`'s have line-start offsets for line numbers."""
_Place = tuple[int, int, int | None, int | None]
"""(line, column, end line, end column) of a span; `_DOCUMENT` for the document itself."""
_DOCUMENT: _Place = (0, 0, None, None)
_MAP, _SEQ, _FLOW = 0, 1, 2
_Block = tuple[int, int, int]
"""A container on the path: (offset of its first line, column of its first key or "-", `_MAP`, `_SEQ` or `_FLOW`)."""
_NOT_THERE = object()
"""A look-up's answer when the path's part is not in the container."""
_ODD = (-1, -1)
"""`_next_line`'s and `_sibling`'s answer for a line `_walk` does not read."""
_INDENTED: dict[int, re.Pattern[str]] = {}
"""By column I: the start of a line indented by at most I spaces that is not blank."""


def _key_place(entry: _Entry | None) -> _Place:
    """The span of an entry's key (a list item's: the item's own place); `_DOCUMENT` for no entry."""
    if entry is None:
        return _DOCUMENT
    kl, kc, klen = entry[0], entry[1], entry[2]
    return kl, kc, kl, kc + klen if klen else None


def _final(entry: _Entry, key: bool, child: Any, positions: dict[int, Any]) -> _Place:
    """The span of the node an entry describes (`Document.span`'s last step); `child` is the node."""
    _, _, klen, vl, vc, vlen = entry
    if key and not klen and isinstance(child, dict) and child:
        # A list item has no key: point at its first key, which has an extent.
        first = positions.get(id(child), {}).get(next(iter(child)))
        if first is not None and first[2]:
            return first[0], first[1], first[0], first[1] + first[2]
    if key:
        return _key_place(entry)
    return vl, vc, vl if vlen else None, vc + vlen if vlen else None


def _follow(node: Any, positions: dict[int, Any], path: tuple[Any, ...], key: bool, entry: _Entry | None) -> _Place:
    """The span of `path` from `node` through a position table; `entry` is where `node` itself was found.

    A missing path gives the key of the deepest part that exists (where the missing field belongs).
    """
    for i, part in enumerate(path):
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
        if i == len(path) - 1:
            return _final(here, key, child, positions)
    return _key_place(entry)


def _indented(column: int) -> re.Pattern[str]:
    found = _INDENTED.get(column)
    if found is None:
        found = _INDENTED[column] = re.compile(f"\\n {{0,{column}}}(?=[^ \\n])")
    return found


_ANY_INDENT = re.compile(r"\n *(?=[^ \n])")
# The patterns of the walker start with the line break before a line, not with `^` and re.M: the
# regular expression engine then jumps from line break to line break instead of trying every
# character (measured: three times faster on a VirtualService).
_FIRST_LINE = re.compile(r" *(?=[^ \n])")


def _next_line(text: str, nl: int, end: int, pattern: re.Pattern[str]) -> tuple[int, int] | None:
    """(line start, offset of its first character) of the next content line `pattern` finds after the line break at nl.

    Comments and blank lines are skipped; None if there is none before `end`; `_ODD` for a line
    whose spaces are followed by a tab and more (only a block scalar's body holds one). With nl
    -1, the line at offset 0 is the first looked at.
    """
    while True:
        if nl < 0:
            m = _FIRST_LINE.match(text, 0, end)
            start = 0
        else:
            m = pattern.search(text, nl, end)
            start = -1 if m is None else m.start() + 1
        if m is not None:
            at = m.end()
            c = text[at]
            if c != "#" and c != "\t":
                return start, at
            if c == "\t" and not text[at : _line_end(text, at, end)].isspace():
                return _ODD
        elif nl >= 0:
            return None
        else:
            at = 0
        nl = text.find("\n", at, end)
        if nl < 0:
            return None


def _is_item(text: str, at: int, end: int) -> bool:
    """Whether a "- " sequence item starts at offset `at` (`_LINE`'s `-(?: +|$)`)."""
    return text.startswith("- ", at) or (text.startswith("-", at) and (at + 1 == end or text[at + 1] == "\n"))


def _line_end(text: str, at: int, end: int) -> int:
    nl = text.find("\n", at, end)
    return end if nl < 0 else nl


def _entry_key(text: str, at: int, eol: int) -> tuple[Any, int, str, int] | None:
    """The mapping key at offset `at` of a line: (key as `_Fast` builds it, its length, the rest, its offset)."""
    m = _LINE.match(text, at, eol)
    if m is None or m.group(1) or m.group(2) is not None:
        return None
    key_text, rest = m.group(3), m.group(4)
    if key_text is not None:
        return _key_of(key_text), len(key_text), rest, m.start(4)
    if not rest or (rest[0] != '"' and rest[0] != "'"):
        return None
    try:
        quoted = _quoted_key(rest)
    except _Bail:
        return None
    if quoted is None:
        return None
    key, klen, rest_at = quoted
    return key, klen, rest[rest_at:], at + rest_at


def _on_line(rest: str, start: int, col: int) -> tuple[int, _Block | None] | None:
    """(length `_Fast` records, block of a flow collection) of the value `rest` at column col of the line at `start`.

    None for what `_walk` does not read.
    """
    c = rest[0]
    try:
        if c == '"':
            return _double_quoted(rest, 0)[1], None
        if c == "'":
            return _single_quoted(rest, 0)[1], None
    except _Bail:
        return None
    if c == "[" or c == "{":
        return 0, (start, col, _FLOW)
    if c == "|" or c == ">":
        return 0, None
    text = _plain_text(rest)
    return None if text is None else (len(text), None)


def _nested(text: str, eol: int, end: int, indent: int, in_map: bool) -> _Block | None:
    """The block that an empty value on the line ending at eol holds, as `_Fast.parse` opens it, or None.

    It is the next content line if that is deeper than `indent`, or, for a mapping's key, a "- "
    item at the key's own column. None if the value stays empty; a block at offset -1 for a line
    `_walk` does not read.
    """
    if eol >= end:
        return None
    found = _next_line(text, eol, end, _ANY_INDENT)
    if found is None:
        return None
    start, at = found
    if start < 0:
        return (-1, -1, _MAP)
    ind = at - start
    item = _is_item(text, at, end)
    if ind > indent or (in_map and item and ind == indent):
        return start, ind, _SEQ if item else _MAP
    return None


def _walk(text: str, origin: Origin, path: tuple[Any, ...], key: bool) -> _Place | None:
    """`Document.span(path, key=key)` in a document the fast parser read, from its text alone; None to decline."""
    lo, end = origin.start, origin.end
    # A document's text starts a line: the line break before it, or the start of the file (-1).
    nl = _line_end(text, lo, end) if text.startswith("---", lo) else lo - 1
    found = _next_line(text, nl, end, _ANY_INDENT) if nl < end else None
    if found is None or found[0] < 0:
        return None
    start, at = found
    frame: _Block | None = (start, at - start, _SEQ if _is_item(text, at, end) else _MAP)
    entry: _Entry | None = None
    last = len(path) - 1
    for i, part in enumerate(path):
        if frame is None:
            break  # a scalar (or an empty value) holds no fields
        start, column, kind = frame
        if start < 0:
            return None
        if kind == _FLOW:
            flow = _flow_at(text, origin, frame)
            if flow is None:
                return None
            return _follow(*flow, path[i:], key, None if entry is None else _numbered(text, origin, entry))
        got: Any
        if kind == _MAP:
            if type(part) is str:
                got = _find_key(text, end, start, column, part)
            elif type(part) is int:
                break  # an index into a mapping: not there
            else:
                return None
        elif type(part) is int and part >= 0:
            got = _find_item(text, end, start, column, part)
        elif type(part) is str:
            break  # a field of a sequence: not there
        else:
            return None
        if got is None:
            return None
        if got is _NOT_THERE:
            break
        entry, frame = got
        if i == last:
            numbered = _numbered(text, origin, entry)
            if key and not numbered[2] and frame is not None and frame[2] != _SEQ:
                return _first_key(text, origin, numbered, frame)
            return _final(numbered, key, None, {})
    return _key_place(None if entry is None else _numbered(text, origin, entry))


def _numbered(text: str, origin: Origin, entry: _Entry) -> _Entry:
    """A `_walk` entry (line-start offsets) with line numbers instead, as `_Fast` records it."""
    kl, kc, klen, vl, vc, vlen = entry
    first, lo = origin.first_line, origin.start
    key_line = first + text.count("\n", lo, kl)
    return key_line, kc, klen, key_line if vl == kl else first + text.count("\n", lo, vl), vc, vlen


def _flow_at(text: str, origin: Origin, frame: _Block) -> tuple[Any, dict[int, Any]] | None:
    """The one-line flow collection of `frame` and its positions, parsed alone as `_Fast._value` parses it."""
    start, column, _ = frame
    line = origin.first_line + text.count("\n", origin.start, start)
    parser = _Fast([], line)
    try:
        node, _end = parser._flow(text[start : _line_end(text, start, origin.end)], column, line, 1)
    except _Bail:
        return None
    return node, parser.pos


def _first_key(text: str, origin: Origin, entry: _Entry, frame: _Block) -> _Place | None:
    """The key span of a list item (`entry`, numbered) that holds the mapping `frame`: its first key."""
    start, column, kind = frame
    if start < 0:
        return None
    if kind == _FLOW:
        flow = _flow_at(text, origin, frame)
        return None if flow is None else _final(entry, True, *flow)
    at = start + column
    first = _entry_key(text, at, _line_end(text, at, origin.end))
    if first is None:
        return None
    line = origin.first_line + text.count("\n", origin.start, start)
    return line, column + 1, line, column + 1 + first[1]


def _sibling(text: str, at: int, end: int, search: Any, column: int, items: bool) -> tuple[int, int] | None:
    """(line start, offset of its first character) of the next line at `column` after the one holding offset `at`.

    Deeper lines, comments, blank lines and, unless `items`, "- " items are skipped; None when the
    container ends first, `_ODD` for a line `_walk` does not read.
    """
    while True:
        nl = text.find("\n", at, end)
        if nl < 0:
            return None
        m = search(text, nl, end)
        if m is None:
            return None
        at = m.end()
        c = text[at]
        if c == "#":
            continue
        if c == "\t":
            if text[at : _line_end(text, at, end)].isspace():
                continue
            return _ODD
        start = m.start() + 1
        if at - start < column:
            return None
        item = c == "-" and _is_item(text, at, end)
        if items:
            return (start, at) if item else None  # a key at the sequence's column ends it
        if not item:
            return start, at
        # a "- " item of the list an entry holds, written at the mapping's own column: skipped


_KEY_MAY_RESOLVE = frozenset("\"'") | _NUMERIC_START | {k[0] for k in _BOOL_NULL if k}
"""First characters of the keys that are not their own text (quoted, or resolved as numbers, booleans, null)."""


_SIMPLE_KEY = re.compile(r"[^\W\d_][^:#\s'\"]*")
"""A path part that only its own plain text or a quoted key can be, when it is not in `_BOOL_NULL`: no
resolved key (a number, `true`, `false`, null) is text that starts with a letter."""
_KEY_LINES: dict[tuple[int, str], re.Pattern[str] | None] = {}
"""By (column, key): the first line that is indented less than the column, or is key's at the column
(plain, or any quoted key), skipping comments and blank lines; None for a key that is not simple."""
KEY_LINES_KEPT = 1024
"""Most patterns `_KEY_LINES` keeps (a key and a column each; a lint asks for a few dozen)."""


def _key_lines(column: int, part: str) -> re.Pattern[str] | None:
    try:
        return _KEY_LINES[(column, part)]
    except KeyError:
        pass
    if len(_KEY_LINES) >= KEY_LINES_KEPT:
        _KEY_LINES.clear()
    found = None
    if part not in _BOOL_NULL and _SIMPLE_KEY.fullmatch(part):
        less = f" {{0,{column - 1}}}(?=[^ \\n#\\t])|" if column else ""
        found = re.compile(f"\\n(?:{less} {{{column}}}(?={re.escape(part)}[ ]*:(?:[ \\n]|\\Z)|[\"']))")
    _KEY_LINES[(column, part)] = found
    return found


def _find_key(text: str, end: int, start: int, column: int, part: str) -> Any:
    """(entry, block of its value) of key `part` of the mapping whose first key is at `column` of line `start`.

    `_NOT_THERE` when the mapping has no such key; None to decline.
    """
    at = start + column
    pattern = _key_lines(column, part)
    if pattern is not None:
        # Only the lines that can hold the key are read: the first, and those the pattern finds.
        search = pattern.search
        while True:
            c = text[at]
            if c == '"' or c == "'" or text.startswith(part, at):
                got = _entry_at(text, end, start, column, at, part)
                if got is not _NOT_THERE:
                    return got
            nl = text.find("\n", at, end)
            m = None if nl < 0 else search(text, nl, end)
            if m is None:
                return _NOT_THERE
            start, at = m.start() + 1, m.end()
            if at - start < column:
                return _NOT_THERE
            c = text[at]
            if c != '"' and c != "'":
                # `part` itself, plain (the pattern saw it, blanks, `:` and a blank or the line's end):
                # its key is its text (it is not one that resolves), and the value follows the blanks.
                eol = _line_end(text, at, end)
                vat = text.index(":", at + len(part)) + 1
                while vat < eol and text[vat] == " ":
                    vat += 1
                return _value_entry(text, end, start, column, at, len(part), text[vat:eol], vat, eol)
    search = _indented(column).search
    while True:
        if text.startswith(part, at) or text[at] in _KEY_MAY_RESOLVE:  # else this key cannot be `part`
            got = _entry_at(text, end, start, column, at, part)
            if got is not _NOT_THERE:
                return got
        found = _sibling(text, at, end, search, column, False)
        if found is None:
            return _NOT_THERE
        if found is _ODD:
            return None
        start, at = found


def _entry_at(text: str, end: int, start: int, column: int, at: int, part: str) -> Any:
    """(entry, block of its value) of the mapping key at offset `at` (`column` of line `start`) if it is `part`.

    `_NOT_THERE` if it is another key; None to decline.
    """
    eol = _line_end(text, at, end)
    got = _entry_key(text, at, eol)
    if got is None:
        return None
    k, klen, rest, vat = got
    if k != part:
        return _NOT_THERE
    return _value_entry(text, end, start, column, at, klen, rest, vat, eol)


def _value_entry(
    text: str, end: int, start: int, column: int, at: int, klen: int, rest: str, vat: int, eol: int
) -> Any:
    """(entry, block of its value) of a mapping key of length klen at offset `at`, whose value `rest` is at `vat`."""
    if not rest or rest[0] == "#":
        nested = _nested(text, eol, end, column, True)
        if nested is None:
            # An empty value is where the `:` ends (libyaml puts the empty scalar there).
            return (start, column + 1, klen, start, text.index(":", at + klen) - start + 2, 0), None
        if nested[0] < 0:
            return None
        return (start, column + 1, klen, nested[0], nested[1] + 1, 0), nested
    value = _on_line(rest, start, vat - start)
    if value is None:
        return None
    return (start, column + 1, klen, start, vat - start + 1, value[0]), value[1]


def _find_item(text: str, end: int, start: int, column: int, part: int) -> Any:
    """(entry, block of its value) of item `part` of the sequence whose first "- " is at `column` of line `start`.

    `_NOT_THERE` when the sequence is shorter; None to decline.
    """
    search = _indented(column).search
    at = start + column
    for _ in range(part):
        found = _sibling(text, at, end, search, column, True)
        if found is None:
            return _NOT_THERE
        if found is _ODD:
            return None
        start, at = found
    eol = _line_end(text, at, end)
    m = _LINE.match(text, at, eol)
    if m is None or m.group(1) or m.group(2) is None:
        return None
    key_text, rest = m.group(3), m.group(4)
    if key_text is not None:
        # "- key: value": a mapping starts inside the item, at the key's column.
        col = column + len(m.group(2))
        return (start, col + 1, 0, start, col + 1, 0), (start, col, _MAP)
    col = m.start(4) - start
    if not rest or rest[0] == "#":
        nested = _nested(text, eol, end, column, False)
        if nested is None:
            # An empty item is where the `-` ends (libyaml puts the empty scalar there).
            return (start, column + 2, 0, start, column + 2, 0), None
        if nested[0] < 0:
            return None
        return (nested[0], nested[1] + 1, 0, nested[0], nested[1] + 1, 0), nested
    if rest[0] == '"' or rest[0] == "'":
        try:
            quoted = _quoted_key(rest)
        except _Bail:
            return None
        if quoted is not None:  # `- "key": value`
            return (start, col + 1, 0, start, col + 1, 0), (start, col, _MAP)
    value = _on_line(rest, start, col)
    if value is None:
        return None
    return (start, col + 1, value[0], start, col + 1, value[0]), value[1]


_NONE = object()


# --- the reference parser (meshc/yamlref.py: libyaml's events, or the pure-Python parser) --------

_TAGGED: dict[str, type] = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}
_NON_PRINTABLE = lazy("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
"""What YAML's reader refuses (libyaml and PyYAML test the same set): checked here so that the C and
the pure-Python parser report it at the same place. Written as the complement of the printable set
`[\\t\\n\\r\\x20-\\x7e\\x85\\xa0-\\ud7ff\\ue000-\\ufffd\\U00010000-\\U0010ffff]`, which `re` compiles 13 times
slower (a class reaching U+10FFFF), at every start."""
_MERGE = object()
"""The plain key `<<`: a merge (go-yaml v2 `isMerge`), not a key."""


def _ref_parse(text: str, first_line: int) -> Iterator[tuple[Any, dict[int, Any], int, list[Any]]]:
    """Parse text with the reference parser; yield (root, positions, first line, duplicate keys) per document.

    Raises LoadError at the first syntax error (positions shifted by first_line).
    """
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        before = text[: bad.start()]
        raise LoadError(
            f"YAML error: unacceptable character U+{ord(bad.group()):04X} (control characters are not allowed)",
            before.count("\n") + first_line,
            bad.start() - (before.rfind("\n") + 1) + 1,
        )
    import yaml.error

    from meshc import yamlref

    cls = yamlref.parser_class()
    errors = getattr(cls, "error_module", yaml.error)  # ruamel.yaml's errors for the pure-Python parser
    MarkedYAMLError, YAMLError = errors.MarkedYAMLError, errors.YAMLError
    parser = cls(text)
    try:
        yield from _Builder(parser, first_line - 1).documents()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        col = (mark.column + 1) if mark else 1
        problem = exc.problem or "syntax error"
        if problem == "exceeded maximum nesting depth":
            raise LoadError(f"document nests deeper than {MAX_DEPTH} levels", line, col) from None
        context = f" ({exc.context})" if exc.context else ""
        raise LoadError(f"YAML syntax error: {problem}{context}", line, col) from None
    except YAMLError as exc:
        raise LoadError(f"YAML error: {str(exc).splitlines()[0]}", first_line, 1) from None
    finally:
        parser.dispose()


class _Frame:
    """An open mapping or sequence while the builder walks events."""

    __slots__ = (
        "anchor", "at", "container", "is_map", "key", "key_at", "merge_into", "merged", "nodes", "table", "text",
    )  # fmt: skip

    def __init__(self, container: Any, table: Any, is_map: bool, anchor: str | None) -> None:
        self.container = container
        self.table = table
        self.is_map = is_map
        self.anchor = anchor
        self.at: tuple[int, int] = (0, 0)
        """Where the container starts (line, column)."""
        self.key: Any = _NONE
        self.key_at: tuple[int, int, int] = (0, 0, 0)
        self.merge_into: tuple[_Frame, int, int] | None = None
        """The mapping (and the position) this container is merged into when it ends (`<<: {...}`)."""
        self.merged: set[Any] | None = None
        """Keys this mapping holds from a merge (`<<`), which a key written later replaces."""
        self.nodes = 1
        """Nodes of the container once expanded (for the alias budget)."""
        self.text = 0
        """Characters of scalar text in the container once expanded (for the alias budget)."""


class _Builder:
    """Builds plain data and positions from the reference parser's events, iteratively, with bounds."""

    def __init__(self, parser: Any, shift: int) -> None:
        from yaml import events

        self.get_event = parser.get_event
        self.ev = getattr(parser, "events_module", events)  # ruamel.yaml's events for the pure-Python parser
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
        anchors: dict[str, tuple[Any, int, int, tuple[int, int, int]]] = {}
        duplicates: list[Any] = []
        # What Kubernetes refuses once the document is parsed (a bad merge, a collection as a key):
        # go-yaml v2 parses the whole document before it decodes, so a syntax error further on
        # is reported first, and these only at the document's end.
        problems: list[LoadError] = []
        stack: list[_Frame] = []
        root: Any = None
        root_line = 1
        aliased_nodes = aliased_text = 0
        while True:
            event = self.get_event()
            cls = event.__class__
            if cls is doc_end:
                if problems:
                    raise problems[0]
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
                merge_into = None
                if not stack:
                    root, root_line = container, line
                elif stack[-1].key is _MERGE:  # `<<: {...}` or `<<: [...]`: merged once complete
                    merge_into = stack[-1]
                    merge_into.key = _NONE
                else:
                    self._attach(stack[-1], container, line, col, 0, duplicates, pos, problems)
                frame = _Frame(container, table, is_map, event.anchor)
                frame.at = (line, col)
                if merge_into is not None:
                    frame.merge_into = (merge_into, line, col)
                stack.append(frame)
                continue
            if cls is map_end or cls is seq_end:
                frame = stack.pop()
                if frame.merge_into is not None:
                    target, mline, mcol = frame.merge_into
                    _merge(target, frame.container, pos, mline, mcol, problems)
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.nodes, frame.text, (*frame.at, 0))
                if stack:
                    stack[-1].nodes += frame.nodes
                    stack[-1].text += frame.text
                continue
            if cls is scalar_ev:
                value, vlen = _scalar(event)
                nodes, text = 1, len(event.value)
                if event.anchor:
                    anchors[event.anchor] = (value, nodes, text, (line, col, vlen))
            elif cls is alias_ev:
                if event.anchor not in anchors:
                    raise LoadError(f"YAML error: alias `*{event.anchor}` has no anchor before it", line, col)
                # What an alias stands for is where its anchor wrote it: one place per thing, so a
                # finding in an aliased value is reported once, at the anchor.
                value, nodes, text, anchor_at = anchors[event.anchor]
                aliased_nodes += nodes
                aliased_text += text
                if aliased_nodes > MAX_ALIAS_NODES or aliased_text > MAX_ALIAS_TEXT:
                    what = (
                        f"{aliased_nodes:,} nodes; meshc expands at most {MAX_ALIAS_NODES:,}"
                        if aliased_nodes > MAX_ALIAS_NODES
                        else f"{aliased_text:,} characters of text; meshc expands at most {MAX_ALIAS_TEXT:,}"
                    )
                    raise LoadError(
                        f"aliases repeat {what} in one document",
                        line,
                        col,
                        help="this looks like a YAML bomb (billion laughs); meshc does not expand it",
                    )
                line, col, vlen = anchor_at
            else:
                continue
            if stack:
                frame = stack[-1]
                frame.nodes += nodes
                frame.text += text
                self._attach(frame, value, line, col, vlen, duplicates, pos, problems)
            else:
                root, root_line = (value if value is not _MERGE else "<<"), line

    @staticmethod
    def _attach(
        frame: _Frame,
        value: Any,
        line: int,
        col: int,
        vlen: int,
        duplicates: list[Any],
        pos: dict[int, Any],
        problems: list[LoadError],
    ) -> None:
        """Put value into the open container (as the next item, key or value)."""
        if not frame.is_map:
            frame.container.append(value if value is not _MERGE else "<<")
            frame.table.append((line, col, vlen, line, col, vlen))
            return
        if frame.key is _NONE:
            if isinstance(value, (dict, list)):
                # `{[x]: 1}`, `? {b: c}`: go-yaml v2 (decode.go, `mapping`) fails with "invalid map
                # key", so Kubernetes refuses the document. A placeholder key keeps the build going.
                message = "YAML error: a mapping or a list cannot be a mapping key (Kubernetes refuses it)"
                problems.append(LoadError(message, line, col))
                value = object()
            elif value is not _MERGE:
                value = json_key(value)
            frame.key = value
            frame.key_at = (line, col, vlen)
            return
        key = frame.key
        kl, kc, klen = frame.key_at
        frame.key = _NONE
        if value is _MERGE:
            value = "<<"
        container, table = frame.container, frame.table
        if key is _MERGE:
            _merge(frame, value, pos, line, col, problems)
            return
        merged = frame.merged
        if key in container and not (merged and key in merged):
            duplicates.append((id(container), key, kl, kc, klen, table[key][0]))
        elif merged:
            merged.discard(key)
        container[key] = value
        table[key] = (kl, kc, klen, line, col, vlen)


def _merge(frame: _Frame, value: Any, pos: dict[int, Any], line: int, col: int, problems: list[LoadError]) -> None:
    """Apply a merge key (`<<: *base` or `<<: [*a, *b]`) where it stands, as go-yaml v2 does.

    go-yaml v2 (decode.go, `mapping` and `merge`) copies the merged keys in when it reaches the
    `<<`, over what the mapping already holds, with the earlier mapping of a list winning; a key
    written after the `<<` replaces a merged one. Each merged key keeps its position in the mapping
    it comes from. Anything but a mapping or a list of mappings is an error for Kubernetes (kept in
    `problems`, reported at the document's end).
    """
    sources = value if isinstance(value, list) else [value]
    if not sources or not all(isinstance(src, dict) for src in sources):
        problems.append(LoadError("YAML error: a merge (`<<`) takes a mapping or a list of mappings", line, col))
        return
    if frame.merged is None:
        frame.merged = set()
    container, table = frame.container, frame.table
    for src in reversed(sources):
        src_table = pos.get(id(src), {})
        for k, v in src.items():
            container[k] = v
            if k in src_table:
                table[k] = src_table[k]
            frame.merged.add(k)


def _scalar(event: Any) -> tuple[Any, int]:
    """Value of a scalar event: plain scalars are resolved, quoted ones stay strings."""
    value = event.value
    style = event.style
    tag = event.tag
    start, end = event.start_mark, event.end_mark
    vlen = end.column - start.column if end.line == start.line else 0
    if tag is None or tag == "!":
        if not style and tag is None:
            if not value:
                return None, vlen
            if value == "<<":
                return _MERGE, vlen
            return resolve_plain(value), vlen
        if tag == "!" and value == "<<":
            # go-yaml v2 makes a scalar tagged `!` plain-implicit, quoted or not (parserc.go,
            # `yaml_parser_parse_node`), so `! <<` is a merge key (decode.go, `isMerge`); its text
            # is never resolved (resolve.go, `resolvableTag`): `! 1` stays "1".
            return _MERGE, vlen
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
    if tag == "tag:yaml.org,2002:merge" and value == "<<":
        return _MERGE, vlen
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
    starts = [0]  # the first document starts the text, with or without its `---`
    starts.extend(m.start() + 1 for m in _DOC_START.finditer(text))
    line = 1
    prev = 0
    for i, start in enumerate(starts):
        line += text.count("\n", prev, start)
        prev = start
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield start, end, line


def parse_text(source: SourceFile) -> tuple[list[Document], list[LoadError]]:
    """Parse every document of one file. A syntax error stops only the document it is in."""
    errors: list[LoadError] = []
    return list(_documents(source, errors)), errors


def _documents(source: SourceFile, errors: list[LoadError]) -> Iterator[Document]:
    """Parse the documents of one file, one at a time (each before the next is read); errors go to `errors`."""
    text = source.text
    # One pass over the text; the two checks below only if needed.
    special = (_SPECIAL_ASCII if text.isascii() else _SPECIAL).search(text) is not None
    if (special and _WHOLE.search(text)) or text.startswith("%") or "\n%" in text:
        # Line breaks other than LF change the line numbering, and directives apply to what follows:
        # the reference parser reads the whole file.
        pieces: Iterable[tuple[int, int, int]] = [(0, len(text), 1)]
        fast_ok = False
    else:
        pieces = _chunks(text)
        fast_ok = True
    controls = special and _NON_PRINTABLE.search(text) is not None
    templates = "{{" in text
    index = 0
    for start, end, first_line in pieces:
        chunk = text[start:end]
        template = _template_line(chunk, first_line) if templates else None
        if fast_ok and not (controls and _NON_PRINTABLE.search(chunk)):
            parser = _fast_parser(chunk, first_line, positions=False)
            try:
                root, line, _col = parser.parse()
            except _Bail:
                pass
            else:
                if root is not None:
                    origin = Origin(start, end, first_line, True, 0)
                    yield Document(source, index, root, line, origin, template=template)
                    index += 1
                    continue
                if not _has_content(parser.lines):
                    continue
                # Content but no collection (a top-level scalar): the reference parser reads it below.
        ordinal = 0
        parsed: list[Document] = []
        try:
            for root, _pos, line, duplicates in _ref_parse(chunk, first_line):
                if root is None:
                    continue
                doc = Document(
                    source, index, root, line, Origin(start, end, first_line, False, ordinal), template=template
                )
                index += 1
                ordinal += 1
                problems = []
                for container_id, key, kl, kc, _klen, first_at in duplicates:
                    path = _path_to(root, container_id)
                    problems.append(
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
                if problems:
                    doc.problems = problems
                parsed.append(doc)
        except LoadError as exc:
            errors.append(_explain(exc, source, template))
        # A piece the reference parser reads is yielded once read through (or up to its error), as before.
        yield from parsed


_SPECIAL = lazy("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
"""Any character of `_WHOLE` or `_NON_PRINTABLE` (one scan of the text finds whether either matters)."""
_SPECIAL_ASCII = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
"""The ASCII characters of `_SPECIAL`: ASCII text is scanned with it (compiled in microseconds; `_SPECIAL`: 1 ms)."""
_WHOLE = lazy("[\r\x85\u2028\u2029\ufeff]")
"""Characters that make the reference parser read the whole file: line breaks other than LF, a BOM."""
TEMPLATE_ACTION = lazy(r"""\{\{(?:[^{}"'`\n]|"(?:[^"\\{}\n]|\\.)*"|'[^'{}\n]*'|`[^`{}]*`)*\}\}""")
"""A Go template action (`{{ .Values.host }}`, `{{- if .Values.x }}`, `{{ include "a" . }}`) on one line.

Its quotes are closed, as text/template's lexer wants: `{{'}}` or `{{"}}` on a line is a quoted
YAML string's `{{` and its closing quote before flow braces, not an action."""
TEMPLATE_HELP = "render it first: `helm template CHART | meshc lint -`"


def _template_line(chunk: str, first_line: int) -> tuple[int, int, str] | None:
    """(line, column, action) of the first Go template action outside a comment, if any."""
    if "{{" not in chunk:
        return None
    for number, raw in enumerate(chunk.split("\n"), start=first_line):
        m = TEMPLATE_ACTION.search(raw)
        if m is not None and not raw.lstrip().startswith("#"):
            return number, m.start() + 1, m.group()
    return None


def template_error(where: tuple[int, int, str]) -> LoadError:
    """The one diagnostic of a document that holds an unrendered Helm template."""
    line, column, action = where
    shown = action if len(action) <= 60 else action[:57] + "..."
    return LoadError(
        f"this looks like an unrendered Helm template (`{shown}`), not YAML that Kubernetes reads",
        line,
        column,
        help=TEMPLATE_HELP,
    )


def _explain(exc: LoadError, source: SourceFile, template: tuple[int, int, str] | None) -> LoadError:
    """A syntax error said in terms of its likely cause: an unrendered template, or a tab that indents."""
    if template is not None:
        return template_error(template)
    raw = source.line_text(exc.line)
    at = exc.column - 1
    if 0 <= at < len(raw) and raw[at] == "\t" and not raw[:at].strip():
        shown = raw.replace("\t", "→")
        return LoadError(
            f"YAML syntax error: a tab indents line {exc.line}; YAML indents with spaces only",
            exc.line,
            exc.column,
            help=f"replace the tabs (shown as →) with spaces: `{shown.strip()[:80]}`",
        )
    return exc


def _fast_parser(chunk: str, first_line: int, positions: bool = True) -> _Fast:
    lines = chunk.split("\n")
    if lines[-1] == "":
        lines.pop()
        open_end = False
    else:
        open_end = True
    return _Fast(lines, first_line, open_end, positions)


def _parse_piece(chunk: str, first_line: int, fast: bool) -> list[tuple[Any, dict[int, Any]]]:
    """(root, positions) of every document in a piece of text, as `parse_text` read it."""
    if fast:
        parser = _fast_parser(chunk, first_line)
        return [(parser.parse()[0], parser.pos)]
    out: list[tuple[Any, dict[int, Any]]] = []
    with contextlib.suppress(LoadError):  # the documents before the error are the ones loaded
        out.extend((root, pos) for root, pos, _line, _dups in _ref_parse(chunk, first_line) if root is not None)
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


def load(
    paths: Iterable[str], *, stdin: bytes | None = None, each: Callable[[Document], None] | None = None
) -> LoadResult:
    """Read and parse every input; problems are collected, never raised.

    `stdin` holds the bytes of standard input for a path `-` (the CLI reads it; the core never does).
    `each` is called with every document as soon as it is parsed, before the next one is: `lint.read`
    validates it there and drops its data, so that the data of a whole file is never held at once.
    """
    result = LoadResult()
    with no_gc():
        for display, file in expand_paths(paths):
            _load_one(result, display, file, stdin, each)
    return result


def _load_one(
    result: LoadResult,
    display: str,
    file: Path | None,
    stdin: bytes | None,
    each: Callable[[Document], None] | None,
) -> None:
    try:
        if file is None:
            display = "<stdin>"
            if stdin is None:
                raise inputs.InputError("standard input (`-`) was not given to the loader")
            data = stdin
            if len(data) > inputs.max_bytes:
                raise inputs.InputError(f"standard input is larger than {inputs.show_size(inputs.max_bytes)}")
        else:
            data = inputs.read_file(display, str(file))
    except inputs.InputError as exc:
        result.errors.append((Span(display, 1, 1), str(exc), None))
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
    errors: list[LoadError] = []
    for doc in _documents(source, errors):
        result.documents.append(doc)
        if each is not None:
            each(doc)
    for err in errors:
        result.errors.append((Span(display, err.line, err.column), err.message, err.help))
