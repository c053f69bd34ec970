"""Wiring of the edge: builds the adapters once, runs service and HTTP API until stopped.

The deployment variants of the specification, chosen by the settings:

- **apart** (default): adapters publish to a local broker (``local``); the edge forwards to the
  cloud broker (``cloud``) through a :class:`~omdp.delivery.cloud_sink.CloudSink`, which deletes
  a message only on the cloud ingest's receipt (``cloud_receipts: false``: a plain
  :class:`~omdp.delivery.sink.MqttSink`, deleting on the broker's PUBACK);
- **no cloud** (``store`` set): the edge forwards into the cloud's reading store on the edge
  itself (:class:`~omdp.edge.store_sink.StoreSink`) and serves the cloud's query API on its
  HTTP port; no cloud connection is made;
- **adapter and edge merged** (``adapters`` set): the adapter files run inside this process and
  hand their readings to :meth:`EdgeService.submit` (:mod:`omdp.edge.local_adapters`);
  ``local: null`` then means no local broker at all. Both merged: ``adapters`` and ``store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from fastapi import FastAPI

from omdp.catalog import Catalog
from omdp.cloud.api.app import create_app as create_query_api
from omdp.cloud.api.settings import ApiServerSettings
from omdp.cloud.ingest import enforce_retention
from omdp.cloud.storage import ReadingStore, open_store
from omdp.delivery.cloud_sink import CloudSink
from omdp.delivery.sink import MqttSink, Sink
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.edge.access import Households, LiveAccess, edge_authenticator, registry_loader
from omdp.edge.api import create_app, http_server
from omdp.edge.ingress import LocalSubscriber
from omdp.edge.local_adapters import SubmitSink, load_adapters, supervise
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeSettings
from omdp.edge.store_sink import StoreSink
from omdp.errors import ConfigError
from omdp.mqtt import MqttClient

log = logging.getLogger(__name__)


def query_settings(settings: EdgeSettings) -> ApiServerSettings:
    """The settings the query API of a no-cloud edge runs with, all from the edge's.

    No ``OMDP_CLOUD_*`` variable is read: the edge's file and ``OMDP_EDGE_*`` decide.
    """
    return ApiServerSettings(
        api=settings.api, http_host=settings.http_host, http_port=settings.http_port
    )


async def _destination(
    settings: EdgeSettings, catalog: Catalog, stack: contextlib.AsyncExitStack
) -> tuple[Sink, ReadingStore | None, FastAPI | None]:
    """The sink the forwarder delivers to; the edge's own store and its query API, if any."""
    cid = settings.concentrator_id
    if settings.store is None:
        if settings.cloud is None:  # refused by EdgeSettings; for the type checker
            msg = "the edge has neither a cloud broker nor a store"
            raise ConfigError(msg)
        cloud = MqttClient(
            settings.cloud,
            client_id=settings.cloud.client_id or f"omdp-edge-{cid}-cloud",
            max_inflight=settings.forward_window,
            require_subscribers=True,
        )
        stack.push_async_callback(cloud.close)
        if not settings.cloud_receipts:
            await cloud.connect(wait=False)  # an unreachable cloud is an outage, not an error
            log.warning("edge %s: cloud_receipts is off: deleting on the broker's PUBACK", cid)
            return MqttSink(cloud, cid), None, None
        receipted = CloudSink(
            cloud, cid, window=settings.receipt_window, timeout=settings.receipt_timeout_s
        )
        await stack.enter_async_context(receipted)  # subscribes to receipts before connecting
        await cloud.connect(wait=False)
        return receipted, None, None
    db = settings.store
    store = await asyncio.to_thread(open_store, db.url, pool_size=db.pool_size, catalog=catalog)
    stack.callback(store.close)
    window = settings.forward_window
    sink = StoreSink(store, cid, window=window, batch=min(settings.outbox_batch, window // 2 or 1))
    await stack.enter_async_context(sink)
    log.info("edge %s: no cloud, keeping the history in %s", cid, db.url.split("://")[0])
    return sink, store, create_query_api(query_settings(settings), store)


async def run_edge(
    settings: EdgeSettings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[EdgeService, int], None] | None = None,
) -> None:
    """Run the edge until ``stop`` is set, then shut down in order.

    Order of shutdown: stop the in-process adapters first (what they read stays in their own
    outboxes), stop taking messages (unacknowledged ones stay with the local broker), commit
    what was taken, give the in-flight sends a few seconds, delete what the sink acknowledged,
    close the HTTP server, the sink (cloud connection or store) and the outbox.

    Raises:
        ConfigError: an adapter file is invalid, or two outboxes would share a file.
        StorageError: the store of a no-cloud edge cannot be opened.
    """
    cid = settings.concentrator_id
    catalog = Catalog.load(settings.catalog_files)
    adapters = load_adapters(settings.adapters, catalog=catalog, edge_outbox=settings.outbox_path)
    outbox = await SqliteOutbox.open(settings.outbox_path)
    log.info("outbox %s holds %d message(s)", settings.outbox_path, outbox.depth())
    try:
        async with contextlib.AsyncExitStack() as stack:
            sink, store, query_api = await _destination(settings, catalog, stack)
            service = EdgeService(settings, outbox=outbox, sink=sink)
            if settings.local is not None:
                service.local = LocalSubscriber(
                    settings.local,
                    client_id=settings.local.client_id or f"omdp-edge-{cid}",
                    accept=service.accept,
                    room=service.room,
                    queue_size=settings.local_queue_size,
                )
            households = Households(settings.meter_households)
            access = LiveAccess(edge_authenticator(settings, query_api), households)
            app = create_app(service, query_api=query_api, access=access)
            server = http_server(app, settings.http_host, settings.http_port)
            load, every_s = registry_loader(settings, store)
            async with asyncio.TaskGroup() as tg:
                running = tg.create_task(service.run())
                serving = tg.create_task(server.serve())
                tg.create_task(households.keep_current(load, every_s=every_s, stop=stop))
                if store is not None:
                    tg.create_task(enforce_retention(store, settings.retention, stop))
                while not server.started and not serving.done():
                    await asyncio.sleep(0.02)
                log.info("edge %s: HTTP API on %s:%d", cid, settings.http_host, server.port)
                inside = [tg.create_task(supervise(a, SubmitSink(service))) for a in adapters]
                if adapters:
                    log.info("edge %s: %d adapter(s) in this process", cid, len(adapters))
                if on_ready is not None:
                    on_ready(service, server.port)
                await stop.wait()
                log.info("edge %s stopping", cid)
                for task in inside:
                    task.cancel()
                await asyncio.gather(*inside, return_exceptions=True)
                service.stop()
                await running
                server.should_exit = True
    finally:
        await outbox.close()
