"""Question detection v1: explains itself, works in en, es, fr, de, vetoes retweets and spam."""

from __future__ import annotations

import pytest

from listener.questions import detect_question


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("how do I connect my own domain", "en"),
        ("anyone know how to add paypal to my store", "en"),
        ("@siteforge my checkout is not working since yesterday", "en"),
        ("¿Cómo cambio la plantilla de mi web?", "es"),
        ("no puedo entrar a mi cuenta, ayuda", "es"),
        ("Comment ajouter un nom de domaine ?", "fr"),
        ("je n'arrive pas à publier mon site", "fr"),
        ("Wie kann ich meine Domain verbinden", "de"),
        ("Mein Shop funktioniert nicht mehr", "de"),
        ("Are there any discounts for nonprofits", "en"),
        ("can i use a domain I already own", "en"),
    ],
)
def test_questions_are_found_with_reasons(text: str, lang: str) -> None:
    verdict = detect_question(text, lang)
    assert verdict.is_question, verdict
    assert 0.5 <= verdict.score <= 1.0
    assert verdict.reasons and "no question cues" not in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Love the new editor, great job team! 🔥",
        "RT @siteforge: How do I add a blog? Read our guide",
        "BUY CHEAP FOLLOWERS now at www.spam.example",
        "What a great update",
        "Writing a tiny script to resize photos. will share when done",
        "Did about 300 redirects last year when I moved, no issues.",
        "ok",
        "",
    ],
)
def test_noise_is_not_a_question(text: str) -> None:
    verdict = detect_question(text)
    assert not verdict.is_question, verdict
    assert verdict.reasons


def test_language_unknown_checks_every_language() -> None:
    assert detect_question("Warum ist meine Seite so langsam", None).is_question


def test_huge_input_is_bounded() -> None:
    verdict = detect_question("blah " * 300_000 + "?")
    assert verdict.score <= 1.0
