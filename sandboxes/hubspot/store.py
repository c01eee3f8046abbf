"""The sandbox's portal in memory: records, history, associations, owners, and HubSpot's write rules.

Every public method takes the one lock, so the HTTP server's threads see consistent state. The
rules kept here, each as HubSpot documents or behaves:

- batch reads and updates take at most 100 inputs (50 with ``propertiesWithHistory``); unknown,
  read-only or out-of-options values fail the whole request (400 ``VALIDATION_ERROR``); a missing
  id or a contact flagged ``reject_writes`` fails only its own input (207 multi-status);
- ``lifecyclestage`` only moves forward in the options' order; a backward value is silently kept
  as it was unless the stage is first cleared with ``""``
  (https://developers.hubspot.com/docs/api/crm/contacts);
- a write that changes a value records history (``sourceType: INTEGRATION``) and bumps
  ``lastmodifieddate`` (``hs_lastmodifieddate`` on engagements); an unchanged value does neither.

Values change through the store only (or are reported to ``touched``): the search's sorted
indexes (``index``) follow every change.
"""

from __future__ import annotations

import json
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
from leadsync.sandboxes.hubspot.search import run_search

__all__ = ["CONTACT_TO", "ENGAGEMENT_TYPES", "REJECT_FLAG", "TO_CONTACT", "Store", "record_error"]

ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
# HUBSPOT_DEFINED association type ids, contact → engagement and engagement → contact.
CONTACT_TO = {"calls": 193, "emails": 197, "meetings": 199, "notes": 201, "tasks": 203}
TO_CONTACT = {"calls": 194, "emails": 198, "meetings": 200, "notes": 202, "tasks": 204}
BATCH_MAX, HISTORY_BATCH_MAX = 100, 50
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


def _names(raw: Any) -> list[str]:
    """Property names from a JSON list or from query values (repeated and/or comma-separated)."""
    if not raw:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [n.strip() for item in items for n in str(item).split(",") if n.strip()]


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

    def _format(self, rec: Record, names: list[str], history: list[str] | None = None) -> JSON:
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

    def _contacts_of(self, rec: Record, kind: str) -> set[str]:
        if kind not in ("contact", "contacts"):
            return set()
        return {str(c) for c in self.back.get((rec.otype, rec.id), ())}

    # -- CRM object endpoints ------------------------------------------------------------------

    def search(self, otype: str, body: Any) -> JSON:
        """One page of a search. Records ``unindexed`` holds are left out, as HubSpot's search
        leaves out a record it has not indexed yet ("it may take a few moments")."""
        with self.lock:
            table = self.table(otype)
            props = self.schema.props[otype]
            hidden = self.unindexed.get(otype)
            page = run_search(
                [r for r in table.values() if r.id not in hidden] if hidden else table.values(),
                body,
                props,
                self._contacts_of,
                None if hidden else lambda name, key: self.indexes.get(otype, name, key, table),
            )
            names = _names(body.get("properties"))
            out: JSON = {"total": page.total, "results": [self._format(r, names) for r in page.results]}
            if page.next_after is not None:
                out["paging"] = {"next": {"after": page.next_after, "link": f"?after={page.next_after}"}}
            return out

    def batch_read(self, otype: str, body: Any) -> tuple[int, JSON]:
        with self.lock:
            started = self.now_ms()
            inputs = self.inputs(body, BATCH_MAX)
            history = _names(body.get("propertiesWithHistory"))
            if history and len(inputs) > HISTORY_BATCH_MAX:
                raise validation_error(
                    f"Batch read with propertiesWithHistory is limited to {HISTORY_BATCH_MAX} inputs; "
                    f"got {len(inputs)}"
                )
            names, id_prop = _names(body.get("properties")), body.get("idProperty")
            results, missing, seen = [], [], set()
            for item in inputs:
                ident = str(item.get("id", ""))
                rec = self.find(otype, ident, id_prop)
                if rec is None:
                    missing.append(ident)
                elif rec.id not in seen:
                    seen.add(rec.id)
                    results.append(self._format(rec, names, history))
            errors = []
            if missing:
                kind = otype.upper().rstrip("S")
                message = (
                    f"Could not get some {kind} objects, they may be deleted or not exist. "
                    "Check that ids are valid."
                )
                errors.append(
                    record_error("OBJECT_NOT_FOUND", message, missing, "crm.objects.OBJECT_NOT_FOUND")
                )
            return self.batch_body(results, errors, started)

    def batch_update(self, otype: str, body: Any, actor: str) -> tuple[int, JSON]:
        with self.lock:
            started = self.now_ms()
            inputs = self.inputs(body, BATCH_MAX)
            ids = [str(i.get("id", "")) for i in inputs]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise validation_error(f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
            staged = [(i, self._checked_values(otype, i.get("properties"))) for i in inputs]
            results, errors = [], []
            for item, values in staged:
                ident = str(item.get("id", ""))
                rec = self.find(otype, ident, item.get("idProperty"))
                if rec is None:
                    errors.append(record_error("OBJECT_NOT_FOUND", f"Object {ident} not found", [ident]))
                elif rec.properties.get(REJECT_FLAG) == "true":
                    errors.append(record_error("VALIDATION_ERROR", self._reject_message(rec), [ident]))
                else:
                    self.set_values(rec, values, started, "INTEGRATION", actor)
                    results.append(self._format(rec, list(values)))
            return self.batch_body(results, errors, started)

    def get_one(self, otype: str, ident: str, query: dict[str, list[str]]) -> JSON:
        with self.lock:
            rec = self._must(otype, ident, query)
            out = self._format(
                rec, _names(query.get("properties")), _names(query.get("propertiesWithHistory"))
            )
            kinds = [k for k in _names(query.get("associations")) if k in ENGAGEMENT_TYPES]
            if kinds and otype == "contacts":
                linked = self.links.get(rec.id, {})
                out["associations"] = {
                    k: {
                        "results": [{"id": str(i), "type": f"contact_to_{k[:-1]}"} for i in linked.get(k, [])]
                    }
                    for k in kinds
                    if linked.get(k)
                }
            return out

    def update_one(self, otype: str, ident: str, body: Any, query: dict[str, list[str]], actor: str) -> JSON:
        with self.lock:
            if not isinstance(body, dict):
                raise validation_error("The request body must be a JSON object")
            rec = self._must(otype, ident, query)
            values = self._checked_values(otype, body.get("properties"))
            if rec.properties.get(REJECT_FLAG) == "true":
                raise validation_error(self._reject_message(rec))
            self.set_values(rec, values, self.now_ms(), "INTEGRATION", actor)
            return self._format(rec, list(values))

    def create(self, otype: str, body: Any, actor: str) -> JSON:
        with self.lock:
            if not isinstance(body, dict):
                raise validation_error("The request body must be a JSON object")
            self.table(otype)
            values = self._checked_values(otype, body.get("properties") or {})
            if otype != "contacts" and not values.get("hs_timestamp"):
                raise validation_error("hs_timestamp is required to create an engagement")
            if (
                otype == "contacts"
                and values.get("email")
                and self.find("contacts", values["email"], "email")
            ):
                existing = self.find("contacts", values["email"], "email")
                raise ApiError(
                    409, "CONFLICT", f"Contact already exists. Existing ID: {existing.id if existing else ''}"
                )
            targets = self._association_targets(otype, body.get("associations") or [])
            if otype == "tasks":
                values.setdefault("hs_task_status", "NOT_STARTED")
            now = self.now_ms()
            rec = self.add(otype, {}, now, source="INTEGRATION")
            self.set_values(rec, values, now, "INTEGRATION", actor)
            for contact_id in targets:
                self.link(contact_id, otype, rec.id)
            return self._format(rec, list(values))

    def batch_create(self, otype: str, body: Any, actor: str) -> tuple[int, JSON]:
        """``POST .../batch/create``: each input created as ``create`` would, or an error of its own
        (207; HubSpot answers batch creates with multi-status)."""
        with self.lock:
            started = self.now_ms()
            results, errors = [], []
            for item in self.inputs(body, BATCH_MAX):
                trace = item.get("objectWriteTraceId")
                try:
                    created = self.create(otype, item, actor)
                except ApiError as exc:
                    context = {"objectWriteTraceId": [str(trace)]} if trace is not None else {}
                    errors.append({**record_error(exc.category, exc.message, []), "context": context})
                    continue
                results.append({**created, "objectWriteTraceId": trace} if trace is not None else created)
            status, out = self.batch_body(results, errors, started)
            return (201 if status == 200 else status), out

    def _association_targets(self, otype: str, associations: Any) -> list[int]:
        targets = []
        for assoc in associations if isinstance(associations, list) else [None]:
            to_id = str(((assoc or {}).get("to") or {}).get("id", ""))
            types = (assoc or {}).get("types") or []
            if not to_id.isdigit() or int(to_id) not in self.records["contacts"]:
                raise validation_error(
                    f"One or more associations are invalid: contact {to_id} does not exist"
                )
            for t in types:
                expected = TO_CONTACT.get(otype)
                if (
                    t.get("associationCategory") == "HUBSPOT_DEFINED"
                    and t.get("associationTypeId") != expected
                ):
                    raise validation_error(
                        f"{t.get('associationTypeId')} is not a valid association type "
                        f"between {otype} and contacts",
                        subCategory="crm.associations.INVALID_ASSOCIATION_TYPE",
                    )
            targets.append(int(to_id))
        return targets

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

    def _checked_values(self, otype: str, raw: Any) -> dict[str, str]:
        values = self.schema.normalise(otype, raw)
        owner = values.get("hubspot_owner_id")
        if owner and (owner not in self.owners or self.owners[owner]["archived"]):
            message = f"{owner} is not a valid owner id"
            invalid = [
                {
                    "isValid": False,
                    "message": message,
                    "error": "INVALID_OWNER_ID",
                    "name": "hubspot_owner_id",
                }
            ]
            raise validation_error(f"Property values were not valid: {json.dumps(invalid)}")
        return values

    def _must(self, otype: str, ident: str, query: dict[str, list[str]]) -> Record:
        rec = self.find(otype, ident, (query.get("idProperty") or [""])[0] or None)
        if rec is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {otype} {ident}")
        return rec

    @staticmethod
    def _reject_message(rec: Record) -> str:
        return f"Record {rec.id} was rejected: {REJECT_FLAG} is set on it (sandbox per-record rejection)"
