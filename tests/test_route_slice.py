"""`meshc route` compiles only the slice of the mesh a request needs: it must answer as the full IR does.

For every golden case (tests/cases/*), every virtual host of the full compile (`meshc compile
--target ir`), every domain of it, and a witness request of every route (`meshc.witness`), plus a
host no virtual host serves: the decision `meshc route` gives (`route.explain`, a narrowed compile)
equals the decision the simulator takes on the full IR, field for field of the JSON answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from meshc import ir
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.pipeline import Loaded, load
from meshc.route import Explanation, RouteError, explain, to_json
from meshc.simulate import Request, simulate
from meshc.witness import Probe, witness

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
ALL = sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").is_file())
UNSERVED = "unserved.meshc.invalid"


def _gateway(ctx: ir.Context) -> str:
    if ctx.kind == "sidecar":
        return "mesh"
    g = sorted(ctx.gateways, key=lambda o: (o.namespace, o.name))[0]
    return f"{g.namespace}/{g.name}"


def requests(full: ir.IR, namespace: str, labels: Mapping[str, str] | None = None) -> Iterator[Request]:
    """Every request the slice must answer like the full IR: witnesses of every route on every domain."""
    for ctx in full.contexts:
        gateway = _gateway(ctx)
        for listener in ctx.listeners:
            for chain in listener.filter_chains:
                if chain.route_config is None:
                    continue
                hosts = {UNSERVED}
                probes = {Probe()}
                for vh in chain.route_config.virtual_hosts:
                    hosts.update(d.replace("*", "any") if d != "*" else "any.example" for d in vh.domains)
                    probes.update(p for r in vh.routes if (p := witness([r.match])) is not None)
                for host in sorted(hosts):
                    for p in sorted(probes, key=repr):
                        req = p.request(host, listener.port, gateway=gateway, source_namespace=namespace)
                        req.source_labels = dict(labels or {})
                        yield req


def _copy(req: Request) -> Request:
    return replace(req, headers=list(req.headers), source_labels=dict(req.source_labels), claims=dict(req.claims))


def answer(exp: Explanation) -> dict[str, Any]:
    """The JSON answer without the compile notes (a slice notes only what it compiled)."""
    out = to_json(exp)
    out.pop("notes")
    return out


def compare(loaded: Loaded, full: ir.IR, req: Request) -> str | None:
    """None when the slice and the full IR agree on `req`, else what differs."""
    whole = simulate(full, _copy(req))
    try:
        sliced = explain(loaded, _copy(req))
    except RouteError as exc:
        # `meshc route` refuses a host no virtual host of the gateway serves: so must the full IR.
        if whole.virtual_host is None:
            return None
        return f"route refused ({exc}) but the full IR answers through {whole.virtual_host.name}"
    a, b = answer(sliced), answer(Explanation(whole, full, full.notes))
    if a == b:
        return None
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "; ".join(f"{k}: slice {a.get(k)!r} != full {b.get(k)!r}" for k in keys)


def check(
    loaded: Loaded, full: ir.IR, namespace: str = "default", labels: Mapping[str, str] | None = None
) -> tuple[int, list[str]]:
    """(requests compared, disagreements) for a client of `namespace` with `labels`."""
    count, bad = 0, []
    for req in requests(full, namespace, labels):
        count += 1
        why = compare(loaded, full, req)
        if why is not None:
            bad.append(f"{req.gateway} {req.host}:{req.port}{req.path}: {why}")
    return count, bad


@pytest.mark.parametrize("case", ALL)
def test_route_answers_like_the_full_ir(case: str) -> None:
    loaded = load([str(CASES / case / "input.yaml")], Options())
    full = compile_mesh(loaded.mesh)
    count, bad = check(loaded, full)
    assert count > 0 or not full.contexts
    assert not bad, f"{len(bad)} of {count} requests differ:\n" + "\n".join(bad[:20])
