"""YAML writing for tests: PyYAML's SafeDumper, quoting every string that Kubernetes would not read back as it is.

PyYAML decides whether a string may be written plain with its own YAML 1.1 resolver, which reads
`y`, `0o17` and `1e3` as strings; Kubernetes (go-yaml v2) and meshc read them as `true`, 15 and
1000.0. This dumper asks meshc's resolver instead, so that what a test writes is what it meant.
"""

from __future__ import annotations

from typing import Any

import yaml

from meshc.source import resolve_plain

_STR = "tag:yaml.org,2002:str"


class KubeDumper(yaml.SafeDumper):
    """SafeDumper whose implicit resolution of plain scalars is go-yaml v2's."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)
        if kind is yaml.ScalarNode and implicit[0] and tag == _STR and value:
            resolved = resolve_plain(value)
            if not isinstance(resolved, str) or value == "<<":
                return "tag:yaml.org,2002:kube-non-str"  # not `str`: the emitter quotes it
        return tag

    def choose_scalar_style(self) -> str:
        # PyYAML writes NEL as it is in a single-quoted scalar, where YAML (libyaml, go-yaml) reads it
        # as a line break and folds it: k of them read back as k - 1 `\n`, or a space. LS and PS are
        # read back as they are in quoted scalars but break the line in plain and block ones. Such
        # a string is written double-quoted, where they are escaped (`\N`, `\L`, `\P`).
        style: str = super().choose_scalar_style()
        value = self.event.value if isinstance(self.event, yaml.ScalarEvent) else ""
        if style != '"' and any(c in value for c in "\x85\u2028\u2029"):
            return '"'
        return style


def dump_all(docs: list[Any], **kwargs: Any) -> str:
    """`yaml.safe_dump_all` with KubeDumper."""
    return yaml.dump_all(docs, Dumper=KubeDumper, **kwargs)


def dump(data: Any, **kwargs: Any) -> str:
    """`yaml.safe_dump` with KubeDumper."""
    return yaml.dump(data, Dumper=KubeDumper, **kwargs)
