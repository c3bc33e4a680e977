"""Background work every worker runs: one place that repeats a round for good.

Each watcher (911 acknowledgements, missed deadlines, surges, reviews, unfinished switches) is a
function doing one round; Redis makes each of its alarms happen once however many workers run it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("stormline.rounds")


async def forever(name: str, seconds: float, one_round: Callable[[], Awaitable[object]]) -> None:
    """Run `one_round` every `seconds` until cancelled; a failed round is logged and tried again."""
    while True:
        try:
            await one_round()
        except Exception:  # the watcher must not die; CancelledError is no Exception, so it stops it
            log.exception("%s failed", name)
        await asyncio.sleep(seconds)
