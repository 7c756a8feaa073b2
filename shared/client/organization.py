"""The organization: members, invitations, settings, audit log and plans."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from shared.api.audit import AuditLogRead, AuditStatus, AuditSummary
from shared.api.auth import OrganizationSummary
from shared.api.billing import PlanRead
from shared.api.common import Message, Page, Role
from shared.api.orgs import DiscoveryInterval, OrganizationRead, SettingsRead
from shared.api.users import InvitationRead, MemberRead, ProfileRead, SshKeyRead
from shared.client.auth import RoleLike
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint


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


class SshKeys(Namespace[M]):
    """The caller's SSH public keys, which open the console over SSH (`/users/me/ssh-keys`)."""

    @endpoint
    def list(self) -> Call[list[SshKeyRead]]:
        return Call("GET", "/users/me/ssh-keys", parse_as(list[SshKeyRead]))

    @endpoint
    def add(self, public_key: str, *, name: str | None = None) -> Call[SshKeyRead]:
        """`public_key`: one OpenSSH line, as in ~/.ssh/id_ed25519.pub."""
        return Call(
            "POST",
            "/users/me/ssh-keys",
            parse_as(SshKeyRead),
            json=body(public_key=public_key, name=name),
        )

    @endpoint
    def delete(self, key_id: int) -> Call[None]:
        return Call("DELETE", f"/users/me/ssh-keys/{int(key_id)}", no_content)


class Users(Namespace[M]):
    """Members of the organization and the caller's profile (`/users`)."""

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self.invitations: Invitations[M] = Invitations(core)
        self.ssh_keys: SshKeys[M] = SshKeys(core)

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
        self,
        *,
        full_name: str | None = None,
        email: str | None = None,
        current_password: str | None = None,
    ) -> Call[ProfileRead]:
        """A new `email` needs `current_password`; it changes once its emailed link is used."""
        fields = body(full_name=full_name, email=email, current_password=current_password)
        return Call("PATCH", "/users/me", parse_as(ProfileRead), json=fields)

    @endpoint
    def confirm_email(self, token: str) -> Call[Message]:
        """Confirm a new sign-in email with the token of the link mailed to it."""
        return Call("POST", "/auth/email/confirm", parse_as(Message), json={"token": token})


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
