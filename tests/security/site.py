"""A secured site for the trust-boundary tests: site CA, Mosquitto over TLS with the files that
``omdp broker config`` writes, a cloud store with two households, the embedded token issuer.

Layout (:data:`METERS`): household ``h-one`` has meter ``m-one``, household ``h-two`` has
``m-two``, both behind concentrator ``conc-1`` (one building, two flats); ``m-three`` of
``h-two`` hangs behind ``conc-2`` (a second site). ``h-empty`` is a household without meters.
Users: ``alice`` owns h-one, ``bob`` h-two, ``nora`` h-empty; ``rita`` is a researcher and
``olga`` an operator. Broker users: one per meter (adapters), ``conc-1``, ``conc-2``, ``ingest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from click.testing import CliRunner

from omdp.cli.security_cmd import broker as broker_cli
from omdp.cloud.api.app import create_app
from omdp.cloud.api.credentials import FileCredentialStore, hash_password
from omdp.cloud.api.security import users_path
from omdp.cloud.ingest import IngestService
from omdp.cloud.settings import CloudSettings, IngestSettings
from omdp.cloud.storage import open_store
from omdp.cloud.storage.port import ReadingStore
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)
from omdp.edge.api import HttpServer, http_server
from omdp.mqtt.settings import MqttSettings
from omdp.security.broker import roles_path, save_role
from omdp.security.pki import init_ca, issue_server
from omdp.security.users import UserStore
from omdp.settings import load_settings
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port

METERS = {
    "m-one": ("h-one", "conc-1"),
    "m-two": ("h-two", "conc-1"),
    "m-three": ("h-two", "conc-2"),
}
HOUSEHOLDS = ("h-one", "h-two", "h-empty")
PASSWORDS = {
    "alice": "alice-pw-1",
    "bob": "bob-pw-123",
    "nora": "nora-pw-12",
    "rita": "rita-pw-12",
    "olga": "olga-pw-12",
}
ROLES: dict[str, tuple[str, str | None]] = {
    "alice": ("owner", "h-one"),
    "bob": ("owner", "h-two"),
    "nora": ("owner", "h-empty"),
    "rita": ("researcher", None),
    "olga": ("operator", None),
}
ELEMENT = PhysicalMeterElement(
    physical_element_id="el-sec",
    physical_element_name="Meter of the security tests",
    physical_meter_class=MeterClass.ELECTRICITY,
    physical_meter_operational_properties=[
        OperationalPropertyDefinition(property_id="OBIS_1.8.0"),
        OperationalPropertyDefinition(property_id="OBIS_1.7.0"),
    ],
)


def device_password(user: str) -> str:
    """The broker password of a device or service in these tests."""
    return f"{user}-broker-pw"


@dataclass
class Site:
    """Everything a test needs to reach the secured site."""

    root: Path
    cloud_yaml: Path
    settings: CloudSettings
    store: ReadingStore
    users: UserStore
    pki: Path
    broker: Mosquitto | None = None
    broker_dir: Path | None = None

    @property
    def port(self) -> int:
        """The broker's TLS port."""
        assert self.broker is not None
        return self.broker.port

    def mqtt(self, user: str, *, client_id: str | None = None) -> MqttSettings:
        """Connection settings of ``user`` to the site broker (TLS, password)."""
        return MqttSettings(
            host="localhost",
            port=self.port,
            tls=True,
            ca_file=self.pki / "ca.crt",
            username=user,
            password=device_password(user),  # type: ignore[arg-type]
            client_id=client_id,
        )

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the site CA."""
        return ssl.create_default_context(cafile=str(self.pki / "ca.crt"))

    def broker_config(self, *extra: str) -> str:
        """Run ``omdp broker config`` for the site; returns its output."""
        assert self.broker_dir is not None
        result = CliRunner().invoke(
            broker_cli,
            [
                "config",
                *("--config", str(self.cloud_yaml), "--out", str(self.broker_dir)),
                *("--ca", str(self.pki / "ca.crt")),
                *("--cert", str(self.pki / "server.crt"), "--key", str(self.pki / "server.key")),
                *("--port", str(self.broker.port if self.broker else 8883)),
                *extra,
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    def start_broker(self, *extra: str) -> Mosquitto:
        """Write the broker's files with ``omdp broker config`` and start Mosquitto on them
        (the generated mosquitto.conf as it is, plus a log file and, as root, ``user root``)."""
        self.broker_dir = self.root / "broker"
        self.broker = Mosquitto(self.root / "mosq", plain_listener=False, persistence=False)
        self.broker_config(*extra)
        run = self.broker.workdir / "run.conf"
        lines = [
            (self.broker_dir / "mosquitto.conf").read_text(),
            f"log_dest file {self.broker.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        run.write_text("\n".join(lines) + "\n")
        self.broker.config_file = run
        self.broker._write_config = lambda: None  # type: ignore[method-assign]
        return self.broker.start()


def cloud_doc(root: Path, *, http_port: int = 0, **extra: Any) -> dict[str, Any]:
    """The cloud's YAML settings of the site."""
    return {
        "db": {"url": f"sqlite:///{root / 'cloud.sqlite3'}"},
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "api": {
            "bulk_secret": "sec-bulk-secret",
            "pseudonym_key": "sec-pseudonym-key",
            "credentials_file": str(root / "secrets" / "device-credentials.json"),
            "auth": {"token_rate_per_minute": 1000},
        },
        **extra,
    }


def seed_registry(store: ReadingStore) -> None:
    """Households, the element and the meters of :data:`METERS` (with their sites)."""
    store.put_element(ELEMENT)
    for hid in HOUSEHOLDS:
        store.put_household(Household(household_id=hid, timezone="Europe/Brussels"))
    for meter, (hid, site) in METERS.items():
        store.put_meter(
            MeterIndividual(
                meter_individual_id=meter, household_id=hid, physical_meter_type=ELEMENT
            )
        )
        set_site = getattr(store, "set_meter_site", None)
        if set_site is not None:
            set_site(meter, site)


@contextlib.contextmanager
def secure_site(root: Path, *, http_port: int = 0, **extra: Any) -> Iterator[Site]:
    """The site of the module docstring (broker not started: :meth:`Site.start_broker`)."""
    root.mkdir(parents=True, exist_ok=True)
    cloud_yaml = root / "cloud.yaml"
    cloud_yaml.write_text(yaml.safe_dump(cloud_doc(root, http_port=http_port, **extra)))
    settings = load_settings(CloudSettings, cloud_yaml)
    pki = root / "pki"
    init_ca(pki)
    issue_server(pki)
    credentials = FileCredentialStore(settings.api.credentials_file)
    for user in [*METERS, "conc-1", "conc-2", "ingest"]:
        credentials.put(user, hash_password(device_password(user)))
    roles = roles_path(settings.api.credentials_file)
    for conc in ("conc-1", "conc-2"):
        save_role(roles, conc, "concentrator")
    save_role(roles, "ingest", "ingest")
    store = open_store(settings.db.url)
    seed_registry(store)
    users = UserStore(users_path(settings))
    for name, (role, household) in ROLES.items():
        users.add(name, PASSWORDS[name], role=role, household=household)  # type: ignore[arg-type]
    site = Site(root, cloud_yaml, settings, store, users, pki)
    try:
        yield site
    finally:
        if site.broker is not None:
            site.broker.kill()
        store.close()


@contextlib.asynccontextmanager
async def serving(app: Any, port: int = 0) -> AsyncIterator[HttpServer]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (``port`` 0: a free one) while open."""
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@contextlib.asynccontextmanager
async def running_ingest(site: Site, **ingest: Any) -> AsyncIterator[IngestService]:
    """The real ingest on the site broker as user ``ingest``, with ``ingest`` settings."""
    settings = site.settings.model_copy(
        update={"mqtt": site.mqtt("ingest"), "ingest": IngestSettings(**ingest)}
    )
    service = IngestService(site.store, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.ready.wait(), 15)
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def cloud_app(site: Site, *, edge_url: str | None = None) -> Any:
    """The cloud API over the site's store, with the app (and its edge proxy) mounted."""
    from omdp.webapp import mount_webapp

    app = create_app(site.settings, site.store)
    mount_webapp(app, prefix="/app", edge_url=edge_url)
    return app


async def login(http: httpx.AsyncClient, user: str, prefix: str = "") -> str:
    """A password-grant access token of ``user`` from the cloud's issuer."""
    r = await http.post(
        f"{prefix}/oauth/token",
        data={"grant_type": "password", "username": user, "password": PASSWORDS[user]},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """Headers of a caller."""
    return {"Authorization": f"Bearer {token}"}


__all__ = ["free_port"]
