"""Regular expressions compiled when first used, so that a pattern a run never uses costs nothing at start-up.

`lazy(pattern)` stands for `re.compile(pattern)`: the first attribute read compiles it and keeps
its methods as plain attributes, so every later `search`, `match`, `sub`... costs what the
compiled pattern's does. Worth it for patterns of a path a one-file lint rarely takes (control
characters, XML escapes, template actions): a character class with code points above U+00FF takes
Python about 0.3 to 1 ms to compile. A pattern that every run uses gains nothing from it.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

_METHODS = ("search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split", "pattern", "flags")


class _Lazy:
    """A pattern compiled on first use (see `lazy`)."""

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Only reached while an attribute is missing: the first use, or a rarely used attribute.
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self.__dict__["_compiled"] = re.compile(*self._source)
            for method in _METHODS:
                self.__dict__[method] = getattr(compiled, method)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self._source[0]!r})"


def lazy(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, compiled when the pattern is first used."""
    return cast("re.Pattern[AnyStr]", _Lazy(pattern, flags))
