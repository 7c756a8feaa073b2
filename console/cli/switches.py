"""`enable ID`, `disable ID` and `rm ID` for a command group whose client namespace has
`update(id, enabled=...)` and `delete(id)`: channels, routing rules, alert rules."""

from __future__ import annotations

import click

from console.cli.output import json_option, print_result
from console.cli.session import open_client, reports_errors


def switches_and_rm(group: click.Group, kind: str, namespace: str, on: str, off: str) -> None:
    """`enable ID`, `disable ID` and `rm ID [--yes]` of a group whose client namespace has
    `update(id, enabled=...)` and `delete(id)` (channels, rules)."""

    def switch(item_id: int, enabled: bool, as_json: bool) -> None:
        with open_client() as api:
            changed = getattr(api, namespace).update(item_id, enabled=enabled)
        state = "enabled" if enabled else "disabled"
        print_result(
            changed, as_json, lambda: click.echo(f"{kind} {item_id} {state}: {changed.name}")
        )

    @group.command("enable", help=on)
    @click.argument("item_id", metavar="ID", type=int)
    @json_option
    @reports_errors
    def enable(item_id: int, as_json: bool) -> None:
        switch(item_id, True, as_json)

    @group.command("disable", help=off)
    @click.argument("item_id", metavar="ID", type=int)
    @json_option
    @reports_errors
    def disable(item_id: int, as_json: bool) -> None:
        switch(item_id, False, as_json)

    @group.command("rm", help=f"Delete a {kind.lower()}.")
    @click.argument("item_id", metavar="ID", type=int)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @reports_errors
    def remove(item_id: int, yes: bool) -> None:
        if not yes:
            click.confirm(f"Delete {kind.lower()} {item_id}?", abort=True, err=True)
        with open_client() as api:
            getattr(api, namespace).delete(item_id)
        click.echo(f"{kind} {item_id} deleted.")
