"""Language detection on short posts, restricted to the configured languages."""

from __future__ import annotations

import pytest

from listener.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do I connect my own domain to my site?", "en"),
        ("¿Cómo conecto mi dominio a mi página web?", "es"),
        ("Comment puis-je connecter mon nom de domaine ?", "fr"),
        ("Wie verbinde ich meine eigene Domain mit der Website?", "de"),
    ],
)
def test_detects_common_languages(text: str, expected: str) -> None:
    assert detect_language(text, ["en", "es", "fr", "de"])[0] == expected


def test_handles_links_and_tags_are_ignored() -> None:
    code, _ = detect_language("@siteforge #help https://x.example/a Wie ändere ich mein Passwort?", ["en", "de"])
    assert code == "de"


def test_no_letters_means_no_answer() -> None:
    assert detect_language("🔥🔥 123 !!!") == (None, 0.0)


def test_low_confidence_can_be_refused() -> None:
    code, confidence = detect_language("ok", ["en", "es", "fr", "de"], min_confidence=0.99)
    assert code is None and confidence < 0.99


def test_unknown_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="xx"):
        detect_language("hello there", ["en", "xx"])
