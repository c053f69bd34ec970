"""DLMS/COSEM push source: a customer interface over serial, a TCP bridge or a push listener.

One sample per push. The stream decoder (:mod:`omdp.decoders.dlms.stream`) reads HDLC and wired
M-Bus frames alike; the meter's profile (``Meter.profile``) supplies scalers and list layouts
the push leaves out, and the household's key (``Meter.key``, ``Meter.authKey``) deciphers it.
A wrong key, a replayed frame counter or a corrupted frame is logged with its precise reason,
counted in ``decode_errors``, and the source reads on. Frame counters are remembered across
reconnects, so a replay after a reconnect is refused too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from omdp.adapter.samples import sample_from_telegram
from omdp.adapter.sources.base import Backoff, SourceIOError
from omdp.adapter.sources.push import Decoded, PushSource
from omdp.adapter.sources.streams import ByteStream, TcpStream, connector
from omdp.decoders.dlms import (
    DlmsHints,
    DlmsKeys,
    DlmsStreamDecoder,
    FrameCounterGuard,
    ListLayout,
    Scaling,
)
from omdp.domain.obis import ObisCode
from omdp.errors import ConfigError

DLMS_BAUDRATE = 2400  # HAN ports and the Austrian M-Bus interfaces; P1-style ports use 115200


def dlms_hints(profile: str | None) -> DlmsHints:
    """The scalers and list layouts of a shipped profile's ``dlms`` section (none: no hints).

    Raises:
        ConfigError: the profile does not exist or its ``dlms`` section is malformed.
    """
    if profile is None:
        return DlmsHints()
    path = resources.files("omdp.adapter") / "profiles" / f"{profile}.yaml"
    if not path.is_file():
        msg = f"unknown mapping profile {profile!r}"
        raise ConfigError(msg)
    section = (yaml.safe_load(path.read_text("utf-8")) or {}).get("dlms") or {}
    try:
        layouts = tuple(
            ListLayout(
                str(item["name"]),
                tuple(None if c is None else ObisCode.parse(str(c)) for c in item["items"]),
            )
            for item in section.get("lists") or ()
        )
        scalings = {
            str(code): Scaling(int(s.get("scaler", 0)), s.get("unit"))
            for code, s in (section.get("scalings") or {}).items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"profile {profile}: malformed dlms section: {exc}"
        raise ConfigError(msg) from None
    return DlmsHints(layouts, MappingProxyType(scalings))


def dlms_keys(key: str | None, auth_key: str | None) -> DlmsKeys | None:
    """The household's keys from the configuration (None: plain pushes).

    Raises:
        ConfigError: not 32 hex digits each (the message never shows the key).
    """
    if not key:
        if auth_key:
            msg = "Meter.authKey is set but Meter.key is not: a DLMS push needs the key"
            raise ConfigError(msg)
        return None
    try:
        return DlmsKeys.from_hex(key, auth_key)
    except ValueError as exc:
        msg = f"Meter.key/authKey: {exc}"
        raise ConfigError(msg) from None


@dataclass
class DlmsFrameDecoder:
    """A fresh stream decoder per connection, sharing the frame-counter guard of the source."""

    keys: DlmsKeys | None
    hints: DlmsHints
    tz: tzinfo
    guard: FrameCounterGuard
    _stream: DlmsStreamDecoder = field(init=False)

    def __post_init__(self) -> None:
        self._stream = DlmsStreamDecoder(
            keys=self.keys, hints=self.hints, tz=self.tz, guard=self.guard
        )

    def feed(self, chunk: bytes) -> Decoded:
        """Decode every push ``chunk`` completes; the reasons for every one dropped."""
        result = self._stream.feed(chunk)
        samples = [sample_from_telegram(p.telegram) for p in result.pushes]
        problems = [f"DLMS: {p}" for p in result.problems]
        return Decoded(samples, problems, len(result.pushes) + len(problems))


class PushListener:
    """Accepts connections from a bridge that pushes the meter's bytes to us (one at a time)."""

    def __init__(self, host: str, port: int) -> None:
        """Listen on ``host:port`` once the first connection is awaited."""
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._incoming: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue(maxsize=4)
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._incoming.full():  # we read one bridge at a time; refuse extra ones
            writer.close()
            return
        await self._incoming.put((reader, writer))

    async def start(self) -> None:
        """Bind the port (idempotent).

        Raises:
            SourceIOError: the port cannot be bound.
        """
        if self._server is None:
            try:
                self._server = await asyncio.start_server(self._handle, self.host, self.port)
            except OSError as exc:
                msg = f"cannot listen on {self.host}:{self.port}: {exc.strerror}"
                raise SourceIOError(msg) from None
            sockets = self._server.sockets
            if sockets and self.port == 0:
                self.port = sockets[0].getsockname()[1]

    async def accept(self) -> ByteStream:
        """The next pushing connection."""
        await self.start()
        reader, writer = await self._incoming.get()
        peer: Any = writer.get_extra_info("peername")
        where = f"push from {peer[0]}:{peer[1]}" if peer else "push connection"
        return TcpStream(reader, writer, where)

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None


def dlms_source(
    name: str,
    *,
    tcp: tuple[str, int] | None = None,
    serial: str | None = None,
    listen: tuple[str, int] | None = None,
    baudrate: int = DLMS_BAUDRATE,
    serial_format: str = "8N1",
    keys: DlmsKeys | None = None,
    hints: DlmsHints | None = None,
    tz: tzinfo = UTC,
    interval: float = 10.0,
    silence_intervals: float = 3.0,
    connect_timeout: float = 5.0,
    backoff: Backoff | None = None,
) -> PushSource:
    """A DLMS push meter over a TCP bridge, a serial device, or a listening port.

    Raises:
        ConfigError: not exactly one of ``tcp``, ``serial`` and ``listen``.
    """
    if sum(x is not None for x in (tcp, serial, listen)) != 1:
        msg = "Meter: a DLMS meter needs exactly one of tcp, serial and listen"
        raise ConfigError(msg)
    guard = FrameCounterGuard()
    chosen = hints or DlmsHints()
    connect: Callable[[], Awaitable[ByteStream]]
    if listen is not None:
        connect = PushListener(*listen).accept
    else:
        connect = connector(
            tcp=tcp,
            serial=serial,
            baudrate=baudrate,
            serial_format=serial_format,
            connect_timeout=connect_timeout,
        )
    return PushSource(
        name,
        connect=connect,
        decoder=lambda: DlmsFrameDecoder(keys, chosen, tz, guard),
        interval=interval,
        silence_intervals=silence_intervals,
        backoff=backoff,
    )
