"""Sign-in, tokens, MFA, sessions and API keys (`/auth`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.auth import (
    ApiKeyCreated,
    ApiKeyRead,
    BackupCodesResponse,
    MeResponse,
    MfaChallenge,
    MfaSetupResponse,
    OrganizationSummary,
    RegisterResponse,
    SessionRead,
    TokenPair,
)
from shared.api.common import Message, Role
from shared.client.call import Call, body, no_content, parse_as, parse_union
from shared.client.namespace import M, Namespace, endpoint

RoleLike = Role | str

_parse_login: Any = parse_union(TokenPair | MfaChallenge)


class Auth(Namespace[M]):
    """Sign-in, tokens, password, MFA and sessions (`/auth`)."""

    @endpoint
    def register(
        self,
        *,
        email: str,
        password: str,
        full_name: str,
        organization_name: str | None = None,
        invitation_token: str | None = None,
    ) -> Call[RegisterResponse]:
        """Create an account (and an organization unless invited); signs the client in."""
        return Call(
            "POST",
            "/auth/register",
            parse_as(RegisterResponse),
            json=body(
                email=email,
                password=password,
                full_name=full_name,
                organization_name=organization_name,
                invitation_token=invitation_token,
            ),
            authenticated=False,
            adopt_tokens=True,
        )

    @endpoint
    def login(self, email: str, password: str) -> Call[TokenPair | MfaChallenge]:
        """A token pair (adopted by the client) or, with MFA on, a challenge for `verify_mfa`."""
        return Call(
            "POST",
            "/auth/login",
            _parse_login,
            json=body(email=email, password=password),
            authenticated=False,
            adopt_tokens=True,
        )

    @endpoint
    def verify_mfa(self, mfa_token: str, code: str) -> Call[TokenPair]:
        return Call(
            "POST",
            "/auth/mfa/verify",
            parse_as(TokenPair),
            json=body(mfa_token=mfa_token, code=code),
            authenticated=False,
            adopt_tokens=True,
        )

    @endpoint
    def refresh(self, refresh_token: str | None = None) -> Call[TokenPair]:
        """Rotate the refresh token (the client's own unless one is given)."""
        return Call(
            "POST",
            "/auth/refresh",
            parse_as(TokenPair),
            json={"refresh_token": refresh_token or self._core.refresh_token},
            authenticated=False,
            adopt_tokens=True,
        )

    @endpoint
    def logout(self, refresh_token: str | None = None) -> Call[None]:
        """End this session on the server; the client forgets its tokens."""
        return Call(
            "POST",
            "/auth/logout",
            no_content,
            json={"refresh_token": refresh_token or self._core.refresh_token},
            authenticated=False,
            forget_tokens=refresh_token is None,
        )

    @endpoint
    def me(self) -> Call[MeResponse]:
        return Call("GET", "/auth/me", parse_as(MeResponse))

    @endpoint
    def organizations(self) -> Call[list[OrganizationSummary]]:
        return Call("GET", "/auth/organizations", parse_as(list[OrganizationSummary]))

    @endpoint
    def select_org(self, organization_id: int) -> Call[TokenPair]:
        """Tokens scoped to another organization of the caller (adopted by the client)."""
        return Call(
            "POST",
            "/auth/select-org",
            parse_as(TokenPair),
            json={"organization_id": organization_id},
            adopt_tokens=True,
        )

    @endpoint
    def change_password(self, current_password: str, new_password: str) -> Call[None]:
        return Call(
            "POST",
            "/auth/password/change",
            no_content,
            json=body(current_password=current_password, new_password=new_password),
        )

    @endpoint
    def forgot_password(self, email: str) -> Call[Message]:
        return Call(
            "POST",
            "/auth/password/forgot",
            parse_as(Message),
            json=body(email=email),
            authenticated=False,
        )

    @endpoint
    def reset_password(self, token: str, new_password: str) -> Call[None]:
        return Call(
            "POST",
            "/auth/password/reset",
            no_content,
            json=body(token=token, new_password=new_password),
            authenticated=False,
        )

    @endpoint
    def magic_link(self, email: str) -> Call[Message]:
        return Call(
            "POST", "/auth/magic-link", parse_as(Message), json=body(email=email),
            authenticated=False,
        )  # fmt: skip

    @endpoint
    def verify_magic_link(self, token: str) -> Call[TokenPair | MfaChallenge]:
        return Call(
            "POST",
            "/auth/magic-link/verify",
            _parse_login,
            json=body(token=token),
            authenticated=False,
            adopt_tokens=True,
        )

    @endpoint
    def mfa_setup(self) -> Call[MfaSetupResponse]:
        return Call("POST", "/auth/mfa/setup", parse_as(MfaSetupResponse))

    @endpoint
    def mfa_enable(self, code: str) -> Call[BackupCodesResponse]:
        return Call("POST", "/auth/mfa/enable", parse_as(BackupCodesResponse), json=body(code=code))

    @endpoint
    def mfa_disable(self, code: str) -> Call[None]:
        return Call("POST", "/auth/mfa/disable", no_content, json=body(code=code))

    @endpoint
    def mfa_backup_codes(self, code: str) -> Call[BackupCodesResponse]:
        return Call(
            "POST", "/auth/mfa/backup-codes", parse_as(BackupCodesResponse), json=body(code=code)
        )

    @endpoint
    def sessions(self) -> Call[list[SessionRead]]:
        return Call("GET", "/auth/sessions", parse_as(list[SessionRead]))

    @endpoint
    def revoke_session(self, session_id: int) -> Call[None]:
        return Call("DELETE", f"/auth/sessions/{int(session_id)}", no_content)


class ApiKeys(Namespace[M]):
    """Long-lived keys for scripts (`/auth/api-keys`)."""

    @endpoint
    def list(self) -> Call[list[ApiKeyRead]]:
        return Call("GET", "/auth/api-keys", parse_as(list[ApiKeyRead]))

    @endpoint
    def create(
        self, name: str, *, role: RoleLike | None = None, expires_at: datetime | None = None
    ) -> Call[ApiKeyCreated]:
        """The created key; `.key` is shown only in this response."""
        return Call(
            "POST",
            "/auth/api-keys",
            parse_as(ApiKeyCreated),
            json=body(name=name, role=role, expires_at=expires_at),
        )

    @endpoint
    def revoke(self, key_id: int) -> Call[None]:
        return Call("DELETE", f"/auth/api-keys/{int(key_id)}", no_content)
