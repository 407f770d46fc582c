"""RE2 program sizes for the backends: the exact size, without compiling a regex that is obviously too large.

Envoy refuses a regex whose RE2 program is larger than the runtime's limit (32768 in Istio's
proxies), and compiling such a regex is slow in RE2 itself: `a{2,1000}` forty times (360
characters, under Istio's 1024) takes about 18 s to compile. `program_size` first bounds the size
from the pattern's counted repetitions (`estimate`) and compiles only when the bound allows it.
"""

from __future__ import annotations

import functools
import re

_COUNT = re.compile(r"\{(\d+)(?:,(\d*))?\}")

MAX_PROGRAM_SIZE = 32768
"""Istio's proxies refuse a regex whose RE2 program is larger (`re2.max_program_size.error_level`)."""


def estimate(pattern: str) -> int:
    """An estimate of the RE2 program size of `pattern` that grows with its counted repetitions.

    Each atom (a character, an escape, a class, a group) counts its size, and `X{m,n}` costs m copies
    of X and two instructions per optional copy (nested counts multiply). Close to RE2's own count
    for counted repetitions, which is what makes a program large.
    """
    stack: list[int] = [0]
    last = 0
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        m = _COUNT.match(pattern, i) if ch == "{" else None
        if m is not None:
            low = int(m.group(1))
            high = int(m.group(2)) if m.group(2) else (low if m.group(2) is None else low + 1)
            # each required copy costs the atom, each optional one the atom and a branch
            times = low + 2 * max(high - low, 0)
            stack[-1] += last * (times - 1)
            last = last * times
            i = m.end()
            continue
        if ch == "\\":
            size, i = 1, i + 2
        elif ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            size, i = 1, j + 1
        elif ch == "(":
            stack.append(0)
            last = 0
            i += 1
            continue
        elif ch == ")":
            size = stack.pop() + 1 if len(stack) > 1 else 1
            i += 1
        else:
            size, i = (0 if ch in "*+?|^$" else 1), i + 1
        stack[-1] += size
        last = size
    return sum(stack)


@functools.lru_cache(maxsize=1024)
def program_size(pattern: str, limit: int) -> int | None:
    """The RE2 program size of `pattern`, or a bound above `limit` without compiling; None when RE2 refuses it.

    Remembered for the last 1,024 patterns: the same regex often recurs in many routes.
    """
    bound = estimate(pattern)
    if bound > 2 * limit:
        return bound
    import re2  # google-re2, a dependency

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refusal on stderr
    try:
        return int(re2.compile(pattern, options).programsize)
    except Exception:  # re2.error
        return None
