"""How istiod merges a delegate VirtualService's match blocks into its root's, and why it drops some.

pilot/pkg/model/virtualservice.go: `mergeHTTPMatchRequests` merges every delegate match block with
every root block it does not conflict with (`hasConflict`, `stringMatchConflict`); a delegate
block that conflicts with every root block makes istiod drop the whole delegate rule, silently.
Compile (the routes it builds) and lint (MC230, which reports the dropped rules) both ask here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshc.resolve import VirtualServiceView

_ATTRS = ("uri", "scheme", "method", "authority")


def find_delegate(
    lookup: Callable[[str, str], VirtualServiceView | None], root: VirtualServiceView, rule: Any
) -> tuple[VirtualServiceView | None, str | None]:
    """The delegate VirtualService a root rule's `delegate` names, or why istiod uses none.

    It must exist (`lookup(namespace, name)`; the namespace defaults to the root's), have no hosts,
    and be exported to the root's namespace (push_context.go `initVirtualServices`, `resolveVirtualServiceDelegates`).
    """
    ref = rule.delegate
    ns = ref.namespace or root.namespace
    found = lookup(ns, ref.name or "")
    if found is None:
        return None, f"delegate {ns}/{ref.name} not found"
    if found.spec.hosts:
        return None, f"delegate {ns}/{ref.name} has hosts, so it is not a delegate"
    if not found.visible_from(root.namespace):
        return None, f"delegate {ns}/{ref.name} is not exported to namespace {root.namespace}"
    return found, None


class MergedMatch:
    """A root match block and a delegate match block merged (`mergeHTTPMatchRequest`): the delegate's wins."""

    def __init__(self, root: Any, leaf: Any) -> None:
        self.name = f"{root.name}-{leaf.name}" if root.name and leaf.name else (leaf.name or root.name)
        for attr in _ATTRS:
            value = getattr(leaf, attr)
            setattr(self, attr, value if value is not None else getattr(root, attr))
        self.headers = {**root.headers, **leaf.headers}
        self.withoutHeaders = {**root.withoutHeaders, **leaf.withoutHeaders}
        self.queryParams = {**root.queryParams, **leaf.queryParams}
        self.port = leaf.port or root.port
        self.sourceLabels = {**root.sourceLabels, **leaf.sourceLabels}
        self.sourceNamespace = leaf.sourceNamespace or root.sourceNamespace
        self.gateways = list(leaf.gateways) or list(root.gateways)
        self.ignoreUriCase = leaf.ignoreUriCase
        self.statPrefix = leaf.statPrefix or root.statPrefix


def merge_matches(root: list[Any], leaf: list[Any]) -> list[tuple[int | None, int | None, Any]] | None:
    """`mergeHTTPMatchRequests`: (root index, delegate index, merged block) of every compatible pair.

    None when a delegate block conflicts with every root block: istiod drops the delegate rule.
    """
    if not root:
        return [(None, j, m) for j, m in enumerate(leaf)] or [(None, None, None)]
    if not leaf:
        return [(i, None, m) for i, m in enumerate(root)]
    out: list[tuple[int | None, int | None, Any]] = []
    for j, sub in enumerate(leaf):
        found = False
        for i, r in enumerate(root):
            if match_conflict(r, sub) is not None:
                continue
            out.append((i, j, MergedMatch(r, sub)))
            found = True
        if not found:
            return None
    return out or None


def dropped_because(root: list[Any], leaf: list[Any]) -> tuple[int, str] | None:
    """Why istiod drops a delegate rule; None when it keeps it.

    (the first delegate match block that no root block accepts, its conflict with the root's first block)
    """
    if not root or not leaf:
        return None
    for j, sub in enumerate(leaf):
        reasons = [match_conflict(r, sub) for r in root]
        if all(reason is not None for reason in reasons):
            return j, str(reasons[0])
    return None


def match_conflict(root: Any, leaf: Any) -> str | None:
    """`hasConflict`: why a delegate match block cannot narrow a root match block (None: it can)."""
    for attr in _ATTRS:
        why = string_conflict(getattr(root, attr), getattr(leaf, attr))
        if why is not None:
            return f"`{attr}`: {why}"
    for label, field in (("header", "headers"), ("withoutHeaders", "withoutHeaders"), ("query", "queryParams")):
        root_values = getattr(root, field)
        for key, value in getattr(leaf, field).items():
            why = string_conflict(root_values.get(key), value)
            if why is not None:
                return f"{label} `{key}`: {why}"
    if bool(root.ignoreUriCase) != bool(leaf.ignoreUriCase):
        return "`ignoreUriCase` differs from the root's"
    if root.port and leaf.port and root.port != leaf.port:
        return f"`port` {leaf.port} is not the root's {root.port}"
    if root.sourceNamespace and leaf.sourceNamespace != root.sourceNamespace:
        return f"`sourceNamespace` must be the root's `{root.sourceNamespace}`"
    for key, value in leaf.sourceLabels.items():
        if root.sourceLabels.get(key) and root.sourceLabels[key] != value:
            return f"`sourceLabels` `{key}={value}` differs from the root's `{key}={root.sourceLabels[key]}`"
    if root.gateways and leaf.gateways and not set(leaf.gateways) <= set(root.gateways):
        return "`gateways` are not a subset of the root's"
    return None


def _text(m: Any) -> str:
    for kind in ("exact", "prefix", "regex"):
        value = getattr(m, kind)
        if value is not None:
            return f"{kind} `{value}`"
    return "`{}`"


def string_conflict(root: Any, leaf: Any) -> str | None:
    """`stringMatchConflict`: why a delegate string match cannot narrow the root's (None: it can)."""
    if root is None or leaf is None:
        return None
    has = (leaf.regex or leaf.prefix or leaf.exact, root.regex or root.prefix or root.exact)
    if root.regex and has[0]:
        return f"the root matches {_text(root)}, so the delegate may not match it ({_text(leaf)})"
    if leaf.regex and has[1]:
        return f"the delegate's {_text(leaf)} needs a root without a match on it (root: {_text(root)})"
    if root.exact:
        if leaf.prefix or leaf.exact != root.exact:
            return f"root {_text(root)}, delegate {_text(leaf)}"
        return None
    if root.prefix:
        narrower = leaf.prefix or leaf.exact
        if narrower:
            if narrower.startswith(root.prefix):
                return None
            return f"the delegate's {_text(leaf)} is not under the root's {_text(root)}"
    return f"root {_text(root)}, delegate {_text(leaf)}"
