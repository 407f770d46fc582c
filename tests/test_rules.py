"""Per-rule cases: `tests/rules/<CODE>.yaml`, expectations written on the offending lines.

A case file looks like this:

    rule: MC102
    cases:
      - name: undefined_subset_fails
        input: |
          ...
                subset: v3   # error: [MC102]
      - name: defined_subset_passes
        input: |
          ...

Only the rule under test runs. A line comment `# <severity>: [CODE]` (optionally
`# error: 17 [CODE]` with the column) expects one diagnostic on that line; a case without such
comments expects none. Every case must also be free of input errors (MC0xx) unless the rule under
test is one of them, so a typo in a case cannot make it pass. `config:` holds `[tool.meshc]`
options for the case (e.g. `{severity: {MC102: warning}}`). `messages:` lists the exact messages
the case must produce, in the order of their lines and columns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshc.config import Options, from_table
from meshc.lint import lint
from meshc.rules import RULES

CASES_DIR = Path(__file__).parent / "rules"
_EXPECT = re.compile(r"#\s*(error|warning|info):\s*((?:\d+\s*)?\[[A-Z]+\d+\](?:\s*\[[A-Z]+\d+\])*)")
_ITEM = re.compile(r"(\d+)?\s*\[([A-Z]+\d+)\]")


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        code = data["rule"]
        for case in data["cases"]:
            if data.get("target"):
                case = {**case, "target": data["target"]}
            params.append(pytest.param(code, case, id=f"{code}-{case['name']}"))
    return params


def expectations(text: str) -> list[tuple[int, int | None, str, str]]:
    """(line, column or None, code, severity) expected by the markers in a case input."""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in _EXPECT.finditer(line):
            severity = m.group(1)
            for col, code in _ITEM.findall(m.group(2)):
                out.append((lineno, int(col) if col else None, code, severity))
    return out


def run_case(code: str, case: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    if case.get("target"):
        return run_backend_case(code, case)
    base = from_table(case.get("config", {}), "case") if case.get("config") else Options()
    options = base.with_flags(select=(code,)) if code.startswith("MC0") else base.with_flags(select=(code, "MC0"))
    report = lint(["-"], options, stdin=case["input"].encode("utf-8"))
    rule_diags = [d for d in report.diagnostics if d.code == code]
    input_errors = [d for d in report.diagnostics if d.code != code]
    return rule_diags, input_errors


def run_backend_case(code: str, case: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Backend gap codes (MC4xx): compile the input, render it for `target:`, keep that code's diagnostics.

    A case file for a backend code says `target: envoy` or `target: nginx` at the top; a case may
    give `options:`, the backend's options (for Envoy, the `--overrides` file's keys; for nginx, the
    fields of `NginxOptions`).
    """
    from meshc.backends import load as load_backend
    from meshc.compile import compile_mesh
    from meshc.pipeline import load as load_mesh

    stdin = case["input"].encode("utf-8")
    input_errors = [
        d
        for d in lint(["-"], Options().with_flags(select=("MC0",)), stdin=stdin).diagnostics
        if d.severity.label == "error"
    ]
    loaded = load_mesh(["-"], Options(), stdin=stdin)
    render = load_backend(case["target"])
    args: tuple[Any, ...] = ()
    if case["target"] == "envoy":
        from meshc.backends.envoy import load_overrides

        args = (load_overrides(case.get("options")),)
    elif case["target"] == "nginx":
        from meshc.backends.nginx import NginxOptions

        args = (NginxOptions(**case.get("options", {})),)
    _, diags = render(compile_mesh(loaded.mesh), *args)
    return [d for d in diags if d.code == code], input_errors


@pytest.mark.parametrize(("code", "case"), _load_cases())
def test_rule_case(code: str, case: dict[str, Any]) -> None:
    diags, input_errors = run_case(code, case)
    assert not input_errors, "the case input itself is invalid:\n" + "\n".join(
        f"  line {d.span.line}: {d.code} {d.message}" for d in input_errors
    )
    expected = sorted(expectations(case["input"]))
    got = sorted((d.span.line, d.span.column, d.code, d.severity.label) for d in diags)
    # A marker without a column matches any column on its line.
    got_cmp = [
        (line, col if any(e[0] == line and e[1] is not None for e in expected) else None, c, s)
        for line, col, c, s in got
    ]
    assert got_cmp == expected, "diagnostics:\n" + "\n".join(
        f"  {d.span.line}:{d.span.column} {d.code} [{d.severity.label}] {d.message}" for d in diags
    )
    if "messages" in case:
        ordered = sorted(diags, key=lambda d: (d.span.line, d.span.column))
        assert [d.message for d in ordered] == case["messages"]


def test_every_rule_has_failing_and_passing_cases() -> None:
    seen: dict[str, tuple[int, int]] = {}
    for path in CASES_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.stem == data["rule"], f"{path.name} must be named after its rule"
        failing = sum(1 for c in data["cases"] if expectations(c["input"]))
        passing = sum(1 for c in data["cases"] if not expectations(c["input"]))
        seen[data["rule"]] = (failing, passing)
    missing = sorted(set(RULES) - set(seen))
    assert not missing, f"rules without a case file in tests/rules/: {missing}"
    thin = sorted(code for code, (f, p) in seen.items() if not f or not p)
    assert not thin, f"case files without both a failing and a passing case: {thin}"


def test_registry_conventions() -> None:
    for code, entry in RULES.items():
        assert re.fullmatch(r"MC\d{3}", code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry.name), entry.name
        assert entry.istio_code is None or re.fullmatch(r"IST\d{4}", entry.istio_code)
        doc = entry.doc
        assert doc.strip(), f"{code} has no documentation"
        assert "## Why is this bad?" in doc, f"{code} documentation lacks `## Why is this bad?`"
        assert "## Example" in doc, f"{code} documentation lacks `## Example`"
        assert "Use instead:" in doc, f"{code} documentation lacks `Use instead:`"
