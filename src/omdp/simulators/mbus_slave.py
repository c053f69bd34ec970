"""A small wired M-Bus slave simulator: a set of meters behind one bus.

It answers SND_NKE with E5, REQ_UD2 with RSP_UD built by the codec's encoder (honouring FCB:
a repeated FCB gets the same telegram again, a toggled one the next telegram), secondary
selection (SND_UD with CI 0x52 and wildcards, as used by the scan) and SND_UD data (E5).
Several slaves answering at once produce a garbled byte, as a collision on a real bus does.

Serve it over TCP (:meth:`MBusSlaveSimulator.serve_tcp`) or a pseudo-terminal
(:class:`PtySlave`), whose ``path`` a master opens with pyserial.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from omdp.decoders.mbus import DataRecord, FrameSplitter, MBusDecodeError, link, parse_link
from omdp.decoders.mbus.application import CI_DATA_SEND, CI_SELECT, CI_VARIABLE
from omdp.decoders.mbus.encode import encode, make_frame, make_manufacturer_record
from omdp.decoders.mbus.header import Header, manufacturer_code

Telegrams = Sequence[Sequence[DataRecord]]
COLLISION_NOISE = b"\xc5"


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One simulated meter.

    ``telegrams`` is a list of telegrams (each a list of records) or a callable returning one,
    called for every readout; all telegrams but the last get a DIF 0x1F record appended.
    """

    address: int
    secondary_id: str
    manufacturer: str
    version: int
    medium: int
    telegrams: Telegrams | Callable[[], Telegrams]


@dataclass(slots=True)
class _MeterState:
    spec: MeterSpec
    selected: bool = False
    last_fcb: bool | None = None
    index: int = 0
    last_reply: bytes = b""
    access: int = 0
    frames: list[bytes] = field(default_factory=list)


class MBusSlaveSimulator:
    """The bus: routes each master request to the matching meters and builds their answer."""

    def __init__(self, meters: Sequence[MeterSpec]) -> None:
        self.meters = [_MeterState(m) for m in meters]
        self.requests = 0

    def handle(self, request: bytes) -> bytes:
        """Return the bus's answer to one master frame (``b""`` for silence)."""
        self.requests += 1
        try:
            frame = parse_link(request)
        except MBusDecodeError:
            return b""
        if frame.kind == link.KIND_SHORT:
            return self._short(frame.control, frame.address)
        if frame.control & 0xCF == link.C_SND_UD & 0xCF:
            return self._snd_ud(frame)
        return b""

    def _targets(self, address: int) -> list[_MeterState]:
        if address == link.ADDRESS_NETWORK_LAYER:
            return [m for m in self.meters if m.selected]
        if address in (link.ADDRESS_BROADCAST, link.ADDRESS_BROADCAST_REPLY):
            return list(self.meters)
        return [m for m in self.meters if m.spec.address == address]

    def _short(self, control: int, address: int) -> bytes:
        targets = self._targets(address)
        if control == link.C_SND_NKE:
            for m in targets:
                m.last_fcb, m.index = None, 0
                if address == link.ADDRESS_NETWORK_LAYER:
                    m.selected = False
            if address == link.ADDRESS_BROADCAST or not targets:
                return b""
            return b"\xe5" if len(targets) == 1 else COLLISION_NOISE
        if control & 0xCF != link.C_REQ_UD2 & 0xCF:
            return b""
        if len(targets) != 1:
            return COLLISION_NOISE if targets else b""
        return self._rsp_ud(targets[0], control)

    def _rsp_ud(self, m: _MeterState, control: int) -> bytes:
        fcb = bool(control & link.FCB)
        if control & link.FCV and m.last_fcb is not None and fcb == m.last_fcb and m.last_reply:
            return m.last_reply  # the master did not get our answer: repeat it
        if m.last_fcb is None or not m.frames:
            m.frames = self._telegrams(m)
            m.index = 0
        else:
            m.index = (m.index + 1) % len(m.frames)
            if m.index == 0:
                m.frames = self._telegrams(m)
        m.last_fcb = fcb
        m.last_reply = m.frames[m.index]
        return m.last_reply

    def _telegrams(self, m: _MeterState) -> list[bytes]:
        spec = m.spec
        source = spec.telegrams() if callable(spec.telegrams) else spec.telegrams
        out = []
        for k, records in enumerate(source):
            recs = tuple(records)
            if k < len(source) - 1:
                recs += (make_manufacturer_record(b"", more_records_follow=True),)
            m.access = (m.access + 1) & 0xFF
            header = Header(
                spec.secondary_id,
                manufacturer_code(spec.manufacturer),
                spec.version,
                spec.medium,
                m.access,
                0,
                0,
            )
            frame = make_frame(
                CI_VARIABLE, recs, header=header, control=link.C_RSP_UD, address=spec.address
            )
            out.append(encode(frame))
        return out

    def _snd_ud(self, frame: link.LinkFrame) -> bytes:
        if frame.ci == CI_SELECT and frame.address == link.ADDRESS_NETWORK_LAYER:
            if len(frame.user_data) < 8:
                return b""
            hits = 0
            for m in self.meters:
                m.selected = _matches(m.spec, frame.user_data[:8])
                if m.selected:
                    m.last_fcb = None
                    hits += 1
            if hits == 0:
                return b""
            return b"\xe5" if hits == 1 else COLLISION_NOISE
        targets = self._targets(frame.address)
        if frame.ci == CI_DATA_SEND and len(targets) == 1:
            return b"\xe5"
        return b""

    @contextlib.asynccontextmanager
    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[int]:
        """Serve the bus over TCP (like an M-Bus gateway); yield the bound port."""
        server = await asyncio.start_server(self._tcp_client, host, port)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            await server.wait_closed()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter(acks=False)
        try:
            while data := await reader.read(512):
                for request in splitter.feed(data):
                    answer = self.handle(request)
                    if answer:
                        writer.write(answer)
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def _matches(spec: MeterSpec, sel: bytes) -> bool:
    mask = sel[3::-1].hex().upper()
    ident = spec.secondary_id.rjust(8, "0")
    if any(m not in ("F", d) for m, d in zip(mask, ident, strict=True)):
        return False
    man = int.from_bytes(sel[4:6], "little")
    if man != 0xFFFF and man != manufacturer_code(spec.manufacturer):
        return False
    if sel[6] not in (0xFF, spec.version):
        return False
    return sel[7] in (0xFF, spec.medium)


class PtySlave:
    """Serve a simulator on a pseudo-terminal; open :attr:`path` with pyserial as the master.

    Use as ``async with PtySlave(sim) as pty: ...``; reading runs on the event loop.
    """

    def __init__(self, simulator: MBusSlaveSimulator) -> None:
        self.simulator = simulator
        self._master_fd = -1
        self._slave_fd = -1
        self.path = ""
        self._splitter = FrameSplitter(acks=False)

    async def __aenter__(self) -> PtySlave:
        self._master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._master_fd)
        tty.setraw(self._slave_fd)
        self.path = os.ttyname(self._slave_fd)
        os.set_blocking(self._master_fd, False)
        asyncio.get_running_loop().add_reader(self._master_fd, self._on_readable)
        return self

    async def __aexit__(self, *exc: object) -> None:
        asyncio.get_running_loop().remove_reader(self._master_fd)
        os.close(self._master_fd)
        os.close(self._slave_fd)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master_fd, 512)
        except (BlockingIOError, OSError):
            return
        for request in self._splitter.feed(data):
            answer = self.simulator.handle(request)
            if answer:
                os.write(self._master_fd, answer)
