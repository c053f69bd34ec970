"""Wiring of the edge: builds the adapters once, runs service and HTTP API until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from omdp.config import EdgeSettings
from omdp.edge.api import create_app, http_server
from omdp.edge.ingress import LocalSubscriber
from omdp.edge.service import EdgeService
from omdp.edge.sink import MqttSink
from omdp.edge.sqlite_outbox import SqliteOutbox
from omdp.mqtt import MqttClient

log = logging.getLogger(__name__)


async def run_edge(
    settings: EdgeSettings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[EdgeService, int], None] | None = None,
) -> None:
    """Run the edge until ``stop`` is set, then shut down in order.

    Order of shutdown: stop taking messages (unacknowledged ones stay with the local broker),
    commit what was taken, give the in-flight publishes a few seconds, delete what the cloud
    acknowledged, close the HTTP server, the cloud connection and the outbox.
    """
    cid = settings.concentrator_id
    outbox = await SqliteOutbox.open(settings.outbox_path)
    log.info("outbox %s holds %d message(s)", settings.outbox_path, outbox.depth())
    cloud = MqttClient(
        settings.cloud,
        client_id=settings.cloud.client_id or f"omdp-edge-{cid}-cloud",
        max_inflight=settings.forward_window,
    )
    try:
        await cloud.connect(wait=False)  # an unreachable cloud is an outage, not an error
        service = EdgeService(settings, outbox=outbox, sink=MqttSink(cloud, cid))
        service.local = LocalSubscriber(
            settings.local,
            client_id=settings.local.client_id or f"omdp-edge-{cid}",
            accept=service.accept,
            room=service.room,
            queue_size=settings.local_queue_size,
        )
        server = http_server(create_app(service), settings.http_host, settings.http_port)
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(service.run())
            serving = tg.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.02)
            log.info("edge %s: HTTP API on %s:%d", cid, settings.http_host, server.port)
            if on_ready is not None:
                on_ready(service, server.port)
            await stop.wait()
            log.info("edge %s stopping", cid)
            service.stop()
            await running
            server.should_exit = True
    finally:
        await cloud.close()
        await outbox.close()
