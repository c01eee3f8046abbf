"""When fields changed, from Salesforce field history (``LeadHistory``, ``ContactHistory``).

Field history exists only for the fields an admin tracks (Object Manager › Lead › Fields &
Relationships › Set History Tracking; up to 20 per object). ``leadsync check`` says which of
leadsync's are not tracked. Without history, ``stage_changed_at`` stays empty (the engine then
times the stage from when leadsync first saw it) and ``last_changed`` knows nothing.
Owner changes are tracked under the field name ``Owner``, not ``OwnerId``. The stage's history
for the people being decided comes with their activities (``people.PeopleReader``).

History is given up only for the errors that say it does not exist for this user:
``INVALID_TYPE`` (``sObject type 'LeadHistory' is not supported``, ``Didn't understand
relationship 'Histories'``: the object tracks no field, or the user may not read it) and
``INVALID_FIELD`` (a column the user cannot see), and loudly, naming the fix. Any other
error (a lost query locator above all, after a lost answer) is not about history and is raised.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from leadsync.api import CrmError, parse_crm_ts

from .client import SalesforceClient, error_code
from .convert import object_of
from .mapping import SalesforceMapping
from .reads import IN_CHUNK, soql_list

__all__ = ["HISTORY_OFF", "History", "history_off"]

log = structlog.get_logger("leadsync.salesforce.history")
# The error codes that mean "no field history for this user" (module docstring).
HISTORY_OFF = frozenset({"INVALID_TYPE", "INVALID_FIELD"})


def history_off(obj: str, exc: CrmError) -> bool:
    """Whether ``exc`` says ``obj`` has no readable field history; if so, warn with the fix."""
    code = error_code(exc)
    if exc.status != 400 or code not in HISTORY_OFF:
        return False
    log.warning(
        "salesforce_history_unavailable",
        object=obj,
        code=code,
        error=str(exc)[:300],
        fix=f"turn on field history tracking for {obj} (Setup › Object Manager › {obj} › Fields & "
        "Relationships › Set History Tracking) and let leadsync's user read it; until then stage "
        "times come from when leadsync first saw a stage",
    )
    return True


class History:
    def __init__(self, client: SalesforceClient, mapping: SalesforceMapping) -> None:
        self.client = client
        self.mapping = mapping
        self.unavailable: set[str] = set()

    def _tracked_name(self, obj: str, canonical: str) -> str | None:
        om = self.mapping.objects[obj]
        if canonical == "stage":
            return om.stage.field
        if canonical == "owner_id":
            return "Owner"
        fm = om.fields.get(canonical)
        return fm.field if fm is not None and fm.writable else None

    def changed(self, obj: str, ids: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """record id → history field name → when it last changed."""
        out: dict[str, dict[str, datetime]] = {}
        if obj in self.unavailable or not ids or not names:
            return out
        link = f"{obj}Id"
        for start in range(0, len(ids), IN_CHUNK):
            chunk = list(ids[start : start + IN_CHUNK])
            soql = (
                f"SELECT {link}, Field, CreatedDate FROM {obj}History "
                f"WHERE {link} IN {soql_list(chunk)} AND Field IN {soql_list(list(names))}"
            )
            try:
                rows = self.client.query(soql)
            except CrmError as exc:
                if history_off(obj, exc):
                    self.unavailable.add(obj)
                    return out
                raise
            for row in rows:
                at = parse_crm_ts(row.get("CreatedDate"))
                rid, name = str(row.get(link) or ""), str(row.get("Field") or "")
                if at is None or not rid:
                    continue
                fields = out.setdefault(rid, {})
                if name not in fields or at > fields[name]:
                    fields[name] = at
        return out

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        out: dict[str, dict[str, datetime]] = {}
        by_object: dict[str, list[str]] = {}
        for cid in dict.fromkeys(contact_ids):
            obj = object_of(cid)
            if obj in self.mapping.objects:
                by_object.setdefault(str(obj), []).append(cid)
        for obj, ids in by_object.items():
            names = {f: n for f in fields if (n := self._tracked_name(obj, f))}
            changed = self.changed(obj, ids, sorted(set(names.values())))
            for cid, stamps in changed.items():
                per = {f: stamps[n] for f, n in names.items() if n in stamps}
                if per:
                    out[cid] = per
        return out
