"""The mapping of ``mappings/salesforce.yaml``: canonical fields and values ⇄ Salesforce fields.

``load_mapping`` reads the file and checks its shape and meaning, every problem as FILE:LINE;
whether the fields and picklist values exist in an org is ``leadsync check``'s job (``provisioning``).
The file's own comments explain each choice to a Salesforce admin.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadsync.api import ConfigError, Path_, mappingkit
from leadsync.api.mappingkit import CONTACT_FIELDS, MappingChecker, mapping_source, packaged_path

__all__ = [
    "CONTACT_FIELDS",
    "HISTORY",
    "OBJECTS",
    "ActivityMap",
    "FieldMap",
    "ObjectMap",
    "SalesforceMapping",
    "StageMap",
    "load_mapping",
]

HISTORY = "history"
OBJECTS = ("Lead", "Contact")
QUEUE_MODES = ("holding", "target", "ignore")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?$")


class FieldMap(mappingkit.FieldMap):
    """One canonical field held in one Salesforce field; ``values`` maps Salesforce → canonical."""

    @property
    def writable(self) -> bool:
        """False for a parent record's field (``Account.Name``): read, never written."""
        return "." not in self.field


@dataclass(frozen=True)
class StageMap(mappingkit.StageMap):
    """Which picklist value of ``field`` holds each canonical stage, and when it last changed."""

    changed_at: str | None = HISTORY  # "history", a Date/Time field, or None


@dataclass(frozen=True)
class ObjectMap(mappingkit.ContactMap[FieldMap, StageMap]):
    """How one object (Lead or Contact) holds a canonical contact."""

    def select(self) -> list[str]:
        """Every field a read of this object needs, for SOQL's SELECT."""
        names = {"Id", "SystemModstamp", "LastModifiedDate", "LastModifiedById"} | self.mapped()
        if self.name == "Lead":
            names |= {"IsConverted", "ConvertedContactId"}
        if self.stage.changed_at and self.stage.changed_at != HISTORY:
            names.add(self.stage.changed_at)
        return sorted(names)


@dataclass(frozen=True)
class ActivityMap:
    """Which Tasks, Events and Campaign Members become which canonical activities."""

    call: str | None = "call"
    call_outcomes: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-cased CallDisposition
    email: str | None = "email_sent"
    email_statuses: tuple[str, ...] = ("Completed",)
    meeting: str | None = "meeting"
    task: str | None = None
    task_statuses: tuple[str, ...] = ("Completed",)
    campaigns: dict[str, tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    campaign_other: tuple[str, dict[str, Any]] | None = None
    campaign_names: tuple[tuple[re.Pattern[str], str, dict[str, Any]], ...] = ()

    @property
    def reads_campaigns(self) -> bool:
        return bool(self.campaigns or self.campaign_other or self.campaign_names)

    def campaign(
        self, campaign_type: str | None, name: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """The activity type and properties for a response to a campaign of this type and name."""
        for pattern, kind, props in self.campaign_names:
            if name and pattern.search(name):
                return kind, dict(props)
        hit = self.campaigns.get(campaign_type or "")
        return hit if hit is not None else self.campaign_other


@dataclass(frozen=True)
class SalesforceMapping:
    """The validated mapping file."""

    file: str
    objects: dict[str, ObjectMap]
    queues: str  # holding | target | ignore
    activities: ActivityMap
    custom_types: tuple[str, ...] = ()


def default_mapping_path() -> Path:
    return packaged_path("salesforce.yaml")


def load_mapping(path: str | Path | None = None) -> SalesforceMapping:
    """Read and validate a Salesforce mapping file (the packaged one when ``path`` is None)."""
    return _Validator(mapping_source(path, default_mapping_path())).run()


class _Validator(MappingChecker[FieldMap, StageMap]):
    crm = "Salesforce"
    field_type = FieldMap
    stage_type = StageMap
    stage_keys = ("changed_at",)
    picklist_hint = " (its API name)"

    def api_name(self, path: Path_, value: Any, *, writable: bool = False) -> str | None:
        if not isinstance(value, str) or not _FIELD.match(value):
            self.fail(path, f"`{value}` is not a Salesforce field API name (e.g. Title, Budget__c)")
            return None
        if writable and "." in value:
            self.fail(path, f"`{value}` is a parent record's field; leadsync cannot write it")
            return None
        return value

    def run(self) -> SalesforceMapping:
        data, acts, objects = self.sections("objects", OBJECTS, self.object)
        owners = self.keys(("owners",), data.get("owners"), ("queues",), "owners")
        queues = owners.get("queues", "holding")
        if queues not in QUEUE_MODES:
            self.fail(
                ("owners", "queues"), f"`queues` must be one of {', '.join(QUEUE_MODES)}, not {queues!r}"
            )
            queues = "holding"
        activities = self.activities(("activities",), acts)
        if self.problems:
            raise ConfigError(self.problems)
        return SalesforceMapping(self.src.file, objects, str(queues), activities, self.custom_types())

    def object(self, path: Path_, name: str, value: Any) -> ObjectMap | None:
        parts = self.contact_map(path, name, value)
        return ObjectMap(name, *parts) if parts else None

    def stage_extra(self, path: Path_, spec: dict[str, Any]) -> dict[str, Any]:
        changed = spec.get("changed_at", HISTORY)
        if changed in (None, "none"):
            changed = None
        elif changed != HISTORY:
            changed = self.api_name((*path, "changed_at"), changed)
        return {"changed_at": changed}

    # -- activities -----------------------------------------------------------------------------

    def activities(self, path: Path_, value: Any) -> ActivityMap:
        allowed = ("custom_types", "calls", "emails", "meetings", "tasks", "campaigns")
        spec = self.keys(path, value, allowed, "activities")
        calls = self.keys((*path, "calls"), spec.get("calls"), ("type", "outcomes"), "calls")
        emails = self.keys((*path, "emails"), spec.get("emails"), ("type", "statuses"), "emails")
        meetings = self.keys((*path, "meetings"), spec.get("meetings"), ("type",), "meetings")
        tasks = self.keys((*path, "tasks"), spec.get("tasks"), ("type", "statuses"), "tasks")
        outcomes = {}
        for disposition, outcome in (calls.get("outcomes") or {}).items():
            outcomes[str(disposition).lower()] = str(outcome)
        campaigns: dict[str, tuple[str, dict[str, Any]]] = {}
        other: tuple[str, dict[str, Any]] | None = None
        cspec = self.keys((*path, "campaigns"), spec.get("campaigns"), ("by_name", "by_type"), "campaigns")
        for ctype, target in (cspec.get("by_type") or {}).items():
            made = self.campaign_target((*path, "campaigns", "by_type", ctype), target)
            if ctype == "other":
                other = made
            elif made:
                campaigns[str(ctype)] = made
        names = self.campaign_rules((*path, "campaigns", "by_name"), cspec.get("by_name") or [])
        return ActivityMap(
            call=self.activity_type((*path, "calls", "type"), calls.get("type")),
            call_outcomes=outcomes,
            email=self.activity_type((*path, "emails", "type"), emails.get("type")),
            email_statuses=tuple(str(s) for s in emails.get("statuses") or ("Completed",)),
            meeting=self.activity_type((*path, "meetings", "type"), meetings.get("type")),
            task=self.activity_type((*path, "tasks", "type"), tasks.get("type")),
            task_statuses=tuple(str(s) for s in tasks.get("statuses") or ("Completed",)),
            campaigns=campaigns,
            campaign_other=other,
            campaign_names=names,
        )

    def campaign_rules(
        self, path: Path_, rules: Any
    ) -> tuple[tuple[re.Pattern[str], str, dict[str, Any]], ...]:
        if not isinstance(rules, list):
            self.fail(path, "`by_name` must be a list of {name_matches, type, properties}")
            return ()
        out = []
        for i, rule in enumerate(rules):
            at = (*path, i)
            spec = self.keys(at, rule, ("name_matches", "type", "properties"), "a by_name rule")
            try:
                pattern = re.compile(str(spec.get("name_matches") or ""))
            except re.error as exc:
                self.fail((*at, "name_matches"), f"`name_matches` is not a regular expression: {exc}")
                continue
            made = self.campaign_target(at, {k: v for k, v in spec.items() if k != "name_matches"})
            if made:
                out.append((pattern, *made))
        return tuple(out)

    def campaign_target(self, path: Path_, target: Any) -> tuple[str, dict[str, Any]] | None:
        if target is None:
            return None
        if isinstance(target, str):
            kind = self.activity_type(path, target)
            return (kind, {}) if kind else None
        spec = self.keys(path, target, ("type", "properties"), str(path[-1]))
        kind = self.activity_type((*path, "type"), spec.get("type"))
        props = spec.get("properties") or {}
        if not isinstance(props, dict):
            self.fail((*path, "properties"), "`properties` must be a mapping (key: value)")
            props = {}
        return (kind, dict(props)) if kind else None
