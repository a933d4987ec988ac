"""Deep links with UTM parameters, so help-site analytics can credit each reply."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def tracked_link(url: str, *, source: str, medium: str, campaign: str, content: str) -> str:
    """`url` with utm_source/medium/campaign/content set (existing query kept, old utm_* replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [
        ("utm_source", source),
        ("utm_medium", medium),
        ("utm_campaign", campaign),
        ("utm_content", content),
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
