"""The `signpost` command line: one typer app with sub-groups for the queue and the knowledge index."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from core.errors import ConfigError, SignpostError
from signpost.cli import channels, kb, publish, queue, web
from signpost.context import AppContext, configure_logging

log = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)

app = typer.Typer(help="Signpost: find customer questions on social channels and queue linked replies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(queue.app, name="queue")
app.add_typer(kb.app, name="kb")
web.register(app)
publish.register(app)
channels.register(app)

SettingsOpt = Annotated[str | None, typer.Option("--settings", help="settings file (default ./settings.toml)")]


@app.callback()
def _root(
    ctx: typer.Context,
    settings: SettingsOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    """Validate the settings once; every command runs with them."""
    configure_logging(verbose)
    ctx.obj = AppContext.load(settings)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the database schema to the newest migration."""
    app_ctx: AppContext = ctx.obj
    _ = app_ctx.engine
    console.print(f"database is up to date ({app_ctx.engine.url.render_as_string(hide_password=True)})")


@app.command("poll")
def poll(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="poll each enabled channel once and exit")] = False,
    channel: Annotated[str | None, typer.Option("--channel", help="only this channel (kind or name)")] = None,
    process: Annotated[bool, typer.Option(help="also match new posts and queue suggestions")] = True,
    ignore_backoff: Annotated[bool, typer.Option("--ignore-backoff",
                                                 help="poll even a channel backing off after failures")] = False,
) -> None:
    """Poll the enabled channels once (the worker does this on a schedule)."""
    from listener.polling import max_backoff_seconds, poll_channel
    from listener.registry import build_channels
    from responders.pipeline import process_new_posts

    app_ctx: AppContext = ctx.obj
    if not once:
        err_console.print("poll runs one round only: pass --once (use `signpost worker` to keep polling)")
        raise typer.Exit(2)
    channels = build_channels(app_ctx.settings, only=channel)
    if not channels:
        err_console.print(f"no enabled channel{' matches ' + channel if channel else ''}; check settings.toml")
        raise typer.Exit(1)
    failed = 0
    for ch in channels:
        report = poll_channel(ch, engine=app_ctx.engine, max_backoff=max_backoff_seconds(app_ctx.settings),
                              ignore_backoff=ignore_backoff)
        if report.skipped:
            failed += 1
            console.print(f"{ch.name}: [yellow]skipped[/yellow] {report.error} (--ignore-backoff polls anyway)")
        elif report.error:
            failed += 1
            console.print(f"{ch.name}: [red]error[/red] {report.error}")
        else:
            console.print(f"{ch.name}: {report.fetched} fetched, {report.stored} new")
    if process:
        result = process_new_posts(app_ctx.settings, engine=app_ctx.engine)
        console.print(f"processed {result.processed} posts: {dict(result.statuses)}")
    raise typer.Exit(1 if failed == len(channels) else 0)


@app.command("process")
def process(ctx: typer.Context) -> None:
    """Match every new post and queue suggestions (normally done after each poll)."""
    from responders.pipeline import process_new_posts

    app_ctx: AppContext = ctx.obj
    result = process_new_posts(app_ctx.settings, engine=app_ctx.engine)
    console.print(f"processed {result.processed} posts: {dict(result.statuses)}")


@app.command("worker")
def worker(ctx: typer.Context) -> None:
    """Run the scheduler: each enabled channel polled at its interval, new posts processed."""
    from signpost.worker import run_worker

    run_worker(ctx.obj)


@app.command("demo")
def demo(
    ctx: typer.Context,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="stop after the summary")] = False,
) -> None:
    """The main job end to end on bundled data: fresh SQLite, demo knowledge base, sample posts."""
    from signpost.demo import run_demo

    run_demo(ctx.obj.settings, serve=not no_serve, console=console)


def hoist_global_options(argv: list[str]) -> list[str]:
    """`--settings PATH` is accepted after any command too: move it in front of the command."""
    rest, front = list(argv), []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--settings" and i + 1 < len(rest):
            front += rest[i : i + 2]
            del rest[i : i + 2]
        elif arg.startswith("--settings="):
            front.append(rest.pop(i))
        elif arg == "--":
            break
        else:
            i += 1
    return front + rest


def main() -> None:
    """Console entry point: clear one-line errors and exit code 2 for bad settings."""
    try:
        app(args=hoist_global_options(sys.argv[1:]))
    except ConfigError as exc:
        print(f"signpost: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except SignpostError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        sys.exit(1)
