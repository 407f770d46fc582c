"""Hostile strings in every field: the backends' output loads in the real proxy, or the backend refuses it.

A property (issue 20): for lint-clean input with hostile strings in every field that reaches an
emitted configuration, the Envoy bootstrap passes `envoy --mode validate`, the nginx.conf passes
`nginx -t`, and the structure of each (Envoy: listeners, clusters, virtual hosts, routes, HTTP
filters, RBAC policies, JWT providers; nginx: servers, locations, upstreams and the directives that
route, forward, rewrite and answer) is that of the same input with plain strings. A backend may
instead refuse a value (an `MC4xx` error: nothing is written); refusals are counted, and the
structure is then not compared.

The input is one VirtualService, RequestAuthentication and AuthorizationPolicy whose string fields
are slots (`SLOTS`): each gets a hostile string (tests/fuzz `hostile_text`, the same family as the
hardening fuzzers) or, for the plain twin, a harmless one. Slots that `meshc lint` refuses are set
back to their plain value (up to a few rounds), so every input compiled is lint-clean.

The quick profile runs in the default suite; `-m slow` runs the long profile. Both validate every
output with the real binaries and FAIL when they are missing.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import crossplane
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from meshc.backends import envoy as envoy_backend
from meshc.backends import nginx as nginx_backend
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.diagnostics import Severity
from meshc.ir import VIRTUAL_OUTBOUND
from meshc.lint import lint
from meshc.pipeline import load
from tests.e2e import envoy as envoy_harness
from tests.e2e import nginx as ngx
from tests.fuzz.strategies import hostile_text


@dataclass(frozen=True)
class Slot:
    """A string field: where lint reports it, and its harmless value."""

    name: str
    field: str
    plain: str
    strategy: Any = hostile_text


_paths = hostile_text.map(lambda t: "/" + t)
"""Paths: a `/` then anything (lint refuses a path that does not start with `/`)."""
_hosts = hostile_text.map(lambda t: "good.example" + t)
"""Authorities whose host part is valid: what follows it is the attack (`:1\\r\\n\\r\\n<script>`)."""


def _regexes() -> Any:
    return st.one_of(
        st.sampled_from(["(x+x+)+y", "(?P<host>a)", "(?<meshc_route_v0>x)", "[}{;]+", "$1", "\\$x", "a{2,}", ".*"]),
        hostile_text,
    )


SLOTS = [
    Slot("route-name", "spec.http[0].name", "plain-route"),
    Slot("match-name", "spec.http[0].match[0].name", "plain-match"),
    Slot("prefix", "spec.http[0].match[0].uri.prefix", "/plain", _paths),
    Slot("header-exact", "spec.http[0].match[0].headers.x-h.exact", "plain-h"),
    Slot("query-exact", "spec.http[0].match[0].queryParams.q.exact", "plain-q"),
    Slot("set-value", "spec.http[0].headers.request.set.x-set", "plain-set"),
    Slot("add-value", "spec.http[0].headers.request.add.x-add", "plain-add"),
    Slot("remove-name", "spec.http[0].headers.request.remove[0]", "x-remove"),
    Slot("response-value", "spec.http[0].headers.response.set.x-rs", "plain-rs"),
    Slot("rewrite-uri", "spec.http[0].rewrite.uri", "/plain-rewrite", _paths),
    Slot("rewrite-authority", "spec.http[0].rewrite.authority", "plain.example", _hosts),
    Slot("exact-path", "spec.http[1].match[0].uri.exact", "/plain-exact", _paths),
    Slot("redirect-uri", "spec.http[1].redirect.uri", "/plain-redirect", _paths),
    Slot("redirect-authority", "spec.http[1].redirect.authority", "plain.example:8080", _hosts),
    Slot("path-regex", "spec.http[2].match[0].uri.regex", "/plain-[0-9]+", _regexes()),
    Slot("rewrite-regex", "spec.http[2].rewrite.uriRegexRewrite.match", "^/plain-(.*)$", _regexes()),
    Slot("rewrite-substitution", "spec.http[2].rewrite.uriRegexRewrite.rewrite", "/p/\\1"),
    Slot("header-regex", "spec.http[3].match[0].headers.x-r.regex", "plain-[a-z]+", _regexes()),
    Slot("body", "spec.http[3].directResponse.body.string", "plain body"),
    Slot("cors-origin", "spec.http[4].corsPolicy.allowOrigins[0].exact", "https://plain.example"),
    Slot("cors-header", "spec.http[4].corsPolicy.allowHeaders[0]", "x-plain"),
    Slot("issuer", "spec.jwtRules[0].issuer", "https://plain.example"),
    Slot("audience", "spec.jwtRules[0].audiences[0]", "plain-aud"),
    Slot("claim-header", "spec.jwtRules[0].outputClaimToHeaders[0].header", "x-plain-claim"),
    Slot("authz-path", "spec.rules[0].to[0].operation.paths[0]", "/plain-path", _paths),
    Slot("authz-header", "spec.rules[0].when[0].values[0]", "plain-when"),
]
"""Every string field the input attacks: lint's field path, the plain value, the hostile strategy."""


def _documents(v: dict[str, str]) -> list[dict[str, Any]]:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]},
    }
    we = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "WorkloadEntry",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"address": "10.0.0.1", "labels": {"app": "web"}},
    }
    route = [{"destination": {"host": "web"}}]
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "hosts": ["web"],
            "http": [
                {
                    "name": v["route-name"],
                    "match": [
                        {
                            "name": v["match-name"],
                            "uri": {"prefix": v["prefix"]},
                            "headers": {"x-h": {"exact": v["header-exact"]}},
                            "queryParams": {"q": {"exact": v["query-exact"]}},
                        }
                    ],
                    "headers": {
                        "request": {
                            "set": {"x-set": v["set-value"]},
                            "add": {"x-add": v["add-value"]},
                            "remove": [v["remove-name"]],
                        },
                        "response": {"set": {"x-rs": v["response-value"]}},
                    },
                    "rewrite": {"uri": v["rewrite-uri"], "authority": v["rewrite-authority"]},
                    "route": route,
                },
                {
                    "match": [{"uri": {"exact": v["exact-path"]}}],
                    "redirect": {"uri": v["redirect-uri"], "authority": v["redirect-authority"]},
                },
                {
                    "match": [{"uri": {"regex": v["path-regex"]}}],
                    "rewrite": {"uriRegexRewrite": {"match": v["rewrite-regex"], "rewrite": v["rewrite-substitution"]}},
                    "route": route,
                },
                {
                    "match": [{"headers": {"x-r": {"regex": v["header-regex"]}}}],
                    "directResponse": {"status": 200, "body": {"string": v["body"]}},
                },
                {
                    "match": [{"uri": {"prefix": "/cors"}}],
                    "corsPolicy": {"allowOrigins": [{"exact": v["cors-origin"]}], "allowHeaders": [v["cors-header"]]},
                    "route": route,
                },
                {"route": route},
            ],
        },
    }
    ra = {
        "apiVersion": "security.istio.io/v1",
        "kind": "RequestAuthentication",
        "metadata": {"name": "jwt", "namespace": "default"},
        "spec": {
            "jwtRules": [
                {
                    "issuer": v["issuer"],
                    "audiences": [v["audience"]],
                    "jwks": envoy_backend.FAKE_JWKS,
                    "outputClaimToHeaders": [{"header": v["claim-header"], "claim": "sub"}],
                }
            ]
        },
    }
    ap = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "authz", "namespace": "default"},
        "spec": {
            "action": "DENY",
            "rules": [
                {
                    "to": [{"operation": {"paths": [v["authz-path"]]}}],
                    "when": [{"key": "request.headers[x-a]", "values": [v["authz-header"]]}],
                }
            ],
        },
    }
    return [svc, we, vs, ra, ap]


_C1 = re.compile("[\x80-\x9f]")


def _text(values: dict[str, str]) -> str:
    """The documents as JSON (YAML reads it; C1 controls escaped, which YAML refuses raw)."""
    docs = (json.dumps(d, ensure_ascii=False) for d in _documents(values))
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", "\n---\n".join(docs))


def _lint_errors(text: str) -> list[Any]:
    options = Options().with_flags(select=("MC0",))
    report = lint(["-"], options, stdin=text.encode("utf-8", "surrogatepass"))
    return [d for d in report.diagnostics if d.severity >= Severity.ERROR]


def lint_clean(hostile: dict[str, str]) -> tuple[dict[str, str], int] | None:
    """`hostile` with the slots lint refuses set back to plain: (values, slots kept hostile); None if stuck."""
    values = dict(hostile)
    for _ in range(4):
        errors = _lint_errors(_text(values))
        if not errors:
            kept = sum(values[s.name] != s.plain for s in SLOTS)
            return values, kept
        fields = [d.field or "" for d in errors]
        blamed = [
            s
            for s in SLOTS
            if values[s.name] != s.plain and any(f.startswith(s.field) or s.field.startswith(f + ".") for f in fields)
        ]
        if not blamed:  # an error no slot's field names (a line, a document): give up on the rest
            blamed = [s for s in SLOTS if values[s.name] != s.plain]
            if not blamed:
                return None
        for s in blamed:
            values[s.name] = s.plain
    return None


# --- structure ----------------------------------------------------------------------------------------


def envoy_counts(text: str) -> Counter[str]:
    """Listeners, clusters, virtual hosts, routes, HTTP filters, RBAC policies and JWT providers."""
    boot = yaml.safe_load(text)
    out: Counter[str] = Counter()
    res = boot["static_resources"]
    out["listeners"] = len(res["listeners"])
    out["clusters"] = len(res["clusters"])
    for lst in res["listeners"]:
        for chain in lst["filter_chains"]:
            out["filter chains"] += 1
            for f in chain["filters"]:
                hcm = f["typed_config"]
                for vh in hcm.get("route_config", {}).get("virtual_hosts", []):
                    out["virtual hosts"] += 1
                    out["routes"] += len(vh.get("routes", []))
                    out["route actions"] += sum(
                        1 for r in vh.get("routes", []) for k in ("route", "redirect", "direct_response") if k in r
                    )
                for hf in hcm.get("http_filters", []):
                    out["http filters"] += 1
                    config = hf.get("typed_config", {})
                    if hf["name"] == envoy_backend.RBAC:
                        out["rbac policies"] += len(config["rules"].get("policies", {}))
                    if hf["name"] == envoy_backend.JWT:
                        out["jwt providers"] += len(config["providers"])
    return out


NGINX_COUNTED = {
    "server",
    "listen",
    "server_name",
    "location",
    "upstream",
    "proxy_pass",
    "return",
    "rewrite",
    "proxy_set_header",
    "add_header",
    "proxy_hide_header",
    "if",
    "mirror",
    "error_page",
}


def nginx_counts(text: str) -> Counter[str]:
    """The directives that route, forward, rewrite and answer, and the entries of the route tables."""
    parsed = _crossplane(text)
    out: Counter[str] = Counter()

    def walk(block: list[dict[str, Any]]) -> None:
        for d in block:
            if d["directive"] in NGINX_COUNTED:
                out[d["directive"]] += 1
            if d["directive"] == "map" and len(d["args"]) == 2 and d["args"][1].startswith("$meshc_route_"):
                out["route table entries"] += len(d.get("block", []))
            if d["directive"] not in ("map", "geo", "split_clients"):
                walk(d.get("block", []))

    walk(parsed)
    return out


def _crossplane(text: str) -> list[dict[str, Any]]:
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="meshc-hostile-") as tmp:
        path = os.path.join(tmp, "nginx.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        payload = crossplane.parse(path, single=True, check_ctx=False, check_args=False, comments=False)
    return payload["config"][0]["parsed"]


# --- the property --------------------------------------------------------------------------------------


REFUSING = {"MC413", "MC490", "MC464", "MC469"}
"""Codes that leave a value out (MC413/MC490: unsafe value; MC464: unreadable header name; MC469: a host
no server_name can hold): the structure then legitimately differs."""


@dataclass
class Sample:
    """One lint-clean hostile input and what each backend made of it."""

    values: dict[str, str]
    hostile_slots: int
    outputs: dict[str, str | None] = field(default_factory=dict)
    """Backend → its text, None when it refused."""
    mismatch: list[str] = field(default_factory=list)


@dataclass
class Figures:
    drawn: int = 0
    not_lint_clean: int = 0
    samples: list[Sample] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    hostile_slots: int = 0
    other_shape: int = 0
    """Inputs whose IR has another shape than the plain input's (a hostile path made a catch-all)."""


def _compile(values: dict[str, str]) -> Any:
    loaded = load(["-"], Options(), stdin=_text(values).encode("utf-8", "surrogatepass"))
    assert loaded.errors == 0
    return compile_mesh(loaded.mesh)


def _render(compiled: Any) -> dict[str, tuple[str, list[Any]]]:
    return {"envoy": envoy_backend.render(compiled), "nginx": nginx_backend.render(compiled)}


def ir_shape(compiled: Any) -> tuple[int, int, int, int]:
    """(listeners, virtual hosts, routes, clusters) as the IR decided them.

    A value such as `prefix: /` makes a catch-all that drops the rules after it: Istio's semantics,
    not an injection.
    """
    # `virtualOutbound` only takes connections iptables redirects: a static bootstrap leaves it out
    # (backends/envoy.py `listener`), so it is not counted.
    listeners = [lst for ctx in compiled.contexts for lst in ctx.listeners if lst.name != VIRTUAL_OUTBOUND]
    vhosts = [
        vh for lst in listeners for fc in lst.filter_chains if fc.route_config for vh in fc.route_config.virtual_hosts
    ]
    clusters = {cl.name for ctx in compiled.contexts for cl in ctx.clusters}
    return len(listeners), len(vhosts), sum(len(vh.routes) for vh in vhosts), len(clusters)


PLAIN = {s.name: s.plain for s in SLOTS}


def _examine(values: dict[str, str], kept: int, figures: Figures, plain: dict[str, Any]) -> None:
    sample = Sample(values, kept)
    compiled = _compile(values)
    shape = ir_shape(compiled)
    same_shape = shape == plain["shape"]
    if not same_shape:
        figures.other_shape += 1
    for backend, (text, diags) in _render(compiled).items():
        codes = {d.code for d in diags}
        if any(d.severity >= Severity.ERROR for d in diags):
            sample.outputs[backend] = None
            figures.refused[backend] += 1
            continue
        sample.outputs[backend] = text
        if codes & REFUSING:
            continue
        counts = envoy_counts(text) if backend == "envoy" else nginx_counts(text)
        if same_shape and counts != plain[backend]:
            sample.mismatch.append(f"{backend}: {dict(counts)} != plain {dict(plain[backend])}")
        if not same_shape and backend == "envoy":
            # the IR's own shape: the bootstrap must hold exactly what the IR decided
            got = (counts["listeners"], counts["virtual hosts"], counts["routes"], counts["clusters"])
            if got != shape:
                sample.mismatch.append(f"envoy: {got} != the IR's {shape} (listeners, vhosts, routes, clusters)")
    figures.samples.append(sample)


def run_property(examples: int, *, derandomize: bool) -> Figures:
    figures = Figures()
    plain_ir = _compile(PLAIN)
    plain: dict[str, Any] = {
        b: (envoy_counts if b == "envoy" else nginx_counts)(t) for b, (t, _) in _render(plain_ir).items()
    }
    plain["shape"] = ir_shape(plain_ir)

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.fixed_dictionaries({s.name: s.strategy for s in SLOTS}))
    def draw(hostile: dict[str, str]) -> None:
        figures.drawn += 1
        clean = lint_clean(hostile)
        if clean is None:
            figures.not_lint_clean += 1
            return
        values, kept = clean
        figures.hostile_slots += kept
        _examine(values, kept, figures, plain)

    draw()
    return figures


def _validate_all(figures: Figures) -> list[str]:
    """Every written output through the real proxy's validator (4 at a time); the failures."""
    jobs = [
        (i, backend, text)
        for i, s in enumerate(figures.samples)
        for backend, text in s.outputs.items()
        if text is not None
    ]

    def one(job: tuple[int, str, str]) -> str | None:
        i, backend, text = job
        result = envoy_harness.validate(text) if backend == "envoy" else ngx.validate(text)
        if result.ok:
            return None
        values = figures.samples[i].values
        return f"{backend} refused sample {i}: {result.output[-300:]}\nvalues: {json.dumps(values)[:2000]}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [f for f in pool.map(one, jobs) if f]


def _report(figures: Figures, request: pytest.FixtureRequest, profile: str) -> None:
    n = len(figures.samples)
    line = (
        f"hostile-strings property [{profile}]: {figures.drawn} inputs drawn, {figures.not_lint_clean} not lint-clean "
        f"after repair, {n} compiled with {figures.hostile_slots / max(n, 1):.1f} of {len(SLOTS)} slots hostile on "
        f"average ({figures.other_shape} with another IR shape); refused: envoy {figures.refused['envoy']}, "
        f"nginx {figures.refused['nginx']}; "
        f"validated: {sum(1 for s in figures.samples for t in s.outputs.values() if t is not None)} outputs"
    )
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{line}")


def _check(figures: Figures) -> None:
    assert figures.samples, "no lint-clean hostile input was produced"
    failures = _validate_all(figures)
    mismatches = [f"sample {i}: {m}" for i, s in enumerate(figures.samples) for m in s.mismatch]
    assert not failures, f"{len(failures)} outputs refused by the proxy:\n" + "\n\n".join(failures[:3])
    assert not mismatches, "structure differs from the plain input:\n" + "\n".join(mismatches[:5])


def test_hostile_strings_quick(request: pytest.FixtureRequest) -> None:
    envoy_harness.envoy_binary()
    ngx.nginx_binary()
    figures = run_property(12, derandomize=True)
    _report(figures, request, "quick")
    _check(figures)


@pytest.mark.slow
def test_hostile_strings_long(request: pytest.FixtureRequest) -> None:
    envoy_harness.envoy_binary()
    ngx.nginx_binary()
    figures = run_property(400, derandomize=False)
    _report(figures, request, "long")
    _check(figures)
