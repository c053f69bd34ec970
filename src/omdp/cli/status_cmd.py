"""``omdp status``: one table (or JSON) saying how a running site is."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import click


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _urls(values: tuple[str, ...]) -> list[str]:
    """Every URL given, also several in one value separated by commas or spaces (env vars)."""
    return [url for value in values for url in value.replace(",", " ").split()]


@click.command()
@click.option("--cloud", envvar="OMDP_STATUS_CLOUD", help="Cloud API base URL.")
@click.option(
    "--edge", "edges", multiple=True, envvar="OMDP_STATUS_EDGE",
    help="Edge HTTP base URL; repeat for every edge.",
)  # fmt: skip
@click.option(
    "--ingest", "ingests", multiple=True, envvar="OMDP_STATUS_INGEST",
    help="Ingest metrics URL (ingest.metrics_port), e.g. http://host:9101/metrics; repeat for "
    "every ingest process.",
)  # fmt: skip
@click.option(
    "--adapter", "adapters", multiple=True, envvar="OMDP_STATUS_ADAPTER",
    help="Adapter metrics URL (omdp adapter run --metrics-port); repeat for every adapter.",
)  # fmt: skip
@click.option("--token", envvar="OMDP_TOKEN", help="Cloud API bearer token (operate scope).")
@click.option(
    "--edge-token", envvar="OMDP_EDGE_TOKEN",
    help="A bearer token the edges accept, for their alerts (omdp edge token: an entry of the "
    "edge's api.tokens). Default: --token, which the demo's edge takes and a deployed edge "
    "does not.",
)  # fmt: skip
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="OMDP_STATUS_CA_FILE",
    help="CA certificate that HTTPS parts must chain to (the site CA of omdp certs init); "
    "default: the system's CAs.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Per request, s.")
@click.option(
    "--max-lag", type=float, default=60.0, show_default=True,
    help="Newest stored reading (or an ingest's commit lag) older than this many s: a problem.",
)  # fmt: skip
@click.option(
    "--max-unreceipted", type=float, default=120.0, show_default=True,
    help="An edge's or adapter's oldest reading not confirmed downstream for longer: a problem.",
)  # fmt: skip
@click.option(
    "--sample", type=float, default=5.0, show_default=True,
    help="Seconds between the two reads of the counters (rates, stalls).",
)  # fmt: skip
@click.option(
    "--gap-hours", type=float, default=1.0, show_default=True,
    help="Missing sequence numbers of a meter in this many last hours: a problem.",
)  # fmt: skip
def status(
    *,
    cloud: str | None,
    edges: tuple[str, ...],
    ingests: tuple[str, ...],
    adapters: tuple[str, ...],
    token: str | None,
    edge_token: str | None,
    ca_file: Path | None,
    as_json: bool,
    timeout: float,
    max_lag: float,
    max_unreceipted: float,
    sample: float,
    gap_hours: float,
) -> None:
    """Summarise a running site: health of every part, rates over the last seconds, lag,
    stalled or disconnected ingests, readings not yet receipted by the cloud, meters silent or
    with gaps in their sequence numbers, active alerts. Exit code 1 when something is wrong or
    does not answer ("not good").

    Without options it asks the demo's defaults (cloud :8080, edge :8081 on this machine).
    """
    from rich.console import Console
    from rich.table import Table

    from omdp.ops.status import Thresholds, gather

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    edge_urls, ingest_urls, adapter_urls = _urls(edges), _urls(ingests), _urls(adapters)
    if not (cloud or edge_urls or ingest_urls or adapter_urls):
        cloud, edge_urls = "http://127.0.0.1:8080", ["http://127.0.0.1:8081"]
    limits = Thresholds(
        max_lag_s=max_lag, max_unreceipted_s=max_unreceipted, sample_s=sample, gap_hours=gap_hours
    )
    found = asyncio.run(
        gather(
            cloud=cloud,
            edges=edge_urls,
            ingests=ingest_urls,
            adapters=adapter_urls,
            token=token,
            timeout=timeout,
            limits=limits,
            edge_token=edge_token,
            ca_file=ca_file,
        )
    )
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2))
    else:
        table = Table(title="omdp site status", show_lines=False)
        table.add_column("part")
        table.add_column("check")
        table.add_column("value")
        parts = [("cloud", found.cloud)] if found.cloud else []
        parts += [(f"ingest {n + 1}", values) for n, values in enumerate(found.ingests)]
        parts += [(f"edge {n + 1}", values) for n, values in enumerate(found.edges)]
        parts += [(f"adapter {n + 1}", values) for n, values in enumerate(found.adapters)]
        for part, values in parts:
            for key, value in values.items():
                table.add_row(part, key, _fmt(value))
        console = Console(highlight=False, soft_wrap=True)
        console.print(table)
        for problem in found.problems:
            console.print(f"[bold red]problem:[/] {problem}")
        console.print("[green]all good[/]" if found.healthy else "[bold red]not good[/]")
    if not found.healthy:
        raise SystemExit(1)
