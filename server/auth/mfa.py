"""TOTP second factor (RFC 6238) and single-use backup codes.

The TOTP secret is stored encrypted (Fernet); backup codes only as SHA-256 hashes. A code
of six digits is read as a TOTP, anything else as a backup code.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pyotp
from pyotp.utils import strings_equal
from sqlalchemy import delete, or_, select, update

from server.audit import service as audit
from server.auth.models import MfaBackupCode
from server.auth.tokens import hash_secret, issue_jwt
from server.http.errors import BadRequest, Conflict
from server.service_context import Context
from server.users.models import User
from shared.api.auth import BackupCodesResponse, MfaChallenge, MfaSetupResponse

MFA = "mfa"
ISSUER = "Upmetr"
BACKUP_CODE_COUNT = 10
CHALLENGE_TTL = timedelta(minutes=5)


def challenge(ctx: Context, *, user_id: int, org_id: int) -> MfaChallenge:
    token = issue_jwt(
        ctx.keys.jwt_secret, subject=user_id, purpose=MFA, ttl=CHALLENGE_TTL, org=org_id
    )
    return MfaChallenge(mfa_token=token)


def _normalize(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").lower()


def _is_totp(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


async def _totp_ok(ctx: Context, user: User, code: str) -> bool:
    """A valid code of a time step newer than the last one accepted; that step is spent."""
    if user.mfa_secret_encrypted is None:
        return False
    totp = pyotp.TOTP(ctx.keys.decrypt(user.mfa_secret_encrypted))
    current = totp.timecode(datetime.now(UTC))
    # One step either side tolerates clock drift (RFC 6238 section 5.2).
    for step in (current - 1, current, current + 1):
        if strings_equal(totp.generate_otp(step), code):
            # Compare-and-set, so a code seen once (even by a concurrent request) is refused.
            spent = await ctx.db.execute(
                update(User)
                .where(
                    User.id == user.id,
                    or_(User.mfa_last_step.is_(None), User.mfa_last_step < step),
                )
                .values(mfa_last_step=step)
                .execution_options(synchronize_session=False)
            )
            return spent.rowcount > 0  # type: ignore[attr-defined]
    return False


async def _use_backup_code(ctx: Context, user: User, code: str) -> bool:
    """Spends a backup code with a compare-and-set, so it works exactly once."""
    result = await ctx.db.execute(
        update(MfaBackupCode)
        .where(
            MfaBackupCode.user_id == user.id,
            MfaBackupCode.code_hash == hash_secret(code),
            MfaBackupCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )
    return result.rowcount > 0  # type: ignore[attr-defined]


async def verify_code(ctx: Context, user: User, code: str, *, allow_backup: bool = True) -> bool:
    code = _normalize(code)
    if _is_totp(code):
        return await _totp_ok(ctx, user, code)
    return allow_backup and await _use_backup_code(ctx, user, code)


async def _new_backup_codes(ctx: Context, user: User) -> list[str]:
    await ctx.db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(BACKUP_CODE_COUNT)]
    ctx.db.add_all(
        MfaBackupCode(user_id=user.id, code_hash=hash_secret(_normalize(code))) for code in codes
    )
    await ctx.db.flush()
    return codes


async def _me(ctx: Context) -> User:
    return (await ctx.db.execute(select(User).where(User.id == ctx.auth.user_id))).scalar_one()


async def setup(ctx: Context) -> MfaSetupResponse:
    user = await _me(ctx)
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled; disable it first to enrol a new device")
    secret = pyotp.random_base32()
    user.mfa_secret_encrypted = ctx.keys.encrypt(secret)
    user.mfa_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return MfaSetupResponse(secret=secret, otpauth_uri=uri)


async def enable(ctx: Context, code: str) -> BackupCodesResponse:
    user = await _me(ctx)
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled")
    if user.mfa_secret_encrypted is None:
        raise Conflict("Start with POST /auth/mfa/setup, then confirm with a code")
    if not await _totp_ok(ctx, user, _normalize(code)):
        raise BadRequest("code is not valid for this authenticator; check the device clock")
    user.mfa_enabled = True
    codes = await _new_backup_codes(ctx, user)
    await audit.record(ctx, action="auth.mfa_enabled", resource_type="user", resource_id=user.id)
    return BackupCodesResponse(backup_codes=codes)


async def _require_enabled_and_code(ctx: Context, code: str) -> User:
    user = await _me(ctx)
    if not user.mfa_enabled:
        raise Conflict("MFA is not enabled")
    if not await verify_code(ctx, user, code):
        raise BadRequest("code is not a valid authenticator or backup code")
    return user


async def disable(ctx: Context, code: str) -> None:
    user = await _require_enabled_and_code(ctx, code)
    user.mfa_enabled = False
    user.mfa_secret_encrypted = None
    await ctx.db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user.id))
    await audit.record(ctx, action="auth.mfa_disabled", resource_type="user", resource_id=user.id)


async def regenerate_backup_codes(ctx: Context, code: str) -> BackupCodesResponse:
    user = await _require_enabled_and_code(ctx, code)
    codes = await _new_backup_codes(ctx, user)
    await audit.record(
        ctx, action="auth.backup_codes_regenerated", resource_type="user", resource_id=user.id
    )
    return BackupCodesResponse(backup_codes=codes)
