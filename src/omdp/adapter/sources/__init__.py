"""Meter sources of the SmartMeterAdapter: one port, one implementation per meter interface.

:class:`MeterSource` is the port the adapter reads (``async for sample in source.samples()``);
:func:`open_source` builds the right one from the configuration file's ``Meter`` section:

=========  ==============================================  ====================================
kind       link                                            one sample per
=========  ==============================================  ====================================
dsmr       ``serial`` (115200 8N1; 9600 7E1 for DSMR 2.2/3)  telegram (CRC checked)
           or ``tcp`` host:port of a ser2net bridge
sml        ``serial`` (9600 8N1) or ``tcp``                SML file (file and message CRCs)
mbus       ``serial`` (2400 8E1) or ``tcp`` gateway         read every ``interval`` s (REQ_UD2)
json-mqtt  ``topic`` on ``brokerHost:brokerPort``           message
dlms       ``serial`` (2400 8N1), ``tcp`` bridge or          push (HDLC or M-Bus; AES-GCM with
           ``listen`` host:port for a pushing bridge         ``key``/``authKey``)
wmbus      a receiver (``dongle``) on ``serial``/``tcp``,   telegram of each radio meter
           or rtl-wmbus on stdin                           (many meters: :mod:`omdp.adapter.radio`)
=========  ==============================================  ====================================
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omdp.adapter.sources.base import Backoff, MeterSource, SourceIOError, SourceStats
from omdp.adapter.sources.dlms import DLMS_BAUDRATE, dlms_hints, dlms_keys, dlms_source
from omdp.adapter.sources.dsmr import DSMR_BAUDRATE, dsmr_source
from omdp.adapter.sources.json_mqtt import JsonMqttSource
from omdp.adapter.sources.mbus import MBusBus, MBusSource, parse_address, sample_from_frames
from omdp.adapter.sources.push import PushSource
from omdp.adapter.sources.sml import SML_BAUDRATE, sml_source
from omdp.adapter.sources.streams import split_host_port
from omdp.domain.adapter_file import MeterConnection
from omdp.errors import ConfigError
from omdp.mbus import SerialTransport, TcpTransport, Transport
from omdp.mqtt.settings import MqttSettings

__all__ = [
    "Backoff",
    "JsonMqttSource",
    "MBusBus",
    "MBusSource",
    "MeterSource",
    "PushSource",
    "SourceIOError",
    "SourceStats",
    "dlms_source",
    "dsmr_source",
    "mbus_transport",
    "meter_timezone",
    "open_source",
    "sample_from_frames",
    "sml_source",
]

MBUS_BAUDRATE = 2400


def meter_timezone(meter: MeterConnection) -> tzinfo:
    """The zone of the meter's own clock (``timezone``), UTC when unset.

    Raises:
        ConfigError: not an IANA zone name.
    """
    if not meter.timezone:
        return UTC
    try:
        return ZoneInfo(meter.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"Meter.timezone {meter.timezone!r} is not an IANA zone such as Europe/Berlin"
        raise ConfigError(msg) from None


def _tcp(meter: MeterConnection) -> tuple[str, int] | None:
    return split_host_port(meter.tcp) if meter.tcp else None


def mbus_transport(meter: MeterConnection) -> Transport:
    """The M-Bus link of ``meter``: a TCP gateway or a serial level converter (2400 8E1).

    Raises:
        ConfigError: neither or both of ``tcp`` and ``serial``, or a 7-bit serial format.
    """
    if bool(meter.tcp) == bool(meter.serial):
        msg = "Meter: an M-Bus meter needs exactly one of tcp and serial"
        raise ConfigError(msg)
    timeout = meter.timeout or 5.0
    if meter.tcp:
        host, port = split_host_port(meter.tcp)
        return TcpTransport(host, port, connect_timeout=timeout)
    fmt = meter.serial_format or "8E1"
    if fmt.startswith("7"):
        msg = f"Meter.serialFormat {fmt}: M-Bus uses 8 data bits"
        raise ConfigError(msg)
    assert meter.serial is not None  # noqa: S101 - checked above
    return SerialTransport(
        meter.serial, baudrate=meter.baudrate or MBUS_BAUDRATE, parity=fmt[1], stopbits=1
    )


def open_source(
    meter: MeterConnection,
    *,
    name: str | None = None,
    broker: MqttSettings | None = None,
    silence_intervals: float = 3.0,
    backoff: Backoff | None = None,
) -> MeterSource:
    """Build the source the configuration describes; nothing connects yet.

    Args:
        meter: the ``Meter`` section of the adapter configuration file.
        name: the source's name in logs and metrics; default ``kind:address``.
        broker: for ``json-mqtt`` without ``brokerHost``: the adapter's own broker.
        silence_intervals: push and JSON meters: intervals without a frame that mean a timeout.
        backoff: reconnect delays (default: 0.5 s doubling to 30 s, jittered).

    Returns:
        A source; iterate ``samples()`` to read.

    Raises:
        ConfigError: the section lacks what the kind needs or holds an unusable value.
    """
    where = meter.tcp or meter.serial or meter.topic or meter.listen or "-"
    name = name or f"{meter.kind}:{where}"
    tz = meter_timezone(meter)
    timeout = meter.timeout or 5.0
    if meter.kind == "dsmr":
        return dsmr_source(
            name,
            tcp=_tcp(meter),
            serial=meter.serial,
            baudrate=meter.baudrate or DSMR_BAUDRATE,
            serial_format=meter.serial_format or "8N1",
            spec=meter.spec or "auto",
            interval=meter.interval,
            silence_intervals=silence_intervals,
            connect_timeout=timeout,
            backoff=backoff,
        )
    if meter.kind == "sml":
        return sml_source(
            name,
            tcp=_tcp(meter),
            serial=meter.serial,
            baudrate=meter.baudrate or SML_BAUDRATE,
            serial_format=meter.serial_format or "8N1",
            interval=meter.interval,
            silence_intervals=silence_intervals,
            connect_timeout=timeout,
            backoff=backoff,
        )
    if meter.kind == "dlms":
        return dlms_source(
            name,
            tcp=_tcp(meter),
            serial=meter.serial,
            listen=split_host_port(meter.listen) if meter.listen else None,
            baudrate=meter.baudrate or DLMS_BAUDRATE,
            serial_format=meter.serial_format or "8N1",
            keys=dlms_keys(meter.key, meter.auth_key),
            hints=dlms_hints(meter.profile),
            tz=tz,
            interval=meter.interval,
            silence_intervals=silence_intervals,
            connect_timeout=timeout,
            backoff=backoff,
        )
    if meter.kind == "mbus":
        if meter.address is None:
            msg = "Meter: an M-Bus meter needs an address (primary 0-250 or 8-digit secondary)"
            raise ConfigError(msg)
        bus = MBusBus(
            mbus_transport(meter),
            timeout=meter.timeout or 1.0,
            retries=3 if meter.retries is None else meter.retries,
        )
        address = parse_address(meter.address)
        return MBusSource(
            name, bus, address, interval=meter.interval, tz=tz, backoff=backoff, owns_bus=True
        )
    if meter.kind == "wmbus":
        msg = "Meter: a wmbus receiver serves many meters; run it with omdp.adapter.radio"
        raise ConfigError(msg)
    if not meter.topic:
        msg = "Meter: a json-mqtt meter needs a topic"
        raise ConfigError(msg)
    if meter.broker_host:  # the device's own broker: none of the adapter's credentials
        settings = MqttSettings(host=meter.broker_host, port=meter.broker_port or 1883)
    else:
        base = broker or MqttSettings()
        settings = base.model_copy(update={"port": meter.broker_port or base.port})
    return JsonMqttSource(
        name,
        settings=settings,
        topic=meter.topic,
        time_path=meter.time_path,
        tz=tz,
        interval=meter.interval,
        silence_intervals=silence_intervals,
        connect_timeout=meter.timeout or 10.0,
        backoff=backoff,
    )
