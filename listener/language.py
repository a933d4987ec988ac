"""Language detection with lingua, restricted to the languages Signpost is configured for."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "ja", "ru", "pl", "sv", "tr", "da", "zh")
# Handles, hashtags and links carry no language signal and mislead detectors on short posts.
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w_]+")


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except AttributeError as exc:
        raise ValueError(f"unknown ISO 639-1 language code: {code!r}") from exc


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    langs = [_language(c) for c in codes]
    if len(langs) < 2:
        langs.append(Language.ENGLISH if langs[0] != Language.ENGLISH else Language.SPANISH)
    return LanguageDetectorBuilder.from_languages(*langs).build()


def detect_language(
    text: str, languages: Iterable[str] = DEFAULT_LANGUAGES, min_confidence: float = 0.0
) -> tuple[str | None, float]:
    """The ISO 639-1 code of `text` among `languages` and lingua's confidence; None when unsure."""
    codes = tuple(sorted({c.lower() for c in languages}))
    stripped = _NOISE.sub(" ", text).strip()
    if not any(ch.isalpha() for ch in stripped):
        return None, 0.0
    values = _detector(codes).compute_language_confidence_values(stripped[:2000])
    if not values:
        return None, 0.0
    best = values[0]
    if best.value < min_confidence:
        return None, best.value
    return best.language.iso_code_639_1.name.lower(), best.value
