"""GET /v1/meterHealth: gap detection from sequence numbers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.api.apidata import Api

from omdp.cloud.model import StoredReading, StoredValue

pytestmark = pytest.mark.integration

URL = "/api/v1/meterHealth"


def _readings(meter: str, sequences: list[int]) -> list[StoredReading]:
    start = datetime.now(UTC) - timedelta(hours=1)
    return [
        StoredReading(
            reading_id=f"{meter}-health-{n}",
            meter_id=meter,
            reading_time=start + timedelta(minutes=n),
            sequence_number=seq,
            values=(StoredValue("OBIS_1.8.0", 1.0 + n, unit="kWh"),),
        )
        for n, seq in enumerate(sequences)
    ]


def test_gaps_restarts_and_silence_per_meter(api: Api) -> None:
    """CL-1, AD-1: numbers 1, 2, 5, 6 of m-a miss two readings; m-b's numbering restarts
    (3, 4, 1, 2: an adapter that lost its state) without a gap; m-c has no recent reading
    (silent); a meter outside the registry is listed too, for operators. An owner sees only
    the meters of their household; a caller without one is refused."""
    api.store.write_batch(
        _readings("m-a", [1, 2, 5, 6])
        + _readings("m-b", [3, 4, 1, 2])
        + _readings("stray", [7, 8, 10])
    )
    r = api.client.get(URL, params={"hours": 2}, headers=api.as_("op"))
    assert r.status_code == 200, r.text
    got = {item["meterId"]: item for item in r.json()["items"]}
    assert got["m-a"]["missingReadings"] == 2
    assert got["m-a"]["readings"] == 4
    assert got["m-a"]["lastSequenceNumber"] == 6
    assert not got["m-a"]["healthy"]
    assert got["m-b"]["missingReadings"] == 0
    assert got["m-b"]["restarts"] == 1
    assert got["m-b"]["healthy"]
    assert got["m-c"]["silent"]
    assert got["m-c"]["readings"] == 0
    assert not got["m-c"]["healthy"]
    assert got["stray"]["registered"] is False
    assert got["stray"]["missingReadings"] == 1
    own = api.client.get(URL, params={"hours": 2}, headers=api.as_("owner2")).json()
    assert [item["meterId"] for item in own["items"]] == ["m-c"]
    assert api.client.get(URL, headers=api.as_("res")).status_code == 403
    assert api.client.get(URL, params={"hours": 0}, headers=api.as_("op")).status_code == 422
