"""FeedChannel over real HTTP on 127.0.0.1: conditional GET, status codes, timeouts and transport faults."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.errors import ChannelAuthError, ChannelError, RateLimited, TransientChannelError
from core.settings import FeedSettings
from listener.feeds import FeedChannel
from tests.fakes.feed_server import FIXTURES, FeedServer

FEED = "signpost__wordpress_comments.rss"
LAST_MODIFIED = "Tue, 14 May 2024 09:12:44 GMT"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A fake feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


def channel_for(server: FeedServer, path: str, **options: object) -> FeedChannel:
    """A channel for `path` on the fake server."""
    return FeedChannel(FeedSettings(url=server.url(path), **options))


def test_etag_gives_304_on_the_second_fetch(server: FeedServer) -> None:
    server.serve("/feed", FEED, etag='"v1"')
    channel = channel_for(server, "/feed")
    posts, cursor = channel.fetch_since({})
    assert len(posts) == 4 and cursor == {"etag": '"v1"', "modified": None}
    assert "if-none-match" not in server.last("/feed").headers
    again, same = channel.fetch_since(cursor)
    assert again == [] and same == cursor
    assert server.count("/feed") == 2 and server.last("/feed").headers["if-none-match"] == '"v1"'


def test_last_modified_gives_304_on_the_second_fetch(server: FeedServer) -> None:
    server.serve("/feed", FEED, last_modified=LAST_MODIFIED)
    channel = channel_for(server, "/feed")
    posts, cursor = channel.fetch_since({})
    assert len(posts) == 4 and cursor == {"etag": None, "modified": LAST_MODIFIED}
    assert channel.fetch_since(cursor) == ([], cursor)
    assert server.last("/feed").headers["if-modified-since"] == LAST_MODIFIED


def test_a_changed_feed_is_fetched_again_with_the_new_validators(server: FeedServer) -> None:
    route = server.serve("/feed", FEED, etag='"v1"', last_modified=LAST_MODIFIED)
    channel = channel_for(server, "/feed")
    _, cursor = channel.fetch_since({})
    route.etag = '"v2"'
    posts, cursor2 = channel.fetch_since(cursor)
    assert len(posts) == 4 and cursor2["etag"] == '"v2"'
    sent = server.last("/feed").headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == LAST_MODIFIED
    assert "signpost" in sent["user-agent"].lower() and "rss" in sent["accept"]


@pytest.mark.parametrize(
    ("status", "error", "only_base_class"),
    [
        (404, ChannelError, True),
        (410, ChannelError, True),
        (400, ChannelError, True),
        (403, ChannelAuthError, False),
        (429, RateLimited, False),
        (500, TransientChannelError, False),
        (503, TransientChannelError, False),
    ],
)
def test_http_errors_map_to_channel_errors(
    server: FeedServer, status: int, error: type[ChannelError], only_base_class: bool
) -> None:
    server.serve("/feed", FEED, status=status, headers={"Retry-After": "30"} if status == 429 else {})
    with pytest.raises(error, match=str(status)) as caught:
        channel_for(server, "/feed").fetch_since({})
    if only_base_class:
        assert type(caught.value) is ChannelError
    if status == 429:
        assert isinstance(caught.value, RateLimited) and caught.value.reset_at is not None


def test_unregistered_path_is_a_404_channel_error(server: FeedServer) -> None:
    with pytest.raises(ChannelError, match="404"):
        channel_for(server, "/nothing-here").fetch_since({})


def test_slow_server_is_a_transient_timeout(server: FeedServer) -> None:
    server.serve("/slow", FEED, delay=10.0)
    with pytest.raises(TransientChannelError, match="timed out"):
        channel_for(server, "/slow", timeout_seconds=0.5).fetch_since({})


def test_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientChannelError, match="connection failed"):
        FeedChannel(FeedSettings(url=f"http://127.0.0.1:{port}/feed", timeout_seconds=2)).fetch_since({})


def test_truncated_body_is_transient(server: FeedServer) -> None:
    server.serve("/cut", FEED, truncate_at=700)
    with pytest.raises(TransientChannelError):
        channel_for(server, "/cut").fetch_since({})


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8", "application/octet-stream"])
def test_wrong_or_missing_content_type_still_parses(server: FeedServer, content_type: str | None) -> None:
    server.serve("/feed", FEED, content_type=content_type)
    posts, _ = channel_for(server, "/feed").fetch_since({})
    assert len(posts) == 4 and "öffnet" in posts[3].text


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    server.serve("/gz", "illformed__chardet__shiftjis.xml", gzip=True, content_type="application/atom+xml")
    (post,) = channel_for(server, "/gz").fetch_since({})[0]
    assert post.title == "DrecomRSSに記事投稿が反映されない…"
    assert "gzip" in server.last("/gz").headers["accept-encoding"]


def test_body_is_cut_at_max_bytes_and_what_parses_is_returned(server: FeedServer) -> None:
    server.serve("/big", "signpost__hostile_comments.atom", content_type="application/atom+xml")
    posts, _ = channel_for(server, "/big", max_bytes=4096).fetch_since({})
    assert [p.in_reply_to for p in posts[:2]] == [
        "tag:blog.acme.example,2024:post-298",
        "tag:blog.acme.example,2024:comment-2001",
    ]
    assert all(len(p.text) <= 4096 for p in posts)


def test_redirect_is_followed_and_relative_links_resolve_against_the_final_url(server: FeedServer) -> None:
    server.serve("/old", b"", status=301, headers={"Location": server.url("/blog/feed/")})
    body = (FIXTURES / "signpost__blog_posts.rss").read_bytes()
    server.serve("/blog/feed/", body)
    posts, _ = channel_for(server, "/old").fetch_since({})
    assert posts[0].extra["comment_feed_url"] == server.url("/2024/05/reset-your-password/feed/")
    assert server.count("/old") == 1 and server.count("/blog/feed/") == 1


def test_charset_declared_only_in_the_http_header(server: FeedServer) -> None:
    server.serve("/koi8", "illformed__chardet__koi8r.xml", content_type="text/xml; charset=koi8-r")
    channel = channel_for(server, "/koi8")
    (post,) = channel.fetch_since({})[0]
    assert post.title == "Как пережить новогоднюю ночь"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("examples__examples__rss20dc.xml", [("1983@example.org", "First of all", "en")]),
        (
            "wellformed__namespace__rss2.0NSwithModules.xml",
            [("http://www.pocketsoap.com/weblog/rssTests/rss2.0NSwithModules.xml#1", "Test Item - RSS2.0 w/ NS", "en")],
        ),
        ("wellformed__namespace__atomthreading.xml", []),  # feed-level thr:in-reply-to, no entries
        ("wellformed__base__http_item_wfw_commentRSS_base_docuri.xml", []),  # an item with nothing to read
    ],
)
def test_more_upstream_feeds(server: FeedServer, name: str, expected: list[tuple[str, str, str]]) -> None:
    server.serve(f"/{name}", name)
    posts, _ = channel_for(server, f"/{name}").fetch_since({})
    assert [(p.external_id, p.title, p.lang) for p in posts] == expected
