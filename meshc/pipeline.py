"""Read the inputs once and index them: the Mesh every command (route, compile, diff, graph, test) starts from.

`load()` reads the paths as `meshc lint` does (`lint.read`: YAML, models, salvage) and builds the
Mesh; the resources that validated are used even when others did not. Gateway API Gateways and
routes are translated into Istio Gateways and VirtualServices (`meshc.conversion`) as istiod does.
Standard input is never read here: the CLI reads it once and passes its bytes (`stdin=`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from meshc import ir
from meshc.config import Options
from meshc.conversion import translate
from meshc.diagnostics import Diagnostic, Severity
from meshc.lint import Inventory, read
from meshc.mesh import Mesh
from meshc.rules.input import DUPLICATE_RESOURCE
from meshc.source import no_gc


@dataclass
class Loaded:
    """A configuration read once and indexed, ready for many requests."""

    mesh: Mesh
    errors: int
    """Errors found while reading (YAML and schema); the resources that validated are still used."""
    files: int
    """Files read."""
    first_error: Diagnostic | None = None
    """The first of those errors in file order, for a one-line message."""
    notes: list[ir.Note] = field(default_factory=list)
    """What reading decided for the user: a resource defined twice is read from its later definition."""


def load(
    paths: Iterable[str], options: Options, *, stdin: bytes | None = None, inventory: Inventory | None = None
) -> Loaded:
    """Read the inputs (as `meshc lint` does) and build the Mesh; or build it on what was read (`inventory`).

    `stdin` holds the bytes of standard input, for a path `-`.
    """
    with no_gc():
        inv = inventory if inventory is not None else read(paths, options, stdin=stdin)
        mesh = Mesh(inv.indexed(), options)
        translated = translate(mesh)
        if translated:
            # Gateway API resources run as the Istio Gateways and VirtualServices istiod makes of them.
            mesh = Mesh([*inv.indexed(), *translated], options)
    # A resource defined twice is not an error here: like `kubectl apply`, the later one is used (a warning).
    bad = sorted(
        (d for d in inv.diagnostics if d.severity >= Severity.ERROR and d.code != DUPLICATE_RESOURCE.code),
        key=Diagnostic.sort_key,
    )
    notes = []
    for kept, dropped in inv.replaced:
        was = dropped.span(("metadata", "name"))
        here = kept.span(("metadata", "name"))
        notes.append(
            ir.Note(
                DUPLICATE_RESOURCE.name,
                f"{kept.kind} `{kept.namespace}/{kept.name}` is defined twice; using this later definition "
                f"(as `kubectl apply` would), not the one at {was.path}:{was.line}:{was.column}",
                ir.Origin(kept.kind, kept.namespace, kept.name, "metadata.name", here.path, here.line, here.column),
            )
        )
    return Loaded(mesh, len(bad), len(inv.loaded.files), bad[0] if bad else None, notes)
