"""The worker process: APScheduler runs one poll job per channel at its own interval, plus processing,
publishing of approved suggestions and the engagement refresh."""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from listener.base import Channel
from listener.polling import max_backoff_seconds, poll_channel
from listener.registry import build_channels
from responders.engagement import refresh_engagement
from responders.pipeline import process_new_posts
from responders.publishing import publish_approved
from signpost.context import AppContext

log = logging.getLogger(__name__)


def poll_job(channel: Channel, app_ctx: AppContext) -> None:
    """Poll one channel and process what it brought; errors are logged, never kill the worker."""
    try:
        report = poll_channel(channel, engine=app_ctx.engine, max_backoff=max_backoff_seconds(app_ctx.settings))
        if report.stored:
            process_new_posts(app_ctx.settings, engine=app_ctx.engine)
    except Exception:
        log.exception("poll job for %s failed; it runs again at its next interval", channel.name)


def process_job(app_ctx: AppContext) -> None:
    """Catch up on posts left unprocessed (after a crash or an index change)."""
    try:
        process_new_posts(app_ctx.settings, engine=app_ctx.engine)
    except Exception:
        log.exception("processing job failed; it runs again at its next interval")


def publish_job(app_ctx: AppContext, channels: list[Channel]) -> None:
    """Publish approved suggestions (dry run where `publish = false`); errors are logged, never raised."""
    try:
        report = publish_approved(app_ctx.settings, channels, engine=app_ctx.engine, actor="worker")
        if report.outcomes:
            log.info("publish job: %s", dict(report.counts))
    except Exception:
        log.exception("publish job failed; it runs again at its next interval")


def engagement_job(app_ctx: AppContext, channels: list[Channel]) -> None:
    """Store fresh engagement snapshots of published replies; errors are logged, never raised."""
    try:
        stored = refresh_engagement(channels, engine=app_ctx.engine)
        log.info("engagement job: %d snapshots stored", stored)
    except Exception:
        log.exception("engagement job failed; it runs again at its next interval")


def build_scheduler(app_ctx: AppContext, channels: list[Channel]) -> BlockingScheduler:
    """A scheduler with one job per channel and the shared jobs (each one instance at a time, coalesced)."""
    settings = app_ctx.settings
    worker = settings.worker
    # One thread per channel and per shared job, so a channel waiting out a rate limit never delays the others.
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(len(channels) + 3)})
    once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    for channel in channels:
        scheduler.add_job(poll_job, "interval", args=[channel, app_ctx], id=f"poll:{channel.name}",
                          name=f"poll {channel.name}", seconds=channel.interval_seconds,
                          jitter=worker.jitter_seconds, next_run_time=datetime.now(UTC), **once)
    scheduler.add_job(process_job, "interval", args=[app_ctx], id="process", name="process new posts",
                      seconds=worker.process_interval_seconds, **once)
    scheduler.add_job(publish_job, "interval", args=[app_ctx, channels], id="publish",
                      name="publish approved suggestions",
                      seconds=worker.publish_interval_seconds, **once)
    scheduler.add_job(engagement_job, "interval", args=[app_ctx, channels], id="engagement",
                      name="refresh engagement",
                      seconds=worker.engagement_interval_seconds,
                      **once)
    return scheduler


def run_worker(app_ctx: AppContext) -> None:
    """Run until SIGTERM/SIGINT."""
    channels = build_channels(app_ctx.settings)
    if not channels:
        log.warning("no channel is enabled: the worker only processes stored posts")
    _ = app_ctx.engine  # migrate before the first job
    scheduler = build_scheduler(app_ctx, channels)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping the worker", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    print(f"worker: {len(channels)} channel(s): {', '.join(c.name for c in channels) or 'none'}", flush=True)
    scheduler.start()
