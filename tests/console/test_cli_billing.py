"""`upmetr billing` against a real server subprocess without Stripe keys (a self-hosted
install): it shows the plan, usage and invoices, and says billing is off for payments."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ServerProcess


def test_show_and_usage_print_the_plan_for_people_and_scripts(config_dir: Path) -> None:
    shown = run(config_dir, "billing", "show")
    assert shown.exit_code == 0, shown.output
    assert "plan" in shown.stdout and "billing on this server" in shown.stdout
    as_json = json.loads(run(config_dir, "billing", "show", "--json").stdout)
    assert as_json["billing_enabled"] is False and as_json["status"] == "none"
    usage = json.loads(run(config_dir, "billing", "usage", "--json").stdout)
    assert {line["limit"] for line in usage["items"]} >= {"users", "monitors", "agents"}
    assert "users" in run(config_dir, "billing", "usage").stdout


def test_payments_say_billing_is_off(config_dir: Path) -> None:
    for args in (("checkout", "--plan", "pro"), ("portal",), ("cancel",), ("resume",)):
        result = run(config_dir, "billing", *args)
        assert result.exit_code != 0, args
        assert "Billing is off on this server" in result.output, args


def test_an_invoice_prints_with_its_lines_and_saves_its_pdf(
    config_dir: Path, server: ServerProcess, tmp_path: Path
) -> None:
    with sqlite3.connect(server.data_dir / "upmetr.db") as db:
        org_id = db.execute("SELECT id FROM organization WHERE name = 'Acme'").fetchone()[0]
        cursor = db.execute(
            "INSERT INTO invoice (org_id, number, status, currency, subtotal_cents, tax_cents,"
            " total_cents, amount_paid_cents, created_at) VALUES (?, 1, 'paid', 'USD', 1900, 0,"
            " 1900, 1900, CURRENT_TIMESTAMP)",
            (org_id,),
        )
        invoice_id = cursor.lastrowid
        db.execute(
            "INSERT INTO invoice_line (invoice_id, description, quantity, amount_cents)"
            " VALUES (?, 'Pro (monthly)', 1, 1900)",
            (invoice_id,),
        )
    listed = json.loads(run(config_dir, "billing", "invoices", "--json").stdout)
    assert [item["id"] for item in listed["items"]] == [invoice_id]
    pdf = tmp_path / "invoice.pdf"
    shown = run(config_dir, "billing", "invoice", str(invoice_id), "--pdf", str(pdf))
    assert shown.exit_code == 0, shown.output
    assert "Pro (monthly)" in shown.stdout and "19" in shown.stdout
    assert pdf.read_bytes().startswith(b"%PDF-")
