"""The demo's pieces without network: history, files, registry, ids, status parsing."""

from __future__ import annotations

import itertools
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omdp.adapter.config import load_adapter_file
from omdp.adapter.radio import meter_config
from omdp.catalog import default_catalog
from omdp.cloud.settings import CloudSettings
from omdp.cloud.storage import open_store
from omdp.demo import history
from omdp.demo.files import DemoState, MeterKeys, Secrets, SiteFiles, write_site
from omdp.demo.layout import METERS, Ports, individual
from omdp.edge.settings import EdgeSettings
from omdp.errors import ConfigError
from omdp.ops.ids import READING_NAMESPACE, reading_id
from omdp.ops.status import parse_prometheus
from omdp.security.protect import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV
from omdp.settings import load_settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()


def test_reading_id_is_uuid5_of_meter_and_utc_time() -> None:
    when = datetime(2025, 3, 30, 3, 0, tzinfo=UTC)
    expected = uuid.uuid5(READING_NAMESPACE, f"m-1\n{when.isoformat()}")
    assert reading_id("m-1", when) == str(expected)
    assert reading_id("m-1", when.astimezone(datetime.now().astimezone().tzinfo)) == str(expected)
    assert reading_id("m-2", when) != str(expected)


def test_history_is_quarter_hourly_and_continuous_with_the_live_registers() -> None:
    origin = history.history_origin(NOW)
    assert NOW - origin >= 365 * 86_400
    start = NOW - 2 * 86_400
    meter = next(m for m in METERS if m.kind == "sml")
    readings = list(history.readings(meter, start, NOW))
    assert len(readings) == 2 * 96
    assert all(b.reading_time - a.reading_time == timedelta(minutes=15)
               for a, b in itertools.pairwise(readings))  # fmt: skip
    imports = [next(v.numerical_value for v in r.values if v.property_id == "OBIS_1.8.0")
               for r in readings]  # fmt: skip
    assert imports == sorted(imports)  # a register never goes back
    exported = [next(v.numerical_value for v in r.values if v.property_id == "OBIS_2.8.0")
                for r in readings]  # fmt: skip
    assert exported[-1] > exported[0]  # PV fed in around noon
    live = history.registers_at(meter, start, readings[-1].reading_time.timestamp())
    assert abs(live.import_wh / 1000 - (imports[-1] or 0)) < 0.01


def test_backfill_writes_every_meter_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        start = NOW - 86_400
        assert history.count(start, NOW) == 96 * len(METERS)
        assert history.backfill(store, start, NOW) == 96 * len(METERS)
        assert history.backfill(store, start, NOW) == 0  # ids are deterministic
    finally:
        store.close()


def test_site_files_load_as_each_part_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = SiteFiles(tmp_path)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(files.adapter_secret_key))  # as the demo does
    keys = Secrets.load_or_create(tmp_path)
    assert Secrets.load_or_create(tmp_path) == keys
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    write_site(files, Ports(), keys, {m.meter_id: "127.0.0.1:40100" for m in METERS})
    cloud = load_settings(CloudSettings, files.cloud)
    assert cloud.db.url == files.db_url
    assert len(cloud.api.tokens) == 1
    edge = load_settings(EdgeSettings, files.edge)
    assert edge.local.port == edge.cloud.port == 1883
    for meter in METERS:
        path = files.adapter(meter)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        config = load_adapter_file(path)
        if meter.kind == "wmbus":  # one receiver's file: each radio meter is configured in it
            assert config.meter is not None
            [radio] = [r for r in config.meter.radio_meters if r.id == meter.address]
            config = meter_config(config, radio)
        assert config.meter_individual_id == meter.meter_id
        assert config.adapter.household_id == meter.household_id


def test_ad5_dlms_meter_key_is_encrypted_in_its_adapter_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-5: household 3's DLMS key is generated once (mode 600) and sits in its adapter file
    only encrypted; the file loads with the demo's secret key and no other."""
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_FILE_ENV, raising=False)
    files = SiteFiles(tmp_path)
    write_site(files, Ports(), Secrets.load_or_create(tmp_path),
               {m.meter_id: "127.0.0.1:40104" for m in METERS})  # fmt: skip
    meter = next(m for m in METERS if m.kind == "dlms")
    assert meter.household_id == "household-3"
    key = MeterKeys.load_or_create(tmp_path).dlms_key
    assert MeterKeys.load_or_create(tmp_path).dlms_key == key
    assert len(bytes.fromhex(key)) == 16
    for private in (tmp_path / "meter-keys.json", files.adapter_secret_key, files.adapter(meter)):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    text = files.adapter(meter).read_text(encoding="utf-8")
    assert key not in text
    assert key.lower() not in text
    assert "key: enc:v1:" in text
    with pytest.raises(ConfigError, match=SECRET_KEY_ENV):
        load_adapter_file(files.adapter(meter))
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(files.adapter_secret_key))
    config = load_adapter_file(files.adapter(meter))
    assert config.meter is not None
    assert config.meter.kind == "dlms"
    assert config.meter.key == key
    assert config.meter.profile == "dlms-kaifa-ma309"
    assert Ports(meters_from=40100).meter("dlms") == 40104
    assert Ports(meters_from=0).meter("dlms") == 0


def test_state_round_trips(tmp_path: Path) -> None:
    assert DemoState.load(tmp_path) is None
    DemoState(history_origin=1.0, history_end=2.0, backfilled=True).save(tmp_path)
    assert DemoState.load(tmp_path) == DemoState(1.0, 2.0, True)


def test_registry_entries_name_their_properties() -> None:
    catalog = default_catalog()
    for meter in METERS:
        entry = individual(meter, catalog)
        element = entry.physical_meter_type
        assert element is not None
        assert element.physical_meter_operational_properties
        assert entry.meter_individual_name


def test_parse_prometheus_sums_labelled_samples() -> None:
    text = (
        "# HELP omdp_ingest_stored_total Readings stored.\n"
        "# TYPE omdp_ingest_stored_total counter\n"
        "omdp_ingest_stored_total 42.0\n"
        'http_requests_total{route="/a"} 3\n'
        'http_requests_total{route="/b"} 4\n'
        "omdp_ingest_lag_seconds 0.25\n"
    )
    assert parse_prometheus(text) == {
        "omdp_ingest_stored_total": 42.0,
        "http_requests_total": 7.0,
        "omdp_ingest_lag_seconds": 0.25,
    }
