"""`signpost web`: serve the dashboard and JSON API."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from signpost.context import AppContext

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the `web` command to the root CLI."""

    @app.command("web")
    def web(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option("--host", help="address (default: the web host setting)")] = None,
        port: Annotated[int | None, typer.Option("--port", min=0, max=65535,
                                                 help="port (default: the web port setting; 0: any free)")] = None,
    ) -> None:
        """Serve the web dashboard and JSON API (login: the web username setting and SIGNPOST_WEB__PASSWORD)."""
        from signpost.web.server import serve

        app_ctx: AppContext = ctx.obj
        web_settings = app_ctx.settings.web
        serve(app_ctx, host or web_settings.host, web_settings.port if port is None else port, console=Console())
