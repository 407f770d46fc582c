"""Upstream stubs for end-to-end tests: tiny HTTP servers that say who they are and echo the request.

Each stub listens on 127.0.0.1 on a free port and answers every request with JSON:
`{"stub": NAME, "method": ..., "path": ..., "query": ..., "headers": {lowercase name: value}}`,
so a test can tell which backend answered and what it received (rewritten path, Host, added
headers). A stub can also be told to answer with a fixed status (`status=503`) to exercise
retries and outlier detection, and to `hold` every request until the test releases it, while it
counts the requests in progress (`active`, `peak`): concurrency is measured as state, not time.

`tcp_recorder()` is a raw TCP server that keeps the bytes each connection sends (what a TLS
passthrough forwards), and `refusing()` a port that refuses connections (a dead endpoint).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@contextlib.contextmanager
def refusing() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection (a dead endpoint), held until the block ends.

    The socket is bound (the kernel picked the port, nobody else can take it) and never listens, so
    a connection attempt is answered with a reset at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


HOLD_LIMIT = 30.0
"""Seconds a held request waits at most for `release()` (a test that forgets to release still ends)."""


@dataclass
class Stub:
    """A running stub: its name, port, and every request it received."""

    name: str
    port: int
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    hold: threading.Event | None = None
    """When set, every request waits for this event (at most `HOLD_LIMIT`) before it is answered."""
    active: int = 0
    """Requests received and not answered yet (a request stops counting just before its answer's last
    bytes are sent, so a request the proxy sends once it has that answer never overlaps it)."""
    peak: int = 0
    """The most requests ever in progress at once."""
    changed: threading.Condition = field(default_factory=threading.Condition)
    """Notified whenever a request arrives or is answered at this stub or any other stub started with it
    (see `wait_for`, whose predicate may look at several stubs)."""
    arrived: int = 0
    """Requests received so far, answered or not (`requests` lists the answered ones)."""
    reset: bool = False
    """Answer nothing: reset the connection once the request is read."""
    pause: threading.Event | None = None
    """When set, send the first half of each answer, then wait for this event before the rest."""

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to put in a config."""
        return ("127.0.0.1", self.port)

    def hold_requests(self) -> None:
        """From now on, requests wait until `release()`."""
        self.hold = threading.Event()

    def release(self) -> None:
        """Answer every held request, and stop holding."""
        if self.hold is not None:
            self.hold.set()
            self.hold = None

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Wait until `predicate(stub)` holds (checked on every arrival and answer); False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self), timeout)


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)
        in_progress = False
        """This request counts in `stub.active`."""

        def _answer(self) -> None:
            with stub.changed:
                stub.arrived += 1
                stub.active += 1
                stub.peak = max(stub.peak, stub.active)
                stub.changed.notify_all()
            self.in_progress = True
            try:
                self._reply()
            finally:
                self._answered()

        def _answered(self) -> None:
            """The request stops counting in `active`: called just BEFORE the answer's last bytes leave.

            A proxy may send its next request the moment it has an answer (Envoy with
            `max_requests_per_connection: 1` closes the connection and opens a new one for a queued
            request); counted after the write, this thread, descheduled between its write and the
            count (a loaded machine), overlapped that next request: `peak` 2 behind a proxy that
            never had two requests upstream at once. Counted before it, the next request can only
            arrive after the count went down.
            """
            if self.in_progress:
                self.in_progress = False
                with stub.changed:
                    stub.active -= 1
                    stub.changed.notify_all()

        def _reply(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            hold = stub.hold
            if hold is not None:
                hold.wait(HOLD_LIMIT)
            if stub.reset:
                # close with RST and no answer: the connection is reset after the request was sent
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self._answered()
                self.connection.close()
                return
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
            if self.command == "HEAD":
                self._answered()
                self.end_headers()
                return
            self.end_headers()
            pause = stub.pause
            if pause is None:
                self._answered()
                self.wfile.write(body)
                return
            # the first half now, the rest once released: a proxy that streams passes the first half on
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            pause.wait(HOLD_LIMIT)
            self._answered()
            self.wfile.write(body[half:])

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A proxy that gave up on a request (a timeout, a reset) closes the connection: not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def running(*names: str, status: int = 200) -> Iterator[dict[str, Stub]]:
    """Start one stub per name; stop them all on exit."""
    stubs: dict[str, Stub] = {}
    threads: list[threading.Thread] = []
    changed = threading.Condition()  # shared: a predicate on several stubs wakes up on any of them
    try:
        for name in names:
            stub = Stub(name, 0, status, changed=changed)
            server = _Server(("127.0.0.1", 0), _handler(stub))
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


@dataclass
class Recorder:
    """A raw TCP server: the bytes every connection it accepted sent (one message each)."""

    port: int
    received: list[bytes] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until `count` connections have sent something; False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.received) >= count, timeout)


def tls_record_complete(data: bytes) -> bool:
    """True when `data` holds at least one whole TLS record (a ClientHello fits in the first)."""
    return len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big")


@contextlib.contextmanager
def tcp_recorder(complete: Callable[[bytes], bool] = tls_record_complete) -> Iterator[Recorder]:
    """A TCP server on 127.0.0.1 (port 0, kept) that reads each connection until `complete(data)` or EOF."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.05)
        rec = Recorder(int(server.getsockname()[1]))

        def serve() -> None:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            chunks = []
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    while not complete(b"".join(chunks)) and (chunk := conn.recv(65536)):
                        chunks.append(chunk)
            data = b"".join(chunks)
            with rec.changed:
                rec.received.append(data)
                rec.changed.notify_all()

        with serving(serve):
            yield rec


@contextlib.contextmanager
def serving(step: Callable[[], bool | None]) -> Iterator[None]:
    """Call `step` again and again in a daemon thread until the block ends or it returns False.

    `step` serves one request and must return within a short socket timeout, so that the thread
    sees the end of the block; the thread is always joined.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            if step() is False:
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
