"""Zoho's list paging: ``page`` for the first 2,000 records, then ``page_token``; and ``ids`` reads.

Get Records (https://www.zoho.com/crm/developer/docs/api/v8/get-records.html) pages with
``page``/``per_page`` (at most 200) only up to record 2,000 (``DISCRETE_PAGINATION_LIMIT_EXCEEDED``
past it); beyond that ``info.next_page_token`` leads on, up to 100,000 records. A page token is
bound to the user and to the other parameters of the call, lives 24 hours, and is never sent
together with ``page`` (``AMBIGUITY_DURING_PROCESSING``). Search and deleted-record listings have
no tokens: they stop at 2,000 and ``Capped`` says so. 204 and 304 mean no records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from leadsync.api import JSON, CrmError

from .client import ZohoClient

__all__ = ["IDS_PER_CALL", "PAGE_LIMIT", "PER_PAGE", "Capped", "by_ids", "pages"]

PER_PAGE = 200
PAGE_LIMIT = 10  # 10 pages of 200: the 2,000 records `page` reaches
IDS_PER_CALL = 100  # `ids` takes at most 100 (LIMIT_EXCEEDED past it)


class Capped(CrmError):
    """More records than a call without page tokens can list (2,000)."""


def pages(
    client: ZohoClient,
    path: str,
    params: Mapping[str, Any],
    *,
    since: str | None = None,
    tokens: bool = True,
    key: str = "data",
) -> Iterator[list[JSON]]:
    """Each page's records (``body[key]``), in the order Zoho lists them."""
    headers = {"If-Modified-Since": since} if since else None
    page, token = 1, None
    while True:
        query: dict[str, Any] = {**params, "per_page": params.get("per_page", PER_PAGE)}
        if token is None:
            query["page"] = page
        else:
            query["page_token"] = token
        body = client.request("GET", path, params=query, headers=headers).body
        if body is None:  # 204 no records, 304 nothing modified since
            return
        yield [r for r in body.get(key) or [] if isinstance(r, dict)]
        info = body.get("info") or {}
        if not info.get("more_records"):
            return
        if token is None and page < PAGE_LIMIT:
            page += 1
            continue
        following = info.get("next_page_token")
        if not tokens:
            raise Capped(f"GET {path}: more than {PAGE_LIMIT * PER_PAGE} records for one listing")
        if not following or following == token:
            raise CrmError(f"GET {path}: Zoho says more records follow but gives no new next_page_token")
        token = str(following)


def by_ids(
    client: ZohoClient, module: str, ids: Sequence[str], fields: Sequence[str], **params: Any
) -> list[JSON]:
    """These records of ``module`` (unknown ids are left out), 100 a call."""
    out: list[JSON] = []
    for start in range(0, len(ids), IDS_PER_CALL):
        chunk = ids[start : start + IDS_PER_CALL]
        query = {"ids": ",".join(chunk), "fields": ",".join(fields), **params}
        for records in pages(client, f"/{module}", query):
            out += records
    return out
