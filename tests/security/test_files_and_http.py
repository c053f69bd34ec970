"""Finding 7, the rest: private files, a refused readable key, HSTS, metrics behind a token or
on loopback, and broker files the broker's own user can read (CL-7, CL-13, CL-14, CM-1, AD-5).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import shutil
import ssl
import stat
import tempfile
from pathlib import Path

import httpx
import pytest

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cloud.metrics import IngestMetrics, serve_metrics
from omdp.cloud.settings import IngestSettings
from omdp.cloud.storage import open_store
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.errors import ConfigError
from omdp.security.broker import BrokerTls, write_broker_config
from omdp.security.https import https_servers
from omdp.security.pki import init_ca, issue_server
from omdp.security.protect import load_signing_key
from omdp.security.settings import HttpsSettings
from tests.integration.api.apidata import TestClient
from tests.security.site import Site, cloud_app, free_port
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for_port

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cl13_store_outbox_and_secrets_are_private(tmp_path: Path) -> None:
    """CL-13, AD-5: the SQLite store with its WAL and shared memory, an outbox with its WAL,
    and the folders made for them are readable by their owner only (0600, 0700), whatever the
    umask."""
    old = os.umask(0o022)
    try:
        store = open_store(f"sqlite:///{tmp_path / 'data' / 'cloud.sqlite3'}")
        store.count_quarantine()

        async def outbox() -> None:
            box = await SqliteOutbox.open(tmp_path / "edge" / "outbox.sqlite3")
            await box.append([("smartMeterMessage/m/readings", b"{}")])
            for name in ("outbox.sqlite3", "outbox.sqlite3-wal"):
                assert _mode(tmp_path / "edge" / name) == 0o600, name
            await box.close()

        asyncio.run(outbox())
        for name in ("cloud.sqlite3", "cloud.sqlite3-wal", "cloud.sqlite3-shm"):
            assert _mode(tmp_path / "data" / name) == 0o600, name
        store.close()
        assert _mode(tmp_path / "data") == 0o700
        assert _mode(tmp_path / "edge") == 0o700
    finally:
        os.umask(old)


def test_ad5_a_readable_secret_key_is_refused_and_a_readable_store_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """AD-5, CL-14: a signing key or TLS key that other users can read is refused at start-up
    with the fix in the message; a store file readable by others is used with a warning."""
    key = tmp_path / "config-signing.pem"
    load_signing_key(key, create=True)
    key.chmod(0o644)
    with pytest.raises(ConfigError, match=r"chmod 600"):
        load_signing_key(key)
    pki = tmp_path / "pki"
    init_ca(pki)
    server = issue_server(pki)
    server.key.chmod(0o644)
    settings = _https_settings(tmp_path, server.cert, server.key)
    with pytest.raises(ConfigError, match=r"readable by other users"):
        https_servers(object(), settings)  # type: ignore[arg-type]
    data = tmp_path / "loose.sqlite3"
    open_store(f"sqlite:///{data}").close()
    data.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        open_store(f"sqlite:///{data}").close()
    assert any("readable by other users" in r.getMessage() for r in caplog.records)


def _https_settings(tmp_path: Path, cert: Path, key: Path):  # type: ignore[no-untyped-def]
    from tests.integration.api.apidata import make_settings

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'c.sqlite3'}")
    return settings.model_copy(
        update={"http_port": free_port(), "tls": HttpsSettings(cert_file=cert, key_file=key)}
    )


def test_cl7_https_answers_carry_hsts(site: Site, tmp_path: Path) -> None:
    """CL-7, APP-5: every HTTPS answer tells browsers to keep to HTTPS (HSTS)."""
    server = issue_server(site.pki, stem="api")
    settings = site.settings.model_copy(
        update={"tls": HttpsSettings(cert_file=server.cert, key_file=server.key)}
    )
    site.settings = settings
    main, _ = https_servers(cloud_app(site), settings)

    async def run() -> httpx.Response:
        task = asyncio.create_task(main.serve())
        try:
            await asyncio.to_thread(wait_for_port, settings.http_port)
            context = ssl.create_default_context(cafile=str(site.pki / "ca.crt"))
            async with httpx.AsyncClient(verify=context) as http:
                return await http.get(f"https://localhost:{settings.http_port}/healthz")
        finally:
            main.should_exit = True
            await task

    answer = asyncio.run(run())
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_cl14_metrics_need_an_operator_token_and_ingest_metrics_stay_on_loopback(
    site: Site,
) -> None:
    """CL-14: the API's /metrics answers 401 without a token, 403 to a household owner and
    the figures to an operator; the ingest's metrics listen on 127.0.0.1 by default."""
    tokens = {
        hash_token("op-token"): ApiTokenGrant(subject="ops", scopes=["operate"]),
        hash_token("owner-token"): ApiTokenGrant(
            subject="alice", scopes=["readings:read"], household_id="h-one"
        ),
    }
    api = site.settings.api.model_copy(update={"tokens": tokens})
    site.settings = site.settings.model_copy(update={"api": api})
    with TestClient(cloud_app(site)) as client:
        assert client.get("/metrics").status_code == 401
        owner = client.get("/metrics", headers={"Authorization": "Bearer owner-token"})
        assert owner.status_code == 403
        ops = client.get("/metrics", headers={"Authorization": "Bearer op-token"})
        assert ops.status_code == 200
        assert "omdp_api_requests_total" in ops.text
    assert IngestSettings().metrics_host == "127.0.0.1"
    server = serve_metrics(IngestSettings(metrics_port=0), IngestMetrics())
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to another user")
def test_cm1_broker_config_owner_makes_files_the_broker_user_reads(site: Site) -> None:
    """CM-1: `omdp broker config --owner mosquitto` writes files that user owns (0600 and a
    0700 folder); Mosquitto started as root drops to that user and serves the TLS listener."""
    try:
        broker_user = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no mosquitto user on this machine")
    # outside pytest's folders, which the broker's user may not enter
    outside = Path(tempfile.mkdtemp(prefix="omdp-broker-"))
    outside.chmod(0o711)
    site.broker_dir = outside / "broker"
    port = free_port()
    site.broker = None
    output = site.broker_config("--owner", "mosquitto", "--port", str(port))
    assert "mosquitto" in output
    for name in ("password_file", "acl_file", "mosquitto.conf"):
        info = (site.broker_dir / name).stat()
        assert info.st_uid == broker_user.pw_uid, name
        assert stat.S_IMODE(info.st_mode) == 0o600, name
    assert stat.S_IMODE(site.broker_dir.stat().st_mode) == 0o700
    broker = Mosquitto(site.root / "mosq-owned", port=port, plain_listener=False)
    broker.config_file = site.broker_dir / "mosquitto.conf"
    broker._write_config = lambda: None  # type: ignore[method-assign]  # the generated file as is
    try:
        broker.start()
        assert broker.running
    finally:
        broker.kill()
        shutil.rmtree(outside)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to another user")
def test_cm1_broker_config_owner_reaches_its_folder_through_new_parents(site: Site) -> None:
    """CM-1: `--out` under folders that do not exist yet: they used to be made 0700 for root,
    and Mosquitto, dropped to its user, could not open its password file and did not start.
    Now they are made 0755 (the folder itself stays 0700, the broker's), and a parent the
    broker's user cannot pass is refused with the chmod to run."""
    try:
        pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no mosquitto user on this machine")
    outside = Path(tempfile.mkdtemp(prefix="omdp-broker-"))
    outside.chmod(0o711)
    site.broker_dir = outside / "etc" / "mosquitto" / "omdp"
    port = free_port()
    site.broker = None
    try:
        site.broker_config("--owner", "mosquitto", "--port", str(port))
        for made in (outside / "etc", outside / "etc" / "mosquitto"):
            assert stat.S_IMODE(made.stat().st_mode) == 0o755, made
        assert stat.S_IMODE(site.broker_dir.stat().st_mode) == 0o700
        broker = Mosquitto(site.root / "mosq-nested", port=port, plain_listener=False)
        broker.config_file = site.broker_dir / "mosquitto.conf"
        broker._write_config = lambda: None  # type: ignore[method-assign]  # the file as is
        try:
            broker.start()
            assert broker.running
        finally:
            broker.kill()
        closed = outside / "closed"
        closed.mkdir()
        closed.chmod(0o700)
        tls = BrokerTls(site.pki / "ca.crt", site.pki / "server.crt", site.pki / "server.key")
        with pytest.raises(ConfigError, match=rf"mosquitto cannot reach .*chmod o\+x {closed}"):
            write_broker_config(closed / "omdp", {}, {}, tls, owner="mosquitto")
    finally:
        shutil.rmtree(outside)
