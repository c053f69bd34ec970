"""``omdp cloud erase`` (CL-13): the command line erases as the API does, the meters' broker
credentials included, and says so when the subject is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from omdp.cli.cloud_cmd import erase
from omdp.cloud.api.credentials import FileCredentialStore
from omdp.cloud.storage import open_store
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, MeterIndividual, PhysicalMeterElement


def test_cl13_erase_command_removes_the_meters_credentials(tmp_path: Path) -> None:
    """CL-13: ``cloud erase --household`` erases the household, its meters and their broker
    credentials; an unknown household is an error, not an empty erasure."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    credentials_file = tmp_path / "credentials.json"
    config = tmp_path / "cloud.yaml"
    config.write_text(
        json.dumps({"db": {"url": url}, "api": {"credentials_file": str(credentials_file)}})
    )
    element = PhysicalMeterElement(physical_element_id="el-1", physical_meter_class=MeterClass.GAS)
    store = open_store(url)
    store.put_household(Household(household_id="h-1", timezone="UTC"))
    store.put_meter(
        MeterIndividual(meter_individual_id="m-1", household_id="h-1", physical_meter_type=element)
    )
    store.close()
    credentials = FileCredentialStore(credentials_file)
    credentials.put("m-1", "hash")
    credentials.put("m-other", "hash")

    result = CliRunner().invoke(erase, ["--config", str(config), "--household", "h-1"])
    assert result.exit_code == 0, result.output
    assert "erased household h-1" in result.output
    assert credentials.get("m-1") is None
    assert credentials.get("m-other") == "hash"
    store = open_store(url)
    assert store.get_meter("m-1") is None
    store.close()

    again = CliRunner().invoke(erase, ["--config", str(config), "--household", "h-1"])
    assert again.exit_code != 0
    assert "no household 'h-1'" in again.output
