"""Reply text: per-language templates, UTM deep links, channel length limits."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from responders.compose import compose_reply, reply_length
from responders.links import tracked_link

URL = "https://help.example.com/en/articles/connect-domain"


def test_tracked_link_sets_utm_and_keeps_other_parameters() -> None:
    link = tracked_link(URL + "?ref=x&utm_source=old", source="twitter", medium="social",
                        campaign="spring", content="connect-domain")
    query = parse_qs(urlsplit(link).query)
    assert query == {"ref": ["x"], "utm_source": ["twitter"], "utm_medium": ["social"],
                     "utm_campaign": ["spring"], "utm_content": ["connect-domain"]}
    assert link.startswith(URL)


def test_reply_in_the_article_language_with_link() -> None:
    text = compose_reply(lang="es", title="Conectar tu dominio", link=URL, network="reddit", name="@ana")
    assert text.startswith("¡Hola ana!")
    assert "Conectar tu dominio" in text and text.endswith(URL)


def test_unknown_language_uses_default_template() -> None:
    text = compose_reply(lang="sv", title="Connect", link=URL, network="reddit", name=None)
    assert text.startswith("Hi there!")


def test_settings_templates_override_builtin() -> None:
    text = compose_reply(lang="en", title="T", link=URL, network="reddit", name="bo",
                         templates={"en": "Yo {name}, read {title}: {link}"})
    assert text == f"Yo bo, read T: {URL}"


def test_twitter_limit_counts_links_as_23_and_shortens_title() -> None:
    long_link = URL + "?" + "x=1&" * 200
    title = "A very long article title " * 20
    text = compose_reply(lang="en", title=title, link=long_link, network="twitter", name="someone")
    assert reply_length(text, "twitter") <= 280
    assert long_link in text
    assert "…" in text
