"""Prometheus metrics of the API: requests and latency by route template, per application."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiMetrics:
    """The collectors of one application (a registry of its own, so apps never clash)."""

    def __init__(self) -> None:
        """Create the registry and its collectors."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "omdp_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "omdp_api_request_seconds",
            "Time to the end of the answer, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        """Wrap ``app``."""
        self.app = app
        self.metrics = metrics

    @staticmethod
    def _route(scope: Scope) -> str:
        # FastAPI puts the matched route into the scope while routing.
        return str(getattr(scope.get("route"), "path_format", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self._route(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
