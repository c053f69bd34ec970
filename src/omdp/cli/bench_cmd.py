"""``omdp bench``: benchmarks that print figures beside a baseline measured in the same run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from omdp.bench.suite import BENCHMARKS, document, run_suite, table

QUICK_SUITE = ("validation", "mbus", "edge", "ingest", "chain")
"""What ``omdp bench --quick`` runs when no name is given (CI: under two minutes)."""


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(BENCHMARKS)))
@click.option("--quick", is_flag=True, help="Fewer iterations, for CI.")
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Also write every figure as JSON to FILE ('-' for standard output).",
)
@click.option(
    "--all",
    "run_all",
    is_flag=True,
    help="With --quick and no names: run every benchmark (query and api too).",
)
def bench(names: tuple[str, ...], quick: bool, json_file: Path | None, run_all: bool) -> None:
    """Run the named benchmarks (the suite when none is named) and print their figures.

    Each benchmark measures its baseline (a peer library, the raw broker) in the same run,
    because the machine is shared and absolute figures drift. A benchmark that fails is
    reported with its error and the others still run; the exit status is 1 if any failed.
    Without names, --quick runs the CI suite (validation, mbus, edge, ingest, chain) and the
    full run every benchmark.
    """
    chosen = names or (QUICK_SUITE if quick and not run_all else tuple(BENCHMARKS))
    to_stdout = json_file is not None and str(json_file) == "-"
    out = sys.stderr if to_stdout else sys.stdout
    results = run_suite(chosen, quick=quick, out=out)
    print("== figures", file=out)
    for line in table(results):
        print(line, file=out)
    if json_file is not None:
        text = json.dumps(document(results, quick=quick), indent=2) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            json_file.write_text(text)
    if any(not r.ok for r in results):
        sys.exit(1)
