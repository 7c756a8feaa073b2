"""`upmetr resources list|show|actions|start|stop|reboot`: the discovered cloud inventory."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from console.cli.cloud_format import account_id_of, account_option, clip, timeout_option, when
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.resources import (
    ActionStatus,
    ResourceActionName,
    ResourceActionRead,
    ResourceDetail,
    ResourceType,
)
from shared.client import Client

TYPES = click.Choice([kind.value for kind in ResourceType])
# Short names keep the table inside 80 columns.
SHORT_TYPES = {
    ResourceType.ec2_instance: "ec2",
    ResourceType.rds_instance: "rds",
    ResourceType.lambda_function: "lambda",
    ResourceType.s3_bucket: "s3",
    ResourceType.load_balancer: "lb",
}

_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda r: r.id),
    ("name", lambda r: clip(r.name, 24)),
    ("type", lambda r: SHORT_TYPES.get(r.type, r.type.value)),
    ("state", lambda r: r.state),
    ("region", lambda r: r.region),
    ("size", lambda r: clip(r.size, 12)),
]

_ACTION_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda a: a.id),
    ("action", lambda a: a.action.value),
    ("status", lambda a: a.status.value),
    ("by", lambda a: clip(a.actor, 24)),
    ("requested", lambda a: when(a.requested_at)),
    ("change", lambda a: f"{a.from_state or '?'} -> {a.to_state or '?'}"),
]


def _print_resource(resource: ResourceDetail) -> None:
    print_fields(
        [
            ("id", resource.id),
            ("name", resource.name),
            ("type", resource.type.value),
            ("state", resource.state),
            ("size", resource.size),
            ("region", resource.region),
            ("account", f"{resource.account_name} ({resource.account_id})"),
            ("provider id", resource.provider_id),
            ("discovered", when(resource.discovered_at)),
            ("last seen", when(resource.last_seen_at)),
            ("state since", when(resource.state_changed_at)),
            ("terminated", when(resource.terminated_at)),
            ("actions", ", ".join(a.value for a in resource.actions) or "none"),
        ]
    )
    if resource.tags:
        click.echo("\nTags")
        print_fields(sorted(resource.tags.items()))


@click.group()
def resources() -> None:
    """Cloud resources found by discovery, and start / stop / reboot."""


@resources.command("list")
@account_option
@click.option("--provider", help="aws, gcp, azure, digitalocean.")
@click.option("--type", "type_", type=TYPES, help="Only this resource type.")
@click.option("--region", help="Only this region.")
@click.option("--state", help="Only this state (running, stopped, terminated...).")
@click.option("--tag", help="key:value, or a key alone.")
@click.option("-q", "--q", "q", help="Text in the name or the provider id.")
@click.option("--sort", help="name, type, state, region, account_id, last_seen_at (-field: desc).")
@page_options
@json_option
@reports_errors
def resources_list(
    account: int | str | None,
    provider: str | None,
    type_: str | None,
    region: str | None,
    state: str | None,
    tag: str | None,
    q: str | None,
    sort: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """Resources, by name unless --sort says otherwise."""
    with open_client() as api:
        result = api.resources.list(
            account_id=account_id_of(api, account),
            provider=provider,
            type=type_,
            region=region,
            state=state,
            tag=tag,
            q=q,
            sort=sort,
            page=page,
            per_page=per_page,
        )
    print_result(result, as_json, lambda: print_page(result, _COLUMNS, numbered=True))


@resources.command("summary")
@json_option
@reports_errors
def resources_summary(as_json: bool) -> None:
    """How many resources exist, by type, state, region and account."""
    with open_client() as api:
        summary = api.resources.summary()

    def human() -> None:
        terminated = summary.terminated
        click.echo(
            f"{summary.total} resources" + (f", and {terminated} terminated" if terminated else "")
        )
        counts = [
            ("type", summary.by_type),
            ("state", summary.by_state),
            ("region", summary.by_region),
        ]
        for heading, items in counts:
            click.echo()
            print_table(items, [(heading, lambda c: c.key), ("count", lambda c: c.count)])
        click.echo()
        print_table(
            summary.by_account,
            [
                ("id", lambda a: a.account_id),
                ("account", lambda a: clip(a.name, 40)),
                ("count", lambda a: a.count),
            ],
        )

    print_result(summary, as_json, human)


@resources.command("show")
@click.argument("resource_id", type=int)
@json_option
@reports_errors
def resources_show(resource_id: int, as_json: bool) -> None:
    """One resource: tags, provider metadata (--json) and recent actions."""
    with open_client() as api:
        resource = api.resources.get(resource_id)
        history = api.resources.actions(resource_id, per_page=5)

    def human() -> None:
        _print_resource(resource)
        if history.items:
            click.echo("\nRecent actions")
            print_table(history.items, _ACTION_COLUMNS)

    print_result(resource, as_json, human)


@resources.command("actions")
@click.argument("resource_id", type=int)
@page_options
@json_option
@reports_errors
def resources_actions(resource_id: int, page: int, per_page: int, as_json: bool) -> None:
    """Who started, stopped or rebooted the resource, when, and how it went."""
    with open_client() as api:
        history = api.resources.actions(resource_id, page=page, per_page=per_page)
    print_result(history, as_json, lambda: print_table(history.items, _ACTION_COLUMNS))


_FINISHED = (ActionStatus.succeeded, ActionStatus.failed)


def _wait_for(api: Client, accepted: ResourceActionRead, timeout: float) -> ResourceActionRead:
    """Poll the resource's action history until the action succeeded or failed."""
    deadline = time.monotonic() + timeout
    while True:
        history = api.resources.actions(accepted.resource_id, per_page=20).items
        current = next((a for a in history if a.id == accepted.id), accepted)
        if current.status in _FINISHED:
            return current
        if time.monotonic() >= deadline:
            raise click.ClickException(
                f"action {accepted.id} still {current.status.value} after {timeout:g} s"
            )
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _act(
    action: ResourceActionName,
    resource_ids: tuple[int, ...],
    *,
    yes: bool,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Ask first (unless --yes) for actions that interrupt service; one id or many."""
    if wait and len(resource_ids) > 1:
        raise click.UsageError("--wait follows one resource; give a single id")
    with open_client() as api:
        if not yes and action is not ResourceActionName.start:
            _confirm(api, action, resource_ids)
        if len(resource_ids) == 1:
            done = getattr(api.resources, action.value)(resource_ids[0])
            if wait:
                done = _wait_for(api, done, timeout)
            print_result(done, as_json, lambda: click.echo(_outcome(action, done)))
            if done.status is ActionStatus.failed:
                sys.exit(1)
            return
        outcomes = api.resources.bulk_action(resource_ids, action)
    print_result(
        outcomes,
        as_json,
        lambda: print_table(
            outcomes,
            [
                ("id", lambda o: o.id),
                ("ok", lambda o: o.ok),
                ("action", lambda o: o.action_id),
                ("detail", lambda o: o.detail),
            ],
        ),
    )
    if not all(outcome.ok for outcome in outcomes):
        sys.exit(1)


def _outcome(action: ResourceActionName, done: ResourceActionRead) -> str:
    """How an action ended, or that it is under way and where to follow it."""
    if done.status in _FINISHED:
        return (
            f"{action.value.title()} of resource {done.resource_id} "
            f"{done.status.value}: {done.from_state or '?'} -> {done.to_state or '?'}"
            + (f" ({done.detail})" if done.detail else "")
        )
    return (
        f"{action.value.title()} of resource {done.resource_id} accepted "
        f"(action {done.id}, {done.status.value}); "
        f"see `upmetr resources show {done.resource_id}`."
    )


def _confirm(api: Client, action: ResourceActionName, resource_ids: tuple[int, ...]) -> None:
    if len(resource_ids) == 1:
        resource = api.resources.get(resource_ids[0])
        what = (
            f"{resource.name} ({resource.provider_id}, {resource.type.value} "
            f"in {resource.region}, now {resource.state})"
        )
    else:
        what = f"{len(resource_ids)} resources ({', '.join(map(str, resource_ids))})"
    click.confirm(f"{action.value.title()} {what}?", abort=True, err=True)


def _action_command(action: ResourceActionName, summary: str) -> click.Command:
    @click.argument("resource_ids", type=int, nargs=-1, required=True)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--wait", is_flag=True, help="Follow the action until the state settles.")
    @timeout_option
    @json_option
    @reports_errors
    def command(
        resource_ids: tuple[int, ...], yes: bool, wait: bool, timeout: float, as_json: bool
    ) -> None:
        _act(action, resource_ids, yes=yes, wait=wait, timeout=timeout, as_json=as_json)

    return click.command(action.value, help=summary)(command)


resources.add_command(
    _action_command(
        ResourceActionName.start, "Start stopped resources (EC2, RDS); exits 1 if any failed."
    )
)
resources.add_command(
    _action_command(
        ResourceActionName.stop,
        "Stop running resources (asks first unless --yes); exits 1 if any failed.",
    )
)
resources.add_command(
    _action_command(
        ResourceActionName.reboot,
        "Reboot running resources (asks first unless --yes); exits 1 if any failed.",
    )
)
