"""`upmetr cloud-accounts list|show|add|update|remove|test|discover`.

Secrets are never taken as an option value (it would sit in the shell history and the
process list): a secret access key is read from stdin, the environment or a hidden prompt.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from pydantic import BaseModel, ValidationError

from console.cli.cloud_format import (
    ACCOUNT,
    account_id_of,
    follow_job,
    print_wrapped_fields,
    print_wrapped_table,
    timeout_option,
    wait_option,
    when,
)
from console.cli.output import (
    json_option,
    options,
    page_options,
    print_page,
    print_result,
)
from console.cli.session import open_client, reports_errors
from shared.api.cloud_accounts import (
    AwsKeyCredentials,
    AwsRoleCredentials,
    CloudAccountRead,
    CloudProvider,
    ConnectionTestResult,
)
from shared.client import Client

SECRET_ENV = "UPMETR_AWS_SECRET_ACCESS_KEY"
PROVIDERS = click.Choice([provider.value for provider in CloudProvider])


def _regions(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [region.strip() for region in value.split(",") if region.strip()]


_credential_options = options(
    click.option("--role-arn", help="IAM role to assume (with --external-id)."),
    click.option("--external-id", help="External ID the role's trust policy requires."),
    click.option("--access-key-id", help="Access key id (the secret is asked for)."),
    click.option(
        "--secret-access-key-stdin",
        is_flag=True,
        help=f"Read the secret access key from stdin (else ${SECRET_ENV}, else a prompt).",
    ),
)


def _secret(from_stdin: bool) -> str:
    if from_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = os.environ.get(SECRET_ENV) or click.prompt(
            "Secret access key", hide_input=True, err=True
        )
    if not secret:
        raise click.UsageError("the secret access key is empty")
    return secret


_OPTION_OF = {
    "role_arn": "--role-arn",
    "external_id": "--external-id",
    "access_key_id": "--access-key-id",
    "secret_access_key": "secret access key",
}


def _checked(model: type[BaseModel], values: dict[str, str]) -> dict[str, str]:
    """Refuse malformed credentials here, naming the option; the value is never repeated
    (pydantic's own message would quote it, and a secret must not reach the terminal)."""
    try:
        model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise click.UsageError(f"{_OPTION_OF.get(field, field)}: {first['msg']}") from None
    return values


def _credentials(
    role_arn: str | None,
    external_id: str | None,
    access_key_id: str | None,
    secret_access_key_stdin: bool,
    *,
    required: bool,
) -> dict[str, str] | None:
    """Role credentials or an access key pair, from the options; None when none is given."""
    if role_arn or external_id:
        if access_key_id:
            raise click.UsageError("give --role-arn/--external-id or --access-key-id, not both")
        if not (role_arn and external_id):
            raise click.UsageError("--role-arn and --external-id go together")
        return _checked(AwsRoleCredentials, {"role_arn": role_arn, "external_id": external_id})
    if access_key_id:
        # The key id is checked before the secret is asked for.
        _checked(AwsKeyCredentials, {"access_key_id": access_key_id, "secret_access_key": "-"})
        keys = {
            "access_key_id": access_key_id,
            "secret_access_key": _secret(secret_access_key_stdin),
        }
        return _checked(AwsKeyCredentials, keys)
    if required:
        raise click.UsageError("credentials: --role-arn with --external-id, or --access-key-id")
    return None


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda a: a.id),
    ("name", lambda a: a.name),
    ("provider", lambda a: a.provider.value),
    ("auth", lambda a: a.auth_method),
    ("status", lambda a: a.status.value),
    ("regions", lambda a: len(a.regions) or "all"),
    ("discovered", lambda a: when(a.last_discovered_at)),
]


def _print_account(account: CloudAccountRead) -> None:
    print_wrapped_fields(
        [
            ("id", account.id),
            ("name", account.name),
            ("provider", account.provider.value),
            ("account", account.external_account_id),
            ("auth", account.auth_method),
            ("credentials", account.credentials_hint),
            ("default region", account.default_region),
            ("regions", ", ".join(account.regions) or "all enabled"),
            ("cloudwatch", account.cloudwatch_enabled),
            ("status", account.status.value),
            ("detail", account.status_detail),
            ("tested", when(account.last_tested_at)),
            ("discovered", when(account.last_discovered_at)),
            ("created", when(account.created_at)),
        ]
    )


def _print_test(result: ConnectionTestResult) -> None:
    print_wrapped_fields(
        [("ok", result.ok), ("account", result.account_id), ("detail", result.detail)]
    )
    if result.permissions:
        click.echo()
        print_wrapped_table(
            result.permissions,
            [
                ("feature", lambda p: p.feature),
                ("ok", lambda p: p.ok if getattr(p, "checked", True) else "unchecked"),
                ("detail", lambda p: p.detail),
            ],
        )


def _id(api: Client, account: int | str) -> int:
    found = account_id_of(api, account)
    assert found is not None
    return found


@click.group("cloud-accounts")
def cloud_accounts() -> None:
    """Cloud provider accounts: credentials, connection tests, discovery."""


@cloud_accounts.command("list")
@page_options
@json_option
@reports_errors
def accounts_list(page: int, per_page: int, as_json: bool) -> None:
    """Connected accounts and how their last test went."""
    with open_client() as api:
        result = api.cloud_accounts.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _COLUMNS))


@cloud_accounts.command("show")
@click.argument("account", type=ACCOUNT)
@json_option
@reports_errors
def accounts_show(account: int | str, as_json: bool) -> None:
    """One account, by id or name (its credentials only as a masked hint)."""
    with open_client() as api:
        found = api.cloud_accounts.get(_id(api, account))
    print_result(found, as_json, lambda: _print_account(found))


@cloud_accounts.command("add")
@click.option("--name", required=True, help="A name to tell the account by.")
@click.option("--provider", type=PROVIDERS, default="aws", show_default=True)
@_credential_options
@click.option("--default-region", help="Region for global calls (us-east-1).")
@click.option("--regions", help="Comma-separated regions to discover (default: all enabled).")
@click.option("--cloudwatch/--no-cloudwatch", default=None, help="Read CloudWatch metrics.")
@json_option
@reports_errors
def accounts_add(
    name: str,
    provider: str,
    role_arn: str | None,
    external_id: str | None,
    access_key_id: str | None,
    secret_access_key_stdin: bool,
    default_region: str | None,
    regions: str | None,
    cloudwatch: bool | None,
    as_json: bool,
) -> None:
    """Connect an account with an IAM role (preferred) or an access key pair."""
    credentials = _credentials(
        role_arn, external_id, access_key_id, secret_access_key_stdin, required=True
    )
    assert credentials is not None
    with open_client() as api:
        account = api.cloud_accounts.create(
            name=name,
            provider=provider,
            credentials=credentials,
            default_region=default_region,
            regions=_regions(regions),
            cloudwatch_enabled=cloudwatch,
        )

    def human() -> None:
        click.echo(
            f"Cloud account {account.id} added: {account.name} ({account.credentials_hint})."
        )
        click.echo(f"Check it with `upmetr cloud-accounts test {account.id}`.")

    print_result(account, as_json, human)


@cloud_accounts.command("update")
@click.argument("account", type=ACCOUNT)
@click.option("--name", help="New name.")
@_credential_options
@click.option("--default-region", help="Region for global calls.")
@click.option("--regions", help="Comma-separated regions to discover.")
@click.option("--cloudwatch/--no-cloudwatch", default=None, help="Read CloudWatch metrics.")
@json_option
@reports_errors
def accounts_update(
    account: int | str,
    name: str | None,
    role_arn: str | None,
    external_id: str | None,
    access_key_id: str | None,
    secret_access_key_stdin: bool,
    default_region: str | None,
    regions: str | None,
    cloudwatch: bool | None,
    as_json: bool,
) -> None:
    """Change what is given; new credentials replace the stored ones."""
    credentials = _credentials(
        role_arn, external_id, access_key_id, secret_access_key_stdin, required=False
    )
    with open_client() as api:
        updated = api.cloud_accounts.update(
            _id(api, account),
            name=name,
            credentials=credentials,
            default_region=default_region,
            regions=_regions(regions),
            cloudwatch_enabled=cloudwatch,
        )
    print_result(updated, as_json, lambda: _print_account(updated))


@cloud_accounts.command("remove")
@click.argument("account", type=ACCOUNT)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def accounts_remove(account: int | str, yes: bool) -> None:
    """Remove an account with its resources and cost history."""
    with open_client() as api:
        found = api.cloud_accounts.get(_id(api, account))
        if not yes:
            click.confirm(
                f"Remove cloud account {found.id} ({found.name}) with its resources "
                "and cost history?",
                abort=True,
                err=True,
            )
        api.cloud_accounts.delete(found.id)
    click.echo(f"Cloud account {found.id} ({found.name}) removed.")


@cloud_accounts.command("test")
@click.argument("account", type=ACCOUNT, required=False)
@click.option("--provider", type=PROVIDERS, default="aws", show_default=True)
@_credential_options
@click.option("--default-region", help="Region to test in (us-east-1).")
@json_option
@reports_errors
def accounts_test(
    account: int | str | None,
    provider: str,
    role_arn: str | None,
    external_id: str | None,
    access_key_id: str | None,
    secret_access_key_stdin: bool,
    default_region: str | None,
    as_json: bool,
) -> None:
    """Test a saved account (by id or name) or credentials before adding them.

    Proves the identity, then read access per feature; exits 1 when the test failed.
    """
    credentials = _credentials(
        role_arn, external_id, access_key_id, secret_access_key_stdin, required=account is None
    )
    if account is not None and credentials is not None:
        raise click.UsageError("give an account or credentials, not both")
    with open_client() as api:
        if account is not None:
            result = api.cloud_accounts.test_saved(_id(api, account))
        else:
            assert credentials is not None
            result = api.cloud_accounts.test(
                provider=provider, credentials=credentials, default_region=default_region
            )
    print_result(result, as_json, lambda: _print_test(result))
    if not result.ok:
        sys.exit(1)


@cloud_accounts.command("discover")
@click.argument("account", type=ACCOUNT)
@wait_option
@timeout_option
@json_option
@reports_errors
def accounts_discover(account: int | str, wait: bool, timeout: float, as_json: bool) -> None:
    """Find the account's resources now (a background job)."""
    with open_client() as api:
        accepted = api.cloud_accounts.discover(_id(api, account))
        follow_job(api, accepted.job_id, wait=wait, timeout=timeout, as_json=as_json)
