"""Running Hypercorn's workers and keeping them running.

Hypercorn's own runner stops every worker when one exits with an error, which for a 24-hour call
center means one crashed worker takes the whole center off the air. This process manager starts the same
Hypercorn worker functions on the same shared sockets, and when a worker dies it starts another
(slowing down if one dies over and over); SIGTERM or SIGINT stop them all gracefully.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from hypercorn.asyncio.run import asyncio_worker, uvloop_worker
from hypercorn.config import Config

log = logging.getLogger("stormline.workers")
CRASH_WINDOW_S = 60.0
CRASHES_BEFORE_PAUSE = 10  # in the window; then wait before each restart, never give up


def supervise(config: Config, workers: int, tend: Callable[[], None] | None = None) -> int:
    """Serve with `workers` processes until told to stop; returns the exit status.

    `tend` is called about once a second (it restarts the embedded Redis if that died).
    """
    worker = uvloop_worker if config.worker_class == "uvloop" else asyncio_worker
    sockets = config.create_sockets()
    context = get_context("spawn")
    shutdown = context.Event()
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        shutdown.set()

    def start() -> BaseProcess:
        process = context.Process(
            target=worker, kwargs={"config": config, "shutdown_event": shutdown, "sockets": sockets}
        )
        process.daemon = True
        process.start()
        return process

    # Workers inherit "ignore SIGINT": Ctrl-C reaches the supervisor, which stops them in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    processes = [start() for _ in range(workers)]
    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), stop)
    crashes: deque[float] = deque()
    while not stopping:
        wait([process.sentinel for process in processes], timeout=1.0)
        if tend is not None and not stopping:
            tend()
        for index, process in enumerate(processes):
            if process.exitcode is None or stopping:
                continue
            process.join()
            log.error("worker %s exited with status %s; starting another", process.pid, process.exitcode)
            now = time.monotonic()
            crashes.append(now)
            while crashes and now - crashes[0] > CRASH_WINDOW_S:
                crashes.popleft()
            if len(crashes) > CRASHES_BEFORE_PAUSE:
                time.sleep(1.0)  # a worker that cannot start must not spin the machine
            processes[index] = start()
    deadline = time.monotonic() + config.graceful_timeout + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(5)
    for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
        sock.close()
    return 0
