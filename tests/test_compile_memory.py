"""`meshc compile` writes its output in pieces, without the data they are made of, and without the Mesh.

Deterministic guards of issue 18's memory row (no timing): a target's `write` hands out the same
text as `render`, and for Envoy holds far less than that text while writing (the bootstrap's
long lists are made while they are written); `compile_target` drops the Mesh and its models
before the output is made; the IR holds once what many routes and clusters share.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from meshc import backends, build, ir
from meshc.compile import compile_mesh
from meshc.config import Options
from meshc.ir import IR, Items, dump_yaml, write_json
from meshc.mesh import Mesh
from meshc.pipeline import load


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "c.yaml"
    path.write_text(generate(300, findings=0.333), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compiled(corpus: Path) -> IR:
    return compile_mesh(load([str(corpus)], Options()).mesh)


@pytest.mark.parametrize("target", ["ir", "envoy", "nginx"])
def test_write_gives_render_s_text_in_pieces(target: str, compiled: IR) -> None:
    chosen = backends.get(target)
    text, diags = chosen.render(compiled, chosen.options(backends.Flags()))
    pieces: list[str] = []
    assert chosen.write(compiled, chosen.options(backends.Flags()), pieces.append) == diags
    assert "".join(pieces) == text
    assert max(len(p) for p in pieces) < len(text) / 4


def test_the_envoy_bootstrap_is_written_without_being_held(compiled: IR) -> None:
    """Before: the bootstrap as data, then its text: 4.7 times the text at its peak (0.6 now)."""
    envoy = backends.get("envoy")
    size = 0

    def count(piece: str) -> None:
        nonlocal size
        size += len(piece)

    tracemalloc.start()
    try:
        envoy.write(compiled, envoy.options(backends.Flags()), count)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 2_000_000
    assert peak < size


def test_items_are_written_as_lists() -> None:
    data = {"a": [1, {"b": [2]}], "c": [], "d": {"e": [{"f": 1}, [2, 3]]}}

    def lazy(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: lazy(v) for k, v in value.items()}
        if isinstance(value, list):
            return Items(lazy(v) for v in value)
        return value

    assert dump_yaml(lazy(data), "# x\n") == dump_yaml(data, "# x\n")
    pieces: list[str] = []
    write_json(lazy(data), pieces.append)
    assert "".join(pieces) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_compile_drops_the_mesh_before_writing(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = backends.get("envoy")
    alive: list[int] = []

    def write(ir: IR, options: Any, out: Any) -> Any:
        alive.append(sum(isinstance(o, Mesh) for o in gc.get_objects()))
        return real.write(ir, options, out)

    monkeypatch.setattr(backends, "get", lambda name: dataclasses.replace(real, write=write))
    result = build.compile_target([str(corpus)], "envoy", backends.Flags(), options=Options())
    assert result.body is not None
    assert alive == [0]


def _ir_objects(compiled: IR) -> list[Any]:
    """Every object the IR holds (its origins' documents left out), each once."""
    seen: set[int] = set()
    out: list[Any] = []
    stack: list[Any] = [compiled]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, int, float, type(None))) or type(obj).__name__ == "Document":
            continue
        seen.add(id(obj))
        out.append(obj)
        stack.extend(gc.get_referents(obj) if not isinstance(obj, type) else ())
    return out


def test_the_ir_shares_what_is_the_same(corpus: Path) -> None:
    """Empty header operations, a DestinationRule's blocks and field paths are held once, not per route or cluster."""
    objects = _ir_objects(compile_mesh(load([str(corpus)], Options()).mesh))  # no origin located yet
    header_ops = [o for o in objects if isinstance(o, ir.HeaderOps)]
    assert header_ops == [ir.NO_HEADER_OPS]
    pools = [o for o in objects if isinstance(o, ir.ConnectionPool)]
    clusters = [o for o in objects if isinstance(o, ir.Cluster)]
    assert len(clusters) > 900
    assert len(pools) < len(clusters) / 2  # a service's cluster and its two subsets' share theirs
    paths = {id(o._at) for o in objects if isinstance(o, (ir.Origin, ir.RuleRef, ir.PolicyOrigin)) and o._at}
    assert 0 < len(paths) < 100


def test_the_envoy_renderer_gives_one_block_for_equal_parts(compiled: IR) -> None:
    """A cluster's circuit breakers, a route's retry policy and plain path match: one `Block` per value.

    The writer repeats a recurring block's text instead of walking it again (issue 18, compile/lint row).
    """
    from meshc.backends import envoy

    data, _ = envoy.bootstrap(compiled)
    clusters = data["static_resources"]["clusters"]
    routes = [
        r
        for listener in data["static_resources"]["listeners"]
        for chain in listener["filter_chains"]
        for f in chain["filters"]
        if "route_config" in f["typed_config"]
        for vh in f["typed_config"]["route_config"]["virtual_hosts"]
        for r in vh.get("routes", [])
    ]
    parts = [c["circuit_breakers"] for c in clusters]
    retries = [r["route"]["retry_policy"] for r in routes if "retry_policy" in r.get("route", {})]
    matches = [r["match"] for r in routes if set(r["match"]) == {"prefix", "case_sensitive"}]
    for found in (parts, retries, matches):
        assert len(found) > 300
        assert all(type(p) is ir.Block for p in found)
        assert len({id(p) for p in found}) < len(found) / 2
        assert len({json.dumps(p, sort_keys=True) for p in found}) == len({id(p) for p in found})


def test_compile_asks_and_builds_once_what_is_the_same(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy asks the resolver once per host; a resource's origin and the default retries are made once.

    Routes, clusters and hash policies all need a host's DestinationRule; each cluster names its
    Service and DestinationRules (3,000 services: 24,000 questions and 24,000 origins before).
    """
    from meshc.resolve import Resolver

    asked: list[tuple[str, int]] = []
    real = Resolver.destination_rule

    def counting(self: Resolver, host: str, client: Any, **kw: Any) -> Any:
        asked.append((host, id(client)))
        return real(self, host, client, **kw)

    monkeypatch.setattr(Resolver, "destination_rule", counting)
    objects = _ir_objects(compile_mesh(load([str(corpus)], Options()).mesh))
    assert len(asked) > 250
    assert len(asked) == len(set(asked))
    clusters = [o for o in objects if isinstance(o, ir.Cluster) and o.service is not None]
    assert len(clusters) >= 900
    services = {(c.service.namespace, c.service.name) for c in clusters if c.service is not None}
    assert len({id(c.service) for c in clusters}) == len(services)
    rules = [r for c in clusters for r in c.destination_rules]
    assert len({id(r) for r in rules}) == len({(r.namespace, r.name) for r in rules}) > 250
    assert len([o for o in objects if isinstance(o, ir.RetryPolicy) and o.is_default]) == 1


def test_parts_that_do_not_recur_are_not_kept() -> None:
    """A builder whose parts are all different (a mesh of all different DestinationRules) stops making blocks.

    Keeping and marking parts that are written once costs more than walking them: after its trial, such a
    builder gives plain dicts and keeps nothing; one whose parts recur keeps sharing them.
    """
    from meshc.backends import envoy

    r = envoy._Renderer(IR([], "cluster.local", []), envoy.EnvoyOptions())
    distinct = [r.block(envoy._common_lb_config, n) for n in range(3 * envoy._TRIAL)]
    recurring = [r.block(envoy._circuit_breakers, n % 3, 1, 1, 1) for n in range(3 * envoy._TRIAL)]
    assert type(distinct[0]) is ir.Block and type(distinct[-1]) is dict
    assert distinct == [envoy._common_lb_config(n) for n in range(3 * envoy._TRIAL)]
    assert not r.blocks[envoy._common_lb_config].made
    assert all(type(p) is ir.Block for p in recurring) and len({id(p) for p in recurring}) == 3
