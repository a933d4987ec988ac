"""SQLModel tables: the rows through which the pipeline's stages hand over work."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kw)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class PostStatus(enum.StrEnum):
    """Where a post stands in the pipeline."""

    NEW = "new"
    NOT_QUESTION = "not_question"
    NO_MATCH = "no_match"
    SUGGESTED = "suggested"
    SKIPPED = "skipped"


class SuggestionStatus(enum.StrEnum):
    """The suggestion lifecycle; responders.lifecycle is its only writer."""

    PENDING = "pending"
    APPROVED = "approved"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    REJECTED = "rejected"
    FAILED = "failed"


class ChannelState(SQLModel, table=True):
    """One row per channel instance: its cursor and health."""

    __tablename__ = "channel_state"
    name: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=50)
    cursor: dict[str, Any] = _json(dict)
    healthy: bool = True
    last_poll_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=Text)
    posts_seen: int = 0
    failures: int = Field(default=0, description="consecutive transient failures (5xx, timeouts, bad bodies)")
    backoff_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Person(SQLModel, table=True):
    """Someone who posted; keeps language preference, opt-out and engagement."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("network", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=50, index=True)
    external_id: str = Field(max_length=200)
    handle: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=300)
    preferred_lang: str | None = Field(default=None, max_length=10)
    opted_out: bool = False
    first_seen_at: datetime = _ts()
    last_seen_at: datetime = _ts()


class Post(SQLModel, table=True):
    """A post, comment or tweet as fetched, with what the pipeline learned about it."""

    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=200, index=True)
    network: str = Field(max_length=50)
    external_id: str = Field(max_length=300)
    content_hash: str = Field(max_length=64, index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    url: str | None = Field(default=None, sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    text: str = Field(sa_type=Text)
    thread_id: str | None = Field(default=None, max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=300)
    posted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    fetched_at: datetime = _ts()
    status: str = Field(default=PostStatus.NEW, max_length=20, index=True)
    lang: str | None = Field(default=None, max_length=10)
    is_question: bool | None = None
    question_score: float | None = None
    question_reasons: list[str] = _json(list)
    extra: dict[str, Any] = _json(dict)


class Article(SQLModel, table=True):
    """A help article; its text lives in per-language variants."""

    __tablename__ = "article"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=200, unique=True)
    default_lang: str = Field(default="en", max_length=10)
    active: bool = True
    updated_at: datetime = _ts()


class ArticleVariant(SQLModel, table=True):
    """An article in one language: title, deep link, example questions and lay-term synonyms."""

    __tablename__ = "article_variant"
    __table_args__ = (UniqueConstraint("article_id", "lang"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    lang: str = Field(max_length=10)
    title: str = Field(sa_type=Text)
    url: str = Field(sa_type=Text)
    examples: list[str] = _json(list)
    synonyms: list[str] = _json(list)


class Suggestion(SQLModel, table=True):
    """A proposed reply to one post, waiting for (or past) a person's decision."""

    __tablename__ = "suggestion"
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", unique=True)
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    lang: str = Field(max_length=10)
    reply_text: str = Field(sa_type=Text)
    link: str = Field(sa_type=Text)
    score: float
    explanation: dict[str, Any] = _json(dict)
    alternatives: list[dict[str, Any]] = _json(list)
    status: str = Field(default=SuggestionStatus.PENDING, max_length=20, index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_type=Text)
    external_ref: str | None = Field(default=None, max_length=300)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AuditEvent(SQLModel, table=True):
    """Who did what to a suggestion, when and why."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestion.id", index=True)
    at: datetime = _ts()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=50)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, sa_type=Text)
    detail: dict[str, Any] = _json(dict)


class EngagementSnapshot(SQLModel, table=True):
    """Engagement counts of one published reply at one moment (likes/replies/reposts/quotes, or score/replies)."""

    __tablename__ = "engagement_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestion.id", index=True)
    channel: str = Field(max_length=200, index=True)
    external_ref: str = Field(max_length=300)
    counts: dict[str, int] = _json(dict)
    taken_at: datetime = _ts(index=True)


class Click(SQLModel, table=True):
    """A visit through a reply's tracked deep link."""

    __tablename__ = "click"
    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int | None = Field(default=None, foreign_key="suggestion.id", index=True)
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    at: datetime = _ts()
    referrer: str | None = Field(default=None, sa_type=Text)


class Calibration(SQLModel, table=True):
    """An abstention threshold chosen on labelled questions, stored with the knowledge index."""

    __tablename__ = "calibration"
    id: int | None = Field(default=None, primary_key=True)
    engine: str = Field(max_length=50, index=True)
    threshold: float
    target_precision: float | None = None
    abstain_f1: float | None = None
    abstain_precision: float | None = None
    top1: float | None = None
    questions: int = 0
    created_by: str = Field(default="cli", max_length=200)
    created_at: datetime = _ts()
