"""`meshc test`: routing unit tests, in meshc's own format or istio-config-validator's `testCases`.

Both formats run through the same simulator as `meshc route`. Every case runs and every failure is
reported (never stopping at the first). The istio-config-validator format is read as it is, with
Envoy's semantics where that tool differs (peers.md §1): short names and FQDNs, wildcard hosts,
`gateways`, queryParams and withoutHeaders count, regexes match the whole value, and a negative
test (`wantMatch: false`) fails when nothing matched instead of passing vacuously.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from meshc.config import Options
from meshc.pipeline import Loaded, load
from meshc.render import xml_text
from meshc.route import Explanation, RouteError, explain
from meshc.simulate import Request, split_authority
from meshc.source import Document
from meshc.source import load as load_files

NATIVE = "meshc"
ICV = "istio-config-validator"
ACTIONS = ("route", "redirect", "direct_response", "default", "no_route")

_STRING_OR_LIST = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_DESTINATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "host": {"type": "string", "description": "Short name (resolved in the client's namespace) or FQDN."},
        "subset": {"type": ["string", "null"]},
        "port": {"type": "integer"},
        "weight": {"type": "integer", "description": "Share in whole percent (as `meshc route` reports it)."},
        "cluster": {"type": "string"},
    },
}

TEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://meshc.dev/schemas/meshc-test.json",
    "title": "meshc routing tests",
    "description": "A `meshc test` file: requests and what the mesh must do with them. Fields left out of "
    "`expect` are not checked.",
    "type": "object",
    "additionalProperties": False,
    "required": ["tests"],
    "properties": {
        "config": {
            "description": "Configuration files or folders, relative to this file (`--config` overrides them).",
            **_STRING_OR_LIST,
        },
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "request", "expect"],
                "properties": {
                    "name": {"type": "string"},
                    "request": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["host"],
                        "properties": {
                            "host": {"description": "Host header; a list runs every value.", **_STRING_OR_LIST},
                            "path": {
                                "description": "Path with the query string; a list runs every value.",
                                **_STRING_OR_LIST,
                            },
                            "method": {
                                "description": "Method (default GET); a list runs every value.",
                                **_STRING_OR_LIST,
                            },
                            "headers": _STRING_MAP,
                            "query": _STRING_MAP,
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                            "gateway": {"type": "string", "description": "`mesh` (default) or NS/NAME of a Gateway."},
                            "source_namespace": {"type": "string"},
                            "source_labels": _STRING_MAP,
                            "claims": {"type": "object", "description": "Claims of a validated JWT."},
                        },
                    },
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "action": {"enum": list(ACTIONS)},
                            "status": {"type": "integer"},
                            "virtual_service": {"type": "string", "description": "NS/NAME."},
                            "rule": {"type": ["integer", "string"], "description": "Index or name of the http rule."},
                            "match": {"type": ["integer", "null"]},
                            "route": {
                                "type": "string",
                                "description": "Route id, e.g. `default/reviews/http/0/match/0`.",
                            },
                            "destinations": {"type": "array", "items": _DESTINATION},
                            "redirect": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "uri": {"type": ["string", "null"]},
                                    "authority": {"type": ["string", "null"]},
                                    "scheme": {"type": ["string", "null"]},
                                    "port": {"type": ["integer", "null"]},
                                    "code": {"type": "integer"},
                                    "location": {"type": "string"},
                                },
                            },
                            "rewrite": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "path": {"type": "string", "description": "Path sent upstream."},
                                    "authority": {"type": "string", "description": "Host sent upstream."},
                                },
                            },
                            "fault": {
                                "type": ["object", "null"],
                                "properties": {
                                    "delay": {"type": ["object", "null"]},
                                    "abort": {"type": ["object", "null"]},
                                },
                            },
                            "timeout": {"type": ["string", "null"]},
                            "retries": {"type": ["object", "null"]},
                            "mirror": {"type": ["array", "null"]},
                            "headers": {"type": ["object", "null"]},
                        },
                    },
                },
            },
        },
    },
}
"""JSON Schema of the native test format (committed as `schemas/meshc-test.json`)."""


class TestFileError(Exception):
    """A malformed test file: `file:line: message`, exit code 2."""

    __test__ = False


@dataclass
class Check:
    """One request of one case, and what happened."""

    request: Request
    failures: list[str] = field(default_factory=list)
    """What did not hold (empty: passed)."""
    outcome: str = ""
    """What the mesh did, in one line."""
    decision: dict[str, Any] | None = None
    """The `meshc route --format json` decision (None when the request could not be explained)."""

    @property
    def passed(self) -> bool:
        """True when nothing failed."""
        return not self.failures


@dataclass
class Case:
    """One test case (native `tests[]` entry or istio-config-validator `testCases[]` entry)."""

    file: str
    line: int
    name: str
    format: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every request passed."""
        return all(c.passed for c in self.checks)


@dataclass
class Suite:
    """Every case of a `meshc test` run."""

    cases: list[Case] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Problems with the configurations tested (errors `meshc lint` reports), one line each."""

    @property
    def failed(self) -> list[Case]:
        """Cases with at least one failing request."""
        return [c for c in self.cases if not c.passed]


# --- reading ------------------------------------------------------------------------------------------


@dataclass
class _Spec:
    """A parsed case before it runs."""

    file: str
    line: int
    name: str
    format: str
    requests: list[Request]
    expect: dict[str, Any]
    want_match: bool = True
    config: tuple[str, ...] = ()


def read_tests(paths: Iterable[str], config: list[str] | None, *, stdin: bytes | None = None) -> list[_Spec]:
    """Read test files (files or folders; `stdin`: the bytes of `-`); raise TestFileError on the first malformed one."""
    loaded = load_files(paths, stdin=stdin)
    if loaded.errors:
        span, message, _ = loaded.errors[0]
        raise TestFileError(f"{span.path}:{span.line}: {message}")
    if not loaded.files:
        raise TestFileError("no test files found (expected .yaml, .yml or .json files)")
    specs: list[_Spec] = []
    for doc in loaded.documents:
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            raise TestFileError(f"{doc.path}:{doc.line}: a test file holds a mapping with `tests` or `testCases`")
        if "testCases" in data:
            specs.extend(_read_icv(doc, config))
        elif "tests" in data:
            specs.extend(_read_native(doc, config))
        else:
            raise TestFileError(
                f"{doc.path}:{doc.line}: not a test file: expected `tests` (meshc) "
                "or `testCases` (istio-config-validator)"
            )
    return specs


def _where(doc: Document, loc: tuple[str | int, ...]) -> str:
    span = doc.span(loc)
    return f"{doc.path}:{span.line}"


def _config_paths(doc: Document, data: dict[str, Any], config: list[str] | None) -> tuple[str, ...]:
    if config:
        return tuple(config)
    raw = data.get("config")
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else list(raw)
    base = os.path.dirname(doc.path)
    here = os.path.realpath(os.getcwd())
    out = []
    for i, value in enumerate(values):
        where = _where(doc, ("config",) if isinstance(raw, str) else ("config", i))
        if not isinstance(value, str) or not value:
            raise TestFileError(f"{where}: `config` holds paths (strings), relative to the test file")
        if os.path.isabs(value):
            raise TestFileError(f"{where}: `config: {value}` is absolute; `config` paths are relative to the test file")
        path = os.path.normpath(os.path.join(base, value))
        real = os.path.realpath(path)
        # A test file may come with a pull request: it names configuration inside the checkout, never
        # `../..` or what a symlink reaches outside it (--config, given by whoever runs meshc, may).
        if real != here and not real.startswith(here.rstrip(os.sep) + os.sep):
            raise TestFileError(
                f"{where}: `config: {value}` leads outside the current folder (to `{real}`); "
                "`config` names configuration inside it (--config may name any)"
            )
        out.append(path)
    return tuple(out)


def _read_native(doc: Document, config: list[str] | None) -> list[_Spec]:
    import jsonschema

    data = doc.data
    validator = jsonschema.Draft202012Validator(TEST_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        loc = tuple(err.absolute_path)
        field_name = ".".join(str(p) for p in loc) or "(top)"
        raise TestFileError(f"{_where(doc, loc)}: `{field_name}`: {err.message}")
    cfg = _config_paths(doc, data, config)
    specs = []
    for i, test in enumerate(data["tests"]):
        req = test["request"]
        paths = _listed(req.get("path", "/"))
        query = req.get("query") or {}
        if query:
            from urllib.parse import quote

            extra = "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in query.items())
            paths = [f"{p}{'&' if '?' in p else '?'}{extra}" for p in paths]
        requests = []
        for host, path, method in itertools.product(_listed(req["host"]), paths, _listed(req.get("method", "GET"))):
            headers = [(str(k), str(v)) for k, v in (req.get("headers") or {}).items()]
            requests.append(
                Request(
                    host,
                    path,
                    method.upper(),
                    headers,
                    req.get("port"),
                    gateway=req.get("gateway", "mesh"),
                    source_namespace=req.get("source_namespace", "default"),
                    source_labels={str(k): str(v) for k, v in (req.get("source_labels") or {}).items()},
                    claims=dict(req.get("claims") or {}),
                )
            )
        line = doc.span(("tests", i)).line
        specs.append(_Spec(doc.path, line, test["name"], NATIVE, requests, dict(test["expect"]), True, cfg))
    return specs


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_ICV_FIELDS = {"description", "wantMatch", "request", "route", "redirect", "rewrite", "fault", "headers", "delegate"}


def _read_icv(doc: Document, config: list[str] | None) -> list[_Spec]:
    data = doc.data
    cases = data.get("testCases")
    if not isinstance(cases, list):
        raise TestFileError(f"{_where(doc, ('testCases',))}: `testCases` must be a list")
    extra = sorted(set(data) - {"testCases", "config"})
    if extra:
        raise TestFileError(f"{_where(doc, (extra[0],))}: unknown top-level field `{extra[0]}`")
    cfg = _config_paths(doc, data, config)
    specs = []
    for i, case in enumerate(cases):
        base = ("testCases", i)
        if not isinstance(case, dict):
            raise TestFileError(f"{_where(doc, base)}: a test case is a mapping")
        unknown = sorted(set(case) - _ICV_FIELDS)
        if unknown:
            raise TestFileError(f"{_where(doc, (*base, unknown[0]))}: unknown field `{unknown[0]}` in a test case")
        req = case.get("request")
        if not isinstance(req, dict):
            raise TestFileError(f"{_where(doc, base)}: `request` is required")
        lists = {}
        for key in ("authority", "method", "uri"):
            value = req.get(key)
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise TestFileError(
                    f"{_where(doc, (*base, 'request', key))}: `request.{key}` must be a non-empty list of strings"
                )
            lists[key] = value
        unknown = sorted(set(req) - {"authority", "method", "uri", "headers"})
        if unknown:
            raise TestFileError(f"{_where(doc, (*base, 'request', unknown[0]))}: unknown field `request.{unknown[0]}`")
        headers = req.get("headers") or {}
        if not isinstance(headers, dict):
            raise TestFileError(f"{_where(doc, (*base, 'request', 'headers'))}: `request.headers` must be a mapping")
        want = case.get("wantMatch", False)
        if not isinstance(want, bool):
            raise TestFileError(f"{_where(doc, (*base, 'wantMatch'))}: `wantMatch` must be true or false")
        expect = {k: case[k] for k in ("route", "redirect", "rewrite", "fault", "headers", "delegate") if k in case}
        if not expect:
            raise TestFileError(
                f"{_where(doc, base)}: the case asserts nothing (give `route`, `redirect`, `rewrite`, `fault`, "
                "`headers` or `delegate`)"
            )
        requests = [
            Request(a, u, m.upper(), [(str(k), str(v)) for k, v in headers.items()], gateway="auto")
            for u, a, m in itertools.product(lists["uri"], lists["authority"], lists["method"])
        ]
        line = doc.span(base).line
        name = str(case.get("description") or f"testCases[{i}]")
        specs.append(_Spec(doc.path, line, name, ICV, requests, expect, want, cfg))
    return specs


# --- running ----------------------------------------------------------------------------------------------


def run(specs: list[_Spec], options: Options, *, stdin: bytes | None = None) -> Suite:
    """Run every case; configuration sets are loaded once each (`stdin`: the bytes of a config `-`)."""
    from meshc.route import to_json

    suite = Suite()
    cache: dict[tuple[str, ...], Loaded] = {}
    for spec in specs:
        case = Case(spec.file, spec.line, spec.name, spec.format)
        suite.cases.append(case)
        if not spec.config:
            case.checks.append(Check(Request("?"), ["no configuration: give `config:` in the test file or --config"]))
            continue
        missing = [p for p in spec.config if p != "-" and not os.path.exists(p)]
        if missing:
            shown = ", ".join(f"`{json.dumps(p[:200], ensure_ascii=False)[1:-1]}`" for p in missing)
            case.checks.append(Check(Request("?"), [f"the configuration to test does not exist: {shown}"]))
            continue
        loaded = cache.get(spec.config)
        if loaded is None:
            loaded = load(list(spec.config), options, stdin=stdin)
            cache[spec.config] = loaded
            if loaded.errors:  # as `meshc route` warns: the cases still run on the valid resources
                first = loaded.first_error
                where = (
                    f": {first.span.path}:{first.span.line}:{first.span.column}: {first.code} {first.message}"
                    if first
                    else ""
                )
                noun = "error" if loaded.errors == 1 else "errors"
                suite.warnings.append(
                    f"the configuration {', '.join(f'`{p}`' for p in spec.config)} has {loaded.errors} {noun} "
                    f"(see `meshc lint`){where}; testing what Istio would do with the valid resources"
                )
        for request in spec.requests:
            check = Check(request)
            case.checks.append(check)
            try:
                if request.gateway == "auto":
                    request.gateway = _auto_gateway(loaded, request)
                exp = explain(loaded, request)
            except RouteError as exc:
                check.failures.append(str(exc))
                check.outcome = "error"
                continue
            check.decision = to_json(exp)
            check.outcome = _outcome(exp)
            if spec.format == NATIVE:
                check.failures.extend(_native_failures(loaded, exp, check.decision, spec.expect))
            else:
                check.failures.extend(_icv_failures(loaded, exp, spec.expect, spec.want_match))
    return suite


def _auto_gateway(loaded: Loaded, request: Request) -> str:
    """Where an istio-config-validator request comes from (its format does not say).

    A sidecar when the host is a mesh host, else the first Gateway (by namespace/name) serving the host.
    """
    from meshc.compile import Compiler, Scope
    from meshc.hosts import domain_matches
    from meshc.resolve import MESH, Resolver

    mesh = loaded.mesh
    resolver = Resolver.of(mesh)
    hostname = split_authority(request.host)[0]
    if resolver.resolve_authority(hostname, request.source_namespace).service is not None:
        return MESH
    candidates: list[str] = []
    for res in mesh.of_kind("VirtualService"):
        if res.spec is None:
            continue
        vs = resolver.view(res)
        if not any(domain_matches(h.lower(), hostname) for h in vs.hosts):
            continue
        if MESH in vs.gateways:
            return MESH
        candidates.extend(g for g in vs.gateways if g != MESH)
    for gw in sorted(set(candidates)):
        plans = Compiler(mesh, Scope(context=gw)).plans()
        servers = [s for p in plans for g in p.gateways for s in g.res.spec.servers]
        if any(domain_matches(h.split("/", 1)[-1].lower(), hostname) for s in servers for h in s.hosts):
            return gw
    return MESH


def _outcome(exp: Explanation) -> str:
    d = exp.decision
    route = d.route
    where = ""
    if route is not None and route.origin is not None:
        ref = route.origin.virtual_service
        where = f" by {ref.namespace}/{ref.name} rule {ref.rule}" + (f" ({ref.rule_name})" if ref.rule_name else "")
    if d.action in ("route", "default"):
        dests = ", ".join(f"{x.percent}% {x.cluster.cluster}" for x in d.destinations)
        return f"{d.action}{where} → {dests}"
    if d.action == "redirect":
        return f"redirect {d.status} to {d.location}{where}"
    if d.action == "direct_response":
        return f"direct response {d.status}{where}"
    return f"no_route (404): {d.reason}"


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _host_equal(loaded: Loaded, expected: str, actual: str, namespaces: Iterable[str]) -> bool:
    expected = expected.lower()
    if expected == actual:
        return True
    mesh = loaded.mesh
    for ns in namespaces:
        if mesh.fqdn(expected, ns) == actual:
            return True
    parts = expected.split(".")
    return (len(parts) == 2 and f"{expected}.svc.{mesh.domain}" == actual) or (
        len(parts) == 3 and parts[2] == "svc" and f"{expected}.{mesh.domain}" == actual
    )


def _namespaces(exp: Explanation) -> list[str]:
    out = [exp.decision.request.source_namespace]
    route = exp.decision.route
    if route is not None and route.origin is not None:
        out.append(route.origin.virtual_service.namespace)
        if route.origin.delegate is not None:
            out.append(route.origin.delegate.namespace)
    return out


def _native_failures(loaded: Loaded, exp: Explanation, got: dict[str, Any], expect: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    d = exp.decision
    for key, want in expect.items():
        if key == "action":
            if got["action"] != want:
                out.append(f"expected action {want}, got {got['action']}")
        elif key == "status":
            if d.status != want:
                out.append(f"expected status {want}, got {d.status}")
        elif key == "virtual_service":
            have = got["virtual_service"]
            text = f"{have['namespace']}/{have['name']}" if have else None
            if text != want:
                out.append(f"expected VirtualService {want}, got {text}")
        elif key == "rule":
            rule = got["rule"]
            ok = rule is not None and (want == rule["index"] if isinstance(want, int) else want == rule["name"])
            if not ok:
                shown = f"{rule['index']} ({rule['name']})" if rule else "none"
                out.append(f"expected rule {want}, got {shown}")
        elif key == "match":
            have = got["match"]["index"] if got["match"] else None
            if have != want:
                out.append(f"expected match {want}, got {have}")
        elif key == "route":
            have = got["route"]["id"] if got["route"] else None
            if have != want:
                out.append(f"expected route {want}, got {have}")
        elif key == "destinations":
            out.extend(_destination_failures(loaded, exp, got["destinations"], want))
        elif key == "rewrite":
            for part, value in want.items():
                have = d.forwarded_path if part == "path" else d.forwarded_authority
                if have != value:
                    out.append(f"expected rewritten {part} {value!r}, got {have!r}")
        elif key == "redirect":
            have = got["redirect"] or {}
            for part, value in want.items():
                if have.get(part) != value:
                    out.append(f"expected redirect {part} {_short(value)}, got {_short(have.get(part))}")
        else:
            have = got.get(key)
            if not _subset(want, have):
                out.append(f"expected {key} {_short(want)}, got {_short(have)}")
    return out


def _subset(want: Any, have: Any) -> bool:
    """`want` is contained in `have`: mappings compare the keys given, other values compare equal."""
    if isinstance(want, dict) and isinstance(have, dict):
        return all(k in have and _subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list) and isinstance(have, list):
        return len(want) == len(have) and all(_subset(w, h) for w, h in zip(want, have, strict=True))
    if isinstance(want, (int, float)) and isinstance(have, (int, float)) and not isinstance(want, bool):
        return float(want) == float(have)
    return bool(want == have)


def _destination_failures(
    loaded: Loaded, exp: Explanation, got: list[dict[str, Any]], want: list[dict[str, Any]]
) -> list[str]:
    namespaces = _namespaces(exp)
    shown = ", ".join(f"{g['weight']}% {g['cluster']}" for g in got) or "none"
    if len(got) != len(want):
        return [f"expected {len(want)} destination(s), got {len(got)}: {shown}"]
    remaining = list(got)
    for w in want:
        hit = None
        for g in remaining:
            if "host" in w and not _host_equal(loaded, w["host"], g["host"], namespaces):
                continue
            if any(k in w and w[k] != g[k] for k in ("subset", "port", "weight", "cluster")):
                continue
            hit = g
            break
        if hit is None:
            return [f"expected destinations {_short(want)}, got {shown}"]
        remaining.remove(hit)
    return []


# --- istio-config-validator assertions ---------------------------------------------------------------


def _rule_of(loaded: Loaded, exp: Explanation) -> tuple[Any, Any, str] | None:
    """(root rule, the rule that produced the route, its namespace) in the VirtualService models."""
    route = exp.decision.route
    if route is None or route.origin is None:
        return None
    ref = route.origin.virtual_service
    root = loaded.mesh.get("VirtualService", ref.namespace, ref.name)
    if root is None:
        return None
    root_rule = root.spec.http[ref.rule]
    if route.origin.delegate is None:
        return root_rule, root_rule, ref.namespace
    from meshc.compile import MergedRule

    d = route.origin.delegate
    delegate = loaded.mesh.get("VirtualService", d.namespace, d.name)
    if delegate is None:
        return root_rule, None, d.namespace
    # The delegate's fields win; the root fills the ones it leaves unset (translation.md §4.5).
    return root_rule, MergedRule(root_rule, delegate.spec.http[d.rule]), d.namespace


def _icv_failures(loaded: Loaded, exp: Explanation, expect: Mapping[str, Any], want_match: bool) -> list[str]:
    from meshc.models import networking as nw

    d = exp.decision
    found = _rule_of(loaded, exp)
    if found is None:
        what = "the request gets the default route (no VirtualService)" if d.action == "default" else _outcome(exp)
        if want_match:
            return [f"nothing matched: {what}"]
        # Not vacuous: say what happened instead of passing.
        return [f"wantMatch: false cannot be checked: nothing matched ({what}); assert what does happen instead"]
    root_rule, rule, ns = found
    assert d.route is not None and d.route.origin is not None  # `_rule_of` found the rule that produced it
    route_ns = d.route.origin.virtual_service.namespace
    equal: dict[str, bool] = {}
    for key, want in expect.items():
        if key == "route":
            equal[key] = _icv_route_equal(loaded, exp, want, rule.route if rule is not None else [], ns)
        elif key == "delegate":
            have = root_rule.delegate
            have_pair = (have.name, have.namespace or route_ns) if have else None
            want_pair = (want.get("name"), want.get("namespace") or route_ns) if isinstance(want, dict) else None
            equal[key] = have_pair == want_pair
        else:
            model: Any = {
                "redirect": nw.HTTPRedirect,
                "rewrite": nw.HTTPRewrite,
                "fault": nw.HTTPFaultInjection,
                "headers": nw.Headers,
            }[key]
            have = getattr(rule, key, None) if rule is not None else None
            try:
                parsed = model.model_validate(want)
            except Exception:  # an invalid expectation is a failure, not a crash
                equal[key] = False
                continue
            equal[key] = have is not None and parsed.model_dump(exclude_none=True) == have.model_dump(exclude_none=True)
    out = []
    for key, same in equal.items():
        if want_match and not same:
            actual = _short(_icv_actual(rule, root_rule, key))
            out.append(f"{key} differs: expected {_short(expect[key])}, got {actual} ({_outcome(exp)})")
        if not want_match and same:
            out.append(f"{key} equals {_short(expect[key])} but wantMatch is false ({_outcome(exp)})")
    return out


def _icv_actual(rule: Any, root_rule: Any, key: str) -> Any:
    source = root_rule if key == "delegate" else rule
    value = getattr(source, key, None) if source is not None else None
    if value is None:
        return None
    if isinstance(value, list):
        return [v.model_dump(exclude_none=True, by_alias=True) for v in value]
    return value.model_dump(exclude_none=True, by_alias=True)


def _icv_route_equal(loaded: Loaded, exp: Explanation, want: Any, have: list[Any], ns: str) -> bool:
    """The whole destination list, in order: host (short name or FQDN), subset, port and weight."""
    if not isinstance(want, list) or len(want) != len(have):
        return False
    mesh = loaded.mesh
    for w, h in zip(want, have, strict=True):
        if not isinstance(w, dict):
            return False
        dest = w.get("destination") or {}
        hd = h.destination
        actual_host = mesh.fqdn(hd.host, ns)
        if not _host_equal(loaded, str(dest.get("host", "")), actual_host, [ns, *_namespaces(exp)]):
            return False
        if (dest.get("subset") or None) != (hd.subset or None):
            return False
        want_port = (dest.get("port") or {}).get("number")
        have_port = hd.port.number if hd.port is not None else None
        if want_port != have_port:
            return False
        if (w.get("weight") or 0) != (h.weight or 0):
            return False
        if "headers" in w:
            from meshc.models import networking as nw

            try:
                parsed = nw.Headers.model_validate(w["headers"])
            except Exception:
                return False
            if h.headers is None or parsed.model_dump(exclude_none=True) != h.headers.model_dump(exclude_none=True):
                return False
    return True


# --- reports --------------------------------------------------------------------------------------------


def _request_text(r: Request) -> str:
    text = f"{r.method} {r.host}{r.path}"
    if r.headers:
        text += " " + " ".join(f"{k}={v}" for k, v in r.headers)
    if r.gateway not in ("mesh", "auto"):
        text += f" via {r.gateway}"
    return text


def summary(suite: Suite) -> str:
    """`N passed, M failed (K cases, R requests)`."""
    failed = len(suite.failed)
    passed = len(suite.cases) - failed
    requests = sum(len(c.checks) for c in suite.cases)
    return f"{passed} passed, {failed} failed ({len(suite.cases)} cases, {requests} requests)"


def to_text(suite: Suite, *, width: int = 80, color: bool = False) -> str:
    """One line per case, and the failing requests under a failed case; wrapped to `width`."""
    from meshc.display import Text, render, wrap

    lines: list[Text] = []
    for case in suite.cases:
        mark = Text("PASS", "ok") if case.passed else Text("FAIL", "fail")
        lines.extend(wrap(f"{case.file}:{case.line} {case.name}", width, mark.append(" "), "     "))
        if case.passed:
            continue
        for check in case.checks:
            if check.passed:
                continue
            lines.extend(wrap(_request_text(check.request), width, "     ", "       "))
            for failure in check.failures:
                lines.extend(wrap(failure, width, "       - ", "         "))
            if check.outcome and check.outcome != "error":
                lines.extend(wrap(check.outcome, width, "       got: ", "         "))
    lines.extend(wrap(summary(suite), width))
    return render(lines, color=color)


def to_json(suite: Suite) -> str:
    """The whole run as JSON."""
    data = {
        "summary": {
            "cases": len(suite.cases),
            "passed": len(suite.cases) - len(suite.failed),
            "failed": len(suite.failed),
            "requests": sum(len(c.checks) for c in suite.cases),
        },
        "cases": [
            {
                "file": c.file,
                "line": c.line,
                "name": c.name,
                "format": c.format,
                "passed": c.passed,
                "requests": [
                    {
                        "request": {
                            "host": k.request.host,
                            "path": k.request.path,
                            "method": k.request.method,
                            "headers": dict(k.request.headers),
                            "gateway": k.request.gateway,
                        },
                        "passed": k.passed,
                        "failures": k.failures,
                        "outcome": k.outcome,
                    }
                    for k in c.checks
                ],
            }
            for c in suite.cases
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_junit(suite: Suite) -> str:
    """JUnit XML: one testsuite per file, one testcase per case."""
    by_file: dict[str, list[Case]] = {}
    for c in suite.cases:
        by_file.setdefault(c.file, []).append(c)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(f'<testsuites name="meshc test" tests="{len(suite.cases)}" failures="{len(suite.failed)}">')
    for file, cases in by_file.items():
        failures = sum(1 for c in cases if not c.passed)
        out.append(f'  <testsuite name={quoteattr(xml_text(file))} tests="{len(cases)}" failures="{failures}">')
        for c in cases:
            attrs = f"name={quoteattr(xml_text(c.name))} classname={quoteattr(xml_text(Path(file).stem))}"
            attrs += f" file={quoteattr(xml_text(file))}"
            attrs += f' line="{c.line}"'
            if c.passed:
                out.append(f"    <testcase {attrs}/>")
                continue
            text = "\n".join(
                f"{_request_text(k.request)}: {'; '.join(k.failures)}"
                + (f" (got: {k.outcome})" if k.outcome and k.outcome != "error" else "")
                for k in c.checks
                if not k.passed
            )
            first = next(k.failures[0] for k in c.checks if not k.passed)
            out.append(f"    <testcase {attrs}>")
            out.append(f"      <failure message={quoteattr(xml_text(first))}>{escape(xml_text(text))}</failure>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
