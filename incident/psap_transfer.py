"""A 911 center's transfer of a non-emergency call to 311, read from the NENA EIDO it sends.

The document is checked against NENA's schema before anything is read from it: one that is not a
valid EmergencyIncidentDataObjectType is refused with a 422 naming the path of its first error, and
nothing is stored. Properties the schema does not define are ignored (as NENA's receivers do) and
logged. Then one call is read out of it, as an agent would have logged it:

- what the caller said: the notes, else the comments of the additional data (RFC 7852
  EmergencyCallData.Comment), else the incident type's text;
- the callback: the call's callback component (else the caller's, else the only one), its updated
  callback number first, then its `tel:` and `sip:` addresses;
- the caller's name and language;
- where: the civic address and the point of the PIDF-LO of the call's location (else the incident's,
  else any), the location of type Incident first;
- when the call began;
- the 311 incident it is about, if it names one: its tracking id as the EIDO's `$id` or in a link.

Intake then takes that call as it takes every call (triage, duplicates, zones), on channel
`psap_transfer`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, Literal

import msgspec

from incident import pidf
from incident.config import SurgeConfig
from incident.eido import incident_id
from incident.eido_schema import first_error, unknown_properties
from incident.intake import CallIn
from incident.problems import Problem, invalid_field
from incident.records import Channel
from incident.validation import OUT_OF_CALENDAR, in_calendar

log = logging.getLogger("stormline.psap")
NO_NARRATIVE = "Transferred by 911; no description given"
_CLOCK_SKEW = timedelta(minutes=5)
_PHONE = re.compile(r"^\+?[0-9][0-9().\- ]{2,38}$")
_LANGUAGES = {"eng": "en", "spa": "es"}  # ISO 639-3 to the codes triage reads
_COMPONENTS = (
    "callComponent", "callbackComponent", "personComponent", "locationComponent", "notesComponent",
    "additionalDataComponent",
)  # fmt: skip

Json = dict[str, Any]


class EidoIn(msgspec.Struct, kw_only=True):
    """A NENA EIDO (EmergencyIncidentDataObjectType): its top level, as NENA requires it.

    The whole document is validated against NENA's schema (the components' own members too).
    """

    id: str = msgspec.field(name="$id")
    last_update: datetime = msgspec.field(name="lastUpdateTimeStamp")
    updated_by: dict[str, str] = msgspec.field(name="updatedByAgencyReference")
    version: Literal["1.0"] = msgspec.field(name="eidoVersion")
    issued_by: str = msgspec.field(name="issuingElementIdentification")
    agencies: list[dict[str, Any]] = msgspec.field(name="agencyComponent")
    calls: list[dict[str, Any]] = msgspec.field(default_factory=list, name="callComponent")
    notes: list[dict[str, Any]] = msgspec.field(default_factory=list, name="notesComponent")


def call_from_eido(config: SurgeConfig, document: Any) -> CallIn:
    """The call a 911 center transfers, as intake takes it; a 422 naming the path if it cannot be read."""
    broken = first_error(document)
    if broken is not None:
        path, message = broken
        raise Problem(
            422,
            "Not a valid EIDO",
            f"{path}: {message}",
            kind="invalid-eido",
            errors=[{"field": path, "detail": message}],
        )
    ignored = unknown_properties(document)
    if ignored:
        names = ", ".join(ignored[:20])
        log.warning("911 transfer %s: ignored what NENA's EIDO does not define: %s", document["$id"], names)
    eido = _Eido(document)
    call_path, call = eido.first("callComponent")
    place = _place(eido, call_path, call)
    caller_path, caller = _caller(eido, call_path, call)
    return CallIn(
        narrative=_narrative(config, eido),
        channel=Channel.PSAP_TRANSFER,
        received_at=_started(call_path, call),
        caller_name=_name(caller),
        callback_number=_callback(eido, (call_path, call), (caller_path, caller)),
        language=_language(caller),
        address=place.address[:300] if place.address else None,
        location=place.point,
        ticket=_ticket(config, document),
    )


def transfer_key(header: str | None, document: Any) -> str:
    """The Idempotency-Key of a transfer: 911's own, else the EIDO's identity ($id at its time).

    Kept apart from the keys agents send, so that the two can never meet.
    """
    if header:
        return f"psap:{header}"
    identity = f"{document['$id']}\n{document['lastUpdateTimeStamp']}".encode()
    return f"psap:eido:{hashlib.sha256(identity).hexdigest()[:40]}"


class _Eido:
    """The document's components by `$id`, and the way from a reference to what it names."""

    def __init__(self, document: Json) -> None:
        self.document = document
        self.by_id: dict[str, tuple[str, Json]] = {}
        for name in _COMPONENTS:
            for index, component in enumerate(document.get(name, [])):
                self.by_id.setdefault(component["$id"], (f"{name}[{index}]", component))
        incident = document.get("incidentComponent")
        if incident is not None:
            self.by_id.setdefault(incident["$id"], ("incidentComponent", incident))

    def first(self, name: str) -> tuple[str, Json]:
        components = self.document.get(name, [])
        return (f"{name}[0]", components[0]) if components else (name, {})

    def named(self, path: str, reference: Json | None) -> tuple[str, Json] | None:
        """The component a reference at `path` names; a 422 if the document has no such component."""
        if reference is None:
            return None
        found = self.by_id.get(reference["$ref"])
        if found is None:
            raise invalid_field(f"{path}.$ref", f"names no component of this EIDO: {reference['$ref']!r}")
        return found

    def listed(self, path: str, owner: Json, name: str) -> Iterator[tuple[str, Json]]:
        for index, reference in enumerate(owner.get(name, [])):
            found = self.named(f"{path}.{name}[{index}]", reference)
            if found is not None:
                yield found


def _narrative(config: SurgeConfig, eido: _Eido) -> str:
    texts = [_text(note["notesActionComments"]) for note in eido.document.get("notesComponent", [])]
    if not any(texts):
        texts = [
            comment
            for index, data in enumerate(eido.document.get("additionalDataComponent", []))
            for comment in _comments(f"additionalDataComponent[{index}]", data.get("additionalDataByValue"))
        ]
    if not any(texts):
        kind = eido.document.get("incidentComponent", {})
        texts = [kind.get("incidentTypeInternalText") or kind.get("incidentTypeCommonRegistryText") or ""]
    narrative = "\n".join(text for text in texts if text) or NO_NARRATIVE
    limit = config.intake.max_narrative_chars
    return narrative if len(narrative) <= limit else narrative[: limit - 1] + "…"


def _comments(path: str, value: str | None) -> list[str]:
    """The comments of an EmergencyCallData.Comment block (other blocks say nothing a person said)."""
    if not value or "EmergencyCallData.Comment" not in value:
        return []
    try:
        root = pidf.parse(value)
    except ValueError as error:
        raise invalid_field(f"{path}.additionalDataByValue", str(error)) from None
    return [
        (element.text or "").strip() for element in root.iter() if element.tag.rpartition("}")[2] == "Comment"
    ]


def _place(eido: _Eido, call_path: str, call: Json) -> pidf.Place:
    """Where: the first location given by value, the incident's own kind of location first."""
    incident = eido.document.get("incidentComponent", {})
    candidates = [
        *eido.listed(call_path, call, "locationReference"),
        *eido.listed("incidentComponent", incident, "locationReference"),
        *(
            (f"locationComponent[{index}]", location)
            for index, location in enumerate(eido.document.get("locationComponent", []))
        ),
    ]
    candidates.sort(key=lambda found: found[1].get("locationTypeDescriptionRegistryText") != "Incident")
    for path, location in candidates:
        if location.get("locationByValue"):
            try:
                place = pidf.read(location["locationByValue"])
            except ValueError as error:
                raise invalid_field(f"{path}.locationByValue", str(error)) from None
            if place.address or place.point:
                return place
    return pidf.Place(None, None)


def _caller(eido: _Eido, call_path: str, call: Json) -> tuple[str, Json]:
    """The person who called: the call's person with the role Caller, else any such person."""
    people = [
        *eido.listed(call_path, call, "personReference"),
        *((f"personComponent[{i}]", p) for i, p in enumerate(eido.document.get("personComponent", []))),
    ]
    callers = (found for found in people if "Caller" in found[1].get("personIncidentRoleRegistryText", []))
    return next(callers, ("personComponent", {}))


def _callback(eido: _Eido, *owners: tuple[str, Json]) -> str | None:
    """The number to call back on: from the callback the call (else the caller) names, else the only one."""
    named = (
        eido.named(f"{path}.callBackReference", owner.get("callBackReference")) for path, owner in owners
    )
    found = next((found for found in named if found is not None), None)
    callbacks = eido.document.get("callbackComponent", [])
    callback = found[1] if found else (callbacks[0] if len(callbacks) == 1 else {})
    updated = callback.get("updatedCbn", {}).get("updatedCbnIdentifierUri")
    for uri in [updated, *callback.get("callBackInformationUri", [])]:
        number = _number(uri or "")
        if number:
            return number
    return None


def _number(uri: str) -> str | None:
    """The telephone number in a `tel:` or `sip:` URI, if it holds one."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() == "tel":
        number = rest.split(";")[0]
    elif scheme.lower() in ("sip", "sips"):
        number = rest.split("@")[0].split(";")[0]
    else:
        return None
    return number if _PHONE.fullmatch(number) else None


def _name(caller: Json) -> str | None:
    names = caller.get("ncPersonComponent", {}).get("name", [])
    for name in names:
        full = [part.get("value") for part in name.get("personFullName", []) if part.get("value")]
        given = [part.get("value") for part in name.get("personGivenName", []) if part.get("value")]
        family = [part.get("value") for part in name.get("personSurName", []) if part.get("value")]
        written = " ".join(full[:1] or [*given[:1], *family[:1]]).strip()
        if written:
            return written[:200]
    return None


def _language(caller: Json) -> str:
    for language in caller.get("ncPersonComponent", {}).get("primaryLanguage", []):
        for code in language.get("languageCode", []):
            simple = code.get("simpleType")
            if simple:
                return str(_LANGUAGES.get(simple, simple))
    return "en"


def _started(call_path: str, call: Json) -> datetime | None:
    """When the call began (its time was checked against RFC 3339 with the schema)."""
    text = call.get("callStartTimestamp")
    if text is None:
        return None
    path = f"{call_path}.callStartTimestamp"
    started = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    if not in_calendar(started):
        raise invalid_field(path, OUT_OF_CALENDAR)
    if started > datetime.now(UTC) + _CLOCK_SKEW:
        raise invalid_field(path, "is in the future")
    return started


def _ticket(config: SurgeConfig, document: Json) -> str | None:
    """The 311 ticket the EIDO is about, if it names one of 311's incidents."""
    ours = re.compile(re.escape(incident_id(config, "TICKET")).replace("TICKET", r"(\d{4}-\d{4,9})"))
    named = [
        document["$id"],
        *(link["incidentTrackingIdentifier"] for link in document.get("linkComponent", [])),
    ]
    for tracking in named:
        match = ours.fullmatch(tracking)
        if match:
            return match.group(1)
    return None


class _Text(HTMLParser):
    """The text of a note, which NENA writes in HTML5: tags dropped, paragraphs and breaks as lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")


def _text(note: str) -> str:
    parser = _Text()
    parser.feed(note)
    parser.close()
    return "\n".join(line.strip() for line in "".join(parser.parts).splitlines() if line.strip())
