"""`upmetr mail`: the mail a server without SMTP kept for its users (reset and magic links,
invitations), read on the server machine from the data directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

from console.cli.output import json_option, print_json, print_result, print_table

if TYPE_CHECKING:
    from server.providers.mail_spool import MailSpool, SpooledMail


def _spool(data_dir: Path | None) -> MailSpool:
    from server.config import Settings
    from server.providers.mail_spool import MailSpool

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    return MailSpool(settings.data_dir)


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The server's data directory (default: UPMETR_DATA_DIR, else the user's data folder).",
)


@click.group()
def mail() -> None:
    """Mail kept by a server that has no SMTP server configured (UPMETR_SMTP_HOST unset)."""


@mail.command("list")
@data_dir_option
@json_option
def list_mail(data_dir: Path | None, as_json: bool) -> None:
    """The kept messages, newest first."""
    found = _spool(data_dir).list()
    print_result([dataclasses.asdict(item) for item in found], as_json, lambda: _table(found))


def _table(found: list[SpooledMail]) -> None:
    if not found:
        click.echo("No mail kept.")
        return
    print_table(
        found,
        [
            ("id", lambda m: m.id),
            ("kept", lambda m: m.created_at),
            ("to", lambda m: m.to),
            ("subject", lambda m: m.subject),
        ],
    )


@mail.command("show")
@click.argument("mail_id", metavar="ID", required=False)
@data_dir_option
@json_option
def show_mail(mail_id: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Print a kept message (default: the newest)."""
    spool = _spool(data_dir)
    ids = spool.ids()
    chosen = mail_id or (ids[-1] if ids else None)
    message = spool.read(chosen) if chosen else None
    if message is None:
        raise click.ClickException(f"No kept mail {mail_id}" if mail_id else "No mail kept")
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    if as_json:
        print_json({"id": chosen, "to": message["To"], "subject": message["Subject"], "text": text})
        return
    for header in ("From", "To", "Date", "Subject"):
        click.echo(f"{header}: {message[header]}")
    click.echo()
    click.echo(text.rstrip("\n"))
