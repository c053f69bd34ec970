"""Benchmark: the whole chain, adapters -> edge -> cloud ingest -> SQLite and PostgreSQL.

In one run, with the same payloads (13-value electricity MeterReadings as adapters publish
them on ``smartMeterMessage/{meterId}/readings``):

1. raw: plain paho publisher processes -> Mosquitto -> a paho subscriber process, QoS 1;
2. chain: the same publisher processes (the simulated adapters) -> local Mosquitto ->
   ``omdp edge run`` (a subprocess, outbox fsync'd) -> cloud Mosquitto -> ``omdp cloud
   ingest`` (a subprocess) -> the store, timed from the first publish until the store holds
   every reading (committed); once into SQLite, once into PostgreSQL.

The ratio chain / raw is the figure that counts. Peak resident memory (VmHWM) of each service
process is read from ``/proc`` before it stops.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import orjson
import yaml

from omdp.bench.paho_load import count_subscriber, peak_mb, publish
from omdp.bench.suite import Figures, named
from omdp.bench.validation_bench import sample_reading
from omdp.testing.services import Mosquitto, PostgresCluster, free_port, wait_for_port

ADAPTERS = 2
"""Publisher processes, each a simulated adapter fleet publishing its share of the meters."""
METERS = 100
START = datetime(2024, 6, 1, tzinfo=UTC)
OMDP = (sys.executable, "-m", "omdp", "--log-level", "INFO")


def payloads(
    count: int, prefix: str, *, part: int = 0, parts: int = 1, run: int = 0
) -> list[tuple[str, bytes]]:
    """Readings ``part`` of ``parts`` of a run of ``count``: distinct ids, 15-minute steps.

    Run ``n`` starts 400 days after run ``n - 1``, as in the ingest benchmark, so that each run
    appends in time order instead of landing in the hours the run before filled (which
    measured the store's recomputation of late buckets, three to four times slower)."""
    doc = orjson.loads(sample_reading())
    out = []
    for i in range(part, count, parts):
        meter = f"meter-{i % METERS:03d}"
        doc["meterReadingIdentifier"] = f"{prefix}-{i:08d}"
        doc["meterIndividual"]["meterIndividualId"] = meter
        doc["sequenceNumber"] = i // METERS
        when = START + timedelta(days=400 * run, minutes=15 * (i // METERS))
        doc["readingTime"] = when.isoformat()
        out.append((f"smartMeterMessage/{meter}/readings", orjson.dumps(doc)))
    return out


def _publisher(  # noqa: PLR0917 - a multiprocessing target takes positional args
    port: int, count: int, prefix: str, part: int, parts: int, run: int, go: Any, out: Any
) -> None:
    """Child process: publish QoS 1, many in flight; report (first publish, last PUBACK)."""
    messages = payloads(count, prefix, part=part, parts=parts, run=run)
    try:
        first, last = publish(port, messages, go=go, timeout=120, name="bench-adapter")
    except TimeoutError as exc:
        out.put(("error", str(exc)))
        return
    out.put(("ok", first, last))


def _publish(port: int, count: int, prefix: str, run: int = 0) -> tuple[float, float]:
    """Run the publisher processes; return (first publish, last PUBACK) over all of them."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs: list[SpawnProcess] = [
        ctx.Process(target=_publisher, args=(port, count, prefix, n, ADAPTERS, run, go, out))
        for n in range(ADAPTERS)
    ]
    for proc in procs:
        proc.start()
    time.sleep(0.2)
    go.set()
    reports = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(30)
    errors = [r[1] for r in reports if r[0] != "ok"]
    if errors:
        raise RuntimeError("; ".join(errors))
    return min(r[1] for r in reports), max(r[2] for r in reports)


def raw_rate(broker: Mosquitto, count: int, prefix: str) -> float:
    """Messages/s from the first publish to the subscriber's last receipt."""
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    args = (broker.port, count, ready, out, "smartMeterMessage/#", 300)
    sub = ctx.Process(target=count_subscriber, args=args)
    sub.start()
    ready.wait(60)
    try:
        first, _ = _publish(broker.port, count, prefix)
        last = float(out.get(timeout=300))
    finally:
        sub.join(10)
        if sub.is_alive():
            sub.kill()
    return count / (last - first)


class Service:
    """An ``omdp`` subprocess with a generated config file and a log file."""

    def __init__(self, workdir: Path, name: str, args: list[str], config: dict[str, Any]) -> None:
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = workdir / f"{name}.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter and module
                [*OMDP, *args, "--config", str(self.config)], stdout=out, stderr=out
            )

    def wait_log(self, text: bytes, timeout: float = 60) -> None:
        """Until the log shows ``text``; RuntimeError if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while text not in self.log.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                msg = f"{self.log.name}: no {text!r}: {self.log.read_text()[-1500:]}"
                raise RuntimeError(msg)
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _wait_stored(count_of: Callable[[], int], target: int, timeout: float, log: Path) -> float:
    deadline = time.monotonic() + timeout
    while (have := count_of()) < target:
        if time.monotonic() > deadline:
            msg = f"only {have} of {target} stored after {timeout} s: {log.read_text()[-1500:]}"
            raise TimeoutError(msg)
        time.sleep(0.02)
    return time.time()


def _counter(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """A cheap ``SELECT count(*) FROM readings`` on the store (no ORM, one connection)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)

        def count_sqlite() -> int:
            try:
                return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])
            except sqlite3.OperationalError:  # not migrated yet
                return 0

        return count_sqlite, conn.close
    import psycopg

    pg = psycopg.connect(url, autocommit=True)

    def count_pg() -> int:
        try:
            row = pg.execute("SELECT count(*) FROM readings").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0

    return count_pg, pg.close


def _chain_run(
    workdir: Path,
    cloud: Mosquitto,
    local: Mosquitto,
    *,
    url: str,
    name: str,
    count: int,
    run: int,
) -> tuple[float, float, float]:
    """One chain run into ``url``: (readings/s, seconds from last PUBACK to last commit,
    ingest peak MB)."""
    ingest = Service(
        workdir,
        f"ingest-{name}",
        ["cloud", "ingest"],
        {
            "mqtt": {"port": cloud.port},
            "db": {"url": url},
            "ingest": {"client_id": f"chain-{name}-{time.time_ns()}", "batch_size": 2000},
        },
    )
    count_of, close = _counter(url)
    try:
        ingest.wait_log(b"subscribed")
        before = count_of()
        first, acked = _publish(local.port, count, f"chain-{name}-{time.time_ns()}", run)
        end = _wait_stored(count_of, before + count, 300, ingest.log)
        return count / (end - first), end - acked, peak_mb(ingest.process.pid)
    finally:
        ingest.stop()
        close()


def measure(*, quick: bool) -> Figures:
    """Run raw and chain (SQLite, PostgreSQL); print and return the figures."""
    count = 4_000 if quick else 40_000
    runs = 1 if quick else 3
    engines: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="omdp-chain-bench-") as tmp:
        workdir = Path(tmp)
        local = Mosquitto(workdir / "local", persistence=False).start()
        cloud = Mosquitto(workdir / "cloud", persistence=False).start()
        cluster = PostgresCluster().start()
        edge: Service | None = None
        try:
            size = len(payloads(1, "x")[0][1])
            raw = max(raw_rate(local, count, f"raw{n}") for n in range(runs))
            print(
                f"payloads: {count:,} MeterReadings of {size:,} bytes, {METERS} meters, "
                f"{ADAPTERS} publisher processes, QoS 1, best of {runs}"
            )
            print(f"raw broker (paho -> Mosquitto -> paho, processes): {raw:9,.0f} msg/s")
            http = free_port()
            edge = Service(
                workdir,
                "edge",
                ["edge", "run"],
                {
                    "concentrator_id": "bench",
                    "local": {"port": local.port},
                    "cloud": {"port": cloud.port},
                    "outbox_path": str(workdir / "outbox.sqlite3"),
                    "http_port": http,
                },
            )
            wait_for_port(http, timeout=60)
            targets = {
                "sqlite": f"sqlite:///{workdir / 'chain.sqlite3'}",
                "postgres": cluster.create_database(),
            }
            for name, url in targets.items():
                results = [
                    _chain_run(
                        workdir, cloud, local, url=url, name=f"{name}{n}", count=count, run=n
                    )
                    for n in range(runs)
                ]
                rate, tail, ingest_mb = engines[name] = max(results)
                print(
                    f"chain into {name:8}: {rate:9,.0f} readings/s = {rate / raw:.2f} x raw "
                    f"(all: {', '.join(f'{r:,.0f}' for r, _, _ in results)}); last commit "
                    f"{tail:.2f} s after the last PUBACK; ingest peak RSS {ingest_mb:.0f} MB"
                )
            local_pid = local.process.pid if local.process else None
            cloud_pid = cloud.process.pid if cloud.process else None
            peaks = (peak_mb(edge.process.pid), peak_mb(local_pid), peak_mb(cloud_pid))
            print(
                f"peak RSS: edge {peaks[0]} MB, mosquitto local {peaks[1]} MB, "
                f"cloud {peaks[2]} MB"
            )
            return chain_figures(
                readings=count, runs=runs, payload_bytes=size, raw=raw, engines=engines,
                peaks=peaks,
            )  # fmt: skip
        finally:
            if edge is not None:
                edge.stop()
            local.kill()
            cloud.kill()
            cluster.destroy()


def chain_figures(
    *,
    readings: int,
    runs: int,
    payload_bytes: int,
    raw: float,
    engines: Mapping[str, tuple[float, float, float]],
    peaks: tuple[float, float, float],
) -> Figures:
    """The figures of a run, by name.

    Args:
        readings: Readings sent per run.
        runs: Runs of each kind (the best is kept).
        payload_bytes: Size of one reading.
        raw: The raw broker rate, msg/s.
        engines: Per store engine: readings/s, seconds from the last PUBACK to the last commit,
            the ingest's peak RSS in MB.
        peaks: Peak RSS in MB of the edge, the local and the cloud Mosquitto.
    """
    figures = named(
        "payload", readings=readings, runs=runs, adapters=ADAPTERS, bytes=payload_bytes
    ) | named("raw", msgs_per_s=round(raw))
    for name, (rate, tail, ingest_mb) in engines.items():
        figures |= named(
            name,
            readings_per_s=round(rate),
            ratio_to_raw=round(rate / raw, 3),
            tail_s=round(tail, 2),
            ingest_peak_rss_mb=ingest_mb,
        )
    edge_mb, local_mb, cloud_mb = peaks
    return figures | named(
        "peak_rss", edge_mb=edge_mb, mosquitto_local_mb=local_mb, mosquitto_cloud_mb=cloud_mb
    )

