"""Auth: registration, login, MFA, tokens, sessions and API keys."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.api.common import ApiModel, Email, Name, ReadModel, Role, Secret, Token, UtcDatetime

Password = Secret

# The password policy (API contract): at least 12 characters, with an upper-case letter, a
# lower-case letter, a digit and a special character. The server checks rule by rule to name
# what a password lacks (server/auth/passwords.py); the pattern states the same rules.
PASSWORD_MIN_LENGTH = 12
PASSWORD_RULES = {
    "an upper-case letter": "[A-Z]",
    "a lower-case letter": "[a-z]",
    "a digit": "[0-9]",
    "a special character": r"[^A-Za-z0-9\s]",
}
_POLICY = (
    "^"
    + "".join(f"(?=[\\s\\S]*{rule})" for rule in PASSWORD_RULES.values())
    + f"[\\s\\S]{{{PASSWORD_MIN_LENGTH},}}$"
)
NewPassword = Annotated[
    Secret,
    Field(
        json_schema_extra={"pattern": _POLICY},
        description="at least 12 characters, with an upper-case letter (A-Z), a lower-case "
        "letter (a-z), a digit (0-9) and a special character",
    ),
]
OtpCode = str  # a 6-digit TOTP or a backup code; validated by the server, not by shape


class RegisterRequest(ApiModel):
    email: Email
    password: NewPassword
    full_name: Name
    organization_name: Name | None = None
    invitation_token: Token | None = None


class LoginRequest(ApiModel):
    email: Email
    password: Password


class TokenPair(ReadModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class MfaChallenge(ReadModel):
    mfa_required: Literal[True] = True
    mfa_token: str


class MfaVerifyRequest(ApiModel):
    mfa_token: Token
    code: str = Field(min_length=6, max_length=32)


class RefreshRequest(ApiModel):
    refresh_token: Token


class LogoutRequest(ApiModel):
    refresh_token: Token


class SelectOrgRequest(ApiModel):
    organization_id: int = Field(ge=1)


class UserRead(ReadModel):
    id: int
    email: str
    full_name: str
    is_platform_admin: bool
    mfa_enabled: bool
    has_avatar: bool
    created_at: UtcDatetime


class PlanSummary(ReadModel):
    code: str
    name: str
    modules: list[str]
    limits: dict[str, int | None]


class OrganizationSummary(ReadModel):
    id: int
    name: str
    slug: str
    role: Role


class MeResponse(ReadModel):
    user: UserRead
    organization: OrganizationSummary
    role: Role
    plan: PlanSummary


class RegisterResponse(TokenPair):
    user: UserRead


class PasswordChangeRequest(ApiModel):
    current_password: Password
    new_password: NewPassword


class EmailRequest(ApiModel):
    email: Email


class PasswordResetRequest(ApiModel):
    token: Token
    new_password: NewPassword


class TokenRequest(ApiModel):
    token: Token


class MfaSetupResponse(ReadModel):
    secret: str
    otpauth_uri: str


class MfaCodeRequest(ApiModel):
    code: str = Field(min_length=6, max_length=32)


class BackupCodesResponse(ReadModel):
    backup_codes: list[str]


class SessionRead(ReadModel):
    id: int
    user_agent: str | None
    ip: str | None
    created_at: UtcDatetime
    last_used_at: UtcDatetime
    current: bool = False


class ApiKeyCreate(ApiModel):
    name: Name
    role: Role | None = Field(None, description="Defaults to the creator's role; never above it.")
    expires_at: UtcDatetime | None = None


class ApiKeyRead(ReadModel):
    id: int
    name: str
    role: Role
    hint: str = Field(description="Masked key, e.g. upk_****ab12.")
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    last_used_at: UtcDatetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself; shown only in this response.")
