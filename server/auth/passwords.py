"""Password hashing (argon2id, off the event loop) and the password policy."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Settings
from server.http.errors import BadRequest
from shared.api.auth import PASSWORD_MIN_LENGTH, PASSWORD_RULES

MIN_LENGTH = PASSWORD_MIN_LENGTH
MAX_LENGTH = 1024


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
    )


async def hash_password(settings: Settings, password: str) -> str:
    # ~175 ms of CPU per hash with the default parameters: never on the event loop.
    return await asyncio.to_thread(hasher_for(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return hasher_for(settings).verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def check_policy(password: str, *, field: str = "password") -> None:
    """>= 12 characters with upper, lower, digit and special (API contract, /auth/register),
    by the rules the OpenAPI document states (shared.api.auth.PASSWORD_RULES)."""
    missing = []
    if len(password) < MIN_LENGTH:
        missing.append(f"at least {MIN_LENGTH} characters")
    missing += [words for words, rule in PASSWORD_RULES.items() if not re.search(rule, password)]
    if missing:
        raise BadRequest(f"{field} is too weak: it needs " + ", ".join(missing))
