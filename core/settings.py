"""The one typed settings object: settings.toml, overridden by SIGNPOST_<SECTION>__<KEY> env vars."""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_SETTINGS_PATH = Path("settings.toml")
SECRET_KEYS = {
    "twitter": {"bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret"},
    "reddit": {"client_id", "client_secret", "username", "password", "refresh_token"},
    "web": {"password", "secret_key"},
}


class Section(BaseModel):
    """A settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class AppSettings(Section):
    """Languages and where local data lives."""

    default_language: str = "en"
    languages: list[str] = Field(
        default_factory=lambda: ["en", "es", "fr", "de", "pt", "it", "nl", "ja"],
        description="languages Signpost detects; others fall back to the default language",
    )
    data_dir: Path = Path("var")
    own_accounts: list[str] = Field(
        default_factory=list,
        description="our own handles on any network: their posts are never answered",
    )


class DatabaseSettings(Section):
    """Database location; the DATABASE_URL environment variable wins over `url`."""

    url: str | None = None
    echo: bool = False


class MatchingSettings(Section):
    """How questions are matched to articles."""

    engine: str = "lexical"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int = Field(default=3, ge=1, le=20)


class QuestionSettings(Section):
    """Question detection."""

    min_score: float = Field(default=0.5, ge=0.0, le=1.0)


class ReplySettings(Section):
    """Reply composition."""

    utm_campaign: str = "signpost"
    utm_medium: str = "social"
    templates: dict[str, str] = Field(default_factory=dict)
    reviewer: str = "cli"


class ChannelSettings(Section):
    """Keys every channel shares."""

    enabled: bool = False
    interval_seconds: int = Field(default=300, ge=10)
    publish: bool = False
    person_cooldown_hours: float = Field(default=24.0, ge=0, description="at most one reply per person per period")
    publish_lease_minutes: float = Field(default=10.0, gt=0, description="after this a stuck publish is retried")


class TwitterSettings(ChannelSettings):
    """Twitter/X (API v2 through tweepy)."""

    api_url: str = "https://api.twitter.com"
    queries: list[str] = Field(default_factory=list)
    user_id: str | None = None
    monthly_read_budget: int = Field(default=10_000, ge=0)
    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None


class RedditSettings(ChannelSettings):
    """Reddit (through praw)."""

    api_url: str = "https://oauth.reddit.com"
    subreddits: list[str] = Field(default_factory=list)
    queries: list[str] = Field(default_factory=list)
    user_agent: str = "python:signpost:0.1 (by /u/signpost)"
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None
    refresh_token: SecretStr | None = None
    no_link_subreddits: list[str] = Field(default_factory=list)
    max_requests_per_minute: int = Field(default=90, ge=1, le=100, description="our cap; Reddit allows 100/min")
    no_link_action: Literal["strip", "skip"] = "strip"


class FeedSettings(Section):
    """One RSS/Atom feed of posts or comments (`[[feeds]]`)."""

    url: str
    name: str | None = None
    enabled: bool = True
    interval_seconds: int = Field(default=900, ge=10)
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=5_000_000, ge=1024)


class ReplaySettings(Section):
    """A JSONL file of posts replayed as a channel (demo and load tests)."""

    enabled: bool = False
    path: Path | None = None


class WorkerSettings(Section):
    """The scheduler process."""

    jitter_seconds: int = Field(default=30, ge=0)
    process_interval_seconds: int = Field(default=60, ge=5)
    max_backoff_seconds: int = Field(default=3600, ge=0, description="longest wait after transient failures")
    publish_interval_seconds: int = Field(default=60, ge=10)
    engagement_interval_seconds: int = Field(default=3600, ge=60)


class WebSettings(Section):
    """The dashboard."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    username: str = "admin"
    password: SecretStr | None = None
    secret_key: SecretStr | None = None


class _TomlDataSource(PydanticBaseSettingsSource):
    """Feeds the parsed settings file into pydantic-settings below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: values come whole from __call__."""
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class Settings(BaseSettings):
    """Everything Signpost reads at start-up, validated once."""

    model_config = SettingsConfigDict(
        env_prefix="SIGNPOST_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        nested_model_default_partial_update=True,
    )
    _file_data: ClassVar[dict[str, Any]] = {}

    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    questions: QuestionSettings = Field(default_factory=QuestionSettings)
    replies: ReplySettings = Field(default_factory=ReplySettings)
    twitter: TwitterSettings = Field(default_factory=TwitterSettings)
    reddit: RedditSettings = Field(default_factory=RedditSettings)
    feeds: list[FeedSettings] = Field(default_factory=list)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority: explicit arguments, environment, .env, then the settings file."""
        return (init_settings, env_settings, dotenv_settings, _TomlDataSource(settings_cls, cls._file_data))

    @property
    def database_url(self) -> str:
        """DATABASE_URL, else [database] url, else SQLite under the data directory."""
        url = os.environ.get("DATABASE_URL") or self.database.url
        if url:
            return url
        return f"sqlite:///{(self.app.data_dir / 'signpost.db').as_posix()}"


def settings_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The settings file to read: --settings, else SIGNPOST_SETTINGS, else ./settings.toml."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SIGNPOST_SETTINGS") or DEFAULT_SETTINGS_PATH)


def _read_file(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: settings file not found")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    for section, keys in SECRET_KEYS.items():
        found = sorted(keys & set(data.get(section, {}) or {}))
        if found:
            env = f"SIGNPOST_{section.upper()}__{found[0].upper()}"
            raise ConfigError(
                f"{path}: [{section}] {found[0]}: secrets are read only from the environment; "
                f"remove it from the file and set {env}"
            )
    return data


def _describe(exc: ValidationError, path: Path) -> str:
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    if len(loc) >= 2 and not loc[1].isdigit():
        where = f"[{loc[0]}] {'.'.join(loc[1:])}"
    elif len(loc) >= 3:
        where = f"[[{loc[0]}]] #{int(loc[1]) + 1} {'.'.join(loc[2:])}"
    else:
        where = ".".join(loc) or "(top level)"
    unknown = err["type"] == "extra_forbidden"
    expected = "unknown key" if unknown else f"{err['msg']} (got {err.get('input')!r})"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{path}: {where}: {expected}{more}"


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read, merge and validate the settings; raise ConfigError naming file and key on bad input."""
    file = settings_path(path)
    required = path is not None or "SIGNPOST_SETTINGS" in os.environ
    data = _read_file(file, required=required)
    Settings._file_data = data
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file)) from exc
    finally:
        Settings._file_data = {}
    log.debug("settings loaded from %s", file if file.exists() else "defaults")
    return settings
