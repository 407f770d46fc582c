"""The real nginx accepts and runs what `meshc compile --target nginx` writes.

- every example and every routing case compiles to a configuration `nginx -t` accepts, with the
  clusters pointed at loopback so that they keep `upstream` blocks (without overrides, see
  test_nginx_dns.py: Service names are resolved at request time, MC466);
- `examples/bookinfo` runs: `end-user: jason` reaches reviews v2, everyone else v1, and the ingress
  gateway's redirect and prefix rewrite work;
- weights and abort percentages hold within a stated statistical tolerance.

These tests FAIL when nginx is missing (tests/e2e/nginx.py).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from meshc.backends import nginx as backend
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import load
from tests.e2e import nginx as ngx
from tests.e2e import stubs
from tests.e2e.nginx_routes import glob_literal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
CASES = sorted(p for p in (ROOT / "tests" / "cases").iterdir() if (p / "input.yaml").is_file())
LOOPBACK = backend.NginxOptions(
    bind="127.0.0.1", port_offset=20000, upstreams=[("*", [backend.Address("127.0.0.1", 9)])]
)


def _compile(path: Path):
    return compile_mesh(load([str(path)], Options()).mesh)


def _contexts(compiled) -> list[list[str]]:
    # one nginx per context: the sidecar and a gateway may use the same port
    return [[c.name] for c in compiled.contexts] or [[]]


@pytest.mark.parametrize(
    "path",
    EXAMPLES + [c / "input.yaml" for c in CASES],
    ids=lambda p: p.parent.name if p.name == "input.yaml" else p.name,
)
def test_nginx_t_accepts(path: Path) -> None:
    compiled = _compile(path)
    for ctxs in _contexts(compiled):
        opts = backend.NginxOptions(
            bind=LOOPBACK.bind, port_offset=LOOPBACK.port_offset, upstreams=LOOPBACK.upstreams, contexts=ctxs
        )
        text, _ = backend.render(compiled, opts)
        result = ngx.validate(text)
        assert result.ok, f"nginx -t refused the configuration of {ctxs}:\n{result.output}\n{text[:3000]}"


def _bookinfo(names: list[str], running: dict[str, stubs.Stub], context: str, ports: ngx.Sockets) -> str:
    opts = backend.NginxOptions(
        bind="127.0.0.1",
        port_map=ports.port_map(),
        contexts=[context],
        upstreams=[(glob_literal(n), [backend.Address("127.0.0.1", running[n].port)]) for n in names],
    )
    text, _ = backend.render(_compile(ROOT / "examples" / "bookinfo"), opts)
    return text


def test_bookinfo_jason_reaches_reviews_v2() -> None:
    compiled = _compile(ROOT / "examples" / "bookinfo")
    names = sorted({cl.name for ctx in compiled.contexts for cl in ctx.clusters})
    with (
        ngx.Sockets([9080, 8000]) as ports,
        stubs.running(*names) as running,
        ngx.running(_bookinfo(names, running, "mesh", ports), ports),
    ):
        port = ports[9080]
        v2 = "outbound|9080|v2|reviews.default.svc.cluster.local"
        v1 = "outbound|9080|v1|reviews.default.svc.cluster.local"
        assert ngx.request(port, "/reviews/0", host="reviews", headers=[("end-user", "jason")]).stub == v2
        assert (
            ngx.request(port, "/", host="reviews.default.svc.cluster.local:9080", headers=[("End-User", "jason")]).stub
            == v2
        )
        assert ngx.request(port, "/", host="reviews", headers=[("end-user", "JASON")]).stub == v1
        assert ngx.request(port, "/", host="reviews").stub == v1
        resp = ngx.request(port, "/x", host="reviews", method="POST", headers=[("end-user", "jason")], body=b"payload")
        assert resp.stub == v2 and resp.json()["method"] == "POST" and resp.json()["headers"]["content-length"] == "7"
        # A host outside the registry goes to PassthroughCluster (ALLOW_ANY), which nginx cannot write (MC458).
        assert ngx.request(port, "/", host="unknown.example").status == 503


def test_bookinfo_gateway_redirect_and_rewrite() -> None:
    compiled = _compile(ROOT / "examples" / "bookinfo")
    gw = next(c.name for c in compiled.contexts if c.kind == "gateway")
    names = sorted({cl.name for ctx in compiled.contexts for cl in ctx.clusters})
    with (
        ngx.Sockets([80]) as ports,
        stubs.running(*names) as running,
        ngx.running(_bookinfo(names, running, gw, ports), ports),
    ):
        resp = ngx.request(ports[80], "/old-path?a=1", host="bookinfo.example.com")
        assert resp.status == 301
        assert resp.headers["location"] == "http://bookinfo.example.com/new-path?a=1"
        resp = ngx.request(ports[80], "/api/v1/products/1?x=y", host="bookinfo.example.com")
        assert resp.stub == "outbound|9080|v1|productpage.default.svc.cluster.local"
        assert resp.json()["path"] == "/api/products/1" and resp.json()["query"] == "x=y"
        assert resp.json()["headers"]["host"] == "bookinfo.example.com"
        assert ngx.request(ports[80], "/nothing-here", host="bookinfo.example.com").status == 404


def _tolerance(n: int, p: float) -> float:
    """Allowed deviation of a count from n*p: 5 standard deviations (false failure < 1e-6)."""
    return 5 * math.sqrt(n * p * (1 - p))


N = 800
"""Requests per share measured; sent 16 at a time (each takes ~40 ms: the stubs write headers and
body separately, and delayed ACKs hold the second write)."""


def _many(port: int, paths: list[str], host: str, *, until_close: bool = False) -> list[ngx.Response]:
    from concurrent.futures import ThreadPoolExecutor

    send = ngx.request_until_close if until_close else ngx.request
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda p: send(port, p, host=host), paths))


def test_weights_within_tolerance() -> None:
    path = ROOT / "tests" / "cases" / "weights" / "input.yaml"
    compiled = _compile(path)
    names = sorted({cl.name for cl in compiled.contexts[0].clusters})
    with ngx.Sockets([9080]) as ports, stubs.running(*names) as running:
        opts = backend.NginxOptions(
            bind="127.0.0.1",
            port_map=ports.port_map(),
            contexts=["mesh"],
            upstreams=[(glob_literal(n), [backend.Address("127.0.0.1", running[n].port)]) for n in names],
        )
        text, _ = backend.render(compiled, opts)
        with ngx.running(text, ports):
            for prefix, shares in (
                ("/canary", {"v1": 0.9, "v3": 0.1}),
                ("/thirds", {"v1": 1 / 3, "v2": 2 / 3}),
                ("/drop", {"v3": 1.0}),
            ):
                answers = _many(ports[9080], [f"{prefix}/{i}" for i in range(N)], "reviews")
                seen = Counter(r.stub.split("|")[2] if r.stub else None for r in answers)
                assert set(seen) <= set(shares), (prefix, seen)
                for subset, share in shares.items():
                    assert abs(seen[subset] - N * share) <= _tolerance(N, share) + 1e-9, (prefix, seen)


def test_abort_percentage_within_tolerance(tmp_path: Path) -> None:
    src = tmp_path / "abort.yaml"
    src.write_text(
        """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - fault:
      abort: {httpStatus: 418, percentage: {value: 25}}
    rewrite: {uri: /rewritten}
    route: [{destination: {host: ratings}}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}
""",
        encoding="utf-8",
    )
    compiled = _compile(src)
    names = sorted({cl.name for cl in compiled.contexts[0].clusters})
    with ngx.Sockets([9080]) as ports, stubs.running(*names) as running:
        opts = backend.NginxOptions(
            bind="127.0.0.1",
            port_map=ports.port_map(),
            upstreams=[(glob_literal(n), [backend.Address("127.0.0.1", running[n].port)]) for n in names],
        )
        text, _ = backend.render(compiled, opts)
        with ngx.running(text, ports):
            statuses = Counter(r.status for r in _many(ports[9080], [f"/r/{i}" for i in range(N)], "ratings"))
    assert set(statuses) <= {200, 418}
    # the abort comes before `rewrite ... break`, which would otherwise skip it
    assert abs(statuses[418] - N * 0.25) <= _tolerance(N, 0.25), statuses


def test_mirror_and_header_operations() -> None:
    path = ROOT / "tests" / "cases" / "mirror-headers-cors" / "input.yaml"
    compiled = _compile(path)
    names = sorted({cl.name for cl in compiled.contexts[0].clusters})
    stable = "outbound|80|stable|web.default.svc.cluster.local"
    canary = "outbound|80|canary|web.default.svc.cluster.local"
    assert {stable, canary} <= set(names), names
    listen = compiled.contexts[0].listeners[0].port
    with ngx.Sockets([listen]) as ports, stubs.running(*names) as running:
        opts = backend.NginxOptions(
            bind="127.0.0.1",
            port_map=ports.port_map(),
            contexts=["mesh"],
            upstreams=[(glob_literal(n), [backend.Address("127.0.0.1", running[n].port)]) for n in names],
        )
        text, _ = backend.render(compiled, opts)
        with ngx.running(text, ports):
            port = ports[listen]
            # headers: set, add (appended to the client's value), remove; response `server` hidden
            resp = ngx.request(port, "/headers", host="web", headers=[("x-trace", "client"), ("x-internal", "secret")])
            echo = resp.json()["headers"]
            assert echo["x-env"] == "prod" and echo["x-trace"] == "client,meshc" and "x-internal" not in echo
            assert resp.headers["server"] == "nginx"  # the stub's is hidden; nginx's own stays (MC465)
            # mirror 100% (`/many`): the canary gets a copy with Host `web-shadow`, the client the stable answer
            before = len(running[canary].requests)
            assert ngx.request_until_close(port, "/many/1", host="web").stub == stable
            copies = running[canary].requests[before:]
            assert len(copies) == 1 and copies[0]["headers"]["host"] == "web-shadow" and copies[0]["path"] == "/many/1"
            # mirror 25% (`/shadow`) within tolerance
            before = len(running[canary].requests)
            answers = _many(port, [f"/shadow/{i}" for i in range(N)], "web", until_close=True)
            assert {r.stub for r in answers} == {stable}
            mirrored = len(running[canary].requests) - before
            assert abs(mirrored - N * 0.25) <= _tolerance(N, 0.25), mirrored
