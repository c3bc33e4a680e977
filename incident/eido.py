"""The 911 handoff's document: the incident as one NENA EIDO (an EmergencyIncidentDataObjectType).

Every component carries NENA's prologue (`$id`, `lastUpdateTimeStamp`, `updatedByAgencyReference`)
and the components name each other with `{"$ref": <$id>}`, as NENA's schema and sample do: the
incident, each call with its callback, each caller, the location (a PIDF-LO with the civic address
and the point), the notes (what each caller said, triage's reasons, the agents' notes for 911, and
the rest of what 311 knows), the 311 center as an agency and its agents. The ids are built from the
ticket and the call ids under the center's Agency Identifier (`handoff.agency_id`), so every later
version of an incident's EIDO names the same things the same way, and its own `$id` (the incident's
tracking id) never changes.

Only properties NENA's schema defines are used (tests check every document against the schema and
its vocabulary): what Stormline knows that has no EIDO property is written in a note.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from geo.normalize import street
from geo.result import Method
from incident import pidf
from incident.config import SurgeConfig, vocabulary
from incident.records import Call, HandoffStep, Incident, Step

VERSION = "1.0"
FALLBACK_TYPE = "TRANSFER"  # APCO's incident type for a transferred call, when no concept names one
CALL_TYPE = "nonEmergency"  # a call to 311 is a call to a non-emergency number, whatever it turned out to be
_LANGUAGES = {"en": ("eng", "English"), "es": ("spa", "Spanish")}  # ISO 639-3 codes NIEM takes

Json = dict[str, Any]


def incident_id(config: SurgeConfig, ticket: str) -> str:
    """The incident's tracking id in NENA's form: the `$id` of every EIDO about it."""
    return f"urn:emergency:uid:incidentid:{ticket}:{config.handoff.agency_id}"


def eido(config: SurgeConfig, incident: Incident, calls: list[Call]) -> Json:
    """The incident as it now stands, with its calls, as one EIDO."""
    ids = _Ids(config, incident.ticket)
    notes_for_911 = _notes_for_911(incident)
    agents = sorted({call.agent for call in calls if call.agent} | {s.by for _, s in notes_for_911 if s.by})
    callers = _callers(calls)
    person_of = {call.id: ids.caller(group[0]) for group in callers for call in group}
    location = _location(config, incident, ids)
    notes = [_call_note(ids, call) for call in calls]
    incident_notes = [_record_note(config, incident, ids)]
    if incident.triage is not None:
        incident_notes.append(_triage_note(incident, ids))
    incident_notes += [_handoff_note(ids, incident.ticket, index, step) for index, step in notes_for_911]
    incident_component = {
        **ids.prologue(ids.part("incident"), incident.updated_at),
        "incidentTypeCommonRegistryText": _apco_type(config, incident),
        "incidentTypeInternalCode": incident.category,
        "incidentTypeInternalText": _category_name(config, incident.category),
        "incidentStatusInternalText": [str(incident.status)],
        "internalIncidentId": incident.ticket,
        "incidentPriorityInternalText": str(incident.priority),
        **({"beatOrDispatchGroupText": beat} if (beat := incident.zones.get("police_district")) else {}),
        **_refs("agentReference", [ids.agent(name) for name in agents]),
        **_refs("locationReference", [location["$id"]] if location else []),
        **_refs("personReference", [ids.caller(group[0]) for group in callers]),
        "notesReference": [ids.ref(note["$id"]) for note in incident_notes],
    }
    last = calls[-1] if calls else None
    on_the_line = incident.handoff is None or not incident.handoff.has(Step.CALLER_RELEASED)
    document = {
        **ids.prologue(incident_id(config, incident.ticket), incident.updated_at),
        "eidoVersion": VERSION,
        "issuingElementIdentification": f"stormline.{config.handoff.agency_id}",
        "incidentComponent": incident_component,
        "callComponent": [
            _call(ids, call, person_of[call.id], location, on_the_line and call is last) for call in calls
        ],
        "callbackComponent": [_callback(ids, call) for call in calls if call.callback_e164],
        "personComponent": [_caller(ids, group) for group in callers],
        "locationComponent": [location] if location else [],
        "notesComponent": [*notes, *incident_notes],
        "agencyComponent": [
            {
                **ids.prologue(ids.agency, incident.opened_at),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                # The IANA responder types (police, fire, ems, psap…) have none for a 311 center.
                "agencyType": [],
            }
        ],
        "agentComponent": [
            {
                **ids.prologue(ids.agent(name), incident.opened_at),
                "agentRoleRegistryText": ["Call Taking"],
                "agencyReference": ids.ref(ids.agency),
            }
            for name in agents
        ],
    }
    return {key: value for key, value in document.items() if value != []}


def _apco_type(config: SurgeConfig, incident: Incident) -> str:
    """The APCO common incident type: of the concepts behind a 911 transfer, else any counted one."""
    triage = incident.triage
    if triage is None:
        return FALLBACK_TYPE
    concepts = {concept.id: concept for concept in vocabulary(config.triage).concepts}
    rules = {rule.id: rule for rule in config.triage.rules}
    fired = [
        code
        for reason in triage.reasons
        if (rule := rules.get(reason.rule)) is not None and rule.life_safety
        for group in rule.when
        for code in group
        if code in triage.concepts
    ]
    for code in [*fired, *triage.concepts]:
        if code in concepts and concepts[code].apco:
            return concepts[code].apco[0]
    return FALLBACK_TYPE


class _Ids:
    """The `$id`s of one incident's components, all under the 311 center's Agency Identifier."""

    def __init__(self, config: SurgeConfig, ticket: str) -> None:
        self.ticket, self.agency = ticket, config.handoff.agency_id

    def part(self, kind: str, local: str = "") -> str:
        return f"urn:stormline:{self.agency}:{kind}:{local or self.ticket}"

    def call(self, call: Call) -> str:
        """A call's id in NENA's form: its component's `$id`, what a caller's `callIdentifier` lists."""
        return f"urn:emergency:uid:callid:{call.id}:{self.agency}"

    def caller(self, call: Call) -> str:
        return self.part("caller", call.id)

    def agent(self, name: str) -> str:
        return f"{quote(name, safe='')}@{self.agency}"

    @staticmethod
    def ref(target: str) -> Json:
        return {"$ref": target}

    def prologue(self, component: str, at: datetime, agent: str | None = None) -> Json:
        prologue: Json = {
            "$id": component,
            "lastUpdateTimeStamp": at.isoformat(),
            "updatedByAgencyReference": self.ref(self.agency),
        }
        if agent:
            prologue["updatedByAgentReference"] = self.ref(self.agent(agent))
        return prologue


def _refs(name: str, targets: Iterable[str]) -> Json:
    listed = [{"$ref": target} for target in targets]
    return {name: listed} if listed else {}


def _call(ids: _Ids, call: Call, caller: str, location: Json | None, connected: bool) -> Json:
    """A call; the one being transferred is answered still, the others have ended."""
    component = {
        **ids.prologue(ids.call(call), call.logged_at, call.agent),
        "callStateRegistryText": "callAnswered" if connected else "callEnd",
        "standardPrimaryCallType": CALL_TYPE,
        "localCallType": str(call.channel),
        "direction": "incoming",
        "callStartTimestamp": call.received_at.isoformat(),
        **_refs("agentReference", [ids.agent(call.agent)] if call.agent else []),
        **_refs("locationReference", [location["$id"]] if location else []),
        "personReference": [ids.ref(caller)],
        "notesReference": [ids.ref(ids.part("note", call.id))],
    }
    if call.callback_e164:
        component["callBackReference"] = ids.ref(ids.part("callback", call.id))
    return component


def _callback(ids: _Ids, call: Call) -> Json:
    return {
        **ids.prologue(ids.part("callback", call.id), call.logged_at, call.agent),
        "callBackInformationUri": [f"tel:{call.callback_e164}"],
    }


def _callers(calls: list[Call]) -> list[list[Call]]:
    """The calls grouped by who made them: one caller per callback number, else one per call."""
    groups: dict[str, list[Call]] = {}
    for call in calls:
        groups.setdefault(call.callback_e164 or call.id, []).append(call)
    return list(groups.values())


def _caller(ids: _Ids, calls: list[Call]) -> Json:
    """A caller; the component of their first call stands for them in every call they made."""
    latest = calls[-1]
    person: Json = {
        **ids.prologue(ids.caller(calls[0]), latest.logged_at),
        "personIncidentRoleRegistryText": ["Caller"],
        "callIdentifier": [ids.call(call) for call in calls],
    }
    with_number = [call for call in calls if call.callback_e164]
    if with_number:
        person["callBackReference"] = ids.ref(ids.part("callback", with_number[-1].id))
    name = next((call.caller_name for call in reversed(calls) if call.caller_name), None)
    described: Json = {}
    if name:
        described["name"] = [{"personFullName": [{"value": name}]}]
    code, language = _LANGUAGES.get(latest.language.split("-")[0].lower(), ("", latest.language))
    spoken: Json = {"languageCode": [{"simpleType": code}]} if code else {}
    described["primaryLanguage"] = [{**spoken, "languageName": [{"value": language}]}]
    person["ncPersonComponent"] = described
    return person


def _location(config: SurgeConfig, incident: Incident, ids: _Ids) -> Json | None:
    """Where the incident is: the civic address (as found, and as the caller gave it) and the point."""
    if incident.address is None and incident.location is None:
        return None
    found = incident.located_by
    civic = {
        "country": config.jurisdiction.phone_region,
        "A1": config.handoff.state or "",
        "A3": incident.town or config.jurisdiction.name.removeprefix("City of "),
        "LOC": incident.address or "",
    }
    if found is not None and found.street:
        name = street(found.street)
        civic |= {"PRD": name.predir, "RD": name.name, "STS": name.suffix, "POD": name.postdir}
        civic |= {"HNO": found.number or "", "UNIT": found.unit or "", "PC": found.zip or ""}
    elif found is not None and found.method is Method.NAMED_PLACE:
        civic["LMK"] = found.label
    method = None
    if found is not None:
        method = "Manual" if found.method is Method.MANUAL else "Derived"
    component_id = ids.part("location")
    return {
        **ids.prologue(component_id, incident.updated_at),
        "locationTypeDescriptionRegistryText": "Incident",
        "locationByValue": pidf.write(
            f"pres:{incident.ticket}@{ids.agency}", civic, incident.location, method, incident.updated_at
        ),
    }


def _note(ids: _Ids, note_id: str, at: datetime, lines: Iterable[str], agent: str | None = None) -> Json:
    """A note: HTML5, as the schema says, one paragraph per line of text."""
    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    note = {**ids.prologue(note_id, at, agent), "notesActionComments": text or "<p></p>"}
    if agent:
        note["agentReference"] = ids.ref(ids.agent(agent))
    return note


def _call_note(ids: _Ids, call: Call) -> Json:
    """What the caller said, and how to reach them where the EIDO has no property for it."""
    lines = [call.narrative]
    if call.callback_number and not call.callback_e164:
        lines.append(f"Callback number as given (not a number 311 could read): {call.callback_number}")
    if call.email:
        lines.append(f"Email: {call.email}")
    if call.media_url:
        lines.append(f"Photo sent with the report: {call.media_url}")
    if call.address and call.address != call.narrative:
        lines.append(f"Address as the caller gave it: {call.address}")
    return _note(ids, ids.part("note", call.id), call.logged_at, lines, call.agent)


def _triage_note(incident: Incident, ids: _Ids) -> Json:
    triage = incident.triage
    assert triage is not None, "only with a triage result"
    reasons = "; ".join(f"{r.rule} ({', '.join(r.words) or r.answer or r.effect})" for r in triage.reasons)
    lines = [f"311 triage: {reasons}"]
    override = incident.override
    if override is not None:
        who = override.by or "a person"
        lines.append(f"Set to {override.category} {override.priority} by {who}: {override.reason}")
    return _note(ids, ids.part("note", f"{incident.ticket}:triage"), incident.opened_at, lines)


def _record_note(config: SurgeConfig, incident: Incident, ids: _Ids) -> Json:
    """What else 311 knows about the incident, that EIDO has no property for."""
    lines = [
        f"311 ticket {incident.ticket}: {_category_name(config, incident.category)}, "
        f"priority {incident.priority}{', life safety' if incident.life_safety else ''}"
    ]
    found = incident.located_by
    if found is not None:
        lines.append(
            f"Located by {found.source} ({found.method.replace('_', ' ')}, "
            f"confidence {found.confidence:.2f}): {found.label}"
        )
    elif incident.needs_location:
        lines.append("Not yet located on the map: the address is as the caller gave it")
    if incident.outside_jurisdiction:
        lines.append(f"Outside {config.jurisdiction.name}{f' ({incident.town})' if incident.town else ''}")
    zones = [f"{name.replace('_', ' ')} {value}" for name, value in sorted(incident.zones.items())]
    if zones:
        lines.append("Zones: " + "; ".join(zones))
    if incident.needs:
        lines.append("A crew would need: " + ", ".join(incident.needs))
    return _note(ids, ids.part("note", f"{incident.ticket}:record"), incident.updated_at, lines)


def _notes_for_911(incident: Incident) -> list[tuple[int, HandoffStep]]:
    """The agents' notes for 911 among the handoff's steps, with their place (which names them for good)."""
    steps = incident.handoff.steps if incident.handoff else []
    return [(index, step) for index, step in enumerate(steps) if step.step is Step.NOTE]


def _handoff_note(ids: _Ids, ticket: str, index: int, step: HandoffStep) -> Json:
    return _note(ids, ids.part("note", f"{ticket}:{index}"), step.at, [step.detail or ""], step.by)


def _category_name(config: SurgeConfig, code: str) -> str:
    category = config.category(code)
    return category.name if category else code.replace("_", " ")
