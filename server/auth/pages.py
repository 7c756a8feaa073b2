"""Where emailed links land: GET /magic-link, GET and POST /reset-password and
/confirm-email (outside /api/v1).

Small pages without JavaScript, so the links work on a server with no web front end. A GET
never spends a token, since mail scanners fetch links before people do: the reset form's
POST spends a reset token, and `upmetr login --magic-link` a sign-in one (a browser could
not keep the sign-in anyway: the console and the CLI are where a login lives).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from server.audit import service as audit
from server.auth import recovery
from server.auth.models import OneTimeToken
from server.auth.passwords import check_policy
from server.http.errors import BadRequest, Conflict
from server.http.pages import Html, fragment, page, public_url, rate_limited
from server.http.routing import Call
from server.users import email_change
from server.users.models import User

# As shared.api.common's Token and Secret, the API's bounds for the same values.
MAX_TOKEN_LENGTH = 4096
MAX_PASSWORD_LENGTH = 1024


def _token_in(values: Mapping[str, Any]) -> str:
    token = values.get("token")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return ""
    return token.strip()


async def _usable(
    call: Call, values: Mapping[str, Any], purpose: str
) -> tuple[str, OneTimeToken, User] | None:
    """The link's token with its record and user, if it can still be used for `purpose`."""
    token = _token_in(values)
    found = await recovery.usable_token(call.db, token, purpose) if token else None
    return (token, *found) if found is not None else None


def _expiry(record: OneTimeToken) -> str:
    expires_at: datetime = record.expires_at
    return expires_at.strftime("%Y-%m-%d %H:%M UTC")


def _invalid(call: Call, purpose: str) -> web.Response:
    settings = call.settings
    if purpose == recovery.MAGIC_LINK:
        problem = "This sign-in link is invalid, was used already, or has expired."
        minutes = settings.magic_link_minutes
        how = "Ask for a new one (POST /api/v1/auth/magic-link), or sign in with upmetr login."
    elif purpose == email_change.EMAIL_CHANGE:
        problem = f"{email_change.INVALID}."
        minutes = settings.email_change_minutes
        how = "Ask again: change the email in your profile (PATCH /api/v1/users/me)."
    else:
        problem = "This password reset link is invalid, was used already, or has expired."
        minutes = settings.password_reset_minutes
        how = "Ask for a new one: POST /api/v1/auth/password/forgot with your email."
    body = fragment("invalid_link", problem=problem, minutes=str(minutes), how_to_ask=how)
    return page("This link does not work", body, status=400)


async def magic_link(call: Call) -> web.Response:
    """GET /magic-link?token=: whether the link is valid, and the command that signs in."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    found = await _usable(call, call.request.query, recovery.MAGIC_LINK)
    if found is None:
        return _invalid(call, recovery.MAGIC_LINK)
    token, record, _user = found
    body = fragment("magic_link", token=token, url=public_url(call), expires_at=_expiry(record))
    return page("Sign in to Upmetr", body)


def _reset_form(
    call: Call, token: str, record: OneTimeToken, email: str, *, error: str | None = None
) -> web.Response:
    body = fragment(
        "reset_form",
        error=fragment("error", message=error) if error else Html(""),
        email=email,
        token=token,
        url=public_url(call),
        expires_at=_expiry(record),
    )
    return page("Set a new password", body, status=400 if error else 200)


async def reset_form(call: Call) -> web.Response:
    """GET /reset-password?token=: a form for the new password (posted to the same path)."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    found = await _usable(call, call.request.query, recovery.PASSWORD_RESET)
    if found is None:
        return _invalid(call, recovery.PASSWORD_RESET)
    token, record, user = found
    return _reset_form(call, token, record, user.email)


def _form_problem(new_password: Any, confirmation: Any) -> str | None:
    """What is wrong with the typed passwords, checked before the token is spent."""
    if not isinstance(new_password, str) or not new_password:
        return "Type the new password, twice."
    if len(new_password) > MAX_PASSWORD_LENGTH:
        return f"The new password is longer than {MAX_PASSWORD_LENGTH} characters."
    if new_password != confirmation:
        return "The two passwords differ: type the same one twice."
    try:
        check_policy(new_password, field="The new password")
    except BadRequest as exc:
        return f"{exc.detail}."
    return None


async def reset_password(call: Call) -> web.Response:
    """POST /reset-password (a form): set the new password; the token is spent."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    form = await call.request.post()
    found = await _usable(call, form, recovery.PASSWORD_RESET)
    if found is None:
        audit.record_failure(call.ctx, action="auth.password_reset", detail=recovery.INVALID_TOKEN)
        return _invalid(call, recovery.PASSWORD_RESET)
    token, record, user = found
    new_password = form.get("new_password")
    problem = _form_problem(new_password, form.get("confirm_password"))
    if problem is not None:
        return _reset_form(call, token, record, user.email, error=problem)
    assert isinstance(new_password, str)  # checked by _form_problem
    try:
        await recovery.reset_password(call.ctx, token=token, new_password=new_password)
    except BadRequest:  # spent by another request since it was read: audited by the service
        return _invalid(call, recovery.PASSWORD_RESET)
    return page("Password changed", fragment("reset_done", url=public_url(call)))


async def confirm_email_form(call: Call) -> web.Response:
    """GET /confirm-email?token=: a button that confirms the new sign-in email."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    found = await _usable(call, call.request.query, email_change.EMAIL_CHANGE)
    if found is None:
        return _invalid(call, email_change.EMAIL_CHANGE)
    token, record, _user = found
    body = fragment(
        "confirm_email", email=record.new_email or "", token=token, expires_at=_expiry(record)
    )
    return page("Confirm your new email", body)


async def confirm_email(call: Call) -> web.Response:
    """POST /confirm-email (the form): the sign-in email changes; the token is spent."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    token = _token_in(await call.request.post())
    try:
        done = await email_change.confirm(call.ctx, token)
    except BadRequest:
        return _invalid(call, email_change.EMAIL_CHANGE)
    except Conflict as exc:
        return page("This email is taken", fragment("error", message=exc.detail), status=409)
    body = fragment("email_confirmed", message=done.detail, url=public_url(call))
    return page("Email changed", body)
