r"""Envoy's string matching, measured on the real Envoy: the semantics `meshc.ir`'s matcher implements.

Each case is a header condition and the bytes of a request header. One configuration holds every
case as a rule `x-case: <i>` AND the condition → direct response 201 (a last rule answers 202), so
one Envoy answers them all. Requests are written with the header bytes exactly
as given (UTF-8 as a terminal sends them, or a Latin-1 byte). Three answers must agree: Envoy's,
`meshc route`'s (the simulator, through `meshc.route.explain`), and the one written in the case.

What they pin down (issue 20 point 7, issue 12 "one matcher"):
- regexes run on bytes: RE2 reads one character per byte (`caf.` does not match `café`, `caf..`
  does); the pattern's own non-ASCII characters are bytes too (`caf\x{e9}` matches only a Latin-1
  `é`);
- a header sent twice matches when one of its values does (not their `,`-joined form), and
  `withoutHeaders` is the negation of that;
- header names are compared case-insensitively.

The property test sends random string conditions (exact, prefix, regex over a small grammar with
non-ASCII characters) and random values: `ir.StringMatch.matches` must give Envoy's answer.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from meshc import ir
from tests.e2e import differential as diff


@dataclass(frozen=True)
class Case:
    """A header condition (`headers` or, with `without`, `withoutHeaders`) and the header values sent."""

    kind: str
    value: str
    sent: tuple[bytes, ...]
    expect: bool | None = None
    """Envoy's measured answer (None in generated cases: only meshc and Envoy are compared)."""
    without: bool = False
    name: str = "x-v"
    sent_name: bytes = b"x-v"


CAFE = "café".encode()
BYTE_CASES = [
    # The example: `caf.` → ONE then `caf..` → TWO; Envoy picks TWO for `café`.
    Case("regex", "caf.", (CAFE,), False),
    Case("regex", "caf..", (CAFE,), True),
    Case("regex", "caf\\x{e9}", (CAFE,), False),
    Case("regex", "caf\\x{e9}", ("café".encode("latin-1"),), True),
    Case("regex", "caf.", ("café".encode("latin-1"),), True),
    Case("regex", "café", (CAFE,), True),
    Case("regex", "caf[^a]", (CAFE,), False),
    Case("regex", "caf[^a][^a]", (CAFE,), True),
    Case("regex", ".{5}", (CAFE,), True),
    Case("regex", ".{4}", (CAFE,), False),
    Case("regex", "café?", (b"caf\xc3",), True),
    Case("regex", "caf(é)?", (b"caf\xc3",), False),
    Case("regex", "caf\\C\\C", (CAFE,), True),
    Case("regex", "caf\\pL", (CAFE,), False),
    Case("regex", "(?i)CAFÉ", (CAFE,), False),
    Case("regex", "caf.", ("caf€".encode(),), False),
    Case("regex", "caf...", ("caf€".encode(),), True),
    Case("regex", "[^x]", ("é".encode(),), False),
    Case("regex", "\\w+", (CAFE,), False),
    Case("exact", "café", (CAFE,), True),
    Case("prefix", "caf", (CAFE,), True),
    # A header sent twice: one value must pass, the joined value is not tested.
    Case("exact", "1", (b"1", b"2"), True),
    Case("exact", "2", (b"1", b"2"), True),
    Case("regex", "1,2", (b"1", b"2"), False),
    Case("exact", "1,2", (b"1", b"2"), False),
    Case("prefix", "1,", (b"1", b"2"), False),
    Case("exact", "1", (b"1", b"2"), False, without=True),
    Case("regex", "1,2", (b"1", b"2"), True, without=True),
    Case("exact", "1", (), True, without=True),
    Case("present", "", (), False),
    Case("present", "", (), True, without=True),
    Case("present", "", (b"",), True),
    # Names: Envoy lowers them (ASCII).
    Case("exact", "v", (b"v",), True, sent_name=b"X-V"),
]


def _condition(case: Case) -> dict[str, Any]:
    return {} if case.kind == "present" else {case.kind: case.value}


def _config(cases: list[Case]) -> str:
    rules = []
    for i, case in enumerate(cases):
        match: dict[str, Any] = {"headers": {"x-case": {"exact": str(i)}}}
        match.setdefault("withoutHeaders" if case.without else "headers", {})[case.name] = _condition(case)
        rules.append({"match": [match], "directResponse": {"status": 201}})
    rules.append({"directResponse": {"status": 202}})
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"hosts": ["r"], "http": rules},
        },
    ]
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


def _send(port: int, headers: list[tuple[bytes, bytes]]) -> int:
    """One GET with exactly these header bytes (http.client writes bytes as they are); Envoy's status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "r")
        for name, value in headers:
            conn.putheader(name, value)  # type: ignore[arg-type]
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _as_text(value: bytes) -> str:
    """A header value as meshc receives it: UTF-8, undecodable bytes kept (`surrogateescape`)."""
    return value.decode("utf-8", "surrogateescape")


def _answers(cases: list[Case]) -> Iterator[tuple[Case, bool, bool]]:
    """(case, Envoy matched, meshc route matched) for every case, with one Envoy for all of them."""
    with diff.deploy(_config(cases)) as dep:
        port = dep.ports[80]
        for i, case in enumerate(cases):
            sent = [(b"x-case", str(i).encode())] + [(case.sent_name, v) for v in case.sent]
            status = _send(port, sent)
            assert status in (201, 202), f"{case}: Envoy answered {status}"
            decision = dep.predict(host="r", port=80, headers=[(_as_text(k), _as_text(v)) for k, v in sent])
            assert decision.action == "direct_response", decision.reason
            yield case, status == 201, decision.status == 201


def test_envoy_matches_bytes_and_meshc_route_agrees() -> None:
    """Proves: Envoy's regexes run on bytes, repeated headers match on any value; the simulator does the same."""
    wrong = []
    for case, envoy, meshc in _answers(BYTE_CASES):
        if not (envoy == meshc == case.expect):
            wrong.append(f"{case}: Envoy {envoy}, meshc route {meshc}, expected {case.expect}")
    assert not wrong, "\n".join(wrong)


CAFE_RULES = """\
apiVersion: v1
kind: Service
metadata: {name: r, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: default}
spec:
  hosts: [r]
  http:
  - name: one
    match: [{headers: {x-name: {regex: "caf."}}}]
    directResponse: {status: 251}
  - name: two
    match: [{headers: {x-name: {regex: "caf.."}}}]
    directResponse: {status: 252}
"""


def test_meshc_route_answers_two_for_cafe(tmp_path: Any) -> None:
    """Proves: `meshc route` (the command) picks rule `two` for `x-name: café`, as Envoy does (issue 20 point 7)."""
    from typer.testing import CliRunner

    from meshc.cli import app

    path = tmp_path / "vs.yaml"
    path.write_text(CAFE_RULES, encoding="utf-8")
    args = ["route", "--no-config", str(path), "--host", "r", "--port", "80", "--header", "x-name=café"]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    decision = yaml.safe_load(result.output)
    assert (decision["rule"]["name"], decision["action"]) == ("two", "direct_response")
    with diff.deploy(CAFE_RULES) as dep:
        assert _send(dep.ports[80], [(b"x-name", CAFE)]) == 252


# --- property: random string conditions against random values ----------------------------------------

_CHARS = ("a", "b", "1", ",", "é", "€", "ß", "K")
_ATOMS = ("a", "b", "é", "€", ".", "[^a]", "[aé]", "\\pL", "[[:^ascii:]]", "(a|é)", "\\x{e9}")
_QUANT = ("", "", "?", "*", "+", "{2}")


@st.composite
def _regex(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_QUANT)), min_size=1, max_size=4))
    return "".join(a + q for a, q in pieces)


_text = st.text(st.sampled_from(_CHARS), max_size=5)


@st.composite
def _case(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(("exact", "prefix", "regex", "regex")))
    value = draw(_regex()) if kind == "regex" else draw(_text.filter(bool))
    values = draw(st.lists(_text.map(str.encode), min_size=1, max_size=2))
    if draw(st.integers(0, 5)) == 0:
        values = [v.decode().encode("latin-1", "replace") for v in values]  # a Latin-1 client
    return Case(kind, value, tuple(values), without=draw(st.integers(0, 4)) == 0)


CASES_PER_ENVOY = 40


def _check_random(cases: list[Case]) -> None:
    cases = [c for c in cases if c.kind != "regex" or ir.compiled_regex(c.value) is not None]
    wrong = []
    for case, envoy, meshc in _answers(cases):
        values = [_as_text(v) for v in case.sent]
        holds = ir.HeaderMatch("x-v", ir.StringMatch(case.kind, case.value), case.without, case.without).holds(values)  # type: ignore[arg-type]
        if not (envoy == meshc == holds):
            wrong.append(f"{case}: Envoy {envoy}, meshc route {meshc}, HeaderMatch.holds {holds}")
    assert not wrong, "\n".join(wrong)


def _property(examples: int, derandomize: bool) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=(Phase.explicit, Phase.generate),  # each example starts an Envoy: no shrinking
    )
    @given(st.lists(_case(), min_size=CASES_PER_ENVOY, max_size=CASES_PER_ENVOY))
    def prop(cases: list[Case]) -> None:
        _check_random(cases)

    prop()


def test_string_matching_agrees_with_envoy_quick() -> None:
    """Proves: for 3 × 40 random string conditions and values, Envoy, `meshc route` and the IR matcher agree."""
    _property(3, derandomize=True)


@pytest.mark.slow
def test_string_matching_agrees_with_envoy_long() -> None:
    """Long profile: 50 × 40 random conditions."""
    _property(50, derandomize=False)
