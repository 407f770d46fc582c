"""YAML bombs, generated into a temporary folder (never committed): aliases, nesting, size.

Each bomb has a quick size (the normal suite) and a long size (`-m slow`): the long ones include
100 MB scalars, keys and comments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000
VS_HEAD = (
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: r\n  namespace: default\nspec:\n"
)
SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: r\n  namespace: default\n"
    "spec:\n  selector: {app: r}\n  ports:\n  - {name: http, port: 80}\n---\n"
)
ROUTE = "  - route:\n    - destination:\n        host: r\n"
ROUTE_BODY = "    route:\n    - destination:\n        host: r\n"  # the rest of an HTTP route item


def _laughs(_: int) -> Iterator[str]:
    """Billion laughs: nine levels of nine aliases (10⁹ nodes if expanded)."""
    yield VS_HEAD + '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 10):
        yield f"  a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n"


def _alias_routes(n: int) -> Iterator[str]:
    """One HTTP route with a match, repeated n times through an alias (just under the alias-node limit)."""
    yield SERVICE + VS_HEAD + "  hosts: [r]\n  http:\n  - &r\n    match:\n    - uri: {prefix: /p}\n" + ROUTE_BODY
    yield "  - *r\n" * n


def _routes(n: int) -> Iterator[str]:
    """N distinct HTTP routes in one VirtualService (rules that compare routes pairwise would be quadratic)."""
    yield SERVICE + VS_HEAD + "  hosts: [r]\n  http:\n"
    for i in range(n):
        yield f"  - match:\n    - uri: {{prefix: /p{i}}}\n      headers: {{x-a: {{exact: v{i}}}}}\n" + ROUTE_BODY


def _deep_flow(n: int) -> Iterator[str]:
    yield VS_HEAD + "  hosts: " + "[" * n + "]" * n + "\n"


def _deep_block(n: int) -> Iterator[str]:
    """A block sequence n levels deep on one line: `- - - - ... x`."""
    yield VS_HEAD + "  http:\n  " + "- " * n + "x\n"


def _deep_mapping(n: int) -> Iterator[str]:
    """Flow mappings n levels deep: `{a: {a: ...}}`."""
    yield VS_HEAD + "  http: " + "{a: " * n + "1" + "}" * n + "\n"


def _scalar(size: int) -> Iterator[str]:
    """A host of `size` bytes in a VirtualService that routes to it."""
    yield SERVICE + VS_HEAD + '  hosts: ["'
    yield from _repeat("x", size)
    yield '"]\n' + "  http:\n" + ROUTE


def _key(size: int) -> Iterator[str]:
    """An unknown field whose name is `size` bytes (a "did you mean" suggestion must not blow up)."""
    yield VS_HEAD + "  hosts: [r]\n  "
    yield from _repeat("k", size)
    yield ": 1\n"


def _comment(size: int) -> Iterator[str]:
    yield SERVICE + VS_HEAD + "  hosts: [r] # "
    yield from _repeat("#", size)
    yield "\n  http:\n" + ROUTE


def _block_scalar(size: int) -> Iterator[str]:
    """A literal block scalar of `size` bytes in lines of 100."""
    yield VS_HEAD + "  hosts: [r]\n  http:\n  - directResponse:\n      status: 200\n      body:\n        string: |\n"
    line = "          " + "y" * 89 + "\n"
    for _ in range(size // len(line)):
        yield line


def _documents(n: int) -> Iterator[str]:
    """N tiny documents (most empty)."""
    yield SERVICE
    yield "---\n# nothing\n" * n
    yield VS_HEAD + "  hosts: [r]\n  http:\n" + ROUTE


def _wide(n: int) -> Iterator[str]:
    """A mapping of n unknown keys: n diagnostics."""
    yield VS_HEAD + "  hosts: [r]\n"
    for i in range(n):
        yield f"  field{i}: {i}\n"


def _hosts(n: int) -> Iterator[str]:
    """One flow sequence of n hosts on one line."""
    yield VS_HEAD + "  hosts: [" + ", ".join(f"h{i}.example.com" for i in range(n)) + "]\n  http:\n" + ROUTE


def _repeat(char: str, size: int) -> Iterator[str]:
    chunk = char * MB
    for _ in range(size // MB):
        yield chunk
    yield char * (size % MB)


@dataclass(frozen=True)
class Bomb:
    """A generator and its sizes in the quick and the long profile."""

    name: str
    make: Callable[[int], Iterator[str]]
    quick: int
    long: int

    def write(self, folder: Path, profile: str) -> Path:
        """Write the bomb of this profile's size into folder (once) and return its path."""
        path = folder / f"{self.name}-{profile}.yaml"
        if not path.exists():
            with path.open("w", encoding="utf-8") as out:
                for part in self.make(self.quick if profile == "quick" else self.long):
                    out.write(part)
        return path


BOMBS = [
    Bomb("laughs", _laughs, 0, 0),
    Bomb("alias-routes", _alias_routes, 2_000, 15_000),
    # `meshc diff` is quadratic in the routes of one VirtualService (for a witness request of each
    # match block, the simulator walks the routes before it, as Envoy does): 2,000 routes take 4 s,
    # 5,000 take 29 s. Known and reported; the sizes here stay under the time bounds. (Lint was
    # quadratic too, through the shadowing analysis: now indexed, 5,000 routes in 0.7 s.)
    Bomb("routes", _routes, 1_000, 3_000),
    Bomb("deep-flow", _deep_flow, 10_000, 1_000_000),
    Bomb("deep-block", _deep_block, 10_000, 1_000_000),
    Bomb("deep-mapping", _deep_mapping, 10_000, 1_000_000),
    Bomb("scalar", _scalar, MB, 100 * MB),
    Bomb("key", _key, MB, 100 * MB),
    Bomb("comment", _comment, MB, 100 * MB),
    Bomb("block-scalar", _block_scalar, MB, 100 * MB),
    Bomb("documents", _documents, 8_000, 1_000_000),
    Bomb("wide", _wide, 2_000, 200_000),
    Bomb("hosts", _hosts, 2_000, 200_000),
]
