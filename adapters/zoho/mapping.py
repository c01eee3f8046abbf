"""The mapping of ``mappings/zoho.yaml``: canonical fields and values ⇄ Zoho CRM fields.

``load_mapping`` reads the file and checks its shape and meaning, every problem as FILE:LINE;
whether the fields and picklist values exist in an org is ``leadsync check``'s job (``schema``).
Zoho's list calls take at most 50 field API names (``fields``), so a module whose mapping needs
more is refused here rather than split into several reads of one page.
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
    "MAX_FIELDS",
    "MODULES",
    "ActivityMap",
    "FieldMap",
    "ModuleMap",
    "StageMap",
    "ZohoMapping",
    "load_mapping",
]

MODULES = ("Leads", "Contacts")
MAX_FIELDS = 50  # Zoho's limit on `fields` per list call
CONTACT_FIELDS = (
    "email", "first_name", "last_name", "title", "company", "industry", "country", "city", "domain",
    "lead_source", "employees", "created_at", "owner_id",
    *(w for w in WRITABLE_FIELDS if w not in ("stage", "owner_id")),
)  # fmt: skip
REQUIRED_FIELDS = (*(w for w in WRITABLE_FIELDS if w != "stage"), "created_at")
ALWAYS = ("Modified_Time", "Created_Time")  # Zoho sends `id` always and refuses it in `fields`
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldMap:
    """One canonical field held in one Zoho field; ``values`` maps Zoho → canonical."""

    name: str
    field: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    def read(self, raw: Any) -> Any:
        if isinstance(raw, dict):  # a lookup: {"name": …, "id": …}
            raw = raw.get("id") if self.name == "owner_id" else raw.get("name")
        if raw is None or raw == "" or raw == "-None-":
            return None
        if isinstance(raw, str):
            return self.values.get(raw, raw)
        return raw

    def write(self, value: Any) -> Any:
        """The Zoho value for a canonical value (None clears the field)."""
        if value is None or value == "":
            return None
        if self.name == "owner_id":
            return {"id": str(value)}
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

    def read(self, raw: Any) -> str | None:
        if raw in (None, "", "-None-"):
            return self.empty
        for stage, value in self.stages.items():
            if value == raw:
                return stage
        return self.also_read.get(str(raw), self.unknown)

    def write(self, stage: str) -> str | None:
        return self.stages.get(stage)


@dataclass(frozen=True)
class ModuleMap:
    """How one module (Leads or Contacts) holds a canonical contact."""

    name: str
    fields: dict[str, FieldMap]
    properties: dict[str, FieldMap]
    stage: StageMap

    def select(self) -> list[str]:
        """Every field a read of this module needs, for the ``fields`` parameter."""
        names = set(ALWAYS) | {self.stage.field}
        if self.name == "Leads":
            names |= {"Converted__s", "Converted_Date_Time"}
        names |= {f.field for f in self.fields.values()} | {f.field for f in self.properties.values()}
        return sorted(names)

    def written_fields(self) -> dict[str, str]:
        """canonical writable field → Zoho field (stage included)."""
        out = {n: f.field for n, f in self.fields.items() if n in WRITABLE_FIELDS}
        out["stage"] = self.stage.field
        return out


@dataclass(frozen=True)
class ActivityMap:
    """Which Calls, Events, Tasks and Notes become which canonical activities."""

    call: str | None = "call"
    call_types: tuple[str, ...] = ("Outbound", "Inbound")
    call_outcomes: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-cased Call_Result
    meeting: str | None = "meeting"
    task: str | None = None
    task_statuses: tuple[str, ...] = ("Completed",)
    note: str | None = None

    def modules(self) -> list[str]:
        """The activity modules read (Tasks always: leadsync's own tasks live there)."""
        out = ["Calls"] if self.call else []
        out += ["Events"] if self.meeting else []
        out += ["Tasks"] if self.task else []
        return out + (["Notes"] if self.note else [])


@dataclass(frozen=True)
class ZohoMapping:
    """The validated mapping file."""

    file: str
    modules: dict[str, ModuleMap]
    activities: ActivityMap
    custom_types: tuple[str, ...] = ()
    # Users whose people count as not yet assigned (emails or ids, or `integration_user`).
    holding_owners: tuple[str, ...] = ()


def default_mapping_path() -> Path:
    return Path(str(files("mappings").joinpath("zoho.yaml")))


def load_mapping(path: str | Path | None = None) -> ZohoMapping:
    """Read and validate a Zoho mapping file (the packaged one when ``path`` is None)."""
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

    def api_name(self, path: Path_, value: Any) -> str | None:
        if not isinstance(value, str) or not _API_NAME.match(value):
            self.fail(path, f"`{value}` is not a Zoho field API name (e.g. Designation, Leadsync_Score)")
            return None
        return value

    def run(self) -> ZohoMapping:
        data = self.src.data
        if not isinstance(data, dict):
            raise ConfigError([self.src.problem((), "the mapping file must be a YAML mapping")])
        self.keys((), data, ("version", "modules", *MODULES, "owners", "activities"), "the file")
        if data.get("version") != 1:
            self.fail(("version",), "`version: 1` is required (the only mapping version so far)")
        acts = data.get("activities") or {}
        custom = acts.get("custom_types") or [] if isinstance(acts, dict) else []
        self.types |= {t for t in custom if isinstance(t, str)}
        names = data.get("modules", list(MODULES))
        if not isinstance(names, list) or not names or any(n not in MODULES for n in names):
            self.fail(("modules",), "`modules` must list Leads, Contacts or both")
            names = [n for n in names if n in MODULES] if isinstance(names, list) else []
        modules: dict[str, ModuleMap] = {}
        for name in names:
            if name not in data:
                self.fail(("modules",), f"`{name}` is listed in `modules` but has no `{name}:` section")
                continue
            module = self.module((name,), name, data[name])
            if module:
                modules[name] = module
        activities = self.activities(("activities",), acts)
        owners = self.keys(("owners",), data.get("owners"), ("holding",), "owners")
        holding = self.strings(("owners", "holding"), owners, "holding", ())
        if self.problems:
            raise ConfigError(self.problems)
        custom = tuple(sorted(self.types - BUILTIN_ACTIVITY_TYPES))
        return ZohoMapping(self.src.file, modules, activities, custom, holding)

    def module(self, path: Path_, name: str, value: Any) -> ModuleMap | None:
        spec = self.keys(path, value, ("fields", "properties", "stage"), name)
        fields = self.fields((*path, "fields"), spec.get("fields"), contact=True)
        props = self.fields((*path, "properties"), spec.get("properties") or {}, contact=False)
        stage = self.stage((*path, "stage"), spec.get("stage"))
        if stage is None:
            return None
        module = ModuleMap(name, fields, props, stage)
        if len(module.select()) > MAX_FIELDS:
            self.fail(
                (*path, "properties") if props else (*path, "fields"),
                f"{name} needs {len(module.select())} fields and Zoho reads at most {MAX_FIELDS} a "
                "call: map fewer properties",
            )
        return module

    def fields(self, path: Path_, value: Any, *, contact: bool) -> dict[str, FieldMap]:
        out: dict[str, FieldMap] = {}
        if not isinstance(value, dict):
            self.fail(path, f"`{path[-1]}` must map canonical names to Zoho fields")
            return out
        for name, spec in value.items():
            at = (*path, name)
            if contact and name not in CONTACT_FIELDS:
                hint = did_you_mean(str(name), CONTACT_FIELDS) or "; custom fields go under `properties`"
                self.fail(at, f"unknown canonical contact field `{name}`{hint}")
                continue
            if not contact and name in CONTACT_FIELDS:
                self.fail(at, f"`{name}` is a canonical contact field; map it under `fields`")
                continue
            fm = self.field_map(at, str(name), spec)
            if fm:
                out[str(name)] = fm
        if contact:
            for name in REQUIRED_FIELDS:
                if name not in value:
                    self.fail(path, f"`{name}` must be mapped (leadsync reads or writes it)")
        return out

    def field_map(self, path: Path_, name: str, spec: Any) -> FieldMap | None:
        if isinstance(spec, str):
            api = self.api_name(path, spec)
            return FieldMap(name, api) if api else None
        spec = self.keys(path, spec, ("field", "values"), name)
        if "field" not in spec:
            self.fail(path, f"`{name}` needs `field:` (the Zoho field's API name)")
            return None
        api = self.api_name((*path, "field"), spec["field"])
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            self.fail((*path, "values"), "`values` must map Zoho values to canonical values")
            values = {}
        return FieldMap(name, api, {str(k): v for k, v in values.items()}) if api else None

    def stage(self, path: Path_, value: Any) -> StageMap | None:
        spec = self.keys(path, value, ("field", "stages", "also_read", "unknown", "empty"), "stage")
        if not spec:
            self.fail(path, "`stage` is required: the picklist that holds the stage, and its values")
            return None
        api = self.api_name((*path, "field"), spec.get("field"))
        stages: dict[str, str] = {}
        for stage, value_ in (spec.get("stages") or {}).items():
            if stage not in STAGES:
                self.fail(
                    (*path, "stages", stage), f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}"
                )
            elif not isinstance(value_, str) or not value_:
                self.fail((*path, "stages", stage), f"`{stage}` must name a picklist value")
            else:
                stages[stage] = value_
        if len(set(stages.values())) != len(stages):
            self.fail(
                (*path, "stages"), "two stages share one picklist value; leadsync could not tell them apart"
            )
        also: dict[str, str] = {}
        for zoho_value, stage in (spec.get("also_read") or {}).items():
            if stage not in STAGES:
                self.fail(
                    (*path, "also_read", zoho_value),
                    f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}",
                )
            else:
                also[str(zoho_value)] = stage
        edges: dict[str, str | None] = {}
        for key in ("unknown", "empty"):
            edge = spec.get(key)
            if edge is not None and edge not in STAGES:
                self.fail((*path, key), f"`{key}` must be a stage ({', '.join(STAGES)}) or left out")
                edge = None
            edges[key] = edge
        if api is None or not stages:
            if api is not None:
                self.fail((*path, "stages"), "`stages` must map at least one stage to a picklist value")
            return None
        return StageMap(api, stages, also, edges["unknown"], edges["empty"])

    def activity_type(self, path: Path_, value: Any) -> str | None:
        if value is None:
            return None
        if value not in self.types:
            hint = did_you_mean(str(value), sorted(self.types))
            self.fail(path, f"unknown activity type `{value}`{hint}; declare it in `custom_types`")
            return None
        return str(value)

    def activities(self, path: Path_, value: Any) -> ActivityMap:
        allowed = ("custom_types", "calls", "meetings", "tasks", "notes")
        spec = self.keys(path, value, allowed, "activities")
        calls = self.keys((*path, "calls"), spec.get("calls"), ("type", "call_types", "outcomes"), "calls")
        meetings = self.keys((*path, "meetings"), spec.get("meetings"), ("type",), "meetings")
        tasks = self.keys((*path, "tasks"), spec.get("tasks"), ("type", "statuses"), "tasks")
        notes = self.keys((*path, "notes"), spec.get("notes"), ("type",), "notes")
        outcomes = calls.get("outcomes") or {}
        if not isinstance(outcomes, dict):
            self.fail((*path, "calls", "outcomes"), "`outcomes` must map Call_Result values to outcomes")
            outcomes = {}
        defaults = ActivityMap()
        return ActivityMap(
            call=self.activity_type((*path, "calls", "type"), calls.get("type", "call")),
            call_types=self.strings((*path, "calls", "call_types"), calls, "call_types", defaults.call_types),
            call_outcomes={str(k).lower(): str(v) for k, v in outcomes.items()},
            meeting=self.activity_type((*path, "meetings", "type"), meetings.get("type", "meeting")),
            task=self.activity_type((*path, "tasks", "type"), tasks.get("type")),
            task_statuses=self.strings(
                (*path, "tasks", "statuses"), tasks, "statuses", defaults.task_statuses
            ),
            note=self.activity_type((*path, "notes", "type"), notes.get("type")),
        )

    def strings(
        self, path: Path_, spec: dict[str, Any], key: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = spec.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, f"`{key}` must be a list of text values")
            return default
        return tuple(value)
