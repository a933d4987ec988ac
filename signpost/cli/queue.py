"""`signpost queue …`: work the approval queue from the terminal."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from core.db import session_scope
from core.models import AuditEvent, Post, Suggestion
from responders import lifecycle
from signpost.context import AppContext

app = typer.Typer(help="The approval queue of suggested replies.", no_args_is_help=True)
console = Console()
ActorOpt = Annotated[str | None, typer.Option("--as", help="who decides (default: your login name)")]


def _actor(name: str | None) -> str:
    return name or getpass.getuser() or "cli"


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="pending, approved, published, rejected, failed or all")] = "pending",
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List suggestions, newest first."""
    app_ctx: AppContext = ctx.obj
    with session_scope(app_ctx.engine) as session:
        query = select(Suggestion, Post).join(Post, Post.id == Suggestion.post_id)  # type: ignore[arg-type]
        if status != "all":
            query = query.where(Suggestion.status == status)
        rows = session.exec(query.order_by(Suggestion.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
        items = [
            {"id": s.id, "status": s.status, "score": round(s.score, 3), "lang": s.lang, "network": p.network,
             "article": s.explanation.get("article_id") or s.article_id, "post": p.text[:200], "reply": s.reply_text}
            for s, p in rows
        ]
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("id", "status", "score", "lang", "network", "post", "reply")
    for item in items:
        table.add_row(str(item["id"]), str(item["status"]), f"{item['score']:.2f}", str(item["lang"]),
                      str(item["network"]), str(item["post"])[:80], str(item["reply"])[:80])
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, suggestion_id: int) -> None:
    """Show one suggestion: the post, the reply, why it matched, alternatives and its history."""
    app_ctx: AppContext = ctx.obj
    with session_scope(app_ctx.engine) as session:
        s = lifecycle.get(suggestion_id, session=session)
        post = session.get(Post, s.post_id)
        events = session.exec(select(AuditEvent).where(AuditEvent.suggestion_id == suggestion_id)
                              .order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        console.print(f"[bold]#{s.id}[/bold] {s.status}  score {s.score:.2f}  lang {s.lang}")
        if post is not None:
            console.print(f"[bold]post[/bold] ({post.network}, {post.url or 'no link'}):", highlight=False)
            console.print(post.text, markup=False, highlight=False)
            console.print(f"question cues: {', '.join(post.question_reasons)}", markup=False)
        console.print("[bold]reply[/bold]:")
        console.print(s.reply_text, markup=False, highlight=False)
        console.print(f"[bold]why[/bold]: {json.dumps(s.explanation, ensure_ascii=False)}", markup=False)
        for alt in s.alternatives:
            console.print(f"  also: {alt['article_id']} ({alt['score']:.2f})", markup=False)
        for e in events:
            console.print(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.action} {e.reason or ''}", markup=False)


@app.command("approve")
def approve(ctx: typer.Context, suggestion_id: int, text: Annotated[str | None, typer.Option()] = None,
            actor: ActorOpt = None) -> None:
    """Approve a suggestion, optionally replacing its text."""
    with session_scope(ctx.obj.engine) as session:
        s = lifecycle.approve(suggestion_id, _actor(actor), text=text, session=session)
        console.print(f"#{s.id} {s.status}")


@app.command("edit")
def edit(ctx: typer.Context, suggestion_id: int, text: str, actor: ActorOpt = None) -> None:
    """Replace the reply text of a pending or approved suggestion."""
    with session_scope(ctx.obj.engine) as session:
        s = lifecycle.edit(suggestion_id, _actor(actor), text, session=session)
        console.print(f"#{s.id} edited")


@app.command("reject")
def reject(ctx: typer.Context, suggestion_id: int,
           reason: Annotated[str, typer.Option(help="why (feeds tuning of the index)")],
           actor: ActorOpt = None) -> None:
    """Reject a suggestion with a reason."""
    with session_scope(ctx.obj.engine) as session:
        s = lifecycle.reject(suggestion_id, _actor(actor), reason, session=session)
        console.print(f"#{s.id} {s.status}")
