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
        progress = _Progress(since)
        stream = api.events.stream(last_event_id=since, on_connection=progress.connection)
        try:
            for event in stream:
                progress.last_event_id = event.id
                if event.type == STREAM_RESET or not prefixes or event.type.startswith(prefixes):
                    _print(event, as_json)
        except KeyboardInterrupt:
            pass
        finally:
            stream.close()


class _Progress:
    """Says on stderr when the stream is lost and when it resumes, once each: a person
    watching knows the silence is not a quiet organization, and stdout stays events only."""

    def __init__(self, last_event_id: int | None) -> None:
        self.last_event_id = last_event_id
        self.lost = False

    def connection(self, connected: bool) -> None:
        if connected and self.lost:
            after = f" after event {self.last_event_id}" if self.last_event_id else ""
            click.echo(f"Reconnected; resuming{after}.", err=True)
        elif not connected and not self.lost:
            click.echo("Connection to the server lost; reconnecting...", err=True)
        self.lost = not connected


def _print(event: Event, as_json: bool) -> None:
    if as_json:
        click.echo(event.model_dump_json(exclude_unset=True))
    else:
        data = json.dumps(event.data.wire(), separators=(",", ":"), ensure_ascii=False)
        click.echo(f"{event.id}  {event.type}  {data}")
