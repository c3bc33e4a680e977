"""An incident's history in words a person reads at 3 a.m.: one line per event, who and what."""

from __future__ import annotations

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
from incident.records import (
    AlarmRaised,
    CallAttached,
    HandoffStepped,
    IncidentLocated,
    IncidentOpened,
    NoteAdded,
    PartnersChanged,
    Requeued,
    StatusChanged,
    TriageOverridden,
)


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
