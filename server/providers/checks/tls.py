"""Certificate expiry from a live TLS connection, and TLS failures in words.

The expiry is read from the DER form of the peer certificate: `getpeercert()` returns {} when
verification is off (Python docs, ssl.SSLSocket.getpeercert), the binary form is always there.
"""

from __future__ import annotations

import ssl
from datetime import datetime
from typing import Any

from cryptography import x509


def expiry_from_der(der: bytes) -> datetime:
    """notAfter of a DER certificate, UTC aware."""
    return x509.load_der_x509_certificate(der).not_valid_after_utc


def peer_certificate_expiry(ssl_object: Any) -> datetime | None:
    """notAfter of the peer's certificate on an open `ssl.SSLObject`/`SSLSocket`, or None.

    Works only while the connection is open: after close the object has no peer certificate.
    """
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    try:
        der = ssl_object.getpeercert(binary_form=True)
    except (ValueError, OSError):  # handshake not done or connection already closed
        return None
    return expiry_from_der(der) if der else None


def describe_tls_error(exc: BaseException) -> str | None:
    """A TLS failure found in the exception chain, in words, or None if there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = current.verify_message or current.reason or str(current)
            return f"TLS certificate verification failed: {reason}"
        if isinstance(current, ssl.SSLError):
            return f"TLS error: {current.reason or current}"
        current = current.__cause__ or current.__context__
    return None
