"""The one exception hierarchy of Signpost; every error we raise derives from SignpostError."""

from __future__ import annotations


class SignpostError(Exception):
    """Base class of every error Signpost raises on purpose."""


class ConfigError(SignpostError):
    """A settings file or value is invalid; the message names the file, key and expected form."""


class NotConfigured(SignpostError):
    """A channel lacks credentials or is disabled; it is skipped with a log line."""


class ChannelError(SignpostError):
    """A channel failed to fetch or publish."""


class ChannelAuthError(ChannelError):
    """The remote service refused our credentials (401/403); retrying will not help."""


class RateLimited(ChannelError):
    """The remote service asked us to wait until `reset_at` (epoch seconds)."""

    def __init__(self, message: str, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class TransientChannelError(ChannelError):
    """A timeout, a 5xx or a malformed body: worth retrying later."""


class PublishError(ChannelError):
    """A reply could not be published."""


class KnowledgeError(SignpostError):
    """The knowledge index or an import file is invalid."""


class InvalidTransition(SignpostError):
    """A suggestion cannot move from its current status to the requested one."""


class NotFound(SignpostError):
    """A requested row does not exist."""
