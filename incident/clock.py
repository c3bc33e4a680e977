"""The time, in one place, so that tests of expiry and back-off can move it."""

from __future__ import annotations

import time


def epoch() -> float:
    """Seconds since the epoch."""
    return time.time()
