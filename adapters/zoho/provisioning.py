"""``leadsync setup`` and ``leadsync check`` for Zoho: leadsync's fields, and what is missing.

Setup creates, idempotently, through ``POST /crm/v8/settings/fields?module=…`` (Create Custom
Fields, https://www.zoho.com/crm/developer/docs/api/v8/create-custom-field.html; ``fields.json``
in the v8 OpenAPI files) the custom fields leadsync writes on each mapped module — score,
breakdown, SLA status and due, the stage dates, the reason code as a pick list whose actual
values are the rules' codes and whose display values their labels (new codes are added to an
existing pick list with ``PATCH``), the contacts' stage pick list — and ``Tasks.Leadsync_Key``
(no duplicates allowed) that makes task creation idempotent. Zoho makes a field's API name from
its label (``Leadsync Score`` → ``Leadsync_Score``), so labels are the API names' words.

Without the ``ZohoCRM.settings.fields.ALL`` scope or an administrator's profile Zoho refuses;
setup then prints exactly what an admin must create. Lead Status values are never created (an
admin owns that pick list): setup and check list the ones the mapping names that the org lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from leadsync.api import JSON, AuthError, CheckReport, CrmError, QuotaExhausted

from .activities import KEY_FIELD
from .auth import AccessToken
from .client import SCOPES, ZohoClient
from .coql import COQL_SCOPE
from .mapping import ZohoMapping

__all__ = ["FieldSpec", "check_org", "missing_scopes", "run_setup", "wanted_fields"]

SLA_VALUES = ("none", "pending", "met", "breached", "exhausted")
OURS = "Leadsync_"
OrgFields = Callable[[str], dict[str, JSON]]  # module → api_name → field metadata
log = structlog.get_logger("leadsync.zoho.provisioning")

_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "score": ("integer", {"length": 9}),
    "score_breakdown": ("textarea", {"textarea": {"type": "large"}}),
    "sla_due_at": ("datetime", {}),
    "mql_at": ("datetime", {}),
    "sql_at": ("datetime", {}),
    "assigned_at": ("datetime", {}),
    "first_touch_at": ("datetime", {}),
}
# sla_met: a boolean (checkbox) field is never empty, and an open SLA is neither met nor missed.
SLA_MET_VALUES = (("true", "true"), ("false", "false"))
_SHOWN = {"integer": "Number", "textarea": "Multi Line (Large)", "datetime": "Date/Time",
          "picklist": "Pick List", "text": "Single Line (255), Do not allow duplicate values"}  # fmt: skip


@dataclass(frozen=True)
class FieldSpec:
    """One custom field leadsync needs: its module, API name, data type and pick-list values."""

    module: str
    name: str
    data_type: str
    extra: Mapping[str, Any]
    values: tuple[tuple[str, str], ...] = ()  # (actual value, display value)

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def full_name(self) -> str:
        return f"{self.module}.{self.name}"

    def body(self) -> JSON:
        field: JSON = {"field_label": self.label, "data_type": self.data_type, **self.extra}
        if self.values:
            field["pick_list_values"] = [{"display_value": d, "actual_value": a} for a, d in self.values]
        return {"fields": [field]}

    def describe(self) -> str:
        values = (
            f"; values (display = actual): {', '.join(f'{d} = {a}' for a, d in self.values)}"
            if self.values
            else ""
        )
        return f"{self.module}: a {_SHOWN[self.data_type]} field labelled `{self.label}`{values}"


def wanted_fields(mapping: ZohoMapping, reason_labels: Mapping[str, str]) -> list[FieldSpec]:
    """Every custom field leadsync writes, per mapped module, plus the Tasks key."""
    out: list[FieldSpec] = []
    for module, mm in mapping.modules.items():
        for canonical, api in mm.written_fields().items():
            if not api.startswith(OURS):
                continue  # a standard field (Lead_Status, Owner) or one of the org's own
            if canonical == "disqualification_reason":
                out.append(FieldSpec(module, api, "picklist", {}, tuple(sorted(reason_labels.items()))))
            elif canonical == "sla_status":
                out.append(FieldSpec(module, api, "picklist", {}, tuple((v, v) for v in SLA_VALUES)))
            elif canonical == "sla_met":
                out.append(FieldSpec(module, api, "picklist", {}, SLA_MET_VALUES))
            elif canonical == "stage":
                out.append(
                    FieldSpec(module, api, "picklist", {}, tuple((v, v) for v in mm.stage.stages.values()))
                )
            else:
                kind, extra = _TYPES.get(canonical, ("text", {"length": 255}))
                out.append(FieldSpec(module, api, kind, extra))
    unique = {"length": 255, "unique": {"casesensitive": "true"}}
    out.append(FieldSpec("Tasks", KEY_FIELD, "text", unique))
    return out


def run_setup(
    client: ZohoClient, mapping: ZohoMapping, reason_labels: Mapping[str, str], org_fields: OrgFields
) -> list[str]:
    specs = wanted_fields(mapping, reason_labels)
    lines: list[str] = []
    done: set[str] = set()
    try:
        for spec in specs:
            found = org_fields(spec.module).get(spec.name)
            if found is None:
                client.request("POST", "/settings/fields", params={"module": spec.module}, body=spec.body())
                lines.append(f"created {spec.full_name} ({spec.data_type})")
            elif spec.values:
                lines.append(_add_values(client, spec, found))
            else:
                lines.append(f"{spec.full_name} already there")
            done.add(spec.full_name)
    except CrmError as exc:
        if isinstance(exc, QuotaExhausted) or (exc.status or 0) >= 500:
            raise
        log.warning("zoho_setup_refused", error=str(exc)[:300])
        lines += [
            f"Zoho refused to create fields ({exc});",
            "ask an admin (Setup › Customization › Modules and Fields) to create:",
            *(f"  {s.describe()}" for s in specs if s.full_name not in done),
        ]
    return lines + [f"MISSING: {p}" for p in stage_problems(mapping, org_fields)]


def _add_values(client: ZohoClient, spec: FieldSpec, found: JSON) -> str:
    """Add missing pick-list values to an existing field; never remove one."""
    have = {str(v.get("actual_value")) for v in found.get("pick_list_values") or []}
    new = [(a, d) for a, d in spec.values if a not in have]
    if not new:
        return f"{spec.full_name} already there with every value"
    body = {"fields": [{"pick_list_values": [{"display_value": d, "actual_value": a} for a, d in new]}]}
    client.request("PATCH", f"/settings/fields/{found.get('id')}", params={"module": spec.module}, body=body)
    return f"updated {spec.full_name}: values {', '.join(a for a, _ in new)}"


def stage_problems(mapping: ZohoMapping, org_fields: OrgFields) -> list[str]:
    """Stage values the mapping names that the stage pick lists lack (Lead Status: an admin's job)."""
    out: list[str] = []
    for module, mm in mapping.modules.items():
        field = org_fields(module).get(mm.stage.field)
        if field is None:
            continue
        values = {str(v.get("actual_value")) for v in field.get("pick_list_values") or []}
        for stage, value in mm.stage.stages.items():
            if value not in values:
                out.append(
                    f"{module}.{mm.stage.field} has no value `{value}` (for stage {stage}); add it in Setup"
                )
    return out


def missing_scopes(granted: Sequence[str], needed: Sequence[str] = SCOPES) -> list[str]:
    """The needed scopes no granted one covers (``ZohoCRM.modules.ALL`` covers ``…leads.READ``)."""

    def covers(have: str, want: str) -> bool:
        h, w = have.lower().split("."), want.lower().split(".")
        if h == w:
            return True
        return h[-1] == "all" and w[: len(h) - 1] == h[:-1]

    return [w for w in needed if not any(covers(h, w) for h in granted)]


def _spec_problems(specs: list[FieldSpec], org_fields: OrgFields) -> list[str]:
    """leadsync's own fields that exist with another type or without a value the rules need."""
    out: list[str] = []
    for spec in specs:
        field = org_fields(spec.module).get(spec.name)
        if field is None:
            continue
        if field.get("data_type") != spec.data_type:
            out.append(
                f"{spec.full_name} is a {field.get('data_type')} field, leadsync writes {spec.data_type}: "
                "delete it and run `leadsync setup`, or map the field to another in the mapping"
            )
            continue
        have = {str(v.get("actual_value")) for v in field.get("pick_list_values") or []}
        lacking = [code for code, _ in spec.values if code not in have]
        if lacking:
            out.append(f"{spec.full_name} has no value {', '.join(lacking)}: run `leadsync setup`")
    return out


def check_org(
    client: ZohoClient,
    mapping: ZohoMapping,
    org_fields: OrgFields,
    token: Callable[[], AccessToken],
    reason_labels: Mapping[str, str] | None = None,
) -> CheckReport:
    """Who we are, and every scope, field and value the mapping needs that the org lacks.

    With the rules' ``reason_labels`` (``check_for``), leadsync's own fields not created yet, of
    another type, or short of a value are missing too (``leadsync setup`` makes them).
    """
    try:
        org = ((client.get("/org") or {}).get("org") or [{}])[0]
        user = ((client.get("/users", {"type": "CurrentUser"}) or {}).get("users") or [{}])[0]
        scopes = token().scopes
    except (AuthError, QuotaExhausted) as exc:
        return CheckReport(ok=False, details=[str(exc)])
    report = CheckReport(ok=True)
    report.account = (
        f"Zoho CRM org {org.get('company_name')} ({org.get('id')}, {org.get('time_zone')}) "
        f"as {user.get('email') or user.get('full_name')}"
    )
    if scopes:
        report.missing_scopes = missing_scopes(scopes)
        if missing_scopes(scopes, [COQL_SCOPE]):
            report.details.append(
                f"{COQL_SCOPE}: not granted; needed only when a listing passes Zoho's 100,000 records "
                "(a first read of a larger module, or that many changes between runs), which "
                "leadsync continues through COQL: add it for modules that large"
            )
    else:
        report.details.append("Zoho did not say which scopes the token has; the calls above worked")
    ours = {s.full_name for s in wanted_fields(mapping, {})}
    pending: list[str] = []
    missing: list[str] = []
    for module, mm in mapping.modules.items():
        have = org_fields(module)
        for api in sorted({*mm.select(), *mm.written_fields().values()}):
            if api in have or api.startswith("$"):
                continue
            (pending if f"{module}.{api}" in ours else missing).append(f"{module}.{api}")
    if KEY_FIELD not in org_fields("Tasks"):
        pending.append(f"Tasks.{KEY_FIELD}")
    problems = [f"{m}: MISSING (create it, or fix the mapping)" for m in missing]
    if pending and reason_labels is not None:
        problems += [f"{name}: MISSING — run `leadsync setup`" for name in pending]
    elif pending:
        report.details.append(f"not created yet, `leadsync setup` makes them: {', '.join(pending)}")
    if reason_labels is not None:
        problems += _spec_problems(wanted_fields(mapping, reason_labels), org_fields)
    report.details += problems
    report.details += stage_problems(mapping, org_fields)
    if client.credits_remaining is not None:
        report.details.append(
            f"API credits left for the rolling 24 hours: {client.credits_remaining:,}; "
            f"leadsync stops at {client.credit_floor:,}"
        )
    report.ok = not problems and not report.missing_scopes and not stage_problems(mapping, org_fields)
    return report
