"""A tiny authoritative DNS responder on 127.0.0.1 (UDP) for end-to-end tests of nginx's `resolver`.

`running({"reviews.default.svc.cluster.local": "127.0.0.1"})` answers A queries for those names
with the given IPv4 address (TTL `ttl`), AAAA queries for them with no record (NOERROR), and every
other name with NXDOMAIN. It records each query as (name, type) so a test can prove that nginx
resolved a name while it ran. Packets are built by hand (RFC 1035 §4); the server thread polls a
stop flag every 50 ms and is always stopped and joined on exit.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.e2e.stubs import serving

TYPE_A = 1
TYPE_AAAA = 28
NXDOMAIN = 3
FORMERR = 1


@dataclass
class Responder:
    """A running responder: its port, its records and every query it received."""

    records: dict[str, str]
    ttl: int = 5
    port: int = 0
    queries: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, packet: bytes) -> bytes | None:
        """The response to one query packet (None when it is too short to answer)."""
        if len(packet) < 12:
            return None
        ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
        labels, i = [], 12
        while i < len(packet) and packet[i] != 0:
            n = packet[i]
            labels.append(packet[i + 1 : i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        if qdcount != 1 or i + 5 > len(packet):
            return struct.pack("!HHHHHH", ident, 0x8000 | FORMERR, 0, 0, 0, 0)
        qtype, _qclass = struct.unpack("!HH", packet[i + 1 : i + 5])
        question = packet[12 : i + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        rd = flags & 0x0100
        address = self.records.get(name)
        answers = b""
        rcode = 0
        if address is None:
            rcode = NXDOMAIN
        elif qtype == TYPE_A:
            # the name as a pointer to the question (offset 12), type A, class IN, TTL, 4 bytes
            answers = struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, self.ttl, 4) + socket.inet_aton(address)
        count = 1 if answers else 0
        header = struct.pack("!HHHHHH", ident, 0x8400 | rd | rcode, 1, count, 0, 0)  # QR, AA
        return header + question + answers


@contextlib.contextmanager
def running(records: dict[str, str], *, ttl: int = 5) -> Iterator[Responder]:
    """Serve `records` (name → IPv4) on 127.0.0.1 (a free UDP port); stop on exit."""
    responder = Responder({k.lower().rstrip("."): v for k, v in records.items()}, ttl)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    responder.port = int(sock.getsockname()[1])

    def serve() -> bool:
        try:
            packet, peer = sock.recvfrom(512)
        except TimeoutError:
            return True
        except OSError:
            return False
        reply = responder.answer(packet)
        if reply is not None:
            with contextlib.suppress(OSError):
                sock.sendto(reply, peer)
        return True

    try:
        with serving(serve):
            yield responder
    finally:
        sock.close()
