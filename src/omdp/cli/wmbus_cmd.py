"""``omdp wmbus``: decode wireless M-Bus / OMS telegrams, and listen to a receiver."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from omdp.cli.mbus_cmd import parse_hex
from omdp.decoders.wmbus import FormatStore, WMBusDecodeError, decode, parse_key
from omdp.decoders.wmbus.json_out import telegram_to_json
from omdp.security.keys import write_private


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return parse_key(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--key") from None


def _load_formats(path: Path | None) -> FormatStore:
    store = FormatStore()
    if path is not None and path.exists():
        try:
            for fmt in json.loads(path.read_text(encoding="utf-8")):
                store.add(bytes.fromhex(fmt))
        except (ValueError, TypeError) as exc:
            msg = f"{path}: not a list of hex formats: {exc}"
            raise click.BadParameter(msg, param_hint="--formats") from None
    return store


@click.group()
def wmbus() -> None:
    """Decode wireless M-Bus (EN 13757-4) and OMS telegrams."""


@wmbus.command("decode")
@click.argument("hex_text", nargs=-1)
@click.option("--key", metavar="HEX", help="The meter's AES-128 key, 32 hex digits.")
@click.option(
    "--format",
    "frame_format",
    type=click.Choice(["auto", "A", "B", "none"]),
    default="auto",
    show_default=True,
    help="Link-layer frame format: A or B with CRCs, none (CRCs removed), or auto.",
)
@click.option(
    "--formats",
    "formats_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of compact-frame formats: read, and updated with full frames decoded.",
)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the telegram from a .hex file instead.",
)
def decode_cmd(
    *,
    hex_text: tuple[str, ...],
    key: str | None,
    frame_format: str,
    formats_file: Path | None,
    file_: Path | None,
) -> None:
    """Decode one telegram given as HEX (from the L-field on) and print it as JSON.

    Exits 1 with the byte offset and the reason on stderr on a bad CRC, a truncated telegram,
    a missing or wrong key, or anything else that cannot be decoded.
    """
    if file_ is not None:
        text = file_.read_text(encoding="latin-1")
    elif hex_text:
        text = " ".join(hex_text)
    else:
        msg = "give HEX or --file"
        raise click.UsageError(msg)
    raw = parse_hex(text)
    store = _load_formats(formats_file)
    known = len(store)
    try:
        tele = decode(raw, key=_key(key), frame_format=frame_format, formats=store)
    except WMBusDecodeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if formats_file is not None and len(store) != known:
        write_private(formats_file, json.dumps(store.export(), indent=1).encode())
    _emit(telegram_to_json(tele))
