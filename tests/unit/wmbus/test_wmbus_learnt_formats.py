"""Compact frames decode from formats learnt from the meter's own full frames, never shipped.

The receiver keeps what each meter taught in a state file beside its outboxes (mode 600), so a
compact frame right after a restart still decodes; ``omdp wmbus decode --context`` takes the
earlier telegrams the same way (AD-1).
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from omdp.adapter.sources.wmbus import RadioMeterConfig, WMBusReceiver
from omdp.cli.main import cli
from omdp.decoders.mbus.encode import make_record, vib_for
from omdp.decoders.wmbus.encode import MeterIdentity, encode_compact, encode_telegram
from omdp.wmbus import RadioFrame

METER = MeterIdentity("KAM", "76543210", 0x1B, 0x16)
RECORDS = (
    make_record(vib_for("Volume", "m^3", 0.001), 4_321),
    make_record(vib_for("Volume", "m^3", 0.001), 4_000, storage=1),
)
FULL = encode_telegram(METER, RECORDS, access_number=1)
COMPACT = encode_compact(METER, RECORDS, access_number=2)


SIBLING = MeterIdentity("KAM", "76543211", 0x1B, 0x16)  # the same model, another meter


def _receiver(state: Path | None) -> WMBusReceiver:
    async def never() -> object:
        raise AssertionError

    return WMBusReceiver(
        "rx",
        connect=never,  # type: ignore[arg-type]
        dongle="amb8465",
        meters=[RadioMeterConfig(METER.id, "cold-water"), RadioMeterConfig(SIBLING.id, "w-2")],
        state_path=state,
    )


def _volumes(rx: WMBusReceiver, meter: MeterIdentity = METER) -> list[float]:
    src = rx.source(meter.id)
    out = []
    while not src.queue.empty():
        sample = src.queue.get_nowait()
        out += [float(v.value) for v in sample.values if v.fields.get("quantity") == "Volume"]
    return out


def test_a_compact_frame_after_a_restart_decodes_from_the_kept_state(tmp_path: Path) -> None:
    """AD-1: learnt formats survive a restart (a 0600 file); without them nothing is published."""
    state = tmp_path / "out-wmbus-state.json"
    first = _receiver(state)
    first.handle(RadioFrame(COMPACT))  # before any full frame: nothing to publish
    assert _volumes(first) == []
    first.handle(RadioFrame(FULL))
    assert _volumes(first) == [4.321, 4.0]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    doc = json.loads(state.read_text())
    assert doc["formats"][METER.id]
    assert doc["formats"][SIBLING.id] == []
    restarted = _receiver(state)
    restarted.handle(RadioFrame(COMPACT))
    assert _volumes(restarted) == [4.321, 4.0]
    forgetful = _receiver(None)
    forgetful.handle(RadioFrame(COMPACT))
    assert _volumes(forgetful) == []


def test_an_unreadable_state_file_is_reported_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        rx = _receiver(state)
    assert "not read" in caplog.text
    rx.handle(RadioFrame(FULL))
    assert _volumes(rx) == [4.321, 4.0]
    assert json.loads(state.read_text())["formats"][METER.id]  # rewritten, readable again


def test_cli_decode_learns_from_context_telegrams() -> None:
    """``omdp wmbus decode --context FULL COMPACT``: the compact frame's records, as the corpus's
    ``context_hex``; a context telegram that does not decode is a warning, not a failure."""
    runner = CliRunner()
    alone = runner.invoke(cli, ["wmbus", "decode", COMPACT.hex()])
    assert alone.exit_code == 0, alone.output
    assert json.loads(alone.stdout)["records"] == []
    both = runner.invoke(
        cli, ["wmbus", "decode", "--context", "00", "--context", FULL.hex(), COMPACT.hex()]
    )
    assert both.exit_code == 0, both.output
    assert "--context 1 not decoded" in both.stderr
    doc = json.loads(both.stdout)
    assert [r["value"] for r in doc["records"]] == [4.321, 4.0]


def test_a_sibling_meters_format_serves_when_the_data_crc_fits() -> None:
    """Meters of one model send one format: a compact frame decodes from another meter's full
    frame, but only when its data CRC matches that format (else it waits for its own)."""
    rx = _receiver(None)
    rx.handle(RadioFrame(FULL))
    _volumes(rx)
    sibling = encode_compact(SIBLING, RECORDS, access_number=3)
    rx.handle(RadioFrame(sibling))
    assert _volumes(rx, SIBLING) == [4.321, 4.0]
    bad = bytearray(encode_compact(SIBLING, RECORDS, access_number=4))
    bad[16] ^= 0xFF  # the data CRC (after the ELL and the signature) no longer fits
    other = _receiver(None)
    other.handle(RadioFrame(FULL))
    other.handle(RadioFrame(bytes(bad)))
    assert _volumes(other, SIBLING) == []
