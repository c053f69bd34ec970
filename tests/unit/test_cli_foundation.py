"""The omdp command: --help, --version, validate, schema and catalog, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = {
    "meterReadingIdentifier": "r-1",
    "readingTime": "2024-01-01T00:00:00+01:00",
    "propertyValues": [
        {
            "unit": "kWh",
            "numericalValue": 1.5,
            "operationalPropertyDefinition": {"propertyId": "OBIS_1.8.0"},
        }
    ],
}


def omdp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omdp", *args], capture_output=True, text=True, check=False
    )


def test_help_and_version() -> None:
    """`omdp --help` lists the subcommands; `omdp --version` prints the version."""
    out = omdp("--help")
    assert out.returncode == 0
    for sub in ("validate", "schema", "catalog", "bench"):
        assert sub in out.stdout
    assert omdp("--version").stdout.startswith("omdp, version ")


def test_dm1_validate_spec_examples_exit_0(shared_dir: Path) -> None:
    """DM-1..DM-6: `omdp validate` accepts the published examples (docs/requirements.md)."""
    files = sorted(str(p) for p in (shared_dir / "spec-data" / "examples").glob("*.json"))
    out = omdp("validate", *files)
    assert out.returncode == 0, out.stderr
    assert "unit mismatch" in out.stderr  # OBIS_15.7.0 in kWh is flagged, not rejected


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"readingTime": "2024-01-01T00:00:00"}, "$.readingTime"),
        (
            {"propertyValues": [{"operationalPropertyDefinition": {"propertyId": "X"}}]},
            "$.propertyValues[0]",
        ),
        (
            {
                "meterIndividual": {
                    "meterIndividualId": "m",
                    "physicalMeterType": {"physicalElementId": "p", "physicalMeterClass": "OIL"},
                }
            },
            "$.meterIndividual.physicalMeterType.physicalMeterClass",
        ),
    ],
)
def test_dm1_dm3_dm5_validate_bad_files_exit_1_naming_the_field(
    tmp_path: Path, change: dict[str, object], path: str
) -> None:
    """DM-1, DM-3, DM-5: a missing timezone, value or bad class exits 1 naming the field."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**GOOD, **change}))
    out = omdp("validate", str(good), str(bad))
    assert out.returncode == 1
    assert f"{path}:" in out.stderr
    assert "1 of 2 file(s) invalid" in out.stderr


def test_validate_not_json_and_missing_file(tmp_path: Path) -> None:
    """Input that is not JSON, or no file at all, exits 1 with the reason."""
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\xff\xfe not json")
    out = omdp("validate", str(junk), str(tmp_path / "missing.json"))
    assert out.returncode == 1
    assert "$: not valid JSON" in out.stderr
    assert "cannot read" in out.stderr


def test_schema_and_catalog_commands() -> None:
    """`omdp schema NAME` prints a schema; `omdp catalog` filters by class and text."""
    doc = json.loads(omdp("schema", "meter-reading").stdout)
    assert doc["$schema"].endswith("2020-12/schema")
    rows = json.loads(omdp("catalog", "--class", "water", "--json").stdout)
    assert "WATER_volume_of_water" in {r["id"] for r in rows}
    assert "OBIS_1.8.0" not in {r["id"] for r in rows}
    assert "OBIS_32.7.0" in omdp("catalog", "voltage").stdout
