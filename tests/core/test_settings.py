"""Settings: file + environment, validation errors that name file and key, secrets only from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings
from tests.factories import write_settings


def test_defaults_without_a_file_use_sqlite_under_var(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.app.default_language == "en"
    assert settings.database_url == "sqlite:///var/signpost.db"
    assert settings.twitter.enabled is False


def test_environment_overrides_file_key_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_settings(tmp_path, '[twitter]\nenabled = true\nqueries = ["from file"]\n[matching]\ntop_k = 5\n')
    monkeypatch.setenv("SIGNPOST_TWITTER__QUERIES", '["from env"]')
    monkeypatch.setenv("SIGNPOST_TWITTER__BEARER_TOKEN", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/prod")
    settings = load_settings(path)
    assert settings.twitter.enabled is True
    assert settings.twitter.queries == ["from env"]
    assert settings.twitter.bearer_token is not None
    assert settings.twitter.bearer_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.matching.top_k == 5
    assert settings.database_url == "postgresql://db.example/prod"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[twitter]\nqueris = ["x"]\n', "[twitter] queris: unknown key"),
        ('[matching]\ntop_k = "many"\n', "[matching] top_k: Input should be a valid integer"),
        ("[nonsense]\na = 1\n", "nonsense: unknown key"),
        ('[[feeds]]\nurl = "http://x"\ninterval_seconds = "often"\n', "[[feeds]] #1 interval_seconds"),
        ("[app\n", "not valid TOML"),
        ('[twitter]\nbearer_token = "abc"\n', "SIGNPOST_TWITTER__BEARER_TOKEN"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write_settings(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_settings_env_var_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_settings(tmp_path, '[app]\ndefault_language = "de"\n', name="other.toml")
    monkeypatch.setenv("SIGNPOST_SETTINGS", str(path))
    assert load_settings().app.default_language == "de"
