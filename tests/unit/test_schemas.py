"""The committed JSON Schemas match the code, and validate real documents."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from omdp.schemas import SCHEMAS, schema, schema_text

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_the_code(name: str) -> None:
    """A model change without `omdp schema --write schemas` fails here."""
    committed = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert committed == schema_text(name), f"schemas/{name}.json drifted: regenerate it"


def test_no_stray_schema_files() -> None:
    """Every committed schema is one the code still publishes."""
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == set(SCHEMAS)


def test_dm1_examples_validate_against_the_reading_schema(shared_dir: Path) -> None:
    """DM-1..DM-6: other implementations can validate the examples with the schema alone."""
    validator = jsonschema.Draft202012Validator(schema("meter-reading"))
    for example in (shared_dir / "spec-data" / "examples").glob("*.json"):
        validator.validate(json.loads(example.read_text()))


def test_dm1_schema_requires_identifier_and_time() -> None:
    """DM-1: the published schema itself requires the identifier and the time."""
    assert set(schema("meter-reading")["required"]) == {"meterReadingIdentifier", "readingTime"}
