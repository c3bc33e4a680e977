"""A resident's report on the web: the same intake as a call, 911 first when life is at risk, no robots."""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import FileStorage

from incident.auth.roles import Role
from incident.public_pages import REPORTS_PER_CONTACT
from tests.incident.auth.helpers import csrf_in
from tests.support import as_role

REPORT = {
    "category": "debris",
    "address": "400 Kensington Ave",
    "description": "a big limb is down across the sidewalk",
    "phone": "716-555-0142",
}


async def _post(client: Client, form: dict[str, str], **headers: str) -> tuple[int, str]:
    """Open the form as a browser does (its CSRF token), then send it."""
    token = csrf_in(await (await client.get("/report", headers=headers)).get_data(as_text=True))
    response = await client.post("/report", form={**form, "csrf_token": token}, headers=headers)
    return response.status_code, await response.get_data(as_text=True)


async def _incident(app: App, ticket: str) -> Any:
    supervisor = await as_role(app, Role.SUPERVISOR)
    return await (await supervisor.get(f"/api/v1/incidents/{ticket}")).get_json()


async def test_the_form_offers_the_public_services_only(app: App) -> None:
    """The form lists what residents may report (not the 911-only emergency, not sensitive categories)."""
    page = await (await app.test_client().get("/report")).get_data(as_text=True)
    assert 'value="debris"' in page
    assert 'value="emergency"' not in page
    assert 'value="medical_referral"' not in page
    assert 'href="tel:911"' in page


async def test_a_report_is_a_web_call_in_the_residents_language(app: App) -> None:
    """Filed through intake with channel web, the resident's number and language; the ticket is shown."""
    status, page = await _post(app.test_client(), REPORT, **{"Accept-Language": "es"})
    assert status == 201
    assert "Reporte recibido" in page
    ticket = page.split('<strong id="ticket">')[1].split("<")[0]
    detail = await _incident(app, ticket)
    (call,) = detail["calls"]
    assert (call["channel"], call["language"], call["callback_e164"]) == ("web", "es", "+17165550142")
    assert detail["incident"]["category"] == "debris"
    assert f'href="/track?ticket={ticket}"' in page


async def test_a_life_at_risk_is_told_to_call_911_and_kept(app: App) -> None:
    """Words of a life at risk answer with "Call 911 now" first; the report is kept, flagged life safety."""
    words = {**REPORT, "description": "the tree fell on the house and my father is trapped and not breathing"}
    status, page = await _post(app.test_client(), words)
    assert status == 201
    assert '<section class="call-911" role="alert">' in page
    assert 'href="tel:911"' in page
    ticket = page.split("ticket ")[1].split(";")[0]
    assert (await _incident(app, ticket))["incident"]["life_safety"] is True


async def test_a_report_sent_from_another_site_is_refused(app: App) -> None:
    """A post without the form's CSRF token (another site's form) files nothing."""
    response = await app.test_client().post("/report", form=REPORT)
    assert response.status_code == 403


async def test_a_form_robot_is_refused_and_nothing_is_filed(app: App) -> None:
    """The hidden field filled in: refused, and no ticket is made."""
    status, page = await _post(app.test_client(), {**REPORT, "website": "http://spam.example"})
    assert status == 400
    assert "could not be sent" in page
    supervisor = await as_role(app, Role.SUPERVISOR)
    assert (await (await supervisor.get("/api/v1/incidents")).get_json())["items"] == []


async def test_a_missing_place_is_said_and_the_words_are_kept(app: App) -> None:
    """No address and no location: the form comes back saying so, with what was typed still in it."""
    status, page = await _post(app.test_client(), {**REPORT, "address": ""})
    assert status == 422
    assert "Give an address or a corner, or use your location." in page
    assert "a big limb is down across the sidewalk</textarea>" in page


async def test_one_contact_may_not_flood_the_center(app: App) -> None:
    """The same phone number files a few reports an hour, whichever network it comes from."""
    answers = []
    for n in range(REPORTS_PER_CONTACT + 1):
        status, _ = await _post(app.test_client(), REPORT, **{"X-Real-IP": f"10.0.0.{n}"})
        answers.append(status)
    assert answers[:REPORTS_PER_CONTACT] == [201] * REPORTS_PER_CONTACT
    assert answers[-1] == 429


async def test_a_report_near_an_open_one_is_offered_to_it_first(app: App) -> None:
    """A second report of the same kind nearby is offered the first ticket: yes adds it, no files anew."""
    client = app.test_client()
    _, first_page = await _post(client, {**REPORT, "lat": "42.929500", "lon": "-78.836200"})
    first = first_page.split('<strong id="ticket">')[1].split("<")[0]
    second = {**REPORT, "lat": "42.929600", "lon": "-78.836300", "address": "", "phone": ""}
    second["description"] = "a branch down on the sidewalk"
    status, offer = await _post(client, second)
    assert status == 200
    assert f"Yes, add my report to {first}" in offer
    for first_callers in ("Kensington", "555-0142", "big limb"):  # nothing of the first report is shown
        assert first_callers not in offer
    carried = {**second, "csrf_token": csrf_in(offer)}
    added = await client.post("/report", form={**carried, "ticket": first})
    assert added.status_code == 201
    assert "added to the one already made" in await added.get_data(as_text=True)
    assert len((await _incident(app, first))["calls"]) == 2
    apart = await client.post("/report", form={**carried, "new": "1"})
    other = (await apart.get_data(as_text=True)).split('<strong id="ticket">')[1].split("<")[0]
    assert other != first


async def test_a_life_at_risk_is_not_held_up_by_an_offer(app: App) -> None:
    """Near an open report, words of a life at risk still answer Call 911 at once, filed."""
    client = app.test_client()
    here = {**REPORT, "lat": "42.929500", "lon": "-78.836200"}
    await _post(client, here)
    status, page = await _post(client, {**here, "description": "a tree fell on my neighbor, he is trapped"})
    assert status == 201
    assert '<section class="call-911" role="alert">' in page


async def test_the_address_completes_from_the_citys_streets(app: App) -> None:
    """The public completion answers the city's street names and corners for what was typed."""
    response = await app.test_client().get("/api/v1/public/places?q=elmwood%20%26%20bid")
    assert response.status_code == 200
    suggestions = (await response.get_json())["suggestions"]
    assert any(s.startswith("Elmwood Ave & Bidwell") for s in suggestions), suggestions


def _jpeg_taken_at(lat: float, lon: float) -> bytes:
    """A small JPEG whose EXIF says who owns the camera and where it was taken."""
    image = Image.new("RGB", (64, 48), "green")
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "Pat Doe"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (int(lat), int(lat % 1 * 60), round(lat * 3600 % 60, 2)),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (int(-lon), int(-lon % 1 * 60), round(-lon * 3600 % 60, 2)),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_a_photo_places_the_report_and_keeps_nothing_of_its_owner(app: App) -> None:
    """A photo with GPS and no address is placed where it was taken; staff see it redrawn, without EXIF."""
    client = app.test_client()
    token = csrf_in(await (await client.get("/report")).get_data(as_text=True))
    form = {**REPORT, "address": "", "csrf_token": token}
    photo = FileStorage(io.BytesIO(_jpeg_taken_at(42.9295, -78.8362)), "tree.jpg", content_type="image/jpeg")
    response = await client.post("/report", form=form, files={"photo": photo})
    assert response.status_code == 201, await response.get_data(as_text=True)
    ticket = (await response.get_data(as_text=True)).split('<strong id="ticket">')[1].split("<")[0]
    detail = await _incident(app, ticket)
    where = detail["incident"]["location"]
    assert abs(where["lat"] - 42.9295) < 1e-4
    assert abs(where["lon"] - -78.8362) < 1e-4
    url = detail["calls"][0]["media_url"]
    path = url[url.index("/photos/") :]
    assert (await client.get(path)).status_code in (302, 303, 401)  # not for the public
    kept = await (await as_role(app, Role.AGENT)).get(path)
    assert kept.status_code == 200
    assert kept.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await kept.get_data(as_text=False))) as image:
        assert dict(image.getexif()) == {}
        assert image.size == (64, 48)


async def test_what_is_no_photo_is_refused_in_words(app: App) -> None:
    """A file that is not an image comes back as the form with the reason, and nothing is filed."""
    client = app.test_client()
    token = csrf_in(await (await client.get("/report")).get_data(as_text=True))
    fake = FileStorage(io.BytesIO(b"#!/bin/sh\necho hi\n"), "tree.jpg", content_type="image/jpeg")
    response = await client.post("/report", form={**REPORT, "csrf_token": token}, files={"photo": fake})
    assert response.status_code == 422
    assert "not a photo Stormline can read" in await response.get_data(as_text=True)


async def test_open311_gives_a_listed_requests_photo_and_serves_it_to_anyone(app: App) -> None:
    """media_url opens the redrawn photo without signing in; once the request is unlisted it is gone."""
    client = app.test_client()
    token = csrf_in(await (await client.get("/report")).get_data(as_text=True))
    photo = FileStorage(io.BytesIO(_jpeg_taken_at(42.9295, -78.8362)), "tree.jpg", content_type="image/jpeg")
    form = {**REPORT, "csrf_token": token}
    response = await client.post("/report", form=form, files={"photo": photo})
    ticket = (await response.get_data(as_text=True)).split('<strong id="ticket">')[1].split("<")[0]
    (record,) = await (await client.get(f"/open311/v2/requests/{ticket}.json")).get_json()
    assert record["media_url"] == f"http://localhost/api/v1/public/tickets/{ticket}/photo.jpg"
    shown = await client.get(record["media_url"].removeprefix("http://localhost"))
    assert shown.status_code == 200
    assert shown.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await shown.get_data(as_text=False))) as image:
        assert dict(image.getexif()) == {}
    supervisor = await as_role(app, Role.SUPERVISOR)
    sensitive = {"category": "medical_referral", "priority": "P2", "reason": "oxygen at home"}
    assert (await supervisor.post(f"/api/v1/incidents/{ticket}/override", json=sensitive)).status_code == 200
    (record,) = await (await client.get(f"/open311/v2/requests/{ticket}.json")).get_json()
    assert record["media_url"] is None
    assert (await client.get(f"/api/v1/public/tickets/{ticket}/photo.jpg")).status_code == 404


async def test_a_photo_id_typed_into_the_form_goes_with_no_report(app: App) -> None:
    """Only a photo id this server handed out (and signed) is carried from the duplicate offer."""
    client = app.test_client()
    token = csrf_in(await (await client.get("/report")).get_data(as_text=True))
    forged = {**REPORT, "csrf_token": token, "new": "1", "photo_id": "A" * 22 + ".not-the-key"}
    response = await client.post("/report", form=forged)
    assert response.status_code == 201
    ticket = (await response.get_data(as_text=True)).split('<strong id="ticket">')[1].split("<")[0]
    detail = await _incident(app, ticket)
    assert detail["calls"][0]["media_url"] is None
    assert detail["incident"]["photo"] is None


async def test_a_resident_who_asks_to_be_called_joins_the_callback_queue_once(app: App) -> None:
    """Ticked "call me back": a web callback for the ticket, the place in the queue shown; sent twice, one."""
    status, page = await _post(app.test_client(), {**REPORT, "call_me": "yes"})
    assert status == 201
    ticket = page.split('<strong id="ticket">')[1].split("<")[0]
    assert "you are number 1 in the queue" in page
    agent = await as_role(app, Role.AGENT)
    queue = await (await agent.get("/api/v1/callbacks")).get_json()
    assert [(c["reason"], c["ticket"], c["e164"]) for c in queue["items"]] == [
        ("web", ticket, "+17165550142")
    ]
    status, _ = await _post(app.test_client(), {**REPORT, "call_me": "yes", "phone": "call me"})
    assert status == 201  # a number that is none files the report and asks no callback
    queue = await (await agent.get("/api/v1/callbacks")).get_json()
    assert queue["waiting"] == 1
