"""An incident's history in words: for staff a line per event; for its resident, the public steps.

Staff read who did what (`describe`). The resident who asked sees only the steps of the request
(`public_step`): never a name, a number, a crew, a place or the narrative.
"""

from __future__ import annotations

import enum

from dispatch.events import (
    CrewMarked,
    IncidentAssigned,
    IncidentUnassigned,
    JobDissolved,
    JobGrouped,
    ReferralChanged,
    TransportChanged,
)
from incident.history import Event
from incident.i18n import N_
from incident.records import (
    AlarmRaised,
    CallAttached,
    CallbackChanged,
    CallDownChanged,
    ExerciseChanged,
    HandoffStepped,
    IncidentLocated,
    IncidentOpened,
    NoteAdded,
    PartnersChanged,
    Requeued,
    StatusChanged,
    Step,
    TriageOverridden,
)
from incident.status import Status


def _words(value: str) -> str:
    return value.replace("_", " ")


def _why(reason: str | None) -> str:
    return f": {reason}" if reason else ""


def describe(event: Event) -> str:  # one branch per kind of event
    """What happened, as a sentence (the time and who did it are shown beside it)."""
    match event:
        case IncidentOpened(incident=incident):
            return f"Opened as {_words(incident.category)} · {incident.priority}"
        case CallAttached(calls=calls, priority=priority):
            return f"Another call (call {calls})" + (f"; now {priority}" if priority else "")
        case StatusChanged(from_status=before, to_status=after, reason=reason, crew_id=crew):
            return f"{_words(before)} → {_words(after)}" + (f" ({crew})" if crew else "") + _why(reason)
        case IncidentLocated(located_by=where, outside_jurisdiction=outside):
            return f"Placed at {where.label} ({where.method})" + (" — outside the city" if outside else "")
        case TriageOverridden(override=decision):
            return f"Changed to {_words(decision.category)} · {decision.priority}{_why(decision.reason)}"
        case NoteAdded(text=text):
            return f"Note: {text}"
        case CallDownChanged(calldown=calldown, step=step):
            return f"Call-down {calldown}: {_words(step)}"
        case CallbackChanged(callback=callback, step=step):
            return f"Callback {callback}: {_words(step)}"
        case ExerciseChanged(exercise=exercise, step=step):
            return f"Drill {exercise}: {_words(step)}"
        case PartnersChanged(shared=shared):
            return "Shared with partner agencies" if shared else "No longer shared with partner agencies"
        case HandoffStepped(step=step, detail=detail):
            return f"911 handoff: {_words(step)}{_why(detail)}"
        case Requeued(category=category, reason=reason):
            return f"Requeued as {_words(category)} ({reason})"
        case IncidentAssigned(crew_id=crew, from_crew=before, reason=reason):
            return f"Assigned to {crew}" + (f" (from {before})" if before else "") + _why(reason)
        case IncidentUnassigned(crew_id=crew, reason=reason):
            return f"Taken back from {crew}{_why(reason)}"
        case CrewMarked(crew_id=crew, mark=mark, reason=reason):
            return f"{crew}: {_words(mark)}{_why(reason)}"
        case JobGrouped(job=job, tickets=tickets):
            return f"Grouped into job {job} with {len(tickets) - 1} other report(s)"
        case JobDissolved(job=job, reason=reason):
            return f"Job {job} dissolved{_why(reason)}"
        case TransportChanged(request_id=ride, status=status, station=station, detail=detail):
            return f"Ride {ride} {_words(status)} (to {station}){_why(detail)}"
        case ReferralChanged(referral_id=referral, status=status, service_id=service, reason=reason):
            return f"Referral {referral} to {service}: {_words(status)}{_why(reason)}"
        case AlarmRaised(kind=kind, message=message):
            return f"Alarm ({_words(kind)}): {message}"
    return type(event).__name__  # events of no one incident


class PublicStep(enum.StrEnum):
    """A step of a request as the resident who made it follows it on /track."""

    RECEIVED = "received"
    ANOTHER_REPORT = "another_report"
    ASSIGNED = "assigned"
    ON_THE_WAY = "on_the_way"
    ON_SCENE = "on_scene"
    DONE = "done"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    BACK_IN_QUEUE = "back_in_queue"
    WITH_911 = "with_911"
    BACK_FROM_911 = "back_from_911"
    REFERRED = "referred"
    AGENCY_ACCEPTED = "agency_accepted"
    AGENCY_DECLINED = "agency_declined"
    AGENCY_DONE = "agency_done"
    RIDE_BOOKED = "ride_booked"
    RIDE_PICKED_UP = "ride_picked_up"
    RIDE_ARRIVED = "ride_arrived"
    RIDE_CANCELLED = "ride_cancelled"


PUBLIC_WORDS: dict[PublicStep, str] = {
    PublicStep.RECEIVED: N_("Request received"),
    PublicStep.ANOTHER_REPORT: N_("Another report about it received"),
    PublicStep.ASSIGNED: N_("Given to a crew"),
    PublicStep.ON_THE_WAY: N_("A crew is on the way"),
    PublicStep.ON_SCENE: N_("A crew is there"),
    PublicStep.DONE: N_("Done"),
    PublicStep.CLOSED: N_("Closed"),
    PublicStep.CANCELLED: N_("Cancelled"),
    PublicStep.BACK_IN_QUEUE: N_("Waiting for a crew again"),
    PublicStep.WITH_911: N_("Passed to 911"),
    PublicStep.BACK_FROM_911: N_("Back with 311"),
    PublicStep.REFERRED: N_("Referred to {agency}"),
    PublicStep.AGENCY_ACCEPTED: N_("{agency} has taken it on"),
    PublicStep.AGENCY_DECLINED: N_("{agency} could not take it; back with 311"),
    PublicStep.AGENCY_DONE: N_("{agency} has finished"),
    PublicStep.RIDE_BOOKED: N_("A ride to a warming station is booked"),
    PublicStep.RIDE_PICKED_UP: N_("Picked up for the warming station"),
    PublicStep.RIDE_ARRIVED: N_("Arrived at the warming station"),
    PublicStep.RIDE_CANCELLED: N_("The ride to the warming station is off"),
}
"""What each step says; `{agency}` is the agency's public name."""

_BY_STATUS = {
    Status.OPEN: PublicStep.BACK_IN_QUEUE,
    Status.ASSIGNED: PublicStep.ASSIGNED,
    Status.EN_ROUTE: PublicStep.ON_THE_WAY,
    Status.ON_SCENE: PublicStep.ON_SCENE,
    Status.RESOLVED: PublicStep.DONE,
    Status.CLOSED: PublicStep.CLOSED,
    Status.CANCELLED: PublicStep.CANCELLED,
    Status.WITH_911: PublicStep.WITH_911,
}
_BY_REFERRAL = {
    "sent": PublicStep.REFERRED,
    "accepted": PublicStep.AGENCY_ACCEPTED,
    "declined": PublicStep.AGENCY_DECLINED,
    "completed": PublicStep.AGENCY_DONE,
}
_BY_RIDE = {
    "scheduled": PublicStep.RIDE_BOOKED,
    "picked_up": PublicStep.RIDE_PICKED_UP,
    "dropped_off": PublicStep.RIDE_ARRIVED,
    "no_show": PublicStep.RIDE_CANCELLED,
    "cancelled": PublicStep.RIDE_CANCELLED,
}


def public_step(event: Event) -> tuple[PublicStep, str | None] | None:  # one branch per kind of event
    """The step a resident may see for `event`, with the agency service it names; None if not theirs."""
    match event:
        case IncidentOpened():
            return PublicStep.RECEIVED, None
        case CallAttached():
            return PublicStep.ANOTHER_REPORT, None
        case StatusChanged(to_status=after) | CrewMarked(to_status=after) if after in _BY_STATUS:
            return _BY_STATUS[after], None
        case IncidentAssigned():
            return PublicStep.ASSIGNED, None
        case IncidentUnassigned():
            return PublicStep.BACK_IN_QUEUE, None
        case HandoffStepped(step=Step.TRANSFER_STARTED):
            return PublicStep.WITH_911, None
        case HandoffStepped(step=Step.REJECTED | Step.RELEASED):
            return PublicStep.BACK_FROM_911, None
        case ReferralChanged(status=status, service_id=service) if status in _BY_REFERRAL:
            return _BY_REFERRAL[status], service
        case TransportChanged(status=status) if status in _BY_RIDE:
            return _BY_RIDE[status], None
    return None  # staff's business: locations, notes, triage, partners, requeues, jobs, alarms
