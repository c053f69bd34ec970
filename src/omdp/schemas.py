"""The JSON Schemas of everything that crosses a component boundary, generated from the models.

They are committed under ``schemas/`` so that other implementations of the specification can
validate against them; a test fails when the committed files drift from the code
(regenerate with ``omdp schema --write schemas``).
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel

from omdp.domain.adapter_file import AdapterConfigFile
from omdp.domain.household import Household
from omdp.domain.query import ReadingsQuery, ReadingsResponse
from omdp.domain.reading import MeterIndividual, MeterReading, PhysicalMeterElement

Mode = Literal["validation", "serialization"]

SCHEMAS: MappingProxyType[str, tuple[type[BaseModel], Mode, str]] = MappingProxyType(
    {
        "meter-reading": (MeterReading, "validation", "A MeterReading message (DM-1..DM-3)."),
        "physical-meter-element": (PhysicalMeterElement, "validation", "DM-5."),
        "meter-individual": (MeterIndividual, "validation", "DM-6."),
        "household": (Household, "validation", "A household (DM-6)."),
        "adapter-config": (AdapterConfigFile, "validation", "The adapter file (CL-10)."),
        "readings-query": (ReadingsQuery, "validation", "POST /v1/meterReadings body (CL-3)."),
        "readings-response": (ReadingsResponse, "serialization", "Its answer (CL-4)."),
    }
)

BASE_ID = "https://omdp.example/schemas/"


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) called ``name``; KeyError for an unknown name."""
    model, mode, description = SCHEMAS[name]
    doc = model.model_json_schema(by_alias=True, mode=mode)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}{name}.json",
        "description": description,
        **doc,
    }


def schema_text(name: str) -> str:
    """The schema as the committed file holds it: sorted keys, two-space indent."""
    return json.dumps(schema(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
