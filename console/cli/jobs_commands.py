"""`upmetr jobs list|show|wait`: discovery runs and cost syncs running in the background."""

from __future__ import annotations

import click

from console.cli.cloud_format import (
    account_id_of,
    account_option,
    follow_job,
    print_job,
    timeout_option,
    when,
)
from console.cli.output import json_option, page_options, print_result, print_table
from console.cli.session import open_client, reports_errors
from shared.api.jobs import JobKind, JobStatus

KINDS = click.Choice([kind.value for kind in JobKind])
STATUSES = click.Choice([status.value for status in JobStatus])


@click.group()
def jobs() -> None:
    """Background jobs: discovery runs and cost syncs."""


@jobs.command("list")
@click.option("--kind", type=KINDS, help="Only jobs of this kind.")
@click.option("--status", type=STATUSES, help="Only jobs in this state.")
@account_option
@page_options
@json_option
@reports_errors
def jobs_list(
    kind: str | None,
    status: str | None,
    account: int | str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """Jobs, newest first."""
    with open_client() as api:
        result = api.jobs.list(
            kind=kind,
            status=status,
            account_id=account_id_of(api, account),
            page=page,
            per_page=per_page,
        )
    print_result(
        result,
        as_json,
        lambda: print_table(
            result.items,
            [
                ("id", lambda j: j.id),
                ("kind", lambda j: j.kind.value),
                ("status", lambda j: j.status.value),
                ("account", lambda j: j.account_id),
                ("created", lambda j: when(j.created_at)),
                ("finished", lambda j: when(j.finished_at)),
            ],
        ),
    )


@jobs.command("show")
@click.argument("job_id", type=int)
@json_option
@reports_errors
def jobs_show(job_id: int, as_json: bool) -> None:
    """A job's state, progress and outcome."""
    with open_client() as api:
        job = api.jobs.get(job_id)
    print_result(job, as_json, lambda: print_job(job))


@jobs.command("wait")
@click.argument("job_id", type=int)
@timeout_option
@json_option
@reports_errors
def jobs_wait(job_id: int, timeout: float, as_json: bool) -> None:
    """Wait until a job finishes; exits 1 when it failed or the wait timed out."""
    with open_client() as api:
        follow_job(api, job_id, wait=True, timeout=timeout, as_json=as_json)
