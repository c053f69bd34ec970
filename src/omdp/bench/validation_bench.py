"""Benchmark: parse and validate a 13-value electricity MeterReading.

Our :func:`~omdp.domain.validation.parse_reading` must cost no more than pydantic's own
validation of the same message. The baseline is plain pydantic models of the same shape with
no custom validators (the baseline figure for pydantic); a pydantic-core validator of
typed dicts (no model instances at all), msgspec typed structs and ``orjson.loads`` (no
validation) are printed for context. All are measured in the same run, best of three.
"""

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaValidator, core_schema

from omdp.bench.suite import Figures, named
from omdp.catalog import default_catalog
from omdp.domain.identifiers import IDENTIFIER_PATTERN
from omdp.domain.validation import parse_reading

PROPERTIES = (
    ("OBIS_1.8.0", 12345.678, "kWh"),
    ("OBIS_2.8.0", 2345.6, "kWh"),
    ("OBIS_1.8.1", 8000.1, "kWh"),
    ("OBIS_1.8.2", 4345.5, "kWh"),
    ("OBIS_1.7.0", 1.234, "kW"),
    ("OBIS_2.7.0", 0.0, "kW"),
    ("OBIS_32.7.0", 231.2, "V"),
    ("OBIS_52.7.0", 229.8, "V"),
    ("OBIS_72.7.0", 230.4, "V"),
    ("OBIS_31.7.0", 2.1, "A"),
    ("OBIS_51.7.0", 1.4, "A"),
    ("OBIS_71.7.0", 0.9, "A"),
    ("OBIS_14.7.0", 50.01, "Hz"),
)


def sample_reading() -> bytes:
    """A typical 13-value reading of a 3-phase electricity meter, as an adapter sends it."""
    cat = default_catalog()
    when = "2024-06-01T12:15:00+02:00"
    values = [
        {
            "unit": unit,
            "date": when,
            "numericalValue": value,
            "operationalPropertyDefinition": {
                "propertyId": pid,
                "propertyDescription": cat[pid].description,
                "allowedUnits": list(cat[pid].allowed_units),
            },
        }
        for pid, value, unit in PROPERTIES
    ]
    return orjson.dumps(
        {
            "meterReadingIdentifier": "5b0e6a4c-8d1f-4e2a-9c3b-7d6e5f4a3b21",
            "readingTime": when,
            "sequenceNumber": 4711,
            "propertyValues": values,
            "meterIndividual": {
                "meterIndividualId": "meter-0001",
                "householdId": "household-0001",
                "physicalMeterType": {
                    "physicalElementId": "el-3phase-v2",
                    "physicalElementName": "3-phase electricity meter",
                    "physicalMeterClass": "ELECTRICITY",
                },
            },
        }
    )


def _field(schema: core_schema.CoreSchema, *, required: bool = False) -> Any:
    return core_schema.typed_dict_field(
        schema if required else core_schema.nullable_schema(schema), required=required
    )


def baseline_validator() -> SchemaValidator:
    """pydantic-core validating the same shape without our models."""
    ident = core_schema.str_schema(pattern=IDENTIFIER_PATTERN)
    text = core_schema.str_schema(max_length=256)
    aware = core_schema.datetime_schema(tz_constraint="aware")
    definition = core_schema.typed_dict_schema(
        {
            "propertyId": _field(ident, required=True),
            "propertyDescription": _field(text),
            "allowedUnits": _field(core_schema.list_schema(core_schema.str_schema())),
        }
    )
    value = core_schema.typed_dict_schema(
        {
            "unit": _field(core_schema.str_schema(max_length=32)),
            "date": _field(aware),
            "numericalValue": _field(core_schema.float_schema(allow_inf_nan=False, strict=True)),
            "textValue": _field(core_schema.str_schema()),
            "operationalPropertyDefinition": _field(definition, required=True),
        }
    )
    element = core_schema.typed_dict_schema(
        {
            "physicalElementId": _field(ident, required=True),
            "physicalElementName": _field(text),
            "physicalMeterClass": _field(
                core_schema.literal_schema(["ELECTRICITY", "GAS", "WATER", "HEAT"]), required=True
            ),
        }
    )
    meter = core_schema.typed_dict_schema(
        {
            "meterIndividualId": _field(ident, required=True),
            "householdId": _field(ident),
            "physicalMeterType": _field(element),
        }
    )
    reading = core_schema.typed_dict_schema(
        {
            "meterReadingIdentifier": _field(ident, required=True),
            "readingTime": _field(aware, required=True),
            "sequenceNumber": _field(core_schema.int_schema(ge=0)),
            "faultCode": _field(text),
            "propertyValues": _field(core_schema.list_schema(value)),
            "meterIndividual": _field(meter),
        }
    )
    return SchemaValidator(reading)


def plain_models_validator() -> Callable[[bytes], object]:
    """Plain pydantic models of the reading's shape: pydantic's cost with no custom code."""
    ident = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
    camel = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    class Definition(BaseModel):
        model_config = camel
        property_id: ident
        property_description: str | None = None
        allowed_units: list[str] | None = None

    class Value(BaseModel):
        model_config = camel
        unit: str | None = None
        date: AwareDatetime | None = None
        numerical_value: float | None = None
        text_value: str | None = None
        operational_property_definition: Definition

    class Element(BaseModel):
        model_config = camel
        physical_element_id: ident
        physical_element_name: str | None = None
        physical_meter_class: Literal["ELECTRICITY", "GAS", "WATER", "HEAT"]

    class Meter(BaseModel):
        model_config = camel
        meter_individual_id: ident
        household_id: ident | None = None
        physical_meter_type: Element | None = None

    class Reading(BaseModel):
        model_config = camel
        meter_reading_identifier: ident
        reading_time: AwareDatetime
        sequence_number: int | None = None
        fault_code: str | None = None
        property_values: list[Value] = []
        meter_individual: Meter | None = None

    return Reading.model_validate_json


def _rate(func: Callable[[bytes], object], payload: bytes, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(200):
            func(payload)
        count += 200
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def _msgspec_decoder() -> Callable[[bytes], object] | None:
    try:
        import msgspec
    except ImportError:  # msgspec is a dev dependency, for comparison only
        return None

    class Definition(msgspec.Struct):
        propertyId: str
        propertyDescription: str | None = None
        allowedUnits: list[str] | None = None

    class Value(msgspec.Struct):
        operationalPropertyDefinition: Definition
        unit: str | None = None
        date: datetime | None = None
        numericalValue: float | None = None
        textValue: str | None = None

    class Reading(msgspec.Struct):
        meterReadingIdentifier: str
        readingTime: datetime
        sequenceNumber: int | None = None
        propertyValues: list[Value] = []
        meterIndividual: dict[str, Any] | None = None

    return msgspec.json.Decoder(Reading).decode


def measure(*, quick: bool) -> Figures:
    """Measure each contender (best of three), print the figures and return them."""
    payload = sample_reading()
    seconds = 0.4 if quick else 2.0
    baseline = baseline_validator()
    contenders: list[tuple[str, str, Callable[[bytes], object]]] = [
        ("omdp", "omdp parse_reading", parse_reading),
        ("pydantic_models", "plain pydantic models (baseline)", plain_models_validator()),
        ("pydantic_core", "pydantic-core typed dicts", baseline.validate_json),
        ("orjson", "orjson.loads (no validation)", orjson.loads),
    ]
    decoder = _msgspec_decoder()
    if decoder is not None:
        contenders.append(("msgspec", "msgspec typed structs", decoder))
    rates: dict[str, float] = {}
    for _round in range(3):  # best of three: the machine is shared
        for key, _, func in contenders:
            rates[key] = max(rates.get(key, 0.0), _rate(func, payload, seconds / 3))
    print(f"payload: {len(payload)} bytes, {len(PROPERTIES)} property values")
    for key, label, _ in contenders:
        print(f"  {label:34} {rates[key]:>10,.0f} msg/s")
    ratio = rates["omdp"] / rates["pydantic_models"]
    print(f"  ratio omdp / plain pydantic models: {ratio:.2f} (target: >= 1.0 within noise)")
    figures = named("payload", bytes=len(payload), values=len(PROPERTIES))
    for key, rate in rates.items():
        figures |= named(key, msgs_per_s=round(rate))
    return figures | named("omdp", ratio_to_pydantic_models=round(ratio, 3))
