"""Options that change what lint reports: the `severity` table and the `clusters` of a multicluster mesh."""

from __future__ import annotations

from pathlib import Path

from meshc.config import from_table
from meshc.diagnostics import Severity
from meshc.lint import configured_severity, lint, validate_selectors
from meshc.rules import RULES

UNUSED_SUBSET = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      containers: [{name: reviews, image: reviews}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - name: v3
    labels: {version: v3}
"""


def _severity(table: dict[str, str]) -> Severity:
    options = from_table({"severity": table, "select": ["MC109"]}, "test")
    (diag,) = lint(["-"], options, stdin=UNUSED_SUBSET.encode()).diagnostics
    assert diag.code == "MC109"
    return diag.severity


def test_subset_selecting_no_pod_is_an_error_as_in_istioctl() -> None:
    assert RULES["MC109"].severity is Severity.ERROR
    assert RULES["MC308"].severity is Severity.ERROR
    assert _severity({}) is Severity.ERROR


def test_severity_table_keys_from_most_to_least_specific() -> None:
    assert _severity({"IST0173": "warning"}) is Severity.WARNING
    assert _severity({"subset-selects-no-workload": "info"}) is Severity.INFO
    assert _severity({"MC1": "info", "MC10": "warning"}) is Severity.WARNING
    assert _severity({"MC1": "info", "IST0173": "warning", "MC109": "error"}) is Severity.ERROR
    rule = RULES["MC109"]
    assert configured_severity(from_table({"severity": {"MC2": "info"}}, "test"), rule) is Severity.ERROR


def test_severity_table_key_that_names_no_rule_is_reported() -> None:
    options = from_table({"severity": {"MC1090": "warning", "IST0173": "warning"}}, "test")
    assert validate_selectors(options) == ["MC1090"]


def _service(name: str, port: int) -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: bookinfo}}\n"
        f"spec:\n  selector: {{app: {name}}}\n  ports: [{{name: http, port: {port}}}]\n"
    )


def test_clusters_option_assigns_files_to_clusters(tmp_path: Path) -> None:
    (tmp_path / "east").mkdir()
    (tmp_path / "west").mkdir()
    (tmp_path / "east" / "svc.yaml").write_text(_service("reviews", 9080) + "---\n" + _service("ratings", 9080))
    (tmp_path / "west" / "svc.yaml").write_text(_service("reviews", 8080) + "---\n" + _service("ratings", 9080))
    clusters = {"east": [f"{tmp_path}/east/*"], "west": [f"{tmp_path}/west/*"]}
    options = from_table({"clusters": clusters, "select": ["MC334"]}, "test")
    (diag,) = lint([str(tmp_path)], options).diagnostics
    assert diag.message == (
        "Service `bookinfo/reviews` differs between clusters `east`, `west`: service ports are inconsistent"
    )
    assert diag.span.path.endswith("east/svc.yaml")
    assert lint([str(tmp_path)], from_table({"select": ["MC334"]}, "test")).diagnostics == []
