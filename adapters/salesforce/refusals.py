"""Salesforce refusals whose cause is the org's setup, not the record (``RefusalCause``).

From a collection item's ``errors`` (or a Bulk API 2.0 ``sf__Error`` cell, ``CODE:message:fields``):

- ``INVALID_FIELD`` / "No such column 'X' on sobject" (the field does not exist, or the user
  cannot see it: ``leadsync setup`` creates leadsync's fields and the permission set granting them)
  → ``missing_field`` naming the field;
- ``INVALID_FIELD_FOR_INSERT_UPDATE`` (the field is read-only for the user's profile or permission
  sets) → ``missing_scope`` naming the permission to grant. ``INSUFFICIENT_ACCESS_OR_READONLY``
  and ``INSUFFICIENT_ACCESS`` are not: Salesforce gives them for one record the user's sharing
  does not reach as well as for an object the profile cannot edit, and one unshared record must
  not stop every run. They stay dead letters of their own, counted by cause in ``leadsync status``;
- ``INVALID_CROSS_REFERENCE_KEY`` on ``OwnerId``, ``INACTIVE_OWNER_OR_USER`` → ``unknown_owner``
  naming the owner id sent.

https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadsync.api import JSON, RefusalCause

__all__ = ["Cause", "item_cause", "text_cause"]

Cause = tuple[RefusalCause, str]
_NO_COLUMN = re.compile(r"No such column '([^']+)'")


def item_cause(item: JSON, sobject: str, values: Mapping[str, Any]) -> Cause | None:
    """The setup cause of a refused collection item, if it has one."""
    for e in item.get("errors") or []:
        fields = [str(f) for f in e.get("fields") or []]
        found = _cause(str(e.get("statusCode") or ""), str(e.get("message") or ""), fields, sobject, values)
        if found is not None:
            return found
    return None


def text_cause(text: str, sobject: str, values: Mapping[str, Any]) -> Cause | None:
    """The setup cause in an error text (a Bulk API 2.0 ``sf__Error``: ``CODE:message:fields``)."""
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    names = [f for f in fields.split(",") if f and f != "--"]
    return _cause(code.strip(), message or rest, names, sobject, values)


def _cause(
    code: str, message: str, fields: list[str], sobject: str, values: Mapping[str, Any]
) -> Cause | None:
    if code == "INVALID_FIELD" or (code == "REQUEST_REFUSED" and "INVALID_FIELD" in message):
        named = _NO_COLUMN.search(message)
        name = named.group(1) if named else ", ".join(fields)
        return (RefusalCause.MISSING_FIELD, f"{sobject}.{name}") if name else None
    if code == "INVALID_FIELD_FOR_INSERT_UPDATE":
        names = ", ".join(f"{sobject}.{f}" for f in fields) or sobject
        return RefusalCause.MISSING_SCOPE, f"edit access to {names}"
    owner = values.get("OwnerId")
    cross_ref = code == "INVALID_CROSS_REFERENCE_KEY" and "OwnerId" in fields
    bad_owner = code == "INACTIVE_OWNER_OR_USER" or cross_ref
    if owner and bad_owner:
        return RefusalCause.UNKNOWN_OWNER, str(owner)
    return None
