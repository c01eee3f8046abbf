"""The Zoho sandbox's org in memory: users, records per module, the recycle bin, record locks and a
log of every API write (with the ``trigger`` it was sent with).

Records keep Python values (datetimes, user and record ids); ``render`` turns one into Zoho's JSON:
owners and lookups as ``{"name", "id"}``, datetimes in the org's offset at second precision.
One re-entrant lock guards it all; the HTTP handlers run under it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from leadsync.sandboxes.zoho.common import JSON, IdMaker, render_time
from leadsync.sandboxes.zoho.schema import Module

__all__ = ["Org", "Record", "WriteLog"]

Record = dict[str, Any]


@dataclass
class WriteLog:
    """One API write: which records, and whether workflows fired (``trigger`` absent or naming them)."""

    method: str
    module: str
    ids: list[str]
    trigger: list[str] | None  # None: the body had no "trigger" key
    at: datetime

    @property
    def workflows(self) -> bool:
        return self.trigger is None or "workflow" in self.trigger

    def json(self) -> JSON:
        return {
            "method": self.method,
            "module": self.module,
            "ids": self.ids,
            "trigger": self.trigger,
            "workflows": self.workflows,
            "at": self.at.isoformat(),
        }


@dataclass
class Org:
    clock: Callable[[], datetime]
    tz: timezone
    modules: dict[str, Module]
    ids: IdMaker
    name: str = "Leadsync Demo"
    org_id: str = ""
    api_user: str = ""  # whose refresh token the sandbox hands out
    users: dict[str, Record] = field(default_factory=dict)
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    deleted: list[Record] = field(default_factory=list)
    locked: set[str] = field(default_factory=set)
    writes: list[WriteLog] = field(default_factory=list)
    workflow_rules: list[tuple[str, str, Any]] = field(default_factory=list)  # module, field, value
    validation_rules: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → field, alert
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        for name in self.modules:
            self.records.setdefault(name, {})

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def time(self, value: datetime | None) -> str | None:
        return render_time(value, self.tz) if value is not None else None

    # -- users and names -----------------------------------------------------------------------

    def user_name(self, uid: str) -> str:
        u = self.users[uid]
        return f"{u['first_name']} {u['last_name']}".strip()

    def minified(self, uid: str | None, email: bool = True) -> JSON | None:
        if uid is None or uid not in self.users:
            return None
        out: JSON = {"name": self.user_name(uid), "id": uid}
        if email:
            out["email"] = self.users[uid]["email"]
        return out

    def active(self, uid: str) -> bool:
        u = self.users.get(uid)
        return u is not None and u["status"] == "active" and bool(u["confirm"])

    def find(self, rid: str) -> tuple[str, Record] | None:
        for name, rows in self.records.items():
            if rid in rows:
                return name, rows[rid]
        return None

    def display(self, module: str, rec: Record) -> str:
        mod = self.modules[module]
        if mod.display == "Full_Name":
            return f"{rec.get('First_Name') or ''} {rec.get('Last_Name') or ''}".strip()
        return str(rec.get(mod.display) or "")

    def lookup(self, module: str | None, rid: str | None) -> JSON | None:
        if not rid:
            return None
        found = self.records.get(module or "", {}).get(rid)
        return {"name": self.display(module or "", found) if found else None, "id": rid}

    # -- rendering -----------------------------------------------------------------------------

    def render(self, module: str, rec: Record, fields: list[str] | None = None) -> JSON:
        """A record as Zoho answers it: ``fields`` (and ``id``), or every field."""
        mod = self.modules[module]
        names = fields if fields is not None else list(mod.fields)
        out: JSON = {}
        for name in names:
            f = mod.fields.get(name)
            if f is None:
                continue
            value = rec.get(name)
            if name == "Full_Name":
                value = self.display(module, rec) if mod.display == "Full_Name" else value
            elif f.data_type == "ownerlookup":
                value = self.minified(value, email=name == "Owner")
            elif f.data_type == "datetime":
                value = self.time(value)
            elif f.data_type == "lookup":
                target = f.lookup or rec.get("$se_module")
                value = self.lookup(target, value)
                if value is not None and name == "Parent_Id":
                    value["module"] = {"api_name": target, "id": self.modules[str(target)].id}
            out[name] = value
        if any(f.lookup == "" for f in mod.fields.values()):
            out["$se_module"] = rec.get("$se_module")
        if module == "Leads":
            out["$converted"] = bool(rec.get("Converted__s"))
            if rec.get("Converted__s"):
                out["$converted_detail"] = self.converted_detail(rec)
        out["id"] = rec["id"]
        return out

    def converted_detail(self, lead: Record) -> JSON:
        """``$converted_detail`` of a converted lead: whom it became (the contact and account
        ``convert_lead`` made; none for a lead the seed marked converted)."""
        made = lead.get("$converted_to") or {}
        return {
            "converted_by": self.minified(made.get("by"), email=False),
            "converted_date_time": self.time(lead.get("Converted_Date_Time")),
            "contact": self.lookup("Contacts", made.get("contact")),
            "account": self.lookup("Accounts", made.get("account")),
            "deal": None,
        }

    # -- changes -------------------------------------------------------------------------------

    def insert(self, module: str, values: Record, by: str, at: datetime | None = None) -> Record:
        at = at or self.now()
        rec: Record = {name: None for name in self.modules[module].fields}
        rec.update(values)
        rec.update(id=self.ids(), Created_Time=at, Modified_Time=at, Created_By=by, Modified_By=by)
        rec["Owner"] = rec.get("Owner") or by
        if module == "Leads":
            rec["Converted__s"] = bool(rec.get("Converted__s"))
        self.records[module][rec["id"]] = rec
        return rec

    def save(self, module: str, rec: Record, values: Record, by: str, at: datetime | None = None) -> None:
        """An edit: the values, then ``Modified_Time`` and ``Modified_By`` move (on every update)."""
        rec.update(values)
        rec.update(Modified_Time=at or self.now(), Modified_By=by)

    def run_workflows(self, module: str, rec: Record) -> None:
        """The org's emulated workflow rules: a field update when a record is saved with triggers on."""
        for rule_module, name, value in self.workflow_rules:
            if rule_module == module:
                rec[name] = value

    def delete(self, module: str, rec: Record, by: str, permanent: bool = False) -> Record:
        del self.records[module][rec["id"]]
        self.locked.discard(rec["id"])
        entry: Record = {
            "module": module,
            "id": rec["id"],
            "display_name": self.display(module, rec),
            "type": "permanent" if permanent else "recycle",
            "created_by": rec["Created_By"],
            "deleted_by": by,
            "deleted_time": self.now(),
        }
        self.deleted.append(entry)
        return entry

    def unique_clash(self, module: str, name: str, value: Any, rid: str | None) -> Record | None:
        f = self.modules[module].fields[name]
        if value is None or value == "":
            return None

        def norm(v: Any) -> Any:
            return v if f.case_sensitive or not isinstance(v, str) else v.casefold()

        for other in self.records[module].values():
            if other["id"] != rid and other.get(name) is not None and norm(other[name]) == norm(value):
                return other
        return None
