"""The models and the published schemas accept Istio's own samples, and the schemas are fresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from meshc import schema as schema_module
from meshc.models import lookup, validate, version_ok
from meshc.models.traffic import Gateway

from .conftest import REPO_ROOT, corpus_dir


def _istio_documents(folder: Path) -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(folder.rglob("*.y*ml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if isinstance(document, dict) and lookup(document.get("apiVersion"), document.get("kind")):
                found.append((str(path.relative_to(folder)), index, document))
    return found


def _schema(relative: str) -> dict[str, Any]:
    return json.loads((REPO_ROOT / "schemas" / relative).read_text(encoding="utf-8"))


def test_every_known_sample_document_validates_with_the_models() -> None:
    documents = _istio_documents(corpus_dir("istio-samples"))
    kinds = {d["kind"] for _, _, d in documents}
    assert {"VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Service", "Deployment"} <= kinds
    failures = []
    for path, index, document in documents:
        info = lookup(document["apiVersion"], document["kind"])
        assert info is not None and version_ok(info, document["apiVersion"])
        _, problems = validate(info.model, document)
        failures.extend(f"{path}#{index}: {p.loc}: {p.message}" for p in problems)
    assert failures == []


def test_every_known_sample_document_validates_with_the_committed_schemas() -> None:
    failures = []
    for path, index, document in _istio_documents(corpus_dir("istio-samples")):
        info = lookup(document["apiVersion"], document["kind"])
        assert info is not None
        validator = jsonschema.Draft202012Validator(_schema(schema_module.relative_path(info)))
        failures.extend(f"{path}#{index}: {e.json_path}: {e.message}" for e in validator.iter_errors(document))
    assert failures == []


def test_gateway_api_documents_in_the_samples_are_read_with_the_gateway_api_models() -> None:
    folder = corpus_dir("istio-samples")
    kubernetes_documents = [
        d
        for path in folder.rglob("*.y*ml")
        for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("gateway.networking.k8s.io/")
    ]
    assert {d["kind"] for d in kubernetes_documents} == {"Gateway", "HTTPRoute", "TCPRoute"}
    for d in kubernetes_documents:
        info = lookup(d["apiVersion"], d["kind"])
        assert info is not None and info.group == "gateway.networking.k8s.io" and info.model is not Gateway


def test_analyzer_inputs_never_make_validate_raise() -> None:
    documents = _istio_documents(corpus_dir("istio-analyzers/testdata"))
    assert len(documents) > 100
    valid = 0
    for _, _, document in documents:
        info = lookup(document["apiVersion"], document["kind"])
        assert info is not None
        model, problems = validate(info.model, document)
        assert (model is None) == bool(problems)
        valid += model is not None
    assert valid > len(documents) * 0.8


def test_committed_schemas_equal_a_fresh_generation() -> None:
    fresh = schema_module.generate()
    schemas_dir = REPO_ROOT / "schemas"
    committed = {p.relative_to(schemas_dir).as_posix() for p in schemas_dir.rglob("*.json")}
    stale = sorted(
        relative
        for relative, schema in fresh.items()
        if not (schemas_dir / relative).is_file()
        or (schemas_dir / relative).read_text(encoding="utf-8") != schema_module.render(schema)
    )
    extra = sorted(committed - set(fresh) - set(schema_module.NOT_GENERATED))
    assert not stale and not extra, (
        f"schemas/ is stale (changed: {stale}, extra: {extra}); run `python -m meshc.schema` and commit the result"
    )


@pytest.mark.parametrize("relative", sorted(schema_module.generate()))
def test_each_schema_is_a_valid_draft_2020_12_schema_with_kind_and_versions(relative: str) -> None:
    schema = _schema(relative)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(relative)
    assert schema["properties"]["kind"]["const"]
    assert all("/" in v or v == "v1" for v in schema["properties"]["apiVersion"]["enum"])


def test_istio_schemas_forbid_unknown_fields_so_editors_catch_typos() -> None:
    schema = _schema("networking.istio.io/virtualservice.json")
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["ObjectMeta"]["additionalProperties"] is False
    document = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "x"},
        "spec": {"hosts": ["a"], "http": [{"route": [{"destination": {"host": "a", "subet": "v1"}}]}]},
    }
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert any("subet" in e.message for e in errors)


def test_schema_rejects_an_unaccepted_api_version() -> None:
    schema = _schema("networking.istio.io/gateway.json")
    document = {
        "apiVersion": "networking.istio.io/v2",
        "kind": "Gateway",
        "metadata": {"name": "g"},
        "spec": {},
    }
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert any(list(e.path) == ["apiVersion"] for e in errors)


def test_every_clean_example_validates_with_the_models_and_the_committed_schemas() -> None:
    """The shipped examples (except examples/broken, broken on purpose) pass both validators."""
    examples = REPO_ROOT / "examples"
    documents = [
        (folder.name, path, index, document)
        for folder in sorted(examples.iterdir())
        if folder.is_dir() and folder.name != "broken"
        for path, index, document in _istio_documents(folder)
    ]
    assert len(documents) >= 20
    failures = []
    for folder, path, index, document in documents:
        info = lookup(document["apiVersion"], document["kind"])
        assert info is not None
        _, problems = validate(info.model, document)
        failures.extend(f"{folder}/{path}#{index}: {p.loc}: {p.message}" for p in problems)
        validator = jsonschema.Draft202012Validator(_schema(schema_module.relative_path(info)))
        failures.extend(f"{folder}/{path}#{index}: {e.json_path}: {e.message}" for e in validator.iter_errors(document))
    assert failures == []
