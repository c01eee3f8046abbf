"""``leadsync setup`` and ``leadsync check`` for Salesforce: leadsync's fields, and what is missing.

Setup creates, idempotently, through the Tooling API (``tooling/sobjects/CustomField``, the
Metadata API's REST face) the custom fields leadsync writes on each mapped object — score,
breakdown, SLA status and due, the stage dates, the reason code as a restricted picklist whose
values are the rules' codes with their labels (new codes are added to an existing picklist) and,
for contacts, the stage picklist — and ``Task.Leadsync_Key__c`` (External ID, Unique) that makes
task creation idempotent. A field made through the API is visible to no one until field-level
security grants it, so setup also keeps a permission set ``Leadsync_Integration`` with read and
edit on each field, assigned to the integration user.

Without "Customize Application" the Tooling API refuses; setup then prints exactly what an admin
must create. Lead Status values are never created (that is a standard value set an admin owns):
setup and check list the ones the mapping names that the org lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import structlog

from leadsync.api import JSON, AuthError, CheckReport, CrmError, QuotaExhausted

from .activities import KEY_FIELD
from .client import SalesforceClient
from .mapping import SalesforceMapping
from .reads import soql_list

__all__ = ["PERMISSION_SET", "FieldSpec", "check_org", "run_setup", "wanted_fields"]

PERMISSION_SET = "Leadsync_Integration"
SLA_VALUES = ("none", "pending", "met", "breached", "exhausted")
log = structlog.get_logger("leadsync.salesforce.provisioning")

_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "score": ("Number", {"precision": 18, "scale": 0}),
    "score_breakdown": ("LongTextArea", {"length": 32768, "visibleLines": 5}),
    "sla_due_at": ("DateTime", {}),
    "mql_at": ("DateTime", {}),
    "sql_at": ("DateTime", {}),
    "assigned_at": ("DateTime", {}),
    "first_touch_at": ("DateTime", {}),
}
# sla_met: a Checkbox is never empty, and an open SLA is neither met nor missed.
SLA_MET_VALUES = (("true", "Yes"), ("false", "No"))
# History is tracked for at most 20 fields an object: leadsync asks for three of them.
_TRACKED = {"score", "disqualification_reason", "stage"}
_LABELS = {
    "score": "leadsync Score",
    "score_breakdown": "leadsync Score Breakdown",
    "disqualification_reason": "leadsync Reason",
    "sla_status": "leadsync SLA Status",
    "sla_due_at": "leadsync SLA Due",
    "mql_at": "leadsync MQL At",
    "sql_at": "leadsync SQL At",
    "assigned_at": "leadsync Assigned At",
    "first_touch_at": "leadsync First Touch At",
    "sla_met": "leadsync SLA Met",
    "stage": "leadsync Stage",
}


@dataclass(frozen=True)
class FieldSpec:
    """One custom field leadsync needs: where, its API name, type and picklist values."""

    sobject: str
    name: str  # API name, ending in __c
    label: str
    type: str
    extra: Mapping[str, Any]
    values: tuple[tuple[str, str], ...] = ()  # picklist (API name, label)
    external_id: bool = False
    track: bool = False  # field history tracking (for `last_changed` and stage dates)

    @property
    def full_name(self) -> str:
        return f"{self.sobject}.{self.name}"

    def metadata(self) -> JSON:
        meta: JSON = {"label": self.label, "type": self.type, **self.extra}
        if self.values:
            meta["valueSet"] = {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [{"fullName": v, "label": label, "default": False} for v, label in self.values],
                },
            }
        if self.external_id:
            meta.update({"externalId": True, "unique": True, "caseSensitive": True, "length": 255})
        if self.track:
            meta["trackHistory"] = True
        meta["description"] = "Written by leadsync; see its README."
        return meta

    def describe(self) -> str:
        kind = {"Number": "Number(18, 0)", "LongTextArea": "Long Text Area(32768)", "Text": "Text(255)"}.get(
            self.type, self.type.replace("DateTime", "Date/Time")
        )
        extra = ", External ID, Unique" if self.external_id else ""
        values = (
            f"; values (API name = label): {', '.join(f'{v} = {lbl}' for v, lbl in self.values)}"
            if self.values
            else ""
        )
        return f"{self.sobject}: {self.label} ({self.name}), {kind}{extra}{values}"


def wanted_fields(mapping: SalesforceMapping, reason_labels: Mapping[str, str]) -> list[FieldSpec]:
    """Every custom field leadsync writes, per mapped object, plus Task's key."""
    out: list[FieldSpec] = []
    for obj, om in mapping.objects.items():
        for canonical, api in om.written_fields().items():
            if not api.endswith("__c"):
                continue  # a standard field (Status, OwnerId): the org has it
            label = _LABELS.get(canonical, api)
            track = canonical in _TRACKED
            if canonical == "disqualification_reason":
                values = tuple(sorted(reason_labels.items()))
                out.append(FieldSpec(obj, api, label, "Picklist", {}, values, track=track))
            elif canonical == "sla_status":
                out.append(FieldSpec(obj, api, label, "Picklist", {}, tuple((v, v) for v in SLA_VALUES)))
            elif canonical == "sla_met":
                out.append(FieldSpec(obj, api, label, "Picklist", {}, SLA_MET_VALUES))
            elif canonical == "stage":
                values = tuple((v, v) for v in om.stage.stages.values())
                out.append(FieldSpec(obj, api, label, "Picklist", {}, values, track=track))
            else:
                kind, extra = _TYPES.get(canonical, ("Text", {"length": 255}))
                out.append(FieldSpec(obj, api, label, kind, extra, track=track))
    out.append(FieldSpec("Task", KEY_FIELD, "leadsync Action Key", "Text", {}, external_id=True))
    return out


def run_setup(
    client: SalesforceClient, mapping: SalesforceMapping, reason_labels: Mapping[str, str]
) -> list[str]:
    specs = wanted_fields(mapping, reason_labels)
    lines: list[str] = []
    try:
        existing = _existing_fields(client, {s.sobject for s in specs})
        for spec in specs:
            found = existing.get(spec.full_name)
            if found is None:
                client.rest(
                    "POST",
                    "tooling/sobjects/CustomField",
                    {"FullName": spec.full_name, "Metadata": spec.metadata()},
                )
                lines.append(f"created {spec.full_name} ({spec.type})")
            elif spec.values:
                lines.append(_sync_values(client, spec, found))
            else:
                lines.append(f"{spec.full_name} already there")
        lines += _grant(client, specs)
    except CrmError as exc:
        if isinstance(exc, QuotaExhausted) or exc.status not in (400, 403, 404):
            raise
        log.warning("salesforce_setup_refused", error=str(exc)[:300])
        lines = [
            f"Salesforce refused to create fields ({exc});",
            "ask an admin with Customize Application to create:",
            *(f"  {s.describe()}" for s in specs),
            f"  and a permission set {PERMISSION_SET} with Read and Edit on each of them, assigned to the "
            "integration user",
        ]
    lines += [f"MISSING: {p}" for p in _status_problems(client, mapping)]
    return lines


def _create(client: SalesforceClient, spec: FieldSpec) -> str:
    """Create one field, with history tracking where wanted and the object still has room for it."""
    body = {"FullName": spec.full_name, "Metadata": spec.metadata()}
    try:
        client.rest("POST", "tooling/sobjects/CustomField", body)
    except CrmError as exc:
        body_text = (exc.body or "").lower()
        if not spec.track or exc.status != 400 or "fields to track" not in body_text:
            raise
        body["Metadata"] = {**spec.metadata(), "trackHistory": False}
        client.rest("POST", "tooling/sobjects/CustomField", body)
        return f"created {spec.full_name} ({spec.type}) without history tracking: {exc}"
    tracked = ", history tracked" if spec.track else ""
    return f"created {spec.full_name} ({spec.type}{tracked})"


def _existing_fields(client: SalesforceClient, objects: set[str]) -> dict[str, str]:
    """``Object.Field__c`` → Tooling API CustomField Id, for the objects named."""
    out: dict[str, str] = {}
    soql = (
        "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
        f"WHERE TableEnumOrId IN {soql_list(sorted(objects))}"
    )
    body: JSON = client.rest("GET", "tooling/query/?q=" + _quote(soql)) or {}
    for row in body.get("records") or []:
        out[f"{row.get('TableEnumOrId')}.{row.get('DeveloperName')}__c"] = str(row.get("Id"))
    return out


def _sync_values(client: SalesforceClient, spec: FieldSpec, field_id: str) -> str:
    """Add missing picklist values (and new labels) to an existing field; never remove one."""
    current: JSON = client.rest("GET", f"tooling/sobjects/CustomField/{field_id}") or {}
    meta: JSON = dict(current.get("Metadata") or {})
    definition = ((meta.get("valueSet") or {}).get("valueSetDefinition") or {}).get("value") or []
    have = {str(v.get("fullName")): str(v.get("label")) for v in definition}
    want = dict(spec.values)
    if all(have.get(k) == v for k, v in want.items()):
        return f"{spec.full_name} already there with every value"
    merged = {**have, **want}
    meta["valueSet"] = {
        "restricted": True,
        "valueSetDefinition": {
            "sorted": False,
            "value": [{"fullName": k, "label": v, "default": False} for k, v in merged.items()],
        },
    }
    client.rest("PATCH", f"tooling/sobjects/CustomField/{field_id}", {"Metadata": meta})
    added = sorted(set(want) - set(have))
    return f"updated {spec.full_name}: values {', '.join(added) or '(labels only)'}"


def _grant(client: SalesforceClient, specs: list[FieldSpec]) -> list[str]:
    """Field-level security: a permission set with read and edit on every field, assigned to us."""
    lines: list[str] = []
    rows = client.query(f"SELECT Id FROM PermissionSet WHERE Name = '{PERMISSION_SET}'")
    if rows:
        ps = str(rows[0]["Id"])
    else:
        made = client.rest(
            "POST", "sobjects/PermissionSet", {"Name": PERMISSION_SET, "Label": "leadsync Integration"}
        )
        ps = str((made or {}).get("id"))
        lines.append(f"created permission set {PERMISSION_SET}")
    granted = {
        str(r.get("Field"))
        for r in client.query(f"SELECT Field, PermissionsEdit FROM FieldPermissions WHERE ParentId = '{ps}'")
        if r.get("PermissionsEdit")
    }
    missing = [s for s in specs if s.full_name not in granted]
    for start in range(0, len(missing), 200):
        records = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": ps,
                "SobjectType": s.sobject,
                "Field": s.full_name,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for s in missing[start : start + 200]
        ]
        results = client.rest("POST", "composite/sobjects", {"allOrNone": False, "records": records}) or []
        for spec, result in zip(missing[start : start + 200], results, strict=False):
            if not result.get("success"):
                lines.append(f"could not grant {spec.full_name}: {result.get('errors')}")
    if missing:
        lines.append(f"granted read and edit on {len(missing)} fields through {PERMISSION_SET}")
    user = client.session.user_id
    assigned = client.query(
        f"SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '{ps}' AND AssigneeId = '{user}'"
    )
    if not assigned:
        client.rest("POST", "sobjects/PermissionSetAssignment", {"PermissionSetId": ps, "AssigneeId": user})
        lines.append(f"assigned {PERMISSION_SET} to the integration user {user}")
    return lines


def _status_problems(client: SalesforceClient, mapping: SalesforceMapping) -> list[str]:
    """Stage values the mapping names that the stage picklists lack (Lead Status: an admin's job)."""
    out: list[str] = []
    for obj, om in mapping.objects.items():
        described = client.describe(obj) or {}
        field = next((f for f in described.get("fields") or [] if f.get("name") == om.stage.field), None)
        if field is None:
            continue
        values = {str(v.get("value")) for v in field.get("picklistValues") or [] if v.get("active", True)}
        for stage, value in om.stage.stages.items():
            if value not in values:
                out.append(
                    f"{obj}.{om.stage.field} has no value `{value}` (for stage {stage}); add it in Setup"
                )
    return out


# A Tooling API field type → the type describe() reports for it.
_DESCRIBED = {"Picklist": "picklist", "Number": "double", "DateTime": "datetime", "Text": "string",
              "LongTextArea": "textarea"}  # fmt: skip


def _spec_problems(client: SalesforceClient, specs: list[FieldSpec]) -> list[str]:
    """leadsync's own fields that exist with another type or without a value the rules need."""
    out: list[str] = []
    for spec in specs:
        field = next(
            (
                f
                for f in (client.describe(spec.sobject) or {}).get("fields") or []
                if f.get("name") == spec.name
            ),
            None,
        )
        if field is None:
            continue
        kind = _DESCRIBED.get(spec.type)
        if kind and field.get("type") != kind:
            out.append(
                f"{spec.full_name} is a {field.get('type')} field, leadsync writes {kind}: delete it and "
                "run `leadsync setup`, or map the field to another in the mapping"
            )
            continue
        have = {str(v.get("value")) for v in field.get("picklistValues") or [] if v.get("active", True)}
        lacking = [code for code, _ in spec.values if code not in have]
        if lacking:
            out.append(f"{spec.full_name} has no value {', '.join(lacking)}: run `leadsync setup`")
    return out


def check_org(
    client: SalesforceClient, mapping: SalesforceMapping, reason_labels: Mapping[str, str] | None = None
) -> CheckReport:
    """Who we are, and every field, permission and value the mapping needs that the org lacks.

    With the rules' ``reason_labels`` (``check_for``), leadsync's own fields not created yet, of
    another type, or short of a value are missing too (``leadsync setup`` makes them).
    """
    try:
        session = client.session
        org = (client.query("SELECT Name, TimeZoneSidKey, IsSandbox FROM Organization") or [{}])[0]
        user = (client.query(f"SELECT Username, Name FROM User WHERE Id = '{session.user_id}'") or [{}])[0]
    except AuthError as exc:
        return CheckReport(ok=False, details=[str(exc)])
    except QuotaExhausted as exc:
        return CheckReport(ok=False, details=[str(exc)])
    report = CheckReport(ok=True)
    kind = "sandbox org" if org.get("IsSandbox") else "org"
    report.account = (
        f"Salesforce {kind} {org.get('Name')} ({session.org_id}) as {user.get('Username') or session.user_id}"
    )
    missing: list[str] = []
    ours = {s.full_name for s in wanted_fields(mapping, {})}
    pending: list[str] = []
    for obj, om in mapping.objects.items():
        described = client.describe(obj)
        if described is None:
            missing.append(f"{obj}: not visible to this user (object permission Read/Edit {obj})")
            continue
        fields = {str(f.get("name")): f for f in described.get("fields") or []}
        relations = {str(f.get("relationshipName")) for f in fields.values() if f.get("relationshipName")}
        written = set(om.written_fields().values())
        for api in sorted({*om.select(), *written}):
            head = api.split(".", 1)[0]
            if "." in api:
                if head not in relations:
                    missing.append(f"{obj}.{api}: no relationship `{head}`")
            elif api not in fields and f"{obj}.{api}" in ours:
                pending.append(f"{obj}.{api}")
            elif api not in fields:
                missing.append(f"{obj}.{api}: MISSING (create it, or fix the mapping)")
            elif api in written and not fields[api].get("updateable"):
                missing.append(f"{obj}.{api}: not editable by this user (field-level security)")
        if not described.get("updateable"):
            missing.append(f"{obj}: this user cannot edit {obj} records")
    task = client.describe("Task") or {}
    if not task.get("createable"):
        missing.append("Task: this user cannot create tasks")
    if KEY_FIELD not in {str(f.get("name")) for f in task.get("fields") or []}:
        pending.append(f"Task.{KEY_FIELD}")
    missing += _status_problems(client, mapping)
    limits: JSON = client.rest("GET", "limits") or {}
    daily = limits.get("DailyApiRequests") or {}
    if daily:
        most = int(daily.get("Max") or 0)
        used = most - int(daily.get("Remaining") or 0)
        report.details.append(
            f"daily API requests: {used:,} of {most:,} used; leadsync stops at {client.budget:.0%}"
        )
    if pending and reason_labels is not None:
        missing += [f"{name}: MISSING — run `leadsync setup`" for name in pending]
    elif pending:
        report.details.append(f"not created yet, `leadsync setup` makes them: {', '.join(pending)}")
    if reason_labels is not None:
        missing += _spec_problems(client, wanted_fields(mapping, reason_labels))
    report.details += missing
    report.missing_scopes = [m.split(":")[0] for m in missing]
    report.ok = not missing
    return report


def _quote(text: str) -> str:
    return quote(text, safe="")
