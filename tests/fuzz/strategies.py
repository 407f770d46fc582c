"""Hypothesis strategies for hostile meshc input.

* `arbitrary_bytes`: anything at all;
* `mutated_yaml`: a real file (examples/ and ../shared/corpus, read in place) with a few edits that
  YAML, Kubernetes and meshc care about: junk punctuation, cut and duplicated lines (duplicate
  keys), re-indentation, anchors and aliases, document markers, tabs, invalid and NUL bytes,
  foreign encodings, and hostile scalars;
* `hostile_config`: random but schema-valid Istio resources (Service, VirtualService,
  DestinationRule, Gateway, ServiceEntry, AuthorizationPolicy, RequestAuthentication) whose
  free-form strings are hostile (quotes, `;`, `{`, `}`, `$`, `#`, newlines, NUL, very long),
  written as block YAML, flow YAML or JSON;
* `hostile_text`: such strings alone, for flag values and test files.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from meshc.models.checks import MAX_HEADER_BYTES
from meshc.source import TEMPLATE_ACTION
from tests.conftest import CORPUS, EXAMPLES
from tests.kube_yaml import dump_all

# --- seeds ----------------------------------------------------------------------------------------


@functools.cache
def seeds() -> tuple[tuple[str, bytes], ...]:
    """Every YAML file of examples/ and of the shared corpus, read where it lives (never copied)."""
    found: list[Path] = []
    for root in (EXAMPLES, CORPUS):
        if root.is_dir():
            found.extend(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    return tuple((str(p), p.read_bytes()) for p in sorted(found))


# --- hostile strings ------------------------------------------------------------------------------

NASTY = (
    '"', "'", ";", "{", "}", "$", "#", "\n", "\x00", "\\", "`", "\r", "\r\n", "\t", " ", "",
    # `{{ .Values }` not `{{ .Values }}`: a whole Go template action makes the document an unrendered Helm
    # template (MC013), which meshc does not check further (hostile_config also rejects joins that make one).
    "${HOME}", "$(id)", "$1", "';--", '";', "{{ .Values }", "%s%n", "%0A", "\\n", "\\x00",
    "\u2028", "\u2029", "\ufeff", "\x1b[31m", "\x85", "\x7f", "\U0001f600", "é", "ß", "İ",
    "::error::", "</testcase>", "]]>", "<![CDATA[", "&amp;", "<script>", "-->",
    "---", "...", "- ", ": ", "? ", "&a", "*a", "!!python/object:os.system", "<<", "|", ">",
    "null", "~", "yes", "no", "on", "0x1F", "1e9", ".inf", "012", "1:20",
    "/../../etc/passwd", "*", "?", "[", "]", "(", ")", "^", "+", "|", "\\d", ".*", "(a+)+",
    "location / {", "return 200;", "if ($host) {", "proxy_pass http://x;", "include /etc/passwd;",
    "}\nserver {", 'a" && "b', "\\\"", "\x00\x00",
)  # fmt: skip

_chars = st.characters(codec="utf-8")  # every code point UTF-8 can carry (no lone surrogates)
_nasty_join = st.lists(st.sampled_from(NASTY), min_size=1, max_size=6).map("".join)
_long = st.builds(lambda s, n: (s or "a") * n, st.sampled_from((*NASTY, "a", "x/")), st.integers(200, 12_000))

hostile_text = st.one_of(
    _nasty_join,
    st.text(_chars, max_size=24),
    st.text(alphabet="\"';{}$#\n\x00\\`%&*!|>?:,[]- abc", max_size=24),
    _long,
)
"""Strings meant to break quoting, escaping, line structure and size assumptions."""


# --- edits of real files --------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def _edit(draw: st.DrawFn, data: bytes) -> bytes:
    op = draw(st.integers(0, 13))
    n = len(data)
    pos = draw(st.integers(0, n))
    if op == 0:  # junk punctuation
        junk = draw(st.text(alphabet=" \t\n:-#[]{}'\"&*!|>%@`?,.x0\\", min_size=1, max_size=6))
        return data[:pos] + junk.encode() + data[pos:]
    if op == 1:  # cut a span
        return data[:pos] + data[pos + draw(st.integers(1, 64)) :]
    lines = _lines(data)
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if op == 2:  # duplicate a line: duplicate keys, repeated list items
        lines.insert(i, lines[i])
        return b"\n".join(lines)
    if op == 3:  # swap two lines
        j = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    if op == 4:  # re-indent a line
        delta = draw(st.integers(-4, 4))
        line = lines[i]
        lines[i] = b" " * max(delta, 0) + (line[-delta:] if delta < 0 and line[:-delta].isspace() else line)
        return b"\n".join(lines)
    if op == 5:  # a hostile scalar after a key
        line = lines[i]
        k = line.find(b": ")
        value = draw(hostile_text)
        quoted = draw(st.sampled_from(("plain", "json", "single")))
        if quoted == "json":
            encoded = json.dumps(value).encode()
        elif quoted == "single":
            encoded = ("'" + value.replace("'", "''") + "'").encode("utf-8", "surrogatepass")
        else:
            encoded = value.encode("utf-8", "surrogatepass")
        lines[i] = (line[: k + 2] if k >= 0 else line + b": ") + encoded
        return b"\n".join(lines)
    if op == 6:  # invalid UTF-8, NUL, C1 controls, a lone surrogate
        bad = draw(
            st.sampled_from((b"\x00", b"\xff", b"\xc3", b"\xe9", b"\x80\x80", b"\xed\xa0\x80", b"\x1b", b"\x85"))
        )
        return data[:pos] + bad + data[pos:]
    if op == 7:  # truncate
        return data[:pos]
    if op == 8:  # anchors and aliases
        line = lines[i]
        k = line.find(b": ")
        mark = draw(st.sampled_from((b"&a ", b"*a", b"&b ", b"*b", b"<<: *a", b"!!str ", b"!!binary ", b"!foo ")))
        lines[i] = line[: k + 2] + mark + line[k + 2 :] if k >= 0 else mark + line
        return b"\n".join(lines)
    if op == 9:  # document markers and directives
        marker = draw(st.sampled_from((b"---", b"...", b"--- |", b"%YAML 1.2", b"%TAG ! !x", b"--- !!map")))
        lines.insert(i, marker)
        return b"\n".join(lines)
    if op == 10:  # tabs instead of spaces
        lines[i] = lines[i].replace(b"  ", b"\t", 1)
        return b"\n".join(lines)
    if op == 11:  # the whole file in another encoding
        codec = draw(st.sampled_from(("latin-1", "utf-16", "utf-16-le", "utf-32", "cp1252")))
        return data.decode("utf-8", "replace").encode(codec, "replace")
    if op == 12:  # CRLF and lone CR line ends
        return data.replace(b"\n", draw(st.sampled_from((b"\r\n", b"\r"))))
    # op 13: repeat a block of lines (duplicate resources, documents, list items)
    j = draw(st.integers(i, min(i + 12, len(lines))))
    lines[i:i] = lines[i:j]
    return b"\n".join(lines)


@st.composite
def mutated_yaml(draw: st.DrawFn) -> bytes:
    """A file of examples/ or the corpus with one to four edits."""
    _name, data = draw(st.sampled_from(seeds()))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(_edit(data))
    return data


arbitrary_bytes = st.binary(max_size=2_000)


# --- random but schema-valid resources with hostile strings ---------------------------------------
#
# Hosts, names, ports and subsets are valid and consistent (so that the resources pass validation
# and reach compile and the backends); every free-form string (match values, rewrites, redirects,
# bodies, header values, route names, annotations, CORS origins, JWT issuers, policy values) is
# hostile. Istio refuses control characters in header values and caps regexes at 1,024
# characters, so those two get hostile text without them; a `%` in a header value is escaped
# (`%%`), as Envoy's substitution format requires. Envoy refuses NUL, CR and LF in redirect and
# rewrite paths, and Go's URL parser control characters in a jwksUri: those are left out there.

HOSTS = ("reviews", "ratings", "web.shop.svc.cluster.local", "api.example.com", "*.wild.example.net", "a")
NAMESPACES = ("default", "shop")
_label = st.from_regex(r"\A[a-z]([-a-z0-9]{0,10}[a-z0-9])?\Z", fullmatch=True)
_long_host = st.integers(1, 3).map(lambda n: ".".join(["x" * 63] * n) + ".example.org")
_host = st.one_of(st.sampled_from(HOSTS), _long_host)
_header_name = st.one_of(st.sampled_from(("end-user", "x-a", "cookie", "x-forwarded-for")), _label)
_port = st.sampled_from((80, 443, 8080, 9080, 65535, 1))
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")  # and what YAML reads as line breaks
_C1 = re.compile("[\x7f-\x9f]")
_nonempty = hostile_text.map(lambda t: t or "x")


def _fits_a_header(text: str) -> str:
    """At most Envoy's 16384 bytes of a header value (longer is MC006 by design), cut at a whole character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_HEADER_BYTES:
        return text
    cut = data[:MAX_HEADER_BYTES].decode("utf-8", "ignore")
    percents = len(cut) - len(cut.rstrip("%"))
    return cut[:-1] if percents % 2 else cut  # `%%` is one percent sign: never leave half of one


_header_value = _nonempty.map(lambda t: _fits_a_header(_CONTROL.sub("", t).replace("%", "%%")) or "v")
_envoy_value = hostile_text.map(lambda t: re.sub("[\x00\r\n]", "", t))
_url_text = hostile_text.map(lambda t: re.sub("[\x00-\x1f\x7f]", "", t))
_path_value = _nonempty.map(lambda t: t.replace("{", "").replace("}", "") or "/")


def _literal(text: str) -> str:
    """An RE2 regex matching `text` (re.escape also escapes control characters, which RE2 refuses)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _string_match(draw: st.DrawFn) -> dict[str, str]:
    kind = draw(st.sampled_from(("exact", "prefix", "regex")))
    value = draw(_nonempty)
    if kind == "regex":
        value = draw(st.sampled_from((_literal(value[:300]), ".*", "(a|b)+", "[^/]+/" + _literal(value[:100]))))
    return {kind: value}


@st.composite
def _http_route(draw: st.DrawFn, services: dict[str, tuple[int, bool]]) -> dict[str, Any]:
    """One HTTP route; `services` maps each host to (its port, whether a DestinationRule gives it subsets)."""
    hosts = sorted(services)
    route: dict[str, Any] = {}
    if draw(st.booleans()):
        route["name"] = draw(hostile_text)
    matches = []
    for _ in range(draw(st.integers(0, 3))):
        m: dict[str, Any] = {}
        if draw(st.booleans()):
            m["uri"] = _string_match(draw)
        if draw(st.booleans()):
            m["headers"] = {draw(_header_name): _string_match(draw) for _ in range(draw(st.integers(1, 2)))}
        if draw(st.booleans()):
            m["queryParams"] = {draw(_label): _string_match(draw)}
        if draw(st.booleans()):
            m["method"] = {"exact": draw(st.sampled_from(("GET", "POST", "PATCH")))}
        if draw(st.booleans()):
            m["authority"] = _string_match(draw)
        if draw(st.booleans()):
            m["withoutHeaders"] = {draw(_header_name): _string_match(draw)}
        if draw(st.booleans()):
            m["name"] = draw(hostile_text)
        matches.append(m)
    if matches:
        route["match"] = matches
    action = draw(st.sampled_from(("route", "route", "redirect", "direct")))
    if action == "route":
        n = draw(st.integers(1, 3))
        dests = []
        for _ in range(n):
            host = draw(st.sampled_from(hosts))
            port, has_subsets = services[host]
            d: dict[str, Any] = {"host": host}
            if has_subsets and draw(st.booleans()):
                d["subset"] = draw(st.sampled_from(("v1", "v2")))
            if draw(st.booleans()):
                d["port"] = {"number": port}
            dests.append({"destination": d})
        if n > 1:
            weights = [100 // n] * n
            weights[0] += 100 - sum(weights)
            for dest, w in zip(dests, weights, strict=True):
                dest["weight"] = w
        route["route"] = dests
        if draw(st.booleans()):
            route["rewrite"] = {"uri": "/" + draw(_envoy_value)}
        if draw(st.booleans()):
            route["timeout"] = draw(st.sampled_from(("1s", "0.5s", "100ms")))
        if draw(st.booleans()):
            route["retries"] = {"attempts": draw(st.integers(1, 5)), "perTryTimeout": "1s"}
        if draw(st.booleans()):
            route["fault"] = {"abort": {"httpStatus": 503, "percentage": {"value": 12.5}}}
        if draw(st.booleans()):
            route["mirror"] = {"host": draw(st.sampled_from(hosts))}
    elif action == "redirect":
        route["redirect"] = {"uri": "/" + draw(_envoy_value), "authority": draw(_host), "redirectCode": 301}
    else:
        route["directResponse"] = {
            "status": draw(st.sampled_from((200, 404, 503))),
            "body": {"string": draw(hostile_text)},
        }
    if draw(st.booleans()):
        route["headers"] = {
            "request": {"set": {draw(_header_name): draw(_header_value)}, "remove": [draw(_header_name)]},
            "response": {"add": {draw(_header_name): draw(_header_value)}},
        }
    if draw(st.booleans()):
        route["corsPolicy"] = {
            "allowOrigins": [{"exact": draw(_nonempty)}],
            "allowMethods": ["GET"],
            "allowHeaders": [draw(_header_name)],
        }
    return route


def _meta(draw: st.DrawFn, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace or draw(st.sampled_from(NAMESPACES))}
    if draw(st.booleans()):
        meta["annotations"] = {"note": draw(hostile_text)}
    return meta


@st.composite
def _resources(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    hosts = list(dict.fromkeys(draw(st.lists(_host, min_size=1, max_size=3))))
    services: dict[str, tuple[int, bool]] = {}
    for i, host in enumerate(hosts):
        port = draw(_port)
        if "." not in host:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": host, "namespace": "default"},
                    "spec": {"selector": {"app": host}, "ports": [{"name": "http", "port": port}]},
                }
            )
        else:
            docs.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "ServiceEntry",
                    "metadata": _meta(draw, f"se{i}", "default"),
                    "spec": {
                        "hosts": [host],
                        "ports": [{"number": port, "name": "http", "protocol": "HTTP"}],
                        "resolution": "NONE" if host.startswith("*") else "DNS",
                        "location": "MESH_EXTERNAL",
                    },
                }
            )
        has_subsets = draw(st.booleans())
        services[host] = (port, has_subsets)
        if has_subsets:
            docs.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "DestinationRule",
                    "metadata": _meta(draw, f"dr{i}", "default"),
                    "spec": {
                        "host": host,
                        "trafficPolicy": {
                            "loadBalancer": {"consistentHash": {"httpHeaderName": draw(_header_name)}},
                        },
                        "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"v": "2"}}],
                    },
                }
            )
    gateways: list[str] = []
    if draw(st.booleans()):
        gateways.append("default/gw")
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "gw", "namespace": "default"},
                "spec": {
                    "selector": {"istio": "ingressgateway"},
                    "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
                },
            }
        )
    # One VirtualService per host: two claiming the same host would be an error (MC201).
    for v, host in enumerate(draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=len(hosts), unique=True))):
        spec: dict[str, Any] = {"hosts": [host], "http": draw(st.lists(_http_route(services), min_size=1, max_size=4))}
        if gateways and draw(st.booleans()):
            spec["gateways"] = [*gateways, "mesh"]
        docs.append(
            {
                "apiVersion": draw(st.sampled_from(("networking.istio.io/v1", "networking.istio.io/v1beta1"))),
                "kind": "VirtualService",
                "metadata": _meta(draw, f"vs{v}", "default"),
                "spec": spec,
            }
        )
    if draw(st.booleans()):
        docs.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": _meta(draw, "authz"),
                "spec": {
                    "action": draw(st.sampled_from(("ALLOW", "DENY"))),
                    "rules": [
                        {
                            # `{` starts a path template (`{*}`, `{**}`): hostile otherwise
                            "to": [{"operation": {"paths": [draw(_path_value)], "methods": ["GET"]}}],
                            "when": [{"key": "request.headers[x-a]", "values": [draw(_header_value)]}],
                        }
                    ],
                },
            }
        )
    if draw(st.booleans()):
        docs.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "RequestAuthentication",
                "metadata": _meta(draw, "jwt"),
                "spec": {
                    "jwtRules": [
                        {
                            "issuer": draw(_nonempty),
                            "jwksUri": "https://issuer.example.com/" + draw(_url_text),
                            "outputPayloadToHeader": draw(_header_name),
                        }
                    ]
                },
            }
        )
    return docs


def _dump(style: str, docs: list[dict[str, Any]]) -> bytes:
    if style == "json":
        # Raw non-ASCII, but C1 controls escaped: YAML refuses them raw, and libyaml refuses the
        # surrogate-pair escapes that ensure_ascii would write for characters beyond U+FFFF.
        text = "\n".join(json.dumps(d, ensure_ascii=False) for d in docs)
        return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()
    if style == "flow":
        return dump_all(docs, default_flow_style=True, allow_unicode=True, width=80).encode("utf-8")
    return dump_all(docs, allow_unicode=True, sort_keys=False).encode("utf-8")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@st.composite
def hostile_config(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    """Schema-valid resources with hostile free-form strings: (the file, the resources).

    No string holds a whole Go template action (`{{ .Values }` joined with `}`, about one string in
    4,000): that resource is an unrendered template by design (MC013) and never reaches the compiler.
    """
    docs = draw(_resources())
    assume(not any(TEMPLATE_ACTION.search(s) for s in _strings(docs)))
    style = draw(st.sampled_from(("block", "flow", "json")))
    # JSON documents are separated by newlines only when each is one document; keep YAML separators.
    text = b"\n---\n".join(_dump(style, [d]) for d in docs) if style == "json" else _dump(style, docs)
    return text, docs


any_input = st.one_of(arbitrary_bytes, mutated_yaml(), hostile_config().map(lambda c: c[0]))
"""One of the three kinds of input, in equal measure."""
