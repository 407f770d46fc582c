"""Conformance with `istioctl analyze`: Istio's own analyzer test cases, run through meshc.

`../shared/corpus/istio-analyzers/cases.yaml` lists, for each case, the input files, the one
Istio analyzer that runs, and the messages Istio expects as (IST code, origin). For every case
whose analyzer meshc covers (`ANALYZERS`), the matching meshc rules run on the same inputs (plus
the default ingress gateway Pod and Service that both Istio's harness and meshc's Mesh add), and
the multisets of (IST code, origin) are compared. Origins are `Kind ns/name`, or `Kind name` when
the YAML gives no namespace.

Every difference (an expected message meshc does not report, or an extra one) must be listed,
with its reason, in the table of `docs/istio-compat.md`; the test fails when the table and
reality disagree in either direction, so the list cannot go stale. The page's table of values
where meshc and istiod's webhook disagree is checked the same way (`test_webhook_differences_hold`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshc.config import Options
from meshc.lint import lint, read, run_rules
from meshc.mesh import Mesh, Resource
from meshc.rules import RULES, Rule
from tests.conftest import figures as report_figures

ROOT = Path(__file__).resolve().parents[1]
COMPAT_DOC = ROOT / "docs" / "istio-compat.md"
THRESHOLD = 0.95
"""Agreement required overall (the issue's target) and of the input, reference and policy rules alone."""

# Istio analyzer (as written in cases.yaml) -> the meshc rules that cover it. A token `MCnnn` is a
# meshc code; a token `ISTnnnn` stands for every rule of the input (MC0) or routing (MC2) family
# that mirrors that istioctl code, so the routing rules count as soon as they are registered.
ANALYZERS: dict[str, tuple[str, ...]] = {
    "&virtualservice.DestinationHostAnalyzer{}": ("MC101", "MC103", "MC104", "IST0140"),
    "&virtualservice.DestinationRuleAnalyzer{}": ("MC102",),
    "&virtualservice.GatewayAnalyzer{}": ("MC105", "MC107"),
    "&virtualservice.ConflictingMeshGatewayHostsAnalyzer{}": ("IST0109",),
    "&virtualservice.JWTClaimRouteAnalyzer{}": ("IST0149",),
    "schemaValidation.CollectionValidationAnalyzer(collections.VirtualService)": (
        "IST0106",
        "MC106",
        "IST0130",
        "IST0131",
    ),
    "&deprecation.FieldAnalyzer{}": ("IST0002",),
    "&destinationrule.PodNotSelectedAnalyzer{}": ("MC108", "MC109"),
    "&destinationrule.CaCertificateAnalyzer{}": ("MC305", "MC306"),
    "&gateway.IngressGatewayPortAnalyzer{}": ("MC301", "MC302"),
    "&gateway.ConflictingGatewayAnalyzer{}": ("MC303",),
    "&gateway.CertificateAnalyzer{}": ("MC304",),
    "&gateway.SecretAnalyzer{}": ("MC320", "MC301"),
    "&k8sgateway.SelectorAnalyzer{}": ("MC321",),
    "&k8sgateway.CRDVersionAnalyzer{}": ("MC350",),
    "&authz.AuthorizationPoliciesAnalyzer{}": ("MC307", "MC308"),
    "&serviceentry.ProtocolAddressesAnalyzer{}": ("MC309",),
    "&serviceentry.ConflictingServiceEntryProtocolAnalyzer{}": ("MC310",),
    "&sidecar.SelectorAnalyzer{}": ("MC311", "MC312", "MC313", "MC314"),
    "&service.PortNameAnalyzer{}": ("MC315", "MC316"),
    "&deployment.ServiceAssociationAnalyzer{}": ("MC317", "MC318"),
    "&deployment.ApplicationUIDAnalyzer{}": ("MC319",),
    "&injection.Analyzer{}": ("MC322", "MC323", "MC324"),
    "&annotations.K8sAnalyzer{}": ("MC008", "MC009", "MC010", "MC011"),
    "&envoyfilter.EnvoyPatchAnalyzer{}": ("MC325", "MC326", "MC327", "MC328", "MC329"),
    "&telemetry.ProviderAnalyzer{}": ("MC330",),
    "&telemetry.SelectorAnalyzer{}": ("MC331", "MC333"),
    "&telemetry.DefaultSelectorAnalyzer{}": ("MC332",),
}


def resolve(tokens: tuple[str, ...]) -> list[Rule]:
    """The registered rules a mapping names (absent routing codes resolve to nothing yet)."""
    out: list[Rule] = []
    for token in tokens:
        if token.startswith("MC"):
            if token in RULES:
                out.append(RULES[token])
        else:
            out.extend(r for r in RULES.values() if r.istio_code == token and r.code[:3] in ("MC0", "MC2"))
    return out


def origin(resource: Resource) -> str:
    """How Istio's test names the resource a message is reported on."""
    if resource.namespace_given:
        return f"{resource.kind} {resource.namespace}/{resource.name}"
    return f"{resource.kind} {resource.name}"


@dataclass
class CaseResult:
    name: str
    analyzer: str
    covered_codes: set[str]
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    produced: Counter[tuple[str, str]] = field(default_factory=Counter)
    uncovered: Counter[tuple[str, str]] = field(default_factory=Counter)
    routing_codes: set[str] = field(default_factory=set)
    """IST codes that this case's mapping covers only with routing rules (MC2xx)."""

    @property
    def missed(self) -> Counter[tuple[str, str]]:
        return self.expected - self.produced

    @property
    def extra(self) -> Counter[tuple[str, str]]:
        return self.produced - self.expected


def run_case(case: dict[str, Any], testdata: Path) -> CaseResult | None:
    """Run the meshc rules mapped to the case's analyzer; None when the analyzer is not covered."""
    tokens = ANALYZERS.get(case["analyzer"])
    rules = resolve(tokens) if tokens else []
    if not rules:
        return None
    codes = {r.code for r in rules}
    result = CaseResult(case["name"], case["analyzer"], {r.istio_code for r in rules if r.istio_code})
    result.routing_codes = {
        c for c in result.covered_codes if all(r.code.startswith("MC2") for r in rules if r.istio_code == c)
    }
    for message in case["expected"]:
        key = (message["code"], message["origin"])
        if message["code"] in result.covered_codes:
            result.expected[key] += 1
        else:
            result.uncovered[key] += 1
    # Istio's harness treats each case's files (plus its default ingress Pod and Service) as the
    # whole cluster, so "not found" is a finding: meshc's `complete-registry` mode says the same.
    options = Options(complete_registry=True)
    inv = read([str(testdata / p) for p in case["inputs"]], options)
    for d in inv.diagnostics:
        if d.code in codes and d.istio_code and d.resource is not None:
            result.produced[(d.istio_code, str(d.resource))] += 1
    mesh = Mesh(inv.indexed(), options, defaults=True)
    findings, _skipped = run_rules(mesh, rules)
    for r, finding in findings:
        assert r.istio_code is not None
        result.produced[(r.istio_code, origin(finding.resource))] += 1
    return result


def documented_differences() -> Counter[tuple[str, str, str, str]]:
    """(case, missed|extra, code, origin) rows of the differences table in docs/istio-compat.md."""
    text = COMPAT_DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- differences:start -->(.*?)<!-- differences:end -->", text, re.S)
    assert block, f"{COMPAT_DOC.name} has no differences table"
    rows: Counter[tuple[str, str, str, str]] = Counter()
    for line in block.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] in ("case", "") or set(cells[0]) <= {"-", ":"}:
            continue
        case, kind, code, where = cells[0], cells[1], cells[2], cells[3].strip("`")
        rows[(case, kind, code, where)] += 1
    return rows


@pytest.fixture(scope="module")
def results(corpus: Path) -> tuple[list[CaseResult], list[dict[str, Any]]]:
    data = yaml.safe_load((corpus / "istio-analyzers" / "cases.yaml").read_text(encoding="utf-8"))
    testdata = corpus / "istio-analyzers" / "testdata"
    covered: list[CaseResult] = []
    skipped: list[dict[str, Any]] = []
    for case in data["cases"]:
        res = run_case(case, testdata)
        if res is None:
            skipped.append(case)
        else:
            covered.append(res)
    return covered, skipped


def _tally(covered: list[CaseResult], routing: bool | None) -> tuple[int, int]:
    """(reproduced, expected) over the messages of routing codes (True), other codes (False) or all (None)."""
    expected = missed = 0
    for r in covered:
        for (code, _), n in r.expected.items():
            if routing is None or (code in r.routing_codes) == routing:
                expected += n
        for (code, _), n in r.missed.items():
            if routing is None or (code in r.routing_codes) == routing:
                missed += n
    return expected - missed, expected


def per_code(covered: list[CaseResult]) -> dict[str, tuple[int, int, int]]:
    """IST code -> (reproduced, expected, extra) over the covered cases."""
    out: dict[str, list[int]] = {}
    for r in covered:
        for (code, _), n in r.expected.items():
            out.setdefault(code, [0, 0, 0])[1] += n
        for (code, _), n in (r.expected - r.missed).items():
            out[code][0] += n
        for (code, _), n in r.extra.items():
            out.setdefault(code, [0, 0, 0])[2] += n
    return {code: (rep, exp, extra) for code, (rep, exp, extra) in sorted(out.items())}


def test_agreement_with_istioctl_analyze(results: Any, capsys: pytest.CaptureFixture[str]) -> None:
    covered, skipped = results
    extra = sum(sum(r.extra.values()) for r in covered)
    uncovered = sum(sum(r.uncovered.values()) for r in covered) + sum(len(c["expected"]) for c in skipped)
    figures = {name: _tally(covered, routing) for name, routing in (("all", None), ("own", False), ("mc2", True))}
    ratio = {name: (rep / exp if exp else 1.0) for name, (rep, exp) in figures.items()}

    def line(name: str, label: str) -> str:
        rep, exp = figures[name]
        return f"{label}: {rep}/{exp} ({ratio[name]:.1%})"

    lines = [
        f"istioctl analyze conformance on {len(covered)} covered cases: "
        + line("all", "expected messages reproduced")
        + f"; {extra} extra messages",
        "  "
        + line("own", "input, reference and policy rules (MC0, MC1, MC3)")
        + "; "
        + line("mc2", "routing rules (MC2)"),
        f"not covered: {len(skipped)} cases ({', '.join(sorted({c['analyzer'] for c in skipped}))}) and "
        f"{uncovered} expected messages of codes meshc does not check",
    ]
    lines.append(
        "per code (reproduced/expected, +extra): "
        + ", ".join(
            f"{code} {rep}/{exp}" + (f" +{extra}" if extra else "")
            for code, (rep, exp, extra) in per_code(covered).items()
        )
    )
    for r in covered:
        for (code, where), n in sorted(r.missed.items()):
            lines.append(f"  missed  {r.name}: {code} {where}" + (f" x{n}" if n > 1 else ""))
        for (code, where), n in sorted(r.extra.items()):
            lines.append(f"  extra   {r.name}: {code} {where}" + (f" x{n}" if n > 1 else ""))
    report_figures("istioctl analyze conformance", lines)
    assert ratio["own"] >= THRESHOLD, "\n".join(lines)
    assert ratio["all"] >= THRESHOLD, "\n".join(lines)


def test_differences_are_documented(results: Any) -> None:
    covered, _ = results
    actual: Counter[tuple[str, str, str, str]] = Counter()
    for r in covered:
        for (code, where), n in r.missed.items():
            actual[(r.name, "missed", code, where)] += n
        for (code, where), n in r.extra.items():
            actual[(r.name, "extra", code, where)] += n
    documented = documented_differences()
    undocumented = actual - documented
    stale = documented - actual
    assert not undocumented and not stale, (
        "docs/istio-compat.md differences table is out of date\n"
        + "".join(f"  add:    | {c} | {k} | {code} | `{w}` | <reason> |\n" for (c, k, code, w) in sorted(undocumented))
        + "".join(f"  remove: | {c} | {k} | {code} | `{w}` |\n" for (c, k, code, w) in sorted(stale))
    )


# The documents each row of the webhook-differences table is tried in: `{value}` is the row's value.
_VS = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: r}}\nspec:\n  hosts: [r]\n  http:\n"
_WEBHOOK_FIELDS = {
    "`redirect.authority`": _VS + "  - redirect: {{authority: {value}}}\n",
    "`redirect.uri`": _VS + "  - redirect: {{uri: {value}}}\n",
    "`rewrite.uri`": _VS + "  - rewrite: {{uri: {value}}}\n    route: [{{destination: {{host: r}}}}]\n",
    "`rewrite.uriRegexRewrite.rewrite`": _VS
    + "  - rewrite: {{uriRegexRewrite: {{match: a, rewrite: {value}}}}}\n    route: [{{destination: {{host: r}}}}]\n",
    "`match.queryParams` name": _VS
    + "  - match: [{{queryParams: {{{value}: {{exact: x}}}}}}]\n    route: [{{destination: {{host: r}}}}]\n",
    "`headers.request.set` value": _VS
    + "  - headers: {{request: {{set: {{x-a: {value}}}}}}}\n    route: [{{destination: {{host: r}}}}]\n",
    "`jwksUri`": "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: j}}\n"
    "spec:\n  jwtRules: [{{issuer: i, jwksUri: {value}}}]\n",
    "subset `name`": "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: d}}\n"
    "spec:\n  host: r\n  subsets: [{{name: {value}}}]\n",
    "Gateway server host": "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: g}}\n"
    "spec:\n  servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: [{value}]}}]\n",
}


def webhook_differences() -> list[list[str]]:
    """Rows (field, value, istiod's webhook, meshc, reason) of the webhook-differences table."""
    text = COMPAT_DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- webhook-differences:start -->(.*?)<!-- webhook-differences:end -->", text, re.S)
    assert block, f"{COMPAT_DOC.name} has no webhook-differences table"
    rows = []
    for line in block.group(1).strip().splitlines()[2:]:
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_webhook_differences_hold() -> None:
    rows = webhook_differences()
    assert {row[0] for row in rows} == set(_WEBHOOK_FIELDS)
    for field_name, value_cell, webhook, outcome, _reason in rows:
        literal = re.match(r"`(.*)`", value_cell)
        assert literal, value_cell
        value = json.loads(literal.group(1))
        if "(1025 bytes)" in value_cell:
            value = "q" * 1025
        document = _WEBHOOK_FIELDS[field_name].format(value=json.dumps(value))
        report = lint(["-"], Options(select=("MC0",)), stdin=document.encode("utf-8"))
        codes = sorted({d.code for d in report.diagnostics})
        assert webhook == "accepts", field_name
        assert codes == ([] if outcome == "accepts" else [outcome]), (field_name, value, report.diagnostics)
