"""DNS-name endpoints are resolved by nginx at request time (MC466), never when it loads the file.

- `meshc compile examples/bookinfo --target nginx` with no option passes `nginx -t` and runs (its
  Kubernetes Service names do not resolve here); without `--resolver` a request to such a
  cluster answers 503 ("no resolver defined"), as the MC466 warning says;
- with `--resolver` pointing at a DNS responder started by the test (tests/e2e/dns.py), nginx
  resolves `reviews.default.svc.cluster.local` while it runs: a request made before the name
  exists answers 503, and once the responder knows it (the cached negative answer expires after
  `--resolver-valid 1s`) the same running nginx reaches the stub, without a reload;
- subset routing through request-time DNS: every cluster is pointed (`--upstream`) at a DNS name
  of its own (`v2.reviews.default.svc.cluster.local`, ...) on its stub's port, so `end-user: jason`
  reaching reviews v2 and others reaching v1 proves the split survives the variable `proxy_pass`.

The stubs listen on random ports while the Service names carry port 9080, and v1/v2/v3 share one
name: the responder answers 127.0.0.1 for every name, and the port (and, for subsets, the name)
comes from `--endpoint`/`--upstream` overrides that keep a DNS name, so nothing is resolved at
load time and every fixed port stays free. These tests FAIL when nginx is missing.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from meshc import ir
from meshc.cli import main
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import load
from tests.e2e import dns, stubs
from tests.e2e import nginx as ngx
from tests.e2e.nginx_routes import glob_literal

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = str(ROOT / "examples" / "bookinfo")
REVIEWS = "reviews.default.svc.cluster.local"


def _compile(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    capsys.readouterr()
    code = main(["compile", BOOKINFO, "--target", "nginx", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def _listen_ports() -> ngx.Sockets:
    """A listening socket on 127.0.0.1 for every listener port of bookinfo."""
    compiled = compile_mesh(load([BOOKINFO], Options()).mesh)
    # virtualOutbound is not written for nginx: only iptables reaches it.
    return ngx.Sockets(
        lst.port for ctx in compiled.contexts for lst in ctx.listeners if lst.name != ir.VIRTUAL_OUTBOUND
    )


def _port_args(ports: ngx.Sockets) -> list[str]:
    out = ["--bind", "127.0.0.1"]
    for port, free in sorted(ports.port_map().items()):
        out += ["--port-map", f"{port}={free}"]
    return out


def test_bookinfo_without_options_passes_nginx_t_and_answers_503(capsys: pytest.CaptureFixture[str]) -> None:
    text, err = _compile([], capsys)
    assert not re.search(r"^\s*server [a-z].*\.svc\.cluster\.local", text, re.M), "no load-time DNS names"
    assert "resolver " not in text
    assert "no --resolver given: requests to it answer 503" in err and "MC466 [warning]" in err
    result = ngx.validate(text)
    assert result.ok, result.output
    with _listen_ports() as ports:
        text, _ = _compile(_port_args(ports), capsys)
        with ngx.running(text, ports) as server:
            resp = ngx.request(ports[9080], "/reviews/0", host="reviews")
            assert resp.status == 503 and resp.stub is None
            assert f"no resolver defined to resolve {REVIEWS}" in server.log()


def _wait_for_stub(port: int, host: str, timeout: float = 10.0) -> ngx.Response:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        resp = ngx.request(port, "/reviews/0", host=host)
        if resp.stub is not None or time.monotonic() > deadline:
            return resp
        time.sleep(delay)  # the negative answer is cached for `valid=1s`: poll until it expires
        delay = min(delay * 1.5, 0.5)


def test_dns_names_resolve_at_request_time(capsys: pytest.CaptureFixture[str]) -> None:
    with _listen_ports() as ports, stubs.running("reviews") as running, dns.running({}, ttl=1) as responder:
        stub_port = running["reviews"].port
        # the endpoint keeps its DNS name; only the port moves to the stub's
        args = [
            *_port_args(ports),
            "--context",
            "mesh",
            "--resolver",
            f"127.0.0.1:{responder.port}",
            "--resolver-valid",
            "1s",
            "--endpoint",
            f"{REVIEWS}:9080={REVIEWS}:{stub_port}",
        ]
        text, err = _compile(args, capsys)
        assert f"resolver 127.0.0.1:{responder.port} valid=1s;" in text
        assert f'"{REVIEWS}:{stub_port}"' in text and f"server {REVIEWS}" not in text
        assert "no --resolver given" not in err
        with ngx.running(text, ports) as server:
            # the name does not exist yet: nginx started anyway, and answers 503 for it
            first = ngx.request(ports[9080], "/reviews/0", host="reviews")
            assert first.status == 503 and first.stub is None, server.log()
            assert (REVIEWS, dns.TYPE_A) in responder.queries
            # the name appears while nginx runs: no reload, the next lookup finds it
            responder.records[REVIEWS] = "127.0.0.1"
            resp = _wait_for_stub(ports[9080], "reviews")
            assert resp.status == 200 and resp.stub == "reviews", server.log()
            assert resp.json()["headers"]["host"] == "reviews"  # Host kept, not the resolved name


def test_bookinfo_jason_reaches_reviews_v2_through_dns(capsys: pytest.CaptureFixture[str]) -> None:
    compiled = compile_mesh(load([BOOKINFO], Options()).mesh)
    # The services' clusters (not Istio's own PassthroughCluster and BlackHoleCluster).
    names = sorted({cl.name for ctx in compiled.contexts for cl in ctx.clusters if cl.name not in ir.BUILTIN_CLUSTERS})

    def dns_name(cluster: str) -> str:
        _, _, subset, host = cluster.split("|")
        return f"{subset}.{host}" if subset else host

    records = {dns_name(n): "127.0.0.1" for n in names}
    with _listen_ports() as ports, stubs.running(*names) as running, dns.running(records) as responder:
        args = [*_port_args(ports), "--context", "mesh", "--resolver", f"127.0.0.1:{responder.port}"]
        for n in names:
            args += ["--upstream", f"{glob_literal(n)}={dns_name(n)}:{running[n].port}"]
        text, _ = _compile(args, capsys)
        assert "    upstream " not in text, "every cluster is a DNS name: no upstream block"
        with ngx.running(text, ports) as server:
            v1 = f"outbound|9080|v1|{REVIEWS}"
            v2 = f"outbound|9080|v2|{REVIEWS}"
            jason = ngx.request(ports[9080], "/reviews/0", host="reviews", headers=[("end-user", "jason")])
            assert jason.stub == v2, server.log()
            for headers in ([], [("end-user", "alice")]):
                assert ngx.request(ports[9080], "/reviews/0", host="reviews", headers=headers).stub == v1
            assert (f"v2.{REVIEWS}", dns.TYPE_A) in responder.queries


EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
CASES = sorted(p / "input.yaml" for p in (ROOT / "tests" / "cases").iterdir() if (p / "input.yaml").is_file())


@pytest.mark.parametrize("path", EXAMPLES + CASES, ids=lambda p: p.parent.name if p.name == "input.yaml" else p.name)
def test_nginx_t_accepts_without_overrides(path: Path) -> None:
    # no --upstream/--endpoint: the Service names stay and must not be resolved at load time
    from meshc.backends import nginx as backend

    compiled = compile_mesh(load([str(path)], Options()).mesh)
    for ctx in compiled.contexts or [None]:
        opts = backend.NginxOptions(bind="127.0.0.1", contexts=[ctx.name] if ctx else [])
        text, _ = backend.render(compiled, opts)
        result = ngx.validate(text)
        assert result.ok, f"nginx -t refused {path} ({opts.contexts}):\n{result.output}"


SERVICE_ENTRY = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: api, namespace: default}}
spec:
  hosts: [api.meshc.test]
  ports: [{{number: 80, name: http, protocol: HTTP}}]
  resolution: DNS
  endpoints:
  - {{address: a.meshc.test, ports: {{http: {a}}}, weight: 1}}
  - {{address: b.meshc.test, ports: {{http: {b}}}, weight: 3}}
"""


def test_several_dns_endpoints_are_split_by_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (
        ngx.Sockets([80]) as sockets,
        stubs.running("a", "b") as running,
        dns.running({"a.meshc.test": "127.0.0.1", "b.meshc.test": "127.0.0.1"}) as r,
    ):
        src = tmp_path / "se.yaml"
        src.write_text(SERVICE_ENTRY.format(a=running["a"].port, b=running["b"].port), encoding="utf-8")
        port = sockets[80]
        capsys.readouterr()
        code = main(
            [
                "compile",
                str(src),
                "--target",
                "nginx",
                "--bind",
                "127.0.0.1",
                "--port-map",
                f"80={port}",
                "--resolver",
                f"127.0.0.1:{r.port}",
            ]
        )
        text, err = capsys.readouterr()
        assert code == 0, err
        assert re.search(r'25\.00% "a\.meshc\.test:\d+";\n\s+\* "b\.meshc\.test:\d+";', text), text
        with ngx.running(text, sockets) as server:
            seen = [ngx.request(port, "/", host="api.meshc.test").stub for _ in range(40)]
            assert set(seen) == {"a", "b"}, server.log()  # P(one missing) < 0.75**40 + 0.25**40 ≈ 1e-5
