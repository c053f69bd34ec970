"""A simulated wM-Bus dongle: answers the host's commands, and hears meters in its link mode.

:class:`SimulatedDongle` is the dongle's side of its serial protocol. It starts in a link mode
other than the meters' (as a stick fresh from another installation would), so it passes on no
telegram until the host sets the meters' mode:

- **iM871A**: DeviceMgmt ``SetConfig`` (link mode, RSSI attachment) is answered with a
  ``SetConfig`` response (status 0), ``Ping`` with a ping response; indications carry the CRC.
- **AMB8465**: ``CMD_SET_MODE_REQ``, ``CMD_GET_REQ``/``CMD_SET_REQ`` of parameters 0x05
  (command output) and 0x45 (RSSI), ``CMD_RESET_REQ``; with command output off, telegrams come
  out unframed, as the module sends them then.

:class:`DongleServer` serves it on a pseudo-terminal (and TCP): the host's bytes are read and
answered on the same line, and the meters' telegrams sent every interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tty
from collections.abc import Callable
from types import TracebackType

from omdp.wmbus.dongles import (
    AMB8465_LINK_MODES,
    AMB_CONFIRM,
    AMB_GET_REQ,
    AMB_PARAM_CMD_OUT,
    AMB_PARAM_RSSI,
    AMB_RESET_REQ,
    AMB_SET_MODE_REQ,
    AMB_SET_REQ,
    IM871A_DEVMGMT,
    IM871A_LINK_MODES,
    IM871A_PING_REQ,
    IM871A_SET_CONFIG_REQ,
    Im871aDecoder,
    amb8465_command,
    amb8465_frame,
    im871a_command,
    im871a_frame,
    rssi_raw,
)


class SimulatedDongle:
    """One dongle's state and protocol (``im871a`` or ``amb8465``).

    Args:
        dongle: which protocol it speaks.
        meters_mode: the link mode the simulated meters send in (``T1``).
        mode: the link mode it starts in (not the meters', so the host must set it).
        cmd_out: AMB8465 parameter 0x05 (telegrams framed as ``FF 03 ...``).
        rssi: AMB8465 parameter 0x45 (an RSSI byte after each telegram).
    """

    def __init__(
        self,
        dongle: str,
        *,
        meters_mode: str = "T1",
        mode: str = "S1",
        cmd_out: bool = True,
        rssi: bool = True,
    ) -> None:
        """Start as a stick fresh out of another installation."""
        if dongle not in ("im871a", "amb8465"):
            msg = f"no simulated {dongle} dongle"
            raise ValueError(msg)
        self.dongle = dongle
        self.meters_mode = meters_mode
        self.mode = mode
        self.cmd_out = cmd_out
        self.rssi = rssi
        self.commands: list[str] = []  # what the host asked, in order (for tests and logs)
        self._parser = Im871aDecoder()  # the host's HCI requests are framed as the answers
        self._buffer = bytearray()

    @property
    def listening(self) -> bool:
        """Whether the dongle hears the meters (its link mode receives theirs)."""
        if self.dongle == "amb8465" and self.mode == "C1T1":
            return self.meters_mode in ("C1", "T1")
        return self.mode == self.meters_mode or {self.mode, self.meters_mode} == {"C1", "C1a"}

    def wrap(self, telegram: bytes, rssi: float) -> bytes:
        """The bytes the dongle sends for a telegram it hears (``b""`` when it does not)."""
        if not self.listening:
            return b""
        if self.dongle == "im871a":
            return im871a_frame(telegram, rssi=rssi, crc=True)
        if not self.cmd_out:  # unframed: the telegram and, if enabled, its RSSI byte
            return telegram + (bytes((rssi_raw(rssi),)) if self.rssi else b"")
        return amb8465_frame(telegram, rssi=rssi if self.rssi else None)

    def receive(self, data: bytes) -> bytes:
        """Take the host's bytes; return the dongle's answers."""
        if self.dongle == "im871a":
            return self._im871a(data)
        return self._amb8465(data)

    def _im871a(self, data: bytes) -> bytes:
        out = bytearray()
        for request in self._parser.feed(data).replies:  # endpoint 1: device management
            out += self._im871a_request(request.message, request.payload)
        return bytes(out)

    def _im871a_request(self, message: int, payload: bytes) -> bytes:
        if message == IM871A_PING_REQ:
            self.commands.append("ping")
            return im871a_command(IM871A_DEVMGMT, IM871A_PING_REQ + 1)
        if message == IM871A_SET_CONFIG_REQ and len(payload) >= 4 and payload[1] & 0x02:
            codes = {v: k for k, v in IM871A_LINK_MODES.items() if k != "C1"}
            self.mode = codes.get(payload[3], "unknown")
            self.commands.append(f"set-config {self.mode}")
            return im871a_command(IM871A_DEVMGMT, IM871A_SET_CONFIG_REQ + 1, b"\x00")
        self.commands.append(f"unknown 0x{message:02X}")
        return im871a_command(IM871A_DEVMGMT, message + 1, b"\x01")

    def _amb8465(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while self._buffer:
            start = self._buffer.find(0xFF)
            if start < 0:
                self._buffer.clear()
                break
            del self._buffer[:start]
            if len(self._buffer) < 3 or len(self._buffer) < 4 + self._buffer[2]:
                break
            frame = bytes(self._buffer[: 4 + self._buffer[2]])
            cs = 0
            for byte in frame[:-1]:
                cs ^= byte
            if cs != frame[-1]:
                del self._buffer[:1]
                continue
            del self._buffer[: len(frame)]
            out += self._amb8465_request(frame[1], frame[3:-1])
        return bytes(out)

    def _amb8465_request(self, command: int, payload: bytes) -> bytes:
        confirm = command | AMB_CONFIRM
        if command == AMB_SET_MODE_REQ and payload:
            codes = {v: k for k, v in AMB8465_LINK_MODES.items()}
            self.mode = codes.get(payload[0], "unknown")
            self.commands.append(f"set-mode {self.mode}")
            return amb8465_command(confirm, b"\x00")
        params = {AMB_PARAM_CMD_OUT: "cmd_out", AMB_PARAM_RSSI: "rssi"}
        if command == AMB_GET_REQ and len(payload) >= 2 and payload[0] in params:
            self.commands.append(f"get 0x{payload[0]:02X}")
            value = int(getattr(self, params[payload[0]]))
            return amb8465_command(confirm, bytes((payload[0], 1, value)))
        if command == AMB_SET_REQ and len(payload) >= 3 and payload[0] in params:
            self.commands.append(f"set 0x{payload[0]:02X}={payload[2]}")
            setattr(self, params[payload[0]], bool(payload[2]))
            return amb8465_command(confirm, b"\x00")
        if command == AMB_RESET_REQ:
            self.commands.append("reset")
            self.mode = "S1"  # volatile settings are gone
            return amb8465_command(confirm, b"\x00")
        self.commands.append(f"unknown 0x{command:02X}")
        return amb8465_command(confirm, b"\x01")


class DongleServer:
    """Serve a :class:`SimulatedDongle` on a pseudo-terminal and TCP, both ways.

    Use as ``async with DongleServer(device, telegrams_at) as server:``, then open
    ``server.open_pty()`` or connect to ``server.port``. ``telegrams_at(t)`` returns the meters'
    telegrams at unix time ``t`` with their signal strengths.
    """

    def __init__(
        self,
        device: SimulatedDongle,
        telegrams_at: Callable[[float], list[tuple[bytes, float]]],
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure; nothing starts before ``__aenter__``."""
        self.device = device
        self._telegrams_at = telegrams_at
        self._interval = interval
        self._clock = clock
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._ptys: list[tuple[int, int]] = []
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
        """Open a pseudo-terminal for the host; return its device path."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._ptys.append((master, slave))
        asyncio.get_running_loop().add_reader(master, self._from_pty, master)
        return os.ttyname(slave)

    def _from_pty(self, master: int) -> None:
        try:
            data = os.read(master, 4096)
        except (BlockingIOError, OSError):
            return
        answer = self.device.receive(data)
        if answer:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(master, answer)

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._clients.add(writer)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                answer = self.device.receive(data)
                if answer:
                    writer.write(answer)
        self._clients.discard(writer)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    def _send(self, data: bytes) -> None:
        if not data:
            return
        for writer in list(self._clients):
            if writer.is_closing():
                self._clients.discard(writer)
                continue
            writer.write(data)
        for master, _ in self._ptys:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(master, data)  # nobody reading: dropped, as on a serial line
        self.frames_sent += 1

    async def _run(self) -> None:
        while True:
            out = b"".join(self.device.wrap(t, r) for t, r in self._telegrams_at(self._clock()))
            self._send(out)
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> DongleServer:
        """Listen on TCP and start sending."""
        self._server = await asyncio.start_server(self._serve_client, self._host, self._port)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop sending, close every client and pty."""
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
        loop = asyncio.get_running_loop()
        for master, slave in self._ptys:
            loop.remove_reader(master)
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._ptys.clear()
