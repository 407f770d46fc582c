"""Compile targets: each backend turns the IR into the text of one data plane's configuration.

A backend is a function `render(ir: IR) -> tuple[str, list[Diagnostic]]`: the configuration text,
and a diagnostic (`MC4xx`) for everything the target cannot express, never a silent drop. A
backend only translates: names, defaults and route order are already decided in the IR (see
`meshc.ir`), so it never reorders routes or fills in Istio defaults.

`BACKENDS` maps a `--target` name to `"module:function"`; the module is imported only when the
target is used, so `meshc compile --target ir` never pays for the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshc.diagnostics import Diagnostic
    from meshc.ir import IR

Backend = Callable[["IR"], "tuple[str, list[Diagnostic]]"]

BACKENDS: dict[str, str] = {
    "envoy": "meshc.backends.envoy:render",
    "nginx": "meshc.backends.nginx:render",
}
"""Target name → `module:function` of its render function."""


class BackendUnavailable(Exception):
    """The target is registered but its module is not there (yet)."""


def load(target: str) -> Backend:
    """The render function of a target; KeyError for an unknown target."""
    module_name, _, attr = BACKENDS[target].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise BackendUnavailable(f"the `{target}` backend is not available in this build") from None
        raise
    return getattr(module, attr)
