"""``omdp sml``: decode SML files (binary or hex dumps) and print their values as JSON lines."""

from __future__ import annotations

import json
import re
import sys
from typing import BinaryIO

import click

from omdp.errors import DecodeError

_HEX_TEXT = re.compile(rb"^[0-9a-fA-F\s]*$")


def _binary(data: bytes) -> bytes:
    """Hex text dumps (whitespace and line breaks allowed) become bytes; binary stays."""
    if data and _HEX_TEXT.match(data):
        digits = re.sub(rb"\s", b"", data)
        if len(digits) % 2 == 0:
            return bytes.fromhex(digits.decode("ascii"))
    return data


@click.group("sml")
def sml() -> None:
    """SML 1.04 telegrams (German eHZ smart meters)."""


@sml.command("decode")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--stream",
    is_flag=True,
    help="Serial dump: skip noise, truncated and bad files, report counts on stderr.",
)
@click.option("--no-message-crc", is_flag=True, help="Check only the file CRC, not each message's.")
def decode(file: BinaryIO, stream: bool, no_message_crc: bool) -> None:
    """Decode every SML file in FILE ('-' for stdin, binary or hex text); one JSON line per value.

    Exits 1 with the reason on stderr on a bad CRC, a truncated file or garbage (without
    ``--stream``), or when no file decodes.
    """
    from omdp.decoders.sml import SmlStreamDecoder

    decoder = SmlStreamDecoder(strict=not stream, message_crc=not no_message_crc)
    try:
        telegrams = decoder.feed(_binary(file.read()))
        decoder.finish()
    except DecodeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for telegram in telegrams:
        for value in telegram.values:
            row = {"meterId": telegram.meter_id, **value.to_json()}
            click.echo(json.dumps(row, ensure_ascii=False))
    if stream:
        click.echo(
            f"files={decoder.files} skipped_bytes={decoder.skipped_bytes} "
            f"crc_errors={decoder.crc_errors} bad_files={decoder.bad_files} "
            f"truncated={decoder.truncated}",
            err=True,
        )
    if not telegrams:
        click.echo("error: no SML file decoded", err=True)
        sys.exit(1)
