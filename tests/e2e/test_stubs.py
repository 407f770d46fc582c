"""The upstream stubs answer with their name and echo what they received."""

from __future__ import annotations

import json
import urllib.request

from tests.e2e.stubs import running


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
