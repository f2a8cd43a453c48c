"""``audience serve``, ``audience worker`` and ``audience sync``: the real-time path.

``serve`` runs the collector (and, with no broker configured, the consumer in-process);
``worker`` consumes RabbitMQ. The consumer logs the events it accepts, and a background loader
(:mod:`audience.pipelines.live_loader`) loads them into the warehouse every few seconds, a
short transaction each time, so that other commands keep using it; ``sync`` does the same by
hand (the loader disabled, or events logged while nothing ran).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    open_workspace,
    print_json,
)
from audience.errors import ConfigError

if TYPE_CHECKING:
    from audience.config.settings import ServerSettings, Settings

STREAMS_GRACE_SECONDS = 3
"""Seconds a stopping server waits for open event streams (the dashboard's live feed)."""


def _serve(
    workspace: WorkspaceOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (server.port).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Server processes; RabbitMQ mode only (server.workers).")
    ] = None,
) -> None:
    """Run the collector: Segment-compatible tracking API, pixel, webhooks, live profiles.

    Clients send a write key as the HTTP Basic user name (Segment's and RudderStack's
    writeKey); profile reads (GET /v1/profiles/{id}) need a read key. In dev the keys are
    dev-write-key and dev-read-key; set your own with
    AUDIENCE_SERVER__WRITE_KEYS='["wk_..."]' and AUDIENCE_SERVER__READ_KEYS='["rk_..."]'
    (required outside dev: AUDIENCE_SERVER__ENVIRONMENT=prod). The start-up line says
    which keys are in force.
    """
    import uvicorn

    from audience.api.app import create_app
    from audience.cli.services import check_services
    from audience.config.settings import check_server_secrets
    from audience.pipelines.experiments import running_allocations
    from audience.pipelines.live import live_consumer
    from audience.pipelines.live_loader import warehouse_loaders
    from audience.pipelines.publish import publish_if_stale
    from audience.realtime.runtime import Collector, queue_kind

    ws = open_workspace(workspace)
    settings = ws.settings
    mask_logs(settings)
    server = settings.server
    server.host, server.port = host or server.host, port if port is not None else server.port
    server.workers = workers or server.workers
    check_server_secrets(server)
    if server.workers > 1 and not settings.queue.url:
        raise ConfigError(
            "--workers > 1 needs RabbitMQ or Kafka (the embedded queue has one writer); set "
            "AUDIENCE_QUEUE__URL or run one worker"
        )
    check_services(settings)  # a broker or Redis that is down: one line, exit 75
    published = publish_if_stale(ws, settings)  # the warehouse changed since: live catches up
    if published is not None:
        err_console.print(
            f"published the warehouse: {published.written:,} live profile(s) written, "
            f"{published.unchanged:,} unchanged"
        )
    queue = {"kafka": "Kafka", "rabbitmq": "RabbitMQ"}.get(
        queue_kind(settings), "embedded queue (consumer in-process)"
    )
    err_console.print(f"collector on http://{server.host}:{server.port} — {queue}")
    err_console.print(keys_banner(server), highlight=False, soft_wrap=True)
    options: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": "warning",
        "access_log": False,
        # An open dashboard live feed is a response that never ends: on a stop, streams still
        # open after this many seconds are cut, so the server (and its consumer) stop cleanly.
        "timeout_graceful_shutdown": STREAMS_GRACE_SECONDS,
    }
    if server.workers > 1:
        os.environ["AUDIENCE_WORKSPACE"] = str(ws.root)
        uvicorn.run(
            "audience.api.app:app_from_env", factory=True, workers=server.workers, **options
        )
        return
    # Embedded mode: the consumer runs in this process.
    consumer = None if settings.queue.url else live_consumer(ws, settings)
    loaders = [] if consumer is None else warehouse_loaders(ws, settings, consumer)
    if loaders:
        err_console.print(
            f"live events load into the warehouse every "
            f"{settings.queue.warehouse_load_seconds:g}s (AUDIENCE_QUEUE__WAREHOUSE_LOAD_SECONDS)"
        )
    collector = Collector(ws, settings, consumer, loaders)
    if consumer is None:  # a broker's worker consumes; this engine only answers assignments
        collector.consumer.engine.experiments = running_allocations(ws)
    run_server(create_app(collector), options, on_stop=collector.feed.close)


def run_server(app: Any, options: dict[str, Any], on_stop: Callable[[], None]) -> None:
    """uvicorn serving ``app``; ``on_stop`` runs as soon as a stop is asked (SIGINT, SIGTERM).

    uvicorn waits for open responses to end before it stops the application, and the
    dashboard's live feed never ends by itself: ``on_stop`` ends those streams at once.
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_stop()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, **options)).run()


def _worker(
    workspace: WorkspaceOption = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes to run and supervise (Kafka or RabbitMQ), each person's "
            "events in order: on Kafka they share the topic's partitions "
            "(AUDIENCE_QUEUE__PARTITIONS), on RabbitMQ each takes its own shard queues "
            "(AUDIENCE_QUEUE__SHARDS); processes beyond those counts wait idle.",
        ),
    ] = 1,
    no_publish: Annotated[bool, typer.Option("--no-publish", hidden=True)] = False,
    pool_member: Annotated[str | None, typer.Option("--pool-member", hidden=True)] = None,
) -> None:
    """Consume the queue: update live profiles, segments, and the event log, until stopped."""
    import asyncio

    from audience.pipelines.live import live_consumer
    from audience.pipelines.live_loader import warehouse_loaders
    from audience.pipelines.publish import publish_if_stale
    from audience.realtime.runtime import queue_kind, run_worker

    ws = open_workspace(workspace)
    settings = ws.settings
    mask_logs(settings)
    if concurrency > 1:
        from audience.cli.worker_pool import run_pool

        if queue_kind(settings) == "embedded":
            raise ConfigError(
                "--concurrency > 1 needs Kafka or RabbitMQ (the embedded queue has one "
                "consumer); set AUDIENCE_QUEUE__URL or run one worker"
            )
        publish_if_stale(ws, settings)  # once, before the children start
        if queue_kind(settings) == "rabbitmq" and settings.queue.shards < concurrency:
            err_console.print(
                f"note: RabbitMQ with {settings.queue.shards} shard queue(s): only that many "
                f"of the {concurrency} processes get events, so that each person's stay in "
                "order; set AUDIENCE_QUEUE__SHARDS to at least --concurrency"
            )
        err_console.print(f"{concurrency} worker processes; Ctrl-C stops them all")
        code = run_pool(ws.root, concurrency)
        if code:
            raise typer.Exit(code)
        return
    shards = None
    if pool_member is not None:  # "i/N": worker i of a pool of N takes shards s % N == i
        from audience.realtime.queue.rabbitmq import owned_shards

        index, count = (int(part) for part in pool_member.split("/"))
        shards = owned_shards(settings.queue.shards, index, count)
    if not no_publish:
        publish_if_stale(ws, settings)  # the warehouse changed since the last publish
    consumer = live_consumer(ws, settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loaders = warehouse_loaders(ws, settings, consumer)
        await run_worker(ws, settings, stop, consumer, loaders, shards)

    queue = {"kafka": "Kafka", "rabbitmq": "RabbitMQ"}.get(
        queue_kind(settings), "the embedded queue"
    )
    err_console.print(f"worker consuming {queue}; Ctrl-C stops after the current batch")
    asyncio.run(main())
    stats, status = consumer.stats, consumer.queue_status
    err_console.print(
        f"applied {stats.applied:,}, duplicates {stats.duplicates:,}, "
        f"dead letters {stats.dead + status.dead:,}, retried after an outage "
        f"{status.retries:,}, segment changes emitted {stats.changes:,}"
    )


def _sync(workspace: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Load the events logged by the consumer into the warehouse (idempotent)."""
    from audience.pipelines.sync import sync_events

    report = sync_events(open_workspace(workspace))
    if as_json:
        print_json(report.__dict__)
        return
    console.print(
        f"{len(report.files)} file(s): rows read {report.rows_read:,} = new {report.rows_new:,}"
        f" + already known {report.rows_unchanged:,} + quarantined {report.rows_quarantined:,}",
        highlight=False,
    )


def keys_banner(server: ServerSettings) -> str:
    """Which write and read keys are in force and how to set them, for the start-up lines.

    In dev the default keys are shown (they are public, and a newcomer needs them); keys
    someone set are never shown, only counted.
    """
    from audience.config.settings import DEV_READ_KEY, DEV_WRITE_KEY

    def shown(keys: list[str], default: str, variable: str) -> str:
        if not keys:
            return f"none ({variable} is [])"
        if server.environment == "dev" and keys == [default]:
            return f"'{default}' (the dev default; set {variable} to change it)"
        return f"{len(keys)} key(s) from {variable} (not shown)"

    write = shown(server.write_keys, DEV_WRITE_KEY, "AUDIENCE_SERVER__WRITE_KEYS")
    read = shown(server.read_keys, DEV_READ_KEY, "AUDIENCE_SERVER__READ_KEYS")
    return (
        f"write key: {write} — clients send it as the HTTP Basic user name\n"
        f"read key: {read} — for GET /v1/profiles/{{id}}"
    )


def mask_logs(settings: Settings) -> None:
    """Keys, webhook secrets and URL passwords never reach a log line (uvicorn's included)."""
    from audience.config.settings import secret_values
    from audience.masking import install_log_masking

    install_log_masking(secret_values(settings))


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``worker`` and ``sync`` to the ``audience`` command."""
    app.command("serve")(handle_errors(_serve))
    app.command("worker")(handle_errors(_worker))
    app.command("sync")(handle_errors(_sync))


if __name__ == "__main__":  # `python -m audience.cli.realtime`, for tests and benchmarks
    logging.basicConfig(level=logging.WARNING)
    standalone = typer.Typer(no_args_is_help=True, add_completion=False)
    register(standalone)
    standalone()
