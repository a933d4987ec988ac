"""The HTML pages: the approval queue, a suggestion's detail, the knowledge index and the overview."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException

from core.db import session_scope
from core.errors import InvalidTransition, NotFound
from responders import lifecycle
from signpost.web import queries
from signpost.web.auth import form_user, page_user
from signpost.web.render import flash, render
from signpost.web.security import safe_next

log = logging.getLogger(__name__)
router = APIRouter()
PAGE_SIZE = 50
MAX_REPLY_FORM_CHARS = 10_000
MAX_REASON_CHARS = 2_000

User = Annotated[str, Depends(page_user)]
FormUser = Annotated[str, Depends(form_user)]


def engine_of(request: Request) -> Engine:
    """The migrated engine of the app's context."""
    engine: Engine = request.app.state.app_ctx.engine
    return engine


@router.get("/")
def queue(
    request: Request,
    user: User,
    status: str = "pending",
    network: str = "",
    lang: str = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The approval queue: newest first, filtered by status, network and language."""
    filters = queries.Filters(status, network, lang).clean()
    with session_scope(engine_of(request)) as session:
        views, total = queries.list_suggestions(filters, PAGE_SIZE, (page - 1) * PAGE_SIZE, session=session)
        options = queries.filter_options(session=session)
    params = {k: v for k, v in vars(filters).items() if v}
    here = "/?" + urlencode({**params, "page": page})
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "queue.html", active="queue", views=views, total=total, filters=filters,
                  options=options, page=page, pages=pages, here=here, query=urlencode(params))


@router.get("/suggestions/{suggestion_id}")
def detail(request: Request, suggestion_id: int, user: User) -> Response:
    """One suggestion: post, reply, why it matched, alternatives and its audit history."""
    with session_scope(engine_of(request)) as session:
        view = queries.get_suggestion(suggestion_id, session=session)
        if view is None:
            raise NotFound(f"suggestion {suggestion_id} does not exist")
        events = queries.history(suggestion_id, session=session)
    return render(request, "detail.html", active="queue", view=view, events=events,
                  here=f"/suggestions/{suggestion_id}")


def _act(request: Request, suggestion_id: int, back: str, next_id: str,
         action: Callable[[Session], str]) -> Response:
    target = safe_next(back)
    try:
        with session_scope(engine_of(request)) as session:
            message = action(session)
    except InvalidTransition as exc:
        flash(request, "error", f"#{suggestion_id}: {exc}")
        return RedirectResponse(f"{target}#s-{suggestion_id}", status_code=303)
    flash(request, "ok", message)
    anchor = f"#s-{next_id}" if next_id.isdigit() else ""
    return RedirectResponse(f"{target}{anchor}", status_code=303)


def _check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise InvalidTransition(f"the {what} is longer than {limit} characters")


@router.post("/suggestions/{suggestion_id}/approve")
def approve(
    request: Request,
    suggestion_id: int,
    user: FormUser,
    reply_text: Annotated[str | None, Form()] = None,
    back: Annotated[str, Form()] = "/",
    next_id: Annotated[str, Form()] = "",
) -> Response:
    """Approve, saving the reply text first when it was changed."""

    def action(session: Session) -> str:
        current = lifecycle.get(suggestion_id, session=session)
        text = reply_text.strip() if reply_text is not None else None
        if text is not None:
            _check_length(text, MAX_REPLY_FORM_CHARS, "reply")
        changed = text is not None and text != current.reply_text
        lifecycle.approve(suggestion_id, user, text=text if changed else None, session=session)
        return f"#{suggestion_id} approved" + (" with your edit" if changed else "")

    return _act(request, suggestion_id, back, next_id, action)


@router.post("/suggestions/{suggestion_id}/edit")
def edit(
    request: Request,
    suggestion_id: int,
    user: FormUser,
    reply_text: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
) -> Response:
    """Save an edited reply text without deciding yet."""

    def action(session: Session) -> str:
        _check_length(reply_text, MAX_REPLY_FORM_CHARS, "reply")
        lifecycle.edit(suggestion_id, user, reply_text, session=session)
        return f"#{suggestion_id} reply saved"

    return _act(request, suggestion_id, back, str(suggestion_id), action)


@router.post("/suggestions/{suggestion_id}/reject")
def reject(
    request: Request,
    suggestion_id: int,
    user: FormUser,
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
    next_id: Annotated[str, Form()] = "",
) -> Response:
    """Reject with a reason (required)."""

    def action(session: Session) -> str:
        _check_length(reason, MAX_REASON_CHARS, "reason")
        lifecycle.reject(suggestion_id, user, reason, session=session)
        return f"#{suggestion_id} rejected"

    return _act(request, suggestion_id, back, next_id, action)


@router.get("/knowledge")
def knowledge(request: Request, user: User, lang: str = "") -> Response:
    """The knowledge index, read-only: articles and their variants per language."""
    with session_scope(engine_of(request)) as session:
        view = queries.knowledge(session=session)
    shown = {lang: view.languages[lang]} if lang in view.languages else view.languages
    return render(request, "knowledge.html", active="knowledge", view=view, shown=shown, lang=lang)


@router.get("/overview")
def overview(request: Request, user: User) -> Response:
    """Counts of posts, questions and suggestions; channel states."""
    with session_scope(engine_of(request)) as session:
        stats = queries.stats(session=session)
    return render(request, "overview.html", active="overview", stats=stats)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness probe (no login needed, no data)."""
    return {"status": "ok"}


def not_found_page(request: Request, message: str) -> Response:
    """The 404 page."""
    return render(request, "error.html", status_code=404, title="Not found", message=message)


def error_page(request: Request, exc: HTTPException) -> Response:
    """Any other HTTP error as a page."""
    return render(request, "error.html", status_code=exc.status_code, title=f"Error {exc.status_code}",
                  message=str(exc.detail))
