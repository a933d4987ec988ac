"""RSS/Atom blog and comment feeds as a read-only channel: bounded conditional GET, then feedparser."""

from __future__ import annotations

import codecs
import html
import io
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit
from urllib.request import url2pathname

import charset_normalizer
import feedparser
import requests

from core import errors
from core.errors import ChannelError, ConfigError, TransientChannelError
from core.settings import FeedSettings, Settings
from listener.base import Author, Channel, Cursor, FetchedPost, Reply
from listener.text import clean_text, content_hash

log = logging.getLogger(__name__)

NETWORK = "feed"
USER_AGENT = "Signpost/0.1 (feed reader; +https://github.com/signpost)"
ACCEPT = "application/atom+xml, application/rss+xml, application/rdf+xml, application/xml;q=0.9, */*;q=0.1"
ID_LIMIT = 300  # Post.external_id / thread_id / in_reply_to
AUTHOR_LIMIT = 200  # Person.external_id / handle
TITLE_LIMIT = 500
_CHUNK = 64 * 1024
_KEPT_HEADERS = ("content-type", "content-location", "content-language", "etag", "last-modified")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"'][A-Za-z0-9._:-]+", re.IGNORECASE)
_LANG = re.compile(r"^[a-z]{2,3}$")


def _bounded(value: str, limit: int) -> str:
    """`value` if it fits in `limit` characters, else a stable shortened form ending in a hash."""
    return value if len(value) <= limit else f"{value[: limit - 17]}#{content_hash(value)[:16]}"


def _primary_lang(tag: object) -> str | None:
    """The primary subtag of a language tag ('pt-BR' -> 'pt'), lowercase, or None if not a language."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower() if isinstance(tag, str) else ""
    return primary if _LANG.match(primary) else None


def _utc(parsed: object) -> datetime | None:
    """A tz-aware UTC datetime from feedparser's UTC struct_time."""
    try:
        return datetime(*parsed[:6], tzinfo=UTC) if isinstance(parsed, time.struct_time) else None
    except (ValueError, OverflowError):
        return None


def with_charset_hint(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for feedparser, plus a guessed charset when none is declared and the body is not UTF-8."""
    out = {key.lower(): value for key, value in headers.items()}
    content_type = out.get("content-type", "")
    mime = content_type.split(";")[0].strip() or "application/xml"
    if "charset=" in content_type.lower() or body.startswith(_BOMS) or _XML_ENCODING.match(body[:512]):
        return out
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(body[:200_000]).best()
        if best is not None:
            log.debug("no declared encoding; guessed %s", best.encoding)
            out["content-type"] = f"{mime}; charset={best.encoding}"
    return out


class FeedChannel:
    """One RSS/Atom feed (a blog's posts or its comments); it reads and never publishes."""

    network = NETWORK
    can_publish = False
    max_reply_chars = 0

    def __init__(self, feed: FeedSettings, session: requests.Session | None = None) -> None:
        self.feed = feed
        self.url = feed.url.strip()
        self.name = _bounded(f"feed:{feed.name or self.url}", 200)
        self.interval_seconds = feed.interval_seconds
        scheme = urlsplit(self.url).scheme.lower()
        self._is_http = scheme in ("http", "https")
        if not self._is_http and scheme not in ("", "file") and not re.match(r"^[A-Za-z]:[\\/]", self.url):
            raise ConfigError(f"[[feeds]] url: {self.url!r}: expected http(s)://, file:// or a file path")
        self._session = session or requests.Session()
        self._reported: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> list[Channel]:
        """One channel per enabled `[[feeds]]` entry; NotConfigured when there is none."""
        channels: list[Channel] = [cls(feed) for feed in settings.feeds if feed.enabled]
        if not channels:
            raise errors.NotConfigured("feeds: no enabled [[feeds]] entries")
        names = [channel.name for channel in channels]
        if duplicates := sorted({name for name in names if names.count(name) > 1}):
            raise ConfigError(f"[[feeds]] name: duplicate channel name {duplicates[0]!r}; set distinct names")
        return channels

    def fetch_since(self, cursor: Cursor) -> tuple[list[FetchedPost], Cursor]:
        """All entries of the feed now (the database dedupes) and the conditional-GET cursor."""
        cursor = dict(cursor or {})
        fetched = self._get(cursor) if self._is_http else self._read_file()
        if fetched is None:
            log.debug("%s: not modified", self.name)
            return [], cursor
        body, headers, base = fetched
        parsed = self._parse(body, headers, base)
        posts = self._to_posts(parsed)
        log.info("%s: %d entries", self.name, len(posts))
        return posts, {"etag": headers.get("etag"), "modified": headers.get("last-modified")}

    def publish(self, reply: Reply) -> str:
        """Feeds are read-only."""
        raise ChannelError(f"{self.name}: feeds cannot publish replies")

    def fetch_engagement(self, refs: list[str]) -> dict[str, dict[str, int]]:
        """Feeds report no engagement."""
        return {}

    def _get(self, cursor: Cursor) -> tuple[bytes, dict[str, str], str] | None:
        """The body, kept headers and final URL; None on 304. Raises ChannelError subclasses."""
        request_headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        if cursor.get("etag"):
            request_headers["If-None-Match"] = str(cursor["etag"])
        if cursor.get("modified"):
            request_headers["If-Modified-Since"] = str(cursor["modified"])
        timeout = self.feed.timeout_seconds
        try:
            with self._session.get(self.url, headers=request_headers, timeout=timeout, stream=True) as resp:
                if resp.status_code == 304:
                    return None
                self._check_status(resp)
                body = self._read_stream(resp, time.monotonic() + timeout * 3)
                kept = ((key, resp.headers.get(key, "")) for key in _KEPT_HEADERS)
                headers = {key: value for key, value in kept if value and len(value) < 512}  # small cursor
                return body, headers, resp.url
        except requests.Timeout as exc:
            raise TransientChannelError(f"{self.name}: timed out after {timeout}s: {self.url}") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientChannelError(f"{self.name}: connection failed fetching {self.url}: {exc}") from exc
        except requests.RequestException as exc:
            raise ChannelError(f"{self.name}: could not fetch {self.url}: {exc}") from exc

    def _check_status(self, resp: requests.Response) -> None:
        """Raise the ChannelError subclass that fits a non-2xx status."""
        status, where = resp.status_code, f"{self.name}: HTTP {resp.status_code} from {self.url}"
        if status == 429:
            retry = resp.headers.get("Retry-After", "").strip()
            raise errors.RateLimited(where, reset_at=time.time() + int(retry) if retry.isdigit() else None)
        if status in (401, 403):
            raise errors.ChannelAuthError(f"{where}: access refused")
        if status >= 500:
            raise TransientChannelError(f"{where}; will retry")
        if status in (404, 410):
            raise ChannelError(f"{where}: feed {'gone' if status == 410 else 'not found'}; check the url")
        if not 200 <= status < 300:
            raise ChannelError(where)

    def _read_stream(self, resp: requests.Response, deadline: float) -> bytes:
        """At most max_bytes of the (decoded) body; slower than the deadline is a timeout."""
        limit = self.feed.max_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                self._report("max_bytes", f"body cut at max_bytes={limit}")
                break
            if time.monotonic() > deadline:
                raise TransientChannelError(f"{self.name}: body of {self.url} arrived too slowly")
        return b"".join(chunks)[:limit]

    def _read_file(self) -> tuple[bytes, dict[str, str], str]:
        """A local feed file (path or file:// URL), read up to max_bytes."""
        is_url = self.url.lower().startswith("file:")
        path = Path(url2pathname(urlsplit(self.url).path)) if is_url else Path(self.url)
        try:
            with path.expanduser().open("rb") as handle:
                body = handle.read(self.feed.max_bytes)
        except OSError as exc:
            raise ChannelError(f"{self.name}: cannot read {path}: {exc.strerror or exc}") from exc
        return body, {"content-type": "application/xml"}, path.expanduser().resolve().as_uri()

    def _parse(self, body: bytes, headers: dict[str, str], base: str) -> Any:
        """feedparser's result; ChannelError when the body holds no feed at all."""
        if not body.strip():
            raise ChannelError(f"{self.name}: {self.url} returned an empty body, not a feed")
        hinted = with_charset_hint(body, headers)
        hinted["content-location"] = base
        try:
            parsed = feedparser.parse(io.BytesIO(body), response_headers=hinted, sanitize_html=True)
        except Exception as exc:  # feedparser is lenient; anything it raises is a body we cannot read
            raise ChannelError(f"{self.name}: could not parse {self.url}: {exc!r}") from exc
        if not parsed.get("version") and not parsed.get("entries"):
            reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
            raise ChannelError(f"{self.name}: {self.url} is not an RSS or Atom feed ({reason})")
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            self._report(type(problem).__name__, f"malformed feed, parsed what was possible: {problem}")
        return parsed

    def _to_posts(self, parsed: Any) -> list[FetchedPost]:
        """One post per readable entry, deduped by external_id (id, then link, then content hash)."""
        feed = parsed.get("feed", {})
        posts: list[FetchedPost] = []
        seen: set[str] = set()
        for entry in parsed.get("entries", []):
            try:
                post = self._to_post(entry, feed)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self._report("entry", f"skipped an entry that could not be read: {exc!r}")
                continue
            if post is None or post.external_id in seen:
                continue
            seen.add(post.external_id)
            posts.append(post)
        return posts

    def _to_post(self, entry: Any, feed: Any) -> FetchedPost | None:
        """A FetchedPost from one feedparser entry, or None when there is nothing to read."""
        title = clean_text(entry.get("title"), TITLE_LIMIT) or None
        text, body_lang = _entry_text(entry)
        link = str(entry.get("link") or "").strip() or None
        if not (text or title or link):
            return None
        raw_id = str(entry.get("id") or "").strip() or link or content_hash(title, text)
        reply_to = entry.get("thr_in-reply-to") or {}
        parent = feed.get("thr_in-reply-to") or {}
        thread = _post_link(reply_to.get("href")) or parent.get("href") or _post_link(link)
        extra: dict[str, Any] = {"feed_url": self.url}
        for key, source in (("comment_feed_url", "wfw_commentrss"), ("comments_url", "comments")):
            if entry.get(source):
                extra[key] = str(entry[source])
        title_lang = _primary_lang((entry.get("title_detail") or {}).get("language"))
        lang = body_lang or title_lang or _primary_lang(feed.get("language"))
        return FetchedPost(
            network=NETWORK,
            external_id=_bounded(raw_id, ID_LIMIT),
            text=text,
            author=_author(entry),
            title=title,
            url=link,
            posted_at=_utc(entry.get("published_parsed")) or _utc(entry.get("updated_parsed")),
            thread_id=_bounded(thread, ID_LIMIT) if thread else None,
            in_reply_to=_bounded(reply_to["ref"], ID_LIMIT) if reply_to.get("ref") else None,
            lang=lang,
            extra=extra,
        )

    def _report(self, key: str, message: str) -> None:
        """Log a feed problem at WARNING the first time per kind, then at DEBUG."""
        level = logging.DEBUG if key in self._reported else logging.WARNING
        if len(self._reported) < 64:
            self._reported.add(key)
        log.log(level, "%s: %s", self.name, message)


def _entry_text(entry: Any) -> tuple[str, str | None]:
    """Plain text of the entry's content (else summary) and that content's language."""
    candidates = list(entry.get("content") or [])
    if entry.get("summary_detail"):
        candidates.append(entry["summary_detail"])
    elif entry.get("summary"):
        candidates.append({"value": entry["summary"], "type": "text/html"})
    for detail in candidates:
        value = str(detail.get("value") or "")
        if detail.get("type") in ("text/plain", "text"):
            value = html.escape(value, quote=False)
        text = clean_text(value)
        if text:
            return text, _primary_lang(detail.get("language"))
    return "", None


def _post_link(link: str | None) -> str | None:
    """The blog post a comment permalink ('…/post/#comment-12') belongs to, else the link itself."""
    base, fragment = urldefrag(link or "")
    return (base if fragment.lower().startswith("comment") else link) or None


def _author(entry: Any) -> Author:
    """The entry's author, identified by email, then URL, then name; 'anonymous' when none."""
    detail = entry.get("author_detail") or {}
    name = clean_text(detail.get("name") or entry.get("author"), AUTHOR_LIMIT) or None
    email = str(detail.get("email") or "").strip().lower() or None
    href = str(detail.get("href") or "").strip() or None
    key = email or href or name or "anonymous"
    return Author(external_id=_bounded(key, AUTHOR_LIMIT), handle=name, display_name=name)
