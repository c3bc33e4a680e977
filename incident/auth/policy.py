"""Which roles may use which route: the one declarative table.

Every endpoint the app serves must appear here; the app refuses to start otherwise (and a test
walks the whole table against every role). `PUBLIC` routes need no sign-in and must never return
personal data or free text; `page=True` marks browser pages, which send a person to the sign-in page
rather than answering 401.
"""

from __future__ import annotations

from dataclasses import dataclass

from incident.auth.roles import Role


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role] | None  # None: anyone, signed in or not
    page: bool = False
    link: bool = False  # no sign-in, but the path carries a signed, expiring token for one record
    api_key: bool = False  # Open311: the token may come as the `api_key` parameter; errors in its format

    @property
    def public(self) -> bool:
        return self.roles is None


def allow(*roles: Role, page: bool = False) -> Rule:
    return Rule(frozenset(roles), page)


PUBLIC = Rule(None)
PUBLIC_PAGE = Rule(None, page=True)
LINK = Rule(None, link=True)  # an agency's link to one referral: the token in the path is the key
LINK_PAGE = Rule(None, page=True, link=True)
SIGNED_IN = Rule(frozenset(Role))
OPEN311_READ = Rule(None, api_key=True)  # anyone: the public view of requests
OPEN311_FILE = Rule(frozenset({Role.OPEN311}), api_key=True)  # an app holding an api_key

A, CR, CO, S, AD = Role.AGENT, Role.CREW, Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN

ACCESS: dict[str, Rule] = {
    # calls and incidents
    "api.post_call": allow(A, S),
    "api.get_incident": allow(A, CR, CO, S),
    "api.list_incidents": allow(A, CR, CO, S),
    "api.post_transition": allow(A, CR, CO, S),
    "api.get_history": allow(A, CO, S),
    "api.post_location": allow(A, CO, S),
    "api.post_triage": allow(A, CO, S),
    "api.post_override": allow(A, S),
    "api.post_handoff_step": allow(A, S),
    "api.post_handoff_release": allow(S),
    "api.post_psap_status": allow(Role.PSAP),
    "api.post_psap_transfer": allow(Role.PSAP),
    "api.get_alarms": allow(A, S),
    "casework.search": allow(A, CO, S),
    "casework.post_note": allow(A, CO, S),
    "casework.list_storms": allow(S),
    "casework.get_worklist": allow(CO, S),
    # partner agencies' CAP feed (no caller's words, address, name or number; the place only roughly)
    "partners.post_sharing": allow(S),
    "partners.cap_feed": allow(Role.AGENCY, CO, S),
    "partners.cap_alert": allow(Role.AGENCY, CO, S),
    # exports for analysts: no personal data, but every incident's point
    "exports.incidents_geojson": allow(CO, S, AD),
    "exports.incidents_csv": allow(CO, S, AD),
    # crews, assignments, routes, street-segment jobs, duplicates
    "dispatch.list_crews": allow(A, CR, CO, S, AD),
    "dispatch.post_crew": allow(S, AD),
    "dispatch.get_crew": allow(A, CR, CO, S),
    "dispatch.patch_crew": allow(S, AD),
    "dispatch.post_position": allow(CR),
    "dispatch.get_route": allow(CR, CO, S),
    "dispatch.get_feed": allow(CR),
    "dispatch.post_feed_ack": allow(CR),
    "dispatch.post_mark": allow(CR, S),
    "dispatch.get_recommendations": allow(CO, S),
    "dispatch.post_assignment": allow(S),
    "dispatch.post_unassignment": allow(S),
    "dispatch.post_bulk_assignments": allow(S),
    "dispatch.post_plan": allow(S),
    "dispatch.list_jobs": allow(A, CR, CO, S),
    "dispatch.post_job": allow(S),
    "dispatch.get_job_suggestions": allow(S),
    "dispatch.get_job": allow(A, CR, CO, S),
    "dispatch.post_job_dissolve": allow(S),
    "dispatch.post_duplicates": allow(A, S),
    # warming stations and rides
    "shelter.list_stations": allow(A, CR, CO, S),
    "shelter.get_nearest_station": allow(A, CR, CO, S),
    "shelter.post_station_open": allow(CO, S),
    "shelter.patch_station": allow(CO, S),
    "shelter.post_station_count": allow(CO, S),
    "shelter.post_station_check_in": allow(CO, S),
    "shelter.post_station_check_out": allow(CO, S),
    "shelter.post_station_close": allow(CO, S),
    "shelter.post_transport_request": allow(A, CO, S),
    "shelter.list_transport_requests": allow(A, CR, CO, S),
    "shelter.get_transport_request": allow(A, CR, CO, S),
    "shelter.post_transport_move": allow(CR, CO, S),
    "shelter.post_run": allow(CO, S),
    "shelter.post_runs_auto": allow(CO, S),
    "shelter.list_runs": allow(CR, CO, S),
    "shelter.get_run": allow(CR, CO, S),
    # agencies and referrals
    "referral.list_agencies": allow(A, CO, S),
    "referral.get_agency": allow(A, CO, S),
    "referral.patch_agency": allow(CO, S),
    "referral.post_agencies_import": allow(CO, S, AD),
    "referral.post_referral": allow(A, CO, S),
    "referral.get_suggested_agencies": allow(A, CO, S),
    "referral.list_referrals": allow(CO, S),
    "referral.get_referral": allow(A, CO, S),
    "referral.post_referral_status": allow(CO, S),
    "referral.get_link_json": LINK,
    "referral.post_link_json": LINK,
    "referral.referral_page": LINK_PAGE,
    # the live map and its feed
    "maps.map_page": allow(A, CO, S, page=True),
    "consoles.agent": allow(A, S, page=True),
    "consoles.crew": allow(CR, page=True),
    "consoles.supervisor": allow(S, page=True),
    "consoles.coordinator": allow(CO, S, page=True),
    "consoles.incident_page": allow(A, CO, S, page=True),
    "consoles.search_page": allow(A, CO, S, page=True),
    "consoles.locate_page": allow(A, CO, S, page=True),
    "consoles.storms_page": allow(S, page=True),
    "maps.map_incidents": allow(A, CO, S),
    "maps.map_base": PUBLIC,  # public geodata only: the city, its districts, street blocks
    "public_pages.track": PUBLIC_PAGE,
    "public_pages.stations_page": PUBLIC_PAGE,
    "maps.vendor": PUBLIC,
    "live.stream": allow(A, CO, S),
    # geography for the consoles
    "geo.suggest": allow(A, CR, CO, S),
    "geo.geocode": allow(A, CR, CO, S),
    "geo.reverse": allow(A, CR, CO, S),
    # city aliases learnt from agents' pins: read by agents, set and removed by supervisors and admins
    "geo.list_aliases": allow(A, S, AD),
    "geo.list_pins": allow(S, AD),
    "geo.put_alias": allow(S, AD),
    "geo.delete_alias": allow(S, AD),
    "geo_pages.aliases_page": allow(S, AD, page=True),
    # who am I, and the audit trail
    "api.get_me": SIGNED_IN,
    "api.get_mode": SIGNED_IN,
    "api.post_mode": allow(S),
    "api.post_review": allow(S),
    "api.get_surge": allow(S),
    "api.get_queues": allow(CO, S),
    "reports.report_json": allow(S),
    "reports.report_csv": allow(S),
    "reports.report_page": allow(S, page=True),
    "public.get_status": PUBLIC,
    "api.get_audit": allow(S, AD),
    # residents
    "public.get_ticket": PUBLIC,
    "public.get_stations": PUBLIC,
    # Open311 GeoReport v2 (residents' apps)
    "open311.discovery": OPEN311_READ,
    "open311.services": OPEN311_READ,
    "open311.service_definition": OPEN311_READ,
    "open311.get_requests": OPEN311_READ,
    "open311.get_request": OPEN311_READ,
    "open311.get_token": OPEN311_READ,
    "open311.post_request": OPEN311_FILE,
    # sign-in
    "login.login_page": PUBLIC_PAGE,
    "login.login": PUBLIC_PAGE,
    "login.logout": Rule(frozenset(Role), page=True),
    # administration
    "admin.tokens_page": allow(AD, page=True),
    "admin.create_token": allow(AD, page=True),
    "admin.revoke_token": allow(AD, page=True),
    "admin.people_page": allow(AD, page=True),
    "admin.create_person": allow(AD, page=True),
    "admin.change_person": allow(AD, page=True),
    # plumbing
    "pages.index": PUBLIC_PAGE,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "openapi": PUBLIC,
    "static": PUBLIC,
}
