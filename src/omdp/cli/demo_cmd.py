"""``omdp demo``: the whole platform on this machine, with simulated meters, in one command."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from omdp.errors import OmdpError
from omdp.ops.bounded_run import run_bounded

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from omdp.demo.runner import Endpoints


def _reporter(console: Console) -> object:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from omdp.demo.runner import Reporter

    class RichReporter(Reporter):
        progress: Progress | None = None

        def backfill(self, total: int) -> Callable[[int], None]:
            console.print(f"First start: backfilling 15-minute history ({total:,} readings)")
            self.progress = Progress(
                TextColumn("history"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self.progress.start()
            task = self.progress.add_task("history", total=total)
            progress = self.progress
            return lambda n: progress.advance(task, n)

        def backfill_done(self, stored: int, seconds: float) -> None:
            if self.progress is not None:
                self.progress.stop()
            console.print(f"history: {stored:,} new readings in {seconds:.1f} s")

        def ready(self, endpoints: Endpoints, startup_s: float) -> None:
            _banner(console, endpoints, startup_s)

    return RichReporter()


def _banner(console: Console, e: Endpoints, startup_s: float) -> None:
    from omdp.demo.layout import HOUSEHOLDS, METERS

    data = e.files.data
    rel = Path(click.format_filename(data))
    out = console.print
    what = "first start" if e.first_run else f"data reused: {e.readings:,} readings stored"
    out(f"omdp demo running (started in {startup_s:.1f} s; {what}; broker {e.broker})")
    out(f"  API docs:    {e.api}/docs")
    if e.app:
        out(f"  App:         {e.api}/app/")
    else:
        out("  App:         not available (omdp.webapp is not installed)")
    out(f"  Edge (live): {e.edge}/v1/live (token)   status {e.edge}/v1/status")
    out(f"  Metrics:     {e.api}/metrics (token)   {e.edge}/metrics")
    out(f"  Token:       {e.token}")
    out("               (Authorization: Bearer <token>; operator rights; stored in secrets.json)")
    for h in HOUSEHOLDS:
        mine = ", ".join(m.meter_id for m in METERS if m.household_id == h.household_id)
        out(f"  {h.household_id}: {mine}")
    out(f"  Data folder: {rel}")
    out("Each part alone, with the same files (stop the demo first):")
    out(f"  mosquitto -c {rel / 'mosquitto' / 'mosquitto.conf'}")
    out(f"  omdp cloud run --config {rel / 'config' / 'cloud.yaml'}")
    out(f"  omdp edge run --config {rel / 'config' / 'edge.yaml'}")
    out(f"  omdp adapter run --config {rel / 'config' / 'adapters' / '<meter>.yaml'}")
    secret = rel / "adapter-secret.key"
    out(f"    with OMDP_ADAPTER_SECRET_KEY_FILE={secret} (the DLMS meter's key is encrypted)")
    out("Ctrl-C stops the demo.")


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    show_default=True,
    help="Where the demo keeps its store, secrets and configuration between runs.",
)
@click.option("--http-port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Cloud API and app.")  # fmt: skip
@click.option("--edge-port", type=click.IntRange(1, 65535), default=8081, show_default=True,
              help="The edge's live API.")  # fmt: skip
@click.option("--mqtt-port", type=click.IntRange(1, 65535), default=1883, show_default=True,
              help="The embedded MQTT broker.")  # fmt: skip
@click.option(
    "--meter-ports-from", type=click.IntRange(0, 65533), default=40100, show_default=True,
    help="M-Bus gateway on this port, DSMR bridge on +1, SML head on +2, DLMS bridge on +4; "
    "0: free ports.",
)  # fmt: skip
@click.option(
    "--broker", type=click.Choice(["amqtt", "mosquitto"]), default="amqtt", show_default=True,
    envvar="OMDP_DEMO_BROKER", help="Embedded amqtt, or a Mosquitto child process.",
)  # fmt: skip
@click.option(
    "--history-days", type=click.IntRange(0, 3660), default=365, show_default=True,
    help="Days of 15-minute history backfilled at the first start.",
)  # fmt: skip
def demo(
    *,
    data_dir: Path,
    http_port: int,
    edge_port: int,
    mqtt_port: int,
    meter_ports_from: int,
    broker: str,
    history_days: int,
) -> None:
    """Run the whole platform here: broker, simulated meters, adapters, edge, cloud and app.

    Two households in Europe/Berlin: household-1 with a 3-phase electricity meter and a water
    meter on one M-Bus, household-2 with a DSMR 5 meter, an SML meter with PV, and a water and a
    heat meter by radio (encrypted wireless M-Bus through a simulated dongle). Readings every
    5 s; a year of 15-minute history is written at the first start. Ctrl-C stops it.

    Household-3 has an encrypted DLMS/COSEM meter (a Kaifa MA309 as Austrian network operators
    install them: AES-GCM pushes in wired M-Bus frames); its key is encrypted in its adapter file.
    """
    from rich.console import Console

    from omdp.demo.layout import Ports
    from omdp.demo.runner import DemoOptions, Reporter, run_demo

    options = DemoOptions(
        data_dir=data_dir,
        ports=Ports(mqtt=mqtt_port, http=http_port, edge=edge_port, meters_from=meter_ports_from),
        broker="mosquitto" if broker == "mosquitto" else "amqtt",
        history_days=history_days,
    )
    reporter = _reporter(Console(highlight=False, soft_wrap=True))
    assert isinstance(reporter, Reporter)  # noqa: S101 - narrows the lazily built class

    async def main() -> None:
        await run_demo(options, reporter, stop=asyncio.Event())

    try:
        run_bounded(main())
    except* OmdpError as group:
        raise click.ClickException("; ".join(str(e) for e in group.exceptions)) from None
    except* OSError as group:
        raise click.ClickException("; ".join(str(e) for e in group.exceptions)) from None
    click.echo("omdp demo stopped")
