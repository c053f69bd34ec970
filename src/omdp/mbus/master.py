"""The M-Bus master (EN 13757-2/-3): SND_NKE, REQ_UD2 with FCB, multi-telegram readout,
primary and secondary addressing, and the secondary-address scan.

Every exchange waits at most ``timeout`` seconds for an answer and repeats a request that got
no valid answer up to ``retries`` times, with the same FCB, as the standard asks. Garbled
answers are logged and counted as a failed try; after the last try the master raises
:class:`MBusTimeoutError` (no valid answer) carrying the address.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Final

from omdp.decoders.mbus import Frame, FrameSplitter, MBusDecodeError, decode, link
from omdp.decoders.mbus.application import CI_SELECT
from omdp.decoders.mbus.header import manufacturer_code
from omdp.mbus.transport import MBusTimeoutError, Transport

log = logging.getLogger(__name__)

WILDCARD_ID: Final = "FFFFFFFF"
NO_ANSWER: Final = "none"
SINGLE: Final = "single"
COLLISION: Final = "collision"


@dataclass(frozen=True, slots=True)
class SecondaryAddress:
    """A meter found by the secondary scan: id digits, manufacturer, version, medium."""

    id: str
    manufacturer: str | None
    version: int | None
    medium: int | None


def selection_frame(
    secondary: str,
    *,
    manufacturer: str | None = None,
    version: int | None = None,
    medium: int | None = None,
) -> bytes:
    """Build the SND_UD/CI 0x52 frame that selects a slave by secondary address.

    ``secondary`` has 8 hex digits; ``F`` is a wildcard digit. ``None`` fields are wildcards.

    Raises:
        ValueError: the id is not 8 digits or wildcards.
    """
    ident = secondary.upper().rjust(8, "0")
    if len(ident) != 8 or any(c not in "0123456789F" for c in ident):
        msg = f"secondary address must be 8 digits (F = wildcard), got {secondary!r}"
        raise ValueError(msg)
    man = 0xFFFF if manufacturer is None else manufacturer_code(manufacturer)
    body = (
        bytes.fromhex(ident)[::-1]
        + man.to_bytes(2, "little")
        + bytes((0xFF if version is None else version, 0xFF if medium is None else medium))
    )
    return link.encode_link(
        link.LinkFrame(link.KIND_LONG, link.C_SND_UD, link.ADDRESS_NETWORK_LAYER, CI_SELECT, body)
    )


class MBusMaster:
    """An asyncio M-Bus master over a :class:`Transport`; use it in ``async with``."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 1.0,
        retries: int = 3,
        max_telegrams: int = 32,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        self.max_telegrams = max_telegrams
        self._fcb: dict[int, bool] = {}
        self.garbled = 0  # answers dropped because they were not a valid frame

    async def __aenter__(self) -> MBusMaster:
        await self.transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.transport.close()

    async def _receive(self) -> tuple[bytes | None, bool]:
        """Wait for one frame; return it (or None) and whether noise was seen."""
        splitter = FrameSplitter()
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            data = await self.transport.read(left)
            if not data:
                break
            frames = splitter.feed(data)
            if frames:
                return frames[0], splitter.skipped > 0 or len(frames) > 1
        return None, splitter.skipped > 0 or splitter.pending > 0

    async def _exchange(self, request: bytes, address: int, *, want_ack: bool) -> bytes:
        """Send ``request`` until a valid answer comes; return the answer frame."""
        for attempt in range(self.retries + 1):
            await self.transport.discard_input()
            log.debug("tx %s", request.hex(" "))
            await self.transport.write(request)
            answer, noisy = await self._receive()
            if answer is not None and not noisy and (answer == b"\xe5") == want_ack:
                log.debug("rx %s", answer.hex(" "))
                return answer
            if answer is not None or noisy:
                self.garbled += 1
                log.warning("garbled answer from address %d (try %d)", address, attempt + 1)
        kind = "acknowledge" if want_ack else "RSP_UD"
        msg = f"no valid {kind} after {self.retries + 1} tries of {self.timeout:g} s"
        raise MBusTimeoutError(msg, address=address)

    async def send_nke(self, address: int) -> None:
        """Reset the slave's link layer (SND_NKE) and expect E5; the next FCB is 1."""
        await self._exchange(_short(link.C_SND_NKE, address), address, want_ack=True)
        self._fcb[address] = True

    async def request_data(self, address: int) -> Frame:
        """Send REQ_UD2 (with FCB and FCV) and return the decoded RSP_UD.

        Raises:
            MBusTimeoutError: no valid answer after all retries.
            MBusDecodeError: the answer was a valid frame but not a readable RSP_UD.
        """
        fcb = self._fcb.get(address, True)
        control = link.C_REQ_UD2 | (link.FCB if fcb else 0)
        answer = await self._exchange(_short(control, address), address, want_ack=False)
        self._fcb[address] = not fcb
        return decode(answer)

    async def read(self, address: int, *, reset: bool = True) -> list[Frame]:
        """Read all telegrams of a slave (follows DIF 0x1F "more records follow").

        Args:
            address: primary address, or 0xFD for the slave selected by secondary address.
            reset: send SND_NKE first (not for 0xFD, where it would deselect the slave).
        """
        if reset and address != link.ADDRESS_NETWORK_LAYER:
            await self.send_nke(address)
        frames = [await self.request_data(address)]
        while frames[-1].more_records_follow and len(frames) < self.max_telegrams:
            frames.append(await self.request_data(address))
        return frames

    async def select(
        self,
        secondary: str,
        *,
        manufacturer: str | None = None,
        version: int | None = None,
        medium: int | None = None,
        retries: int | None = None,
    ) -> str:
        """Select slaves by secondary address; return ``"single"``, ``"collision"`` or ``"none"``.

        A single E5 means exactly one slave matched; noise means several answered at once.
        """
        request = selection_frame(
            secondary, manufacturer=manufacturer, version=version, medium=medium
        )
        tries = (self.retries if retries is None else retries) + 1
        for _ in range(tries):
            await self.transport.discard_input()
            await self.transport.write(request)
            answer, noisy = await self._receive()
            if answer == b"\xe5" and not noisy:
                return SINGLE
            if answer is not None or noisy:
                return COLLISION
        return NO_ANSWER

    async def read_secondary(self, secondary: str, **fields: object) -> list[Frame]:
        """Select one slave by secondary address and read all its telegrams.

        Raises:
            MBusTimeoutError: no slave, or several, matched the address.
        """
        result = await self.select(secondary, **fields)  # type: ignore[arg-type]
        if result != SINGLE:
            msg = f"secondary address {secondary}: {result} answered the selection"
            raise MBusTimeoutError(msg, address=link.ADDRESS_NETWORK_LAYER)
        self._fcb[link.ADDRESS_NETWORK_LAYER] = True
        return await self.read(link.ADDRESS_NETWORK_LAYER, reset=False)

    async def scan_secondary(self, mask: str = WILDCARD_ID) -> list[SecondaryAddress]:
        """Find every slave by narrowing wildcard digits (a depth-first secondary scan)."""
        found: list[SecondaryAddress] = []
        await self._scan(mask.upper(), found)
        return found

    async def _scan(self, mask: str, found: list[SecondaryAddress]) -> None:
        pos = mask.find("F")
        if pos < 0:
            await self._identify(mask, found)
            return
        for digit in "0123456789":
            candidate = mask[:pos] + digit + mask[pos + 1 :]
            result = await self.select(candidate, retries=0)
            if result == SINGLE:
                await self._identify(candidate, found)
            elif result == COLLISION:
                await self._scan(candidate, found)

    async def _identify(self, mask: str, found: list[SecondaryAddress]) -> None:
        if await self.select(mask, retries=0) != SINGLE:
            return
        self._fcb[link.ADDRESS_NETWORK_LAYER] = True
        try:
            frame = await self.request_data(link.ADDRESS_NETWORK_LAYER)
        except (MBusTimeoutError, MBusDecodeError) as exc:
            log.warning("selected %s but could not read it: %s", mask, exc)
            return
        h = frame.header
        if h is not None and h.id is not None:
            found.append(SecondaryAddress(h.id, h.manufacturer, h.version, h.medium))

    async def scan_primary(self, addresses: range = range(251)) -> list[int]:
        """Return the primary addresses that acknowledge SND_NKE (one try each)."""
        present = []
        for address in addresses:
            await self.transport.write(_short(link.C_SND_NKE, address))
            answer, _ = await self._receive()
            if answer == b"\xe5":
                present.append(address)
        return present


def _short(control: int, address: int) -> bytes:
    return link.encode_link(link.LinkFrame(link.KIND_SHORT, control, address))
