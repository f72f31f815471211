"""The DSP schema loader against the official examples, and the protocol parser against the same examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dsp_schemas import SCHEMAS_DIR, assert_valid, needs_schemas, schema_for, schema_name, schema_names

from connectors.dsp.protocol import parse

EXAMPLES = sorted(SCHEMAS_DIR.glob("*/example/*.json")) if SCHEMAS_DIR.is_dir() else []
# Official examples that their own schema rejects: kept, so that a fixed upstream release shows up here.
UPSTREAM_MISMATCHES = {
    "common/dataservice-did-service.json": "the DID service schema wants a serviceEndpoint ending in "
    "/catalog; the example's ends in /.well-known/dspace-version",
}


def _example_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def _example_schema(path: Path, example: dict) -> str:
    """The schema an example illustrates: its ``@type`` when that names a schema, else its file name
    (``catalogservice-did-service.json`` illustrates ``did-service-schema.json``)."""
    names = schema_names()
    if example.get("@type") in names:
        return example["@type"]
    stem = path.stem.split("_")[0]
    matches = [
        p for p in SCHEMAS_DIR.glob("*/*-schema.json") if stem.endswith(p.name.removesuffix("-schema.json"))
    ]
    assert matches, f"no schema for example {path.name}"
    return schema_name(max(matches, key=lambda p: len(p.name)))


@needs_schemas
def test_every_schema_has_a_name_and_resolves() -> None:
    assert {"Catalog", "Dataset", "ContractNegotiation", "TransferError", "ProtocolVersion"} <= set(
        schema_names()
    )
    assert schema_for("Agreement") == {
        "$ref": "https://w3id.org/dspace/2025/1/negotiation/contract-schema.json#/definitions/Agreement"
    }
    with pytest.raises(KeyError):
        schema_for("NoSuchMessage")


def _known_mismatch(path: Path) -> tuple[pytest.MarkDecorator, ...]:
    reason = UPSTREAM_MISMATCHES.get(_example_id(path))
    return (pytest.mark.xfail(strict=True, reason=reason),) if reason else ()


@needs_schemas
@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=_known_mismatch(p), id=_example_id(p)) for p in EXAMPLES]
)
def test_official_example_validates(path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    assert_valid(example, _example_schema(path, example))


@needs_schemas
@pytest.mark.parametrize(
    "path",
    [p for p in EXAMPLES if "@type" in json.loads(p.read_text(encoding="utf-8"))],
    ids=_example_id,
)
def test_protocol_parses_official_example(path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    assert parse(example, example["@type"])["@type"] == example["@type"]


@needs_schemas
def test_invalid_message_fails_with_the_path() -> None:
    negotiation = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:p",
        "consumerPid": "urn:uuid:c",
        "state": "WAITING",
    }
    with pytest.raises(AssertionError, match="ContractNegotiation schema violated at state"):
        assert_valid(negotiation)
    with pytest.raises(AssertionError, match="without @type"):
        assert_valid({"state": "REQUESTED"})
