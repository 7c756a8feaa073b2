"""The `upmetr` command line: server administration and commands for scripts."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli.account_commands import api_keys, login, logout, orgs, whoami
from console.cli.budgets_commands import budgets
from console.cli.cloud_accounts_commands import cloud_accounts
from console.cli.console_command import console
from console.cli.costs_commands import costs
from console.cli.events_commands import events
from console.cli.incidents_commands import incidents
from console.cli.jobs_commands import jobs
from console.cli.monitors_commands import monitors
from console.cli.resources_commands import resources
from console.cli.server_commands import serve, users
from console.cli.session import SshOptions, ssh_options, use_ssh_options
from console.cli.up_command import up
from console.connection import SshTarget


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="upmetr")
@ssh_options
@click.pass_context
def main(
    ctx: click.Context, ssh: SshTarget | None, remote_port: int, identity: Path | None
) -> None:
    """Upmetr: uptime, incidents and cloud costs for on-call engineers."""
    use_ssh_options(ctx, SshOptions(target=ssh, remote_port=remote_port, identity=identity))


main.add_command(up)
main.add_command(serve)
main.add_command(users)
main.add_command(login)
main.add_command(logout)
main.add_command(whoami)
main.add_command(orgs)
main.add_command(api_keys)
main.add_command(monitors)
main.add_command(incidents)
main.add_command(events)
main.add_command(cloud_accounts)
main.add_command(resources)
main.add_command(costs)
main.add_command(budgets)
main.add_command(jobs)
main.add_command(console)
