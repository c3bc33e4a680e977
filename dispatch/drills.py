"""A drill's purge, dispatch's part: what the drill's incidents hold here is given back, then deleted.

`incident.exercise.purge` deletes a stopped drill's incidents; it calls `let_go` first, so that no
warming station keeps places reserved for a drill's ride, no van stays on a drill's run, and no ride,
referral or street job is left pointing at an incident that is gone.
"""

from __future__ import annotations

from dispatch import jobs, referrals, transport
from incident.config import SurgeConfig
from incident.store import Store


async def let_go(store: Store, config: SurgeConfig, actor: str | None, tickets: list[str]) -> None:
    """Cancel the drill incidents' rides still under way, then delete their rides, referrals and jobs."""
    await transport.cancel_rides_of(store, config, tickets, actor)
    drill = frozenset(tickets)
    await transport.forget(store, drill)
    await referrals.forget(store, drill)
    await jobs.forget(store, drill, actor)
