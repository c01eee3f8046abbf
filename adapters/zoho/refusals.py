"""Zoho refusals whose cause is the org's setup, not the record (``RefusalCause``).

- ``INVALID_DATA`` on the owner (``details.json_path`` ``$.data[i].Owner.id``, or ``api_name``
  ``Owner``: a user id Zoho does not know, or an inactive one) → ``unknown_owner`` naming the id;
- ``OAUTH_SCOPE_MISMATCH`` on a write (the refresh token lacks the module's scope) →
  ``missing_scope`` naming ``ZohoCRM.modules.<module>.ALL``.

A field Zoho does not have is not refused: Zoho ignores an api_name it does not know (the sandbox
does the same), so a missing leadsync field shows in ``leadsync check`` and ``leadsync setup``, not
as a refusal.
https://www.zoho.com/crm/developer/docs/api/v8/update-records.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadsync.api import JSON, RefusalCause

__all__ = ["Cause", "item_cause", "scope_refused"]

Cause = tuple[RefusalCause, str]


def item_cause(item: JSON, values: Mapping[str, Any]) -> Cause | None:
    """The setup cause of a refused record's ``data[]`` item (or of the writer's stand-in for a
    call refused ``OAUTH_SCOPE_MISMATCH``, whose details name the module), if it has one."""
    code = str(item.get("code") or "")
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    if code == "OAUTH_SCOPE_MISMATCH":
        module = str((details or {}).get("module") or "leads")
        return RefusalCause.MISSING_SCOPE, f"ZohoCRM.modules.{module.lower()}.ALL"
    if code != "INVALID_DATA":
        return None
    path = str((details or {}).get("json_path") or "")
    api_name = str((details or {}).get("api_name") or "")
    if path.endswith(".Owner.id") or path.endswith(".Owner") or api_name == "Owner":
        owner = values.get("Owner")
        owner_id = owner.get("id") if isinstance(owner, dict) else owner
        if owner_id:
            return RefusalCause.UNKNOWN_OWNER, str(owner_id)
    return None


def scope_refused(body: str | None) -> bool:
    """Whether a write call was refused ``OAUTH_SCOPE_MISMATCH`` (the token lacks a scope)."""
    return "OAUTH_SCOPE_MISMATCH" in (body or "")
