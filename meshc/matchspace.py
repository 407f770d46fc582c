"""Match-space reasoning: can every request one HTTP match block accepts also be accepted by another?

A match block is the conjunction of per-field conditions Envoy checks (uri, headers, withoutHeaders,
query parameters, method, authority, scheme, JWT claims) plus the config-time conditions Istio uses
to keep or drop the block (port, gateways, sourceLabels, sourceNamespace). `contains(a, b)` answers
"is every request that `b` matches also matched by `a`?" and says True only when that is proven:
anything it cannot decide (two arbitrary regexes, a regex against a prefix it cannot bound, JWT
claims that differ) counts as "not contained", so callers never report a shadowed block that can
in fact be reached.

Semantics follow Envoy as Istio configures it:
- uri `exact` and `regex` test the path without its query, `prefix` the whole `:path` (the same
  thing unless the prefix holds a `?`); `ignoreUriCase` folds ASCII case; a regex must match the
  whole path and is always case-sensitive.
- header names are case-insensitive, values case-sensitive; `{}` or `regex: "*"` test presence;
  `withoutHeaders` inverts the test, and (except the presence form) treats a missing header as empty.
- query parameter names are case-sensitive.
- `method`, `authority` and `scheme` are header tests on `:method`, `:authority`, `:scheme`.
- a block that sets `gateways` ignores `sourceLabels` and `sourceNamespace` (Istio
  `sourceMatchHTTP`); `port` 0 means any port.

Two facts about requests are assumed: a path always begins with `/`, and no path, header or query
value contains a newline (HTTP forbids it; Envoy rejects such requests). The second lets `.*` at the
end of a regex be read as "anything".
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

# --- string predicates -------------------------------------------------------------------------

_UPPER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_LETTERS = frozenset(string.ascii_letters)
_META = frozenset("\\.^$|?*+()[]{}")
_PUNCT = frozenset(string.punctuation)
_QUANT = frozenset("*+?{")


def fold(text: str) -> str:
    """ASCII lower-casing, as Envoy's case-insensitive path matching does (absl::AsciiStrToLower)."""
    return text.translate(_UPPER)


def _has_letters(text: str) -> bool:
    return any(c in _LETTERS for c in text)


@dataclass(frozen=True, slots=True)
class Regex:
    """What meshc knows about an RE2 pattern: its text and a literal every match starts with."""

    pattern: str
    lead: str | None
    """A string every full match starts with (None: nothing known, e.g. top-level alternation)."""


@dataclass(frozen=True, slots=True)
class Str:
    """A test on a string value: `exact`, `prefix` or `regex` (full match), optionally case-folded."""

    kind: str
    value: str
    fold: bool = False
    regex: Regex | None = field(default=None, compare=False)

    def matches(self, text: str) -> bool:
        """Whether `text` passes this test (Envoy semantics)."""
        if self.kind == "regex":
            return _fullmatch(self.value, text)
        if self.fold:
            text, value = fold(text), fold(self.value)
        else:
            value = self.value
        return text == value if self.kind == "exact" else text.startswith(value)

    def describe(self) -> str:
        """`prefix `/api``, for messages."""
        return f"{self.kind} `{self.value}`"


def string_test(kind: str, value: str, *, fold: bool = False) -> Str:
    """A normalised string test: literal regexes become `exact`, `literal.*` becomes `prefix`.

    Case folding is dropped for regexes (Envoy ignores it there) and for values without ASCII
    letters (folding changes nothing then).
    """
    if kind == "regex":
        shape = regex_shape(value)
        if shape is not None:
            lead, exact, tail_any = shape
            if exact:
                return Str("exact", lead)
            if tail_any:
                return Str("prefix", lead)
        return Str("regex", value, regex=Regex(value, shape[0] if shape is not None else None))
    if fold and not _has_letters(value):
        fold = False
    return Str(kind, value, fold)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def _fullmatch(pattern: str, text: str) -> bool:
    try:
        return _compiled(pattern).fullmatch(text) is not None
    except re2.error:
        return False


@lru_cache(maxsize=4096)
def regex_shape(pattern: str) -> tuple[str, bool, bool] | None:
    """(lead, exact, tail_any) of an RE2 pattern, or None when it is not understood.

    `lead` is a literal that every full match starts with; `exact` means the pattern matches only
    `lead`; `tail_any` means it matches exactly the strings that start with `lead` (`lead.*`).
    Reading is deliberately narrow: anything unusual stops the literal run, and a top-level
    alternation, a `QE` quote (backslash-Q ... backslash-E) or unbalanced parentheses give None.
    """
    if "\\Q" in pattern or not _no_top_level_alternation(pattern):
        return None
    text = pattern[1:] if pattern.startswith("^") else pattern
    lead: list[str] = []
    i = 0
    n = len(text)
    exact = True
    tail_any = False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in _PUNCT:
            literal, width = text[i + 1], 2
        elif c not in _META:
            literal, width = c, 1
        else:
            # Not a literal: the run stops here. Recognise a final `.*` (or `.*?`) and a final `$`.
            rest = text[i:]
            if rest in ("$", ""):
                break
            if rest in (".*", ".*?", ".*$", ".*?$"):
                tail_any = True
            exact = False
            break
        if i + width < n and text[i + width] in _QUANT:
            exact = False  # a quantified literal is not part of every match
            break
        lead.append(literal)
        i += width
    return "".join(lead), exact, tail_any


def _no_top_level_alternation(pattern: str) -> bool:
    depth = 0
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            # A class ends at the first `]` that is not its first member. RE2 may end it later
            # (POSIX classes), never earlier, so this only ever sees more at the top level.
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
        elif c == "|" and depth == 0:
            return False
        i += 1
    return depth == 0


def str_implies(p: Str, q: Str) -> bool:
    """True when every string passing `p` passes `q` (False: not proven)."""
    if p == q:
        return True
    if q.kind == "regex":
        return p.kind == "exact" and not p.fold and _fullmatch(q.value, p.value)
    if p.kind == "regex":
        lead = p.regex.lead if p.regex is not None else None
        if q.kind != "prefix" or lead is None:
            return False
        return fold(lead).startswith(fold(q.value)) if q.fold else lead.startswith(q.value)
    if p.fold and not q.fold and _has_letters(q.value):
        return False
    a, b = (fold(p.value), fold(q.value)) if p.fold or q.fold else (p.value, q.value)
    if q.kind == "exact":
        return p.kind == "exact" and a == b
    return a.startswith(b)


def str_disjoint(p: Str, q: Str) -> bool:
    """True when no string passes both `p` and `q` (False: not proven)."""
    if p.kind == "regex" and q.kind == "regex":
        return False
    if q.kind == "regex":
        p, q = q, p
    if p.kind == "regex":
        if q.kind == "exact":
            return not q.fold and not _fullmatch(p.value, q.value)
        lead = p.regex.lead if p.regex is not None else None
        if lead is None:
            return False
        a, b = (fold(lead), fold(q.value)) if q.fold else (lead, q.value)
        return not (a.startswith(b) or b.startswith(a))
    a, b = (fold(p.value), fold(q.value)) if p.fold or q.fold else (p.value, q.value)
    if p.kind == "exact" and q.kind == "exact":
        return a != b
    if p.kind == "exact":
        return not a.startswith(b)
    if q.kind == "exact":
        return not b.startswith(a)
    return not (a.startswith(b) or b.startswith(a))


# --- conditions on one request attribute ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cond:
    """A condition on one header or query parameter whose value may be absent.

    `test` None is the presence test. Negated conditions are `withoutHeaders`: the presence form
    requires the header to be absent; the others require `test` to fail on the value, a missing
    header counting as the empty string.
    """

    test: Str | None
    negated: bool = False

    def holds(self, value: str | None) -> bool:
        """Whether a request whose attribute is `value` (None: absent) satisfies the condition."""
        if not self.negated:
            return value is not None and (self.test is None or self.test.matches(value))
        if self.test is None:
            return value is None
        return not self.test.matches(value if value is not None else "")


def cond_implies(b: Cond, a: Cond) -> bool:
    """True when every value satisfying `b` satisfies `a` (False: not proven)."""
    if not b.negated:
        if not a.negated:
            if a.test is None:
                return True
            return b.test is not None and str_implies(b.test, a.test)
        if a.test is None or b.test is None:
            return False
        return str_disjoint(b.test, a.test)
    if not a.negated:
        return False
    if b.test is None:
        # An absent value counts as "" for `a`.
        return a.test is None or not a.test.matches("")
    return a.test is not None and str_implies(a.test, b.test)


# --- match blocks -------------------------------------------------------------------------------

MESH = "mesh"


@dataclass(frozen=True, slots=True)
class Block:
    """Everything one HTTP match block (or a rule without `match`) requires of a request."""

    path: Str | None = None
    conds: Mapping[str, tuple[Cond, ...]] = field(default_factory=dict)
    """Per attribute: `h:<lower-case header>` (incl. `h::method`), `q:<query param>`."""
    claims: Mapping[str, frozenset[tuple[str, str, bool]]] = field(default_factory=dict)
    """JWT claim tests, compared only for equality (their matching is Envoy metadata matching)."""
    port: int | None = None
    gateways: frozenset[str] = frozenset({MESH})
    """Where the block exists: `mesh` and/or `namespace/name` of gateways."""
    source_labels: frozenset[tuple[str, str]] = frozenset()
    source_namespace: str | None = None

    @property
    def catches_all(self) -> bool:
        """True when the block has no runtime condition (only where/which port it applies)."""
        return (self.path is None or _any_path(self.path)) and not self.conds and not self.claims


def _any_path(test: Str) -> bool:
    # Every path starts with `/`, so prefix `/` (or ``) accepts all of them.
    return test.kind == "prefix" and test.value in ("", "/")


def contains(a: Block, b: Block) -> bool:
    """True when every request (in every proxy context) that `b` matches is matched by `a`."""
    if a.port is not None and a.port != b.port:
        return False
    if not b.gateways <= a.gateways:
        return False
    if not a.source_labels <= b.source_labels:
        return False
    if a.source_namespace is not None and a.source_namespace != b.source_namespace:
        return False
    if a.path is not None and not _any_path(a.path) and (b.path is None or not str_implies(b.path, a.path)):
        return False
    for key, wanted in a.conds.items():
        have = b.conds.get(key, ())
        if not all(any(cond_implies(h, w) for h in have) for w in wanted):
            return False
    return all(tests <= b.claims.get(key, frozenset()) for key, tests in a.claims.items())


# --- building blocks from the models -------------------------------------------------------------

CLAIM_PREFIX = "@request.auth.claims"


def is_claim(name: str) -> bool:
    """Whether a header name is a JWT claim reference (`@request.auth.claims.x`, `...[x]`)."""
    return name.lower().startswith(CLAIM_PREFIX)


def _present(match: Any) -> bool:
    return (
        match is None or (match.exact is None and match.prefix is None and match.regex is None) or (match.regex == "*")
    )


def _test(match: Any, *, fold: bool = False) -> Str:
    if match.exact is not None:
        return string_test("exact", match.exact, fold=fold)
    if match.prefix is not None:
        return string_test("prefix", match.prefix, fold=fold)
    return string_test("regex", match.regex)


def _cond(match: Any, *, negated: bool = False) -> Cond:
    return Cond(None if _present(match) else _test(match), negated)


def _claim(match: Any, negated: bool) -> tuple[str, str, bool]:
    if match is None or _present(match):
        return ("present", "", negated)
    if match.exact is not None:
        return ("exact", match.exact, negated)
    if match.prefix is not None:
        return ("prefix", match.prefix, negated)
    return ("regex", match.regex, negated)


def block_of(
    match: Any,
    vs_gateways: frozenset[str],
    gateway_key: Callable[[str], str] = lambda ref: ref,
) -> Block:
    """The Block of an `HTTPMatchRequest` model (None: a rule without `match`).

    `vs_gateways` are the VirtualService's gateways as keys (`mesh`, `ns/name`); `gateway_key`
    turns a match-level gateway reference into the same kind of key.
    """
    if match is None:
        return Block(gateways=vs_gateways)
    conds: dict[str, list[Cond]] = {}
    claims: dict[str, set[tuple[str, str, bool]]] = {}

    def add(key: str, cond: Cond) -> None:
        conds.setdefault(key, []).append(cond)

    for negated, table in ((False, match.headers), (True, match.withoutHeaders)):
        for name, sm in (table or {}).items():
            if is_claim(name):
                claims.setdefault(name, set()).add(_claim(sm, negated))
            else:
                add("h:" + name.lower(), _cond(sm, negated=negated))
    for name, pseudo in (("method", ":method"), ("authority", ":authority"), ("scheme", ":scheme")):
        sm = getattr(match, name)
        if sm is not None:
            add("h:" + pseudo, _cond(sm))
    for name, sm in (match.queryParams or {}).items():
        add("q:" + name, _cond(sm))
    path = None
    uri = match.uri
    if uri is not None and not (uri.exact is None and uri.prefix is None and uri.regex is None):
        path = _test(uri, fold=bool(match.ignoreUriCase))
        if uri.regex is not None and path.kind == "prefix" and "?" in path.value:
            # Envoy tests a prefix against the whole `:path` but a regex against the path
            # without its query, so `/a\?.*` is not the prefix `/a?`: keep it a regex.
            path = Str("regex", uri.regex, regex=Regex(uri.regex, path.value))
    if match.gateways:
        gateways = frozenset(gateway_key(g) for g in match.gateways) & vs_gateways
        labels: frozenset[tuple[str, str]] = frozenset()
        source_ns = None
    else:
        gateways = vs_gateways
        labels = frozenset((match.sourceLabels or {}).items())
        source_ns = match.sourceNamespace or None
    return Block(
        path,
        {k: tuple(v) for k, v in conds.items()},
        {k: frozenset(v) for k, v in claims.items()},
        match.port or None,
        gateways,
        labels,
        source_ns,
    )


def vs_gateway_keys(gateways: Iterable[str], gateway_key: Callable[[str], str]) -> frozenset[str]:
    """The keys of a VirtualService's `gateways` (empty: the mesh)."""
    refs = list(gateways)
    if not refs:
        return frozenset({MESH})
    return frozenset(MESH if g == MESH else gateway_key(g) for g in refs)
