"""Read-only queries behind the dashboard and the API; every write goes through responders.lifecycle."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.models import Article, ArticleVariant, AuditEvent, ChannelState, Person, Post, Suggestion, SuggestionStatus

log = logging.getLogger(__name__)
STATUSES = [s.value for s in SuggestionStatus]
LIST_TEXT_CHARS = 2_000


@dataclass
class SuggestionView:
    """A suggestion with its post, author and matched article variant, ready to display."""

    suggestion: Suggestion
    post: Post
    person: Person | None
    article: ArticleVariant | None
    slug: str | None

    @property
    def id(self) -> int:
        """The suggestion id."""
        assert self.suggestion.id is not None
        return self.suggestion.id


@dataclass
class Filters:
    """Queue filters from the query string; empty means any."""

    status: str = "pending"
    network: str = ""
    lang: str = ""

    def clean(self) -> Filters:
        """Unknown statuses become 'pending'; 'all' means any status."""
        status = self.status if self.status in {*STATUSES, "all"} else "pending"
        return Filters(status, self.network[:50], self.lang[:10])


def _variants(article_ids: set[int], *, session: Session) -> dict[int, tuple[str, list[ArticleVariant]]]:
    if not article_ids:
        return {}
    rows = session.exec(
        select(Article, ArticleVariant)
        .join(ArticleVariant, col(ArticleVariant.article_id) == col(Article.id))
        .where(col(Article.id).in_(article_ids))
    ).all()
    found: dict[int, tuple[str, list[ArticleVariant]]] = {}
    for article, variant in rows:
        assert article.id is not None
        found.setdefault(article.id, (article.slug, []))[1].append(variant)
    return found


def _views(rows: Sequence[Any], *, session: Session) -> list[SuggestionView]:
    variants = _variants({s.article_id for s, _, _ in rows if s.article_id is not None}, session=session)
    views = []
    for s, post, person in rows:
        slug, options = variants.get(s.article_id, (None, []))
        chosen = next((v for v in options if v.lang == s.lang), options[0] if options else None)
        views.append(SuggestionView(s, post, person, chosen, slug))
    return views


def _base_query() -> Any:
    return (
        select(Suggestion, Post, Person)
        .join(Post, col(Post.id) == col(Suggestion.post_id))
        .join(Person, col(Person.id) == col(Post.person_id), isouter=True)
    )


def list_suggestions(filters: Filters, limit: int = 50, offset: int = 0, *,
                     session: Session) -> tuple[list[SuggestionView], int]:
    """Suggestions matching the filters, newest first, and how many match in all."""
    query = _base_query()
    if filters.status != "all":
        query = query.where(col(Suggestion.status) == filters.status)
    if filters.network:
        query = query.where(col(Post.network) == filters.network)
    if filters.lang:
        query = query.where(col(Suggestion.lang) == filters.lang)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Suggestion.created_at).desc(), col(Suggestion.id).desc()).limit(limit).offset(offset)
    ).all()
    return _views(rows, session=session), int(total)


def get_suggestion(suggestion_id: int, *, session: Session) -> SuggestionView | None:
    """One suggestion with its post, author and article, or None."""
    rows = session.exec(_base_query().where(col(Suggestion.id) == suggestion_id)).all()
    views = _views(rows, session=session)
    return views[0] if views else None


def history(suggestion_id: int, *, session: Session) -> list[AuditEvent]:
    """The audit trail of a suggestion, oldest first."""
    return list(session.exec(
        select(AuditEvent).where(col(AuditEvent.suggestion_id) == suggestion_id).order_by(col(AuditEvent.id))
    ).all())


def filter_options(*, session: Session) -> dict[str, list[str]]:
    """The networks and languages that occur among suggestions, for the filter menus."""
    networks = session.exec(
        select(Post.network).join(Suggestion, col(Suggestion.post_id) == col(Post.id)).distinct()
    ).all()
    langs = session.exec(select(Suggestion.lang).distinct()).all()
    return {"status": [*STATUSES, "all"], "network": sorted(networks), "lang": sorted(langs)}


@dataclass
class Stats:
    """Counts for the overview page and /api/stats."""

    posts: int = 0
    questions: int = 0
    posts_by_status: dict[str, int] = field(default_factory=dict)
    suggestions_by_status: dict[str, int] = field(default_factory=dict)
    by_network: dict[str, dict[str, int]] = field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)
    channels: list[ChannelState] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "posts": self.posts, "questions": self.questions, "posts_by_status": self.posts_by_status,
            "suggestions_by_status": self.suggestions_by_status, "by_network": self.by_network,
            "by_language": self.by_language,
            "channels": [{"name": c.name, "kind": c.kind, "healthy": c.healthy, "posts_seen": c.posts_seen,
                          "last_poll_at": c.last_poll_at.isoformat() if c.last_poll_at else None,
                          "last_error": c.last_error} for c in self.channels],
        }


def stats(*, session: Session) -> Stats:
    """Posts, questions and suggestions by status, network and language; channel states."""
    result = Stats()
    post_rows = session.execute(
        sa_select(col(Post.network), col(Post.lang), col(Post.status), col(Post.is_question), func.count())
        .group_by(col(Post.network), col(Post.lang), col(Post.status), col(Post.is_question))
    ).all()
    by_status: Counter[str] = Counter()
    networks: dict[str, Counter[str]] = defaultdict(Counter)
    langs: dict[str, Counter[str]] = defaultdict(Counter)
    for network, lang, status, is_question, n in post_rows:
        by_status[status] += n
        for bucket in (networks[network], langs[lang or "?"]):
            bucket["posts"] += n
            bucket["questions"] += n if is_question else 0
    result.posts = sum(by_status.values())
    result.questions = sum(c["questions"] for c in networks.values())
    result.posts_by_status = dict(by_status.most_common())
    suggestion_rows = session.exec(
        select(Post.network, Suggestion.lang, Suggestion.status, func.count())
        .join(Post, col(Post.id) == col(Suggestion.post_id))
        .group_by(col(Post.network), col(Suggestion.lang), col(Suggestion.status))
    ).all()
    sug_status: Counter[str] = Counter({s: 0 for s in STATUSES})
    for network, lang, status, n in suggestion_rows:
        sug_status[status] += n
        for bucket in (networks[network], langs[lang]):
            bucket["suggestions"] += n
            bucket[status] += n
    result.suggestions_by_status = dict(sug_status)
    keys = ["posts", "questions", "suggestions", *STATUSES]
    result.by_network = {k: {x: v[x] for x in keys} for k, v in sorted(networks.items())}
    result.by_language = {k: {x: v[x] for x in keys}
                          for k, v in sorted(langs.items(), key=lambda kv: -kv[1]["posts"])}
    result.channels = list(session.exec(select(ChannelState).order_by(col(ChannelState.name))).all())
    return result


@dataclass
class KnowledgeView:
    """The knowledge index grouped by language."""

    languages: dict[str, list[tuple[Article, ArticleVariant]]]
    articles: int
    suggestions_per_article: dict[int, int]


def knowledge(*, session: Session) -> KnowledgeView:
    """Every article variant per language (ordered by title), with suggestion counts per article."""
    rows = session.exec(
        select(Article, ArticleVariant)
        .join(ArticleVariant, col(ArticleVariant.article_id) == col(Article.id))
        .order_by(col(ArticleVariant.lang), col(ArticleVariant.title))
    ).all()
    languages: dict[str, list[tuple[Article, ArticleVariant]]] = defaultdict(list)
    for article, variant in rows:
        languages[variant.lang].append((article, variant))
    counts = session.exec(
        select(Suggestion.article_id, func.count()).where(col(Suggestion.article_id).is_not(None))
        .group_by(col(Suggestion.article_id))
    ).all()
    ordered = dict(sorted(languages.items(), key=lambda kv: -len(kv[1])))
    return KnowledgeView(ordered, len({a.id for a, _ in rows}), {a: n for a, n in counts if a is not None})
