"""``omdp cloud ingest`` as a child process that tests start, kill and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class IngestProcess:
    """One ingest process with its configuration file; its output goes to ``log``."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it has subscribed (it logs "subscribed")."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "omdp", "cloud", "ingest", "--config", str(self.config)],
                stdout=out,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 20
        while b"subscribed" not in self.log.read_bytes()[offset:]:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "ingest did not subscribe within 20 s"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)
