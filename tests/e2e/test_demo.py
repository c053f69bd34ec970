"""``omdp demo`` as a user runs it: one command, every meter's readings in the API, Ctrl-C, again.

The command runs as a subprocess on free ports with a short history (``--history-days 2``) so
that the first start is quick; the year-long backfill is measured separately (issue note).
"""

from __future__ import annotations

import importlib.util
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from omdp.testing.services import free_port

pytestmark = pytest.mark.e2e

METERS = {
    "h1-electricity", "h1-water", "h2-dsmr", "h2-sml-pv", "h2-radio-water", "h2-radio-heat",
    "h3-dlms",
}
REGISTER_AND_RUN = (  # until the lead registers the command in omdp.cli.main
    "import sys; from omdp.cli.main import SUBCOMMANDS, cli; "
    "SUBCOMMANDS['demo'] = ('omdp.cli.demo_cmd', 'demo', 'demo'); "
    "cli.main(['demo', *sys.argv[1:]], prog_name='omdp')"
)


class Demo:
    """One ``omdp demo`` process whose stdout is read line by line in a thread."""

    def __init__(self, data_dir: Path, *ports: int) -> None:
        http, edge, mqtt = ports
        from omdp.cli.main import SUBCOMMANDS

        head = [sys.executable, "-m", "omdp", "demo"]
        if "demo" not in SUBCOMMANDS:
            head = [sys.executable, "-c", REGISTER_AND_RUN]
        self.http = http
        self.log = data_dir.parent / f"demo-{time.monotonic_ns()}.log"
        with self.log.open("w") as err:
            self.process = subprocess.Popen(
                [
                    *head,
                    *("--data-dir", str(data_dir), "--http-port", str(http)),
                    *("--edge-port", str(edge), "--mqtt-port", str(mqtt)),
                    *("--meter-ports-from", "0", "--history-days", "2"),
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)
                continue
            self.output.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        pytest.fail(f"no line matching {pattern!r} in {timeout} s:\n{''.join(self.output)}")

    def interrupt(self, timeout: float = 10) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit {timeout} s after SIGINT; log:\n{self.log.read_text()[-20000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def ports() -> tuple[int, int, int]:
    return free_port(), free_port(), free_port()


@pytest.fixture
def demo_factory(tmp_path: Path, ports: tuple[int, int, int]) -> Iterator[type[Demo]]:
    started: list[Demo] = []

    class Factory(Demo):
        def __init__(self) -> None:
            super().__init__(tmp_path / "data", *ports)
            started.append(self)

    yield Factory
    for demo in started:
        demo.kill()


def _meters_with_readings(api: str, token: str, since: datetime) -> set[str]:
    body = {"readingTimeStart": since.isoformat(), "pageSize": 1000, "pageNumber": 0}
    answer = httpx.post(
        f"{api}/v1/meterReadings",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    answer.raise_for_status()
    return {r["meterId"] for r in answer.json().get("content", [])}


def test_demo_runs_every_meter_and_stops_on_ctrl_c(demo_factory: type[Demo]) -> None:
    started = datetime.now(UTC).replace(second=0, microsecond=0)  # M-Bus clocks say minutes
    demo = demo_factory()
    demo.wait_for(r"history: [\d,]+ new readings", timeout=60)
    api = demo.wait_for(r"API docs:\s+(http://\S+)/docs", timeout=60)[1]
    token = demo.wait_for(r"Token:\s+(\S+)", timeout=5)[1]
    assert api == f"http://127.0.0.1:{demo.http}"
    demo.wait_for(r"household-3: h3-dlms$", timeout=5)  # the encrypted DLMS meter's household

    deadline = time.monotonic() + 60
    seen: set[str] = set()
    while time.monotonic() < deadline and seen != METERS:
        seen = _meters_with_readings(api, token, started)
        time.sleep(1)
    assert seen == METERS, f"live readings of {sorted(seen)} only"

    docs = httpx.get(f"{api}/docs", timeout=10)
    assert docs.status_code == 200
    if importlib.util.find_spec("omdp.webapp") is not None:
        page = httpx.get(f"{api}/app/", timeout=10, follow_redirects=True)
        assert page.status_code == 200
        assert "<html" in page.text.lower()

    assert demo.interrupt(timeout=10) == 0


def test_second_start_reuses_the_data(demo_factory: type[Demo]) -> None:
    first = demo_factory()
    stored = int(first.wait_for(r"history: ([\d,]+) new readings", 60)[1].replace(",", ""))
    token = first.wait_for(r"Token:\s+(\S+)", timeout=60)[1]
    assert stored == 2 * 96 * len(METERS)
    assert first.interrupt() == 0

    second = demo_factory()
    reused = second.wait_for(r"data reused: ([\d,]+) readings stored|backfilling", timeout=60)
    assert reused[1] is not None, "the second start backfilled again"
    assert int(reused[1].replace(",", "")) >= stored
    assert second.wait_for(r"Token:\s+(\S+)", timeout=10)[1] == token
    assert second.interrupt() == 0
