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
    signed: bool = False  # no sign-in and no cookie: the sender signs each request, the view checks it

    @property
    def public(self) -> bool:
        return self.roles is None


def allow(*roles: Role, page: bool = False) -> Rule:
    return Rule(frozenset(roles), page)


PUBLIC = Rule(None)
PUBLIC_PAGE = Rule(None, page=True)
SIGNED = Rule(None, signed=True)  # a gateway's webhook (SMS): its signature is checked by the route
LINK = Rule(None, link=True)  # an agency's link to one referral: the token in the path is the key
LINK_PAGE = Rule(None, page=True, link=True)
SIGNED_IN = Rule(frozenset(Role))
OPEN311_READ = Rule(None, api_key=True)  # anyone: the public view of requests
OPEN311_FILE = Rule(frozenset({Role.OPEN311}), api_key=True)  # an app holding an api_key

A, CR, CO, S, AD = Role.AGENT, Role.CREW, Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN

ACCESS: dict[str, Rule] = {
    # calls and incidents
    "incidents_api.post_call": allow(A, S),
    "incidents_api.get_incident": allow(A, CR, CO, S),
    "incidents_api.list_incidents": allow(A, CR, CO, S),
    "incidents_api.post_transition": allow(A, CR, CO, S),
    "incidents_api.get_history": allow(A, CO, S),
    "incidents_api.post_location": allow(A, CO, S),
    "incidents_api.post_triage": allow(A, CO, S),
    "incidents_api.post_override": allow(A, S),
    "incidents_api.post_handoff_step": allow(A, S),
    "incidents_api.post_handoff_release": allow(S),
    "incidents_api.post_psap_status": allow(Role.PSAP),
    "incidents_api.post_psap_transfer": allow(Role.PSAP),
    "incidents_api.get_alarms": allow(A, S),
    # the registry of residents who need help: kept by coordinators and supervisors; agents see what a
    # call needs (a match) and work call-downs
    "registry_api.list_residents": allow(CO, S),
    "registry_api.post_resident": allow(CO, S),
    "registry_api.match_resident": allow(A, CO, S),
    "registry_api.import_residents": allow(CO, S),
    "registry_api.get_resident": allow(CO, S),
    "registry_api.patch_resident": allow(CO, S),
    "registry_api.delete_resident": allow(CO, S),
    "registry_api.post_calldown": allow(CO, S),
    "registry_api.list_calldowns": allow(A, CO, S),
    "registry_api.get_calldown": allow(A, CO, S),
    "registry_api.calldown_map": allow(A, CO, S),
    "registry_api.take_next_resident": allow(A, CO, S),
    "registry_api.post_attempt": allow(A, CO, S),
    "registry_api.close_calldown": allow(CO, S),
    "registry_pages.registry_page": allow(CO, S, page=True),
    "registry_pages.calldowns_page": allow(A, CO, S, page=True),
    # callbacks: agents work the queue; the phone system (CTI) tells of calls and gets the screen pop
    "callbacks_api.post_callback": allow(A, S, Role.TELEPHONY),
    "callbacks_api.list_callbacks": allow(A, S),
    "callbacks_api.take_next_callback": allow(A, S),
    "callbacks_api.post_callback_attempt": allow(A, S),
    "callbacks_api.cancel_callback": allow(A, S),
    "callbacks_api.post_call_event": allow(Role.TELEPHONY),
    # drills: the supervisor runs them
    "exercise_api.start_exercise": allow(S),
    "exercise_api.stop_exercise": allow(S),
    "exercise_api.list_exercises": allow(S),
    "exercise_api.get_exercise": allow(S),
    "exercise_api.purge_exercise": allow(S),
    "casework_api.search": allow(A, CO, S),
    "casework_api.post_note": allow(A, CO, S),
    "casework_api.list_storms": allow(S),
    "casework_api.get_worklist": allow(CO, S),
    # partner agencies' CAP feed (no caller's words, address, name or number; the place only roughly)
    "partners_api.post_sharing": allow(S),
    "partners_api.cap_feed": allow(Role.AGENCY, CO, S),
    "partners_api.cap_alert": allow(Role.AGENCY, CO, S),
    # exports for analysts: no personal data, but every incident's point
    "exports_api.incidents_geojson": allow(CO, S, AD),
    "exports_api.incidents_csv": allow(CO, S, AD),
    # crews, assignments, routes, street-segment jobs, duplicates
    "crews_api.list_crews": allow(A, CR, CO, S, AD),
    "crews_api.post_crew": allow(S, AD),
    "crews_api.get_crew": allow(A, CR, CO, S),
    "crews_api.patch_crew": allow(S, AD),
    "crews_api.post_position": allow(CR),
    "crews_api.get_route": allow(CR, CO, S),
    "crews_api.get_feed": allow(CR),
    "crews_api.post_feed_ack": allow(CR),
    "crews_api.post_mark": allow(CR, S),
    "crews_api.get_recommendations": allow(CO, S),
    "crews_api.post_assignment": allow(S),
    "crews_api.post_unassignment": allow(S),
    "crews_api.post_bulk_assignments": allow(S),
    "crews_api.post_plan": allow(S),
    "crews_api.list_jobs": allow(A, CR, CO, S),
    "crews_api.post_job": allow(S),
    "crews_api.get_job_suggestions": allow(S),
    "crews_api.get_job": allow(A, CR, CO, S),
    "crews_api.post_job_dissolve": allow(S),
    "crews_api.post_duplicates": allow(A, S),
    # warming stations and rides
    "shelter_api.list_stations": allow(A, CR, CO, S),
    "shelter_api.get_nearest_station": allow(A, CR, CO, S),
    "shelter_api.post_station_open": allow(CO, S),
    "shelter_api.patch_station": allow(CO, S),
    "shelter_api.post_station_count": allow(CO, S),
    "shelter_api.post_station_check_in": allow(CO, S),
    "shelter_api.post_station_check_out": allow(CO, S),
    "shelter_api.post_station_close": allow(CO, S),
    "shelter_api.post_transport_request": allow(A, CO, S),
    "shelter_api.list_transport_requests": allow(A, CR, CO, S),
    "shelter_api.get_transport_request": allow(A, CR, CO, S),
    "shelter_api.post_transport_move": allow(CR, CO, S),
    "shelter_api.post_run": allow(CO, S),
    "shelter_api.post_runs_auto": allow(CO, S),
    "shelter_api.list_runs": allow(CR, CO, S),
    "shelter_api.get_run": allow(CR, CO, S),
    # agencies and referrals
    "referral_api.list_agencies": allow(A, CO, S),
    "referral_api.get_agency": allow(A, CO, S),
    "referral_api.patch_agency": allow(CO, S),
    "referral_api.post_agencies_import": allow(CO, S, AD),
    "referral_api.post_referral": allow(A, CO, S),
    "referral_api.get_suggested_agencies": allow(A, CO, S),
    "referral_api.list_referrals": allow(CO, S),
    "referral_api.get_referral": allow(A, CO, S),
    "referral_api.post_referral_status": allow(CO, S),
    "referral_api.get_link_json": LINK,
    "referral_api.post_link_json": LINK,
    "referral_pages.referral_page": LINK_PAGE,
    # the live map and its feed
    "map_pages.map_page": allow(A, CO, S, page=True),
    "console_pages.agent": allow(A, S, page=True),
    "console_pages.crew": allow(CR, page=True),
    "console_pages.supervisor": allow(S, page=True),
    "console_pages.coordinator": allow(CO, S, page=True),
    "console_pages.incident_page": allow(A, CO, S, page=True),
    "console_pages.search_page": allow(A, CO, S, page=True),
    "console_pages.locate_page": allow(A, CO, S, page=True),
    "console_pages.storms_page": allow(S, page=True),
    "map_api.map_incidents": allow(A, CO, S),
    "map_api.map_base": PUBLIC,  # public geodata only: the city, its districts, street blocks
    "public_pages.track": PUBLIC_PAGE,
    "public_pages.stations_page": PUBLIC_PAGE,
    "console_pages.photo": allow(A, S, CO, CR),  # residents' photos by id: staff, whatever the request
    "public_api.get_ticket_photo": PUBLIC,  # a listed request's photo only (incident/public_view.py)
    "public_pages.report_form": PUBLIC_PAGE,
    "public_pages.post_answer": PUBLIC_PAGE,  # only with the signed key a follower was sent
    "public_pages.stop_page": PUBLIC_PAGE,  # only with the signed key that one address was sent
    "public_pages.post_stop": PUBLIC_PAGE,
    "public_pages.post_report": PUBLIC_PAGE,  # a resident's report: rate-limited, a honeypot, no sign-in
    "map_pages.vendor": PUBLIC,
    "live_api.stream": allow(A, CO, S),
    # geography for the consoles
    "geo_api.suggest": allow(A, CR, CO, S),
    "geo_api.geocode": allow(A, CR, CO, S),
    "geo_api.reverse": allow(A, CR, CO, S),
    # city aliases learnt from agents' pins: read by agents, set and removed by supervisors and admins
    "geo_api.list_aliases": allow(A, S, AD),
    "geo_api.list_pins": allow(S, AD),
    "geo_api.put_alias": allow(S, AD),
    "geo_api.delete_alias": allow(S, AD),
    "geo_pages.aliases_page": allow(S, AD, page=True),
    # who am I, and the audit trail
    "incidents_api.get_me": SIGNED_IN,
    "incidents_api.get_mode": SIGNED_IN,
    "incidents_api.post_mode": allow(S),
    "incidents_api.post_review": allow(S),
    "incidents_api.get_surge": allow(S),
    "incidents_api.get_queues": allow(CO, S),
    "report_api.report_json": allow(S),
    "report_api.report_csv": allow(S),
    "report_pages.report_page": allow(S, page=True),
    "public_api.get_status": PUBLIC,
    "incidents_api.get_audit": allow(S, AD),
    # residents
    "public_api.get_ticket": PUBLIC,
    "public_api.get_stations": PUBLIC,
    "public_api.get_places": PUBLIC,
    "sms_api.inbound": SIGNED,  # the city's own street names, for the residents' report form
    # Open311 GeoReport v2 (residents' apps)
    "open311_api.discovery": OPEN311_READ,
    "open311_api.services": OPEN311_READ,
    "open311_api.service_definition": OPEN311_READ,
    "open311_api.get_requests": OPEN311_READ,
    "open311_api.get_request": OPEN311_READ,
    "open311_api.get_token": OPEN311_READ,
    "open311_api.post_request": OPEN311_FILE,
    # sign-in
    "login_pages.login_page": PUBLIC_PAGE,
    "login_pages.login": PUBLIC_PAGE,
    "login_pages.logout": Rule(frozenset(Role), page=True),
    # administration
    "admin_pages.tokens_page": allow(AD, page=True),
    "admin_pages.create_token": allow(AD, page=True),
    "admin_pages.revoke_token": allow(AD, page=True),
    "admin_pages.people_page": allow(AD, page=True),
    "admin_pages.create_person": allow(AD, page=True),
    "admin_pages.change_person": allow(AD, page=True),
    # plumbing
    "home_pages.index": PUBLIC_PAGE,
    "health_api.healthz": PUBLIC,
    "health_api.readyz": PUBLIC,
    "openapi": PUBLIC,
    "static": PUBLIC,
}
