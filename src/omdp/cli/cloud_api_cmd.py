"""``omdp cloud api`` and ``omdp cloud run``: the REST API alone, or ingest and API in one process.

Standalone click commands; the ``cloud`` group attaches them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from omdp.cli.cloud_common import CONFIG, cloud_settings, opened_store
from omdp.cloud.settings import CloudSettings
from omdp.errors import OmdpError

if TYPE_CHECKING:
    import uvicorn

    from omdp.cloud.storage.port import ReadingStore

log = logging.getLogger(__name__)

_HOST = click.option("--host", default=None, help="Address to listen on [settings: http_host].")
_PORT = click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port [settings: http_port]."
)


def _servers(
    settings: CloudSettings, store: ReadingStore, host: str | None, port: int | None
) -> list[uvicorn.Server]:
    """The API's servers: HTTPS (and the plain-HTTP redirect) when ``tls`` is on, else HTTP."""
    import uvicorn

    from omdp.cloud.api.app import create_app
    from omdp.security.https import https_servers
    from omdp.webapp import mount_webapp

    app = create_app(settings, store)
    mount_webapp(app, prefix="/app", edge_url=settings.edge_url)
    if settings.tls.enabled:  # CL-7: TLS on every cloud interface, plain HTTP redirected
        main, redirect = https_servers(app, settings, host=host, port=port)
        return [main] if redirect is None else [main, redirect]
    config = uvicorn.Config(
        app,
        host=host or settings.http_host,
        port=settings.http_port if port is None else port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return [uvicorn.Server(config)]


async def _serve_all(servers: list[uvicorn.Server], stop: asyncio.Event | None = None) -> None:
    """Serve until one server stops (a signal or an error); then stop the others and ``stop``."""

    async def serve(server: uvicorn.Server) -> None:
        try:
            await server.serve()
        finally:
            for other in servers:
                other.should_exit = True
            if stop is not None:
                stop.set()

    async with asyncio.TaskGroup() as tasks:
        for server in servers:
            tasks.create_task(serve(server))


@click.command()
@CONFIG
@_HOST
@_PORT
def api(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Serve the REST API (CL-3..CL-13) until SIGTERM or SIGINT."""
    from omdp.ops.gc_tuning import tune_for_throughput

    settings = cloud_settings(config_file)
    with opened_store(settings) as store:
        try:
            servers = _servers(settings, store, host, port)
            tune_for_throughput()  # answers hold thousands of readings alive while built
            asyncio.run(_serve_all(servers))
        except OmdpError as exc:
            raise click.ClickException(str(exc)) from None


@click.command()
@CONFIG
@_HOST
@_PORT
def run(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Run ingest and the REST API in one process (small sites), until SIGTERM or SIGINT."""
    from omdp.cloud.ingest import IngestService
    from omdp.ops.gc_tuning import tune_for_throughput

    settings = cloud_settings(config_file)

    async def main(store: ReadingStore) -> None:
        servers = _servers(settings, store, host, port)
        stop = asyncio.Event()
        service = IngestService(store, settings)
        tune_for_throughput()

        async def ingest() -> None:
            try:
                await service.run(stop)
            finally:
                for server in servers:
                    server.should_exit = True

        # uvicorn installs its own SIGINT/SIGTERM handlers, which end the servers and so ingest.
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(_serve_all(servers, stop))
            tasks.create_task(ingest())

    with opened_store(settings) as store:
        try:
            asyncio.run(main(store))
        except* OmdpError as group:
            raise click.ClickException("; ".join(str(e) for e in group.exceptions)) from None


__all__ = ["api", "run"]
