"""``leadsync setup`` and ``leadsync check`` for HubSpot: leadsync's properties, the token's scopes.

``setup`` creates, idempotently, the properties leadsync writes; ``check`` probes the token's scopes.

Setup reads each object type's property list once, creates the ``leadsync`` property group and
whatever property is missing, and PATCHes the options of the reason and SLA enumerations when
they changed (PATCH replaces the whole option list, so options no longer in the rules stay,
hidden, for the contacts that still hold them). It also says which mapped HubSpot properties and
lifecycle/lead-status options do not exist. A second run changes nothing and says so
(https://developers.hubspot.com/docs/api/crm/properties).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from leadsync.api import JSON, AuthError, CheckReport, CrmError, QuotaExhausted, RetryableError, json_object

from .client import HubSpotClient
from .errors import missing_scopes
from .mapping import HubSpotMapping
from .paging import SearchFilter, SearchRequest
from .tasks import BATCH, LEGACY_KEY, TASK_KEY

__all__ = ["GROUP", "SCOPE_PROBES", "SLA_STATUSES", "check_access", "check_properties", "run_setup"]

GROUP = "leadsync"
SLA_STATUSES = ("none", "pending", "met", "breached", "exhausted")
log = structlog.get_logger("leadsync.hubspot.provisioning")

# canonical writable field → (label, type, fieldType)
_WRITABLE: dict[str, tuple[str, str, str]] = {
    "score": ("leadsync score", "number", "number"),
    "score_breakdown": ("leadsync score breakdown", "string", "textarea"),
    "disqualification_reason": ("leadsync reason", "enumeration", "select"),
    "sla_status": ("leadsync SLA status", "enumeration", "select"),
    "sla_due_at": ("leadsync SLA due at", "datetime", "date"),
    "mql_at": ("leadsync MQL at", "datetime", "date"),
    "sql_at": ("leadsync SQL at", "datetime", "date"),
    "assigned_at": ("leadsync assigned at", "datetime", "date"),
    # Optional (OPTIONAL_FIELDS): created and checked only when the mapping names them.
    "first_touch_at": ("leadsync first touch at", "datetime", "date"),
    "sla_met": ("leadsync SLA met", "bool", "booleancheckbox"),
}
# A single checkbox (bool) property's two options, as HubSpot's own are.
_BOOL_OPTIONS = [("true", "Yes"), ("false", "No")]


def _written(mapping: HubSpotMapping) -> list[tuple[str, str, tuple[str, str, str]]]:
    """(canonical field, property, its spec) of each property leadsync writes with this mapping."""
    return [(f, mapping.fields[f].field, spec) for f, spec in _WRITABLE.items() if f in mapping.fields]


def run_setup(client: HubSpotClient, mapping: HubSpotMapping, reason_labels: Mapping[str, str]) -> list[str]:
    """Create what is missing; one line per thing created, changed, already there or missing."""
    lines: list[str] = []
    contact_props = {p["name"]: p for p in client.list_properties("contacts")}
    lines.append(_group(client, "contacts"))
    wanted_options = {
        "disqualification_reason": [(code, label) for code, label in reason_labels.items()],
        "sla_status": [(s, s.capitalize()) for s in SLA_STATUSES],
        "sla_met": _BOOL_OPTIONS,
    }
    for field, name, (label, ptype, ftype) in _written(mapping):
        options = wanted_options.get(field, [])
        existing = contact_props.get(name)
        if existing is None:
            spec = _spec(name, label, ptype, ftype, options)
            client.create_property("contacts", spec)
            lines.append(f"created contact property `{name}` ({ptype})")
        elif options:
            lines.append(_sync_options(client, existing, options))
        else:
            lines.append(f"contact property `{name}`: already there")
    task_props = {p["name"]: p for p in client.list_properties("tasks")}
    key = task_props.get(TASK_KEY)
    if key is None:
        lines.append(_group(client, "tasks"))
        spec = {**_spec(TASK_KEY, "leadsync task key", "string", "text", []), "hasUniqueValue": True}
        client.create_property("tasks", spec)
        lines.append(f"created task property `{TASK_KEY}` (text, unique values)")
    elif not key.get("hasUniqueValue"):
        lines.append(f"problem: {_KEY_NOT_UNIQUE}")
    else:
        lines.append(f"task property `{TASK_KEY}`: already there (unique values)")
    if LEGACY_KEY in task_props and (key is None or key.get("hasUniqueValue")):
        lines.extend(copy_legacy_keys(client))
    lines.extend(_mapped_problems(mapping, contact_props))
    log.info("setup_done", lines=len(lines))
    return lines


_KEY_NOT_UNIQUE = (
    f"task property `{TASK_KEY}` does not require unique values, and HubSpot cannot change that on "
    "an existing property: delete it (Settings > Properties > Task properties) and run "
    "`leadsync setup` again"
)


def copy_legacy_keys(client: HubSpotClient) -> list[str]:
    """Copy each task's ``leadsync_action_key`` (not unique) into ``leadsync_task_key`` (unique).

    Tasks are read by id, oldest first (keyset paging: no 10,000-result search limit, and the
    search index's lag cannot make a page repeat). Where two processes once made a key twice, the
    oldest task keeps it; the others are named so that a person can close them. Run again, it
    copies only what is left.
    """
    copied, already, twice = 0, 0, []
    owner: dict[str, str] = {}
    last = "0"
    while True:
        request = SearchRequest(
            groups=((SearchFilter(LEGACY_KEY, "HAS_PROPERTY"), SearchFilter("hs_object_id", "GT", last)),),
            sort="hs_object_id",
            properties=(LEGACY_KEY, TASK_KEY),
            limit=BATCH,
        )
        page = client.search("tasks", request).get("results") or []
        todo: list[tuple[str, dict[str, str]]] = []
        for record in page:
            task_id, props = str(record["id"]), record.get("properties") or {}
            legacy = str(props.get(LEGACY_KEY) or "")
            if not legacy:
                continue
            if legacy.casefold() in owner:
                twice.append(task_id)
            elif props.get(TASK_KEY):
                already += 1
                owner[legacy.casefold()] = task_id
            else:
                owner[legacy.casefold()] = task_id
                todo.append((task_id, {TASK_KEY: legacy}))
        if todo:
            refused = _copy(client, todo)
            twice.extend(i for i, _ in todo if i in refused)
            copied += len(todo) - len(refused)
        if len(page) < BATCH:
            break
        last = str(page[-1]["id"])
    lines = [
        f"task keys: copied {copied} from `{LEGACY_KEY}` to `{TASK_KEY}`"
        + (f", {already} were there" if already else "")
    ]
    if twice:
        shown = ", ".join(twice[:20]) + (f" and {len(twice) - 20} more" if len(twice) > 20 else "")
        lines.append(
            f"found {len(twice)} duplicate leadsync task(s), made twice before keys were unique: "
            f"task ids {shown}; the oldest of each keeps the key, close these in HubSpot if they are open"
        )
    log.info("task_keys_copied", copied=copied, already=already, duplicates=len(twice))
    return lines


def _copy(client: HubSpotClient, todo: list[tuple[str, dict[str, str]]]) -> set[str]:
    """Set the keys; the ids HubSpot refused (the key is another task's). A whole call refused is
    sent again one task a call, so that only the refused ones are left out."""
    try:
        _, body = client.batch_update("tasks", todo)
    except (AuthError, QuotaExhausted, RetryableError):
        raise
    except CrmError:
        if len(todo) == 1:
            return {todo[0][0]}
        return {i for item in todo for i in _copy(client, [item])}
    refused = {str(i) for e in body.get("errors") or [] for i in (e.get("context") or {}).get("ids") or []}
    return refused & {i for i, _ in todo}


def _group(client: HubSpotClient, object_type: str) -> str:
    if client.get_group(object_type, GROUP) is not None:
        return f"property group `{GROUP}` on {object_type}: already there"
    client.create_group(object_type, GROUP, "leadsync")
    return f"created property group `{GROUP}` on {object_type}"


def _spec(name: str, label: str, ptype: str, ftype: str, options: list[tuple[str, str]]) -> JSON:
    spec: JSON = {
        "name": name,
        "label": label,
        "type": ptype,
        "fieldType": ftype,
        "groupName": GROUP,
        "description": "Written by leadsync; a person's change is kept and reported as a conflict.",
        "formField": False,
    }
    if options:
        spec["options"] = [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(options)
        ]
    return spec


def _sync_options(client: HubSpotClient, existing: JSON, wanted: list[tuple[str, str]]) -> str:
    """PATCH the options when a value is missing, relabelled, or hidden; keep old ones hidden."""
    name = str(existing["name"])
    current = {str(o["value"]): o for o in existing.get("options") or []}
    new = [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(wanted)
    ]
    wanted_values = {v for v, _ in wanted}
    retired = [o for v, o in current.items() if v not in wanted_values]
    kept = [
        {
            "label": o.get("label") or o["value"],
            "value": o["value"],
            "displayOrder": len(new) + i,
            "hidden": True,
        }
        for i, o in enumerate(retired)
    ]
    added = [v for v, _ in wanted if v not in current]
    relabelled = [v for v, label in wanted if v in current and current[v].get("label") != label]
    shown = [v for v, _ in wanted if v in current and current[v].get("hidden")]
    hidden = [str(o["value"]) for o in kept if not current[str(o["value"])].get("hidden")]
    if not (added or relabelled or shown or hidden):
        return f"contact property `{name}`: already there, options up to date"
    client.update_options("contacts", name, new + kept)
    parts = [
        f"{what} {', '.join(values)}"
        for what, values in (("added", added), ("relabelled", relabelled), ("shown", shown), ("hid", hidden))
        if values
    ]
    return f"updated the options of contact property `{name}`: {'; '.join(parts)}"


def _mapped_problems(mapping: HubSpotMapping, props: Mapping[str, JSON]) -> list[str]:
    """Mapped properties and stage values that this portal does not have."""
    lines = []
    for fm in [*mapping.fields.values(), *mapping.properties.values()]:
        if fm.field not in props and not fm.field.startswith("leadsync_"):
            lines.append(
                f"warning: contact property `{fm.field}` (mapped from `{fm.name}`) does not exist "
                f"in HubSpot; create it or change {mapping.file}"
            )
    checks = [(mapping.lifecycle_property, s.lifecyclestage) for s in mapping.stages.values()]
    checks += [
        (mapping.lead_status_property, s.lead_status) for s in mapping.stages.values() if s.lead_status
    ]
    for prop, value in checks:
        options = {str(o.get("value")) for o in (props.get(prop) or {}).get("options") or []}
        if prop in props and value not in options:
            lines.append(
                f"warning: `{prop}` has no option `{value}`; add it in HubSpot or change {mapping.file}"
            )
    return lines


# scope → (what leadsync needs it for, a cheap call that needs it)
SCOPE_PROBES: dict[str, tuple[str, Callable[[HubSpotClient], Any]]] = {
    "crm.objects.contacts.read": (
        "read contacts, tasks, calls, meetings and notes",
        lambda c: c.batch_read("contacts", [], []),
    ),
    "crm.objects.contacts.write": (
        "write contacts and create tasks",
        lambda c: c.batch_update("contacts", []),
    ),
    "crm.objects.owners.read": ("read owners", lambda c: c.owners_page(None, False, limit=1)),
    "sales-email-read": ("read logged one-to-one emails", lambda c: c.batch_read("emails", [], [])),
    # An invalid group (no name) is refused with a 400 after the scope check: nothing is created.
    "crm.schemas.contacts.write": (
        "create leadsync's properties (setup)",
        lambda c: c.create_group("contacts", "", ""),
    ),
}


def check_access(client: HubSpotClient, account_timezone: str) -> CheckReport:
    """Try one cheap call per scope; name each scope HubSpot says is missing."""
    report = CheckReport(ok=True)
    for scope, (why, probe) in SCOPE_PROBES.items():
        try:
            probe(client)
        except AuthError as exc:
            if exc.status == 401:
                return CheckReport(ok=False, details=[str(exc)])
            missing = _scopes_in(exc) or [scope]
            for s in missing:
                if s not in report.missing_scopes:
                    report.missing_scopes.append(s)
            report.details.append(f"scope {', '.join(missing)}: MISSING — needed to {why}")
            continue
        except QuotaExhausted as exc:
            return CheckReport(ok=False, details=[str(exc)])
        except CrmError as exc:
            if exc.status is None or exc.status >= 500 or exc.status == 429:
                raise
            # 400/404 to a probe still means the scope was granted.
        report.details.append(f"scope {scope}: granted")
    account = client.account_details() or {}
    portal, zone = account.get("portalId"), account.get("timeZone")
    report.account = f"HubSpot portal {portal}" if portal else f"HubSpot at {client.base_url}"
    if zone and zone != account_timezone:
        report.details.append(
            f"the account's time zone is {zone} but `account_timezone` is {account_timezone}: "
            "the daily quota resets at the account's midnight"
        )
    report.ok = not report.missing_scopes
    return report


def check_properties(
    client: HubSpotClient, mapping: HubSpotMapping, reason_labels: Mapping[str, str]
) -> list[str]:
    """Every property leadsync writes or reads that is missing, of another type, or short of an
    option the rules or the mapping need; each line says what to do. Empty: all there."""
    props = {p["name"]: p for p in client.list_properties("contacts")}
    setup = "run `leadsync setup`"
    wanted_options = {
        "disqualification_reason": list(reason_labels),
        "sla_status": list(SLA_STATUSES),
        "sla_met": [v for v, _ in _BOOL_OPTIONS],
    }
    out: list[str] = []
    for field, name, (_, ptype, _) in _written(mapping):
        prop = props.get(name)
        if prop is None:
            fix = setup if name.startswith("leadsync_") else f"create it in HubSpot or change {mapping.file}"
            out.append(f"contact property `{name}` ({field}): MISSING — {fix}")
            continue
        if prop.get("type") != ptype:
            out.append(
                f"contact property `{name}` ({field}) is of type {prop.get('type')}, leadsync writes "
                f"{ptype}: map `{field}` to another property in {mapping.file}, or delete it and {setup}"
            )
            continue
        have = {str(o.get("value")) for o in prop.get("options") or [] if not o.get("hidden")}
        lacking = [v for v in wanted_options.get(field, []) if v not in have]
        if lacking:
            out.append(
                f"contact property `{name}` ({field}) has no option {', '.join(f'`{v}`' for v in lacking)} "
                f"(the rules' reason codes and SLA statuses): {setup}"
            )
    key = {p["name"]: p for p in client.list_properties("tasks")}.get(TASK_KEY)
    if key is None:
        out.append(f"task property `{TASK_KEY}`: MISSING — {setup}")
    elif not key.get("hasUniqueValue"):
        out.append(_KEY_NOT_UNIQUE)
    out += [line.removeprefix("warning: ") for line in _mapped_problems(mapping, props)]
    return out


def _scopes_in(exc: AuthError) -> list[str]:
    return missing_scopes(json_object(exc.body or ""))
