"""Access tokens (HS256 JWTs), opaque secrets and their hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from server.http.errors import Unauthorized

ALGORITHM = "HS256"
API_KEY_PREFIX = "upk_"


def issue_jwt(secret: str, *, subject: int, purpose: str, ttl: timedelta, **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {"sub": str(subject), "typ": purpose, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_jwt(secret: str, token: str, *, purpose: str) -> dict[str, Any]:
    """Claims of a valid token of this purpose; 401 for anything else.

    Only HS256 is accepted, which rejects `alg: none` and algorithm confusion
    (RFC 8725 section 3.1).
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Invalid token") from exc
    if claims.get("typ") != purpose:
        raise Unauthorized("Invalid token")
    return claims


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy random secret; enough since these are not passwords."""
    return hashlib.sha256(value.encode()).hexdigest()


def masked(last_four: str, prefix: str = "") -> str:
    return f"{prefix}****{last_four}"
