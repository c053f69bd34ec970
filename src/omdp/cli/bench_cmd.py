"""``omdp bench``: benchmarks that print figures beside a baseline measured in the same run."""

from __future__ import annotations

import importlib

import click

#: benchmark name -> (module, function, one-line help); each function takes ``quick: bool``.
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "validation": (
        "omdp.bench.validation_bench",
        "run",
        "Parse and validate MeterReadings against pydantic-core and msgspec.",
    ),
    "mbus": (
        "omdp.bench.mbus_bench",
        "run",
        "Decode the M-Bus corpus against pyMeterBus.",
    ),
    "edge": (
        "omdp.bench.edge_bench",
        "run",
        "Edge forwarding rate and backlog drain against the raw broker rate.",
    ),
    "ingest": (
        "omdp.bench.ingest_bench",
        "run",
        "End-to-end cloud ingest on SQLite and PostgreSQL against the raw broker rate.",
    ),
    "api": (
        "omdp.bench.api_bench",
        "run",
        "HTTP query latency and bulk-download rate with the server's peak memory.",
    ),
    "query": (
        "omdp.bench.query_bench",
        "run",
        "Query latency at 10 million property values.",
    ),
}


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(BENCHMARKS)))
@click.option("--quick", is_flag=True, help="Fewer iterations, for CI.")
def bench(names: tuple[str, ...], quick: bool) -> None:
    """Run the named benchmarks (all when none is named) and print their figures.

    Each benchmark measures its baseline (a peer library, the raw broker) in the same run,
    because the machine is shared and absolute figures drift.
    """
    for name in names or tuple(BENCHMARKS):
        module_name, attr, _ = BENCHMARKS[name]
        click.echo(f"== {name}")
        getattr(importlib.import_module(module_name), attr)(quick=quick)
