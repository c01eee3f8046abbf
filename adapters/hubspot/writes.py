"""Contact write-back: batch updates of ≤100, one result per change, bad records isolated.

- A 207 multi-status keeps HubSpot's error text for each failed record; the rest are written.
- A whole-batch 400 fails every input. When the body names records (``context.ids``, or ids in
  the message) those are failed with it and the others sent again; when it names none (HubSpot's
  "Property values were not valid" does not), the batch is split in halves until the bad record
  stands alone — at most about 2·log2(100) extra calls per bad record.
- ``lifecyclestage`` only moves forward: a backward value is dropped without an error
  (https://developers.hubspot.com/docs/api/crm/contacts). The records that move back are first
  sent ``lifecyclestage: ""``, all of a write's together (100 a call), then the full updates;
  their stage is read back afterwards, all together, and a record whose stage HubSpot kept is
  reported as failed. A forward move is not
  read back: should a person have moved the stage further on since leadsync read it, HubSpot
  keeps theirs, and the next read sees a stage leadsync did not write — a manual change, which
  wins (CONTRACT §4) — at no extra call.
- A refusal caused by the portal's setup (a missing property, an unknown owner, a missing scope:
  ``refusals.py``) carries its ``cause`` on the result; the loop stops the run and keeps it due.
- Chunks of 100 go out side by side (``Fanout``). When HubSpot stays down for one of them (the retry
  policy gave up), the chunks not yet sent are not sent: their records fail as "try again later".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

import structlog

from leadsync.api import (
    JSON,
    AuthError,
    ContactChange,
    CrmError,
    QuotaExhausted,
    RetryableError,
    WriteResult,
    json_object,
)
from leadsync.api.writekit import ChunkGuard, merged_changes

from .client import HubSpotClient
from .convert import PlannedWrite, plan_write
from .fanout import Fanout
from .mapping import HubSpotMapping
from .refusals import property_cause, scope_cause

__all__ = ["ContactWriter", "refused_for_owner"]

log = structlog.get_logger("leadsync.hubspot.writes")
_RETRYABLE_CATEGORIES = {"CONFLICT", "LOCKED", "RATE_LIMITS", "RATE_LIMIT", "INTERNAL_ERROR", "TIMEOUT"}
Inputs = list[tuple[str, dict[str, str]]]


class ContactWriter:
    """Writes ``ContactChange``s to HubSpot contacts."""

    def __init__(
        self,
        client: HubSpotClient,
        mapping: HubSpotMapping,
        order: Sequence[str],
        batch_size: int = 100,
        fanout: Fanout | None = None,
        on_written: Callable[[list[JSON]], None] | None = None,
    ) -> None:
        """``on_written`` gets every batch update's confirmed records (``EchoChaser.written``)."""
        self.client = client
        self.mapping = mapping
        self.order = order
        self.batch_size = max(1, min(100, batch_size))
        self.fanout = fanout or Fanout(1)
        self.on_written = on_written

    def write(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        planned = [plan_write(c, self.mapping, self.order) for c in merged_changes(changes)]
        results: dict[str, WriteResult] = {}
        todo: list[PlannedWrite] = []
        for p in planned:
            if p.error:
                results[p.contact_id] = WriteResult(p.contact_id, ok=False, error=p.error)
            elif not p.properties:
                results[p.contact_id] = WriteResult(p.contact_id, ok=True)
            else:
                todo.append(p)
        guard = ChunkGuard()  # once HubSpot is down (the retry policy gave up), nothing more is sent
        # Backward stage moves: all of this write's clears first, 100 a call (not one call per
        # chunk that holds one), then the updates side by side, then one read-back of them all.
        backward = [p for p in todo if p.backward]
        for chunk in self._chunks(backward):
            results.update(guard.send(self._clear, chunk))
        todo = [p for p in todo if p.contact_id not in results]
        for done in self.fanout.map(lambda c: guard.send(self._set, c), self._chunks(todo)):
            results.update(done)
        staged = [p for p in todo if p.backward and results[p.contact_id].ok]
        for chunk in self._chunks(staged):
            results.update(guard.send(self._verify_stage, chunk))
        ok = sum(r.ok for r in results.values())
        log.info("contacts_written", changes=len(changes), ok=ok, failed=len(results) - ok)
        return [results[c.contact_id] for c in changes]

    def _chunks(self, planned: list[PlannedWrite]) -> list[list[PlannedWrite]]:
        return [planned[start : start + self.batch_size] for start in range(0, len(planned), self.batch_size)]

    def _clear(self, chunk: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        """Clear the stage of backward moves (HubSpot only moves it forward); the failures."""
        lcs = self.mapping.lifecycle_property
        failures = self._update([(p.contact_id, {lcs: ""}) for p in chunk])
        return {cid: failure for cid, failure in failures.items() if failure}

    def _set(self, chunk: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        """The batch update itself: every record's result."""
        failures = self._update([(p.contact_id, p.properties) for p in chunk])
        return {cid: failure or WriteResult(cid, ok=True) for cid, failure in failures.items()}

    def _update(self, inputs: Inputs) -> dict[str, WriteResult | None]:
        """Send one batch; per id: None when written, else the failure."""
        if not inputs:
            return {}
        try:
            status, body = self.client.batch_update("contacts", inputs)
        except AuthError as exc:
            cause = scope_cause(exc)
            if cause is None:
                raise
            why, name = cause
            text = str(exc)
            return {c: WriteResult(c, ok=False, error=text, cause=why, cause_name=name) for c, _ in inputs}
        except (QuotaExhausted, RetryableError):
            raise
        except CrmError as exc:
            return self._rejected(inputs, exc)
        out: dict[str, WriteResult | None] = {cid: None for cid, _ in inputs}
        if self.on_written is not None:
            self.on_written(list(body.get("results") or []))
        if status != 207 and not body.get("errors"):
            return out
        written = {str(r.get("id")) for r in body.get("results") or []}
        unplaced: list[str] = []
        for err in body.get("errors") or []:
            text = _error_text(err)
            retryable = str(err.get("category") or "") in _RETRYABLE_CATEGORIES
            named = _named_ids(err, set(out))
            if not named:
                unplaced.append(text)
            for cid in named:
                out[cid] = WriteResult(cid, ok=False, error=text, retryable=retryable)
        if unplaced:  # errors HubSpot did not tie to a record: whatever it did not confirm failed
            for cid in out:
                if out[cid] is None and cid not in written:
                    out[cid] = WriteResult(cid, ok=False, error="; ".join(unplaced), retryable=True)
        return out

    def _rejected(self, inputs: Inputs, exc: CrmError) -> dict[str, WriteResult | None]:
        """A whole batch refused: fail the records HubSpot names, or bisect until it is clear."""
        text = exc.body or str(exc)
        if len(inputs) == 1:
            cid, props = inputs[0]
            return {cid: _refused(cid, props, text, retryable=_retryable(exc))}
        data = json_object(text, keep=None)
        named = _named_ids(data, {c for c, _ in inputs}) or _culprits(data, inputs)
        if named:
            log.info("batch_rejected_named", records=sorted(named), status=exc.status)
            out: dict[str, WriteResult | None] = {
                c: _refused(c, p, text, retryable=False) for c, p in inputs if c in named
            }
            out.update(self._update([i for i in inputs if i[0] not in named]))
            return out
        half = len(inputs) // 2
        log.info("batch_rejected_bisect", size=len(inputs), status=exc.status)
        return {**self._update(inputs[:half]), **self._update(inputs[half:])}

    def _verify_stage(self, chunk: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        """Read the lifecycle stage back: HubSpot drops a backward move without an error."""
        lcs = self.mapping.lifecycle_property
        staged = {p.contact_id: p.properties[lcs] for p in chunk if lcs in p.properties}
        out: dict[str, WriteResult] = {}
        if not staged:
            return out
        for record in self.client.batch_read("contacts", list(staged), [lcs]):
            cid = str(record.get("id"))
            held = str((record.get("properties") or {}).get(lcs) or "")
            if cid in staged and held != staged[cid]:
                text = (
                    f"HubSpot kept lifecyclestage `{held}` instead of `{staged[cid]}`: the stage only "
                    "moves forward, and the contact's stage changed since leadsync read it"
                )
                out[cid] = WriteResult(cid, ok=False, error=text, retryable=False)
        return out


def _refused(cid: str, props: dict[str, str], body: str, *, retryable: bool) -> WriteResult:
    """One record's refusal, with its setup cause when HubSpot's body shows one."""
    cause = property_cause(body, props)
    if cause is None:
        return WriteResult(cid, ok=False, error=_body_text(body), retryable=retryable)
    return WriteResult(cid, ok=False, error=_body_text(body), cause=cause[0], cause_name=cause[1])


def _named_ids(err: JSON, ids: set[str]) -> set[str]:
    """The input ids an error body names: ``context.ids``/``context.id``, nested errors, its message."""
    found: set[str] = set()
    contexts = [err.get("context") or {}] + [(e or {}).get("context") or {} for e in err.get("errors") or []]
    for ctx in contexts:
        if not isinstance(ctx, dict):
            continue
        for key in ("ids", "id", "objectIds", "objectId"):
            value = ctx.get(key)
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                found.add(str(item))
    messages = [str(err.get("message") or "")] + [
        str((e or {}).get("message") or "") for e in err.get("errors") or []
    ]
    for match in _ID_MENTION.finditer(" ".join(messages)):
        found |= set(re.findall(r"\d+", match.group(1)))
    return found & ids


# "Duplicate IDs found in batch input: [123]", "object 123 does not exist", "contact ids 1, 2 …"
_ID_MENTION = re.compile(r"(?i)\b(?:ids?|objects?|records?|contacts?)\b[^\d.]{0,30}?(\d+(?:\W{1,3}\d+)*)")
_BAD_VALUE = re.compile(r"\s+(?:was|is)\s+not\b")
_INVALID = re.compile(r"Property values were not valid: (\[.*\])", re.DOTALL)
_EVERY_RECORD = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}


def _culprits(data: JSON, inputs: Inputs) -> set[str]:
    """The inputs behind a "Property values were not valid" 400, from the properties it names.

    A property that does not exist or is read-only fails every input that sends it; a bad value
    (an option that does not exist, a number that is not one) fails the inputs sending that value.
    """
    match = _INVALID.search(str(data.get("message") or ""))
    try:
        problems = json.loads(match.group(1)) if match else []
    except ValueError:
        return set()
    found: set[str] = set()
    for item in problems if isinstance(problems, list) else []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name, message = str(item["name"]), str(item.get("message") or "")
        for cid, props in inputs:
            if name not in props:
                continue
            value = props[name]
            head = _BAD_VALUE.split(message, maxsplit=1)
            named_value = len(head) == 2 and head[0].strip().strip("\"'") == value
            if item.get("error") in _EVERY_RECORD or (value and named_value):
                found.add(cid)
    return found


def refused_for_owner(error: str, owner_property: str = "hubspot_owner_id") -> bool:
    """HubSpot refused the record for its owner id alone: "Property values were not valid" naming
    only the owner property (``INVALID_OWNER_ID``: no such owner, or a deactivated one)."""
    match = _INVALID.search(error)
    try:
        problems = json.loads(match.group(1)) if match else []
    except ValueError:
        return False
    items = [p for p in problems if isinstance(p, dict)] if isinstance(problems, list) else []
    return bool(items) and all(
        p.get("name") == owner_property or p.get("error") == "INVALID_OWNER_ID" for p in items
    )


def _error_text(err: JSON) -> str:
    category = err.get("category") or err.get("subCategory") or "ERROR"
    return f"{category}: {err.get('message') or json.dumps(err)[:500]}"


def _body_text(text: str) -> str:
    data = json_object(text, keep=None)
    if data.get("message"):
        return _error_text(data)
    return text[:1000]


def _retryable(exc: CrmError) -> bool:
    category = str(json_object(exc.body, keep=None).get("category") or "")
    return exc.status in (409, 423) or category in _RETRYABLE_CATEGORIES
