"""The reference YAML parser: libyaml's events through PyYAML, or ruamel.yaml's pure-Python parser made to read alike.

meshc's fast line parser (source.py) hands everything it does not handle to this parser, and
every syntax error comes from it. Why each parser:

* libyaml 0.2.5 or later, the C extension PyYAML ships with, is the reference: the first libyaml
  that reads `[{exact: https://example.com}]` and `{image: nginx:1.27}` as Kubernetes does
  (libyaml 0.1.x, bundled with ruamel.yaml.clib, rejects any `:` inside a plain scalar of a flow
  collection, so meshc does not use ruamel.yaml's C parser), and fast.
* Where PyYAML's C extension is missing (another Python implementation, a failed build),
  ruamel.yaml's pure-Python parser reads the same events, more slowly. Out of the box it differs
  from libyaml 0.2.5 on 34 of the 194 corpus files and 51 of 300 generated documents (PyYAML's own
  pure-Python parser on 26 and about 40); `_PureParser` ports libyaml's versions of the rules where
  they differ (function names are those of libyaml's src/scanner.c and src/parser.c at tag 0.2.5),
  after which it agrees on every one of them, broken variants included. The same class over
  PyYAML's pure-Python parser is the tests' independent oracle (tests/loader_oracle.py), and the
  differential tests (tests/test_loader_differential.py) hold all of them to the same data,
  positions and verdicts.

Kubernetes itself reads YAML with go-yaml v2 (sigs.k8s.io/yaml), a Go port of libyaml. Two
scanner rules differ from libyaml 0.2.5, both inside flow collections (`[...]`, `{...}`) only:
go-yaml ends a plain scalar at `?` (`{prefix: /a?b}` is an error for kubectl, a string for
libyaml), and reads `[a:]` as the string `a:` where libyaml reports "found unexpected ':'".
meshc follows libyaml there; quoting the value reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

_BLANKZ = "\0 \t\r\n\x85\u2028\u2029"
_BREAKZ = "\0\r\n\x85\u2028\u2029"
_BLANKS_BREAKS = " \t\r\n\x85\u2028\u2029"
_URI = frozenset(";/?:@&=+$.%!~*'()_-")
_URI_VERBATIM = _URI | frozenset(",[]")


def _is_alpha(ch: str) -> bool:
    """IS_ALPHA of libyaml: an ASCII letter or digit, `_` or `-`."""
    return ch.isascii() and (ch.isalnum() or ch in "_-")


_HEX = frozenset("0123456789abcdefABCDEF")


def _utf8_width(octet: int) -> int:
    """Length of the UTF-8 sequence a leading octet starts (0: not a leading octet)."""
    if octet & 0x80 == 0:
        return 1
    if octet & 0xE0 == 0xC0:
        return 2
    if octet & 0xF0 == 0xE0:
        return 3
    if octet & 0xF8 == 0xF0:
        return 4
    return 0


def _is_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


MAX_FLOW_LEVEL = 1000
"""libyaml's limit on nested flow collections (PyYAML's C extension raises at the 1,001st)."""

_parser_class: Any = None


def parser_class() -> Any:
    """The event parser class to use: PyYAML's C parser when it is built, else the pure-Python one."""
    global _parser_class
    if _parser_class is None:
        try:
            from yaml._yaml import CParser
        except ImportError:
            _parser_class = pure_parser_class()
        else:
            _parser_class = CParser
    return _parser_class


def c_available() -> bool:
    """Whether PyYAML's C extension (libyaml) can be imported."""
    try:
        from yaml._yaml import CParser  # noqa: F401
    except ImportError:
        return False
    return True


_pure: dict[str, Any] = {}


def pure_parser_class(flavour: str = "ruamel") -> Any:
    """A pure-Python parser (ruamel.yaml's, or PyYAML's for the tests' oracle) that reads as libyaml 0.2.5 does."""
    if flavour in _pure:
        return _pure[flavour]
    import importlib

    base = "ruamel.yaml" if flavour == "ruamel" else "yaml"
    error = importlib.import_module(f"{base}.error")
    events = importlib.import_module(f"{base}.events")
    parser_mod = importlib.import_module(f"{base}.parser")
    reader_mod = importlib.import_module(f"{base}.reader")
    scanner_mod = importlib.import_module(f"{base}.scanner")
    tokens = importlib.import_module(f"{base}.tokens")
    MarkedYAMLError = error.MarkedYAMLError
    MappingEndEvent = events.MappingEndEvent
    Parser: Any = parser_mod.Parser
    Reader: Any = reader_mod.Reader
    Scanner: Any = scanner_mod.Scanner
    ParserError, ScannerError = parser_mod.ParserError, scanner_mod.ScannerError
    DirectiveToken, FlowEntryToken = tokens.DirectiveToken, tokens.FlowEntryToken
    FlowMappingEndToken, FlowSequenceEndToken = tokens.FlowMappingEndToken, tokens.FlowSequenceEndToken
    KeyToken, ScalarToken, StreamEndToken = tokens.KeyToken, tokens.ScalarToken, tokens.StreamEndToken
    TagToken, ValueToken = tokens.TagToken, tokens.ValueToken
    BlockEndToken = tokens.BlockEndToken
    ruamel = flavour == "ruamel"

    class _PureParser(Reader, Scanner, Parser):
        events_module = events
        """The module of the event classes get_event returns."""
        error_module = error
        """The module of the errors it raises (MarkedYAMLError, YAMLError)."""

        def __init__(self, stream: str) -> None:
            if ruamel:
                # ruamel.yaml's parts find each other through a loader: this object is all of them.
                self.loader = self
                self._reader = self._scanner = self._scanner_reader = self._resolver = self
                self.processing_version = (1, 1)  # NEL, LS and PS are line breaks, as in libyaml
                self.comment_handling = None
                # yaml_parser_scan_block_scalar: a block scalar's content is indented at least 1,
                # also at the top level (ruamel.yaml reads YAML 1.2's column 0 there otherwise).
                self.top_level_block_style_scalar_no_indent_error_1_1 = True
                Reader.__init__(self, stream, self)
            else:
                Reader.__init__(self, stream)
            if self.peek() == "\ufeff":  # libyaml's reader drops a BOM that opens the stream
                self.forward()
            if ruamel:
                Scanner.__init__(self, self)
                Parser.__init__(self, self)
            else:
                Scanner.__init__(self)
                Parser.__init__(self)

        def dispose(self) -> None:
            """Nothing to free (the C parser's method of the same name frees libyaml's state)."""

        def forward(self, length: int = 1) -> None:
            # As Reader.forward, except that a BOM takes a column (libyaml's SKIP counts every
            # character) unless it opens the stream (libyaml's reader drops that one).
            if self.pointer + length + 1 >= len(self.buffer):
                self.update(length + 1)
            buffer = self.buffer
            while length:
                ch = buffer[self.pointer]
                self.pointer += 1
                self.index += 1
                if ch in "\n\x85\u2028\u2029" or (ch == "\r" and buffer[self.pointer] != "\n"):
                    self.line += 1
                    self.column = 0
                elif ch != "\ufeff" or self.index > 1:
                    self.column += 1
                length -= 1

        def fetch_flow_collection_start(self, *args: Any, **kwargs: Any) -> None:
            # yaml_parser_increase_flow_level (libyaml 0.2.6, as PyYAML's wheels build it): at most
            # 1,000 nested flow collections; the scanner meets the limit before any event is built.
            if self.flow_level >= MAX_FLOW_LEVEL:
                mark = self.get_mark()
                raise ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)
            Scanner.fetch_flow_collection_start(self, *args, **kwargs)

        def need_more_tokens(self) -> bool:
            # yaml_parser_fetch_more_tokens: stale simple keys are checked after the stream end
            # too (a key left open on the last line is an error there).
            if not self.tokens:
                return not self.done
            self.stale_possible_simple_keys()
            return not self.done and self.next_possible_simple_key() == self.tokens_taken

        def fetch_stream_end(self) -> None:
            # yaml_parser_fetch_stream_end: the end of a stream without a final line break is on a
            # new line (where libyaml puts the empty scalars and block ends it closes with).
            # Unlike PyYAML, the simple keys of the outer flow levels are kept, so that a required
            # one left open is reported by the stale-key check that follows.
            if self.column != 0:
                self.column = 0
                self.line += 1
            self.unwind_indent(-1)
            self.remove_possible_simple_key()
            self.allow_simple_key = False
            mark = self.get_mark()
            self.tokens.append(StreamEndToken(mark, mark))
            self.done = True

        def scan_anchor(self, TokenClass: Any) -> Any:
            # yaml_parser_scan_anchor: a name of ASCII letters, digits, `_` and `-`, ended by a blank
            # or one of `?:,]}%@``.
            start_mark = self.get_mark()
            name = "alias" if self.peek() == "*" else "anchor"
            self.forward()
            length = 0
            while _is_alpha(self.peek(length)):
                length += 1
            ch = self.peek(length)
            if length:
                value = self.prefix(length)
                self.forward(length)
            if not length or ch not in _BLANKZ + "?:,]}%@`":
                raise ScannerError(
                    f"while scanning an {name}",
                    start_mark,
                    f"expected alphabetic or numeric character, but found {ch!r}",
                    self.get_mark(),
                )
            return TokenClass(value, start_mark, self.get_mark())

        def scan_directive_name(self, start_mark: Any) -> str:
            # yaml_parser_scan_directive_name: its two errors, and a tab may end the name.
            length = 0
            while _is_alpha(self.peek(length)):
                length += 1
            if not length:
                raise ScannerError(
                    "while scanning a directive", start_mark, "could not find expected directive name", self.get_mark()
                )
            value = self.prefix(length)
            self.forward(length)
            if self.peek() not in _BLANKZ:
                raise ScannerError(
                    "while scanning a directive",
                    start_mark,
                    "found unexpected non-alphabetical character",
                    self.get_mark(),
                )
            return value

        def scan_to_next_token(self) -> None:
            # yaml_parser_scan_to_next_token: tabs are skipped in flow context and where a simple
            # key is not allowed (after a value indicator); a BOM may start any line.
            while True:
                if self.column == 0 and self.peek() == "\ufeff":
                    self.forward()
                while self.peek() == " " or ((self.flow_level or not self.allow_simple_key) and self.peek() == "\t"):
                    self.forward()
                if self.peek() == "#":
                    while self.peek() not in _BREAKZ:
                        self.forward()
                if self.scan_line_break():
                    if not self.flow_level:
                        self.allow_simple_key = True
                else:
                    return

        def scan_plain(self) -> Any:
            # yaml_parser_scan_plain_scalar. Unlike PyYAML's scanner: in a flow collection `:`
            # followed by one of `,?[]{}` is an error, `?` does not end the scalar, and tabs are
            # blanks inside a scalar (a tab that indents a continuation line is an error).
            start_mark = self.get_mark()
            end_mark = start_mark
            indent = self.indent + 1
            flow = self.flow_level
            out: list[str] = []
            leading_break = ""
            trailing: list[str] = []
            whitespaces: list[str] = []
            leading_blanks = False
            while True:
                if self.column == 0 and self.prefix(3) in ("---", "...") and self.peek(3) in _BLANKZ:
                    break
                if self.peek() == "#":
                    break
                length = 0
                while True:
                    ch = self.peek(length)
                    if ch in _BLANKZ:
                        break
                    if ch == ":":
                        nxt = self.peek(length + 1)
                        if flow and nxt in ",?[]{}":
                            self.forward(length)
                            raise ScannerError(
                                "while scanning a plain scalar", start_mark, "found unexpected ':'", self.get_mark()
                            )
                        if nxt in _BLANKZ:
                            break
                    elif flow and ch in ",[]{}":
                        break
                    length += 1
                if length:
                    if leading_blanks:
                        if leading_break == "\n":
                            out.append(" " if not trailing else "".join(trailing))
                        else:
                            out.append(leading_break)
                            out.extend(trailing)
                        trailing = []
                        leading_break = ""
                        leading_blanks = False
                    elif whitespaces:
                        out.extend(whitespaces)
                        whitespaces = []
                    out.append(self.prefix(length))
                    self.forward(length)
                    end_mark = self.get_mark()
                if self.peek() not in _BLANKS_BREAKS:
                    break
                while (ch := self.peek()) in _BLANKS_BREAKS:
                    if ch == " " or ch == "\t":
                        if leading_blanks and self.column < indent and ch == "\t":
                            raise ScannerError(
                                "while scanning a plain scalar",
                                start_mark,
                                "found a tab character that violates indentation",
                                self.get_mark(),
                            )
                        if not leading_blanks:
                            whitespaces.append(ch)
                        self.forward()
                    elif not leading_blanks:
                        whitespaces = []
                        leading_break = self.scan_line_break()
                        leading_blanks = True
                    else:
                        trailing.append(self.scan_line_break())
                if not flow and self.column < indent:
                    break
            if leading_blanks:
                self.allow_simple_key = True
            return ScalarToken("".join(out), True, start_mark, end_mark)

        def scan_block_scalar_indicators(self, start_mark: Any) -> tuple[bool | None, int | None]:
            # yaml_parser_scan_block_scalar: the indicators; what may follow them is checked by
            # scan_block_scalar_ignored_line (a tab, or a comment right after the indicator, is fine).
            chomping: bool | None = None
            increment: int | None = None
            ch = self.peek()
            if ch in "+-":
                chomping = ch == "+"
                self.forward()
                if self.peek() in "0123456789":
                    increment = self._increment(start_mark)
            elif ch in "0123456789":
                increment = self._increment(start_mark)
                if self.peek() in "+-":
                    chomping = self.peek() == "+"
                    self.forward()
            return chomping, increment

        def _increment(self, start_mark: Any) -> int:
            if self.peek() == "0":
                raise ScannerError(
                    "while scanning a block scalar",
                    start_mark,
                    "found an indentation indicator equal to 0",
                    self.get_mark(),
                )
            value = int(self.peek())
            self.forward()
            return value

        def scan_block_scalar_ignored_line(self, start_mark: Any) -> None:
            while self.peek() in " \t":
                self.forward()
            if self.peek() == "#":
                while self.peek() not in _BREAKZ:
                    self.forward()
            if self.peek() not in _BREAKZ:
                raise ScannerError(
                    "while scanning a block scalar",
                    start_mark,
                    "did not find expected comment or line break",
                    self.get_mark(),
                )
            self.scan_line_break()

        def scan_block_scalar_indentation(self) -> tuple[list[str], int, Any]:
            # yaml_parser_scan_block_scalar_breaks with the indentation still unknown.
            chunks: list[str] = []
            max_indent = 0
            end_mark = self.get_mark()
            while True:
                while self.peek() == " ":
                    self.forward()
                max_indent = max(max_indent, self.column)
                if self.peek() == "\t":
                    raise ScannerError(
                        "while scanning a block scalar",
                        self._block_start,
                        "found a tab character where an indentation space is expected",
                        self.get_mark(),
                    )
                if self.peek() not in "\r\n\x85\u2028\u2029":
                    return chunks, max_indent, end_mark
                chunks.append(self.scan_line_break())
                end_mark = self.get_mark()

        def scan_block_scalar_breaks(self, indent: int) -> tuple[list[str], Any]:
            # yaml_parser_scan_block_scalar_breaks with a known indentation.
            chunks: list[str] = []
            end_mark = self.get_mark()
            while True:
                while self.column < indent and self.peek() == " ":
                    self.forward()
                if self.column < indent and self.peek() == "\t":
                    raise ScannerError(
                        "while scanning a block scalar",
                        self._block_start,
                        "found a tab character where an indentation space is expected",
                        self.get_mark(),
                    )
                if self.peek() not in "\r\n\x85\u2028\u2029":
                    return chunks, end_mark
                chunks.append(self.scan_line_break())
                end_mark = self.get_mark()

        def scan_block_scalar(self, style: str) -> Any:
            self._block_start = self.get_mark()
            return Scanner.scan_block_scalar(self, style)

        def scan_tag(self) -> Any:
            # yaml_parser_scan_tag: `!<uri>`, `!handle!suffix`, `!suffix` or `!`; outside `!<...>` a
            # tag holds no flow indicator (`,[]{}`), and a tab or (in a flow collection) `,` may end it.
            start_mark = self.get_mark()
            if self.peek(1) == "<":
                self.forward(2)
                suffix = self._tag_uri(start_mark, verbatim=True, head="")
                if self.peek() != ">":
                    raise ScannerError(
                        "while scanning a tag", start_mark, "did not find the expected '>'", self.get_mark()
                    )
                self.forward()
                handle = None
            else:
                length = 1
                while _is_alpha(self.peek(length)):
                    length += 1
                if self.peek(length) == "!" and length + 1 > 1:
                    handle = self.prefix(length + 1)
                    self.forward(length + 1)
                    if handle == "!":  # pragma: no cover - `!!` has length 1 before the second `!`
                        handle = "!"
                    suffix = self._tag_uri(start_mark, verbatim=False, head="")
                else:
                    head = self.prefix(length)
                    self.forward(length)
                    suffix = self._tag_uri(start_mark, verbatim=False, head=head)
                    handle = "!"
                    if not suffix:
                        handle, suffix = None, "!"
            ch = self.peek()
            if ch not in _BLANKZ and not (self.flow_level and ch == ","):
                raise ScannerError(
                    "while scanning a tag",
                    start_mark,
                    "did not find expected whitespace or line break",
                    self.get_mark(),
                )
            return TagToken((handle, suffix), start_mark, self.get_mark())

        def _tag_uri(self, start_mark: Any, *, verbatim: bool, head: str) -> str:
            # yaml_parser_scan_tag_uri: `head` is the `!name` already read when it was no handle.
            allowed = _URI_VERBATIM if verbatim else _URI
            chunks = [head[1:]]
            length = 0
            ch = self.peek()
            while ch in allowed or _is_alnum(ch):
                if ch == "%":
                    chunks.append(self.prefix(length))
                    self.forward(length)
                    length = 0
                    chunks.append(self.scan_uri_escapes("tag", start_mark))
                else:
                    length += 1
                ch = self.peek(length)
            chunks.append(self.prefix(length))
            self.forward(length)
            if not head and not any(chunks):
                raise ScannerError("while parsing a tag", start_mark, "did not find expected tag URI", self.get_mark())
            return "".join(chunks)

        def scan_directive(self) -> Any:
            # yaml_parser_scan_directive: a directive other than %YAML and %TAG is an error.
            start_mark = self.get_mark()
            self.forward()
            name = self.scan_directive_name(start_mark)
            if name == "YAML":
                value = self.scan_yaml_directive_value(start_mark)
            elif name == "TAG":
                value = self.scan_tag_directive_value(start_mark)
            else:
                raise ScannerError(
                    "while scanning a directive", start_mark, "found unknown directive name", self.get_mark()
                )
            end_mark = self.get_mark()
            self.scan_directive_ignored_line(start_mark)
            return DirectiveToken(name, value, start_mark, end_mark)

        def scan_flow_scalar_non_spaces(self, double: bool, start_mark: Any) -> list[str]:
            # yaml_parser_scan_flow_scalar: an unknown escape is reported at its backslash, and an
            # escape of a surrogate or past U+10FFFF is an error.
            chunks: list[str] = []
            while True:
                length = 0
                while self.peek(length) not in "'\"\\\0 \t\r\n\x85\u2028\u2029":
                    length += 1
                if length:
                    chunks.append(self.prefix(length))
                    self.forward(length)
                ch = self.peek()
                if not double and ch == "'" and self.peek(1) == "'":
                    chunks.append("'")
                    self.forward(2)
                elif (double and ch == "'") or (not double and ch in '"\\'):
                    chunks.append(ch)
                    self.forward()
                elif double and ch == "\\":
                    backslash = self.get_mark()
                    self.forward()
                    ch = self.peek()
                    if ch in self.ESCAPE_REPLACEMENTS:
                        chunks.append(self.ESCAPE_REPLACEMENTS[ch])
                        self.forward()
                    elif ch in self.ESCAPE_CODES:
                        length = self.ESCAPE_CODES[ch]
                        self.forward()
                        digits = self.get_mark()
                        for k in range(length):
                            if self.peek(k) not in "0123456789ABCDEFabcdef":
                                raise ScannerError(
                                    "while parsing a quoted scalar",
                                    start_mark,
                                    "did not find expected hexdecimal number",
                                    digits,
                                )
                        code = int(self.prefix(length), 16)
                        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                            raise ScannerError(
                                "while parsing a quoted scalar",
                                start_mark,
                                "found invalid Unicode character escape code",
                                digits,
                            )
                        chunks.append(chr(code))
                        self.forward(length)
                    elif ch in "\r\n\x85\u2028\u2029":
                        self.scan_line_break()
                        chunks.extend(self.scan_flow_scalar_breaks(double, start_mark))
                    else:
                        raise ScannerError(
                            "while parsing a quoted scalar", start_mark, "found unknown escape character", backslash
                        )
                else:
                    return chunks

        def scan_uri_escapes(self, name: str, start_mark: Any) -> str:
            # yaml_parser_scan_uri_escapes: one UTF-8 character, each octet checked where it is.
            octets: list[int] = []
            width = 0
            while True:
                mark = self.get_mark()
                if not (self.peek() == "%" and self.peek(1) in _HEX and self.peek(2) in _HEX):
                    raise ScannerError("while parsing a tag", start_mark, "did not find URI escaped octet", mark)
                octet = int(self.prefix(3)[1:], 16)
                if not width:
                    width = _utf8_width(octet)
                    if not width:
                        raise ScannerError(
                            "while parsing a tag", start_mark, "found an incorrect leading UTF-8 octet", mark
                        )
                elif octet & 0xC0 != 0x80:
                    raise ScannerError(
                        "while parsing a tag", start_mark, "found an incorrect trailing UTF-8 octet", mark
                    )
                octets.append(octet)
                self.forward(3)
                width -= 1
                if not width:
                    return bytes(octets).decode("utf-8", "replace")

        # The parser's flow productions (yaml_parser_parse_flow_*): where libyaml puts an empty
        # scalar (at the next token, not after the indicator) and which token it consumes.

        def parse_block_mapping_value(self) -> Any:
            # yaml_parser_parse_block_mapping_value: an empty value is at the end of the `:`.
            if self.check_token(ValueToken):
                token = self.get_token()
                if not self.check_token(KeyToken, ValueToken, BlockEndToken):
                    self.states.append(self.parse_block_mapping_key)
                    return self.parse_block_node_or_indentless_sequence()
                self.state = self.parse_block_mapping_key
                return self.process_empty_scalar(token.end_mark)
            self.state = self.parse_block_mapping_key
            return self.process_empty_scalar(self.peek_token().start_mark)

        def parse_flow_sequence_entry_mapping_key(self) -> Any:
            self.get_token()  # the KEY token (libyaml consumed it with the mapping start)
            if not self.check_token(ValueToken, FlowEntryToken, FlowSequenceEndToken):
                self.states.append(self.parse_flow_sequence_entry_mapping_value)
                return self.parse_flow_node()
            # At `]` the empty key is there; at `:` or `,` libyaml consumes the token and puts it after.
            end = self.check_token(FlowSequenceEndToken)
            mark = self.peek_token().start_mark if end else self.get_token().end_mark
            self.state = self.parse_flow_sequence_entry_mapping_value
            return self.process_empty_scalar(mark)

        def parse_flow_sequence_entry_mapping_value(self) -> Any:
            return self._flow_value(self.parse_flow_sequence_entry_mapping_end, FlowSequenceEndToken)

        def _flow_value(self, then: Any, end: Any) -> Any:
            # yaml_parser_parse_flow_{sequence_entry_mapping,mapping}_value: an empty value is where
            # the next token starts.
            if self.check_token(ValueToken):
                self.get_token()
                if not self.check_token(FlowEntryToken, end):
                    self.states.append(then)
                    return self.parse_flow_node()
            self.state = then
            return self.process_empty_scalar(self.peek_token().start_mark)

        def parse_flow_mapping_key(self, first: bool = False) -> Any:
            if not self.check_token(FlowMappingEndToken):
                if not first:
                    if self.check_token(FlowEntryToken):
                        self.get_token()
                    else:
                        token = self.peek_token()
                        raise ParserError(
                            "while parsing a flow mapping",
                            self.marks[-1],
                            "did not find expected ',' or '}'",
                            token.start_mark,
                        )
                if self.check_token(KeyToken):
                    self.get_token()
                    if not self.check_token(ValueToken, FlowEntryToken, FlowMappingEndToken):
                        self.states.append(self.parse_flow_mapping_value)
                        return self.parse_flow_node()
                    self.state = self.parse_flow_mapping_value
                    return self.process_empty_scalar(self.peek_token().start_mark)
                if not self.check_token(FlowMappingEndToken):
                    self.states.append(self.parse_flow_mapping_empty_value)
                    return self.parse_flow_node()
            token = self.get_token()
            event = MappingEndEvent(token.start_mark, token.end_mark)
            self.state = self.states.pop()
            self.marks.pop()
            return event

        def parse_flow_mapping_value(self) -> Any:
            return self._flow_value(self.parse_flow_mapping_key, FlowMappingEndToken)

        def parse_node(self, block: bool = False, indentless_sequence: bool = False) -> Any:
            # yaml_parser_parse_node: a node starts at its first property. ruamel.yaml's
            # Parser.parse_node starts a node written `!tag &anchor` at its anchor instead.
            tag = self.peek_token() if ruamel and self.check_token(TagToken) else None
            event = Parser.parse_node(self, block, indentless_sequence)
            if tag is not None and getattr(event, "anchor", None) is not None:
                event.start_mark = tag.start_mark
            return event

        def get_event(self) -> Any:
            try:
                return Parser.get_event(self)
            except MarkedYAMLError as exc:
                _libyaml_words(exc)
                raise

    _pure[flavour] = _PureParser
    return _PureParser


# PyYAML's messages, and libyaml's for the same error (src/scanner.c and src/parser.c at 0.2.5): the
# pure-Python parser reports as the C one does. Keys are message prefixes (PyYAML appends what it found).
_PROBLEMS = [
    ("expected '<document start>', but found", "did not find expected <document start>"),
    ("found duplicate YAML directive", "found duplicate %YAML directive"),
    ("found incompatible YAML document", "found incompatible YAML document"),
    ("duplicate tag handle", "found duplicate %TAG directive"),
    ("found undefined tag handle", "found undefined tag handle"),
    ("expected the node content, but found", "did not find expected node content"),
    ("expected ',' or ']', but got", "did not find expected ',' or ']'"),
    ("expected ',' or '}', but got", "did not find expected ',' or '}'"),
    ("found character", "found character that cannot start any token"),
    ("sequence entries are not allowed here", "block sequence entries are not allowed in this context"),
    ("mapping keys are not allowed here", "mapping keys are not allowed in this context"),
    ("mapping values are not allowed here", "mapping values are not allowed in this context"),
    ("expected a digit or '.', but found", "did not find expected digit or '.' character"),
    ("expected a digit, but found", "did not find expected version number"),
    ("expected a comment or a line break, but found", "did not find expected comment or line break"),
    ("expected ' ', but found", "did not find expected whitespace"),
    ("expected '!', but found", "did not find expected '!'"),
    ("found unexpected document separator", "found unexpected document indicator"),
]


def _libyaml_words(exc: Any) -> None:
    """Reword a MarkedYAMLError of PyYAML's parser as libyaml words it (in place)."""
    problem = exc.problem or ""
    context = exc.context or ""  # the contexts are the same words in both
    if problem.startswith("expected <block end>, but found"):
        exc.problem = "did not find expected key" if "mapping" in context else "did not find expected '-' indicator"
    elif problem.startswith("expected alphabetic or numeric character, but found"):
        exc.problem = (
            "did not find expected alphabetic or numeric character"
            if "anchor" in context or "alias" in context
            else "found unexpected non-alphabetical character"
        )
    else:
        for prefix, words in _PROBLEMS:
            if problem.startswith(prefix):
                exc.problem = words
                break
