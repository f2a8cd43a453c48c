"""``audience deadletters list|show|replay|discard``: what the live consumer could not process.

Works on the queue the workspace's settings name: the embedded queue file, or RabbitMQ's
``<name>.dead`` when ``AUDIENCE_QUEUE__URL`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)
from audience.errors import InputError

if TYPE_CHECKING:
    from audience.realtime.queue.dead_letter_box import DeadLetterBox

IdsArgument = Annotated[
    list[str] | None, typer.Argument(help="Dead letter ids (see 'list'); none: give --all.")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every dead letter of the queue.")]


def _box(workspace: WorkspaceOption) -> DeadLetterBox:
    from audience.realtime.runtime import dead_letter_box

    ws = open_workspace(workspace)
    return dead_letter_box(ws, ws.settings)


def _chosen(ids: list[str] | None, every: bool, verb: str) -> list[str] | None:
    if bool(ids) == every:
        raise InputError(f"{verb} which? give dead letter ids, or --all (not both)")
    return None if every else list(ids or [])


def _when(epoch: float | None) -> str:
    return "" if epoch is None else f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%d %H:%M:%S}Z"


def register(app: typer.Typer) -> None:
    """Add the ``deadletters`` group."""
    group = typer.Typer(
        help="Events the live consumer could not process: list, show, replay, discard.",
        no_args_is_help=True,
        cls=Group,
    )
    app.add_typer(group, name="deadletters")

    @group.command("list")
    @handle_errors
    def list_(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
        """Every dead letter: id, when, how many events, and why."""
        from rich.table import Table

        records = asyncio.run(_box(workspace).records())
        if json_:
            print_json([r.to_dict() for r in records])
            return
        if not records:
            console.print("no dead letters")
            return
        table = Table("id", "failed at", "events", "reason")
        for r in records:
            table.add_row(r.id, _when(r.failed_at), f"{r.events:,}", r.reason)
        console.print(table)

    @group.command()
    @handle_errors
    def show(
        letter_id: Annotated[str, typer.Argument(help="A dead letter id (see 'list').")],
        workspace: WorkspaceOption = None,
    ) -> None:
        """One dead letter with its body."""
        for record in asyncio.run(_box(workspace).records()):
            if record.id == letter_id:
                print_json(record.to_dict(with_body=True))
                return
        raise InputError(f"no dead letter with id {letter_id}; see 'audience deadletters list'")

    @group.command()
    @handle_errors
    def replay(
        ids: IdsArgument = None,
        every: AllOption = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Put dead letters back on the queue (events already applied change nothing)."""
        _act(workspace, ids, every, "replay", json_)

    @group.command()
    @handle_errors
    def discard(
        ids: IdsArgument = None,
        every: AllOption = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Delete dead letters for good."""
        _act(workspace, ids, every, "discard", json_)


def _act(
    workspace: WorkspaceOption, ids: list[str] | None, every: bool, verb: str, json_: bool
) -> None:
    """Replay or discard: unknown ids are refused before anything is done."""
    box, wanted = _box(workspace), _chosen(ids, every, verb)
    action: Callable[[Sequence[str] | None], Awaitable[list[str]]] = getattr(box, verb)

    async def checked() -> list[str]:
        from audience.realtime.queue.dead_letter_box import check_found

        if wanted is not None:
            check_found(wanted, [r.id for r in await box.records()])
        return await action(wanted)

    _report(asyncio.run(checked()), {"replay": "replayed", "discard": "discarded"}[verb], json_)


def _report(done: list[str], verb: str, json_: bool) -> None:
    if json_:
        print_json({verb: done})
    else:
        console.print(f"{verb} {len(done):,} dead letter(s)")
