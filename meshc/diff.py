"""What a change of configuration does to routing (`meshc diff`).

Both sides are loaded and compiled to the IR (`meshc.compile`), then compared route table by
route table, per context (the sidecar `mesh`, and each gateway workload) and per virtual host:

1. **Requests whose destination changes.** For every virtual host of either side, representative
   requests are derived from the match blocks of both sides: each block's witness (a request it
   selects, `meshc.witness`), the witness of every pair of blocks that can hold together (the
   requests where two rules overlap, which is where a reorder changes anything), and the request
   with no header on `/`. Each request is run through the simulator (`meshc.simulate`) on both IRs;
   the ones whose outcome (destinations and their shares, or redirect, direct response, 404)
   differs are reported, described by the conditions of the blocks that select them on the new
   and the old side.
2. **Structural changes** of the route table: rules (match blocks) added, removed or moved,
   identified by their VirtualService and match conditions (never by index, file or line);
   weight changes; faults, redirects, direct responses, rewrites, timeouts, retries, mirrors,
   header operations and CORS added, removed or changed; virtual host domains and
   `httpsRedirect`; TCP/TLS routes.
3. **Policy changes** of clusters present on both sides: subset labels, load balancer, connection
   pool, outlier detection, upstream TLS (origins ignored).
4. **Lint findings** introduced and resolved (compared by code, resource, field and message).

File names, line numbers, rule indexes and names, resource order, comments and key order never
make a difference: origins are dropped before comparing. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from meshc import ir
from meshc.compile import Scope, compile_mesh
from meshc.config import Options
from meshc.ir import Note
from meshc.simulate import Decision, describe, simulate
from meshc.witness import Probe, witness

PAIR_LIMIT = 60
"""Above this many distinct match blocks in one virtual host, pairs of blocks are not probed."""


class DiffError(Exception):
    """A problem with the inputs (not a git repository, unknown revision): one line, exit 2."""


# --- loading ---------------------------------------------------------------------------------------


@dataclass
class Finding:
    """A lint diagnostic, reduced to what identifies it across two versions of the files."""

    code: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    resource: str | None
    field: str | None

    @property
    def key(self) -> tuple[Any, ...]:
        """Identity across versions: no file, line or column."""
        return (self.code, self.resource, self.field, self.message)

    def text(self) -> str:
        """`file:line:col: CODE [severity] message`."""
        return f"{self.file}:{self.line}:{self.column}: {self.code} [{self.severity}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "resource": self.resource,
            "field": self.field,
        }


@dataclass
class Side:
    """One version of the configuration, compiled."""

    label: str
    """How the side is named in the output (the paths, or `REV:paths`)."""
    ir: ir.IR
    findings: list[Finding]
    errors: int
    """Errors found while reading (YAML and schema)."""
    notes: list[Note] = field(default_factory=list)


def load_side(
    paths: Sequence[str], options: Options, label: str, source_namespace: str = "default", *, stdin: bytes | None = None
) -> Side:
    """Load, lint and compile one side (the paths are read as given, relative to the current folder)."""
    from meshc.lint import lint, read
    from meshc.pipeline import load
    from meshc.source import no_gc

    with no_gc():
        inventory = read(paths, options, stdin=stdin)  # once for both halves: reading is most of a lint
    loaded = load(paths, options, inventory=inventory)
    compiled = compile_mesh(loaded.mesh, Scope(source_namespace))
    report = lint(paths, options, inventory=inventory)
    findings = [
        Finding(
            d.code,
            d.severity.label,
            d.message,
            d.span.path,
            d.span.line,
            d.span.column,
            f"{d.resource.kind} {d.resource.namespace}/{d.resource.name}" if d.resource is not None else None,
            d.field,
        )
        for d in report.diagnostics
    ]
    return Side(label, compiled, findings, loaded.errors, compiled.notes)


@contextlib.contextmanager
def _chdir(path: str) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError("git is not installed (needed for --base)") from exc


@contextlib.contextmanager
def base_checkout(rev: str, paths: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """The PATHS at git revision `rev`, extracted into a temporary folder.

    Yields (folder to read them from, the paths to read there): the folder mirrors the current
    folder's place in the repository, so the paths are the same strings as in the working tree and
    every file name in the output reads the same on both sides. A path that does not exist at `rev`
    is left out (its files count as added).
    """
    cwd = os.getcwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise DiffError(f"--base needs a git repository, and `{cwd}` is not inside one")
    toplevel = os.path.realpath(top.stdout.decode().strip())
    verified = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], toplevel)
    if verified.returncode != 0 or not rev.strip() or rev.startswith("-"):
        raise DiffError(f"unknown git revision `{rev}`")
    commit = verified.stdout.decode().strip()
    here = os.path.relpath(os.path.realpath(cwd), toplevel)
    wanted: list[tuple[str, str]] = []  # (path as given, path from the top level)
    for p in paths:
        if p == "-":
            raise DiffError("--base compares files; `-` (stdin) has no version at a revision")
        rel = os.path.normpath(os.path.join(here, p)) if not os.path.isabs(p) else os.path.relpath(p, toplevel)
        rel = os.path.relpath(os.path.realpath(os.path.join(toplevel, rel)), toplevel)
        if rel == ".." or rel.startswith(".." + os.sep):
            raise DiffError(f"`{p}` is outside the git repository at `{toplevel}`")
        wanted.append((p, rel))
    with tempfile.TemporaryDirectory(prefix="meshc-base-") as tmp:
        present: list[str] = []
        specs: list[str] = []
        for given, rel in wanted:
            spec = "" if rel == "." else rel.replace(os.sep, "/")
            exists = _git(["cat-file", "-e", f"{commit}:{spec}"], toplevel)
            if exists.returncode == 0:
                present.append(given if not os.path.isabs(given) else os.path.join(tmp, rel))
                specs.append(spec or ".")
        if specs:
            archive = _git(["archive", "--format=tar", commit, "--", *specs], toplevel)
            if archive.returncode != 0:
                msg = archive.stderr.decode(errors="replace").strip().splitlines()
                raise DiffError(f"git archive failed: {msg[-1] if msg else 'unknown error'}")
            _extract(archive.stdout, tmp)
        root = os.path.join(tmp, here) if here != "." else tmp
        os.makedirs(root, exist_ok=True)
        yield root, present


def _extract(archive: bytes, dest: str) -> None:
    """Extract git's archive of the base revision: files and folders, then every symlink as it was committed.

    A committed symlink may point anywhere (`/etc/passwd`, `../../x`): it is recreated as it is,
    after the files, and the loader's rules decide whether it is followed (inputs.py: only to a
    target inside the folder being read), exactly as in the working tree.
    """
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        links = []
        for member in tar.getmembers():
            if member.issym():
                links.append(member)
            elif member.isfile() or member.isdir():
                tar.extract(member, dest, filter="data")
        root = os.path.realpath(dest)
        for member in links:
            where = os.path.realpath(os.path.join(dest, os.path.dirname(member.name)))
            if where != root and not where.startswith(root + os.sep):
                continue  # a link placed through another link: never written outside the folder
            target = os.path.join(where, os.path.basename(member.name))
            if not os.path.lexists(target):
                os.symlink(member.linkname, target)


def load_base(rev: str, paths: Sequence[str], options: Options, source_namespace: str = "default") -> Side:
    """The PATHS at git revision `rev`, loaded as they were."""
    label = f"{rev}:{' '.join(paths)}"
    with base_checkout(rev, paths) as (root, present), _chdir(root):
        return load_side(present, options, label, source_namespace)


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dest:
    """One destination of an outcome with its exact share of the traffic."""

    host: str
    port: int
    subset: str | None
    share: Fraction
    known: bool = True


@dataclass(frozen=True)
class Outcome:
    """Where a request ends up: the comparable part of a simulator decision."""

    kind: str
    """`forward`, `redirect`, `direct_response` or `no_route`."""
    destinations: tuple[Dest, ...] = ()
    status: int | None = None
    location: str | None = None
    reason: str = ""

    def key(self) -> tuple[Any, ...]:
        """What is compared (the reason is only for display)."""
        return (self.kind, self.destinations, self.status, self.location)

    def text(self, host: str | None = None, port: int | None = None, domain: str = "cluster.local") -> str:
        """`subset v1 50%, subset v3 50%`, `redirect 301 to ...`, `404 (no route)`."""
        if self.kind == "forward":
            parts = []
            for d in self.destinations:
                if d.host == host and d.port == port:
                    name = f"subset {d.subset}" if d.subset else "the service"
                else:
                    name = f"{short_host(d.host, domain)}:{d.port}" + (f" subset {d.subset}" if d.subset else "")
                if not d.known:
                    name += " (unknown: 503)"
                if len(self.destinations) > 1:
                    name += f" {ir.percent_text(d.share)}"
                parts.append(name)
            return ", ".join(parts)
        if self.kind == "redirect":
            return f"redirect {self.status} to {self.location}"
        if self.kind == "direct_response":
            return f"direct response {self.status}"
        if self.status == 404:
            return "404 (no route)"
        return f"not served ({self.reason})" if self.reason else "not served"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "action": self.kind,
            "destinations": [
                {
                    "host": d.host,
                    "port": d.port,
                    "subset": d.subset,
                    "weight": round(float(d.share) * 100, 4),
                    "known": d.known,
                }
                for d in self.destinations
            ],
            "status": self.status,
            "location": self.location,
        }


def short_host(host: str, domain: str = "cluster.local") -> str:
    """`reviews.default.svc.cluster.local` → `reviews.default`; other names as they are."""
    suffix = f".svc.{domain}"
    return host[: -len(suffix)] if host.endswith(suffix) else host


@dataclass
class RequestChange:
    """Requests whose outcome differs between the two sides."""

    description: str
    """The conditions that select them (`header end-user exact "jason"`), or `all requests` /
    `requests no other rule matches`."""
    conditions: list[str]
    """The conditions, one per item (empty for the catch-all cases)."""
    example: Probe
    """A concrete request of the kind."""
    old: Outcome
    new: Outcome
    old_text: str = ""
    """`old` in words, relative to the virtual host (`subset v1`)."""
    new_text: str = ""
    """`new` in words."""


@dataclass
class Change:
    """One structural or policy change."""

    kind: str
    """`virtual-host`, `rule`, `weights`, `fault`, `redirect`, `direct-response`, `rewrite`, `timeout`,
    `retries`, `mirror`, `headers`, `cors`, `hash-policy`, `action`, `domains`, `https-redirect`,
    `server-tls`, `tcp-route`, `policy`."""
    change: str
    """`added`, `removed`, `changed` or `moved`."""
    subject: str
    """The rule, cluster or block it is about."""
    text: str
    """One line for humans."""
    old: Any = None
    new: Any = None
    location: str | None = None
    """`file:line` of the rule or block (new side, or old side when removed)."""
    clusters: list[str] = field(default_factory=list)
    """Policy changes: the clusters that have it."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "kind": self.kind,
            "change": self.change,
            "subject": self.subject,
            "text": self.text,
            "old": self.old,
            "new": self.new,
            "location": self.location,
            "clusters": self.clusters,
        }


@dataclass
class Section:
    """The changes of one virtual host (or one cluster's host and port) in one context."""

    context: str
    """`mesh` or `gateway NS/NAME[, NS/NAME...]`."""
    subject: str
    """Virtual host name (`reviews.default.svc.cluster.local:9080`, `*:80`), with the filter chain
    when it is not plain HTTP."""
    status: str = "changed"
    """`added`, `removed` or `changed`."""
    requests: list[RequestChange] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def empty(self) -> bool:
        """Nothing to report."""
        return not self.requests and not self.changes


@dataclass
class DiffResult:
    """Everything `meshc diff` reports."""

    old: str
    new: str
    sections: list[Section]
    introduced: list[Finding]
    resolved: list[Finding]
    notes: list[str] = field(default_factory=list)
    """Limits met during this diff (a regex with no example request, too many blocks to pair)."""
    domain: str = "cluster.local"

    @property
    def changed(self) -> bool:
        """Routing changed (exit code 1); lint findings alone do not count."""
        return any(not s.empty() for s in self.sections)


# --- helpers ---------------------------------------------------------------------------------------


def _strip(data: Any) -> Any:
    """Plain data without origins and source positions."""
    if isinstance(data, dict):
        return {
            k: _strip(v)
            for k, v in data.items()
            if k not in ("origin", "file", "line", "service", "destination_rules", "virtual_services", "services")
        }
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def _plain(obj: Any) -> Any:
    return _strip(ir.to_dict(obj)) if obj is not None else None


def _canon(data: Any) -> str:
    return json.dumps(data, sort_keys=True)


def context_label(ctx: ir.Context) -> str:
    """`mesh`, or `gateway ns/name, ...` (the Gateways the workload serves)."""
    if ctx.kind == "sidecar":
        return "mesh"
    return "gateway " + ", ".join(sorted(f"{g.namespace}/{g.name}" for g in ctx.gateways))


def _vs_key(route: ir.Route) -> str:
    if route.origin is None:
        return "-"
    vs = route.origin.virtual_service
    key = f"{vs.namespace}/{vs.name}"
    if route.origin.delegate is not None:
        key += f" via {route.origin.delegate.namespace}/{route.origin.delegate.name}"
    return key


def route_signature(route: ir.Route) -> str:
    """Identity of a route across versions: its VirtualService (and delegate) and match conditions."""
    return _canon([_vs_key(route), _plain(route.match)])


def conditions(match: ir.RouteMatch) -> list[str]:
    """The match conditions in words (empty: every request)."""
    return describe(match)


def rule_label(route: ir.Route) -> str:
    """`default/reviews rule "jason" (http[0]) match header ...` for humans."""
    if route.origin is None:
        return "default route (no VirtualService)"
    ref = route.origin.virtual_service
    text = f"{ref.namespace}/{ref.name} http[{ref.rule}]"
    if ref.rule_name:
        text += f' "{ref.rule_name}"'
    if route.origin.delegate is not None:
        d = route.origin.delegate
        text += f" via {d.namespace}/{d.name} http[{d.rule}]"
    conds = conditions(route.match)
    return text + (f" ({' and '.join(conds)})" if conds else " (every request)")


def _location(route: ir.Route) -> str | None:
    if route.origin is None:
        return None
    ref = route.origin.delegate or route.origin.virtual_service
    if not ref.file:
        return None
    return f"{ref.file}:{ref.line}" if ref.line else ref.file


def _shares(clusters: Sequence[ir.WeightedCluster]) -> tuple[Dest, ...]:
    merged: dict[tuple[str, int, str | None, bool], Fraction] = {}
    for c, share in zip(clusters, ir.weight_shares([c.weight for c in clusters]), strict=True):
        key = (c.host, c.port, c.subset, c.known)
        merged[key] = merged.get(key, Fraction(0)) + share
    return tuple(
        Dest(h, p, s, share, known) for (h, p, s, known), share in sorted(merged.items(), key=lambda kv: str(kv[0]))
    )


def outcome(decision: Decision) -> Outcome:
    """The comparable part of a decision."""
    if decision.action in ("route", "default") and decision.route is not None and decision.route.forward:
        return Outcome("forward", _shares(decision.route.forward.clusters))
    if decision.action == "redirect":
        location = decision.location or ""
        req = decision.request
        here = f"{req.scheme or 'http'}://{req.host}/"
        if location.startswith(here):
            location = location[len(here) - 1 :]
        return Outcome("redirect", status=decision.status, location=location)
    if decision.action == "direct_response":
        return Outcome("direct_response", status=decision.status)
    return Outcome("no_route", status=decision.status, reason=decision.reason)


# --- the route tables ------------------------------------------------------------------------------


@dataclass
class _Table:
    """One virtual host of one side, with where it lives."""

    context: ir.Context
    listener: ir.Listener
    chain: ir.FilterChain
    vhost: ir.VirtualHost


def _tables(ir_: ir.IR) -> dict[tuple[str, str], _Table]:
    out: dict[tuple[str, str], _Table] = {}
    for ctx in ir_.contexts:
        label = context_label(ctx)
        for li in ctx.listeners:
            for chain in li.filter_chains:
                if chain.route_config is None:
                    continue
                for vh in chain.route_config.virtual_hosts:
                    subject = vh.name if chain.name == "http" else f"{vh.name} ({chain.name})"
                    if li.address != "0.0.0.0":
                        subject += f" on {li.address}"
                    out.setdefault((label, subject), _Table(ctx, li, chain, vh))
    return out


def _tcp_chains(ir_: ir.IR) -> dict[tuple[str, str], ir.FilterChain]:
    out: dict[tuple[str, str], ir.FilterChain] = {}
    for ctx in ir_.contexts:
        label = context_label(ctx)
        for li in ctx.listeners:
            for chain in li.filter_chains:
                if chain.route_config is None:
                    out.setdefault((label, f"{chain.name} (port {li.port})"), chain)
    return out


def _vh_host(vh: ir.VirtualHost) -> tuple[str | None, int | None]:
    name, _, port = vh.name.rpartition(":")
    if name.startswith("blackhole") or "*" in name:
        return None, int(port) if port.isdigit() else None
    return name, int(port) if port.isdigit() else None


def request_host(vh: ir.VirtualHost) -> str:
    """A Host header that selects `vh`: its first exact domain, else one its wildcard accepts."""
    for d in vh.domains:
        if "*" not in d:
            return d
    d = vh.domains[0] if vh.domains else "*"
    if d == "*":
        return "any.example"
    if d.startswith("*"):
        return "any" + d[1:]
    return d[:-1] + "any"


def diff(old: Side, new: Side, *, source_namespace: str = "default") -> DiffResult:
    """Compare two compiled sides."""
    domain = new.ir.cluster_domain
    result = DiffResult(old.label, new.label, [], [], [], domain=domain)
    sections: dict[tuple[str, str], Section] = {}

    def section(key: tuple[str, str]) -> Section:
        found = sections.get(key)
        if found is None:
            found = sections[key] = Section(key[0], key[1])
        return found

    old_tables, new_tables = _tables(old.ir), _tables(new.ir)
    for key in sorted(set(old_tables) | set(new_tables)):
        a, b = old_tables.get(key), new_tables.get(key)
        sec = section(key)
        if a is None or b is None:
            present = b or a
            assert present is not None
            sec.status = "added" if a is None else "removed"
            n = len(present.vhost.routes)
            sec.changes.append(
                Change(
                    "virtual-host",
                    sec.status,
                    present.vhost.name,
                    f"virtual host {sec.status}: domains {', '.join(present.vhost.domains)}; {n} route"
                    + ("" if n == 1 else "s"),
                )
            )
        else:
            _compare_vhost(a.vhost, b.vhost, sec, domain)
            _compare_chain(a.chain, b.chain, sec)
    _probe(old, new, old_tables, new_tables, sections, section, result, source_namespace)
    old_tcp, new_tcp = _tcp_chains(old.ir), _tcp_chains(new.ir)
    for key in sorted(set(old_tcp) | set(new_tcp)):
        _compare_tcp(old_tcp.get(key), new_tcp.get(key), section(key), domain)
    _compare_clusters(old.ir, new.ir, section, domain)
    order = sorted(sections, key=lambda k: (k[0] != "mesh", k))
    result.sections = [sections[k] for k in order if not sections[k].empty()]
    for sec in result.sections:
        sec.requests.sort(key=lambda r: (r.description, r.example.text()))
    old_keys = Counter(f.key for f in old.findings)
    new_keys = Counter(f.key for f in new.findings)
    seen: Counter[tuple[Any, ...]] = Counter()
    for f in new.findings:
        seen[f.key] += 1
        if seen[f.key] > old_keys[f.key]:
            result.introduced.append(f)
    seen = Counter()
    for f in old.findings:
        seen[f.key] += 1
        if seen[f.key] > new_keys[f.key]:
            result.resolved.append(f)
    return result


# --- structure -------------------------------------------------------------------------------------


def _keyed(routes: Sequence[ir.Route]) -> list[tuple[tuple[str, int], ir.Route]]:
    counts: Counter[str] = Counter()
    out = []
    for r in routes:
        sig = route_signature(r)
        out.append(((sig, counts[sig]), r))
        counts[sig] += 1
    return out


def _compare_vhost(a: ir.VirtualHost, b: ir.VirtualHost, sec: Section, domain: str) -> None:
    host, port = _vh_host(b)

    def act(r: ir.Route) -> str:
        return _action_text(r, host, port, domain)

    if sorted(a.domains) != sorted(b.domains):
        gone = sorted(set(a.domains) - set(b.domains))
        came = sorted(set(b.domains) - set(a.domains))
        parts = ([f"added {', '.join(came)}"] if came else []) + ([f"removed {', '.join(gone)}"] if gone else [])
        sec.changes.append(Change("domains", "changed", b.name, f"domains: {'; '.join(parts)}", a.domains, b.domains))
    if a.require_tls != b.require_tls:
        change = "added" if b.require_tls else "removed"
        sec.changes.append(
            Change("https-redirect", change, b.name, f"httpsRedirect {change}", a.require_tls, b.require_tls)
        )
    old_keyed, new_keyed = _keyed(a.routes), _keyed(b.routes)
    old_map, new_map = dict(old_keyed), dict(new_keyed)
    for i, (k, r) in enumerate(old_keyed):
        if k not in new_map:
            sec.changes.append(
                Change(
                    "rule",
                    "removed",
                    rule_label(r),
                    f"rule removed (was routes[{i}]): {rule_label(r)} → {act(r)}",
                    location=_location(r),
                )
            )
    for j, (k, r) in enumerate(new_keyed):
        if k not in old_map:
            sec.changes.append(
                Change(
                    "rule",
                    "added",
                    rule_label(r),
                    f"rule added at routes[{j}]: {rule_label(r)} → {act(r)}",
                    location=_location(r),
                )
            )
    # Moves: common routes whose relative order changed (outside a longest common subsequence).
    old_common = [k for k, _ in old_keyed if k in new_map]
    new_common = [k for k, _ in new_keyed if k in old_map]
    stay = _lcs(old_common, new_common)
    old_pos = {k: i for i, (k, _) in enumerate(old_keyed)}
    new_pos = {k: j for j, (k, _) in enumerate(new_keyed)}
    for k in new_common:
        if k not in stay:
            r = new_map[k]
            sec.changes.append(
                Change(
                    "rule",
                    "moved",
                    rule_label(r),
                    f"{rule_label(r)}: moved from routes[{old_pos[k]}] to routes[{new_pos[k]}]",
                    old_pos[k],
                    new_pos[k],
                    _location(r),
                )
            )
    for k, r_new in new_keyed:
        r_old = old_map.get(k)
        if r_old is not None:
            _compare_route(r_old, r_new, sec, host, port, domain)


def _lcs(a: list[Any], b: list[Any]) -> set[Any]:
    """Items of a longest common subsequence of `a` and `b` (items are unique in each)."""
    if a == b:
        return set(a)
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    out: set[Any] = set()
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.add(a[i])
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _action_text(r: ir.Route, host: str | None = None, port: int | None = None, domain: str = "cluster.local") -> str:
    if r.action == "redirect" and r.redirect is not None:
        return "redirect " + _redirect_text(r.redirect)
    if r.action == "direct_response" and r.direct_response is not None:
        return f"direct response {r.direct_response.status}"
    if r.forward is not None:
        return Outcome("forward", _shares(r.forward.clusters)).text(host, port, domain)
    return r.action


def _redirect_text(rd: ir.Redirect) -> str:
    parts = []
    if rd.scheme:
        parts.append(f"scheme {rd.scheme}")
    if rd.authority:
        parts.append(f"authority {rd.authority}")
    if rd.port:
        parts.append(f"port {rd.port}")
    if rd.path:
        parts.append(f"path {rd.path}")
    return f"{rd.code}" + (f" ({', '.join(parts)})" if parts else "")


def _fault_text(f: ir.Fault) -> str:
    parts = []
    if f.delay is not None:
        parts.append(f"delay {f.delay.fixed_delay} for {f.delay.percentage:g}%")
    if f.abort is not None:
        status = f.abort.http_status if f.abort.http_status is not None else f"grpc {f.abort.grpc_status}"
        parts.append(f"abort {status} for {f.abort.percentage:g}%")
    return ", ".join(parts) or "empty"


def _retries_text(r: ir.RetryPolicy) -> str:
    text = f"{r.attempts} attempts on {','.join(r.retry_on)}"
    if r.per_try_timeout:
        text += f", {r.per_try_timeout} per try"
    if r.is_default:
        text += " (Istio default)"
    return text


def _rewrite_text(rw: ir.Rewrite) -> str:
    parts = []
    if rw.uri is not None:
        parts.append(f"uri {rw.uri}")
    if rw.uri_regex is not None:
        parts.append(f"uri regex {rw.uri_regex} → {rw.uri_regex_substitution}")
    if rw.authority is not None:
        parts.append(f"authority {rw.authority}")
    return ", ".join(parts)


def _generic_text(data: Any) -> str:
    if data is None:
        return "none"
    if isinstance(data, dict):
        return ", ".join(f"{k} {_generic_text(v)}" for k, v in data.items()) or "{}"
    if isinstance(data, list):
        return "[" + "; ".join(_generic_text(v) for v in data) + "]"
    return str(data)


def _feature(
    sec: Section, kind: str, label: str, subject: str, old: Any, new: Any, text: Any, location: str | None
) -> None:
    """Report one route feature added, removed or changed (None: not set)."""
    po, pn = _plain(old), _plain(new)
    if po == pn:
        return
    if old is None:
        change, what = "added", f"{label} added: {text(new)}"
    elif new is None:
        change, what = "removed", f"{label} removed (was {text(old)})"
    else:
        change, what = "changed", f"{label} {text(old)} → {text(new)}"
    sec.changes.append(Change(kind, change, subject, f"{subject}: {what}", po, pn, location))


def _compare_route(a: ir.Route, b: ir.Route, sec: Section, host: str | None, port: int | None, domain: str) -> None:
    subject = rule_label(b)
    loc = _location(b)
    if a.action != b.action:
        sec.changes.append(
            Change(
                "action",
                "changed",
                subject,
                f"{subject}: {_action_text(a, host, port, domain)} → {_action_text(b, host, port, domain)}",
                a.action,
                b.action,
                loc,
            )
        )
    fa, fb = a.forward, b.forward
    if fa is not None and fb is not None:
        sa, sb = _shares(fa.clusters), _shares(fb.clusters)
        if sa != sb:
            sec.changes.append(
                Change(
                    "weights",
                    "changed",
                    subject,
                    f"{subject}: weights {Outcome('forward', sa).text(host, port, domain)} → "
                    f"{Outcome('forward', sb).text(host, port, domain)}",
                    [_plain_dest(d) for d in sa],
                    [_plain_dest(d) for d in sb],
                    loc,
                )
            )
        _feature(sec, "timeout", "timeout", subject, fa.timeout, fb.timeout, str, loc)
        _feature(sec, "retries", "retries", subject, fa.retries, fb.retries, _retries_text, loc)
        _feature(sec, "rewrite", "rewrite", subject, fa.rewrite, fb.rewrite, _rewrite_text, loc)
        _feature(
            sec, "mirror", "mirror", subject, fa.mirrors or None, fb.mirrors or None, lambda m: _mirrors_text(m), loc
        )
        _feature(
            sec,
            "hash-policy",
            "hash policy",
            subject,
            fa.hash_policy or None,
            fb.hash_policy or None,
            lambda h: _generic_text(_plain(h)),
            loc,
        )
        ha = [(c.cluster, _plain(c.request_headers), _plain(c.response_headers), c.host_rewrite) for c in fa.clusters]
        hb = [(c.cluster, _plain(c.request_headers), _plain(c.response_headers), c.host_rewrite) for c in fb.clusters]
        if sorted(map(_canon, ha)) != sorted(map(_canon, hb)) and sa == sb:
            sec.changes.append(
                Change(
                    "headers", "changed", subject, f"{subject}: per-destination header operations changed", ha, hb, loc
                )
            )
    _feature(sec, "redirect", "redirect", subject, a.redirect, b.redirect, _redirect_text, loc)
    _feature(
        sec,
        "direct-response",
        "direct response",
        subject,
        a.direct_response,
        b.direct_response,
        lambda d: f"{d.status}" + (f" {d.body!r}" if d.body else ""),
        loc,
    )
    _feature(sec, "fault", "fault", subject, a.fault, b.fault, _fault_text, loc)
    _feature(sec, "cors", "CORS", subject, a.cors, b.cors, lambda c: _generic_text(_plain(c)), loc)
    for label, oa, ob in (
        ("request headers", a.request_headers, b.request_headers),
        ("response headers", a.response_headers, b.response_headers),
    ):
        ea = oa if (oa.set or oa.add or oa.remove) else None
        eb = ob if (ob.set or ob.add or ob.remove) else None
        _feature(sec, "headers", label, subject, ea, eb, lambda o: _generic_text(_plain(o)), loc)


def _mirrors_text(mirrors: list[ir.Mirror]) -> str:
    return ", ".join(
        f"{short_host(m.host)}:{m.port}" + (f" subset {m.subset}" if m.subset else "") + f" {m.percentage:g}%"
        for m in mirrors
    )


def _plain_dest(d: Dest) -> dict[str, Any]:
    return {"host": d.host, "port": d.port, "subset": d.subset, "weight": round(float(d.share) * 100, 4)}


def _compare_chain(a: ir.FilterChain, b: ir.FilterChain, sec: Section) -> None:
    ta, tb = _plain(a.tls), _plain(b.tls)
    if ta != tb:
        sec.changes.append(
            Change(
                "server-tls",
                "changed",
                b.name,
                f"gateway server TLS: {_generic_text(ta)} → {_generic_text(tb)}",
                ta,
                tb,
            )
        )
    if a.https_redirect != b.https_redirect:
        change = "added" if b.https_redirect else "removed"
        sec.changes.append(Change("https-redirect", change, b.name, f"httpsRedirect {change}"))


def _tcp_key(r: ir.TcpRoute) -> str:
    vs = f"{r.origin.namespace}/{r.origin.name}" if r.origin is not None else "-"
    return _canon([vs, r.sni_hosts, r.destination_subnets])


def _compare_tcp(a: ir.FilterChain | None, b: ir.FilterChain | None, sec: Section, domain: str) -> None:
    ra = {_tcp_key(r): r for r in (a.tcp_routes if a else [])}
    rb = {_tcp_key(r): r for r in (b.tcp_routes if b else [])}

    def label(r: ir.TcpRoute) -> str:
        vs = f"{r.origin.namespace}/{r.origin.name} " if r.origin is not None else ""
        cond = []
        if r.sni_hosts:
            cond.append(f"sni {', '.join(r.sni_hosts)}")
        if r.destination_subnets:
            cond.append(f"destination {', '.join(r.destination_subnets)}")
        return f"{vs}{r.id.split('/')[2] if r.origin else ''} route: " + (" and ".join(cond) or "every connection")

    for k in sorted(set(ra) | set(rb)):
        x, y = ra.get(k), rb.get(k)
        if x is None and y is not None:
            text = Outcome("forward", _shares(y.clusters)).text(domain=domain)
            sec.changes.append(Change("tcp-route", "added", label(y), f"{label(y)} added → {text}"))
        elif y is None and x is not None:
            text = Outcome("forward", _shares(x.clusters)).text(domain=domain)
            sec.changes.append(Change("tcp-route", "removed", label(x), f"{label(x)} removed (was → {text})"))
        elif x is not None and y is not None and _shares(x.clusters) != _shares(y.clusters):
            old = Outcome("forward", _shares(x.clusters)).text(domain=domain)
            new = Outcome("forward", _shares(y.clusters)).text(domain=domain)
            sec.changes.append(Change("tcp-route", "changed", label(y), f"{label(y)}: {old} → {new}"))
    # A chain that appears or disappears with no routes is reported by its routes only.


_POLICY = (
    ("subset_labels", "subset labels"),
    ("load_balancer", "load balancer"),
    ("connection_pool", "connection pool"),
    ("outlier_detection", "outlier detection"),
    ("tls", "upstream TLS"),
)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: data}


def _value_text(v: Any) -> str:
    if v is None:
        return "unset"
    if v == ir.UNLIMITED:
        return "unlimited"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "[]"
    return str(v)


def _policy_delta(a: Any, b: Any) -> str:
    if a is None:
        return "added: " + ", ".join(f"{k} {_value_text(v)}" for k, v in _flat(b).items() if k)
    if b is None:
        return "removed"
    fa, fb = _flat(a), _flat(b)
    parts = []
    for k in list(fa) + [k for k in fb if k not in fa]:
        if fa.get(k) != fb.get(k):
            parts.append(f"{k or 'value'} {_value_text(fa.get(k))} → {_value_text(fb.get(k))}")
    return ", ".join(parts)


def _compare_clusters(old: ir.IR, new: ir.IR, section: Any, domain: str) -> None:
    olds = {context_label(c): c for c in old.contexts}
    for ctx in new.contexts:
        label = context_label(ctx)
        octx = olds.get(label)
        if octx is None:
            continue
        before = {c.name: c for c in octx.clusters}
        grouped: dict[tuple[str, int, str, str], list[tuple[ir.Cluster, Any, Any]]] = {}
        for c in ctx.clusters:
            o = before.get(c.name)
            if o is None:
                continue
            for attr, _ in _POLICY:
                pa, pb = _plain(getattr(o, attr)), _plain(getattr(c, attr))
                if attr == "subset_labels":
                    pa, pb = pa or None, pb or None
                if pa != pb:
                    grouped.setdefault((c.host, c.port, attr, _canon([pa, pb])), []).append((c, pa, pb))
        for (host, port, attr, _), items in sorted(grouped.items()):
            words = dict(_POLICY)[attr]
            subsets = [c.subset or "(no subset)" for c, _, _ in items]
            subject = ("subsets " if len(subsets) > 1 else "subset ") + ", ".join(subsets)
            if subsets == ["(no subset)"]:
                subject = "the service (no subset)"
            _, pa, pb = items[0]
            change = "added" if pa is None else ("removed" if pb is None else "changed")
            sec = section((label, f"{host}:{port}"))
            sec.changes.append(
                Change(
                    "policy",
                    change,
                    subject,
                    f"{subject}: {words} {_policy_delta(pa, pb)}",
                    pa,
                    pb,
                    clusters=[c.name for c, _, _ in items],
                )
            )


# --- requests --------------------------------------------------------------------------------------


def _probe(
    old: Side,
    new: Side,
    old_tables: dict[tuple[str, str], _Table],
    new_tables: dict[tuple[str, str], _Table],
    sections: dict[tuple[str, str], Section],
    section: Any,
    result: DiffResult,
    source_namespace: str,
) -> None:
    domain = new.ir.cluster_domain
    seen: set[tuple[Any, ...]] = set()
    notes: set[str] = set()
    for key in sorted(set(old_tables) | set(new_tables)):
        a, b = old_tables.get(key), new_tables.get(key)
        table = b or a
        assert table is not None
        matches: dict[str, ir.RouteMatch] = {}
        for t in (a, b):
            if t is None:
                continue
            for r in t.vhost.routes:
                matches.setdefault(_canon(_plain(r.match)), r.match)
        blocks = [matches[k] for k in sorted(matches)]
        probes: list[Probe] = [Probe()]
        for m in blocks:
            p = witness([m])
            if p is None:
                notes.add(f"no example request for the match `{' and '.join(conditions(m))}`: not probed")
            else:
                probes.append(p)
        if len(blocks) <= PAIR_LIMIT:
            for i in range(len(blocks)):
                for j in range(i + 1, len(blocks)):
                    p = witness([blocks[i], blocks[j]])
                    if p is not None:
                        probes.append(p)
        else:
            notes.add(
                f"{key[1]} ({key[0]}) has {len(blocks)} distinct match blocks: overlaps of pairs of blocks not probed"
            )
        host = request_host(table.vhost)
        port = table.listener.port
        gateway = "mesh" if table.context.kind == "sidecar" else _gateway_ref(table.context)
        vh_host, vh_port = _vh_host(table.vhost)
        any_specific = any(not r.catch_all for t in (a, b) if t is not None for r in t.vhost.routes)
        found: dict[tuple[Any, ...], RequestChange] = {}
        for p in probes:
            ident = (key[0], host, port, p)
            if ident in seen:
                continue
            seen.add(ident)
            req = p.request(host, port, gateway=gateway, source_namespace=source_namespace)
            d_old = simulate(old.ir, req, trace=False)
            d_new = simulate(new.ir, req, trace=False)
            o_old, o_new = outcome(d_old), outcome(d_new)
            if o_old.key() == o_new.key():
                continue
            conds = _selecting_conditions(d_old, d_new)
            if conds:
                desc = " and ".join(conds)
            else:
                desc = "requests no other rule matches" if any_specific else "all requests"
            entry_key = (desc, o_old.key(), o_new.key())
            if entry_key not in found:
                found[entry_key] = RequestChange(desc, conds, p, o_old, o_new)
        if found:
            sec = section(key)
            changes = list(found.values())
            # Same description, different outcomes: name the example so the lines can be told apart.
            counts = Counter(c.description for c in changes)
            for c in changes:
                if counts[c.description] > 1:
                    c.description += f" (e.g. {c.example.text()})"
            for c in changes:
                c.old_text = c.old.text(vh_host, vh_port, domain)
                c.new_text = c.new.text(vh_host, vh_port, domain)
            sec.requests.extend(changes)
    result.notes = sorted(notes)


def _gateway_ref(ctx: ir.Context) -> str:
    g = sorted(ctx.gateways, key=lambda o: (o.namespace, o.name))[0]
    return f"{g.namespace}/{g.name}"


def _selecting_conditions(d_old: Decision, d_new: Decision) -> list[str]:
    """Conditions of the blocks that select the request on the new side, then on the old side."""
    out: list[str] = []
    for d in (d_new, d_old):
        if d.route is not None:
            for c in conditions(d.route.match):
                if c not in out:
                    out.append(c)
    return out


# --- output ----------------------------------------------------------------------------------------


def to_json(result: DiffResult) -> dict[str, Any]:
    """The diff as plain data (the shape is documented in the README)."""
    return {
        "old": result.old,
        "new": result.new,
        "changed": result.changed,
        "hosts": [
            {
                "context": s.context,
                "host": s.subject,
                "status": s.status,
                "requests": [
                    {
                        "description": r.description,
                        "conditions": r.conditions,
                        "example": r.example.to_dict(),
                        "old": r.old.to_dict() | {"text": r.old_text},
                        "new": r.new.to_dict() | {"text": r.new_text},
                    }
                    for r in s.requests
                ],
                "changes": [c.to_dict() for c in s.changes],
            }
            for s in result.sections
        ],
        "lint": {
            "introduced": [f.to_dict() for f in result.introduced],
            "resolved": [f.to_dict() for f in result.resolved],
        },
        "notes": result.notes,
    }


_MARK = {"added": "+", "removed": "-", "changed": "~", "moved": "↕"}
_STYLE = {"added": "added", "removed": "removed", "changed": "changed", "moved": "moved"}
"""Styles of meshc.display.PALETTE."""


def _summary(result: DiffResult) -> str:
    if not result.changed:
        return "No routing changes."
    hosts = len(result.sections)
    reqs = sum(len(s.requests) for s in result.sections)
    changes = sum(len(s.changes) for s in result.sections)
    return (
        f"Routing changed: {hosts} host{'s' if hosts != 1 else ''}, "
        f"{reqs} kind{'s' if reqs != 1 else ''} of request{'s' if reqs != 1 else ''} change destination, "
        f"{changes} rule or policy change{'s' if changes != 1 else ''}."
    )


def _lint_summary(result: DiffResult) -> str:
    return f"Lint: {len(result.introduced)} introduced, {len(result.resolved)} resolved."


def to_text(result: DiffResult, *, color: bool = False, width: int = 80) -> str:
    """Plain text wrapped to `width`, continuation lines indented under their item (colours only with `color`)."""
    from meshc.display import Text, render, wrap

    lines: list[Text] = []

    def line(text: str, style: str | None = None, indent: str = "", hang: str = "") -> None:
        lines.extend(wrap(Text(text, style), width, indent, indent + hang))

    line(f"meshc diff {result.old} → {result.new}", "heading", hang="  ")
    for s in result.sections:
        line("")
        status = "" if s.status == "changed" else f" ({s.status})"
        line(f"{s.context} › {s.subject}{status}", "heading", hang="  ")
        if s.requests:
            line("requests that change destination:", indent="  ")
            for r in s.requests:
                line(f"{r.description}: {r.old_text} → {r.new_text}", "changed", "    ", "  ")
        for c in s.changes:
            where = f"  ({c.location})" if c.location else ""
            line(f"{_MARK[c.change]} {c.text}{where}", _STYLE[c.change], "  ", "  ")
    if result.introduced or result.resolved:
        line("")
        line("lint findings:", "heading")
        for f in result.introduced:
            line(f"+ introduced: {f.text()}", "fail", "  ", "  ")
        for f in result.resolved:
            line(f"- resolved: {f.text()}", "ok", "  ", "  ")
    for n in result.notes:
        line("")
        line(f"note: {n}", "note", hang="  ")
    line("")
    line(_summary(result), "heading")
    line(_lint_summary(result), "heading")
    return render(lines, color=color)


def _md_escape(text: str) -> str:
    """Text safe in a Markdown table cell or list item: one line, no HTML, no table breaks, no emphasis.

    Control characters (CR and LF included) are first shown as escapes (display.escape), so no
    value can end a table row or a list item, then Markdown's own syntax is backslash-escaped.
    """
    from meshc.display import escape

    out = escape(text).replace("\\", "\\\\").replace("|", "\\|")
    for ch in "`*_[]<>#~!":
        out = out.replace(ch, "\\" + ch)
    return out


def to_markdown(result: DiffResult) -> str:
    """Markdown for a pull-request comment (no line can start a CI workflow command: display.guard)."""
    from meshc.display import guard

    out: list[str] = ["### meshc diff", ""]
    out.append(f"{_md_escape(result.old)} → {_md_escape(result.new)}")
    out.append("")
    out.append(f"**{_md_escape(_summary(result))}**")
    out.append("")
    for s in result.sections:
        status = "" if s.status == "changed" else f" ({s.status})"
        out.append(f"#### {_md_escape(s.context)} › {_md_escape(s.subject)}{status}")
        out.append("")
        if s.requests:
            out.append("| requests | before | after |")
            out.append("| --- | --- | --- |")
            for r in s.requests:
                out.append(f"| {_md_escape(r.description)} | {_md_escape(r.old_text)} | {_md_escape(r.new_text)} |")
            out.append("")
        for c in s.changes:
            where = f" ({_md_escape(c.location)})" if c.location else ""
            out.append(f"- **{c.change}**: {_md_escape(c.text)}{where}")
        if s.changes:
            out.append("")
    if result.introduced or result.resolved:
        out.append("#### lint findings")
        out.append("")
        for f in result.introduced:
            out.append(f"- **introduced**: {_md_escape(f.text())}")
        for f in result.resolved:
            out.append(f"- **resolved**: {_md_escape(f.text())}")
        out.append("")
    if result.notes:
        out.append("<details><summary>notes</summary>")
        out.append("")
        for n in result.notes:
            out.append(f"- {_md_escape(n)}")
        out.append("")
        out.append("</details>")
        out.append("")
    out.append(f"_{_md_escape(_lint_summary(result))}_")
    return "\n".join(guard(line) for line in out) + "\n"


def compare_paths(
    old: Sequence[str],
    new: Sequence[str],
    options: Options,
    *,
    source_namespace: str = "default",
    stdin: bytes | None = None,
) -> DiffResult:
    """`meshc diff OLD NEW` (`stdin`: the bytes of a side given as `-`)."""
    a = load_side(old, options, " ".join(old), source_namespace, stdin=stdin)
    b = load_side(new, options, " ".join(new), source_namespace, stdin=stdin)
    return diff(a, b, source_namespace=source_namespace)


def compare_base(
    rev: str, paths: Sequence[str], options: Options, *, source_namespace: str = "default", stdin: bytes | None = None
) -> DiffResult:
    """`meshc diff --base REV PATHS`: PATHS at REV against the working tree."""
    a = load_base(rev, paths, options, source_namespace)
    b = load_side(paths, options, "working tree " + " ".join(paths), source_namespace, stdin=stdin)
    return diff(a, b, source_namespace=source_namespace)


def paths_exist(paths: Sequence[str]) -> str | None:
    """The first path that does not exist, if any."""
    for p in paths:
        if p != "-" and not Path(p).exists():
            return p
    return None
