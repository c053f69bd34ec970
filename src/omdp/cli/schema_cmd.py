"""``omdp schema``: print or write the published JSON Schemas."""

from __future__ import annotations

from pathlib import Path

import click

from omdp.schemas import SCHEMAS, schema_text


@click.command()
@click.argument("name", required=False, type=click.Choice(sorted(SCHEMAS)))
@click.option(
    "--write",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every schema as NAME.json into this folder instead.",
)
def schema(name: str | None, out_dir: Path | None) -> None:
    """Print the JSON Schema NAME (or list the names when none is given)."""
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for each in sorted(SCHEMAS):
            (out_dir / f"{each}.json").write_text(schema_text(each), encoding="utf-8")
            click.echo(f"wrote {out_dir / each}.json")
        return
    if name is None:
        for each in sorted(SCHEMAS):
            click.echo(f"{each:24} {SCHEMAS[each][2]}")
        return
    click.echo(schema_text(name), nl=False)
