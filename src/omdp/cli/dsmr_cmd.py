"""``omdp dsmr``: decode DSMR P1 telegrams from a file or stdin and print them as JSON lines."""

from __future__ import annotations

import json
import sys
from typing import BinaryIO

import click

from omdp.errors import DecodeError


@click.group("dsmr")
def dsmr() -> None:
    """DSMR P1 telegrams (Dutch, Belgian, Luxembourg... smart meters)."""


@dsmr.command("decode")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--spec",
    default="auto",
    show_default=True,
    help="Force a specification (auto detects it): v2.2, v3, v4, v5, belgian, luxembourg, "
    "msn, sweden, sagemcom-t210-d-r, energienetze-steiermark, iskra-ie, eon-hungary, q3d.",
)
@click.option("--strict", is_flag=True, help="Fail on a line the spec cannot parse.")
def decode(file: BinaryIO, spec: str, strict: bool) -> None:
    """Decode every telegram in FILE ('-' for stdin); print one JSON object per value.

    Exits 1 with the reason on stderr when a telegram has a bad CRC or is truncated.
    """
    from omdp.decoders.dsmr import TelegramSplitter, decode_telegram

    data = file.read()
    splitter = TelegramSplitter()
    telegrams = splitter.feed(data)
    if not telegrams:  # a single telegram without its final line end, or garbage
        telegrams = [data]
    try:
        for raw in telegrams:
            telegram = decode_telegram(raw, spec=spec, strict=strict)
            for value in telegram.values:
                row = {"meterId": telegram.meter_id, **value.to_json()}
                click.echo(json.dumps(row, ensure_ascii=False))
    except (DecodeError, KeyError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if splitter.truncated:
        click.echo(f"error: {splitter.truncated} truncated telegram(s) dropped", err=True)
        sys.exit(1)


@dsmr.command("compare")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--spec", default="auto", show_default=True, help="Ours: auto, or one forced.")
@click.option("--misses", is_flag=True, help="List every value of the reference we lack.")
def compare_cmd(files: tuple[str, ...], spec: str, misses: bool) -> None:
    """Measure our decoding of telegram FILES against dsmr_parser with its best specification
    for each telegram: the share of its values (value, unit, time) that we give too."""
    from pathlib import Path

    from omdp.decoders.dsmr.reference import compare

    named = [(name, Path(name).read_bytes().decode("latin-1")) for name in files]
    result = compare(named, spec=spec)
    for name, best in result.specs.items():
        click.echo(f"{name}: dsmr_parser's best specification {best}")
    if misses:
        for name, ref in result.missed:
            click.echo(f"missing in {name}: {ref}")
    click.echo(
        f"{result.matched} of {result.total} values of dsmr_parser = {100 * result.share:.2f} % "
        f"({result.same_type} of the same type)"
    )
