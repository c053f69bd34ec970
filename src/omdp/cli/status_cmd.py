"""``omdp status``: one table (or JSON) saying how a running site is."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@click.command()
@click.option("--cloud", envvar="OMDP_STATUS_CLOUD", help="Cloud API base URL.")
@click.option("--edge", envvar="OMDP_STATUS_EDGE", help="Edge HTTP base URL.")
@click.option(
    "--ingest", envvar="OMDP_STATUS_INGEST",
    help="Ingest metrics URL (ingest.metrics_port), e.g. http://host:9102/metrics.",
)  # fmt: skip
@click.option("--token", envvar="OMDP_TOKEN", help="Cloud API bearer token (readings, meters).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Per request, s.")
def status(
    *,
    cloud: str | None,
    edge: str | None,
    ingest: str | None,
    token: str | None,
    as_json: bool,
    timeout: float,
) -> None:
    """Summarise a running site: health, ingest rate and lag, outbox, quarantine, silent
    meters, active alerts. Exit code 1 when something is wrong or does not answer.

    Without options it asks the demo's defaults (cloud :8080, edge :8081 on this machine).
    """
    from rich.console import Console
    from rich.table import Table

    from omdp.ops.status import gather

    if not (cloud or edge or ingest):
        cloud, edge = "http://127.0.0.1:8080", "http://127.0.0.1:8081"
    found = asyncio.run(gather(cloud=cloud, edge=edge, ingest=ingest, token=token, timeout=timeout))
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2))
    else:
        table = Table(title="omdp site status", show_lines=False)
        table.add_column("part")
        table.add_column("check")
        table.add_column("value")
        for part, values in (
            ("cloud", found.cloud),
            ("ingest", found.ingest),
            ("edge", found.edge),
        ):
            for key, value in values.items():
                table.add_row(part, key, _fmt(value))
        console = Console(highlight=False, soft_wrap=True)
        console.print(table)
        for problem in found.problems:
            console.print(f"[bold red]problem:[/] {problem}")
        if found.healthy:
            console.print("[green]all good[/]")
    if not found.healthy:
        raise SystemExit(1)
