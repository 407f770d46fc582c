"""Suppression and configuration, end to end through `meshc lint`, with the reference rules.

Each test writes a small repository to a temporary folder, runs the CLI there (so that
`.meshc.toml` / `pyproject.toml` discovery applies), and reads the JSON report.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from meshc.cli import main

# A Service, a DestinationRule and a VirtualService with two mistakes on two lines:
# an unknown subset (MC102, IST0101) and an unknown host (MC101, IST0101).
BROKEN_VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default{annotations}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: v3{subset_comment}
      weight: 50
    - destination:
        host: reviewz{host_comment}
      weight: 50
"""
REGISTRY = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
"""


def write_repo(
    root: Path,
    *,
    annotations: dict[str, str] | None = None,
    subset_comment: str = "",
    host_comment: str = "",
    config: str | None = None,
    config_name: str = ".meshc.toml",
) -> None:
    ann = ""
    if annotations:
        ann = "\n  annotations:\n" + "".join(f"    {k}: {json.dumps(v)}\n" for k, v in annotations.items()).rstrip("\n")
    (root / "mesh").mkdir(exist_ok=True)
    (root / "mesh" / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    (root / "mesh" / "vs.yaml").write_text(
        BROKEN_VS.format(annotations=ann, subset_comment=subset_comment, host_comment=host_comment),
        encoding="utf-8",
    )
    if config is not None:
        (root / config_name).write_text(textwrap.dedent(config), encoding="utf-8")


def lint_json(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["lint", "--format", "json", *args, "mesh"])
    out = capsys.readouterr()
    report = json.loads(out.out)
    return code, {(d["code"], _line(root, d)) for d in report}, report, out.err


def _line(root: Path, diag: dict[str, Any]) -> str:
    """The offending line's YAML, without comments: the tests do not depend on line numbers."""
    text = (root / diag["file"]).read_text(encoding="utf-8").splitlines()[diag["line"] - 1]
    return text.split("#")[0].strip()


def test_both_mistakes_are_reported_without_suppression(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path)
    code, found, report, _ = lint_json(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert found == {("MC102", "subset: v3"), ("MC101", "host: reviewz")}
    subset = next(d for d in report if d["code"] == "MC102")
    assert subset["istio_code"] == "IST0101"
    assert subset["field"] == "spec.http[0].route[0].destination.subset"
    assert subset["help"] == "subsets defined: v1"
    assert subset["related"] and subset["related"][0]["file"] == "mesh/registry.yaml"


@pytest.mark.parametrize(
    ("annotations", "left"),
    [
        ({"meshc.dev/ignore": "MC102"}, {("MC101", "host: reviewz")}),
        ({"meshc.dev/ignore": "MC102, unknown-destination-host"}, set()),
        ({"meshc.dev/ignore": "MC1"}, set()),
        # istioctl splits on "," without trimming, so the second code would be missed there.
        ({"galley.istio.io/analyze-suppress": "IST0101, IST0132"}, set()),
        ({"galley.istio.io/analyze-suppress": "IST0132"}, {("MC102", "subset: v3"), ("MC101", "host: reviewz")}),
        ({"galley.istio.io/analyze-suppress": "*"}, set()),
    ],
)
def test_annotations_suppress_on_the_resource(
    tmp_path: Path, monkeypatch: Any, capsys: Any, annotations: dict[str, str], left: set[tuple[str, int]]
) -> None:
    write_repo(tmp_path, annotations=annotations)
    code, found, _, err = lint_json(tmp_path, monkeypatch, capsys)
    assert found == left
    assert code == (1 if left else 0)
    if len(left) < 2:
        assert re.search(r"\(\d+ diagnostics? suppressed", err), err


def test_comment_on_the_offending_line_suppresses(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path, subset_comment="   # meshc: ignore[MC102]", host_comment="  # meshc: ignore[MC999, IST0101]")
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys)
    assert found == set()


def test_comment_for_another_code_does_not_suppress(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path, subset_comment="   # meshc: ignore[MC101]")
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys)
    assert found == {("MC102", "subset: v3"), ("MC101", "host: reviewz")}


@pytest.mark.parametrize(
    ("flags", "left"),
    [
        (["--select", "MC102"], {("MC102", "subset: v3")}),
        (["--select", "unknown-destination-host"], {("MC101", "host: reviewz")}),
        (["--select", "IST0101"], {("MC102", "subset: v3"), ("MC101", "host: reviewz")}),
        (["--select", "MC1", "--ignore", "MC101"], {("MC102", "subset: v3")}),
        (["--ignore", "IST0101"], set()),
        (["--ignore", "unknown-subset,MC101"], set()),
    ],
)
def test_select_and_ignore_by_code_prefix_name_or_istio_code(
    tmp_path: Path, monkeypatch: Any, capsys: Any, flags: list[str], left: set[tuple[str, int]]
) -> None:
    write_repo(tmp_path)
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys, *flags)
    assert found == left


def test_meshc_toml_select_ignore_and_severity(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(
        tmp_path,
        config="""
        select = ["MC1"]
        ignore = ["unknown-destination-host"]
        severity = {MC102 = "warning"}
        """,
    )
    code, found, report, _ = lint_json(tmp_path, monkeypatch, capsys)
    assert found == {("MC102", "subset: v3")}
    assert report[0]["severity"] == "warning"
    assert code == 0  # a warning is below the default --fail-on error


def test_pyproject_tool_meshc_per_path_ignores(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(
        tmp_path,
        config_name="pyproject.toml",
        config="""
        [tool.meshc.per-path-ignores]
        "mesh/vs.yaml" = ["IST0101"]
        """,
    )
    _, found, _, err = lint_json(tmp_path, monkeypatch, capsys)
    assert found == set()
    assert "(2 diagnostics suppressed" in err
    _, _, _, err = lint_json(tmp_path, monkeypatch, capsys, "--show-skipped")
    assert "Suppressed: 2 diagnostics" in err


def test_per_path_ignores_match_paths_given_with_dot_slash(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path, config='[per-path-ignores]\n"mesh/*.yaml" = ["MC102"]\n')
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    main(["lint", "--format", "json", "./mesh/vs.yaml", "./mesh/registry.yaml"])
    found = {d["code"] for d in json.loads(capsys.readouterr().out)}
    assert found == {"MC101"}


def test_cluster_domain_from_config_and_flag(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path)
    vs = (tmp_path / "mesh" / "vs.yaml").read_text(encoding="utf-8")
    (tmp_path / "mesh" / "vs.yaml").write_text(
        vs.replace("host: reviewz", "host: reviews.default.svc.corp.local"), encoding="utf-8"
    )
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys, "--select", "MC101")
    assert found == {("MC101", "host: reviews.default.svc.corp.local")}
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys, "--select", "MC101", "--cluster-domain", "corp.local")
    assert found == set()
    (tmp_path / ".meshc.toml").write_text('cluster-domain = "corp.local"\n', encoding="utf-8")
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys, "--select", "MC101")
    assert found == set()


def test_annotation_suppresses_schema_errors_of_the_resource(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    write_repo(tmp_path, annotations={"meshc.dev/ignore": "MC005"})
    vs = (tmp_path / "mesh" / "vs.yaml").read_text(encoding="utf-8")
    (tmp_path / "mesh" / "vs.yaml").write_text(vs.replace("  hosts: [reviews]", "  hosts: [reviews]\n  hots: []"))
    _, found, _, _ = lint_json(tmp_path, monkeypatch, capsys)
    assert {code for code, _ in found} == {"MC101", "MC102"}


def test_skipped_checks_are_named_in_the_summary(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "vs.yaml").write_text(
        BROKEN_VS.format(annotations="", subset_comment="", host_comment=""), encoding="utf-8"
    )
    code, found, _, err = lint_json(tmp_path, monkeypatch, capsys)
    assert (code, found) == (0, set())
    # Quiet by default: one short line says what is missing, --show-skipped (-v) says which checks and why.
    assert "checks skipped: no Service, DestinationRule, Gateway, workload" in err
    assert "--show-skipped for details" in err and "MC101" not in err
    code, found, _, err = lint_json(tmp_path, monkeypatch, capsys, "-v")
    assert "Skipped checks (--complete-registry runs them):" in err
    assert "  the input has no Service or ServiceEntry: MC101, MC103, MC104, MC108" in err
    assert "the input has no DestinationRule: MC102" in err


def test_complete_registry_turns_skipped_checks_into_findings(tmp_path: Path) -> None:
    """Without Services the unknown-host check is skipped (and named); with the flag it runs."""
    from tests.test_cli import run as run_cli

    doc = tmp_path / "dr.yaml"
    doc.write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: fake\n  namespace: default\n"
        "spec:\n  host: fake-svc\n"
    )
    mp = pytest.MonkeyPatch()
    try:
        code, out, _ = run_cli(["lint", "--no-config", "-f", "text", "--show-skipped", str(doc)], mp)
        assert code == 0 and "MC108" not in out.split("Skipped checks")[0]
        assert "the input has no Service or ServiceEntry: MC101" in out and "MC108" in out
        code, out, _ = run_cli(["lint", "--no-config", "-f", "text", "--complete-registry", str(doc)], mp)
        assert f"{doc}:7:9: MC108 [warning] host `fake-svc` matches no Service or ServiceEntry" in out
    finally:
        mp.undo()
