"""``omdp status`` against a secured site: HTTPS under the site's own CA (CL-7, CM-1) and an
edge whose alerts need a token of its own (APP-4, APP-5, CL-14).

Following docs/deployment.md, the cloud API served HTTPS with a certificate of the site CA and
``omdp status`` reported it as "does not answer (ConnectError)", with no way to trust that CA;
and the edge answered 401 to the cloud token on ``/v1/alerts``, which status showed as
"activeAlerts: none", so an active alert went unseen.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omdp.ops.status import SiteStatus, Thresholds, gather
from omdp.security.pki import init_ca, issue_server

EDGE = "http://edge.test:8081"
EDGE_TOKEN = "edge-operator-token"  # noqa: S105 - no real secret
CLOUD_TOKEN = "cloud-operator-token"  # noqa: S105 - no real secret
LIMITS = Thresholds(sample_s=0.0)
ALERT = {"ruleId": "meter-silent", "meterId": "m-1", "message": "meter m-1 is silent"}


def _edge(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path in ("/healthz", "/readyz"):
        return httpx.Response(200, json={"status": "ok"})
    if path == "/v1/status":
        outbox = {"depth": 0, "oldestAgeS": 0}
        sink = {"kind": "cloud-broker", "connected": True, "receipts": {"timeouts": 0}}
        state = {"concentratorId": "e1", "outbox": outbox, "sink": sink, "meters": 1}
        return httpx.Response(200, json=state)
    if path == "/v1/alerts":
        if request.headers.get("authorization") != f"Bearer {EDGE_TOKEN}":
            return httpx.Response(401, json={"detail": "unknown or expired token"})
        return httpx.Response(200, json={"active": [ALERT], "recent": []})
    return httpx.Response(404)


def _run(**kwargs: Any) -> SiteStatus:
    return asyncio.run(
        gather(
            cloud=None,
            edges=[EDGE],
            token=CLOUD_TOKEN,
            transport=httpx.MockTransport(_edge),
            limits=LIMITS,
            **kwargs,
        )
    )


def test_app4_alerts_the_edge_refuses_to_show_are_a_problem_not_none() -> None:
    found = _run()
    assert found.edges[0]["activeAlerts"] is None
    assert f"edge {EDGE}: alerts not readable (HTTP 401)" in "\n".join(found.problems)
    assert "--edge-token" in "\n".join(found.problems)
    assert not found.healthy


def test_app5_the_edge_token_is_sent_to_the_edge_and_its_alerts_are_seen() -> None:
    found = _run(edge_token=EDGE_TOKEN)
    assert found.edges[0]["activeAlerts"] == ["meter-silent: m-1 meter m-1 is silent"]
    assert found.problems == ["edge e1: 1 active alert(s)"]


def test_cl14_each_token_goes_only_to_its_own_part() -> None:
    """CL-14: the cloud's operator token used to go with every request, also in clear to an
    edge and to every ingest's and adapter's plain-HTTP metrics port."""
    seen: dict[str, set[str | None]] = {}

    def site(request: httpx.Request) -> httpx.Response:
        seen.setdefault(request.url.host, set()).add(request.headers.get("authorization"))
        if request.url.host == "edge.test":
            return _edge(request)
        if request.url.path == "/metrics":
            return httpx.Response(200, text="omdp_ingest_connected 1\n")
        if request.url.path == "/v1/meterReadings":
            return httpx.Response(200, json={"totalRows": 0, "content": []})
        if request.url.path == "/v1/meterHealth":
            return httpx.Response(200, json={"items": []})
        return httpx.Response(200, json={"status": "ok"})

    asyncio.run(
        gather(
            cloud="https://cloud.test",
            edges=[EDGE],
            ingests=["http://ingest.test:9101/metrics"],
            adapters=["http://adapter.test:9201/metrics"],
            token=CLOUD_TOKEN,
            edge_token=EDGE_TOKEN,
            transport=httpx.MockTransport(site),
            limits=LIMITS,
        )
    )
    assert seen["cloud.test"] == {None, f"Bearer {CLOUD_TOKEN}"}  # health probes need none
    assert seen["edge.test"] == {None, f"Bearer {EDGE_TOKEN}"}
    assert seen["ingest.test"] == {None}
    assert seen["adapter.test"] == {None}


def test_app5_without_an_edge_token_the_edge_is_asked_with_the_cloud_token() -> None:
    """APP-5: the demo's edge takes the demo's operator token: ``omdp status --token T``
    reads its alerts as before; a deployed edge refuses it, and says so (the test above)."""
    sent: set[str | None] = set()

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/alerts":
            sent.add(request.headers.get("authorization"))
        return _edge(request)

    found = asyncio.run(
        gather(
            cloud=None,
            edges=[EDGE],
            token=EDGE_TOKEN,
            transport=httpx.MockTransport(edge),
            limits=LIMITS,
        )
    )
    assert sent == {f"Bearer {EDGE_TOKEN}"}
    assert found.edges[0]["activeAlerts"] == ["meter-silent: m-1 meter m-1 is silent"]


@pytest.fixture(name="https_api")
def _https_api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server answering /healthz and /readyz over HTTPS, its certificate from a site CA."""
    tls = tmp_path / "tls"
    init_ca(tls)
    issued = issue_server(tls, stem="api")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", tls / "ca.crt"
    finally:
        server.shutdown()
        server.server_close()


def _cloud(url: str, ca_file: Path | None) -> SiteStatus:
    return asyncio.run(gather(cloud=url, token=None, limits=LIMITS, ca_file=ca_file, timeout=5))


def test_cl7_a_site_ca_is_trusted_with_ca_file(https_api: tuple[str, Path]) -> None:
    url, ca = https_api
    found = _cloud(url, ca)
    assert found.problems == []
    assert found.cloud["live"]
    assert found.cloud["ready"]


def test_cm1_without_the_site_ca_the_refused_certificate_is_named(
    https_api: tuple[str, Path],
) -> None:
    url, _ca = https_api
    found = _cloud(url, None)
    assert not found.cloud["live"]
    assert "CERTIFICATE_VERIFY_FAILED" in found.problems[0]
