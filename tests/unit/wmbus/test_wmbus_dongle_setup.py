"""Dongles people own are put into the meters' link mode by omdp (AD-1): the user names only the
port and the mode. The commands, the CRC and checksum, the RSSI formulas, and the exchange with
a simulated dongle that hears nothing until it is set.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from omdp.adapter.sources.base import SourceIOError
from omdp.decoders.wmbus import decode
from omdp.errors import ConfigError
from omdp.simulators.wmbus_dongle import SimulatedDongle
from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters
from omdp.wmbus import Amb8465Decoder, RadioFrame, make_decoder
from omdp.wmbus.dongles import (
    amb8465_command,
    crc_ccitt,
    im871a_command,
    im871a_rssi_dbm,
    im871a_set_config,
    rssi_dbm,
)
from omdp.wmbus.setup import check_link_mode, configure

SPECS = radio_meters(["water", "heat"], origin=time.time() - 3600)


class Link:
    """The host's end of a serial line to a simulated dongle."""

    where = "simulated line"

    def __init__(self, device: SimulatedDongle | None) -> None:
        self.device = device
        self.inbox = bytearray()

    async def write(self, data: bytes) -> None:
        if self.device is not None:
            self.inbox += self.device.receive(data)

    async def read(self, timeout: float) -> bytes:
        if not self.inbox:
            await asyncio.sleep(min(timeout, 0.01))
            return b""
        data = bytes(self.inbox)
        self.inbox.clear()
        return data

    def air(self, radio: SimulatedRadio) -> None:
        """The meters transmit once; the dongle passes on what it hears."""
        assert self.device is not None
        for telegram, rssi in radio.telegrams_at(time.time()):
            self.inbox += self.device.wrap(telegram, rssi)


def test_crc_and_checksum_variants() -> None:
    """iM871A: CRC-16/X-25 (check value 0x906E) from the control field on, LSB first;
    AMB8465: XOR of every byte, the start byte FF included."""
    assert crc_ccitt(b"123456789") == 0x906E
    frame = im871a_set_config("T1")
    assert frame[:4] == bytes((0xA5, 0x81, 0x03, 7))  # CRC attached, DeviceMgmt, SetConfig
    assert frame[4:-2] == bytes((0x00, 0x03, 0x00, 0x03, 0x18, 0x00, 0x01))
    assert int.from_bytes(frame[-2:], "little") == crc_ccitt(frame[1:-2])
    command = amb8465_command(0x04, b"\x08")
    assert command == bytes((0xFF, 0x04, 0x01, 0x08, 0xFF ^ 0x04 ^ 0x01 ^ 0x08))


def test_rssi_formulas() -> None:
    """iM871A: raw * 8/15 - 380/3 dBm; AMB8465 (CC1101): signed byte / 2 - 74 dBm."""
    assert im871a_rssi_dbm(0) == -126.7
    assert im871a_rssi_dbm(150) == -46.7
    assert rssi_dbm(0x00) == -74.0
    assert rssi_dbm(0x80) == -138.0
    assert rssi_dbm(0x7F) == -10.5


def test_link_modes_are_checked_per_dongle() -> None:
    check_link_mode("im871a", "C1b")
    with pytest.raises(ConfigError, match="the amb8465 has"):
        check_link_mode("amb8465", "C1b")
    with pytest.raises(ConfigError, match="its own command line"):
        check_link_mode("rtlwmbus", "T1")


def test_im871a_hears_the_meters_only_once_set_to_their_mode() -> None:
    """AD-1: DeviceMgmt SetConfig (RAM only) sets T1; the stick's telegrams then decode."""
    device = SimulatedDongle("im871a", mode="S1")
    link = Link(device)
    radio = SimulatedRadio(SPECS)
    link.air(radio)
    assert not link.inbox  # in S1 the stick hears nothing of T1 meters
    decoder = make_decoder("im871a")
    asyncio.run(configure(link, "im871a", "T1", decoder, on_frame=lambda f: None))
    assert device.commands == ["set-config T1"]
    link.air(radio)
    frames = decoder.feed(asyncio.run(link.read(0.1))).frames
    assert len(frames) >= 2
    assert frames[0].rssi_dbm == pytest.approx(-60.0, abs=0.6)
    assert decode(frames[0].data, key=SPECS[0].key).id == SPECS[0].identity.id


def test_amb8465_command_output_enabled_and_rssi_learnt() -> None:
    """AD-1: CMD_SET_MODE_REQ (volatile); command output off is switched on (and the module
    reset, the mode set again); whether an RSSI byte follows each telegram is read (0x45)."""
    device = SimulatedDongle("amb8465", mode="S1", cmd_out=False, rssi=False)
    link = Link(device)
    decoder = make_decoder("amb8465")
    assert isinstance(decoder, Amb8465Decoder)
    assert decoder.rssi
    asyncio.run(configure(link, "amb8465", "T1", decoder, on_frame=lambda f: None))
    assert device.commands == [
        "set-mode T1", "get 0x05", "set 0x05=1", "reset", "set-mode T1", "get 0x45",
    ]  # fmt: skip
    assert not decoder.rssi
    link.air(SimulatedRadio(SPECS))
    frames = decoder.feed(asyncio.run(link.read(0.1))).frames
    assert frames
    assert frames[0].rssi_dbm is None
    assert decode(frames[0].data, key=SPECS[0].key).id == SPECS[0].identity.id


def test_telegrams_during_the_exchange_are_kept() -> None:
    device = SimulatedDongle("amb8465", mode="T1")
    link = Link(device)
    link.air(SimulatedRadio(SPECS))
    kept: list[RadioFrame] = []
    asyncio.run(configure(link, "amb8465", "T1", make_decoder("amb8465"), on_frame=kept.append))
    assert kept


def test_a_silent_or_refusing_dongle_is_an_io_error() -> None:
    with pytest.raises(SourceIOError, match="did not answer SetConfig"):
        asyncio.run(
            configure(
                Link(None), "im871a", "T1", make_decoder("im871a"), on_frame=print, timeout=0.2
            )
        )

    class Refusing(Link):
        async def write(self, data: bytes) -> None:
            self.inbox += im871a_command(0x01, 0x04, b"\x01")

    with pytest.raises(SourceIOError, match="refused link mode T1"):
        asyncio.run(
            configure(Refusing(None), "im871a", "T1", make_decoder("im871a"), on_frame=print)
        )

    class ReadOnly:
        where = "stdin"

        async def read(self, timeout: float) -> bytes:
            return b""

    with pytest.raises(SourceIOError, match="cannot send"):
        asyncio.run(configure(ReadOnly(), "im871a", "T1", make_decoder("im871a"), on_frame=print))
