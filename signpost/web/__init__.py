"""The web dashboard and JSON API: FastAPI with server-rendered Jinja2 templates."""

from __future__ import annotations

from signpost.web.app import create_app
from signpost.web.server import serve, serve_dashboard

__all__ = ["create_app", "serve", "serve_dashboard"]
