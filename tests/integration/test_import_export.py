"""``omdp import`` / ``omdp export`` on SQLite and PostgreSQL: bad rows skipped with reasons,
round trips equal, a second import stores nothing (idempotent)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from omdp.cli.data_cmd import export, import_

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 30, 0, 0, tzinfo=UTC)  # spans the CET -> CEST change
HEADER = "readingTime,meterId,propertyId,numericalValue,textValue,unit\n"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def _config(tmp_path: Path, url: str, name: str = "cloud.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"db": {"url": url}}))
    return path


def _run(command: object, *args: str) -> Result:
    result = CliRunner().invoke(command, [*args], catch_exceptions=False)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result


def _good_csv() -> str:
    lines = []
    for i in range(24):
        when = (T0 + timedelta(minutes=15 * i)).isoformat()
        lines.append(f"{when},meter-a,OBIS_1.8.0,{1000 + i * 0.25},,kWh")
        lines.append(f"{when},meter-a,OBIS_1.7.0,{0.5 + i / 100},,kW")
        lines.append(f"{when},meter-a,OBIS_C.87.0,,T{1 + i % 2},")
        lines.append(f"{when},meter-b,WATER_volume_of_water,{12.5 + i / 1000},,m3")
    return HEADER + "\n".join(lines) + "\n"


BAD_CSV_ROWS = (
    "2025-03-30T12:00:00,meter-a,OBIS_1.8.0,1,,kWh",  # no offset
    "2025-03-30T12:00:00+02:00,meter a,OBIS_1.8.0,1,,kWh",  # bad meter id
    "2025-03-30T12:15:00+02:00,meter-a,OBIS_1.8.0,many,,kWh",  # not a number
    "2025-03-30T12:30:00+02:00,meter-a,OBIS_1.8.0,,,kWh",  # no value
    "2025-03-30T00:00:00+00:00,meter-a,OBIS_2.8.0,3,,kWh",  # reading seen before, not adjacent
)


def test_csv_import_skips_bad_rows_and_is_idempotent(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    source = tmp_path / "in.csv"
    source.write_text(_good_csv() + "\n".join(BAD_CSV_ROWS) + "\n")

    first = _run(import_, str(source), "--config", str(config))
    assert "48 reading(s) read: 48 stored, 0 already stored, 5 line(s) skipped" in first.output
    assert "line 98: readingTime '2025-03-30T12:00:00' MUST include a timezone offset" in (
        first.output
    )
    for reason in ("is not an identifier", "'many' is not a number", "MUST have numericalValue",
                   "are not adjacent"):  # fmt: skip
        assert reason in first.output

    again = _run(import_, str(source), "--config", str(config))
    assert "48 reading(s) read: 0 stored, 48 already stored" in again.output


def test_csv_round_trip_is_equal(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    source = tmp_path / "in.csv"
    source.write_text(_good_csv())
    _run(import_, str(source), "--config", str(config))

    out = tmp_path / "out.csv"
    assert (
        "48 reading(s) written"
        in _run(export, "--config", str(config), "--format", "csv", "--out", str(out)).output
    )
    exported = list(csv.DictReader(out.read_text().splitlines()))
    assert len(exported) == 24 * 4
    original = list(csv.DictReader(source.read_text().splitlines()))
    key = ("meterId", "propertyId")
    as_set = {
        (datetime.fromisoformat(r["readingTime"]), *(r[k] for k in key), r["textValue"], r["unit"],
         float(r["numericalValue"]) if r["numericalValue"] else None)
        for r in original
    }  # fmt: skip
    assert {
        (datetime.fromisoformat(r["readingTime"]), *(r[k] for k in key), r["textValue"], r["unit"],
         float(r["numericalValue"]) if r["numericalValue"] else None)
        for r in exported
    } == as_set  # fmt: skip

    # the export imports again unchanged into another store, ids included
    other = _config(tmp_path, f"sqlite:///{tmp_path / 'other.sqlite3'}", "other.yaml")
    assert "48 stored" in _run(import_, str(out), "--config", str(other)).output
    out2 = tmp_path / "out2.csv"
    _run(export, "--config", str(other), "--out", str(out2))
    assert out2.read_text() == out.read_text()
    assert "0 stored, 48 already stored" in _run(import_, str(out), "--config", str(config)).output


def test_ndjson_import_export_and_parquet(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    source = tmp_path / "in.csv"
    source.write_text(_good_csv())
    _run(import_, str(source), "--config", str(config))
    nd = tmp_path / "out.ndjson"
    _run(export, "--config", str(config), "--format", "ndjson", "--out", str(nd))
    lines = nd.read_text().splitlines()
    assert len(lines) == 48
    assert json.loads(lines[0])["meterIndividual"]["meterIndividualId"] == "meter-a"

    # NDJSON into a fresh store, with bad lines
    other = _config(tmp_path, f"sqlite:///{tmp_path / 'nd.sqlite3'}", "nd.yaml")
    bad = [
        "{not json",
        json.dumps({"meterReadingIdentifier": "x-1", "readingTime": "2025-01-01T00:00:00+01:00"}),
        json.dumps({"meterReadingIdentifier": "x-2", "readingTime": "2025-01-01T00:00:00"}),
    ]
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_text("\n".join([*lines[:10], *bad, *lines[10:]]) + "\n")
    result = _run(import_, str(mixed), "--config", str(other))
    assert "48 reading(s) read: 48 stored, 0 already stored, 3 line(s) skipped" in result.output
    assert "line 11:" in result.output
    assert "line 12: $.meterIndividual.meterIndividualId: field required" in result.output
    assert "line 13: $.readingTime" in result.output
    assert "0 stored, 48 already stored" in _run(import_, str(mixed), "--config", str(other)).output

    nd2 = tmp_path / "out2.ndjson"
    _run(export, "--config", str(other), "--format", "ndjson", "--out", str(nd2))
    assert nd2.read_text() == nd.read_text()

    # Parquet: the same values, typed; filtered by meter, property and time
    pq_out = tmp_path / "out.parquet"
    result = _run(
        export, "--config", str(config), "--format", "parquet", "--out", str(pq_out),
        "--meter", "meter-a", "--property", "OBIS_1.8.0",
        "--from", T0.isoformat(), "--to", (T0 + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    assert "4 reading(s) written" in result.output
    table = pq.read_table(pq_out).to_pylist()
    assert [r["numericalValue"] for r in table] == [1000.0, 1000.25, 1000.5, 1000.75]
    assert {r["meterId"] for r in table} == {"meter-a"}
    assert table[0]["readingTime"] == T0
