"""An asyncio MQTT client over paho-mqtt 2, made for at-least-once chains.

Why paho and not aiomqtt: paho sends manual acknowledgements (``manual_ack``), which the edge
and the ingest need to acknowledge a message only once it is durable, and it is the fastest
Python client we measured (docs/benchmarks.md, "MQTT client"). Its network loop runs in its
own thread; every callback is handed to the asyncio loop with ``call_soon_threadsafe``.

Guarantees:
- :meth:`MqttClient.publish` returns when the broker has acknowledged the message (PUBACK for
  QoS 1); at most ``max_inflight`` publishes are outstanding, well below the 65,535 message ids
  at which paho 2.2 overwrites queued messages (a loss seen in tests).
- With ``clean_start=False`` and a fixed client id the broker keeps the session (MQTT 5 session
  expiry, or a persistent 3.1.1 session): QoS 1 messages that arrive while we are away are
  delivered when we come back, and our unacknowledged publishes are resent by paho.
- With ``manual_ack=True`` an incoming QoS 1 message is acknowledged only by :meth:`ack`.
- A PUBACK with an error reason code (MQTT 5, 0x80 and above) fails the publish; so does
  0x10 "No matching subscribers" with ``require_subscribers=True``: the broker dropped the
  message, so it was not delivered (a Mosquitto restart loses MQTT 5 shared subscriptions, and
  until the subscribers come back it answers 0x10 to every publish). MQTT 3.1.1 has no reason
  codes: there a broker drops such a message silently, which only an end-to-end receipt
  (:mod:`omdp.receipts`) detects.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from omdp.errors import BrokerError, ConfigError
from omdp.mqtt.fast_paho import FastPaho
from omdp.mqtt.settings import MqttSettings

log = logging.getLogger(__name__)

_ACK, _MESSAGE, _REFUSED = 0, 1, 2

NO_MATCHING_SUBSCRIBERS = 0x10
"""MQTT 5 PUBACK reason: the broker accepted the message and dropped it, nobody subscribes."""

SESSION_EXPIRY_S = 7 * 24 * 3600
SHORT_LIVED_S = 5.0
"""A connection that ends sooner after it was made counts as cut short (see ``_disconnected``)."""
CUT_SHORT_HINT = 3
"""After this many connections in a row cut short, the log says what usually causes it."""
"""How long the broker keeps a persistent session of ours while we are away."""


@dataclass(frozen=True, slots=True)
class Message:
    """A message received from the broker."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool = False
    properties: dict[str, Any] = field(default_factory=dict)


class MqttClient:
    """One connection to one broker; use it as ``async with MqttClient(...) as client``."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        clean_start: bool = False,
        manual_ack: bool = False,
        max_inflight: int = 1000,
        queue_size: int = 10_000,
        connect_timeout: float = 10.0,
        mqtt5: bool | None = None,
        receive_maximum: int | None = None,
        max_reconnect_delay: int = 4,
        require_subscribers: bool = False,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        if mqtt5 is None:
            mqtt5 = settings.protocol == "5"
        self._mqtt5 = mqtt5
        self._clean_start = clean_start
        self._max_inflight = max_inflight
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight = asyncio.Semaphore(max_inflight)
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._slotted: set[int] = set()  # pending publishes whose in-flight slot we release
        self._watched: set[int] = set()  # pending publishes whose future a PUBACK does not resolve
        self.messages: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self.connected = asyncio.Event()
        self._subscriptions: dict[str, int] = {}
        self._connect_result: asyncio.Future[None] | None = None
        self.reconnects = 0
        # paho's thread appends events here and wakes the loop at most once per burst:
        # one call_soon_threadsafe per message would cost more than the rest of the path.
        self._events: collections.deque[tuple[int, Any]] = collections.deque()
        self._wake_pending = False
        self._closing = False
        self._receive_maximum = receive_maximum
        self._require_subscribers = require_subscribers
        self.refused = 0
        """Publishes the broker answered with an error or "no matching subscribers"."""
        self._connected_at = 0.0
        self._cut_short = 0
        protocol = MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311
        self._client = FastPaho(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if mqtt5 else clean_start,
            protocol=protocol,
            manual_ack=manual_ack,
        )
        # Our semaphore bounds what is in flight (``inflight_slot``); paho's own bound would
        # add nothing but a scan of every outstanding message on each PUBACK (its
        # ``_update_inflight``): a third of the edge's forwarding time with 1,000 in flight.
        self._client.max_inflight_messages_set(0)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=max_reconnect_delay)
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, password)
        if settings.tls:
            _set_tls(self._client, settings)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    # -- paho callbacks, in paho's thread ------------------------------------------------------

    def _call(self, func: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(func, *args)

    def _on_connect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        self._call(self._connected, reason)

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        self._call(self._disconnected, reason)

    def _push(self, kind: int, item: Any) -> None:
        self._events.append((kind, item))
        if not self._wake_pending:
            self._wake_pending = True
            self._call(self._drain_events)

    def _on_publish(
        self, _c: paho.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties
    ) -> None:
        code = reason.value
        if code == 0 or (code == NO_MATCHING_SUBSCRIBERS and not self._require_subscribers):
            self._push(_ACK, mid)
        else:
            self._push(_REFUSED, (mid, reason))

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        message = Message(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            mid=msg.mid,
            retain=bool(msg.retain),
        )
        self._push(_MESSAGE, message)

    # -- the same, on the asyncio loop ---------------------------------------------------------

    def _connected(self, reason: ReasonCode) -> None:
        result = self._connect_result
        if reason.is_failure:
            if result is not None and not result.done():
                msg = f"broker {self._where} refused the connection: {reason}"
                result.set_exception(BrokerError(msg))
            log.warning("broker %s refused the connection: %s", self._where, reason)
            return
        if self.connected.is_set() or (result is not None and result.done()):
            self.reconnects += 1
        self.connected.set()
        self._connected_at = time.monotonic()
        log.info("connected to %s as %s", self._where, self.client_id)
        for topic_filter, qos in self._subscriptions.items():
            self._client.subscribe(topic_filter, qos)
        if result is not None and not result.done():
            result.set_result(None)

    def _disconnected(self, reason: ReasonCode) -> None:
        if self._closing:
            log.debug("disconnected from %s", self._where)
        elif self.connected.is_set():
            log.warning("disconnected from %s: %s", self._where, reason)
            self._note_cut_short()
        self.connected.clear()

    def _note_cut_short(self) -> None:
        """Say what a run of connections cut short within seconds usually means.

        A broker that binds client ids to user names (``use_username_as_clientid``, as the
        files of ``omdp broker config`` do) lets a second client logged in with the same user
        take the first one's place; both then reconnect and take each other's place every
        second, for ever, and each only logs "Unspecified error" (CM-1, CL-14).
        """
        if time.monotonic() - self._connected_at >= SHORT_LIVED_S:
            self._cut_short = 0
            return
        self._cut_short += 1
        if self._cut_short % CUT_SHORT_HINT == 0:
            log.warning(
                "the connection to %s ended within %g s %d times in a row: is another client "
                "logged in as %r? A broker that binds client ids to user names gives each new "
                "login the place of the last one (every process needs its own user)",
                self._where,
                SHORT_LIVED_S,
                self._cut_short,
                self.settings.username or self.client_id,
            )

    def _drain_events(self) -> None:
        self._wake_pending = False  # first: an event appended from now on wakes us again
        events = self._events
        while events:
            kind, item = events.popleft()
            if kind == _ACK:
                self._published(item)
            elif kind == _MESSAGE:
                self._received(item)
            else:
                self._refused(*item)

    def _published(self, mid: int) -> None:
        # publish_nowait registers the future before the loop can run this callback
        future = self._pending.pop(mid, None)
        if mid in self._slotted:
            self._slotted.discard(mid)
            self._inflight.release()
        if mid in self._watched:
            self._watched.discard(mid)  # its future waits for something else (a receipt)
        elif future is not None and not future.done():
            future.set_result(None)

    def _refused(self, mid: int, reason: ReasonCode) -> None:
        """The broker answered the publish ``mid`` with an error or "no matching subscribers"."""
        self.refused += 1
        future = self._pending.pop(mid, None)
        self._watched.discard(mid)
        if mid in self._slotted:
            self._slotted.discard(mid)
            self._inflight.release()
        if self.refused <= 10 or self.refused % 1000 == 0:
            log.warning(
                "broker %s did not take a publish (%d so far): %s (0x%02x)",
                self._where,
                self.refused,
                reason,
                reason.value,
            )
        if future is not None and not future.done():
            msg = f"broker {self._where} did not take the message: {reason} (0x{reason.value:02x})"
            future.set_exception(BrokerError(msg))

    def _received(self, message: Message) -> None:
        try:
            self.messages.put_nowait(message)
        except asyncio.QueueFull:
            # Not acknowledged: with QoS 1 the broker redelivers it after a reconnect.
            log.error("incoming queue full; dropped mid %s unacknowledged", message.mid)

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # -- the API -------------------------------------------------------------------------------

    async def __aenter__(self) -> MqttClient:
        await self.connect()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self, *, wait: bool = True) -> None:
        """Connect (and keep reconnecting in the background); wait for the first CONNACK.

        Raises:
            BrokerError: the broker refused us or did not answer within ``connect_timeout``
                (only when ``wait`` is true; otherwise paho keeps trying).
        """
        self._loop = asyncio.get_running_loop()
        self._connect_result = self._loop.create_future()
        properties = None
        if self._mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0 if self._clean_start else SESSION_EXPIRY_S
            if self._receive_maximum is not None:
                properties.ReceiveMaximum = self._receive_maximum
        try:
            self._client.connect_async(
                self.settings.host,
                self.settings.port,
                keepalive=self.settings.keepalive,
                clean_start=self._clean_start if self._mqtt5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
                properties=properties,
            )
        except (OSError, ValueError) as exc:
            msg = f"cannot connect to broker {self._where}: {exc}"
            raise BrokerError(msg) from exc
        self._client.loop_start()
        if not wait:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._connect_result), self.connect_timeout)
        except TimeoutError:
            await self.close()
            msg = f"broker {self._where} did not answer within {self.connect_timeout} s"
            raise BrokerError(msg) from None
        except BrokerError:
            await self.close()
            raise

    async def close(self, *, flush_timeout: float = 2.0) -> None:
        """Flush what paho still has to send (PUBACKs included), disconnect, stop the thread.

        Publishes still waiting for the broker's acknowledgement fail with BrokerError.
        """
        self._closing = True
        deadline = time.monotonic() + flush_timeout
        while self.connected.is_set() and self._client.want_write():
            if time.monotonic() > deadline:
                log.warning("closing with packets not yet sent to %s", self._where)
                break
            await asyncio.sleep(0.01)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        # paho leaves its wake-up socket pair to __del__, whose order against the sockets' own
        # finalizers is arbitrary (paho issue #627): close them now that the thread is joined.
        self._client._reset_sockets()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrokerError("connection closed before the broker acked"))
        self._pending.clear()
        self._watched.clear()
        for _ in self._slotted:
            self._inflight.release()
        self._slotted.clear()
        self.connected.clear()

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now and again after every reconnect."""
        self._subscriptions[topic_filter] = qos
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos)

    def publish_nowait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        release_slot: bool = False,
        future: asyncio.Future[None] | None = None,
    ) -> asyncio.Future[None]:
        """Hand a message to paho now; the future resolves when the broker acks it.

        The caller must hold a slot of :meth:`inflight_slot` (``publish`` does that). With
        ``release_slot`` the client gives the slot back itself when the broker answers (or the
        client closes), which spares a callback per message.

        With ``future`` given, the client does not resolve it on the PUBACK: the caller does,
        on some later proof of delivery (a receipt); the client only fails it when the broker
        refuses the message or the client closes first.
        """
        assert self._loop is not None, "connect() first"  # noqa: S101 - programming error
        watched = future is not None
        if future is None:
            future = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            msg = f"publish to {topic} failed: {paho.error_string(info.rc)}"
            future.set_exception(BrokerError(msg))
        elif qos > 0:
            self._pending[info.mid] = future
            if release_slot:
                self._slotted.add(info.mid)
            if watched:
                self._watched.add(info.mid)
            return future
        elif not watched:
            future.set_result(None)
        if release_slot:
            self._inflight.release()
        return future

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and wait until the broker has acknowledged (QoS 1) the message."""
        async with self._inflight:
            await self.publish_nowait(topic, payload, qos=qos, retain=retain)

    @property
    def inflight_slot(self) -> asyncio.Semaphore:
        """The semaphore bounding outstanding publishes, for callers that pipeline."""
        return self._inflight

    def ack(self, message: Message) -> None:
        """Acknowledge a message received with ``manual_ack`` (QoS 1: send its PUBACK)."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def ack_many(self, messages: Iterable[Message]) -> None:
        """Acknowledge these messages (``manual_ack``), their PUBACKs in one write."""
        mids = []
        for message in messages:
            if message.qos == 1:
                mids.append(message.mid)
            elif message.qos > 1:
                self._client.ack(message.mid, message.qos)
        self._client.puback_many(mids)


def _set_tls(client: paho.Client, settings: MqttSettings) -> None:
    """Load the connection's CA and client certificate, or say which file could not be read.

    ``ssl`` reports an unreadable file as a bare "Permission denied" without its name; a
    service started as its own user (the systemd units) then died with a traceback that named
    nothing. CM-1 makes the TLS files the deployment's to get right, so the error names them.
    """
    where = f"the MQTT connection to {settings.host}:{settings.port}"
    files = {"ca_file": settings.ca_file, "cert_file": settings.cert_file}
    files["key_file"] = settings.key_file
    for key, path in files.items():
        if path is None:
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            msg = f"{key} of {where}: cannot read {path}: {exc.strerror or exc}"
            raise ConfigError(msg) from exc
    try:
        client.tls_set(
            ca_certs=str(settings.ca_file) if settings.ca_file else None,
            certfile=str(settings.cert_file) if settings.cert_file else None,
            keyfile=str(settings.key_file) if settings.key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    except (OSError, ssl.SSLError) as exc:
        named = ", ".join(f"{key} {path}" for key, path in files.items() if path is not None)
        msg = f"the TLS files of {where} ({named or 'system CAs'}) cannot be used: {exc}"
        raise ConfigError(msg) from exc
