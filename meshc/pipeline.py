"""Read the inputs once and index them: the Mesh every command (route, compile, diff, graph, test) starts from.

`load()` reads the paths as `meshc lint` does (`lint.read`: YAML, models, salvage) and builds the
Mesh; the resources that validated are used even when others did not. Gateway API Gateways and
routes are translated into Istio Gateways and VirtualServices (`meshc.conversion`) as istiod does.
Standard input is never read here: the CLI reads it once and passes its bytes (`stdin=`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshc.config import Options
from meshc.conversion import translate
from meshc.diagnostics import Diagnostic, Severity
from meshc.lint import Inventory, read
from meshc.mesh import Mesh
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
    bad = sorted((d for d in inv.diagnostics if d.severity >= Severity.ERROR), key=Diagnostic.sort_key)
    return Loaded(mesh, len(bad), len(inv.loaded.files), bad[0] if bad else None)
