"""Receivers and the radio source: dongle protocols, id filter, keys, duplicates, silence.

AD-1 (read many radio meters through one receiver), AD-5 (their keys kept as secrets, encrypted
at rest), and the issue's duplicate and silence handling.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.fernet import Fernet

from omdp.adapter.config import load_adapter_file
from omdp.adapter.radio import meter_config, open_receiver
from omdp.adapter.sources.wmbus import SILENT_FAULT, RadioMeterConfig, WMBusReceiver
from omdp.cli.main import cli
from omdp.errors import ConfigError
from omdp.security.protect import SECRET_KEY_ENV, encrypt_secrets
from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters
from omdp.wmbus import (
    Amb8465Decoder,
    Im871aDecoder,
    RadioFrame,
    RtlWmbusDecoder,
    amb8465_frame,
    im871a_frame,
    rtlwmbus_line,
)

T0 = 1_717_243_200.0
SPECS = radio_meters(["water", "heat", "gas"], origin=T0 - 3600)


@pytest.mark.parametrize(
    ("wrap", "decoder"),
    [
        (lambda t: im871a_frame(t, rssi=-70.5, crc=True), Im871aDecoder),
        (lambda t: amb8465_frame(t, rssi=-80.0), Amb8465Decoder),
        (lambda t: rtlwmbus_line(t, rssi=97), RtlWmbusDecoder),
    ],
)
def test_dongle_streams_cut_into_telegrams(wrap: object, decoder: type) -> None:
    """AD-1: each dongle protocol, with noise and a frame split across reads, yields telegrams."""
    telegram = SimulatedRadio(SPECS).telegram(SPECS[0], T0)
    wire = wrap(telegram)  # type: ignore[operator]
    d = decoder()
    first = d.feed(b"\x00\x13" + wire + wire[:7])
    second = d.feed(wire[7:])
    frames = first.frames + second.frames
    assert [f.data for f in frames] == [telegram, telegram]
    assert frames[0].rssi_dbm is not None


def test_im871a_bad_hci_crc_is_dropped_with_a_reason() -> None:
    telegram = SimulatedRadio(SPECS).telegram(SPECS[0], T0)
    wire = bytearray(im871a_frame(telegram, crc=True))
    wire[6] ^= 0xFF
    got = Im871aDecoder().feed(bytes(wire))
    assert not got.frames
    assert "CRC-16" in got.problems[0]


def _receiver(clock: list[float], *, silent_after: float = 100.0) -> WMBusReceiver:
    async def never() -> object:
        raise AssertionError

    meters = [
        RadioMeterConfig(SPECS[0].identity.id, "radio-water", SPECS[0].key, "OMD", silent_after),
        RadioMeterConfig(SPECS[1].identity.id, "radio-heat", bytes(16), None, silent_after),
    ]
    return WMBusReceiver(
        "rx",
        connect=never,
        dongle="im871a",
        meters=meters,
        clock=lambda: clock[0],  # type: ignore[arg-type]
    )


def test_receiver_filters_ids_checks_keys_and_drops_duplicates() -> None:
    """AD-1: configured meters only; a wrong key is dropped with its reason; repeats dropped."""
    clock = [0.0]
    rx = _receiver(clock)
    radio = SimulatedRadio(SPECS)
    water = radio.telegram(SPECS[0], T0)
    rx.handle(RadioFrame(water, -60.0))
    rx.handle(RadioFrame(water, -60.0))  # the repeat
    rx.handle(RadioFrame(radio.telegram(SPECS[2], T0)))  # gas: not configured
    rx.handle(RadioFrame(radio.telegram(SPECS[1], T0)))  # heat: configured with a wrong key
    src = rx.source(SPECS[0].identity.id)
    assert src.queue.qsize() == 1
    assert src.radio.duplicates == 1
    sample = src.queue.get_nowait()
    volume = [v for v in sample.values if v.fields.get("quantity") == "Volume"]
    assert volume
    assert volume[0].unit == "m^3"
    assert sample.meter_serial == SPECS[0].identity.id
    assert rx.foreign == 1
    heat = rx.source(SPECS[1].identity.id)
    assert heat.queue.empty()
    assert heat.stats.decode_errors == 1
    assert "wrong key" in (heat.stats.last_error or "")
    clock[0] = 120.0  # past the duplicate window: the same bytes are a new transmission
    rx.handle(RadioFrame(water, -60.0))
    assert src.queue.qsize() == 1


def test_silent_meters_are_flagged_once() -> None:
    """The issue: a meter that stops sending is flagged (a fault sample), once per silence."""
    clock = [0.0]
    rx = _receiver(clock, silent_after=100.0)
    radio = SimulatedRadio(SPECS)
    rx.handle(RadioFrame(radio.telegram(SPECS[0], T0)))
    src = rx.source(SPECS[0].identity.id)
    src.queue.get_nowait()
    clock[0] = 50.0
    rx.check_silence()
    assert src.queue.empty()
    clock[0] = 150.0
    rx.check_silence()
    rx.check_silence()
    flagged = src.queue.get_nowait()
    assert flagged.fault == f"{SILENT_FAULT}:150s"
    assert flagged.values == ()
    assert src.queue.empty()
    assert src.radio.silences == 1
    rx.handle(RadioFrame(radio.telegram(SPECS[0], T0 + 1)))
    assert not src.silent


def _radio_doc(key: str) -> dict[str, object]:
    return {
        "MeterIndividualId": "rx-1",
        "Meter": {
            "kind": "wmbus",
            "dongle": "amb8465",
            "serial": "/dev/null",
            "radioMeters": [
                {"id": SPECS[0].identity.id, "meterIndividualId": "w-1", "key": key,
                 "profile": "mbus-water", "householdId": "hh-1"},
                {"id": SPECS[1].identity.id, "meterIndividualId": "h-1", "profile": "mbus-heat"},
            ],
        },
        "Broker": {"host": "127.0.0.1", "port": 1883},
        "Adapter": {"outboxPath": "out.sqlite3"},
    }  # fmt: skip


def test_radio_keys_are_secrets_encrypted_at_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-5: a file with radio keys must be private; keys may be stored encrypted (enc:v1:)."""
    fernet_key = Fernet.generate_key()
    doc = encrypt_secrets(_radio_doc(SPECS[0].key.hex()), Fernet(fernet_key))
    stored = doc["Meter"]["radioMeters"][0]["key"]  # type: ignore[index]
    assert stored.startswith("enc:v1:")
    assert SPECS[0].key.hex() not in yaml.safe_dump(doc)
    path = tmp_path / "radio.yaml"
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o644)
    monkeypatch.setenv(SECRET_KEY_ENV, fernet_key.decode())
    with pytest.raises(ConfigError, match="radio meter keys"):
        load_adapter_file(path)
    os.chmod(path, 0o600)
    config = load_adapter_file(path)
    receiver = open_receiver(config)
    assert receiver.source(SPECS[0].identity.id).config.key == SPECS[0].key
    monkeypatch.delenv(SECRET_KEY_ENV)
    with pytest.raises(ConfigError, match="encrypted"):
        load_adapter_file(path)


def test_each_radio_meter_is_its_own_meter_individual(tmp_path: Path) -> None:
    """AD-4: one file, many MeterIndividualIds, each with its own mapping, household, outbox."""
    path = tmp_path / "radio.yaml"
    path.write_text(yaml.safe_dump(_radio_doc(SPECS[0].key.hex())))
    os.chmod(path, 0o600)
    config = load_adapter_file(path)
    assert config.meter is not None
    water, heat = (meter_config(config, r) for r in config.meter.radio_meters)
    assert (water.meter_individual_id, heat.meter_individual_id) == ("w-1", "h-1")
    assert water.adapter.household_id == "hh-1"
    assert water.adapter.outbox_path == "out-w-1.sqlite3"
    assert {m.target for m in water.operational_property_mapping} >= {"WATER_volume_of_water"}
    assert {m.target for m in heat.operational_property_mapping} >= {"HEAT_energy"}


def test_cli_decode_prints_json_and_exits_1_with_the_reason() -> None:
    """The issue: ``omdp wmbus decode HEX [--key K]``; exit 1 with the reason otherwise."""
    telegram = SimulatedRadio(SPECS).telegram(SPECS[0], T0)
    runner = CliRunner()
    ok = runner.invoke(cli, ["wmbus", "decode", telegram.hex(), "--key", SPECS[0].key.hex()])
    assert ok.exit_code == 0, ok.output
    assert '"manufacturer": "OMD"' in ok.output
    assert '"quantity": "Volume"' in ok.output
    missing = runner.invoke(cli, ["wmbus", "decode", telegram.hex()])
    assert missing.exit_code == 1
    assert "no key given" in missing.output
    wrong = runner.invoke(cli, ["wmbus", "decode", telegram.hex(), "--key", "00" * 16])
    assert wrong.exit_code == 1
    assert "wrong key" in wrong.output
    short = runner.invoke(cli, ["wmbus", "decode", telegram[:20].hex()])
    assert short.exit_code == 1
    assert "truncated" in short.output


def test_driver_values_are_selected_by_name() -> None:
    """AD-2: a driver's named value maps like a record (``wmbus:name=...``)."""
    from omdp.adapter.selectors import parse_selector
    from omdp.adapter.sources.wmbus import sample_from_telegram
    from omdp.decoders.wmbus import decode
    from omdp.decoders.wmbus.drivers import drivers

    bfw = next(d for d in drivers() if d.name == "bfw_hca_240")
    sample = sample_from_telegram(decode(bytes.fromhex(bfw.tests[0]["telegram"])))
    picked = parse_selector("wmbus:name=current_hca").pick(sample)
    assert picked is not None
    assert picked.value == 567
    assert parse_selector("wmbus:name=no_such_value").pick(sample) is None


def test_cli_listen_prints_one_line_per_telegram() -> None:
    """AD-1: ``omdp wmbus listen`` shows every meter in range, decrypted where a key is given."""
    radio = SimulatedRadio(SPECS)
    lines = rtlwmbus_line(radio.telegram(SPECS[0], T0)) + rtlwmbus_line(
        radio.telegram(SPECS[1], T0)
    )
    water = SPECS[0].identity.id
    done = CliRunner().invoke(
        cli,
        ["wmbus", "listen", "--dongle", "rtlwmbus", "--count", "2", "--key",
         f"{water}={SPECS[0].key.hex()}"],
        input=lines,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    first, second = (json.loads(x) for x in done.output.splitlines())
    assert first["id"] == water
    assert first["security"] == "mode5"
    assert first["values"]["Volume[0]"][1] == "m^3"
    assert second["id"] == SPECS[1].identity.id
    assert "no key given" in second["error"]
