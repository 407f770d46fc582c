"""Option values the backends share: addresses, port maps, upstream and endpoint overrides."""

from __future__ import annotations

from dataclasses import dataclass


class OptionError(ValueError):
    """A malformed option value (the CLI reports it as a usage error, exit code 2)."""


@dataclass(frozen=True, slots=True)
class Address:
    """A host (IP or DNS name) and port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_address(text: str, default_port: int | None = None) -> Address:
    """`host:port`, `[v6]:port` (or a bare host when `default_port` is given)."""
    t = text.strip()
    host, port = t, None
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            raise OptionError(f"bad address `{text}`: missing `]`")
        host = t[1:end]
        rest = t[end + 1 :]
        if rest.startswith(":"):
            port = rest[1:]
        elif rest:
            raise OptionError(f"bad address `{text}`")
    elif t.count(":") == 1:
        host, port = t.split(":")
    if not host:
        raise OptionError(f"bad address `{text}`: no host")
    if port is None:
        if default_port is None:
            raise OptionError(f"bad address `{text}`: expected HOST:PORT")
        return Address(host, default_port)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise OptionError(f"bad address `{text}`: port must be 1-65535")
    return Address(host, int(port))


def parse_port_map(items: list[str]) -> dict[int, int]:
    """`80=18080` items → {80: 18080}."""
    out: dict[int, int] = {}
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise OptionError(f"bad port mapping `{item}`: expected PORT=PORT (e.g. 80=18080)")
        a, b = int(left), int(right)
        if not (0 < a < 65536 and 0 < b < 65536):
            raise OptionError(f"bad port mapping `{item}`: ports must be 1-65535")
        out[a] = b
    return out


def parse_upstream(item: str) -> tuple[str, list[Address]]:
    """`CLUSTER=HOST:PORT[,HOST:PORT...]` (CLUSTER may be a glob) → (pattern, addresses)."""
    pattern, sep, right = item.rpartition("=")
    if not sep or not pattern.strip() or not right.strip():
        raise OptionError(f"bad upstream `{item}`: expected CLUSTER=HOST:PORT[,HOST:PORT...]")
    return pattern.strip(), [parse_address(a) for a in right.split(",") if a.strip()]


def parse_endpoint(item: str) -> tuple[str, Address]:
    """`FROM=HOST:PORT` where FROM is `host` or `host:port` of an endpoint."""
    left, sep, right = item.partition("=")
    if not sep or not left.strip() or not right.strip():
        raise OptionError(f"bad endpoint mapping `{item}`: expected ADDRESS[:PORT]=HOST:PORT")
    return left.strip(), parse_address(right)
