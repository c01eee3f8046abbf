"""Listing past Zoho's 100,000-record cap: COQL keyset pages of ids, then the records by id.

Get Records pages at most 100,000 records of one listing (``PAGINATION_LIMIT_EXCEEDED`` past
them). COQL (``POST /crm/v8/coql``, https://www.zoho.com/crm/developer/docs/api/v8/COQL-Overview.html)
has the same cap on ``OFFSET`` but none on a keyset: ``where id > <last id> … order by id asc``
starts anywhere. So a listing that reaches the cap continues here from the last id it read::

    select id, Modified_Time from Leads
    where (id > 4876876000000412345 and Modified_Time >= '2026-11-20T09:59:59+00:00')
    order by id asc limit 2000

COQL's own rules (Query API limitations): at most 2,000 rows a query, 50 fields in the select,
25 criteria, only ``= != > < >= <= between in like is null``; a datetime is quoted ISO 8601 with
its offset; ``info.more_records`` says whether more rows match; 204 when none do. Credits by
``limit``: 1-200 one, 201-1000 two, 1001-2000 three. It needs the scope ``ZohoCRM.coql.READ``
besides the module's own.

Only ids (and ``Modified_Time``) come from COQL: the records themselves are then read with Get
Records ``ids=`` (100 a call), so they are exactly what a listing returns (the same ``fields``,
lookups with their names, ``$se_module``, event ``Participants``, a converted lead's
``$converted_detail``), which COQL's select does not all serve. That costs 23 credits per 2,000
records instead of the 10 of Get Records' pages, and only past the cap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from leadsync.api import JSON, CrmError

from .auth import ZohoSetupError
from .client import ZohoClient, error_code
from .paging import by_ids, pages

__all__ = [
    "COQL_LIMIT",
    "COQL_MODE",
    "COQL_SCOPE",
    "Listing",
    "coql_query",
    "id_order",
    "id_pages",
    "is_capped",
    "listed",
    "records_after",
]

COQL_LIMIT = 2000  # rows per COQL query (3 credits)
COQL_SCOPE = "ZohoCRM.coql.READ"
CAP_CODE = "PAGINATION_LIMIT_EXCEEDED"
COQL_MODE = "coql"  # a listing's state once it continues past Get Records' cap through COQL
log = structlog.get_logger("leadsync.zoho.coql")


def is_capped(exc: CrmError) -> bool:
    """Is ``exc`` Zoho's ``PAGINATION_LIMIT_EXCEEDED`` refusal?"""
    try:
        body = json.loads(exc.body or "null")
    except ValueError:
        return CAP_CODE in str(exc)
    return error_code(body)[0] == CAP_CODE


def coql_query(module: str, after: str, since: str | None, limit: int = COQL_LIMIT) -> str:
    """The keyset query: ids after ``after`` (a Zoho id, digits) modified at or after ``since``."""
    if not after.isdigit():
        raise CrmError(f"COQL keyset: not a Zoho record id: {after!r}")
    criteria = f"id > {after}"
    if since:
        if "'" in since:
            raise CrmError(f"COQL: not a Zoho datetime: {since!r}")
        criteria = f"({criteria} and Modified_Time >= '{since}')"
    return f"select id, Modified_Time from {module} where {criteria} order by id asc limit {limit}"


def id_pages(client: ZohoClient, module: str, after: str, since: str | None) -> Iterator[list[str]]:
    """The ids of ``module`` after ``after`` (modified since ``since``), 2,000 a query, by id."""
    while True:
        query = coql_query(module, after, since)
        try:
            body = client.request("POST", "/coql", body={"select_query": query}).body
        except ZohoSetupError as exc:
            raise ZohoSetupError(
                f"Zoho lists at most 100,000 {module} records at a time and this listing is longer: "
                f"leadsync continues it through COQL, which needs the scope {COQL_SCOPE}. Add "
                f"{COQL_SCOPE} to the client's scopes and mint a new refresh token "
                f"(adapters/zoho/README.md §1-2). Zoho said: {exc}",
                status=exc.status,
                url=exc.url,
                body=exc.body,
            ) from None
        if body is None:  # 204: nothing after `after`
            return
        ids = [str(r.get("id")) for r in body.get("data") or [] if isinstance(r, dict) and r.get("id")]
        if ids:
            yield ids
        info: JSON = body.get("info") or {}
        if not info.get("more_records") or not ids:
            return
        last = max(ids, key=id_order)
        if last == after:
            raise CrmError(f"COQL on {module}: more_records but no id past {after}")
        after = last


def records_after(
    client: ZohoClient,
    module: str,
    after: str,
    since: str | None,
    fields: Sequence[str],
    **params: Any,
) -> Iterator[tuple[str, list[JSON]]]:
    """(the last id listed, its records as Get Records returns them), 200 ids at a time, by id.

    Each COQL page of ids is read back 100 ids a call (``params`` such as ``converted`` go with
    them); a record deleted (or, without ``converted``, converted) in between is not returned,
    so the records may be fewer than the ids, and the last id is what the next page starts after.
    """
    for ids in id_pages(client, module, after, since):
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            records = by_ids(client, module, chunk, fields, **params)
            records.sort(key=lambda r: id_order(str(r.get("id"))))
            yield max(chunk, key=id_order), records


def id_order(rid: str) -> tuple[int, str]:
    """Zoho's ids are numbers as text: in id order by length, then text."""
    return len(rid), rid


@dataclass
class Listing:
    """One module's listing under way: the last id read, and whether Get Records' cap was hit."""

    module: str
    after: str
    coql: bool = False

    def mode(self) -> list[str]:
        """The cursor's fourth listing item: ``coql`` once the listing continues through COQL."""
        return [COQL_MODE] if self.coql else []


def listed(
    client: ZohoClient, state: Listing, params: dict[str, str], since: str | None
) -> Iterator[tuple[str, list[JSON]]]:
    """(the last id listed, the records) of a listing by id: Get Records' pages up to Zoho's
    100,000-record cap, then COQL from the last id read (``state.after``, which the caller moves
    on after each page). A listing resumed from a cursor that had passed the cap starts in COQL.
    Records, activity news and whole activity modules are all listed this way.
    """
    path = f"/{state.module}"
    if not state.coql:
        try:
            for records in pages(client, path, params, since=since):
                yield max(["", *(str(r.get("id")) for r in records)], key=id_order), records
            return
        except CrmError as exc:
            if not is_capped(exc):
                raise
            log.info("zoho_listing_capped", module=state.module, after=state.after, detail="COQL next")
            state.coql = True
    extra = {"converted": params["converted"]} if "converted" in params else {}
    yield from records_after(client, state.module, state.after, since, params["fields"].split(","), **extra)
