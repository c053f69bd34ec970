"""Mapping meter values onto operational properties: AD-2, AD-3, DM-1, DM-2."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omdp.adapter.config import load_adapter_file, load_profile, profile_names
from omdp.adapter.mapping import Mapper
from omdp.adapter.readings import ReadingFactory
from omdp.adapter.samples import MeterSample, SourceValue
from omdp.adapter.selectors import parse_selector
from omdp.catalog import default_catalog
from omdp.domain.adapter_file import PropertyMapping, StaticValue
from omdp.domain.validation import parse_reading
from omdp.errors import ConfigError

CAT = default_catalog()


def mbus(quantity: str, value: float, unit: str, **fields: int | str) -> SourceValue:
    base: dict[str, str | int] = {
        "quantity": quantity,
        "function": "instantaneous",
        "storage": 0,
        "tariff": 0,
        "subunit": 0,
        "unit": unit,
    }
    base.update(fields)
    return SourceValue(base, value, unit)


def obis(code: str, value: float | str, unit: str | None = None) -> SourceValue:
    return SourceValue({"obis": code}, value, unit)


def mapping(source: str, target: str, **kw: object) -> PropertyMapping:
    return PropertyMapping.model_validate({"from": source, "to": target, **kw})


def test_ad2_mbus_records_map_with_unit_conversion() -> None:
    """AD-2: an M-Bus Energy record in Wh becomes OBIS_1.8.0 in kWh; phases by index."""
    sample = MeterSample(
        values=(
            mbus("Energy", 12_345_678, "Wh"),
            mbus("Energy", 1_000, "Wh", subunit=1),
            mbus("Power", 1500, "W"),
            mbus("Voltage", 231.5, "V"),
            mbus("Voltage", 229.0, "V"),
            mbus("Voltage", 230.1, "V"),
        )
    )
    mapper = Mapper(load_profile("mbus-electricity-3phase"), [], CAT)
    out = {v.property_id: (v.numerical_value, v.unit) for v in mapper.map(sample).values}
    assert out["OBIS_1.8.0"] == (12345.678, "kWh")
    assert out["OBIS_2.8.0"] == (1.0, "kWh")
    assert out["OBIS_1.7.0"] == (1.5, "kW")
    assert out["OBIS_52.7.0"] == (229.0, "V")
    assert out["OBIS_72.7.0"] == (230.1, "V")


def test_ad2_obis_short_and_full_forms() -> None:
    """AD-2: `1.8.0` matches any A-B; `1-0:1.8.0` only electricity channel 0."""
    sample = MeterSample(values=(obis("0-1:24.2.1", 12.5, "m3"), obis("1-0:1.8.0", 5, "kWh")))
    assert parse_selector("1.8.0").pick(sample) is not None
    assert parse_selector("0-1:24.2.1").pick(sample) is not None
    assert parse_selector("1-0:24.2.1").pick(sample) is None


def test_ad2_json_path_and_missing_values_are_reported() -> None:
    """AD-2: a JSON device's fields are picked by path; absent ones are listed, not invented."""
    sample = MeterSample(values=(), document={"power": {"import": 812}, "phases": [{"u": 230.2}]})
    mapper = Mapper(
        [
            mapping("$.power.import", "OBIS_1.7.0", unit="kW", scale=0.001),
            mapping("$.phases[0].u", "OBIS_32.7.0"),
            mapping("$.power.export", "OBIS_2.7.0"),
        ],
        [],
        CAT,
    )
    result = mapper.map(sample)
    got = {v.property_id: v.numerical_value for v in result.values}
    assert got == {"OBIS_1.7.0": 0.812, "OBIS_32.7.0": 230.2}
    assert result.missing == ("$.power.export",)


def test_ad3_static_values_are_added_to_every_reading() -> None:
    """AD-3: facts the meter does not know (household size) come from configuration."""
    static = StaticValue.model_validate({"to": "HOUSEHOLD_size", "numericalValue": 4})
    mapper = Mapper([], [static], CAT)
    [value] = mapper.map(MeterSample(values=())).values
    assert (value.property_id, value.numerical_value) == ("HOUSEHOLD_size", 4)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (mapping("1-0:1.8.0", "OBIS_NOPE"), "unknown operational property 'OBIS_NOPE'"),
        (mapping("mbus:colour=red", "OBIS_1.8.0"), "is not FIELD=VALUE"),
        (mapping("garbage", "OBIS_1.8.0"), "neither an OBIS code"),
        (mapping("$.a..b", "OBIS_1.8.0"), "cannot read it at character"),
        (mapping("1-0:1.8.0", "OBIS_1.8.0", unit="V"), "is not an allowed unit of OBIS_1.8.0"),
    ],
)
def test_ad2_bad_mappings_are_refused_naming_the_entry(
    entry: PropertyMapping, message: str
) -> None:
    """AD-2: every mapping is checked at start; the error names the entry and the reason."""
    with pytest.raises(ConfigError, match="OperationalPropertyMapping\\[0\\]") as info:
        Mapper([entry], [], CAT)
    assert message in str(info.value)


def test_every_shipped_profile_maps_known_properties() -> None:
    """AD-2: the shipped profiles only name catalogue properties."""
    for name in profile_names():
        Mapper(load_profile(name), [], CAT)


def test_dm1_dm2_reading_time_offset_and_faults() -> None:
    """DM-1/DM-2: local offset across DST; meter clock used; backwards register flagged."""
    berlin = ZoneInfo("Europe/Berlin")
    now = [datetime(2024, 3, 31, 0, 30, tzinfo=UTC)]
    factory = ReadingFactory("meter-1", CAT, timezone=berlin, clock=lambda: now[0])
    mapper = Mapper([mapping("1-0:1.8.0", "OBIS_1.8.0")], [], CAT)
    winter = factory.build(
        s := MeterSample(values=(obis("1-0:1.8.0", 10.0, "kWh"),)), mapper.map(s)
    )
    assert winter.reading_time.isoformat() == "2024-03-31T01:30:00+01:00"
    now[0] += timedelta(hours=1)
    summer = factory.build(s := MeterSample(values=(obis("1-0:1.8.0", 9.5, "kWh"),)), mapper.map(s))
    assert summer.reading_time.isoformat() == "2024-03-31T03:30:00+02:00"
    assert summer.fault_code == "REGISTER_BACKWARDS:OBIS_1.8.0"
    assert summer.sequence_number == winter.sequence_number + 1  # type: ignore[operator]
    assert summer.meter_reading_identifier != winter.meter_reading_identifier
    meter_time = datetime(2024, 3, 31, 3, 29, tzinfo=berlin)
    timed = factory.build(s := MeterSample(values=(), meter_time=meter_time), mapper.map(s))
    assert timed.reading_time == meter_time
    skewed = MeterSample(values=(), meter_time=meter_time - timedelta(days=3), fault="MBUS_0x04")
    bad = factory.build(skewed, mapper.map(skewed))
    assert bad.fault_code is not None
    assert bad.fault_code.startswith("MBUS_0x04;METER_CLOCK_SKEW:")
    assert parse_reading(bad.to_json()) == bad


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_ad4_file_names_meter_and_mapping_profile_expands(tmp_path: Path) -> None:
    """AD-4: MeterIndividualId and the mapping; a profile fills in, own entries override."""
    file = write(
        tmp_path / "a.yaml",
        "MeterIndividualId: meter-7\nMeter: {kind: dsmr, tcp: '127.0.0.1:1', profile: dsmr5}\n"
        "OperationalPropertyMapping:\n"
        "  - {from: '1-0:1.7.0', to: OBIS_1.7.0, unit: kW, scale: 2}\n",
    )
    config = load_adapter_file(file)
    assert config.meter_individual_id == "meter-7"
    power = [m for m in config.operational_property_mapping if m.target == "OBIS_1.7.0"]
    assert [m.scale for m in power] == [2.0]
    assert len(config.operational_property_mapping) == len(load_profile("dsmr5"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("OperationalPropertyMapping: []\n", "MeterIndividualId: field required"),
        ("MeterIndividualId: m\n", "OperationalPropertyMapping is empty"),
        ("MeterIndividualId: m\nBogus: 1\n", "Bogus"),
        ("MeterIndividualId: [\n", "not valid YAML"),
        ("MeterIndividualId: m\nMeter: {kind: dsmr, profile: nope}\n", "unknown mapping profile"),
    ],
)
def test_ad4_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """AD-4: a malformed adapter file is refused at start with the field and the reason."""
    with pytest.raises(ConfigError, match=message):
        load_adapter_file(write(tmp_path / "a.yaml", text))


def test_ad5_secrets_readable_by_others_are_refused(tmp_path: Path) -> None:
    """AD-5: a file holding secrets must be mode 600; the message says how to fix it."""
    text = (
        "MeterIndividualId: m\nOperationalPropertyMapping: [{from: '1.8.0', to: OBIS_1.8.0}]\n"
        "CloudAuth: {username: m, password: s3cret}\n"
    )
    file = write(tmp_path / "a.yaml", text, mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        load_adapter_file(file)
    assert "s3cret" not in str(info.value)
    os.chmod(file, 0o600)
    config = load_adapter_file(file)
    assert "s3cret" not in repr(config)
