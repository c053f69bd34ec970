"""A real Mosquitto with the generated site configuration (CM-1, CL-14): TLS only, every
device its own credentials and topics."""

from __future__ import annotations

import gc
import queue
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port

from omdp.cloud.api.credentials import hash_password
from omdp.security.broker import BrokerTls, write_broker_config
from omdp.security.pki import init_ca, issue_client, issue_server

pytestmark = pytest.mark.integration

USERS = {"meter-a": "adapter", "meter-b": "adapter", "conc-1": "concentrator", "ingest": "ingest"}


@dataclass
class Site:
    """The broker and the files a client needs."""

    port: int
    pki: Path
    other_pki: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Mosquitto with the generated conf: TLS listener, client certificates required."""
    pki, other = tmp_path / "pki", tmp_path / "other-pki"
    init_ca(pki)
    init_ca(other, name="someone else's CA")
    server = issue_server(pki)
    for user in [*USERS, "stranger"]:
        issue_client(pki, user)
    issue_client(other, "meter-a")
    hashes = {u: hash_password(f"{u}-pw") for u in USERS}
    roles = {u: r for u, r in USERS.items() if r != "adapter"}
    port = free_port()
    tls = BrokerTls(
        ca_file=pki / "ca.crt",
        cert_file=server.cert,
        key_file=server.key,
        port=port,
        bind=None,  # all interfaces: the hostname test dials 127.0.0.2
        require_certificate=True,
    )
    sites = {"conc-1": ["meter-a", "meter-b"]}  # the meters conc-1 may forward
    conf = write_broker_config(
        tmp_path / "broker", hashes, roles, tls, persistence=False, sites=sites
    )
    broker = Mosquitto(
        tmp_path / "mosq", port=port, extra_config=conf.read_text(), plain_listener=False
    ).start()
    yield Site(port, pki, other)
    broker.kill()


class Client:
    """A synchronous paho client that records what it receives."""

    def __init__(
        self,
        site: Site,
        user: str | None,
        *,
        password: str | None = None,
        ca: Path | None = None,
        cert_from: Path | None = None,
        tls: bool = True,
        client_cert: bool = True,
    ) -> None:
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[int] = queue.Queue()
        self.paho = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{user}-{time.monotonic_ns()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if user is not None:
            self.paho.username_pw_set(user, password or f"{user}-pw")
        if tls:
            certs = cert_from or site.pki
            name = user if (certs / f"{user}.crt").exists() else "stranger"
            self.paho.tls_set(
                ca_certs=str(ca or site.pki / "ca.crt"),
                certfile=str(certs / f"{name}.crt") if client_cert else None,
                keyfile=str(certs / f"{name}.key") if client_cert else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self.paho.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(rc.value)
        self.paho.on_message = lambda _c, _u, m: self.received.put((m.topic, m.payload))
        self.subacks: queue.Queue[int] = queue.Queue()
        self.paho.on_subscribe = lambda _c, _u, mid, _rc, _p: self.subacks.put(mid)
        self.disconnects: list[str] = []
        self.acked: set[int] = set()
        self.paho.on_publish = lambda _c, _u, mid, _rc, _p: self.acked.add(mid)
        self.paho.on_disconnect = lambda _c, _u, _f, rc, _p: self.disconnects.append(str(rc))
        self.site = site

    def connect(self) -> int:
        """Connect; the CONNACK reason code (0 = accepted), or -1 when the connection failed."""
        # paho leaves the socket of a failed handshake to the garbage collector
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                self.paho.connect("localhost", self.site.port, keepalive=30)
                failed = False
            except (OSError, ssl.SSLError):
                failed = True
            gc.collect()
        if failed:
            return -1
        self.paho.loop_start()
        try:
            rc = self.connected.get(timeout=3)
        except queue.Empty:
            rc = -1
        if rc != 0:
            self.close()
        return rc

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        _rc, mid = self.paho.subscribe(topic, qos=1)
        while self.subacks.get(timeout=10) != mid:
            pass

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's answer.

        Mosquitto 2.0.11 sometimes drops a TLS connection right after answering a denied
        publish ("Bad socket read/write"); paho then reconnects and sends what it holds, so
        wait for the answer across such a reconnect instead of failing on the first try.
        """
        info = self.paho.publish(topic, payload, qos=1)  # queued by paho even if disconnected
        deadline = time.monotonic() + 15
        while info.mid not in self.acked:
            assert time.monotonic() < deadline, f"no PUBACK; disconnects {self.disconnects}"
            time.sleep(0.02)

    def close(self) -> None:
        """Disconnect and close the socket."""
        self.paho.disconnect()
        self.paho.loop_stop()
        self.paho._sock_close()  # paho leaves a refused connection's socket open


def _drain(client: Client, wait: float = 0.7) -> list[tuple[str, bytes]]:
    time.sleep(wait)
    got = []
    while not client.received.empty():
        got.append(client.received.get())
    return got


def _until(client: Client, last: tuple[str, bytes], timeout: float = 15) -> list[tuple[str, bytes]]:
    """Everything received up to and including ``last``, a message published after the others
    by the same client: had the broker let an earlier message through, it would be here too."""
    got = []
    while not got or got[-1] != last:
        got.append(client.received.get(timeout=timeout))
    return got


def test_cm1_cl14_adapter_publishes_only_its_own_topic(site: Site) -> None:
    """CM-1, CL-14: meter-a reaches smartMeterMessage/meter-a/...; its writes to meter-b's or a
    concentrator's topic never reach a subscriber, and it cannot read concentrator/#."""
    conc, ingest, adapter = Client(site, "conc-1"), Client(site, "ingest"), Client(site, "meter-a")
    try:
        assert conc.connect() == 0
        assert ingest.connect() == 0
        assert adapter.connect() == 0
        conc.subscribe("smartMeterMessage/#")
        ingest.subscribe("concentrator/#")
        adapter.subscribe("concentrator/#")
        adapter.subscribe("smartMeterMessage/#")
        adapter.publish("smartMeterMessage/meter-b/readings", b"spoofed")
        adapter.publish("concentrator/conc-1/smartMeterMessage/meter-a/readings", b"spoofed")
        own = ("smartMeterMessage/meter-a/readings", b"own")
        adapter.publish(*own)  # published last: it arrives after anything let through before
        assert _until(conc, own) == [own]
        conc.publish("concentrator/conc-2/smartMeterMessage/meter-a/readings", b"spoofed")
        fwd = ("concentrator/conc-1/smartMeterMessage/meter-a/readings", b"fwd")
        conc.publish(*fwd)
        assert _until(ingest, fwd) == [fwd]  # neither the adapter's nor conc-2's spoof
        assert _drain(adapter, 0) == []  # reads nothing at all, not even its own topic
    finally:
        for c in (conc, ingest, adapter):
            c.close()


def test_cl14_ingest_shared_subscription(site: Site) -> None:
    """CL-14: the ingest user may read concentrator/# through a shared subscription."""
    conc, ingest = Client(site, "conc-1"), Client(site, "ingest")
    try:
        assert conc.connect() == 0
        assert ingest.connect() == 0
        ingest.subscribe("$share/cloud/concentrator/#")
        conc.publish("concentrator/conc-1/smartMeterMessage/meter-a/readings", b"x")
        message = ("concentrator/conc-1/smartMeterMessage/meter-a/readings", b"x")
        assert _until(ingest, message) == [message]
    finally:
        conc.close()
        ingest.close()


def test_cm1_cl14_no_credentials_or_wrong_ones_cannot_connect(site: Site) -> None:
    """CM-1, CL-14: no password, a wrong password, a certificate of another CA, no
    certificate, or a certificate-less TLS client are all refused."""
    assert Client(site, None).connect() != 0  # anonymous, with a valid certificate
    assert Client(site, "meter-a", password="wrong").connect() != 0  # noqa: S106
    assert Client(site, "nobody", password="x").connect() != 0  # noqa: S106
    wrong_ca = Client(site, "meter-a", cert_from=site.other_pki)
    assert wrong_ca.connect() == -1  # the broker refuses the handshake
    assert Client(site, "meter-a", client_cert=False).connect() != 0


def test_cm1_plaintext_is_refused(site: Site) -> None:
    """CM-1: plaintext MQTT to the broker's port is refused (there is no plain listener)."""
    plain = Client(site, "meter-a", tls=False)
    assert plain.connect() == -1


def test_cm1_broker_certificate_hostname_is_checked(site: Site, tmp_path: Path) -> None:
    """CM-1: a client refuses a broker whose certificate does not name the host it dialled,
    and one signed by a CA it does not trust."""
    other = Client(site, "meter-a", ca=site.other_pki / "ca.crt")
    assert other.connect() == -1
    wrong_name = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    wrong_name.tls_set(ca_certs=str(site.pki / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    context = wrong_name._ssl_context  # what paho (and so omdp's MqttClient) dials with
    assert context is not None
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    # 127.0.0.2 is loopback too but not among the certificate's names
    with (
        socket.create_connection(("127.0.0.2", site.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.2")
