"""What goes to the 911 center with a handoff: a NENA EIDO-shaped JSON incident and a CAP 1.2 alert.

EIDO (NENA-STA-024, Emergency Incident Data Object) carries the incident, the calls, the location, the
caller and the notes as linked components; the CAP 1.2 alert (OASIS) says, in the form every public-
safety system reads, what is happening where. Both are built from the incident as stored, so what 911
receives is what 311 logged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from incident.config import SurgeConfig
from incident.records import Call, Incident

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

# CAP <category> for the life-safety rule that fired (OASIS CAP 1.2, 3.2.2).
_CAP_CATEGORY = {
    "fire": "Fire", "live_wire": "Fire", "gas_inside": "CBRNE", "carbon_monoxide": "CBRNE",
    "engine_indoors": "CBRNE", "fumes_sick": "CBRNE", "trapped": "Rescue", "wandering": "Rescue",
    "child_alone": "Rescue", "violence": "Security", "danger_to_self": "Health",
}  # fmt: skip


def tracking_id(config: SurgeConfig, ticket: str) -> str:
    return f"urn:stormline:{config.jurisdiction.id}:incident:{ticket}"


def eido(config: SurgeConfig, incident: Incident, calls: list[Call]) -> dict[str, Any]:
    """The incident as an EIDO-shaped JSON object (components linked by identifier)."""
    location_id, notes = f"loc-{incident.ticket}", []
    for call in calls:
        notes.append(
            {
                "componentIdentifier": f"note-{call.id}",
                "notesActionComment": call.narrative,
                "notesTimestamp": call.received_at.isoformat(),
                "notesAuthorReference": call.agent,
            }
        )
    if incident.triage is not None:
        notes.append(
            {
                "componentIdentifier": f"note-triage-{incident.ticket}",
                "notesActionComment": "311 triage: "
                + "; ".join(
                    f"{r.rule} ({', '.join(r.words) or r.answer or r.effect})"
                    for r in incident.triage.reasons
                ),
                "notesTimestamp": incident.opened_at.isoformat(),
            }
        )
    location: dict[str, Any] = {"componentIdentifier": location_id, "civicAddressText": incident.address}
    if incident.location is not None:
        location["locationByValue"] = {
            "type": "Point",
            "coordinates": [incident.location.lon, incident.location.lat],
        }
        location["locationMethod"] = incident.located_by.method if incident.located_by else "unknown"
    return {
        "eidoMessageIdentifier": f"{tracking_id(config, incident.ticket)}:v{incident.version}",
        "incidentComponent": {
            "componentIdentifier": incident.ticket,
            "incidentTrackingIdentifier": tracking_id(config, incident.ticket),
            "lastUpdateTimestamp": incident.updated_at.isoformat(),
            "incidentTypeCommonRegistryText": [incident.category],
            "incidentStatusCommonRegistryText": ["Active"],
            "locationReference": [location_id],
            "callReference": [f"call-{call.id}" for call in calls],
            "personReference": [f"person-{call.id}" for call in calls],
            "notesReference": [note["componentIdentifier"] for note in notes],
        },
        "callComponent": [
            {
                "componentIdentifier": f"call-{call.id}",
                "callTypeDescription": call.channel,
                "callStartTimestamp": call.received_at.isoformat(),
                "callbackNumber": call.callback_e164 or call.callback_number,
                "languageCode": call.language,
            }
            for call in calls
        ],
        "personComponent": [
            {"componentIdentifier": f"person-{call.id}", "personName": call.caller_name, "role": "caller"}
            for call in calls
        ],
        "locationComponent": [location],
        "notesComponent": notes,
        "agencyComponent": [
            {
                "componentIdentifier": f"agency-311-{config.jurisdiction.id}",
                "agencyName": f"{config.jurisdiction.name} 311",
                "agencyRole": "transferring",
            }
        ],
    }


def cap(config: SurgeConfig, incident: Incident, *, sender: str) -> str:
    """The CAP 1.2 alert for a handoff (scope Restricted: for the 911 center, not the public)."""
    ET.register_namespace("", CAP_NS)

    def add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            child.text = text
        return child

    alert = ET.Element(f"{{{CAP_NS}}}alert")
    add(alert, "identifier", f"{tracking_id(config, incident.ticket)}:handoff:v{incident.version}")
    add(alert, "sender", sender)
    add(alert, "sent", incident.updated_at.replace(microsecond=0).isoformat())
    add(alert, "status", "Actual")
    add(alert, "msgType", "Alert")
    add(alert, "scope", "Restricted")
    add(alert, "restriction", "For the 911 center receiving this 311 handoff")
    info = add(alert, "info")
    add(info, "language", "en-US")
    rule = next(
        (r.rule for r in (incident.triage.reasons if incident.triage else []) if r.rule in _CAP_CATEGORY),
        None,
    )
    add(info, "category", _CAP_CATEGORY.get(rule or "", "Safety"))
    add(info, "event", f"311 transfer: {rule.replace('_', ' ') if rule else 'life safety'}")
    add(info, "responseType", "Execute")
    add(info, "urgency", "Immediate")
    add(info, "severity", "Extreme" if incident.priority == "P1" else "Severe")
    add(info, "certainty", "Observed")
    add(info, "senderName", f"{config.jurisdiction.name} 311")
    add(info, "headline", f"311 ticket {incident.ticket}: life safety, transferred to 911")
    if incident.triage is not None:
        add(
            info,
            "description",
            "; ".join(
                f"{r.rule}: {', '.join(r.words) or r.answer or r.effect}" for r in incident.triage.reasons
            ),
        )
    area = add(info, "area")
    add(area, "areaDesc", incident.address or "location not yet known")
    if incident.location is not None:
        add(area, "circle", f"{incident.location.lat:.6f},{incident.location.lon:.6f} 0.1")
    return ET.tostring(alert, encoding="unicode", xml_declaration=True)
