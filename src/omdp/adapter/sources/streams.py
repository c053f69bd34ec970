"""Byte streams from a push meter: a TCP bridge (ser2net style) or a serial line (pyserial).

Both read with a timeout and return ``b""`` when nothing arrived in time, so that the source
decides what a silence means; both raise :class:`~omdp.adapter.sources.base.SourceIOError` when
the link is gone (peer closed, device unplugged). Serial calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import serial

from omdp.adapter.sources.base import SourceIOError
from omdp.errors import ConfigError

#: byte format -> (bytesize, parity, stopbits) for pyserial
SERIAL_FORMATS: Final = {
    "8N1": (8, "N", 1),
    "7E1": (7, "E", 1),
    "8E1": (8, "E", 1),
}
_CHUNK: Final = 4096
_SLICE: Final = 0.2  # longest blocking wait in the serial thread, so that close() is prompt


class ByteStream(Protocol):
    """An open link that delivers the meter's bytes."""

    where: str

    async def read(self, timeout: float) -> bytes:
        """Bytes that arrive within ``timeout`` seconds; ``b""`` when none did."""
        ...

    async def close(self) -> None:
        """Release the link; safe to call twice."""
        ...


def split_host_port(text: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:port"`` for IPv6) as a pair.

    Raises:
        ConfigError: not of that form, or the port is not 1-65535.
    """
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        msg = f"tcp {text!r} is not host:port"
        raise ConfigError(msg)
    return host, int(port)


class TcpStream:
    """A TCP connection to a bridge that forwards the meter's serial output."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str):
        """Wrap an open connection (use :meth:`connect`)."""
        self._reader = reader
        self._writer: asyncio.StreamWriter | None = writer
        self.where = where

    @classmethod
    async def connect(cls, host: str, port: int, *, timeout: float = 5.0) -> TcpStream:
        """Connect within ``timeout`` seconds.

        Raises:
            SourceIOError: refused, unreachable or too slow.
        """
        where = f"tcp {host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            msg = f"cannot connect to {where}: no answer within {timeout:g} s"
            raise SourceIOError(msg) from None
        except OSError as exc:
            msg = f"cannot connect to {where}: {exc}"
            raise SourceIOError(msg) from exc
        return cls(reader, writer, where)

    async def read(self, timeout: float) -> bytes:
        """Bytes arriving within ``timeout``; ``b""`` on silence.

        Raises:
            SourceIOError: the bridge closed the connection or it broke.
        """
        try:
            data = await asyncio.wait_for(self._reader.read(_CHUNK), max(timeout, 0.0))
        except TimeoutError:
            return b""
        except OSError as exc:
            msg = f"{self.where}: connection broken: {exc}"
            raise SourceIOError(msg) from exc
        if not data:
            msg = f"{self.where}: the bridge closed the connection"
            raise SourceIOError(msg)
        return data

    async def write(self, data: bytes) -> None:
        """Send bytes to the device behind the bridge (a dongle's commands).

        Raises:
            SourceIOError: the connection is closed or broke.
        """
        writer = self._writer
        if writer is None:
            msg = f"{self.where} is closed"
            raise SourceIOError(msg)
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), 5.0)
        except (OSError, TimeoutError) as exc:
            msg = f"{self.where}: write failed: {exc}"
            raise SourceIOError(msg) from exc

    async def close(self) -> None:
        """Close the connection (waits at most 2 s)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)


class SerialStream:
    """A serial port (a P1 cable, an optical head); reads run in a worker thread."""

    def __init__(self, port: Any, where: str) -> None:
        """Wrap an open pyserial port (use :meth:`open`)."""
        self._port = port
        self._lock = threading.Lock()  # close() waits for a read in progress
        self.where = where

    @classmethod
    async def open(cls, device: str, *, baudrate: int, serial_format: str = "8N1") -> SerialStream:
        """Open ``device`` at ``baudrate`` with ``serial_format`` (8N1, 7E1, 8E1).

        Raises:
            SourceIOError: the device cannot be opened.
            ConfigError: unknown format.
        """
        if serial_format not in SERIAL_FORMATS:
            msg = f"serial format {serial_format!r} is not one of {', '.join(SERIAL_FORMATS)}"
            raise ConfigError(msg)
        bytesize, parity, stopbits = SERIAL_FORMATS[serial_format]
        where = f"serial {device} {baudrate} {serial_format}"

        def _open() -> Any:
            return serial.Serial(
                device, baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits, timeout=0
            )

        try:
            port = await asyncio.to_thread(_open)
        except (OSError, ValueError, serial.SerialException) as exc:
            msg = f"cannot open {where}: {exc}"
            raise SourceIOError(msg) from exc
        return cls(port, where)

    def _read_blocking(self, timeout: float) -> bytes:
        with self._lock:
            port = self._port
            if port is None:
                msg = f"{self.where} is closed"
                raise SourceIOError(msg)
            readable, _, _ = select.select([port.fileno()], [], [], min(timeout, _SLICE))
            if not readable:
                return b""
            # readable but nothing waiting: the other end is gone (EIO on a pty, unplugged USB)
            data = bytes(port.read(max(port.in_waiting, 1)))
            if not data:
                msg = f"{self.where}: device reports end of input"
                raise SourceIOError(msg)
            return data

    async def read(self, timeout: float) -> bytes:
        """Bytes arriving within ``timeout``; ``b""`` on silence.

        Raises:
            SourceIOError: the device failed or went away.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            try:
                data = await asyncio.to_thread(self._read_blocking, deadline - loop.time())
            except (OSError, serial.SerialException) as exc:
                msg = f"{self.where}: read failed: {exc}"
                raise SourceIOError(msg) from exc
            if data or loop.time() >= deadline:
                return data

    async def write(self, data: bytes) -> None:
        """Send bytes to the device (a dongle's commands).

        Raises:
            SourceIOError: the port is closed or the write failed.
        """

        def _write() -> None:
            with self._lock:
                port = self._port
                if port is None:
                    msg = f"{self.where} is closed"
                    raise SourceIOError(msg)
                port.write(data)
                port.flush()

        try:
            await asyncio.to_thread(_write)
        except (OSError, serial.SerialException) as exc:
            msg = f"{self.where}: write failed: {exc}"
            raise SourceIOError(msg) from exc

    async def close(self) -> None:
        """Close the port, after a read in progress returns."""

        def _close() -> None:
            with self._lock:
                port, self._port = self._port, None
                if port is not None:
                    port.close()

        await asyncio.to_thread(_close)


def connector(
    *,
    tcp: tuple[str, int] | None,
    serial: str | None,
    baudrate: int,
    serial_format: str,
    connect_timeout: float = 5.0,
) -> Callable[[], Awaitable[ByteStream]]:
    """A function that opens the configured link anew on every call.

    Args:
        tcp: ``(host, port)`` of a bridge; exclusive with ``serial``.
        serial: a serial device path.
        baudrate: serial speed.
        serial_format: 8N1, 7E1 or 8E1.
        connect_timeout: seconds to wait for a TCP connection.

    Raises:
        ConfigError: neither or both of ``tcp`` and ``serial``.
    """
    if (tcp is None) == (serial is None):
        msg = "a meter link needs exactly one of tcp and serial"
        raise ConfigError(msg)
    device = serial or ""

    async def _open() -> ByteStream:
        if tcp is not None:
            return await TcpStream.connect(*tcp, timeout=connect_timeout)
        return await SerialStream.open(device, baudrate=baudrate, serial_format=serial_format)

    return _open
