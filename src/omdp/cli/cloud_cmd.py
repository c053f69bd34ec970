"""``omdp cloud``: ingest, migrations, quarantine, retention and erasure."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from omdp.cli.cloud_common import CONFIG, cloud_settings, opened_store
from omdp.errors import OmdpError

if TYPE_CHECKING:
    from omdp.cloud.storage.port import ReadingStore

log = logging.getLogger(__name__)


@click.group()
def cloud() -> None:
    """Run the cloud: ingest concentrator/#, manage storage (CL-1, CL-2, CL-13)."""


@cloud.command()
@CONFIG
def migrate(config_file: Path | None) -> None:
    """Create or upgrade the database schema and seed the property catalogue."""
    settings = cloud_settings(config_file)
    with opened_store(settings) as store:
        click.echo(f"schema at version {store.migrate()}")


@cloud.command()
@CONFIG
def ingest(config_file: Path | None) -> None:
    """Subscribe to concentrator/# and store every reading once, until SIGTERM or SIGINT."""
    from omdp.cloud.ingest import IngestService
    from omdp.ops.gc_tuning import tune_for_throughput

    settings = cloud_settings(config_file)

    async def main(store: ReadingStore) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        service = IngestService(store, settings)
        tune_for_throughput()
        server = None
        if settings.ingest.metrics_port is not None:
            from omdp.cloud.metrics import serve_metrics

            server = serve_metrics(settings.ingest, service.metrics)
        try:
            await service.run(stop)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
        m = service.metrics
        log.info(
            "ingest stopped: %d received, %d stored, %d duplicates, %d quarantined",
            m.received,
            m.stored,
            m.duplicates,
            m.quarantined,
        )

    with opened_store(settings) as store:
        try:
            asyncio.run(main(store))
        except OmdpError as exc:
            raise click.ClickException(str(exc)) from exc


@cloud.group()
def quarantine() -> None:
    """List, replay and purge messages that could not be stored."""


@quarantine.command("list")
@CONFIG
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
def quarantine_list(config_file: Path | None, limit: int, offset: int) -> None:
    """Print quarantined messages: id, time, topic and each reason."""

    with opened_store(cloud_settings(config_file)) as store:
        click.echo(f"{store.count_quarantine()} message(s) in quarantine")
        for e in store.list_quarantine(limit=limit, offset=offset):
            click.echo(f"#{e.entry_id} {e.received_at.isoformat()} {e.topic} ({len(e.payload)} B)")
            for path, reason in e.problems:
                click.echo(f"    {path}: {reason}")


@quarantine.command("replay")
@CONFIG
@click.option("--id", "ids", type=int, multiple=True, help="Entries to replay (default: all).")
def quarantine_replay(config_file: Path | None, ids: tuple[int, ...]) -> None:
    """Validate quarantined messages again and store those that now pass."""
    from omdp.cloud.ingest import replay

    settings = cloud_settings(config_file)
    with opened_store(settings) as store:
        if ids:
            found = [store.get_quarantine(i) for i in ids]
            entries = [e for e in found if e is not None]
        else:
            entries = store.list_quarantine(limit=1_000_000)
        done, bad = replay(store, entries, max_bytes=settings.ingest.max_message_bytes)
        click.echo(f"replayed {done}, still invalid {bad}")


@quarantine.command("purge")
@CONFIG
@click.option("--id", "ids", type=int, multiple=True, help="Entries to delete (default: all).")
def quarantine_purge(config_file: Path | None, ids: tuple[int, ...]) -> None:
    """Delete quarantined messages."""

    with opened_store(cloud_settings(config_file)) as store:
        click.echo(f"deleted {store.delete_quarantine(list(ids) if ids else None)}")


@cloud.group()
def retention() -> None:
    """Enforce the retention period (CL-13)."""


@retention.command("run")
@CONFIG
def retention_run(config_file: Path | None) -> None:
    """Delete readings older than the configured retention, once."""
    from omdp.cloud.ingest import retention_policy

    settings = cloud_settings(config_file)
    policy = retention_policy(settings.retention)
    if policy is None:
        click.echo("no retention configured: nothing deleted")
        return
    with opened_store(settings) as store:
        report = store.apply_retention(policy, now=datetime.now(UTC))
        click.echo(f"deleted {report.readings_deleted} reading(s)")


@cloud.command()
@CONFIG
@click.option("--household", "household_id", help="Erase this household and its meters.")
@click.option("--meter", "meter_id", help="Erase this meter.")
@click.option("--actor", default="operator", show_default=True, help="Who asked (audited).")
def erase(
    config_file: Path | None, household_id: str | None, meter_id: str | None, actor: str
) -> None:
    """Erase everything stored about a household or a meter; the erasure is audited (CL-13)."""

    if (household_id is None) == (meter_id is None):
        msg = "give exactly one of --household and --meter"
        raise click.UsageError(msg)
    from omdp.cloud.api.credentials import FileCredentialStore
    from omdp.cloud.services.erasure import ErasureService
    from omdp.cloud.services.registry import NotRegistered

    settings = cloud_settings(config_file)
    with opened_store(settings) as store:
        # the erased meters' broker credentials go too, as through the API
        erasure = ErasureService(
            store, forget=FileCredentialStore(settings.api.credentials_file).remove
        )
        try:
            if household_id is not None:
                record = erasure.erase_household(household_id, actor=actor)
            else:
                record = erasure.erase_meter(meter_id or "", actor=actor)
        except NotRegistered as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"erased {record.subject_kind} {record.subject_id}: {record.total_rows} row(s) "
            + ", ".join(f"{k}={v}" for k, v in record.rows.items())
        )


def _attach_api_commands() -> None:
    # The API and the one-process site live in their own module; they join the group here.
    from omdp.cli.cloud_api_cmd import api, run

    cloud.add_command(api)
    cloud.add_command(run)


_attach_api_commands()
