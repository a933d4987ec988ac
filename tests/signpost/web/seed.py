"""Seed data for the dashboard tests: the test knowledge index and five pending suggestions, some hostile."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import Article, Person, Post, PostStatus, Suggestion
from responders import lifecycle
from tests.factories import seed_articles

PASSWORD = "correct horse battery staple"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> how do I reset my password?'
LONG_TEXT = "How do I add products? " + "lorem ipsum dolor sit amet " * 40_000 + "THE-VERY-END"
RTL_TEXT = "\u202eevil\u202c how do I cancel my subscription?\u200b"


def _post(session: Any, n: int, network: str, text: str, *, handle: str, display: str | None = None,
          title: str | None = None, url: str | None = None) -> Post:
    person = Person(network=network, external_id=f"p{n}", handle=handle, display_name=display, preferred_lang="en")
    session.add(person)
    session.flush()
    post = Post(channel=f"test-{network}", network=network, external_id=f"e{n}", content_hash=f"h{n}",
                person_id=person.id, text=text, title=title, url=url, lang="en", is_question=True,
                question_score=0.9, question_reasons=["has a question mark"], status=PostStatus.SUGGESTED)
    session.add(post)
    session.flush()
    return post


def _suggest(session: Any, post: Post, slug: str, reply: str, score: float, **explain: Any) -> int:
    article = session.exec(select(Article).where(Article.slug == slug)).one()
    explanation = {"article_id": slug, "matched_terms": ["password", "reset"], "best_match": "I forgot my password",
                   "shares": {"bm25_rel": 0.5, "fuzz": 0.3, "char_doc": 0.2}, "signals": {"bm25_rel": 1.0},
                   "searched_lang": "en", "fell_back": False, **explain}
    assert post.id is not None
    s = lifecycle.create(Suggestion(post_id=post.id, article_id=article.id, lang="en", reply_text=reply,
                                    link=f"https://help.example.com/en/{slug}", score=score, explanation=explanation,
                                    alternatives=[{"article_id": "cancel-plan", "title": "Cancel your subscription",
                                                   "score": 0.12, "lang": "en"}]), session=session)
    assert s.id is not None
    return s.id


def seed_queue(engine: Engine) -> dict[str, int]:
    """The knowledge index plus five pending suggestions: plain, hostile, 1 MB long, RTL tricks, Reddit."""
    seed_articles(engine)
    with session_scope(engine) as session:
        ids = {}
        p = _post(session, 1, "twitter", "@shop how do I connect my own domain?", handle="ana",
                  url="https://x.com/ana/status/1")
        ids["domain"] = _suggest(session, p, "connect-domain", "Hi ana! This article should help: Connect your "
                                 "own domain https://help.example.com/en/connect-domain", 0.91)
        p = _post(session, 2, "twitter", HOSTILE, handle='<img src=x onerror="window.__pwned=1">',
                  display="<script>window.__pwned=1</script>", title="<b onmouseover=alert(1)>t</b>",
                  url="javascript:window.__pwned=1")
        ids["hostile"] = _suggest(session, p, "reset-password", "Hi! <script>window.__pwned=1</script> see "
                                  "https://help.example.com/en/reset-password", 0.8,
                                  best_match='<img src=x onerror="window.__pwned=1">',
                                  matched_terms=["<script>window.__pwned=1</script>"])
        p = _post(session, 3, "feed", LONG_TEXT, handle="longwinded")
        ids["long"] = _suggest(session, p, "add-products", "Hi! See https://help.example.com/en/add-products", 0.7)
        p = _post(session, 4, "twitter", RTL_TEXT, handle="\u202eeman")
        ids["rtl"] = _suggest(session, p, "cancel-plan", "Hi\u200b! See https://help.example.com/en/cancel-plan",
                              0.6)
        p = _post(session, 5, "reddit", "Forgot my password, can't log in. Help?", handle="bob",
                  url="https://www.reddit.com/r/shop/comments/5")
        ids["password"] = _suggest(session, p, "reset-password", "Hi bob! This article should help: Reset your "
                                   "password https://help.example.com/en/reset-password", 0.95)
    return ids
