"""A serving worker's loaded data is kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from incident.app import create_app, settle_heap
from incident.config import SurgeConfig
from incident.settings import Settings


def test_settle_heap_hides_live_objects_from_the_collector() -> None:
    """What is alive when the heap is settled is frozen: full collections no longer walk it."""
    gc.unfreeze()
    kept = [[index] for index in range(1000)]
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert not any(obj is kept[0] for obj in gc.get_objects())
    finally:
        gc.unfreeze()


async def test_a_serving_app_settles_its_heap_once_loaded(settings: Settings, config: SurgeConfig) -> None:
    """Starting to serve (gazetteer, zones and rules loaded) freezes them."""
    gc.unfreeze()
    try:
        app = create_app(settings, config)
        async with app.test_app():
            geo = app.extensions["stormline.geo"]
            assert gc.get_freeze_count() > 10_000  # the gazetteer and zones, at least
            assert not any(obj is geo for obj in gc.get_objects())
    finally:
        gc.unfreeze()
