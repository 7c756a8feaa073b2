"""`upmetr cloud-accounts|resources|costs|budgets|jobs` against a real server on 127.0.0.1.

The server runs in the test's event loop (so the database can be arranged directly and
moto's server stands in for AWS); each command runs in a thread, as a person would run it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import httpx
import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.cli import main
from server.cloud_accounts.models import CloudAccount
from server.jobs import service as jobs_service
from server.resources.models import ResourceAction
from tests.aws import FAKE_ENV
from tests.conftest import World
from tests.shared.cloud_builders import (
    KEYS,
    add_account,
    add_costs,
    add_resource,
    add_running_job,
    this_month_so_far,
    url_of,
)

SECRET = FAKE_ENV["AWS_SECRET_ACCESS_KEY"]
Run = Callable[..., Awaitable[Result]]


def login_as(tmp_path: Path, client: TestClient, token: str, name: str) -> Path:
    """A config folder holding a stored login with `token` (as `upmetr login` leaves it)."""
    path = tmp_path / name
    path.mkdir()
    credentials = {
        "url": url_of(client),
        "access_token": token,
        "refresh_token": "unused",
        "email": f"{name}@example.com",
    }
    (path / "credentials.json").write_text(json.dumps(credentials), encoding="utf-8")
    return path


def runner_for(config_dir: Path) -> Run:
    async def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        environment = {
            "UPMETR_CONFIG_DIR": str(config_dir),
            "UPMETR_API_KEY": "",
            "UPMETR_URL": "",
            "UPMETR_AWS_SECRET_ACCESS_KEY": "",
            **(env or {}),
        }
        return await asyncio.to_thread(
            CliRunner().invoke, main, list(args), input=input, env=environment
        )

    return run


@pytest.fixture
def alice(tmp_path: Path, client: TestClient, world: World) -> Run:
    return runner_for(login_as(tmp_path, client, world.alice.access_token, "alice"))


@pytest.fixture
def bob(tmp_path: Path, client: TestClient, world: World) -> Run:
    return runner_for(login_as(tmp_path, client, world.bob.access_token, "bob"))


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + result.stderr
    return result


def fits_80_columns(text: str) -> bool:
    return max(len(line) for line in text.splitlines()) <= 80


# Cloud accounts


async def test_add_reads_the_secret_from_stdin_and_never_prints_it(alice: Run, aws: str) -> None:
    added = ok(
        await alice(
            "cloud-accounts", "add", "--name", "Moto", "--access-key-id", KEYS["access_key_id"],
            "--secret-access-key-stdin", "--regions", "us-east-1", "--json",
            input=SECRET + "\n",
        )
    )  # fmt: skip
    account = json.loads(added.stdout)
    assert (account["name"], account["auth_method"], account["regions"]) == (
        "Moto",
        "keys",
        ["us-east-1"],
    )
    assert account["credentials_hint"].startswith("****")
    for command in (
        ("list",),
        ("show", str(account["id"])),
        ("show", str(account["id"]), "--json"),
    ):
        shown = ok(await alice("cloud-accounts", *command))
        assert SECRET not in shown.output + shown.stderr
        assert "Moto" in shown.stdout


async def test_add_asks_for_the_secret_without_echoing_it(alice: Run, aws: str) -> None:
    added = ok(
        await alice(
            "cloud-accounts", "add", "--name", "Prompted", "--access-key-id",
            KEYS["access_key_id"], input=SECRET + "\n",
        )
    )  # fmt: skip
    assert "Secret access key" in added.stderr
    assert SECRET not in added.output + added.stderr
    assert "Cloud account" in added.stdout and "added: Prompted" in added.stdout


async def test_malformed_credentials_are_refused_by_option_without_repeating_the_secret(
    alice: Run, aws: str
) -> None:
    half = await alice(
        "cloud-accounts", "add", "--name", "R", "--role-arn", "arn:aws:iam::123456789012:role/x"
    )
    assert half.exit_code == 2 and "--role-arn and --external-id go together" in half.stderr
    refused = await alice(
        "cloud-accounts", "add", "--name", "R", "--secret-access-key", SECRET
    )  # a secret on the command line would sit in the shell history
    assert refused.exit_code == 2
    too_long = "Wr0ng-" * 200
    malformed = await alice(
        "cloud-accounts", "add", "--name", "K", "--access-key-id", KEYS["access_key_id"],
        "--secret-access-key-stdin", input=too_long + "\n",
    )  # fmt: skip
    assert malformed.exit_code == 2
    assert "secret access key: String should have at most 1024 characters" in malformed.stderr
    assert "Wr0ng-" not in malformed.output + malformed.stderr
    lowercase = await alice("cloud-accounts", "add", "--name", "K", "--access-key-id", "akia")
    assert lowercase.exit_code == 2 and "--access-key-id:" in lowercase.stderr
    assert "Secret access key" not in lowercase.stderr  # not asked for a doomed key


async def test_test_proves_saved_and_unsaved_credentials(alice: Run, aws: str) -> None:
    unsaved = ok(
        await alice(
            "cloud-accounts", "test", "--access-key-id", KEYS["access_key_id"], "--json",
            env={"UPMETR_AWS_SECRET_ACCESS_KEY": SECRET},
        )
    )  # fmt: skip
    result = json.loads(unsaved.stdout)
    assert (result["ok"], result["account_id"]) == (True, "123456789012")
    assert SECRET not in unsaved.output
    added = ok(
        await alice(
            "cloud-accounts", "add", "--name", "Moto", "--access-key-id", KEYS["access_key_id"],
            "--json", env={"UPMETR_AWS_SECRET_ACCESS_KEY": SECRET},
        )
    )  # fmt: skip
    account_id = str(json.loads(added.stdout)["id"])
    saved = ok(await alice("cloud-accounts", "test", account_id))
    lines = saved.stdout.splitlines()
    assert lines[0].split() == ["ok", "yes"] and "123456789012" in lines[1]
    assert "FEATURE" in saved.stdout


async def test_a_refused_key_fails_the_test_with_the_reason_and_exit_1(
    alice: Run, aws: str
) -> None:
    # From here on moto checks signatures and keys, as AWS does (moto-api/reset-auth).
    httpx.post(f"{aws}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
    try:
        refused = await alice(
            "cloud-accounts", "test", "--access-key-id", "AKIAUPMETRNOSUCHKEY1",
            "--secret-access-key-stdin", input=SECRET + "\n",
        )  # fmt: skip
    finally:
        httpx.post(f"{aws}/moto-api/reset-auth", content=b"inf", timeout=10)
    assert refused.exit_code == 1
    assert refused.stdout.splitlines()[0].split() == ["ok", "no"]
    assert "the access key ID is not valid" in refused.stdout
    assert SECRET not in refused.output + refused.stderr


async def test_discover_waits_for_the_job_and_prints_its_outcome(alice: Run, aws: str) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3, InstanceType="t3.micro")
    added = ok(
        await alice(
            "cloud-accounts", "add", "--name", "Moto", "--access-key-id", KEYS["access_key_id"],
            "--regions", "us-east-1", "--json", env={"UPMETR_AWS_SECRET_ACCESS_KEY": SECRET},
        )
    )  # fmt: skip
    account_id = str(json.loads(added.stdout)["id"])
    started = ok(await alice("cloud-accounts", "discover", account_id))
    assert "upmetr jobs wait" in started.stdout
    waited = ok(await alice("cloud-accounts", "discover", "moto", "--wait", "--json"))
    job = json.loads(waited.stdout)
    assert (job["kind"], job["status"]) == ("discovery", "succeeded")
    listed = json.loads(
        ok(await alice("resources", "list", "--account", account_id, "--json")).stdout
    )
    assert listed["total"] == 3
    by_name = json.loads(ok(await alice("resources", "list", "--account", "Moto", "--json")).stdout)
    assert by_name["total"] == 3
    unknown = await alice("resources", "list", "--account", "Nope")
    assert unknown.exit_code == 2 and "no cloud account is named 'Nope'" in unknown.stderr


async def test_remove_asks_first_and_keeps_the_account_when_declined(
    alice: Run, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a, "Keep me")
    declined = await alice("cloud-accounts", "remove", str(account_id), input="n\n")
    assert declined.exit_code == 1 and "Keep me" in declined.stderr
    async with db.begin():
        assert await db.get(CloudAccount, account_id) is not None
    ok(await alice("cloud-accounts", "remove", str(account_id), "--yes"))
    db.expunge_all()
    async with db.begin():
        assert await db.get(CloudAccount, account_id) is None


# Resources


async def test_resources_list_filters_and_fits_80_columns(
    bob: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a, "Prod")
    await add_resource(
        db, org_id=world.org_a, account_id=prod, name="checkout-api-frontend-production-blue",
        tags={"env": "prod"}, region="ap-southeast-2",
    )  # fmt: skip
    await add_resource(db, org_id=world.org_a, account_id=prod, name="batch", state="stopped")
    await add_resource(
        db, org_id=world.org_a, account_id=prod, name="fn", type="lambda_function", state="active"
    )
    table = ok(await bob("resources", "list"))
    assert table.stdout.splitlines()[0].split() == ["ID", "NAME", "TYPE", "STATE", "REGION", "SIZE"]
    assert fits_80_columns(table.stdout)
    assert "checkout-api-frontend-p…" in table.stdout
    tagged = json.loads(ok(await bob("resources", "list", "--tag", "env:prod", "--json")).stdout)
    assert [r["name"] for r in tagged["items"]] == ["checkout-api-frontend-production-blue"]
    lambdas = json.loads(
        ok(await bob("resources", "list", "--type", "lambda_function", "--json")).stdout
    )
    assert [r["name"] for r in lambdas["items"]] == ["fn"]
    paged = ok(await bob("resources", "list", "--sort", "-name", "--per-page", "2"))
    assert "(2 of 3; page 1, --page for more)" in paged.stdout
    summary = ok(await bob("resources", "summary")).stdout
    assert summary.startswith("3 resources\n")
    assert ["ec2_instance", "2"] in [line.split() for line in summary.splitlines()]
    assert ["ap-southeast-2", "1"] in [line.split() for line in summary.splitlines()]
    counted = json.loads(ok(await bob("resources", "summary", "--json")).stdout)
    assert {c["key"]: c["count"] for c in counted["by_state"]} == {
        "running": 1,
        "stopped": 1,
        "active": 1,
    }
    wrong = await bob("resources", "list", "--sort", "colour")
    assert wrong.exit_code == 1 and wrong.stderr.startswith("Error: ")


async def test_show_prints_tags_and_json_holds_the_metadata(
    bob: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a, "Prod")
    web = await add_resource(
        db, org_id=world.org_a, account_id=prod, name="web", tags={"team": "shop"}
    )
    shown = ok(await bob("resources", "show", str(web)))
    assert "Prod (" in shown.stdout and "team" in shown.stdout and "shop" in shown.stdout
    detail = json.loads(ok(await bob("resources", "show", str(web), "--json")).stdout)
    assert detail["metadata"] == {"vpc": "vpc-1"}
    missing = await bob("resources", "show", "999999")
    assert missing.exit_code == 1 and "not found" in missing.stderr.lower()


async def test_stop_requires_confirmation_unless_yes(
    alice: Run, bob: Run, world: World, db: AsyncSession, aws: str
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    instance_id = instance["Instances"][0]["InstanceId"]
    added = ok(
        await alice(
            "cloud-accounts", "add", "--name", "Moto", "--access-key-id", KEYS["access_key_id"],
            "--json", env={"UPMETR_AWS_SECRET_ACCESS_KEY": SECRET},
        )
    )  # fmt: skip
    web = await add_resource(
        db,
        org_id=world.org_a,
        account_id=json.loads(added.stdout)["id"],
        name="web",
        provider_id=instance_id,
    )

    async def actions() -> int:
        async with db.begin():
            return int(await db.scalar(select(func.count()).select_from(ResourceAction)) or 0)

    declined = await alice("resources", "stop", str(web), input="n\n")
    assert declined.exit_code == 1
    assert f"Stop web ({instance_id}, ec2_instance in us-east-1, now running)?" in declined.stderr
    assert await actions() == 0
    confirmed = ok(await alice("resources", "stop", str(web), "--wait", input="y\n"))
    assert f"Stop of resource {web} succeeded: running -> stopped" in confirmed.stdout
    assert await actions() == 1
    viewer = await bob("resources", "reboot", str(web), "--yes")
    assert viewer.exit_code == 1 and viewer.stderr.startswith("Error: ")
    history = json.loads(ok(await alice("resources", "actions", str(web), "--json")).stdout)
    assert [(a["action"], a["status"], a["actor"]) for a in history["items"]] == [
        ("stop", "succeeded", "alice@example.com")
    ]


async def test_acting_on_several_prints_an_outcome_each_and_exits_1_if_any_failed(
    alice: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a)
    bucket = await add_resource(
        db, org_id=world.org_a, account_id=prod, name="b", type="s3_bucket", state="available"
    )
    done = await alice("resources", "reboot", str(bucket), "999999", "--yes", "--json")
    assert done.exit_code == 1
    assert [(o["id"], o["ok"]) for o in json.loads(done.stdout)] == [
        (bucket, False),
        (999999, False),
    ]


# Costs


async def test_cost_commands_print_the_figures_and_json_keeps_exact_amounts(
    bob: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a, "Prod")
    days = this_month_so_far()
    await add_costs(
        db,
        org_id=world.org_a,
        account_id=prod,
        daily={"Amazon Elastic Compute Cloud - Compute": "1234.5", "Amazon S3": "0.25"},
        days=days,
    )
    month = Decimal("1234.75") * len(days)
    summary = json.loads(ok(await bob("costs", "summary", "--json")).stdout)
    assert Decimal(summary["current_month"]) == month
    table = ok(await bob("costs", "summary")).stdout
    assert f"${month:,.2f}" in table
    services = json.loads(ok(await bob("costs", "by-service", "--json")).stdout)
    assert [(s["service"], Decimal(s["amount"])) for s in services] == [
        ("Amazon Elastic Compute Cloud - Compute", Decimal("1234.5") * len(days)),
        ("Amazon S3", Decimal("0.25") * len(days)),
    ]
    by_service = ok(await bob("costs", "by-service")).stdout
    assert by_service.splitlines()[0].split() == ["SERVICE", "AMOUNT", "SHARE", "CHANGE"]
    assert fits_80_columns(by_service)
    accounts = ok(await bob("costs", "by-account", "--json")).stdout
    assert [a["name"] for a in json.loads(accounts)] == ["Prod"]
    daily = ok(await bob("costs", "daily", "--start", days[0].isoformat()))
    assert "█" * len(days) in daily.stdout  # an even spend draws a flat, full sparkline
    assert fits_80_columns(daily.stdout)


async def test_forecast_says_when_history_is_too_short(
    bob: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(1, 4)]
    await add_costs(db, org_id=world.org_a, account_id=prod, daily={"EC2": "2"}, days=days)
    short = ok(await bob("costs", "forecast", "--days", "90"))
    assert "Not enough data: 3 days of history, at least 7 needed." in short.stdout
    as_json = json.loads(ok(await bob("costs", "forecast", "--json")).stdout)
    assert (as_json["method"], as_json["points"]) == ("not_enough_data", [])
    wrong = await bob("costs", "forecast", "--days", "45")
    assert wrong.exit_code == 2


async def test_sync_waits_for_the_job_and_syncs_show_the_calls_it_cost(
    alice: Run, aws: str
) -> None:
    none_yet = await alice("costs", "sync")
    assert none_yet.exit_code == 1 and none_yet.stderr.startswith("Error: ")
    ok(
        await alice(
            "cloud-accounts", "add", "--name", "Moto", "--access-key-id", KEYS["access_key_id"],
            env={"UPMETR_AWS_SECRET_ACCESS_KEY": SECRET},
        )
    )  # fmt: skip
    started = json.loads(ok(await alice("costs", "sync", "--json")).stdout)
    waited = json.loads(ok(await alice("jobs", "wait", str(started["job_id"]), "--json")).stdout)
    assert (waited["kind"], waited["status"]) == ("cost_sync", "succeeded")
    [last] = json.loads(ok(await alice("costs", "syncs", "--json")).stdout)
    assert last["account_name"] == "Moto" and last["api_calls"] >= 1
    assert Decimal(last["api_cost"]) == Decimal("0.01") * last["api_calls"]
    table = ok(await alice("costs", "syncs")).stdout
    assert table.splitlines()[0].split() == [
        "ACCOUNT", "STATUS", "DAYS", "ROWS", "CALLS", "API", "COST", "FINISHED",
    ]  # fmt: skip
    assert f"${Decimal('0.01') * last['api_calls']:.2f}" in table and fits_80_columns(table)


# Budgets


async def test_budgets_are_added_listed_changed_and_removed(
    alice: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a)
    added = ok(
        await alice(
            "budgets", "add", "--name", "EC2 prod", "--amount", "1500", "--account", str(prod),
            "--service", "Amazon EC2", "--alert-pct", "75", "--json",
        )
    )  # fmt: skip
    budget = json.loads(added.stdout)
    assert (Decimal(budget["amount"]), budget["alert_threshold_pct"]) == (Decimal(1500), 75)
    listed = ok(await alice("budgets", "list"))
    assert "$1,500.00" in listed.stdout and "Amazon EC2" in listed.stdout
    assert fits_80_columns(listed.stdout)
    widened = ok(await alice("budgets", "update", str(budget["id"]), "--all-accounts", "--json"))
    assert (json.loads(widened.stdout)["account_id"], json.loads(widened.stdout)["service"]) == (
        None,
        "Amazon EC2",
    )
    declined = await alice("budgets", "remove", str(budget["id"]), input="n\n")
    assert declined.exit_code == 1
    ok(await alice("budgets", "remove", str(budget["id"]), "--yes"))
    assert json.loads(ok(await alice("budgets", "list", "--json")).stdout)["items"] == []


async def test_budget_status_shows_spend_and_state(
    alice: Run, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a)
    days = this_month_so_far()
    await add_costs(db, org_id=world.org_a, account_id=prod, daily={"EC2": "10"}, days=days)
    budget = json.loads(
        ok(await alice("budgets", "add", "--name", "Tiny", "--amount", "5", "--json")).stdout
    )
    statuses = json.loads(ok(await alice("budgets", "status", "--json")).stdout)
    assert [(s["budget_id"], Decimal(s["spent"]), s["state"]) for s in statuses] == [
        (budget["id"], Decimal(10 * len(days)), "exceeded")
    ]
    table = ok(await alice("budgets", "status")).stdout
    assert table.splitlines()[0].split() == [
        "ID", "NAME", "SPENT", "LIMIT", "USED", "PROJECTED", "STATE",
    ]  # fmt: skip
    assert "exceeded" in table and fits_80_columns(table)
    shown = json.loads(ok(await alice("budgets", "show", str(budget["id"]), "--json")).stdout)
    assert shown["status"]["state"] == "exceeded" and shown["budget"]["name"] == "Tiny"


# Jobs


async def test_jobs_wait_gives_up_after_the_timeout_and_exits_1(
    bob: Run, world: World, db: AsyncSession
) -> None:
    job_id = await add_running_job(db, org_id=world.org_a, kind="discovery")
    async with db.begin():
        await jobs_service.progress(
            db, job_id=job_id, values={"done": 2, "total": 5, "step": "listing rds"}
        )
    waited = await bob("jobs", "wait", str(job_id), "--timeout", "1")
    assert waited.exit_code == 1
    assert waited.stderr.splitlines() == [
        f"job {job_id} running 2/5 (listing rds)",  # progress goes to stderr
        f"Error: job {job_id} still running after 1 s",
    ]
    async with db.begin():
        await jobs_service.finish(db, job_id=job_id, succeeded=False, detail="AccessDenied")
    failed = await bob("jobs", "wait", str(job_id))
    assert failed.exit_code == 1 and "AccessDenied" in failed.stdout
    listed = ok(await bob("jobs", "list"))
    assert listed.stdout.splitlines()[1].split()[:3] == [str(job_id), "discovery", "failed"]
