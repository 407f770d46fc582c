"""Rules about VirtualService delegation (MC230): the delegate rules istiod drops without a word."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from meshc.diagnostics import Severity
from meshc.rules.base import Finding, rule

if TYPE_CHECKING:
    from meshc.mesh import Mesh
    from meshc.resolve import VirtualServiceView


@rule("MC230", "delegate-rule-dropped", Severity.WARNING)
def delegate_rule_dropped(mesh: Mesh) -> Iterator[Finding]:
    """A delegate VirtualService rule whose match conflicts with the root rule's: istiod drops it silently.

    istiod merges each match block of a delegate rule into the root rule's match blocks
    (virtualservice.go `mergeHTTPRoute`). A delegate block may only narrow a root block: when it
    conflicts with every root block (`hasConflict`, `stringMatchConflict`), the whole delegate rule
    is dropped, with only a log line in istiod. Conflicts: the root matches `uri` (or `scheme`,
    `method`, `authority`, a header, a query parameter) by regex and the delegate matches it at all
    (or the other way round); exact against prefix or another exact value; a prefix the root's does
    not cover; a different `ignoreUriCase`, `port` or `sourceNamespace`; other `sourceLabels`
    values; `gateways` the root does not list. `istioctl analyze` has no such check.

    ## Why is this bad?
    The routes you wrote in the delegate never reach Envoy: requests they were meant for fall
    through to later rules or get a 404, and nothing reports it.

    ## Example
    ```yaml
    kind: VirtualService
    metadata: {name: merchants, namespace: example}
    spec:
      hosts: [example.org]
      http:
      - match: [{uri: {regex: "/merchants/.*"}}]
        delegate: {name: merchants-delegate}
    ---
    kind: VirtualService
    metadata: {name: merchants-delegate, namespace: example}
    spec:
      http:
      - match: [{uri: {prefix: /merchants/v2}}]   # dropped: the root matches uri by regex
        route: [{destination: {host: merchants-v2}}]
    ```

    Use instead: a prefix in the root (`{uri: {prefix: /merchants/}}`) that the delegate's narrows.
    """
    resources = [r for r in mesh.of_kind("VirtualService", partial=False) if r.spec is not None]
    if not any(rule.delegate is not None for r in resources if r.spec.hosts for rule in r.spec.http):
        return  # no rule delegates: nothing to judge
    # Imported only now: a lint without `delegate` never runs them (about 6 ms of start-up).
    from meshc.delegation import dropped_because, find_delegate
    from meshc.resolve import Resolver

    views = {(r.namespace, r.name): r for r in resources}

    def lookup(namespace: str, name: str) -> VirtualServiceView | None:
        res = views.get((namespace, name))
        return Resolver.of(mesh).view(res) if res is not None else None

    for res in views.values():
        if not res.spec.hosts:
            continue  # a delegate itself: it has no root rules
        # Only a rule that delegates is judged: the root is resolved (its view) only then.
        delegating = [(i, r) for i, r in enumerate(res.spec.http) if r.delegate is not None]
        if not delegating:
            continue
        root = Resolver.of(mesh).view(res)
        for i, root_rule in delegating:
            delegate, _missing = find_delegate(lookup, root, root_rule)
            if delegate is None:
                continue  # a missing or unexported delegate is another rule's finding
            for k, drule in enumerate(delegate.spec.http):
                if drule.delegate is not None:
                    continue
                found = dropped_because(list(root_rule.match), list(drule.match))
                if found is None:
                    continue
                j, why = found
                yield Finding(
                    delegate.res,
                    ("spec", "http", k, "match", j),
                    f"istiod drops rule {k} of delegate {delegate.namespace}/{delegate.name}: its match "
                    f"conflicts with the match of VirtualService {root.namespace}/{root.name} rule {i}, "
                    f"which delegates to it ({why})",
                    help="a delegate match must narrow the root's: the same or a longer prefix, the same exact "
                    "value, no regex on either side of one field",
                    related=((res, ("spec", "http", i, "match"), "the root rule's match"),),
                )
