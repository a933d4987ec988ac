"""Engagement refresh: like/reply/repost/quote counts (X) and score/replies (Reddit) of our published replies.

Each refresh stores one timestamped row per reply in `engagement_snapshot`, so growth can be read over time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import session_scope
from core.errors import ChannelError
from core.models import EngagementSnapshot, Post, Suggestion, utcnow
from core.models import SuggestionStatus as S
from listener.base import Channel

log = logging.getLogger(__name__)
DEFAULT_MAX_AGE = timedelta(days=30)


def refresh_engagement(channels: list[Channel], *, engine: Engine, limit: int = 500,
                       max_age: timedelta = DEFAULT_MAX_AGE, now: datetime | None = None) -> int:
    """Fetch counts for the newest published replies of each channel; returns how many snapshots were stored.

    Only replies published within `max_age` are refreshed (engagement settles; on X every lookup is a read).
    A channel that fails is logged and skipped; the others are still refreshed.
    """
    now = now or utcnow()
    by_name = {c.name: c for c in channels}
    with session_scope(engine) as session:
        rows = session.exec(
            select(Suggestion.id, Suggestion.external_ref, Post.channel)
            .join(Post, col(Post.id) == col(Suggestion.post_id))
            .where(Suggestion.status == S.PUBLISHED, col(Suggestion.external_ref).is_not(None),
                   col(Suggestion.published_at) >= now - max_age)
            .order_by(col(Suggestion.published_at).desc()).limit(limit)
        ).all()
    wanted: dict[str, dict[str, int]] = defaultdict(dict)
    for sid, ref, channel_name in rows:
        if sid is not None and ref and channel_name in by_name:
            wanted[channel_name][ref] = sid
    stored = 0
    for name, refs in wanted.items():
        try:
            counts = by_name[name].fetch_engagement(sorted(refs))
        except ChannelError as exc:
            log.warning("engagement of %s not refreshed: %s", name, exc)
            continue
        except Exception:  # a broken plug-in must not stop the other channels' refresh
            log.exception("engagement of %s not refreshed", name)
            continue
        with session_scope(engine) as session:
            for ref, values in counts.items():
                if ref in refs:
                    session.add(EngagementSnapshot(suggestion_id=refs[ref], channel=name, external_ref=ref,
                                                   counts=dict(values), taken_at=now))
                    stored += 1
        log.info("engagement of %s: %d snapshots", name, len(counts))
    return stored


def snapshots(suggestion_id: int, *, session: Session) -> list[EngagementSnapshot]:
    """The engagement snapshots of one suggestion, oldest first."""
    return list(session.exec(select(EngagementSnapshot).where(EngagementSnapshot.suggestion_id == suggestion_id)
                             .order_by(col(EngagementSnapshot.taken_at), col(EngagementSnapshot.id))).all())
