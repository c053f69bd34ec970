"""CM-1: a connection whose TLS files cannot be read fails with an error naming the file.

A service started as its own user that could not read the site CA (a folder of mode 700)
died with a traceback ending in a bare ``PermissionError: [Errno 13] Permission denied``;
the operator could not tell which file, nor which connection, was at fault.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omdp.errors import ConfigError
from omdp.mqtt.client import MqttClient
from omdp.mqtt.settings import MqttSettings


def test_cm1_a_missing_ca_file_is_named_with_its_setting_and_broker(tmp_path: Path) -> None:
    missing = tmp_path / "tls" / "ca.crt"
    settings = MqttSettings(host="broker.example", port=8883, tls=True, ca_file=missing)
    with pytest.raises(ConfigError) as caught:
        MqttClient(settings, client_id="edge-site-1")
    text = str(caught.value)
    assert f"ca_file of the MQTT connection to broker.example:8883: cannot read {missing}" in text


def test_cm1_an_unreadable_folder_is_reported_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    folder.mkdir()
    settings = MqttSettings(tls=True, ca_file=folder)  # a folder where a file belongs
    with pytest.raises(ConfigError, match=rf"ca_file .*cannot read {folder}"):
        MqttClient(settings, client_id="ingest")


def test_cm1_a_file_that_is_no_certificate_names_the_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate\n")
    settings = MqttSettings(host="127.0.0.1", port=8883, tls=True, ca_file=ca)
    with pytest.raises(ConfigError, match=rf"TLS files of .*127.0.0.1:8883 \(ca_file {ca}\)"):
        MqttClient(settings, client_id="ingest")
