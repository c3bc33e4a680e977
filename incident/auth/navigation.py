"""The menu on every staff page: the consoles a person's role may open, read from the access table."""

from __future__ import annotations

from typing import NamedTuple

from incident.auth.policy import ACCESS
from incident.auth.roles import Role


class Link(NamedTuple):
    path: str
    label: str
    endpoint: str  # its entry in the access table decides who sees it


LINKS = (
    Link("/agent", "Calls", "console_pages.agent"),
    Link("/crew", "My jobs", "console_pages.crew"),
    Link("/supervisor", "Supervisor", "console_pages.supervisor"),
    Link("/coordinator", "Coordinator", "console_pages.coordinator"),
    Link("/locate", "Needs location", "console_pages.locate_page"),
    Link("/calldowns", "Call-downs", "registry_pages.calldowns_page"),
    Link("/registry", "Registry", "registry_pages.registry_page"),
    Link("/map", "Map", "map_pages.map_page"),
    Link("/storms", "Past storms", "console_pages.storms_page"),
    Link("/admin/people", "People and crews", "admin_pages.people_page"),
    Link("/admin/tokens", "API tokens", "admin_pages.tokens_page"),
)
_HOMES = {
    Role.AGENT: "/agent",
    Role.CREW: "/crew",
    Role.SUPERVISOR: "/supervisor",
    Role.COORDINATOR: "/coordinator",
    Role.ADMIN: "/admin/people",
}


def may_open(role: Role | None, endpoint: str) -> bool:
    roles = ACCESS[endpoint].roles
    return role is not None and roles is not None and role in roles


def menu(role: Role | None) -> list[Link]:
    return [link for link in LINKS if may_open(role, link.endpoint)]


def home(role: Role | None) -> str:
    """Where a person of this role starts: their console (machines' roles have none: the front page)."""
    return _HOMES.get(role, "/") if role is not None else "/"
