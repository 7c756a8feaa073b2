"""`upmetr admin` against a real server subprocess, signed in as a platform admin (the
server's admin, of the org Acme) acting on a customer's organization."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.client import Client
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess

CUSTOMER = "owner@customer.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cli-admin-server") / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    process.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "--org", "Acme", "--platform-admin")
    for org in ("Customer", "Gone"):
        email = CUSTOMER if org == "Customer" else "owner@gone.example"
        process.create_user(email, ADMIN_PASSWORD, "--org", org, "--plan", "pro")
    process.start()
    yield process
    process.stop()


def customer_token(server: ServerProcess) -> str:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": CUSTOMER, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def monitors_status(server: ServerProcess, token: str, method: str = "GET") -> int:
    body = (
        {"name": "x", "type": "http", "url": "https://example.com/"} if method == "POST" else None
    )
    return httpx.request(
        method, f"{server.url}/api/v1/monitors", json=body,
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    ).status_code  # fmt: skip


def test_orgs_are_listed_shown_by_slug_and_previewed_on_another_plan(
    config_dir: Path, api: Client
) -> None:
    listed = run(config_dir, "admin", "orgs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    slugs = [org["slug"] for org in json.loads(listed.stdout)["items"]]
    assert {"acme", "customer"} <= set(slugs)
    table = run(config_dir, "admin", "orgs", "list", "--plan", "pro", "-q", "cust")
    header, *rows = table.stdout.splitlines()
    assert header.split()[:5] == ["ID", "SLUG", "NAME", "PLAN", "STATUS"]
    assert [row.split()[1] for row in rows] == ["customer"]
    shown = run(config_dir, "admin", "orgs", "show", "customer")
    assert shown.exit_code == 0, shown.output
    assert "Pro (pro)" in shown.stdout and "users 1/10" in shown.stdout
    preview = run(config_dir, "admin", "downgrade-preview", "customer", "--plan", "free", "--json")
    assert json.loads(preview.stdout)["modules_lost"] == ["audit_logs", "status_pages"]
    told = run(config_dir, "admin", "downgrade-preview", "customer", "--plan", "free")
    assert "modules lost: audit_logs, status_pages" in told.stdout
    missing = run(config_dir, "admin", "orgs", "show", "nobody")
    assert missing.exit_code != 0 and "no organization has the slug 'nobody'" in missing.output


def test_suspend_asks_first_refuses_the_orgs_tokens_and_reactivate_restores_them(
    config_dir: Path, server: ServerProcess
) -> None:
    token = customer_token(server)
    declined = run(config_dir, "admin", "orgs", "suspend", "customer", input="n\n")
    assert declined.exit_code != 0 and "Suspend customer?" in declined.output
    assert monitors_status(server, token) == 200
    done = run(config_dir, "admin", "orgs", "suspend", "customer", "--yes")
    assert done.exit_code == 0, done.output
    assert "Organization customer is suspended." in done.stdout
    assert monitors_status(server, token) == 403
    back = run(config_dir, "admin", "orgs", "reactivate", "customer", "--json")
    assert json.loads(back.stdout)["status"] == "active"
    assert monitors_status(server, token) == 200


def test_set_plan_with_granted_modules(config_dir: Path) -> None:
    moved = run(
        config_dir, "admin", "orgs", "set-plan", "customer", "free", "--module", "whitelabel",
        "--json",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    org = json.loads(moved.stdout)
    assert org["plan"] == "free" and org["extra_modules"] == ["whitelabel"]
    back = run(config_dir, "admin", "orgs", "set-plan", "customer", "pro", "--no-modules")
    assert "Organization customer is on pro." in back.stdout


def test_plans_are_listed_created_and_updated(config_dir: Path) -> None:
    created = run(
        config_dir, "admin", "plans", "create", "team", "--name", "Team", "--month", "19",
        "--limit", "users=5", "--limit", "monitors=none", "--module", "status_pages", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    plan = json.loads(created.stdout)
    assert plan["price_month_cents"] == 1900
    assert plan["limits"] == {"users": 5, "monitors": None}
    updated = run(config_dir, "admin", "plans", "update", str(plan["id"]), "--limit", "users=8")
    assert updated.exit_code == 0, updated.output
    assert "users 8, monitors ∞" in updated.stdout
    listed = run(config_dir, "admin", "plans", "list")
    assert "team" in listed.stdout and "19.00 USD" in listed.stdout
    wrong = run(config_dir, "admin", "plans", "update", str(plan["id"]), "--limit", "seats=3")
    assert wrong.exit_code != 0 and "'seats' is not one of" in wrong.output


def test_stats_as_json_and_as_text(config_dir: Path) -> None:
    stats = run(config_dir, "admin", "stats", "--json")
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.stdout)
    assert figures["organizations"] >= 2 and figures["users"] >= 2
    assert "checks_per_minute" in run(config_dir, "admin", "stats").stdout


def test_impersonate_prints_a_token_that_reads_but_cannot_write(
    config_dir: Path, server: ServerProcess
) -> None:
    told = run(
        config_dir, "admin", "impersonate", "customer", "--reason", "ticket 12", "--minutes", "5",
        "--json",
    )  # fmt: skip
    assert told.exit_code == 0, told.output
    token = json.loads(told.stdout)["access_token"]
    assert monitors_status(server, token) == 200
    assert monitors_status(server, token, "POST") == 403
    too_long = run(
        config_dir, "admin", "impersonate", "customer", "--reason", "x", "--minutes", "31"
    )
    assert too_long.exit_code != 0


def test_delete_needs_the_slug_typed_again(config_dir: Path, api: Client) -> None:
    wrong = run(config_dir, "admin", "orgs", "delete", "gone", input="customer\n")
    assert wrong.exit_code != 0 and "type the organization's slug" in wrong.output
    right = run(config_dir, "admin", "orgs", "delete", "gone", input="gone\n")
    assert right.exit_code == 0, right.output
    assert "Organization gone deleted." in right.stdout
    assert "gone" not in [org.slug for org in api.admin.organizations().items]


def test_a_member_who_is_no_platform_admin_is_told_so(
    tmp_path: Path, server: ServerProcess
) -> None:
    path = tmp_path / "customer"
    login = run(
        path, "login", "--url", server.url, "--email", CUSTOMER, "--password", ADMIN_PASSWORD
    )
    assert login.exit_code == 0, login.output
    refused = run(path, "admin", "stats")
    assert refused.exit_code != 0 and "This endpoint is for platform admins" in refused.output
