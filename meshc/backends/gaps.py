"""The MC4xx diagnostics a backend reports while it renders: each one once, placed at its origin."""

from __future__ import annotations

from typing import Any

from meshc.diagnostics import Diagnostic, ResourceRef, Span
from meshc.rules.base import Rule


class GapReport:
    """Base of the backends' renderers: collects their gap diagnostics, without repeats."""

    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []
        self._seen: set[tuple[str, str, str, int]] = set()

    def diag(
        self,
        rule: Rule,
        message: str,
        *,
        help: str | None = None,
        file: str | None = None,
        line: int | None = None,
        resource: ResourceRef | None = None,
        field: str | None = None,
    ) -> None:
        """Report `rule` with `message` at file:line, unless the same was already reported there."""
        key = (rule.code, message, file or "", line or 0)
        if key in self._seen:
            return
        self._seen.add(key)
        self.diags.append(
            Diagnostic(
                rule.code,
                rule.name,
                rule.severity,
                message,
                Span(file or "-", line or 1, 1),
                resource=resource,
                field=field or None,
                istio_code=rule.istio_code,
                help=help,
            )
        )

    def at_origin(self, rule: Rule, message: str, origin: Any, sub: str = "", *, help: str | None = None) -> None:
        """A diagnostic at an `Origin` or `PolicyOrigin` (with `sub` appended to its field; nowhere when None)."""
        if origin is None:
            self.diag(rule, message, help=help)
            return
        kind = getattr(origin, "kind", None) or "DestinationRule"
        self.diag(
            rule,
            message,
            help=help,
            file=origin.file,
            line=origin.line,
            resource=ResourceRef(kind, origin.namespace, origin.name),
            field=".".join(p for p in (origin.field, sub) if p),
        )

    def at_route(self, rule: Rule, message: str, route: Any, sub: str = "", *, help: str | None = None) -> None:
        """A diagnostic at the VirtualService rule of an IR route (the delegate's when delegated)."""
        if route.origin is None:
            self.diag(rule, message, help=help)
            return
        ref = route.origin.delegate or route.origin.virtual_service
        fld = f"spec.http[{ref.rule}]"
        if sub:
            fld += sub if sub.startswith("[") else "." + sub
        self.diag(
            rule,
            message,
            help=help,
            file=ref.file,
            line=ref.line,
            resource=ResourceRef("VirtualService", ref.namespace, ref.name),
            field=fld,
        )
