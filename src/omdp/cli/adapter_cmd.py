"""``omdp adapter``: run a SmartMeterAdapter from its configuration file (AD-4)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click

from omdp.adapter.config import load_adapter_file, load_profile, profile_names
from omdp.adapter.metrics import adapter_registry
from omdp.adapter.radio import RadioAdapter
from omdp.adapter.service import Adapter, adapter_status
from omdp.catalog import default_catalog
from omdp.errors import OmdpError

log = logging.getLogger(__name__)

_CONFIG = click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The adapter configuration file (YAML or JSON), as the cloud issues it (CL-10).",
)


@click.group()
def adapter() -> None:
    """Read a meter, map its values, publish MeterReadings over MQTT."""


def _build(
    config_file: Path, *, log_readings: bool = False, state_dir: Path | None = None
) -> Adapter | RadioAdapter:
    config = load_adapter_file(config_file)
    if config.meter is not None and config.meter.kind == "wmbus":
        return RadioAdapter(
            config,
            catalog=default_catalog(),
            base_dir=config_file.resolve().parent,
            log_readings=log_readings,
            state_dir=state_dir,
        )
    return Adapter(
        config,
        catalog=default_catalog(),
        base_dir=config_file.resolve().parent,
        log_readings=log_readings,
        state_dir=state_dir,
    )


@adapter.command()
@_CONFIG
@click.option("--once", is_flag=True, help="Read once, print the MeterReading JSON, exit.")
@click.option("--log-readings", is_flag=True, help="Log one line per reading.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="For --once.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OMDP_ADAPTER_STATE_DIR",
    default=None,
    help="Where the outbox ({meter id}.outbox.sqlite3) lives unless the file sets "
    "Adapter.outboxPath; default: the config file's folder. [env: OMDP_ADAPTER_STATE_DIR]",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="OMDP_ADAPTER_METRICS_PORT",
    default=None,
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics (readings, missed, outbox). "
    "[env: OMDP_ADAPTER_METRICS_PORT]",
)
def run(  # noqa: PLR0917 - click passes every option by name
    config_file: Path,
    once: bool,
    log_readings: bool,
    timeout: float,
    state_dir: Path | None,
    metrics_port: int | None,
) -> None:
    """Run the adapter until SIGINT/SIGTERM (or read once with --once)."""
    try:
        built = _build(config_file, log_readings=log_readings, state_dir=state_dir)
        if once:
            reading = asyncio.run(built.read_once(timeout=timeout))
            click.echo(reading.to_json().decode())
            return
        asyncio.run(_serve(built, metrics_port))
    except OmdpError as exc:
        click.echo(f"omdp adapter: {exc}", err=True)
        sys.exit(1)
    except TimeoutError:
        click.echo(f"omdp adapter: no reading from the meter within {timeout} s", err=True)
        sys.exit(1)


def _meters(built: Adapter | RadioAdapter) -> list[Adapter]:
    """The adapter of each meter: one, or a radio receiver's many."""
    return built.adapters if isinstance(built, RadioAdapter) else [built]


async def _serve(built: Adapter | RadioAdapter, metrics_port: int | None = None) -> None:
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - always inside asyncio.run
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    server = None
    if metrics_port is not None:
        from prometheus_client import start_http_server

        registry = adapter_registry(lambda: [adapter_status(a) for a in _meters(built)])
        server, _ = start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
        log.info("adapter metrics on 127.0.0.1:%d/metrics", server.server_port)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await built.run()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    meters = _meters(built)
    log.info(
        "adapter stopped: %d readings kept, %d missed, %d not kept (outbox full)",
        sum(a.stats.readings for a in meters),
        sum(a.stats.missed for a in meters),
        sum(a.stats.dropped_full for a in meters),
    )


@adapter.command()
@_CONFIG
def check(config_file: Path) -> None:
    """Check a configuration file (mapping, profile, permissions) without reading the meter."""
    try:
        built = _build(config_file)
    except OmdpError as exc:
        click.echo(f"omdp adapter: {exc}", err=True)
        sys.exit(1)
    for one in _meters(built):
        for rule in one.mapper.rules:
            click.echo(f"{rule.source:70} -> {rule.target.id} [{rule.unit or '-'}]")
        click.echo(f"ok: {len(one.mapper.rules)} mappings, publishing on {one.topic}")


@adapter.command()
def profiles() -> None:
    """List the shipped mapping profiles."""
    for name in profile_names():
        click.echo(f"{name:28} {len(load_profile(name))} mappings")
