"""The models share one frozen set of given fields per distinct set, with pydantic's meaning."""

from __future__ import annotations

import importlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from meshc.models import KINDS, validate
from meshc.models.base import LooseModel, Model

VIRTUAL_SERVICE = KINDS[("networking.istio.io", "VirtualService")].model


def _virtual_service(name: str, route: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {"hosts": [name], "http": [{"route": [route]}]},
    }


_ROUTE_FIELDS = {"weight": 100, "headers": {"request": {"set": {"a": "b"}}}}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sets(st.sampled_from(sorted(_ROUTE_FIELDS))), min_size=1, max_size=6))
def test_given_fields_are_pydantics_and_one_object_per_distinct_set(choices: list[set[str]]) -> None:
    """Proves: `model_fields_set` holds exactly the fields a document gave, and equal sets are one object."""
    seen: dict[frozenset[str], int] = {}
    for i, chosen in enumerate(choices):
        route = {"destination": {"host": "a"}, **{k: _ROUTE_FIELDS[k] for k in chosen}}
        model, problems = validate(VIRTUAL_SERVICE, _virtual_service(f"r{i}", route))
        assert model is not None, problems
        given_fields = model.spec.http[0].route[0].model_fields_set  # type: ignore[attr-defined]
        assert given_fields == {"destination", *chosen}
        assert isinstance(given_fields, frozenset)
        assert seen.setdefault(given_fields, id(given_fields)) == id(given_fields)


def test_assigning_a_field_keeps_pydantics_meaning_and_leaves_other_models_alone() -> None:
    """Proves: an assignment sets the value and adds the name to the model's given fields, not to the shared set."""
    models = [validate(VIRTUAL_SERVICE, _virtual_service(n, {"destination": {"host": "a"}}))[0] for n in "ab"]
    first, second = (m.spec.http[0].route[0] for m in models)  # type: ignore[union-attr]
    assert first.model_fields_set is second.model_fields_set
    first.weight = 7
    first.destination = second.destination
    assert (first.weight, first.model_fields_set) == (7, {"destination", "weight"})
    assert (second.weight, second.model_fields_set) == (None, {"destination"})
    models[0].spec.gateways = ["x"]  # type: ignore[union-attr]
    assert models[0].spec.gateways == ["x"] and "gateways" in models[0].spec.model_fields_set  # type: ignore[union-attr]
    assert "gateways" not in models[1].spec.model_fields_set  # type: ignore[union-attr]


def _model_classes() -> list[type[BaseModel]]:
    for module in ("extensions", "gatewayapi", "kube", "meta", "networking", "security", "traffic", "workloads"):
        importlib.import_module(f"meshc.models.{module}")
    found: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Model, LooseModel]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_list_and_map_defaults_are_new_empty_values_made_by_python_functions() -> None:
    """Proves: no field's `default_factory` is the builtin `list` or `dict`, and the defaults keep pydantic's meaning.

    pydantic reads each factory's signature when it builds a validator; for `list` that parses its
    text signature with the tokenizer (about 15 ms of a one-file lint). `empty_list`/`empty_dict`
    give a new empty value per instance, which is not among the given fields.
    """
    classes = _model_classes()
    assert len(classes) > 100
    builtin = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in classes
        for name, info in cls.__pydantic_fields__.items()
        if info.default_factory in (list, dict)
    ]
    assert builtin == []
    docs = [_virtual_service(n, {"destination": {"host": "a"}}) for n in "ab"]
    for doc in docs:
        doc["spec"]["http"][0]["match"] = [{"uri": {"prefix": "/"}}]
    models = [validate(VIRTUAL_SERVICE, doc)[0] for doc in docs]
    rules = [m.spec.http[0] for m in models]  # type: ignore[union-attr]
    blocks = [r.match[0] for r in rules]
    assert (blocks[0].headers, blocks[0].queryParams, blocks[0].model_fields_set) == ({}, {}, {"uri"})
    assert blocks[0].headers is not blocks[1].headers
    assert (rules[0].mirrors, rules[0].model_fields_set) == ([], {"match", "route"})
    assert rules[0].mirrors is not rules[1].mirrors
