"""What a lint holds once it returns: only its report (the Mesh and the models are freed)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any
from unittest import mock

from meshc import lint
from meshc.config import Options
from meshc.mesh import Mesh

ROOT = Path(__file__).resolve().parents[1]


def test_the_mesh_and_its_models_are_freed_when_lint_returns() -> None:
    """Proves: no cycle keeps the Mesh (and through it every model) alive after `lint` returns.

    The collector is paused during a lint and its objects frozen after it, so a cycle would hold
    the whole index until the process ends, under the rendering of the report.
    """
    meshes: list[weakref.ref[Mesh]] = []
    models: list[weakref.ref[Any]] = []
    real = Mesh.__init__

    def recording(self: Mesh, resources: Any, *args: Any, **kwargs: Any) -> None:
        meshes.append(weakref.ref(self))
        models.extend(weakref.ref(r.model) for r in resources if r.model is not None)
        real(self, resources, *args, **kwargs)

    was_enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone, as in the CLI
    try:
        with mock.patch.object(Mesh, "__init__", recording):
            report = lint.lint([str(ROOT / "examples" / "bookinfo")], Options())
        assert report.diagnostics is not None
        assert meshes and models
        assert [m() for m in meshes] == [None] * len(meshes)
        assert sum(m() is not None for m in models) == 0
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
