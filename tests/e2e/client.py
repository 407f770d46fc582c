"""The HTTP client of the end-to-end tests: one request to a proxy on 127.0.0.1, what came back."""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass


@dataclass
class Response:
    """What a client saw."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    """Seconds from sending the request to reading the whole answer."""

    @property
    def stub(self) -> str | None:
        """Name of the stub that answered (its `x-stub` header); None when the proxy answered itself."""
        return self.headers.get("x-stub")

    def json(self) -> dict[str, object]:
        """The stub's echo of the request."""
        return json.loads(self.body)


def request(
    port: int,
    path: str = "/",
    *,
    host: str = "localhost",
    method: str = "GET",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP/1.1 request to 127.0.0.1:`port` with a bounded timeout (Host sent as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    start = time.monotonic()
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        for k, v in items:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.monotonic() - start
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, elapsed)
    finally:
        conn.close()


def request_until_close(port: int, path: str, *, host: str, timeout: float = 10.0) -> Response:
    """A GET with `Connection: close`, reading until the proxy closes the connection.

    nginx closes it only once the request is finished, subrequests included, so every `mirror`
    copy of this request has reached its upstream when this returns (a client that hangs up
    after the answer can make nginx drop a copy still in flight).
    """
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(status, headers, body, time.monotonic() - start)
