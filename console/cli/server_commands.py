"""Commands that run on the server machine: `serve` and the `users` bootstrap."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker"]),
    default="all",
    show_default=True,
    help=(
        "all: the API, and the engines in a worker process it supervises; api: the API "
        "alone; worker: the engines alone. Processes of one database work together."
    ),
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help=(
        "Processes of the role: API processes share the port's connections; workers share "
        "the checks. More than one needs UPMETR_REDIS_URL. With --role all, N API "
        "processes and one worker."
    ),
)
def serve(host: str | None, port: int | None, role: str, processes: int) -> None:
    """Start the server (creates and migrates the database on first start).

    SIGINT or SIGTERM stops it; with --role all, the worker process stops with it, and a
    worker that ends on its own is started again (logged, with a back-off). So do the
    API processes of --processes.
    """
    from server import logs
    from server.app import build_app
    from server.config import Settings
    from server.data_dir import make_private_dir
    from server.db.migrate import upgrade
    from server.http.runner import serve_until_stopped
    from server.worker import serve_worker

    logs.configure()
    settings = Settings.given(host=host, port=port)
    if processes > 1 and not settings.redis_url:
        raise click.UsageError(
            "--processes above 1 needs UPMETR_REDIS_URL: the processes share rate limits, "
            "live events and (workers) the checks through it"
        )
    make_private_dir(settings.data_dir)
    log = logging.getLogger("upmetr.server")
    log.info("data directory: %s", settings.data_dir)
    upgrade(settings.resolved_database_url)
    log.info("database ready: %s", _safe_url(settings.resolved_database_url))
    if role == "worker":
        asyncio.run(serve_worker(settings, processes=processes))
        return
    app = build_app(settings, "all" if role == "all" else "api", processes=processes)
    asyncio.run(
        serve_until_stopped(
            app,
            settings.host,
            settings.port,
            lambda: log.info("listening on http://%s:%d", settings.host, settings.port),
            reuse_port=processes > 1,
        )
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def users() -> None:
    """Manage accounts directly on the database (bootstrap of the first admin)."""


@users.command("create")
@click.option("--email", required=True)
@click.option(
    "--password", required=True, help="At least 12 characters: upper, lower, digit, special."
)
@click.option("--full-name", default=None, help="Defaults to the part of the email before @.")
@click.option("--platform-admin", is_flag=True, help="Also make the account a platform admin.")
@click.option(
    "--org", "org_name", default=None, help="Organization to create (default: from the email)."
)
@click.option(
    "--plan",
    "plan_code",
    default=None,
    metavar="CODE",
    help=(
        "The organization's plan (self_hosted, free, pro, enterprise). Default: "
        "UPMETR_DEFAULT_PLAN in this command's environment, else self_hosted; the setting of "
        "a running server does not reach this command."
    ),
)
def create_user(
    email: str,
    password: str,
    full_name: str | None,
    platform_admin: bool,
    org_name: str | None,
    plan_code: str | None,
) -> None:
    """Create an account and its organization, with the account as superadmin.

    It writes to the database directly, with the settings of its own environment.
    """
    from server.auth.bootstrap import create_account
    from server.config import Settings
    from server.data_dir import make_private_dir
    from server.db.migrate import upgrade
    from server.http.errors import ApiError

    settings = Settings()
    make_private_dir(settings.data_dir)
    upgrade(settings.resolved_database_url)
    try:
        user_id, org_id = asyncio.run(
            create_account(
                settings,
                email=email,
                password=password,
                full_name=full_name,
                org_name=org_name,
                platform_admin=platform_admin,
                plan_code=plan_code,
            )
        )
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    # Said every time: the plan comes from this command's environment, which need not be the
    # server's (UPMETR_DEFAULT_PLAN set for `serve` only is not seen here).
    if plan_code:
        plan, source = plan_code, "from --plan"
    elif "default_plan" in settings.model_fields_set:
        plan, source = settings.default_plan, "from UPMETR_DEFAULT_PLAN"
    else:
        plan, source = settings.default_plan, "the default; --plan CODE chooses another"
    click.echo(
        f"created user {email} (id {user_id}) as superadmin of organization {org_id} "
        f"on plan {plan} ({source})"
    )


@click.group()
def db() -> None:
    """The server's database, on the server machine: back it up, or move it."""


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Copy the SQLite database to FILE while the server runs (SQLite's online backup).
    Restore: stop the server, put FILE in place of upmetr.db, start it again."""
    from server.config import Settings
    from server.db.copy import CopyRefused, backup_sqlite

    try:
        size = backup_sqlite(Settings().resolved_database_url, file)
    except CopyRefused as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(f"Backed up {size:,} bytes to {file}.")


@db.command("copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The database to copy into, e.g. postgresql+asyncpg://upmetr@db/upmetr (migrated "
    "first; it must hold no accounts).",
)
def db_copy(target: str) -> None:
    """Copy every row of this server's database (UPMETR_DATABASE_URL, or SQLite in the data
    directory) into another, in one transaction. Stop the server first; then start it with
    UPMETR_DATABASE_URL set to the target and the same data directory (its keys decrypt
    the secrets)."""
    from server.config import Settings
    from server.db.copy import CopyRefused, copy_database

    source = Settings().resolved_database_url
    logging.basicConfig(level=logging.WARNING)
    try:
        copied = asyncio.run(
            copy_database(
                source, target, progress=lambda name, rows: click.echo(f"{name}: {rows:,}")
            )
        )
    except CopyRefused as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(
        f"Copied {sum(copied.values()):,} rows of {len(copied)} tables to {_safe_url(target)}."
    )
