"""The suggestion lifecycle: the only code that writes Suggestion.status, and it audits every change."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from core.errors import InvalidTransition, NotFound
from core.models import AuditEvent, Suggestion, utcnow
from core.models import SuggestionStatus as S

log = logging.getLogger(__name__)

ALLOWED: dict[S, set[S]] = {
    S.PENDING: {S.APPROVED, S.REJECTED},
    S.APPROVED: {S.PUBLISHING, S.REJECTED, S.PENDING},
    S.PUBLISHING: {S.PUBLISHED, S.FAILED},
    S.FAILED: {S.APPROVED, S.REJECTED},
    S.PUBLISHED: set(),
    S.REJECTED: {S.PENDING},
}
EDITABLE = {S.PENDING, S.APPROVED}


def _audit(
    suggestion_id: int,
    actor: str,
    action: str,
    *,
    session: Session,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            suggestion_id=suggestion_id,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            detail=detail or {},
        )
    )


def get(suggestion_id: int, *, session: Session) -> Suggestion:
    """The suggestion with this id, or NotFound."""
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(f"suggestion {suggestion_id} does not exist")
    return suggestion


def create(suggestion: Suggestion, actor: str = "pipeline", *, session: Session) -> Suggestion:
    """Queue a new pending suggestion and audit its creation."""
    suggestion.status = S.PENDING
    session.add(suggestion)
    session.flush()
    assert suggestion.id is not None
    _audit(suggestion.id, actor, "created", session=session, to_status=S.PENDING,
           detail={"score": suggestion.score, "article_id": suggestion.article_id})
    return suggestion


def transition(
    suggestion_id: int,
    to: S,
    actor: str,
    *,
    session: Session,
    reason: str | None = None,
    expected: S | None = None,
    values: dict[str, Any] | None = None,
) -> Suggestion:
    """Move a suggestion to `to` with a compare-and-set, so two racing workers cannot both win."""
    current = S(get(suggestion_id, session=session).status)
    if expected is not None and current != expected:
        raise InvalidTransition(f"suggestion {suggestion_id} is {current}, not {expected}")
    if to not in ALLOWED[current]:
        raise InvalidTransition(f"suggestion {suggestion_id} cannot go from {current} to {to}")
    changes: dict[str, Any] = {"status": to, "updated_at": utcnow(), **(values or {})}
    if to in (S.APPROVED, S.REJECTED):
        changes.setdefault("decided_by", actor)
        changes.setdefault("reason", reason)
    result = session.execute(
        update(Suggestion)
        .where(col(Suggestion.id) == suggestion_id, col(Suggestion.status) == current)
        .values(**changes)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition(f"suggestion {suggestion_id} changed while moving to {to}; try again")
    _audit(suggestion_id, actor, to.value, session=session, from_status=current, to_status=to, reason=reason)
    session.expire_all()
    log.info("suggestion %d: %s -> %s by %s", suggestion_id, current, to, actor)
    return get(suggestion_id, session=session)


def approve(suggestion_id: int, actor: str, *, session: Session, text: str | None = None) -> Suggestion:
    """Approve (optionally with edited text) a pending suggestion."""
    if text is not None:
        edit(suggestion_id, actor, text, session=session)
    return transition(suggestion_id, S.APPROVED, actor, session=session)


def reject(suggestion_id: int, actor: str, reason: str, *, session: Session) -> Suggestion:
    """Reject with a reason, which support leads use to tune the index."""
    if not reason.strip():
        raise InvalidTransition("a rejection needs a reason")
    return transition(suggestion_id, S.REJECTED, actor, session=session, reason=reason.strip())


def edit(suggestion_id: int, actor: str, text: str, *, session: Session) -> Suggestion:
    """Replace the reply text of a suggestion that is not yet on its way out."""
    suggestion = get(suggestion_id, session=session)
    if S(suggestion.status) not in EDITABLE:
        raise InvalidTransition(f"suggestion {suggestion_id} is {suggestion.status}; it can no longer be edited")
    if not text.strip():
        raise InvalidTransition("the reply text cannot be empty")
    before = suggestion.reply_text
    result = session.execute(
        update(Suggestion)
        .where(col(Suggestion.id) == suggestion_id, col(Suggestion.status) == suggestion.status)
        .values(reply_text=text.strip(), updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition(f"suggestion {suggestion_id} changed while editing; try again")
    _audit(suggestion_id, actor, "edited", session=session, detail={"before": before, "after": text.strip()})
    session.expire_all()
    return get(suggestion_id, session=session)


# The publishing lease is the claim's `updated_at`; it lives here with the status it guards.
def renew_stale_lease(suggestion_id: int, *, stale_before: datetime, now: datetime, session: Session) -> bool:
    """Take over a publishing claim older than `stale_before` (compare-and-set on updated_at; status untouched)."""
    result = session.execute(
        update(Suggestion)
        .where(col(Suggestion.id) == suggestion_id, col(Suggestion.status) == S.PUBLISHING,
               col(Suggestion.updated_at) < stale_before)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def set_lease_expiry(suggestion_id: int, expires: datetime, lease_length: timedelta, *, session: Session) -> None:
    """Make our own claim expire at `expires` (after a 429 the retry may come as soon as the limit resets)."""
    session.execute(
        update(Suggestion)
        .where(col(Suggestion.id) == suggestion_id, col(Suggestion.status) == S.PUBLISHING)
        .values(updated_at=expires - lease_length)
        .execution_options(synchronize_session=False)
    )


def audit(suggestion_id: int, actor: str, action: str, detail: dict[str, Any], *, session: Session,
          reason: str | None = None) -> None:
    """An audit event that records no status change (dry runs, lease take-overs, uncertainty)."""
    _audit(suggestion_id, actor, action, session=session, reason=reason, detail=detail)
