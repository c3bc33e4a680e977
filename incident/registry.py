"""The registry of residents who need help in an emergency: who, where, what they need, their consent.

Opt-in only: every entry carries the consent it rests on (its date and how it was given) and a date
to ask again (`reverify_by`); stale entries are listed for the yearly call. Coordinators and
supervisors keep it; an agent sees only what a call needs (`CallerNeeds`). Each change and each read
is an audit event (incident/auth/audit.py), and nothing of it is ever on a public page, an export, the
live feed or an Open311 answer: its events go to the audit stream, not the events stream.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, cast

import msgspec

from geo.point import Point
from incident.auth import audit
from incident.config import AnswerValue, Need, SurgeConfig
from incident.events import Change
from incident.geocoding import GeoService
from incident.kept import Kept, Plan
from incident.keys import digest
from incident.phone import to_e164
from incident.problems import Problem, invalid_field
from incident.store import Store

Short = Annotated[str, msgspec.Meta(max_length=200)]
Phone = Annotated[str, msgspec.Meta(max_length=40)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
_READ_CHUNK = 1000


class Resident(msgspec.Struct, kw_only=True):
    id: str
    name: str
    phone: str | None = None  # as given
    phone_e164: str | None = None
    address: str
    location: Point | None = None
    needs_location: bool = False  # the address was not placed: a coordinator sets the point
    zones: dict[str, str] = {}
    needs: list[Need] = []
    dialysis_schedule: str | None = None  # "Mon Wed Fri 06:00", as the resident says it
    language: str = "en"
    contact_name: str | None = None  # a named person to call about them
    contact_phone: str | None = None
    consent_date: date
    consent_source: str  # how consent was given: "utility medical-needs list", "phone, agent jdoe", …
    reverify_by: date
    source: str = "manual"  # "manual" or the name of the list it was imported from
    source_id: str | None = None  # the row's id in that list
    notes: str = ""
    registered_at: datetime
    updated_at: datetime
    version: int = 1


class ResidentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A coordinator's entry (or one row of an import)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]
    consent_date: date
    consent_source: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
    phone: Phone | None = None
    location: Point | None = None  # when the list gives the point; otherwise the address is looked up
    needs: list[Need] = []
    dialysis_schedule: Short | None = None
    language: Language = "en"
    contact_name: Short | None = None
    contact_phone: Phone | None = None
    reverify_by: date | None = None  # default: the consent date plus registry.reverify_months
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    source_id: Short | None = None


class ResidentPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A coordinator's change; fields left out stay."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=300)] | None = None
    location: Point | None = None
    phone: Phone | None = None
    needs: list[Need] | None = None
    dialysis_schedule: Short | None = None
    language: Language | None = None
    contact_name: Short | None = None
    contact_phone: Phone | None = None
    consent_date: date | None = None
    consent_source: Annotated[str, msgspec.Meta(min_length=2, max_length=200)] | None = None
    reverify_by: date | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class CallerNeeds(msgspec.Struct, kw_only=True):
    """What an agent on a call sees of a registered resident: what the call needs, nothing more."""

    id: str
    name: str
    matched_by: str  # "number" or "address"
    needs: list[Need]
    dialysis_schedule: str | None
    language: str


class ResidentPage(msgspec.Struct, kw_only=True):
    items: list[Resident]
    total: int


class Refused(msgspec.Struct, kw_only=True):
    line: int  # the line of the CSV file (the header is line 1)
    column: str | None
    problem: str


class RegistryImported(msgspec.Struct, kw_only=True):
    source: str
    registered: int
    updated: int
    unplaced: int  # kept, flagged for a coordinator to set the point
    refused: list[Refused]


_decode_resident = msgspec.msgpack.Decoder(Resident).decode
_pack = msgspec.msgpack.Encoder().encode


class Brief(msgspec.Struct, array_like=True, frozen=True):
    """What a call-down needs of a located resident, kept beside the record so one read lists them all."""

    lon: float
    lat: float
    needs: list[Need]
    district: str | None


_decode_briefs = msgspec.msgpack.Decoder(Brief).decode


def kept_residents(store: Store) -> Kept[Resident]:
    def keeping(change: Change, before: Resident | None, after: Resident) -> None:
        _index(change, store, before, after)

    return Kept(store, "resident", Resident, store.keys.resident, keeping=keeping, stream=store.keys.audit)


def _index(change: Change, store: Store, before: Resident | None, after: Resident | None) -> None:
    """The number, place and source indexes follow the record in the same atomic step."""
    keys = store.keys
    if before is not None:
        if before.phone_e164:
            change.command("SREM", keys.residents_by_phone(before.phone_e164), before.id)
        if before.location is not None:
            change.command("ZREM", keys.residents_geo, before.id)
            change.command("HDEL", keys.resident_briefs, before.id)
        if before.source_id:
            change.command("HDEL", keys.resident_sources, f"{before.source}|{before.source_id}")
    if after is None:
        return
    change.command("ZADD", keys.residents, str(int(after.id.removeprefix("R"))), after.id)
    if after.phone_e164:
        change.command("SADD", keys.residents_by_phone(after.phone_e164), after.id)
    if after.location is not None:
        change.geoadd(keys.residents_geo, after.location, after.id)
        brief = [after.location.lon, after.location.lat, after.needs, after.zones.get("council_district")]
        change.hset(keys.resident_briefs, {after.id: _pack(brief)})
    if after.source_id:
        change.hset(keys.resident_sources, {f"{after.source}|{after.source_id}": after.id})


@dataclass
class Registry:
    """The registry in one store, with the city's config and (for addresses) its geocoder."""

    store: Store
    config: SurgeConfig
    geo: GeoService | None = None
    _kept: Kept[Resident] = field(init=False)

    def __post_init__(self) -> None:
        self._kept = kept_residents(self.store)

    # --- writes -----------------------------------------------------------------------------------

    async def register(self, data: ResidentIn, actor: str | None, source: str = "manual") -> Resident:
        """Register a resident (the address looked up as a call's is)."""
        resident = self._new(data, source, await self._next_id(), datetime.now(UTC))
        await self._kept.create(Plan(resident, _changed(resident, "registered", actor, source=source)))
        return resident

    async def update(self, resident_id: str, patch: ResidentPatch, actor: str | None) -> Resident:
        given = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}

        async def decide(current: Resident) -> Plan[Resident] | None:
            updated = self._revised(current, given)
            return Plan(updated, _changed(updated, "updated", actor, fields=sorted(given)))

        return await self._kept.change(resident_id, decide)

    async def remove(self, resident_id: str, actor: str | None) -> None:
        """Take a resident off the registry (consent withdrawn): the record and its indexes go."""
        current = await self._kept.get_or_404(resident_id)
        change = Change()
        keys = self.store.keys
        change.guard(keys.resident(resident_id), "v", str(current.version))
        _index(change, self.store, current, None)
        if current.source_id:  # the list it came from may send it again: it is not registered again
            change.command("SADD", keys.residents_withdrawn, digest(f"{current.source}|{current.source_id}"))
        change.command("ZREM", keys.residents, resident_id)
        change.command("DEL", keys.resident(resident_id))
        await self._kept.commit(change, _changed(current, "removed", actor), [], [])

    async def import_csv(
        self, text: str, source: str, actor: str | None, progress: Callable[[int, int], None] | None = None
    ) -> RegistryImported:
        """Import a list with named columns; a row already imported from `source` (by `id`) is updated.

        A row that cannot be read is refused with its line and column; the others are kept.
        """
        rows, refused = read_csv(text, self.config)
        registered = updated = unplaced = 0
        known = cast(dict[bytes, bytes], await self.store.redis.hgetall(self.store.keys.resident_sources))
        withdrawn = cast(set[bytes], await self.store.redis.smembers(self.store.keys.residents_withdrawn))
        for done, (line, row) in enumerate(rows, 1):
            key = f"{source}|{row.source_id}"
            if row.source_id and digest(key).encode() in withdrawn:
                refused.append(
                    Refused(line=line, column="id", problem="this resident withdrew their consent")
                )
                continue
            existing = known.get(key.encode()) if row.source_id else None
            try:
                if existing is None:
                    resident = await self.register(row, actor, source=source)
                    registered += 1
                    if row.source_id:  # the same id again further down the file updates this one
                        known[key.encode()] = resident.id.encode()
                else:
                    resident = await self.replace(existing.decode(), row, actor, source)
                    updated += 1
            except Problem as problem:
                refused.append(Refused(line=line, column=None, problem=problem.detail))
                continue
            unplaced += resident.needs_location
            if progress is not None:
                progress(done, len(rows))
        refused.sort(key=lambda r: r.line)
        return RegistryImported(
            source=source, registered=registered, updated=updated, unplaced=unplaced, refused=refused
        )

    async def replace(self, resident_id: str, data: ResidentIn, actor: str | None, source: str) -> Resident:
        """A row imported again: the resident as the list now says, keeping id and registration."""

        async def decide(current: Resident) -> Plan[Resident] | None:
            fresh = self._new(data, source, current.id, current.registered_at)
            return Plan(fresh, _changed(fresh, "imported", actor, source=source))

        return await self._kept.change(resident_id, decide)

    # --- reads (each audited) ---------------------------------------------------------------------

    async def view(self, resident_id: str, actor: str | None, role: str | None) -> Resident:
        resident = await self._kept.get_or_404(resident_id)
        await self.audit_read(actor, role, "view", [resident_id])
        return resident

    async def page(
        self, actor: str | None, role: str | None, *, offset: int, limit: int, stale_by: date | None = None
    ) -> ResidentPage:
        """Residents by number; with `stale_by`, only those whose consent is due to be asked again."""
        everyone = await self.everyone()
        if stale_by is not None:
            everyone = [r for r in everyone if r.reverify_by <= stale_by]
        shown = everyone[offset : offset + limit]
        purpose = "stale" if stale_by is not None else "list"
        await self.audit_read(actor, role, purpose, [r.id for r in shown], count=len(everyone))
        return ResidentPage(items=shown, total=len(everyone))

    async def briefs(self) -> dict[str, Brief]:
        """Every located resident's place, needs and district, in one read (not audited)."""
        raw = cast(dict[bytes, bytes], await self.store.redis.hgetall(self.store.keys.resident_briefs))
        return {key.decode(): _decode_briefs(blob) for key, blob in raw.items()}

    async def everyone(self) -> list[Resident]:
        """Every registered resident (not audited: callers audit what they show)."""
        ids = [
            i.decode()
            for i in cast(list[bytes], await self.store.redis.zrange(self.store.keys.residents, 0, -1))
        ]
        found: list[Resident] = []
        for start in range(0, len(ids), _READ_CHUNK):
            found += await self._kept.many(ids[start : start + _READ_CHUNK])
        return found

    async def match(
        self,
        e164: str | None,
        point: Point | None,
        actor: str | None,
        role: str | None,
        purpose: str = "match",
    ) -> list[CallerNeeds]:
        """Registered residents a call is from: by its number, then by its point (one round trip)."""
        if e164 is None and point is None:
            return []
        keys = self.store.keys
        where = (
            [repr(point.lon), repr(point.lat), repr(self.config.registry.match_radius_m)]
            if point
            else ["", "", ""]
        )
        reply = cast(
            list[bytes],
            await self.store.scripts.match(
                keys=[keys.residents_by_phone(e164 or ""), keys.residents_geo, keys.audit],
                args=[
                    *where,
                    keys.resident(""),
                    datetime.now(UTC).isoformat(),
                    actor or "",
                    role or "",
                    purpose,
                ],
            ),
        )
        matched = []
        for how, blob in zip(reply[::2], reply[1::2], strict=True):
            if not blob:
                continue  # taken off the registry as the index was read
            resident = _decode_resident(blob)
            matched.append(
                CallerNeeds(
                    id=resident.id,
                    name=resident.name,
                    matched_by=how.decode(),
                    needs=resident.needs,
                    dialysis_schedule=resident.dialysis_schedule,
                    language=resident.language,
                )
            )
        return matched

    async def audit_read(
        self, actor: str | None, role: str | None, purpose: str, ids: list[str], count: int = 0
    ) -> None:
        event = audit.RegistryRead(
            at=datetime.now(UTC),
            actor=actor,
            role=role,
            purpose=purpose,
            residents=ids,
            count=count or len(ids),
        )
        await audit.record(self.store, event)

    # --- helpers ----------------------------------------------------------------------------------

    async def _next_id(self) -> str:
        number = await self.store.redis.incr(self.store.keys.seq("registry"))
        return f"R{number:06d}"

    def _new(self, data: ResidentIn, source: str, resident_id: str, registered: datetime) -> Resident:
        now = datetime.now(UTC)
        resident = Resident(
            id=resident_id,
            name=data.name.strip(),
            address=data.address.strip(),
            consent_date=data.consent_date,
            consent_source=data.consent_source.strip(),
            reverify_by=data.reverify_by
            or _months_after(data.consent_date, self.config.registry.reverify_months),
            needs=sorted(set(data.needs)),
            dialysis_schedule=data.dialysis_schedule,
            language=data.language,
            contact_name=data.contact_name,
            notes=data.notes,
            source=source,
            source_id=data.source_id,
            registered_at=registered,
            updated_at=now,
        )
        return self._placed(self._numbers(resident, data.phone, data.contact_phone), data.location)

    def _revised(self, current: Resident, given: dict[str, object]) -> Resident:
        plain = {k: v for k, v in given.items() if k not in {"phone", "contact_phone", "location", "address"}}
        if "needs" in plain:
            plain["needs"] = sorted(set(cast(list[Need], plain["needs"])))
        updated = msgspec.structs.replace(current, **plain, updated_at=datetime.now(UTC))
        phone = cast(str | None, given.get("phone", current.phone))
        contact = cast(str | None, given.get("contact_phone", current.contact_phone))
        updated = self._numbers(updated, phone, contact)
        if "address" in given or "location" in given:
            updated = msgspec.structs.replace(
                updated, address=cast(str, given.get("address", current.address))
            )
            updated = self._placed(updated, cast(Point | None, given.get("location")))
        return updated

    def _numbers(self, resident: Resident, phone: str | None, contact: str | None) -> Resident:
        region = self.config.jurisdiction.phone_region
        e164 = to_e164(phone, region) if phone else None
        if phone and e164 is None:
            raise invalid_field("phone", f"{phone!r} is not a phone number")
        if contact and to_e164(contact, region) is None:
            raise invalid_field("contact_phone", f"{contact!r} is not a phone number")
        return msgspec.structs.replace(resident, phone=phone, phone_e164=e164, contact_phone=contact)

    def _placed(self, resident: Resident, given: Point | None) -> Resident:
        """The point given, else the address looked up offline; not found: flagged for a coordinator."""
        if given is not None:
            zones = self.geo.zones_of(given) if self.geo else {}
            return msgspec.structs.replace(resident, location=given, zones=zones, needs_location=False)
        located = self.geo.locate(resident.address) if self.geo else None
        if located is None or located.best is None:
            return msgspec.structs.replace(resident, location=None, zones={}, needs_location=True)
        return msgspec.structs.replace(
            resident, location=located.best.point, zones=located.zones, needs_location=False
        )


def triage_answers(config: SurgeConfig, matched: list[CallerNeeds]) -> dict[str, AnswerValue]:
    """What the registry tells triage about a caller, as answers to its questions."""
    told: dict[str, AnswerValue] = {}
    for resident in matched:
        for need in resident.needs:
            told.update(config.registry.answers.get(need, {}))
    return told


def risk(config: SurgeConfig, needs: Iterable[Need], hours_without_power: float) -> float:
    """A resident's place in a call-down: weight of needs × hours without power × living alone."""
    settings = config.registry
    given = set(needs)
    weight = max(settings.base_weight, sum(settings.weights.get(n, 0.0) for n in given))
    alone = settings.lives_alone_factor if Need.LIVES_ALONE in given else 1.0
    return weight * (1 + max(hours_without_power, 0.0) / settings.hours_scale) * alone


# --- CSV --------------------------------------------------------------------------------------------

COLUMNS = (
    "id",
    "name",
    "phone",
    "address",
    "lat",
    "lon",
    "needs",
    "dialysis_schedule",
    "language",
    "contact_name",
    "contact_phone",
    "consent_date",
    "consent_source",
    "reverify_by",
    "notes",
)
REQUIRED = ("name", "address", "consent_date", "consent_source")
_resident_in = msgspec.convert


def read_csv(text: str, config: SurgeConfig) -> tuple[list[tuple[int, ResidentIn]], list[Refused]]:
    """The rows of a registry CSV (named columns, see COLUMNS), each with its line; the refused apart.

    A header naming a column Stormline does not know, or missing a required one, refuses the whole
    file (a misspelt "neds" would otherwise drop everyone's needs without a word).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name and name not in COLUMNS]  # a trailing comma is no column
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing:
        said = [f"unknown column {name!r}" for name in unknown] + [f"no {name!r} column" for name in missing]
        raise Problem(
            422,
            "Invalid request",
            f"line 1: {'; '.join(said)}; the columns are: {', '.join(COLUMNS)}",
            kind="invalid-file",
            errors=[{"field": "line 1", "detail": d} for d in said],
        )
    reader.fieldnames = header
    rows: list[tuple[int, ResidentIn]] = []
    refused: list[Refused] = []
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        try:
            rows.append((line, _row(raw)))
        except _BadCell as bad:
            refused.append(Refused(line=line, column=bad.column, problem=bad.problem))
    return rows, refused


class _BadCell(Exception):
    def __init__(self, column: str | None, problem: str) -> None:
        super().__init__(problem)
        self.column, self.problem = column, problem


def _row(raw: dict[str | None, str | list[str] | None]) -> ResidentIn:
    if None in raw:
        raise _BadCell(None, "more cells than the header has columns")
    cells = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str) and isinstance(v, str | None)}
    given: dict[str, object] = {}
    for name in (
        "name",
        "phone",
        "address",
        "dialysis_schedule",
        "language",
        "contact_name",
        "contact_phone",
    ):
        if cells.get(name):
            given[name] = cells[name]
    for name in ("consent_date", "reverify_by"):
        if cells.get(name):
            try:
                given[name] = date.fromisoformat(cells[name])
            except ValueError:
                raise _BadCell(name, f"{cells[name]!r} is not a date (YYYY-MM-DD)") from None
    if cells.get("consent_source"):
        given["consent_source"] = cells["consent_source"]
    if cells.get("id"):
        given["source_id"] = cells["id"]
    if cells.get("notes"):
        given["notes"] = cells["notes"]
    if cells.get("needs"):
        words = [w.strip().lower().replace(" ", "_") for w in cells["needs"].replace(";", ",").split(",")]
        known = {n.value for n in Need}
        bad = [w for w in words if w and w not in known]
        if bad:
            raise _BadCell("needs", f"unknown need {bad[0]!r}; one of: {', '.join(sorted(known))}")
        given["needs"] = [Need(w) for w in words if w]
    if cells.get("lat") or cells.get("lon"):
        try:
            given["location"] = msgspec.convert(
                {"lat": float(cells.get("lat", "")), "lon": float(cells.get("lon", ""))}, Point
            )
        except (ValueError, msgspec.ValidationError):
            raise _BadCell("lat", "lat and lon must both be given, as WGS 84 degrees") from None
    for name in REQUIRED:
        if name not in given:
            raise _BadCell(name, "is empty")
    try:
        return msgspec.convert(given, ResidentIn)
    except msgspec.ValidationError as error:
        column = str(error).rsplit("$.", 1)[-1].split("`")[0].split("[")[0] if "$." in str(error) else None
        raise _BadCell(column, str(error).split(" - at ")[0]) from None


def _changed(
    resident: Resident,
    change: str,
    actor: str | None,
    *,
    fields: list[str] | None = None,
    source: str | None = None,
) -> audit.ResidentChanged:
    return audit.ResidentChanged(
        at=datetime.now(UTC),
        actor=actor,
        resident=resident.id,
        change=change,
        fields=fields or [],
        source=source,
    )


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has at least 28 days")
