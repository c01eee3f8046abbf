"""The sandbox's portal in memory: records, history, associations, owners, and HubSpot's write rules
(the endpoints that read and write them are ``objects``' and ``links``').

Every public method takes the one lock, so the HTTP server's threads see consistent state. The
rules kept here, each as HubSpot documents or behaves:

- ``lifecyclestage`` only moves forward in the options' order; a backward value is silently kept
  as it was unless the stage is first cleared with ``""``
  (https://developers.hubspot.com/docs/api/crm/contacts);
- a write that changes a value records history (``sourceType: INTEGRATION``) and bumps
  ``lastmodifieddate`` (``hs_lastmodifieddate`` on engagements); an unchanged value does neither.

Values change through the store only (or are reported to ``touched``): the search's sorted
indexes (``index``) follow every change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from leadsync.sandboxes.hubspot.common import (
    JSON,
    ApiError,
    Record,
    iso_from_ms,
    ms_from_datetime,
    validation_error,
)
from leadsync.sandboxes.hubspot.index import Indexes
from leadsync.sandboxes.hubspot.schema import OBJECT_TYPES, Schema

__all__ = ["CONTACT_TO", "ENGAGEMENT_TYPES", "REJECT_FLAG", "TO_CONTACT", "Store", "record_error"]

ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
# HUBSPOT_DEFINED association type ids, contact → engagement and engagement → contact.
CONTACT_TO = {"calls": 193, "emails": 197, "meetings": 199, "notes": 201, "tasks": 203}
TO_CONTACT = {"calls": 194, "emails": 198, "meetings": 200, "notes": 202, "tasks": 204}
_DEFAULTS = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "engagement": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
_ALWAYS = {"contacts": ("createdate", "hs_object_id", "lastmodifieddate")}
REJECT_FLAG = "sandbox_reject_writes"


def _stamps(otype: str) -> tuple[str, str]:
    return (
        ("createdate", "lastmodifieddate")
        if otype == "contacts"
        else ("hs_createdate", "hs_lastmodifieddate")
    )


def record_error(category: str, message: str, ids: list[str], sub: str | None = None) -> JSON:
    err: JSON = {"status": "error", "category": category, "message": message, "context": {"ids": ids}}
    err.update(errors=[], links={})
    if sub:
        err["subCategory"] = sub
    return err


class Store:
    """One portal: object records by type, associations, owners and the property schema."""

    def __init__(self, clock: Callable[[], datetime], portal_id: int = 24_000_001) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.portal_id = portal_id
        self.schema = Schema(self.now_ms())
        self.records: dict[str, dict[int, Record]] = {t: {} for t in OBJECT_TYPES}
        self.owners: dict[str, JSON] = {}
        # contact id → type → linked ids, and the reverse (type, id) → contact ids
        self.links: dict[int, dict[str, list[int]]] = {}
        self.back: dict[tuple[str, int], set[int]] = {}
        self._next = {"contacts": 1001, "engagement": 90_000_001}
        self.indexes = Indexes()
        self.unindexed: dict[str, set[int]] = {}  # type → ids search leaves out (index lag)
        # (type, unique-value property) → value → the record holding it, built when first asked
        self._unique: dict[tuple[str, str], dict[str, int]] = {}

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock())

    # -- building (seeding and the Python API) -------------------------------------------------

    def add(self, otype: str, values: dict[str, str], created_ms: int, source: str = "IMPORT") -> Record:
        """Create a record as if imported at ``created_ms``; values are taken as given."""
        with self.lock:
            key = "contacts" if otype == "contacts" else "engagement"
            rid = self._next[key]
            self._next[key] += 1
            rec = Record(rid, otype, {})
            created, modified = _stamps(otype)
            stamp = iso_from_ms(created_ms)
            base = {"hs_object_id": str(rid), created: stamp, modified: stamp}
            if otype == "contacts" and values.get("lifecyclestage"):
                base[f"hs_lifecyclestage_{values['lifecyclestage']}_date"] = stamp
            for name, value in {**base, **values}.items():
                if value != "":
                    rec.properties[name] = value
                    rec.history[name] = [{"value": value, "timestamp": stamp, "sourceType": source}]
            self.records[otype][rid] = rec
            self.indexes.added(rec)
            return rec

    def touched(self, rec: Record, *names: str) -> None:
        """``rec``'s values for ``names`` were changed in place, not through the store."""
        with self.lock:
            for name in names:
                self.indexes.changed(rec, name)

    def _put(self, rec: Record, name: str, value: str, stamp: str, source: str, source_id: str = "") -> None:
        held = self._unique.get((rec.otype, name))
        if held is not None:
            old = rec.properties.get(name, "")
            if old and held.get(old.casefold()) == rec.id:
                del held[old.casefold()]
            if value:
                held[value.casefold()] = rec.id
        rec.properties[name] = value
        entry: JSON = {"value": value, "timestamp": stamp, "sourceType": source}
        if source_id:
            entry["sourceId"] = source_id
        rec.history.setdefault(name, []).insert(0, entry)
        self.indexes.changed(rec, name)

    def set_values(
        self, rec: Record, values: dict[str, str], ts_ms: int, source: str, source_id: str = ""
    ) -> bool:
        """Apply already-validated values with HubSpot's rules; True if anything changed."""
        with self.lock:
            stamp = iso_from_ms(ts_ms)
            changed = False
            for name, value in values.items():
                current = rec.properties.get(name, "")
                if name == "lifecyclestage" and rec.otype == "contacts" and value:
                    order = self.schema.get("contacts", "lifecyclestage").option_values()
                    if current in order and value in order and order.index(value) < order.index(current):
                        continue  # backward: HubSpot keeps the current stage and reports no error
                    if value != current:
                        self._became(rec, value, order, stamp)
                if value != current:
                    self._put(rec, name, value, stamp, source, source_id)
                    changed = True
            if changed:
                self._put(rec, _stamps(rec.otype)[1], stamp, stamp, "CALCULATED")
            return changed

    def _became(self, rec: Record, stage: str, order: list[str], stamp: str) -> None:
        """Set "Became a <stage> Date"; entering an earlier stage clears the later stages' dates."""
        props = self.schema.props["contacts"]
        later = order[order.index(stage) + 1 :] if stage in order else []
        for name in [f"hs_lifecyclestage_{s}_date" for s in later]:
            if rec.properties.get(name):
                self._put(rec, name, "", stamp, "CALCULATED")
        if f"hs_lifecyclestage_{stage}_date" in props:
            self._put(rec, f"hs_lifecyclestage_{stage}_date", stamp, stamp, "CALCULATED")

    def link(self, contact_id: int, otype: str, oid: int) -> None:
        """Associate an engagement with a contact. Like HubSpot, logging it moves the contact's
        "Last Activity Date" (``notes_last_updated``) and so its ``lastmodifieddate``."""
        with self.lock:
            self.links.setdefault(contact_id, {}).setdefault(otype, []).append(oid)
            self.back.setdefault((otype, oid), set()).add(contact_id)
            contact = self.records["contacts"].get(contact_id)
            engagement = self.records.get(otype, {}).get(oid)
            if contact is None or engagement is None:
                return
            # Every stamp here is iso_from_ms's fixed format, so text order is time order.
            logged = engagement.properties[_stamps(otype)[0]]
            if logged > contact.properties.get("notes_last_updated", ""):
                self._put(contact, "notes_last_updated", logged, logged, "CALCULATED")
                modified = _stamps("contacts")[1]
                if logged > contact.properties[modified]:
                    self._put(contact, modified, logged, logged, "CALCULATED")

    def add_owner(self, owner: JSON) -> None:
        with self.lock:
            self.owners[str(owner["id"])] = owner

    # -- formatting ----------------------------------------------------------------------------

    def formatted(self, rec: Record, names: list[str], history: list[str] | None = None) -> JSON:
        props = self.schema.props[rec.otype]
        group = "contacts" if rec.otype == "contacts" else "engagement"
        wanted = [n for n in names if n in props] if names else list(_DEFAULTS[group])
        wanted += [n for n in _ALWAYS.get(rec.otype, _DEFAULTS["engagement"]) if n not in wanted]
        created, modified = _stamps(rec.otype)
        out: JSON = {
            "id": str(rec.id),
            "properties": {n: rec.properties.get(n) for n in wanted},
            "createdAt": rec.properties[created],
            "updatedAt": rec.properties[modified],
            "archived": False,
        }
        if history:
            out["propertiesWithHistory"] = {
                n: [dict(e) for e in rec.history.get(n, [])] for n in history if n in props
            }
        return out

    def batch_body(self, results: list[JSON], errors: list[JSON], started: int) -> tuple[int, JSON]:
        body: JSON = {"status": "COMPLETE", "results": results}
        body.update(requestedAt=iso_from_ms(started), startedAt=iso_from_ms(started))
        body["completedAt"] = iso_from_ms(self.now_ms())
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return (207 if errors else 200), body

    # -- lookups -------------------------------------------------------------------------------

    def table(self, otype: str) -> dict[int, Record]:
        if otype not in self.records:
            raise ApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {otype}")
        return self.records[otype]

    def find(self, otype: str, ident: str, id_property: str | None = None) -> Record | None:
        table = self.table(otype)
        if not id_property or id_property == "hs_object_id":
            return table.get(int(ident)) if str(ident).isdigit() else None
        if id_property not in self.schema.props[otype]:
            raise validation_error(f"Property {id_property} does not exist and cannot be used as idProperty")
        needle = str(ident).casefold()
        return next(
            (r for r in table.values() if r.properties.get(id_property, "").casefold() == needle), None
        )

    def unique_clash(self, otype: str, values: dict[str, str], rec: Record | None = None) -> str | None:
        """Why ``values`` cannot be set (on ``rec``, or on a new record): a unique-value property's
        value another record of the type already holds (compared as HubSpot does, ignoring case)."""
        for name, value in values.items():
            prop = self.schema.props[otype].get(name)
            if not value or prop is None or not prop.unique:
                continue
            held = self._unique.get((otype, name))
            if held is None:
                held = self._unique[(otype, name)] = {
                    r.properties[name].casefold(): r.id
                    for r in self.table(otype).values()
                    if r.properties.get(name)
                }
            other = held.get(value.casefold())
            if other is not None and (rec is None or other != rec.id):
                kind = otype[:-1].capitalize()
                return f"{kind} with {name} {value!r} already exists. Existing ID: {other}"
        return None

    def contacts_of(self, rec: Record, kind: str) -> set[str]:
        if kind not in ("contact", "contacts"):
            return set()
        return {str(c) for c in self.back.get((rec.otype, rec.id), ())}

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def inputs(body: Any, maximum: int) -> list[JSON]:
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise validation_error("The request body must be an object with an 'inputs' list")
        inputs = body["inputs"]
        if len(inputs) > maximum:
            raise validation_error(f"Too many inputs: {len(inputs)}. The maximum batch size is {maximum}.")
        if not all(isinstance(i, dict) for i in inputs):
            raise validation_error("Each input must be an object")
        return list(inputs)
