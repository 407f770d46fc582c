"""Example requests that satisfy route matches: the probes `meshc diff` runs through both simulators.

A witness of a set of `RouteMatch`es is one concrete request that every one of them selects: for
each dimension of a request (path, each header, method, authority, scheme, each query parameter,
each JWT claim) the first candidate value that satisfies the conditions of every match on that
dimension is taken, then the whole request is checked with the IR's matcher (`RouteMatch.mismatch`,
which the simulator uses too). A regex is turned into a string by walking Python's parse of it (RE2
syntax is a subset for the usual patterns) and the result is checked with Envoy's regex matcher
(`ir.regex_fullmatch`). When no candidate fits, there is no witness: the caller says so instead of
guessing.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshc import ir
from meshc.simulate import Request, check

try:  # Python 3.11+
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre_c
    import sre_parse

FILLER = "meshc"
"""Value used where any value will do (a header that only has to be present)."""


@dataclass(frozen=True)
class Probe:
    """The parts of a request a route match can look at (host and port are added per virtual host)."""

    path: str = "/"
    """Path without the query string."""
    method: str = "GET"
    """HTTP method."""
    headers: tuple[tuple[str, str], ...] = ()
    """Lowercase header names and values, sorted."""
    authority: str | None = None
    """Host header to send instead of the virtual host's name (an `authority` match)."""
    scheme: str | None = None
    """Scheme; None: the simulator's default for the chain."""
    query: tuple[tuple[str, str], ...] = ()
    """Query parameters, sorted."""
    claims: str = "{}"
    """Validated JWT claims as canonical JSON (kept hashable)."""

    def request(self, host: str, port: int, *, gateway: str, source_namespace: str) -> Request:
        """The simulator request for this probe sent to `host` on `port` through `gateway`."""
        path = self.path
        if self.query:
            path += "?" + "&".join(f"{k}={v}" for k, v in self.query)
        return Request(
            host=self.authority or host,
            path=path,
            method=self.method,
            headers=list(self.headers),
            port=port,
            scheme=self.scheme,
            gateway=gateway,
            source_namespace=source_namespace,
            claims=json.loads(self.claims),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        out: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.query:
            out["path"] += "?" + "&".join(f"{k}={v}" for k, v in self.query)
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.authority:
            out["authority"] = self.authority
        if self.scheme:
            out["scheme"] = self.scheme
        claims = json.loads(self.claims)
        if claims:
            out["claims"] = claims
        return out

    def text(self) -> str:
        """`GET /path [end-user: jason]` for humans."""
        d = self.to_dict()
        extra = [f"{k}: {v}" for k, v in self.headers]
        if self.authority:
            extra.append(f"host: {self.authority}")
        if self.scheme:
            extra.append(f"scheme {self.scheme}")
        if self.claims != "{}":
            extra.append(f"claims {self.claims}")
        return f"{self.method} {d['path']}" + (f" [{'; '.join(extra)}]" if extra else "")


# --- regex witnesses ------------------------------------------------------------------------------


def regex_example(pattern: str) -> str | None:
    """A string the RE2 `pattern` matches as a whole, or None when none could be built."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    try:
        text = _gen(parsed, {})
    except _NoExample:
        return None
    return text if ir.regex_fullmatch(pattern, text) else None


class _NoExample(Exception):
    pass


_OTHER_CHARS = "a0-_Zb~./"


def _class_has(items: Sequence[Any], ch: str) -> bool:
    code = ord(ch)
    for op, av in items:
        if op is sre_c.LITERAL and av == code:
            return True
        if op is sre_c.RANGE and av[0] <= code <= av[1]:
            return True
        if op is sre_c.CATEGORY:
            name = str(av)
            if name.endswith("DIGIT") and ch.isdigit() != ("NOT" in name):
                return True
            if name.endswith("WORD") and (ch.isalnum() or ch == "_") != ("NOT" in name):
                return True
            if name.endswith("SPACE") and ch.isspace() != ("NOT" in name):
                return True
    return False


def _in_pick(items: Sequence[Any]) -> str:
    if items and items[0][0] is sre_c.NEGATE:
        rest = items[1:]
        for ch in _OTHER_CHARS:
            if not _class_has(rest, ch):
                return ch
        raise _NoExample
    for ch in ("a", "0", "x"):
        if _class_has(items, ch):
            return ch
    op, av = items[0]
    if op is sre_c.LITERAL:
        return chr(av)
    if op is sre_c.RANGE:
        return chr(av[0])
    if op is sre_c.CATEGORY:
        for ch in _OTHER_CHARS + " ":
            if _class_has(items, ch):
                return ch
    raise _NoExample


def _gen(parsed: Iterable[Any], groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, av in parsed:
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is sre_c.ANY:
            out.append("a")
        elif op is sre_c.IN:
            out.append(_in_pick(av))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) or str(op) == "POSSESSIVE_REPEAT":
            lo, hi, sub = av
            count = max(lo, min(1, hi))
            out.append("".join(_gen(sub, groups) for _ in range(count)))
        elif op is sre_c.SUBPATTERN:
            group, sub = av[0], av[-1]
            text = _gen(sub, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif str(op) == "ATOMIC_GROUP":
            out.append(_gen(av, groups))
        elif op is sre_c.BRANCH:
            out.append(_gen(av[1][0], groups))
        elif op is sre_c.AT:
            continue
        elif op is sre_c.GROUPREF:
            out.append(groups.get(av, ""))
        else:
            raise _NoExample
    return "".join(out)


# --- string witnesses -----------------------------------------------------------------------------


def _sm_example(sm: ir.StringMatch) -> str | None:
    if sm.kind == "present":
        return FILLER
    if sm.kind in ("exact", "prefix"):
        return sm.value
    return regex_example(sm.value)


def _path_example(pm: ir.PathMatch) -> str | None:
    if pm.kind in ("exact", "prefix", "path_separated_prefix"):
        return pm.value or "/"
    return regex_example(pm.value)


def _first(candidates: Iterable[str | None], ok: Any) -> tuple[bool, str | None]:
    """(found, value): the first candidate (None meaning "absent") for which `ok` holds."""
    seen: set[str | None] = set()
    for c in candidates:
        if c in seen:
            continue
        seen.add(c)
        if ok(c):
            return True, c
    return False, None


def _header_holds(hm: ir.HeaderMatch, value: str | None) -> bool:
    return hm.holds(() if value is None else (value,))


def _claim_holds(cm: ir.ClaimMatch, value: str | None) -> bool:
    claims: dict[str, Any] = {}
    if value is not None:
        node = claims
        for part in cm.claim[:-1]:
            node = node.setdefault(part, {})
        node[cm.claim[-1]] = value
    return cm.holds(claims)


def _other(value: str) -> str:
    return value + "-other" if value else FILLER


@dataclass
class _Dim:
    """Candidate values for one header, query parameter or claim."""

    candidates: list[str | None] = field(default_factory=list)
    checks: list[Any] = field(default_factory=list)


def witness(matches: Sequence[ir.RouteMatch]) -> Probe | None:
    """A request every match in `matches` selects, or None when none could be built."""
    # Path: the most specific example first (exact, then the longest prefix or a regex example).
    paths: list[str | None] = []
    for m in sorted(matches, key=lambda m: (m.path.kind != "exact", -len(m.path.value))):
        paths.append(_path_example(m.path))
    paths.append("/")
    found, path = _first([p for p in paths if p is not None], lambda p: all(m.path.matches(p) for m in matches))
    if not found or path is None:
        return None
    method = authority = scheme = None
    for attr in ("method", "authority", "scheme"):
        sms = [getattr(m, attr) for m in matches if getattr(m, attr) is not None]
        if not sms:
            continue
        found, value = _first(
            [_sm_example(sm) for sm in sms], lambda v, sms=sms: v is not None and all(sm.matches(v) for sm in sms)
        )
        if not found:
            return None
        if attr == "method":
            method = value
        elif attr == "authority":
            authority = value
        else:
            scheme = value
    headers = _dims(
        ((hm.name, hm) for m in matches for hm in m.headers),
        lambda hm: None if hm.invert else _sm_example(hm.match),
        _header_holds,
        lambda hm: hm.match.value if hm.match.kind != "present" else "",
    )
    if headers is None:
        return None
    query = _dims(
        ((qm.name, qm) for m in matches for qm in m.query_params),
        lambda qm: _sm_example(qm.match),
        lambda qm, v: qm.holds(() if v is None else (v,)),
        lambda qm: qm.match.value,
    )
    if query is None:
        return None
    claims_flat = _dims(
        (("\x00".join(cm.claim), cm) for m in matches for cm in m.jwt_claims),
        lambda cm: None if cm.invert else _sm_example(cm.match),
        _claim_holds,
        lambda cm: cm.match.value,
    )
    if claims_flat is None:
        return None
    claims: dict[str, Any] = {}
    for key, value in claims_flat:
        node = claims
        parts = key.split("\x00")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    probe = Probe(
        path=path,
        method=method or "GET",
        headers=tuple(headers),
        authority=authority,
        scheme=scheme,
        query=tuple(query),
        claims=json.dumps(claims, sort_keys=True),
    )
    req = probe.request(authority or "witness.invalid", 80, gateway="mesh", source_namespace="default")
    if authority is None:
        # The host is the virtual host's; an authority condition always comes with an explicit one.
        req.host = "witness.invalid"
    if any(check(m, req) is not None for m in matches):
        return None
    return probe


def _dims(
    conditions: Iterable[tuple[str, Any]],
    example: Any,
    holds: Any,
    raw: Any,
) -> list[tuple[str, str]] | None:
    """Values per name (None: leave out) that satisfy every condition on that name."""
    dims: dict[str, _Dim] = {}
    for name, cond in conditions:
        d = dims.setdefault(name, _Dim())
        d.candidates.append(example(cond))
        d.checks.append(cond)
    out: list[tuple[str, str]] = []
    for name in sorted(dims):
        d = dims[name]
        extra: list[str | None] = [None, FILLER] + [_other(raw(c)) for c in d.checks]
        found, value = _first(d.candidates + extra, lambda v, d=d: all(holds(c, v) for c in d.checks))
        if not found:
            return None
        if value is not None:
            out.append((name, value))
    return out
