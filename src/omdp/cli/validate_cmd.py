"""``omdp validate``: check MeterReading JSON files against the data model."""

from __future__ import annotations

from pathlib import Path

import click

from omdp.catalog import Catalog
from omdp.domain.validation import parse_reading, unit_issues
from omdp.errors import CatalogError, ValidationFailure


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--catalog",
    "catalog_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An extra property catalogue (JSON or YAML); may be repeated.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
def validate(files: tuple[Path, ...], catalog_files: tuple[Path, ...], quiet: bool) -> None:
    """Validate MeterReading JSON FILES; exit 0 when all are valid, 1 otherwise.

    Each problem is printed with its JSON path and reason. Units outside a property's allowed
    units are warnings: such readings are valid and stored, flagged as unit mismatches.
    """
    try:
        catalog = Catalog.load(catalog_files)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    failed = 0
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            failed += 1
            click.echo(f"{file}: cannot read: {exc.strerror}", err=True)
            continue
        try:
            reading = parse_reading(data, source=str(file))
        except ValidationFailure as exc:
            failed += 1
            click.echo(f"INVALID {exc}", err=True)
            continue
        warnings = unit_issues(reading, catalog)
        unknown = [
            f"$.propertyValues[{i}].operationalPropertyDefinition.propertyId: "
            f"{v.property_id!r} is not in the catalogue"
            for i, v in enumerate(reading.property_values)
            if v.property_id not in catalog
        ]
        if not quiet:
            click.echo(f"valid   {file}")
        for line in [*map(str, warnings), *unknown]:
            click.echo(f"  warning: {line}", err=True)
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) invalid", err=True)
        raise SystemExit(1)
