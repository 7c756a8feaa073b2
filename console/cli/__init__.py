"""The `upmetr` command line: server administration and commands for scripts.

A command's module is imported when that command runs (or `--help` lists it), so `upmetr
console` starts without the script commands and the API models only they use.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from console.cli.session import SshOptions, ssh_options, use_ssh_options
from console.connection import SshTarget

# Each command and where it is defined: "module:attribute".
COMMANDS = {
    "up": "console.cli.up_command:up",
    "serve": "console.cli.server_commands:serve",
    "users": "console.cli.server_commands:users",
    "db": "console.cli.server_commands:db",
    "mail": "console.cli.mail_commands:mail",
    "login": "console.cli.account_commands:login",
    "logout": "console.cli.account_commands:logout",
    "password": "console.cli.account_commands:password",
    "whoami": "console.cli.account_commands:whoami",
    "orgs": "console.cli.account_commands:orgs",
    "api-keys": "console.cli.account_commands:api_keys",
    "monitors": "console.cli.monitors_commands:monitors",
    "incidents": "console.cli.incidents_commands:incidents",
    "events": "console.cli.events_commands:events",
    "cloud-accounts": "console.cli.cloud_accounts_commands:cloud_accounts",
    "resources": "console.cli.resources_commands:resources",
    "costs": "console.cli.costs_commands:costs",
    "budgets": "console.cli.budgets_commands:budgets",
    "channels": "console.cli.notifications_commands:channels",
    "rules": "console.cli.rules_commands:rules",
    "alert-rules": "console.cli.alert_rules_commands:alert_rules",
    "agents": "console.cli.agents_commands:agents",
    "admin": "console.cli.admin_commands:admin",
    "metrics": "console.cli.metrics_commands:metrics",
    "status-pages": "console.cli.status_pages_commands:status_pages",
    "announce": "console.cli.announce_commands:announce",
    "notifications": "console.cli.inbox_commands:notifications",
    "deliveries": "console.cli.inbox_commands:deliveries",
    "overview": "console.cli.overview_command:overview",
    "billing": "console.cli.billing_commands:billing",
    "jobs": "console.cli.jobs_commands:jobs",
    "console": "console.cli.console_command:console",
    "ssh-serve": "console.cli.ssh_commands:ssh_serve",
    "ssh-keys": "console.cli.ssh_commands:ssh_keys",
}


class LazyGroup(click.Group):
    """Commands imported on first use, click's own recipe:
    https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands"""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"{where} is not the {cmd_name!r} command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="upmetr")
@ssh_options
@click.pass_context
def main(
    ctx: click.Context, ssh: SshTarget | None, remote_port: int, identity: Path | None
) -> None:
    """Upmetr: uptime, incidents and cloud costs for on-call engineers."""
    use_ssh_options(ctx, SshOptions(target=ssh, remote_port=remote_port, identity=identity))
