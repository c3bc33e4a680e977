"""Agencies and referrals.

The directory, referring an incident, following referrals up; and the link an agency answers through (a page,
and the same as JSON), authorised by its signed token alone.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from quart import Blueprint, Response, current_app, render_template, request
from quart_schema import document_response, validate_querystring, validate_request

from dispatch import agencies, referrals
from incident.auth import access
from incident.incidents import select_incident
from incident.outbound import Policy
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.web import json_response, public_url, store, surge_config

blueprint = Blueprint("referral_api", __name__)
pages = Blueprint("referral_pages", __name__)


class AgencyList(msgspec.Struct, kw_only=True):
    items: list[agencies.Service]
    suggested: int = 0  # the first this many answer for what triage or the category named


class ImportIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An HSDS package as JSON.

    A list of services, each with its organization, phones, schedules, service_areas, eligibility and
    x_stormline (method, webhook_url, email_to, codes, capacity).
    """

    services: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=5000)]


class Imported(msgspec.Struct, kw_only=True):
    imported: int


class ReferralList(msgspec.Struct, kw_only=True):
    items: list[referrals.ReferralView]


class ReferralQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: str | None = None
    service: str | None = None
    follow_up: bool = False  # only those unanswered past referrals.follow_up_hours


class CreatedReferral(msgspec.Struct, kw_only=True):
    referral: referrals.Referral
    link: str | None  # the agency's link (sent to it by webhook or email); none without STORMLINE_PUBLIC_URL


# ---- the directory -------------------------------------------------------------------------------


@blueprint.get("/api/v1/agencies")
@document_response(AgencyList)
async def list_agencies() -> Response:
    """The directory of outside agencies' services (HSDS-shaped), with how each takes referrals."""
    return json_response(AgencyList(items=await agencies.directory(store())))


@blueprint.get("/api/v1/agencies/<service_id>")
@document_response(agencies.Service)
async def get_agency(service_id: str) -> Response:
    """One service."""
    return json_response(await agencies.get(store(), service_id))


@blueprint.patch("/api/v1/agencies/<service_id>")
@validate_request(agencies.ServicePatch)
@document_response(agencies.Service)
async def patch_agency(service_id: str, data: agencies.ServicePatch) -> Response:
    """A coordinator's edit: phone, hours, method, webhook or email, capacity (dated now), …"""
    policy = Policy.allowing(surge_config().referrals.allow_private)
    return json_response(await agencies.update(store(), service_id, data, access.current().name, policy))


@blueprint.post("/api/v1/agencies/import")
@validate_request(ImportIn)
@document_response(Imported)
async def post_agencies_import(data: ImportIn) -> Response:
    """Load an HSDS package (JSON) into the directory; services with the same id are replaced.

    A package that cannot be read is refused whole, naming the service and the problem.
    """
    policy = Policy.allowing(surge_config().referrals.allow_private)
    try:
        services = agencies.from_json(list(data.services))
        imported = await agencies.load(store(), services, access.current().name, policy)
    except agencies.ImportError_ as error:
        raise invalid_field("services", str(error)) from None
    return json_response(Imported(imported=imported))


@blueprint.get("/api/v1/incidents/<ticket>/agencies")
@document_response(AgencyList)
async def get_suggested_agencies(ticket: str) -> Response:
    """The services to refer this incident to.

    Those answering for the agencies triage named for it (its rules' and its category's `refer` codes), first;
    then the rest of the directory.
    """
    incident = await select_incident(store(), ticket)
    if incident is None:
        raise unknown_ticket(ticket)
    category = surge_config().category(incident.category)
    codes = {*(incident.triage.refer if incident.triage else []), *(category.refer if category else [])}
    services = await agencies.directory(store())
    named = [s for s in services if codes & set(s.codes)]
    return json_response(
        AgencyList(items=named + [s for s in services if s not in named], suggested=len(named))
    )


# ---- referrals -----------------------------------------------------------------------------------


@blueprint.post("/api/v1/incidents/<ticket>/referrals")
@validate_request(referrals.ReferralIn)
@document_response(CreatedReferral, 201)
async def post_referral(ticket: str, data: referrals.ReferralIn) -> Response:
    """Refer the incident to an agency's service, with what it needs and the caller's consent.

    The caller's name and number (`share_contact`) and the address (`share_address`) go only with
    consent. Delivered by the service's method: webhook or email through the outbox (retried), or by
    phone (the coordinator calls; the referral waits in the follow-up list until answered).
    """
    made = await referrals.create(
        store(),
        surge_config(),
        ticket,
        data,
        access.current().name,
        secret_key=_secret(),
        base_url=public_url(),
    )
    body = CreatedReferral(referral=made, link=_link(made.id))
    return json_response(body, 201, {"Location": f"/api/v1/referrals/{made.id}"})


@blueprint.get("/api/v1/referrals")
@validate_querystring(ReferralQuery)
@document_response(ReferralList)
async def list_referrals(query_args: ReferralQuery) -> Response:
    """Referrals newest first, by `status` and `service`.

    `follow_up=true`: those not answered within referrals.follow_up_hours, oldest first, to chase.
    """
    items = await referrals.listing(
        store(),
        surge_config(),
        status=query_args.status,
        service_id=query_args.service,
        follow_up=query_args.follow_up,
    )
    return json_response(ReferralList(items=items))


@blueprint.get("/api/v1/referrals/<referral_id>")
@document_response(referrals.ReferralView)
async def get_referral(referral_id: str) -> Response:
    """One referral with its delivery state (delivered, waiting with the last error, or call the agency)."""
    return json_response(
        await referrals.view(store(), surge_config(), await referrals.get(store(), referral_id))
    )


@blueprint.post("/api/v1/referrals/<referral_id>/status")
@validate_request(referrals.StatusIn)
@document_response(referrals.Referral)
async def post_referral_status(referral_id: str, data: referrals.StatusIn) -> Response:
    """Record an answer given by phone (accepted, declined with the reason, completed), or cancel."""
    return json_response(await referrals.answer(store(), referral_id, data, access.current().name))


# ---- the agency's link ---------------------------------------------------------------------------


@blueprint.get("/api/v1/referral-links/<token>")
@document_response(referrals.AgencyView)
async def get_link_json(token: str) -> Response:
    """For the agency, no account: the one referral its link names."""
    referral_id, expires = referrals.read_token(_secret(), surge_config(), token)
    view = referrals.agency_view(await referrals.get(store(), referral_id), expires)
    return json_response(view, headers=_LINK_HEADERS)


@blueprint.post("/api/v1/referral-links/<token>")
@validate_request(referrals.StatusIn)
@document_response(referrals.AgencyView)
async def post_link_json(token: str, data: referrals.StatusIn) -> Response:
    """For the agency: accept, decline (with the reason) or complete the referral its link names."""
    referral_id, expires = referrals.read_token(_secret(), surge_config(), token)
    if data.status == "cancelled":
        raise invalid_field("status", "an agency accepts, declines or completes a referral")
    answered = await referrals.answer(store(), referral_id, data, f"agency:{referral_id}")
    return json_response(referrals.agency_view(answered, expires), headers=_LINK_HEADERS)


@pages.route("/referral/<token>", methods=["GET", "POST"])
async def referral_page(token: str) -> Response | str:
    """The agency's page for one referral: what is asked, and buttons to answer."""
    try:
        referral_id, expires = referrals.read_token(_secret(), surge_config(), token)
    except Problem as problem:
        page = await render_template("referral.html", referral=None, message=problem.detail)
        return Response(page, problem.status, content_type="text/html; charset=utf-8")
    message = None
    if request.method == "POST":
        form = await request.form
        status = form.get("status", "")
        try:
            if status not in ("accepted", "declined", "completed"):
                raise invalid_field("status", "choose accepted, declined or completed")
            answer = msgspec.convert(
                {"status": status, "reason": form.get("reason") or None}, referrals.StatusIn
            )
            await referrals.answer(store(), referral_id, answer, f"agency:{referral_id}")
            message = f"Thank you: the referral is now {status}."
        except Problem as problem:
            message = problem.detail
        except msgspec.ValidationError as error:
            message = f"Not recorded: {error}"
    view = referrals.agency_view(await referrals.get(store(), referral_id), expires)
    page = await render_template("referral.html", referral=view, message=message, token=token)
    return Response(page, 200, _LINK_HEADERS, content_type="text/html; charset=utf-8")


# The token is in the path: no page it links to may learn it.
_LINK_HEADERS = {"Referrer-Policy": "no-referrer"}


def _secret() -> str:
    return str(current_app.secret_key or "")


def _link(referral_id: str) -> str | None:
    base = public_url()
    return f"{base}/referral/{referrals.link_token(_secret(), referral_id)}" if base else None
