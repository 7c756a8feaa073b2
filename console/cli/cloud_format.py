"""What the cloud commands share: money, short times, clipped names, sparklines, jobs."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import click

from console.cli.output import cell, print_result, when
from shared.api.jobs import JobRead, JobStatus
from shared.client import Client
from shared.client.cloud import JobTimeout

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_BARS = "▁▂▃▄▅▆▇█"

wait_option = click.option(
    "--wait", is_flag=True, help="Wait for the job to finish and print its outcome."
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds --wait waits at most.",
)


class AccountRef(click.ParamType):
    """A cloud account by id (digits) or by name; `account_id_of` resolves a name."""

    name = "ID|NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail("an account id or name is needed", param, ctx)
        return int(text) if text.isdigit() else text


ACCOUNT = AccountRef()
account_option = click.option(
    "--account", "account", type=ACCOUNT, help="Only this cloud account (id or name)."
)


def account_id_of(api: Client, account: int | str | None) -> int | None:
    """The id of the account given by id or name (exact, else ignoring case)."""
    if account is None or isinstance(account, int):
        return account
    accounts = api.cloud_accounts.list(per_page=200).items
    for same in (lambda name: name == account, lambda name: name.casefold() == account.casefold()):
        found = [a.id for a in accounts if same(a.name)]
        if found:
            return found[0]
    raise click.BadParameter(f"no cloud account is named {account!r}", param_hint="account")


def money(amount: Decimal | None, currency: str = "USD") -> str | None:
    """`$1,234.56` (cents are enough to read; --json keeps every digit)."""
    if amount is None:
        return None
    symbol = _SYMBOLS.get(currency)
    text = f"{amount:,.2f}"
    if text.startswith("-"):
        return f"-{symbol}{text[1:]}" if symbol else f"{text} {currency}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def pct(value: float | None, *, signed: bool = False) -> str | None:
    if value is None:
        return None
    return f"{value:+.1f}%" if signed else f"{value:.1f}%"


def clip(text: str | None, width: int) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def sparkline(values: Sequence[Decimal]) -> str:
    """One block per value, scaled from zero to the largest."""
    top = max(values, default=Decimal(0))
    if top <= 0:
        return _BARS[0] * len(values)
    last = len(_BARS) - 1
    return "".join(_BARS[int(max(value, Decimal(0)) / top * last)] for value in values)


def _width() -> int:
    return max(60, shutil.get_terminal_size((80, 24)).columns)


def print_wrapped_fields(pairs: Sequence[tuple[str, object]]) -> None:
    """Like `print_fields`, with long values wrapped under themselves to the terminal width."""
    label_width = max(len(label) for label, _ in pairs)
    room = max(20, _width() - label_width - 2)
    for label, value in pairs:
        lines = textwrap.wrap(cell(value), room) or [""]
        click.echo(f"{label.ljust(label_width)}  {lines[0]}".rstrip())
        for line in lines[1:]:
            click.echo(" " * (label_width + 2) + line)


def print_wrapped_table(
    rows: Iterable[Any], columns: Sequence[tuple[str, Callable[[Any], Any]]]
) -> None:
    """Like `print_table`, with the last column (free text) wrapped to the terminal width."""
    table = [[heading.upper() for heading, _ in columns]]
    table += [[cell(get(row)) for _, get in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns) - 1)]
    indent = sum(widths) + 2 * len(widths)
    room = max(20, _width() - indent)
    for line in table:
        lead = "".join(text.ljust(width + 2) for text, width in zip(line, widths, strict=False))
        wrapped = textwrap.wrap(line[-1], room) or [""]
        click.echo((lead + wrapped[0]).rstrip())
        for more in wrapped[1:]:
            click.echo(" " * indent + more)


def print_job(job: JobRead) -> None:
    pairs = [
        ("job", job.id),
        ("kind", job.kind.value),
        ("status", job.status.value),
        ("account", job.account_id),
        ("created", when(job.created_at)),
        ("started", when(job.started_at)),
        ("finished", when(job.finished_at)),
        ("detail", job.detail),
    ]
    pairs += [(f"progress {key}", value) for key, value in job.progress.items()]
    pairs += [(f"result {key}", value) for key, value in job.result.items()]
    print_wrapped_fields(pairs)


def _report_progress(job: JobRead) -> None:
    """While waiting, a line per change on stderr (stdout keeps the outcome alone)."""
    if job.status in (JobStatus.succeeded, JobStatus.failed):
        return
    progress = job.progress
    done, total, step = progress.get("done"), progress.get("total"), progress.get("step")
    counts = f" {done}/{total}" if done is not None and total else ""
    click.echo(f"job {job.id} {job.status.value}{counts}{f' ({step})' if step else ''}", err=True)


def follow_job(api: Client, job_id: int, *, wait: bool, timeout: float, as_json: bool) -> None:
    """Report a started job; with `wait`, its outcome, exiting 1 when it failed."""
    if not wait:
        print_result(
            {"job_id": job_id},
            as_json,
            lambda: click.echo(
                f"Job {job_id} started; follow it with `upmetr jobs wait {job_id}`."
            ),
        )
        return
    try:
        job = api.jobs.wait(job_id, timeout, on_update=None if as_json else _report_progress)
    except JobTimeout as exc:
        raise click.ClickException(str(exc)) from exc
    print_result(job, as_json, lambda: print_job(job))
    if job.status is JobStatus.failed:
        sys.exit(1)
