"""The suggestion lifecycle: allowed moves only, every move audited, races lose cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import InvalidTransition
from core.models import AuditEvent, Post, Suggestion
from core.models import SuggestionStatus as S
from responders import lifecycle


def _pending(session: Session) -> int:
    post = Post(channel="c", network="twitter", external_id="1", content_hash="h", text="how?")
    session.add(post)
    session.flush()
    assert post.id is not None
    s = lifecycle.create(Suggestion(post_id=post.id, lang="en", reply_text="Hi!", link="https://x", score=0.9),
                         session=session)
    assert s.id is not None
    return s.id


def test_approve_edit_reject_are_audited(engine: Engine) -> None:
    with session_scope(engine) as session:
        sid = _pending(session)
        lifecycle.edit(sid, "maria", "Hi! Try this:", session=session)
        approved = lifecycle.approve(sid, "maria", session=session)
        assert approved.status == S.APPROVED and approved.decided_by == "maria"
        events = session.exec(select(AuditEvent).where(AuditEvent.suggestion_id == sid)
                              .order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        assert [e.action for e in events] == ["created", "edited", "approved"]
        assert events[1].detail == {"before": "Hi!", "after": "Hi! Try this:"}
        assert events[2].actor == "maria" and events[2].from_status == "pending"


def test_rejection_needs_a_reason_and_is_final_for_publishing(engine: Engine) -> None:
    with session_scope(engine) as session:
        sid = _pending(session)
        with pytest.raises(InvalidTransition, match="reason"):
            lifecycle.reject(sid, "maria", "  ", session=session)
        rejected = lifecycle.reject(sid, "maria", "wrong article", session=session)
        assert rejected.reason == "wrong article"
        with pytest.raises(InvalidTransition):
            lifecycle.transition(sid, S.PUBLISHING, "worker", session=session)


def test_published_cannot_be_edited_or_moved(engine: Engine) -> None:
    with session_scope(engine) as session:
        sid = _pending(session)
        lifecycle.approve(sid, "maria", session=session)
        lifecycle.transition(sid, S.PUBLISHING, "worker", session=session)
        lifecycle.transition(sid, S.PUBLISHED, "worker", session=session, values={"external_ref": "tw-1"})
        with pytest.raises(InvalidTransition):
            lifecycle.edit(sid, "maria", "late edit", session=session)
        with pytest.raises(InvalidTransition):
            lifecycle.transition(sid, S.PENDING, "maria", session=session)
        assert lifecycle.get(sid, session=session).external_ref == "tw-1"


def test_two_sessions_racing_to_claim_only_one_wins(engine: Engine) -> None:
    with session_scope(engine) as session:
        sid = _pending(session)
        lifecycle.approve(sid, "maria", session=session)
    with session_scope(engine) as first:
        lifecycle.transition(sid, S.PUBLISHING, "worker-1", session=first, expected=S.APPROVED)
    with pytest.raises(InvalidTransition), session_scope(engine) as second:
        lifecycle.transition(sid, S.PUBLISHING, "worker-2", session=second, expected=S.APPROVED)
    with session_scope(engine) as session:
        claims = session.exec(select(AuditEvent).where(AuditEvent.to_status == S.PUBLISHING)).all()
        assert [c.actor for c in claims] == ["worker-1"]
