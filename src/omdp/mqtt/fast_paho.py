"""paho's client with a buffered socket read and acknowledgements sent in bulk.

paho-mqtt 2.2 reads every packet's fixed header a byte per ``recv`` and, when nothing of its
own is in flight (a subscriber), returns to ``select`` after each packet: three to four system
calls and a ``select`` per received message. Each manual acknowledgement is one queued packet,
one byte written to paho's wake-up socket and, later, one ``send``. On the ingest's hot path
(3 KB readings, QoS 1) that made paho's thread and our acknowledgements a large share of the
cost of a message (docs/benchmarks.md, "MQTT client").

:class:`FastPaho` keeps paho, and every guarantee of its protocol handling, and changes two
things through the methods paho itself uses for them:

- ``_sock_recv`` reads up to 64 KiB at a time into a buffer and serves paho's small reads from
  it; ``loop_read`` goes on reading packets while the buffer holds bytes (``select`` cannot
  know about them). The buffer belongs to one socket: a reconnection starts empty.
- :meth:`FastPaho.puback_many` queues the PUBACKs of many messages as one write.
- ``_handle_on_message`` calls ``on_message`` straight away: paho first matched every topic
  against its per-topic callbacks (``message_callback_add``, which FastPaho refuses), a
  measurable share of the edge's time under the GIL.
- ``_handle_publish`` takes an MQTT 5 PUBLISH of QoS 0, or of QoS 1 acknowledged by hand, that
  carries no properties (a property length of zero: what publishers here send) without
  building paho's ``Properties`` object for it, a large share of a message's time under the
  GIL (docs/benchmarks.md, "MQTT client"); any other PUBLISH (QoS 2, automatic
  acknowledgement, properties such as a topic alias, a packet too short to be one) goes to
  paho as before. ``message.properties`` is then None.

They depend on paho internals (``_sock``, ``_sock_recv``, ``_packet_queue``,
``_handle_publish`` and its ``_in_packet``), checked by
:func:`internals_present` and by the unit tests, so that a paho upgrade that moves them fails
loudly in CI instead of silently; pyproject pins paho below 2.3.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 65_536
PUBACK = 0x40
_PUBACK = struct.Struct("!BBH")


def internals_present() -> bool:
    """Whether this paho still has the internals :class:`FastPaho` builds on."""
    return all(
        callable(getattr(paho.Client, name, None))
        for name in (
            "_sock_recv",
            "_packet_queue",
            "loop_read",
            "_packet_read",
            "_handle_on_message",
            "_handle_publish",
        )
    )


class FastPaho(paho.Client):
    """A paho client that reads in 64 KiB chunks and acknowledges in bulk."""

    _rsock: object | None = None
    _rbuf: bytes = b""
    _rpos: int = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        sock = self._sock
        if sock is not self._rsock:  # a new connection: nothing of the old one is served
            self._rsock, self._rbuf, self._rpos = sock, b"", 0
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(READ_CHUNK)  # BlockingIOError when nothing is there
            if not data:
                return data  # the broker closed the connection
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        end = min(start + bufsize, len(self._rbuf))
        self._rpos = end
        return self._rbuf[start:end]

    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed to paho."""
        if self._sock is None or self._sock is not self._rsock:
            return 0
        return len(self._rbuf) - self._rpos

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read packets until the socket and our buffer are both drained (or an error)."""
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self.buffered():
            rc = super().loop_read(max_packets)
        return rc

    def message_callback_add(self, sub: str, callback: Any) -> None:
        """Not supported: :meth:`_handle_on_message` calls ``on_message`` for every message."""
        msg = "FastPaho delivers every message to on_message; per-topic callbacks are not used"
        raise TypeError(msg)

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        on_message = self.on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def _handle_publish(self) -> MQTTErrorCode:
        command = self._in_packet["command"]
        packet = self._in_packet["packet"]
        qos = (command & 0x06) >> 1
        if self._protocol != paho.MQTTv5 or qos > 1 or (qos and not self._manual_ack):
            return super()._handle_publish()
        at = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else len(packet)
        mid = 0
        if qos:
            mid = (packet[at] << 8) | packet[at + 1] if len(packet) >= at + 2 else 0
            at += 2
        if len(packet) <= at or packet[at] != 0 or (qos and not mid):
            return super()._handle_publish()  # properties, a bad mid or a short packet
        message = paho.MQTTMessage(mid, bytes(packet[2 : at - 2 if qos else at]))
        message.dup = bool(command & 0x08)
        message.qos = qos
        message.retain = bool(command & 0x01)
        message.payload = packet[at + 1 :]
        message.timestamp = paho.time_func()
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def puback_many(self, mids: Iterable[int]) -> None:
        """Queue the PUBACKs of these QoS 1 messages as one write (manual acknowledgement).

        The same bytes as paho's own PUBACK (MQTT 3.1.1 and 5: reason code omitted = success).
        """
        blob = b"".join(_PUBACK.pack(PUBACK, 2, mid) for mid in mids)
        if blob:
            self._packet_queue(PUBACK, blob, 0, 1)
