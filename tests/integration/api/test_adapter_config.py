"""POST /v1/adapterConfigurations (CL-10, CM-3) over real stores."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from tests.integration.api.apidata import Api

from omdp.adapter.config import load_adapter_file
from omdp.cloud.api.credentials import check_password
from omdp.cloud.api.settings import AdapterBrokerSettings

pytestmark = pytest.mark.integration

URL = "/api/v1/adapterConfigurations"
SCHEMA = json.loads(Path("schemas/adapter-config.json").read_text(encoding="utf-8"))


def test_cl10_creates_meter_and_yaml_file_usable_by_adapter(api: Api, tmp_path: Path) -> None:
    """CL-10, CM-3: a new MeterIndividual, default OBIS mappings, device credentials; the YAML
    file validates against the published schema and loads in the adapter as it is; it carries
    the household's timezone and no outboxPath (issue: every issued file shared one outbox)."""
    body = {
        "physicalElementId": "el-3ph",
        "householdId": "h-one",
        "meterIndividualName": "Garage",
        "staticValues": [{"to": "SITE_status", "textValue": "installed"}],
        "meter": {"kind": "dsmr", "tcp": "127.0.0.1:2001"},
    }
    r = api.client.post(URL, params={"format": "yaml"}, json=body, headers=api.as_("reg"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    doc = yaml.safe_load(r.text)
    jsonschema.validate(doc, SCHEMA)
    meter_id = doc["MeterIndividualId"]
    assert {(m["from"], m["to"]) for m in doc["OperationalPropertyMapping"]} == {
        ("1-0:1.8.0", "OBIS_1.8.0"),
        ("1-0:1.7.0", "OBIS_1.7.0"),
    }
    assert doc["CloudAuth"]["username"] == meter_id
    password = doc["CloudAuth"]["password"]
    stored = api.client.app.state.ctx.credentials.get(meter_id)  # type: ignore[attr-defined]
    assert stored is not None
    assert password not in stored
    assert check_password(password, stored)
    meter = api.store.get_meter(meter_id)
    assert meter is not None
    assert meter.household_id == "h-one"
    assert meter.meter_individual_name == "Garage"
    path = tmp_path / "adapter.yaml"
    path.write_text(r.text, encoding="utf-8")
    path.chmod(0o600)
    loaded = load_adapter_file(path)
    assert loaded.meter_individual_id == meter_id
    # the household's timezone and no shared outbox path (each adapter: {meter}.outbox.sqlite3)
    assert doc["Adapter"]["timezone"] == "Europe/Brussels"
    assert doc["Adapter"]["householdId"] == "h-one"
    assert "outboxPath" not in doc["Adapter"]
    assert loaded.adapter.outbox_path is None


def test_cl10_json_by_accept_with_overrides(api: Api) -> None:
    """CL-10, CM-1: JSON by Accept; an override replaces the default mapping of its property;
    the configured broker is written with its TLS CA file, so that the adapter can verify a
    broker certified by the site's own CA."""
    api.settings.api.adapter_broker = AdapterBrokerSettings(
        host="site.example.org", port=8883, tls=True, ca_file="/etc/omdp/tls/ca.crt"
    )
    body = {
        "physicalElementId": "el-3ph",
        "householdId": "h-two",
        "mappingOverrides": [{"from": "$.power", "to": "OBIS_1.7.0", "scale": 0.001}],
    }
    headers = {**api.as_("reg"), "Accept": "application/json"}
    r = api.client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    doc = r.json()
    jsonschema.validate(doc, SCHEMA)
    mappings = {m["to"]: m for m in doc["OperationalPropertyMapping"]}
    assert mappings["OBIS_1.7.0"]["from"] == "$.power"
    assert mappings["OBIS_1.8.0"]["from"] == "1-0:1.8.0"
    two = api.client.post(URL, json=body, headers=headers).json()
    assert two["MeterIndividualId"] != doc["MeterIndividualId"]
    assert doc["Broker"]["caFile"] == "/etc/omdp/tls/ca.crt"
    assert doc["Broker"]["tls"] is True
    assert doc["Broker"]["host"] == "site.example.org"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"physicalElementId": "el-none"}, "$.physicalElementId"),
        ({"householdId": "h-none"}, "$.householdId"),
        ({"mappingOverrides": [{"from": "1-0:2.8.0", "to": "NOPE_x"}]}, "$.mappingOverrides[0].to"),
    ],
)
def test_cl10_unknown_references_are_422(api: Api, change: dict[str, object], loc: str) -> None:
    """CL-10: an unknown element, household or property is refused, naming the field."""
    body = {"physicalElementId": "el-3ph", "householdId": "h-one", **change}
    r = api.client.post(URL, json=body, headers=api.as_("reg"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert api.client.post(URL, json=body, headers=api.as_("res")).status_code == 403
