"""The lint pipeline: documents to resources, kinds skipped and counted, List items, big inputs."""

from __future__ import annotations

from meshc.config import Options
from meshc.lint import lint


def _lint(text: str, **flags: object) -> object:
    return lint(["-"], Options().with_flags(**flags), stdin=text.encode())


LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata:
    name: ok
  spec:
    host: reviews
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata:
    name: bad
  spec:
    hots: reviews
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
"""


def test_list_items_are_resources_with_their_own_positions() -> None:
    report = _lint(LIST, select=("MC0",))
    assert report.resources == 1
    [diag] = report.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("MC005", 15, 5)
    assert diag.resource is not None and diag.resource.name == "bad"
    assert diag.field == "spec.hots"
    assert dict(report.skipped) == {"ConfigMap": 1}


def test_foreign_and_shapeless_documents_are_counted_not_reported() -> None:
    text = "apiVersion: apps/v1\nkind: Foo\n---\n- a\n---\njust text\n---\nkey: value\n"
    report = _lint(text)
    assert report.diagnostics == []
    assert dict(report.skipped) == {"Foo": 1, "(not a mapping)": 2, "(no kind)": 1}


def test_a_very_large_document_is_handled() -> None:
    hosts = "".join(f"  - host{i}.example.com\n" for i in range(100_000))
    big_value = "x" * 5_000_000
    text = (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: big\n"
        f"  annotations:\n    note: {big_value}\nspec:\n  hosts:\n{hosts}  resolution: DNS\n"
        "  ports:\n  - number: 443\n    name: https\n    protocol: HTTPS\n"
    )
    report = _lint(text, select=("MC0",))
    assert report.resources == 1
    assert report.diagnostics == []
