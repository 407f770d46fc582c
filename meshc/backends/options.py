"""What the targets share about options: flag values (addresses, port maps, overrides) and validators."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from meshc.backends import Check, Flags


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


# --- flags and validation, shared by the targets ---------------------------------------------------


def refuse(flags: Flags, names: tuple[str, ...], message: str) -> None:
    """OptionError(`message`) when any flag in `names` was given (a flag the target does not take)."""
    if flags.given(*names):
        raise OptionError(message)


def port_offset(flags: Flags) -> int:
    """`--port-offset` (0 when not given); 0-65535."""
    offset = 0 if flags.port_offset is None else flags.port_offset
    if not 0 <= offset <= 65535:
        raise OptionError(f"--port-offset {offset} must be 0-65535")
    return offset


def find_binary(name: str, *also: str) -> str | None:
    """The program `name` on PATH, beside the running Python (a venv's bin) or in `also`; None when absent."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name, path=os.pathsep.join(also)) if also else None


def run_check(command: list[str], shown: str, accepted: Callable[[int, str], bool], timeout: float = 120.0) -> Check:
    """Run a validator; its verdict (the last lines of its output when it refuses)."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Check(False, shown, f"no answer after {timeout:.0f}s")
    except OSError as exc:
        return Check(False, shown, str(exc))
    output = (proc.stdout + proc.stderr).strip()
    return Check(accepted(proc.returncode, output), shown, output)
