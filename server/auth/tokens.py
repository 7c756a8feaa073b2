"""Access tokens (HS256 JWTs), opaque secrets and their hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
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


# Tokens whose signature was checked, with their claims: a client sends the same access
# token with every request until it expires, and checking it again (base64, two JSON
# documents, an HMAC, the claim rules) cost about a twentieth of a list request. The key is
# the whole token and the secret that verified it, so only a token once found valid, byte
# for byte, skips the check; its expiry is still checked every time.
_VERIFIED: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_VERIFIED_MAX = 4096


def decode_jwt(secret: str, token: str, *, purpose: str) -> dict[str, Any]:
    """Claims of a valid token of this purpose; 401 for anything else.

    Only HS256 is accepted, which rejects `alg: none` and algorithm confusion
    (RFC 8725 section 3.1).
    """
    known = _VERIFIED.get((secret, token))
    if known is not None and known["exp"] > time.time() and known.get("typ") == purpose:
        return dict(known)
    claims = _verify(secret, token, purpose)
    _VERIFIED[(secret, token)] = claims
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)  # the oldest first
    return dict(claims)


def _verify(secret: str, token: str, purpose: str) -> dict[str, Any]:
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
