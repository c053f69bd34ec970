"""Generic JSON over MQTT: devices that already publish a JSON document per reading.

The source subscribes to the configured topic on the configured broker and yields each document
as a sample (``values=()``, ``document=`` the parsed JSON) for the mapping's ``$.`` selectors.
An optional ``timePath`` names the device's own timestamp: RFC 3339 text (a time without an
offset is read in the configured zone) or unix seconds (milliseconds when larger than 1e11).
A payload that is not JSON, or a timestamp that cannot be read, is logged with the reason,
counted and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, tzinfo
from types import MappingProxyType
from typing import Any, Protocol

import orjson

from omdp.adapter.samples import MeterSample
from omdp.adapter.selectors import JsonPathSelector, parse_selector
from omdp.adapter.sources.base import Backoff, SourceStats, report
from omdp.errors import BrokerError, ConfigError, DecodeError
from omdp.mqtt.client import Message, MqttClient
from omdp.mqtt.settings import MqttSettings

log = logging.getLogger(__name__)

_MILLIS_ABOVE = 1e11  # unix seconds reach 1e11 in the year 5138; larger numbers are ms


class JsonClient(Protocol):
    """What the source needs of an MQTT client (:class:`~omdp.mqtt.client.MqttClient`)."""

    messages: asyncio.Queue[Message]
    reconnects: int

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now and after every reconnect."""
        ...


ClientFactory = Callable[[], AbstractAsyncContextManager[JsonClient]]


def time_selector(path: str | None) -> JsonPathSelector | None:
    """The ``timePath`` as a selector.

    Raises:
        ConfigError: not a JSON path (``$.time``).
    """
    if path is None:
        return None
    selector = parse_selector(path) if path.startswith("$") else None
    if not isinstance(selector, JsonPathSelector):
        msg = f"timePath {path!r} is not a JSON path such as $.time"
        raise ConfigError(msg)
    return selector


def parse_time(value: object, tz: tzinfo) -> datetime:
    """A device timestamp as an aware datetime.

    Args:
        value: RFC 3339 / ISO 8601 text, or unix seconds (or milliseconds).
        tz: the zone of a time written without an offset.

    Raises:
        DecodeError: the value is neither.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > _MILLIS_ABOVE else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            msg = f"timestamp {value!r} is out of range"
            raise DecodeError(msg) from exc
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            msg = f"timestamp {value!r} is not RFC 3339 (2024-01-01T12:00:00+01:00)"
            raise DecodeError(msg) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    msg = f"timestamp {value!r} is neither RFC 3339 text nor unix seconds"
    raise DecodeError(msg)


class JsonMqttSource:
    """JSON documents from a topic on a broker, one sample per message."""

    def __init__(
        self,
        name: str,
        *,
        settings: MqttSettings,
        topic: str,
        time_path: str | None = None,
        tz: tzinfo = UTC,
        interval: float = 60.0,
        silence_intervals: float = 3.0,
        qos: int = 1,
        connect_timeout: float = 10.0,
        client_factory: ClientFactory | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """Configure the source; nothing connects before :meth:`samples` is iterated.

        Args:
            name: the source's name in logs and metrics.
            settings: the broker the device publishes to.
            topic: topic or topic filter to subscribe to.
            time_path: JSON path of the device's timestamp (``$.time``), optional.
            tz: zone of device times written without an offset.
            interval: seconds between the device's messages.
            silence_intervals: intervals without a message that count as a timeout.
            qos: subscription QoS.
            connect_timeout: seconds to wait for the broker's CONNACK.
            client_factory: makes the MQTT client (a fake in tests); default MqttClient.
            backoff: reconnect delays after a refused or failed connection.

        Raises:
            ConfigError: ``time_path`` is not a JSON path.
        """
        self.name = name
        self.stats = SourceStats()
        self.topic = topic
        self._time = time_selector(time_path)
        self._tz = tz
        self._silence = interval * silence_intervals
        self._qos = qos
        self._backoff = backoff or Backoff()
        self._client_factory = client_factory or (
            lambda: MqttClient(
                settings,
                client_id=f"omdp-source-{uuid.uuid4().hex[:12]}",
                clean_start=True,
                connect_timeout=connect_timeout,
            )
        )
        self._where = f"{settings.host}:{settings.port}"

    async def samples(self) -> AsyncIterator[MeterSample]:
        """Yield a sample per valid JSON message, for ever; reconnect when the broker fails."""
        connections = 0
        while True:
            try:
                async with self._client_factory() as client:
                    await client.subscribe(self.topic, self._qos)
                    log.info("meter source %s: subscribed to %s", self.name, self.topic)
                    self._backoff.reset()
                    earlier = self.stats.reconnects + (1 if connections else 0)
                    connections += 1
                    while True:
                        # paho reconnects by itself within one client; count those too
                        self.stats.reconnects = earlier + client.reconnects
                        sample = await self._next(client)
                        if sample is not None:
                            yield sample
            except BrokerError as exc:
                report(self.name, self.stats, "broker unavailable", exc)
            await self._backoff.wait()

    async def _next(self, client: JsonClient) -> MeterSample | None:
        try:
            message = await asyncio.wait_for(client.messages.get(), self._silence)
        except TimeoutError:
            self.stats.timeouts += 1
            reason = f"no message on {self.topic} at {self._where} for {self._silence:g} s"
            report(self.name, self.stats, "timeout", reason)
            return None
        self.stats.reads += 1
        try:
            sample = self.parse(message.topic, message.payload)
        except DecodeError as exc:
            self.stats.decode_errors += 1
            report(self.name, self.stats, "message dropped", exc)
            return None
        self.stats.ok += 1
        return sample

    def parse(self, topic: str, payload: bytes) -> MeterSample:
        """One message as a sample.

        Args:
            topic: the message's topic (kept in ``extra["topic"]``).
            payload: the JSON bytes.

        Raises:
            DecodeError: not JSON, not an object or array, or an unreadable timestamp.
        """
        try:
            document: Any = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            msg = f"malformed JSON on {topic} ({len(payload)} bytes): {exc}"
            raise DecodeError(msg) from None
        if not isinstance(document, dict | list):
            msg = f"JSON on {topic} is a {type(document).__name__}, not an object or array"
            raise DecodeError(msg)
        meter_time = None
        if self._time is not None:
            found = self._time.pick(MeterSample(values=(), document=document))
            if found is not None:
                try:
                    meter_time = parse_time(found.value, self._tz)
                except DecodeError as exc:
                    msg = f"{self._time.path} on {topic}: {exc.reason}"
                    raise DecodeError(msg) from None
        return MeterSample(
            values=(),
            document=document,
            meter_time=meter_time,
            extra=MappingProxyType({"topic": topic}),
        )
