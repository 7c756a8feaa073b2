"""`upmetr billing show|usage|invoices|invoice|checkout|portal|cancel|resume`: the plan,
what is used of it, invoices, and paying (Stripe's pages open in a browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from console.cli.cloud_format import money
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
    when,
)
from console.cli.session import open_client, reports_errors
from shared.api.billing import Interval, SubscriptionRead

INTERVALS = click.Choice([interval.value for interval in Interval])

_INVOICE_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda i: i.id),
    ("number", lambda i: i.number),
    ("status", lambda i: i.status.value),
    ("total", lambda i: money(i.total, i.currency)),
    ("period", lambda i: f"{when(i.period_start) or '-'} to {when(i.period_end) or '-'}"),
    ("paid", lambda i: when(i.paid_at)),
]


def _print_subscription(subscription: SubscriptionRead) -> None:
    plan = subscription.plan
    print_fields(
        [
            ("plan", f"{plan.name} ({plan.code})"),
            ("status", subscription.status.value),
            ("interval", subscription.interval.value if subscription.interval else None),
            ("period start", when(subscription.current_period_start)),
            ("period end", when(subscription.current_period_end)),
            ("cancels at period end", subscription.cancel_at_period_end),
            ("billing on this server", subscription.billing_enabled),
        ]
    )


@click.group()
def billing() -> None:
    """Billing: the plan, usage against its limits, invoices, checkout and Stripe's portal."""


@billing.command("show")
@json_option
@reports_errors
def billing_show(as_json: bool) -> None:
    """The organization's plan and subscription."""
    with open_client() as api:
        subscription = api.billing.subscription()
    print_result(subscription, as_json, lambda: _print_subscription(subscription))


@billing.command("usage")
@json_option
@reports_errors
def billing_usage(as_json: bool) -> None:
    """What is used against each of the plan's limits (- is unlimited or not counted)."""
    with open_client() as api:
        usage = api.billing.usage()
    columns: list[tuple[str, Any]] = [
        ("limit", lambda line: line.limit.value.replace("_", " ")),
        ("used", lambda line: line.used),
        ("allowed", lambda line: line.allowed),
    ]
    print_result(usage, as_json, lambda: print_table(usage.items, columns))


@billing.command("invoices")
@page_options
@json_option
@reports_errors
def billing_invoices(page: int, per_page: int, as_json: bool) -> None:
    """Invoices, newest first."""
    with open_client() as api:
        result = api.billing.invoices(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _INVOICE_COLUMNS))


@billing.command("invoice")
@click.argument("invoice_id", type=int)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the invoice as a PDF here.")  # fmt: skip
@json_option
@reports_errors
def billing_invoice(invoice_id: int, pdf_path: Path | None, as_json: bool) -> None:
    """One invoice with its lines; --pdf FILE saves its document."""
    with open_client() as api:
        invoice = api.billing.invoice(invoice_id)
        if pdf_path is not None:
            with pdf_path.open("wb") as file:
                api.billing.invoice_pdf(invoice_id, file)

    def human() -> None:
        print_table([invoice], _INVOICE_COLUMNS)
        click.echo()
        print_table(
            invoice.lines,
            [
                ("description", lambda line: line.description),
                ("qty", lambda line: line.quantity),
                ("amount", lambda line: money(line.amount, invoice.currency)),
            ],
        )
        if pdf_path is not None:
            click.echo(f"\nSaved {pdf_path}")

    print_result(invoice, as_json, human)


@billing.command("checkout")
@click.option("--plan", required=True, help="A plan's code, e.g. pro.")
@click.option("--interval", type=INTERVALS, default="month", show_default=True)
@json_option
@reports_errors
def billing_checkout(plan: str, interval: str, as_json: bool) -> None:
    """The URL of Stripe's Checkout page for a plan: open it to pay."""
    with open_client() as api:
        session = api.billing.checkout(plan=plan, interval=interval)
    print_result(session, as_json, lambda: click.echo(session.checkout_url))


@billing.command("portal")
@json_option
@reports_errors
def billing_portal(as_json: bool) -> None:
    """The URL of Stripe's billing portal: payment methods, invoices, plan changes."""
    with open_client() as api:
        session = api.billing.portal()
    print_result(session, as_json, lambda: click.echo(session.portal_url))


@billing.command("cancel")
@json_option
@reports_errors
def billing_cancel(as_json: bool) -> None:
    """Cancel at the end of the period paid for (the plan stays until then)."""
    with open_client() as api:
        subscription = api.billing.cancel()
    print_result(subscription, as_json, lambda: _print_subscription(subscription))


@billing.command("resume")
@json_option
@reports_errors
def billing_resume(as_json: bool) -> None:
    """Take a cancellation back."""
    with open_client() as api:
        subscription = api.billing.resume()
    print_result(subscription, as_json, lambda: _print_subscription(subscription))
