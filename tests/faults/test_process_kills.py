"""SIGKILL of an adapter, the edge and an ingest process at random (seeded) moments.

AD-1, CO-2, CL-1: every reading that an adapter kept (its outbox holds it before it logs it)
or that the broker acknowledged to the adapters reaches the store once; replays are
suppressed as duplicates; nothing is lost.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import timedelta

import orjson
import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.faults.chain import START, Chain, Proc, SimAdapters, readings, seeded, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_sigkill_edge_and_ingest_at_random_moments(make_chain: Callable[..., Chain]) -> None:
    """CO-2, CL-1: the edge and the ingest are each killed twice (SIGKILL) while 4,000
    readings flow; each comes back after a random pause."""
    rng = seeded("kill-edge-ingest")
    chain = make_chain()
    sent = readings(4000, prefix="kill")
    victims = [("edge", chain.edge.kill, chain.start_edge)] * 2 + [
        ("ingest", chain.ingest.kill, chain.ingest.start)
    ] * 2
    schedule = sorted(
        ((rng.uniform(1.0, 11.0), name, kill, start) for name, kill, start in victims),
        key=lambda item: item[0],
    )
    events = []
    adapters = SimAdapters(chain.local.port)
    try:
        started = time.monotonic()
        adapters.start(sent, rate=300)
        for at, name, kill, start in schedule:
            time.sleep(max(0.0, started + at - time.monotonic()))
            kill()
            events.append(f"{time.monotonic() - started:5.1f} s SIGKILL {name}")
            time.sleep(rng.uniform(0.3, 2.0))
            start()
            events.append(f"{time.monotonic() - started:5.1f} s {name} restarted")
        adapters.join(90)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        "SIGKILL of the edge and the ingest, twice each",
        (r for _, _, r in sent),
        notes=events,
    )
    assert account.lost == []
    assert account.quarantined == 0


_KEPT = re.compile(r"reading \d+ at \S+: .*OBIS_1\.8\.0=([0-9.]+)")


def _adapter(chain: Chain, meter: str) -> Proc:
    workdir = chain.workdir / meter
    workdir.mkdir()
    doc = {
        "MeterIndividualId": meter,
        "OperationalPropertyMapping": [{"from": "$.n", "to": "OBIS_1.8.0", "unit": "kWh"}],
        "Broker": {"host": "127.0.0.1", "port": chain.local.port},
        "Meter": {"kind": "json-mqtt", "topic": f"devices/{meter}", "timePath": "$.time"},
        "Adapter": {"timezone": "UTC", "outboxPath": "outbox.sqlite3"},
    }
    proc = Proc(workdir, meter, ["adapter", "run", "--log-readings"], {})
    proc.config.write_text(yaml.safe_dump(doc))
    os.chmod(proc.config, 0o600)
    return proc


def test_sigkill_adapters_at_random_moments(make_chain: Callable[..., Chain]) -> None:
    """AD-1, AD-6, CO-2, CL-1: two real adapter processes (JSON-over-MQTT devices) are killed
    three times each at random moments; every reading they kept before a kill is stored."""
    rng = seeded("kill-adapter")
    chain = make_chain()
    meters = ["adapter-a", "adapter-b"]
    adapters = {meter: _adapter(chain, meter) for meter in meters}
    for proc in adapters.values():
        proc.start()
        proc.wait_log("publishing on")
    device = paho.Client(CallbackAPIVersion.VERSION2, client_id="devices")
    device.connect("127.0.0.1", chain.local.port)
    device.loop_start()
    events = []
    count = 1600  # 8 s at 200/s: the adapters also run a while after the last kill
    schedule: list[tuple[float, str]] = []
    for meter in meters:  # three kills each, at least 0.8 s apart
        at = 0.0
        for _ in range(3):
            at += rng.uniform(0.8, 1.8)
            schedule.append((at, meter))
    schedule.sort()
    try:
        started = time.monotonic()
        infos = []
        for n in range(count):
            now = time.monotonic() - started
            while schedule and schedule[0][0] <= now:
                _, meter = schedule.pop(0)
                adapters[meter].kill()
                events.append(f"{now:5.1f} s SIGKILL {meter}")
                adapters[meter].start()
            for meter in meters:
                when = (START + timedelta(minutes=n)).isoformat()
                body = orjson.dumps({"n": n, "time": when})
                infos.append(device.publish(f"devices/{meter}", body, qos=1))
            time.sleep(max(0.0, started + (n + 1) / 200 - time.monotonic()))
        wait_until(lambda: all(i.is_published() for i in infos), 30, "device publishes")
        time.sleep(1.0)  # the adapters read the last documents
    finally:
        device.disconnect()
        device.loop_stop()

    kept: dict[str, set[int]] = {}
    for meter, proc in adapters.items():
        kept[meter] = {int(float(v)) for v in _KEPT.findall(proc.log.read_text())}

    def stored() -> dict[str, set[int]]:
        rows = chain.query(
            "SELECT meter_id, num FROM reading_values WHERE property_id = 'OBIS_1.8.0'"
        )
        got: dict[str, set[int]] = {m: set() for m in meters}
        for meter, num in rows:
            got.setdefault(meter, set()).add(int(num))
        return got

    try:
        wait_until(
            lambda: all(kept[m] <= stored()[m] for m in meters), 60, "every kept reading", step=0.5
        )
    except AssertionError:
        pass
    finally:
        for proc in adapters.values():
            proc.stop()
    final = stored()
    sent_ids = {f"{m}/{n}" for m in meters for n in kept[m]}
    stored_ids = {f"{m}/{n}" for m in meters for n in final[m]}
    account = chain.account(
        "SIGKILL of two adapters, three times each (readings named meter/value)",
        sent_ids,
        stored=stored_ids,
        notes=[
            *events,
            f"documents offered by the devices: {count * len(meters)}; read and kept by the "
            f"adapters (their log): {len(sent_ids)}; the rest arrived while an adapter was dead",
            f"kept and stored: {len(sent_ids & stored_ids)}; stored beyond the log (kept just "
            f"before a kill): {len(stored_ids - sent_ids)}",
        ],
    )
    assert account.lost == []
    assert len(sent_ids) >= count // 4  # the adapters did run (a restart takes ~1-2 s)
    assert account.quarantined == 0
