"""Engagement refresh: current like/reply/repost/quote counts (X) and score/replies (Reddit) of our replies.

Each refresh is stored as a timestamped snapshot. Until a dedicated table exists, a snapshot is an audit event
of the suggestion with action "engagement" and the counts in `detail` (its `at` is the snapshot time).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session_scope
from core.errors import ChannelError
from core.models import Post, Suggestion
from core.models import SuggestionStatus as S
from listener.base import Channel
from responders.publishing_guards import audit

log = logging.getLogger(__name__)


def refresh_engagement(channels: list[Channel], *, engine: Engine, limit: int = 500) -> int:
    """Fetch counts for the newest published replies of each channel; returns how many snapshots were stored."""
    by_name = {c.name: c for c in channels}
    with session_scope(engine) as session:
        rows = session.exec(
            select(Suggestion.id, Suggestion.external_ref, Post.channel)
            .join(Post, col(Post.id) == col(Suggestion.post_id))
            .where(Suggestion.status == S.PUBLISHED, col(Suggestion.external_ref).is_not(None))
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
        with session_scope(engine) as session:
            for ref, values in counts.items():
                if ref in refs:
                    audit(refs[ref], "engagement", "engagement", {"ref": ref, **values}, session=session)
                    stored += 1
    return stored
