"""Start-up shared by every command: settings validated once, logging, the database engine."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.engine import Engine

from core.db import engine_from_settings, upgrade
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)


def configure_logging(verbose: bool = False) -> None:
    """Plain log lines on stderr; SIGNPOST_LOG_LEVEL or --verbose raise the detail."""
    level = "DEBUG" if verbose else os.environ.get("SIGNPOST_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "urllib3", "prawcore"):
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))


@dataclass
class AppContext:
    """What a command needs: the validated settings and a migrated database engine."""

    settings: Settings

    @classmethod
    def load(cls, settings_path: str | None = None) -> AppContext:
        """Validate the settings (ConfigError on bad input)."""
        return cls(load_settings(settings_path))

    @cached_property
    def engine(self) -> Engine:
        """The database engine, with the schema upgraded to the newest migration."""
        engine = engine_from_settings(self.settings)
        upgrade(engine)
        return engine
