"""rtl-wmbus piped into the adapter: ``rtl_wmbus | omdp adapter run --config radio.yaml`` (AD-1).

The adapter reads telegram lines on standard input (``dongle: rtlwmbus`` without serial or tcp),
drops the lines rtl-wmbus marks with a bad CRC and the meters it does not know, and prints the
first reading of a configured meter with ``--once``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters, water_litres
from omdp.wmbus import rtlwmbus_line

pytestmark = pytest.mark.integration
T0 = 1_717_243_200.0


def test_rtlwmbus_lines_on_stdin_give_a_reading(tmp_path: Path) -> None:
    """AD-1, AD-2: a water meter's encrypted telegram from rtl-wmbus's stdout -> a reading."""
    specs = radio_meters(["water", "gas"], origin=T0 - 86_400)
    radio = SimulatedRadio(specs)
    water, gas = specs
    doc = {
        "MeterIndividualId": "rtl-receiver",
        "Meter": {
            "kind": "wmbus",
            "dongle": "rtlwmbus",
            "radioMeters": [
                {"id": water.identity.id, "meterIndividualId": "w-7", "key": water.key.hex(),
                 "profile": "mbus-water"},
            ],
        },
        "Broker": {"host": "127.0.0.1", "port": 1883},
        "Adapter": {"outboxPath": "out.sqlite3"},
    }  # fmt: skip
    path = tmp_path / "radio.yaml"
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o600)
    bad_crc = rtlwmbus_line(radio.telegram(water, T0)).replace(b";1;1;", b";0;1;", 1)
    lines = (
        bad_crc + rtlwmbus_line(radio.telegram(gas, T0)) + rtlwmbus_line(radio.telegram(water, T0))
    )
    done = subprocess.run(
        [sys.executable, "-m", "omdp", "adapter", "run", "--config", str(path), "--once",
         "--timeout", "20"],
        input=lines, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    reading = json.loads(done.stdout)
    assert reading["meterIndividual"]["meterIndividualId"] == "w-7"
    values = {
        v["operationalPropertyDefinition"]["propertyId"]: v for v in reading["propertyValues"]
    }
    volume = values["WATER_volume_of_water"]
    assert volume["numericalValue"] == water_litres(T0 - 86_400, T0) / 1000
    assert b"bad CRC" in done.stderr
