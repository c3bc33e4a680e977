"""Per-machine settings from STORMLINE_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident.settings import Settings, SettingsError, secret_key, settings_from_env


def test_reads_prefixed_variables_and_converts_types() -> None:
    """STORMLINE_WORKERS=4 becomes the integer 4; other variables are read as given."""
    settings = settings_from_env({"STORMLINE_WORKERS": "4", "STORMLINE_REDIS_URL": "redis://db:6379/0"})
    assert settings.workers == 4
    assert settings.redis_url == "redis://db:6379/0"


def test_flags_override_environment() -> None:
    """An explicit override (a command-line flag) wins over the environment."""
    settings = settings_from_env({"STORMLINE_BIND": "0.0.0.0:80"}, bind="127.0.0.1:9000", workers=None)
    assert settings.bind == "127.0.0.1:9000"


def test_unknown_variable_is_an_error() -> None:
    """A mistyped STORMLINE_ variable is refused by name rather than ignored."""
    with pytest.raises(SettingsError, match="STORMLINE_REDIS_ULR: not a Stormline setting"):
        settings_from_env({"STORMLINE_REDIS_ULR": "redis://x"})


def test_bad_value_names_the_variable() -> None:
    """A value of the wrong type or range names the variable."""
    with pytest.raises(SettingsError, match="STORMLINE_WORKERS"):
        settings_from_env({"STORMLINE_WORKERS": "many"})
    with pytest.raises(SettingsError, match="STORMLINE_WORKERS"):
        settings_from_env({"STORMLINE_WORKERS": "0"})


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    """Without STORMLINE_SECRET_KEY a key is generated, saved privately, and the same one is read back."""
    settings = Settings(data_dir=str(tmp_path))
    first = secret_key(settings)
    assert len(first) >= 32
    assert secret_key(settings) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert secret_key(Settings(data_dir=str(tmp_path), secret_key="given")) == "given"
