"""A rich console that renders into a string: the one setup every text output (lint, route, diff) uses."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def text_console(width: int, *, color: bool, soft_wrap: bool = True) -> tuple[Console, io.StringIO]:
    """A console printing into the returned buffer: plain text, ANSI colours only with `color`.

    Strings print literally (no markup, no emoji codes, no highlighting).
    """
    from rich.console import Console

    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        no_color=not color,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=soft_wrap,
    )
    return console, buf
