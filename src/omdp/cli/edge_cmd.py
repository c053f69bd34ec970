"""``omdp edge``: run the concentrator / IoT edge (CO-1..CO-4, APP-1, APP-4)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from omdp.config import EdgeSettings, load_settings
from omdp.errors import OmdpError
from omdp.ops.bounded_run import run_bounded


@click.group()
def edge() -> None:
    """The concentrator / IoT edge: forward, keep live data, raise local alerts."""


@edge.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The edge's YAML settings; OMDP_EDGE_* environment variables override it.",
)
def run(config_file: Path | None) -> None:
    """Forward smartMeterMessage/# from the local broker to the cloud, losing nothing.

    Every message is stored in the on-disk outbox before it is acknowledged, and leaves it only
    when the cloud broker has acknowledged it. Serves live data, alerts and metrics over HTTP.
    SIGTERM or Ctrl-C stop it in order; a SIGKILL loses nothing that was acknowledged.
    """
    from omdp.edge.main import run_edge

    try:
        settings = load_settings(EdgeSettings, config_file)
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_edge(settings, stop=stop)

    try:
        run_bounded(main())
    except* OmdpError as group:
        raise click.ClickException("; ".join(str(e) for e in group.exceptions)) from None
