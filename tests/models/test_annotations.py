"""The models' field annotations are objects, so defining a model class compiles and evaluates no strings."""

from __future__ import annotations

import importlib
import pkgutil

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
