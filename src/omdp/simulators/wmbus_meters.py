"""Simulated wireless M-Bus meters (water, heat, gas) heard through a simulated dongle.

Each meter sends one encrypted telegram per interval: the water and gas meters with OMS
security mode 5, the heat meter with mode 7 (AFL, KDF, CMAC). Every third transmission is sent
twice, as real meters and repeaters do, so that receivers have duplicates to drop. The radio
wraps each telegram in the chosen dongle's serial protocol (iM871A, AMB8465, rtl-wmbus lines).

Registers are pure functions of time from an origin, so that a restarted simulator continues
where the history stands: water 345 litres a day, gas about 1.5 m³ a day, heat about 96 kWh a
day.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Final

from omdp.decoders.mbus import DateTimeValue
from omdp.decoders.mbus.encode import make_record, vib_for
from omdp.decoders.mbus.records import DataRecord
from omdp.decoders.wmbus.encode import MeterIdentity, encode_telegram
from omdp.wmbus.dongles import amb8465_frame, im871a_frame, rtlwmbus_line

MANUFACTURER: Final = "OMD"  # the simulated meters' M-field
WATER_LITRES_AT_ORIGIN: Final = 120_000  # as the wired water simulator
WATER_LITRES_PER_S: Final = 0.004
GAS_LITRES_AT_ORIGIN: Final = 4_000_000
GAS_LITRES_PER_S: Final = 0.0174
HEAT_KWH_AT_ORIGIN: Final = 12_000
HEAT_KWH_PER_S: Final = 1 / 900
WMBUS_METERS: Final = ("water", "heat", "gas")


def simulated_key(meter_id: str) -> bytes:
    """Return the AES key of a simulated meter (derived from its id; for tests and demos)."""
    return hashlib.sha256(f"omdp-simulated-wmbus:{meter_id}".encode()).digest()[:16]


def water_litres(origin: float, t: float) -> int:
    """The water register at ``t``, litres."""
    return WATER_LITRES_AT_ORIGIN + round((t - origin) * WATER_LITRES_PER_S)


def heat_kwh(origin: float, t: float) -> int:
    """The heat energy register at ``t``, kWh."""
    return HEAT_KWH_AT_ORIGIN + round((t - origin) * HEAT_KWH_PER_S)


def gas_litres(origin: float, t: float) -> int:
    """The gas register at ``t``, litres."""
    return GAS_LITRES_AT_ORIGIN + round((t - origin) * GAS_LITRES_PER_S)


def _clock(t: float, tz: tzinfo) -> DataRecord:
    local = datetime.fromtimestamp(t, UTC).astimezone(tz)
    stamp = DateTimeValue(
        "F", local.year, local.month, local.day, local.hour, local.minute,
        summer_time=bool(local.dst()),
    )  # fmt: skip
    return make_record(vib_for("Time point (date & time)", "-"), stamp, coding="int32")


@dataclass(frozen=True, slots=True)
class RadioMeterSpec:
    """A simulated radio meter: identity, key, security mode and its records at time t."""

    kind: str
    identity: MeterIdentity
    mode: int
    records_at: Callable[[float], list[DataRecord]]

    @property
    def key(self) -> bytes:
        """Return the meter's AES key."""
        return simulated_key(self.identity.id)


def radio_meters(
    names: Sequence[str], *, origin: float, tz: tzinfo = UTC, first_id: int = 51000001
) -> list[RadioMeterSpec]:
    """Simulated radio meters; ids count up from ``first_id`` in the order of ``names``."""

    def water(t: float) -> list[DataRecord]:
        flow = 0.02 + 0.02 * math.sin(t / 300)  # m³/h
        return [
            _clock(t, tz),
            make_record(vib_for("Volume", "m^3", 0.001), water_litres(origin, t)),
            make_record(vib_for("Volume flow", "m^3/h", 0.001), round(flow * 1000), coding="int16"),
            make_record(vib_for("Flow temperature", "°C", 0.1), 118, coding="int16"),
        ]

    def heat(t: float) -> list[DataRecord]:
        power_w = 4000 + 1500 * math.sin(t / 600)
        return [
            _clock(t, tz),
            make_record(vib_for("Energy", "Wh", 1000.0), heat_kwh(origin, t), coding="bcd8"),
            make_record(vib_for("Volume", "m^3", 0.01), 310_000 + round((t - origin) / 90)),
            make_record(vib_for("Power", "W", 1.0), round(power_w), coding="int24"),
            make_record(vib_for("Volume flow", "m^3/h", 0.001), 172, coding="int16"),
            make_record(vib_for("Flow temperature", "°C", 0.1), 552, coding="int16"),
            make_record(vib_for("Return temperature", "°C", 0.1), 371, coding="int16"),
            make_record(vib_for("Temperature difference", "K", 0.1), 181, coding="int16"),
        ]

    def gas(t: float) -> list[DataRecord]:
        return [_clock(t, tz), make_record(vib_for("Volume", "m^3", 0.001), gas_litres(origin, t))]

    table = {
        "water": (0x07, 5, water),
        "heat": (0x04, 7, heat),
        "gas": (0x03, 5, gas),
    }
    out = []
    for n, name in enumerate(names):
        device_type, mode, records = table[name]
        ident = MeterIdentity(MANUFACTURER, f"{first_id + n:08d}", 0x01, device_type)
        out.append(RadioMeterSpec(name, ident, mode, records))
    return out


def _im871a(telegram: bytes, rssi: float) -> bytes:
    return im871a_frame(telegram, rssi=rssi)


def _amb8465(telegram: bytes, rssi: float) -> bytes:
    return amb8465_frame(telegram, rssi=rssi)


def _rtlwmbus(telegram: bytes, rssi: float) -> bytes:
    return rtlwmbus_line(telegram, rssi=rssi)


DONGLE_FRAMES: Final[dict[str, Callable[[bytes, float], bytes]]] = {
    "im871a": _im871a,
    "amb8465": _amb8465,
    "rtlwmbus": _rtlwmbus,
}


@dataclass(slots=True)
class SimulatedRadio:
    """What a dongle hears from the simulated meters: one call per interval.

    ``frames_at(t)`` returns the bytes the dongle sends for every meter's telegram at ``t``
    (every third transmission repeated, as a duplicate).
    """

    meters: list[RadioMeterSpec]
    dongle: str = "im871a"
    sent: int = 0
    _access: dict[str, int] = field(default_factory=dict)

    def telegram(self, meter: RadioMeterSpec, t: float) -> bytes:
        """Return one encrypted telegram of ``meter`` at ``t`` (next access number)."""
        acc = self._access.get(meter.identity.id, int(t) % 256)
        self._access[meter.identity.id] = (acc + 1) % 256
        return encode_telegram(
            meter.identity,
            meter.records_at(t),
            access_number=acc,
            key=meter.key,
            mode=meter.mode,
            counter=int(t) & 0xFFFFFFFF,
        )

    def telegrams_at(self, t: float) -> list[tuple[bytes, float]]:
        """Return one transmission of every meter, with its signal strength (dBm)."""
        out = []
        for n, meter in enumerate(self.meters):
            sent = (self.telegram(meter, t), -60.0 - 5 * n)
            out.append(sent)
            if self.sent % 3 == 0:
                out.append(sent)
        self.sent += 1
        return out

    def frames_at(self, t: float) -> bytes:
        """Return the dongle's bytes for one transmission of every meter."""
        wrap = DONGLE_FRAMES[self.dongle]
        return b"".join(wrap(telegram, rssi) for telegram, rssi in self.telegrams_at(t))


def now() -> float:
    """Unix time (a seam for tests)."""
    return time.time()
