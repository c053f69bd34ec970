"""``POST /v1/energy``, ``POST /v1/series``, tariffs, prices and meter roles over real stores.

Requirement ids: APP-1 and APP-2 (energy from whatever a meter has: the total register, the sum
of tariff registers, the integral of power; water, gas, heat; PV flows; gaps spread and marked;
decimated, compressed series), APP-3 (tariffs and price series stored per household, costs),
CL-9/CL-13 (one household never sees or changes another's; erasure takes the settings along).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.integration.api.apidata import Api, TestClient, make_settings

from omdp.cloud.api.app import create_app
from omdp.cloud.model import AggregateFunction, Interval, StoredReading, StoredValue
from omdp.cloud.storage import ReadingStore, open_store
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Europe/Berlin")
DAY0 = datetime(2026, 11, 2, tzinfo=ZONE)  # a Monday
Q = timedelta(minutes=15)
OWNER1, OWNER2, OP, RES = "owner1", "owner2", "op", "res"


def element(eid: str, klass: MeterClass, *props: str) -> PhysicalMeterElement:
    return PhysicalMeterElement(
        physical_element_id=eid,
        physical_meter_class=klass,
        physical_meter_operational_properties=[
            OperationalPropertyDefinition(property_id=p) for p in props
        ],
    )


ELEMENTS = {
    "dsmr": element("el-dsmr", MeterClass.ELECTRICITY, "OBIS_1.8.1", "OBIS_1.8.2"),
    "total": element("el-total", MeterClass.ELECTRICITY, "OBIS_1.8.0", "OBIS_2.8.0"),
    "power": element("el-power", MeterClass.ELECTRICITY, "OBIS_1.7.0"),
    "net": element("el-net", MeterClass.ELECTRICITY, "OBIS_16.7.0"),
    "water": element("el-water", MeterClass.WATER, "WATER_volume_of_water"),
    "gas": element("el-gas", MeterClass.GAS, "GAS_volume"),
    "heat": element("el-heat", MeterClass.HEAT, "HEAT_energy"),
}


def put_meter(store: ReadingStore, meter: str, household: str, kind: str) -> None:
    store.put_meter(
        MeterIndividual(
            meter_individual_id=meter,
            meter_individual_name=f"{kind} meter",
            household_id=household,
            physical_meter_type=ELEMENTS[kind],
        )
    )


def write(store: ReadingStore, meter: str, rows: list[tuple[datetime, dict[str, float]]]) -> None:
    store.write_batch(
        [
            StoredReading(
                f"{meter}-{int(t.timestamp())}",
                meter,
                t.astimezone(UTC),
                tuple(StoredValue(p, v) for p, v in values.items()),
            )
            for t, values in rows
        ]
    )


def quarters(days: int = 2) -> list[datetime]:
    return [DAY0 + i * Q for i in range(days * 96)]


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """h-one: a DSMR meter (tariff registers); h-two: empty. Tokens as in apidata."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_store(url)
    for hid in ("h-one", "h-two"):
        store.put_household(Household(household_id=hid, timezone="Europe/Berlin"))
    for el in ELEMENTS.values():
        store.put_element(el)
    settings = make_settings(tmp_path, url)
    with TestClient(create_app(settings, store)) as client:
        yield Api(client, store, settings)
    store.close()


def energy(api: Api, token: str = OWNER1, **body: object) -> dict[str, object]:
    doc = {
        "householdId": "h-one",
        "interval": "day",
        "start": DAY0.isoformat(),
        "end": (DAY0 + timedelta(days=2)).isoformat(),
        **body,
    }
    answer = api.client.post("/api/v1/energy", json=doc, headers=api.as_(token))
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def store_consumption(store: ReadingStore, meter: str, prop: str, start: datetime) -> float:
    rows = store.aggregates(
        property_id=prop,
        interval=Interval.DAY,
        start=start,
        end=start + timedelta(days=2),
        meter_ids=[meter],
        functions={AggregateFunction.CONSUMPTION},
        timezone="Europe/Berlin",
    )
    return sum(r.consumption or 0 for r in rows)


def test_app2_dsmr_energy_is_the_sum_of_its_tariff_registers(api: Api) -> None:
    """APP-2: a meter with 1.8.1/1.8.2 and no 1.8.0: its energy is the sum of both registers'
    consumption in the store, day by day (the app read only 1.8.0 and showed 0)."""
    put_meter(api.store, "m-dsmr", "h-one", "dsmr")
    t1 = t2 = 5000.0
    rows = []
    for t in quarters():
        night = t.hour < 7 or t.hour >= 23
        rows.append((t, {"OBIS_1.8.1": round(t1, 3), "OBIS_1.8.2": round(t2, 3)}))
        t1, t2 = (t1 + 0.1, t2) if night else (t1, t2 + 0.3)
    write(api.store, "m-dsmr", rows)
    doc = energy(api)
    (imp,) = [m for m in doc["meters"] if m["quantity"] == "import"]  # type: ignore[union-attr, index]
    assert imp["method"] == "tariffs"
    assert imp["properties"] == ["OBIS_1.8.1", "OBIS_1.8.2"]
    expected = sum(store_consumption(api.store, "m-dsmr", p, DAY0) for p in imp["properties"])
    assert expected > 40
    assert doc["totals"]["import"] == pytest.approx(expected, abs=1e-6)  # type: ignore[index]
    values = doc["series"]["import"]["values"]  # type: ignore[index]
    assert len(values) == 2
    assert sum(values) == pytest.approx(expected, abs=1e-6)


def test_app2_total_register_wins_and_power_is_integrated_without_registers(api: Api) -> None:
    """APP-2: x.8.0 when present; without registers the integral of power (2 kW for a day
    is 48 kWh), and the signed 16.7.0 split into import and export by its sign."""
    put_meter(api.store, "m-total", "h-one", "total")
    put_meter(api.store, "m-power", "h-one", "power")
    put_meter(api.store, "m-net", "h-one", "net")
    ts = [DAY0 - Q, *quarters(days=1), DAY0 + timedelta(days=1)]
    write(
        api.store,
        "m-total",
        [(t, {"OBIS_1.8.0": 100 + i, "OBIS_2.8.0": 7.0}) for i, t in enumerate(ts)],
    )
    write(api.store, "m-power", [(t, {"OBIS_1.7.0": 2.0}) for t in ts])
    write(api.store, "m-net", [(t, {"OBIS_16.7.0": 1.0 if t.hour < 12 else -3.0}) for t in ts])
    doc = energy(api, end=(DAY0 + timedelta(days=1)).isoformat())
    by = {(m["meterId"], m["quantity"]): m for m in doc["meters"]}  # type: ignore[union-attr]
    assert by["m-total", "import"]["method"] == "total"
    assert by["m-total", "import"]["total"] == pytest.approx(96)
    assert by["m-power", "import"]["method"] == "integral"
    assert by["m-power", "import"]["total"] == pytest.approx(48)
    assert by["m-power", "export"]["method"] is None
    assert by["m-net", "import"]["source"] == "integral of OBIS_16.7.0 (positive part)"
    assert by["m-net", "import"]["total"] == pytest.approx(12)
    assert by["m-net", "export"]["total"] == pytest.approx(36)
    assert doc["totals"]["import"] == pytest.approx(96 + 48 + 12)  # type: ignore[index]


def test_app2_a_gaps_energy_is_spread_and_marked_never_lumped_into_one_bar(api: Api) -> None:
    """APP-2: after a 6-hour gap the next hour holds its own 0.375 kWh, not 3.5; the gap's
    3.125 kWh are spread over its time, marked estimated; the total is the register's advance."""
    put_meter(api.store, "m-total", "h-one", "total")
    gap = (DAY0 + timedelta(hours=10), DAY0 + timedelta(hours=16))
    rows = [
        (t, {"OBIS_1.8.0": 1000 + i * 0.125})
        for i, t in enumerate(quarters(days=1))
        if not gap[0] <= t < gap[1]
    ]
    write(api.store, "m-total", rows)
    doc = energy(api, interval="hour", end=(DAY0 + timedelta(days=1)).isoformat())
    series = doc["series"]["import"]  # type: ignore[index]
    values, estimated = series["values"], series["estimated"]
    assert values[16] == pytest.approx(0.375, abs=1e-6)  # its own three steps, no more
    assert estimated[16] == 0
    assert [estimated[h] for h in range(10, 16)] == pytest.approx([0.5] * 6)
    assert estimated[9] == pytest.approx(0.125)  # 09:45-10:00 lies in the gap too
    assert max(values) <= 0.625 + 1e-9
    assert sum(values) == pytest.approx(rows[-1][1]["OBIS_1.8.0"] - 1000, abs=1e-6)


def test_app2_water_gas_heat_per_period_in_their_units(api: Api) -> None:
    """APP-2: water and gas in m3, heat in kWh, each from its own meter's register."""
    for kind, prop, rate in (
        ("water", "WATER_volume_of_water", 0.01),
        ("gas", "GAS_volume", 0.02),
        ("heat", "HEAT_energy", 0.5),
    ):
        put_meter(api.store, f"m-{kind}", "h-one", kind)
        write(
            api.store, f"m-{kind}", [(t, {prop: 10 + i * rate}) for i, t in enumerate(quarters())]
        )
    doc = energy(api)
    series = doc["series"]  # type: ignore[index]
    assert series["water"]["unit"] == "m3"
    assert series["gas"]["unit"] == "m3"
    assert series["heat"]["unit"] == "kWh"
    assert series["water"]["values"][1] == pytest.approx(96 * 0.01)
    assert series["heat"]["values"][1] == pytest.approx(96 * 0.5)
    assert "import" not in series


def test_app1_pv_production_self_consumption_and_autarky(api: Api) -> None:
    """APP-1/APP-2: a PV meter (role pv) gives production; with the grid meter's import and
    export: consumption, self-consumption and autarky. Roles: owner sets their own."""
    put_meter(api.store, "m-grid", "h-one", "total")
    put_meter(api.store, "m-pv", "h-one", "total")
    ts = [DAY0 - Q, *quarters(days=1)]
    # per quarter: grid import 0.25, export 0.1; PV produces 0.3 (its export register)
    write(
        api.store,
        "m-grid",
        [(t, {"OBIS_1.8.0": i * 0.25, "OBIS_2.8.0": i * 0.1}) for i, t in enumerate(ts)],
    )
    write(
        api.store,
        "m-pv",
        [(t, {"OBIS_1.8.0": 1.0, "OBIS_2.8.0": i * 0.3}) for i, t in enumerate(ts)],
    )
    put = api.client.put(
        "/api/v1/households/h-one/meterRoles",
        json={"items": [{"meterId": "m-pv", "role": "pv"}]},
        headers=api.as_(OWNER1),
    )
    assert put.status_code == 200, put.text
    assert {i["meterId"]: i["role"] for i in put.json()["items"]} == {
        "m-grid": "grid",
        "m-pv": "pv",
    }
    doc = energy(api, end=(DAY0 + timedelta(days=1)).isoformat())
    t = doc["totals"]
    assert t["import"] == pytest.approx(24)
    assert t["export"] == pytest.approx(9.6)
    assert t["production"] == pytest.approx(28.8)  # type: ignore[index]
    assert t["selfConsumption"] == pytest.approx(28.8 - 9.6)  # type: ignore[index]
    assert t["consumption"] == pytest.approx(24 + 28.8 - 9.6)  # type: ignore[index]
    assert t["autarky"] == pytest.approx(100 * (43.2 - 24) / 43.2)  # type: ignore[index]
    assert t["selfConsumptionRate"] == pytest.approx(100 * 19.2 / 28.8)  # type: ignore[index]
    other = api.client.put(
        "/api/v1/households/h-one/meterRoles",
        json={"items": [{"meterId": "m-grid", "role": "pv"}]},
        headers=api.as_(OWNER2),
    )
    assert other.status_code == 403
    foreign = api.client.put(
        "/api/v1/households/h-two/meterRoles",
        json={"items": [{"meterId": "m-grid", "role": "battery"}]},
        headers=api.as_(OP),
    )
    assert foreign.status_code == 422
    assert foreign.json()["detail"][0]["loc"] == "$.items[0].meterId"


def test_app3_tariffs_are_stored_per_household_and_refused_across_households(api: Api) -> None:
    """APP-3, CL-9: the owner writes and reads their own household's tariff; the owner of
    another household, a researcher and a caller without a token are refused; an operator
    may set any."""
    url = "/api/v1/households/h-one/tariff"
    tariff = {
        "kind": "tou",
        "peakPrice": 0.4,
        "offPeakPrice": 0.2,
        "monthlyFee": 12,
        "feedInPrice": 0.08,
    }
    assert api.client.get(url, headers=api.as_(OWNER1)).json() == {
        "householdId": "h-one",
        "tariff": None,
    }
    put = api.client.put(url, json=tariff, headers=api.as_(OWNER1))
    assert put.status_code == 200, put.text
    assert api.client.get(url, headers=api.as_(OWNER1)).json()["tariff"]["peakPrice"] == 0.4
    for token, status in ((OWNER2, 403), (RES, 403)):
        assert api.client.put(url, json=tariff, headers=api.as_(token)).status_code == status
        assert api.client.get(url, headers=api.as_(token)).status_code == status
    assert api.client.put(url, json=tariff).status_code == 401
    refused = api.client.put(url, json={**tariff, "peakPrice": 9}, headers=api.as_(OWNER2))
    assert refused.json()["detail"][0]["type"] == "privacy.other_household"
    assert api.client.get(url, headers=api.as_(OWNER1)).json()["tariff"]["peakPrice"] == 0.4
    assert (
        api.client.put(
            "/api/v1/households/h-two/tariff", json=tariff, headers=api.as_(OP)
        ).status_code
        == 200
    )
    bad = api.client.put(url, json={**tariff, "currency": "euro"}, headers=api.as_(OWNER1))
    assert bad.status_code == 422


def test_app3_prices_from_csv_and_json_with_precise_errors(api: Api) -> None:
    """APP-3: a dynamic price series imported as CSV (German spreadsheet style too) and JSON;
    a bad line is named; the owner of another household cannot upload."""
    url = "/api/v1/households/h-one/prices"
    csv_text = "start;price\n2026-11-02T00:00:00+01:00;0,21\n2026-11-02T01:00:00+01:00;0,19\n"
    up = api.client.put(
        url, content=csv_text, headers={**api.as_(OWNER1), "Content-Type": "text/csv"}
    )
    assert up.status_code == 200, up.text
    assert up.json()["stored"] == 2
    got = api.client.get(url, headers=api.as_(OWNER1)).json()
    assert [p["price"] for p in got["items"]] == [0.21, 0.19]
    bad = api.client.put(
        url,
        content="2026-11-02T02:00:00+01:00,0.2\nyesterday,0.3\n",
        headers={**api.as_(OWNER1), "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"].startswith("line 2:")
    no_zone = api.client.put(
        url,
        content="2026-11-02T02:00:00,0.2\n",
        headers={**api.as_(OWNER1), "Content-Type": "text/csv"},
    )
    assert "no UTC offset" in no_zone.json()["detail"][0]["msg"]
    js = api.client.put(
        url,
        json={"items": [{"t": "2026-11-02T02:00:00+01:00", "price": 0.5}]},
        headers=api.as_(OWNER1),
    )
    assert js.status_code == 200
    assert len(api.client.get(url, headers=api.as_(OWNER1)).json()["items"]) == 3
    other = api.client.put(
        url, content=csv_text, headers={**api.as_(OWNER2), "Content-Type": "text/csv"}
    )
    assert other.status_code == 403


def test_app3_costs_flat_time_of_use_dynamic_fee_and_feed_in(api: Api) -> None:
    """APP-3: costs per bucket equal a hand calculation: time-of-use hours, the fee's share
    per day, feed-in credit; a dynamic tariff prices each hour from the series and counts
    energy outside the series as unpriced."""
    put_meter(api.store, "m-total", "h-one", "total")
    ts = [DAY0 - Q, *quarters(days=1)]
    write(
        api.store,
        "m-total",
        [(t, {"OBIS_1.8.0": i * 0.25, "OBIS_2.8.0": i * 0.05}) for i, t in enumerate(ts)],
    )
    tou = {
        "kind": "tou",
        "peakPrice": 0.4,
        "offPeakPrice": 0.2,
        "peakStart": 7,
        "peakEnd": 22,
        "monthlyFee": 30,
        "feedInPrice": 0.1,
    }
    api.client.put("/api/v1/households/h-one/tariff", json=tou, headers=api.as_(OWNER1))
    doc = energy(api, costs=True, end=(DAY0 + timedelta(days=1)).isoformat())
    c = doc["costs"]
    assert c["energy"][0] == pytest.approx(15 * 1 * 0.4 + 9 * 1 * 0.2)  # type: ignore[index]
    assert c["credit"][0] == pytest.approx(24 * 0.2 * 0.1)  # type: ignore[index]
    assert c["fee"][0] == pytest.approx(30 / 30)  # a day of November  # type: ignore[index]
    assert c["total"][0] == pytest.approx(7.8 - 0.48 + 1)  # type: ignore[index]
    api.client.put(
        "/api/v1/households/h-one/tariff",
        json={"kind": "dynamic", "dynamicMarkup": 0.1, "monthlyFee": 0},
        headers=api.as_(OWNER1),
    )
    prices = [{"t": (DAY0 + timedelta(hours=h)).isoformat(), "price": 0.01 * h} for h in range(12)]
    api.client.put(
        "/api/v1/households/h-one/prices", json={"items": prices}, headers=api.as_(OWNER1)
    )
    doc = energy(api, costs=True, interval="hour", end=(DAY0 + timedelta(days=1)).isoformat())
    c = doc["costs"]
    assert c["energy"][5] == pytest.approx(1 * (0.05 + 0.1))  # type: ignore[index]
    assert c["energy"][12] is None  # type: ignore[index]
    assert c["unpricedKwh"][12] == pytest.approx(1)  # type: ignore[index]


def test_app2_empty_household_answers_empty_not_an_error(api: Api) -> None:
    """APP-2: a household without meters gets empty energy and aggregates, not HTTP 409."""
    doc = energy(api, token=OWNER2, householdId="h-two")
    assert doc["series"] == {}
    assert doc["meters"] == []
    assert len(doc["t"]) == 2
    agg = api.client.post(
        "/api/v1/aggregates",
        json={
            "householdId": "h-two",
            "propertyId": "OBIS_1.8.0",
            "interval": "day",
            "start": DAY0.isoformat(),
            "end": (DAY0 + timedelta(days=1)).isoformat(),
        },
        headers=api.as_(OWNER2),
    )
    assert agg.status_code == 200
    assert agg.json() == {"items": [], "total": 0}
    refused = api.client.post(
        "/api/v1/energy",
        json={
            "householdId": "h-one",
            "interval": "day",
            "start": DAY0.isoformat(),
            "end": (DAY0 + timedelta(days=1)).isoformat(),
        },
        headers=api.as_(OWNER2),
    )
    assert refused.status_code == 403


def test_app2_series_decimated_to_pixels_keeps_peaks_raw_on_zoom_and_gzipped(api: Api) -> None:
    """APP-2: 60 days of 15-minute power (5,760 values) at 500 pixels: min/max per pixel with
    the one 9 kW spike kept; a 6-hour zoom gives the values themselves; gzip when accepted."""
    put_meter(api.store, "m-power", "h-one", "power")
    ts = [DAY0 + i * Q for i in range(60 * 96)]
    spike = ts[3000]
    write(
        api.store,
        "m-power",
        [(t, {"OBIS_1.7.0": 9.0 if t == spike else 1.0 + (i % 4) * 0.1}) for i, t in enumerate(ts)],
    )
    body = {
        "householdId": "h-one",
        "quantity": "power",
        "start": ts[0].isoformat(),
        "end": (ts[-1] + Q).isoformat(),
        "points": 500,
    }
    answer = api.client.post(
        "/api/v1/series", json=body, headers={**api.as_(OWNER1), "Accept-Encoding": "gzip"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    (item,) = answer.json()["items"]
    assert item["resolution"] == "minmax"
    assert item["label"] == "import"
    assert len(item["t"]) <= 500
    assert max(v for v in item["max"] if v is not None) == 9.0
    assert min(v for v in item["min"] if v is not None) == 1.0
    zoom = {
        **body,
        "start": (spike - timedelta(hours=3)).isoformat(),
        "end": (spike + timedelta(hours=3)).isoformat(),
    }
    (raw,) = api.client.post("/api/v1/series", json=zoom, headers=api.as_(OWNER1)).json()["items"]
    assert raw["resolution"] == "raw"
    assert len(raw["t"]) == 24
    assert 9.0 in raw["mean"]
    plain = api.client.post(
        "/api/v1/series", json=body, headers={**api.as_(OWNER1), "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert len(gzip.compress(plain.content)) < len(plain.content)


def test_cl13_erasing_a_household_takes_its_tariff_prices_and_roles(api: Api) -> None:
    """CL-13: erasure removes the household's tariff, price series and meter roles."""
    put_meter(api.store, "m-pv", "h-one", "total")
    api.client.put(
        "/api/v1/households/h-one/tariff", json={"kind": "flat"}, headers=api.as_(OWNER1)
    )
    api.client.put(
        "/api/v1/households/h-one/prices",
        json={"items": [{"t": DAY0.isoformat(), "price": 1}]},
        headers=api.as_(OWNER1),
    )
    api.client.put(
        "/api/v1/households/h-one/meterRoles",
        json={"items": [{"meterId": "m-pv", "role": "pv"}]},
        headers=api.as_(OWNER1),
    )
    record = api.store.erase_household("h-one", actor="test")
    assert record.rows["tariffs"] == 1
    assert record.rows["prices"] == 1
    assert record.rows["meter_roles"] == 1
    assert api.store.get_tariff("h-one") is None
    assert api.store.prices("h-one") == []


def test_app2_quarter_hours_and_half_hour_zones_add_up_to_the_same_energy(api: Api) -> None:
    """APP-2: 15-minute buckets (and days of a half-hour zone, both computed from the values
    themselves) add up to the same energy as the hourly rollups."""
    put_meter(api.store, "m-dsmr", "h-one", "dsmr")
    write(
        api.store,
        "m-dsmr",
        [
            (t, {"OBIS_1.8.1": 100 + i * 0.1, "OBIS_1.8.2": 50 + (i // 2) * 0.2})
            for i, t in enumerate([DAY0 - Q, *quarters(days=1)])
        ],
    )
    end = (DAY0 + timedelta(days=1)).isoformat()
    hourly = energy(api, interval="hour", end=end)["totals"]["import"]  # type: ignore[index]
    quarter = energy(api, interval="15min", end=end)
    assert len(quarter["t"]) == 96  # type: ignore[arg-type]
    assert quarter["totals"]["import"] == pytest.approx(hourly, abs=1e-9)  # type: ignore[index]
    kolkata = energy(api, interval="day", end=end, timezone="Asia/Kolkata")
    assert sum(v or 0 for v in kolkata["series"]["import"]["values"]) == pytest.approx(  # type: ignore[index]
        hourly, abs=1e-9
    )
