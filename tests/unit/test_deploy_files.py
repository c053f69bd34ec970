"""CM-3, CM-1: the files of ``deploy/`` that docs/deployment.md tells an operator to copy are
valid settings, and the units agree with what the broker configuration enforces.

Found by following the guide: two ingest units logged in as one MQTT user took each other's
connection every second (the broker binds client ids to user names); the examples named a CA
file under the root-only ``/etc/omdp/tls``; the edge example had no registry, so no household
saw its own live data.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml

from omdp.cloud.settings import CloudSettings
from omdp.edge.settings import EdgeSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / name).read_text(encoding="utf-8"))
    return unit


def test_cm3_the_example_settings_are_valid_and_readable_by_the_services() -> None:
    cloud = CloudSettings.model_validate(
        yaml.safe_load((DEPLOY / "config" / "cloud.example.yaml").read_text(encoding="utf-8"))
    )
    edge_doc = yaml.safe_load((DEPLOY / "config" / "edge.example.yaml").read_text("utf-8"))
    edge_doc["registry"]["client_secret"] = "from-edge.env"  # noqa: S105 - no secret
    edge = EdgeSettings.model_validate(edge_doc)
    assert edge.cloud is not None
    for ca in (cloud.mqtt.ca_file, edge.cloud.ca_file):  # not the CA key's root-only folder
        assert ca == Path("/etc/omdp/ca.crt")
    assert edge.registry is not None
    assert [e.audience for e in edge.api.auth.external] == ["omdp-edge"]
    assert cloud.edge_url


def test_cm1_each_ingest_unit_logs_in_as_its_own_user() -> None:
    env = [
        line.removeprefix("Environment=")
        for line in (DEPLOY / "systemd" / "omdp-cloud-ingest@.service").read_text().splitlines()
        if line.startswith("Environment=")
    ]
    assert "OMDP_CLOUD_MQTT__USERNAME=omdp-ingest-%i" in env


def test_cm3_the_api_unit_takes_address_and_tls_from_its_settings() -> None:
    # --host/--port on the command line would override http_host, http_port (and so TLS)
    start = _unit("omdp-cloud-api.service")["Service"]["ExecStart"]
    assert "--host" not in start
    assert "--port" not in start
