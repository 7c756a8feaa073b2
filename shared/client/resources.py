"""The resource namespaces: one method per endpoint of shared/API.md, parsed into shared models."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from shared.api.audit import AuditLogRead, AuditStatus, AuditSummary
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
from shared.api.billing import PlanRead
from shared.api.common import Message, Page, Role
from shared.api.incidents import (
    BulkActionName,
    BulkOutcome,
    IncidentDetail,
    IncidentRead,
    IncidentStats,
    IncidentStatus,
    Severity,
    TimelineEventRead,
    TriggerType,
)
from shared.api.orgs import DiscoveryInterval, OrganizationRead, SettingsRead
from shared.api.users import InvitationRead, MemberRead, ProfileRead
from shared.client.call import Call, body, no_content, parse_as, parse_union, query
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


class Invitations(Namespace[M]):
    """Invitations to the organization (`/users/invitations`)."""

    @endpoint
    def list(self) -> Call[list[InvitationRead]]:
        return Call("GET", "/users/invitations", parse_as(list[InvitationRead]))

    @endpoint
    def create(self, email: str, role: RoleLike = Role.viewer) -> Call[InvitationRead]:
        return Call(
            "POST",
            "/users/invitations",
            parse_as(InvitationRead),
            json=body(email=email, role=role),
        )

    @endpoint
    def revoke(self, invitation_id: int) -> Call[None]:
        return Call("DELETE", f"/users/invitations/{int(invitation_id)}", no_content)

    @endpoint
    def resend(self, invitation_id: int) -> Call[InvitationRead]:
        return Call(
            "POST", f"/users/invitations/{int(invitation_id)}/resend", parse_as(InvitationRead)
        )

    @endpoint
    def accept(self, token: str) -> Call[OrganizationSummary]:
        return Call(
            "POST",
            "/users/invitations/accept",
            parse_as(OrganizationSummary),
            json=body(token=token),
        )


class Users(Namespace[M]):
    """Members of the organization and the caller's profile (`/users`)."""

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self.invitations: Invitations[M] = Invitations(core)

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        role: RoleLike | None = None,
        q: str | None = None,
    ) -> Call[Page[MemberRead]]:
        return Call(
            "GET",
            "/users",
            parse_as(Page[MemberRead]),
            params=query(page=page, per_page=per_page, role=role, q=q),
        )

    @endpoint
    def get(self, user_id: int) -> Call[MemberRead]:
        return Call("GET", f"/users/{int(user_id)}", parse_as(MemberRead))

    @endpoint
    def create(
        self, *, email: str, full_name: str, password: str, role: RoleLike = Role.viewer
    ) -> Call[MemberRead]:
        return Call(
            "POST",
            "/users",
            parse_as(MemberRead),
            json=body(email=email, full_name=full_name, password=password, role=role),
        )

    @endpoint
    def update(
        self, user_id: int, *, role: RoleLike | None = None, full_name: str | None = None
    ) -> Call[MemberRead]:
        """Change what is given; None leaves a field as it is."""
        return Call(
            "PATCH",
            f"/users/{int(user_id)}",
            parse_as(MemberRead),
            json=body(role=role, full_name=full_name),
        )

    @endpoint
    def remove(self, user_id: int) -> Call[None]:
        return Call("DELETE", f"/users/{int(user_id)}", no_content)

    @endpoint
    def me(self) -> Call[ProfileRead]:
        return Call("GET", "/users/me", parse_as(ProfileRead))

    @endpoint
    def update_me(
        self, *, full_name: str | None = None, email: str | None = None
    ) -> Call[ProfileRead]:
        return Call(
            "PATCH", "/users/me", parse_as(ProfileRead), json=body(full_name=full_name, email=email)
        )


class Organization(Namespace[M]):
    """The caller's organization and its branding (`/organization`)."""

    @endpoint
    def get(self) -> Call[OrganizationRead]:
        return Call("GET", "/organization", parse_as(OrganizationRead))

    @endpoint
    def update(
        self,
        *,
        name: str | None = None,
        slug: str | None = None,
        brand_name: str | None = None,
        brand_primary_color: str | None = None,
        brand_accent_color: str | None = None,
    ) -> Call[OrganizationRead]:
        """Change what is given; None leaves a field as it is."""
        return Call(
            "PATCH",
            "/organization",
            parse_as(OrganizationRead),
            json=body(
                name=name,
                slug=slug,
                brand_name=brand_name,
                brand_primary_color=brand_primary_color,
                brand_accent_color=brand_accent_color,
            ),
        )


class Settings(Namespace[M]):
    """Organization settings (`/settings`)."""

    @endpoint
    def get(self) -> Call[SettingsRead]:
        return Call("GET", "/settings", parse_as(SettingsRead))

    @endpoint
    def update(
        self,
        *,
        discovery_auto: bool | None = None,
        discovery_interval: DiscoveryInterval | None = None,
        default_check_interval_seconds: int | None = None,
        cloudwatch_polling: bool | None = None,
        cloudwatch_interval_seconds: int | None = None,
    ) -> Call[SettingsRead]:
        return Call(
            "PATCH",
            "/settings",
            parse_as(SettingsRead),
            json=body(
                discovery_auto=discovery_auto,
                discovery_interval=discovery_interval,
                default_check_interval_seconds=default_check_interval_seconds,
                cloudwatch_polling=cloudwatch_polling,
                cloudwatch_interval_seconds=cloudwatch_interval_seconds,
            ),
        )


class AuditLogs(Namespace[M]):
    """The organization's audit trail (`/audit-logs`; superadmin, `audit_logs` module)."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        action: str | None = None,
        status: AuditStatus | None = None,
        user_id: int | None = None,
        resource_type: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Call[Page[AuditLogRead]]:
        """Entries, newest first; `per_page` is 25, 50 or 100."""
        return Call(
            "GET",
            "/audit-logs",
            parse_as(Page[AuditLogRead]),
            params=query(
                page=page,
                per_page=per_page,
                action=action,
                status=status,
                user_id=user_id,
                resource_type=resource_type,
                from_=from_,
                to=to,
            ),
        )

    @endpoint
    def summary(self) -> Call[AuditSummary]:
        return Call("GET", "/audit-logs/summary", parse_as(AuditSummary))

    @endpoint
    def get(self, entry_id: int) -> Call[AuditLogRead]:
        return Call("GET", f"/audit-logs/{int(entry_id)}", parse_as(AuditLogRead))

    @endpoint
    def export(
        self,
        file: IO[bytes],
        *,
        format: str = "csv",
        action: str | None = None,
        status: AuditStatus | None = None,
        user_id: int | None = None,
        resource_type: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Call[None]:
        """Stream the export (`csv` or `json`) into a binary file-like, chunk by chunk."""
        return Call(
            "GET",
            "/audit-logs/export",
            no_content,
            params=query(
                format=format,
                action=action,
                status=status,
                user_id=user_id,
                resource_type=resource_type,
                from_=from_,
                to=to,
            ),
            stream_to=file,
        )


class Plans(Namespace[M]):
    """Plans with prices, limits and modules (`/billing/plans`)."""

    @endpoint
    def list(self) -> Call[list[PlanRead]]:
        return Call("GET", "/billing/plans", parse_as(list[PlanRead]))


class Incidents(Namespace[M]):
    """Incidents and their timeline (`/incidents`)."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        status: IncidentStatus | str | None = None,
        severity: Severity | str | None = None,
        trigger_type: TriggerType | str | None = None,
        monitor_id: int | None = None,
        resource_id: int | None = None,
        agent_id: int | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        q: str | None = None,
        sort: str | None = None,
    ) -> Call[Page[IncidentRead]]:
        """Newest first unless `sort` says otherwise (`severity`, `-resolved_at`, ...)."""
        return Call(
            "GET",
            "/incidents",
            parse_as(Page[IncidentRead]),
            params=query(
                page=page,
                per_page=per_page,
                status=status,
                severity=severity,
                trigger_type=trigger_type,
                monitor_id=monitor_id,
                resource_id=resource_id,
                agent_id=agent_id,
                from_=from_,
                to=to,
                q=q,
                sort=sort,
            ),
        )

    @endpoint
    def stats(self) -> Call[IncidentStats]:
        return Call("GET", "/incidents/stats", parse_as(IncidentStats))

    @endpoint
    def get(self, incident_id: int) -> Call[IncidentDetail]:
        """One incident with its timeline, oldest event first."""
        return Call("GET", f"/incidents/{int(incident_id)}", parse_as(IncidentDetail))

    @endpoint
    def create(
        self, *, title: str, severity: Severity | str, description: str | None = None
    ) -> Call[IncidentRead]:
        """Open a manual incident."""
        return Call(
            "POST",
            "/incidents",
            parse_as(IncidentRead),
            json=body(title=title, severity=severity, description=description),
        )

    @endpoint
    def acknowledge(self, incident_id: int, note: str | None = None) -> Call[IncidentRead]:
        """Only an open incident can be acknowledged (ConflictError otherwise)."""
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/acknowledge",
            parse_as(IncidentRead),
            json=body(note=note),
        )

    @endpoint
    def resolve(self, incident_id: int, note: str | None = None) -> Call[IncidentRead]:
        """Resolve an open or acknowledged incident (ConflictError when already resolved)."""
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/resolve",
            parse_as(IncidentRead),
            json=body(note=note),
        )

    @endpoint
    def add_note(self, incident_id: int, text: str) -> Call[TimelineEventRead]:
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/notes",
            parse_as(TimelineEventRead),
            json=body(text=text),
        )

    @endpoint
    def delete(self, incident_id: int) -> Call[None]:
        return Call("DELETE", f"/incidents/{int(incident_id)}", no_content)

    @endpoint
    def bulk(
        self, ids: Sequence[int], action: BulkActionName, note: str | None = None
    ) -> Call[builtins.list[BulkOutcome]]:
        """Acknowledge, resolve or delete many incidents; one outcome per id, in order."""
        return Call(
            "POST",
            "/incidents/bulk",
            parse_as(list[BulkOutcome]),
            json=body(ids=[int(i) for i in ids], action=action, note=note),
        )
