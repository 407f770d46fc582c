r"""Each backend refuses a value it cannot emit safely: a diagnostic, exit code 1, nothing written (issue 20.1-2).

The values are the reproductions of issue 20: a redirect authority that split nginx's response
(`good.example:1\r\n\r\n<script>...`), line feeds, carriage returns and NUL in redirect and
rewrite paths and authorities, a 5,000-character query parameter name, a header value `50%`, and
`jwksUri` ports 99999, `:abc` and `:80%0a` (which raised an internal error). They are set in the IR,
so that the test holds whatever `meshc lint` accepts (the lint side refuses most of them as well);
the command-line test uses the input form while lint lets it through.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest

from meshc import ir
from meshc.backends import envoy, nginx
from meshc.cli import main
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.diagnostics import Severity
from meshc.pipeline import load

PLAIN = b"""\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {selector: {app: web}, ports: [{name: http, port: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web-1, namespace: default}
spec: {address: 10.0.0.1, labels: {app: web}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: good.example}
  - match: [{uri: {prefix: /r}, queryParams: {q: {exact: x}}}]
    rewrite: {uri: /rewritten, authority: other.example}
    headers: {request: {set: {x-a: plain}}}
    route: [{destination: {host: web}}]
  - match: [{uri: {regex: "/re/(.*)"}}]
    rewrite: {uriRegexRewrite: {match: "^/re/(.*)$", rewrite: "/x/\\\\1"}}
    route: [{destination: {host: web}}]
"""

SPLITTING = "good.example:1\r\n\r\n<script>alert(1)</script>"


@functools.cache
def _plain_ir() -> dict[str, Any]:
    loaded = load(["-"], Options(), stdin=PLAIN)
    assert loaded.errors == 0
    return ir.to_dict(compile_mesh(loaded.mesh))


def _routes(data: dict[str, Any]) -> list[dict[str, Any]]:
    chain = data["contexts"][0]["listeners"][0]["filter_chains"][0]
    vh = next(v for v in chain["route_config"]["virtual_hosts"] if "web" in v["domains"])
    return vh["routes"]


def _set(field: str, value: str) -> ir.IR:
    data = copy.deepcopy(_plain_ir())
    redirect, rewrite, regex = _routes(data)[:3]
    where = {
        "redirect.authority": (redirect["redirect"], "authority"),
        "redirect.path": (redirect["redirect"], "path"),
        "rewrite.uri": (rewrite["forward"]["rewrite"], "uri"),
        "rewrite.authority": (rewrite["forward"]["rewrite"], "authority"),
        "uriRegexRewrite.rewrite": (regex["forward"]["rewrite"], "uri_regex_substitution"),
        "query name": (rewrite["match"]["query_params"][0], "name"),
        "header value": (rewrite["request_headers"]["set"][0], "value"),
        "path regex": (regex["match"]["path"], "value"),
    }
    node, key = where[field]
    node[key] = value
    return ir.from_dict(ir.IR, data)


CASES = [
    ("redirect.authority", SPLITTING, {"envoy", "nginx"}),
    ("redirect.authority", "good.example\nx", {"envoy", "nginx"}),
    ("redirect.authority", "good.example\x00", {"envoy", "nginx"}),
    ("redirect.path", "/a\nb", {"envoy", "nginx"}),
    ("redirect.path", "/a\rb", {"envoy", "nginx"}),
    ("redirect.path", "/a\x00b", {"envoy", "nginx"}),
    ("rewrite.uri", "/a\nb", {"envoy", "nginx"}),
    ("rewrite.authority", "a\x00b", {"envoy", "nginx"}),
    ("rewrite.authority", "a\nb", {"envoy", "nginx"}),
    ("uriRegexRewrite.rewrite", "/b\\1\n", {"envoy", "nginx"}),
    ("query name", "q" * 5000, {"envoy", "nginx"}),
    ("header value", "50%", {"envoy"}),  # nginx writes a literal `%`
    ("header value", "%FOO%", {"envoy"}),
    # Envoy's HeaderValue takes at most 16384 bytes (found by the long hostile-string profile); nginx takes it
    ("header value", "v" * 16385, {"envoy"}),
    ("header value", "\u0130" * 8193, {"envoy"}),  # 8,193 characters, 16,386 bytes
    ("path regex", "a{2,1000}" * 40, {"envoy", "nginx"}),  # RE2 program size 79924: over the proxies' 32768
]


@pytest.mark.parametrize(("field", "value", "refusing"), CASES, ids=[f"{f}={v[:20]!r}" for f, v, _ in CASES])
def test_backends_refuse_what_they_cannot_emit(field: str, value: str, refusing: set[str]) -> None:
    compiled = _set(field, value)
    for name, backend in (("envoy", envoy), ("nginx", nginx)):
        text, diags = backend.render(compiled)
        errors = [d for d in diags if d.severity >= Severity.ERROR]
        if name in refusing:
            assert errors, f"{name} wrote {field}={value[:40]!r} without an error"
            assert {d.code for d in errors} <= {"MC413", "MC490"}
        else:
            assert not errors, errors
        if name == "nginx":
            # whatever is written holds no raw line break from the value (the `geo` literal of the splitting case)
            assert "\\r\\n" not in text and "<script>" not in text


@pytest.mark.parametrize("uri", ["https://auth.example:99999/k", "https://auth.example:abc/k", "https://a:80%0a/k"])
def test_an_unusable_jwks_uri_is_a_diagnostic_not_an_internal_error(uri: str) -> None:
    data = copy.deepcopy(_plain_ir())
    data["contexts"][0]["jwt_providers"] = [{"name": "default/jwt/0", "issuer": "https://x", "jwks_uri": uri}]
    text, diags = envoy.render(ir.from_dict(ir.IR, data))
    assert [d.code for d in diags if d.code == "MC401"], diags
    assert "jwks_uri" not in text and uri not in text  # every token rejected, as istiod does
    _, diags = nginx.render(ir.from_dict(ir.IR, data))
    assert "MC452" in {d.code for d in diags}


@pytest.mark.parametrize("target", ["envoy", "nginx"])
def test_the_response_splitting_input_writes_nothing(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "vs.yaml"
    src.write_text(
        PLAIN.decode().replace("authority: good.example}", 'authority: "good.example:1\\r\\n\\r\\n<script>"}'),
        encoding="utf-8",
    )
    out = tmp_path / ("out.yaml" if target == "envoy" else "nginx.conf")
    capsys.readouterr()
    code = main(["compile", "--no-config", str(src), "-t", target, "-o", str(out)])
    err = capsys.readouterr().err
    # 1: the backend refused it; 2: lint refused the input first. Never written, never an internal error.
    assert code in (1, 2) and not out.exists(), err
    assert "internal error" not in err
    if code == 1:
        assert ("MC413" if target == "envoy" else "MC490") in err and "nothing written" in err


@pytest.mark.parametrize(("value", "error"), [("v" * 16384, False), ("v" * 16385, True), ("\u0130" * 8193, True)])
def test_lint_reports_a_header_value_envoy_rejects_for_its_size(
    value: str, error: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Proves: MC006 at the value when a header value is over Envoy's 16384 bytes, counted in bytes, not characters."""
    f = tmp_path / "vs.yaml"
    f.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n"
        f"  http:\n  - headers:\n      request:\n        set:\n          x-a: '{value}'\n"
        "    route:\n    - destination: {host: r}\n",
        encoding="utf-8",
    )
    code = main(["lint", "--no-config", "--select", "MC006", str(f)])
    out = capsys.readouterr().out
    if error:
        assert code == 1 and "vs.yaml:10:16: MC006" in out and "Envoy accepts at most 16384" in out, out
    else:
        assert code == 0, out
