"""``asyncio.run`` for services: once the service has stopped, nothing left over can hang us.

:func:`until_signal` is how a service learns that it should stop.

``asyncio.run`` ends by cancelling every task still pending and waiting for each, then for the
default executor's threads, without a limit; at interpreter exit the executor's threads are
joined again. A third-party part that ignores cancellation (a broker shutdown waiting on a
half-open connection) or a worker thread blocked in a library call then keeps a stopped
service's process alive for ever, which a user sees as a Ctrl-C that does nothing.

:func:`run_bounded` runs the service the same way, gives what is left ``grace_s`` seconds to
finish, and, should something still be running, says what and ends the process anyway, with
the exit status the service would have had. Data is not at risk: every store and outbox of the
platform is closed by the service's own orderly stop before this point.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def run_bounded(main: Coroutine[Any, Any, T], *, grace_s: float = 3.0) -> T:
    """Run ``main`` like :func:`asyncio.run`; leftovers get ``grace_s`` s, then are left."""
    runner = asyncio.Runner()
    executor = ThreadPoolExecutor(thread_name_prefix="asyncio")  # ours, to stop it with a limit
    runner.get_loop().set_default_executor(executor)
    failed = True
    try:
        result = runner.run(main)
        failed = False
        return result
    finally:
        stuck = settle(runner.get_loop(), executor, grace_s)
        if stuck:
            log.warning("still running %g s after the stop: %s; exiting anyway", grace_s, stuck)
            exit_guard(1 if failed else 0, grace_s)
        else:
            runner.close()


def settle(loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor, grace_s: float) -> str:
    """Cancel the tasks left on ``loop`` and stop ``executor``, each within ``grace_s`` s.

    Not ``loop.shutdown_default_executor``: in Python 3.11 it joins the executor's threads
    without a limit, even when cancelled.

    Returns:
        What did not finish (empty when everything did).
    """
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=grace_s))
    left = [t.get_name() for t in tasks if not t.done()]
    stopped = threading.Event()

    def shutdown() -> None:
        executor.shutdown(wait=True)
        stopped.set()

    threading.Thread(target=shutdown, name="executor-shutdown", daemon=True).start()
    if not stopped.wait(grace_s):
        left.append("a worker thread")
    return ", ".join(left)


def exit_guard(code: int, after_s: float) -> threading.Timer:
    """End the process with ``code`` if it has not exited ``after_s`` s from now."""

    def leave() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(after_s, leave)
    timer.daemon = True
    timer.start()
    return timer


async def until_signal(stop: asyncio.Event | None = None) -> None:
    """Return once SIGINT or SIGTERM arrives (or ``stop`` is set otherwise); then the signals
    get their default handlers back, so that a second Ctrl-C is not swallowed."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
