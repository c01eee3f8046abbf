"""HubSpot error responses → leadsync's connector errors, decided in this one place.

    401                          AuthError        the token is wrong, expired or revoked
    403                          AuthError        names the missing scopes (category MISSING_SCOPES)
    429 policyName DAILY         QuotaExhausted   resume_at = next midnight in the account's zone
    429 TEN_SECONDLY_ROLLING     RateLimited      retry_after = until our window frees a slot
    429 SECONDLY (search)        RateLimited      retry_after = until the search window frees a slot
    423 Locked / 477 Migrating   TransientError   retry_after = 2 s / Retry-After
    5xx, status 0, connection    TransientError   the retry policy's backoff
    other 4xx                    CrmError         with url, status and HubSpot's body

A create (``resend=False``) that ends in a 5xx, status 0 or a dropped connection is ``MaybeSent``
instead: HubSpot may have carried it out, so it is not sent again blindly.

Sources: https://developers.hubspot.com/docs/api-reference/error-handling and the usage
guidelines (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
The retry-after values for 429s are computed by the client, which knows the rate windows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadsync.api import JSON, AuthError, CrmError, QuotaExhausted, RateLimited, TransientError, json_object

__all__ = [
    "MaybeSent",
    "error_for",
    "maybe_carried_out",
    "missing_scopes",
    "parse_float",
]


class MaybeSent(CrmError):
    """A call that is not safe to repeat failed where HubSpot may have carried it out."""


def maybe_carried_out(error: CrmError) -> bool:
    """Whether HubSpot may have done what a call asked although it failed: a 5xx (its gateway
    may time out after the work), status 0 or no answer at all. A 423 or 477 refused it."""
    return isinstance(error, TransientError) and (error.status in (None, 0) or (error.status or 0) >= 500)


def missing_scopes(body: JSON) -> list[str]:
    """The scopes a 403 MISSING_SCOPES body asks for (``requiredGranularScopes``, ``requiredScopes``)."""
    found: list[str] = []
    contexts = [body.get("context") or {}] + [
        (e or {}).get("context") or {} for e in body.get("errors") or []
    ]
    for ctx in contexts:
        for key in ("requiredGranularScopes", "requiredScopes", "requiredAllScopes"):
            value = ctx.get(key) if isinstance(ctx, dict) else None
            for scope in value if isinstance(value, list) else [value] if value else []:
                if str(scope) not in found:
                    found.append(str(scope))
    return found


def error_for(
    status: int,
    body: str,
    method: str,
    url: str,
    *,
    retry_after: float | None = None,
    resume_at: datetime | None = None,
) -> CrmError:
    """The connector error for a HubSpot status and body (see the table in the module docstring)."""
    data = json_object(body)
    message = str(data.get("message") or body[:300] or "no message")
    where = f"{method} {url}"
    kw: dict[str, Any] = {"status": status, "url": url, "body": body}
    if status == 401:
        text = f"HubSpot rejected the token (401) on {where}: the service key or private-app token is wrong, "
        return AuthError(text + f"expired or revoked. HubSpot says: {message}", **kw)
    if status == 403:
        scopes = missing_scopes(data)
        if scopes or data.get("category") == "MISSING_SCOPES":
            named = ", ".join(scopes) or "(HubSpot did not name them)"
            text = f"the HubSpot token lacks the scope(s) {named} needed for {where}; add them to the key"
            return AuthError(text, **kw)
        return AuthError(f"HubSpot refused {where} (403): {message}", **kw)
    if status == 429:
        if data.get("policyName") == "DAILY":
            text = f"HubSpot's daily API quota is used up ({where}); leadsync resumes at {resume_at}"
            return QuotaExhausted(text, resume_at=resume_at, **kw)
        return RateLimited(f"HubSpot rate limit on {where}: {message}", retry_after=retry_after, **kw)
    if status == 423:
        return TransientError(f"HubSpot locked the records of {where}: {message}", retry_after=2.0, **kw)
    if status == 477:
        return TransientError(
            f"HubSpot is migrating the account ({where})", retry_after=retry_after or 5.0, **kw
        )
    if status == 0 or status >= 500:
        return TransientError(
            f"HubSpot failed on {where} ({status}): {message}", retry_after=retry_after, **kw
        )
    return CrmError(f"HubSpot refused {where} ({status}): {message}", **kw)


def parse_float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
