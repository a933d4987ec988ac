"""The JSON API under /api/: list, read and decide suggestions; stats. Session cookie or HTTP Basic."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, field_validator

from core.db import session_scope
from core.errors import NotFound
from responders import lifecycle
from signpost.web import queries
from signpost.web.auth import api_user
from signpost.web.pages import MAX_REASON_CHARS, MAX_REPLY_FORM_CHARS, engine_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")
ApiUser = Annotated[str, Depends(api_user)]


class ApproveBody(BaseModel):
    """Optional replacement text for the reply."""

    text: str | None = Field(default=None, max_length=MAX_REPLY_FORM_CHARS)


class EditBody(BaseModel):
    """The new reply text."""

    text: str = Field(min_length=1, max_length=MAX_REPLY_FORM_CHARS)


class RejectBody(BaseModel):
    """Why the suggestion is rejected."""

    reason: str = Field(max_length=MAX_REASON_CHARS)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a rejection needs a reason")
        return value


def suggestion_json(view: queries.SuggestionView, full: bool = False) -> dict[str, Any]:
    """A suggestion as JSON; list items cut the post text to LIST_TEXT_CHARS."""
    s, post, person = view.suggestion, view.post, view.person
    text = post.text if full else post.text[: queries.LIST_TEXT_CHARS]
    return {
        "id": s.id, "status": s.status, "score": s.score, "lang": s.lang,
        "reply_text": s.reply_text, "link": s.link,
        "post": {"id": post.id, "network": post.network, "channel": post.channel, "url": post.url,
                 "title": post.title, "text": text, "text_truncated": len(text) < len(post.text),
                 "lang": post.lang, "posted_at": post.posted_at.isoformat() if post.posted_at else None,
                 "author": {"handle": person.handle, "display_name": person.display_name} if person else None},
        "article": {"id": s.article_id, "slug": view.slug,
                    "title": view.article.title if view.article else None,
                    "url": view.article.url if view.article else None},
        "explanation": s.explanation, "alternatives": s.alternatives,
        "decided_by": s.decided_by, "reason": s.reason, "external_ref": s.external_ref,
        "created_at": s.created_at.isoformat(), "updated_at": s.updated_at.isoformat(),
        "published_at": s.published_at.isoformat() if s.published_at else None,
    }


def _one(request: Request, suggestion_id: int) -> dict[str, Any]:
    with session_scope(engine_of(request)) as session:
        view = queries.get_suggestion(suggestion_id, session=session)
        if view is None:
            raise NotFound(f"suggestion {suggestion_id} does not exist")
        events = queries.history(suggestion_id, session=session)
    body = suggestion_json(view, full=True)
    body["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from_status": e.from_status,
         "to_status": e.to_status, "reason": e.reason, "detail": e.detail} for e in events
    ]
    return body


@router.get("/suggestions")
def list_suggestions(
    request: Request,
    user: ApiUser,
    status: str = "pending",
    network: str = "",
    lang: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Suggestions newest first; `status=all` for every status."""
    filters = queries.Filters(status, network, lang).clean()
    with session_scope(engine_of(request)) as session:
        views, total = queries.list_suggestions(filters, limit, offset, session=session)
    return {"total": total, "limit": limit, "offset": offset, "items": [suggestion_json(v) for v in views]}


@router.get("/suggestions/{suggestion_id}")
def get_suggestion(request: Request, suggestion_id: int, user: ApiUser) -> dict[str, Any]:
    """One suggestion with its full post text and audit history."""
    return _one(request, suggestion_id)


@router.post("/suggestions/{suggestion_id}/approve")
def approve(request: Request, suggestion_id: int, user: ApiUser, body: ApproveBody | None = None) -> dict[str, Any]:
    """Approve, optionally replacing the reply text."""
    text = body.text if body else None
    with session_scope(engine_of(request)) as session:
        lifecycle.approve(suggestion_id, user, text=text, session=session)
    return _one(request, suggestion_id)


@router.post("/suggestions/{suggestion_id}/edit")
def edit(request: Request, suggestion_id: int, user: ApiUser, body: EditBody) -> dict[str, Any]:
    """Replace the reply text of a pending or approved suggestion."""
    with session_scope(engine_of(request)) as session:
        lifecycle.edit(suggestion_id, user, body.text, session=session)
    return _one(request, suggestion_id)


@router.post("/suggestions/{suggestion_id}/reject")
def reject(request: Request, suggestion_id: int, user: ApiUser, body: RejectBody) -> dict[str, Any]:
    """Reject with a reason."""
    with session_scope(engine_of(request)) as session:
        lifecycle.reject(suggestion_id, user, body.reason, session=session)
    return _one(request, suggestion_id)


@router.get("/stats")
def get_stats(request: Request, user: ApiUser) -> dict[str, Any]:
    """Counts of posts, questions and suggestions by status, network and language; channel states."""
    with session_scope(engine_of(request)) as session:
        return queries.stats(session=session).as_json()
