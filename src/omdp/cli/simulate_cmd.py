"""``omdp simulate``: simulated meters (DSMR P1, SML, wired/wireless M-Bus, DLMS), TCP or pty.

Each command prints where it listens as one line on stdout (``listening tcp 127.0.0.1:40001``
or ``listening pty /dev/pts/5``) and runs until Ctrl-C or SIGTERM, then stops cleanly. Adapters
and tests point their ``tcp`` or ``serial`` setting there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import click

from omdp.ops.bounded_run import until_signal
from omdp.simulators.mbus_meters import MBUS_METERS, mbus_meters
from omdp.simulators.profiles import HouseholdProfile


def _profile(seed: int, pv: bool) -> HouseholdProfile:
    now = time.time()
    return HouseholdProfile(seed=seed, origin=now - now % 10, pv_peak_w=3500.0 if pv else 0.0)


def _listen_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--pty", "use_pty", is_flag=True, help="Serve on a pseudo-terminal instead of TCP."
    )(func)
    func = click.option(
        "--tcp-port", type=click.IntRange(0, 65535), default=0, show_default=True,
        help="TCP port to listen on (0: a free one).",
    )(func)  # fmt: skip
    return click.option("--host", default="127.0.0.1", show_default=True)(func)


def _push_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--pv", is_flag=True, help="Add a PV system (export around noon).")(func)
    func = click.option("--seed", type=int, default=0, show_default=True, help="Load noise.")(func)
    func = click.option(
        "--interval", type=click.FloatRange(0.01, 3600), default=10.0, show_default=True,
        help="Seconds between telegrams.",
    )(func)  # fmt: skip
    return _listen_options(func)


async def _serve_stream(
    frame_at: Callable[[float], bytes], *, interval: float, host: str, port: int, use_pty: bool
) -> None:
    from omdp.simulators.dsmr_meter import MeterStreamServer

    async with MeterStreamServer(frame_at, interval=interval, host=host, port=port) as server:
        where = f"pty {server.open_pty()}" if use_pty else f"tcp {host}:{server.port}"
        click.echo(f"listening {where}")
        await until_signal()


@click.group("simulate")
def simulate() -> None:
    """Simulated meters for tests and demonstrations."""


@simulate.command("dsmr")
@_push_options
def dsmr(*, host: str, tcp_port: int, use_pty: bool, interval: float, seed: int, pv: bool) -> None:
    """A DSMR 5 household meter (with a gas sub-meter) sending P1 telegrams."""
    from omdp.simulators.dsmr_meter import DsmrMeter

    meter = DsmrMeter(profile=_profile(seed, pv))
    coro = _serve_stream(
        meter.telegram_at, interval=interval, host=host, port=tcp_port, use_pty=use_pty
    )
    asyncio.run(coro)


@simulate.command("sml")
@_push_options
def sml(*, host: str, tcp_port: int, use_pty: bool, interval: float, seed: int, pv: bool) -> None:
    """An SML eHZ household meter sending SML files."""
    from omdp.simulators.sml_meter import SmlMeter

    meter = SmlMeter(profile=_profile(seed, pv))
    asyncio.run(
        _serve_stream(meter.file_at, interval=interval, host=host, port=tcp_port, use_pty=use_pty)
    )


@simulate.command("dlms")
@_push_options
@click.option("--profile", "meter_profile", default="dlms-kaifa-ma309", show_default=True,
              help="A shipped DLMS profile (its link and list layout): dlms-kaifa-ma309, "
              "dlms-siemens-im350, dlms-kaifa-ma304, ...")  # fmt: skip
@click.option("--key", default=None, help="Encryption key, 32 hex digits (default: the demo key; "
              "'none' for plain pushes).")  # fmt: skip
@click.option("--auth-key", default=None, help="Authentication key: pushes are then authenticated.")
@click.option("--link", type=click.Choice(["mbus", "hdlc"]), default=None,
              help="Framing (default: the profile's).")  # fmt: skip
def dlms(
    *,
    host: str,
    tcp_port: int,
    use_pty: bool,
    interval: float,
    seed: int,
    pv: bool,
    meter_profile: str,
    key: str | None,
    auth_key: str | None,
    link: str | None,
) -> None:
    """A DLMS/COSEM push meter sending AES-GCM ciphered pushes (HDLC or M-Bus)."""
    from omdp.decoders.dlms import DlmsKeys
    from omdp.simulators.dlms_meter import DEMO_KEY, DlmsMeter

    chosen = key or DEMO_KEY
    keys = None if chosen.lower() == "none" else DlmsKeys.from_hex(chosen, auth_key)
    meter = DlmsMeter(profile=_profile(seed, pv), meter_profile=meter_profile, keys=keys, link=link)
    asyncio.run(
        _serve_stream(meter.frame_at, interval=interval, host=host, port=tcp_port, use_pty=use_pty)
    )


async def _serve_mbus(meters: list[Any], *, host: str, port: int, use_pty: bool) -> None:
    from omdp.simulators.mbus_slave import MBusSlaveSimulator, PtySlave

    bus = MBusSlaveSimulator(meters)
    if use_pty:
        async with PtySlave(bus) as pty:
            click.echo(f"listening pty {pty.path}")
            await until_signal()
        return
    async with bus.serve_tcp(host, port) as bound:
        click.echo(f"listening tcp {host}:{bound}")
        await until_signal()


@simulate.command("mbus")
@_listen_options
@click.option(
    "--meters", default=",".join(MBUS_METERS), show_default=True,
    help="Comma-separated meters on the bus: electricity (address 1), water (2), heat (3).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Load noise.")
def mbus(*, host: str, tcp_port: int, use_pty: bool, meters: str, seed: int) -> None:
    """A wired M-Bus with simulated meters, answering REQ_UD2 and secondary selection."""
    names = [n.strip().lower() for n in meters.split(",") if n.strip()]
    unknown = sorted(set(names) - set(MBUS_METERS))
    if unknown or not names:
        msg = f"unknown meter(s) {', '.join(unknown) or '(none)'}; use {', '.join(MBUS_METERS)}"
        raise click.BadParameter(msg, param_hint="--meters")
    specs = mbus_meters(names, _profile(seed, pv=False))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_mbus(specs, host=host, port=tcp_port, use_pty=use_pty))


@simulate.command("wmbus")
@_listen_options
@click.option(
    "--meters", default="water,heat,gas", show_default=True,
    help="Comma-separated radio meters: water (mode 5), heat (mode 7), gas (mode 5).",
)  # fmt: skip
@click.option(
    "--dongle", type=click.Choice(["im871a", "amb8465", "rtlwmbus"]), default="im871a",
    show_default=True, help="The receiver protocol the simulated dongle speaks.",
)  # fmt: skip
@click.option(
    "--interval", type=click.FloatRange(0.01, 3600), default=10.0, show_default=True,
    help="Seconds between transmissions of each meter.",
)  # fmt: skip
@click.option(
    "--link-mode", type=click.Choice(["S1", "T1", "C1"]), default="T1", show_default=True,
    help="The meters' link mode. A simulated iM871A or AMB8465 starts in another one and "
    "passes telegrams on once the host sets this one (the adapter's linkMode).",
)  # fmt: skip
def wmbus(
    *,
    host: str,
    tcp_port: int,
    use_pty: bool,
    meters: str,
    dongle: str,
    interval: float,
    link_mode: str,
) -> None:
    """Radio meters sending encrypted OMS telegrams through a simulated wM-Bus dongle.

    Prints each meter's id and AES key first (one line each), then where it listens. The
    iM871A and AMB8465 dongles answer their configuration commands on the same line.
    """
    from omdp.simulators.wmbus_dongle import DongleServer, SimulatedDongle
    from omdp.simulators.wmbus_meters import WMBUS_METERS, SimulatedRadio, radio_meters

    names = [n.strip().lower() for n in meters.split(",") if n.strip()]
    unknown = sorted(set(names) - set(WMBUS_METERS))
    if unknown or not names:
        msg = f"unknown meter(s) {', '.join(unknown) or '(none)'}; use {', '.join(WMBUS_METERS)}"
        raise click.BadParameter(msg, param_hint="--meters")
    now = time.time()
    specs = radio_meters(names, origin=now - now % 900)
    for spec in specs:
        click.echo(
            f"meter {spec.kind} id {spec.identity.id} mode {spec.mode} key {spec.key.hex().upper()}"
        )
    radio = SimulatedRadio(specs, dongle=dongle)
    if dongle == "rtlwmbus":
        coro = _serve_stream(
            radio.frames_at, interval=interval, host=host, port=tcp_port, use_pty=use_pty
        )
    else:
        device = SimulatedDongle(
            dongle, meters_mode=link_mode, mode="S1" if link_mode != "S1" else "T1"
        )

        async def serve() -> None:
            server = DongleServer(
                device, radio.telegrams_at, interval=interval, host=host, port=tcp_port
            )
            async with server:
                where = f"pty {server.open_pty()}" if use_pty else f"tcp {host}:{server.port}"
                click.echo(f"listening {where} (set link mode {link_mode} to hear the meters)")
                await until_signal()

        coro = serve()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)
