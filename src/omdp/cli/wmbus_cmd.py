"""``omdp wmbus``: decode wireless M-Bus / OMS telegrams, and listen to a receiver."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from omdp.cli.mbus_cmd import hex_input
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
        except (ValueError, TypeError, WMBusDecodeError) as exc:
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
    "--context",
    "contexts",
    multiple=True,
    metavar="HEX",
    help="An earlier telegram of the same meter, decoded first (repeatable, oldest first): "
    "a compact frame needs its meter's full frame.",
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
    contexts: tuple[str, ...],
    file_: Path | None,
) -> None:
    """Decode one telegram given as HEX (from the L-field on) and print it as JSON.

    Exits 1 with the byte offset and the reason on stderr on a bad CRC, a truncated telegram,
    a missing or wrong key, or anything else that cannot be decoded.
    """
    raw = hex_input(hex_text, file_)
    store = _load_formats(formats_file)
    known = store.export()
    secret = _key(key)
    for n, text in enumerate(contexts, 1):
        try:
            decode(hex_input((text,), None), key=secret, frame_format=frame_format, formats=store)
        except WMBusDecodeError as exc:
            click.echo(f"warning: --context {n} not decoded: {exc}", err=True)
    try:
        tele = decode(raw, key=secret, frame_format=frame_format, formats=store)
    except WMBusDecodeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if formats_file is not None and store.export() != known:
        write_private(formats_file, json.dumps(store.export(), indent=1).encode())
    _emit(telegram_to_json(tele))


def _keys(pairs: tuple[str, ...]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for pair in pairs:
        ident, sep, text = pair.partition("=")
        if not sep or len(ident) != 8:
            msg = f"{pair!r}: expected ID=KEY, an 8-digit meter id and 32 hex digits"
            raise click.BadParameter(msg, param_hint="--key")
        keys[ident.upper()] = _key(text) or b""
    return keys


@wmbus.command("listen")
@click.option(
    "--dongle",
    type=click.Choice(["im871a", "amb8465", "rtlwmbus"]),
    required=True,
    help="The receiver's protocol.",
)
@click.option("--serial", "serial_dev", metavar="DEVICE", help="Serial port of the receiver.")
@click.option("--tcp", metavar="HOST:PORT", help="A TCP bridge to the receiver.")
@click.option("--baudrate", type=int, help="Default: 57600 (iM871A), 9600 (AMB8465).")
@click.option("--key", "keys", multiple=True, metavar="ID=KEY", help="A meter's AES key.")
@click.option(
    "--link-mode",
    metavar="MODE",
    help="Set the dongle to the meters' link mode first (iM871A: S1, S1m, T1, T2, C1a, C1b; "
    "AMB8465: S1, T1, C1, C1T1).",
)
@click.option("--count", type=int, default=0, help="Stop after this many telegrams (0: never).")
def listen_cmd(
    *,
    dongle: str,
    serial_dev: str | None,
    tcp: str | None,
    baudrate: int | None,
    keys: tuple[str, ...],
    link_mode: str | None,
    count: int,
) -> None:
    """Print every telegram a receiver hears as one JSON line: to find your meters' ids.

    Without --serial or --tcp, reads rtl-wmbus lines (or hex lines) on standard input.
    """
    import asyncio

    from omdp.adapter.radio import DONGLE_BAUDRATES
    from omdp.adapter.sources.streams import ByteStream, connector, split_host_port
    from omdp.adapter.sources.wmbus import StdinStream
    from omdp.errors import OmdpError
    from omdp.wmbus.dongles import RadioFrame, make_decoder
    from omdp.wmbus.setup import check_link_mode, configure

    try:
        check_link_mode(dongle, link_mode)
    except OmdpError as exc:
        raise click.BadParameter(str(exc), param_hint="--link-mode") from None
    by_id = _keys(keys)
    store = FormatStore()

    def line(frame: Any) -> dict[str, Any]:
        ident = bytes(frame.data[4:8])[::-1].hex().upper() if len(frame.data) >= 8 else None
        try:
            tele = decode(frame.data, key=by_id.get(ident or ""), formats=store)
        except WMBusDecodeError as exc:
            return {"id": ident, "rssiDbm": frame.rssi_dbm, "error": str(exc)}
        doc = telegram_to_json(tele)
        header = doc["header"]
        values = {
            r.get("name") or f"{r['quantity']}[{r['storageNumber']}]": [r["value"], r["unit"]]
            for r in doc["records"]
            if isinstance(r["value"], int | float)
        }
        return {
            "id": header["id"],
            "manufacturer": header["manufacturer"],
            "medium": header["medium"],
            "security": header["security"],
            "rssiDbm": frame.rssi_dbm,
            "driver": doc.get("driver"),
            "values": values,
        }

    async def run() -> None:
        if serial_dev is None and tcp is None:
            stream: ByteStream = StdinStream()
        else:
            connect = connector(
                tcp=split_host_port(tcp) if tcp else None,
                serial=serial_dev,
                baudrate=baudrate or DONGLE_BAUDRATES[dongle],
                serial_format="8N1",
            )
            stream = await connect()
        decoder = make_decoder(dongle)
        seen = 0

        def show(frame: RadioFrame) -> None:
            nonlocal seen
            if count and seen >= count:
                return
            click.echo(json.dumps(line(frame), ensure_ascii=False, default=str))
            seen += 1

        try:
            if link_mode is not None:
                await configure(stream, dongle, link_mode, decoder, on_frame=show)
            while not count or seen < count:
                received = decoder.feed(await stream.read(1.0))
                for problem in received.problems:
                    click.echo(f"dropped: {problem}", err=True)
                for frame in received.frames:
                    show(frame)
        finally:
            await stream.close()

    try:
        asyncio.run(run())
    except OmdpError as exc:
        if count or "standard input closed" not in str(exc):
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    except KeyboardInterrupt:
        pass
