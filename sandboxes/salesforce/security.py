"""Field-level security in the Salesforce sandbox: which fields a user may read and edit.

A custom field made through the Tooling API is visible to nobody (not in describe, ``INVALID_FIELD``
in SOQL and on write) until a ``FieldPermissions`` row grants it on a ``PermissionSet`` assigned
to the user by a ``PermissionSetAssignment``; Salesforce grants no profile access to a field made
by the API (https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_customfield.htm).
Fields that existed before (standard fields, the admin's BANT fields) come with the profile's
access, which the back door can narrow (``read``: describe says not updateable, a write is
``INVALID_FIELD_FOR_INSERT_UPDATE``; ``none``: hidden) or widen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leadsync.sandboxes.salesforce.schema import FieldDef, ObjectDef

__all__ = ["ACCESS", "FieldAccess"]

ACCESS = ("none", "read", "edit")
Record = dict[str, Any]


class FieldAccess:
    """Profile access per field, plus what permission sets grant; ``enforce=False`` shows all."""

    def __init__(self, enforce: bool = True) -> None:
        self.enforce = enforce
        self.profile: dict[tuple[str, str], str] = {}  # (object, field lower) → none | read | edit

    def set_profile(self, obj: str, field: str, access: str | None) -> None:
        if access is None:
            self.profile.pop((obj, field.lower()), None)
        elif access not in ACCESS:
            raise ValueError(f"access must be one of {ACCESS}, not {access!r}")
        else:
            self.profile[(obj, field.lower())] = access

    def grants(
        self, user_id: str, assignments: Iterable[Record], permissions: Iterable[Record]
    ) -> dict[str, str]:
        """``"Lead.Field__c"`` (lower case) → the best access the user's permission sets give."""
        sets = {
            a["PermissionSetId"] for a in assignments if a["AssigneeId"] == user_id and not a.get("IsDeleted")
        }
        out: dict[str, str] = {}
        for p in permissions:
            if p.get("IsDeleted") or p["ParentId"] not in sets:
                continue
            level = "edit" if p.get("PermissionsEdit") else "read" if p.get("PermissionsRead") else "none"
            key = str(p["Field"]).lower()
            if ACCESS.index(level) > ACCESS.index(out.get(key, "none")):
                out[key] = level
        return out

    def level(self, obj: ObjectDef, f: FieldDef, grants: dict[str, str]) -> str:
        """``none``, ``read`` or ``edit`` for one field (edit only where the field is writable at all)."""
        if f.type in ("id",) or f.required or f.system:
            return "edit" if not f.system else "read"
        base = self.profile.get((obj.name, f.name.lower()))
        if base is None:
            base = "none" if f.fls and self.enforce else "edit"
        granted = grants.get(f"{obj.name}.{f.name}".lower(), "none")
        return base if ACCESS.index(base) >= ACCESS.index(granted) else granted
