"""Helpers shared by the publishing tests: channels on the fakes, approved suggestions, simulated kills."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session_scope
from core.models import Post, Suggestion
from core.settings import RedditSettings, Settings, TwitterSettings
from listener.base import Reply
from listener.reddit import RedditChannel
from listener.twitter import TwitterChannel, make_client
from responders import lifecycle
from tests.fakes.reddit_server import OUR_NAME, RedditFake
from tests.fakes.twitter_server import OUR_USER, TwitterFake

TW_SECRETS = {k: SecretStr(f"test-{k}") for k in
              ("bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret")}
RD_SECRETS = {"client_id": SecretStr("test-client_id"), "client_secret": SecretStr("test-client_secret"),
              "username": SecretStr(OUR_NAME), "password": SecretStr("test-password")}


class Killed(BaseException):
    """A simulated process kill: not an Exception, so nothing in Signpost catches it."""


def settings_for(tw: TwitterFake | None = None, rd: RedditFake | None = None, publish: bool = True,
                 **extra: Any) -> Settings:
    """Settings with the channels pointed at the fakes (built directly; secrets as SecretStr)."""
    twitter = TwitterSettings(enabled=tw is not None, publish=publish, api_url=tw.base_url if tw else
                              "https://api.twitter.com", queries=["siteforge"], user_id=OUR_USER["id"], **TW_SECRETS)
    reddit = RedditSettings(enabled=rd is not None, publish=publish, api_url=rd.base_url if rd else
                            "https://oauth.reddit.com", subreddits=["siteforge"],
                            user_agent="python:signpost-test:0.1 (by /u/siteforge_help)", **RD_SECRETS)
    return Settings(twitter=twitter, reddit=reddit, **extra)


def twitter_channel(settings: Settings) -> TwitterChannel:
    """The X channel with a short client timeout."""
    return TwitterChannel(settings.twitter, client=make_client(settings.twitter, timeout=1.0))


def reddit_channel(settings: Settings) -> RedditChannel:
    """The Reddit channel with a short client timeout."""
    return RedditChannel(settings.reddit, timeout=1.0)


def approve_posts(engine: Engine, text: str = "This article explains it: https://help.example.com/a",
                  channel: str | None = None) -> list[int]:
    """A pending-then-approved suggestion for every stored post that has none; returns their ids."""
    ids = []
    with session_scope(engine) as session:
        taken = set(session.exec(select(Suggestion.post_id)).all())
        query = select(Post).order_by(col(Post.id))
        if channel:
            query = query.where(Post.channel == channel)
        for post in session.exec(query).all():
            if post.id in taken or post.id is None:
                continue
            s = lifecycle.create(Suggestion(post_id=post.id, lang="en", reply_text=text, link="https://help.x",
                                            score=0.9), session=session)
            assert s.id is not None
            lifecycle.approve(s.id, "maria", session=session)
            ids.append(s.id)
    return ids


class Flaky:
    """Wraps a channel: kills the 'process' before or after the real publish call when told to."""

    def __init__(self, inner: Any, kill_before: bool = False, kill_after: bool = False) -> None:
        self.inner = inner
        self.kill_before = kill_before
        self.kill_after = kill_after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def publish(self, reply: Reply) -> str:
        """Publish, possibly dying on either side of the call."""
        if self.kill_before:
            raise Killed("killed before publishing")
        ref = self.inner.publish(reply)
        if self.kill_after:
            raise Killed("killed after publishing")
        return str(ref)
