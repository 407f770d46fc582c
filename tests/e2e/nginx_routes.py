"""Differential checks: what the real nginx does with a request vs what `meshc route` predicts.

The scenarios are backend-neutral: a folder with `input.yaml` and `requests.yaml` (a list of
`meshc route` argument strings), as in `tests/cases/`. For each request, `meshc route --format json`
gives the prediction (context, listener port, action, destinations, status, Location); the same
input is compiled with `--target nginx` for that client context, every cluster is pointed at its own
upstream stub (tests/e2e/stubs.py), nginx runs on 127.0.0.1, and the request is sent as described
(Host, path, method, headers). The stub that answered, or nginx's own status, must be the one
predicted. A request `meshc route` refuses (an unknown host, a port it cannot choose) is sent too,
on every HTTP port of the client's proxy: where route answers for that port, as predicted; where it
still refuses, nginx must find no virtual host for it (404 from nginx itself).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshc import ir
from meshc.backends import nginx as backend
from meshc.cli import main
from meshc.compile import Scope, compile_mesh
from meshc.config import Options
from meshc.pipeline import load
from tests.e2e import nginx as ngx
from tests.e2e import stubs

UNEXPRESSIBLE = {"MC451", "MC452", "MC455", "MC464"}
"""Gap codes whose routes nginx answers differently by design (a gRPC abort, JWT claims, source
matches, header names nginx cannot read); requests whose decision involves them are skipped and
listed (`Outcome.skipped`), never silently passed. A delay (MC450) changes timing, not the route,
so those requests are checked."""


@dataclass
class Outcome:
    """Results of one scenario."""

    checked: int = 0
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def glob_literal(name: str) -> str:
    """A cluster name as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def requests_of(folder: Path) -> list[list[str]]:
    data = yaml.safe_load((folder / "requests.yaml").read_text(encoding="utf-8")) or []
    return [shlex.split(item) for item in data]


def predict(input_path: str, args: list[str], capsys: Any) -> dict[str, Any] | None:
    """`meshc route --format json` for one request; None when meshc refuses it (exit code != 0)."""
    capsys.readouterr()
    code = main(["route", input_path, *args, "--format", "json"])
    out, _ = capsys.readouterr()
    return json.loads(out) if code == 0 else None


def without_decision(input_path: str, args: list[str], capsys: Any) -> list[tuple[list[str], dict[str, Any]]]:
    """A request `meshc route` refuses, on each HTTP port of its proxy: route's answer there, else no_route."""
    parser = argparse.ArgumentParser(add_help=False)
    for flag in ("--host", "--port", "--gateway", "--source-namespace", "--path", "--method"):
        parser.add_argument(flag)
    parser.add_argument("--source-labels", action="append", default=[])
    known, _ = parser.parse_known_args(args)
    namespace = known.source_namespace or "default"
    labels = dict(pair.split("=", 1) for pair in known.source_labels)
    gateway = known.gateway or "mesh"
    compiled = compile_mesh(load([input_path], Options()).mesh, Scope(namespace, labels))
    contexts = [
        c
        for c in compiled.contexts
        if (c.kind == "sidecar") == (gateway == "mesh")
        and (gateway == "mesh" or any(f"{g.namespace}/{g.name}" == gateway or g.name == gateway for g in c.gateways))
    ]
    out = []
    for ctx in contexts:
        for lst in ctx.listeners:
            if not _http(lst) or (known.port is not None and int(known.port) != lst.port):
                continue
            with_port = [*args, "--port", str(lst.port)] if known.port is None else args
            pred = predict(input_path, with_port, capsys)
            if pred is None:
                request = {"host": known.host, "port": lst.port, "path": known.path or "/"}
                request |= {"method": known.method or "GET", "headers": {}, "scheme": None}
                request |= {"source_namespace": namespace, "source_labels": labels}
                pred = {"context": ctx.name, "listener": lst.name, "action": "no_route", "status": 404}
                pred |= {"request": request, "trace": []}
            out.append((with_port, pred))
    return out


@contextlib.contextmanager
def deployed(
    input_path: str, context: str, namespace: str, labels: dict[str, str]
) -> Iterator[tuple[Any, dict[int, int], list[Any]]]:
    """Nginx running the compiled input for one client context; yields (stubs, port map, diagnostics)."""
    loaded = load([input_path], Options())
    compiled = compile_mesh(loaded.mesh, Scope(namespace, labels))
    ctx = compiled.context(context)
    assert ctx is not None, f"context {context} is not in the compiled IR"
    names = sorted({cl.name for cl in ctx.clusters})
    listening = (lst.port for lst in ctx.listeners if lst.name != ir.VIRTUAL_OUTBOUND)  # iptables' listener only
    with ngx.Sockets(listening) as sockets, stubs.running(*names) as running:
        ports = sockets.port_map()
        opts = backend.NginxOptions(
            bind="127.0.0.1",
            port_map=ports,
            contexts=[context],
            upstreams=[(glob_literal(n), [backend.Address("127.0.0.1", running[n].port)]) for n in names],
        )
        text, diags = backend.render(compiled, opts)
        with ngx.running(text, sockets):
            yield running, ports, diags


def _http(lst: ir.Listener) -> bool:
    return any(c.protocol == "HTTP" and c.route_config is not None for c in lst.filter_chains)


def check_response(pred: dict[str, Any], resp: ngx.Response) -> str | None:
    """None when nginx did what was predicted, else why not."""
    action = pred["action"]
    fault = (pred.get("fault") or {}).get("abort")
    if fault and fault.get("http_status") and fault["percentage"] > 0:
        if resp.status == fault["http_status"] and resp.stub is None:
            return None
        if fault["percentage"] >= 100:
            return f"expected the abort {fault['http_status']}, got {resp.status} from {resp.stub}"
    if action in ("route", "default"):
        known = [d["cluster"] for d in pred["destinations"] if d["known"] and d["share"] > 0]
        if not known:
            return None if resp.status == 503 and resp.stub is None else f"expected 503, got {resp.status}"
        if resp.stub not in known:
            return f"expected a stub in {known}, got {resp.stub} (status {resp.status})"
        rw = pred.get("rewrite")
        if rw and rw.get("path"):
            echo = resp.json()
            got = echo["path"] + (f"?{echo['query']}" if echo["query"] else "")
            if got != rw["path"]:
                return f"expected the upstream to see {rw['path']!r}, it saw {got!r}"
        return None
    if action == "redirect":
        want = pred["redirect"]
        if resp.status != want["code"] or resp.headers.get("location") != want["location"]:
            return f"expected {want['code']} to {want['location']}, got {resp.status} to {resp.headers.get('location')}"
        return None
    if action == "direct_response":
        want = pred["direct_response"]
        if resp.status != want["status"] or resp.stub is not None:
            return f"expected a direct {want['status']}, got {resp.status} from {resp.stub}"
        if want.get("body") is not None and resp.body.decode("utf-8", "replace") != want["body"]:
            return f"expected the body {want['body']!r}, got {resp.body[:80]!r}"
        return None
    if action == "no_route":
        status = pred.get("status") or 404
        if resp.status != status or resp.stub is not None:
            return f"expected {status} from nginx, got {resp.status} from {resp.stub}"
        return None
    return f"unknown action {action}"


def gap_codes_for(pred: dict[str, Any], diags: list[Any], input_path: str) -> set[str]:
    """Gap codes reported on the rules the decision went through (tried before, or taken)."""
    rules = {t["rule"] for t in pred.get("trace", []) if t.get("rule") is not None and not t.get("removed")}
    out = set()
    for d in diags:
        if d.code in UNEXPRESSIBLE and d.field and d.span.path.endswith(Path(input_path).name):
            for r in rules:
                if d.field.startswith(f"spec.http[{r}]"):
                    out.add(d.code)
    return out


def run_scenario(folder: Path, capsys: Any) -> Outcome:
    """Every request of a scenario folder against nginx; the outcome lists the failures."""
    input_path = str(folder / "input.yaml")
    outcome = Outcome()
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[tuple[list[str], dict[str, Any]]]] = {}
    for args in requests_of(folder):
        pred = predict(input_path, args, capsys)
        if pred is not None and pred.get("context") is not None:
            predicted = [(args, pred)]
        else:
            predicted = without_decision(input_path, args, capsys)
            if not predicted:
                outcome.failures.append(f"{folder.name}: {shlex.join(args)}: no decision and no HTTP port to try")
        for args_, pred_ in predicted:
            req = pred_["request"]
            key = (pred_["context"], req["source_namespace"], tuple(sorted(req["source_labels"].items())))
            groups.setdefault(key, []).append((args_, pred_))
    for (context, namespace, labels), items in sorted(groups.items()):
        with deployed(input_path, context, namespace, dict(labels)) as (_, ports, diags):
            for args, pred in items:
                req = pred["request"]
                chain = (pred.get("filter_chain") or {}).get("protocol")
                if pred["listener"] in (None, ir.VIRTUAL_OUTBOUND) or req["port"] not in ports or chain != "HTTP":
                    # virtualOutbound and TCP proxy chains are not written for nginx (HTTP servers only).
                    outcome.skipped.append(f"{shlex.join(args)}: no HTTP listener")
                    continue
                if req.get("scheme") == "https":
                    outcome.skipped.append(f"{shlex.join(args)}: HTTPS is not written for nginx (MC463)")
                    continue
                if any(v == "" for v in req["headers"].values()):
                    outcome.skipped.append(f"{shlex.join(args)}: an empty header value (nginx sees none, MC470)")
                    continue
                gaps = gap_codes_for(pred, diags, input_path)
                if gaps:
                    outcome.skipped.append(f"{shlex.join(args)}: nginx gap {', '.join(sorted(gaps))}")
                    continue
                headers = [(k, v) for k, v in req["headers"].items()]
                resp = ngx.request(
                    ports[req["port"]], req["path"], host=req["host"], method=req["method"], headers=headers
                )
                outcome.checked += 1
                problem = check_response(pred, resp)
                if problem:
                    outcome.failures.append(f"{folder.name}: {shlex.join(args)}: {problem}")
    return outcome
