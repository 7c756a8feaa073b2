"""The server's signing and encryption keys: generated on first start, kept in the data dir.

Tokens survive restarts because the same keys are read back. The file is created with 0600
permissions before anything is written to it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from server.data_dir import make_private_dir

KEYS_FILE = "keys.json"


@dataclass(frozen=True)
class Keys:
    jwt_secret: str
    fernet_key: str

    @property
    def fernet(self) -> Fernet:
        return Fernet(self.fernet_key.encode())

    def encrypt(self, value: str) -> str:
        return self.fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        try:
            return self.fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this server's key") from exc


def load_or_create_keys(data_dir: Path) -> Keys:
    path = data_dir / KEYS_FILE
    if path.exists():
        raw = json.loads(path.read_text())
        return Keys(jwt_secret=raw["jwt_secret"], fernet_key=raw["fernet_key"])
    keys = Keys(
        jwt_secret=base64.urlsafe_b64encode(secrets.token_bytes(48)).decode(),
        fernet_key=Fernet.generate_key().decode(),
    )
    make_private_dir(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"jwt_secret": keys.jwt_secret, "fernet_key": keys.fernet_key}, handle)
    return keys
