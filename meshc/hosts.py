"""Host names as Istio and Envoy compare them: one function per relation, used by every layer.

Istio's relations (`pkg/config/host/name.go`) compare names as given; every caller passes names
already lowercased where case does not matter (the Mesh stores registry names lowercased, and
`Mesh.fqdn` lowercases what it resolves). Argument order follows Istio's methods:
`host_matches(a, b)` is `Name(a).Matches(b)`, `host_subset_of(a, b)` is `Name(a).SubsetOf(b)`
("every name `a` stands for is also matched by `b`").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TypeVar

V = TypeVar("V")


def is_wildcard(name: str) -> bool:
    """`host.Name.IsWildCarded`: the name starts with `*`."""
    return name[:1] == "*"


def host_matches(a: str, b: str) -> bool:
    """Whether two host names overlap, wildcards included (`host.Name.Matches`, symmetric).

    `*` matches anything; `*.x.com` matches `a.x.com` and `*.b.x.com` but not `x.com`; two
    wildcards match when the longer one's suffix ends with the shorter one's.
    """
    a_wild, b_wild = is_wildcard(a), is_wildcard(b)
    if a_wild and b_wild:
        return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
    if a_wild:
        return b.endswith(a[1:])
    if b_wild:
        return a.endswith(b[1:])
    return a == b


def host_subset_of(a: str, b: str) -> bool:
    """Whether every name `a` stands for is also matched by `b` (`host.Name.SubsetOf`)."""
    if is_wildcard(b):
        if is_wildcard(a):
            return len(a) >= len(b) and a[1:].endswith(b[1:])
        return a.endswith(b[1:])
    return a == b


def more_specific(a: str, b: str) -> bool:
    """`host.MoreSpecific`: exact names before wildcards, then longer first, then alphabetical."""
    a_wild, b_wild = is_wildcard(a), is_wildcard(b)
    if a_wild != b_wild:
        return b_wild
    if len(a) == len(b):
        return a < b
    return len(a) > len(b)


def most_specific_match(needle: str, specific: Mapping[str, V], wildcard: Mapping[str, V]) -> tuple[str, V] | None:
    """`MostSpecificHostMatch` (pilot/pkg/model/config.go): the exact entry, else the most specific wildcard.

    A wildcard needle looks for itself among the wildcards, then for wildcards its suffix ends with.
    """
    if is_wildcard(needle):
        if needle in wildcard:
            return needle, wildcard[needle]
        return _most_specific_wildcard(needle[1:], wildcard)
    if needle in specific:
        return needle, specific[needle]
    return _most_specific_wildcard(needle, wildcard)


def _most_specific_wildcard(needle: str, wildcard: Mapping[str, V]) -> tuple[str, V] | None:
    best: str | None = None
    for h in wildcard:
        if needle.endswith(h[1:]) and (best is None or more_specific(h, best)):
            best = h
    return (best, wildcard[best]) if best is not None else None


def domain_matches(domain: str, host: str) -> bool:
    """Whether an Envoy virtual-host domain matches a Host (lowercase, port already stripped).

    `*` matches everything; `*suffix` and `prefix*` need at least one more character than the
    pattern has (Envoy never matches the empty wildcard part).
    """
    if domain == "*" or domain == host:
        return True
    if domain.startswith("*"):
        suffix = domain[1:]
        return len(host) > len(suffix) and host.endswith(suffix)
    if domain.endswith("*"):
        prefix = domain[:-1]
        return len(host) > len(prefix) and host.startswith(prefix)
    return False


def is_ip(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address (no brackets, no port)."""
    if ":" not in text and text.strip("0123456789."):
        # Neither form: IPv4 is ASCII digits and dots only, IPv6 has colons. A host name is
        # answered here without the parse and its exception (compile asks for every cluster).
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def split_host(host: str) -> tuple[str | None, str]:
    """Split a Gateway server host `ns/host` into (namespace or None, host)."""
    if "/" in host:
        ns, _, h = host.partition("/")
        return ns, h
    return None, host
