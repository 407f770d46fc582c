"""Each finding is reported once, in the right place: aliases, list items, documents, cluster-scoped kinds."""

from __future__ import annotations

from meshc.config import Options
from meshc.lint import lint

ALIASED = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: shop}
spec:
  rules:
  - from: &from
    - source:
        serviceAccounts: ["a/b/c"]
  - from: *from
    to: [{operation: {paths: ["/x"]}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [r]
  http:
  - route: [{destination: {host: r}}]
    fault: &f {abort: {percentage: {value: 10}}}
  - match: [{uri: {prefix: /b}}]
    fault: *f
    route: [{destination: {host: r}}]
"""


def _lint(text: str, *select: str) -> list[dict[str, object]]:
    report = lint(["-"], Options(select=select), stdin=text.encode())
    return [d.to_dict() for d in report.diagnostics]


def test_an_alias_does_not_double_a_finding() -> None:
    found = [(d["code"], d["line"], d["column"]) for d in _lint(ALIASED, "MC006", "MC219")]
    assert found == [("MC006", 8, 27), ("MC219", 19, 16)]


def test_missing_fields_and_port_findings_have_an_end_column() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n---\n"
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  servers:\n"
        '  - hosts: ["*"]\n---\n'
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: db}\nspec:\n"
        "  hosts: [db.example.com]\n  ports:\n  - {number: 5433, name: pg}\n  resolution: DNS\n"
    )
    spans = [(d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) for d in _lint(text, "MC007", "MC309")]
    assert spans == [
        ("MC007", 2, 1, 2, 5),  # the document lacks `spec`: at `kind`
        ("MC007", 10, 5, 10, 10),  # a list item lacks `port`: at its first key
        ("MC309", 18, 14, 18, 18),  # the port without protocol: at its number
    ]


def test_a_namespace_is_cluster_scoped_in_the_json() -> None:
    (diag,) = _lint("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", "MC323")
    assert diag["resource"] == {"kind": "Namespace", "namespace": None, "name": "shop"}
