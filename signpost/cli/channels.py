"""`signpost channels`: each channel's health, cursor, last poll, last error, rate-limit state and read budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from core.db import session_scope
from core.models import ChannelState, utcnow
from listener.polling import as_utc, backing_off
from signpost.context import AppContext

console = Console()


def channel_rows(app_ctx: AppContext) -> list[dict[str, Any]]:
    """One dict per known channel state (the dashboard can show the same data)."""
    from listener.registry import build_channels

    now = utcnow()
    configured = {c.name: c for c in build_channels(app_ctx.settings)}
    with session_scope(app_ctx.engine) as session:
        states = {s.name: s for s in session.exec(select(ChannelState)).all()}
    rows = []
    for name in sorted(set(configured) | set(states)):
        state = states.get(name)
        cursor: dict[str, Any] = dict(state.cursor) if state else {}
        limited = float(cursor.get("rate_limited_until") or 0)
        budget = cursor.get("budget") or {}
        cap = getattr(getattr(app_ctx.settings, getattr(configured.get(name), "network", ""), None),
                      "monthly_read_budget", None)
        rows.append({
            "name": name, "configured": name in configured, "healthy": state.healthy if state else None,
            "last_poll_at": state.last_poll_at.isoformat() if state and state.last_poll_at else None,
            "last_error": state.last_error if state else None, "posts_seen": state.posts_seen if state else 0,
            "rate_limited_until": datetime.fromtimestamp(limited, UTC).isoformat() if limited else None,
            "read_budget": ({"month": budget.get("month"), "used": budget.get("used", 0), "cap": cap}
                            if budget else None),
            "failures": state.failures if state else 0,
            "backoff_until": (as_utc(state.backoff_until).isoformat(timespec="seconds")
                              if state and state.backoff_until and backing_off(state, now) else None),
            "stream_errors": cursor.get("stream_errors") or None,
            "cursor": {k: v for k, v in cursor.items() if k not in ("budget", "stream_errors")},
        })
    return rows


def register(app: typer.Typer) -> None:
    """Add the `channels` command to the root app."""

    @app.command("channels")
    def channels(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """List each channel's health, cursor, last poll, last error, rate limit and read budget."""
        rows = channel_rows(ctx.obj)
        if as_json:
            console.print_json(json.dumps(rows))
            return
        table = Table("channel", "health", "last poll", "last error", "rate limit", "backoff", "read budget",
                      "cursor")
        for r in rows:
            health = "-" if r["healthy"] is None else ("ok" if r["healthy"] else "[red]unhealthy[/red]")
            budget = r["read_budget"]
            used = f"{budget['used']}/{budget['cap'] or '?'} ({budget['month']})" if budget else "-"
            why = f"{r['failures']} failures" if r["failures"] else "rate limited"
            backoff = f"until {r['backoff_until']} ({why})" if r["backoff_until"] else "-"
            table.add_row(r["name"] + ("" if r["configured"] else " (not configured)"), health,
                          r["last_poll_at"] or "never", (r["last_error"] or "")[:60], r["rate_limited_until"] or "-",
                          backoff, used, json.dumps(r["cursor"])[:60])
        console.print(table)
