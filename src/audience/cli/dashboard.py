"""``audience ui``: the dashboard of a workspace, alone (no collector, no live feed).

``audience serve`` serves the same dashboard under ``/ui`` beside the collector, with the live
feed of accepted events.
"""

from __future__ import annotations

from typing import Annotated

import typer

from audience.cli.terminal import WorkspaceOption, err_console, handle_errors, open_workspace


def _ui(
    workspace: WorkspaceOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (server.port).")] = None,
) -> None:
    """Serve the dashboard on /ui: segments, maps, CLV and churn, cohorts, runs, quality."""
    import uvicorn

    from audience.cli.realtime import STREAMS_GRACE_SECONDS, mask_logs
    from audience.config.settings import check_server_secrets
    from audience.ui import create_dashboard_app

    ws = open_workspace(workspace)
    settings = ws.settings
    mask_logs(settings)
    server = settings.server
    server.host, server.port = host or server.host, port if port is not None else server.port
    check_server_secrets(server)
    err_console.print(f"dashboard on http://{server.host}:{server.port}/ui/")
    uvicorn.run(
        create_dashboard_app(ws),
        host=server.host,
        port=server.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=STREAMS_GRACE_SECONDS,
    )


def register(app: typer.Typer) -> None:
    """Add ``ui`` to the ``audience`` command."""
    app.command("ui")(handle_errors(_ui))
