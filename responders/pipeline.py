"""The processing stage: new posts → question? → language → article match → pending suggestion."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import Person, Post, PostStatus, Suggestion
from core.settings import Settings
from knowledge.defaults import default_threshold
from knowledge.documents import MatchResult
from knowledge.matcher import Matcher, build_matcher, resolve_engine
from knowledge.store import article_ids, index_version, load_docs, stored_threshold
from listener.language import detect_language
from listener.questions import detect_question
from responders import lifecycle
from responders.compose import compose_reply
from responders.links import tracked_link

log = logging.getLogger(__name__)
MATCH_TEXT_CHARS = 2000


@dataclass
class ProcessReport:
    """Counts of what processing decided, by post status."""

    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def processed(self) -> int:
        """How many posts were processed."""
        return sum(self.statuses.values())


class MatcherCache:
    """Keeps the built matcher until the knowledge index changes."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._matcher: Matcher | None = None

    def get(self, settings: Settings, *, session: Session) -> Matcher | None:
        """The matcher for the current index (rebuilt when articles changed); None when it is empty."""
        key = (settings.matching.engine, settings.app.default_language, index_version(session=session))
        if key != self._key:
            docs = load_docs(session=session)
            self._key = key
            self._matcher = None
            if not docs:
                log.warning("the knowledge index is empty: questions are kept but none can be answered")
                return None
            engine, note = resolve_engine(settings.matching.engine)
            if note:
                log.warning(note)
            self._matcher = build_matcher(docs, engine=engine, default_lang=settings.app.default_language,
                                          cache_dir=settings.app.data_dir / "cache")
            log.info("matcher built over %d article variants", len(docs))
        return self._matcher


_CACHE = MatcherCache()


def matcher_for(settings: Settings, *, session: Session) -> Matcher | None:
    """The process-wide matcher for the current knowledge index."""
    return _CACHE.get(settings, session=session)


def threshold(settings: Settings, engine: str | None = None, *, session: Session | None = None) -> float:
    """The abstention threshold in force: settings, else the one stored by `kb calibrate`, else the shipped one."""
    if settings.matching.threshold is not None:
        return settings.matching.threshold
    used = engine or resolve_engine(settings.matching.engine)[0]
    stored = stored_threshold(used, session=session) if session is not None else None
    return stored if stored is not None else default_threshold(used)


def _language(post: Post, person: Person | None, settings: Settings) -> str:
    if post.lang and post.lang in settings.app.languages:
        return post.lang
    detected, _ = detect_language(f"{post.title or ''} {post.text}", settings.app.languages, min_confidence=0.5)
    if detected:
        return detected
    if person is not None and person.preferred_lang:
        return person.preferred_lang
    return settings.app.default_language


def _suggest(post: Post, person: Person | None, result: MatchResult, settings: Settings,
             ids: dict[str, int], *, session: Session) -> None:
    best = result.best
    assert best is not None and post.id is not None
    link = tracked_link(best.url, source=post.network, medium=settings.replies.utm_medium,
                        campaign=settings.replies.utm_campaign, content=best.article_id)
    text = compose_reply(lang=best.lang, title=best.title, link=link, network=post.network,
                         name=person.handle if person else None, templates=settings.replies.templates,
                         default_lang=settings.app.default_language)
    explanation = dict(best.explanation)
    explanation["article_id"] = best.article_id
    explanation["searched_lang"] = result.lang
    explanation["fell_back"] = result.fell_back
    lifecycle.create(
        Suggestion(
            post_id=post.id, article_id=ids.get(best.article_id), lang=best.lang, reply_text=text, link=link,
            score=best.score, explanation=explanation,
            alternatives=[{"article_id": c.article_id, "title": c.title, "score": c.score, "lang": c.lang}
                          for c in result.candidates[1:]],
        ),
        session=session,
    )


def _is_own(person: Person, settings: Settings) -> bool:
    own = {a.lstrip("@").casefold() for a in settings.app.own_accounts}
    return bool(own) and (person.handle or "").lstrip("@").casefold() in own


def process_post(post: Post, matcher: Matcher | None, settings: Settings, ids: dict[str, int], cut: float, *,
                 session: Session) -> str:
    """Decide one post's fate and, when it is an answerable question, queue a suggestion."""
    person = session.get(Person, post.person_id) if post.person_id else None
    lang = _language(post, person, settings)
    post.lang = lang
    verdict = detect_question(f"{post.title or ''}\n{post.text}", lang, settings.questions.min_score)
    post.is_question, post.question_score, post.question_reasons = (
        verdict.is_question, verdict.score, verdict.reasons)
    if not verdict.is_question:
        return PostStatus.NOT_QUESTION
    if person is not None:
        person.preferred_lang = person.preferred_lang or lang
        session.add(person)
        if person.opted_out:
            post.question_reasons = [*verdict.reasons, "author opted out"]
            return PostStatus.SKIPPED
        if _is_own(person, settings):
            post.question_reasons = [*verdict.reasons, "posted by our own account"]
            return PostStatus.SKIPPED
    if matcher is None:
        return PostStatus.NO_MATCH
    query = f"{post.title}. {post.text}" if post.title else post.text
    result = matcher.match(query[:MATCH_TEXT_CHARS], lang=lang, k=settings.matching.top_k)
    if result.best is None or result.best.score < cut:
        return PostStatus.NO_MATCH
    _suggest(post, person, result, settings, ids, session=session)
    return PostStatus.SUGGESTED


def process_new_posts(settings: Settings, *, engine: Engine, batch_size: int = 200) -> ProcessReport:
    """Process every post still marked new, one transaction per batch; a bad post cannot stop the rest."""
    report = ProcessReport()
    while True:
        with session_scope(engine) as session:
            posts = session.exec(
                select(Post).where(Post.status == PostStatus.NEW).order_by(Post.id).limit(batch_size)  # type: ignore[arg-type]
            ).all()
            if not posts:
                return report
            matcher = matcher_for(settings, session=session)
            ids = article_ids(session=session)
            cut = threshold(settings, matcher.engine, session=session) if matcher else 1.0
            for post in posts:
                try:
                    with session.begin_nested():
                        status = process_post(post, matcher, settings, ids, cut, session=session)
                except Exception as exc:  # one hostile post must not stop the queue
                    log.exception("post %s could not be processed", post.id)
                    status = PostStatus.SKIPPED
                    post.question_reasons = [f"processing failed: {type(exc).__name__}"]
                post.status = status
                session.add(post)
                report.statuses[status] += 1
