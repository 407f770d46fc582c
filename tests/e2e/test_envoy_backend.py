"""The Envoy backend: validation, live runs, HTTPS, determinism, options and the CLI's exit codes.

`envoy --mode validate` runs on every example and golden case; bookinfo runs live with its clusters
pointed at stubs; a Gateway HTTPS server is served from certificate files made in the test.

Every test here that needs Envoy runs it, and fails (never skips) when it is missing.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
from pathlib import Path

import pytest
import yaml

from meshc import ir
from meshc.backends import envoy as backend
from meshc.backends import options
from meshc.cli import main
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import load
from tests.e2e import differential as diff
from tests.e2e import envoy as harness
from tests.e2e import stubs

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "examples" / "bookinfo"
CASES = ROOT / "tests" / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").is_file()) if CASES.is_dir() else []
FIXTURES = Path(__file__).parent / "fixtures"


def _compile(paths: list[str], *, errors_ok: bool = False) -> ir.IR:
    loaded = load(paths, Options())
    assert errors_ok or loaded.errors == 0
    return compile_mesh(loaded.mesh)


# --- validation -------------------------------------------------------------------------------------


def test_bookinfo_validates_and_is_deterministic() -> None:
    first, diags = backend.render(_compile([str(BOOKINFO)]))
    second, _ = backend.render(_compile([str(BOOKINFO)]))
    assert first == second, "the same input must give the same bytes"
    result = harness.validate(first)
    assert result.ok, result.output
    # Deployments carry no addresses: every subset cluster is reported (MC402), nothing else.
    assert {d.code for d in diags} == {"MC402"}
    data = yaml.safe_load(first)
    assert data["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_golden_validates(case: str, golden) -> None:
    path = str(CASES / case / "input.yaml")
    # Some cases hold deliberate mistakes: compile what is valid, as the IR goldens do.
    text, _ = backend.render(_compile([path], errors_ok=True))
    again, _ = backend.render(_compile([path], errors_ok=True))
    assert text == again, "compiling twice must give identical bytes"
    golden.check(CASES / case / "envoy.yaml", text)
    result = harness.validate(text)
    assert result.ok, result.output


def test_every_istio_sample_that_compiles_validates(corpus: Path) -> None:
    """Every Istio sample without input errors compiles to a bootstrap `envoy --mode validate` accepts.

    E.g. samples/multicluster/expose-istiod.yaml: TLS passthrough with `sniHosts: "*"`.
    """
    from concurrent.futures import ThreadPoolExecutor

    files = sorted((corpus / "istio-samples").rglob("*.y*ml"))
    by_text: dict[str, list[str]] = {}
    for f in files:
        loaded = load([str(f)], Options())
        if loaded.errors:
            continue
        text, _ = backend.render(compile_mesh(loaded.mesh))
        by_text.setdefault(text, []).append(str(f.relative_to(corpus)))
    compiled = sum(len(v) for v in by_text.values())
    assert compiled >= 70, f"only {compiled} of {len(files)} samples compile"
    with ThreadPoolExecutor(max_workers=4) as pool:  # identical bootstraps are validated once
        results = dict(zip(by_text, pool.map(harness.validate, by_text), strict=True))
    rejected = {by_text[t][0]: r.output[-400:] for t, r in results.items() if not r.ok}
    assert not rejected, rejected


def test_hand_written_ir_validates() -> None:
    data = yaml.safe_load((FIXTURES / "ir-full.yaml").read_text(encoding="utf-8"))
    text, diags = backend.render(ir.from_dict(ir.IR, data))
    result = harness.validate(text)
    assert result.ok, result.output
    codes = sorted({d.code for d in diags})
    assert codes == ["MC401", "MC402", "MC403", "MC404", "MC407", "MC409", "MC412"]
    boot = yaml.safe_load(text)
    names = [c["name"] for c in boot["static_resources"]["clusters"]]
    assert "meshc-jwks|other.example|443" in names
    gateway = next(li for li in boot["static_resources"]["listeners"] if li["name"] == "0.0.0.0_80")
    filters = gateway["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    order = [f["name"] for f in filters]
    assert order == [
        "envoy.filters.http.rbac",  # CUSTOM stand-in
        "envoy.filters.http.jwt_authn",
        "envoy.filters.http.rbac",  # AUDIT (LOG)
        "envoy.filters.http.rbac",  # DENY
        "envoy.filters.http.rbac",  # ALLOW
        "envoy.filters.http.fault",
        "envoy.filters.http.cors",
        "envoy.filters.http.router",
    ]
    actions = [f["typed_config"]["rules"]["action"] for f in filters if f["name"] == "envoy.filters.http.rbac"]
    assert actions == ["DENY", "LOG", "DENY", "ALLOW"]


def test_istio_defaults_in_routes_and_clusters() -> None:
    boot = yaml.safe_load(backend.render(_compile([str(BOOKINFO)]))[0])
    mesh = next(li for li in boot["static_resources"]["listeners"] if li["name"] == "0.0.0.0_9080")
    hcm = mesh["filter_chains"][0]["filters"][0]["typed_config"]
    vhosts = {v["name"]: v for v in hcm["route_config"]["virtual_hosts"]}
    route = vhosts["reviews.default.svc.cluster.local:9080"]["routes"][0]
    assert route["route"]["timeout"] == "0s"
    retry = route["route"]["retry_policy"]
    assert retry["retry_on"] == "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    assert retry["num_retries"] == 2 and retry["host_selection_retry_max_attempts"] == 5
    ratings = vhosts["ratings.default.svc.cluster.local:9080"]["routes"][0]
    fault = ratings["typed_per_filter_config"]["envoy.filters.http.fault"]["delay"]
    assert fault == {"fixed_delay": "2s", "percentage": {"numerator": 1000000, "denominator": "MILLION"}}
    clusters = {c["name"]: c for c in boot["static_resources"]["clusters"]}
    httpbin = clusters["outbound|8000||httpbin.default.svc.cluster.local"]
    assert httpbin["circuit_breakers"]["thresholds"][0]["max_connections"] == 1
    assert httpbin["outlier_detection"]["enforcing_success_rate"] == 0
    assert httpbin["outlier_detection"]["consecutive_5xx"] == 1
    assert httpbin["common_lb_config"]["healthy_panic_threshold"]["value"] == 0
    assert clusters["outbound|9080||details.default.svc.cluster.local"]["lb_policy"] == "RANDOM"
    assert clusters["outbound|9080||reviews.default.svc.cluster.local"]["lb_policy"] == "LEAST_REQUEST"
    assert clusters["outbound|9080||reviews.default.svc.cluster.local"]["type"] == "STRICT_DNS"


# --- live runs --------------------------------------------------------------------------------------


def test_bookinfo_runs_with_upstream_overrides() -> None:
    compiled = _compile([str(BOOKINFO)])
    names = ["productpage-v1", "reviews-v1", "reviews-v2", "reviews-v3", "ratings-v1", "details-v1"]
    with stubs.running(*names) as running:
        opts = backend.EnvoyOptions(bind="127.0.0.1", port_map={9080: 0, 80: 0, 8000: 0}, admin_port=0)
        for name in names:
            svc, version = name.rsplit("-", 1)
            address = backend.Address("127.0.0.1", running[name].port)
            opts.upstreams.append((f"outbound|9080|{version}|{svc}.default.svc.cluster.local", [address]))
        opts.upstreams.append(("outbound|*", [backend.Address("127.0.0.1", running["reviews-v1"].port)]))
        text, _ = backend.render(compiled, opts)
        with harness.running(text) as proc:
            ports = diff.listener_ports(compiled, proc)
            mesh = ports[9080]
            assert harness.request(mesh, "/", host="reviews", headers={"end-user": "jason"}).stub == "reviews-v2"
            assert harness.request(mesh, "/", host="reviews").stub == "reviews-v1"
            assert harness.request(mesh, "/", host="details.default").stub == "details-v1"
            slow = harness.request(mesh, "/ratings/1", host="ratings")
            assert slow.stub == "ratings-v1" and slow.elapsed >= 1.9, slow.elapsed
            gw = ports[80]
            assert harness.request(gw, "/productpage", host="bookinfo.example").stub == "productpage-v1"
            moved = harness.request(gw, "/old-path?x=1", host="bookinfo.example")
            assert (moved.status, moved.headers["location"]) == (301, "http://bookinfo.example/new-path?x=1")
            api = harness.request(gw, "/api/v1/books", host="bookinfo.example")
            assert api.stub == "productpage-v1" and api.json()["path"] == "/api/books"
            assert harness.request(gw, "/nothing", host="bookinfo.example").status == 404


def _certificate(tmp: Path, host: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp / f"{host}.crt", tmp / f"{host}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return crt, pem


def test_https_server_with_certificate_files(tmp_path: Path) -> None:
    crt, key = _certificate(tmp_path, "secure.example.com")
    text = f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: web-1, namespace: default}}
spec: {{address: 10.9.0.1, labels: {{app: web}}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts: [secure.example.com]
    tls: {{mode: SIMPLE, serverCertificate: {crt}, privateKey: {key}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: web, namespace: default}}
spec:
  hosts: [secure.example.com]
  gateways: [istio-system/gw]
  http:
  - match: [{{scheme: {{exact: https}}}}]
    route: [{{destination: {{host: web}}}}]
"""
    assert harness.validate(backend.render(_compile_text(text))[0]).ok
    with diff.deploy(text) as dep:
        assert not dep.diagnostics
        context = ssl.create_default_context(cafile=str(crt))
        raw = socket.create_connection(("127.0.0.1", dep.ports[443]), timeout=10)
        with context.wrap_socket(raw, server_hostname="secure.example.com") as tls:
            tls.sendall(b"GET /x HTTP/1.1\r\nHost: secure.example.com\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b'"stub": "web-1"' in body
        decision = dep.predict(host="secure.example.com", port=443, path="/x", gateway="istio-system/gw")
        assert decision.action == "route" and dep.backends_of(decision) == {
            "outbound|8080||web.default.svc.cluster.local": ["web-1"]
        }


def test_mutual_tls_server_with_versions_and_ciphers_validates(tmp_path: Path) -> None:
    crt, key = _certificate(tmp_path, "m.example.com")
    ca, _ = _certificate(tmp_path, "ca.example.com")
    text = f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts: [m.example.com]
    tls:
      mode: MUTUAL
      serverCertificate: {crt}
      privateKey: {key}
      caCertificates: {ca}
      subjectAltNames: [client.example.com]
      minProtocolVersion: TLSV1_2
      maxProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]
"""
    boot_text, diags = backend.render(_compile_text(text))
    assert not diags
    result = harness.validate(boot_text)
    assert result.ok, result.output
    listener = yaml.safe_load(boot_text)["static_resources"]["listeners"][0]
    tls = listener["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["require_client_certificate"] is True
    params = tls["common_tls_context"]["tls_params"]
    assert (params["tls_minimum_protocol_version"], params["tls_maximum_protocol_version"]) == ("TLSv1_2", "TLSv1_3")


def _compile_text(text: str) -> ir.IR:
    loaded = load(["-"], Options(), stdin=text.encode())
    assert loaded.errors == 0
    return compile_mesh(loaded.mesh)


# --- options ----------------------------------------------------------------------------------------


def test_options_parse() -> None:
    assert options.parse_port_map(["80=18080", "443=18443"]) == {80: 18080, 443: 18443}
    pattern, addrs = options.parse_upstream("outbound|9080|v1|reviews.default.svc.cluster.local=127.0.0.1:1,[::1]:2")
    assert pattern == "outbound|9080|v1|reviews.default.svc.cluster.local"
    assert addrs == [options.Address("127.0.0.1", 1), options.Address("::1", 2)]
    assert options.parse_endpoint("10.0.0.1:9080=127.0.0.1:19081") == (
        "10.0.0.1:9080",
        options.Address("127.0.0.1", 19081),
    )
    for bad in ("80", "x=1", "80=99999"):
        with pytest.raises(options.OptionError):
            options.parse_port_map([bad])
    with pytest.raises(options.OptionError):
        options.parse_upstream("outbound|1||x=127.0.0.1")
    opts = backend.load_overrides(
        {"bind": "127.0.0.1", "port_offset": 10000, "ports": {80: 18080}, "upstreams": {"outbound|*": "127.0.0.1:9"}}
    )
    assert (opts.listen_port(80), opts.listen_port(9080)) == (18080, 19080)
    with pytest.raises(backend.OptionError, match="unknown key"):
        backend.load_overrides({"bnid": "x"})


def test_bind_offset_and_upstream_glob() -> None:
    opts = backend.EnvoyOptions(bind="127.0.0.1", port_offset=10000)
    opts.upstreams.append(("outbound|9080|*|reviews.default.svc.cluster.local", [backend.Address("127.0.0.1", 7)]))
    boot = yaml.safe_load(backend.render(_compile([str(BOOKINFO)]), opts)[0])
    ports = sorted(li["address"]["socket_address"]["port_value"] for li in boot["static_resources"]["listeners"])
    assert ports == [10080, 18000, 19080]
    assert {li["address"]["socket_address"]["address"] for li in boot["static_resources"]["listeners"]} == {"127.0.0.1"}
    clusters = {c["name"]: c for c in boot["static_resources"]["clusters"]}
    v2 = clusters["outbound|9080|v2|reviews.default.svc.cluster.local"]
    assert v2["type"] == "STATIC"
    assert v2["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] == {
        "socket_address": {"address": "127.0.0.1", "port_value": 7}
    }


# --- the missing-Envoy guarantee --------------------------------------------------------------------


def test_missing_envoy_fails_not_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MESHC_ENVOY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    with pytest.raises(pytest.fail.Exception, match="`envoy` command is missing"):
        harness.envoy_binary()


# --- CLI --------------------------------------------------------------------------------------------


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "envoy.yaml"
    code, stdout, err = _cli(["compile", str(BOOKINFO), "--target", "envoy", "-o", str(out)], capsys)
    assert code == 0 and stdout == ""
    assert "destination-rules.yaml:" in err and "MC402 [warning]" in err and "help: " in err
    assert out.read_text(encoding="utf-8").startswith(backend.HEADER)
    code, _, _ = _cli(["compile", str(BOOKINFO), "--target", "envoy", "--strict", "-o", str(out)], capsys)
    assert code == 1
    code, _, err = _cli(["compile", str(ROOT / "examples" / "broken"), "--target", "envoy"], capsys)
    assert code == 2 and "meshc lint" in err
    code, _, err = _cli(["compile", str(BOOKINFO), "--target", "envoy", "--port-map", "80"], capsys)
    assert code == 2 and "bad port mapping" in err
    code, _, err = _cli(["compile", str(BOOKINFO), "--target", "ir", "--bind", "127.0.0.1"], capsys)
    assert code == 2 and "apply to --target envoy" in err


def test_cli_overrides_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tmp_path / "local.yaml"
    overrides.write_text("bind: 127.0.0.1\nports: {80: 18080}\nadmin_port: 15555\ncontexts: [mesh]\n")
    code, stdout, _ = _cli(
        ["compile", str(BOOKINFO), "--target", "envoy", "--overrides", str(overrides), "--port-offset", "100"], capsys
    )
    assert code == 0
    boot = yaml.safe_load(stdout)
    assert boot["admin"]["address"]["socket_address"]["port_value"] == 15555
    ports = sorted(li["address"]["socket_address"]["port_value"] for li in boot["static_resources"]["listeners"])
    assert ports == [8100, 9180]  # mesh context only; 80 would have gone to 18080


def test_envoy_log_dir_untouched() -> None:
    # The harness keeps everything in temporary folders: nothing is left in the work tree.
    assert not any(p.name.startswith("meshc-envoy-") for p in ROOT.iterdir())
    assert os.path.isdir(ROOT / "tests" / "e2e" / "scenarios")
