"""The adapter of a wireless M-Bus receiver: many radio meters, each its own MeterIndividual.

One adapter configuration file describes one receiver (``Meter.kind: wmbus``) and the meters
it listens for (``Meter.radioMeters``). The file's ``MeterIndividualId`` names the receiver
(its MQTT client, its logs); each radio meter names its own ``meterIndividualId`` and is
published exactly as a meter with an adapter of its own would be: on
``smartMeterMessage/{its id}/readings``, with its own mapping (its ``profile`` and ``mapping``,
else the file's ``OperationalPropertyMapping``), household, sequence numbers and outbox
(by default its own ``{id}.outbox.sqlite3``; with ``outboxPath``, that path with the meter's id
before the suffix). All of them share the receiver and one
broker connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from omdp.adapter.config import load_profile
from omdp.adapter.service import Adapter, AdapterSink, broker_settings
from omdp.adapter.sources import meter_timezone
from omdp.adapter.sources.streams import ByteStream, connector, split_host_port
from omdp.adapter.sources.wmbus import RadioMeterConfig, StdinStream, WMBusReceiver
from omdp.catalog import Catalog
from omdp.decoders.wmbus import parse_key
from omdp.delivery.sink import Sink
from omdp.domain.adapter_file import AdapterConfigFile, PropertyMapping, RadioMeter
from omdp.domain.reading import MeterReading
from omdp.errors import ConfigError
from omdp.mqtt import MqttClient

log = logging.getLogger(__name__)

DONGLE_BAUDRATES = {"im871a": 57600, "amb8465": 9600, "rtlwmbus": 115200}


def meter_mapping(config: AdapterConfigFile, radio: RadioMeter) -> list[PropertyMapping]:
    """A radio meter's mapping: its profile, then its own entries (they win per target)."""
    own = list(radio.mapping)
    if radio.profile is None and not own:
        return list(config.operational_property_mapping)
    targets = {m.target for m in own}
    profile = load_profile(radio.profile) if radio.profile else []
    return [m for m in profile if m.target not in targets] + own


def meter_config(config: AdapterConfigFile, radio: RadioMeter) -> AdapterConfigFile:
    """The configuration of one radio meter, as if it had an adapter file of its own."""
    outbox: str | None = None  # by default each meter's own {meter id}.outbox.sqlite3
    if config.adapter.outbox_path:
        path = Path(config.adapter.outbox_path)
        suffix = path.suffix or ".sqlite3"
        outbox = str(path.with_name(f"{path.stem}-{radio.meter_individual_id}{suffix}"))
    options = config.adapter.model_copy(
        update={
            "outbox_path": outbox,
            "household_id": radio.household_id or config.adapter.household_id,
        }
    )
    return config.model_copy(
        update={
            "meter_individual_id": radio.meter_individual_id,
            "operational_property_mapping": meter_mapping(config, radio),
            "adapter": options,
        }
    )


def _key(radio: RadioMeter) -> bytes | None:
    if radio.key is None:
        return None
    try:
        return parse_key(radio.key.get_secret_value())
    except ValueError as exc:
        msg = f"Meter.radioMeters {radio.id}: key: {exc}"
        raise ConfigError(msg) from None


def state_path(config: AdapterConfigFile, base_dir: Path, state_dir: Path | None = None) -> Path:
    """The receiver's state file (learnt compact-frame formats), beside its meters' outboxes:
    ``{outboxPath stem}-wmbus-state.json`` when the file names an outbox, else
    ``{receiver id}-wmbus-state.json`` in the adapter's state folder (``state_dir``, else the
    configuration file's folder ``base_dir``)."""
    if config.adapter.outbox_path:
        path = base_dir / config.adapter.outbox_path
        return path.with_name(f"{path.stem}-wmbus-state.json")
    return (state_dir or base_dir) / f"{config.meter_individual_id}-wmbus-state.json"


def open_receiver(
    config: AdapterConfigFile, *, base_dir: Path | None = None, state_dir: Path | None = None
) -> WMBusReceiver:
    """Build the receiver the file's ``Meter`` section describes; nothing opens yet.

    With ``base_dir`` (the configuration file's folder), what the receiver learns is kept in
    :func:`state_path` across restarts.

    Raises:
        ConfigError: no dongle, no radio meters, a bad key, or both/neither of tcp and serial.
    """
    meter = config.meter
    if meter is None or meter.kind != "wmbus":
        msg = "not a wmbus adapter configuration"
        raise ConfigError(msg)
    if meter.dongle is None:
        msg = "Meter: a wmbus receiver needs dongle: im871a, amb8465 or rtlwmbus"
        raise ConfigError(msg)
    if not meter.radio_meters:
        msg = "Meter: a wmbus receiver needs radioMeters (id, meterIndividualId, key...)"
        raise ConfigError(msg)
    ids = [r.id.upper() for r in meter.radio_meters]
    if len(set(ids)) != len(ids):
        msg = "Meter.radioMeters: a meter id is listed twice"
        raise ConfigError(msg)
    connect: Callable[[], Awaitable[ByteStream]]
    if meter.dongle == "rtlwmbus" and not meter.tcp and not meter.serial:

        async def stdin() -> ByteStream:
            return StdinStream()

        connect = stdin
    else:
        connect = connector(
            tcp=split_host_port(meter.tcp) if meter.tcp else None,
            serial=meter.serial,
            baudrate=meter.baudrate or DONGLE_BAUDRATES[meter.dongle],
            serial_format=meter.serial_format or "8N1",
            connect_timeout=meter.timeout or 5.0,
        )
    meters = [
        RadioMeterConfig(
            r.id.upper(),
            r.meter_individual_id,
            _key(r),
            r.manufacturer.upper() if r.manufacturer else None,
            r.silent_after,
        )
        for r in meter.radio_meters
    ]
    return WMBusReceiver(
        config.meter_individual_id,
        connect=connect,
        dongle=meter.dongle,
        meters=meters,
        tz=meter_timezone(meter),
        state_path=state_path(config, base_dir, state_dir) if base_dir is not None else None,
        link_mode=meter.link_mode,
    )


class RadioAdapter:
    """A receiver and one :class:`~omdp.adapter.service.Adapter` per radio meter."""

    def __init__(
        self,
        config: AdapterConfigFile,
        *,
        catalog: Catalog,
        base_dir: Path,
        receiver: WMBusReceiver | None = None,
        log_readings: bool = False,
        state_dir: Path | None = None,
    ) -> None:
        """Build the receiver and the meters' adapters.

        Raises:
            ConfigError: the file's Meter section is unusable.
        """
        self.config = config
        self.receiver = receiver or open_receiver(config, base_dir=base_dir, state_dir=state_dir)
        assert config.meter is not None  # noqa: S101 - open_receiver checked it
        self.adapters = [
            Adapter(
                meter_config(config, radio),
                catalog=catalog,
                base_dir=base_dir,
                source=self.receiver.source(radio.id),
                log_readings=log_readings,
                state_dir=state_dir,
            )
            for radio in config.meter.radio_meters
        ]

    async def read_once(self, *, timeout: float = 60.0) -> MeterReading:
        """The first reading of any of the meters, publishing nothing."""
        tasks = [asyncio.create_task(a.read_once(timeout=timeout)) for a in self.adapters]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, *, sink: Sink | None = None) -> None:
        """Run every meter's adapter over one broker connection until cancelled."""
        client: MqttClient | None = None
        if sink is None:
            settings = broker_settings(self.config)
            client_id = settings.client_id or f"omdp-adapter-{self.config.meter_individual_id}"
            client = MqttClient(settings, client_id=client_id, clean_start=False)
            await client.connect(wait=False)
            sink = AdapterSink(client, "-")
        log.info(
            "wM-Bus adapter %s: %d radio meter(s)",
            self.config.meter_individual_id,
            len(self.adapters),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                for adapter in self.adapters:
                    tg.create_task(adapter.run(sink=sink))
        finally:
            if client is not None:
                await client.close()
