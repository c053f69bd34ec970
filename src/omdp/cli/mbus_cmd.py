"""``omdp mbus``: decode M-Bus frames, read a meter through the master, scan a bus."""

from __future__ import annotations

import asyncio
import json
import string
import sys
from pathlib import Path
from typing import Any

import click

from omdp.decoders.mbus import MBusDecodeError, decode
from omdp.decoders.mbus.json_out import frame_to_json
from omdp.errors import OmdpError


def parse_hex(text: str) -> bytes:
    """Read hex with or without spaces (``0x`` prefixes and newlines allowed).

    Raises:
        click.BadParameter: the text is not whole hex bytes.
    """
    cleaned = "".join(t.removeprefix("0x").removeprefix("0X") for t in text.split())
    if len(cleaned) % 2 or any(c not in string.hexdigits for c in cleaned):
        msg = "expected hex bytes, e.g. '68 03 03 68 08 01 72 7B 16' or '680303680801727B16'"
        raise click.BadParameter(msg)
    return bytes.fromhex(cleaned)


def hex_input(hex_text: tuple[str, ...], file_: Path | None) -> bytes:
    """Return the bytes given as HEX arguments or in a .hex file (``--file``).

    Raises:
        click.UsageError: neither was given.
        click.BadParameter: the text is not whole hex bytes.
    """
    if file_ is not None:
        text = file_.read_text(encoding="latin-1")
    elif hex_text:
        text = " ".join(hex_text)
    else:
        msg = "give HEX or --file"
        raise click.UsageError(msg)
    return parse_hex(text)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group()
def mbus() -> None:
    """Decode wired M-Bus frames (EN 13757-2/-3) and read meters over serial or TCP."""


@mbus.command("decode")
@click.argument("hex_text", nargs=-1)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the frame from a .hex file instead.",
)
def decode_cmd(*, hex_text: tuple[str, ...], file_: Path | None) -> None:
    """Decode one frame given as HEX and print it as JSON.

    Exits 1 with the byte offset and the reason on stderr when the frame cannot be decoded.
    """
    raw = hex_input(hex_text, file_)
    try:
        frame = decode(raw)
    except MBusDecodeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    _emit(frame_to_json(frame))


def _transport_options(func: Any) -> Any:
    options = [
        click.option("--tcp", metavar="HOST:PORT", help="M-Bus-to-TCP gateway."),
        click.option(
            "--serial", "serial_dev", metavar="DEVICE", help="Serial port of a level converter."
        ),
        click.option("--baudrate", type=int, default=2400, show_default=True),
        click.option(
            "--timeout",
            type=float,
            default=1.0,
            show_default=True,
            help="Seconds to wait for each answer.",
        ),
        click.option(
            "--retries",
            type=int,
            default=3,
            show_default=True,
            help="Repeats of a request that gets no valid answer.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make_transport(tcp: str | None, serial_dev: str | None, baudrate: int) -> Any:
    from omdp.mbus.transport import SerialTransport, TcpTransport

    if (tcp is None) == (serial_dev is None):
        msg = "give exactly one of --tcp HOST:PORT and --serial DEVICE"
        raise click.UsageError(msg)
    if tcp is not None:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            msg = "expected HOST:PORT"
            raise click.BadParameter(msg, param_hint="--tcp")
        return TcpTransport(host, int(port))
    return SerialTransport(serial_dev or "", baudrate=baudrate)


@mbus.command("read")
@_transport_options
@click.option("--address", type=click.IntRange(0, 250), help="Primary address (0-250).")
@click.option("--secondary", metavar="ID", help="Secondary address, 8 digits, F = wildcard.")
def read_cmd(
    *,
    tcp: str | None,
    serial_dev: str | None,
    baudrate: int,
    timeout: float,
    retries: int,
    address: int | None,
    secondary: str | None,
) -> None:
    """Read a meter (all telegrams) and print a JSON list, one object per telegram."""
    from omdp.mbus.master import MBusMaster

    if (address is None) == (secondary is None):
        msg = "give exactly one of --address N and --secondary ID"
        raise click.UsageError(msg)
    transport = _make_transport(tcp, serial_dev, baudrate)

    async def run() -> list[dict[str, Any]]:
        async with MBusMaster(transport, timeout=timeout, retries=retries) as master:
            if secondary is not None:
                frames = await master.read_secondary(secondary)
            else:
                frames = await master.read(address or 0)
        return [frame_to_json(f) for f in frames]

    try:
        _emit(asyncio.run(run()))
    except OmdpError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@mbus.command("scan")
@_transport_options
def scan_cmd(
    *, tcp: str | None, serial_dev: str | None, baudrate: int, timeout: float, retries: int
) -> None:
    """Find every meter by secondary address (wildcard search) and print them as JSON."""
    from omdp.mbus.master import MBusMaster

    transport = _make_transport(tcp, serial_dev, baudrate)

    async def run() -> list[dict[str, Any]]:
        async with MBusMaster(transport, timeout=timeout, retries=retries) as master:
            found = await master.scan_secondary()
        return [
            {
                "secondary": a.id,
                "manufacturer": a.manufacturer,
                "version": a.version,
                "medium": a.medium,
            }
            for a in found
        ]

    try:
        _emit(asyncio.run(run()))
    except OmdpError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
