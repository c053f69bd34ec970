"""Start the whole platform in one process and stop it cleanly on SIGINT or SIGTERM.

Order of start: data folder (secrets, state), store (migrated) with the registry and, at the
first run, the backfilled history; the broker; the meter simulators; the configuration files
(with the simulators' ports); the cloud (ingest and API); the edge; the adapters. Order of stop
is the reverse: adapters (their outboxes keep what was not published), edge (commits what it
took, forwards what it can), ingest (flushes its batch), HTTP servers, simulators, broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from omdp.adapter.config import load_adapter_file
from omdp.adapter.radio import RadioAdapter
from omdp.adapter.service import Adapter
from omdp.catalog import Catalog, default_catalog
from omdp.cloud.model import ReadingFilter
from omdp.cloud.settings import CloudSettings
from omdp.cloud.storage import open_store
from omdp.cloud.storage.port import ReadingStore
from omdp.demo import history
from omdp.demo.broker import BrokerKind, embedded_broker, mosquitto_config
from omdp.demo.files import DemoState, MeterKeys, Secrets, SiteFiles, write_site
from omdp.demo.layout import METERS, READING_INTERVAL_S, TIMEZONE, DemoMeter, Ports, individual
from omdp.demo.layout import households as registry_households
from omdp.demo.watchdog import arm
from omdp.edge.settings import EdgeSettings
from omdp.ops.bounded_run import until_signal
from omdp.security.protect import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV
from omdp.settings import load_settings
from omdp.simulators.profiles import HouseholdProfile

log = logging.getLogger(__name__)

DAY_S = 86_400
STOP_TIMEOUT_S = 7.0
"""An orderly stop (edge commit and forward, ingest flush) gets this long, then is cancelled."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How ``omdp demo`` runs."""

    data_dir: Path
    ports: Ports = field(default_factory=Ports)
    broker: BrokerKind = "amqtt"
    history_days: int = 365


@dataclass(slots=True)
class Endpoints:
    """What the demo tells its user once everything runs."""

    api: str
    edge: str
    token: str
    files: SiteFiles
    broker: str
    app: bool
    first_run: bool
    readings: int


class Reporter:
    """What the runner tells the person at the terminal (the CLI implements it with rich)."""

    def backfill(self, total: int) -> Callable[[int], None]:
        """Start a progress display for ``total`` readings; return the advance callback."""
        del total
        return lambda _n: None

    def backfill_done(self, stored: int, seconds: float) -> None:
        """The backfill ended."""

    def ready(self, endpoints: Endpoints, startup_s: float) -> None:
        """Everything runs."""


def _live_profile(meter: DemoMeter, origin: float, now: float) -> HouseholdProfile:
    start = now - now % 10
    return HouseholdProfile(
        seed=meter.seed,
        origin=start,
        pv_peak_w=meter.pv_peak_w,
        initial=history.registers_at(meter, origin, start),
        tz=ZoneInfo(TIMEZONE),
    )


class Interrupted(Exception):
    """A stop was asked for during the backfill (it resumes at the next start)."""


def _prepare_store(
    files: SiteFiles,
    catalog: Catalog,
    state: DemoState,
    reporter: Reporter,
    stop: asyncio.Event,
) -> tuple[ReadingStore, int]:
    """Open and migrate the store, write the registry and, once, the history."""
    store = open_store(files.db_url, catalog=catalog)
    try:
        for household in registry_households():
            store.put_household(household)
        for meter in METERS:
            store.put_meter(individual(meter, catalog))
        if not state.backfilled:
            total = history.count(state.history_origin, state.history_end)
            advance = reporter.backfill(total)

            def progress(n: int) -> None:
                advance(n)
                if stop.is_set():  # a plain flag read; the event loop thread only sets it
                    raise Interrupted

            started = time.perf_counter()
            stored = history.backfill(
                store, state.history_origin, state.history_end, progress=progress
            )
            reporter.backfill_done(stored, time.perf_counter() - started)
            state.backfilled = True
            state.save(files.data)
        return store, store.count_readings(ReadingFilter())
    except BaseException:
        store.close()
        raise


def _state(files: SiteFiles, history_days: int) -> tuple[DemoState, bool]:
    state = DemoState.load(files.data)
    if state is not None:
        return state, not state.backfilled
    now = time.time()
    end = now - now % history.STEP_S
    state = DemoState(history_origin=end - history_days * DAY_S, history_end=end)
    state.save(files.data)
    return state, True


async def _start_dlms(
    stack: contextlib.AsyncExitStack, state: DemoState, ports: Ports, files: SiteFiles
) -> int:
    """The encrypted DLMS meter behind its TCP bridge; return the bridge's port."""
    from omdp.decoders.dlms import DlmsKeys  # noqa: PLC0415
    from omdp.simulators.dlms_meter import DlmsMeter  # noqa: PLC0415
    from omdp.simulators.dsmr_meter import MeterStreamServer  # noqa: PLC0415

    meter = next(m for m in METERS if m.kind == "dlms")
    dlms = DlmsMeter(
        profile=_live_profile(meter, state.history_origin, time.time()),
        meter_profile=meter.profile,
        keys=DlmsKeys.from_hex(MeterKeys.load_or_create(files.data).dlms_key),
    )
    server = MeterStreamServer(dlms.frame_at, interval=READING_INTERVAL_S, port=ports.meter("dlms"))
    return (await stack.enter_async_context(server)).port


async def _start_meters(
    stack: contextlib.AsyncExitStack, state: DemoState, ports: Ports, files: SiteFiles
) -> dict[str, str]:
    """Start the simulators; return each meter's ``host:port``."""
    from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer  # noqa: PLC0415
    from omdp.simulators.mbus_meters import mbus_meters  # noqa: PLC0415
    from omdp.simulators.mbus_slave import MBusSlaveSimulator  # noqa: PLC0415
    from omdp.simulators.sml_meter import SmlMeter  # noqa: PLC0415

    now = time.time()
    by_kind = {m.kind: m for m in METERS if m.meter_class.value == "ELECTRICITY"}
    electricity = _live_profile(by_kind["mbus"], state.history_origin, now)
    water = HouseholdProfile(origin=state.history_origin, tz=ZoneInfo(TIMEZONE))
    bus = MBusSlaveSimulator(
        mbus_meters(["electricity"], electricity) + mbus_meters(["water"], water)
    )
    mbus_port = await stack.enter_async_context(bus.serve_tcp("127.0.0.1", ports.meter("mbus")))
    dsmr = DsmrMeter(profile=_live_profile(by_kind["dsmr"], state.history_origin, now))
    sml = SmlMeter(profile=_live_profile(by_kind["sml"], state.history_origin, now))
    dlms_port = await _start_dlms(stack, state, ports, files)
    where: dict[str, int] = {"mbus": mbus_port, "dlms": dlms_port}
    for kind, frame_at in (("dsmr", dsmr.telegram_at), ("sml", sml.file_at)):
        server = MeterStreamServer(
            frame_at,
            interval=READING_INTERVAL_S,
            port=ports.meter(kind),  # type: ignore[arg-type]
        )
        where[kind] = (await stack.enter_async_context(server)).port
    out = {m.meter_id: f"127.0.0.1:{where[m.kind]}" for m in METERS if m.kind != "wmbus"}
    radio_pty = await _start_radio(stack, state)
    out |= {m.meter_id: radio_pty for m in METERS if m.kind == "wmbus"}
    return out


async def _start_radio(stack: contextlib.AsyncExitStack, state: DemoState) -> str:
    """The radio meters behind a simulated iM871A on a pseudo-terminal; return its path.

    The stick starts in another link mode: the radio adapter sets T1 (``linkMode``) on connect.
    """
    from omdp.simulators.wmbus_dongle import DongleServer, SimulatedDongle  # noqa: PLC0415
    from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters  # noqa: PLC0415

    radios = [m for m in METERS if m.kind == "wmbus"]
    specs = radio_meters(
        ["water" if m.meter_class.value == "WATER" else "heat" for m in radios],
        origin=state.history_origin,
        tz=ZoneInfo(TIMEZONE),
        first_id=int(radios[0].address or "0"),
    )
    radio = SimulatedRadio(specs, dongle="im871a")
    device = SimulatedDongle("im871a", meters_mode="T1")
    server = DongleServer(device, radio.telegrams_at, interval=READING_INTERVAL_S, port=0)
    return (await stack.enter_async_context(server)).open_pty()


def _cloud_app(settings: CloudSettings, store: ReadingStore, edge_url: str) -> tuple[object, bool]:
    """The cloud API, with the app mounted under ``/app/`` when :mod:`omdp.webapp` exists."""
    from omdp.cloud.api.app import create_app  # noqa: PLC0415 - FastAPI on demand

    app = create_app(settings, store)
    try:
        from omdp.webapp import mount_webapp  # noqa: PLC0415 - built by another part
    except ImportError:
        return app, False
    mount_webapp(app, prefix="/app", edge_url=edge_url)
    return app, True


async def run_demo(options: DemoOptions, reporter: Reporter, *, stop: asyncio.Event) -> None:
    """Run the demo until ``stop`` is set (SIGINT and SIGTERM set it), then stop in order."""
    from omdp.cloud.ingest import IngestService  # noqa: PLC0415
    from omdp.edge.api import http_server  # noqa: PLC0415 - uvicorn on demand
    from omdp.edge.main import run_edge  # noqa: PLC0415

    begun = time.perf_counter()
    files = SiteFiles(options.data_dir.resolve())
    files.data.mkdir(parents=True, exist_ok=True)
    keys = Secrets.load_or_create(files.data)
    # the adapters read the DLMS meter's key, encrypted in their files, with the demo's own key
    os.environ.pop(SECRET_KEY_ENV, None)
    os.environ[SECRET_KEY_FILE_ENV] = str(files.adapter_secret_key)
    state, first_run = _state(files, options.history_days)
    catalog = default_catalog()
    signals = asyncio.create_task(until_signal(stop))
    try:
        prepared = asyncio.to_thread(_prepare_store, files, catalog, state, reporter, stop)
        store, count = await prepared
    except Interrupted:
        log.info("backfill interrupted; it resumes at the next start")
        signals.cancel()
        return
    ports = options.ports
    watchdog: threading.Timer | None = None
    mosquitto_config(files.data / "mosquitto", ports.mqtt)  # for running the parts alone
    try:
        async with contextlib.AsyncExitStack() as stack:
            broker = await stack.enter_async_context(
                embedded_broker(options.broker, port=ports.mqtt, folder=files.data / "mosquitto")
            )
            meter_tcp = await _start_meters(stack, state, ports, files)
            protocol = "3.1.1" if options.broker == "amqtt" else "5"  # amqtt has no MQTT 5
            write_site(files, ports, keys, meter_tcp, protocol=protocol)
            cloud = load_settings(CloudSettings, files.cloud)
            edge = load_settings(EdgeSettings, files.edge)
            edge_url = f"http://127.0.0.1:{ports.edge}"
            app, has_app = _cloud_app(cloud, store, edge_url)
            api = http_server(app, cloud.http_host, cloud.http_port)  # type: ignore[arg-type]
            ingest = IngestService(store, cloud)
            edge_ready = asyncio.Event()
            stop_edge, stop_cloud = asyncio.Event(), asyncio.Event()
            async with asyncio.TaskGroup() as tg:
                serving = tg.create_task(api.serve())
                ingesting = tg.create_task(ingest.run(stop_cloud))
                edging = tg.create_task(
                    run_edge(edge, stop=stop_edge, on_ready=lambda *_: edge_ready.set())
                )
                adapters = [
                    tg.create_task(
                        Adapter(
                            load_adapter_file(files.adapter(m)),
                            catalog=catalog,
                            base_dir=files.adapter(m).parent,
                        ).run()
                    )
                    for m in METERS
                    if m.kind != "wmbus"
                ]
                adapters.append(
                    tg.create_task(
                        RadioAdapter(
                            load_adapter_file(files.radio_adapter),
                            catalog=catalog,
                            base_dir=files.radio_adapter.parent,
                        ).run()
                    )
                )
                await _until_ready(api, ingest.ready, edge_ready, stop)
                reporter.ready(
                    Endpoints(
                        api=f"http://127.0.0.1:{api.port}",
                        edge=edge_url,
                        token=keys.api_token,
                        files=files,
                        broker=broker,
                        app=has_app,
                        first_run=first_run,
                        readings=count,
                    ),
                    time.perf_counter() - begun,
                )
                await stop.wait()
                log.info("demo stopping")
                watchdog = arm(STOP_TIMEOUT_S + 1.5)
                await _stop_in_order(
                    adapters,
                    stop_edge=stop_edge,
                    edging=edging,
                    stop_cloud=stop_cloud,
                    ingesting=ingesting,
                    api=api,
                )
                await serving
    finally:
        signals.cancel()
        await asyncio.to_thread(store.close)
        if watchdog is not None:
            watchdog.cancel()


async def _stop_in_order(
    adapters: list[asyncio.Task[None]],
    *,
    stop_edge: asyncio.Event,
    edging: asyncio.Task[None],
    stop_cloud: asyncio.Event,
    ingesting: asyncio.Task[None],
    api: object,
) -> None:
    """Adapters, edge, ingest, API; whatever outlives ``STOP_TIMEOUT_S`` is cancelled."""
    for task in adapters:
        task.cancel()
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await asyncio.wait(adapters)
            stop_edge.set()
            await edging
            stop_cloud.set()
            await ingesting
    except TimeoutError:
        late = [t for t in (*adapters, edging, ingesting) if not t.done()]
        log.warning("orderly stop took over %g s: cancelling %d task(s)", STOP_TIMEOUT_S, len(late))
        for task in late:
            task.cancel()
    api.should_exit = True  # type: ignore[attr-defined]


async def _until_ready(
    api: object, ingest: asyncio.Event, edge: asyncio.Event, stop: asyncio.Event
) -> None:
    """Wait until the API serves, the ingest subscribed and the edge runs (or a stop)."""
    while not (getattr(api, "started", False) and ingest.is_set() and edge.is_set()):
        if stop.is_set():
            return
        await asyncio.sleep(0.05)
