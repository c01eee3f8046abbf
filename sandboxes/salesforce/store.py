"""The Salesforce sandbox's org in memory: records by sObject, what Salesforce derives from them,
roll-ups, deletes and the delete log. One re-entrant lock; every public method takes it.

What the org does on its own, as Salesforce does:

- every save stamps ``LastModifiedDate``/``LastModifiedById``/``SystemModstamp``; automation
  (``touch``) moves ``SystemModstamp`` only;
- ``Name`` on Lead/Contact/User follows first and last name; a Task is closed when its status is
  Completed (``IsClosed``, ``CompletedDateTime``); an Event's date fields follow its start; a
  campaign member has responded when its status is a responded one for its campaign;
- a Task or Event logged on a lead or contact rolls up into its ``LastActivityDate`` and moves its
  ``SystemModstamp``, and so does a campaign membership;
- a save of a tracked field that changed, a new record and a conversion add field history
  (``history`` says which rows; the org adds them and keeps which fields are tracked);
- a delete sets ``IsDeleted`` (``queryAll`` still sees the row), takes the lead's or contact's
  activities, memberships and field history along, and is logged for ``sobjects/{type}/deleted``
  for 15 days.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from leadsync.sandboxes.salesforce.common import KEY_PREFIXES, IdFactory, full_id, valid_id
from leadsync.sandboxes.salesforce.history import (
    DEFAULT_TRACKED,
    HISTORY,
    MAX_TRACKED,
    change_rows,
    event_row,
    history_of,
    too_many_tracked,
)
from leadsync.sandboxes.salesforce.schema import ObjectDef, Schema
from leadsync.sandboxes.salesforce.security import FieldAccess

__all__ = ["DELETE_LOG_DAYS", "PARENT_KEYS", "Org", "Record"]

Record = dict[str, Any]
DELETE_LOG_DAYS = 15
_PREFIX_TYPES = {  # key prefix → the sObjects with it (every history object's is 017)
    prefix: tuple(name for name, p in KEY_PREFIXES.items() if p == prefix) for prefix in KEY_PREFIXES.values()
}
_ACTIVITY = ("Task", "Event")
_CHILDREN = ("Task", "Event", "CampaignMember")
PARENT_KEYS = {"Task": ("WhoId",), "Event": ("WhoId",), "CampaignMember": ("LeadId", "ContactId")}
PARENT_KEYS.update({hist: (link,) for hist, link in HISTORY.values()})


class Org:
    """One org: its schema, records, users' field access and the switches the back door turns."""

    def __init__(self, clock: Callable[[], datetime], schema: Schema, *, fls: bool = True) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.schema = schema
        self.ids = IdFactory()
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in schema.objects}
        self.access = FieldAccess(enforce=fls)
        self.deleted_log: dict[str, list[tuple[str, datetime]]] = {}
        self.purged_until: dict[str, datetime] = {}  # delete log emptied up to here (earliestDateAvailable)
        self.created = clock()
        self.org_id = ""
        self.api_user = ""  # the integration user every token of the connected app runs as
        self.admin_user = ""  # a human: back-door edits and conversions are theirs
        self.assignment_owner: str | None = None  # the active Lead assignment rule's queue or user
        self.assignment_rule = ""
        self.rejected: set[str] = set()  # a validation rule refuses API writes to these
        self.locked: set[str] = set()
        self.lock_next = 0
        self.allow_metadata = True  # the API user has "Customize Application"
        self.children: dict[str, set[str]] = {}  # lead/contact id → its activities, memberships, history
        # object → the fields whose changes it records (at most 20), as Salesforce's admin set them
        self.tracked: dict[str, list[str]] = {
            name: list(fields) for name, fields in DEFAULT_TRACKED.items() if name in schema.objects
        }

    def now(self) -> datetime:
        # Salesforce keeps datetimes to the second (the API shows ``.000``): so does the sandbox.
        return self.clock().replace(microsecond=0)

    # -- lookups -------------------------------------------------------------------------------

    def obj(self, name: str) -> ObjectDef:
        found = self.schema.get(name) or self.schema.get(name, tooling=True)
        if found is None:
            raise KeyError(name)
        return found

    def table(self, otype: str) -> dict[str, Record]:
        return self.tables[self.obj(otype).name]

    def find(self, rid: Any) -> tuple[str, Record] | None:
        """The record with this id (15 or 18 characters, any case for 18), of whatever type."""
        if not valid_id(rid):
            return None
        rid = full_id(rid)
        for otype in _PREFIX_TYPES.get(rid[:3], ()):
            rec = self.tables.get(otype, {}).get(rid)
            if rec is not None:
                return otype, rec
        return None

    def get(self, otype: str, rid: Any) -> Record | None:
        found = self.find(rid)
        return found[1] if found and found[0] == self.obj(otype).name else None

    def rows(self, otype: str, deleted: bool = False) -> Iterator[Record]:
        return (r for r in self.table(otype).values() if deleted or not r.get("IsDeleted"))

    def user_can_own(self, rid: str) -> bool:
        found = self.find(rid)
        return found is not None and (found[0] == "Group" or bool(found[1].get("IsActive")))

    # -- building and saving -------------------------------------------------------------------

    def insert(self, otype: str, values: Record, at: datetime | None = None, by: str | None = None) -> Record:
        """A new record taken as given (defaults filled, derived fields set); no API rules."""
        with self.lock:
            obj = self.obj(otype)
            at = (at or self.now()).replace(microsecond=0)
            rec: Record = {}
            for f in obj.fields.values():
                rec[f.name] = f.default if f.default is not None else (False if f.type == "boolean" else None)
            rid = self.ids.new(obj.key_prefix)
            rec.update(values)
            rec["Id"] = rid
            for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                if name in obj.fields:
                    rec[name] = at
            for name in ("CreatedById", "LastModifiedById"):
                if name in obj.fields:
                    rec[name] = by or self.admin_user or None
            self.tables[obj.name][rid] = rec
            self.relink(obj.name, rec)
            self.derive(obj.name, rec, at)
            self.rollup(obj.name, rec, at)
            self.record_event(obj.name, rec, "created", rec.get("CreatedById"), at)
            return rec

    def save(self, otype: str, rec: Record, values: Record, by: str, at: datetime | None = None) -> None:
        """A user's save: the values, the derived fields, the stamps, the roll-ups."""
        with self.lock:
            at = (at or self.now()).replace(microsecond=0)
            before = {k: rec.get(k) for k in ("WhoId", "LeadId", "ContactId")}
            tracked = {name: rec.get(name) for name in self.tracked.get(otype, ())}
            rec.update(values)
            self.relink(otype, rec, before)
            if "LastModifiedDate" in rec:
                rec.update(LastModifiedDate=at, LastModifiedById=by)
            rec["SystemModstamp"] = at
            self.derive(otype, rec, at)
            if tracked:
                self.record_changes(otype, rec, tracked, by, at)
            self.rollup(otype, rec, at, before)

    def touch(self, rec: Record, at: datetime | None = None) -> None:
        """Automation: a workflow or roll-up moved ``SystemModstamp`` and nothing a person sees."""
        rec["SystemModstamp"] = (at or self.now()).replace(microsecond=0)

    def derive(self, otype: str, rec: Record, at: datetime) -> None:
        if otype in ("Lead", "Contact", "User"):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p) or None
        elif otype == "Task":
            closed = rec.get("Status") == "Completed"
            if closed and not rec.get("IsClosed"):
                rec["CompletedDateTime"] = at
            rec["IsClosed"] = closed
            if not closed:
                rec["CompletedDateTime"] = None
        elif otype == "Event":
            start = rec.get("StartDateTime") or rec.get("ActivityDateTime")
            if start is not None:
                rec.update(StartDateTime=start, ActivityDateTime=start, ActivityDate=start.date())
                if rec.get("EndDateTime") is None and rec.get("DurationInMinutes") is not None:
                    rec["EndDateTime"] = start + timedelta(minutes=rec["DurationInMinutes"])
                if rec.get("EndDateTime") is not None:
                    rec["DurationInMinutes"] = int((rec["EndDateTime"] - start).total_seconds() // 60)
        elif otype == "CampaignMember":
            if not rec.get("Status"):  # the campaign's default member status
                rec["Status"] = next(
                    (
                        s["Label"]
                        for s in self.rows("CampaignMemberStatus")
                        if s["CampaignId"] == rec.get("CampaignId") and s["IsDefault"]
                    ),
                    None,
                )
            responded = rec.get("Status") in self.responded_statuses(rec.get("CampaignId"))
            if responded and not rec.get("HasResponded"):
                rec["FirstRespondedDate"] = at.date()
            rec["HasResponded"] = responded

    def responded_statuses(self, campaign_id: Any) -> set[str]:
        return {
            s["Label"]
            for s in self.rows("CampaignMemberStatus")
            if s["CampaignId"] == campaign_id and s["HasResponded"]
        }

    def relink(self, otype: str, rec: Record, before: Record | None = None) -> None:
        """Keep ``children`` right after an activity's or membership's lead or contact changed."""
        for key in PARENT_KEYS.get(otype, ()):
            old, new = (before or {}).get(key), rec.get(key)
            if old != new and old:
                self.children.get(old, set()).discard(rec["Id"])
            if new:
                self.children.setdefault(new, set()).add(rec["Id"])

    def related(self, parent_id: str, otype: str) -> list[Record]:
        """The live and deleted ``otype`` records logged on a lead or contact."""
        prefix = KEY_PREFIXES[otype]
        table = self.tables[otype]
        return [
            table[i] for i in sorted(self.children.get(parent_id, ())) if i.startswith(prefix) and i in table
        ]

    def rollup(self, otype: str, rec: Record, at: datetime, before: Record | None = None) -> None:
        """A lead's or contact's activity roll-up: ``LastActivityDate`` and its ``SystemModstamp``."""
        keys: tuple[str, ...]
        if otype in _ACTIVITY:
            keys = ("WhoId",)
        elif otype == "CampaignMember":
            keys = ("LeadId", "ContactId")
        else:
            return
        ids = {rec.get(k) for k in keys} | {(before or {}).get(k) for k in keys}
        for pid in ids - {None}:
            found = self.find(pid)
            if found is None or found[0] not in ("Lead", "Contact"):
                continue
            parent = found[1]
            if otype in _ACTIVITY:
                parent["LastActivityDate"] = self.last_activity(parent["Id"], at)
            self.touch(parent, at)

    def last_activity(self, who: str, now: datetime) -> date | None:
        """The latest closed task's date or past event's date logged on ``who``."""
        dates: list[date] = []
        for t in self.related(who, "Task"):
            if t["IsClosed"] and not t["IsDeleted"]:
                done = t.get("CompletedDateTime")
                dates.append(t.get("ActivityDate") or (done.date() if done else t["CreatedDate"].date()))
        for e in self.related(who, "Event"):
            if not e["IsDeleted"] and e.get("StartDateTime") and e["StartDateTime"] <= now:
                dates.append(e["StartDateTime"].date())
        return max(dates) if dates else None

    # -- field history (what ``history`` describes) -----------------------------------------------

    def record_event(self, otype: str, rec: Record, event: str, by: str | None, at: datetime) -> None:
        """A history row that is no field's change (``created``, ``leadConverted``), when the object
        tracks any field."""
        if otype in HISTORY and self.tracked.get(otype):
            self._add_history(otype, rec, [event_row(event)], by, at)

    def record_changes(self, otype: str, rec: Record, before: Record, by: str, at: datetime) -> None:
        """History rows for each tracked field (in ``before``, with its old value) whose value changed."""
        if otype in HISTORY:
            rows = change_rows(self.obj(otype), rec, before, self._name_of)
            self._add_history(otype, rec, rows, by, at)

    def _name_of(self, rid: Any) -> Any:
        return (self.find(rid) or ("", {}))[1].get("Name")

    def _add_history(
        self, parent: str, rec: Record, rows: list[Record], by: str | None, at: datetime
    ) -> None:
        # every field of a row is set here: no need for ``insert``'s defaults (seeding is faster)
        hist, link = HISTORY[parent]
        for row in rows:
            rid = self.ids.new(self.obj(hist).key_prefix)
            self.tables[hist][rid] = {
                "Id": rid,
                "IsDeleted": False,
                link: rec["Id"],
                "CreatedById": by or self.admin_user or None,
                "CreatedDate": at.replace(microsecond=0),
                **row,
            }
            self.children.setdefault(rec["Id"], set()).add(rid)

    def set_tracked(self, otype: str, name: str, on: bool) -> bool:
        """Track (or stop tracking) ``otype.name``; False when ``otype`` keeps no history here.

        The field need not exist yet (a CustomField being created). A custom field's CustomField
        Metadata follows (``trackHistory``); a 21st tracked field is refused (``too_many_tracked``).
        """
        obj = self.obj(otype)
        if obj.name not in HISTORY:
            return False
        tracked = self.tracked.setdefault(obj.name, [])
        if on and name not in tracked:
            if len(tracked) >= MAX_TRACKED:
                raise too_many_tracked()
            tracked.append(name)
        elif not on and name in tracked:
            tracked.remove(name)
        full = f"{obj.name}.{name}".lower()
        for cf in self.rows("CustomField"):
            if str(cf.get("FullName", "")).lower() == full and isinstance(cf.get("Metadata"), dict):
                cf["Metadata"] = {**cf["Metadata"], "trackHistory": on}
        return True

    def drop_field_history(self, otype: str, name: str) -> None:
        """A custom field was deleted: no longer tracked, and its history is gone for good."""
        self.set_tracked(otype, name, False)
        hist = history_of(otype)
        if hist:
            table = self.table(hist)
            for rid in [rid for rid, row in table.items() if row.get("_field") == name]:
                del table[rid]

    # -- deletes -------------------------------------------------------------------------------

    def delete(self, otype: str, rec: Record, by: str, at: datetime | None = None) -> list[str]:
        """Soft-delete with the lead's or contact's activities, memberships and history; the ids deleted."""
        with self.lock:
            at = (at or self.now()).replace(microsecond=0)
            done = [self._delete_one(otype, rec, by, at, None)]
            hist = history_of(otype)  # a lead's or contact's
            for child_type in (*_CHILDREN, hist) if hist else ():
                for child in self.related(rec["Id"], child_type):
                    if not child["IsDeleted"]:
                        done.append(self._delete_one(child_type, child, by, at, rec["Id"]))
            self.rollup(otype, rec, at)
            return done

    def _delete_one(self, otype: str, rec: Record, by: str, at: datetime, cascade: str | None) -> str:
        rec.update(IsDeleted=True, SystemModstamp=at)
        if "LastModifiedDate" in rec:
            rec.update(LastModifiedDate=at, LastModifiedById=by)
        rec["_deleted_with"] = cascade
        self.deleted_log.setdefault(otype, []).append((rec["Id"], at))
        return str(rec["Id"])

    def undelete(self, otype: str, rec: Record, by: str) -> None:
        """Restore from the recycle bin, with what the delete took along."""
        with self.lock:
            at = self.now()
            hist = history_of(otype)
            todo = [(otype, rec)] + [
                (t, r)
                for t in ((*_CHILDREN, hist) if hist else ())
                for r in self.related(rec["Id"], t)
                if r.get("_deleted_with") == rec["Id"]
            ]
            for t, r in todo:
                r.update(IsDeleted=False, SystemModstamp=at, _deleted_with=None)
                self.deleted_log[t] = [(i, d) for i, d in self.deleted_log.get(t, []) if i != r["Id"]]
                self.rollup(t, r, at)

    def earliest_deleted(self, otype: str) -> datetime:
        """``earliestDateAvailable``: the delete log keeps 15 days, less once it was purged."""
        floor = max(self.created, self.now() - timedelta(days=DELETE_LOG_DAYS)).replace(
            second=0, microsecond=0
        )
        return max(floor, self.purged_until.get(otype, floor))

    def purge_deleted(self, otype: str | None = None, before: datetime | None = None) -> None:
        """Empty the recycle bin and delete log up to ``before`` (now): rows are gone for good."""
        with self.lock:
            before = before or self.now()
            for name in [otype] if otype else list(self.tables):
                self.purged_until[self.obj(name).name] = before
                log = self.deleted_log.get(self.obj(name).name, [])
                gone = {i for i, d in log if d <= before}
                self.deleted_log[self.obj(name).name] = [(i, d) for i, d in log if d > before]
                table = self.table(name)
                for rid in gone:
                    if table.get(rid, {}).get("IsDeleted"):
                        del table[rid]
