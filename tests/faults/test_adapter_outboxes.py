"""Adapters whose files the cloud issued, installed side by side (AD-1, AD-4, CO-2, CL-10).

The systemd unit reads ``/etc/omdp/adapters/<meter>.yaml``: every issued file lies in one
folder. Issued files used to name ``outboxPath: adapter-outbox.sqlite3`` (relative to the
file), so all adapters of a site opened one outbox: each published (and deleted) the other's
readings, which the site broker's ACL refuses for any but their own meter, and readings were
deleted without ever being sent. Now every adapter keeps ``{meter}.outbox.sqlite3`` (in its
state folder) under an exclusive lock; a second process on the same outbox is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from omdp.cloud.api.credentials import hash_password
from omdp.security.broker import acl_text, password_text
from omdp.testing.services import Mosquitto, free_port
from tests.faults.chain import START, Chain, Proc, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

_KEPT = re.compile(r"reading \d+ at \S+: .*OBIS_1\.8\.0=([0-9.]+)")
METERS = ("meter-a", "meter-b")
SECRET = "fault-suite-secret"  # noqa: S105 - a throwaway broker's test password


def _site_broker(folder: Path) -> Mosquitto:
    """The site broker with the generated password file and ACL (adapters and edge e1, whose
    site both meters belong to)."""
    folder.mkdir(parents=True)
    users = {**dict.fromkeys(METERS, "adapter"), "e1": "concentrator"}
    (folder / "password_file").write_text(password_text({u: hash_password(SECRET) for u in users}))
    (folder / "acl_file").write_text(acl_text(users, {"e1": METERS}))  # type: ignore[arg-type]
    port = free_port()
    extra = (
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {folder / 'password_file'}\nacl_file {folder / 'acl_file'}\n"
    )
    return Mosquitto(folder, port=port, plain_listener=False, extra_config=extra)


def _issued(folder: Path, chain: Chain, devices: Mosquitto, meter: str) -> Proc:
    """An adapter file as the cloud issues it (no Adapter.outboxPath), in the shared folder."""
    doc = {
        "MeterIndividualId": meter,
        "OperationalPropertyMapping": [{"from": "$.n", "to": "OBIS_1.8.0", "unit": "kWh"}],
        "CloudAuth": {"username": meter, "password": SECRET},
        "Broker": {"host": "127.0.0.1", "port": chain.local.port, "clientId": meter},
        "Meter": {
            "kind": "json-mqtt",
            "topic": f"devices/{meter}",
            "timePath": "$.time",
            "brokerHost": "127.0.0.1",
            "brokerPort": devices.port,
            "interval": 0.1,
        },
    }
    proc = Proc(folder, meter, ["adapter", "run", "--log-readings"], {})
    proc.config.write_text(yaml.safe_dump(doc))
    os.chmod(proc.config, 0o600)
    return proc


def test_issued_adapters_in_one_folder_lose_nothing(
    make_chain: Callable[..., Chain], tmp_path: Path
) -> None:
    """AD-1, CO-2, CL-1, CL-10: two adapters run from issued files in one folder against a
    site broker with the generated ACL; every reading they kept is stored (account: lost = 0),
    and a second process started on one of the files is refused with a clear error."""
    devices = Mosquitto(tmp_path / "devices").start()
    chain = make_chain(
        local=_site_broker(tmp_path / "site-broker"),
        edge={"local": {"username": "e1", "password": SECRET}},
    )
    try:
        _run_case(chain, devices, tmp_path / "etc-omdp-adapters")
    finally:
        devices.kill()


def _second_process(folder: Path, running: Proc) -> str:
    """Start a second ``omdp adapter run`` on a running adapter's file; return its log."""
    twin = Proc(folder, "twin", ["adapter", "run"], {})
    twin.config = running.config
    twin.start()
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not twin.alive, 20, "the second process to exit")
    alive = twin.alive
    twin.kill()
    return ("(still running) " if alive else "") + twin.log_since_start()


def _run_case(chain: Chain, devices: Mosquitto, folder: Path) -> None:
    folder.mkdir()
    adapters = {meter: _issued(folder, chain, devices, meter) for meter in METERS}
    for proc in adapters.values():
        proc.start()
        proc.wait_log("publishing on")
    device = paho.Client(CallbackAPIVersion.VERSION2, client_id="devices")
    device.connect("127.0.0.1", devices.port)
    device.loop_start()
    count = 400
    try:
        started = time.monotonic()
        infos = []
        for n in range(count):
            for meter in METERS:
                body = orjson.dumps({"n": n, "time": (START + timedelta(minutes=n)).isoformat()})
                infos.append(device.publish(f"devices/{meter}", body, qos=1))
            time.sleep(max(0.0, started + (n + 1) / 50 - time.monotonic()))
        wait_until(lambda: all(i.is_published() for i in infos), 30, "device publishes")
        time.sleep(1.0)
    finally:
        device.disconnect()
        device.loop_stop()
    kept = {
        m: {int(float(v)) for v in _KEPT.findall(p.log.read_text())} for m, p in adapters.items()
    }

    def stored() -> dict[str, set[int]]:
        got: dict[str, set[int]] = {m: set() for m in METERS}
        rows = chain.query(
            "SELECT meter_id, num FROM reading_values WHERE property_id = 'OBIS_1.8.0'"
        )
        for meter, num in rows:
            got.setdefault(meter, set()).add(int(num))
        return got

    with contextlib.suppress(AssertionError):
        wait_until(
            lambda: all(kept[m] <= stored()[m] for m in METERS), 60, "every kept reading", step=0.5
        )
    try:
        refused = _second_process(folder, adapters["meter-a"])
    finally:
        for proc in adapters.values():
            proc.stop()
    final = stored()
    sent_ids = {f"{m}/{n}" for m in METERS for n in kept[m]}
    stored_ids = {f"{m}/{n}" for m in METERS for n in final[m]}
    outboxes = sorted(p.name for p in folder.glob("*.sqlite3"))
    account = chain.account(
        "two issued adapter files in one folder, site broker with the generated ACL",
        sent_ids,
        stored=stored_ids,
        notes=[f"outbox files: {', '.join(outboxes)}", f"second process: {refused.strip()[-200:]}"],
    )
    assert account.lost == []
    assert len(sent_ids) >= count  # both adapters ran
    assert outboxes == ["meter-a.outbox.sqlite3", "meter-b.outbox.sqlite3"]
    assert "in use by another process" in refused
