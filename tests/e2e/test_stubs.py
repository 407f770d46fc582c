"""The upstream stubs answer with their name, echo what they received, and can hold requests; dead ports refuse."""

from __future__ import annotations

import json
import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.client import request
from tests.e2e.stubs import refusing, running


def test_stub_echoes_path_query_and_headers() -> None:
    with running("v1", "v2") as stubs:
        port = stubs["v2"].port
        req = urllib.request.Request(f"http://127.0.0.1:{port}/a/b?x=1", headers={"X-Test": "yes"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = json.loads(resp.read())
            assert resp.headers["x-stub"] == "v2"
    assert body["stub"] == "v2"
    assert (body["path"], body["query"]) == ("/a/b", "x=1")
    assert body["headers"]["x-test"] == "yes"
    assert stubs["v2"].requests == [body]
    assert stubs["v1"].requests == []


def test_held_requests_are_counted_as_state() -> None:
    with running("slow") as stubs, ThreadPoolExecutor(max_workers=3) as pool:
        stub = stubs["slow"]
        stub.hold_requests()
        url = f"http://127.0.0.1:{stub.port}/"
        answers = [pool.submit(lambda: urllib.request.urlopen(url, timeout=10).status) for _ in range(3)]
        assert stub.wait_for(lambda s: s.active == 3), stub.active
        assert not any(a.done() for a in answers)  # held: nothing answered yet
        stub.release()
        assert [a.result() for a in answers] == [200, 200, 200]
        assert stub.wait_for(lambda s: s.active == 0) and stub.peak == 3


def test_an_answered_request_no_longer_counts() -> None:
    """Once a client has a whole answer (or the reset), the stub no longer counts its request, at once.

    A proxy that sends its next request the moment it has an answer (Envoy closing a connection at
    max_requests_per_connection, then opening one for a queued request) never shows as two requests
    in progress, however late the stub's thread runs after its write (a loaded machine).
    """
    with running("seq") as stubs:
        stub = stubs["seq"]
        for i in range(30):
            resp = request(stub.port, f"/{i}", method="HEAD" if i % 3 == 2 else "GET")
            assert (resp.status, stub.active) == (200, 0), i
        stub.reset = True
        with pytest.raises(ConnectionError):
            request(stub.port, "/reset")
        assert (stub.active, stub.arrived, stub.peak) == (0, 31, 1)


def test_refusing_port_refuses_connections() -> None:
    with refusing() as port, pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
