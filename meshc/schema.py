"""Generate the JSON Schemas of the kinds meshc reads, and write them to `schemas/`.

`python -m meshc.schema` rewrites `schemas/<group>/<kind>.json` at the repository root (the core
group is `core`). The schemas are draft 2020-12, generated from the pydantic models, so editors
using `# yaml-language-server: $schema=...` flag the same unknown fields and bad values as meshc.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from meshc.models import KINDS, KindInfo

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://meshc.dev/schemas/"
ROOT = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = ROOT / "schemas"


def relative_path(info: KindInfo) -> str:
    """Where a kind's schema lives under `schemas/`, e.g. `networking.istio.io/virtualservice.json`."""
    return f"{info.group or 'core'}/{info.kind.lower()}.json"


def _drop_property_titles(node: Any) -> None:
    """Remove pydantic's generated property titles (`Portlevelmtls`); keep the model titles."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for value in properties.values():
                if isinstance(value, dict):
                    value.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_property_titles(value)


def _fix_integer_keys(node: Any) -> None:
    """Map keys are strings in JSON: turn integer `propertyNames` into digit patterns."""
    if isinstance(node, dict):
        names = node.get("propertyNames")
        if isinstance(names, dict) and names.get("type") == "integer":
            node["propertyNames"] = {"pattern": "^[0-9]+$"}
        for value in node.values():
            _fix_integer_keys(value)
    elif isinstance(node, list):
        for value in node:
            _fix_integer_keys(value)


def schema_for(info: KindInfo) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one kind's documents.

    Args:
        info: the kind, from `meshc.models.KINDS`.

    Returns:
        A schema with `$schema`, `$id`, `title`, `apiVersion` as an enum of the accepted
        `group/version` strings, `kind` as a const, and `additionalProperties: false` wherever
        the model forbids unknown fields.
    """
    generated = info.model.model_json_schema(by_alias=True, mode="validation")
    properties = generated.setdefault("properties", {})
    properties["apiVersion"] = {
        "description": "The API group and version of the resource.",
        "enum": list(info.api_versions),
        "type": "string",
    }
    properties["kind"] = {"const": info.kind, "description": "The kind of the resource.", "type": "string"}
    _fix_integer_keys(generated)
    _drop_property_titles(generated)
    group = info.group or "core"
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": ID_BASE + relative_path(info),
        "title": f"{info.kind} ({group}/{info.versions[0]})",
    }
    schema.update({k: v for k, v in generated.items() if k != "title"})
    return schema


NOT_GENERATED = ("meshc-test.json",)
"""Schemas under `schemas/` that are not generated from the models (the `meshc test` file format,
kept fresh by tests/test_routetest.py)."""


def generate() -> dict[str, dict[str, Any]]:
    """Every kind's schema, keyed by its path relative to `schemas/`."""
    return {relative_path(info): schema_for(info) for info in KINDS.values()}


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """Rewrite the schema files under `directory`; remove stale `.json` files; return the written paths."""
    schemas = generate()
    written: list[Path] = []
    for relative, schema in sorted(schemas.items()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    keep = set(written)
    for path in directory.rglob("*.json"):
        if path not in keep and path.relative_to(directory).as_posix() not in NOT_GENERATED:
            path.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    """Rewrite `schemas/` at the repository root (or the folder given as the only argument)."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else SCHEMAS_DIR
    written = write(directory)
    print(f"wrote {len(written)} schemas to {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
