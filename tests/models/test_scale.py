"""Validation stays close to linear on huge documents (found by the bombs of tests/fuzz)."""

from __future__ import annotations

import difflib
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc.diagnostics import close_matches
from meshc.hosts import host_matches
from meshc.models import KINDS, validate
from meshc.models.networking import first_overlap

VIRTUAL_SERVICE = KINDS[("networking.istio.io", "VirtualService")].model


def _pairwise(hosts: list[str]) -> tuple[int, int] | None:
    for j in range(len(hosts)):
        for i in range(j):
            if host_matches(hosts[i], hosts[j]):
                return i, j
    return None


_host = st.builds(
    lambda wildcard, labels: wildcard + ".".join(labels),
    st.sampled_from(["", "*.", "*", "*a", "*-"]),
    st.lists(st.sampled_from(["a", "b", "ab", "ba", "x"]), max_size=3),
).filter(lambda h: h and not h.endswith("."))


def _first_overlap_is_the_first_pair_the_pairwise_loop_finds(hosts: list[str]) -> None:
    assert first_overlap(hosts) == _pairwise(hosts)


@settings(max_examples=200, deadline=None)
@given(st.lists(_host, max_size=8))
def test_first_overlap_is_the_first_pair_the_pairwise_loop_finds(hosts: list[str]) -> None:
    _first_overlap_is_the_first_pair_the_pairwise_loop_finds(hosts)


@pytest.mark.slow  # the long profile: 1,500 examples, about 12 s
@settings(max_examples=1500, deadline=None)
@given(st.lists(_host, max_size=8))
def test_first_overlap_is_the_first_pair_the_pairwise_loop_finds_long(hosts: list[str]) -> None:
    _first_overlap_is_the_first_pair_the_pairwise_loop_finds(hosts)


def _vs(hosts: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "r"},
        "spec": {"hosts": hosts, "http": [{"route": [{"destination": {"host": "r"}}]}]},
    }


def test_a_virtual_service_with_50000_hosts_validates_in_linear_time() -> None:
    hosts = [f"h{i}.example.com" for i in range(50_000)] + ["*.wild.example.net", "*.example.com"]
    start = time.process_time()  # CPU time: other processes on the machine do not count
    model, problems = validate(VIRTUAL_SERVICE, _vs(hosts))
    assert time.process_time() - start < 5  # the pairwise loop took 13 s for 10,000 hosts
    assert model is None
    [problem] = problems
    assert problem.message == "hosts `h0.example.com` and `*.example.com` overlap in the same VirtualService"


def test_a_document_with_20000_unknown_fields_is_translated_in_linear_time() -> None:
    doc = _vs(["r"])
    doc["spec"].update({f"field{i}": i for i in range(20_000)})  # type: ignore[union-attr]
    start = time.process_time()  # CPU time: other processes on the machine do not count
    _, problems = validate(VIRTUAL_SERVICE, doc)
    assert time.process_time() - start < 5  # de-duplicating through a list took 11 s for 10,000
    assert len(problems) == 20_000
    assert problems[0].message == "unknown field `field0` in `spec`"


@settings(max_examples=500, deadline=None)
@given(
    st.text("abcde", max_size=40),
    st.lists(st.text("abcde", max_size=12), max_size=6),
    st.sampled_from([0.5, 0.6, 0.75]),
)
def test_close_matches_answers_as_difflib(word: str, candidates: list[str], cutoff: float) -> None:
    assert close_matches(word, candidates, n=2, cutoff=cutoff) == difflib.get_close_matches(word, candidates, 2, cutoff)


def test_a_5_mb_unknown_key_is_reported_without_indexing_it() -> None:
    """Found by the fuzz bombs: difflib indexed the key for a suggestion (40 bytes per byte: 930 MB for 20 MB)."""
    doc = _vs(["r"])
    doc["spec"]["k" * 5_000_000] = 1  # type: ignore[index]
    tracemalloc.start()
    try:
        _, problems = validate(VIRTUAL_SERVICE, doc)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems[0].message.startswith("unknown field `kkkk")
    assert peak < 5 * 5_000_000
