"""`upmetr admin`: platform administration, for platform admins (orgs, plans, stats,
impersonate, downgrade-preview). ORG is an organization's id or its slug. Suspending and
deleting ask for confirmation unless --yes; deleting also needs the slug typed again."""

from __future__ import annotations

from typing import Any

import click

from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.admin import MAX_IMPERSONATION_MINUTES, AdminOrgRead, OrgStatus
from shared.api.billing import Limit, Module, PlanRead
from shared.client import Client

STATUSES = click.Choice([status.value for status in OrgStatus])
MODULES = click.Choice([module.value for module in Module])
LIMITS = [limit.value for limit in Limit]


class OrgRef(click.ParamType):
    """An organization by id (digits) or by slug; `org_id_of` resolves a slug."""

    name = "ORG"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail("an organization id or slug is needed", param, ctx)
        return int(text) if text.isdigit() else text


ORG = OrgRef()


def org_of(api: Client, org: int | str) -> AdminOrgRead:
    """The organization given by id or slug (exact)."""
    if isinstance(org, int):
        return api.admin.organization(org)
    for found in api.admin.organizations(q=org, per_page=200).items:
        if found.slug == org:
            return found
    raise click.BadParameter(f"no organization has the slug {org!r}", param_hint="ORG")


def _usage(org: AdminOrgRead) -> str:
    return ", ".join(
        f"{item.limit.value} {item.current}/{'∞' if item.allowed is None else item.allowed}"
        for item in org.usage
    )


_ORG_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda o: o.id),
    ("slug", lambda o: o.slug),
    ("name", lambda o: o.name),
    ("plan", lambda o: o.plan),
    ("status", lambda o: o.status.value),
    ("users", lambda o: _current(o, Limit.users)),
    ("monitors", lambda o: _current(o, Limit.monitors)),
    ("created", lambda o: o.created_at),
]


def _current(org: AdminOrgRead, limit: Limit) -> int | None:
    return next((item.current for item in org.usage if item.limit is limit), None)


def _show_org(org: AdminOrgRead) -> None:
    print_fields(
        [
            ("id", org.id),
            ("name", org.name),
            ("slug", org.slug),
            ("plan", f"{org.plan_name} ({org.plan})"),
            ("status", org.status.value),
            ("modules", ", ".join(org.modules) or None),
            ("granted", ", ".join(org.extra_modules) or None),
            ("usage", _usage(org)),
            ("created", org.created_at),
        ]
    )


@click.group()
def admin() -> None:
    """Platform administration (platform admins only)."""


@admin.group()
def orgs() -> None:
    """Every organization: plan, usage, status."""


@orgs.command("list")
@click.option("--status", type=STATUSES, help="Only organizations in this state.")
@click.option("--plan", help="Only organizations on this plan (its code).")
@click.option("-q", "--query", "q", help="Matches the name or the slug.")
@page_options
@json_option
@reports_errors
def orgs_list(
    status: str | None, plan: str | None, q: str | None, page: int, per_page: int, as_json: bool
) -> None:
    """Organizations with their plan, status and size."""
    with open_client() as api:
        result = api.admin.organizations(
            page=page, per_page=per_page, status=status, plan=plan, q=q
        )
    print_result(result, as_json, lambda: print_page(result, _ORG_COLUMNS))


@orgs.command("show")
@click.argument("org", type=ORG)
@json_option
@reports_errors
def orgs_show(org: int | str, as_json: bool) -> None:
    """One organization: plan, modules, usage against each limit."""
    with open_client() as api:
        found = org_of(api, org)
    print_result(found, as_json, lambda: _show_org(found))


def _set_status(org: int | str, status: OrgStatus, yes: bool, as_json: bool) -> None:
    with open_client() as api:
        found = org_of(api, org)
        if status is OrgStatus.suspended and not yes:
            click.confirm(
                f"Suspend {found.slug}? Its members, API keys and agents get 403 at once and "
                "its checks pause.",
                abort=True,
                err=True,
            )
        if status is OrgStatus.suspended:
            changed = api.admin.suspend(found.id)
        else:
            changed = api.admin.reactivate(found.id)
    print_result(
        changed, as_json, lambda: click.echo(f"Organization {changed.slug} is {status.value}.")
    )


@orgs.command("suspend")
@click.argument("org", type=ORG)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@reports_errors
def orgs_suspend(org: int | str, yes: bool, as_json: bool) -> None:
    """Suspend an organization: every token of it is refused, its checks pause."""
    _set_status(org, OrgStatus.suspended, yes, as_json)


@orgs.command("reactivate")
@click.argument("org", type=ORG)
@json_option
@reports_errors
def orgs_reactivate(org: int | str, as_json: bool) -> None:
    """Reactivate a suspended organization: its tokens and checks work again."""
    _set_status(org, OrgStatus.active, True, as_json)


@orgs.command("set-plan")
@click.argument("org", type=ORG)
@click.argument("plan")
@click.option(
    "--module",
    "modules",
    multiple=True,
    type=MODULES,
    help="A module granted on top of the plan, replacing the granted (repeatable).",
)
@click.option("--no-modules", is_flag=True, help="Take back every granted module.")
@json_option
@reports_errors
def orgs_set_plan(
    org: int | str, plan: str, modules: tuple[str, ...], no_modules: bool, as_json: bool
) -> None:
    """Move an organization to PLAN (a plan's code); see `downgrade-preview` first."""
    if modules and no_modules:
        raise click.UsageError("--module and --no-modules exclude each other")
    granted = [] if no_modules else (list(modules) or None)
    with open_client() as api:
        changed = api.admin.update_organization(org_of(api, org).id, plan=plan, modules=granted)
    print_result(
        changed, as_json, lambda: click.echo(f"Organization {changed.slug} is on {changed.plan}.")
    )  # fmt: skip


@orgs.command("delete")
@click.argument("org", type=ORG)
@click.option("--yes", is_flag=True, help="Do not ask (the slug is still sent as confirmation).")
@reports_errors
def orgs_delete(org: int | str, yes: bool) -> None:
    """Delete an organization with everything it holds. Asks for its slug unless --yes."""
    with open_client() as api:
        found = org_of(api, org)
        confirm = found.slug
        if not yes:
            confirm = click.prompt(
                f"This deletes {found.name} and everything it holds. Type its slug to confirm",
                err=True,
            )
        api.admin.delete_organization(found.id, confirm=confirm)
    click.echo(f"Organization {found.slug} deleted.")


_PLAN_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda p: p.id),
    ("code", lambda p: p.code),
    ("name", lambda p: p.name),
    ("month", lambda p: f"{p.price_month_cents / 100:.2f} {p.currency}"),
    ("year", lambda p: f"{p.price_year_cents / 100:.2f} {p.currency}"),
    ("modules", lambda p: ",".join(p.modules) or None),
]


def _show_plan(plan: PlanRead) -> None:
    limits = ", ".join(
        f"{name} {'∞' if value is None else value}" for name, value in plan.limits.items()
    )
    print_fields(
        [
            ("id", plan.id),
            ("code", plan.code),
            ("name", plan.name),
            ("price", f"{plan.price_month_cents / 100:.2f}/month, "
                      f"{plan.price_year_cents / 100:.2f}/year {plan.currency}"),
            ("limits", limits or None),
            ("modules", ", ".join(plan.modules) or None),
        ]
    )  # fmt: skip


def _limits(pairs: tuple[str, ...]) -> dict[str, int | None] | None:
    """`--limit monitors=25` pairs; `none` (or nothing after =) is unlimited."""
    if not pairs:
        return None
    limits: dict[str, int | None] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in LIMITS:
            raise click.BadParameter(
                f"{name!r} is not one of {', '.join(LIMITS)}", param_hint="--limit"
            )
        if value.strip().lower() in ("", "none", "unlimited"):
            limits[name] = None
        elif value.strip().isdigit():
            limits[name] = int(value)
        else:
            raise click.BadParameter(f"{pair!r}: a number or none", param_hint="--limit")
    return limits


def _cents(amount: float | None) -> int | None:
    return None if amount is None else round(amount * 100)


@admin.group()
def plans() -> None:
    """Plans: prices, limits, modules."""


@plans.command("list")
@json_option
@reports_errors
def plans_list(as_json: bool) -> None:
    """Every plan, cheapest first."""
    with open_client() as api:
        found = api.admin.plans()
    print_result(found, as_json, lambda: print_table(found, _PLAN_COLUMNS))


_PLAN_OPTIONS = [
    click.option("--month", type=float, help="Monthly price (e.g. 49.00)."),
    click.option("--year", type=float, help="Yearly price."),
    click.option("--currency", help="ISO 4217 code (USD)."),
    click.option("--limit", "limits", multiple=True, metavar="NAME=N",
                 help=f"A limit ({', '.join(LIMITS)}); N or none (repeatable)."),
    click.option("--module", "modules", multiple=True, type=MODULES,
                 help="A module of the plan, replacing its modules (repeatable)."),
]  # fmt: skip


def _plan_options(command: Any) -> Any:
    for option in reversed(_PLAN_OPTIONS):
        command = option(command)
    return command


@plans.command("create")
@click.argument("code")
@click.option("--name", required=True, help="The plan's name as customers see it.")
@_plan_options
@json_option
@reports_errors
def plans_create(
    code: str, name: str, month: float | None, year: float | None, currency: str | None,
    limits: tuple[str, ...], modules: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Create a plan; a limit not given is unlimited."""
    with open_client() as api:
        plan = api.admin.create_plan(
            code=code, name=name, price_month_cents=_cents(month), price_year_cents=_cents(year),
            currency=currency, limits=_limits(limits), modules=modules or None,
        )  # fmt: skip
    print_result(plan, as_json, lambda: _show_plan(plan))


@plans.command("update")
@click.argument("plan_id", type=int)
@click.option("--name", help="New name.")
@_plan_options
@json_option
@reports_errors
def plans_update(
    plan_id: int, name: str | None, month: float | None, year: float | None,
    currency: str | None, limits: tuple[str, ...], modules: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Change a plan; the limits named change, the others stay."""
    with open_client() as api:
        plan = api.admin.update_plan(
            plan_id, name=name, price_month_cents=_cents(month), price_year_cents=_cents(year),
            currency=currency, limits=_limits(limits), modules=modules or None,
        )  # fmt: skip
    print_result(plan, as_json, lambda: _show_plan(plan))


@admin.command("stats")
@json_option
@reports_errors
def admin_stats(as_json: bool) -> None:
    """The platform's figures: organizations, users, monitors, checks, queues."""
    with open_client() as api:
        stats = api.admin.stats()
    print_result(stats, as_json, lambda: print_fields(list(stats.model_dump().items())))


@admin.command("impersonate")
@click.argument("org", type=ORG)
@click.option("--reason", required=True, help="Why (audited in both organizations).")
@click.option("--minutes", type=click.IntRange(1, MAX_IMPERSONATION_MINUTES), default=15,
              show_default=True, help="How long the token lasts.")  # fmt: skip
@json_option
@reports_errors
def admin_impersonate(org: int | str, reason: str, minutes: int, as_json: bool) -> None:
    """A read-only access token for ORG: reads work, every write gets 403."""
    with open_client() as api:
        token = api.admin.impersonate(org_of(api, org).id, reason=reason, minutes=minutes)

    def human() -> None:
        click.echo(f"Read-only token for organization {token.organization_id}, "
                   f"until {token.expires_at:%Y-%m-%d %H:%M}Z:")  # fmt: skip
        click.echo(token.access_token)

    print_result(token, as_json, human)


@admin.command("downgrade-preview")
@click.argument("org", type=ORG)
@click.option("--plan", required=True, help="The plan's code.")
@json_option
@reports_errors
def admin_downgrade_preview(org: int | str, plan: str, as_json: bool) -> None:
    """What ORG would exceed or lose on PLAN."""
    with open_client() as api:
        preview = api.admin.downgrade_preview(org_of(api, org).id, plan=plan)

    def human() -> None:
        if preview.ok:
            click.echo(f"Nothing exceeded or lost on {preview.plan}.")
            return
        for item in preview.exceeded:
            click.echo(f"{item.limit.value}: {item.current} (the {preview.plan} limit is "
                       f"{item.new_limit})")  # fmt: skip
        if preview.modules_lost:
            click.echo(f"modules lost: {', '.join(preview.modules_lost)}")

    print_result(preview, as_json, human)
