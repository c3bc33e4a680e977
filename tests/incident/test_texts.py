"""Text messages: the gateway's signed webhook, the what/where/confirm script, STATUS, STOP, texts out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

import msgspec
import pytest
from quart.testing.app import TestApp as App

from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.settings import Settings
from incident.store import Store
from incident.updates import tell_round
from tests.dispatch.receivers import SmsGateway
from tests.incident.helpers import ensure_crew
from tests.support import as_role

PUBLIC = "https://311.example.gov"
TOKEN = "gateway-auth-token"
RESIDENT = "+17165550142"
_sids = count(1)


@pytest.fixture
async def texting(settings: Settings, config: SurgeConfig) -> AsyncIterator[tuple[App, SmsGateway]]:
    with SmsGateway().running() as gateway:
        sms = msgspec.structs.replace(
            settings, sms_token=TOKEN, sms_url=gateway.url, sms_from="+17165550311", public_url=PUBLIC
        )
        async with create_app(sms, config).test_app() as app:
            yield app, gateway  # type: ignore[misc]


def _signed(params: dict[str, str]) -> str:
    payload = f"{PUBLIC}/api/v1/sms/inbound" + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()).decode()


async def _text(app: App, body: str, number: str = RESIDENT, sid: str | None = None) -> str:
    """Send a text as the gateway does; the reply's words ('' when Stormline says nothing)."""
    params = {"From": number, "To": "+17165550311", "Body": body, "MessageSid": sid or f"SM{next(_sids)}"}
    response = await app.test_client().post(
        "/api/v1/sms/inbound", form=params, headers={"X-Twilio-Signature": _signed(params)}
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    xml = await response.get_data(as_text=True)
    return xml.split("<Message>")[1].split("</Message>")[0] if "<Message>" in xml else ""


async def _incident(app: App, ticket: str) -> Any:
    supervisor = await as_role(app, Role.SUPERVISOR, name=f"reader-{next(_sids)}")
    return await (await supervisor.get(f"/api/v1/incidents/{ticket}")).get_json()


async def test_an_unsigned_text_is_refused(texting: tuple[App, SmsGateway]) -> None:
    """A post without the gateway's signature (or with a wrong one) is refused and files nothing."""
    app, _ = texting
    params = {"From": RESIDENT, "Body": "tree down on my street"}
    for signature in ("", "bm90IHRoZSBzaWduYXR1cmU="):
        response = await app.test_client().post(
            "/api/v1/sms/inbound", form=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 403


async def test_what_where_yes_files_a_request_and_status_answers(texting: tuple[App, SmsGateway]) -> None:
    """Three texts file a request with channel sms; STATUS answers it; a later text goes to it."""
    app, _ = texting
    assert "Where is it?" in await _text(app, "big tree limb down blocking the street")
    assert "Reply YES" in await _text(app, "Elmwood & Bidwell")
    filed = await _text(app, "yes")
    ticket = filed.split("Your ticket is ")[1].split(".")[0]
    detail = await _incident(app, ticket)
    (call,) = detail["calls"]
    assert (call["channel"], call["callback_e164"], call["address"]) == ("sms", RESIDENT, "Elmwood & Bidwell")
    assert "waiting for a crew" in await _text(app, f"STATUS {ticket}")
    assert await _text(app, "it is also on a car now") == f"Added to your request {ticket}."
    assert len((await _incident(app, ticket))["calls"]) == 2


async def test_a_retried_webhook_files_nothing_twice(texting: tuple[App, SmsGateway]) -> None:
    """The gateway sends the same text again (same MessageSid): one ticket, one call."""
    app, _ = texting
    await _text(app, "no heat at my house since last night", number="+17165550177")
    await _text(app, "22 Bidwell Pkwy", number="+17165550177")
    first = await _text(app, "YES", number="+17165550177", sid="SM-same")
    again = await _text(app, "YES", number="+17165550177", sid="SM-same")
    ticket = first.split("Your ticket is ")[1].split(".")[0]
    assert ticket in again
    assert len((await _incident(app, ticket))["calls"]) == 1


async def test_a_life_at_risk_is_filed_at_once_and_told_to_call_911(texting: tuple[App, SmsGateway]) -> None:
    """Words of a life at risk skip the script: filed, flagged, and answered "call 911 now"."""
    app, _ = texting
    reply = await _text(
        app, "tree fell on the house my father is trapped and not breathing", number="+17165550188"
    )
    assert reply.startswith("If anyone is in danger, call 911 now.")
    ticket = reply.rsplit(" ", 1)[1].rstrip(".")
    assert (await _incident(app, ticket))["incident"]["life_safety"] is True


async def test_spanish_and_stop_are_honoured(texting: tuple[App, SmsGateway]) -> None:
    """ESPAÑOL answers in Spanish; after STOP nothing is answered or sent, until START."""
    app, gateway = texting
    number = "+17165550199"
    assert "¿Cuál es el problema?" in await _text(app, "ESPAÑOL", number=number)
    assert "¿Dónde" in await _text(app, "una rama caída en la calle", number=number)
    await _text(app, "Elmwood & Bidwell", number=number)
    ticket = (await _text(app, "SI", number=number)).split("solicitud es ")[1].split(".")[0]
    assert "no recibirá más" in (await _text(app, "STOP", number=number)).lower()
    assert await _text(app, "hello?", number=number) == ""
    assert await _text(app, f"STATUS {ticket}", number=number) == ""
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)
    supervisor = await as_role(app, Role.SUPERVISOR)
    await ensure_crew(supervisor, "forestry-5")
    await supervisor.post(
        f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "forestry-5", "force": True}
    )
    assert await tell_round(store, PUBLIC) == 1  # queued, then dropped at sending: STOP holds for every text
    await asyncio.sleep(2)
    assert gateway.texts == []


async def test_a_resident_who_texted_hears_by_text(texting: tuple[App, SmsGateway]) -> None:
    """When the request is given to a crew, the gateway is asked to text the resident, with the link."""
    app, gateway = texting
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)
    await _text(app, "tree down on the sidewalk", number="+17165550166")
    await _text(app, "Elmwood & Bidwell", number="+17165550166")
    ticket = (await _text(app, "yes", number="+17165550166")).split("Your ticket is ")[1].split(".")[0]
    supervisor = await as_role(app, Role.SUPERVISOR)
    await ensure_crew(supervisor, "forestry-6")
    await supervisor.post(
        f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "forestry-6", "force": True}
    )
    assert await tell_round(store, PUBLIC) == 1
    for _ in range(100):
        if gateway.texts:
            break
        await asyncio.sleep(0.1)
    (sent,) = gateway.texts
    assert (sent["To"], sent["From"]) == ("+17165550166", "+17165550311")
    assert sent["Body"].startswith(
        f"Ticket {ticket}: Given to a crew. {PUBLIC}/track?ticket={ticket}&lang=en&k="
    )
