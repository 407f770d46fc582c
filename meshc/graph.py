"""A picture of the mesh (`meshc graph`): gateways → VirtualServices → hosts → subsets.

The graph is read from the compiled IR, so it shows what Istio would do (merged and delegated
VirtualServices, resolved hosts, final rule order), not what the YAML says:

- source nodes: each Gateway (`Gateway ns/name`), and `mesh` for the sidecars;
- an edge source → VirtualService per VirtualService that serves it, labelled with the virtual
  hosts it serves there (`reviews.default:9080`, `*:80`);
- an edge VirtualService → delegate VirtualService for delegation;
- an edge VirtualService → destination per routed destination, labelled with the match summary
  and the weight (when the rule splits traffic), and with `fault: ...` when the rule injects one;
  the destination is the subset node when the rule names a subset, else the host node;
- a dotted edge host → subset for every subset a rule uses;
- redirects and direct responses end in their own node (`redirect 301 /new-path`); mirrors are
  dashed edges; unknown destinations (no such host or subset) are marked.

Node ids are derived from the names (stable across runs and inputs), output is sorted:
the same input gives the same bytes. `mermaid()` emits a `flowchart LR` that GitHub renders as is
(labels quoted, with Mermaid entity codes for `"`, `#`, `|`, `<`, `>`, brackets and backticks, and
`<br/>` for newlines); `dot()` emits Graphviz DOT (labels double-quoted, with backslash escapes for
quotes, backslashes and newlines). Values from the input are first shown with their control
characters escaped (`display.escape`): the only line breaks in a label are meshc's own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from meshc import ir
from meshc.display import escape
from meshc.simulate import describe

MAX_LABEL_LINES = 6
"""An edge that stands for more rules than this lists the first ones and `+N more`."""


@dataclass
class Node:
    """A node of the graph."""

    key: str
    """Unique key (`vs:ns/name`, `host:fqdn`, `subset:fqdn/v1`, ...)."""
    kind: str
    """`gateway`, `mesh`, `vs`, `host`, `subset`, `redirect`, `direct`."""
    label: str
    """Text shown."""
    unknown: bool = False
    """A destination the configuration does not define (Envoy answers 503)."""
    hint: str = ""
    """What the node id is made from (default: the key without its kind)."""


@dataclass
class Edge:
    """An edge; the labels of all rules it stands for, in rule order."""

    src: str
    dst: str
    style: str
    """`route`, `bind` (source → VirtualService), `delegate`, `subset` (host → subset), `mirror`."""
    labels: list[str] = field(default_factory=list)
    fault: bool = False
    seen: set[str] = field(default_factory=set, repr=False, compare=False)
    """The labels, as a set: one edge can stand for 100,000 rules (a list lookup made that quadratic)."""


@dataclass
class Graph:
    """Nodes and edges, in insertion order until `sorted()`."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)

    def node(self, key: str, kind: str, label: str, *, unknown: bool = False, hint: str = "") -> str:
        """Add a node once; return its key."""
        found = self.nodes.get(key)
        if found is None:
            self.nodes[key] = Node(key, kind, label, unknown, hint)
        elif unknown is False:
            found.unknown = False
        return key

    def edge(self, src: str, dst: str, style: str, label: str | None = None, *, fault: bool = False) -> None:
        """Add an edge, or a label to the existing one (labels are kept once, in order)."""
        e = self.edges.get((src, dst, style))
        if e is None:
            e = self.edges[(src, dst, style)] = Edge(src, dst, style)
        if label and label not in e.seen:
            e.seen.add(label)
            e.labels.append(label)
        e.fault = e.fault or fault


def _short(host: str, domain: str) -> str:
    suffix = f".svc.{domain}"
    return host[: -len(suffix)] if host.endswith(suffix) else host


def _match_summary(route: ir.Route, first: bool) -> str:
    conds = describe(route.match)
    if conds:
        return " and ".join(conds)
    return "all requests" if first else "other requests"


def _fault_text(f: ir.Fault) -> str:
    parts = []
    if f.delay is not None:
        parts.append(f"delay {f.delay.fixed_delay} {f.delay.percentage:g}%")
    if f.abort is not None:
        status = f.abort.http_status if f.abort.http_status is not None else f"grpc {f.abort.grpc_status}"
        parts.append(f"abort {status} {f.abort.percentage:g}%")
    return "fault: " + ", ".join(parts)


def _percents(clusters: list[ir.WeightedCluster]) -> list[str]:
    return [ir.percent_text(share) for share in ir.weight_shares([c.weight for c in clusters])]


def build(ir_: ir.IR) -> Graph:
    """The graph of a compiled mesh."""
    g = Graph()
    domain = ir_.cluster_domain
    for ctx in ir_.contexts:
        if ctx.kind == "sidecar":
            sources = [g.node("mesh", "mesh", "mesh (sidecars)")]
        else:
            sources = [
                g.node(f"gateway:{o.namespace}/{o.name}", "gateway", f"Gateway {o.namespace}/{o.name}")
                for o in sorted(ctx.gateways, key=lambda o: (o.namespace, o.name))
            ]
        for li in ctx.listeners:
            for chain in li.filter_chains:
                if chain.route_config is None:
                    _tcp(g, sources, chain, domain)
                    continue
                for vh in chain.route_config.virtual_hosts:
                    _vhost(g, sources, vh, domain)
    if "mesh" in g.nodes and not any(e.src == "mesh" for e in g.edges.values()):
        del g.nodes["mesh"]  # no VirtualService applies to sidecars
    return g


def _vs_node(g: Graph, ref: ir.RuleRef) -> str:
    return g.node(f"vs:{ref.namespace}/{ref.name}", "vs", f"VirtualService {ref.namespace}/{ref.name}")


def _dest(g: Graph, host: str, port: int, subset: str | None, known: bool, domain: str) -> str:
    h = g.node(f"host:{host}", "host", _short(host, domain), hint=_short(host, domain))
    if subset is None:
        if not known:
            g.nodes[h].unknown = True
        return h
    s = g.node(
        f"subset:{host}/{subset}",
        "subset",
        f"{_short(host, domain)} {subset}",
        unknown=not known,
        hint=f"{_short(host, domain)}_{subset}",
    )
    g.edge(h, s, "subset")
    return s


def _vhost(g: Graph, sources: list[str], vh: ir.VirtualHost, domain: str) -> None:
    name, _, port = vh.name.rpartition(":")
    served = f"{_short(name, domain)}:{port}" if name else vh.name
    for i, route in enumerate(vh.routes):
        if route.origin is None:
            continue  # the default route of a host with no VirtualService
        root = _vs_node(g, route.origin.virtual_service)
        for s in sources:
            g.edge(s, root, "bind", served)
        vs = root
        if route.origin.delegate is not None:
            vs = _vs_node(g, route.origin.delegate)
            g.edge(root, vs, "delegate", "delegate")
        summary = _match_summary(route, i == 0)
        fault = _fault_text(route.fault) if route.fault is not None else None
        suffix = f" · {fault}" if fault else ""
        if route.action == "redirect" and route.redirect is not None:
            rd = route.redirect
            parts = [str(rd.code)]
            if rd.scheme:
                parts.append(f"{rd.scheme}://")
            if rd.authority:
                parts.append(rd.authority + (f":{rd.port}" if rd.port else ""))
            elif rd.port:
                parts.append(f"port {rd.port}")
            if rd.path:
                parts.append(rd.path)
            label = "redirect " + " ".join(parts)
            dst = g.node(f"redirect:{label}", "redirect", label)
            g.edge(vs, dst, "route", summary + suffix, fault=fault is not None)
            continue
        if route.action == "direct_response" and route.direct_response is not None:
            label = f"direct response {route.direct_response.status}"
            dst = g.node(f"direct:{label}", "direct", label)
            g.edge(vs, dst, "route", summary + suffix, fault=fault is not None)
            continue
        fwd = route.forward
        if fwd is None:
            continue
        pcts = _percents(fwd.clusters)
        for c, pct in zip(fwd.clusters, pcts, strict=True):
            dst = _dest(g, c.host, c.port, c.subset, c.known, domain)
            weight = f" · {pct}" if len(fwd.clusters) > 1 else ""
            g.edge(vs, dst, "route", summary + weight + suffix, fault=fault is not None)
        for m in fwd.mirrors:
            dst = _dest(g, m.host, m.port, m.subset, m.known, domain)
            g.edge(vs, dst, "mirror", f"mirror {m.percentage:g}% of {summary}")


def _tcp(g: Graph, sources: list[str], chain: ir.FilterChain, domain: str) -> None:
    for r in chain.tcp_routes:
        if r.origin is None:
            continue
        vs = g.node(
            f"vs:{r.origin.namespace}/{r.origin.name}", "vs", f"VirtualService {r.origin.namespace}/{r.origin.name}"
        )
        for s in sources:
            g.edge(s, vs, "bind", chain.protocol)
        cond = []
        if r.sni_hosts:
            cond.append("sni " + ", ".join(r.sni_hosts))
        if r.destination_subnets:
            cond.append("destination " + ", ".join(r.destination_subnets))
        summary = f"{chain.protocol} " + (" and ".join(cond) if cond else "all connections")
        pcts = _percents(r.clusters)
        for c, pct in zip(r.clusters, pcts, strict=True):
            dst = _dest(g, c.host, c.port, c.subset, c.known, domain)
            g.edge(vs, dst, "route", summary + (f" · {pct}" if len(r.clusters) > 1 else ""))


# --- ids -------------------------------------------------------------------------------------------

_ID_PREFIX = {
    "mesh": "mesh",
    "gateway": "gw",
    "vs": "vs",
    "host": "host",
    "subset": "subset",
    "redirect": "redirect",
    "direct": "direct",
}


def node_ids(g: Graph) -> dict[str, str]:
    """Stable ids (`[A-Za-z0-9_]`, prefixed by kind); a short hash is added only to split collisions."""
    raw: dict[str, str] = {}
    for key, n in g.nodes.items():
        name = n.hint or (key.split(":", 1)[1] if ":" in key else key)
        base = _ID_PREFIX[n.kind] + ("_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") if n.kind != "mesh" else "")
        raw[key] = base
    counts: dict[str, int] = {}
    for v in raw.values():
        counts[v] = counts.get(v, 0) + 1
    return {k: (v if counts[v] == 1 else f"{v}_{hashlib.sha1(k.encode()).hexdigest()[:8]}") for k, v in raw.items()}


def _ordered(g: Graph) -> tuple[list[Node], list[Edge]]:
    rank = {"mesh": 0, "gateway": 1, "vs": 2, "host": 3, "subset": 4, "redirect": 5, "direct": 6}
    nodes = sorted(g.nodes.values(), key=lambda n: (rank[n.kind], n.key))
    style_rank = {"bind": 0, "delegate": 1, "route": 2, "mirror": 3, "subset": 4}
    pos = {n.key: i for i, n in enumerate(nodes)}
    edges = sorted(g.edges.values(), key=lambda e: (style_rank[e.style], pos[e.src], pos[e.dst]))
    return nodes, edges


def _label_lines(e: Edge) -> list[str]:
    if len(e.labels) <= MAX_LABEL_LINES:
        return list(e.labels)
    return [*e.labels[: MAX_LABEL_LINES - 1], f"+{len(e.labels) - MAX_LABEL_LINES + 1} more"]


# --- Mermaid ---------------------------------------------------------------------------------------

_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "|": "#124;",
    "<": "#lt;",
    ">": "#gt;",
    "[": "#91;",
    "]": "#93;",
    "(": "#40;",
    ")": "#41;",
    "{": "#123;",
    "}": "#125;",
    "`": "#96;",
    "&": "#amp;",
    ";": "#59;",
}


def mermaid_text(text: str) -> str:
    """A label as the inside of a Mermaid quoted string: entity codes, `<br/>` for newlines."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("<br/>")
        elif ch == "\r":
            continue
        elif ch in _MERMAID_ENTITIES:
            out.append(_MERMAID_ENTITIES[ch])
        elif ord(ch) < 32:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_SHAPES = {
    "mesh": ("((", "))"),
    "gateway": ("[[", "]]"),
    "vs": ("[", "]"),
    "host": ("([", "])"),
    "subset": ("(", ")"),
    "redirect": ("{{", "}}"),
    "direct": ("{{", "}}"),
}
_ARROWS = {"bind": "-->", "delegate": "-->", "route": "-->", "mirror": "-.->", "subset": "-.-"}


def mermaid(g: Graph) -> str:
    """The graph as a Mermaid `flowchart LR`."""
    ids = node_ids(g)
    nodes, edges = _ordered(g)
    out = ["flowchart LR"]
    for n in nodes:
        left, right = _SHAPES[n.kind]
        label = n.label + (" (unknown)" if n.unknown else "")
        out.append(f'  {ids[n.key]}{left}"{mermaid_text(escape(label))}"{right}')
    fault_links: list[int] = []
    for i, e in enumerate(edges):
        arrow = _ARROWS[e.style]
        lines = _label_lines(e)
        if lines and e.style != "subset":
            out.append(f'  {ids[e.src]} {arrow}|"{mermaid_text(chr(10).join(map(escape, lines)))}"| {ids[e.dst]}')
        else:
            out.append(f"  {ids[e.src]} {arrow} {ids[e.dst]}")
        if e.fault:
            fault_links.append(i)
    out.append("  classDef gateway fill:#e8f0fe,stroke:#1a73e8")
    out.append("  classDef vs fill:#fff8e1,stroke:#f9a825")
    out.append("  classDef host fill:#e6f4ea,stroke:#188038")
    out.append("  classDef subset fill:#f1f8e9,stroke:#558b2f")
    out.append("  classDef special fill:#fce8e6,stroke:#d93025")
    out.append("  classDef unknown fill:#fce8e6,stroke:#d93025,stroke-dasharray:4 2")
    groups: dict[str, list[str]] = {}
    for n in nodes:
        cls = {"gateway": "gateway", "mesh": "gateway", "vs": "vs", "host": "host", "subset": "subset"}.get(
            n.kind, "special"
        )
        if n.unknown:
            cls = "unknown"
        groups.setdefault(cls, []).append(ids[n.key])
    for cls in sorted(groups):
        out.append(f"  class {','.join(groups[cls])} {cls}")
    if fault_links:
        out.append(f"  linkStyle {','.join(map(str, fault_links))} stroke:#d93025,stroke-width:2px")
    return "\n".join(out) + "\n"


# --- DOT -------------------------------------------------------------------------------------------


def dot_text(text: str) -> str:
    """A label as the inside of a DOT quoted string."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r" or ord(ch) < 32:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_DOT_SHAPES = {
    "mesh": 'shape=ellipse, style=filled, fillcolor="#e8f0fe"',
    "gateway": 'shape=box3d, style=filled, fillcolor="#e8f0fe"',
    "vs": 'shape=box, style=filled, fillcolor="#fff8e1"',
    "host": 'shape=box, style="rounded,filled", fillcolor="#e6f4ea"',
    "subset": 'shape=ellipse, style=filled, fillcolor="#f1f8e9"',
    "redirect": 'shape=hexagon, style=filled, fillcolor="#fce8e6"',
    "direct": 'shape=hexagon, style=filled, fillcolor="#fce8e6"',
}
_DOT_EDGES = {
    "bind": "",
    "delegate": "style=bold",
    "route": "",
    "mirror": "style=dashed",
    "subset": "style=dotted, arrowhead=none",
}


def dot(g: Graph) -> str:
    """The graph as Graphviz DOT."""
    ids = node_ids(g)
    nodes, edges = _ordered(g)
    out = ["digraph meshc {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    out.append('  edge [fontname="Helvetica", fontsize=9];')
    for n in nodes:
        label = n.label + (" (unknown)" if n.unknown else "")
        attrs = _DOT_SHAPES[n.kind]
        if n.unknown:
            attrs += ', color="#d93025", fontcolor="#d93025"'
        out.append(f'  "{ids[n.key]}" [label="{dot_text(escape(label))}", {attrs}];')
    for e in edges:
        edge_attrs = [a for a in [_DOT_EDGES[e.style]] if a]
        lines = _label_lines(e)
        if lines and e.style != "subset":
            edge_attrs.insert(0, f'label="{dot_text(chr(10).join(map(escape, lines)))}"')
        if e.fault:
            edge_attrs.append('color="#d93025", fontcolor="#d93025"')
        tail = f" [{', '.join(edge_attrs)}]" if edge_attrs else ""
        out.append(f'  "{ids[e.src]}" -> "{ids[e.dst]}"{tail};')
    out.append("}")
    return "\n".join(out) + "\n"
