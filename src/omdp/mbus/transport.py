"""Byte transports for the M-Bus master: TCP (M-Bus-to-TCP gateways) and serial (pyserial).

Every network await has a timeout; serial calls run in a worker thread (``asyncio.to_thread``).
A transport raises :class:`MBusTransportError` for I/O failures; :meth:`Transport.read` returns
``b""`` when nothing arrived within the timeout, so the master decides what a silence means.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import time
from typing import Any, Protocol

import serial

from omdp.errors import OmdpError


class MBusTransportError(OmdpError):
    """The link to the bus (serial port, TCP gateway) failed."""


class MBusTimeoutError(OmdpError):
    """A meter did not answer validly within the timeout, after all retries."""

    def __init__(self, reason: str, *, address: int | None = None) -> None:
        self.reason = reason
        self.address = address
        super().__init__(reason)

    def __str__(self) -> str:
        where = "" if self.address is None else f"address {self.address}: "
        return f"{where}{self.reason}"


class Transport(Protocol):
    """A byte pipe to the M-Bus."""

    async def open(self) -> None:
        """Connect or open the port."""

    async def close(self) -> None:
        """Release the connection; safe to call twice."""

    async def write(self, data: bytes) -> None:
        """Send bytes."""

    async def read(self, timeout: float) -> bytes:
        """Return the bytes that arrive within ``timeout`` seconds (``b""`` if none)."""

    async def discard_input(self) -> None:
        """Drop bytes received but not read (late answers, noise)."""


class TcpTransport:
    """A TCP connection to an M-Bus gateway (transparent, raw frames)."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect to the gateway."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            msg = f"cannot connect to M-Bus gateway {self.host}:{self.port}: {exc!r}"
            raise MBusTransportError(msg) from exc

    async def close(self) -> None:
        """Close the connection."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    async def write(self, data: bytes) -> None:
        """Send bytes to the gateway."""
        if self._writer is None:
            msg = "TCP transport is not open"
            raise MBusTransportError(msg)
        try:
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            msg = f"write to {self.host}:{self.port} failed: {exc!r}"
            raise MBusTransportError(msg) from exc

    async def read(self, timeout: float) -> bytes:
        """Return bytes arriving within ``timeout`` (``b""`` on silence)."""
        if self._reader is None:
            msg = "TCP transport is not open"
            raise MBusTransportError(msg)
        try:
            data = await asyncio.wait_for(self._reader.read(512), timeout)
        except TimeoutError:
            return b""
        except OSError as exc:
            msg = f"read from {self.host}:{self.port} failed: {exc!r}"
            raise MBusTransportError(msg) from exc
        if not data:
            msg = f"gateway {self.host}:{self.port} closed the connection"
            raise MBusTransportError(msg)
        return data

    async def discard_input(self) -> None:
        """Drop bytes already buffered."""
        while self._reader is not None and await self.read(0.0):
            pass


class SerialTransport:
    """A serial port with an M-Bus level converter; 2400 baud 8E1 by default."""

    def __init__(
        self, device: str, *, baudrate: int = 2400, parity: str = "E", stopbits: int = 1
    ) -> None:
        self.device = device
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self._port: Any = None

    async def open(self) -> None:
        """Open the port."""

        def _open() -> Any:
            return serial.Serial(
                self.device,
                self.baudrate,
                bytesize=8,
                parity=self.parity,
                stopbits=self.stopbits,
                timeout=0,
            )

        try:
            self._port = await asyncio.to_thread(_open)
        except (OSError, ValueError, serial.SerialException) as exc:
            msg = f"cannot open {self.device}: {exc}"
            raise MBusTransportError(msg) from exc

    async def close(self) -> None:
        """Close the port."""
        port, self._port = self._port, None
        if port is not None:
            await asyncio.to_thread(port.close)

    async def write(self, data: bytes) -> None:
        """Send bytes and wait until they left."""
        port = self._require()

        def _write() -> None:
            port.write(data)
            port.flush()

        await self._call(_write)

    async def read(self, timeout: float) -> bytes:
        """Return bytes arriving within ``timeout`` (``b""`` on silence)."""
        port = self._require()

        def _read() -> bytes:
            # wait on the descriptor instead of changing port.timeout: reconfiguring the port
            # on every read is slow, and a pseudo-terminal refuses the 8E1 settings again
            deadline = time.monotonic() + timeout
            while True:
                waiting = port.in_waiting
                if waiting:
                    return bytes(port.read(waiting))
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                if hasattr(port, "fileno"):
                    select.select([port.fileno()], [], [], left)
                else:  # pragma: no cover - non-POSIX ports
                    time.sleep(min(left, 0.005))

        data: bytes = await self._call(_read)
        return data

    async def discard_input(self) -> None:
        """Drop bytes already received."""
        port = self._require()
        await self._call(port.reset_input_buffer)

    def _require(self) -> Any:
        if self._port is None:
            msg = f"serial port {self.device} is not open"
            raise MBusTransportError(msg)
        return self._port

    async def _call(self, func: Any) -> Any:
        try:
            return await asyncio.to_thread(func)
        except (OSError, serial.SerialException) as exc:
            msg = f"serial I/O on {self.device} failed: {exc}"
            raise MBusTransportError(msg) from exc
