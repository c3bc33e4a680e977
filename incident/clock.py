"""The time, in one place, so that tests of expiry and back-off can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def epoch() -> float:
    """Seconds since the epoch."""
    return time.time()


def now() -> datetime:
    """The time now, in UTC, by the same clock."""
    return datetime.fromtimestamp(epoch(), UTC)
