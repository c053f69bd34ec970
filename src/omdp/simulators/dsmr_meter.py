"""A simulated DSMR 5 meter, and the server that streams any simulated meter's telegrams.

:class:`DsmrMeter` is pure: ``telegram_at(t)`` gives the telegram the meter would send at unix
time ``t`` (registers from a :class:`~omdp.simulators.profiles.HouseholdProfile`, valid CRC).
:class:`MeterStreamServer` sends one frame every ``interval`` seconds to every TCP client (like a
ser2net P1 bridge) and to a pseudo-terminal (like a USB P1 cable); it is an async context
manager. The SML simulator reuses it. Time comes from an injectable clock so that tests can run a
day of simulated time in a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType

from omdp.decoders.dsmr.encoder import encode_telegram
from omdp.decoders.obis_values import ObisValue
from omdp.domain.obis import ObisCode
from omdp.simulators.profiles import HouseholdProfile

log = logging.getLogger(__name__)

#: phase shares of the household's power (L1, L2, L3)
PHASES = (
    (21, 22, 31, 32, Decimal("0.5")),
    (41, 42, 51, 52, Decimal("0.3")),
    (61, 62, 71, 72, Decimal("0.2")),
)


def _kwh(wh: float) -> Decimal:
    return Decimal(wh / 1000).quantize(Decimal("0.001"))


def _kw(w: float) -> Decimal:
    return Decimal(w / 1000).quantize(Decimal("0.001"))


def _code(text: str) -> ObisCode:
    return ObisCode.parse(text)


@dataclass(slots=True)
class DsmrMeter:
    """A DSMR 5.0 household meter driven by a load profile.

    Attributes:
        profile: the household.
        meter_id: equipment identifier as the telegram shows it (hex-encoded ASCII in NL).
        gas: add a gas meter on M-Bus channel 1 (reading every 5 minutes).
        gas_m3_per_h: mean gas use.
        voltage_v: nominal phase voltage.
    """

    profile: HouseholdProfile = field(default_factory=HouseholdProfile)
    meter_id: str = "4530303434303037333832323436303139"
    gas: bool = True
    gas_m3_per_h: float = 0.08
    voltage_v: float = 230.0

    def values_at(self, t: float) -> list[ObisValue]:
        """The values the meter reports at unix time ``t``, in DSMR 5 order."""
        energy = self.profile.energy(t)
        power = self.profile.power(t)
        tariff = "0001" if self.profile.low_tariff(t) else "0002"
        values = [
            ObisValue(_code("1-0:1.8.1"), _kwh(energy.import_t1_wh), "kWh"),
            ObisValue(_code("1-0:1.8.2"), _kwh(energy.import_t2_wh), "kWh"),
            ObisValue(_code("1-0:2.8.1"), _kwh(energy.export_t1_wh), "kWh"),
            ObisValue(_code("1-0:2.8.2"), _kwh(energy.export_t2_wh), "kWh"),
            ObisValue(_code("0-0:96.14.0"), tariff),
            ObisValue(_code("1-0:1.7.0"), _kw(power.import_w), "kW"),
            ObisValue(_code("1-0:2.7.0"), _kw(power.export_w), "kW"),
        ]
        wobble = (int(t) % 7) / 10
        for n, (imp, exp, cur, volt, share) in enumerate(PHASES):
            volts = Decimal(self.voltage_v + wobble - n / 10).quantize(Decimal("0.1"))
            phase_w = float(share) * max(power.import_w, power.export_w)
            amps = Decimal(round(phase_w / float(volts)))
            values += [
                ObisValue(_code(f"1-0:{volt}.7.0"), volts, "V"),
                ObisValue(_code(f"1-0:{cur}.7.0"), amps, "A"),
                ObisValue(_code(f"1-0:{imp}.7.0"), _kw(float(share) * power.import_w), "kW"),
                ObisValue(_code(f"1-0:{exp}.7.0"), _kw(float(share) * power.export_w), "kW"),
            ]
        if self.gas:
            captured = t - (t % 300)
            m3 = 1000 + self.gas_m3_per_h * (captured - self.profile.origin) / 3600
            values += [
                ObisValue(_code("0-1:24.1.0"), "003", channel=1),
                ObisValue(
                    _code("0-1:24.2.1"),
                    Decimal(m3).quantize(Decimal("0.001")),
                    "m3",
                    datetime.fromtimestamp(captured, UTC),
                    1,
                ),
            ]
        return values

    def telegram_at(self, t: float) -> bytes:
        """The telegram the meter sends at unix time ``t`` (DSMR 5, valid CRC).

        Args:
            t: unix time, s; not before the profile's origin.

        Returns:
            The telegram bytes.
        """
        return encode_telegram(
            self.values_at(t),
            timestamp=datetime.fromtimestamp(t, UTC),
            meter_id=self.meter_id,
            tz=self.profile.tz,
        )


class MeterStreamServer:
    """Stream a simulated meter's frames over TCP and/or a pseudo-terminal.

    Use as ``async with MeterStreamServer(meter.telegram_at, interval=10) as server:``; then
    connect to ``server.port`` or open ``server.open_pty()``.
    """

    def __init__(
        self,
        frame_at: Callable[[float], bytes],
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the server; nothing starts before ``__aenter__``.

        Args:
            frame_at: the meter's pure "frame at unix time t" function.
            interval: real seconds between frames.
            clock: simulated time source, unix seconds.
            host: address to listen on.
            port: TCP port; 0 picks a free one (see :attr:`port`).
        """
        self._frame_at = frame_at
        self._interval = interval
        self._clock = clock
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._pty_fds: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        if self._server is None:
            msg = "server not started"
            raise RuntimeError(msg)
        return int(self._server.sockets[0].getsockname()[1])

    def open_pty(self) -> str:
        """Open a pseudo-terminal that receives every frame; return its slave device path."""
        master, slave = os.openpty()
        tty.setraw(slave)  # bytes as they are: no line editing, no CR/LF mapping
        os.set_blocking(master, False)
        self._pty_fds += [master, slave]
        return os.ttyname(slave)

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._clients.add(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()  # clients only listen; returns at EOF
        self._clients.discard(writer)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    def _send(self, frame: bytes) -> None:
        for writer in list(self._clients):
            if writer.is_closing():
                self._clients.discard(writer)
                continue
            writer.write(frame)
        for master in self._pty_fds[0::2]:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(master, frame)  # nobody reading: drop, as a serial line would
        self.frames_sent += 1

    async def _run(self) -> None:
        while True:
            self._send(self._frame_at(self._clock()))
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> MeterStreamServer:
        self._server = await asyncio.start_server(self._serve_client, self._host, self._port)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients):
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        self._clients.clear()
        if self._server is not None:
            await self._server.wait_closed()
        for fd in self._pty_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._pty_fds.clear()
