"""The app factory: config read, extensions and blueprints registered, Redis opened while serving."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import msgspec
from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart
from quart.sessions import SecureCookieSessionInterface
from quart_schema import DataSource, Info, OpenAPIProvider, QuartSchema
from redis.exceptions import RedisError
from werkzeug.routing import BaseConverter

from dispatch import agencies, crews_api, referral_api, shelter_api
from dispatch.feed import check_silent
from incident import (
    __version__,
    callbacks_api,
    casework_api,
    console_pages,
    exercise_api,
    exports_api,
    geo_api,
    health,
    home_pages,
    incidents_api,
    languages,
    live,
    maps,
    open311,
    partners_api,
    problems,
    public_api,
    public_pages,
    registry_api,
    report,
    report_api,
    security,
    sms_api,
    surge,
    write_steps,
)
from incident.auth import access, admin_pages, login_pages, navigation
from incident.auth.throttle import Limiter, PenaltyBox
from incident.callbacks import check_promises
from incident.center import check_overdue, check_review, finish_pending
from incident.config import SurgeConfig, load_config
from incident.embedded import EmbeddedRedis
from incident.geocoding import open_service, refresh
from incident.handoff import check_deadlines
from incident.outbound import Policy
from incident.outbox import deliver_forever
from incident.rounds import forever
from incident.settings import Settings, secret_key, settings_from_env
from incident.store import connect, disconnect
from incident.triage import Engine
from incident.triage.model import configured
from incident.updates import tell_round
from incident.web import StormlineRequest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
GAZETTEER_POLL_S = 60
log = logging.getLogger("stormline")


def settle_heap() -> None:
    """Move everything loaded so far (gazetteer, zones, rules, config) out of the garbage collector's sight.

    A worker holds some 150,000 long-lived objects it never frees; every full collection walked them
    all, a 70–110 ms pause in the middle of a request, several times a minute at a storm's peak. Frozen
    objects are freed by reference counting when dropped, but a frozen cycle never is: so what was
    frozen before is thawed and collected first (a replaced gazetteer holds cycles).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class NoCookieSession(SecureCookieSessionInterface):
    """Quart's signed-cookie session, never used: Stormline's sessions live in Redis (auth.sessions).

    Without this, every request would look for and verify a cookie nobody sets.
    """

    async def open_session(self, app: Quart, request: Any) -> None:
        return None


class StableOpenAPI(OpenAPIProvider):
    """quart-schema's document, complete and the same in every process.

    - quart-schema keeps only a msgspec model's own schema and drops the schemas it refers to, so every
      `$ref` (Priority, Point, Incident…) pointed at nothing: they are put in `components` here. Two
      different types of one name would make a `$ref` ambiguous, so that refuses to build.
    - An `any(…)` path parameter's values are a set, which it lists in the set's order: that order
      changed from one process to the next (hash randomisation), and with it /openapi.json.
    """

    def __init__(self, app: Quart, extension: QuartSchema) -> None:
        super().__init__(app, extension)
        self._components: dict[str, Any] = {}

    def _with_referred(self, model: Any, components: dict[str, Any]) -> dict[str, Any]:
        try:
            _, referred = msgspec.json.schema_components([model], ref_template="#/components/schemas/{name}")
        except TypeError:  # not a msgspec type: quart-schema's own conversion keeps its definitions
            return components
        for name, schema in referred.items():
            if self._components.setdefault(name, schema) != schema:
                raise RuntimeError(f"two API types are named {name}: rename one (the OpenAPI $refs clash)")
        return {**referred, **components}

    def build_querystring_parameters(self, model: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        parameters, components = super().build_querystring_parameters(model)
        return parameters, self._with_referred(model, components)

    def build_request_body(self, model: Any, source: DataSource) -> tuple[dict[str, Any], dict[str, Any]]:
        body, components = super().build_request_body(model, source)
        return body, self._with_referred(model, components)

    def build_response_object(
        self, model: Any, headers_model: Any | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        response, components = super().build_response_object(model, headers_model)
        return response, self._with_referred(model, components)

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        built: dict[str, Any] = super().build_path_parameter(name, converter)
        if "enum" in built["schema"]:
            built["schema"]["enum"] = sorted(built["schema"]["enum"])
        return built


def create_app(settings: Settings | None = None, config: SurgeConfig | None = None) -> Quart:
    settings = settings or settings_from_env()
    config = config or load_config(settings.config)

    app = Quart(__name__, template_folder=str(TEMPLATES), static_folder=str(TEMPLATES / "static"))
    app.request_class = StormlineRequest
    app.session_interface = NoCookieSession()
    app.config.update(MAX_CONTENT_LENGTH=config.intake.max_body_bytes, SECRET_KEY=secret_key(settings))
    app.extensions["stormline.config"] = config
    app.extensions["stormline.triage"] = Engine(config, configured(config, settings.config))
    QuartSchema(
        app,
        info=Info(title="Stormline", version=__version__),
        openapi_path="/openapi.json",
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        conversion_preference="msgspec",
        openapi_provider_class=StableOpenAPI,
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
    )
    problems.register(app)
    for blueprint in (
        incidents_api.blueprint,
        casework_api.blueprint,
        registry_api.blueprint,
        registry_api.pages,
        callbacks_api.blueprint,
        exercise_api.blueprint,
        crews_api.blueprint,
        shelter_api.blueprint,
        referral_api.blueprint,
        referral_api.pages,
        maps.blueprint,
        maps.pages,
        public_pages.blueprint,
        console_pages.blueprint,
        live.blueprint,
        geo_api.blueprint,
        geo_api.pages,
        public_api.blueprint,
        open311.blueprint,
        health.blueprint,
        home_pages.blueprint,
        login_pages.blueprint,
        report_api.blueprint,
        report_api.pages,
        partners_api.blueprint,
        exports_api.blueprint,
        admin_pages.blueprint,
        sms_api.blueprint,
    ):
        app.register_blueprint(blueprint)
    security.install(app)
    languages.install(app)
    access.install(app)  # after every route exists: it refuses a route the access table lacks
    # An address refused by a limit on it is refused again in front of the app while the limit holds.
    box = PenaltyBox(app, app.asgi_app)
    app.asgi_app = box  # type: ignore[method-assign]
    Limiter(app, box)
    app.context_processor(
        lambda: {
            "config": config,
            "principal": access.current(),
            "csrf_token": access.csrf_token,
            "menu": navigation.menu(access.current().role),
            "may_search": navigation.may_open(access.current().role, "casework_api.search"),
        }
    )
    if settings.proxy_hops:
        # Behind a TLS-terminating proxy: take the client's address and scheme from its headers.
        app.asgi_app = ProxyFixMiddleware(app.asgi_app, mode="legacy", trusted_hops=settings.proxy_hops)  # type: ignore[method-assign]

    @app.while_serving
    async def open_store() -> AsyncGenerator[None, None]:
        # `stormline serve` starts the embedded server once for all workers and passes its URL;
        # an app served some other way with no URL starts its own (one per data folder, enforced).
        embedded = None
        url = settings.redis_url
        if not url:
            embedded = EmbeddedRedis(settings.data_dir, settings.redis_server).start()
            url = embedded.url
        redis = connect(url, pool=settings.redis_pool, wait=settings.redis_pool_wait)
        store = app.extensions["stormline.store"] = write_steps.open_store(redis, config.jurisdiction.id)
        config_dir = Path(settings.config).parent
        app.extensions["stormline.geo"] = await open_service(store, config, config_dir)
        app.extensions["stormline.triage"].learn_names(*app.extensions["stormline.geo"].gazetteer.names())
        app.extensions["stormline.public_url"] = settings.public_url
        app.extensions["stormline.sms_token"] = settings.sms_token
        if not settings.public_url:
            log.warning(
                "STORMLINE_PUBLIC_URL is not set: referrals by webhook or email are refused until it is "
                "(their link to Stormline is built from it alone, never from a request's Host header)"
            )
        app.extensions["stormline.tiles"] = settings.tiles
        hub = app.extensions["stormline.hub"] = live.Hub(store)

        async def seed_agencies() -> bool:
            # A first start gets the shipped directory of agencies (coordinators edit it from then on);
            # with Redis down at start, it is tried again in the background rather than holding the
            # worker up. Returns whether it is done.
            try:
                await asyncio.wait_for(store.redis.ping(), 0.5)  # down: do not hold the worker's start up
                policy = Policy.allowing(config.referrals.allow_private)
                await asyncio.wait_for(
                    agencies.seed(store, config_dir / config.referrals.directory, policy), 10
                )
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("agency directory not loaded yet (%s); trying again", error)
                return False
            except Exception:  # a broken shipped package must not stop the center from starting
                log.exception("agency directory not loaded")
            return True

        async def seed_later() -> None:
            while True:
                await asyncio.sleep(5)
                if await seed_agencies():
                    return

        seeded = await seed_agencies()
        settle_heap()

        async def follow_gazetteer() -> None:
            # Pick up `stormline geo build` (or the shared data, if Redis was down at start).
            while True:
                await asyncio.sleep(GAZETTEER_POLL_S)
                try:
                    before = app.extensions["stormline.geo"]
                    app.extensions["stormline.geo"] = await refresh(store, config, config_dir, before)
                    replaced = app.extensions["stormline.geo"] is not before
                    del before  # or the old gazetteer would be frozen again
                    if replaced:
                        app.extensions["stormline.triage"].learn_names(
                            *app.extensions["stormline.geo"].gazetteer.names()
                        )
                        settle_heap()  # the new gazetteer's objects are long-lived too
                except Exception:  # a failed refresh keeps the service it had
                    log.exception("gazetteer refresh failed")

        transport = app.extensions.get("stormline.psap_transport")
        background = [
            asyncio.create_task(follow_gazetteer()),
            asyncio.create_task(hub.run()),
            *([] if seeded else [asyncio.create_task(seed_later())]),
            # Every worker delivers and watches; Redis makes each delivery and each alarm happen once.
            asyncio.create_task(
                deliver_forever(
                    store,
                    config,
                    settings.psap_token,
                    transport,
                    smtp_url=settings.smtp_url,
                    smtp_from=settings.smtp_from,
                    sms_url=settings.sms_url,
                    sms_from=settings.sms_from,
                )
            ),
            *(
                asyncio.create_task(forever(name, seconds, one_round))
                for name, seconds, one_round in (
                    ("911 handoff watch", 2, lambda: check_deadlines(store, config)),
                    ("overdue watch", 5, lambda: check_overdue(store)),
                    ("callback promises", 15, lambda: check_promises(store)),
                    ("surge watch", 15, lambda: surge.check(store, config, report.keep_once)),
                    ("review watch", 30, lambda: check_review(store, config)),
                    ("unfinished switch watch", 15, lambda: finish_pending(store, config, report.keep_once)),
                    ("silent crew watch", 30, lambda: check_silent(store, config)),
                    (
                        "residents' updates",
                        5,
                        lambda: tell_round(store, settings.public_url, str(app.secret_key or "")),
                    ),
                )
            ),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await disconnect(redis)
            if embedded is not None:
                embedded.stop()

    return app
