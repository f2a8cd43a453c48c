"""``audience forget | compact | unsuppress | audit``: erase or suppress a person, with a receipt.

``forget`` resolves the person an identifier names (refusing, without ``--all``, when it
names several), erases her from every store and prints what each held and lost. The
privacy key comes from ``AUDIENCE_PRIVACY__KEY`` or ``AUDIENCE_PRIVACY__KEY_FILE``.
"""

from __future__ import annotations

from pathlib import Path
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
    writable_file,
)
from audience.errors import InputError

if TYPE_CHECKING:
    from audience.model.identifiers import PersonQuery
    from audience.privacy.receipts import Receipt

CustomerOption = Annotated[str | None, typer.Option("--customer", help="A customer or profile id.")]
EmailOption = Annotated[str | None, typer.Option("--email", help="An e-mail address.")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="A phone number.")]
UserOption = Annotated[str | None, typer.Option("--user-id", help="A userId of her events.")]
FAILED_EXIT = 75


def person_query(
    customer: str | None, email: str | None, phone: str | None, user_id: str | None
) -> PersonQuery:
    """The one identifier given, or an InputError saying to give exactly one."""
    from audience.model.identifiers import PersonQuery

    given = [
        (kind, value)
        for kind, value in (
            ("customer", customer),
            ("email", email),
            ("phone", phone),
            ("user_id", user_id),
        )
        if value is not None
    ]
    if len(given) != 1 or not given[0][1].strip():
        raise InputError(
            "name the person with exactly one of --customer ID, --email E, --phone P, --user-id U"
        )
    kind, value = given[0]
    return PersonQuery(kind, value)  # type: ignore[arg-type]


def render_receipt(receipt: Receipt) -> None:
    from rich.table import Table

    console.print(
        f"regulation {receipt.regulation_id}: {receipt.type}, {receipt.status}, "
        f"{receipt.persons} person(s)" + (f" — {receipt.message}" if receipt.message else "")
    )
    if not receipt.stores:
        return
    table = Table("store", "status", "found", "deleted", "seconds", "detail")
    for s in receipt.stores:
        table.add_row(
            s.store, s.status, f"{s.found:,}", f"{s.deleted:,}", f"{s.seconds:.3f}", s.detail
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``forget``, ``compact``, ``unsuppress`` and ``audit``."""

    @app.command()
    @handle_errors
    def forget(
        customer: CustomerOption = None,
        email: EmailOption = None,
        phone: PhoneOption = None,
        user_id: UserOption = None,
        type_: Annotated[
            str,
            typer.Option(
                "--type", help="delete | suppress | suppress-and-delete (drop her new events too)."
            ),
        ] = "suppress-and-delete",
        all_: Annotated[
            bool, typer.Option("--all", help="Forget every person the identifier matches.")
        ] = False,
        compact: Annotated[
            bool,
            typer.Option(
                "--compact",
                help="Then rewrite the warehouse file so her deleted rows' bytes leave it too "
                "(see 'audience compact'; minutes on a large warehouse).",
            ),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Erase a person from every store (warehouse, live, queue, logs, exports, reports)."""
        from audience.pipelines.privacy import RegulationRequest, forget
        from audience.pipelines.privacy_access import compact_warehouse
        from audience.privacy.audit import cli_actor

        if type_ not in ("delete", "suppress", "suppress-and-delete"):
            raise InputError(
                f"unknown --type {type_!r}; use delete, suppress or suppress-and-delete"
            )
        query = person_query(customer, email, phone, user_id)
        request = RegulationRequest([query], type_, all_, cli_actor())  # type: ignore[arg-type]
        ws = open_workspace(workspace)
        receipt = forget(ws, request)
        if compact and receipt.status == "finished":
            receipt.stores.append(compact_warehouse(ws, cli_actor()))
        if json_:
            print_json(receipt.to_dict())
        else:
            render_receipt(receipt)
            if not compact and receipt.status == "finished":
                console.print(
                    "the warehouse file keeps deleted rows' bytes in free blocks until reused: "
                    "'audience compact' rewrites it without them"
                )
        if receipt.status == "failed":
            raise typer.Exit(FAILED_EXIT)

    @app.command()
    @handle_errors
    def compact(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
        """Rewrite the warehouse file with only its live rows (after erasures or retention)."""
        from audience.pipelines.privacy_access import compact_warehouse
        from audience.privacy.audit import cli_actor

        receipt = compact_warehouse(open_workspace(workspace), cli_actor())
        if json_:
            print_json(receipt.to_dict())
        else:
            console.print(f"warehouse compacted: {receipt.detail} in {receipt.seconds:.1f} s")

    @app.command()
    @handle_errors
    def unsuppress(
        customer: CustomerOption = None,
        email: EmailOption = None,
        phone: PhoneOption = None,
        user_id: UserOption = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Take an identifier off the suppression list: her new events are kept again."""
        from audience.pipelines.privacy import unsuppress_identifiers
        from audience.privacy.audit import cli_actor

        query = person_query(customer, email, phone, user_id)
        removed = unsuppress_identifiers(open_workspace(workspace), [query], cli_actor())
        if json_:
            print_json({"removed": removed})
        else:
            console.print(
                f"{removed} identifier(s) taken off the suppression list"
                if removed
                else "that identifier was not suppressed"
            )

    retention = typer.Typer(
        help="Retention: delete what is older than privacy.retention_days in audience.yaml.",
        no_args_is_help=True,
        cls=Group,
    )
    app.add_typer(retention, name="retention")

    @retention.command("apply")
    @handle_errors
    def retention_apply(
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Delete rows older than their table's retention, with counts per table."""
        from rich.table import Table

        from audience.pipelines.privacy_access import retention_apply as apply
        from audience.privacy.audit import cli_actor

        ws = open_workspace(workspace)
        receipts = apply(ws, dry_run=dry_run, actor=cli_actor())
        if json_:
            print_json({"dry_run": dry_run, "tables": [r.to_dict() for r in receipts]})
            return
        if not receipts:
            console.print("no retention set: add privacy.retention_days to audience.yaml")
            return
        table = Table("table", "older rows", "deleted", "limit")
        for r in receipts:
            table.add_row(
                r.store.removeprefix("warehouse:"), f"{r.found:,}", f"{r.deleted:,}", r.detail
            )
        console.print(table)
        if dry_run:
            console.print("dry run: nothing was deleted")

    @app.command("export-person")
    @handle_errors
    def export_person(
        customer_id: Annotated[
            str | None, typer.Argument(help="A customer or profile id (or use an option).")
        ] = None,
        email: EmailOption = None,
        phone: PhoneOption = None,
        user_id: UserOption = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")
        ] = None,
        workspace: WorkspaceOption = None,
    ) -> None:
        """Everything held about a person, as portable JSON (GDPR Articles 15 and 20)."""
        import json

        from audience.pipelines.privacy_access import export_person as export
        from audience.privacy.audit import cli_actor

        query = person_query(customer_id, email, phone, user_id)
        data = export(open_workspace(workspace), query, cli_actor())
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        if out is None:
            typer.echo(text)
        else:
            writable_file(out, "--out").write_text(text + "\n", encoding="utf-8")
            tables = data["tables"]
            console.print(
                f"wrote {out}: {sum(len(rows) for rows in tables.values()):,} row(s) from "
                f"{len(tables)} table(s)"
                if data["person"]
                else f"wrote {out}: nobody matches"
            )

    @app.command()
    @handle_errors
    def audit(
        limit: Annotated[int, typer.Option(help="Most entries shown, newest first.")] = 50,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """The audit log of privacy actions: who, what, when (persons as keyed hashes)."""
        from rich.table import Table

        from audience.privacy.audit import entries

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            found = entries(warehouse.con, limit=limit)
        if json_:
            print_json([e.to_dict() for e in found])
            return
        table = Table("at", "actor", "action", "subject (keyed hash)", "detail")
        for e in found:
            table.add_row(
                f"{e.at:%Y-%m-%d %H:%M:%S}",
                e.actor,
                e.action,
                (e.subject_hash or "")[:16],
                str(e.detail.get("status", e.detail)),
            )
        console.print(table)
