"""The operational-property catalogue (DM-4) and the fixes of docs/requirements.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omdp.catalog import Catalog, PropertyKind, default_catalog
from omdp.domain.reading import MeterClass
from omdp.errors import CatalogError


def test_dm4_lookup_by_id_with_units_and_kind() -> None:
    """DM-4: properties are found by id and carry their allowed units."""
    cat = default_catalog()
    entry = cat["OBIS_1.8.0"]
    assert entry.allowed_units == ("kWh",)
    assert entry.kind is PropertyKind.CUMULATIVE
    assert cat["OBIS_1.7.0"].kind is PropertyKind.INSTANTANEOUS
    assert cat["WATER_volume_of_water"].kind is PropertyKind.CUMULATIVE
    assert entry.definition().allowed_units == ["kWh"]
    with pytest.raises(CatalogError, match=r"unknown operational property 'OBIS_99\.9\.9'"):
        cat["OBIS_99.9.9"]


def test_dm4_published_defects_are_fixed() -> None:
    """DM-4 (docs/requirements.md): OBIS_16.8. becomes OBIS_16.8.1; no section headings."""
    cat = default_catalog()
    assert "OBIS_16.8.1" in cat
    assert "OBIS_16.8." not in cat
    assert not [e.id for e in cat if " " in e.id]
    assert cat["WATER_volume_of_water"].description == "volume of water"


def test_dm4_shipped_catalogue_matches_the_published_one(shared_dir: Path) -> None:
    """DM-4: apart from the listed fixes, the shipped catalogue is the published one."""
    cat = default_catalog()
    for name in ("energy", "water"):
        published = json.loads(
            (shared_dir / "spec-data" / "operationalProperties" / f"{name}.json").read_text()
        )["properties"]
        for prop in published:
            pid = {"OBIS_16.8.": "OBIS_16.8.1"}.get(prop["id"], prop["id"])
            if " " in pid:
                continue
            assert cat[pid].allowed_units == tuple(prop.get("allowedUnits") or ())


def test_dm4_filter_by_class_and_text() -> None:
    """DM-4: the catalogue can be searched by meter class and text."""
    cat = default_catalog()
    water = {e.id for e in cat.search(meter_class=MeterClass.WATER)}
    assert "WATER_volume_of_water" in water
    assert "OBIS_1.8.0" not in water
    assert {e.id for e in cat.search(text="phase L1 total")} >= {"OBIS_21.8.0"}


def test_dm4_deployment_adds_its_own_properties(tmp_path: Path) -> None:
    """DM-4: a deployment adds properties from a YAML file without editing the package."""
    extra = tmp_path / "site.yaml"
    extra.write_text(
        "catalogue: site\nproperties:\n  - id: SITE_boiler_hours\n"
        "    description: Boiler running hours\n    allowedUnits: [h]\n"
    )
    cat = Catalog.load([extra])
    assert cat["SITE_boiler_hours"].allowed_units == ("h",)
    assert cat["SITE_boiler_hours"].catalogue == "site"
    assert len(cat) == len(default_catalog()) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("properties: 3", "a catalogue is an object with a list 'properties'"),
        ("properties:\n  - description: x", "each property needs a string 'id'"),
        ("properties:\n  - id: 'bad id'", "is not a valid identifier"),
        ("properties:\n  - id: OBIS_1.8.0", "defined twice"),
        ("properties: [", "not valid YAML"),
    ],
)
def test_dm4_bad_deployment_catalogue_is_a_precise_error(
    tmp_path: Path, text: str, message: str
) -> None:
    """DM-4: a malformed extra catalogue names the file and the problem."""
    extra = tmp_path / "bad.yaml"
    extra.write_text(text)
    with pytest.raises(CatalogError, match=message):
        Catalog.load([extra])
