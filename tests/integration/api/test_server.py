"""The API as deployed: ``omdp cloud api`` under uvicorn on a free port, and schemathesis
against its OpenAPI document (CL-3..CL-13: no server error, every answer as documented)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from tests.integration.api.apidata import make_settings, seed
from tests.support.net import free_port, wait_for_port

from omdp.cloud.storage import open_store

pytestmark = pytest.mark.integration

LAUNCH = "import sys; from omdp.cli.cloud_api_cmd import api; api(sys.argv[1:])"


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[str]:
    """``omdp cloud api`` over a seeded store, as a subprocess; yields its base URL."""
    store = open_store(store_url)
    seed(store)
    store.close()
    settings = make_settings(tmp_path, store_url)
    config = tmp_path / "cloud.yaml"
    dumped = settings.model_dump(mode="json")
    dumped["api"]["bulk_secret"] = "test-bulk-secret"  # noqa: S105 - a test key
    dumped["api"]["pseudonym_key"] = "test-pseudonym-key"
    config.write_text(yaml.safe_dump(dumped), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--config", str(config), "--port", str(port)],
        env={**os.environ, "OMDP_LOG_LEVEL": "WARNING"},
    )
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_cl3_cl5_real_server_query_and_bulk_stream(server: str) -> None:
    """CL-3, CL-5: a query and its bulk download over a real socket."""
    headers = {"Authorization": "Bearer op"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        assert client.get("/readyz").status_code == 200
        r = client.post("/api/v1/meterReadings", json={"pageSize": 10})
        assert r.status_code == 200
        assert len(r.json()["content"]) == 10
        link = client.post("/api/v1/meterReadings", json={"resultForm": "bulk"}).json()
        with client.stream("GET", link["linkToBulk"]) as stream:
            lines = sum(chunk.count(b"\n") for chunk in stream.iter_bytes())
        assert lines == 144
        assert "omdp_api_requests_total" in client.get("/metrics").text


def test_schemathesis_finds_no_server_error(server: str, tmp_path: Path) -> None:
    """CL-3..CL-13: schemathesis over every operation finds no 5xx and no answer that breaks
    the documented schema."""
    cmd = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{server}/api/openapi.json",
        "--header",
        "Authorization: Bearer op",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        "50",
        "--phases",
        "examples,fuzzing",
        "--generation-deterministic",
        "--no-color",
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False
    )
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
