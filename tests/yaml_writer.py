"""A YAML writer for the loader's differential tests: the same data in every style Kubernetes manifests use.

Random choices per node: block or flow collections (one-line or over several lines), plain, single-
or double-quoted scalars (plain only where it reads back as a scalar), literal and folded block
scalars, multi-line plain and quoted scalars, quoted and plain keys (sometimes with blanks before the
`:`), anchors with aliases and merge keys (`<<: *base`, `<<: [*a, *b]`), full-line and trailing
comments, several documents. The loader and the reference reading (tests/loader_oracle.py) then
read the text; what the text means is theirs to agree on, not this writer's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

# Values that real manifests hold and that stress a YAML scanner: `:` inside plain scalars (URLs,
# host:port, image tags), YAML 1.1 / 1.2 / Go differences, indicators, odd spacing.
TRICKY = [
    "https://example.com",
    "https://example.com/a?b=c&d=e#frag",
    "http://10.0.0.1:8080/path",
    "nginx:1.27",
    "docker.io/library/nginx:1.27-alpine@sha256:0123abcd",
    "reviews.default.svc.cluster.local:9080",
    "[::1]:80",
    "a:b",
    "a::b",
    "key: value",
    "x #not a comment",
    "x#y",
    "- item",
    "-x",
    "?x",
    ":x",
    "y",
    "n",
    "on",
    "Off",
    "yes",
    "~",
    "null",
    "0o17",
    "0x1F",
    "017",
    "08",
    "1_000",
    "1e3",
    "1.",
    ".5",
    "+.inf",
    "1:20",
    "2001-12-14",
    "5s",
    "v1",
    "50%",
    "a b  c",
    " lead",
    "trail ",
    "tab\there",
    "line\nbreak",
    "two\n\nbreaks\n",
    "caf\u00e9 \u2603 \U0001f600",
    "quote'single",
    'quote"double',
    "back\\slash",
    "<<",
    "",
    "*notalias",
    "&notanchor",
    "!nottag",
    "%percent",
    "@at",
    "`tick",
    "|pipe",
    ">gt",
    "a,b",
    "[x]",
    "{x}",
]
KEYS = [
    "name",
    "host",
    "image",
    "apiVersion",
    "kind",
    "on",
    "y",
    "1",
    "0x10",
    "1.5",
    "a b",
    "a:b",
    "http://x",
    "-k",
    "k-",
    "?k",
    "#k",
    "k#",
    "'q'",
    '"d"',
    "",
    "<<",
    "caf\u00e9",
    "x.y/z",
    "null",
]

_plain_text = st.text(
    alphabet=st.sampled_from("abcxyz019 -_.:/@#?,[]{}'\"&*!|>%`=\t\u00e9"),
    max_size=14,
)
scalars = st.one_of(
    st.sampled_from(TRICKY),
    _plain_text,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\ufeff"),
        max_size=10,
    ),
)
keys = st.one_of(st.sampled_from(KEYS), st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.\-/]{0,10}", fullmatch=True))
data = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)

_PLAIN_START_BAD = set("-?:,[]{}#&*!|>'\"%@` \t")
_FLOW_BAD = set(",[]{}")
_NON_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def plain_ok(s: str, flow: bool) -> bool:
    """Whether `s` may be written as a plain scalar and read back as one scalar with the same text."""
    if not s or s != s.strip(" ") or "\n" in s or "\t" in s or _NON_PRINTABLE.search(s):
        return False
    if s[0] in _PLAIN_START_BAD and not (s[0] in "-?:" and len(s) > 1 and s[1] not in " \t" and not flow):
        return False
    if s[0] == "-" and flow and (len(s) == 1 or s[1] in " ,[]{}"):
        return False
    if ": " in s or s.endswith(":") or " #" in s or s in ("---", "...") or s.startswith(("--- ", "... ")):
        return False
    return not (flow and (any(c in _FLOW_BAD for c in s) or re.search(r":[,?\[\]{}]", s) or s[0] in "?:"))


def double_quoted(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    out = _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out.replace("\u2028", "\\L").replace("\u2029", "\\P")


def single_quoted(s: str) -> str | None:
    if "\n" in s or _NON_PRINTABLE.search(s) or "\u2028" in s or "\u2029" in s or "\x85" in s:
        return None
    return "'" + s.replace("'", "''") + "'"


class Writer:
    """Writes one document; every choice is drawn from hypothesis."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.anchors: list[tuple[str, Any]] = []  # (name, value) of the anchors written so far
        self.pending: list[tuple[str, Any]] = []  # anchors of values still being written
        self.count = 0
        self.depth = 0

    def choice(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        return self.draw(st.floats(min_value=0, max_value=1)) < p

    # scalars --------------------------------------------------------------------------------------

    def scalar_text(self, value: Any, flow: bool) -> str:
        if value is None:
            return self.choice(["null", "~", ""] if not flow else ["null", "~"])
        if isinstance(value, bool):
            return self.choice(["true", "True", "yes", "on", "y"] if value else ["false", "False", "no", "off", "n"])
        if isinstance(value, int):
            return self.choice([str(value), hex(value) if value >= 0 else str(value)])
        if isinstance(value, float):
            if value != value or abs(value) == float("inf"):
                return self.choice([".nan", ".inf", "-.inf"])
            return repr(value)
        s = str(value)
        styles = ["double"]
        if plain_ok(s, flow):
            styles += ["plain", "plain", "plain"]
        single = single_quoted(s)
        if single is not None:
            styles.append("single")
        style = self.choice(styles)
        if style == "plain":
            return s
        if style == "single":
            return single  # type: ignore[return-value]
        return double_quoted(s)

    def block_scalar(self, s: str, indent: int) -> str | None:
        """A literal or folded block scalar for a multi-line string (None when it cannot be one)."""
        if "\n" not in s or _NON_PRINTABLE.search(s) or "\r" in s or "\x85" in s or "\u2028" in s or "\u2029" in s:
            return None
        lines = s.split("\n")
        if any(line.startswith((" ", "\t")) for line in lines if line) or not lines[0]:
            return None
        header = self.choice(["|", "|-", "|+", ">", ">-", "|2", "| # comment"])
        if header == "|2" and indent + 2 != indent + 2:  # pragma: no cover - kept simple: `|2` is relative
            header = "|"
        pad = " " * (indent + 2)
        body = "\n".join(pad + line if line else "" for line in lines)
        return f"{header}\n{body}"

    # nodes ----------------------------------------------------------------------------------------

    def anchor(self, value: Any) -> str:
        """`&name ` for the value about to be written (usable by aliases once it is written), or ''."""
        if not self.chance(0.15):
            return ""
        self.count += 1
        name = f"a{self.count}"
        self.pending.append((name, value))
        return f"&{name} "

    def written(self) -> None:
        """The values anchored so far are complete: aliases may refer to them (never to an ancestor)."""
        self.anchors.extend(self.pending)
        self.pending.clear()

    def alias(self) -> str | None:
        if self.anchors and self.chance(0.2):
            return "*" + self.choice(self.anchors)[0]
        return None

    def flow(self, value: Any, depth: int = 0, multi_line: bool = False, indent: int = 0) -> str:
        alias = self.alias()
        if alias is not None:
            return alias
        if isinstance(value, dict):
            parts = []
            for k, v in value.items():
                parts.append(f"{self.key(k, flow=True)}: {self.flow(v, depth + 1, multi_line, indent)}")
            sep = ",\n" + " " * (indent + 2) if multi_line else ", "
            return self.anchor(value) + "{" + sep.join(parts) + "}"
        if isinstance(value, list):
            sep = ",\n" + " " * (indent + 2) if multi_line else ", "
            return self.anchor(value) + "[" + sep.join(self.flow(v, depth + 1, multi_line, indent) for v in value) + "]"
        text = self.scalar_text(value, flow=True)
        return (self.anchor(value) if text else "") + text

    def key(self, k: Any, flow: bool) -> str:
        s = str(k)
        if plain_ok(s, flow) and s != "<<" and "?" not in s[:1] and self.chance(0.8):
            return s
        single = single_quoted(s)
        if single is not None and self.chance(0.5):
            return single
        return double_quoted(s)

    def block(self, value: Any, indent: int, lines: list[str], head: str) -> None:
        """Write `value` after `head` (`key:` or `-` at its indentation), in block context."""
        self._block(value, indent, lines, head)
        if not self.depth:
            self.written()

    def _block(self, value: Any, indent: int, lines: list[str], head: str) -> None:
        pad = " " * indent
        alias = self.alias()
        if alias is not None:
            lines.append(f"{head} {alias}{self.comment()}")
            return
        if isinstance(value, (dict, list)) and value and self.chance(0.7):
            anchor = self.anchor(value)
            lines.append(f"{head} {anchor}".rstrip() + self.comment())
            self.depth += 1
            if isinstance(value, dict):
                self.mapping(value, indent + 2, lines)
            else:
                self.sequence(value, indent + self.choice([0, 2]) if head.endswith(":") else indent + 2, lines)
            self.depth -= 1
            return
        if isinstance(value, (dict, list)):
            multi = self.chance(0.3)
            lines.append(f"{head} {self.flow(value, multi_line=multi, indent=indent)}{self.comment()}")
            return
        if isinstance(value, str):
            block = self.block_scalar(value, indent) if self.chance(0.6) else None
            if block is not None:
                lines.append(f"{head} {self.anchor(value)}{block}")
                return
            if plain_ok(value, False) and " " in value and self.chance(0.3):
                first, _, rest = value.partition(" ")  # a plain scalar over two lines reads as one
                if plain_ok(first, False) and plain_ok(rest, False):
                    lines.append(f"{head} {first}")
                    lines.append(f"{pad}  {rest}")
                    return
            if '"' not in value and "\\" not in value and " " in value.strip() and self.chance(0.2):
                quoted = double_quoted(value)
                cut = quoted.find(" ", 2)
                if 0 < cut < len(quoted) - 2:  # a double-quoted scalar folded over two lines
                    lines.append(f"{head} {quoted[:cut]}")
                    lines.append(f"{pad}  {quoted[cut + 1 :]}")
                    return
        text = self.scalar_text(value, flow=False)
        anchor = self.anchor(value) if text else ""
        lines.append(f"{head} {anchor}{text}".rstrip() + self.comment())

    def mapping(self, value: dict[Any, Any], indent: int, lines: list[str]) -> None:
        pad = " " * indent
        merges = [name for name, v in self.anchors if isinstance(v, dict)]
        if merges and self.chance(0.3):
            if len(merges) > 1 and self.chance(0.5):
                lines.append(f"{pad}<<: [{', '.join('*' + m for m in merges[-2:])}]")
            else:
                lines.append(f"{pad}<<: *{merges[-1]}")
        for k, v in value.items():
            if self.chance(0.1):
                lines.append(" " * self.choice([0, indent, indent + 3]) + "# a comment line")
            space = " " * self.choice([0, 0, 0, 1, 2])
            self.block(v, indent, lines, f"{pad}{self.key(k, flow=False)}{space}:")

    def sequence(self, value: list[Any], indent: int, lines: list[str]) -> None:
        pad = " " * indent
        for item in value:
            if isinstance(item, dict) and item and self.chance(0.5):
                # `- key: value` with the mapping starting on the item's line
                first = True
                sub: list[str] = []
                self.mapping(item, indent + 2, sub)
                for line in sub:
                    if first and line.startswith(" " * (indent + 2)) and not line.lstrip().startswith("#"):
                        lines.append(pad + "- " + line[indent + 2 :])
                        first = False
                    else:
                        lines.append(line)
                if not first:
                    continue
                lines.append(pad + "-")  # only comments were written: the item is null
                continue
            self.block(item, indent, lines, f"{pad}-")

    def comment(self) -> str:
        return " # trailing" if self.chance(0.1) else ""


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A YAML stream of one to three documents, each a mapping written in random styles."""
    out: list[str] = []
    for i in range(draw(st.integers(min_value=1, max_value=3))):
        value = draw(st.dictionaries(keys, data, min_size=1, max_size=5))
        writer = Writer(draw)
        lines: list[str] = []
        if i or draw(st.booleans()):
            lines.append("---" + draw(st.sampled_from(["", " # doc"])))
        if draw(st.floats(0, 1)) < 0.15:
            lines.append(writer.flow(value, multi_line=draw(st.booleans())))
        else:
            writer.mapping(value, 0, lines)
        out.extend(lines)
    text = "\n".join(out)
    return text + draw(st.sampled_from(["\n", "\n", "", "\n\n# end\n"]))
