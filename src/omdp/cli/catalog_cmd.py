"""``omdp catalog``: list the operational properties."""

from __future__ import annotations

import json
from pathlib import Path

import click

from omdp.catalog import Catalog
from omdp.domain.reading import MeterClass
from omdp.errors import CatalogError


@click.command()
@click.argument("text", required=False)
@click.option(
    "--class",
    "meter_class",
    type=click.Choice([c.value for c in MeterClass], case_sensitive=False),
    help="Only properties of this meter class.",
)
@click.option(
    "--extra",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A deployment's own catalogue file (JSON or YAML); may be repeated.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def catalog(
    text: str | None, meter_class: str | None, extra: tuple[Path, ...], as_json: bool
) -> None:
    """List operational properties whose id or description contains TEXT."""
    try:
        cat = Catalog.load(extra)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    found = cat.search(
        meter_class=MeterClass(meter_class.upper()) if meter_class else None, text=text
    )
    if as_json:
        rows = [
            {
                "id": e.id,
                "description": e.description,
                "allowedUnits": list(e.allowed_units),
                "catalogue": e.catalogue,
                "kind": e.kind.value,
                "meterClasses": [c.value for c in e.meter_classes],
            }
            for e in found
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for e in found:
        units = ",".join(e.allowed_units) or "-"
        click.echo(f"{e.id:32} {units:14} {e.kind.value:13} {e.description or ''}")
    click.echo(f"{len(found)} of {len(cat)} properties", err=True)
