"""``omdp dlms``: decode DLMS/COSEM pushes (HDLC, wired M-Bus, bare APDUs) and print them as JSON.

``omdp dlms decode FILE|HEX`` prints one JSON object per value, like ``omdp dsmr decode``; a
file may hold raw bytes or hex text. Exit status 1 with the precise reason on stderr when a frame
has a bad FCS or checksum, the key is wrong or missing, or a segment sequence is truncated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from omdp.errors import ConfigError


def _read_input(source: str) -> bytes:
    """Bytes of FILE ('-' for stdin) or of HEX text given on the command line."""
    if source == "-":
        data = sys.stdin.buffer.read()
    elif Path(source).is_file():
        data = Path(source).read_bytes()
    else:
        data = source.encode()
    text = data.decode("latin-1")
    compact = "".join(text.split())
    if compact and all(c in "0123456789abcdefABCDEF" for c in compact) and len(compact) % 2 == 0:
        return bytes.fromhex(compact)
    if not Path(source).is_file() and source != "-":
        msg = f"{source!r} is neither a file nor hex text"
        raise click.BadParameter(msg, param_hint="FILE|HEX")
    return data


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


@click.group("dlms")
def dlms() -> None:
    """DLMS/COSEM customer interfaces (AT, CH, NO, SE, LU...) and IEC 62056-21 readouts."""


@dlms.command("decode")
@click.argument("source", metavar="FILE|HEX")
@click.option("--key", help="The household's encryption key (32 hex digits).")
@click.option("--auth-key", help="The authentication key, where the operator uses one.")
@click.option("--profile", help="A shipped DLMS profile: scalers and list layouts (e.g. "
              "dlms-kaifa-ma304).")  # fmt: skip
@click.option("--tz", "zone", default="UTC", show_default=True,
              help="Zone of the meter's clock where a date-time carries no deviation.")  # fmt: skip
def decode(
    source: str, key: str | None, auth_key: str | None, profile: str | None, zone: str
) -> None:
    """Decode every push in FILE or HEX; print one JSON object per value.

    Exits 1 with the reason on stderr when a frame or push could not be decoded.
    """
    from zoneinfo import ZoneInfo

    from omdp.adapter.sources.dlms import dlms_hints, dlms_keys
    from omdp.decoders.dlms import decode_capture
    from omdp.decoders.iec62056_21 import decode_readout, is_readout

    data = _read_input(source)
    try:
        keys = dlms_keys(key, auth_key)
        hints = dlms_hints(profile)
        tz = ZoneInfo(zone)
    except (ConfigError, ValueError, KeyError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if is_readout(data):
        from omdp.errors import DecodeError

        try:
            telegram = decode_readout(data, tz=tz)
        except DecodeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        for value in telegram.values:
            click.echo(json.dumps({"meterId": telegram.meter_id, **value.to_json()}))
        return
    result = decode_capture(data, keys=keys, hints=hints, tz=tz)
    for push in result.pushes:
        extra = {"security": push.security, "frameCounter": push.frame_counter}
        for value in push.telegram.values:
            row = {"meterId": push.telegram.meter_id, **value.to_json(), **extra}
            click.echo(json.dumps(row, ensure_ascii=False))
        for position, raw in enumerate(push.unlabelled):
            row = {"meterId": push.telegram.meter_id, "obis": None, "unlabelled": position,
                   "value": str(_plain(raw))}  # fmt: skip
            click.echo(json.dumps(row, ensure_ascii=False))
    for problem in result.problems:
        click.echo(f"error: {problem}", err=True)
    if result.problems:
        sys.exit(1)
