"""``omdp simulate``: each command says where it listens, serves a source, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import MeterSource, open_source
from omdp.domain.adapter_file import MeterConnection


async def first(source: MeterSource) -> MeterSample:
    gen = source.samples()
    try:
        return await asyncio.wait_for(gen.__anext__(), 10)
    finally:
        await gen.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "kind", "extra"),
    [
        (["dsmr", "--interval", "0.1", "--pv"], "dsmr", {}),
        (["sml", "--interval", "0.1", "--seed", "3"], "sml", {}),
        (["mbus", "--meters", "electricity,heat"], "mbus", {"address": "3"}),
        (["dsmr", "--interval", "0.1", "--pty"], "dsmr", {}),
    ],
    ids=["dsmr-tcp", "sml-tcp", "mbus-tcp", "dsmr-pty"],
)
def test_simulator_serves_a_source_and_stops_on_sigterm(
    args: list[str], kind: str, extra: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "omdp", "simulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        _, how, where = line.split(" ")
        assert line.startswith("listening ")
        link = {"tcp": where} if how == "tcp" else {"serial": where}
        conn = MeterConnection.model_validate({"kind": kind, "interval": 0.1, **link, **extra})
        sample = asyncio.run(first(open_source(conn)))
        assert sample.values
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_unknown_mbus_meter_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "omdp", "simulate", "mbus", "--meters", "gas"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown meter(s) gas" in done.stderr
