"""Users, the org and its metadata in the Zoho sandbox.

``GET /crm/v8/users?type=…`` pages users (``users.json``); ``GET /crm/v8/org`` the organisation;
``GET /crm/v8/settings/modules``; ``GET /crm/v8/settings/fields?module=X`` every field with all
the keys ``fields.json`` requires; ``POST /crm/v8/settings/fields?module=X`` creates custom fields
(``Create Field`` in ``fields.json``, 201 ``{"fields": [{"code": "SUCCESS", "details": {"id"}}]}``),
picklists with ``pick_list_values`` and ``unique`` ones included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.zoho.common import JSON, ZohoError, invalid_data, parse_since
from leadsync.sandboxes.zoho.describe import field_json, module_json
from leadsync.sandboxes.zoho.http import Call
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.schema import CREATABLE, Field, api_name_for
from leadsync.sandboxes.zoho.store import Org, Record

__all__ = ["ROUTES", "user_json"]

USER_TYPES: dict[str, Callable[[Record, str], bool]] = {
    "AllUsers": lambda u, me: u["status"] != "deleted",
    "ActiveUsers": lambda u, me: u["status"] == "active",
    "DeactiveUsers": lambda u, me: u["status"] == "disabled",
    "ConfirmedUsers": lambda u, me: bool(u["confirm"]),
    "NotConfirmedUsers": lambda u, me: not u["confirm"],
    "ActiveConfirmedUsers": lambda u, me: u["status"] == "active" and bool(u["confirm"]),
    "AdminUsers": lambda u, me: u["profile"]["name"] == "Administrator",
    "ActiveConfirmedAdmins": lambda u, me: (
        u["status"] == "active" and u["profile"]["name"] == "Administrator"
    ),
    "CurrentUser": lambda u, me: u["id"] == me,
}


def user_json(org: Org, u: Record) -> JSON:
    by = org.users.get(u["created_by"]) or u

    def owner(x: Record) -> JSON:
        return {
            "name": org.user_name(x["id"]),
            "id": x["id"],
            "first_name": x["first_name"],
            "last_name": x["last_name"],
        }

    out: JSON = {
        "id": u["id"],
        "zuid": u["zuid"],
        "first_name": u["first_name"],
        "last_name": u["last_name"],
        "full_name": org.user_name(u["id"]),
        "email": u["email"],
        "status": u["status"],
        "confirm": u["confirm"],
        "role": dict(u["role"]),
        "profile": dict(u["profile"]),
        "country": u["country"],
        "language": "en_US",
        "locale": "en_US",
        "country_locale": "en_US",
        "time_zone": u["time_zone"],
        "offset": int(org.tz.utcoffset(None).total_seconds() * 1000),
        "Isonline": False,
        "created_time": org.time(u["created_time"]),
        "Modified_Time": org.time(u["Modified_Time"]),
        "created_by": {"name": org.user_name(by["id"]), "id": by["id"]},
        "Modified_By": owner(by),
    }
    if u.get("reporting_to"):  # Minified_User is not nullable in users.json: absent, not null
        out["Reporting_To"] = org.minified(u["reporting_to"], email=False)
    return out


def users(call: Call) -> Reply:
    org = call.org
    kind = call.arg("type") or "AllUsers"
    if kind not in USER_TYPES:
        raise invalid_data(param_name="type", supported_values=list(USER_TYPES))
    per_page = call.int_arg("per_page", 200, 1, 200)
    page = call.int_arg("page", 1)
    since_text = call.request.headers.get("If-Modified-Since")
    since = parse_since(since_text) if since_text else None
    rows = [u for u in org.users.values() if USER_TYPES[kind](u, call.user)]
    ids = call.arg("ids")
    if ids:
        rows = [u for u in rows if u["id"] in set(ids.split(","))]
    if since is not None:
        rows = [u for u in rows if u["Modified_Time"] >= since]
    chunk = rows[(page - 1) * per_page : page * per_page]
    if not chunk:
        return Response(304 if since is not None and not rows else 204, b"", {}, None)
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": page * per_page < len(rows),
    }
    return 200, {"users": [user_json(org, u) for u in chunk], "info": info}


def org_info(call: Call) -> Reply:
    org = call.org
    admin = org.users[org.api_user]
    return 200, {
        "org": [
            {
                "id": org.org_id,
                "company_name": org.name,
                "domain_name": f"org{org.org_id[-9:]}",
                "primary_email": admin["email"],
                "primary_zuid": admin["zuid"],
                "zgid": org.org_id[-9:],
                "country": "India",
                "country_code": "IN",
                "time_zone": "Asia/Kolkata" if org.tz.utcoffset(None).total_seconds() == 19800 else "UTC",
                "iso_code": "USD",
                "currency": "US Dollar - USD",
                "currency_symbol": "$",
                "currency_locale": "en_US",
                "mc_status": False,
                "type": "production",
                "license_details": {
                    "paid_type": "enterprise",
                    "paid": True,
                    "users_license_purchased": 10,
                    "trial_type": None,
                    "trial_expiry": None,
                    "trial_action": None,
                    "paid_expiry": None,
                },
            }
        ]
    }


def _module_param(call: Call) -> str:
    name = call.arg("module")
    if not name:
        raise ZohoError(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_name": "module"},
        )
    if name not in call.org.modules:
        raise ZohoError(
            400, "INVALID_MODULE", "the module name given seems to be invalid", {"param_name": "module"}
        )
    return name


def get_fields(call: Call) -> Reply:
    org = call.org
    mod = org.modules[_module_param(call)]
    return 200, {"fields": [field_json(f, mod, org.tz, i + 1) for i, f in enumerate(mod.fields.values())]}


def modules(call: Call) -> Reply:
    org = call.org
    at = min((u["created_time"] for u in org.users.values()), default=org.now())
    return 200, {"modules": [module_json(m, org.tz, i + 1, at) for i, m in enumerate(org.modules.values())]}


def _new_field(org: Org, module: str, item: Any, index: int) -> Field:
    path = f"$.fields[{index}]"
    if not isinstance(item, dict):
        raise invalid_data(json_path=path)
    for key in ("field_label", "data_type"):
        if not item.get(key):
            raise ZohoError(
                400,
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": key, "json_path": f"{path}.{key}"},
            )
    label, data_type = str(item["field_label"]), str(item["data_type"])
    if data_type not in CREATABLE:
        raise invalid_data(api_name="data_type", json_path=f"{path}.data_type")
    api_name = str(item.get("api_name") or api_name_for(label))
    mod = org.modules[module]
    if api_name in mod.fields or any(f.label.casefold() == label.casefold() for f in mod.fields.values()):
        raise ZohoError(
            400,
            "DUPLICATE_DATA",
            "duplicate data",
            {"api_name": "field_label", "json_path": f"{path}.field_label"},
        )
    picks: list[str] = []
    if data_type == "picklist":
        raw = item.get("pick_list_values")
        if not isinstance(raw, list) or not raw:
            raise ZohoError(
                400,
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "pick_list_values", "json_path": f"{path}.pick_list_values"},
            )
        for i, v in enumerate(raw):
            value = v.get("actual_value") or v.get("display_value") if isinstance(v, dict) else None
            if not isinstance(value, str):
                raise invalid_data(api_name="pick_list_values", json_path=f"{path}.pick_list_values[{i}]")
            picks.append(value)
    unique = item.get("unique")
    return Field(
        api_name,
        label,
        data_type,
        id=org.ids(),
        custom=True,
        picklist=picks,
        unique=isinstance(unique, dict),
        case_sensitive=isinstance(unique, dict) and str(unique.get("casesensitive")).lower() == "true",
        created=org.now(),
    )


def create_fields(call: Call) -> Reply:
    org = call.org
    module = _module_param(call)
    body = call.json()
    items = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ZohoError(
            400,
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "fields", "json_path": "$.fields"},
        )
    results: list[JSON] = []
    for index, item in enumerate(items):
        try:
            f = _new_field(org, module, item, index)
        except ZohoError as exc:
            results.append(exc.body)
            continue
        org.modules[module].fields[f.api_name] = f
        for rec in org.records[module].values():
            rec.setdefault(f.api_name, None)
        results.append(
            {"code": "SUCCESS", "details": {"id": f.id}, "message": "field created", "status": "success"}
        )
    ok = sum(r["status"] == "success" for r in results)
    return (201 if ok == len(results) else 207 if ok else 400), {"fields": results}


def _scopes(*names: str) -> Callable[[dict[str, str]], list[str]]:
    return lambda p: list(names)


ROUTES: list[Route[Any]] = [
    route("GET", "/crm/v8/users", users, _scopes("ZohoCRM.users.READ")),
    route("GET", "/crm/v8/org", org_info, _scopes("ZohoCRM.org.READ")),
    route("GET", "/crm/v8/settings/modules", modules, _scopes("ZohoCRM.settings.modules.READ")),
    route("GET", "/crm/v8/settings/fields", get_fields, _scopes("ZohoCRM.settings.fields.READ")),
    route("POST", "/crm/v8/settings/fields", create_fields, _scopes("ZohoCRM.settings.fields.CREATE")),
]
