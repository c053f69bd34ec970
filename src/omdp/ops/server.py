"""A tiny operations endpoint for processes without an HTTP API: the ingest and the adapter.

``/healthz`` answers 200 while the event loop runs; ``/readyz`` 200 when the process's
readiness callback says so, else 503; ``/metrics`` the Prometheus text of its registry. It is
plain asyncio (no web framework), reads one request per connection, and is meant for a
scraper and a load balancer on a private address.

Wiring (two lines in the process's entry point)::

    async with OpsServer(service.metrics.registry(), ready=service.ready.is_set, port=9101):
        await service.run(stop)

:func:`adapter_registry` exposes an :class:`~omdp.adapter.service.Adapter`'s counters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MAX_REQUEST = 8192
READ_TIMEOUT_S = 5.0


class OpsServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` while the context is open."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        ready: Callable[[], bool] = lambda: True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = registry
        self.ready = ready
        self.host = host
        self.requested_port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port bound (useful with port 0)."""
        if self._server is None:
            msg = "ops server not started"
            raise RuntimeError(msg)
        return int(self._server.sockets[0].getsockname()[1])

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of ``path``."""
        path = path.split("?", 1)[0]
        if path == "/healthz":
            return 200, "application/json", b'{"status":"ok"}'
        if path == "/readyz":
            ok = self.ready()
            body = b'{"status":"ready"}' if ok else b'{"status":"not ready"}'
            return (200 if ok else 503), "application/json", body
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        return 404, "text/plain", b"not found\n"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if method not in ("GET", "HEAD"):
                status, kind, body = 405, "text/plain", b"method not allowed\n"
            else:
                status, kind, body = self.answer(path)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + (b"" if method == "HEAD" else body)
            )
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError, asyncio.IncompleteReadError):
            pass  # a bad or slow client: just close
        except asyncio.LimitOverrunError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def __aenter__(self) -> OpsServer:
        self._server = await asyncio.start_server(
            self._client, self.host, self.requested_port, limit=MAX_REQUEST
        )
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _AdapterCollector(Collector):
    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def collect(self) -> Iterator[Metric]:
        stats = self.adapter.stats
        meter = self.adapter.config.meter_individual_id
        for name, value, text in (
            ("readings", stats.readings, "Readings taken and kept in the outbox."),
            ("dropped_full", stats.dropped_full, "Readings not kept: the outbox was full."),
            ("unmapped", stats.unmapped, "Mapped values missing from a meter sample."),
        ):
            family = CounterMetricFamily(f"omdp_adapter_{name}", text, labels=["meter"])
            family.add_metric([meter], value)
            yield family
        outbox = getattr(self.adapter, "outbox", None)
        if outbox is not None:
            depth = GaugeMetricFamily(
                "omdp_adapter_outbox_depth", "Readings not yet acknowledged.", labels=["meter"]
            )
            depth.add_metric([meter], outbox.depth())
            yield depth


def adapter_registry(adapter: Any) -> CollectorRegistry:
    """A registry reading an :class:`~omdp.adapter.service.Adapter`'s counters when scraped."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_AdapterCollector(adapter))
    return registry
