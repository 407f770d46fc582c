"""Run the real nginx in tests: `nginx -t` on a configuration, and a live nginx on 127.0.0.1.

`nginx_binary()` FAILS the calling test (never skips) when the `nginx` command is missing: these
tests exist to prove the generated configuration against the real server, so a machine without
it must not report them green. CI installs Debian's `nginx` package (`.ci/run`).

`running(config_text, sockets)` writes the configuration into a fresh prefix folder under the
system's temporary folder (pid, logs and temp files live there, as the generated file says),
starts `nginx -p DIR -c nginx.conf -g "daemon off;"` in its own process group, waits until it has
written its pid file (bounded by `timeout`), and always stops nginx on exit.

Ports: `Sockets` binds each listener to port 0 on 127.0.0.1 (the kernel picks a free port) and
keeps the listening socket open; nginx inherits it (the `NGINX` environment variable, as in its
binary upgrade) instead of binding the port itself, so no port is bound, closed and bound again.
Connections made before nginx runs wait in the socket's backlog.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The client lives in tests/e2e/client.py; the tests call it through this module.
from tests.e2e.client import Response, request, request_until_close  # noqa: F401

READY_TIMEOUT = 15.0
"""Seconds nginx gets to start and accept connections on every port."""


def nginx_binary() -> str:
    """Path of the `nginx` command; fails the calling test when it is missing."""
    found = os.environ.get("MESHC_NGINX") or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not found:
        pytest.fail(
            "the `nginx` command is missing: the nginx end-to-end tests need the real nginx "
            "(`apt-get install -y nginx`; .ci/run installs it)",
            pytrace=False,
        )
    return found


def _prefix() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="meshc-nginx-"))
    folder.chmod(0o755)  # nginx's workers run as `nobody` when the master is root
    return folder


@dataclass
class Validation:
    """Result of `nginx -t`."""

    ok: bool
    output: str


def validate(config_text: str, *, timeout: float = 60.0) -> Validation:
    """Run `nginx -t -p DIR -c nginx.conf` on a configuration text."""
    binary = nginx_binary()
    prefix = _prefix()
    try:
        (prefix / "nginx.conf").write_text(config_text, encoding="utf-8")
        proc = subprocess.run(
            [binary, "-t", "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    out = proc.stdout + proc.stderr
    return Validation(proc.returncode == 0 and "test is successful" in out, out)


@dataclass
class Nginx:
    """A running nginx: its prefix folder and process."""

    prefix: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        """The error log and stderr so far (for failure messages)."""
        parts = []
        for name in ("stderr.log", "error.log"):
            with contextlib.suppress(OSError):
                parts.append((self.prefix / name).read_text(encoding="utf-8", errors="replace")[-6000:])
        return "\n".join(parts)


class Sockets:
    """Listening sockets on 127.0.0.1, one per listener port of a configuration, on ports the kernel picked.

    `sockets[P]` is the local port standing for listener port P (`port_map()` for the backend's
    `--port-map`); `running()` hands the sockets to nginx. Close with `close()` or `with`.
    """

    def __init__(self, ports: Iterable[int]) -> None:
        self.sockets: dict[int, socket.socket] = {}
        try:
            for p in ports:
                if p in self.sockets:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.sockets[p] = s
                s.bind(("127.0.0.1", 0))
                s.listen(512)
        except BaseException:
            self.close()
            raise

    def __getitem__(self, port: int) -> int:
        return int(self.sockets[port].getsockname()[1])

    def port_map(self) -> dict[int, int]:
        """Listener port → local port."""
        return {p: self[p] for p in self.sockets}

    def close(self) -> None:
        for s in self.sockets.values():
            s.close()

    def __enter__(self) -> Sockets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait_ready(nginx: Nginx, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    pid = nginx.prefix / "nginx.pid"
    while time.monotonic() < deadline:
        if nginx.process.poll() is not None:
            raise RuntimeError(f"nginx exited with code {nginx.process.returncode}:\n{nginx.log()}")
        with contextlib.suppress(OSError):
            if pid.read_text(encoding="utf-8").strip() == str(nginx.process.pid):
                return
        time.sleep(delay)  # polling back-off, not synchronisation by guesswork
        delay = min(delay * 1.5, 0.2)
    raise RuntimeError(f"nginx did not start after {timeout:.0f}s:\n{nginx.log()}")


@contextlib.contextmanager
def running(config_text: str, sockets: Sockets, *, timeout: float = READY_TIMEOUT) -> Iterator[Nginx]:
    """Start nginx on a configuration whose listeners are `sockets` (127.0.0.1); stop it on exit."""
    binary = nginx_binary()
    prefix = _prefix()
    (prefix / "nginx.conf").write_text(config_text, encoding="utf-8")
    fds = [s.fileno() for s in sockets.sockets.values()]
    env = dict(os.environ, NGINX="".join(f"{fd};" for fd in fds))
    try:
        with open(prefix / "stderr.log", "wb") as err:
            proc = subprocess.Popen(
                [binary, "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"],
                stdout=err,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=fds,
                env=env,
            )
        nginx = Nginx(prefix, proc)
        try:
            _wait_ready(nginx, timeout)
            yield nginx
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (fast shutdown) to nginx's process group, then SIGKILL if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a crash
        os.killpg(proc.pid, signal.SIGKILL)
