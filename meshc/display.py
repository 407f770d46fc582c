r"""Text for people: escaping of untrusted strings (the one place), width, colour palette, word wrapping.

Every human-readable output of meshc (lint `text` and `full`, the route tree, the rules table, diff
text, test reports, error lines) is built from `Text` values and written by `render`, so:

- **escaping** cannot be forgotten: `Text` escapes what it is given with `escape` (control
  characters, ESC, DEL, C1 controls, line and paragraph separators, bidirectional overrides become
  Python escapes such as `\n`, `\x1b`, `\u2028`), and `render` passes every line through `guard`,
  so that no line a YAML author controls can begin a GitHub Actions workflow command (`::error …`)
  or an Azure Pipelines / old-style one (`##[…`, `##vso[…`);
- **width** is one rule (`terminal_width`): `COLUMNS` when set, else the terminal's width, else 80;
- **wrapping** breaks only at spaces, keeps a hanging indentation (tree guides, list markers),
  and never splits a word: a cluster name or FQDN longer than the line stays whole;
- **colour** is one palette (`PALETTE`) of named styles, written as ANSI SGR codes only when the
  caller asks (`use_color` decides from `--color`, `NO_COLOR`, `FORCE_COLOR` and the stream).

This module imports nothing from meshc but `meshc.patterns`: every layer may use it.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TextIO, Union

from meshc.patterns import lazy

# --- escaping --------------------------------------------------------------------------------------

_UNSAFE = lazy("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
"""C0 and C1 controls (with tab, CR, LF, ESC), DEL, line/paragraph separators, bidi controls, BOM.

Each of them is a character `str.isprintable` refuses (categories Cc, Cf, Zl, Zp), so text it
accepts needs no pattern (compiled on first use: about 1 ms); of ASCII, it holds exactly the
characters `isprintable` refuses.
"""


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(value: object) -> str:
    r"""`value` as text whose every character is visible and on one line.

    Line breaks, tabs, ESC and the other control characters, the Unicode line and paragraph
    separators and the bidirectional controls (the "Trojan Source" characters) are written as
    Python escapes: `\n`, `\t`, `\x1b`, `\u2028`, `\u202e`. Backslashes are kept as they are,
    so regexes and Windows paths stay readable.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escape_char, text) if _UNSAFE.search(text) else text


_COMMAND = re.compile(r"[ \t]*(?:::|##\[|##vso\[)")
"""The start of a CI workflow command: GitHub's `::name …::` and the `##[…` / `##vso[…` forms.

The GitHub Actions runner trims leading white space before it looks for `::`
(actions/runner, ActionCommand.TryParseV2), so indentation does not make a line safe.
"""


def guard(line: str) -> str:
    """`line`, with its first character escaped when it would start a CI workflow command."""
    return _escape_first(Text(line)).plain if _COMMAND.match(line) else line


def plain(value: object) -> str:
    """One line of plain output (an error line, a `path:line:col: …` line): escaped and guarded."""
    return guard(escape(value))


# --- width -----------------------------------------------------------------------------------------

DEFAULT_WIDTH = 80
MIN_WIDTH = 40


def terminal_width(stream: TextIO | None = None) -> int:
    """Columns to lay out for: `COLUMNS` when set, else the terminal of `stream` (stdout), else 80.

    Never below 40: narrower layouts are not readable, and nothing is cut, only wrapped.
    """
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    stream = stream if stream is not None else sys.stdout
    try:
        if stream.isatty():
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        pass
    return DEFAULT_WIDTH


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide East Asian characters count 2, combining marks 0."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


# --- colour ----------------------------------------------------------------------------------------

PALETTE: dict[str, str] = {
    "ok": "32",  # ✓, PASS, resolved: green
    "fail": "31",  # ✗, FAIL, introduced: red
    "chosen": "1",  # the rule a request takes: bold
    "error": "1;31",  # error[MCxxx] and its caret: bold red
    "warning": "1;33",  # warning[MCxxx] and its caret: bold yellow
    "info": "1;36",  # info[MCxxx] and its caret: bold cyan
    "heading": "1",  # headings and table headers: bold
    "gutter": "34",  # the ` --> ` / ` | ` frame of a source excerpt: blue (never the source itself)
    "added": "32",
    "removed": "31",
    "changed": "33",
    "moved": "36",
    "note": "2",  # notes and secondary locations: dim
}
"""The one palette: style name → ANSI SGR parameters. Source code is never styled."""

COLOR_MODES = ("auto", "always", "never")


def use_color(mode: str = "auto", stream: TextIO | None = None) -> bool:
    """Whether to write colour: `--color always|never` wins, then `NO_COLOR`, then `FORCE_COLOR`, then a terminal.

    `NO_COLOR` (no-color.org) and `FORCE_COLOR` count when set to a non-empty value; output that is
    not a terminal (a pipe, a file, `-o`) gets no escape codes unless forced.
    """
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


# --- styled text -----------------------------------------------------------------------------------


class Text:
    """A line of styled text: (text, style, keep) pieces. What it is given is escaped on the way in.

    `keep` marks a piece whose spaces are not places to break a line (`(VirtualService ns/name)`).
    """

    __slots__ = ("segments",)

    def __init__(self, text: object = "", style: str | None = None, *, keep: bool = False) -> None:
        self.segments: list[tuple[str, str | None, bool]] = []
        self.append(text, style, keep=keep)

    def append(self, text: object, style: str | None = None, *, keep: bool = False) -> Text:
        """Add a piece (escaped) with a style from PALETTE (or none); returns self."""
        if isinstance(text, Text):
            self.segments.extend(text.segments)
            return self
        value = escape(text)
        if value:
            self.segments.append((value, style, keep))
        return self

    @property
    def plain(self) -> str:
        """The text without styles."""
        return "".join(t for t, _, _ in self.segments)

    def __len__(self) -> int:
        return sum(cell_width(t) for t, _, _ in self.segments)

    def __repr__(self) -> str:
        return f"Text({self.plain!r})"

    def ansi(self, color: bool) -> str:
        """The text, with ANSI SGR codes around styled pieces when `color`."""
        if not color:
            return self.plain
        out = []
        run: list[str] = []
        run_code: str | None = None
        for t, style, _ in self.segments:
            code = PALETTE.get(style) if style else None
            if code != run_code and run:
                out.append(f"\x1b[{run_code}m{''.join(run)}\x1b[0m" if run_code else "".join(run))
                run = []
            run_code = code
            run.append(t)
        if run:
            out.append(f"\x1b[{run_code}m{''.join(run)}\x1b[0m" if run_code else "".join(run))
        return "".join(out)


Label = Union[str, Text]  # noqa: UP007 - a runtime alias on Python 3.10


def _as_text(label: Label) -> Text:
    return label if isinstance(label, Text) else Text(label)


Piece = tuple[str, Union[str, None], bool]  # noqa: UP007

_TOKEN = lazy(r"\([^() ]+(?: [^() ]+){0,2}\)[^ ]*|[^ ]+| +")
"""A word, a run of spaces, or a short parenthesised group kept whole (`(Istio default)`)."""


def _words(text: Text) -> list[tuple[list[Piece], list[Piece]]]:
    """(word pieces, following space pieces) pairs; a word may span styles, never a breakable space."""
    out: list[tuple[list[Piece], list[Piece]]] = []
    word: list[Piece] = []
    space: list[Piece] = []
    for t, style, keep in text.segments:
        for part in [t] if keep else _TOKEN.findall(t):
            if not part:
                continue
            if part[0] == " " and not keep:
                space.append((part, style, keep))
            else:
                if space:
                    out.append((word, space))
                    word, space = [], []
                word.append((part, style, keep))
    if word or space:
        out.append((word, space))
    return out


def wrap(text: Label, width: int, first: Label = "", rest: Label | None = None) -> list[Text]:
    """`text` broken at spaces into lines of at most `width` columns, after the prefixes.

    The first line starts with `first`, the others with `rest` (default: spaces as wide as
    `first`). A word longer than a line is never split: it gets a line of its own, and overflows.
    """
    body = _as_text(text)
    head = _as_text(first)
    cont = _as_text(rest) if rest is not None else Text(" " * len(head))
    lines: list[Text] = []
    line = Text().append(head)
    used = len(head)
    start = used
    pending: list[Piece] = []
    pending_width = 0
    for word, space in _words(body):
        w = sum(cell_width(t) for t, _, _ in word)
        if word and used > start and used + pending_width + w > width:
            lines.append(line)
            line = Text().append(cont)
            used = start = len(cont)
            pending, pending_width = [], 0
        line.segments.extend(pending)
        used += pending_width
        line.segments.extend(word)
        used += w
        pending = space
        pending_width = sum(cell_width(t) for t, _, _ in space)
    lines.append(line)
    return lines


class Tree:
    """A tree of labels drawn with guides (`├── `, `└── `, `│   `), wrapped to a width."""

    def __init__(self, label: Label, style: str | None = None) -> None:
        self.label = Text(label, style) if isinstance(label, str) else label
        self.children: list[Tree] = []

    def add(self, label: Label, style: str | None = None) -> Tree:
        """Add a child and return it."""
        child = Tree(label, style)
        self.children.append(child)
        return child

    def lines(self, width: int) -> list[Text]:
        """The tree as wrapped lines: a label's continuation lines keep the guides of its level."""
        out = wrap(self.label, width)
        self._children_lines(Text(), width, out)
        return out

    def _children_lines(self, prefix: Text, width: int, out: list[Text]) -> None:
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            first = Text().append(prefix).append("└── " if last else "├── ")
            deeper = Text().append(prefix).append("    " if last else "│   ")
            out.extend(wrap(child.label, width, first, deeper))
            child._children_lines(deeper, width, out)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Label]], width: int, *, min_last: int = 30, gap: int = 2
) -> list[Text]:
    """Columns padded to their widest cell; the last column wraps within its width.

    When the last column would get fewer than `min_last` columns, each row's last cell goes on
    the lines below the row instead, indented by four spaces; when even the other columns do not
    fit, they are written one after the other (no header, no padding) and wrapped.
    """
    body = [[_as_text(c) for c in row] for row in rows]
    head = [Text(h, "heading") for h in headers]
    cols = len(headers)
    widths = [max([len(head[i])] + [len(r[i]) for r in body]) for i in range(cols - 1)]
    lead = sum(widths) + gap * (cols - 1)
    stacked = width - lead < min_last
    aligned = lead - gap <= width

    def left(cells: Sequence[Text]) -> Text:
        line = Text()
        for i, cell in enumerate(cells[: cols - 1]):
            line.append(cell)
            if i < cols - 2 or not stacked:
                line.append(" " * ((widths[i] - len(cell) if aligned else 0) + gap))
        return line

    out: list[Text] = []
    if stacked:
        if aligned:
            out.append(_rstrip(left(head)))
        for r in body:
            out.extend(wrap(_rstrip(left(r)), width, "", "  ") if not aligned else [_rstrip(left(r))])
            out.extend(wrap(r[-1], width, "    "))
        return out
    out.append(left(head).append(head[-1]))
    for r in body:
        out.extend(wrap(r[-1], width, left(r), " " * lead))
    return out


def _rstrip(text: Text) -> Text:
    while text.segments and not text.segments[-1][0].strip():
        text.segments.pop()
    if text.segments:
        t, style, keep = text.segments[-1]
        text.segments[-1] = (t.rstrip(), style, keep)
    return text


def render(lines: Iterable[Text], *, color: bool) -> str:
    """The lines as output text: each guarded against workflow commands, coloured when `color`."""
    out = []
    for line in lines:
        _rstrip(line)
        if _COMMAND.match(line.plain):
            line = _escape_first(line)
        out.append(line.ansi(color))
    return "\n".join(out) + ("\n" if out else "")


def _escape_first(line: Text) -> Text:
    """`line` with its first non-blank character written as an escape (see `guard`)."""
    guarded = Text()
    done = False
    for t, style, keep in line.segments:
        if not done and t.strip(" \t"):
            at = len(t) - len(t.lstrip(" \t"))
            t = f"{t[:at]}\\x{ord(t[at]):02x}{t[at + 1 :]}"
            done = True
        guarded.segments.append((t, style, keep))
    return guarded
