"""Finds channel classes through the `signpost.channels` entry points and builds the configured ones."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from core.errors import NotConfigured, SignpostError
from core.settings import Settings
from listener.base import Channel

log = logging.getLogger(__name__)
GROUP = "signpost.channels"


def channel_classes() -> dict[str, type[Channel]]:
    """Every registered channel class by entry-point name (built-in ones register the same way)."""
    found: dict[str, type[Channel]] = {}
    for ep in entry_points(group=GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception:  # a broken plug-in must not stop the others
            log.exception("channel plug-in %s could not be loaded", ep.name)
    return found


def build_channels(settings: Settings, only: str | None = None) -> list[Channel]:
    """The channels that are enabled and configured; others are skipped with a log line."""
    channels: list[Channel] = []
    for kind, cls in sorted(channel_classes().items()):
        try:
            instances = cls.from_settings(settings)
        except NotConfigured as exc:
            section = getattr(settings, kind, None)
            enabled = bool(getattr(section, "enabled", False))
            # Enabled but unusable (a missing secret) deserves a warning; merely disabled does not.
            log.log(logging.WARNING if enabled else logging.INFO, "channel %s skipped: %s", kind, exc)
            continue
        except SignpostError as exc:
            log.warning("channel %s disabled: %s", kind, exc)
            continue
        for channel in instances:
            if only is None or only in (kind, channel.name, channel.network):
                channels.append(channel)
    return channels
