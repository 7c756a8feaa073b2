"""Organization members and invitations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.api.auth import NewPassword
from shared.api.common import (
    ApiModel,
    Email,
    Name,
    PageQuery,
    ReadModel,
    Role,
    Secret,
    UpdateModel,
    UtcDatetime,
)


class MemberRead(ReadModel):
    id: int
    email: str
    full_name: str
    role: Role
    mfa_enabled: bool
    has_avatar: bool
    joined_at: UtcDatetime


class MemberCreate(ApiModel):
    email: Email
    full_name: Name
    password: NewPassword
    role: Role = Role.viewer


class MemberUpdate(UpdateModel):
    role: Role | None = None
    full_name: Name | None = None


MemberSort = Literal[
    "email", "-email", "full_name", "-full_name", "role", "-role", "joined_at", "-joined_at"
]


class MemberQuery(PageQuery):
    role: Role | None = None
    q: str | None = Field(None, max_length=200, description="matches email or full name")
    sort: MemberSort = "joined_at"


class ProfileRead(ReadModel):
    id: int
    email: str
    full_name: str
    mfa_enabled: bool
    has_avatar: bool
    created_at: UtcDatetime
    pending_email: str | None = Field(
        None, description="a new sign-in email waiting for its emailed confirmation link"
    )


class ProfileUpdate(UpdateModel):
    full_name: Name | None = None
    email: Email | None = Field(
        None,
        description=(
            "a new sign-in email: needs current_password, and changes once the link mailed "
            "to it is followed"
        ),
    )
    current_password: Secret | None = Field(None, description="required with email")


class InvitationCreate(ApiModel):
    email: Email
    role: Role = Role.viewer


class InvitationRead(ReadModel):
    id: int
    email: str
    role: Role
    status: str = Field(description="pending, accepted, revoked or expired")
    invited_by_email: str | None
    created_at: UtcDatetime
    expires_at: UtcDatetime
    accepted_at: UtcDatetime | None


class InvitationAccept(ApiModel):
    token: str = Field(min_length=1, max_length=4096)


class SshKeyCreate(ApiModel):
    name: Name | None = Field(
        None, description="defaults to the key's comment, else its type and fingerprint"
    )
    public_key: str = Field(
        min_length=1,
        max_length=16_384,
        description="one line in OpenSSH form, as in ~/.ssh/id_ed25519.pub",
    )


class SshKeyRead(ReadModel):
    id: int
    name: str
    public_key: str = Field(description="the key in OpenSSH form, without its comment")
    fingerprint: str = Field(description="SHA256:..., as `ssh-keygen -lf` prints it")
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
