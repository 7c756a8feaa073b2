"""`upmetr events tail`: live events as they arrive, for people or (with --json) programs."""

from __future__ import annotations

import json

import click

from console.cli.output import json_option
from console.cli.session import open_client, reports_errors
from shared.api.events import STREAM_RESET, Event


@click.group()
def events() -> None:
    """Live events of the organization."""


@events.command("tail")
@json_option
@click.option(
    "--type",
    "prefixes",
    multiple=True,
    metavar="PREFIX",
    help="Only events whose type starts with PREFIX (e.g. incident.); repeatable.",
)
@click.option("--since", type=int, default=None, help="Resume after this event id.")
@reports_errors
def tail(as_json: bool, prefixes: tuple[str, ...], since: int | None) -> None:
    """Print events as they arrive (one JSON object per line with --json); Ctrl-C ends.

    Reconnects by itself and resumes where it stopped; a `stream.reset` event (always
    printed) means events were missed.
    """
    with open_client() as api:
        stream = api.events.stream(last_event_id=since)
        try:
            for event in stream:
                if event.type == STREAM_RESET or not prefixes or event.type.startswith(prefixes):
                    _print(event, as_json)
        except KeyboardInterrupt:
            pass
        finally:
            stream.close()


def _print(event: Event, as_json: bool) -> None:
    if as_json:
        click.echo(event.model_dump_json())
    else:
        data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
        click.echo(f"{event.id}  {event.type}  {data}")
