"""What defining the models costs at import: field annotations are objects, rare patterns compile on first use."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from typing import Any

from pydantic import BaseModel

import meshc.models


def _model_classes() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for info in pkgutil.iter_modules(meshc.models.__path__):
        module = importlib.import_module(f"meshc.models.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_model_annotations_are_objects_not_strings() -> None:
    """Proves: no model module defines its fields under `from __future__ import annotations`.

    pydantic turns a string annotation into a `typing.ForwardRef`, compiles it and evaluates it
    when the class is created: about 0.3 ms per class of a one-file lint's imports (issue 18).
    Self-references in method signatures (a validator's `-> "Model"`) stay quoted: pydantic never
    reads them.
    """
    classes = _model_classes()
    assert len(classes) > 200  # every kind's module was imported
    strings = [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls in classes
        for name, annotation in vars(cls).get("__annotations__", {}).items()
        if isinstance(annotation, str)
    ]
    assert strings == []


def test_a_valid_virtualservice_compiles_none_of_the_patterns_kept_for_later() -> None:
    """Proves: validating a valid VirtualService compiles no pattern that only errors or other fields need.

    Each costs about 1M instructions to compile at import (issue 18, the one-file lint).
    """
    probe = (
        "from meshc.models import KINDS, validate\n"
        "from meshc.models import checks, errors, meta\n"
        "doc = {'apiVersion': 'networking.istio.io/v1', 'kind': 'VirtualService',\n"
        "       'metadata': {'name': 'a', 'namespace': 'ns'},\n"
        "       'spec': {'hosts': ['a'], 'http': [{'match': [{'headers': {'x-user': {'exact': 'u'}}}],\n"
        "                'timeout': '3s', 'route': [{'destination': {'host': 'a', 'subset': 'v1'}}]}]}}\n"
        "model, problems = validate(KINDS['networking.istio.io', 'VirtualService'].model, doc)\n"
        "assert model is not None and problems == [], problems\n"
        "later = [checks._LOWER_DNS_LABEL_RE, checks._QUALIFIED_NAME_RE, checks._DNS_PREFIX_RE,\n"
        "         checks._HEADER_VALUE_RE, checks._CONTROL, checks._ENVOY_COMMAND, checks._ENVOY_FORBIDDEN,\n"
        "         errors._TAG_RE, meta._LABEL_1035]\n"
        "print(sum('_compiled' in vars(p) for p in later))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0"


def test_duration_field_schema_is_the_one_pydantic_makes_of_its_validator_and_serializer() -> None:
    """Proves: `DurationField`'s hand-built core schema equals what pydantic builds from the annotations it replaces."""
    from typing import Annotated

    from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

    from meshc.models import base

    text = {"type": "string", "pattern": base.DURATION_PATTERN, "description": "Duration, e.g. `5s`"}
    json_schema = WithJsonSchema(text)
    by_pydantic = Annotated[
        base.Duration,
        BeforeValidator(base.parse_duration),
        PlainSerializer(base._duration_text, return_type=str),
        json_schema,
    ]
    by_hand = Annotated[base.Duration, base._ParsedDuration(), json_schema]

    def field_schema(annotation: object) -> object:
        model = type("M", (base.Model,), {"__annotations__": {"d": annotation}, "__module__": __name__})
        model.model_rebuild()
        schema: Any = model.__pydantic_core_schema__
        if schema["type"] == "definitions":
            schema = schema["schema"]
        return schema["schema"]["fields"]["d"]

    assert field_schema(by_hand) == field_schema(by_pydantic)
    assert base.DurationField.__metadata__[1].json_schema == text  # what `meshc schema` shows is unchanged
