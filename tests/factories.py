"""Factories for rows and settings used across tests (real objects, real database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.db import session_scope
from core.settings import Settings, load_settings
from knowledge.documents import ArticleDoc
from knowledge.store import import_docs

ARTICLES = [
    ArticleDoc("connect-domain", "en", "Connect your own domain", "https://help.example.com/en/connect-domain",
               ("How do I connect a domain I bought elsewhere?", "point my domain to my site",
                "use my own web address"), ("custom url", "dns")),
    ArticleDoc("connect-domain", "es", "Conectar tu propio dominio", "https://help.example.com/es/connect-domain",
               ("¿Cómo conecto un dominio que compré en otro sitio?", "usar mi propio dominio",)),
    ArticleDoc("reset-password", "en", "Reset your password", "https://help.example.com/en/reset-password",
               ("I forgot my password", "how can I change my password", "can't log in to my account"),
               ("login", "sign in")),
    ArticleDoc("add-products", "en", "Add products to your store", "https://help.example.com/en/add-products",
               ("how do I add a product to my shop", "upload items to sell", "create a new product listing")),
    ArticleDoc("cancel-plan", "en", "Cancel your subscription", "https://help.example.com/en/cancel-plan",
               ("how do I cancel my subscription", "stop being charged", "close my account and stop billing")),
]


def write_settings(tmp_path: Path, body: str = "", name: str = "settings.toml") -> Path:
    """A settings file with `body` in the test's temp directory."""
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def make_settings(tmp_path: Path, body: str = "", **overrides: Any) -> Settings:
    """Validated settings from a temp file whose data directory is inside tmp_path."""
    path = write_settings(tmp_path, f'[app]\ndata_dir = "{(tmp_path / "var").as_posix()}"\n' + body)
    return load_settings(path, **overrides)


def seed_articles(engine: Engine, docs: list[ArticleDoc] | None = None) -> None:
    """Import the small test knowledge index."""
    with session_scope(engine) as session:
        import_docs(docs or ARTICLES, session=session)

FIXTURES_DIR = Path(__file__).parent / "fixtures"
