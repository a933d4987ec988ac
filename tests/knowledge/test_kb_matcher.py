"""The lexical matcher: ranking, robustness on social text, bounded scores, language routing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import KnowledgeError
from knowledge.defaults import default_threshold
from knowledge.kbfiles import load_kb
from knowledge.matcher import LexicalMatcher, available_engines, build_matcher, resolve_engine
from knowledge.normalize import char_ngrams, normalize, word_tokens
from knowledge.signals import BASE_FEATURES, FEATURES


def test_normalize_social_text() -> None:
    text = "Sooo annoyed!!! @MyBank my #CardNotWorking 😡 https://t.co/x can't pay <b>now</b>"
    assert normalize(text) == "soo annoyed my card not working can not pay now"
    assert word_tokens("wecker für morgen", "de")[1] == "fur"
    assert "天気" in word_tokens(normalize("明日の天気"), "ja")
    assert normalize("") == "" and char_ngrams("") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When will my new card arrive?", "card_arrival"),
        ("I lost my card, what do I do?", "lost_or_stolen_card"),
        ("The ATM ate my card!", "card_swallowed"),
        ("How do I change my PIN?", "change_pin"),
        ("my pin is blocked", "pin_blocked"),
        ("#PinBlocked again 😡😡 @bank", "pin_blocked"),
        ("wen will my crad arive??", "card_arrival"),
        ("<p>I want a <b>refund</b> please</p>", "request_refund"),
    ],
)
def test_clear_cases_rank_first(banking_matcher: LexicalMatcher, text: str, expected: str) -> None:
    result = banking_matcher.match(text)
    assert result.best is not None and result.best.article_id == expected
    assert not result.fell_back and result.lang == "en"


@pytest.mark.parametrize(
    "text", ["", "   ", "😡😡😡", "!!!???", "a" * 1_000_000, "card " * 200_000, "<script>x</script>"]
)
def test_odd_inputs_do_not_crash(banking_matcher: LexicalMatcher, text: str) -> None:
    result = banking_matcher.match(text, k=3)
    assert len(result.candidates) <= 3
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)


def test_scores_bounded_sorted_and_explained(banking_matcher: LexicalMatcher) -> None:
    result = banking_matcher.match("how much does it cost to take cash out of an atm", k=5)
    assert len(result.candidates) == 5
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    explanation = result.candidates[0].explanation
    json.dumps(explanation)
    assert explanation["matched_terms"] and explanation["best_match"]
    assert abs(sum(explanation["shares"].values()) - 1.0) < 1e-3


def test_out_of_scope_scores_lower(banking_matcher: LexicalMatcher) -> None:
    inside = banking_matcher.match("my card still has not arrived").best
    outside = banking_matcher.match("what size wipers does this car take").best
    assert inside and outside and inside.score > default_threshold("lexical") > outside.score


def test_synonyms_expand_articles(eval_dir: Path) -> None:
    matcher = LexicalMatcher(load_kb(eval_dir / "kb_demo.jsonl"))
    best = matcher.match("is there a hole in the wall near me", lang="en").best
    assert best is not None and best.article_id == "atm-withdrawal"
    assert best.explanation["best_match"] == "hole in the wall"


def test_language_routing_given_and_detected(multi_matcher: LexicalMatcher) -> None:
    given = multi_matcher.match("Wecker auf 7 Uhr stellen", lang="de")
    assert (given.lang, given.fell_back, given.best and given.best.article_id) == (
        "de",
        False,
        "alarm_set_alarm",
    )
    detected = multi_matcher.match("Stel een wekker in voor morgenochtend om zes uur")
    assert detected.lang == "nl" and all(c.lang == "nl" for c in detected.candidates)
    ja = multi_matcher.match("明日の天気を教えて", lang="ja")
    assert ja.best is not None and ja.best.article_id == "weather_find"


def test_language_without_articles_falls_back(multi_matcher: LexicalMatcher) -> None:
    result = multi_matcher.match("Quel temps fera-t-il demain ?", lang="fr")
    assert result.fell_back and result.lang == "en"
    assert all(c.lang == "en" for c in result.candidates)


def test_build_matcher_engines(eval_dir: Path) -> None:
    docs = load_kb(eval_dir / "kb.jsonl")
    assert build_matcher(docs).engine == "lexical"
    with pytest.raises(KnowledgeError, match="unknown"):
        build_matcher(docs, engine="magic")
    with pytest.raises(KnowledgeError):
        default_threshold("magic")
    with pytest.raises(KnowledgeError):
        build_matcher([])


def test_semantic_without_extra_falls_back(eval_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge.encoder

    monkeypatch.setattr(knowledge.encoder, "semantic_available", lambda: False)
    assert available_engines() == ["lexical"]
    with pytest.raises(KnowledgeError, match=r"semantic engine needs: pip install 'signpost\[semantic\]'"):
        build_matcher(load_kb(eval_dir / "kb.jsonl"), engine="semantic")
    engine, note = resolve_engine("semantic")
    assert engine == "lexical" and note and "lexical" in note
    assert resolve_engine("lexical") == ("lexical", None)
    with pytest.raises(KnowledgeError, match="unknown"):
        resolve_engine("magic")


def test_profiles_full_and_base(eval_dir: Path, banking_matcher: LexicalMatcher) -> None:
    base = LexicalMatcher(load_kb(eval_dir / "kb.jsonl"), profile="base")
    assert banking_matcher.features == FEATURES and base.features == BASE_FEATURES
    assert len(base.weights) == len(BASE_FEATURES)
    best = base.match("When will my new card arrive?").best
    assert best is not None and best.article_id == "card_arrival"
    assert list(best.explanation["signals"]) == list(BASE_FEATURES)
    full = banking_matcher.match("When will my new card arrive?").best
    assert full is not None and list(full.explanation["signals"]) == list(FEATURES)
    with pytest.raises(KnowledgeError):
        LexicalMatcher(load_kb(eval_dir / "kb.jsonl"), profile="nope")
