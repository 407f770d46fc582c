"""Match-space reasoning over compiled matches: does one match block accept every request another accepts?

A block is a compiled match (`matching.RouteMatch`, made by `RouteMatch.of` as `meshc compile` makes
it) with its scope (`matching.MatchScope`: port, gateways, source labels and namespace). `contains(a, b)`
answers "is every request that `b` matches also matched by `a`?" and says True only when that is
proven: anything it cannot decide (two arbitrary regexes, a regex against a prefix it cannot bound,
JWT claims that differ) counts as "not contained", so callers never report a shadowed block that can
in fact be reached. Whether one value passes one condition is never decided here: the match types
decide (`matching.StringMatch.matches`, `matching.HeaderMatch.holds`); this module reasons about sets.

The semantics are the IR's (Envoy as Istio configures it): uri `exact` and `regex` test the path
without its query, `prefix` the whole `:path`; `ignoreUriCase` folds ASCII; regexes match whole
values byte by byte; header names are case-insensitive, values case-sensitive; `withoutHeaders`
inverts and (except the presence form) treats a missing header as empty; a block that sets
`gateways` ignores `sourceLabels` and `sourceNamespace`.

Two facts about requests are assumed: a path always begins with `/`, and no path, header or query
value contains a newline (HTTP forbids it; Envoy rejects such requests). The second lets `.*` at the
end of a regex be read as "anything".

Finding containers fast: `Containers` files each block under ONE condition every block it contains
must also satisfy (its anchor: an exact value, a prefix, a regex, an attribute, its port...), and
looks a block up by the conditions it has, so a block is compared only with the earlier blocks that
can contain it. `RouteIndex` does the same for concrete requests over the routes of a virtual host
(`meshc.simulate` without a trace, for `meshc diff`).
"""

from __future__ import annotations

import bisect
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec
import re2

from meshc import matching

if TYPE_CHECKING:
    from meshc import ir

# --- string tests ------------------------------------------------------------------------------

_LETTERS = frozenset(string.ascii_letters)
_META = frozenset("\\.^$|?*+()[]{}")
_PUNCT = frozenset(string.punctuation)
_QUANT = frozenset("*+?{")

fold = matching.ascii_lower
"""Envoy's case folding (ASCII only), as `ignoreUriCase` does it."""


def _has_letters(text: str) -> bool:
    return any(c in _LETTERS for c in text)


class Str(msgspec.Struct, frozen=True):
    """A test on a string value: `exact`, `prefix` or `regex` (full match), optionally case-folded.

    The normal form of a `matching.StringMatch` (see `string_test`): `lead` is a literal every value the
    test accepts starts with (regexes only; None: nothing known).
    """

    kind: str
    value: str
    fold: bool = False
    lead: str | None = None
    """Not compared: two tests that differ only in what is known of them are the same test."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not Str:
            return NotImplemented
        return (self.kind, self.value, self.fold) == (other.kind, other.value, other.fold)

    def __hash__(self) -> int:
        return hash((self.kind, self.value, self.fold))

    def matches(self, text: str) -> bool:
        """Whether `text` passes this test (the IR's `StringMatch.matches`)."""
        return matching.StringMatch(self.kind, self.value, self.fold).matches(text)  # type: ignore[arg-type]

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
        return Str("regex", value, lead=shape[0] if shape is not None else None)
    if fold and not _has_letters(value):
        fold = False
    return Str(kind, value, fold)


@lru_cache(maxsize=4096)
def regex_shape(pattern: str) -> tuple[str, bool, bool] | None:
    """(lead, exact, tail_any) of an RE2 pattern, or None when it is not understood.

    `lead` is a literal that every full match starts with; `exact` means the pattern matches only
    `lead`; `tail_any` means it matches exactly the strings that start with `lead` (`lead.*`).
    Reading is deliberately narrow: anything unusual stops the literal run, and a top-level
    alternation, a `QE` quote (backslash-Q ... backslash-E) or unbalanced parentheses give None.
    (A non-ASCII literal is its UTF-8 bytes in sequence, so it stays a literal; a quantifier after
    it would apply to its last byte only, and stops the run before it.)
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
        return p.kind == "exact" and not p.fold and q.matches(p.value)
    if p.kind == "regex":
        lead = p.lead
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
            return not q.fold and not p.matches(q.value)
        lead = p.lead
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


class Cond(msgspec.Struct, frozen=True):
    """A condition on one header or query parameter whose value may be absent.

    `test` None is the presence test. Negated conditions are `withoutHeaders`: the presence form
    requires the header to be absent; the others require `test` to fail on the value, a missing
    header counting as the empty string.
    """

    test: Str | None
    negated: bool = False

    def holds(self, value: str | None) -> bool:
        """Whether a request whose attribute is `value` (None: absent) satisfies it (`matching.HeaderMatch.holds`)."""
        t = self.test
        sm = matching.StringMatch("present") if t is None else matching.StringMatch(t.kind, t.value, t.fold)  # type: ignore[arg-type]
        header = matching.HeaderMatch("x", sm, self.negated, self.negated and t is not None)
        return header.holds(() if value is None else (value,))


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

URI = "uri"
"""The key of the path in `Block.conds`-like tables (the path is `Block.path`)."""


class Block(msgspec.Struct, frozen=True):
    """Everything one HTTP match block (or a rule without `match`) requires of a request."""

    path: Str | None = None
    """None: any path."""
    conds: Mapping[str, tuple[Cond, ...]] = msgspec.field(default_factory=dict)
    """Per attribute: `h:<lower-case header>` (`h::method`, `h::authority`, `h::scheme` too), `q:<query param>`."""
    claims: Mapping[tuple[str, ...], frozenset[tuple[str, str, bool]]] = msgspec.field(default_factory=dict)
    """JWT claim tests by claim path, compared only for equality (their matching is Envoy metadata matching)."""
    port: int | None = None
    gateways: frozenset[str] = frozenset({MESH})
    """Where the block exists: `mesh` and/or `namespace/name` of gateways."""
    source_labels: frozenset[tuple[str, str]] = frozenset()
    source_namespace: str | None = None

    def __hash__(self) -> int:
        return hash((self.path, tuple(sorted(self.conds.items())), self.port, self.gateways))


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
    if a.path is not None and (b.path is None or not str_implies(b.path, a.path)):
        return False
    for key, wanted in a.conds.items():
        have = b.conds.get(key, ())
        if not all(any(cond_implies(h, w) for h in have) for w in wanted):
            return False
    return all(tests <= b.claims.get(key, frozenset()) for key, tests in a.claims.items())


def _test(sm: matching.StringMatch) -> Str | None:
    return None if sm.kind == "present" else string_test(sm.kind, sm.value, fold=sm.ignore_case)


_NO_CONDS: Mapping[str, tuple[Cond, ...]] = {}
_NO_CLAIMS: Mapping[tuple[str, ...], frozenset[tuple[str, str, bool]]] = {}
_NO_LABELS: frozenset[tuple[str, str]] = frozenset()


def block_of(match: matching.RouteMatch, scope: matching.MatchScope, vs_gateways: frozenset[str]) -> Block:
    """The Block of a compiled match and its scope; `vs_gateways` are the VirtualService's (`mesh`, `ns/name`)."""
    # Most blocks test a path and a header or two: the empty parts are shared, read-only.
    conds: Mapping[str, tuple[Cond, ...]] = _NO_CONDS
    pseudo = match.method is not None or match.authority is not None or match.scheme is not None
    if match.headers or match.query_params or pseudo:
        table: dict[str, list[Cond]] = defaultdict(list)
        for hm in match.headers:
            table["h:" + hm.name].append(Cond(_test(hm.match), hm.invert))
        for name, sm in ((":method", match.method), (":authority", match.authority), (":scheme", match.scheme)):
            if sm is not None:
                table["h:" + name].append(Cond(_test(sm)))
        for qm in match.query_params:
            table["q:" + qm.name].append(Cond(_test(qm.match)))
        conds = {k: tuple(v) for k, v in table.items()}
    claims: Mapping[tuple[str, ...], frozenset[tuple[str, str, bool]]] = _NO_CLAIMS
    if match.jwt_claims:
        by_claim: dict[tuple[str, ...], set[tuple[str, str, bool]]] = defaultdict(set)
        for cm in match.jwt_claims:
            by_claim[tuple(cm.claim)].add((cm.match.kind, cm.match.value, cm.invert))
        claims = {k: frozenset(v) for k, v in by_claim.items()}
    pm = match.path
    path: Str | None = string_test(pm.kind, pm.value, fold=pm.ignore_case)
    assert path is not None
    if _any_path(path):
        path = None
    elif pm.kind == "regex" and path.kind == "prefix" and "?" in path.value:
        # Envoy tests a prefix against the whole `:path` but a regex against the path
        # without its query, so `/a\?.*` is not the prefix `/a?`: keep it a regex.
        path = Str("regex", pm.value, lead=path.value)
    if scope.gateways:
        gateways = frozenset(scope.gateways) & vs_gateways
        labels = _NO_LABELS
        source_ns = None
    else:
        gateways = vs_gateways
        labels = frozenset(scope.source_labels.items()) if scope.source_labels else _NO_LABELS
        source_ns = scope.source_namespace
    return Block(path, conds, claims, scope.port, gateways, labels, source_ns)


def vs_gateway_keys(gateways: Iterable[str], gateway_key: Any) -> frozenset[str]:
    """The keys of a VirtualService's `gateways` (empty: the mesh)."""
    refs = list(gateways)
    if not refs:
        return frozenset({MESH})
    return frozenset(MESH if g == MESH else gateway_key(g) for g in refs)


# --- indexes -----------------------------------------------------------------------------------


class _Postings:
    """Ids filed under one condition on a named attribute each, found again from what a probe has there.

    A lookup returns every id whose condition CAN hold for the probe (never fewer, sometimes more):
    the caller checks each candidate with the real test. Exact values are hashed; prefixes are found
    by cutting the probe's text at the lengths the filed prefixes have; regexes of one attribute run
    together as one RE2 set (compiled like `matching.compiled_regex`).
    """

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.prefix: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.regex: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.same_regex: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.keyed: dict[str, list[int]] = defaultdict(list)
        self.always: list[int] = []
        self.family: dict[str, list[int]] = defaultdict(list)
        """Every id filed under a key, whatever the table (`~` dropped)."""
        self.starts: dict[str, list[tuple[str, int]]] = defaultdict(list)
        """Ids by a string, found by what it starts with (kept sorted once lookups begin)."""
        self._sorted: set[str] = set()
        self.gateway_sets: dict[frozenset[str], list[int]] = defaultdict(list)
        """Ids by the set of gateways their block exists on (found from any subset)."""
        self._lengths: dict[str, list[int]] = {}
        self._sets: dict[str, tuple[Any, list[int]] | None] = {}

    # Filing. `fold` tables live under the key `~<key>` and hold ASCII-folded values.

    def file_test(self, key: str, kind: str, value: str, folded: bool, n: int) -> None:
        """File `n` under a string test on `key` (`exact`, `prefix` or `regex`)."""
        self.family[key].append(n)
        if folded:
            key, value = "~" + key, fold(value)
        if kind == "exact":
            self.exact[(key, value)].append(n)
        elif kind == "prefix":
            self.prefix[key][value].append(n)
            self._lengths.pop(key, None)
        else:
            self.regex[key].append((value, n))
            self.same_regex[(key, value)].append(n)
            self._sets.pop(key, None)

    def file_starts(self, key: str, value: str, n: int) -> None:
        """File `n` under `value`, to be found by any beginning of it (`starting`, `equal`)."""
        self.family[key].append(n)
        self.starts[key].append((value, n))
        self._sorted.discard(key)

    def starting(self, key: str, text: str, out: list[int], *, whole: bool = False) -> None:
        """Ids filed by `file_starts` under a value that starts with `text` (`whole`: that is `text`)."""
        table = self.starts.get(key)
        if not table:
            return
        if key not in self._sorted:
            table.sort()
            self._sorted.add(key)
        i = bisect.bisect_left(table, (text, -1))
        while i < len(table) and (table[i][0] == text if whole else table[i][0].startswith(text)):
            out.append(table[i][1])
            i += 1

    def file_key(self, key: str, n: int) -> None:
        """File `n` under "the probe has something on `key`"."""
        self.family[key].append(n)
        self.keyed[key].append(n)

    # Lookups: each appends candidate ids to `out`.

    def value(self, key: str, out: list[int], exact: str, prefix: str | None = None, regex: str | None = None) -> None:
        """Ids whose test on `key` a concrete value passes (`prefix`, `regex`: what those tests see, if not `exact`)."""
        prefix = exact if prefix is None else prefix
        regex = exact if regex is None else regex
        out.extend(self.exact.get((key, exact), ()))
        out.extend(self.exact.get(("~" + key, fold(exact)), ()))
        self.text(key, prefix, out)
        self._regex_matches(key, regex, out)

    def text(self, key: str, text: str, out: list[int]) -> None:
        """Ids filed under a prefix (folded or not) that `text` (or its folded form) starts with."""
        self._prefixes(key, text, out)
        self._prefixes("~" + key, fold(text), out)

    def folded(self, key: str, value: str, out: list[int]) -> None:
        """Ids whose test a case-folded exact or prefix test may imply: compared on the folded value in every table."""
        low = fold(value)
        out.extend(self.exact.get((key, low), ()))
        out.extend(self.exact.get(("~" + key, low), ()))
        self._prefixes(key, low, out)
        self._prefixes("~" + key, low, out)

    def _prefixes(self, key: str, text: str, out: list[int]) -> None:
        table = self.prefix.get(key)
        if not table:
            return
        lengths = self._lengths.get(key)
        if lengths is None:
            lengths = self._lengths[key] = sorted({len(p) for p in table})
        n = len(text)
        # Cut only at the lengths the prefixes have (a 200 KB text has 200,000 prefixes).
        for k in lengths if len(lengths) <= n + 1 else range(n + 1):
            if k > n:
                break
            found = table.get(text[:k])
            if found:
                out.extend(found)

    def _regex_matches(self, key: str, value: str, out: list[int]) -> None:
        patterns = self.regex.get(key)
        if not patterns:
            return
        if key not in self._sets:
            self._sets[key] = _regex_set(patterns)
        built = self._sets[key]
        if built is not None:
            compiled, ids = built
            try:
                hits = compiled.Match(matching.wire_bytes(value))
            except Exception:  # RE2::Set ran out of memory: test the patterns one by one
                self._sets[key] = None
            else:
                out.extend(ids[h] for h in hits or ())
                return
        out.extend(n for pattern, n in patterns if matching.regex_fullmatch(pattern, value))


def _regex_set(patterns: Sequence[tuple[str, int]]) -> tuple[Any, list[int]] | None:
    """One RE2 set of whole-value patterns, as `matching.compiled_regex` compiles each; None if RE2 cannot build it."""
    try:
        compiled = re2.Set.FullMatchSet(matching.REGEX_OPTIONS)
        ids: list[int] = []
        for pattern, n in patterns:
            if matching.compiled_regex(pattern) is None:
                continue  # RE2 rejects it: it matches nothing
            compiled.Add(matching.wire_bytes(pattern))
            ids.append(n)
        if not compiled.Compile():
            return None
    except Exception:
        return None
    return compiled, ids


Option = tuple[str, str, str, bool]
"""A condition an item can be filed under: (key, `exact`|`prefix`|`regex`|`starts`|`key`|`gateways`, value, folded)."""

_SCORES = {"exact": 4, "prefix": 3, "starts": 3, "regex": 2, "key": 1, "gateways": 1}


def _file_all(postings: _Postings, options: Sequence[list[Option]]) -> None:
    """File each item under its rarest option (ties: the most selective kind); items without any go to `always`.

    Rarity keeps the buckets small: a lookup returns whole buckets, so N blocks that all test
    `uri exact /api` but each a different header value are filed by the header value.
    """
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for opts in options:
        for key, kind, value, folded in set(opts):
            counts[("~" + key if folded else key, kind, fold(value) if folded else value)] += 1
    for n, opts in enumerate(options):
        if not opts:
            postings.always.append(n)
            continue
        key, kind, value, folded = min(
            opts,
            key=lambda o: (
                counts[("~" + o[0] if o[3] else o[0], o[1], fold(o[2]) if o[3] else o[2])],
                -(_SCORES[o[1]] - o[3]),
            ),
        )
        if kind == "key":
            postings.file_key(key, n)
        elif kind == "starts":
            postings.file_starts(key, value, n)
        elif kind == "gateways":
            postings.gateway_sets[frozenset(value.split("\x00")) if value else frozenset()].append(n)
        else:
            postings.file_test(key, kind, value, folded, n)


def _look_up_string_test(postings: _Postings, key: str, test: Str, out: list[int]) -> None:
    """Ids filed under a test that `test` may imply (see `str_implies`)."""
    if test.kind == "regex":
        if test.lead is not None:
            postings.text(key, test.lead, out)
        out.extend(postings.same_regex.get((key, test.value), ()))
    elif test.fold:
        postings.folded(key, test.value, out)
    elif test.kind == "exact":
        postings.value(key, out, test.value)
    else:
        postings.text(key, test.value, out)


_WALK = 8
"""Up to this many routes (or match blocks), trying each is cheaper than filing them and looking one up."""


class Containers:
    """The match blocks of one VirtualService, each filed under one condition every block it contains has.

    `first(n)` is the first block before block `n` that contains it: exactly what comparing block
    `n` with every earlier block finds (tests/test_routing_scale.py holds the two to the same
    answers), but each block is compared only with the blocks whose filed condition it satisfies.
    A block can be filed under: the test of its path, or of a header, query parameter or pseudo-header
    it requires (a containing block's test must be implied by one of the contained block's tests), a
    JWT claim test, its port, source namespace or a source label (the contained block has the same),
    an attribute it tests the presence or absence of (the contained block tests it too), or the set
    of gateways it exists on (the contained block's is a subset). Blocks equal to
    an earlier one are not filed: the earlier one contains whatever they contain.
    Up to `_WALK` blocks (a VirtualService's usual few), nothing is filed: `first(n)` compares
    block `n` with every earlier block, which is cheaper than filing them.
    """

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = blocks
        self.walk = len(blocks) <= _WALK
        if self.walk:
            return
        self.postings = _Postings()
        seen: set[Block] = set()
        options: list[list[Option]] = []
        for block in blocks:
            if block in seen:
                options.append([("", "key", "", False)])  # filed under an attribute nothing has
                continue
            seen.add(block)
            options.append(_block_options(block))
        _file_all(self.postings, options)

    def candidates(self, block: Block) -> list[int]:
        """Every filed block that may contain `block`, in order (with some that do not)."""
        if self.walk:
            return list(range(len(self.blocks)))
        p = self.postings
        out = list(p.always)
        if block.path is not None:
            _look_up_string_test(p, URI, block.path, out)
        for key, conds in block.conds.items():
            for c in conds:
                if c.negated and c.test is not None:
                    # A container's `withoutHeaders` test on `key` that implies this one: see `_block_options`.
                    t = c.test
                    text = fold(t.value if t.kind != "regex" else t.lead or "")
                    p.starting("!" + key, text, out, whole=t.kind == "exact")
                    continue
                if c.test is not None:
                    _look_up_string_test(p, key, c.test, out)
                out.extend(p.keyed.get(key, ()))
                # A value the container's absence test may reject (a present value, or an absent one).
                out.extend(p.family.get("!" + key, ()))
                if c.negated:
                    out.extend(p.keyed.get("-" + key, ()))
        for key, value in _exact_values(block):
            out.extend(p.exact.get((key, value), ()))
        for gateways, ids in p.gateway_sets.items():  # as many as distinct gateway sets: a few
            if block.gateways <= gateways:
                out.extend(ids)
        return sorted(set(out))

    def first(self, n: int) -> int | None:
        """The first block before block `n` that contains it, or None."""
        here = self.blocks[n]
        if self.walk:
            return next((m for m in range(n) if contains(self.blocks[m], here)), None)
        for m in self.candidates(here):
            if m >= n:
                break
            if contains(self.blocks[m], here):
                return m
        return None


def _block_options(block: Block) -> list[Option]:
    """The conditions a block can be filed under: each one every block it contains must meet (see `contains`).

    Per condition on an attribute `k` (`cond_implies` says which conditions of a contained block
    imply it): a test → the same table (`str_implies`); a presence test → `k` (any condition on `k`
    that requires a value); an absence test (`withoutHeaders: {k: {}}`) → `-k` (only an absence
    test implies it); a `withoutHeaders` test → `!k` by its folded value (a regex: its literal
    start): a contained block has there a value test, an absence test, or a `withoutHeaders` test
    this one implies, whose folded value (or literal start) begins the filed one (`str_implies`).
    """
    out: list[Option] = []
    if block.path is not None:
        out.append((URI, block.path.kind, block.path.value, block.path.fold))
    for key, conds in block.conds.items():
        for c in conds:
            if not c.negated:
                out.append(
                    (key, c.test.kind, c.test.value, c.test.fold) if c.test is not None else (key, "key", "", False)
                )
            elif c.test is None:
                out.append(("-" + key, "key", "", False))
            else:
                t = c.test
                out.append(("!" + key, "starts", fold(t.value if t.kind != "regex" else t.lead or ""), False))
    out.extend((key, "exact", value, False) for key, value in _exact_values(block))
    # A contained block exists on a subset of its gateways.
    out.append(("s:gw", "gateways", "\x00".join(sorted(block.gateways)), False))
    return out


def _exact_values(block: Block) -> list[tuple[str, str]]:
    """(key, value) of the conditions a contained block must have the same: claim tests and scope."""
    out = [
        ("c:" + "\x00".join(claim), f"{kind}\x00{value}\x00{int(negated)}")
        for claim, tests in block.claims.items()
        for kind, value, negated in tests
    ]
    if block.port is not None:
        out.append(("s:port", str(block.port)))
    if block.source_namespace is not None:
        out.append(("s:ns", block.source_namespace))
    out.extend(("s:label", f"{k}={v}") for k, v in sorted(block.source_labels))
    return out


_PSEUDO = (":authority", "host", ":method", ":path", ":scheme")


class RouteIndex:
    """The routes of one virtual host, each filed under one condition a request must pass to take it.

    `first(request)` is the first route whose match holds, as Envoy walks them, but it tests only the
    routes whose filed condition the request passes (and those filed under none). `meshc diff` sends
    a request per match block through every virtual host: walking every route before the one taken
    made it quadratic in the routes of a virtual host.
    """

    def __init__(self, routes: Sequence[ir.Route]) -> None:
        self.routes = routes
        self.postings = _Postings()
        if len(routes) > _WALK:
            _file_all(self.postings, [_route_options(r.match) for r in routes])

    def candidates(self, request: matching.HttpRequest) -> list[int]:
        """Every route the request may take, in order (with some it does not)."""
        p = self.postings
        out = list(p.always)
        path = request.path
        p.value(URI, out, matching.path_without_query(path), prefix=path)
        names = dict.fromkeys([*_PSEUDO, *(matching.ascii_lower(k) for k, _ in request.headers)])
        for name in names:
            key = "h:" + name
            values = request.header_values(name)
            if values:
                out.extend(p.keyed.get(key, ()))
            for value in values:
                p.value(key, out, value)
        firsts: dict[str, str] = {}
        for name, value in matching.query_params(path):
            firsts.setdefault(name, value)
        for name, value in firsts.items():
            out.extend(p.keyed.get("q:" + name, ()))
            p.value("q:" + name, out, value)
        return sorted(set(out))

    def first(self, request: matching.HttpRequest) -> int | None:
        """The index of the first route `request` takes, or None (Envoy answers 404)."""
        if len(self.routes) <= _WALK:
            return next((n for n, r in enumerate(self.routes) if r.match.matches(request)), None)
        for n in self.candidates(request):
            if self.routes[n].match.matches(request):
                return n
        return None


def _route_options(m: matching.RouteMatch) -> list[Option]:
    """Conditions a request must pass to take a route with this match."""
    out: list[Option] = []
    pm = m.path
    if not (pm.kind == "prefix" and pm.value == "/" and not pm.ignore_case):
        path = pm.string_match
        out.append((URI, path.kind, path.value, path.ignore_case))
    tests = [("h:" + hm.name, hm.match) for hm in m.headers if not hm.invert and not hm.treat_missing_as_empty]
    for name, pseudo in ((":method", m.method), (":authority", m.authority), (":scheme", m.scheme)):
        if pseudo is not None:
            tests.append(("h:" + name, pseudo))
    tests.extend(("q:" + qm.name, qm.match) for qm in m.query_params)
    for key, sm in tests:
        if sm.kind == "present":
            out.append((key, "key", "", False))
        else:
            out.append((key, sm.kind, sm.value, sm.ignore_case))
    return out
