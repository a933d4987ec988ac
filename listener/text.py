"""Turning untrusted HTML or text from the outside into bounded, plain, normalized text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from datetime import UTC, datetime
from typing import Any

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

MAX_TEXT_CHARS = 20_000
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped, scripts and styles removed with their content."""
    if "<" not in markup and "&" not in markup:
        return markup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object"]):
        tag.decompose()
    return soup.get_text(" ")


def clean_text(raw: str | None, limit: int = MAX_TEXT_CHARS) -> str:
    """Sanitized plain text: no markup, no control or invisible characters, NFC, bounded length."""
    if not raw:
        return ""
    text = html_to_text(raw)
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def content_hash(*parts: str | None) -> str:
    """A stable SHA-256 over the given parts, used to dedupe posts that carry no id."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as a timezone-aware datetime (UTC when no zone is given); None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
