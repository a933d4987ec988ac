"""Templates: one autoescaping Jinja2 environment, its filters, and `render` with the common context."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from responders.compose import MAX_REPLY_CHARS, reply_length
from signpost.web.security import csrf_token, session_user

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Characters that hide text or flip its direction: worth a warning before a reply goes out.
HIDDEN_CHARS = frozenset("\u200b\u200c\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

SIGNAL_LABELS = {
    "bm25": "BM25 word score",
    "bm25_rel": "BM25 vs. best article",
    "word_doc": "words ~ whole article",
    "cover": "question words covered",
    "word_ex": "words ~ best example",
    "word_lse": "words ~ all examples",
    "char_doc": "spelling ~ whole article",
    "char_ex": "spelling ~ best example",
    "fuzz": "fuzzy re-rank",
    "title_recall": "title words found",
    "fuzz_mean": "fuzzy ~ all examples vs. best article",
    "ratio": "closest wording vs. best article",
    "cos_max": "meaning ~ closest example",
    "cos_lse": "meaning ~ all examples",
    "cos_centroid": "meaning ~ whole article",
    "wcos_max": "meaning ~ closest example (normalised)",
    "wcos_lse": "meaning ~ all examples (normalised)",
    "wcos_centroid": "meaning ~ whole article (normalised)",
    "lexical": "word and spelling score",
}


def hidden_chars(text: str | None) -> int:
    """How many invisible or direction-changing characters `text` holds."""
    return sum(ch in HIDDEN_CHARS for ch in text or "")


def when(value: datetime | None) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM' (UTC), or an em dash."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def percent(value: float | None) -> str:
    """0.873 → '87%'."""
    return f"{value:.0%}" if value is not None else "—"


def reply_limit(network: str) -> int:
    """The reply length limit of a network."""
    return MAX_REPLY_CHARS.get(network, 3_000)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name: post and reply texts are untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(hidden_chars=hidden_chars, when=when, percent=percent)
    env.globals.update(reply_length=reply_length, reply_limit=reply_limit, signal_labels=SIGNAL_LABELS)
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> Response:
    """Render a page with the operator, CSRF token and flash messages filled in."""
    flashes = request.session.pop("flash", []) if session_user(request) else []
    context.setdefault("active", "")
    base = {"user": session_user(request), "csrf_token": csrf_token(request), "flashes": flashes}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def flash(request: Request, kind: str, message: str) -> None:
    """Queue a one-time message for the next page the operator sees."""
    request.session["flash"] = [*request.session.get("flash", []), {"kind": kind, "message": message}][-5:]
