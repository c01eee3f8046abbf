"""HMAC-SHA256 signatures of generic webhooks, with a timestamp so that a captured request cannot
be replayed later. The same scheme Slack and Stripe use:

    X-Leadsync-Timestamp: 1765000000                  (Unix seconds when it was sent)
    X-Leadsync-Signature: v1=<hex HMAC-SHA256(secret, "1765000000." + raw body)>

A receiver recomputes the signature over the raw body and refuses a timestamp more than
``TOLERANCE_S`` away from its clock.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "TOLERANCE_S", "sign", "verify"]

SIGNATURE_HEADER = "X-Leadsync-Signature"
TIMESTAMP_HEADER = "X-Leadsync-Timestamp"
TOLERANCE_S = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(
    secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why the request's signature fails (a short reason), or None when it holds."""
    if not timestamp or not signature:
        return "missing signature or timestamp header"
    try:
        ts = int(timestamp)
    except ValueError:
        return "timestamp is not Unix seconds"
    if abs(now - ts) > TOLERANCE_S:
        return "timestamp too far from now"
    if not hmac.compare_digest(sign(secret, ts, body), signature.strip()):
        return "signature mismatch"
    return None
