"""`meshc test`: both formats, every failure reported, exit codes, and the published schema."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from meshc.cli import main
from meshc.routetest import TEST_SCHEMA
from meshc.schema import render

ROOT = Path(__file__).resolve().parents[1]
BOOKINFO = str(ROOT / "examples" / "bookinfo")
SUITE = ROOT / "examples" / "bookinfo-tests"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_schema_file_is_fresh_and_valid() -> None:
    committed = (ROOT / "schemas" / "meshc-test.json").read_text(encoding="utf-8")
    assert committed == render(TEST_SCHEMA), "run: python -c 'from meshc.routetest import ...' (see README)"
    jsonschema.Draft202012Validator.check_schema(TEST_SCHEMA)


def test_shipped_native_suite_follows_the_schema() -> None:
    data = yaml.safe_load((SUITE / "routes.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, TEST_SCHEMA)


def test_bookinfo_suite_passes_in_both_formats(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", str(SUITE / "routes.yaml"))
    assert code == 0 and out.endswith("10 passed, 0 failed (10 cases, 19 requests)\n")
    code, out, _ = run(capsys, "test", str(SUITE / "routes-icv.yaml"), "--config", BOOKINFO)
    assert code == 0 and "6 passed, 0 failed" in out
    code, out, _ = run(capsys, "test", str(SUITE), "--config", BOOKINFO)
    assert code == 0 and "16 passed, 0 failed" in out


BROKEN = """\
config: {config}
tests:
- name: wrong subset
  request: {{host: reviews, headers: {{end-user: jason}}}}
  expect: {{destinations: [{{host: reviews, subset: v3}}]}}
- name: passes
  request: {{host: reviews}}
  expect: {{rule: everyone-else}}
- name: wrong action
  request: {{host: [reviews, ratings]}}
  expect: {{action: redirect}}
"""


@pytest.fixture
def suite_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with the bookinfo configuration, as the current folder (`config:` stays inside it)."""
    shutil.copytree(BOOKINFO, tmp_path / "bookinfo")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_failure_is_reported_and_exit_is_1(suite_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(suite_dir, "t.yaml", BROKEN.format(config="bookinfo"))
    code, out, _ = run(capsys, "test", path)
    assert code == 1
    assert out.count("FAIL ") == 2 and out.count("PASS ") == 1
    assert "wrong subset" in out and "wrong action" in out
    assert out.count("expected action redirect, got route") == 2  # both requests of the case
    assert out.endswith("1 passed, 2 failed (3 cases, 4 requests)\n")


def test_json_and_junit_reports(suite_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(suite_dir, "t.yaml", BROKEN.format(config="bookinfo"))
    code, out, err = run(capsys, "test", path, "--format", "json")
    assert code == 1 and "1 passed, 2 failed" in err
    data = json.loads(out)
    assert data["summary"] == {"cases": 3, "passed": 1, "failed": 2, "requests": 4}
    assert [c["passed"] for c in data["cases"]] == [False, True, False]
    code, out, _ = run(capsys, "test", path, "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    assert root.get("tests") == "3" and root.get("failures") == "2"
    failures = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failures == ["wrong subset", "wrong action"]


ICV = """\
testCases:
- description: short name and FQDN are the same host
  wantMatch: true
  request:
    authority: [reviews, reviews.default.svc.cluster.local, reviews.default]
    method: [GET]
    uri: [/]
    headers: {end-user: jason}
  route:
  - destination: {host: reviews.default.svc.cluster.local, subset: v2}
- description: a negative test on an unrouted request fails instead of passing vacuously
  wantMatch: false
  request: {authority: [bookinfo.example.com], method: [GET], uri: [/nothing]}
  route:
  - destination: {host: productpage, subset: v1}
- description: negative test that holds
  wantMatch: false
  request: {authority: [reviews], method: [GET], uri: [/]}
  route:
  - destination: {host: reviews, subset: v2}
- description: the gateway's regex and prefix matches follow Envoy, and the query string is kept
  wantMatch: true
  request: {authority: [bookinfo.example.com], method: [GET], uri: ["/api/v1/products?x=1"]}
  rewrite: {uri: /api/}
- description: delegate is compared by name
  wantMatch: true
  request: {authority: [reviews], method: [GET], uri: [/]}
  delegate: {name: nobody}
"""


def test_junit_report_stays_xml_with_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by tests/fuzz: a test name or value with a control character made the JUnit report unreadable."""
    path = write(
        tmp_path,
        "t.yaml",
        'tests:\n- name: "bell \\x07 and escape \\x1b"\n'
        '  request: {host: reviews, headers: {end-user: "\\x01"}}\n'
        "  expect: {rule: nope}\n",
    )
    code, out, _ = run(capsys, "test", path, "--config", BOOKINFO, "--format", "junit")
    assert code == 1
    [case] = ET.fromstring(out).iter("testcase")
    assert case.get("name") == "bell \\x07 and escape \\x1b"


def test_istio_config_validator_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "icv.yaml", ICV)
    code, out, _ = run(capsys, "test", path, "--config", BOOKINFO, "--format", "json")
    assert code == 1
    cases = {c["name"]: c for c in json.loads(out)["cases"]}
    first = cases["short name and FQDN are the same host"]
    assert first["passed"] and len(first["requests"]) == 3
    vacuous = cases["a negative test on an unrouted request fails instead of passing vacuously"]
    assert not vacuous["passed"]
    assert "nothing matched" in vacuous["requests"][0]["failures"][0]
    assert cases["negative test that holds"]["passed"]
    assert cases["the gateway's regex and prefix matches follow Envoy, and the query string is kept"]["passed"]
    delegate = cases["delegate is compared by name"]
    assert not delegate["passed"] and "nothing matched" not in delegate["requests"][0]["failures"][0]


def test_icv_gateways_are_honoured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """istio-config-validator ignores `gateways`; meshc sends a gateway host to the gateway it is bound to."""
    config = write(
        tmp_path,
        "vs.yaml",
        """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: web}
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http:
  - match: [{uri: {regex: "/a|/b"}}]
    route: [{destination: {host: a.web.svc.cluster.local}}]
  - route: [{destination: {host: b.web.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: web}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
""",
    )
    tests = write(
        tmp_path,
        "t.yaml",
        """\
testCases:
- description: "/a/xyz does not match the regex /a|/b as a whole: it falls through to b"
  wantMatch: true
  request: {authority: [shop.example.com], method: [GET], uri: [/a/xyz]}
  route: [{destination: {host: b.web.svc.cluster.local}}]
""",
    )
    code, out, _ = run(capsys, "test", tests, "--config", config)
    assert code == 0, out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("testCases:\n- description: x\n  request: {authority: [a], uri: [/]}\n  route: []\n", ":3: `request.method`"),
        (
            "testCases:\n- description: x\n  wantMatch: true\n  request: {authority: [a], method: [GET], uri: [/]}\n",
            ":2:",
        ),
        ("tests:\n- name: x\n  request: {host: a, heders: {}}\n  expect: {action: route}\n", ":3: `tests.0.request`"),
        ("tests:\n- name: x\n  request: {host: a}\n  expect: {action: maybe}\n", ":4: `tests.0.expect.action`"),
        ("kind: Service\n", ":1: not a test file"),
        ("tests: [\n", ":"),
    ],
)
def test_malformed_test_files_exit_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    code, out, err = run(capsys, "test", path, "--config", BOOKINFO)
    assert code == 2 and out == ""
    assert err.startswith(f"meshc: error: {path}") and message in err and err.count("\n") == 1


def test_missing_configuration_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A suite whose cases need a configuration, run without one, is a usage error (exit 2), not six FAILs."""
    path = write(tmp_path, "t.yaml", "tests:\n- name: x\n  request: {host: a}\n  expect: {action: route}\n")
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (2, "")
    assert err == (
        f"meshc: error: {path}:2: test `x` has no configuration to test: give `config:` in the test file "
        "or --config PATHS\n"
    )
    code, out, err = run(capsys, "test", str(ROOT / "examples" / "bookinfo-tests"))
    assert code == 2 and out == "" and "has no configuration to test" in err


def test_configuration_errors_are_reported_as_meshc_route_does(
    suite_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20: with a broken file added to the configuration, every case passed and nothing was said."""
    (suite_dir / "bookinfo" / "broken.yaml").write_text("kind: [\n")
    shutil.copy(SUITE / "routes.yaml", suite_dir / "routes.yaml")
    (suite_dir / "routes.yaml").write_text((SUITE / "routes.yaml").read_text().replace("../bookinfo", "bookinfo"))
    code, out, err = run(capsys, "test", "routes.yaml")
    assert code == 0 and out.endswith("10 passed, 0 failed (10 cases, 19 requests)\n")
    assert err == (
        "meshc: warning: the configuration `bookinfo` has 1 error (see `meshc lint`): bookinfo/broken.yaml:2:1: "
        "MC001 YAML syntax error: did not find expected node content (while parsing a flow node); testing what "
        "Istio would do with the valid resources\n"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("/etc/ssl", "`config: /etc/ssl` is absolute; `config` paths are relative to the test file"),
        ("/proc/self/environ", "`config: /proc/self/environ` is absolute; `config` paths are relative to the test "
         "file"),
        ("../..", "`config: ../..` leads outside the current folder (to `{up}`); "
         "`config` names configuration inside it (--config may name any)"),
    ],
)  # fmt: skip
def test_config_stays_inside_the_checkout(
    config: str, message: str, suite_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20: a test file from a pull request could point its configuration anywhere."""
    path = write(suite_dir, "t.yaml", BROKEN.format(config=config))
    code, out, err = run(capsys, "test", "t.yaml")
    assert (code, out) == (2, "")
    up = suite_dir.resolve().parent.parent
    assert err == f"meshc: error: t.yaml:1: {message.format(up=up)}\n", path
