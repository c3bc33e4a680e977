"""The app factory: config read, extensions and blueprints registered, Redis opened while serving."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

from quart import Quart
from quart_schema import Info, QuartSchema

from incident import __version__, api, health, pages, problems
from incident.config import SurgeConfig, load_config
from incident.embedded import EmbeddedRedis
from incident.settings import Settings, secret_key, settings_from_env
from incident.store import Store, connect, disconnect
from incident.web import StormlineRequest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None, config: SurgeConfig | None = None) -> Quart:
    settings = settings or settings_from_env()
    config = config or load_config(settings.config)

    app = Quart(__name__, template_folder=str(TEMPLATES))
    app.request_class = StormlineRequest
    app.config.update(MAX_CONTENT_LENGTH=config.intake.max_body_bytes, SECRET_KEY=secret_key(settings))
    app.extensions["stormline.config"] = config
    QuartSchema(
        app,
        info=Info(title="Stormline", version=__version__),
        openapi_path="/openapi.json",
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        conversion_preference="msgspec",
    )
    problems.register(app)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)

    @app.while_serving
    async def open_store() -> AsyncGenerator[None, None]:
        # `stormline serve` starts the embedded server once for all workers and passes its URL;
        # an app served some other way with no URL starts its own (one per data folder, enforced).
        embedded = None
        url = settings.redis_url
        if not url:
            embedded = EmbeddedRedis(settings.data_dir, settings.redis_server).start()
            url = embedded.url
        redis = connect(url)
        app.extensions["stormline.store"] = Store.open(redis, config.jurisdiction.id)
        try:
            yield
        finally:
            await disconnect(redis)
            if embedded is not None:
                embedded.stop()

    return app
