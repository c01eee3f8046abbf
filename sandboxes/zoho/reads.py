"""Reading records from the Zoho sandbox: list (with Zoho's paging rules), one record, deleted ones, counts.

``GET /crm/v8/{module}`` as https://www.zoho.com/crm/developer/docs/api/v8/get-records.html says:
``fields`` is required (at most 50); ``per_page`` at most 200; ``page`` reaches only the first
2,000 records (``DISCRETE_PAGINATION_LIMIT_EXCEEDED``), past them ``page_token`` from
``info.next_page_token`` (bound to the user and the other parameters, 24 h, 100,000 records:
``PAGINATION_LIMIT_EXCEEDED`` past them; ``Limits.listing_cap``);
``page`` with ``page_token`` is ``AMBIGUITY_DURING_PROCESSING``; converted leads are hidden unless
``converted=true|both`` (and uncounted by ``GET /{module}/actions/count``); ``If-Modified-Since``
is inclusive and answers 304 with no body when nothing changed; an empty list is 204. Tokens here
are keyset cursors (sort value, id), so a walk neither skips nor repeats records that other
writes move.
"""

from __future__ import annotations

import bisect
import hashlib
from datetime import datetime, timedelta
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.zoho.common import JSON, ZohoError, invalid_data, parse_since
from leadsync.sandboxes.zoho.http import Call
from leadsync.sandboxes.zoho.pages import PageToken
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.store import Record

__all__ = ["ROUTES", "fields_of", "module_of"]

DISCRETE_LIMIT = 2000
TOKEN_LIFE = timedelta(hours=24)
SORTS = ("id", "Created_Time", "Modified_Time")


def module_of(call: Call) -> str:
    name = call.params["module"]
    if name not in call.org.modules:
        raise ZohoError(
            400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 0}
        )
    return name


def empty(call: Call) -> Response:
    """304 (nothing changed since ``If-Modified-Since``) or 204 (nothing at all), no body."""
    return Response(304 if call.request.headers.get("If-Modified-Since") else 204, b"", {}, None)


def fields_of(call: Call, module: str, required: bool = True) -> list[str] | None:
    text = call.arg("fields")
    if not text:
        if required:
            raise ZohoError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "fields"},
            )
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) > 50:
        raise ZohoError(
            400, "LIMIT_EXCEEDED", "Max field limit exceeded", {"limit": 50, "param_name": "fields"}
        )
    fields = call.org.modules[module].fields
    for name in names:
        if name not in fields:
            raise invalid_data(api_name=name, param_name="fields")
    return names


def _since(call: Call) -> datetime | None:
    text = call.request.headers.get("If-Modified-Since")
    return parse_since(text) if text else None


def _choice(call: Call, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = call.arg(name) or default
    if value not in allowed:
        raise invalid_data(param_name=name, supported_values=list(allowed))
    return value


def _rows(call: Call, module: str, since: datetime | None) -> list[Record]:
    rows = list(call.org.records[module].values())
    if module == "Leads":
        converted = _choice(call, "converted", ("false", "true", "both"), "false")
        if converted != "both":
            rows = [r for r in rows if bool(r.get("Converted__s")) == (converted == "true")]
    ids_text = call.arg("ids")
    if ids_text:
        ids = [i.strip() for i in ids_text.split(",") if i.strip()]
        if len(ids) > 100:
            raise ZohoError(
                400,
                "LIMIT_EXCEEDED",
                "cannot give more than 100 record ids",
                {"limit": 100, "param_name": "ids"},
            )
        wanted = set(ids)
        rows = [r for r in rows if r["id"] in wanted]
    if since is not None:
        rows = [r for r in rows if r["Modified_Time"] >= since]  # inclusive, as Zoho filters
    return rows


def _bound(call: Call, module: str) -> str:
    """What a page token is bound to: the module, every parameter but the token, the header."""
    items = sorted((k, v) for k, vs in call.query.items() if k not in ("page_token", "page") for v in vs)
    text = repr((module, items, call.request.headers.get("If-Modified-Since")))
    return hashlib.sha256(text.encode()).hexdigest()


def list_records(call: Call) -> Reply:
    module = module_of(call)
    fields = fields_of(call, module)
    per_page = call.int_arg("per_page", 200, 1, 200)
    token_key, page_text = call.arg("page_token"), call.arg("page")
    if token_key and page_text:
        raise ZohoError(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            "You cannot use both cvid and sort_by, and page and page_token.",
            {"ambiguity_due_to": ["page", "page_token"]},
        )
    sort_by = _choice(call, "sort_by", SORTS, "id")
    desc = _choice(call, "sort_order", ("asc", "desc"), "desc") == "desc"
    since = _since(call)
    rows = _rows(call, module, since)

    def key(r: Record) -> tuple[Any, str]:
        return (r["id"], r["id"]) if sort_by == "id" else (r[sort_by], r["id"])

    rows.sort(key=key)
    keys = [key(r) for r in rows]  # ascending, for the keyset cut
    if desc:
        rows.reverse()
    now = call.org.clock()
    cap = call.app.limits.limits.listing_cap  # 100,000 at Zoho; lowered in tests
    bound = _bound(call, module)
    if token_key:
        token = _token(call, token_key, bound, now)
        if token.served >= cap:
            raise _capped(cap)
        if desc:
            start = len(keys) - bisect.bisect_left(keys, token.after)
        else:
            start = bisect.bisect_right(keys, token.after)
        served, page, end = token.served, token.served // per_page + 1, min(len(rows), start + per_page)
        end = min(end, start + cap - token.served)
    else:
        page = call.int_arg("page", 1)
        start = (page - 1) * per_page
        if start >= cap:  # only a cap lowered below 2,000 (tests) is reached by `page`
            raise _capped(cap)
        if start >= DISCRETE_LIMIT:
            raise ZohoError(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "You can only get the first 2000 records without using page_token param.",
                {"limit": DISCRETE_LIMIT},
            )
        served, end = start, min(len(rows), start + per_page, DISCRETE_LIMIT, cap)
    chunk = rows[start:end]
    if not chunk:
        return empty(call) if not rows else Response(204, b"", {}, None)
    more = end < len(rows)
    next_token, expiry = None, None
    if more:
        expires = now + TOKEN_LIFE
        next_token = call.app.tokens.make(
            PageToken(call.user, bound, key(chunk[-1]), served + len(chunk), expires)
        )
        expiry = call.org.time(expires)
    info: JSON = {
        "per_page": per_page,
        "next_page_token": next_token,
        "count": len(chunk),
        "sort_by": sort_by,
        "page": page,
        "previous_page_token": None,
        "page_token_expiry": expiry,
        "sort_order": "desc" if desc else "asc",
        "email": False,
        "call": False,
        "more_records": more,
    }
    return 200, {"data": [call.org.render(module, r, fields) for r in chunk], "info": info}


def _capped(cap: int) -> ZohoError:
    return ZohoError(
        400,
        "PAGINATION_LIMIT_EXCEEDED",
        f"You can only get up to first {cap} records using page_token param.",
        {"limit": cap},
    )


def _token(call: Call, key: str, bound: str, now: datetime) -> PageToken:
    token: PageToken | None = call.app.tokens.get(key)
    if token is None or token.user != call.user:
        raise invalid_data(param_name="page_token")
    if token.expires <= now:
        raise ZohoError(400, "EXPIRED_VALUE", "Page token expired", {"param_name": "page_token"})
    if token.bound != bound:
        raise ZohoError(
            400,
            "TOKEN_BOUND_DATA_MISMATCH",
            "The page_token given seems to be invalid or input param is added or altered or deleted",
            {"param_name": "page_token"},
        )
    return token


def get_record(call: Call) -> Reply:
    module = module_of(call)
    fields = fields_of(call, module, required=False)
    rec = call.org.records[module].get(call.params["id"])
    if rec is None:
        return Response(204, b"", {}, None)
    return 200, {"data": [call.org.render(module, rec, fields)]}


def deleted(call: Call) -> Reply:
    """``GET /{module}/deleted?type=all|recycle|permanent``, newest first."""
    module = module_of(call)
    kind = _choice(call, "type", ("all", "recycle", "permanent"), "all")
    per_page = call.int_arg("per_page", 200, 1, 200)
    page = call.int_arg("page", 1)
    since = _since(call)
    org = call.org
    rows = [
        d
        for d in org.deleted
        if d["module"] == module
        and kind in ("all", d["type"])
        and (since is None or d["deleted_time"] >= since)
    ]
    rows.sort(key=lambda d: (d["deleted_time"], d["id"]), reverse=True)
    chunk = rows[(page - 1) * per_page : page * per_page]
    if not chunk:
        return empty(call) if not rows else Response(204, b"", {}, None)
    data = [
        {
            "deleted_by": org.minified(d["deleted_by"], email=False),
            "id": d["id"],
            "display_name": d["display_name"],
            "type": d["type"],
            "created_by": org.minified(d["created_by"], email=False),
            "deleted_time": org.time(d["deleted_time"]),
        }
        for d in chunk
    ]
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": page * per_page < len(rows),
    }
    return 200, {"data": data, "info": info}


def count(call: Call) -> Reply:
    """``GET /{module}/actions/count``: ``{"count": n}`` of the records a plain listing shows
    (converted leads hidden), as https://www.zoho.com/crm/developer/docs/api/v8/get-record-count.html
    answers it. ``cvid`` and the search parameters (``email``, ``phone``, ``word``) are not served."""
    module = module_of(call)
    if any(call.arg(p) for p in ("cvid", "email", "phone", "word")):
        raise invalid_data(param_name="cvid")
    rows = call.org.records[module].values()
    if module == "Leads":
        return 200, {"count": sum(1 for r in rows if not r.get("Converted__s"))}
    return 200, {"count": len(rows)}


def _read(p: dict[str, str]) -> list[str]:
    return [f"ZohoCRM.modules.{p.get('module', '').lower()}.READ"]


ROUTES: list[Route[Any]] = [
    route("GET", "/crm/v8/{module}/deleted", deleted, _read),
    route("GET", "/crm/v8/{module}/actions/count", count, _read),
    route("GET", "/crm/v8/{module}/{id}", get_record, _read),
    route("GET", "/crm/v8/{module}", list_records, _read),
]
