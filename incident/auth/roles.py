"""The roles a person or a partner system can hold."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    AGENT = "agent"  # takes calls
    CREW = "crew"  # works assignments in the street; bound to one crew id
    COORDINATOR = "coordinator"  # warming stations, transport, referrals
    SUPERVISOR = "supervisor"  # runs the center: modes, assignments, overrides
    ADMIN = "admin"  # accounts and tokens
    PSAP = "psap"  # the 911 center's systems
    AGENCY = "agency"  # an outside agency's systems
    OPEN311 = "open311"  # an Open311 client app
    TELEPHONY = (
        "telephony"  # the city's phone system (CTI): callers waiting, hanging up, asking for a callback
    )


PEOPLE: frozenset[Role] = frozenset({Role.AGENT, Role.CREW, Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN})
"""Roles an account for a person may hold; the others are for API tokens of partner systems."""
