"""``omdp edge token``: a token for a no-cloud edge's query API, and the api.tokens entry that
makes the edge accept it (CL-6).

The command's output is pasted into an edge.yaml as printed, the edge runs in this process over
a real Mosquitto (its local broker) and a SQLite store, and the query API is asked over HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from tests.integration.edge.support import running_edge
from tests.support.mosquitto import Mosquitto

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cli.edge_cmd import edge
from omdp.cloud.api.settings import ApiSettings
from omdp.edge.samples import sample_reading
from omdp.edge.settings import EdgeSettings
from omdp.settings import load_settings

pytestmark = pytest.mark.integration


def make_token(*args: str) -> tuple[str, str]:
    """Run ``omdp edge token ARGS``; its stdout and the token it printed."""
    result = CliRunner().invoke(edge, ["token", *args])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = yaml.safe_load(result.stdout)  # the whole output is YAML
    return result.stdout, str(printed["token"])


def edge_yaml(printed: str, local: Mosquitto, workdir: Path) -> Path:
    """A no-cloud edge.yaml whose ``api`` group is the command's output, pasted as printed."""
    api = printed[printed.index("api:\n") :]
    lines = [
        "concentrator_id: home",
        f"local: {{port: {local.port}}}",
        f"store: {{url: 'sqlite:///{workdir / 'home.sqlite3'}'}}",
        f"outbox_path: {workdir / 'outbox.sqlite3'}",
        "http_port: 0",
        api.rstrip("\n"),
        f"  credentials_file: {workdir / 'api' / 'devices.json'}",
    ]
    path = workdir / "edge.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_edge_token_is_accepted_by_the_no_cloud_edge(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """CL-6, CL-3: the token ``omdp edge token`` prints queries POST /v1/meterReadings of the
    edge whose YAML holds the printed entry (operate by default: real meter ids); another
    token of the command, not configured, and no token get 401. The status counts the store."""
    printed, token = make_token()
    _, unknown = make_token()  # a token of the same kind, not put into this edge's YAML
    settings = load_settings(EdgeSettings, edge_yaml(printed, mosquitto, tmp_path))
    assert settings.api.tokens == {
        hash_token(token): ApiTokenGrant(subject="household", scopes=["operate"])
    }
    count = 3

    async def main() -> dict[str, Any]:
        async with (
            running_edge(settings) as (service, port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
        ):
            for i in range(count):
                await service.submit("smartMeterMessage/m1/readings", sample_reading("m1", i))
            query = {"pageSize": 100}
            mine = {"Authorization": f"Bearer {token}"}
            async with asyncio.timeout(15):
                while True:
                    answer = await http.post("/v1/meterReadings", json=query, headers=mine)
                    if answer.status_code != 200 or len(answer.json()["content"]) >= count:
                        break
                    await asyncio.sleep(0.05)
            wrong = {"Authorization": f"Bearer {unknown}"}
            return {
                "mine": answer,
                "wrong": await http.post("/v1/meterReadings", json=query, headers=wrong),
                "none": await http.post("/v1/meterReadings", json=query),
                "sink": (await http.get("/v1/status")).json()["sink"],
            }

    out = asyncio.run(main())
    assert out["mine"].status_code == 200, out["mine"].text
    assert [r["meterId"] for r in out["mine"].json()["content"]] == ["m1"] * count
    assert out["wrong"].status_code == 401
    assert out["none"].status_code == 401
    assert out["sink"]["kind"] == "store"
    assert out["sink"]["stored"] == count


def test_edge_token_scopes_and_household() -> None:
    """CL-6, CL-9: --scope (repeated) and --household make the grant of a household-bound
    token; each run makes a new token; an identifier the API refuses is refused here."""
    printed, token = make_token("--scope", "readings:read", "--household", "flat-12")
    again, other = make_token()
    api = ApiSettings.model_validate(yaml.safe_load(printed)["api"])
    assert api.tokens == {
        hash_token(token): ApiTokenGrant(
            subject="household", scopes=["readings:read"], household_id="flat-12"
        )
    }
    assert token != other
    assert hash_token(token) not in again
    assert token not in yaml.safe_load(printed)["api"]["tokens"]  # only the hash is configured
    refused = CliRunner().invoke(edge, ["token", "--household", "no spaces allowed"])
    assert refused.exit_code != 0
    assert "household_id" in refused.output
    refused = CliRunner().invoke(edge, ["token", "--scope", "everything"])
    assert refused.exit_code != 0
