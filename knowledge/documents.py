"""Plain records shared by the matcher: articles, labelled questions, candidates and match results."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArticleDoc:
    """One help article in one language; translations share `article_id`."""

    article_id: str
    lang: str
    title: str
    url: str
    examples: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabeledQuestion:
    """A question with the article it should match (`expected_id` None = out of scope)."""

    text: str
    expected_id: str | None
    lang: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One ranked article for a question, with a bounded confidence and a JSON-able explanation."""

    article_id: str
    lang: str
    title: str
    url: str
    score: float
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """The ranked candidates for one question and the language whose articles were searched."""

    candidates: list[Candidate]
    lang: str
    fell_back: bool = False

    @property
    def best(self) -> Candidate | None:
        """The top candidate, or None when nothing matched."""
        return self.candidates[0] if self.candidates else None
