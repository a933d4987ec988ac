"""The knowledge index in the database: import, export and loading it as matcher documents."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from core.models import Article, ArticleVariant, Calibration, utcnow
from knowledge.documents import ArticleDoc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    """How an import changed the index."""

    articles_created: int
    variants_created: int
    variants_updated: int


def import_docs(docs: Sequence[ArticleDoc], default_lang: str = "en", *, session: Session) -> ImportReport:
    """Insert or update articles and their language variants; nothing is deleted."""
    created = v_created = v_updated = 0
    articles = {a.slug: a for a in session.exec(select(Article)).all()}
    for doc in docs:
        article = articles.get(doc.article_id)
        if article is None:
            article = Article(slug=doc.article_id, default_lang=default_lang)
            session.add(article)
            session.flush()
            articles[doc.article_id] = article
            created += 1
        assert article.id is not None
        variant = session.exec(
            select(ArticleVariant).where(ArticleVariant.article_id == article.id, ArticleVariant.lang == doc.lang)
        ).first()
        if variant is None:
            variant = ArticleVariant(article_id=article.id, lang=doc.lang, title=doc.title, url=doc.url)
            v_created += 1
        else:
            v_updated += 1
        variant.title, variant.url = doc.title, doc.url
        variant.examples, variant.synonyms = list(doc.examples), list(doc.synonyms)
        article.updated_at = utcnow()
        session.add_all([variant, article])
    session.flush()
    log.info("imported %d variants (%d new articles)", len(docs), created)
    return ImportReport(created, v_created, v_updated)


def load_docs(*, session: Session) -> list[ArticleDoc]:
    """Every active article variant as a matcher document."""
    rows = session.exec(
        select(Article.slug, ArticleVariant)
        .join(ArticleVariant, ArticleVariant.article_id == Article.id)  # type: ignore[arg-type]
        .where(Article.active == True)  # noqa: E712
        .order_by(Article.slug, ArticleVariant.lang)
    ).all()
    return [
        ArticleDoc(
            article_id=slug,
            lang=v.lang,
            title=v.title,
            url=v.url,
            examples=tuple(v.examples),
            synonyms=tuple(v.synonyms),
        )
        for slug, v in rows
    ]


def index_version(*, session: Session) -> tuple[int, str]:
    """A cheap fingerprint of the index (variant count, newest update) to know when to rebuild."""
    count = session.exec(select(func.count()).select_from(ArticleVariant)).one()
    newest = session.exec(select(func.max(Article.updated_at))).one()
    return int(count), str(newest)


def article_ids(*, session: Session) -> dict[str, int]:
    """Database ids of articles by slug."""
    return {slug: aid for slug, aid in session.exec(select(Article.slug, Article.id)).all() if aid is not None}


def save_calibration(calibration: Calibration, *, session: Session) -> Calibration:
    """Store a chosen threshold; the newest one per engine is the one in force."""
    session.add(calibration)
    session.flush()
    log.info("stored %s threshold %.4f", calibration.engine, calibration.threshold)
    return calibration


def stored_threshold(engine: str, *, session: Session) -> float | None:
    """The newest calibrated threshold stored for `engine`, if any."""
    row = session.exec(
        select(Calibration).where(Calibration.engine == engine)
        .order_by(Calibration.created_at.desc(), Calibration.id.desc())  # type: ignore[attr-defined, union-attr]
    ).first()
    return row.threshold if row else None
