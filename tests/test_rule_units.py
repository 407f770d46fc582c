"""Rules are units: each computes its own findings, runs only the analyses it reads, and sits where the scheme says.

- `--select MC208` runs the route lists and nothing else: no shadowing analysis, no host
  resolution, no compiled match (counted by wrapping the analyses and the matcher's translation).
- Every MC2xx rule, run alone, finds what it finds in a full run (no rule depends on another
  having run first, as the old shared walk's string-keyed table allowed).
- The naming scheme of `meshc.rules` holds: every code a module registers is listed in the first
  line of its docstring.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

import meshc.rules.routing as routing
from meshc import ir, matchspace
from meshc.config import Options
from meshc.lint import lint
from meshc.rules import RULES
from meshc.rules.base import per_mesh

RULE_CASES = Path(__file__).parent / "rules"


def _count(monkeypatch: pytest.MonkeyPatch, counts: Counter[str], owner: Any, name: str) -> None:
    """Count the runs of `owner.name`; for a `per_mesh` analysis, its computations (not its cached reads)."""
    original = getattr(owner, name)
    inner = getattr(original, "__wrapped__", original)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(owner, name, per_mesh(counted) if inner is not original else counted)


def _lint(text: str, select: tuple[str, ...]) -> list[tuple[str, str, int, str]]:
    report = lint(["-"], Options(select=select), stdin=text.encode("utf-8"))
    return [(d.code, d.span.path, d.span.line, d.message) for d in report.diagnostics]


def _inputs(pattern: str) -> list[str]:
    """The inputs of the per-rule cases whose file matches `pattern`, one stream per case.

    One stream for all of them would not do: the cases reuse names (`reviews` in `default`), and a
    resource defined twice is one resource, the later definition (MC012, as `kubectl apply`).
    """
    docs = []
    for path in sorted(RULE_CASES.glob(pattern)):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        docs.extend(case["input"] for case in data["cases"] if not data.get("target"))
    return docs


def _lint_each(texts: list[str], select: tuple[str, ...]) -> list[tuple[str, str, int, str]]:
    """`_lint` of every case; a finding's path is the case's number."""
    return [(code, str(i), line, msg) for i, text in enumerate(texts) for code, _, line, msg in _lint(text, select)]


def test_select_mc208_runs_no_unrelated_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proves: `--select MC208` reads the route lists only (issue 12 point 5)."""
    counts: Counter[str] = Counter()
    for name in ("_shadows", "_mesh_hosts", "_route_lists", "_http_rules"):
        _count(monkeypatch, counts, routing, name)
    _count(monkeypatch, counts, routing, "block_of")
    monkeypatch.setattr(ir.RouteMatch, "of", _counted_of(counts))
    texts = _inputs("MC20*.yaml")
    found = _lint_each(texts, ("MC208",))
    assert found and {f[0] for f in found} == {"MC208"}
    assert counts["_route_lists"] == len(texts)
    assert counts["_shadows"] == counts["_mesh_hosts"] == counts["block_of"] == counts["RouteMatch.of"] == 0
    # The same input with every rule: the analyses run, once each per run.
    counts.clear()
    _lint_each(texts, ())
    assert counts["_shadows"] == counts["_mesh_hosts"] == counts["_route_lists"] == len(texts)
    assert counts["block_of"] == counts["RouteMatch.of"] > 0


def _counted_of(counts: Counter[str]) -> Any:
    original = ir.RouteMatch.of.__func__  # type: ignore[attr-defined]

    def of(cls: type[ir.RouteMatch], m: Any) -> ir.RouteMatch:
        counts["RouteMatch.of"] += 1
        return original(cls, m)  # type: ignore[no-any-return]

    return classmethod(of)


ROUTING_CODES = sorted(code for code, r in RULES.items() if r.module == "meshc.rules.routing")


@pytest.fixture(scope="module")
def routing_cases() -> tuple[list[str], list[tuple[str, str, int, str]]]:
    texts = _inputs("MC2*.yaml")
    return texts, _lint_each(texts, ())


@pytest.mark.parametrize("code", ROUTING_CODES)
def test_each_routing_rule_alone_finds_what_it_finds_in_a_full_run(
    code: str, routing_cases: tuple[list[str], list[tuple[str, str, int, str]]]
) -> None:
    """Proves: no MC2xx rule needs another to have run (each computes its own findings)."""
    texts, everything = routing_cases
    alone = _lint_each(texts, (code,))
    assert alone == [f for f in everything if f[0] == code]


def test_the_routing_cases_exercise_the_rules(
    routing_cases: tuple[list[str], list[tuple[str, str, int, str]]],
) -> None:
    """Guard against a vacuous comparison above: the cases, together, trigger most routing rules."""
    found = {f[0] for f in routing_cases[1]}
    assert len(found & set(ROUTING_CODES)) >= len(ROUTING_CODES) - 3, sorted(set(ROUTING_CODES) - found)


_CODE = re.compile(r"MC(\d)(\d|x)(\d|x)")


def _ranges(first_line: str) -> list[tuple[int, int]]:
    """The code ranges in `(MC301–MC304, MC320)` / `(MC1xx)` / `(MC401-MC449)`."""
    inside = first_line[first_line.index("(") + 1 : first_line.index(")")]
    out = []
    for part in inside.split(","):
        ends = [m.group(0) for m in _CODE.finditer(part)]
        assert ends, f"no code range in {part!r}"
        low = int(ends[0][2:].replace("x", "0"))
        high = int(ends[-1][2:].replace("x", "9"))
        out.append((low, high))
    return out


def test_every_code_is_listed_in_its_modules_docstring() -> None:
    """Proves: the naming scheme stated in `meshc.rules` holds for every registered code."""
    by_module: dict[str, list[str]] = {}
    for code, r in RULES.items():
        assert r.module.startswith("meshc.rules."), f"{code} registered outside meshc.rules ({r.module})"
        by_module.setdefault(r.module, []).append(code)
    assert "naming scheme" in (importlib.import_module("meshc.rules").__doc__ or "").lower()
    for module, codes in by_module.items():
        first = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
        ranges = _ranges(first)
        for code in codes:
            n = int(code[2:])
            assert any(lo <= n <= hi for lo, hi in ranges), f"{code} is not in the range of {module}: {first}"


def test_matchspace_reads_compiled_matches() -> None:
    """Proves: the shadowing analysis builds its blocks from the IR's compiled matches, not the models."""
    import inspect

    params = list(inspect.signature(matchspace.block_of).parameters)
    assert params[:2] == ["match", "scope"]
    assert "HTTPMatchRequest" not in inspect.getsource(matchspace)


def test_a_selector_is_matched_against_the_workloads_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proves: `Mesh.workloads_matching` remembers its answers: 30 Gateways with one selector scan the workloads once.

    Each scan visits every workload; MC301, MC302 and MC320 each asked for every Gateway, so
    Gateways x workloads x 3 (0.5 s on a mixed corpus of 1,260 Gateways and 750 workloads).
    """
    from meshc.mesh import Mesh

    counts: Counter[str] = Counter()
    _count(monkeypatch, counts, Mesh, "_scan_workloads")
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gw, namespace: istio-system}\n"
        "spec:\n  selector: {matchLabels: {app: gw}}\n  template:\n    metadata:\n"
        "      labels: {app: gw}\n      annotations: {inject.istio.io/templates: gateway}\n"
        "    spec: {containers: [{name: istio-proxy, image: auto}]}\n"
    )
    gateways = [
        f"apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: g{i}, namespace: default}}\n"
        "spec:\n  selector: {app: gw}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
        f"    hosts: ['h{i}.example.com']\n"
        for i in range(30)
    ]
    _lint("---\n".join([deployment, *gateways]), ())
    assert 0 < counts["_scan_workloads"] <= 3  # once per distinct (selector, namespace) asked
