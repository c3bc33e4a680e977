"""A gazetteer built once for the geo tests, from the shipped data and the shipped config's places."""

from __future__ import annotations

import pytest

from geo.build import build
from geo.gazetteer import Gazetteer
from geo.zones import Zones
from incident.config import load_config
from incident.geocoding import config_places
from tests.support import CONFIG


@pytest.fixture(scope="session")
def zones() -> Zones:
    return Zones("City of Buffalo")


@pytest.fixture(scope="session")
def gazetteer(zones: Zones) -> Gazetteer:
    new, aliases = config_places(load_config(CONFIG))
    return Gazetteer(
        build(extra_places=new, aliases=aliases), zones.inside, zones.hints(), areas=zones.areas()
    )
