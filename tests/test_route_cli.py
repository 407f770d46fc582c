"""`meshc route` and `meshc compile` end to end: defaults, formats, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from meshc.cli import main

ROOT = Path(__file__).resolve().parents[1]
BOOKINFO = str(ROOT / "examples" / "bookinfo")
CONTRACTS = (ROOT / ".." / "shared" / "docs" / "contracts").resolve()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def route_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, "route", BOOKINFO, *args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    schema = json.loads((CONTRACTS / "route.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    return data


def test_jason_goes_to_v2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", BOOKINFO, "--host", "reviews", "--header", "end-user=jason")
    assert code == 0
    assert "outbound|9080|v2|reviews.default.svc.cluster.local" in out
    assert '✓ default/reviews rule 0 match 0: header end-user exact "jason"' in out


def test_everyone_else_goes_to_v1_with_a_why_not_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", BOOKINFO, "--host", "reviews")
    assert code == 0
    assert "outbound|9080|v1|reviews.default.svc.cluster.local" in out
    assert '✗ default/reviews rule 0 match 0: header end-user exact "jason", request has' in out


def test_json_matches_design_section_5(capsys: pytest.CaptureFixture[str]) -> None:
    data = route_json(capsys, "--host", "reviews", "--header", "end-user: jason")
    assert data["request"] == {
        "host": "reviews",
        "port": 9080,
        "path": "/",
        "method": "GET",
        "headers": {"end-user": "jason"},
        "gateway": "mesh",
        "scheme": "http",
        "source_namespace": "default",
        "source_labels": {},
        "address": None,
        "protocol": "http",
        "tls": None,
        "sni": None,
        "alpn": None,
    }
    assert data["error"] is None
    assert data["host"] == "reviews.default.svc.cluster.local"
    assert data["virtual_service"] == {"namespace": "default", "name": "reviews"}
    assert data["rule"] == {"index": 0, "name": "jason"}
    assert data["match"]["index"] == 0
    assert data["action"] == "route"
    assert data["destinations"] == [
        {
            "host": "reviews.default.svc.cluster.local",
            "port": 9080,
            "subset": "v2",
            "weight": 100,
            "share": 100.0,
            "cluster": "outbound|9080|v2|reviews.default.svc.cluster.local",
            "known": True,
        }
    ]
    for key in ("redirect", "rewrite", "fault", "timeout", "mirror", "headers"):
        assert data[key] is None, key
    assert data["retries"]["is_default"] is True
    assert set(data["policy"]) == {"outbound|9080|v2|reviews.default.svc.cluster.local"}
    assert {"load_balancer", "connection_pool", "outlier_detection"} <= set(
        data["policy"]["outbound|9080|v2|reviews.default.svc.cluster.local"]
    )
    assert data["trace"] == [
        {
            "route": "default/reviews/http/0/match/0",
            "virtual_service": "default/reviews",
            "rule": 0,
            "match": 0,
            "matched": True,
            "removed": False,
            "delegate": None,
            "reason": 'header end-user exact "jason"',
        }
    ]


def test_json_for_redirect_fault_and_no_route(capsys: pytest.CaptureFixture[str]) -> None:
    gw = ("--gateway", "default/bookinfo-gateway", "--host", "bookinfo.example.com")
    redirect = route_json(capsys, *gw, "--path", "/old-path")
    assert redirect["action"] == "redirect"
    assert redirect["redirect"] == {
        "uri": "/new-path",
        "authority": None,
        "scheme": None,
        "port": None,
        "code": 301,
        "location": "http://bookinfo.example.com/new-path",
    }
    fault = route_json(capsys, "--host", "ratings")
    assert fault["fault"] == {"delay": {"fixed_delay": "2s", "percentage": 100.0}, "abort": None}
    missing = route_json(capsys, *gw, "--path", "/nowhere")
    assert missing["action"] == "no_route" and missing["rule"] is None and missing["destinations"] == []
    default = route_json(capsys, "--host", "httpbin")
    assert default["action"] == "default" and default["virtual_service"] is None


def test_query_flag_is_appended_to_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    data = route_json(capsys, "--host", "reviews", "--path", "/r?a=1", "--query", "b=x y")
    assert data["request"]["path"] == "/r?a=1&b=x%20y"


def test_unknown_host_is_explained_as_outside_the_registry_with_suggestions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13 point 6: a host outside the registry is not an error; the sidecar passes it through (ALLOW_ANY)."""
    code, out, err = run(capsys, "route", BOOKINFO, "--host", "reviewz", "--format", "json")
    assert code == 0
    assert err == (
        "meshc: warning: unknown host `reviewz` from namespace `default`; did you mean `reviews`?; the sidecar "
        "handles it as a host outside the registry, by outboundTrafficPolicy ALLOW_ANY (Istio's default)\n"
    )
    data = json.loads(out)
    # Port 80 has no listener in bookinfo: the connection goes to virtualOutbound's passthrough chain.
    assert data["listener"] == "virtualOutbound" and data["virtual_host"] is None
    assert data["action"] == "default" and data["destinations"] == []
    assert data["egress"] == {"cluster": "PassthroughCluster", "outbound_traffic_policy": "ALLOW_ANY", "from": None}
    data = route_json(capsys, "--host", "reviewz", "--port", "9080")
    assert data["listener"] == "0.0.0.0_9080" and data["virtual_host"]["name"] == "allow_any"
    assert data["egress"]["cluster"] == "PassthroughCluster" and data["virtual_service"] is None


def test_short_names_resolve_from_the_source_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "route", BOOKINFO, "--host", "reviews", "--source-namespace", "other")
    assert code == 0 and "did you mean `reviews.default`" in err and "outside the registry" in err
    data = route_json(capsys, "--host", "reviews.default", "--source-namespace", "other")
    assert data["host"] == "reviews.default.svc.cluster.local" and data["action"] == "route"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--host", "reviews", "--header", "novalue"), "--header `novalue` is not `K=V` or `K: V`"),
        (("--host", "reviews", "--port", "0"), "--port 0 is not a port number"),
        (("--host", "reviews", "--path", "x"), "must start with `/`"),
        (("--host", " "), "--host is required"),
        (("--host", "reviews", "--gateway", "nope"), "unknown gateway `nope`"),
        (("--host", "reviews", "--source-labels", "x"), "--source-labels `x` is not `K=V`"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, out, err = run(capsys, "route", BOOKINFO, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_several_ports_need_a_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\n"
        "spec: {ports: [{name: http, port: 80}, {name: grpc, port: 9000}]}\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "route", str(path), "--host", "a")
    assert code == 2 and "several ports (80, 9000); choose one with --port" in err
    code, out, _ = run(capsys, "route", str(path), "--host", "a", "--port", "9000")
    assert code == 0 and "outbound|9000||a.default.svc.cluster.local" in out


def test_lint_errors_give_a_warning_but_an_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], htp: []}\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "route", BOOKINFO, str(bad), "--host", "reviews")
    assert code == 0 and "outbound|9080|v1|" in out
    assert "warning: the configuration has 1 error" in err


def test_no_route_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "route", BOOKINFO, "--gateway", "default/bookinfo-gateway", "--host", "x", "--path", "/nowhere"
    )
    assert code == 0 and "no_route (404)" in out


def test_compile_ir_writes_atomically_and_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "ir.yaml"
    code, out, _ = run(capsys, "compile", BOOKINFO, "--target", "ir", "-o", str(out_file))
    assert code == 0 and out == ""
    code, out, _ = run(capsys, "compile", BOOKINFO, "--target", "ir")
    assert out == out_file.read_text(encoding="utf-8")
    assert out.startswith("contexts:\n- name: mesh\n")
    assert [p.name for p in tmp_path.iterdir()] == ["ir.yaml"]


def test_compile_needs_a_known_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compile", BOOKINFO)
    assert code == 2 and "--target is required" in err
    code, _, err = run(capsys, "compile", BOOKINFO, "--target", "haproxy")
    assert code == 2 and "invalid value for --target: 'haproxy' (choose from ir, envoy, nginx)" in err


def test_compile_output_folder_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compile", BOOKINFO, "-t", "ir", "-o", str(tmp_path / "no" / "ir.yaml"))
    assert code == 2 and "does not exist" in err
