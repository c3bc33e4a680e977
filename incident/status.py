"""An incident's statuses and the moves allowed between them: the one table."""

from __future__ import annotations

import enum

from incident.i18n import N_


class Status(enum.StrEnum):
    OPEN = "open"  # logged; waiting for a crew, a referral or a decision
    ASSIGNED = "assigned"  # a crew has it in its work list
    EN_ROUTE = "en_route"  # the crew is driving there
    ON_SCENE = "on_scene"  # the crew is there
    REFERRED = "referred"  # an outside agency has it
    WITH_911 = "with_911"  # handed to 911, which owns it until it hands back or closes it
    RESOLVED = "resolved"  # the work is done; the caller may still say it is not
    CLOSED = "closed"  # final: nothing more will happen
    CANCELLED = "cancelled"  # withdrawn, a duplicate, or logged in error


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.REFERRED, S.WITH_911, S.RESOLVED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.OPEN, S.EN_ROUTE, S.ON_SCENE, S.REFERRED, S.WITH_911, S.RESOLVED, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.OPEN, S.ASSIGNED, S.ON_SCENE, S.WITH_911, S.CANCELLED}),
    S.ON_SCENE: frozenset({S.OPEN, S.ASSIGNED, S.REFERRED, S.WITH_911, S.RESOLVED}),
    S.REFERRED: frozenset({S.OPEN, S.RESOLVED, S.CANCELLED}),
    S.WITH_911: frozenset({S.OPEN, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CANCELLED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
"""Allowed moves, from → {to}. CLOSED is final; reopening a resolved or cancelled incident is allowed."""

FINAL: frozenset[Status] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
TAKES_NEW_CALLS: frozenset[Status] = frozenset(Status) - FINAL
DONE: frozenset[Status] = FINAL | {Status.RESOLVED, Status.CANCELLED}
"""The work is over (done, withdrawn or closed), though a resolved or cancelled incident may reopen."""


def allowed(current: Status, target: Status) -> bool:
    """Whether an incident in `current` may move to `target`."""
    return target in TRANSITIONS[current]


# What each status means to the person who called, in their words.
MEANING = {
    Status.OPEN: N_("We have your request and it is waiting for a crew or an agency."),
    Status.ASSIGNED: N_("A crew has your request on its list."),
    Status.EN_ROUTE: N_("A crew is on its way."),
    Status.ON_SCENE: N_("A crew is there now."),
    Status.REFERRED: N_("We have passed your request to the agency that handles it; they will contact you."),
    Status.WITH_911: N_("Your call was passed to 911."),
    Status.RESOLVED: N_("The work is done. Call 311 if it is not."),
    Status.CLOSED: N_("This request is closed."),
    Status.CANCELLED: N_("This request was withdrawn (a duplicate of another report, or made in error)."),
}


# A status's name as residents read it (translated where it is shown).
NAME = {
    Status.OPEN: N_("open"),
    Status.ASSIGNED: N_("assigned"),
    Status.EN_ROUTE: N_("crew on the way"),
    Status.ON_SCENE: N_("crew there"),
    Status.REFERRED: N_("referred"),
    Status.WITH_911: N_("with 911"),
    Status.RESOLVED: N_("done"),
    Status.CLOSED: N_("closed"),
    Status.CANCELLED: N_("cancelled"),
}
