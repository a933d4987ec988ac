"""Publishing approved suggestions at most once: claim with a lease, guard, post, and verify after a crash.

Flow per approved suggestion: dry run unless `[<network>] publish = true` (an audit event "dry_run" records what
would have been sent, once; the suggestion stays approved so that switching publishing on later sends it for
real, and dry runs never count as answers in reports) → per-person cooldown (defers, stays approved) → claim
(approved → publishing, a compare-and-set; the claim's time is the lease) → hard guardrails (opted out, own
account, thread already answered, no-link subreddits; a refusal marks it failed with the reason) → post.
A claim older than the lease (the worker died, or the outcome of the call is unknown) is taken over by a later
run, which first looks for our reply in the thread and only posts when there is none.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, or_, select

from core.db import session_scope
from core.errors import ChannelAuthError, ChannelError, InvalidTransition, PublishError, RateLimited
from core.models import Post, Suggestion, utcnow
from core.models import SuggestionStatus as S
from core.settings import Settings
from listener.base import Channel, Reply
from responders import lifecycle
from responders.lifecycle import audit, renew_stale_lease, set_lease_expiry
from responders.publishing_guards import check, has_event, in_cooldown, lease, publish_enabled

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PublishReport:
    """The outcome for each suggestion looked at: published, dry_run, deferred, failed, uncertain, …"""

    outcomes: dict[int, str] = field(default_factory=dict)

    @property
    def counts(self) -> Counter[str]:
        """How many suggestions ended with each outcome."""
        return Counter(self.outcomes.values())


def _reply(s: Suggestion, post: Post, text: str | None = None) -> Reply:
    return Reply(post.external_id, post.thread_id, text or s.reply_text, f"signpost-suggestion-{s.id}")


def _finish(sid: int, to: S, actor: str, *, engine: Engine, reason: str | None = None,
            ref: str | None = None, now: datetime | None = None) -> None:
    values = {"external_ref": ref, "published_at": now or utcnow()} if to == S.PUBLISHED else {"reason": reason}
    with session_scope(engine) as session:
        lifecycle.transition(sid, to, actor, session=session, expected=S.PUBLISHING, reason=reason, values=values)


def _uncertain(sid: int, actor: str, exc: BaseException, *, engine: Engine) -> str:
    log.warning("suggestion %d: outcome of publishing unknown (%s); re-checked after the lease", sid, exc)
    with session_scope(engine) as session:
        audit(sid, actor, "publish_uncertain", {"error": f"{type(exc).__name__}: {exc}"[:500]}, session=session)
    return "uncertain"


def publish_one(sid: int, channel: Channel | None, *, settings: Settings, engine: Engine,
                actor: str = "publisher", now: datetime | None = None) -> str:
    """Take one approved (or stale publishing) suggestion as far as it can go; returns the outcome."""
    now = now or utcnow()
    with session_scope(engine) as session:
        s = lifecycle.get(sid, session=session)
        post = session.get(Post, s.post_id)
        assert post is not None
        status = S(s.status)
        if not publish_enabled(settings, post.network):
            if status != S.APPROVED:
                return "publishing_off"
            if has_event(sid, "dry_run", session=session):
                return "dry_run_recorded"
            verdict = check(s, post, channel, settings=settings, session=session)
            audit(sid, actor, "dry_run", {"channel": post.channel, "in_reply_to": post.external_id,
                                          "text": verdict.text or s.reply_text, "verdict": verdict.action,
                                          "guardrail": verdict.reason}, session=session)
            log.info("suggestion %d: dry run (publishing is off for %s)", sid, post.network)
            return "dry_run"
        if channel is None or not channel.can_publish:
            return "unavailable"
        lease_length = lease(settings, post.network)
        reclaimed = status == S.PUBLISHING
        if reclaimed:
            if not renew_stale_lease(sid, stale_before=now - lease_length, now=now, session=session):
                return "claimed_elsewhere"
            audit(sid, actor, "lease_reclaimed", {"worker": WORKER_ID}, session=session)
        elif status != S.APPROVED:
            return "not_approved"
        elif in_cooldown(s, post, settings=settings, now=now, session=session):
            return "deferred"
        else:
            try:
                lifecycle.transition(sid, S.PUBLISHING, actor, session=session, expected=S.APPROVED,
                                     reason=f"claimed by {WORKER_ID}", values={"updated_at": now})
            except InvalidTransition:
                return "claimed_elsewhere"
    with session_scope(engine) as session:
        s = lifecycle.get(sid, session=session)
        post = session.get(Post, s.post_id)
        assert post is not None
        verdict = check(s, post, channel, settings=settings, session=session)
    if verdict.action == "refuse":
        _finish(sid, S.FAILED, actor, engine=engine, reason=verdict.reason)
        return "refused"
    reply = _reply(s, post, verdict.text)
    if reclaimed:
        find = getattr(channel, "find_reply", None)
        if find is None:
            _finish(sid, S.FAILED, actor, engine=engine, reason="a publish may have happened; check the thread")
            return "failed"
        try:
            found = find(reply)
        except ChannelError as exc:
            return _uncertain(sid, actor, exc, engine=engine)
        if found:
            _finish(sid, S.PUBLISHED, actor, engine=engine, ref=str(found), now=now,
                    reason="found our reply in the thread")
            return "published_found"
    try:
        ref = channel.publish(reply)
    except RateLimited as exc:
        with session_scope(engine) as session:
            reset = datetime.fromtimestamp(exc.reset_at, UTC) if exc.reset_at else now
            set_lease_expiry(sid, max(reset, now), lease_length, session=session)
        log.info("suggestion %d: rate limited; retried after %s", sid, exc.reset_at)
        return "rate_limited"
    except (PublishError, ChannelAuthError) as exc:
        _finish(sid, S.FAILED, actor, engine=engine, reason=str(exc)[:500])
        return "auth_error" if isinstance(exc, ChannelAuthError) else "failed"
    except Exception as exc:  # timeouts, 5xx, anything: the reply may or may not be out
        return _uncertain(sid, actor, exc, engine=engine)
    _finish(sid, S.PUBLISHED, actor, engine=engine, ref=ref, now=now)
    log.info("suggestion %d published on %s as %s", sid, channel.name, ref)
    return "published"


def publish_approved(settings: Settings, channels: list[Channel], *, engine: Engine, actor: str = "publisher",
                     limit: int = 100, only: str | None = None, now: datetime | None = None) -> PublishReport:
    """Publish (or dry-run) approved suggestions and retry stale claims; a channel's auth error stops that channel."""
    by_name = {c.name: c for c in channels}
    query = (select(Suggestion.id, Post.channel).join(Post, col(Post.id) == col(Suggestion.post_id))
             .where(col(Suggestion.status).in_([S.APPROVED, S.PUBLISHING])))
    if only:
        query = query.where(or_(Post.channel == only, Post.network == only))
    with session_scope(engine) as session:
        rows = session.exec(query.order_by(col(Suggestion.id)).limit(limit)).all()
    report = PublishReport()
    stopped: set[str] = set()
    for sid, channel_name in rows:
        if sid is None:
            continue
        if channel_name in stopped:
            report.outcomes[sid] = "channel_stopped"
            continue
        try:
            outcome = publish_one(sid, by_name.get(channel_name), settings=settings, engine=engine, actor=actor,
                                  now=now)
        except (InvalidTransition, ChannelError) as exc:
            log.warning("suggestion %d: %s", sid, exc)
            outcome = "error"
        if outcome in ("auth_error", "rate_limited"):
            stopped.add(channel_name)
        report.outcomes[sid] = outcome
    return report
