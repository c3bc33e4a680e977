"""CAP 1.2 alerts for partners: the 911 handoff's alert, and the partner agencies' feed.

The CAP 1.2 alert (OASIS) says, in the form every public-safety system reads, what is happening
where. It is built from the incident as stored, so what 911 receives is what 311 logged (the EIDO that
goes with it is in `eido`). The same builder writes the partner agencies' feed, with far less in it
(see `cap`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from incident.config import Priority, SurgeConfig
from incident.records import Incident, PartnerAlert
from incident.status import DONE, Status
from incident.validation import xml_safe

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

# CAP <category> for the life-safety rule that fired (OASIS CAP 1.2, 3.2.2).
_CAP_CATEGORY = {
    "fire": "Fire", "live_wire": "Fire", "gas_inside": "CBRNE", "carbon_monoxide": "CBRNE",
    "engine_indoors": "CBRNE", "fumes_sick": "CBRNE", "trapped": "Rescue", "wandering": "Rescue",
    "child_alone": "Rescue", "violence": "Security", "danger_to_self": "Health",
}  # fmt: skip


def tracking_id(config: SurgeConfig, ticket: str) -> str:
    return f"urn:stormline:{config.jurisdiction.id}:incident:{ticket}"


def partner_alert_id(config: SurgeConfig, ticket: str, message: PartnerAlert) -> str:
    """The CAP <identifier> of one message of an incident's chain to partners."""
    return f"{tracking_id(config, ticket)}:partners:v{message.version}"


@dataclass(frozen=True, slots=True)
class _Cap:
    """The parts of a CAP alert that differ between the 911 handoff and the partners' feed."""

    identifier: str
    sent: datetime
    msg_type: str
    restriction: str
    category: str
    event: str
    response_type: str
    urgency: str
    severity: str
    headline: str
    description: str | None
    area_desc: str
    circle: str | None
    references: str | None = None
    incidents: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    status: str = "Actual"  # "Exercise" for an incident of a drill


def cap(
    config: SurgeConfig,
    incident: Incident,
    *,
    sender: str,
    partner: PartnerAlert | None = None,
    previous: PartnerAlert | None = None,
) -> str:
    """The incident as a CAP 1.2 alert, scope Restricted.

    Without `partner`: the alert of a 911 handoff, with everything 311 logged, for the 911 center.
    With it: that message of the incident's chain for partner agencies (Alert, Update or Cancel,
    referring to `previous`), which says only what kind of work, how urgent, where it stands and how
    many called, and where only roughly: a circle around the point rounded to three decimals, named by
    its neighbourhood and council district. No caller's words, address, name or number.
    """
    if partner is None:
        parts = _handoff(config, incident)
    else:
        parts = _for_partners(config, incident, sender, partner, previous)
    return _render(config, parts, sender)


def _handoff(config: SurgeConfig, incident: Incident) -> _Cap:
    rule = next(
        (r.rule for r in (incident.triage.reasons if incident.triage else []) if r.rule in _CAP_CATEGORY),
        None,
    )
    description = None
    if incident.triage is not None:
        description = "; ".join(
            f"{r.rule}: {', '.join(r.words) or r.answer or r.effect}" for r in incident.triage.reasons
        )
    return _Cap(
        status="Exercise" if incident.exercise else "Actual",
        identifier=f"{tracking_id(config, incident.ticket)}:handoff:v{incident.version}",
        sent=incident.updated_at,
        msg_type="Alert",
        restriction="For the 911 center receiving this 311 handoff",
        category=_CAP_CATEGORY.get(rule or "", "Safety"),
        event=f"311 transfer: {rule.replace('_', ' ') if rule else 'life safety'}",
        response_type="Execute",
        urgency="Immediate",
        severity="Extreme" if incident.priority == "P1" else "Severe",
        headline=f"311 ticket {incident.ticket}: life safety, transferred to 911",
        description=description,
        area_desc=incident.address or "location not yet known",
        circle=(
            f"{incident.location.lat:.6f},{incident.location.lon:.6f} 0.1"
            if incident.location is not None
            else None
        ),
    )


def _for_partners(
    config: SurgeConfig,
    incident: Incident,
    sender: str,
    message: PartnerAlert,
    previous: PartnerAlert | None,
) -> _Cap:
    category = config.category(incident.category)
    kind = category.name if category else incident.category.replace("_", " ")
    area = partner_area(config, incident)
    share = incident.partners
    urgency, severity = _PARTNER_URGENCY[incident.priority]
    calls = len(incident.calls)
    if message.msg_type == "Cancel":
        unshared = share is None or not share.shared
        why = "no longer shared with partners" if unshared else _STATE[incident.status]
        description = f"{kind}: {why}. Nothing more will be sent about it unless it is shared again."
    else:
        description = (
            f"{kind}. Priority {incident.priority}; {_STATE[incident.status]}; "
            f"{calls} call{'' if calls == 1 else 's'} about it."
        )
    references = None
    if previous is not None and message.msg_type != "Alert":
        earlier = partner_alert_id(config, incident.ticket, previous)
        references = f"{sender},{earlier},{_cap_time(config, previous.sent)}"
    point = coarse(incident)
    return _Cap(
        status="Exercise" if incident.exercise else "Actual",
        identifier=partner_alert_id(config, incident.ticket, message),
        sent=message.sent,
        msg_type=message.msg_type,
        restriction=config.partners.restriction,
        category=_PARTNER_CATEGORY.get(incident.category, "Other"),
        event=kind,
        response_type="AllClear" if message.msg_type == "Cancel" else "Monitor",
        urgency="Past" if message.msg_type == "Cancel" else urgency,
        severity=severity,
        headline=partner_headline(config, incident),
        description=description,
        area_desc=area,
        circle=f"{point[0]:.3f},{point[1]:.3f} {config.partners.radius_km:g}" if point else None,
        references=references,
        incidents=incident.ticket,
        parameters=(
            ("ticket", incident.ticket),
            ("category", incident.category),
            ("priority", str(incident.priority)),
            ("status", str(incident.status)),
            ("calls", str(calls)),
        ),
    )


def _render(config: SurgeConfig, parts: _Cap, sender: str) -> str:
    ET.register_namespace("", CAP_NS)

    def add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            child.text = xml_safe(text)  # whatever got in, the alert stays XML
        return child

    # Elements in the order the CAP 1.2 schema requires.
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    add(alert, "identifier", parts.identifier)
    add(alert, "sender", sender)
    add(alert, "sent", _cap_time(config, parts.sent))
    add(alert, "status", parts.status)
    add(alert, "msgType", parts.msg_type)
    add(alert, "scope", "Restricted")
    add(alert, "restriction", parts.restriction)
    if parts.references:
        add(alert, "references", parts.references)
    if parts.incidents:
        add(alert, "incidents", parts.incidents)
    info = add(alert, "info")
    add(info, "language", "en-US")
    add(info, "category", parts.category)
    add(info, "event", parts.event)
    add(info, "responseType", parts.response_type)
    add(info, "urgency", parts.urgency)
    add(info, "severity", parts.severity)
    add(info, "certainty", "Observed")
    add(info, "senderName", f"{config.jurisdiction.name} 311")
    add(info, "headline", parts.headline)
    if parts.description is not None:
        add(info, "description", parts.description)
    for name, value in parts.parameters:
        parameter = add(info, "parameter")
        add(parameter, "valueName", f"stormline:{name}")
        add(parameter, "value", value)
    area = add(info, "area")
    add(area, "areaDesc", parts.area_desc)
    if parts.circle is not None:
        add(area, "circle", parts.circle)
    return ET.tostring(alert, encoding="unicode", xml_declaration=True)


def _cap_time(config: SurgeConfig, at: datetime) -> str:
    """A CAP 1.2 time: the city's local time to the second, with its offset (UTC written -00:00)."""
    text = at.astimezone(config.zone).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def partner_headline(config: SurgeConfig, incident: Incident) -> str:
    """The supervisor's headline for partners, or else the kind of work and where, roughly."""
    if incident.partners is not None and incident.partners.headline:
        return incident.partners.headline
    category = config.category(incident.category)
    kind = category.name if category else incident.category.replace("_", " ")
    return _short(f"{kind}: {partner_area(config, incident)}", 160)


def coarse(incident: Incident) -> tuple[float, float] | None:
    """The incident's point rounded to three decimals (about 100 m): the nearest partners are told."""
    if incident.location is None:
        return None
    return round(incident.location.lat, 3), round(incident.location.lon, 3)


def partner_area(config: SurgeConfig, incident: Incident) -> str:
    """Where the incident is, in words partners can use and no one can find a house by."""
    city = config.jurisdiction.name.removeprefix("City of ")
    if incident.location is None:
        return f"{city} (place not yet known)"
    if incident.outside_jurisdiction:
        return f"{incident.town}, outside {city}" if incident.town else f"outside {city}"
    named = [
        f"{value} {label}"
        for key, label in (("neighborhood", "neighbourhood"), ("council_district", "council district"))
        if (value := incident.zones.get(key))
    ]
    return ", ".join([*named, city])


CANCELLED = ("cancelled",)


def partner_state(incident: Incident | None) -> tuple[object, ...] | None:
    """What partners are shown of the incident: when it changes, they are sent a new message.

    None: never shared. CANCELLED: shared no longer, or its work is over (partners get a Cancel).
    """
    share = incident.partners if incident is not None else None
    if incident is None or share is None:
        return None
    if not share.shared or incident.status in DONE:
        return CANCELLED
    return (
        share.headline,
        incident.category,
        incident.priority,
        incident.status,
        len(incident.calls),
        coarse(incident),
        incident.outside_jurisdiction,
        incident.town,
        incident.zones.get("neighborhood"),
        incident.zones.get("council_district"),
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Where the work stands, for partners.
_STATE = {
    Status.OPEN: "waiting for a crew or an agency",
    Status.ASSIGNED: "a crew has it on its list",
    Status.EN_ROUTE: "a crew is on its way",
    Status.ON_SCENE: "a crew is there",
    Status.REFERRED: "an outside agency has it",
    Status.WITH_911: "911 has it",
    Status.RESOLVED: "the work is done",
    Status.CLOSED: "closed",
    Status.CANCELLED: "withdrawn (a duplicate, or logged in error)",
}

# CAP <urgency> and <severity> for the partners' feed by the incident's priority.
_PARTNER_URGENCY = {
    Priority.P1: ("Immediate", "Severe"),
    Priority.P2: ("Expected", "Moderate"),
    Priority.P3: ("Expected", "Minor"),
    Priority.P4: ("Future", "Minor"),
}

# CAP <category> by Stormline category (OASIS CAP 1.2, 3.2.2); a city's own categories read "Other".
_PARTNER_CATEGORY = {
    "emergency": "Rescue", "debris": "Infra", "utility": "Infra", "shelter_transport": "Health",
    "medical_referral": "Health", "welfare_check": "Health", "general": "Other",
}  # fmt: skip
