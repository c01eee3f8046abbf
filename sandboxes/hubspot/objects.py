"""The HubSpot sandbox's CRM object endpoints: search, batch read, update and create, and one
record's read, update and create, with HubSpot's rules for their inputs.

- batch reads and updates take at most 100 inputs (50 with ``propertiesWithHistory``); unknown,
  read-only or out-of-options values fail the whole request (400 ``VALIDATION_ERROR``); a missing
  id or a contact flagged ``reject_writes`` fails only its own input (207 multi-status);
- a batch create answers each input as a single create would, failures included (207);
- an owner id must be an active owner's; a contact's e-mail is unique (409 ``CONFLICT``);
  an engagement needs ``hs_timestamp`` and its associations HubSpot's own association types;
- a property created with ``hasUniqueValue`` holds each value once per object type (ignoring
  case): a create or update that would repeat one is refused with 409 ``CONFLICT`` naming the
  record that holds it (in a batch, that input alone). HubSpot's specs do not give the wording of
  this refusal; leadsync's adapter does not depend on it.

The records, their history and the write rules they keep are ``store``'s.
"""

from __future__ import annotations

import json
from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, ApiError, Record, validation_error
from leadsync.sandboxes.hubspot.search import run_search
from leadsync.sandboxes.hubspot.store import ENGAGEMENT_TYPES, REJECT_FLAG, TO_CONTACT, Store, record_error

__all__ = ["batch_create", "batch_read", "batch_update", "create", "get_one", "search", "update_one"]

BATCH_MAX, HISTORY_BATCH_MAX = 100, 50


def _names(raw: Any) -> list[str]:
    """Property names from a JSON list or from query values (repeated and/or comma-separated)."""
    if not raw:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [n.strip() for item in items for n in str(item).split(",") if n.strip()]


def search(store: Store, otype: str, body: Any) -> JSON:
    """One page of a search. Records ``unindexed`` holds are left out, as HubSpot's search
    leaves out a record it has not indexed yet ("it may take a few moments")."""
    with store.lock:
        table = store.table(otype)
        props = store.schema.props[otype]
        hidden = store.unindexed.get(otype)
        page = run_search(
            [r for r in table.values() if r.id not in hidden] if hidden else table.values(),
            body,
            props,
            store.contacts_of,
            None if hidden else lambda name, key: store.indexes.get(otype, name, key, table),
        )
        names = _names(body.get("properties"))
        out: JSON = {"total": page.total, "results": [store.formatted(r, names) for r in page.results]}
        if page.next_after is not None:
            out["paging"] = {"next": {"after": page.next_after, "link": f"?after={page.next_after}"}}
        return out


def batch_read(store: Store, otype: str, body: Any) -> tuple[int, JSON]:
    with store.lock:
        started = store.now_ms()
        inputs = store.inputs(body, BATCH_MAX)
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
            rec = store.find(otype, ident, id_prop)
            if rec is None:
                missing.append(ident)
            elif rec.id not in seen:
                seen.add(rec.id)
                results.append(store.formatted(rec, names, history))
        errors = []
        if missing:
            kind = otype.upper().rstrip("S")
            message = (
                f"Could not get some {kind} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            )
            errors.append(record_error("OBJECT_NOT_FOUND", message, missing, "crm.objects.OBJECT_NOT_FOUND"))
        return store.batch_body(results, errors, started)


def batch_update(store: Store, otype: str, body: Any, actor: str) -> tuple[int, JSON]:
    with store.lock:
        started = store.now_ms()
        inputs = store.inputs(body, BATCH_MAX)
        ids = [str(i.get("id", "")) for i in inputs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise validation_error(f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
        staged = [(i, _checked_values(store, otype, i.get("properties"))) for i in inputs]
        results, errors = [], []
        for item, values in staged:
            ident = str(item.get("id", ""))
            rec = store.find(otype, ident, item.get("idProperty"))
            if rec is None:
                errors.append(record_error("OBJECT_NOT_FOUND", f"Object {ident} not found", [ident]))
            elif rec.properties.get(REJECT_FLAG) == "true":
                errors.append(record_error("VALIDATION_ERROR", _reject_message(rec), [ident]))
            elif clash := store.unique_clash(otype, values, rec):
                errors.append(record_error("CONFLICT", clash, [ident]))
            else:
                store.set_values(rec, values, started, "INTEGRATION", actor)
                results.append(store.formatted(rec, list(values)))
        return store.batch_body(results, errors, started)


def get_one(store: Store, otype: str, ident: str, query: dict[str, list[str]]) -> JSON:
    with store.lock:
        rec = _must(store, otype, ident, query)
        out = store.formatted(
            rec, _names(query.get("properties")), _names(query.get("propertiesWithHistory"))
        )
        kinds = [k for k in _names(query.get("associations")) if k in ENGAGEMENT_TYPES]
        if kinds and otype == "contacts":
            linked = store.links.get(rec.id, {})
            out["associations"] = {
                k: {"results": [{"id": str(i), "type": f"contact_to_{k[:-1]}"} for i in linked.get(k, [])]}
                for k in kinds
                if linked.get(k)
            }
        return out


def update_one(
    store: Store, otype: str, ident: str, body: Any, query: dict[str, list[str]], actor: str
) -> JSON:
    with store.lock:
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object")
        rec = _must(store, otype, ident, query)
        values = _checked_values(store, otype, body.get("properties"))
        if rec.properties.get(REJECT_FLAG) == "true":
            raise validation_error(_reject_message(rec))
        clash = store.unique_clash(otype, values, rec)
        if clash:
            raise ApiError(409, "CONFLICT", clash)
        store.set_values(rec, values, store.now_ms(), "INTEGRATION", actor)
        return store.formatted(rec, list(values))


def create(store: Store, otype: str, body: Any, actor: str) -> JSON:
    with store.lock:
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object")
        store.table(otype)
        values = _checked_values(store, otype, body.get("properties") or {})
        if otype != "contacts" and not values.get("hs_timestamp"):
            raise validation_error("hs_timestamp is required to create an engagement")
        if otype == "contacts" and values.get("email") and store.find("contacts", values["email"], "email"):
            existing = store.find("contacts", values["email"], "email")
            raise ApiError(
                409, "CONFLICT", f"Contact already exists. Existing ID: {existing.id if existing else ''}"
            )
        clash = store.unique_clash(otype, values)
        if clash:
            raise ApiError(409, "CONFLICT", clash)
        targets = _association_targets(store, otype, body.get("associations") or [])
        if otype == "tasks":
            values.setdefault("hs_task_status", "NOT_STARTED")
        now = store.now_ms()
        rec = store.add(otype, {}, now, source="INTEGRATION")
        store.set_values(rec, values, now, "INTEGRATION", actor)
        for contact_id in targets:
            store.link(contact_id, otype, rec.id)
        return store.formatted(rec, list(values))


def batch_create(store: Store, otype: str, body: Any, actor: str) -> tuple[int, JSON]:
    """``POST .../batch/create``: each input created as ``create`` would, or an error of its own
    (207; HubSpot answers batch creates with multi-status)."""
    with store.lock:
        started = store.now_ms()
        results, errors = [], []
        for item in store.inputs(body, BATCH_MAX):
            trace = item.get("objectWriteTraceId")
            try:
                created = create(store, otype, item, actor)
            except ApiError as exc:
                context = {"objectWriteTraceId": [str(trace)]} if trace is not None else {}
                errors.append({**record_error(exc.category, exc.message, []), "context": context})
                continue
            results.append({**created, "objectWriteTraceId": trace} if trace is not None else created)
        status, out = store.batch_body(results, errors, started)
        return (201 if status == 200 else status), out


def _association_targets(store: Store, otype: str, associations: Any) -> list[int]:
    targets = []
    for assoc in associations if isinstance(associations, list) else [None]:
        to_id = str(((assoc or {}).get("to") or {}).get("id", ""))
        types = (assoc or {}).get("types") or []
        if not to_id.isdigit() or int(to_id) not in store.records["contacts"]:
            raise validation_error(f"One or more associations are invalid: contact {to_id} does not exist")
        for t in types:
            expected = TO_CONTACT.get(otype)
            if t.get("associationCategory") == "HUBSPOT_DEFINED" and t.get("associationTypeId") != expected:
                raise validation_error(
                    f"{t.get('associationTypeId')} is not a valid association type "
                    f"between {otype} and contacts",
                    subCategory="crm.associations.INVALID_ASSOCIATION_TYPE",
                )
        targets.append(int(to_id))
    return targets


def _checked_values(store: Store, otype: str, raw: Any) -> dict[str, str]:
    values = store.schema.normalise(otype, raw)
    owner = values.get("hubspot_owner_id")
    if owner and (owner not in store.owners or store.owners[owner]["archived"]):
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


def _must(store: Store, otype: str, ident: str, query: dict[str, list[str]]) -> Record:
    rec = store.find(otype, ident, (query.get("idProperty") or [""])[0] or None)
    if rec is None:
        raise ApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {otype} {ident}")
    return rec


def _reject_message(rec: Record) -> str:
    return f"Record {rec.id} was rejected: {REJECT_FLAG} is set on it (sandbox per-record rejection)"
