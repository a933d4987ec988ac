"""A channel that replays a JSONL file of recorded posts (demo, load tests, backfills)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from core.errors import ChannelError, NotConfigured
from core.settings import Settings
from listener.base import Author, Channel, Cursor, FetchedPost, Reply
from listener.text import clean_text, parse_time

log = logging.getLogger(__name__)


def post_from_record(record: dict[str, Any]) -> FetchedPost:
    """A FetchedPost from one replay record; raises ChannelError when required keys are missing."""
    try:
        network = str(record["network"])
        external_id = str(record["external_id"])
        raw_text = str(record["text"])
    except KeyError as exc:
        raise ChannelError(f"replay record lacks {exc.args[0]!r}") from exc
    author = record.get("author") or {}
    return FetchedPost(
        network=network,
        external_id=external_id,
        text=clean_text(raw_text),
        author=Author(str(author["id"]), author.get("handle"), author.get("name")) if author.get("id") else None,
        title=clean_text(record.get("title")) or None,
        url=record.get("url"),
        posted_at=parse_time(record.get("created_at")),
        thread_id=record.get("thread_id"),
        in_reply_to=record.get("in_reply_to"),
        lang=record.get("lang"),
    )


class ReplayChannel:
    """Reads posts from a JSONL file in batches; the cursor is the next line number."""

    network = "replay"
    can_publish = False
    max_reply_chars = 280
    kind: ClassVar[str] = "replay"

    def __init__(self, path: Path, name: str = "replay", batch_size: int = 1000, interval_seconds: int = 60):
        self.path = path
        self.name = name
        self.batch_size = batch_size
        self.interval_seconds = interval_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> list[Channel]:
        """One replay channel when `[replay] enabled` and a path is set."""
        if not settings.replay.enabled or settings.replay.path is None:
            raise NotConfigured("replay: set [replay] enabled = true and path")
        return [cls(settings.replay.path)]

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """The next batch of records after line `cursor['line']`; bad lines are logged and skipped."""
        start = int(cursor.get("line", 0))
        posts: list[FetchedPost] = []
        line_no = start
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                for line_no, line in enumerate(handle, start=1):
                    if line_no <= start:
                        continue
                    if not line.strip():
                        continue
                    try:
                        posts.append(post_from_record(json.loads(line)))
                    except (ValueError, ChannelError) as exc:
                        log.warning("%s:%d: skipped bad replay record: %s", self.path, line_no, exc)
                    if len(posts) >= self.batch_size:
                        break
        except OSError as exc:
            raise ChannelError(f"replay: cannot read {self.path}: {exc}") from exc
        return posts, {"line": max(line_no, start)}

    def publish(self, reply: Reply) -> str:
        """Replayed posts cannot be answered."""
        raise ChannelError("the replay channel cannot publish")

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Replayed posts have no engagement."""
        return {}
