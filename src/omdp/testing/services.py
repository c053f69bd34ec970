"""Throwaway real services: a Mosquitto broker and a PostgreSQL cluster, each on its own port.

Used by the integration tests (through ``tests/support``) and by ``omdp bench``, so that both
start the services one way. Each service lives in a folder of its own and is killed after use.
PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user in a
folder that user owns (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on ``port``; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    msg = f"nothing listens on {host}:{port} after {timeout} s"
    raise TimeoutError(msg)


class Mosquitto:
    """One Mosquitto process, restartable on the same port with the same persistence."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        extra_config: str = "",
        persistence: bool = True,
        plain_listener: bool = True,
        autosave_interval: int = 1,
    ) -> None:
        self.workdir = workdir
        self.persistence = persistence
        # seconds between saves of the in-memory state; a SIGKILL loses what came since
        self.autosave_interval = autosave_interval
        # False: no anonymous plaintext listener; extra_config must listen on ``port`` itself.
        self.plain_listener = plain_listener
        self.port = port or free_port()
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file = self.workdir / "mosquitto.conf"
        self.log_file = self.workdir / "mosquitto.log"

    def _write_config(self) -> None:
        listener = [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        lines = [
            *(listener if self.plain_listener else []),
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            f"autosave_interval {self.autosave_interval}",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "max_packet_size 1048576",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        self.config_file.write_text("\n".join(lines) + "\n" + self.extra_config + "\n")

    def start(self) -> Mosquitto:
        """Start the broker and wait until it accepts connections."""
        self._write_config()
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
            [MOSQUITTO, "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop cleanly (SIGTERM): the broker saves its persistence file."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        self.process = None

    def kill(self) -> None:
        """Kill hard (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port and persistence folder."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.process is not None and self.process.poll() is None


def _pg_bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    msg = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    raise RuntimeError(msg)


class PostgresCluster:
    """One PostgreSQL server process with a data directory of its own, trust auth on 127.0.0.1."""

    def __init__(self, *, settings: dict[str, str] | None = None) -> None:
        self.settings = settings or {}
        """Server settings beyond the defaults (``{"shared_buffers": "1GB"}``)."""
        self.bin = _pg_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="omdp-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)  # noqa: S603

    def start(self) -> PostgresCluster:
        """initdb (once) and start the server; wait until it accepts connections."""
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        if not self.data.exists():
            self._run(
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-A", "trust", "-U", "postgres"),
                *("--no-sync", "-E", "UTF8"),
            )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=on -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            str(self.bin / "pg_ctl"),
            *("-D", str(self.data), "-o", options, "-w", "-t", "60"),
            *("-l", str(self.root / "server.log"), "start"),
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``, or ``immediate`` for a crash-like stop)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` on this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg  # noqa: PLC0415 - only tests and benchmarks need it here

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        """Stop the server and delete its folder."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
