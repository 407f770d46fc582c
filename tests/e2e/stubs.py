"""Upstream stubs for end-to-end tests: tiny HTTP servers that say who they are and echo the request.

Each stub listens on 127.0.0.1 on a free port and answers every request with JSON:
`{"stub": NAME, "method": ..., "path": ..., "query": ..., "headers": {lowercase name: value}}`,
so a test can tell which backend answered and what it received (rewritten path, Host, added
headers). A stub can also be told to answer with a fixed status (`status=503`) to exercise
retries and outlier detection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stub:
    """A running stub: its name, port, and every request it received."""

    name: str
    port: int
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to put in a config."""
        return ("127.0.0.1", self.port)


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            url = urlsplit(self.path)
            record = {
                "stub": stub.name,
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
            stub.requests.append(record)
            body = json.dumps(record).encode()
            self.send_response(stub.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("x-stub", stub.name)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextlib.contextmanager
def running(*names: str, status: int = 200) -> Iterator[dict[str, Stub]]:
    """Start one stub per name; stop them all on exit."""
    stubs: dict[str, Stub] = {}
    threads: list[threading.Thread] = []
    try:
        for name in names:
            stub = Stub(name, 0, status)
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
            server.daemon_threads = True
            stub.server = server
            stub.port = int(server.server_address[1])
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            threads.append(thread)
            stubs[name] = stub
        yield stubs
    finally:
        for stub in stubs.values():
            if stub.server is not None:
                stub.server.shutdown()
                stub.server.server_close()
        for thread in threads:
            thread.join(timeout=5)
