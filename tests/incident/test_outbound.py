"""Outbound addresses: agencies' webhooks reach the public internet only, unless a city allows more."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
import pytest
from quart.testing.app import TestApp as App

from incident.auth.roles import Role
from incident.config import ConfigError, decode_config
from incident.outbound import GuardedTransport, Policy, Refused
from tests.dispatch.receivers import Webhook
from tests.support import CONFIG, as_role

_REFUSED = [
    "http://127.0.0.2/hook",
    "http://localhost:8311/hook",
    "http://intake.localhost/",
    "http://[::1]/hook",
    "http://0x7f000002/",
    "http://2130706434/",
    "http://127.2/",
    "http://0177.0.0.2/",
    "http://[::ffff:127.0.0.2]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.0.0.5/",
    "http://192.168.1.1/",
    "http://0.0.0.0/",
]


@pytest.mark.parametrize("url", _REFUSED)
async def test_a_coordinator_cannot_point_a_webhook_inside(app: App, url: str) -> None:
    """Loopback, private, link-local, unspecified and local names are refused with a 422 on the field."""
    coordinator = await as_role(app, Role.COORDINATOR)
    response = await coordinator.patch(
        "/api/v1/agencies/svc-211", json={"method": "webhook", "webhook_url": url}
    )
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["field"] == "webhook_url"


async def test_an_import_with_an_inside_webhook_is_refused_whole(app: App) -> None:
    """POST /api/v1/agencies/import refuses a package with such a webhook, and stores none of it."""
    admin = await as_role(app, Role.COORDINATOR)
    service = {
        "id": "svc-new",
        "name": "Intake",
        "organization": {"id": "org-new", "name": "Org"},
        "x_stormline": {"method": "webhook", "webhook_url": "http://169.254.169.254/"},
    }
    response = await admin.post("/api/v1/agencies/import", json={"services": [service]})
    assert response.status_code == 422
    assert "svc-new" in (await response.get_json())["errors"][0]["detail"]
    assert (await admin.get("/api/v1/agencies/svc-new")).status_code == 404


async def test_a_public_address_and_an_allowed_network_are_accepted(app: App) -> None:
    """A public URL is saved; so is one on a network the deployment allows (here 127.0.0.1)."""
    coordinator = await as_role(app, Role.COORDINATOR)
    for url in ("https://intake.example.org/referrals", "http://127.0.0.1:9/hook"):
        response = await coordinator.patch(
            "/api/v1/agencies/svc-211", json={"method": "webhook", "webhook_url": url}
        )
        assert response.status_code == 200, await response.get_json()


def test_the_policy_without_an_allow_list_refuses_loopback() -> None:
    """With no allow list, even 127.0.0.1 is refused; a CIDR or a host name in the list allows it."""
    with pytest.raises(Refused):
        Policy().check_url("http://127.0.0.1/")
    Policy.allowing(["127.0.0.0/8"]).check_url("http://127.0.0.1/")
    Policy.allowing(["intake.county.internal"]).check_url("http://intake.county.internal/")
    with pytest.raises(Refused):
        Policy.allowing(["intake.county.internal"]).check_url("http://other.county.internal/")


async def test_a_name_that_resolves_inside_is_refused_when_connecting() -> None:
    """The check is on the address connected to, after DNS: this machine's own name is refused."""
    name = socket.gethostname()
    resolved = await asyncio.get_running_loop().getaddrinfo(name, 80)
    assert not ipaddress.ip_address(resolved[0][4][0]).is_global, (
        "the test needs a host name that resolves inside"
    )
    with Webhook().running() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
        async with httpx.AsyncClient(transport=GuardedTransport(Policy())) as client:
            with pytest.raises(httpx.ConnectError, match="not a public address"):
                await client.post(f"http://{name}:{port}/hook", content=b"{}")
        assert receiver.deliveries == []


def test_the_allow_list_is_checked_at_start_up() -> None:
    """An entry that is neither a network nor a host name stops start-up with its key and line."""
    text = CONFIG.read_text(encoding="utf-8").replace("  allow_private: []", "  allow_private: [not a host!]")
    with pytest.raises(ConfigError, match=r"referrals.allow_private\[0\]"):
        decode_config(text)
