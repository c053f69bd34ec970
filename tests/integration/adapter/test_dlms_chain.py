"""An encrypted DLMS meter through the whole chain: simulated Kaifa MA309 (AES-GCM pushes in wired
M-Bus frames over a TCP bridge) -> adapter (``Meter.kind: dlms``, its key encrypted at rest) ->
local Mosquitto -> edge -> cloud Mosquitto -> ingest -> SQLite store -> query API over HTTP
(AD-1, AD-2, AD-5, AD-6, CO-1, CL-1, DM-1).

The meter pushes as the Austrian customer interfaces do (security control 0x20: encrypted, no
tag); the household's owner asks the API and gets the readings with the catalogue's OBIS
properties in the catalogue's units, the values the meter sent, scaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet
from tests.integration.edge.support import edge_settings, running_edge
from tests.support.mosquitto import Mosquitto

from omdp.adapter.config import load_adapter_file
from omdp.adapter.service import Adapter
from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.catalog import default_catalog
from omdp.cloud.api.app import create_app
from omdp.cloud.api.settings import ApiSettings
from omdp.cloud.ingest import IngestService
from omdp.cloud.settings import CloudSettings, IngestSettings
from omdp.cloud.storage import open_store
from omdp.cloud.storage.port import ReadingStore
from omdp.decoders.dlms import DlmsKeys
from omdp.demo.layout import DemoMeter, individual
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass
from omdp.edge.api import http_server
from omdp.mqtt.settings import MqttSettings
from omdp.security.protect import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV, encrypt_secrets
from omdp.simulators.dlms_meter import DlmsMeter
from omdp.simulators.dsmr_meter import MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile

pytestmark = pytest.mark.integration

KEY = "36C66639E48A8CA4D6BC8B282A793BBB"
OWNER_TOKEN = "owner-of-h-at"  # noqa: S105 - a throwaway test token
OTHER_OWNER_TOKEN = "owner-of-h-elsewhere"  # noqa: S105
INTERVAL = 1.2
"""Seconds between pushes; above 1 s, so the frame counter (the meter's unix second) rises."""
READINGS = 3
METER = DemoMeter(
    "at-kaifa-1", "h-at", "Kaifa MA309", "dlms", "dlms-kaifa-ma309", "kaifa-ma309",
    "Kaifa MA309 DLMS meter", MeterClass.ELECTRICITY, seed=5,
)  # fmt: skip
EXPECTED_UNITS = {
    "OBIS_1.8.0": "kWh", "OBIS_2.8.0": "kWh", "OBIS_1.7.0": "kW", "OBIS_2.7.0": "kW",
    "OBIS_32.7.0": "V", "OBIS_52.7.0": "V", "OBIS_72.7.0": "V",
    "OBIS_31.7.0": "A", "OBIS_51.7.0": "A", "OBIS_71.7.0": "A",
}  # fmt: skip


def _adapter_file(folder: Path, port: int, broker: Mosquitto, fernet: Fernet) -> Path:
    """The adapter's file with the meter's key encrypted at rest, mode 600."""
    doc: dict[str, Any] = {
        "MeterIndividualId": METER.meter_id,
        "Meter": {"kind": "dlms", "tcp": f"127.0.0.1:{port}", "interval": INTERVAL,
                  "profile": METER.profile, "key": KEY, "timezone": "Europe/Vienna"},
        "Broker": {"host": "127.0.0.1", "port": broker.port, "clientId": "adapter-at-kaifa-1"},
        "Adapter": {"timezone": "Europe/Vienna", "householdId": METER.household_id,
                    "outboxPath": "adapter-outbox.sqlite3"},
    }  # fmt: skip
    path = folder / "at-kaifa-1.yaml"
    path.write_text(yaml.safe_dump(encrypt_secrets(doc, fernet)), encoding="utf-8")
    path.chmod(0o600)
    assert KEY not in path.read_text(encoding="utf-8")
    return path


def _cloud_settings(tmp_path: Path, broker: Mosquitto, db_url: str) -> CloudSettings:
    return CloudSettings(
        mqtt=MqttSettings(port=broker.port),
        db={"url": db_url},
        ingest=IngestSettings(client_id="ingest-dlms", flush_interval_s=0.1),
        api=ApiSettings(
            tokens={
                hash_token(OWNER_TOKEN): ApiTokenGrant(
                    subject="owner-at", scopes=["readings:read"], household_id="h-at"
                ),
                hash_token(OTHER_OWNER_TOKEN): ApiTokenGrant(
                    subject="owner-elsewhere", scopes=["readings:read"], household_id="h-else"
                ),
            },
            bulk_secret="test-bulk-secret",  # noqa: S106 - a test key
            pseudonym_key="test-pseudonym-key",
            credentials_file=tmp_path / "credentials.json",
        ),
    )


def _register(store: ReadingStore) -> None:
    for household in ("h-at", "h-else"):
        store.put_household(
            Household(household_id=household, household_name=household, timezone="Europe/Vienna")
        )
    store.put_meter(individual(METER, default_catalog()))


async def _query(client: httpx.AsyncClient, token: str, since: datetime) -> list[dict[str, Any]]:
    answer = await client.post(
        "/v1/meterReadings",
        json={"meterIds": [METER.meter_id], "readingTimeStart": since.isoformat(),
              "pageSize": 100, "pageNumber": 0},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    answer.raise_for_status()
    content: list[dict[str, Any]] = answer.json()["content"]
    return content


def test_encrypted_dlms_meter_reaches_the_query_api(
    tmp_path: Path, mosquitto_factory: type[Mosquitto], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-1, AD-2, AD-5, AD-6, CO-1, CL-1: the household's owner reads the DLMS meter's
    deciphered, scaled values through the query API, with the catalogue's OBIS properties and
    units; another household's owner sees none of them."""
    fernet_key = Fernet.generate_key()
    (tmp_path / "secret.key").write_bytes(fernet_key)
    (tmp_path / "secret.key").chmod(0o600)
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(tmp_path / "secret.key"))
    local = mosquitto_factory("local").start()  # type: ignore[arg-type]
    cloud = mosquitto_factory("cloud").start()  # type: ignore[arg-type]
    now = time.time()
    origin = now - now % 10 - 3600  # on a 10 s step: power is constant within a second
    meter = DlmsMeter(
        profile=HouseholdProfile(seed=METER.seed, origin=origin),
        meter_profile=METER.profile,
        keys=DlmsKeys.from_hex(KEY),  # no authentication key: the Austrian SC 0x20 pushes
    )
    db_url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    settings = _cloud_settings(tmp_path, cloud, db_url)
    store = open_store(db_url, catalog=default_catalog())
    _register(store)
    started = datetime.fromtimestamp(int(now), tz=meter.profile.tz)

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], Adapter]:
        ingest = IngestService(store, settings)
        stop_cloud = asyncio.Event()
        ingesting = asyncio.create_task(ingest.run(stop_cloud))
        api = http_server(create_app(settings, store), "127.0.0.1", 0)
        serving = asyncio.create_task(api.serve())
        async with (
            MeterStreamServer(meter.frame_at, interval=INTERVAL) as sim,
            running_edge(edge_settings(local, cloud, tmp_path)),
        ):
            await asyncio.wait_for(ingest.ready.wait(), 15)
            path = _adapter_file(tmp_path, sim.port, local, Fernet(fernet_key))
            adapter = Adapter(load_adapter_file(path), catalog=default_catalog(), base_dir=tmp_path)
            running = asyncio.create_task(adapter.run())
            try:
                while not api.started:
                    await asyncio.sleep(0.05)
                base = f"http://127.0.0.1:{api.port}"
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    rows: list[dict[str, Any]] = []
                    async with asyncio.timeout(60):
                        while len(rows) < READINGS:
                            await asyncio.sleep(0.5)
                            rows = await _query(client, OWNER_TOKEN, started)
                    others = await _query(client, OTHER_OWNER_TOKEN, started)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                stop_cloud.set()
                await asyncio.wait_for(ingesting, 15)
                api.should_exit = True
                await asyncio.wait_for(serving, 15)
        return rows, others, adapter

    try:
        rows, others, adapter = asyncio.run(main())
    finally:
        store.close()
    assert others == []  # the other household's owner sees nothing of this meter
    times = [datetime.fromisoformat(r["readingTime"]) for r in rows]
    assert times == sorted(times)
    assert len(set(times)) == len(times)  # one reading per push, each push once
    for row, when in zip(rows, times, strict=True):
        assert row["meterId"] == METER.meter_id
        got = {v["propertyName"]: (v["numericalValue"], v["unit"]) for v in row["propertyValues"]}
        assert {k: unit for k, (_, unit) in got.items()} == EXPECTED_UNITS
        t = when.timestamp()  # the meter's clock, whole seconds: the push's own date-time
        power = meter.profile.power(t)
        energy = meter.profile.energy(t)
        assert got["OBIS_1.7.0"][0] == pytest.approx(int(power.import_w) / 1000)
        assert got["OBIS_2.7.0"][0] == pytest.approx(int(power.export_w) / 1000)
        assert got["OBIS_1.8.0"][0] == pytest.approx(energy.import_wh / 1000, abs=0.002)
        assert got["OBIS_2.8.0"][0] == pytest.approx(energy.export_wh / 1000, abs=0.002)
        for volts in ("OBIS_32.7.0", "OBIS_52.7.0", "OBIS_72.7.0"):
            assert got[volts][0] == pytest.approx(230.1)  # raw 2301, scaler -1
        amps = (power.import_w + power.export_w) / 230.0
        assert got["OBIS_31.7.0"][0] == pytest.approx(int(amps * 0.5 * 100) / 100)  # scaler -2
        assert got["OBIS_71.7.0"][0] == pytest.approx(int(amps * 0.2 * 100) / 100)
    assert adapter.source is not None
    assert adapter.source.stats.decode_errors == 0
