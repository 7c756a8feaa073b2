"""The SSH server's host key: made on first start (ed25519), kept 0600 beside the database."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

HOST_KEY_FILE = "ssh_host_ed25519_key"


def load_or_create_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The key at `path`, made there first when missing; and whether it was just made."""
    if path.exists():
        return asyncssh.read_private_key(path), False
    key = asyncssh.generate_private_key("ssh-ed25519", comment="upmetr ssh-serve")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created 0600 from the start, never readable by others for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
    return key, True
