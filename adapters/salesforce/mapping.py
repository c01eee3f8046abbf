"""The mapping of ``mappings/salesforce.yaml``: canonical fields and values ⇄ Salesforce fields.

``load_mapping`` reads the file and checks its shape and meaning, every problem as FILE:LINE;
whether the fields and picklist values exist in an org is ``leadsync check``'s job (``schema``).
The file's own comments explain each choice to a Salesforce admin.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from connector.api import (
    BUILTIN_ACTIVITY_TYPES,
    STAGES,
    WRITABLE_FIELDS,
    ConfigError,
    Path_,
    RulesError,
    YamlChecker,
    YamlSource,
    did_you_mean,
    load_yaml,
)

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
CONTACT_FIELDS = (
    "email", "first_name", "last_name", "title", "company", "industry", "country", "city", "domain",
    "lead_source", "employees", "created_at", "owner_id",
    *(w for w in WRITABLE_FIELDS if w not in ("stage", "owner_id")),
)  # fmt: skip
REQUIRED_FIELDS = (*(w for w in WRITABLE_FIELDS if w != "stage"), "created_at")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class FieldMap:
    """One canonical field held in one Salesforce field; ``values`` maps Salesforce → canonical."""

    name: str
    field: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def writable(self) -> bool:
        return "." not in self.field

    def read(self, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            return self.values.get(raw, raw)
        return raw

    def write(self, value: Any) -> Any:
        """The Salesforce value for a canonical value (None clears the field)."""
        if value is None or value == "":
            return None
        reverse = {str(v): k for k, v in self.values.items()}
        return reverse.get(str(value), value)


@dataclass(frozen=True)
class StageMap:
    """Which picklist value of ``field`` holds each canonical stage."""

    field: str
    stages: dict[str, str]
    also_read: dict[str, str] = dataclasses.field(default_factory=dict)
    unknown: str | None = None
    empty: str | None = None
    changed_at: str | None = HISTORY  # "history", a Date/Time field, or None

    def read(self, raw: Any) -> str | None:
        if raw in (None, ""):
            return self.empty
        for stage, value in self.stages.items():
            if value == raw:
                return stage
        return self.also_read.get(str(raw), self.unknown)

    def write(self, stage: str) -> str | None:
        return self.stages.get(stage)


@dataclass(frozen=True)
class ObjectMap:
    """How one object (Lead or Contact) holds a canonical contact."""

    name: str
    fields: dict[str, FieldMap]
    properties: dict[str, FieldMap]
    stage: StageMap

    def select(self) -> list[str]:
        """Every field a read of this object needs, for SOQL's SELECT."""
        names = {"Id", "SystemModstamp", "LastModifiedDate", "LastModifiedById", self.stage.field}
        if self.name == "Lead":
            names |= {"IsConverted", "ConvertedContactId"}
        names |= {f.field for f in self.fields.values()} | {f.field for f in self.properties.values()}
        if self.stage.changed_at and self.stage.changed_at != HISTORY:
            names.add(self.stage.changed_at)
        return sorted(names)

    def written_fields(self) -> dict[str, str]:
        """canonical writable field → Salesforce field (stage included)."""
        out = {n: f.field for n, f in self.fields.items() if n in WRITABLE_FIELDS}
        out["stage"] = self.stage.field
        return out


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
    return Path(str(files("mappings").joinpath("salesforce.yaml")))


def load_mapping(path: str | Path | None = None) -> SalesforceMapping:
    """Read and validate a Salesforce mapping file (the packaged one when ``path`` is None)."""
    target = Path(path) if path is not None else default_mapping_path()
    try:
        source = load_yaml(target)
    except RulesError as exc:
        raise ConfigError(exc.problems) from None
    return _Validator(source).run()


class _Validator(YamlChecker):
    def __init__(self, source: YamlSource) -> None:
        super().__init__(source)
        self.types: set[str] = set(BUILTIN_ACTIVITY_TYPES)

    def api_name(self, path: Path_, value: Any, *, writable: bool = False) -> str | None:
        if not isinstance(value, str) or not _FIELD.match(value):
            self.fail(path, f"`{value}` is not a Salesforce field API name (e.g. Title, Budget__c)")
            return None
        if writable and "." in value:
            self.fail(path, f"`{value}` is a parent record's field; leadsync cannot write it")
            return None
        return value

    def run(self) -> SalesforceMapping:
        data = self.src.data
        if not isinstance(data, dict):
            raise ConfigError([self.src.problem((), "the mapping file must be a YAML mapping")])
        self.keys((), data, ("version", "objects", *OBJECTS, "owners", "activities"), "the file")
        if data.get("version") != 1:
            self.fail(("version",), "`version: 1` is required (the only mapping version so far)")
        acts = data.get("activities") or {}
        custom = acts.get("custom_types") or [] if isinstance(acts, dict) else []
        self.types |= {t for t in custom if isinstance(t, str)}
        names = data.get("objects", list(OBJECTS))
        if not isinstance(names, list) or not names or any(n not in OBJECTS for n in names):
            self.fail(("objects",), "`objects` must list Lead, Contact or both")
            names = [n for n in names if n in OBJECTS] if isinstance(names, list) else []
        objects: dict[str, ObjectMap] = {}
        for name in names:
            if name not in data:
                self.fail(("objects",), f"`{name}` is listed in `objects` but has no `{name}:` section")
                continue
            obj = self.object((name,), name, data[name])
            if obj:
                objects[name] = obj
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
        return SalesforceMapping(
            self.src.file,
            objects,
            str(queues),
            activities,
            tuple(sorted(self.types - BUILTIN_ACTIVITY_TYPES)),
        )

    # -- one object -----------------------------------------------------------------------------

    def object(self, path: Path_, name: str, value: Any) -> ObjectMap | None:
        spec = self.keys(path, value, ("fields", "properties", "stage"), name)
        fields = self.fields((*path, "fields"), spec.get("fields"), contact=True)
        props = self.fields((*path, "properties"), spec.get("properties") or {}, contact=False)
        stage = self.stage((*path, "stage"), spec.get("stage"))
        if stage is None:
            return None
        return ObjectMap(name, fields, props, stage)

    def fields(self, path: Path_, value: Any, *, contact: bool) -> dict[str, FieldMap]:
        out: dict[str, FieldMap] = {}
        if not isinstance(value, dict):
            self.fail(path, f"`{path[-1]}` must map canonical names to Salesforce fields")
            return out
        for name, spec in value.items():
            at = (*path, name)
            if contact and name not in CONTACT_FIELDS:
                hint = did_you_mean(str(name), CONTACT_FIELDS)
                hint = hint or "; custom fields go under `properties`"
                self.fail(at, f"unknown canonical contact field `{name}`{hint}")
                continue
            if not contact and name in CONTACT_FIELDS:
                self.fail(at, f"`{name}` is a canonical contact field; map it under `fields`")
                continue
            fm = self.field_map(at, str(name), spec, writable=contact and name in WRITABLE_FIELDS)
            if fm:
                out[str(name)] = fm
        if contact:
            for name in REQUIRED_FIELDS:
                if name not in value:
                    self.fail(path, f"`{name}` must be mapped (leadsync reads or writes it)")
        return out

    def field_map(self, path: Path_, name: str, spec: Any, *, writable: bool) -> FieldMap | None:
        if isinstance(spec, str):
            api = self.api_name(path, spec, writable=writable)
            return FieldMap(name, api) if api else None
        spec = self.keys(path, spec, ("field", "values"), name)
        if "field" not in spec:
            self.fail(path, f"`{name}` needs `field:` (the Salesforce field's API name)")
            return None
        api = self.api_name((*path, "field"), spec["field"], writable=writable)
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            self.fail((*path, "values"), "`values` must map Salesforce values to canonical values")
            values = {}
        return FieldMap(name, api, {str(k): v for k, v in values.items()}) if api else None

    def stage(self, path: Path_, value: Any) -> StageMap | None:
        spec = self.keys(
            path, value, ("field", "stages", "also_read", "unknown", "empty", "changed_at"), "stage"
        )
        if not spec:
            self.fail(path, "`stage` is required: the picklist that holds the stage, and its values")
            return None
        api = self.api_name((*path, "field"), spec.get("field"), writable=True)
        stages: dict[str, str] = {}
        for stage, sf_value in (spec.get("stages") or {}).items():
            if stage not in STAGES:
                self.fail(
                    (*path, "stages", stage), f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}"
                )
            elif not isinstance(sf_value, str) or not sf_value:
                self.fail((*path, "stages", stage), f"`{stage}` must name a picklist value (its API name)")
            else:
                stages[stage] = sf_value
        if len(set(stages.values())) != len(stages):
            self.fail(
                (*path, "stages"), "two stages share one picklist value; leadsync could not tell them apart"
            )
        also: dict[str, str] = {}
        for sf_value, stage in (spec.get("also_read") or {}).items():
            if stage not in STAGES:
                self.fail(
                    (*path, "also_read", sf_value),
                    f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}",
                )
            else:
                also[str(sf_value)] = stage
        edges = {}
        for key in ("unknown", "empty"):
            edge = spec.get(key)
            if edge is not None and edge not in STAGES:
                self.fail((*path, key), f"`{key}` must be a stage ({', '.join(STAGES)}) or left out")
                edge = None
            edges[key] = edge
        changed = spec.get("changed_at", HISTORY)
        if changed in (None, "none"):
            changed = None
        elif changed != HISTORY:
            changed = self.api_name((*path, "changed_at"), changed)
        if api is None or not stages:
            if api is not None:
                self.fail((*path, "stages"), "`stages` must map at least one stage to a picklist value")
            return None
        return StageMap(api, stages, also, edges["unknown"], edges["empty"], changed)

    # -- activities -----------------------------------------------------------------------------

    def activity_type(self, path: Path_, value: Any) -> str | None:
        if value is None:
            return None
        if value not in self.types:
            hint = did_you_mean(str(value), sorted(self.types))
            self.fail(path, f"unknown activity type `{value}`{hint}; declare it in `custom_types`")
            return None
        return str(value)

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
