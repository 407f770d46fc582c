"""Istio's own samples, linted as one input: every finding is pinned in a reviewed golden file.

`../shared/corpus/istio-samples` holds the networking configs of Istio's `samples/` together with
their platform manifests (Services, Deployments). They are linted together, as if applied to one
cluster, with the input (MC0), reference (MC1) and policy (MC3) rules. Each finding in
`tests/goldens/istio-samples.txt` was reviewed as a true positive; `pytest --update-goldens`
rewrites the file (review the diff).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshc import render
from meshc.config import Options
from meshc.lint import lint

GOLDEN = Path(__file__).parent / "goldens" / "istio-samples.txt"
HEADER = (
    "# Proves: Istio's samples (networking configs and their platform manifests, linted together as one "
    "input, a later definition of a resource replacing an earlier one as with `kubectl apply`) give exactly "
    "these MC0/MC1/MC3 findings, each reviewed as a true positive (MC012 not shown: the samples are "
    "alternatives, and define bookinfo's resources many times).\n"
)


def test_istio_samples_golden(corpus: Path, golden: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(corpus / "istio-samples")
    report = lint(["."], Options(select=("MC0", "MC1", "MC3"), ignore=("MC012",)))
    body = render.text(report.diagnostics) + render.summary(report) + "\n"
    assert report.files == 78
    golden.check(GOLDEN, HEADER + body)
