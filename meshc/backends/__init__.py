"""Compile targets: each turns the IR into one data plane's configuration through the same contract.

A target is a module with these functions, and `get(name)` returns them as a `Target`:

- `options(flags: Flags) -> options`: the target's own options from the `meshc compile` flags it
  takes (it refuses, as `OptionError`, a malformed value and a flag it does not take);
- `render(ir, options) -> (text, diagnostics)`: the configuration text, and a diagnostic (`MC4xx`)
  for everything the target cannot express (a warning: the piece is left out or approximated and
  the rest is written) or cannot write safely (an error: nothing may be written);
- `write(ir, options, out) -> diagnostics`: the same text given to `out` in pieces as it is made
  (never whole: `meshc compile` keeps only the pieces, not the data they were made of); the
  diagnostics are complete when it returns;
- `check(path) -> Check | None`: the data plane's own validation of a written file (`envoy --mode
  validate`, `nginx -t`); None when its binary is not installed.

A target only translates: names, defaults and route order are already decided in the IR (see
`meshc.ir`), so it never reorders routes or fills in Istio defaults. Modules are imported only when
their target is used, so `meshc compile --target ir` never pays for the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshc.diagnostics import Diagnostic
    from meshc.ir import IR

TARGETS: dict[str, str] = {
    "ir": "meshc.backends.ir",
    "envoy": "meshc.backends.envoy",
    "nginx": "meshc.backends.nginx",
}
"""Target name → the module that implements it."""

BACKENDS = {name: f"{module}:render" for name, module in TARGETS.items() if name != "ir"}
"""The data-plane targets (`envoy`, `nginx`) → `module:render`."""


@dataclass(frozen=True)
class Flags:
    """The `meshc compile` flags a target may take, as given on the command line (None/empty: not given)."""

    output: Path | None = None
    bind: str | None = None
    port_offset: int | None = None
    port_map: tuple[str, ...] = ()
    admin_port: int | None = None
    upstream: tuple[str, ...] = ()
    endpoint: tuple[str, ...] = ()
    overrides: Path | None = None
    contexts: tuple[str, ...] = ()
    resolver: tuple[str, ...] = ()
    resolver_valid: str | None = None

    def given(self, *names: str) -> list[str]:
        """The flags among `names` (field names) that were given, as `--flag-name`."""
        return [f"--{n.replace('_', '-')}" for n in names if getattr(self, n) not in (None, ())]


@dataclass(frozen=True)
class Check:
    """The data plane's verdict on a written configuration."""

    ok: bool
    command: str
    """What ran, as a user would type it (`envoy --mode validate -c out.yaml`)."""
    output: str
    """What it printed (the reason, when it refused)."""


@dataclass(frozen=True)
class Target:
    """One compile target: its options, its renderer and its validator (see the module docstring)."""

    name: str
    options: Callable[[Flags], Any]
    render: Callable[..., tuple[str, list[Diagnostic]]]
    write: Callable[[IR, Any, Callable[[str], Any]], list[Diagnostic]]
    check: Callable[[Path], Check | None]
    validator: str
    """The validating program's name, for messages (`envoy`, `nginx`; empty for the IR)."""


def written(
    write: Callable[[IR, Any, Callable[[str], Any]], list[Diagnostic]], ir: IR, options: Any
) -> tuple[str, list[Diagnostic]]:
    """A target's `render` from its `write`: the pieces joined into the whole text, and the diagnostics."""
    chunks: list[str] = []
    diagnostics = write(ir, options, chunks.append)
    return "".join(chunks), diagnostics


class BackendUnavailable(Exception):
    """The target is registered but its module is not there (yet)."""


def get(target: str) -> Target:
    """The target named `target`; KeyError for an unknown name."""
    module_name = TARGETS[target]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise BackendUnavailable(f"the `{target}` backend is not available in this build") from None
        raise
    return Target(target, module.options, module.render, module.write, module.check, getattr(module, "VALIDATOR", ""))


def load(target: str) -> Callable[[IR], tuple[str, list[Diagnostic]]]:
    """The render function of a data-plane target; KeyError for an unknown target."""
    if target not in BACKENDS:
        raise KeyError(target)
    return get(target).render
