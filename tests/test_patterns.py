"""Patterns compiled on first use (meshc.patterns): they answer as compiled ones, and a one-file lint compiles none."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meshc.patterns import lazy
from tests.lint_probe import lint_then

_SOURCES = [r"\([^() ]+(?: [^() ]+){0,2}\)[^ ]*|[^ ]+| +", "[\x00-\x08\x0b\x0c\ud800-\udfff]", r"(a)(b)?|c"]


def _seen(m: re.Match[str] | None) -> tuple[tuple[int, int], tuple[str | None, ...]] | None:
    return None if m is None else (m.span(), m.groups())


@given(st.sampled_from(_SOURCES), st.text(alphabet="ab c()\x01\x0b\ud800xy", max_size=30))
def test_a_lazy_pattern_answers_as_the_compiled_one(source: str, text: str) -> None:
    """Proves: every method of a lazy pattern gives what `re.compile` gives, before and after its first use."""
    compiled = re.compile(source)
    for pattern in (lazy(source), lazy(source)):
        assert pattern.findall(text) == compiled.findall(text)  # the first use of the first one
        assert pattern.sub("-", text) == compiled.sub("-", text)
        assert pattern.subn("-", text) == compiled.subn("-", text)
        assert pattern.split(text) == compiled.split(text)
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in compiled.finditer(text)]
        for method in ("search", "match", "fullmatch"):
            assert _seen(getattr(pattern, method)(text)) == _seen(getattr(compiled, method)(text))
        assert _seen(pattern.search(text, 1)) == _seen(compiled.search(text, 1))
        assert (pattern.pattern, pattern.flags, pattern.groups) == (compiled.pattern, compiled.flags, compiled.groups)


def test_a_bytes_pattern_and_flags() -> None:
    """Proves: flags and bytes patterns are passed to `re.compile` as given."""
    assert lazy("A+", re.IGNORECASE).fullmatch("aaA") is not None
    assert lazy(rb"\s*#.*").fullmatch(b"  # note") is not None


_LAZY = {
    "source": [
        "_NON_PRINTABLE",
        "_WHOLE",
        "TEMPLATE_ACTION",
        "_GO_DOT_FLOAT",
        "_FLOW_PLAIN_STOP",
        "_BLOCK_HEADER",
        "_SPECIAL",
    ],
    "render": ["_XML_INVALID"],
    "display": ["_TOKEN", "_UNSAFE"],
    "matching": ["_LONE_SURROGATE"],
    "lint": ["_IGNORE_COMMENT", "_MISSING", "_DID_YOU_MEAN"],
    "cli": ["_DNS_LABEL"],
}
"""The lazy patterns of each module that a one-file lint must not compile."""
_COMPILED = (
    f"f'{{m}}.{{n}}' for m, ns in {_LAZY!r}.items() for n in ns"
    " if '_compiled' in vars(getattr(sys.modules['meshc.' + m], n))"
)


def test_a_lint_of_one_virtual_service_compiles_none_of_the_lazy_patterns(tmp_path: Path) -> None:
    """Proves: linting one VirtualService (and printing its MC212 warning) compiles none of the rarely needed patterns.

    Each is read only on a path this input does not take: control characters, a carriage return or U+2028 in
    the text, a template action, a suppression comment, a flow or block scalar, a JUnit report, a
    lone surrogate, a wrapped line, a namespace flag, a schema error.
    """
    small = tmp_path / "vs.yaml"
    small.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: a\n  namespace: ns\n"
        "spec:\n  hosts:\n  - a\n  http:\n  - timeout: 3s\n    retries:\n      attempts: 3\n      perTryTimeout: 2s\n"
        "    route:\n    - destination:\n        host: a\n",
        encoding="utf-8",
    )
    code, compiled, run = lint_then(small, _COMPILED)
    assert (code, compiled) == (0, []), run.stderr
    assert "MC212" in run.stdout  # a finding whose message is not ASCII (`3 × 2s`) was printed


@given(st.text(alphabet=st.characters(max_codepoint=0x2100)) | st.text(alphabet="ab \t\n\x1b\x7f\x85\u2028\u202e~"))
def test_escape_of_printable_text_skips_the_pattern_and_says_the_same(text: str) -> None:
    """Proves: `display.escape` answers as its pattern does, with or without the shortcut for printable text."""
    from meshc import display

    assert display.escape(text) == display._UNSAFE.sub(display._escape_char, text)


def test_every_character_escape_escapes_is_one_isprintable_refuses() -> None:
    """Proves: text `str.isprintable` accepts holds nothing `display._UNSAFE` matches (the shortcut of `escape`).

    Over every code point; of ASCII, the two are the same set.
    """
    from meshc import display

    every = "".join(map(chr, range(0x110000)))
    assert all(not c.isprintable() for c in display._UNSAFE.findall(every))
    ascii_chars = every[:0x80]
    assert display._UNSAFE.findall(ascii_chars) == [c for c in ascii_chars if not c.isprintable()]
