"""Normalization and tokenization of short social-media text for lexical matching, per language."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from itertools import pairwise

import Stemmer

from listener.text import clean_text

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2_000
_SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "et": "estonian", "eu": "basque", "fi": "finnish", "fr": "french",
    "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "nl": "dutch", "no": "norwegian", "nb": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_ANY_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_REPEAT = re.compile(r"(\w)\1{2,}")
_NEG_CONTRACTION = re.compile(r"\b(can|won|ain|shan)[’']t\b|n[’']t\b", re.IGNORECASE)
_APOSTROPHE = re.compile(r"[’'`´]")
_IRREGULAR_NEG = {"can": "can not", "won": "will not", "ain": "is not", "shan": "shall not"}
# Latin letters with diacritics -> base letters (other scripts keep their marks: kana voicing, й, ...).
_LATIN_FOLD = {
    cp: "".join(c for c in unicodedata.normalize("NFKD", chr(cp)) if not unicodedata.combining(c))
    for cp in range(0xC0, 0x250)
    if unicodedata.normalize("NFKD", chr(cp)) != chr(cp)
}


def _expand_negation(match: re.Match[str]) -> str:
    head = match.group(1)
    return f" {_IRREGULAR_NEG[head.lower()]}" if head else " not"


def _split_hashtag(match: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", match.group(1)).replace("_", " ") + " "


def normalize(text: str | None) -> str:
    """Social text reduced to matchable words: no markup/URLs/handles/emoji, hashtags split, case-folded."""
    if not text:
        return ""
    text = text[: MAX_QUERY_CHARS * 4]
    if "<" in text or "&" in text or not text.isprintable():
        text = clean_text(text, limit=MAX_QUERY_CHARS)
    else:
        text = text[:MAX_QUERY_CHARS]
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    text = _NEG_CONTRACTION.sub(_expand_negation, text)
    text = _APOSTROPHE.sub("", text)
    text = text.casefold()
    text = _REPEAT.sub(r"\1\1", text)
    return " ".join(_ANY_TOKEN.findall(text))


def fold_accents(word: str) -> str:
    """A word with diacritics removed from Latin letters only."""
    return word.translate(_LATIN_FOLD) if not word.isascii() else word


@lru_cache(maxsize=64)
def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    algorithm = _SNOWBALL.get(lang.lower()[:2])
    return Stemmer.Stemmer(algorithm, 50_000) if algorithm else None


def has_stemmer(lang: str) -> bool:
    """True when a Snowball stemmer exists for the ISO 639-1 code."""
    return _stemmer(lang) is not None


def word_tokens(normalized: str, lang: str) -> list[str]:
    """Stemmed, accent-folded word tokens; CJK runs become character unigrams and bigrams."""
    if _HAS_CJK.search(normalized) is None:
        return _stem_fold(_ANY_TOKEN.findall(normalized), lang)
    words: list[str] = []
    cjk: list[str] = []
    for match in _TOKEN.finditer(normalized):
        run = match.group("cjk")
        if run:
            cjk.extend(run)
            cjk.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            words.append(match.group(0))
    return _stem_fold(words, lang) + cjk


def _stem_fold(words: list[str], lang: str) -> list[str]:
    stemmer = _stemmer(lang)
    if stemmer is not None and words:
        words = stemmer.stemWords(words)
    return [w.translate(_LATIN_FOLD) if not w.isascii() else w for w in words]


def word_bigrams(tokens: list[str]) -> list[str]:
    """Adjacent token pairs (a phrase signal), joined with a space."""
    return [f"{a} {b}" for a, b in pairwise(tokens)]


@lru_cache(maxsize=200_000)
def word_grams(word: str, low: int = 3, high: int = 5) -> tuple[str, ...]:
    """Character n-grams of one space-padded, accent-folded word (cached)."""
    padded = f" {fold_accents(word)} "
    size = len(padded)
    if size < low:
        return (padded,)
    return tuple(padded[i : i + n] for n in range(low, min(high, size) + 1) for i in range(size - n + 1))


def char_ngrams(normalized: str, low: int = 3, high: int = 5) -> list[str]:
    """Character n-grams inside space-padded accent-folded words (like scikit-learn's char_wb)."""
    grams: list[str] = []
    for token in _ANY_TOKEN.findall(normalized):
        grams.extend(word_grams(token, low, high))
    return grams
