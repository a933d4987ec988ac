"""`signpost publish`: send approved replies (or record dry runs) through their channels, at most once."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console

from signpost.context import AppContext

console = Console()


def register(app: typer.Typer) -> None:
    """Add the `publish` command to the root app."""

    @app.command("publish")
    def publish(
        ctx: typer.Context,
        channel: Annotated[str | None, typer.Option("--channel", help="only this channel (name or network)")] = None,
        limit: Annotated[int, typer.Option(min=1, help="at most this many suggestions")] = 100,
        actor: Annotated[str | None, typer.Option("--as", help="who publishes (default: your login name)")] = None,
    ) -> None:
        """Publish approved suggestions; channels with `publish = false` (the default) only record a dry run."""
        from listener.registry import build_channels
        from responders.publishing import publish_approved

        app_ctx: AppContext = ctx.obj
        channels = build_channels(app_ctx.settings, only=channel)
        report = publish_approved(app_ctx.settings, channels, engine=app_ctx.engine, limit=limit, only=channel,
                                  actor=actor or getpass.getuser() or "cli")
        for sid, outcome in sorted(report.outcomes.items()):
            console.print(f"#{sid}: {outcome}", highlight=False)
        counts = ", ".join(f"{n} {name}" for name, n in sorted(report.counts.items())) or "nothing to publish"
        console.print(counts, highlight=False)
        failed = report.counts["failed"] + report.counts["auth_error"] + report.counts["error"]
        raise typer.Exit(1 if failed else 0)
