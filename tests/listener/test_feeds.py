"""FeedChannel: parsing RSS/Atom with the real feedparser, encodings, sanitizing, dedupe, local files, settings."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import ChannelError, ConfigError, NotConfigured
from core.settings import FeedSettings, Settings, load_settings
from listener.base import Channel, Reply
from listener.feeds import FeedChannel
from listener.text import content_hash
from tests.fakes.feed_server import FIXTURES, FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A fake feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


def local(name: str, **options: object) -> FeedChannel:
    """A channel reading a fixture file by plain path."""
    return FeedChannel(FeedSettings(url=str(FIXTURES / name), **options))


def over_http(server: FeedServer, name: str, **route: object) -> FeedChannel:
    """A channel reading a fixture file served over HTTP at /<name>."""
    server.serve(f"/{name}", name, **route)
    return FeedChannel(FeedSettings(url=server.url(f"/{name}")))


# --- settings and the protocol -------------------------------------------------------------------


def test_from_settings_without_feeds_is_not_configured(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        FeedChannel.from_settings(Settings(feeds=[]))
    toml = tmp_path / "settings.toml"
    toml.write_text('[[feeds]]\nurl = "https://blog.example/feed/"\nenabled = false\n', encoding="utf-8")
    with pytest.raises(NotConfigured):
        FeedChannel.from_settings(load_settings(toml))


def test_from_settings_one_channel_per_enabled_feed(tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text(
        '[[feeds]]\nurl = "https://blog.example/comments/feed/"\nname = "blog-comments"\n'
        '[[feeds]]\nurl = "https://blog.example/feed/"\ninterval_seconds = 600\n'
        '[[feeds]]\nurl = "https://old.example/feed/"\nenabled = false\n',
        encoding="utf-8",
    )
    channels = FeedChannel.from_settings(load_settings(toml))
    assert [c.name for c in channels] == ["feed:blog-comments", "feed:https://blog.example/feed/"]
    assert [c.interval_seconds for c in channels] == [900, 600]
    for channel in channels:
        assert isinstance(channel, Channel)
        assert channel.network == "feed" and channel.can_publish is False
        assert channel.fetch_engagement(["x"]) == {}
        with pytest.raises(ChannelError, match="cannot publish"):
            channel.publish(Reply("p1", None, "hi", "key-1"))


def test_from_settings_rejects_duplicate_names_and_unknown_schemes() -> None:
    same = [FeedSettings(url="https://a.example/feed", name="x"), FeedSettings(url="https://b.example/", name="x")]
    with pytest.raises(ConfigError, match="duplicate"):
        FeedChannel.from_settings(Settings(feeds=same))
    with pytest.raises(ConfigError, match="ftp://"):
        FeedChannel(FeedSettings(url="ftp://files.example/feed.xml"))


# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "external_id", "url", "author", "posted_at", "text"),
    [
        (
            "examples__examples__rss20.xml",
            "http://example.org/guid/1",
            "http://example.org/item/1",
            "mark@example.org",
            datetime(2002, 9, 5, 0, 0, 1, tzinfo=UTC),
            "Watch out for nasty tricks",
        ),
        (
            "examples__examples__rss10.rdf",
            "http://www.example.org/1",
            "http://example.org/archives/2002/09/04.html#first_of_all",
            "Aaron Swartz",
            datetime(2004, 5, 30, 20, 23, 54, tzinfo=UTC),
            "Ian Hickson :",
        ),
        (
            "examples__examples__atom10.xml",
            "tag:feedparser.org,2005-11-09:/docs/examples/atom10.xml:3",
            "http://example.org/entry/3",
            "mark@example.org",
            datetime(2005, 11, 9, 0, 23, 47, tzinfo=UTC),
            "Watch out for nasty tricks",
        ),
    ],
)
def test_rss20_rss10_and_atom_entries_become_posts(
    name: str, external_id: str, url: str, author: str, posted_at: datetime, text: str
) -> None:
    posts, cursor = local(name).fetch_since({})
    assert len(posts) == 1
    post = posts[0]
    assert (post.network, post.external_id, post.url) == ("feed", external_id, url)
    assert post.author is not None and post.author.external_id == author
    assert post.posted_at == posted_at and post.posted_at.tzinfo is not None
    assert post.text.startswith(text) and "<" not in post.text
    assert post.lang == "en"
    assert post.extra["feed_url"].endswith(name)
    assert cursor == {"etag": None, "modified": None}


def test_wordpress_comment_feed(server: FeedServer) -> None:
    posts, _ = over_http(server, "signpost__wordpress_comments.rss").fetch_since({})
    assert [p.external_id for p in posts] == [
        "https://blog.acme.example/?p=311#comment-1042",
        "https://blog.acme.example/?p=311#comment-1039",
        "https://blog.acme.example/?p=298#comment-1031",
        "https://blog.acme.example/?p=298#comment-1030",
    ]  # the fifth item repeats a guid and is dropped
    maria = posts[0]
    assert maria.thread_id == "https://blog.acme.example/2024/05/reset-your-password/"
    assert maria.author is not None and maria.author.external_id == "Maria Gonzalez"
    assert maria.text.endswith("is there a way to resend it?") and "<p>" not in maria.text
    assert maria.lang == "en" and maria.in_reply_to is None
    assert "\U0001f44d" in posts[1].text
    assert "3 months & the export" in posts[2].text
    assert "öffnet" in posts[3].text and posts[3].author is not None and posts[3].author.handle == "Jörg"


def test_posts_feed_keeps_comment_feed_urls_resolved_against_the_document(server: FeedServer) -> None:
    posts, _ = over_http(server, "signpost__blog_posts.rss").fetch_since({})
    first, second, third = posts
    assert first.extra["comment_feed_url"] == server.url("/2024/05/reset-your-password/feed/")
    assert first.extra["comments_url"].endswith("#comments")
    assert first.thread_id == first.url  # a post starts its own thread
    assert "comment_feed_url" not in second.extra and second.external_id == second.url
    assert third.external_id == content_hash(None, "A status update with neither guid nor link.")
    assert first.lang == "en"


def test_atom_threading_and_hostile_entry_come_out_as_plain_text(server: FeedServer) -> None:
    posts, _ = over_http(server, "signpost__hostile_comments.atom", content_type="application/atom+xml").fetch_since({})
    question, answer, hostile = posts
    post_url = "https://blog.acme.example/2024/04/exporting-invoices-csv/"
    assert question.title == "Can I export as XLSX?" and question.lang == "pt"
    assert question.in_reply_to == "tag:blog.acme.example,2024:post-298" and question.thread_id == post_url
    assert question.author is not None and question.author.external_id == "https://ana.example.net/"
    assert answer.in_reply_to == "tag:blog.acme.example,2024:comment-2001" and answer.thread_id == post_url
    assert answer.text == "Not yet, but CSV opens fine in Excel. 5 < 6 & that is plain text."
    assert answer.author is not None and answer.author.external_id == "support@acme.example"
    assert hostile.title == "Totally legit question"
    assert hostile.author is not None and hostile.author.display_name == "gnp.exe Admin"
    assert "Click here" in hostile.text and "Why does my invoice show the wrong VAT rate" in hostile.text
    assert len(hostile.text) <= 20_000
    for field in (hostile.text, hostile.title, hostile.author.display_name):
        for bad in ("<", "script", "onerror", "alert(", "document.cookie", "display:none", "evil.example"):
            assert bad not in field
        for invisible in ("\u202e", "\u202c", "\u200b", "\u200d", "\u2067", "\u2069", "\ufeff"):
            assert invisible not in field


def test_sanitizer_torture_fixture_has_no_markup() -> None:
    (post,) = local("wellformed__sanitize__item_description_crazy.xml").fetch_since({})[0]
    assert post.text.startswith("Crazy HTML -- Can Your Regex Parse This?")
    for bad in ("<", "onmouseover", "onload", 'alert("Executed")'):
        assert bad not in post.text


def test_xml_lang_of_the_content_wins() -> None:
    (post,) = local("wellformed__lang__entry_content_xml_lang_inherit_3.xml").fetch_since({})[0]
    assert post.lang == "en" and post.text == "Example test"


# --- encodings ------------------------------------------------------------------------------------


def test_undeclared_koi8r_and_shift_jis_are_detected() -> None:
    (russian,) = local("illformed__chardet__koi8r.xml").fetch_since({})[0]
    assert russian.title == "Как пережить новогоднюю ночь"
    assert russian.text.startswith("Наверное, единственное")
    (japanese,) = local("illformed__chardet__shiftjis.xml").fetch_since({})[0]
    assert japanese.title == "DrecomRSSに記事投稿が反映されない…"
    assert "色々調べてたら" in japanese.text


def test_big5_and_utf16_with_bom_decode(server: FeedServer) -> None:
    (chinese,) = over_http(server, "signpost__big5_questions.xml").fetch_since({})[0]
    assert chinese.title == "如何重設密碼？" and "電子郵件" in chinese.text and chinese.lang == "zh"
    assert chinese.posted_at == datetime(2024, 5, 14, 1, 12, 44, tzinfo=UTC)
    (french,) = local("signpost__utf16be_bom.xml").fetch_since({})[0]
    assert french.text == "Où se trouve le bouton « Réinitialiser » ? Je ne le vois pas… ✓ 東京"
    assert french.author is not None and french.author.display_name == "Éloïse Côté" and french.lang == "fr"
    for empty in ("encoding__big5.xml", "encoding__utf-16le-bom.xml"):  # upstream: declared, no items
        assert over_http(server, empty).fetch_since({})[0] == []


# --- malformed input ------------------------------------------------------------------------------


def test_illformed_feeds_are_parsed_where_possible(caplog: pytest.LogCaptureFixture) -> None:
    assert local("illformed__aaa_illformed.xml").fetch_since({})[0] == []
    assert local("illformed__rss_incomplete_cdata.xml").fetch_since({})[0] == []
    (post,) = local("illformed__rss_item_link_corrupted_ampersands.xml").fetch_since({})[0]
    assert post.url == post.external_id == "http://link/get?a=1&b=2"
    assert any("malformed feed" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_cut_off_feed_returns_the_complete_entries_and_logs_once(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    body = (FIXTURES / "signpost__wordpress_comments.rss").read_bytes()
    server.serve("/cut", body[: body.index("<title>Comment on Exporting invoices to CSV by Jörg".encode())])
    channel = FeedChannel(FeedSettings(url=server.url("/cut")))
    with caplog.at_level(logging.DEBUG, logger="listener.feeds"):
        first, _ = channel.fetch_since({})
        second, _ = channel.fetch_since({})
    assert [p.external_id for p in first] == [p.external_id for p in second]
    assert len(first) >= 3 and first[0].author is not None and first[0].author.external_id == "Maria Gonzalez"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "malformed" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Welcome!</p></body></html>",
        b"\x00\x01\x02 garbage \xff\xfe",
        b'{"posts": []}',
        b"   \n",
    ],
)
def test_a_body_that_is_no_feed_is_a_channel_error(server: FeedServer, body: bytes) -> None:
    server.serve("/page", body, content_type="text/html")
    with pytest.raises(ChannelError, match=r"not an RSS or Atom feed|empty body"):
        FeedChannel(FeedSettings(url=server.url("/page"))).fetch_since({})


# --- dedupe and local files -----------------------------------------------------------------------

DUPES = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">id-1</guid><link>https://b.example/a</link><title>One</title></item>
<item><guid isPermaLink="false">id-1</guid><link>https://b.example/b</link><title>One again, same id</title></item>
<item><link>https://b.example/c</link><title>Link only</title></item>
<item><link>https://b.example/c</link><title>Same link, no id</title></item>
<item><title>Bare</title><description>Same text</description></item>
<item><title>Bare</title><description>Same text</description></item>
<item><title>Bare</title><description>Other text</description></item>
</channel></rss>"""


def test_dedupe_key_order_is_id_then_link_then_content_hash(server: FeedServer) -> None:
    server.serve("/dupes", DUPES)
    posts, _ = FeedChannel(FeedSettings(url=server.url("/dupes"))).fetch_since({})
    assert [p.external_id for p in posts] == [
        "id-1",
        "https://b.example/c",
        content_hash("Bare", "Same text"),
        content_hash("Bare", "Other text"),
    ]
    assert [p.title for p in posts[:2]] == ["One", "Link only"]  # the first occurrence wins


def test_file_url_and_missing_file(tmp_path: Path) -> None:
    copy = tmp_path / "comments feed.rss"
    shutil.copyfile(FIXTURES / "signpost__wordpress_comments.rss", copy)
    posts, cursor = FeedChannel(FeedSettings(url=copy.as_uri())).fetch_since({})
    assert len(posts) == 4 and cursor == {"etag": None, "modified": None}
    with pytest.raises(ChannelError, match="cannot read"):
        FeedChannel(FeedSettings(url=str(tmp_path / "missing.xml"))).fetch_since({})


def test_local_file_is_read_only_up_to_max_bytes(tmp_path: Path) -> None:
    posts, _ = local("signpost__hostile_comments.atom", max_bytes=4096).fetch_since({})
    assert [p.external_id for p in posts][:2] == [
        "tag:blog.acme.example,2024:comment-2001",
        "tag:blog.acme.example,2024:comment-2002",
    ]
