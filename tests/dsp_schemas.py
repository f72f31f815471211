"""The official DSP 2025-1 JSON Schemas (``../shared/dsp-2025-1``) as a validator for test messages.

Every ``*-schema.json`` is registered under its ``$id`` so that cross-file references resolve
offline. Three transfer schemas spell references ``#definitions/X``, which is not a JSON pointer;
they are repaired to ``#/definitions/X`` in memory. A schema is named after its file, in the form
of a message ``@type``: ``catalog-error-schema.json`` is ``CatalogError``,
``protocol-version-schema.json`` is ``ProtocolVersion``. A definition inside a schema (``Agreement``,
``Offer``, ``DataAddress`` ...) can be named too, for checking a part of a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

SCHEMAS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "dsp-2025-1"
needs_schemas = pytest.mark.skipif(
    not SCHEMAS_DIR.is_dir(), reason="../shared/dsp-2025-1 (the official DSP JSON Schemas) is absent"
)


def schema_name(path: Path) -> str:
    """``contract-negotiation-error-schema.json`` -> ``ContractNegotiationError``."""
    stem = path.name.removesuffix("-schema.json")
    return "".join(part.capitalize() for part in stem.split("-"))


def _repaired(node: Any) -> Any:
    """``node`` with every ``...#definitions/X`` reference made the JSON pointer ``...#/definitions/X``."""
    if isinstance(node, Mapping):
        return {
            key: value.replace("#definitions/", "#/definitions/")
            if key == "$ref" and isinstance(value, str)
            else _repaired(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_repaired(item) for item in node]
    return node


@cache
def _schemas() -> tuple[Registry, dict[str, dict[str, Any]]]:
    """The registry of all schemas by ``$id``, and the schemas by name."""
    by_name: dict[str, dict[str, Any]] = {}
    resources = []
    for path in sorted(SCHEMAS_DIR.glob("*/*-schema.json")):
        contents = _repaired(json.loads(path.read_text(encoding="utf-8")))
        by_name[schema_name(path)] = contents
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources), by_name


def schema_names() -> list[str]:
    return sorted(_schemas()[1])


def schema_for(name: str) -> dict[str, Any]:
    """The schema named ``name``: a whole schema file, else a definition of that name in some file."""
    by_name = _schemas()[1]
    if name in by_name:
        return by_name[name]
    for schema in by_name.values():
        if name in schema.get("definitions", {}):
            return {"$ref": f"{schema['$id']}#/definitions/{name}"}
    raise KeyError(f"no DSP schema or definition named {name}; schemas: {', '.join(schema_names())}")


def _name_of(message: Mapping[str, Any]) -> str:
    if isinstance(message.get("@type"), str):
        return str(message["@type"])
    if "protocolVersions" in message:
        return "ProtocolVersion"
    raise AssertionError(f"cannot tell which DSP schema applies to a message without @type: {message}")


def assert_valid(message: Mapping[str, Any], schema_name: str | None = None) -> None:
    """Fail the test unless ``message`` validates against its DSP schema (by ``@type`` unless named)."""
    if not SCHEMAS_DIR.is_dir():
        pytest.skip("../shared/dsp-2025-1 (the official DSP JSON Schemas) is absent")
    registry, _ = _schemas()
    name = schema_name or _name_of(message)
    validator = Draft201909Validator(schema_for(name), registry=registry)
    error = best_match(validator.iter_errors(message))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise AssertionError(f"{name} schema violated at {where}: {error.message}\n{json.dumps(message)}")
