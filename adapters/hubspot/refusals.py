"""HubSpot refusals whose cause is the portal's setup, not the record (``RefusalCause``).

- ``400 VALIDATION_ERROR`` "Property values were not valid: [...]" lists each bad property with
  its ``error``: ``PROPERTY_DOESNT_EXIST`` (leadsync's properties are missing: ``leadsync setup``)
  → ``missing_field`` naming the properties this record sends; ``INVALID_OWNER_ID`` (an owner id
  HubSpot does not know, or an archived owner) → ``unknown_owner`` naming the id sent.
- ``403 MISSING_SCOPES`` on a write → ``missing_scope`` naming ``requiredGranularScopes``.

https://developers.hubspot.com/docs/api-reference/error-handling
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from leadsync.api import JSON, AuthError, RefusalCause, json_object

from .errors import missing_scopes

__all__ = ["Cause", "property_cause", "scope_cause"]

Cause = tuple[RefusalCause, str]
_INVALID = re.compile(r"Property values were not valid: (\[.*\])", re.DOTALL)


def _problems(body: str | JSON | None) -> list[JSON]:
    data = body if isinstance(body, dict) else json_object(body or "", keep=None)
    match = _INVALID.search(str(data.get("message") or ""))
    try:
        items = json.loads(match.group(1)) if match else []
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def property_cause(body: str | JSON | None, properties: Mapping[str, str]) -> Cause | None:
    """The setup cause of a 400 for one input that sent ``properties``, if it is one."""
    problems = _problems(body)
    missing = sorted(
        {str(p.get("name")) for p in problems if p.get("error") == "PROPERTY_DOESNT_EXIST"} & set(properties)
    )
    if missing:
        return RefusalCause.MISSING_FIELD, ", ".join(missing)
    for p in problems:
        name = str(p.get("name") or "")
        if p.get("error") == "INVALID_OWNER_ID" and properties.get(name):
            return RefusalCause.UNKNOWN_OWNER, properties[name]
    return None


def scope_cause(exc: AuthError) -> Cause | None:
    """``missing_scope`` for a 403 MISSING_SCOPES (not for a bad token: that stays an AuthError)."""
    if exc.status != 403:
        return None
    data = json_object(exc.body or "", keep=None)
    scopes = missing_scopes(data)
    if not scopes and data.get("category") != "MISSING_SCOPES":
        return None
    return RefusalCause.MISSING_SCOPE, ", ".join(scopes)
