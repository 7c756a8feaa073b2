"""HTTP handlers for /cloud-accounts: parse -> call service -> serialize."""

from __future__ import annotations

from server.cloud_accounts import service as accounts
from server.http.routing import Call
from shared.api.cloud_accounts import CloudAccountRead, ConnectionTestResult
from shared.api.common import Page
from shared.api.jobs import JobAccepted


async def list_accounts(call: Call) -> Page[CloudAccountRead]:
    """GET /cloud-accounts"""
    return await accounts.list_accounts(call.db, org_id=call.auth.org_id, query=call.query)


async def create_account(call: Call) -> CloudAccountRead:
    """POST /cloud-accounts"""
    return await accounts.create(call.ctx, data=call.body)


async def get_account(call: Call) -> CloudAccountRead:
    """GET /cloud-accounts/{id}"""
    account = await accounts.account_of(
        call.db, org_id=call.auth.org_id, account_id=call.path["id"]
    )
    return accounts.account_read(account)


async def update_account(call: Call) -> CloudAccountRead:
    """PATCH /cloud-accounts/{id}"""
    return await accounts.update(call.ctx, account_id=call.path["id"], data=call.body)


async def delete_account(call: Call) -> None:
    """DELETE /cloud-accounts/{id}"""
    await accounts.remove(call.ctx, account_id=call.path["id"])


async def test_unsaved(call: Call) -> ConnectionTestResult:
    """POST /cloud-accounts/test"""
    return await accounts.test_unsaved(call.ctx, data=call.body)


async def test_saved(call: Call) -> ConnectionTestResult:
    """POST /cloud-accounts/{id}/test"""
    return await accounts.test_saved(call.ctx, account_id=call.path["id"])


async def discover(call: Call) -> JobAccepted:
    """POST /cloud-accounts/{id}/discover"""
    return await accounts.discover(call.ctx, account_id=call.path["id"])
