"""Commands for scripts: login, logout, password, whoami, organizations and API keys."""

from __future__ import annotations

from datetime import datetime

import click

from console.cli.output import json_option, print_fields, print_result, print_table
from console.cli.session import (
    client_at,
    default_url,
    open_client,
    reports_errors,
    server_of,
    using_api_key,
)
from console.config import (
    Credentials,
    delete_credentials,
    load_credentials,
    save_credentials,
)
from shared.api.auth import MfaChallenge, TokenPair
from shared.api.common import Role
from shared.client import ClientError

ROLES = click.Choice([role.value for role in Role])


@click.command()
@click.option("--url", default=None, help="Server URL (default: UPMETR_URL or the last one).")
@click.option("--email", default=None, help="Account email (prompted when missing).")
@click.option("--password", default=None, help="Password (prompted, hidden, when missing).")
@click.option(
    "--magic-link",
    "magic_token",
    default=None,
    metavar="TOKEN",
    help="Sign in with the token of an emailed sign-in link instead of a password.",
)
@reports_errors
def login(
    url: str | None, email: str | None, password: str | None, magic_token: str | None
) -> None:
    """Sign in and store the tokens for the other commands."""
    url = url or default_url()
    if magic_token is not None and (email or password):
        raise click.UsageError("--magic-link signs in without --email or --password")
    with client_at(url) as api:
        if magic_token is not None:
            # The token is spent by this call: a link works once (API.md, /auth/magic-link).
            result = api.auth.verify_magic_link(magic_token.strip())
        else:
            email = email or click.prompt("Email")
            password = password or click.prompt("Password", hide_input=True)
            result = api.auth.login(email, password)
        if isinstance(result, MfaChallenge):
            code = click.prompt("MFA code (authenticator or backup code)")
            result = api.auth.verify_mfa(result.mfa_token, code.strip())
        tokens: TokenPair = result
        me = api.auth.me()
        server = server_of(api)
        path = save_credentials(
            Credentials(
                url=url,
                access_token=api.access_token or tokens.access_token,
                refresh_token=api.refresh_token or tokens.refresh_token,
                email=me.user.email,
            )
        )
    click.echo(
        f"Logged in to {server} as {me.user.email} "
        f"({me.role.value} of {me.organization.name}). Credentials: {path}"
    )


@click.command()
@click.option(
    "--reset",
    "reset_token",
    default=None,
    metavar="TOKEN",
    help="Set a new password with the token of an emailed reset link (no sign-in needed).",
)
@click.option(
    "--url",
    default=None,
    help="With --reset: the server URL (default: UPMETR_URL or the last one).",
)
@json_option
@reports_errors
def password(reset_token: str | None, url: str | None, as_json: bool) -> None:
    """Change your password (asks for the current one), or finish a reset with --reset.

    Passwords are asked for with hidden input, the new one twice. A change keeps this login
    and signs every other session out; a reset signs every session out.
    """
    if reset_token is not None:
        _reset_password(url or default_url(), reset_token.strip(), as_json=as_json)
        return
    if url is not None:
        raise click.UsageError("--url goes with --reset; a change uses the stored login")
    if using_api_key():
        raise click.ClickException(
            "an API key has no password: unset UPMETR_API_KEY and sign in with `upmetr login`"
        )
    with open_client() as api:
        email = api.auth.me().user.email
        current = click.prompt("Current password", hide_input=True, err=True)
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
        api.auth.change_password(current, new)
    print_result(
        {"email": email, "password_changed": True},
        as_json,
        lambda: click.echo(f"Password changed for {email}. Other sessions were signed out."),
    )


def _reset_password(url: str, token: str, *, as_json: bool) -> None:
    new = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    with client_at(url) as api:
        api.auth.reset_password(token, new)
        base_url = server_of(api)
    print_result(
        {"url": base_url, "password_reset": True},
        as_json,
        lambda: click.echo(
            f"Password reset on {base_url}. "
            "Every session was signed out: sign in with `upmetr login`."
        ),
    )


@click.command()
@reports_errors
def logout() -> None:
    """End the session on the server and delete the stored credentials."""
    stored = load_credentials()
    if stored is None:
        click.echo("Not logged in.")
        return
    try:
        with client_at(stored.url, access_token=stored.access_token) as api:
            api.auth.logout(stored.refresh_token)
    except ClientError as exc:
        click.echo(f"Warning: the server did not confirm the logout: {exc}", err=True)
    delete_credentials()
    click.echo("Logged out.")


@click.command()
@json_option
@reports_errors
def whoami(as_json: bool) -> None:
    """Who the stored login (or UPMETR_API_KEY) is, in which organization."""
    with open_client() as api:
        me = api.auth.me()
        url = server_of(api)
    print_result(
        me,
        as_json,
        lambda: print_fields(
            [
                ("email", me.user.email),
                ("name", me.user.full_name),
                (
                    "organization",
                    f"{me.organization.name} ({me.organization.slug}, id {me.organization.id})",
                ),
                ("role", me.role.value),
                ("plan", me.plan.name),
                ("mfa", me.user.mfa_enabled),
                ("server", url),
            ]
        ),
    )


@click.group()
def orgs() -> None:
    """Organizations you belong to."""


@orgs.command("list")
@json_option
@reports_errors
def orgs_list(as_json: bool) -> None:
    """Organizations you belong to, with your role; `*` marks the current one."""
    with open_client() as api:
        organizations = api.auth.organizations()
        current = api.auth.me().organization.id
    print_result(
        [{**o.model_dump(mode="json"), "current": o.id == current} for o in organizations],
        as_json,
        lambda: print_table(
            organizations,
            [
                ("", lambda o: "*" if o.id == current else ""),
                ("id", lambda o: o.id),
                ("slug", lambda o: o.slug),
                ("name", lambda o: o.name),
                ("role", lambda o: o.role.value),
            ],
        ),
    )


@orgs.command("switch")
@click.argument("org")
@reports_errors
def orgs_switch(org: str) -> None:
    """Work in another organization (by id or slug); the new tokens are stored."""
    if using_api_key():
        raise click.ClickException("an API key belongs to one organization; it cannot switch")
    with open_client() as api:
        organizations = api.auth.organizations()
        match = next((o for o in organizations if str(o.id) == org or o.slug == org), None)
        if match is None:
            raise click.ClickException(f"you are not a member of an organization {org!r}")
        api.auth.select_org(match.id)
    click.echo(f"Switched to {match.name} ({match.slug}) as {match.role.value}.")


@click.group("api-keys")
def api_keys() -> None:
    """API keys for scripts (use one with UPMETR_API_KEY)."""


def _parse_time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    return parsed


@api_keys.command("create")
@click.option("--name", required=True, help="What the key is for.")
@click.option("--role", type=ROLES, default=None, help="Defaults to your role; never above it.")
@click.option(
    "--expires-at", callback=_parse_time, default=None, help="ISO 8601, e.g. 2030-01-01T00:00:00Z."
)
@json_option
@reports_errors
def api_keys_create(
    name: str, role: str | None, expires_at: datetime | None, as_json: bool
) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    with open_client() as api:
        created = api.api_keys.create(name, role=role, expires_at=expires_at)

    def human() -> None:
        # The words go to stderr and the key alone to stdout, so `KEY=$(upmetr api-keys create
        # ...)` keeps the key and a person still reads what it is.
        click.echo(
            f"Created API key {created.name!r} (id {created.id}, role {created.role.value}).",
            err=True,
        )
        click.echo("Copy it now, it will not be shown again:", err=True)
        click.echo(created.key)

    print_result(created, as_json, human)


@api_keys.command("list")
@json_option
@reports_errors
def api_keys_list(as_json: bool) -> None:
    """API keys of the organization (masked)."""
    with open_client() as api:
        keys = api.api_keys.list()
    print_result(
        keys,
        as_json,
        lambda: print_table(
            keys,
            [
                ("id", lambda k: k.id),
                ("name", lambda k: k.name),
                ("role", lambda k: k.role.value),
                ("key", lambda k: k.hint),
                ("created", lambda k: k.created_at),
                ("expires", lambda k: k.expires_at),
                ("last used", lambda k: k.last_used_at),
            ],
        ),
    )


@api_keys.command("revoke")
@click.argument("key_id", type=int)
@reports_errors
def api_keys_revoke(key_id: int) -> None:
    """Revoke a key; scripts using it stop working at once."""
    with open_client() as api:
        api.api_keys.revoke(key_id)
    click.echo(f"Revoked API key {key_id}.")


COMMANDS = [login, logout, password, whoami, orgs, api_keys]
