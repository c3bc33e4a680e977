"""Who sees callers' personal data: names and callback numbers only where the work needs them."""

from __future__ import annotations

import msgspec

from incident.auth.roles import Role
from incident.records import Call, Incident

SEES_CALLERS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.PSAP})
"""Roles that see a caller's name and number. Coordinators will see them on referrals they handle."""


def visible_call(call: Call, role: Role | None, incident: Incident) -> Call:
    """The call as `role` may see it.

    A crew sees what the caller said and where, and the callback number only when the incident says
    to call ahead; roles without a need see neither name nor number.
    """
    if role in SEES_CALLERS:
        return call
    keep_number = role is Role.CREW and incident.call_ahead
    return msgspec.structs.replace(
        call,
        caller_name=None,
        email=None,
        callback_number=call.callback_number if keep_number else None,
        callback_e164=call.callback_e164 if keep_number else None,
    )


KEEPS_REGISTRY = frozenset({Role.COORDINATOR, Role.SUPERVISOR})
"""Roles that keep the registry of residents who need help: read it whole, add, change, import."""

SEES_CALLER_NEEDS = frozenset({Role.AGENT, Role.COORDINATOR, Role.SUPERVISOR})
"""Roles shown a registered caller's needs at intake; never partners, apps, crews or the public."""
