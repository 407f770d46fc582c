"""The IR target: the compiled IR itself as YAML (`meshc compile --target ir`), through the target contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshc.backends import Check, Flags, written
from meshc.backends.options import refuse
from meshc.diagnostics import Diagnostic
from meshc.ir import IR, to_dict, write_yaml

VALIDATOR = ""


def options(flags: Flags) -> None:
    """The IR target takes no option."""
    refuse(
        flags,
        ("bind", "port_offset", "port_map", "admin_port", "upstream", "endpoint", "overrides", "contexts"),
        "--bind, --port-offset, --port-map, --upstream, --endpoint and --context apply to --target envoy "
        "and nginx; --admin-port and --overrides to envoy",
    )
    refuse(flags, ("resolver", "resolver_valid"), "--resolver and --resolver-valid apply to --target nginx")


def write(ir: IR, options: Any, out: Callable[[str], Any]) -> list[Diagnostic]:
    """The IR as YAML, given to `out` in pieces; the IR has no gaps."""
    write_yaml(to_dict(ir), out)
    return []


def render(ir: IR, options: Any = None) -> tuple[str, list[Diagnostic]]:
    """The IR as YAML; the IR has no gaps."""
    return written(write, ir, options)


def check(path: Path) -> Check | None:
    """Nothing validates the IR but meshc itself."""
    return None
