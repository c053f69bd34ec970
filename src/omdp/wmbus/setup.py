"""Put a wM-Bus dongle into the link mode of the meters, so that a user names only the mode.

Sent on every connection (the settings are volatile where the dongle allows it), before
telegrams are read:

- **iM871A**: DeviceMgmt ``SetConfig`` (RAM only): the link mode, power saving off, RSSI
  attached to every telegram; answered by ``SetConfig`` response (message 0x04), whose status
  byte, where there is one, must be 0.
- **AMB8465**: ``CMD_SET_MODE_REQ`` (volatile) with the receiving mode; then the module's
  parameters are read: ``UART_CMD_Out_Enable`` (0x05) must be 1 for telegrams to come framed
  (``FF 03 ...``): when it is 0 it is set (non-volatile, the one write) and the module reset;
  ``RSSI_Enable`` (0x45) tells whether each telegram ends with an RSSI byte, and the decoder
  is told.
- **rtl-wmbus**: nothing (its mode is on its own command line).

Telegrams that arrive while the dongle answers are kept and handed on. A dongle that does not
answer within the timeout, or refuses, raises :class:`~omdp.adapter.sources.base.SourceIOError`
(the receiver reconnects with back-off and tries again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from omdp.errors import ConfigError, SourceIOError
from omdp.wmbus.dongles import (
    AMB8465_LINK_MODES,
    AMB_CONFIRM,
    AMB_GET_REQ,
    AMB_PARAM_CMD_OUT,
    AMB_PARAM_RSSI,
    AMB_RESET_REQ,
    AMB_SET_MODE_REQ,
    AMB_SET_REQ,
    IM871A_SET_CONFIG_REQ,
    LINK_MODES,
    Amb8465Decoder,
    DongleDecoder,
    RadioFrame,
    Reply,
    amb8465_command,
    im871a_set_config,
)

log = logging.getLogger(__name__)

REPLY_TIMEOUT: Final = 2.0
RESET_PAUSE: Final = 0.5  # the AMB8465 restarts after a reset


@runtime_checkable
class WritableStream(Protocol):
    """A byte stream the host can also write to (a serial line, a TCP bridge)."""

    where: str

    async def read(self, timeout: float) -> bytes:
        """Bytes that arrive within ``timeout`` seconds; ``b""`` when none did."""
        ...

    async def write(self, data: bytes) -> None:
        """Send bytes to the dongle."""
        ...


def check_link_mode(dongle: str, link_mode: str | None) -> None:
    """Refuse a link mode the dongle does not have.

    Raises:
        ConfigError: unknown mode, or a mode for rtl-wmbus (set on its own command line).
    """
    if link_mode is None:
        return
    modes = LINK_MODES[dongle]
    if not modes:
        msg = f"linkMode: {dongle} takes its link mode on its own command line, not here"
        raise ConfigError(msg)
    if link_mode not in modes:
        msg = f"linkMode {link_mode!r}: the {dongle} has {', '.join(modes)}"
        raise ConfigError(msg)


class _Exchange:
    """Requests and their replies on a stream the dongle also sends telegrams on."""

    def __init__(
        self,
        stream: WritableStream,
        decoder: DongleDecoder,
        on_frame: Callable[[RadioFrame], None],
        timeout: float,
    ) -> None:
        self.stream = stream
        self.decoder = decoder
        self.on_frame = on_frame
        self.timeout = timeout
        self.pending: list[Reply] = []

    async def ask(self, request: bytes, answer: int, what: str) -> Reply:
        """Send ``request``; return the first reply whose message id is ``answer``."""
        await self.stream.write(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            for reply in self.pending:
                if reply.message == answer:
                    self.pending.remove(reply)
                    return reply
            left = deadline - loop.time()
            if left <= 0:
                msg = f"{self.stream.where}: the dongle did not answer {what} in {self.timeout:g} s"
                raise SourceIOError(msg)
            received = self.decoder.feed(await self.stream.read(min(left, 0.5)))
            self.pending += received.replies
            for frame in received.frames:
                self.on_frame(frame)


async def configure(
    stream: object,
    dongle: str,
    link_mode: str,
    decoder: DongleDecoder,
    *,
    on_frame: Callable[[RadioFrame], None],
    timeout: float = REPLY_TIMEOUT,
) -> None:
    """Set the dongle's link mode (see the module's text).

    Args:
        stream: the open link to the dongle; it must be writable.
        dongle: ``im871a`` or ``amb8465`` (``rtlwmbus``: nothing to do).
        link_mode: a key of :data:`~omdp.wmbus.dongles.LINK_MODES` for the dongle.
        decoder: the decoder the receiver reads with (the AMB8465's learns about RSSI).
        on_frame: where telegrams that arrive meanwhile go.
        timeout: seconds to wait for each answer.

    Raises:
        SourceIOError: no answer, a refusal, or a stream that cannot be written.
        ConfigError: a link mode the dongle does not have.
    """
    check_link_mode(dongle, link_mode)
    if dongle == "rtlwmbus":
        return
    if not isinstance(stream, WritableStream):
        msg = f"{getattr(stream, 'where', stream)}: cannot send the link mode to the dongle"
        raise SourceIOError(msg)
    talk = _Exchange(stream, decoder, on_frame, timeout)
    if dongle == "im871a":
        reply = await talk.ask(im871a_set_config(link_mode), IM871A_SET_CONFIG_REQ + 1, "SetConfig")
        if reply.payload[:1] not in (b"", b"\x00"):
            status = reply.payload[0]
            msg = f"{stream.where}: the iM871A refused link mode {link_mode} (status {status})"
            raise SourceIOError(msg)
    else:
        await _amb8465(talk, link_mode, decoder)
    log.info("wM-Bus dongle %s on %s set to link mode %s", dongle, stream.where, link_mode)


async def _amb8465(talk: _Exchange, link_mode: str, decoder: DongleDecoder) -> None:
    where = talk.stream.where
    mode = AMB8465_LINK_MODES[link_mode]
    set_mode = amb8465_command(AMB_SET_MODE_REQ, bytes((mode,)))
    reply = await talk.ask(set_mode, AMB_SET_MODE_REQ | AMB_CONFIRM, "SET_MODE")
    if reply.payload[:1] != b"\x00":
        msg = f"{where}: the AMB8465 refused link mode {link_mode}"
        raise SourceIOError(msg)
    if await _amb_get(talk, AMB_PARAM_CMD_OUT) != 1:
        log.warning("%s: enabling the AMB8465's command output (non-volatile) and resetting", where)
        set_req = amb8465_command(AMB_SET_REQ, bytes((AMB_PARAM_CMD_OUT, 1, 1)))
        answer = await talk.ask(set_req, AMB_SET_REQ | AMB_CONFIRM, "SET UART_CMD_Out_Enable")
        if answer.payload[:1] != b"\x00":
            msg = f"{where}: the AMB8465 refused to enable its command output"
            raise SourceIOError(msg)
        await talk.ask(amb8465_command(AMB_RESET_REQ), AMB_RESET_REQ | AMB_CONFIRM, "RESET")
        await asyncio.sleep(RESET_PAUSE)
        # the mode again: a reset forgets volatile settings
        await talk.ask(set_mode, AMB_SET_MODE_REQ | AMB_CONFIRM, "SET_MODE")
    if isinstance(decoder, Amb8465Decoder):
        decoder.rssi = await _amb_get(talk, AMB_PARAM_RSSI) == 1


async def _amb_get(talk: _Exchange, parameter: int) -> int:
    """Read one byte of the AMB8465's non-volatile parameters."""
    request = amb8465_command(AMB_GET_REQ, bytes((parameter, 1)))
    reply = await talk.ask(request, AMB_GET_REQ | AMB_CONFIRM, f"GET 0x{parameter:02X}")
    if len(reply.payload) < 3 or reply.payload[0] != parameter:
        got = reply.payload.hex()
        msg = f"{talk.stream.where}: the AMB8465 answered GET 0x{parameter:02X} with {got}"
        raise SourceIOError(msg)
    return reply.payload[2]
