"""An outside conformance run, end to end (issue 17): readings the specification allows, sent
as another team's adapter sends them, go through the real ingest (Mosquitto, QoS 1) into a real
store and come back from the query API in the specification's wire types.

DM-3, CL-1: text values with ``"unit": ""`` (serial numbers, tariff names, firmware versions)
are stored as values without a unit, and so are numbers such as ``1e3``, ``-0`` and integers
beyond 2^53, property ids that are no identifiers, old and far years, leap seconds. CL-2: what
the schema forbids is quarantined with its reason. CL-3, CL-4, CL-5: every answer validates
against the specification's response schema (``tests/spec/readings-response.json``): ``page``
is the number of the page returned, every property value names its unit (empty when none), and
our additions are extension fields beside them.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.integration.api.apidata import TestClient, make_settings
from tests.support.mosquitto import Mosquitto

from omdp.cloud.api.app import create_app
from omdp.cloud.ingest import IngestService
from omdp.cloud.model import ReadingFilter
from omdp.cloud.settings import IngestSettings
from omdp.cloud.storage import ReadingStore, open_store
from omdp.domain.reading import OperationalPropertyDefinition
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration

URL = "/api/v1/meterReadings"
OP = {"Authorization": "Bearer op"}
SPEC_RESPONSE = Path(__file__).resolve().parents[2] / "spec" / "readings-response.json"
CHECKER = jsonschema.FormatChecker()


@CHECKER.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


RESPONSE = jsonschema.Draft202012Validator(
    json.loads(SPEC_RESPONSE.read_text()), format_checker=CHECKER
)
METERS = ("adapter-x-1", "adapter-x-2")
READINGS = 30  # per meter: above the privacy limit of 20 rows for any caller


def _reading(meter: str, n: int) -> dict[str, Any]:
    """One reading as the outside adapter sends it: texts with an empty unit."""
    values: list[dict[str, Any]] = [
        {"unit": "", "textValue": f"SN-{meter}", "operationalPropertyDefinition": {
            "propertyId": "SITE_serialNumber", "propertyDescription": "serial number"}},
        {"unit": "", "textValue": "T1" if n % 2 else "T2",
         "operationalPropertyDefinition": {"propertyId": "SITE_tariffName"}},
        {"unit": "", "textValue": "fw 4.2.1-rc1 (build 17)",
         "operationalPropertyDefinition": {"propertyId": "SITE firmware version"}},
        {"unit": "kWh", "numericalValue": 1e3 + n,
         "operationalPropertyDefinition": {"propertyId": "OBIS_1.8.0"}},
        {"unit": "kW", "numericalValue": -0.0,
         "operationalPropertyDefinition": {"propertyId": "OBIS_1.7.0"}},
        {"unit": "Wh", "numericalValue": 9007199254740993 + n,
         "operationalPropertyDefinition": {"propertyId": "OBIS_1.8.1"}},
    ]  # fmt: skip
    return {
        "meterReadingIdentifier": f"outside-{meter}-{n:03d}",
        "readingTime": f"2024-03-01T{n // 4:02d}:{15 * (n % 4):02d}:00+01:00",
        "sequenceNumber": "not a counter" if n == 3 else n,
        "propertyValues": values,
        "meterIndividual": {"meterIndividualId": meter},
        "vendorExtension": {"anything": True},
    }


def _messages() -> tuple[list[tuple[str, bytes]], int]:
    """The conformance messages, and how many of them the schema forbids."""
    out = []
    for meter in METERS:
        topic = f"concentrator/edge-9/smartMeterMessage/{meter}/readings"
        out += [(topic, json.dumps(_reading(meter, n)).encode()) for n in range(READINGS)]
    topic = f"concentrator/edge-9/smartMeterMessage/{METERS[0]}/readings"
    odd = _reading(METERS[0], 99)
    odd["readingTime"] = "1900-02-28T23:59:60+00:19"  # a leap second in an old year: allowed
    odd["meterReadingIdentifier"] = "outside-old"
    out.append((topic, json.dumps(odd).encode()))
    forbidden = []
    for field, value in (("unit", 7), ("numericalValue", "12.5"), ("textValue", "nul\x00")):
        bad = _reading(METERS[0], 5)
        bad["meterReadingIdentifier"] = f"outside-bad-{field}"
        bad["propertyValues"][3][field] = value
        forbidden.append((topic, json.dumps(bad).encode()))
    return out + forbidden, len(forbidden)


def _ingest(port: int, store: ReadingStore, messages: list[tuple[str, bytes]]) -> None:
    settings = make_settings(Path("/nonexistent"), "sqlite://").model_copy(
        update={
            "mqtt": MqttSettings(port=port),
            "ingest": IngestSettings(client_id="ingest-outside", flush_interval_s=0.05),
        }
    )

    async def main() -> None:
        stop = asyncio.Event()
        service = IngestService(store, settings)
        running = asyncio.create_task(service.run(stop))
        try:
            await asyncio.wait_for(service.ready.wait(), 10)
            async with MqttClient(MqttSettings(port=port), client_id="outside-adapter") as pub:
                await asyncio.gather(*(pub.publish(t, p) for t, p in messages))
            deadline = time.monotonic() + 30
            while await asyncio.to_thread(_handled, store) < len(messages):
                assert time.monotonic() < deadline, "ingest did not handle every message"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await running

    asyncio.run(main())


def _handled(store: ReadingStore) -> int:
    return store.count_readings(ReadingFilter()) + store.count_quarantine()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def test_dm3_cl1_cl4_empty_units_through_ingest_store_and_query(
    mosquitto: Mosquitto, db_url: str, tmp_path: Path
) -> None:
    """DM-3, CL-1..CL-5: the outside run's readings are all stored (none quarantined for an
    empty unit), the three the schema forbids are quarantined with reasons, and the query API
    gives them back, page by page, in the specification's response schema."""
    messages, forbidden = _messages()
    store = open_store(db_url)
    try:
        store.put_property(OperationalPropertyDefinition(property_id="SITE firmware version"))
        _ingest(mosquitto.port, store, messages)
        assert store.count_readings(ReadingFilter()) == len(messages) - forbidden
        reasons = {r for e in store.list_quarantine(limit=10) for _, r in e.problems}
        assert len(store.list_quarantine(limit=10)) == forbidden, reasons
        assert any("NUL" in r for r in reasons)

        settings = make_settings(tmp_path, db_url)
        with TestClient(create_app(settings, store)) as client:
            seen: list[dict[str, Any]] = []
            page = 0
            while True:
                r = client.post(URL, json={"pageNumber": page, "pageSize": 25}, headers=OP)
                assert r.status_code == 200, r.text
                body = r.json()
                RESPONSE.validate(body)
                assert body["page"] == page  # a number, the page returned
                seen += body["content"]
                page += 1
                if page >= body["totalPages"]:
                    break
            assert len(seen) == len(messages) - forbidden == body["totalRows"]
            first = next(c for c in seen if c["readingTime"] == "2024-02-29T23:00:00+00:00")
            values = {v["propertyName"]: v for v in first["propertyValues"]}
            assert values["SITE_serialNumber"] == {
                "propertyName": "SITE_serialNumber",
                "textValue": f"SN-{first['meterId']}",
                "unit": "",
            }
            assert values["SITE firmware version"]["textValue"] == "fw 4.2.1-rc1 (build 17)"
            assert values["OBIS_1.8.0"]["numericalValue"] == 1000.0
            assert values["OBIS_1.8.1"]["numericalValue"] == 9007199254740992.0
            assert values["OBIS_1.7.0"]["numericalValue"] == 0  # -0 is zero (SQLite drops the sign)
            old = next(c for c in seen if c["readingTime"].startswith("1900"))
            assert datetime.fromisoformat(old["readingTime"]).second == 59

            filtered = client.post(
                URL,
                json={
                    "operationalProperties": [
                        {"specificPropertyName": "SITE firmware version",
                         "textValueEqualTo": "fw 4.2.1-rc1 (build 17)"}
                    ],
                    "readingTimeStart": "2024-03-01T00:00:00+01:00",
                },
                headers=OP,
            )  # fmt: skip
            assert filtered.status_code == 200, filtered.text
            RESPONSE.validate(filtered.json())
            assert filtered.json()["totalRows"] == 2 * READINGS

            bulk = client.post(URL, json={"resultForm": "bulk"}, headers=OP)
            RESPONSE.validate(bulk.json())
            assert bulk.json()["resultForm"] == "bulk"
            lines = client.get(bulk.json()["linkToBulk"]).text.splitlines()
            assert len(lines) == len(seen)
    finally:
        store.close()
