"""An independent reading of YAML for the loader's differential tests: PyYAML's composer over the reference parser.

The loader builds data and positions from parser events with its own iterative builder, or with
its fast line parser. This module reads the same text another way: PyYAML's Composer makes a node
graph (it resolves anchors and aliases itself) from the events of libyaml (PyYAML's C parser) or of
PyYAML's pure-Python parser with libyaml's rules (the loader's own is ruamel.yaml's, with the same
rules), and `to_data` turns the nodes into data with go-yaml v2's rules (plain scalars through
`resolve_plain`, keys as sigs.k8s.io/yaml writes them, merges where they stand,
the last of duplicate keys) and positions from the nodes' marks.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from meshc import yamlref
from meshc.source import json_key, resolve_plain

Positions = dict[tuple[Any, ...], tuple[int, int, int, int]]
"""Field path -> (key line, key column, value line, value column), 1-based; list items repeat the value."""


class Failed(Exception):
    """The text is not YAML (or not YAML Kubernetes reads): where the reader stopped."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.line = line
        self.column = column


def _loader(pure: bool) -> type:
    # Without the C extension the loader reads with ruamel.yaml's pure-Python parser; the oracle
    # reads with PyYAML's, under the same libyaml rules: two pure-Python parsers held to libyaml.
    parser = yamlref.pure_parser_class("pyyaml") if pure else yamlref.parser_class()
    if not pure:
        from yaml._yaml import CParser

        parser = CParser

    class Loader(Composer, parser, BaseResolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            parser.__init__(self, stream)
            Composer.__init__(self)
            BaseResolver.__init__(self)

        def compose_node(self, parent: Any, index: Any) -> Any:
            # As Composer.compose_node, except that an anchor may be defined again (the later one
            # counts, as in libyaml's and go-yaml's readers); PyYAML's composer refuses it.
            event = self.peek_event()
            if event.anchor is not None and not isinstance(event, AliasEvent):
                self.anchors.pop(event.anchor, None)
            return Composer.compose_node(self, parent, index)

        def compose_scalar_node(self, anchor: Any) -> Any:
            # PyYAML's composer gives an untagged plain scalar, `!!str 1` and `! 1` the same tag;
            # go-yaml v2 reads them differently (`_scalar`, `_is_merge`): keep the tag as written.
            written = self.peek_event().tag
            node = Composer.compose_scalar_node(self, anchor)
            node.written_tag = written
            return node

    return Loader


def read(text: str, *, pure: bool = False) -> list[tuple[Any, Positions]]:
    """(data, positions) of every non-empty document of `text`; Failed at the first error."""
    loader = _loader(pure)(text)
    out: list[tuple[Any, Positions]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            positions: Positions = {}
            data = to_data(node, (), positions, {})
            if data is not None or not (isinstance(node, ScalarNode) and node.value == ""):
                out.append((data, positions))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise Failed(mark.line + 1, mark.column + 1, str(exc.problem)) from None
    except yaml.YAMLError as exc:
        raise Failed(1, 1, str(exc).splitlines()[0]) from None
    finally:
        loader.dispose()
    return out


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def to_data(node: Any, path: tuple[Any, ...], positions: Positions, memo: dict[int, Any]) -> Any:
    """The node as go-yaml v2 and sigs.k8s.io/yaml give it to Kubernetes; fills `positions` below `path`."""
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if id(node) in memo:  # an alias: the same data (the loader shares it too)
        data = memo[id(node)]
        if data is _BUILDING:
            raise Failed(0, 0, "an alias inside what its anchor names")  # go-yaml and the loader refuse it
        _fill(node, path, positions)
        return data
    memo[id(node)] = _BUILDING
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        for i, child in enumerate(node.value):
            line, col = _mark(child)
            positions[(*path, i)] = (line, col, line, col)
            items.append(to_data(child, (*path, i), positions, memo))
        memo[id(node)] = items
        return items
    assert isinstance(node, MappingNode)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and _is_merge(key_node):
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            if not sources or not all(isinstance(src, MappingNode) for src in sources):
                raise Failed(*_mark(value_node), "a merge takes a mapping or a list of mappings")
            for src in reversed(sources):  # go-yaml v2: in place, over what is there, the first source winning
                sub: Positions = {}
                merged = to_data(src, (), sub, memo)
                if not sub:
                    _fill(src, (), sub)
                for k, v in merged.items():
                    _drop(positions, (*path, k))
                    mapping[k] = v
                    positions.update({(*path, *p): e for p, e in sub.items() if p[0] == k})
            continue
        if not isinstance(key_node, ScalarNode):  # go-yaml v2 (decode.go, `mapping`): "invalid map key"
            raise Failed(*_mark(key_node), "a collection as a mapping key")
        key = json_key(to_data(key_node, (), {}, memo))
        _drop(positions, (*path, key))  # a duplicate or merged key written again: the last one wins
        kl, kc = _mark(key_node)
        vl, vc = _mark(value_node)
        positions[(*path, key)] = (kl, kc, vl, vc)
        mapping[key] = to_data(value_node, (*path, key), positions, memo)
    memo[id(node)] = mapping
    return mapping


_BUILDING = object()


def _fill(node: Any, path: tuple[Any, ...], positions: Positions) -> None:
    """Positions below an aliased node, as they are below its anchor."""
    sub: Positions = {}
    to_data(node, (), sub, {})
    positions.update({(*path, *p): v for p, v in sub.items()})


def _drop(positions: Positions, prefix: tuple[Any, ...]) -> None:
    for stale in [p for p in positions if p[: len(prefix)] == prefix]:
        del positions[stale]


_TAGGED = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


MERGE_TAG = "tag:yaml.org,2002:merge"


def _is_merge(node: ScalarNode) -> bool:
    """Whether a key is a merge key as go-yaml v2 decides it (decode.go, `isMerge`).

    `<<` written plain without a tag, or with `!` (which parserc.go's `yaml_parser_parse_node` makes
    plain-implicit, quoted or not), or tagged `!!merge`.
    """
    written = getattr(node, "written_tag", None)
    if node.value != "<<":
        return False
    return (written is None and not node.style) or written in ("!", MERGE_TAG)


def _scalar(node: ScalarNode) -> Any:
    written = getattr(node, "written_tag", None)
    if written == "!":
        # go-yaml v2 (resolve.go, `resolvableTag`): `!` is not a tag `resolve` resolves, so the
        # scalar is its text: `! 1` is "1" and `!` alone is "" (PyYAML would make them 1 and null).
        return node.value
    if written is None and not node.style and node.tag == BaseResolver.DEFAULT_SCALAR_TAG:
        return resolve_plain(node.value) if node.value else None
    want = _TAGGED.get(node.tag)
    if want is not None:
        resolved = resolve_plain(node.value) if node.value else None
        if want is float and isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
            return float(resolved)
        if isinstance(resolved, want) and not (want is int and isinstance(resolved, bool)):
            return resolved
    return node.value


def comparable(data: Any) -> Any:
    """Data with NaN replaced (NaN != NaN) so that two readings compare equal."""
    if isinstance(data, float) and math.isnan(data):
        return "NaN"
    if isinstance(data, dict):
        return {k: comparable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    return data
