"""Synthetic MeterReadings for the edge's tests and benchmark (about 2 KB, 13 values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

_PROPERTIES = (
    ("OBIS_1.8.0", "kWh"),
    ("OBIS_2.8.0", "kWh"),
    ("OBIS_1.8.1", "kWh"),
    ("OBIS_1.8.2", "kWh"),
    ("OBIS_1.7.0", "kW"),
    ("OBIS_2.7.0", "kW"),
    ("OBIS_32.7.0", "V"),
    ("OBIS_52.7.0", "V"),
    ("OBIS_72.7.0", "V"),
    ("OBIS_31.7.0", "A"),
    ("OBIS_51.7.0", "A"),
    ("OBIS_71.7.0", "A"),
    ("OBIS_14.7.0", "Hz"),
)


def sample_reading(
    meter_id: str,
    sequence: int,
    *,
    at: datetime | None = None,
    import_kw: float = 1.25,
    export_kw: float = 0.0,
    import_kwh: float | None = None,
) -> bytes:
    """A valid MeterReading of ``meter_id`` as JSON bytes, unique per (meter, sequence)."""
    when = at or datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=10 * sequence)
    stamp = when.isoformat()
    energy = import_kwh if import_kwh is not None else 1000.0 + sequence * 0.01
    values = {
        "OBIS_1.8.0": energy,
        "OBIS_2.8.0": 200.0 + sequence * 0.001,
        "OBIS_1.8.1": energy * 0.6,
        "OBIS_1.8.2": energy * 0.4,
        "OBIS_1.7.0": import_kw,
        "OBIS_2.7.0": export_kw,
    }
    return orjson.dumps(
        {
            "meterReadingIdentifier": f"{meter_id}-{sequence:09d}",
            "readingTime": stamp,
            "sequenceNumber": sequence,
            "propertyValues": [
                {
                    "unit": unit,
                    "date": stamp,
                    "numericalValue": values.get(prop, 230.0 + (sequence % 7) / 10),
                    "operationalPropertyDefinition": {"propertyId": prop, "allowedUnits": [unit]},
                }
                for prop, unit in _PROPERTIES
            ],
            "meterIndividual": {"meterIndividualId": meter_id},
        }
    )
