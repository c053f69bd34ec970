"""A stop that hangs says where: every thread's stack and every pending task's, to stderr.

An orderly stop has a deadline (the runner cancels what outlives it). Should even the
cancelled stop not finish, for instance because a synchronous call blocks the event loop,
the watchdog thread writes where each thread and each asyncio task is, so that a hang seen
once in a hundred runs can be diagnosed from its log alone.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import sys
import threading

from omdp.ops.bounded_run import exit_guard

log = logging.getLogger(__name__)

LAST_RESORT_S = 5.0
"""After the stacks, the process gets this long before it is ended with status 1."""


def dump_stacks(loop: asyncio.AbstractEventLoop) -> None:
    """Write every thread's stack and every pending task's stack to stderr."""
    sys.stderr.write("--- stop watchdog: threads ---\n")
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    sys.stderr.write("--- stop watchdog: asyncio tasks ---\n")
    try:
        tasks = list(asyncio.all_tasks(loop))
    except RuntimeError:  # the set changed under us (we are not the loop's thread): once more
        tasks = list(asyncio.all_tasks(loop))
    for task in tasks:
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


def arm(after_s: float, *, last_resort_s: float | None = LAST_RESORT_S) -> threading.Timer:
    """Dump the stacks ``after_s`` seconds from now unless the returned timer is cancelled.

    Then, unless ``last_resort_s`` is None, end the process with status 1 that much later.
    """
    loop = asyncio.get_running_loop()

    def fire() -> None:
        log.error("stop still running after %g s: stacks follow on stderr", after_s)
        dump_stacks(loop)
        if last_resort_s is not None:  # a blocked event loop cannot stop by itself
            exit_guard(1, last_resort_s)

    timer = threading.Timer(after_s, fire)
    timer.daemon = True
    timer.start()
    return timer
