"""The directory of outside agencies, in the shape of Open Referral HSDS.

One record per service an agency offers (HSDS `service`), with its organization's name, phones,
hours (`schedules`), area served (`service_areas`), what it accepts (`eligibility`), and Stormline's
extension (an HSDS `x-` file or object): how a referral is sent (phone, email or webhook), the triage
agency codes it answers for, and its capacity with the time that was last said.

An HSDS package is a folder of CSV files (organizations.csv, services.csv, phones.csv,
schedules.csv, service_areas.csv, eligibility.csv, x-stormline.csv), or a JSON file holding a list of
services each with its `organization`, `phones`, `schedules`, `service_areas`, `eligibility` and
`x_stormline`. A package that cannot be read is refused whole, naming the file, row and column.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import httpx
import msgspec

from dispatch.events import AgencySaved
from incident.events import Change, Conflict, commit, retrying
from incident.kept import Kept, Plan
from incident.outbound import Policy, Refused
from incident.problems import Problem, invalid_field
from incident.store import Store
from incident.validation import is_identifier

Method = Literal["phone", "email", "webhook"]
_ADDRESS = re.compile(r"[^\s@<>,;\"]+@[^\s@<>,;\"]+\.[^\s@<>,;\"]+")
Short = Annotated[str, msgspec.Meta(max_length=300)]


class Service(msgspec.Struct, kw_only=True):
    id: str  # the HSDS service id
    organization_id: str
    organization: str  # the organization's name
    name: str
    description: str = ""
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    hours: str = ""  # from the HSDS schedules, as people read them
    area_served: list[str] = []
    accepts: str = ""  # HSDS eligibility: who or what it takes
    method: Method = "phone"  # how a referral is sent
    email_to: str | None = None  # with method email
    webhook_url: str | None = None  # with method webhook
    codes: list[str] = []  # triage agency codes (surge_config.yaml triage.agencies) it answers for
    capacity: int | None = None  # places or slots it says it has
    capacity_at: datetime | None = None  # when it said so
    updated_at: datetime | None = None
    version: int = 1


class ServicePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A coordinator's edit; fields left out stay."""

    name: Short | None = None
    description: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    phone: Short | None = None
    email: Short | None = None
    url: Short | None = None
    hours: Short | None = None
    area_served: list[Short] | None = None
    accepts: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    method: Method | None = None
    email_to: Short | None = None
    webhook_url: Annotated[str, msgspec.Meta(pattern=r"^https?://", max_length=500)] | None = None
    codes: list[Annotated[str, msgspec.Meta(max_length=40)]] | None = None
    capacity: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class ImportError_(Exception):
    """A package that cannot be imported; `str()` names the file, row and problem."""


def _kept(store: Store) -> Kept[Service]:
    return Kept(store, "agency", Service, store.keys.agency)


async def get(store: Store, service_id: str) -> Service:
    return await _kept(store).get_or_404(service_id)


async def by_id(store: Store, ids: list[str]) -> dict[str, Service]:
    """The services with these ids (unknown ones left out)."""
    return {service.id: service for service in await _kept(store).many(ids)}


async def directory(store: Store) -> list[Service]:
    ids = sorted(i.decode() for i in cast(set[bytes], await store.redis.smembers(store.keys.agencies)))
    return await _kept(store).many(ids)


async def update(
    store: Store, service_id: str, data: ServicePatch, actor: str | None, policy: Policy
) -> Service:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    if data.webhook_url is not None:
        try:
            policy.check_url(data.webhook_url)
        except Refused as refused:
            raise invalid_field("webhook_url", f"not an address Stormline sends to: {refused}") from None
    now = datetime.now(UTC)
    if "capacity" in changes:
        changes["capacity_at"] = now

    async def decide(current: Service) -> Plan[Service] | None:
        updated = msgspec.structs.replace(current, **changes, updated_at=now)
        _check(updated)
        event = AgencySaved(service_id=service_id, at=now, actor=actor, changed=sorted(changes))
        return Plan(updated, event)

    return await _kept(store).change(service_id, decide)


async def load(store: Store, services: list[Service], actor: str | None, policy: Policy) -> int:
    """Put these services in the directory (replacing those with the same id): all in one step, or none.

    A webhook on an address the policy refuses refuses the whole package (ImportError_ names it).
    """
    if not services:
        return 0
    for service in services:
        if service.webhook_url:
            try:
                policy.check_url(service.webhook_url)
            except Refused as refused:
                raise ImportError_(
                    f"service {service.id!r}: webhook_url is not an address Stormline sends to: {refused}"
                ) from None
    kept = _kept(store)
    now = datetime.now(UTC)

    async def attempt() -> int:
        change = Change()
        for service in services:
            current = await kept.get(service.id)
            version = current.version + 1 if current else 1
            kept.put(change, current, msgspec.structs.replace(service, updated_at=now, version=version))
            change.command("SADD", store.keys.agencies, service.id)
        event = AgencySaved(service_id=services[0].id, at=now, actor=actor, changed=[s.id for s in services])
        try:
            await commit(store.scripts.apply, change, event, store.keys.events)
        except Conflict:
            if actor == "seed":
                return 0  # another worker seeded the directory at the same moment
            raise  # a service changed meanwhile: read them again
        return len(services)

    return await retrying(attempt, "the directory")


async def seed(store: Store, package: Path, policy: Policy) -> int:
    """Load the shipped package when the directory is empty (a first start); returns services loaded."""
    if await store.redis.scard(store.keys.agencies):
        return 0
    return await load(store, read_package(package), "seed", policy)


def read_package(path: Path) -> list[Service]:
    """Read an HSDS package: a folder of CSV files, or a JSON file."""
    if path.is_dir():
        return _from_csv(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImportError_(f"{path}: {error}") from None
    if not isinstance(data, list):
        raise ImportError_(f"{path}: expected a JSON list of HSDS services")
    return from_json(data, str(path))


def from_json(items: list[Any], source: str = "") -> list[Service]:
    """Services from HSDS JSON objects; `source` prefixes every error (a file's name)."""
    return [_from_json(f"{source}: " if source else "", index, item) for index, item in enumerate(items)]


def _from_json(prefix: str, index: int, item: Any) -> Service:
    where = f"{prefix}service {index}"
    if not isinstance(item, dict):
        raise ImportError_(f"{where}: not an object")
    organization = _object(item.get("organization"), where, "organization")
    phones = _objects(item.get("phones") or organization.get("phones"), where, "phones")
    rows = {
        "service": item,
        "organization": organization,
        "phone": phones[0] if phones else {},
        "schedules": _objects(item.get("schedules"), where, "schedules"),
        "areas": _objects(item.get("service_areas"), where, "service_areas"),
        "eligibility": _objects(item.get("eligibility"), where, "eligibility"),
        "extension": _object(item.get("x_stormline"), where, "x_stormline"),
    }
    return _service(where, rows)


def _object(value: Any, where: str, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportError_(f"{where}: {name} must be an object")
    return value


def _objects(value: Any, where: str, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ImportError_(f"{where}: {name} must be a list of objects")
    return value


def _codes(value: Any) -> list[str]:
    """Agency codes as a list, or as one string separated by spaces or semicolons."""
    if isinstance(value, str):
        return [c for c in value.replace(";", " ").replace(",", " ").split() if c]
    if isinstance(value, list):
        return [str(c) for c in value]
    return []


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError("capacity_at needs a time zone offset")
    return when


def _from_csv(folder: Path) -> list[Service]:
    def table(name: str, required: bool = False) -> list[dict[str, str]]:
        path = folder / name
        if not path.exists():
            if required:
                raise ImportError_(f"{folder}: {name} is missing")
            return []
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [
                {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                for row in csv.DictReader(handle)
            ]

    organizations = {row.get("id", ""): row for row in table("organizations.csv", required=True)}
    by_service: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for name, key in (
        ("phones.csv", "phones"),
        ("schedules.csv", "schedules"),
        ("service_areas.csv", "areas"),
        ("eligibility.csv", "eligibility"),
        ("x-stormline.csv", "extension"),
    ):
        for row in table(name):
            by_service[row.get("service_id", "")][key].append(row)
    services = []
    for number, row in enumerate(table("services.csv", required=True), start=2):
        where = f"{folder / 'services.csv'}: row {number}"
        organization = organizations.get(row.get("organization_id", ""))
        if organization is None:
            raise ImportError_(
                f"{where}: organization_id {row.get('organization_id')!r} is not in organizations.csv"
            )
        extra = by_service[row.get("id", "")]
        extension: dict[str, Any] = dict(extra["extension"][0]) if extra["extension"] else {}
        rows = {
            "service": row,
            "organization": organization,
            "phone": extra["phones"][0] if extra["phones"] else {},
            "schedules": extra["schedules"],
            "areas": extra["areas"],
            "eligibility": extra["eligibility"],
            "extension": extension,
        }
        services.append(_service(where, rows))
    return services


def _service(where: str, rows: dict[str, Any]) -> Service:
    service, organization, extension = rows["service"], rows["organization"], rows["extension"]
    if not service.get("id") or not service.get("name"):
        raise ImportError_(f"{where}: a service needs an id and a name")
    if not organization.get("name"):
        raise ImportError_(f"{where}: its organization has no name")
    capacity = extension.get("capacity")
    try:
        built = Service(
            id=str(service["id"]),
            organization_id=str(organization.get("id") or service.get("organization_id") or ""),
            organization=str(organization["name"]),
            name=str(service["name"]),
            description=str(service.get("description") or ""),
            phone=(rows["phone"].get("number") or None),
            email=service.get("email") or organization.get("email") or None,
            url=service.get("url") or organization.get("url") or organization.get("website") or None,
            hours="; ".join(_schedule(s) for s in rows["schedules"] if _schedule(s)),
            area_served=[str(a.get("description") or a.get("service_area") or "") for a in rows["areas"]],
            accepts="; ".join(
                str(e.get("eligibility") or e.get("description") or "") for e in rows["eligibility"]
            ),
            method=extension.get("method") or ("webhook" if extension.get("webhook_url") else "phone"),
            email_to=extension.get("email_to") or None,
            webhook_url=extension.get("webhook_url") or None,
            codes=_codes(extension.get("codes")),
            capacity=int(capacity) if capacity not in (None, "") else None,
            capacity_at=_when(extension.get("capacity_at")),
        )
        _check(built)
    except (ValueError, TypeError, KeyError, AttributeError, msgspec.ValidationError) as error:
        raise ImportError_(f"{where}: {error}") from None
    except Problem as problem:
        raise ImportError_(f"{where}: {problem.detail}") from None
    return built


def _schedule(row: dict[str, Any]) -> str:
    if row.get("description"):
        return str(row["description"])
    days = row.get("byday") or row.get("weekday") or ""
    opens, closes = row.get("opens_at") or "", row.get("closes_at") or ""
    return " ".join(part for part in (str(days), f"{opens}–{closes}" if opens or closes else "") if part)


def _check(service: Service) -> None:
    for name in ("id", "organization_id"):
        value = getattr(service, name)
        if (value or name == "id") and not is_identifier(value):
            shown = value[:40] + ("…" if len(value) > 40 else "")
            raise invalid_field(name, f"{shown!r}: letters, digits, - and _ only, at most 64 (e.g. svc-211)")
    if service.method not in ("phone", "email", "webhook"):
        raise invalid_field("method", "phone, email or webhook")
    if service.webhook_url is not None or service.method == "webhook":
        try:
            url = httpx.URL(service.webhook_url or "")
        except httpx.InvalidURL:
            raise invalid_field("webhook_url", "not a URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise invalid_field("webhook_url", "a webhook service needs an http(s) URL")
    for name in ("email_to", "email"):
        value = getattr(service, name)
        if value is not None and not _ADDRESS.fullmatch(value):
            raise invalid_field(name, "one email address, like intake@agency.org")
    if service.method == "email" and not (service.email_to or service.email):
        raise invalid_field("email_to", "an email service needs an address")
    if service.capacity is not None and service.capacity < 0:
        raise invalid_field("capacity", "cannot be negative")
    if service.method == "phone" and not service.phone:
        raise invalid_field("phone", "a phone service needs a number")
