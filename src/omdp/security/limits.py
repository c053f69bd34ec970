"""Limits that keep the API's resources bounded: request body size (413), rate limits (429), and
the login guard that slows password guessing without locking anybody out (CL-14)."""

from __future__ import annotations

import collections
import threading
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _error(msg: str) -> bytes:
    return orjson.dumps({"detail": [{"loc": "body", "msg": msg, "type": "request.too_large"}]})


class BodySizeLimit:
    """ASGI middleware: a request body above ``max_bytes`` is answered 413, unread.

    A declared ``Content-Length`` above the limit is refused at once; a chunked body is counted
    as it streams in and refused when it passes the limit (if the app has not answered yet).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        """Wrap ``app``."""
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = _error(f"the request body is larger than {self.max_bytes} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed one."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = rejected = False

        async def counting_receive() -> Message:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not rejected:
                    rejected = True
                    if not started:
                        await self._reject(send)
                    # the app sees the client go away and stops reading
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


class RateLimiter:
    """At most ``limit`` events per key in any window of ``window_s`` seconds (sliding log)."""

    def __init__(self, limit: int, *, window_s: float = 60.0, max_keys: int = 100_000) -> None:
        """Count per key; the least recently used keys are forgotten beyond ``max_keys``."""
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def _events_of(self, key: str, now: float) -> collections.deque[float]:
        events = self._events.pop(key, None) or collections.deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        self._events[key] = events
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return events

    def wait(self, key: str) -> float:
        """0 when ``key`` is below its limit, else the seconds until it will be; counts nothing."""
        now = time.monotonic()
        with self._lock:
            events = self._events_of(key, now)
            if len(events) >= self.limit:
                return max(events[0] + self.window_s - now, 0.001)
            return 0.0

    def add(self, key: str) -> int:
        """Count an event of ``key`` whatever the limit; how many it has in the window now."""
        now = time.monotonic()
        with self._lock:
            events = self._events_of(key, now)
            events.append(now)
            return len(events)

    def forget(self, key: str) -> None:
        """Drop the events of ``key``."""
        with self._lock:
            self._events.pop(key, None)

    def hit(self, key: str) -> float:
        """Count an event; 0 when allowed, else the seconds until the next one would be."""
        now = time.monotonic()
        with self._lock:
            events = self._events_of(key, now)
            if len(events) >= self.limit:
                return max(events[0] + self.window_s - now, 0.001)
            events.append(now)
            return 0.0


class LoginGuard:
    """Back-off of failed logins, as OWASP's authentication guidance describes, never a lock-out.

    - Every token request counts against its client address (``per_address`` a minute): one
      address cannot try password after password, or account after account (429).
    - Failed logins count per (account, address): after ``failures`` in ``window_s`` that pair
      waits (429 with ``Retry-After``); the same account from any other address is not held
      back, so wrong passwords sent from elsewhere cannot lock its owner out.
    - Failed logins of all accounts together above ``slowdown_per_minute`` slow every attempt
      down by ``slowdown_s`` (a global back-off against a distributed guesser), refusing none.

    A successful login forgets the failures of its (account, address).
    """

    def __init__(
        self,
        *,
        per_address: int,
        failures: int = 5,
        window_s: float = 900.0,
        slowdown_per_minute: int = 100,
        slowdown_s: float = 1.0,
    ) -> None:
        """The limits of the class docstring."""
        self.addresses = RateLimiter(per_address)
        self.pairs = RateLimiter(failures, window_s=window_s)
        self.everyone = RateLimiter(slowdown_per_minute)
        self.slowdown_s = slowdown_s
        self.slowed = 0

    @staticmethod
    def _pair(account: str, address: str) -> str:
        return f"{account}\x00{address}"

    def admit(self, account: str, address: str) -> float:
        """0 when this attempt may be checked, else the seconds to wait (then answer 429)."""
        wait = self.addresses.hit(f"ip:{address}")
        return wait or self.pairs.wait(self._pair(account, address))

    def pace(self) -> float:
        """The slow-down every attempt waits now (0 unless failures run high everywhere)."""
        if self.everyone.wait("*"):
            self.slowed += 1
            return self.slowdown_s
        return 0.0

    def failed(self, account: str, address: str) -> None:
        """Count a wrong secret."""
        self.pairs.add(self._pair(account, address))
        self.everyone.add("*")

    def succeeded(self, account: str, address: str) -> None:
        """A right secret: its pair starts afresh."""
        self.pairs.forget(self._pair(account, address))
