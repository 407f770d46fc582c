"""Shared helpers for the model tests: the corpus location and small document builders."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from meshc.models import KINDS, KindInfo, validate
from meshc.models.errors import Problem

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = (REPO_ROOT / ".." / "shared" / "corpus").resolve()


def corpus_dir(name: str) -> Path:
    """A folder of the shared corpus; skips the test when the corpus is absent."""
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"corpus folder {path} not found")
    return path


def info(kind: str) -> KindInfo:
    """The KindInfo of a kind by name (kinds are unique across the groups meshc reads)."""
    return next(i for i in KINDS.values() if i.kind == kind)


def check(kind: str, spec: Any, api_version: str | None = None, **metadata: Any) -> list[Problem]:
    """Validate a document of `kind` built from `spec`; return its problems."""
    kind_info = info(kind)
    document = {
        "apiVersion": api_version or kind_info.api_versions[0],
        "kind": kind,
        "metadata": {"name": "test", **metadata},
        "spec": copy.deepcopy(spec),
    }
    _, problems = validate(kind_info.model, document)
    return problems


def messages(problems: list[Problem]) -> list[str]:
    """The messages of `problems`, for compact assertions."""
    return [p.message for p in problems]


ROUTE = [{"destination": {"host": "reviews"}}]


def vs_spec(**http: Any) -> dict[str, Any]:
    """A VirtualService spec with one http rule (a route to `reviews` unless overridden)."""
    rule = {"route": copy.deepcopy(ROUTE), **http}
    return {"hosts": ["reviews"], "http": [rule]}
