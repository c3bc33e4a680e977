"""Open311 GeoReport v2: JSON and XML read back by independent parsers, and the same intake as a call."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth import accounts
from incident.auth.roles import Role
from tests.support import as_role

V2 = "/open311/v2"
ELMWOOD = {"lat": "42.9242", "long": "-78.8770"}


def _xml_records(body: bytes, root: str, item: str) -> list[dict[str, Any]]:
    """An Open311 XML list as dicts (text values; nested lists as lists of dicts), read by lxml."""
    document = etree.fromstring(body)
    assert document.tag == root
    return [_element(child) for child in document if child.tag == item]


def _element(element: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        if len(child):
            out[child.tag] = [_element(grandchild) for grandchild in child]
        else:
            out[child.tag] = child.text or ""
    return out


def _as_text(value: Any) -> Any:
    """A JSON value as the XML carries it (text; nothing as empty)."""
    if isinstance(value, list):
        return [{k: _as_text(v) for k, v in item.items()} for item in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _both(client: Client, path: str, root: str, item: str) -> list[dict[str, Any]]:
    """GET a resource as JSON and as XML, check both carry the same records, and return the JSON."""
    as_json = await client.get(f"{path}.json")
    as_xml = await client.get(f"{path}.xml")
    assert as_json.status_code == as_xml.status_code == 200, await as_json.get_data(as_text=True)
    assert as_json.content_type.startswith("application/json")
    assert as_xml.content_type.startswith("text/xml")
    xml_body = await as_xml.get_data(as_text=False)
    assert xml_body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    records: list[dict[str, Any]] = json.loads(await as_json.get_data())
    assert [{k: _as_text(v) for k, v in r.items()} for r in records] == _xml_records(xml_body, root, item)
    return records


async def _app_client(app: App) -> Client:
    return await as_role(app, Role.OPEN311, name="buffalo-app")


async def _file(client: Client, fmt: str = "json", **form: str) -> Any:
    response = await client.post(f"{V2}/requests.{fmt}", form=form)
    assert response.status_code == 201, await response.get_data(as_text=True)
    if fmt == "xml":
        return _xml_records(await response.get_data(as_text=False), "service_requests", "request")[0]
    return json.loads(await response.get_data())[0]


async def test_services_list_the_configured_categories_in_both_formats(client: Client) -> None:
    """services.json and services.xml list the same services; 911's emergency category is not one."""
    services = await _both(client, f"{V2}/services", "services", "service")
    codes = [s["service_code"] for s in services]
    assert codes == ["debris", "utility", "shelter_transport", "medical_referral", "welfare_check", "general"]
    debris = services[0]
    assert debris["type"] == "realtime"
    assert debris["metadata"] is True
    assert debris["group"] == "Storm services"


async def test_a_service_definition_carries_the_911_screen_and_the_categorys_questions(
    client: Client,
) -> None:
    """A service's attributes are the triage questions, with yes/no as a single-value list; XML matches."""
    response = await client.get(f"{V2}/services/debris.json")
    definition = json.loads(await response.get_data())
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert attributes["call_911"]["variable"] is False
    assert "call 911" in attributes["call_911"]["description"]
    assert {"anyone_hurt", "trapped", "blocking_street", "wire_down"} <= attributes.keys()
    assert attributes["wire_down"]["datatype"] == "singlevaluelist"
    assert [v["key"] for v in attributes["wire_down"]["values"]] == ["yes", "no"]
    as_xml = etree.fromstring(await (await client.get(f"{V2}/services/debris.xml")).get_data())
    assert as_xml.tag == "service_definition"
    xml_codes = as_xml.xpath("attributes/attribute/code/text()")
    assert xml_codes == [a["code"] for a in definition["attributes"]]
    values = as_xml.xpath("attributes/attribute[code='wire_down']/values/value/key/text()")
    assert values == ["yes", "no"]


async def test_a_request_filed_through_open311_is_a_call_like_any_other(app: App, client: Client) -> None:
    """A form POST with an api_key opens an incident through intake, answers and all, readable back."""
    app_client = await _app_client(app)
    filed = await _file(
        app_client,
        service_code="debris",
        description="Big limb down across the sidewalk",
        first_name="Pat",
        last_name="Doe",
        phone="716-555-0142",
        email="pat@example.org",
        media_url="https://photos.example.org/limb.jpg",
        **{"attribute[blocking_street]": "no", "attribute[wire_down]": "true"},
        **ELMWOOD,
    )
    ticket = filed["service_request_id"]
    assert "token" not in filed  # the id is known at once: the spec gives one or the other
    assert filed["service_notice"] is None
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    incident, call = detail["incident"], detail["calls"][0]
    assert incident["category"] == "debris"
    assert incident["needs"] == ["line_clearance"]
    assert incident["location"] == {"lat": 42.9242, "lon": -78.877}
    assert call["channel"] == "open311"
    assert call["caller_name"] == "Pat Doe"
    assert call["callback_e164"] == "+17165550142"
    assert call["email"] == "pat@example.org"
    assert call["media_url"] == "https://photos.example.org/limb.jpg"
    # Read back in both formats, the public view: status in words, no caller, no narrative.
    [record] = await _both(client, f"{V2}/requests/{ticket}", "service_requests", "request")
    assert record["status"] == "open"
    assert record["service_code"] == "debris"
    assert record["lat"] == 42.924  # about 100 m: where, not whose door
    assert record["long"] == -78.877
    assert record["description"] is None
    assert "waiting for a crew" in record["status_notes"]
    assert record["media_url"] == "https://photos.example.org/limb.jpg"  # the app's own photo, as given
    text = json.dumps(record)
    assert "Pat" not in text
    assert "Big limb" not in text
    assert "555" not in text
    tokens = json.loads(await (await client.get(f"{V2}/tokens/{call['id']}.json")).get_data())
    assert tokens == [{"service_request_id": ticket, "token": call["id"]}]


async def test_a_second_report_nearby_is_counted_with_the_first(app: App, client: Client) -> None:
    """Open311 requests go through duplicate detection: the second one nearby is told it is counted."""
    app_client = await _app_client(app)
    await _file(app_client, service_code="debris", description="tree down", **ELMWOOD)
    second = await _file(app_client, "xml", service_code="debris", description="tree across road", **ELMWOOD)
    assert "reported a problem like this nearby" in second["service_notice"]


async def test_a_report_that_sounds_like_danger_is_told_to_call_911(app: App, client: Client) -> None:
    """Triage flags life safety from the description or the screen: the answer says to call 911 now."""
    app_client = await _app_client(app)
    by_words = await _file(
        app_client,
        service_code="debris",
        description="a tree fell on the car and the driver is trapped and not moving",
        **ELMWOOD,
    )
    assert by_words["service_notice"].startswith("CALL 911 NOW")
    by_answer = await _file(
        app_client,
        service_code="utility",
        description="power out",
        **{"attribute[anyone_hurt]": "yes"},
        **ELMWOOD,
    )
    assert by_answer["service_notice"].startswith("CALL 911 NOW")
    detail = await (await client.get(f"/api/v1/incidents/{by_words['service_request_id']}")).get_json()
    assert detail["incident"]["life_safety"] is True
    listed = json.loads(await (await client.get(f"{V2}/requests.json")).get_data())
    assert by_words["service_request_id"] not in [r["service_request_id"] for r in listed]  # not public


async def test_requests_are_placed_by_address_string_or_address_id(app: App, client: Client) -> None:
    """An address string is geocoded; an unknown one still logs the request, flagged for a pin."""
    app_client = await _app_client(app)
    corner = await _file(app_client, service_code="debris", address_string="Bailey & Kensington")
    [record] = await _both(
        client, f"{V2}/requests/{corner['service_request_id']}", "service_requests", "request"
    )
    assert record["address_id"] == "BAILEY AVE & KENSINGTON AVE"
    assert record["lat"] is not None
    by_id = await _file(app_client, service_code="general", address_id=record["address_id"])
    [again] = await _both(
        client, f"{V2}/requests/{by_id['service_request_id']}", "service_requests", "request"
    )
    assert (again["lat"], again["long"]) == (record["lat"], record["long"])
    lost = await _file(app_client, service_code="debris", address_string="behind the old mill somewhere")
    assert "could not find this address" in lost["service_notice"]
    detail = await (await client.get(f"/api/v1/incidents/{lost['service_request_id']}")).get_json()
    assert detail["incident"]["needs_location"] is True


async def test_bad_requests_get_the_specs_error_list_naming_the_field(app: App) -> None:
    """Every refusal is [{code, description}] (or <errors>) naming what is wrong; nothing is a 500."""
    app_client = await _app_client(app)
    cases = [
        ({"lat": "42.9"}, 400, "service_code: required"),
        ({"service_code": "emergency", **ELMWOOD}, 404, "service_code: no service 'emergency'"),
        ({"service_code": "debris"}, 400, "lat and long, address_string or address_id"),
        ({"service_code": "debris", "lat": "42.9"}, 400, "lat and long: give both"),
        ({"service_code": "debris", "lat": "95", "long": "-78.8"}, 400, "lat and long:"),
        ({"service_code": "debris", "lat": "north", "long": "-78.8"}, 400, "lat and long: decimal degrees"),
        (
            {"service_code": "shelter_transport", "attribute[party_size]": "inf", **ELMWOOD},
            400,
            "attribute[party",
        ),
        ({"service_code": "debris", "account_id": "x" * 101, **ELMWOOD}, 400, "account_id: longer"),
        ({"service_code": "debris", "attribute[wire_down]": "maybe", **ELMWOOD}, 400, "attribute[wire_down]"),
        ({"service_code": "debris", "address_id": "NOWHERE ST & NO AVE"}, 400, "address_id: no address"),
        ({"service_code": "debris", "email": "not-an-email", **ELMWOOD}, 400, "email:"),
        ({"service_code": "debris", "jurisdiction_id": "elsewhere.gov", **ELMWOOD}, 404, "jurisdiction_id"),
    ]
    for form, status, words in cases:
        response = await app_client.post(f"{V2}/requests.json", form=form)
        body = json.loads(await response.get_data())
        assert response.status_code == status, (form, body)
        assert body[0]["code"] == status, (form, body)
        assert words in body[0]["description"], (form, body)
    # Errors the app does not cause itself are in the spec's format too (here, an unknown format).
    unknown = await app_client.get(f"{V2}/services.csv")
    assert unknown.status_code == 404
    assert json.loads(await unknown.get_data())[0]["code"] == 404
    # An attribute the service does not ask (an app's cached definition) is no reason to lose the report.
    stale = await app_client.post(
        f"{V2}/requests.json", form={"service_code": "debris", "attribute[age]": "9", **ELMWOOD}
    )
    assert stale.status_code == 201
    as_xml = await app_client.post(f"{V2}/requests.xml", form={"service_code": "debris"})
    error = etree.fromstring(await as_xml.get_data(as_text=False))
    assert as_xml.status_code == 400
    assert error.tag == "errors"
    assert error.findtext("error/code") == "400"


async def test_filing_needs_an_open311_api_key_given_as_a_parameter(app: App, client: Client) -> None:
    """No key is 401 and a staff token 403, in the spec's format; the key may come as `api_key`."""
    form = {"service_code": "debris", "description": "branch down", **ELMWOOD}
    anonymous = await app.test_client().post(f"{V2}/requests.xml", form=form)
    assert anonymous.status_code == 403
    refusal = etree.fromstring(await anonymous.get_data())
    assert str(refusal.findtext("error/description")).startswith("api_key")
    staff = await client.post(f"{V2}/requests.json", form=form)
    assert staff.status_code == 403
    assert json.loads(await staff.get_data())[0]["code"] == 403
    store = app.app.extensions["stormline.store"]
    _, key = await accounts.create_token(store, "city-app", Role.OPEN311, crew_id=None, actor="test")
    keyed = await app.test_client().post(f"{V2}/requests.json", form={**form, "api_key": key})
    assert keyed.status_code == 201, await keyed.get_data(as_text=True)
    wrong = await app.test_client().post(f"{V2}/requests.json", form={**form, "api_key": "not-a-key"})
    assert wrong.status_code == 403
    in_query = await app.test_client().post(f"{V2}/requests.json?api_key={key}", form=form)
    assert in_query.status_code == 403  # a key in the query string would sit in every log
    reading = await app.test_client().get(f"{V2}/requests.json?api_key=stale")
    assert reading.status_code == 200  # reading needs no key, and a stale one is no reason to refuse


async def test_requests_filter_by_ids_service_status_and_dates(app: App, client: Client) -> None:
    """GET requests keeps the spec's filters: ids (which win), service codes, open/closed, a date window."""
    app_client = await _app_client(app)
    debris = (await _file(app_client, service_code="debris", description="limb", **ELMWOOD))[
        "service_request_id"
    ]
    far = {"lat": "42.95", "long": "-78.82"}
    utility = (await _file(app_client, service_code="utility", description="pole", **far))[
        "service_request_id"
    ]
    general = (await _file(app_client, service_code="general", description="info", **far))[
        "service_request_id"
    ]
    await client.post(f"/api/v1/incidents/{general}/transitions", json={"to": "resolved"})

    async def ids(query: str) -> list[str]:
        records = await _both(client, f"{V2}/requests", "service_requests", "request") if not query else None
        response = await client.get(f"{V2}/requests.json?{query}")
        assert response.status_code == 200, await response.get_data(as_text=True)
        found = [r["service_request_id"] for r in json.loads(await response.get_data())]
        if records is not None:
            assert [r["service_request_id"] for r in records] == found
        return found

    assert await ids("") == [general, utility, debris]  # newest first
    assert await ids("service_code=utility,debris") == [utility, debris]
    assert await ids("status=closed") == [general]
    assert await ids("status=open") == [utility, debris]
    assert await ids(f"service_request_id={debris},{general}&status=open") == [debris, general]
    assert await ids("start_date=2000-01-01T00:00:00Z&end_date=2000-02-01T00:00:00Z") == []
    assert await ids("start_date=2000-01-01T00:00:00Z") == []  # 90 days from the start at most
    assert await ids("service_code=utility&service_code=general") == [general, utility]
    for query, field in (
        ("status=pending", "status"),
        ("start_date=yesterday", "start_date"),
        ("end_date=2026-01-01T00:00:00", "end_date"),
        ("end_date=0001-01-01T00:00:00Z", "end_date"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "start_date and end_date"),
        ("service_code=potholes", "service_code"),
        ("jurisdiction_id=nyc.gov", "jurisdiction_id"),
    ):
        response = await client.get(f"{V2}/requests.json?{query}")
        assert 400 <= response.status_code < 500
        assert json.loads(await response.get_data())[0]["description"].startswith(field)


async def test_sensitive_requests_are_never_listed_and_show_only_their_status(
    app: App, client: Client
) -> None:
    """A medical need filed by an app is not in the list; looked up by id it says only where it stands."""
    app_client = await _app_client(app)
    filed = await _file(
        app_client,
        service_code="medical_referral",
        description="out of insulin, at 12 Oak St",
        **{"attribute[medication_days_left]": "1"},
        **ELMWOOD,
    )
    ticket = filed["service_request_id"]
    listed = json.loads(await (await client.get(f"{V2}/requests.json")).get_data())
    assert ticket not in [r["service_request_id"] for r in listed]
    [record] = await _both(client, f"{V2}/requests/{ticket}", "service_requests", "request")
    assert record["service_name"] == "Service request"
    assert record["service_code"] is None
    assert record["lat"] is None
    assert record["address"] is None
    assert record["description"] is None
    assert "insulin" not in json.dumps(record)
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert detail["calls"][0]["narrative"] == "out of insulin, at 12 Oak St"  # kept for staff
    missing = await client.get(f"{V2}/requests/2026-999999.xml")
    assert missing.status_code == 404
    assert etree.fromstring(await missing.get_data()).tag == "errors"


async def test_discovery_points_apps_at_the_v2_endpoint(client: Client) -> None:
    """The service discovery document names GeoReport v2, its URL and both formats, in JSON and XML."""
    document = json.loads(await (await client.get("/open311/discovery.json")).get_data())
    [endpoint] = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    as_xml = etree.fromstring(await (await client.get("/open311/discovery.xml")).get_data())
    assert as_xml.xpath("endpoints/endpoint/formats/format/text()") == ["text/xml", "application/json"]


async def test_a_retried_request_with_the_same_idempotency_key_files_once(app: App) -> None:
    """An app retrying gets the same request id; the same key on another body is refused (a 400)."""
    app_client = await _app_client(app)
    form = {"service_code": "debris", "description": "limb on the wires", **ELMWOOD}
    headers = {"Idempotency-Key": "app-retry-1"}
    first = await app_client.post(f"{V2}/requests.json", form=form, headers=headers)
    again = await app_client.post(f"{V2}/requests.json", form=form, headers=headers)
    assert first.status_code == again.status_code == 201
    assert json.loads(await first.get_data()) == json.loads(await again.get_data())
    other = await app_client.post(f"{V2}/requests.json", form={**form, "description": "x"}, headers=headers)
    assert other.status_code == 400  # the intake door's 422, as Open311 apps are told every bad request
    assert json.loads(await other.get_data())[0]["description"].startswith("Idempotency-Key")
    bad = await app_client.post(f"{V2}/requests.json", form=form, headers={"Idempotency-Key": "é" * 3})
    assert bad.status_code == 400


async def test_characters_xml_forbids_are_taken_out_of_an_open311_form(app: App, client: Client) -> None:
    """A description and an address with control characters are stored without them; XML stays XML."""
    app_client = await _app_client(app)
    filed = await _file(
        app_client,
        service_code="debris",
        description="Limb\u0001 down\u000b on the walk",
        address_string="Elmwood Ave & Forest Ave\u0002",
        **ELMWOOD,
    )
    detail = await (await client.get(f"/api/v1/incidents/{filed['service_request_id']}")).get_json()
    assert detail["calls"][0]["narrative"] == "Limb down on the walk"
    listing = await app_client.get(f"{V2}/requests/{filed['service_request_id']}.xml")
    assert listing.status_code == 200
    _xml_records(await listing.get_data(as_text=False), "service_requests", "request")  # parses
