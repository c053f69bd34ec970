"""``omdp import`` and ``omdp export``: readings in from CSV or NDJSON, out as CSV, NDJSON or
Parquet, straight to and from the cloud's store (the ``db`` of a cloud settings file)."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from omdp.cli.cloud_common import cloud_settings, opened_store

if TYPE_CHECKING:
    from rich.progress import Progress

    from omdp.cloud.storage.port import ReadingStore

SHOWN_SKIPS = 20

_CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The cloud's YAML settings (its db.url is used); OMDP_CLOUD_* override it.",
)


def _store(config_file: Path | None) -> contextlib.AbstractContextManager[ReadingStore]:
    """The store of the cloud settings in ``config_file``; errors become click errors."""
    return opened_store(cloud_settings(config_file))


def _progress(what: str) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    )


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_CONFIG
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "ndjson"]), default=None,
    help="Default: from the file name (.csv; .ndjson, .jsonl).",
)  # fmt: skip
def import_(file: Path, config_file: Path | None, fmt: str | None) -> None:
    """Backfill historic readings from FILE (CSV or NDJSON); importing again adds nothing.

    CSV: columns readingTime, meterId, propertyId, numericalValue, textValue, unit; one row per
    value, the rows of one reading (same meterId and readingTime) adjacent. NDJSON: one
    MeterReading per line. Bad rows are skipped and listed with their line numbers.
    """
    from omdp.ops.importer import format_of, import_readings

    try:
        kind = fmt or format_of(file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    size = file.stat().st_size
    with _store(config_file) as store, file.open("rb") as raw, _progress("import") as bar:
        task = bar.add_task("import", total=size)
        lines = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            report = import_readings(
                store,
                lines,
                fmt="csv" if kind == "csv" else "ndjson",
                progress=lambda _n: bar.update(task, completed=min(raw.tell(), size)),
            )
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"{file}: {exc}"
            raise click.ClickException(msg) from None
        finally:
            lines.detach()
        bar.update(task, completed=size)
    click.echo(
        f"{report.readings} reading(s) read: {report.stored} stored, "
        f"{report.duplicates} already stored, {len(report.skipped)} line(s) skipped"
    )
    for line, reason in report.skipped[:SHOWN_SKIPS]:
        click.echo(f"  line {line}: {reason}")
    if len(report.skipped) > SHOWN_SKIPS:
        click.echo(f"  ... and {len(report.skipped) - SHOWN_SKIPS} more")


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        msg = f"{name} must include a timezone offset, e.g. 2024-01-01T00:00:00+01:00"
        raise click.BadParameter(msg, param_hint=name)
    return value


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return _aware(datetime.fromisoformat(text), name)
    except ValueError:
        msg = f"{text!r} is not an RFC 3339 time"
        raise click.BadParameter(msg, param_hint=name) from None


@click.command()
@_CONFIG
@click.option("--from", "start", help="Readings at or after this time (RFC 3339).")
@click.option("--to", "end", help="Readings before this time (RFC 3339).")
@click.option("--meter", "meters", multiple=True, help="Only this meter (repeatable).")
@click.option("--property", "properties", multiple=True,
              help="Only values of this property (repeatable).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["csv", "ndjson", "parquet"]),
              default="csv", show_default=True)  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export(
    *,
    config_file: Path | None,
    start: str | None,
    end: str | None,
    meters: tuple[str, ...],
    properties: tuple[str, ...],
    fmt: str,
    out: Path,
) -> None:
    """Write stored readings to a CSV, NDJSON or Parquet file."""
    from omdp.cloud.model import ReadingFilter
    from omdp.ops.exporter import export_readings

    flt = ReadingFilter(
        start=_when(start, "--from"),
        end=_when(end, "--to"),
        meter_ids=meters or None,
        properties=properties or None,
    )
    with _store(config_file) as store, _progress("export") as bar:
        task = bar.add_task("export", total=store.count_readings(flt))
        written = export_readings(
            store,
            flt,
            out,
            fmt="parquet" if fmt == "parquet" else "ndjson" if fmt == "ndjson" else "csv",
            progress=lambda n: bar.advance(task, n),
        )
    click.echo(f"{written} reading(s) written to {out}")


__all__ = ["export", "import_"]
