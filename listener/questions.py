"""Question detection v1: transparent cues in several languages, each one named in the result."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Words that open a direct question, per language (accents stripped, lower case).
INTERROGATIVES: dict[str, tuple[str, ...]] = {
    "en": ("how", "what", "whats", "why", "where", "when", "who", "which", "anyone", "anybody", "any way",
           "any idea"),
    "es": ("como", "que", "por que", "porque", "donde", "cuando", "cual", "cuales", "quien", "puedo",
           "se puede", "alguien", "hay", "es posible", "existe", "debo"),
    "fr": ("comment", "pourquoi", "ou", "quand", "quel", "quelle", "quels", "quelles", "qui", "est-ce",
           "est ce", "puis-je", "peut-on", "quelqu'un", "y a-t-il", "dois-je", "combien"),
    "de": ("wie", "was", "warum", "wieso", "weshalb", "wo", "wann", "welche", "welcher", "welches", "wer",
           "kann", "koennt", "konnt", "gibt es", "ist es", "muss", "weiss jemand", "hat jemand", "habt ihr"),
    "pt": ("como", "o que", "por que", "porque", "onde", "quando", "qual", "quem", "posso", "alguem",
           "e possivel", "tem como"),
    "it": ("come", "cosa", "perche", "dove", "quando", "quale", "chi", "posso", "qualcuno", "si puo",
           "e possibile"),
    "nl": ("hoe", "wat", "waarom", "waar", "wanneer", "welke", "wie", "kan", "kun", "kunnen", "is er",
           "weet iemand"),
}

# English auxiliaries open a question only when inverted with a subject ("can I …", "is there …"),
# not in a statement with a dropped subject ("will share when done").
EN_AUXILIARIES = ("can", "could", "does", "do", "is", "are", "will", "would", "should", "did", "has", "have",
                  "am", "was", "were", "may", "shall")
EN_SUBJECTS = ("i", "you", "we", "they", "it", "he", "she", "there", "this", "that", "my", "your", "our",
               "the", "a", "an", "anyone", "anybody", "someone", "somebody", "u", "ya", "these", "those")

# Phrases that ask for help without a question form ("my checkout is not working").
HELP_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("help", "anyone know", "not working", "doesnt work", "does not work", "isnt working", "cant",
           "cannot", "can not", "unable to", "how to", "how do i", "trouble", "stuck", "broken", "error",
           "wondering", "no idea how", "any tips", "please advise", "keeps failing", "wont", "can i", "do i have to",
           "should i", "is it possible", "forgot my"),
    "es": ("ayuda", "no funciona", "no puedo", "no me deja", "alguien sabe", "error", "como hago",
           "no consigo", "me ayudan", "olvide mi", "no me llega"),
    "fr": ("aide", "ne marche pas", "ne fonctionne pas", "n'arrive pas", "narrive pas", "impossible de",
           "quelqu'un sait", "erreur", "bloque", "comment faire", "j'ai oublie"),
    "de": ("hilfe", "funktioniert nicht", "klappt nicht", "geht nicht", "kann nicht", "fehler",
           "weiss jemand", "komme nicht", "wie kann ich", "vergessen"),
    "pt": ("ajuda", "nao funciona", "nao consigo", "erro", "alguem sabe"),
    "it": ("aiuto", "non funziona", "non riesco", "errore", "qualcuno sa"),
    "nl": ("hulp", "werkt niet", "lukt niet", "fout", "weet iemand"),
}

# Cues of posts that are not questions to us: sharing, promotion, spam.
NOISE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("retweet", re.compile(r"^\s*rt\s+@", re.I)),
    ("promotion", re.compile(r"\b(buy|cheap|free)\s+(followers|likes|views)\b|\bgiveaway\b|\bpromo code\b"
                             r"|\bdm (me|us) (for|to)\b|\bwe'?re hiring\b|\bcheck out (my|our)\b", re.I)),
)

QUESTION_MARKS = "?¿？؟"
_SENTENCE_SPLIT = re.compile(r"[.!?¿？؟;:\n]+")
_LEADING_NOISE = re.compile(r"^(?:\s*(?:[@#][\w_]+|hi|hey|hello|hola|bonjour|salut|hallo|ola|ciao|so|ok|"
                            r"quick question|question|pregunta|frage)\b[\s,:-]*)+", re.I)
_WORDS = re.compile(r"[\w'-]+")
# Exclamations that open like questions ("what a day", "how cool").
_EXCLAMATION = re.compile(r"^(what an?|how (cool|nice|great|awesome|lovely)|que (bonito|bien)|quel(le)? (joie|plaisir)|"
                          r"wie (toll|schon|cool))\b")


@dataclass(frozen=True)
class QuestionVerdict:
    """Whether a post is a question, with a score in [0, 1] and the cues that decided it."""

    is_question: bool
    score: float
    reasons: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("’", "'")


def _starts_with(clause: str, phrases: tuple[str, ...], lang: str = "") -> str | None:
    tokens = _WORDS.findall(clause)[:4]
    if lang == "en" and len(tokens) >= 2 and tokens[0] in EN_AUXILIARIES and tokens[1] in EN_SUBJECTS:
        return f"{tokens[0]} {tokens[1]}"
    words = " ".join(tokens)
    for phrase in phrases:
        if words == phrase or words.startswith(phrase + " "):
            return phrase
    return None


def _contains(text: str, phrases: tuple[str, ...]) -> str | None:
    padded = " " + " ".join(_WORDS.findall(text.replace("'", ""))) + " "
    for phrase in phrases:
        if " " + phrase.replace("'", "") + " " in padded:
            return phrase
    return None


def detect_question(text: str, lang: str | None = None, min_score: float = 0.5) -> QuestionVerdict:
    """Score `text` as a question to answer; the reasons list every cue that counted."""
    folded = _fold(text[:5000])
    langs = [lang] if lang in INTERROGATIVES else list(INTERROGATIVES)
    score, reasons = 0.0, []
    if any(mark in folded for mark in QUESTION_MARKS):
        score += 0.55
        reasons.append("has a question mark")
    for clause in _SENTENCE_SPLIT.split(folded):
        clause = _LEADING_NOISE.sub("", clause.strip())
        if clause.startswith("¡") or _EXCLAMATION.match(clause):
            continue
        hit = next(((code, w) for code in langs if (w := _starts_with(clause, INTERROGATIVES[code], code))), None)
        if hit:
            score += 0.5
            reasons.append(f"a clause starts with '{hit[1]}' ({hit[0]})")
            break
    hit = next(((code, p) for code in langs if (p := _contains(folded, HELP_PHRASES[code]))), None)
    if hit:
        score += 0.5
        reasons.append(f"asks for help: '{hit[1]}' ({hit[0]})")
    for name, pattern in NOISE_PATTERNS:
        if pattern.search(text):  # a veto: shared or promotional posts are never ours to answer
            score = -1.0
            reasons.append(f"looks like {name}")
    if len(_WORDS.findall(folded)) < 3:
        score -= 0.3
        reasons.append("fewer than 3 words")
    score = max(0.0, min(1.0, score))
    if not reasons:
        reasons.append("no question cues")
    return QuestionVerdict(is_question=score >= min_score, score=round(score, 3), reasons=reasons)
