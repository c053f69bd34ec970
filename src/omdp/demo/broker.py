"""The demo's MQTT broker: amqtt in the demo's own process, or a Mosquitto child process.

amqtt (pure Python, from PyPI) needs nothing installed; it speaks MQTT 3.1.1 only, so the demo
writes ``protocol: "3.1.1"`` into every configuration it generates. Mosquitto
(``--broker mosquitto``) speaks MQTT 5 and is what production uses; the demo starts it with a
configuration file of its own in the data folder, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from omdp.errors import BrokerError

log = logging.getLogger(__name__)

BrokerKind = Literal["amqtt", "mosquitto"]


def mosquitto_binary() -> str | None:
    """The Mosquitto executable, if installed."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def mosquitto_config(folder: Path, port: int) -> Path:
    """Write a Mosquitto configuration for the demo (loopback, anonymous) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mosquitto.conf"
    path.write_text(
        "# omdp demo broker: loopback only, no authentication (see docs/deployment.md for TLS).\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        "max_queued_messages 0\n"
        f"log_dest file {folder / 'mosquitto.log'}\n"
        "log_type error\n"
        "log_type warning\n",
        encoding="utf-8",
    )
    return path


AMQTT_SHUTDOWN_S = 3.0


@contextlib.asynccontextmanager
async def _amqtt(port: int) -> AsyncIterator[str]:
    from amqtt.broker import Broker  # noqa: PLC0415 - optional at import time

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.ERROR)  # per-packet chatter at INFO/WARNING
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    try:
        await broker.start()
    except Exception as exc:
        msg = f"cannot start the embedded MQTT broker on 127.0.0.1:{port}: {exc}"
        raise BrokerError(msg) from exc
    try:
        yield f"amqtt {port}"
    finally:
        # amqtt 0.12's shutdown can wait forever on a connection still being set up (its own
        # fix, amqtt#381, is not released). Not wait_for: that waits for the cancelled shutdown
        # to finish too. Give it a few seconds and leave it behind.
        closing = asyncio.ensure_future(broker.shutdown())
        done, _ = await asyncio.wait({closing}, timeout=AMQTT_SHUTDOWN_S)
        if not done:
            log.warning("embedded broker did not shut down in %g s; leaving it", AMQTT_SHUTDOWN_S)
            closing.cancel()
        elif closing.exception() is not None:
            log.warning("embedded broker shutdown: %s", closing.exception())


async def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if process.poll() is not None:
            msg = f"mosquitto exited with {process.returncode} (port {port} in use?)"
            raise BrokerError(msg)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    msg = f"mosquitto does not listen on 127.0.0.1:{port} after {timeout} s"
    raise BrokerError(msg)


@contextlib.asynccontextmanager
async def _mosquitto(port: int, folder: Path) -> AsyncIterator[str]:
    binary = mosquitto_binary()
    if binary is None:
        msg = "--broker mosquitto: mosquitto is not installed (apt-get install mosquitto)"
        raise BrokerError(msg)
    config = mosquitto_config(folder, port)
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own configuration
        [binary, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the demo only; the demo stops the broker last
    )
    try:
        await _wait_port(port, process)
        yield f"mosquitto {port}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.asynccontextmanager
async def embedded_broker(kind: BrokerKind, *, port: int, folder: Path) -> AsyncIterator[str]:
    """Run the demo's broker on 127.0.0.1:``port`` while the context is open.

    Args:
        kind: ``amqtt`` (in this process) or ``mosquitto`` (a child process).
        port: TCP port to listen on.
        folder: where Mosquitto keeps its configuration and persistence.

    Yields:
        A short description, e.g. ``amqtt 1883``.

    Raises:
        BrokerError: the broker cannot start (port taken, Mosquitto missing).
    """
    context = _amqtt(port) if kind == "amqtt" else _mosquitto(port, folder)
    async with context as description:
        log.info("MQTT broker %s", description)
        yield description
