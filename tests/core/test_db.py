"""Database: migrations create the schema on each backend; SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from core.db import make_engine, session_scope, upgrade
from core.models import Person


def test_migrations_create_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar_one() == 1


def test_sqlite_uses_wal_and_creates_its_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "deep" / "dir").is_dir()


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Person(network="twitter", external_id="1"))
        session.add(Person(network="twitter", external_id="1"))
        session.flush()
    with session_scope(engine) as session:
        assert session.exec(select(Person)).all() == []
