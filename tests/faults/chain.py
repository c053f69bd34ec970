"""The shared chain runner of the fault cases: brokers, edge and ingest as real processes.

``Chain`` starts a local and a cloud Mosquitto (persistence on, so that sessions survive a
restart), ``omdp edge run`` and one ``omdp cloud ingest`` as subprocesses with generated
config files, into SQLite or PostgreSQL. :class:`SimAdapters` publishes a known set of readings
to the local broker, at least once (a reading unacknowledged for a while is published again,
as an adapter's outbox does). :meth:`Chain.account` counts at the end, from the store: sent,
stored, duplicates suppressed (the ingest processes' counters), lost, quarantined with reasons.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from omdp.cloud.storage import open_store
from omdp.testing.services import Mosquitto, free_port, wait_for_port

OMDP = (sys.executable, "-m", "omdp", "--log-level", "INFO")
START = datetime(2024, 6, 1, tzinfo=UTC)


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Poll ``check`` until true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(step)


def reading(meter: str, index: int, *, prefix: str = "r") -> tuple[str, bytes, str]:
    """(adapter topic, payload, reading id) of a small valid 2-value reading."""
    rid = f"{prefix}-{meter}-{index:06d}"
    when = (START + timedelta(minutes=15 * index)).isoformat()
    doc = {
        "meterReadingIdentifier": rid,
        "readingTime": when,
        "sequenceNumber": index,
        "propertyValues": [
            {
                "numericalValue": 1000.0 + index * 0.25,
                "unit": "kWh",
                "operationalPropertyDefinition": {"propertyId": "OBIS_1.8.0"},
            },
            {
                "numericalValue": 0.5 + (index % 7) / 10,
                "unit": "kW",
                "operationalPropertyDefinition": {"propertyId": "OBIS_1.7.0"},
            },
        ],
        "meterIndividual": {"meterIndividualId": meter},
    }
    return f"smartMeterMessage/{meter}/readings", orjson.dumps(doc), rid


def readings(count: int, *, meters: int = 10, prefix: str = "r") -> list[tuple[str, bytes, str]]:
    """``count`` readings spread over ``meters`` meters, each with a unique id."""
    return [reading(f"m{i % meters:02d}", i, prefix=prefix) for i in range(count)]


class SimAdapters:
    """Simulated adapters: one paho client publishing known readings QoS 1, at least once.

    Publishing runs in a thread (``start``/``join``) so that a test injects faults meanwhile.
    A reading not acknowledged ``retry_s`` after its publish is published again (a broker
    restart can lose what was in flight); the store suppresses the duplicates.
    """

    def __init__(self, port: int, *, client_id: str = "sim-adapters", retry_s: float = 5.0) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_inflight_messages_set(50)
        self.client.reconnect_delay_set(1, 2)
        self.retry_s = retry_s
        self.acked: set[str] = set()
        self.republished = 0
        self._pending: dict[str, tuple[float, list[paho.MQTTMessageInfo], str, bytes]] = {}
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.client.connect_async("127.0.0.1", port, keepalive=5)
        self.client.loop_start()
        wait_until(self.client.is_connected, 30, "the simulated adapters to connect")

    def _settle(self) -> None:
        for rid, (_, infos, _, _) in list(self._pending.items()):
            if any(_acked(info) for info in infos):
                self.acked.add(rid)
                del self._pending[rid]

    def _retry(self) -> None:
        now = time.monotonic()
        for rid, (at, infos, topic, payload) in list(self._pending.items()):
            if now - at > self.retry_s and self.client.is_connected():
                infos.append(self.client.publish(topic, payload, qos=1))
                self._pending[rid] = (now, infos, topic, payload)
                self.republished += 1

    def _run(self, messages: Sequence[tuple[str, bytes, str]], rate: float, timeout: float) -> None:
        started = time.monotonic()
        for index, (topic, payload, rid) in enumerate(messages):
            if rate:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            while len(self._pending) >= 1000 or not self.client.is_connected():
                # paho loses past 65,535 outstanding; publishing while away only fails
                self._settle()
                self._retry()
                time.sleep(0.01)
            info = self.client.publish(topic, payload, qos=1)
            self._pending[rid] = (time.monotonic(), [info], topic, payload)
            if index % 50 == 0:
                self._settle()
        deadline = time.monotonic() + timeout
        while self._pending:
            if time.monotonic() > deadline:
                msg = f"{len(self._pending)} readings never acknowledged by the local broker"
                raise AssertionError(msg)
            self._settle()
            self._retry()
            time.sleep(0.05)

    def start(
        self, messages: Sequence[tuple[str, bytes, str]], *, rate: float = 0, timeout: float = 90
    ) -> None:
        """Publish ``messages`` (at ``rate`` per second if set) in a thread."""

        def target() -> None:
            try:
                self._run(messages, rate, timeout)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def join(self, timeout: float = 120) -> None:
        """Wait until every reading is acknowledged by the local broker."""
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "publisher still running"
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def _acked(info: paho.MQTTMessageInfo) -> bool:
    """Whether the broker acknowledged the publish (a failed publish is retried, not raised)."""
    try:
        return info.is_published()
    except (RuntimeError, ValueError):
        return False


class Proc:
    """An ``omdp`` subprocess with a generated YAML config and its own log file."""

    def __init__(self, workdir: Path, name: str, args: Sequence[str], config: dict[str, Any]):
        self.workdir, self.name, self.args = workdir, name, list(args)
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the process (again)."""
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts}\n".encode())
            self.process = subprocess.Popen(
                [*OMDP, *self.args, "--config", str(self.config)], stdout=out, stderr=out
            )

    def log_since_start(self) -> str:
        """The log of the current incarnation."""
        text = self.log.read_text(errors="replace")
        return text.rsplit(f"---- start {self.starts}\n", 1)[-1]

    def wait_log(self, text: str, timeout: float = 60) -> None:
        """Until the current incarnation logs ``text``."""
        wait_until(
            lambda: text in self.log_since_start() or not self.alive,
            timeout,
            f"{self.name} to log {text!r}",
        )
        assert self.alive, f"{self.name} died: {self.log_since_start()[-2000:]}"

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the process stays, frozen (it neither reads nor reconnects)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case it was paused
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self.process = None


class Ingest(Proc):
    """``omdp cloud ingest`` with a metrics port, scraped so that a SIGKILL keeps its counts."""

    def __init__(self, workdir: Path, name: str, config: dict[str, Any]) -> None:
        self.metrics_port = free_port()
        config.setdefault("ingest", {})["metrics_port"] = self.metrics_port
        super().__init__(workdir, name, ["cloud", "ingest"], config)
        self.counters: list[dict[str, float]] = []  # one per incarnation, last scrape
        self._stop = threading.Event()
        self._scraper: threading.Thread | None = None

    def scrape(self) -> dict[str, float] | None:
        """The current incarnation's counters, or None when it does not answer."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return None
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("omdp_ingest_") and not line.startswith("#"):
                name, _, value = line.partition(" ")
                values[name.removeprefix("omdp_ingest_").removesuffix("_total")] = float(value)
        return values

    def _scrape_loop(self, slot: int) -> None:
        while not self._stop.wait(0.3):
            got = self.scrape()
            if got is not None:
                self.counters[slot] = got

    def start(self) -> None:
        """Start, wait until subscribed, keep scraping the counters."""
        super().start()
        self.counters.append({})
        self.wait_log("subscribed")
        self._stop = threading.Event()
        self._scraper = threading.Thread(
            target=self._scrape_loop, args=(len(self.counters) - 1,), daemon=True
        )
        self._scraper.start()

    def _end_scraping(self, *, final: bool) -> None:
        if final:
            got = self.scrape()
            if got is not None and self.counters:
                self.counters[-1] = got
        self._stop.set()
        if self._scraper is not None:
            self._scraper.join(5)

    def kill(self) -> None:
        """Scrape once more, then SIGKILL (what it did after that scrape is not counted)."""
        self._end_scraping(final=True)
        super().kill()

    def stop(self) -> None:
        """Scrape the final counters, then SIGTERM."""
        self._end_scraping(final=True)
        super().stop()

    def total(self, name: str) -> int:
        """A counter summed over every incarnation."""
        return int(sum(c.get(name, 0.0) for c in self.counters))


@dataclass(slots=True)
class Account:
    """What happened to a known set of readings."""

    case: str
    sent: int
    stored: int
    duplicates: int
    lost: list[str]
    quarantined: int
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def show(self) -> str:
        """The account as printed at the end of a case."""
        lines = [
            f"account [{self.case}]: sent {self.sent}, stored {self.stored}, duplicates "
            f"suppressed {self.duplicates}, lost {len(self.lost)}, quarantined {self.quarantined}"
        ]
        lines += [f"  quarantine reason x{n}: {reason}" for reason, n in self.reasons.items()]
        lines += [f"  {note}" for note in self.notes]
        if self.lost:
            lines.append(f"  lost (first 10): {', '.join(self.lost[:10])}")
        return "\n".join(lines)


class Chain:
    """Local broker -> edge -> cloud broker -> ingest -> store, all real processes."""

    def __init__(
        self,
        workdir: Path,
        *,
        db_url: str | None = None,
        edge: dict[str, Any] | None = None,
        ingest: dict[str, Any] | None = None,
        ingests: int = 1,
        cloud_autosave: int = 1,
        local: Mosquitto | None = None,
    ) -> None:
        self.workdir = workdir
        self.local = local or Mosquitto(workdir / "local")
        self.cloud = Mosquitto(workdir / "cloud", autosave_interval=cloud_autosave)
        self.db_url = db_url or f"sqlite:///{workdir / 'cloud.sqlite3'}"
        self.http_port = free_port()
        edge = dict(edge or {})
        local_extra = edge.pop("local", {})  # e.g. credentials for a site broker with an ACL
        self.edge = Proc(
            workdir,
            "edge",
            ["edge", "run"],
            {
                "concentrator_id": "e1",
                "local": {"port": self.local.port, **local_extra},
                "cloud": {"port": self.cloud.port},
                "outbox_path": str(workdir / "outbox.sqlite3"),
                "http_port": self.http_port,
                "outbox_batch": 200,
                "forward_window": 200,
                **(edge or {}),
            },
        )
        self.ingests = [
            Ingest(
                workdir,
                "ingest" if n == 0 else f"ingest{n + 1}",
                {
                    "mqtt": {"port": self.cloud.port},
                    "db": {"url": self.db_url},
                    "ingest": {
                        "client_id": "fault-ingest" if n == 0 else f"fault-ingest-{n + 1}",
                        "batch_size": 200,
                        **(ingest or {}),
                    },
                },
            )
            for n in range(ingests)
        ]
        self.ingest = self.ingests[0]

    def start(self) -> Chain:
        """Brokers, the store's schema, the ingest, the edge: in that order, each ready."""
        self.local.start()
        self.cloud.start()
        open_store(self.db_url).close()  # migrate once, before any ingest races for it
        for ingest in self.ingests:
            ingest.start()
        self.start_edge()
        return self

    def start_edge(self) -> None:
        """Start the edge and wait for its HTTP API."""
        self.edge.start()
        wait_for_port(self.http_port, timeout=60)

    def close(self) -> None:
        """Stop everything, never raising."""
        stops = [ingest.stop for ingest in self.ingests]
        for action in (self.edge.stop, *stops, self.local.kill, self.cloud.kill):
            with contextlib.suppress(Exception):
                action()

    def stored_ids(self) -> set[str]:
        """Every reading id in the store."""
        return {row[0] for row in self.query("SELECT reading_id FROM readings")}

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement on the store."""
        if self.db_url.startswith("sqlite:///"):
            conn = sqlite3.connect(self.db_url.removeprefix("sqlite:///"), timeout=30)
            try:
                return list(conn.execute(sql).fetchall())
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.db_url, connect_timeout=5) as pg:
            return list(pg.execute(sql).fetchall())

    def wait_stored(self, ids: Iterable[str], timeout: float = 60) -> None:
        """Until the store holds every one of ``ids`` (lost ones are reported by ``account``)."""
        wanted = set(ids)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: wanted <= self.stored_ids(), timeout, "every reading", step=0.5)

    def account(
        self,
        case: str,
        sent: Iterable[str],
        *,
        stored: Iterable[str] | None = None,
        notes: Sequence[str] = (),
    ) -> Account:
        """Count, print and return what became of ``sent``; stops the ingest for its counters.

        ``stored`` replaces the store's reading ids when ``sent`` names readings otherwise
        (an adapter's readings by meter and value).
        """
        for ingest in self.ingests:
            ingest.stop()
        sent_ids = set(sent)
        stored = set(stored) if stored is not None else self.stored_ids()
        store = open_store(self.db_url, migrate=False)
        try:
            entries = store.list_quarantine(limit=100_000)
        finally:
            store.close()
        reasons: Counter[str] = Counter(
            f"{path}: {_shorten(reason)}" for e in entries for path, reason in e.problems[:1]
        )
        account = Account(
            case=case,
            sent=len(sent_ids),
            stored=len(sent_ids & stored),
            duplicates=sum(ingest.total("duplicates") for ingest in self.ingests),
            lost=sorted(sent_ids - stored),
            quarantined=len(entries),
            reasons=reasons,
            notes=list(notes),
        )
        print("\n" + account.show())
        return account


def _shorten(reason: str) -> str:
    """A reason without the varying parts (numbers), so that equal causes group."""
    out = []
    for word in reason.split():
        out.append("N" if any(ch.isdigit() for ch in word) and len(word) > 6 else word)
    return " ".join(out)[:120]


def seeded(case: str) -> random.Random:
    """The case's random moments: seeded (``OMDP_FAULT_SEED``, default 11) and printed."""
    import os

    seed = int(os.environ.get("OMDP_FAULT_SEED", "11"))
    print(f"\n[{case}] random seed {seed} (set OMDP_FAULT_SEED to vary)")
    return random.Random(f"{seed}-{case}")
