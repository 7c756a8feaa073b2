"""`upmetr agents`: the hosts that report metrics (list, show, add, update, rm,
regenerate-token, install-script). AGENT is an agent's id or its name. A token is printed
once, by add and regenerate-token."""

from __future__ import annotations

import shlex
from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
)
from console.cli.session import open_client, reports_errors, server_of
from console.formatting import byte_size
from shared.api.agents import AgentRead, AgentStatus, AgentWithToken
from shared.client import Client

STATUSES = click.Choice([status.value for status in AgentStatus])


class AgentRef(click.ParamType):
    """An agent by id (digits) or by name; `agent_id_of` resolves a name."""

    name = "AGENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail("an agent id or name is needed", param, ctx)
        return int(text) if text.isdigit() else text


AGENT = AgentRef()


def agent_id_of(api: Client, agent: int | str) -> int:
    """The id of the agent given by id or name (exact, else ignoring case)."""
    if isinstance(agent, int):
        return agent
    # `q` matches names and hostnames by substring: the exact name is picked among them.
    found = api.agents.list(q=agent, per_page=200).items
    for same in (lambda name: name == agent, lambda name: name.casefold() == agent.casefold()):
        ids = [each.id for each in found if same(each.name)]
        if ids:
            return ids[0]
    raise click.BadParameter(f"no agent is named {agent!r}", param_hint="AGENT")


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda a: a.id),
    ("name", lambda a: clip(a.name, 24)),
    ("status", lambda a: a.status.value),
    ("last seen", lambda a: a.last_seen_at),
    ("hostname", lambda a: clip(a.hostname, 28)),
    ("os", lambda a: clip(a.os, 20)),
    ("version", lambda a: a.agent_version),
    ("tags", lambda a: ",".join(a.tags) or None),
]


def _show(agent: AgentRead) -> None:
    facts = agent.facts
    pairs: list[tuple[str, Any]] = [
        ("id", agent.id),
        ("name", agent.name),
        ("status", agent.status.value),
        ("last seen", agent.last_seen_at),
        ("hostname", agent.hostname),
        ("os", agent.os),
        ("agent version", agent.agent_version),
        ("interval", f"{agent.interval_seconds}s" if agent.interval_seconds else None),
        ("tags", ", ".join(agent.tags) or None),
        ("token", agent.token_hint),
    ]
    if facts is not None:
        cpu = facts.cpu_model
        if facts.cpu_count:
            cpu = f"{facts.cpu_count} x {cpu}" if cpu else f"{facts.cpu_count} cpus"
        pairs += [
            ("kernel", facts.kernel),
            ("arch", facts.arch),
            ("cpu", cpu),
            ("memory", byte_size(facts.mem_total)),
            ("booted", facts.boot_time),
        ]
    pairs.append(("created", agent.created_at))
    print_fields(pairs)


def install_lines(agent: AgentWithToken, server: str) -> list[str]:
    """How to install the agent on its host with this token: the script fetched with an API
    key (the install-script route wants a member's credentials, which a host does not have),
    or saved by this command line and copied there."""
    token = shlex.quote(agent.token)
    lines = [f"Token (shown once, keep it): {agent.token}", ""]
    if server.startswith(("http://", "https://")):
        script_url = f"{server}/agents/{agent.id}/install-script"
        lines += [
            "Install it on the host, as root, with an API key of yours in UPMETR_API_KEY:",
            f'  curl -fsSL -H "Authorization: Bearer $UPMETR_API_KEY" {script_url} \\',
            f"    | sudo UPMETR_AGENT_TOKEN={token} sh",
            "or save the script here and run it there:",
        ]
    else:  # through an SSH tunnel: the host may not reach the server at that address
        lines.append("Save the install script here and run it on the host:")
    lines += [
        f"  upmetr agents install-script {agent.id} > install-upmetr-agent.sh",
        f"  sudo UPMETR_AGENT_TOKEN={token} sh install-upmetr-agent.sh",
    ]
    return lines


@click.group()
def agents() -> None:
    """Infra agents: the hosts that report metrics."""


@agents.command("list")
@click.option("--status", type=STATUSES, help="Only agents in this state.")
@click.option("--tag", help="Only agents with this tag.")
@click.option("-q", "--query", "q", help="Matches the name or the hostname.")
@page_options
@json_option
@reports_errors
def agents_list(
    status: str | None, tag: str | None, q: str | None, page: int, per_page: int, as_json: bool
) -> None:
    """Agents with their state and when they last reported."""
    with open_client() as api:
        result = api.agents.list(page=page, per_page=per_page, status=status, tag=tag, q=q)
    print_result(result, as_json, lambda: print_page(result, _COLUMNS))


@agents.command("show")
@click.argument("agent", type=AGENT)
@json_option
@reports_errors
def agents_show(agent: int | str, as_json: bool) -> None:
    """One agent: its state, its host's facts, its token's last characters."""
    with open_client() as api:
        found = api.agents.get(agent_id_of(api, agent))
    print_result(found, as_json, lambda: _show(found))


@agents.command("add")
@click.option("--name", required=True, help="What the console calls the host.")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@json_option
@reports_errors
def agents_add(name: str, tags: tuple[str, ...], as_json: bool) -> None:
    """Add an agent: prints its token (once) and how to install it on the host."""
    with open_client() as api:
        agent = api.agents.create(name=name, tags=tags)
        server = server_of(api)

    def human() -> None:
        click.echo(f"Agent {agent.id} added: {agent.name}.")
        for line in install_lines(agent, server):
            click.echo(line)

    print_result(agent, as_json, human)


@agents.command("update")
@click.argument("agent", type=AGENT)
@click.option("--name", help="New name.")
@click.option("--tag", "tags", multiple=True, help="The tags, replacing the old (repeatable).")
@click.option("--no-tags", is_flag=True, help="Remove every tag.")
@json_option
@reports_errors
def agents_update(
    agent: int | str, name: str | None, tags: tuple[str, ...], no_tags: bool, as_json: bool
) -> None:
    """Rename an agent or replace its tags; what is not given stays."""
    if tags and no_tags:
        raise click.UsageError("--tag and --no-tags exclude each other")
    new_tags = [] if no_tags else (list(tags) or None)
    if name is None and new_tags is None:
        raise click.UsageError("nothing to change: give --name, --tag or --no-tags")
    with open_client() as api:
        changed = api.agents.update(agent_id_of(api, agent), name=name, tags=new_tags)
    print_result(
        changed, as_json, lambda: click.echo(f"Agent {changed.id} updated: {changed.name}.")
    )


@agents.command("rm")
@click.argument("agent", type=AGENT)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def agents_rm(agent: int | str, yes: bool) -> None:
    """Delete an agent with its metrics; its token stops working."""
    if not yes:
        click.confirm(f"Delete agent {agent} and its metrics?", abort=True, err=True)
    with open_client() as api:
        agent_id = agent_id_of(api, agent)
        api.agents.delete(agent_id)
    click.echo(f"Agent {agent_id} deleted.")


@agents.command("regenerate-token")
@click.argument("agent", type=AGENT)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@reports_errors
def agents_regenerate_token(agent: int | str, yes: bool, as_json: bool) -> None:
    """A new token for an agent; the old one stops working at once, so the host stops
    reporting until its config has the new one."""
    if not yes:
        click.confirm(
            f"Replace agent {agent}'s token? The host stops reporting until it has the new.",
            abort=True,
            err=True,
        )
    with open_client() as api:
        renewed = api.agents.regenerate_token(agent_id_of(api, agent))
        server = server_of(api)

    def human() -> None:
        click.echo(f"Agent {renewed.id} has a new token; the old one no longer works.")
        for line in install_lines(renewed, server):
            click.echo(line)

    print_result(renewed, as_json, human)


@agents.command("install-script")
@click.argument("agent", type=AGENT)
@reports_errors
def agents_install_script(agent: int | str) -> None:
    """Print the shell script that installs the agent on its host as a service. Run it there
    as root with the agent's token in UPMETR_AGENT_TOKEN (the script does not hold it)."""
    with open_client() as api:
        script = api.agents.install_script(agent_id_of(api, agent))
    click.echo(script, nl=not script.endswith("\n"))
