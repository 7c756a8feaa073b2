"""SSH public keys: the keys a member registers to open the console over SSH (server/ssh/).

A key is one line in OpenSSH form (what `~/.ssh/id_ed25519.pub` holds); only public keys of
the types OpenSSH offers by default are taken, RSA from 2048 bits (NIST SP 800-131A), and no
DSA. A key belongs to one account: its SHA256 fingerprint is unique, so the key alone tells
`ssh-serve` who connects. A member sees and deletes only their own keys; another member's key
is a 404. Deleting a key refuses it at the next connection, since ssh-serve looks keys up in
the database each time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncssh
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.http.errors import BadRequest, Conflict, Forbidden, NotFound
from server.service_context import Context
from server.users.models import SshKey, User
from shared.api.users import SshKeyCreate, SshKeyRead

KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
)
MIN_RSA_BITS = 2048


def parse_public_key(text: str) -> asyncssh.SSHKey:
    """The key in `text` (one OpenSSH line), or a 400 that says what is wrong with it."""
    line = text.strip()
    if "PRIVATE KEY" in line:
        raise BadRequest("This is a private key: paste the public one (the .pub file)")
    if "\n" in line:
        raise BadRequest("public_key must be one line, as in ~/.ssh/id_ed25519.pub")
    algorithm = line.split(" ", 1)[0]
    if algorithm not in KEY_TYPES:
        raise BadRequest(
            f"Unsupported key type {algorithm[:40]!r}; use one of: {', '.join(KEY_TYPES)}"
        )
    try:
        key = asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise BadRequest("public_key is not a valid OpenSSH public key") from exc
    public = key.pyca_key
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise BadRequest(f"RSA keys need at least {MIN_RSA_BITS} bits; ed25519 is better")
    return key


def _read(key: SshKey) -> SshKeyRead:
    return SshKeyRead.model_validate(key)


async def list_keys(ctx: Context) -> list[SshKeyRead]:
    keys = await ctx.db.scalars(
        select(SshKey).where(SshKey.user_id == ctx.auth.user_id).order_by(SshKey.id)
    )
    return [_read(key) for key in keys]


async def add_key(ctx: Context, data: SshKeyCreate) -> SshKeyRead:
    if ctx.auth.api_key_id is not None:
        # A key's session has its account's full role, which the API key may not have.
        raise Forbidden("SSH keys are added from a signed-in session, not with an API key")
    key = parse_public_key(data.public_key)
    fingerprint = key.get_fingerprint("sha256")
    comment = key.get_comment()
    name = data.name or comment or f"{key.get_algorithm()} {fingerprint[7:19]}"
    key.set_comment(None)
    row = SshKey(
        user_id=ctx.auth.user_id,
        name=name[:200],
        public_key=key.export_public_key("openssh").decode().strip(),
        fingerprint=fingerprint,
        created_at=datetime.now(UTC),
    )
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(row)
            await ctx.db.flush()
    except IntegrityError as exc:
        raise Conflict("This key is already registered to an account") from exc
    await audit.record(
        ctx,
        action="ssh_key.added",
        resource_type="ssh_key",
        resource_id=row.id,
        detail=f"{row.name} {fingerprint}",
    )
    return _read(row)


async def delete_key(ctx: Context, key_id: int) -> None:
    row = await ctx.db.scalar(
        select(SshKey).where(SshKey.id == key_id, SshKey.user_id == ctx.auth.user_id)
    )
    if row is None:
        raise NotFound("SSH key not found")
    await ctx.db.delete(row)
    await audit.record(
        ctx,
        action="ssh_key.deleted",
        resource_type="ssh_key",
        resource_id=key_id,
        detail=f"{row.name} {row.fingerprint}",
    )


async def owner_of(db: AsyncSession, fingerprint: str) -> tuple[SshKey, User] | None:
    """The key with this fingerprint and its account, when the account is active."""
    row = (
        await db.execute(
            select(SshKey, User)
            .join(User, User.id == SshKey.user_id)
            .where(SshKey.fingerprint == fingerprint, User.is_active.is_(True))
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None
