"""Owners and associations in the HubSpot sandbox: ``/crm/v3/owners/`` and v4 association batch reads.

Owners are read-only (https://developers.hubspot.com/docs/api/crm/owners): ``archived=true`` lists
only deactivated owners. Association batch reads take at most 1,000 ids and page each id's
associations by 500; an id with none is reported in ``errors`` (a 207 multi-status answer).
"""

from __future__ import annotations

from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, ApiError, validation_error
from leadsync.sandboxes.hubspot.store import CONTACT_TO, TO_CONTACT, Store, record_error

__all__ = ["ASSOC_BATCH_MAX", "ASSOC_PAGE", "associations", "owner", "owners_page"]

ASSOC_BATCH_MAX, ASSOC_PAGE = 1000, 500


def _first(query: dict[str, list[str]], name: str, default: str) -> str:
    return (query.get(name) or [default])[0] or default


def owners_page(store: Store, query: dict[str, list[str]]) -> JSON:
    with store.lock:
        archived = _first(query, "archived", "false").lower() == "true"
        email = _first(query, "email", "").casefold()
        try:
            limit, after = int(_first(query, "limit", "100")), int(_first(query, "after", "0"))
        except ValueError:
            raise validation_error("limit and after must be integers") from None
        if not 1 <= limit <= 500:
            raise validation_error(f"limit must be between 1 and 500; got {limit}")
        rows = [
            o
            for o in sorted(store.owners.values(), key=lambda o: int(o["id"]))
            if o["archived"] == archived and (not email or o["email"].casefold() == email)
        ]
        out: JSON = {"results": [dict(o) for o in rows[after : after + limit]]}
        if after + limit < len(rows):
            out["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return out


def owner(store: Store, owner_id: str) -> JSON:
    with store.lock:
        if owner_id not in store.owners:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found")
        return dict(store.owners[owner_id])


def _linked(store: Store, from_type: str, to_type: str, ident: str) -> tuple[list[int], int]:
    if not ident.isdigit():
        return [], 0
    if from_type == "contacts":
        return list(store.links.get(int(ident), {}).get(to_type, [])), CONTACT_TO.get(to_type, 0)
    return sorted(store.back.get((from_type, int(ident)), ())), TO_CONTACT.get(from_type, 0)


def associations(store: Store, from_type: str, to_type: str, body: Any) -> tuple[int, JSON]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read`` between contacts and an engagement type."""
    with store.lock:
        started = store.now_ms()
        if (from_type != "contacts" and to_type != "contacts") or from_type == to_type:
            raise validation_error(f"Associations between {from_type} and {to_type} are not supported")
        store.table(from_type)
        store.table(to_type)
        results, errors = [], []
        for item in store.inputs(body, ASSOC_BATCH_MAX):
            ident, after = str(item.get("id", "")), int(item.get("after") or 0)
            ids, type_id = _linked(store, from_type, to_type, ident)
            if not ids:
                message = f"No {to_type} is associated with {from_type.rstrip('s')} {ident}."
                errors.append(record_error("OBJECT_NOT_FOUND", message, [ident]))
                continue
            row: JSON = {
                "from": {"id": ident},
                "to": [
                    {
                        "toObjectId": str(i),
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                        ],
                    }
                    for i in ids[after : after + ASSOC_PAGE]
                ],
            }
            if after + ASSOC_PAGE < len(ids):
                row["paging"] = {"next": {"after": str(after + ASSOC_PAGE)}}
            results.append(row)
        return store.batch_body(results, errors, started)
