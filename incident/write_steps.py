"""What every write of an incident keeps in step besides its own indexes, in the same atomic change.

Each step lives with what it is about; this list is the one place that says them all, and every
store that writes incidents is opened with it.
"""

from __future__ import annotations

from redis.asyncio import Redis

from dispatch.work_lists import keep_crew_work
from incident.partners import republish
from incident.store import Store, WriteStep

STEPS: tuple[WriteStep, ...] = (
    republish,  # a change partners would see: the next CAP message of the shared incident's chain
    keep_crew_work,  # a crew's work list and load, and a notice to its phones
)


def open_store(redis: Redis, jurisdiction: str) -> Store:
    return Store.open(redis, jurisdiction, STEPS)
