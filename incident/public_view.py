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
from incident.records import Call, Channel, Incident, PublicPhoto
from incident.status import Status

# Where the residents' form says a call's photo is (`/photos/<id>.jpg` under whatever address the
# resident used, which may later be named differently): the id is what counts.
_KEPT = re.compile(rf"/photos/({PHOTO_ID})\.jpg$")


def listed(config: SurgeConfig, incident: Incident) -> bool:
    """Whether anyone may see the request in full: an app's service, not a sensitive one."""
    category = config.category(incident.category)
    if incident.life_safety or incident.status is Status.WITH_911:
        return False  # someone's emergency is not for the public list
    return incident.category in config.open311.services and category is not None and not category.sensitive


def public_photo(call: Call) -> PublicPhoto | None:
    """The photo a call makes public with its request, if any.

    One from the web form (whose resident was told so), or an Open311 app's own URL; a photo staff or a
    partner added is not for the public.
    """
    if call.media_url is None:
        return None
    if call.channel is Channel.WEB:
        kept = _KEPT.search(call.media_url)
        return PublicPhoto(kept=kept.group(1)) if kept else None
    if call.channel is Channel.OPEN311:
        return PublicPhoto(url=call.media_url)
    return None
