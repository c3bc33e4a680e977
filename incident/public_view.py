"""What of a request the public may see, wherever it is shown (Open311, the residents' pages).

A request is listed in full only when its service is one the city offers apps and its category is not
sensitive, and never while it is someone's emergency. A listed request's photo is public too: the
resident was told so on the form, and what is kept is the redrawn picture, with nothing of where or
when it was taken or by whom (`incident/photos.py`).
"""

from __future__ import annotations

import re

from incident.config import SurgeConfig
from incident.photos import PHOTO_ID
from incident.records import Call, Incident
from incident.status import Status

# Where the residents' form says a call's photo is (`/photos/<id>.jpg` on whichever address the
# resident used): the id is what counts, the host may be named differently later.
_OURS = re.compile(rf"https?://[^/]+/photos/({PHOTO_ID})\.jpg")


def listed(config: SurgeConfig, incident: Incident) -> bool:
    """Whether anyone may see the request in full: an app's service, not a sensitive one."""
    category = config.category(incident.category)
    if incident.life_safety or incident.status is Status.WITH_911:
        return False  # someone's emergency is not for the public list
    return incident.category in config.open311.services and category is not None and not category.sensitive


def newest_photo(calls: list[Call]) -> tuple[str | None, str | None]:
    """The request's newest photo: (the id of one Stormline keeps, else the URL an app gave as its own)."""
    for call in reversed(calls):
        if call.media_url:
            ours = _OURS.fullmatch(call.media_url)
            return (ours.group(1), None) if ours else (None, call.media_url)
    return None, None
