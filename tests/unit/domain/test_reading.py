"""The MeterReading model: DM-1..DM-6 and the published defects of docs/requirements.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, PhysicalMeterElement
from omdp.domain.validation import parse_reading, unit_issues
from omdp.errors import ValidationFailure


def reading(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "meterReadingIdentifier": "0f8e2c9a-5d1b-4c7e-9a3f-1b2c3d4e5f60",
        "readingTime": "2024-03-31T02:30:00+02:00",
        "propertyValues": [
            {
                "unit": "kWh",
                "numericalValue": 1234.5,
                "operationalPropertyDefinition": {"propertyId": "OBIS_1.8.0"},
            }
        ],
    }
    doc.update(overrides)
    return doc


def problems(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailure) as info:
        parse_reading(json.dumps(doc))
    return info.value.problems


def test_dm1_identifier_and_time_with_offset_are_required() -> None:
    """DM-1: a reading MUST carry an identifier and an RFC 3339 time with a timezone offset."""
    ok = parse_reading(json.dumps(reading()))
    assert ok.meter_reading_identifier.startswith("0f8e2c9a")
    assert ok.reading_time.utcoffset() is not None
    assert ok.reading_time.utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert problems(reading(readingTime="2024-03-31T02:30:00")) == [
        (
            "$.readingTime",
            "time MUST include a timezone offset (RFC 3339), e.g. 2024-01-01T00:00:00+01:00",
        )
    ]
    doc = reading()
    del doc["meterReadingIdentifier"]
    assert problems(doc) == [("$.meterReadingIdentifier", "field required")]


def test_dm1_times_keep_the_senders_offset_on_output() -> None:
    """DM-1: the sender's offset survives a round trip."""
    out = json.loads(parse_reading(json.dumps(reading())).to_json())
    assert out["readingTime"] == "2024-03-31T02:30:00+02:00"


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00Z", "9999-06-01T00:00:00Z", "not a time", "2024-13-01T00:00:00Z"]
)
def test_dm1_unrepresentable_or_malformed_times_are_refused(when: str) -> None:
    """DM-1: times the stores cannot represent and malformed times are errors on readingTime."""
    [(path, _)] = problems(reading(readingTime=when))
    assert path == "$.readingTime"


@pytest.mark.parametrize(
    ("when", "read"),
    [
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59+00:00"),
        ("2200-01-01T00:00:00+01:00", "2200-01-01T00:00:00+01:00"),
        ("2024-01-01t00:00:00z", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01 00:00:00-00:00", "2024-01-01T00:00:00+00:00"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999+00:00"),
        ("2024-06-30T23:59:60.5+02:00", "2024-06-30T23:59:59.999999+02:00"),
        ("2024-01-01T00:00:00.123456789+01:00", "2024-01-01T00:00:00.123456+01:00"),
    ],
)
def test_dm1_every_rfc3339_time_with_an_offset_is_read(when: str, read: str) -> None:
    """DM-1: any RFC 3339 time with an offset is a reading time: old and far-future years,
    lower-case separators, a space for T, the unknown offset -00:00, leap seconds (read as the
    last microsecond before them), nanoseconds (truncated)."""
    ok = parse_reading(json.dumps(reading(readingTime=when)))
    assert ok.reading_time.isoformat() == read


def test_dm2_fault_code_and_sequence_number_are_kept() -> None:
    """DM-2: faultCode and sequenceNumber are optional and preserved."""
    ok = parse_reading(json.dumps(reading(faultCode="FC1", sequenceNumber=7)))
    assert (ok.fault_code, ok.sequence_number) == ("FC1", 7)


@pytest.mark.parametrize("odd", [-1, 1.5, "seven", 2**64, None, [], {}])
def test_dm2_a_sequence_number_that_is_no_counter_is_ignored(odd: Any) -> None:
    """DM-2: sequenceNumber is not in the published schema, so any value is allowed: a counter
    (0 to 2^63-1) is kept, anything else is ignored and the reading stored."""
    ok = parse_reading(json.dumps(reading(sequenceNumber=odd)))
    assert ok.sequence_number is None
    assert ok.property_values[0].numerical_value == 1234.5


def test_dm3_a_property_value_must_have_a_value() -> None:
    """DM-3: numericalValue or textValue MUST be present; text alone is enough."""
    doc = reading()
    del doc["propertyValues"][0]["numericalValue"]
    assert problems(doc) == [
        ("$.propertyValues[0]", "a property value MUST have numericalValue or textValue (DM-3)")
    ]
    doc["propertyValues"][0]["textValue"] = "OK"
    assert parse_reading(json.dumps(doc)).property_values[0].text_value == "OK"


@pytest.mark.parametrize("bad", ["12.5", True, None])
def test_dm3_numerical_value_must_be_a_json_number(bad: Any) -> None:
    """DM-3: a string, a boolean or null is not a numerical value."""
    doc = reading()
    doc["propertyValues"][0]["numericalValue"] = bad
    paths = [p for p, _ in problems(doc)]
    assert paths[0].startswith("$.propertyValues[0]")


def test_dm3_nan_and_infinity_are_refused() -> None:
    """DM-3: NaN and infinities are not values."""
    text = json.dumps(reading()).replace("1234.5", "NaN")
    with pytest.raises(ValidationFailure) as info:
        parse_reading(text)
    assert info.value.problems[0][0] == "$.propertyValues[0].numericalValue"


def test_dm3_property_value_date_must_carry_an_offset() -> None:
    """DM-3: a value's own date is a time and needs a timezone."""
    doc = reading()
    doc["propertyValues"][0]["date"] = "2024-01-01T00:00:00"
    [(path, _)] = problems(doc)
    assert path == "$.propertyValues[0].date"


def test_dm3_unit_outside_allowed_units_is_kept_and_flagged() -> None:
    """DM-3 and docs/requirements.md: a power in kWh is stored and flagged, not rejected."""
    doc = reading()
    doc["propertyValues"][0]["operationalPropertyDefinition"]["propertyId"] = "OBIS_15.7.0"
    from omdp.catalog import default_catalog

    ok = parse_reading(json.dumps(doc))
    [issue] = unit_issues(ok, default_catalog())
    assert issue.path == "$.propertyValues[0].unit"
    assert issue.allowed == ("kW",)
    assert not unit_issues(parse_reading(json.dumps(reading())), default_catalog())


def test_dm4_property_name_spelling_is_accepted_and_written_as_description() -> None:
    """DM-4 and docs/requirements.md: propertyName is read, propertyDescription is written."""
    doc = reading()
    doc["propertyValues"][0]["operationalPropertyDefinition"]["propertyName"] = "A+ total"
    out = json.loads(parse_reading(json.dumps(doc)).to_json())
    definition = out["propertyValues"][0]["operationalPropertyDefinition"]
    assert definition == {"propertyId": "OBIS_1.8.0", "propertyDescription": "A+ total"}


def element(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "physicalElementId": "el-1",
        "physicalElementName": "3-phase meter",
        "physicalMeterClass": "ELECTRICITY",
        "physicalMeterOperationalProperties": [{"propertyId": "OBIS_1.8.0"}],
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize("cls", ["ELECTRICITY", "GAS", "WATER", "HEAT"])
def test_dm5_meter_class_is_one_of_four(cls: str) -> None:
    """DM-5: physicalMeterClass is one of ELECTRICITY, GAS, WATER, HEAT."""
    assert PhysicalMeterElement.model_validate(element(physicalMeterClass=cls))
    with pytest.raises(ValidationError):
        PhysicalMeterElement.model_validate(element(physicalMeterClass=cls.lower() + "x"))


def test_dm5_element_lists_its_properties() -> None:
    """DM-5: an element lists the operational properties it provides."""
    el = PhysicalMeterElement.model_validate(element())
    assert el.physical_meter_class is MeterClass.ELECTRICITY
    assert [p.property_id for p in el.physical_meter_operational_properties] == ["OBIS_1.8.0"]


def test_dm6_meter_individual_physical_meter_spelling_and_household() -> None:
    """DM-6 (docs/requirements.md): physicalMeter is read as physicalMeterType; householdId kept."""
    doc = reading(
        meterIndividual={
            "meterIndividualId": "meter-7",
            "householdId": "hh-1",
            "physicalMeter": element(),
        }
    )
    ok = parse_reading(json.dumps(doc))
    assert ok.meter_id == "meter-7"
    out = json.loads(ok.to_json())["meterIndividual"]
    assert "physicalMeter" not in out
    assert out["physicalMeterType"]["physicalElementId"] == "el-1"
    assert out["householdId"] == "hh-1"


def test_dm6_unknown_meter_class_names_the_field() -> None:
    """DM-6: a meter individual's element must have a known class; the error names it."""
    doc = reading(
        meterIndividual={
            "meterIndividualId": "m",
            "physicalMeterType": element(physicalMeterClass="STEAM"),
        }
    )
    [(path, reason)] = problems(doc)
    assert path == "$.meterIndividual.physicalMeterType.physicalMeterClass"
    assert "ELECTRICITY" in reason


@pytest.mark.parametrize("ident", ["", "a/b", "a+b", "a#b", "x" * 129, "-lead", "sp ace"])
def test_dm6_identifiers_are_opaque_but_bounded(ident: str) -> None:
    """DM-1/DM-6: ids are opaque strings with a sane length and character set."""
    doc = reading(meterIndividual={"meterIndividualId": ident})
    [(path, reason)] = problems(doc)
    assert path == "$.meterIndividual.meterIndividualId"
    assert "identifier" in reason or "characters" in reason


def test_dm6_household_timezone_must_be_a_known_zone() -> None:
    """DM-6: a household carries a real IANA timezone."""
    assert Household(household_id="h1", timezone="Europe/Berlin").timezone == "Europe/Berlin"
    with pytest.raises(ValidationError, match="unknown IANA timezone"):
        Household(household_id="h1", timezone="Mars/Olympus")


def test_not_json_is_a_precise_error() -> None:
    """DM-1: input that is not JSON at all is rejected with a reason at the root."""
    with pytest.raises(ValidationFailure) as info:
        parse_reading(b"\x00garbage")
    [(path, reason)] = info.value.problems
    assert path == "$"
    assert reason.startswith("not valid JSON")


def test_dm1_spec_examples_are_valid(shared_dir: Path) -> None:
    """DM-1..DM-6: the published examples are valid once §8's defects are accepted."""
    for example in sorted((shared_dir / "spec-data" / "examples").glob("*.json")):
        ok = parse_reading(example.read_bytes())
        assert ok.meter_individual is not None
        assert ok.meter_individual.physical_meter_type is not None


def test_dm1_python_code_builds_readings_from_datetimes() -> None:
    """DM-1: adapters build readings from aware datetimes (the text check is for JSON only)."""
    from datetime import UTC, datetime

    from omdp.domain.reading import MeterReading

    when = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert MeterReading(meter_reading_identifier="r1", reading_time=when).reading_time == when
