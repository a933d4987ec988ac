"""Reply text from a per-language template, kept within the channel's length limit."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

log = logging.getLogger(__name__)

# Limits of the reply box per network; X counts every link as 23 characters (t.co).
MAX_REPLY_CHARS = {"twitter": 280, "reddit": 10_000, "feed": 3_000}
TWITTER_LINK_CHARS = 23
_URL = re.compile(r"https?://\S+")

TEMPLATES: dict[str, str] = {
    "en": "Hi {name}! This article should help: {title} {link}",
    "es": "¡Hola {name}! Este artículo te puede ayudar: {title} {link}",
    "fr": "Bonjour {name} ! Cet article devrait vous aider : {title} {link}",
    "de": "Hallo {name}! Dieser Artikel sollte dir helfen: {title} {link}",
    "pt": "Olá {name}! Este artigo deve ajudar: {title} {link}",
    "it": "Ciao {name}! Questo articolo dovrebbe aiutarti: {title} {link}",
    "nl": "Hoi {name}! Dit artikel helpt je verder: {title} {link}",
}
NAMELESS = {"en": "there", "es": "", "fr": "", "de": "", "pt": "", "it": "", "nl": ""}


def reply_length(text: str, network: str) -> int:
    """Length as the network counts it."""
    if network == "twitter":
        return len(_URL.sub("x" * TWITTER_LINK_CHARS, text))
    return len(text)


def _render(template: str, name: str, title: str, link: str) -> str:
    text = template.format(name=name, title=title, link=link)
    return re.sub(r"\s+([!,])", r"\1", re.sub(r" {2,}", " ", text)).strip()


def compose_reply(
    *,
    lang: str,
    title: str,
    link: str,
    network: str,
    name: str | None = None,
    templates: Mapping[str, str] | None = None,
    default_lang: str = "en",
) -> str:
    """The reply in `lang` (else the default language), shortened to fit the network's limit."""
    merged = {**TEMPLATES, **(templates or {})}
    used = lang if lang in merged else default_lang
    template = merged[used]
    limit = MAX_REPLY_CHARS.get(network, 3_000)
    who = (name or NAMELESS.get(used, "")).lstrip("@")[:40]
    text = _render(template, who, title, link)
    if reply_length(text, network) <= limit:
        return text
    budget = limit - reply_length(_render(template, who, "", link), network) - 1
    short_title = title[: max(budget, 0)].rstrip()
    if budget < len(title):
        short_title = short_title[:-1].rstrip() + "…" if budget > 1 else ""
    text = _render(template, who, short_title, link)
    if reply_length(text, network) > limit:
        log.warning("reply template for %s does not fit %d characters; sending the link alone", lang, limit)
        text = link
    return text
