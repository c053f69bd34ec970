"""Benchmark: end-to-end cloud ingest (publish -> Mosquitto -> ``omdp cloud ingest`` -> commit).

Beside it, in the same run and with the same payloads and publisher code, the raw broker rate:
plain paho-mqtt 2 (threaded loop, 100 publishes in flight, at most 10,000 outstanding) ->
Mosquitto (persistence off, as in the baseline) -> a paho subscriber in another process that
only counts. Target (issue 6): ingest at 40 % or more of the raw rate, on SQLite and on
PostgreSQL (CL-15). Each figure is the best of three runs; ingest is timed from the first
publish until the store holds every reading (committed): the benchmark looks up the last
reading published by its id until it is there, and only then counts the table, which polled
all along took the server's CPU from the ingest it measures. The benchmark starts its own
throwaway Mosquitto and PostgreSQL (:mod:`omdp.testing.services`).

The PostgreSQL run that "hung" before was the benchmark's own doing: both ingest runs logged
into one file, so the PostgreSQL run found the SQLite run's "subscribed" line, published before
its ingest had subscribed, and the messages sent meanwhile never reached the new session (the
old code timed out at 300 s after the SQLite run; the same ingest on a fresh broker stored its
5,000 readings in 6 s). Each run now logs to a file of its own.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml

from omdp.bench.paho_load import count_subscriber, publish
from omdp.bench.suite import Figures, named
from omdp.bench.validation_bench import sample_reading
from omdp.cloud.model import ReadingFilter
from omdp.cloud.storage import open_store
from omdp.testing.services import Mosquitto, PostgresCluster

VALUES_PER_READING = 13
START = datetime(2024, 6, 1, tzinfo=UTC)


def payloads(count: int, prefix: str, *, run: int = 0) -> list[tuple[str, bytes]]:
    """``count`` 13-value readings with distinct ids, 100 meters, one reading per 15 minutes.

    Run ``n`` starts 400 days after run ``n - 1``, so that each run appends in time order
    (the common case) instead of landing in the buckets of the run before.
    """
    doc = orjson.loads(sample_reading())
    out = []
    for i in range(count):
        meter = f"meter-{i % 100:03d}"
        doc["meterReadingIdentifier"] = f"{prefix}-{i:08d}"
        doc["meterIndividual"]["meterIndividualId"] = meter
        when = START + timedelta(days=400 * run, minutes=15 * (i // 100))
        doc["readingTime"] = when.isoformat()
        topic = f"concentrator/edge-{i % 4}/smartMeterMessage/{meter}/readings"
        out.append((topic, orjson.dumps(doc)))
    return out


def raw_rate(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Messages/s from the first publish to the subscriber's last receipt."""
    ctx = multiprocessing.get_context("spawn")
    ready, result = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=count_subscriber, args=(port, len(messages), ready, result))
    proc.start()
    ready.wait(20)
    start = time.time()
    publish(port, messages)
    end = result.get(timeout=120)
    proc.join(10)
    return float(len(messages) / (end - start))


def _start_ingest(
    port: int, url: str, workdir: Path, *, batch: int, group: str | None
) -> tuple[subprocess.Popen[bytes], Path]:
    name = f"ingest-{time.time_ns()}"
    config = workdir / f"{name}.yaml"
    ingest: dict[str, object] = {"client_id": name, "batch_size": batch, "flush_interval_s": 0.2}
    if group:
        ingest["shared_group"] = group
    config.write_text(
        yaml.safe_dump({"mqtt": {"port": port}, "db": {"url": url}, "ingest": ingest})
    )
    log = workdir / f"{name}.log"  # one log per process: see the module docstring
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "omdp", "cloud", "ingest", "--config", str(config)],
            stdout=out,
            stderr=out,
        )
    return proc, log


def ingest_rate(
    port: int,
    url: str,
    messages: list[tuple[str, bytes]],
    workdir: Path,
    *,
    batch: int,
    processes: int = 1,
) -> tuple[float, float]:
    """(readings/s, seconds after the last PUBACK until the last commit), from the first
    publish until the store holds every reading (committed). More than one process share
    the subscription (``$share/{group}/concentrator/#``)."""
    group = f"bench{time.time_ns()}" if processes > 1 else None
    store = open_store(url)
    before = store.count_readings(ReadingFilter())
    started = [
        _start_ingest(port, url, workdir, batch=batch, group=group) for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 30
        for proc, log in started:
            while b"subscribed" not in log.read_bytes():
                if time.monotonic() > deadline or proc.poll() is not None:
                    msg = f"ingest did not start: {log.read_text()[-2000:]}"
                    raise RuntimeError(msg)
                time.sleep(0.05)
        start = time.time()
        publish(port, messages)
        published = time.time()
        # first the last reading published (a lookup by id), then every reading (a count of
        # the whole table, which would take the server's CPU from ingest if polled all along)
        last = orjson.loads(messages[-1][1])["meterReadingIdentifier"]
        checks: tuple[Callable[[], bool], ...] = (
            lambda: store.get_reading(last) is not None,
            lambda: store.count_readings(ReadingFilter()) >= before + len(messages),
        )
        for stored in checks:
            while not stored():
                if time.time() - start > 300:
                    tail = started[0][1].read_text()[-2000:]
                    msg = f"ingest did not store every reading within 300 s: {tail}"
                    raise TimeoutError(msg)
                time.sleep(0.02)
        end = time.time()
        return len(messages) / (end - start), end - published
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            proc.wait(30)
        store.close()


RUNS = 3


def ingest_figures(name: str, processes: int, rate: float, tail: float, raw: float) -> Figures:
    """The figures of one store's best run: ``sqlite.readings_per_s``, ``sqlite_x2.`` for two
    ingest processes; ``tail_s`` is from the last PUBACK to the last commit."""
    subject = name if processes == 1 else f"{name}_x{processes}"
    return named(
        subject,
        readings_per_s=round(rate),
        values_per_s=round(rate * VALUES_PER_READING),
        ratio_to_raw=round(rate / raw, 3),
        tail_s=round(tail, 2),
    )


def measure(*, quick: bool) -> Figures:
    """Print and return ingest rates on SQLite and PostgreSQL beside the raw broker rate (best
    of 3 each).

    One Mosquitto with persistence off serves every run (as in the baseline; the ingest's
    persistent session lives in the broker's memory), so that raw and ingest differ only in the
    subscriber. Each ingest run publishes new reading ids into the same store.
    """
    count = 5_000 if quick else 30_000
    batch = 5_000
    with tempfile.TemporaryDirectory(prefix="omdp-bench-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir / "mosquitto", persistence=False).start()
        cluster = PostgresCluster().start()
        try:
            raw = max(raw_rate(broker.port, payloads(count, f"raw{n}")) for n in range(RUNS))
            size = len(payloads(1, "x")[0][1])
            figures = named("payload", messages=count, bytes=size, runs=RUNS, batch=batch)
            figures |= named("raw", msgs_per_s=round(raw))
            print(
                f"raw broker QoS 1 (paho -> Mosquitto -> paho in another process): {raw:,.0f}"
                f" msg/s, best of {RUNS} x {count:,} messages of {size:,} bytes"
            )
            targets = {
                "sqlite": f"sqlite:///{workdir / 'bench.sqlite3'}",
                "postgres": cluster.create_database(),
            }
            run = 0
            for processes in (1, 2):
                for name, url in targets.items():
                    runs = []
                    for _ in range(RUNS):
                        messages = payloads(count, f"{name}{run}", run=run)
                        run += 1
                        runs.append(
                            ingest_rate(
                                broker.port,
                                url,
                                messages,
                                workdir,
                                batch=batch,
                                processes=processes,
                            )
                        )
                    rate, tail = max(runs)
                    figures |= ingest_figures(name, processes, rate, tail, raw)
                    print(
                        f"ingest {name:8s} x{processes}: {rate:,.0f} readings/s, "
                        f"{rate * VALUES_PER_READING:,.0f} values/s = {rate / raw:.0%} of raw, "
                        f"best of {RUNS} (all: {', '.join(f'{r:,.0f}' for r, _ in runs)}); last "
                        f"commit {tail:.2f} s after the last PUBACK; batches of up to {batch:,}"
                    )
        finally:
            broker.kill()
            cluster.destroy()
    return figures
